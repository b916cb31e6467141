/* datasets.h: the public data sets, pinned, downloaded and cached (`emolab data`).
 *
 * configs/datasets.yaml lists each data set and each of its files: `path` (where it sits in a
 * data root such as ../shared/data, in the data cache and in mirrors), `url` (the upstream raw
 * file at a pinned commit), `bytes`, and pins: `sha256` and/or `git_blob` (the git blob id,
 * sha1("blob <size>\0" + content), which SOURCE.md files record). A file without a url exists
 * only in mirrors (derived files).
 *
 * The data cache ($EMOLAB_DATA_CACHE, else $XDG_CACHE_HOME/emolab/data, else
 * ~/.cache/emolab/data) holds verified files at their `path`, so it can serve as a data root
 * (EMOLAB_DATA). A mirror ($EMOLAB_DATA_MIRROR or --mirror: a directory or an http(s)/file URL
 * prefix) stands in for the upstream hosts: a catalogued file is taken from <mirror>/<path>, an
 * uncatalogued URL from <mirror>/<host>/<url path>. Whatever the source, a file is verified
 * against its pins before it is moved into the cache; a file that fails is deleted.
 */
#ifndef EL_DATASETS_H
#define EL_DATASETS_H

#include "http.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    char *path;        /* relative path in a data root / the cache / a mirror */
    char *url;         /* upstream URL at a pinned commit; NULL = mirror only */
    int64_t bytes;     /* -1 = unknown */
    char sha256[65];   /* "" = not pinned by sha256 */
    char git_blob[41]; /* "" = not pinned by git blob id */
    char *note;        /* free text (may be NULL) */
} el_datasets_file;

typedef struct {
    char *name;
    char *description;
    char *source;      /* the upstream repository and commit, for people */
    char *license;
    int32_t *files;    /* indices into the catalog's files */
    int32_t n_files;
} el_datasets_entry;

typedef struct {
    char *file;        /* the YAML it came from */
    el_datasets_entry *sets;
    int32_t n_sets;
    el_datasets_file *files;
    int32_t n_files;
} el_datasets_catalog;

/* Loads and validates the catalog (path NULL: $EMOLAB_DATASETS, else the source tree's
 * configs/datasets.yaml). Errors name file:line:col and the key. */
int el_datasets_load(const char *path, el_datasets_catalog *out);
void el_datasets_free(el_datasets_catalog *c);
const el_datasets_entry *el_datasets_find(const el_datasets_catalog *c, const char *name);
const el_datasets_file *el_datasets_find_url(const el_datasets_catalog *c, const char *url);
const el_datasets_file *el_datasets_find_path(const el_datasets_catalog *c, const char *path);

typedef struct {
    const char *cache_dir;   /* NULL: $EMOLAB_DATA_CACHE, $XDG_CACHE_HOME/emolab/data, ~/.cache/... */
    const char *mirror;      /* NULL: $EMOLAB_DATA_MIRROR; "" = none */
    bool force;              /* fetch again even when the cached copy verifies */
    bool quiet;              /* no "data: ok ..." lines on stderr */
    FILE *paths_out;         /* el_datasets_fetch_set prints each local path here (NULL: no) */
    el_http_params http;
} el_datasets_params;

el_datasets_params el_datasets_default_params(void);
char *el_datasets_cache_dir(const char *option); /* malloc'd */

/* Makes one catalogued file present and verified in the cache; *local (malloc'd) is its path.
 * p may be NULL (defaults). */
int el_datasets_fetch_file(const el_datasets_file *f, const el_datasets_params *p, char **local);
/* Every file of a named data set (all are tried; EL_ERR names the first failure). */
int el_datasets_fetch_set(const el_datasets_catalog *c, const char *name,
                          const el_datasets_params *p);

/* The data loader's call: a spec's data `path` that is a URL -> a verified local file.
 * The URL must be in the catalog or carry its own pin as a fragment: "...#sha256=HEX" or
 * "...#git_blob=HEX". catalog may be NULL (loaded from the default place), p may be NULL
 * (defaults + environment: EMOLAB_DATA_CACHE, EMOLAB_DATA_MIRROR). Typical use:
 *     char *local; if (el_datasets_resolve_url(NULL, src->path, NULL, &local) != EL_OK) ... */
int el_datasets_resolve_url(const el_datasets_catalog *c, const char *url,
                            const el_datasets_params *p, char **local);
bool el_datasets_is_url(const char *s); /* http://, https://, file:// */

/* Checks a local file against a catalog entry's size and pins; EL_ERR names what differs. */
int el_datasets_verify(const el_datasets_file *f, const char *local);

/* `emolab data ls`: one line per file with size, pins and whether the cache has it. */
void el_datasets_print(const el_datasets_catalog *c, const el_datasets_params *p, FILE *out,
                       bool verify);

#endif /* EL_DATASETS_H */
