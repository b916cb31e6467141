/* hub.h: Hugging Face hub models in Hugging Face's own cache layout.
 *
 * `el_hub_fetch("ORG/NAME@REV", ...)` asks the hub's model API for the commit of REV and its
 * file list, picks the files (patterns), and for each one not yet in the snapshot: HEAD
 * {endpoint}/{repo}/resolve/{commit}/{file} without following redirects (X-Repo-Commit,
 * X-Linked-Etag / ETag, X-Linked-Size / Content-Length), then a GET following redirects into
 * blobs/<etag>.incomplete (resumed with Range, retried with backoff), verified (sha256 = the
 * linked etag for LFS files, git blob id = the ETag for plain files; size), renamed to
 * blobs/<etag>, and linked as snapshots/<commit>/<path> -> ../../blobs/<etag> (relative).
 * refs/<REV> holds the commit. A lock file per blob (.locks/models--ORG--NAME/<etag>.lock,
 * flock, the one huggingface_hub uses) makes concurrent processes download a blob once.
 *
 *   <cache>/models--ORG--NAME/{blobs/<etag>, refs/<rev>, snapshots/<commit>/<path>}
 *   <cache> = --cache-dir > $HF_HUB_CACHE > $HF_HOME/hub > $XDG_CACHE_HOME/huggingface/hub >
 *             ~/.cache/huggingface/hub
 *
 * The token ($HF_TOKEN, else the file $HF_TOKEN_PATH or $HF_HOME/token) is sent as a Bearer
 * header and appears in no message or file. HF_HUB_OFFLINE=1 resolves from the cache only.
 * Every failure leaves the cache consistent: no blob that was not verified, no link to a
 * missing blob, refs written last.
 */
#ifndef EL_HUB_H
#define EL_HUB_H

#include "http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *endpoint;        /* NULL: $HF_ENDPOINT, else https://huggingface.co */
    const char *cache_dir;       /* NULL: see above */
    const char *token;           /* NULL: $HF_TOKEN or the token file; "" = send none */
    const char *const *include;  /* fnmatch patterns ('*' also matches '/'); NULL = defaults */
    int32_t n_include;
    bool all_files;              /* every file of the repository */
    int32_t offline;             /* -1: $HF_HUB_OFFLINE; 0: use the network; 1: cache only */
    bool force;                  /* download blobs again (and verify) even when cached */
    bool quiet;                  /* no summary on stderr */
    el_http_params http;         /* retries, backoff, timeouts, progress */
} el_hub_params;

el_hub_params el_hub_default_params(void);

/* The default patterns: config and tokenizer files and safetensors weights (sharded ones with
 * their index). When a repository has no *.safetensors, pytorch_model*.bin is taken instead. */
extern const char *const EL_HUB_DEFAULT_INCLUDE[];
extern const int32_t EL_HUB_N_DEFAULT_INCLUDE;

typedef struct {
    char *repo;            /* "ORG/NAME" */
    char *revision;        /* as asked; "main" when none was given */
    char commit[41];       /* the resolved commit */
    char *repo_dir;        /* <cache>/models--ORG--NAME */
    char *snapshot_dir;    /* <repo_dir>/snapshots/<commit> */
    char **files;          /* relative paths of the selected files, all present in the snapshot */
    int32_t n_files;
    int32_t n_downloaded, n_cached;
    int64_t bytes_downloaded; /* over the wire in this call */
    int64_t bytes_total;      /* size of the selected files */
    double seconds;
    bool from_cache;       /* resolved without the hub (offline, or the hub unreachable) */
} el_hub_snapshot;

/* Resolves "ORG/NAME[@REV]" to a complete local snapshot, downloading what is missing. */
int el_hub_fetch(const char *ref, const el_hub_params *p, el_hub_snapshot *out);
void el_hub_snapshot_free(el_hub_snapshot *s);

/* The call the hf backbone makes: defaults + environment, default file patterns. On success
 * *snapshot_dir (malloc'd) holds config.json & co. and commit the resolved commit. */
int el_hub_resolve(const char *ref, char **snapshot_dir, char commit[41]);

/* One file, without the model API (like hf_hub_download): *local_path (malloc'd) is the
 * snapshot path of `filename`; commit receives the resolved commit. */
int el_hub_fetch_file(const char *ref, const char *filename, const el_hub_params *p,
                      char **local_path, char commit[41]);

/* ---- names and places ------------------------------------------------------------------- */
/* "ORG/NAME[@REV]" -> repo and revision (default "main"), both validated. malloc'd. */
int el_hub_parse_ref(const char *ref, char **repo, char **revision);
int el_hub_check_repo_id(const char *repo);   /* ORG/NAME or NAME, [A-Za-z0-9._-], <= 96 */
int el_hub_check_revision(const char *rev);   /* branch, tag, commit, refs/pr/N */
int el_hub_check_filename(const char *name);  /* relative, no "..", ".", "", '\\', controls */
char *el_hub_cache_dir(const char *option);   /* malloc'd */
char *el_hub_folder_name(const char *repo);   /* "models--ORG--NAME", malloc'd */
char *el_hub_endpoint(const char *option);    /* without a trailing '/', malloc'd */
/* The token from $HF_TOKEN / $HUGGING_FACE_HUB_TOKEN / the token file, or NULL when there is
 * none. EL_ERR when the token file is unreadable or the token has spaces or control
 * characters (the message never quotes it). The caller wipes and frees it. */
int el_hub_token(char **token);
bool el_hub_offline_env(void);                /* HF_HUB_OFFLINE in 1/ON/YES/TRUE */

/* ---- the hub's answers, parsed from buffers (the fetch uses these; fuzzed by tests/fuzz) ---- */
/* The model API's JSON ({"sha": 40 hex, "siblings": [{"rfilename": ...}, ...]}): EL_OK with
 * the commit and the file names (malloc'd array of malloc'd strings); otherwise a message and
 * 1 (not a JSON object), 2 (no 40-hex sha or siblings list), 3 (an entry without rfilename) or
 * 4 (an unsafe file name: see el_hub_check_filename). */
int el_hub_parse_listing(const char *json, size_t len, char commit[41], char ***files,
                         int32_t *n_files);
/* A resolve HEAD answer's metadata: X-Repo-Commit, the blob name (X-Linked-Etag or ETag, quotes
 * and W/ dropped, lowercased, [A-Za-z0-9_-]{1,128}), its size (X-Linked-Size, or Content-Length
 * of a 200 for plain files; -1 when unknown) and whether it is an LFS file. EL_OK, or 1 (no
 * valid commit), 2 (no ETag), 3 (an ETag unusable as a file name); *etag is malloc'd. */
int el_hub_parse_file_headers(const el_http_response *r, char commit[41], char **etag,
                              int64_t *size, bool *lfs);
/* The URL a redirect from `url` to Location `loc` leads to when it stays on the same origin
 * (scheme://host:port), else NULL. malloc'd. */
char *el_hub_redirect_target(const char *url, const char *loc);

#endif /* EL_HUB_H */
