/* datasets.c: see datasets.h. */
#define _GNU_SOURCE
#include "datasets.h"

#include "digest.h"
#include "hub.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#ifndef EMOLAB_CONFIG_DIR
#define EMOLAB_CONFIG_DIR "configs"
#endif

/* ---- catalog: YAML -> structs --------------------------------------------------------- */
typedef struct {
    yaml_document_t *doc;
    const char *file;
} ydoc;

static int yerr(const ydoc *d, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int yerr(const ydoc *d, const yaml_node_t *n, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return el_err("%s:%d:%d: %s", d->file, n ? (int)n->start_mark.line + 1 : 0,
                  n ? (int)n->start_mark.column + 1 : 0, msg);
}

static const char *yscalar(const yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *ynode(const ydoc *d, int id) { return yaml_document_get_node(d->doc, id); }

static int parse_file_entry(const ydoc *d, yaml_node_t *m, const char *set, el_datasets_file *f) {
    memset(f, 0, sizeof *f);
    f->bytes = -1;
    if (m->type != YAML_MAPPING_NODE)
        return yerr(d, m, "%s.files: each file is a mapping {path, url, bytes, sha256, git_blob} "
                          "or the path of a file listed elsewhere", set);
    for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = ynode(d, pr->key), *v = ynode(d, pr->value);
        const char *key = yscalar(k), *val = yscalar(v);
        if (!key) return yerr(d, k, "%s.files: keys must be plain names", set);
        if (!val)
            return yerr(d, v, "%s.files.%s: expected a single value", set, key);
        if (!strcmp(key, "path")) {
            if (el_hub_check_filename(val) != EL_OK)
                return yerr(d, v, "%s.files.path: %s (a path relative to the data root)", set,
                            el_last_error());
            free(f->path);
            f->path = xstrdup(val);
        } else if (!strcmp(key, "url")) {
            if (!el_starts_with(val, "https://") && !el_starts_with(val, "http://"))
                return yerr(d, v, "%s.files.url: '%s' is not an http(s) URL", set, val);
            free(f->url);
            f->url = xstrdup(val);
        } else if (!strcmp(key, "bytes")) {
            if (el_parse_i64(val, &f->bytes) != EL_OK || f->bytes < 0)
                return yerr(d, v, "%s.files.bytes: '%s' is not a byte count", set, val);
        } else if (!strcmp(key, "sha256")) {
            if (!el_is_hex(val, 64))
                return yerr(d, v, "%s.files.sha256: expected 64 lowercase hex digits", set);
            memcpy(f->sha256, val, 65);
        } else if (!strcmp(key, "git_blob")) {
            if (!el_is_hex(val, 40))
                return yerr(d, v, "%s.files.git_blob: expected 40 lowercase hex digits", set);
            memcpy(f->git_blob, val, 41);
        } else if (!strcmp(key, "note")) {
            free(f->note);
            f->note = xstrdup(val);
        } else {
            return yerr(d, k, "%s.files: unknown key '%s' (allowed: path, url, bytes, sha256, "
                              "git_blob, note)", set, key);
        }
    }
    if (!f->path) return yerr(d, m, "%s.files: a file needs a 'path'", set);
    if (!f->sha256[0] && !f->git_blob[0])
        return yerr(d, m, "%s.files: %s has no pin: give sha256 and/or git_blob", set, f->path);
    return EL_OK;
}

static void file_free(el_datasets_file *f) {
    free(f->path);
    free(f->url);
    free(f->note);
}

void el_datasets_free(el_datasets_catalog *c) {
    if (!c) return;
    for (int32_t i = 0; i < c->n_sets; i++) {
        el_datasets_entry *e = &c->sets[i];
        free(e->name);
        free(e->description);
        free(e->source);
        free(e->license);
        free(e->files);
    }
    free(c->sets);
    for (int32_t i = 0; i < c->n_files; i++) file_free(&c->files[i]);
    free(c->files);
    free(c->file);
    memset(c, 0, sizeof *c);
}

const el_datasets_file *el_datasets_find_path(const el_datasets_catalog *c, const char *path) {
    for (int32_t i = 0; i < c->n_files; i++)
        if (!strcmp(c->files[i].path, path)) return &c->files[i];
    return NULL;
}

const el_datasets_file *el_datasets_find_url(const el_datasets_catalog *c, const char *url) {
    for (int32_t i = 0; i < c->n_files; i++)
        if (c->files[i].url && !strcmp(c->files[i].url, url)) return &c->files[i];
    return NULL;
}

const el_datasets_entry *el_datasets_find(const el_datasets_catalog *c, const char *name) {
    for (int32_t i = 0; i < c->n_sets; i++)
        if (!strcmp(c->sets[i].name, name)) return &c->sets[i];
    return NULL;
}

static int32_t find_path_index(const el_datasets_catalog *c, const char *path) {
    for (int32_t i = 0; i < c->n_files; i++)
        if (!strcmp(c->files[i].path, path)) return i;
    return -1;
}

static char *default_catalog(void) {
    const char *e = el_env("EMOLAB_DATASETS", NULL);
    if (e) return xstrdup(e);
    return xstrdup(EMOLAB_CONFIG_DIR "/datasets.yaml");
}

static int load_doc(const ydoc *d, el_datasets_catalog *c) {
    yaml_node_t *root = yaml_document_get_root_node(d->doc);
    if (!root || root->type != YAML_MAPPING_NODE)
        return yerr(d, root, "expected a mapping with a 'datasets' key");
    yaml_node_t *sets = NULL;
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
         pr++) {
        const char *key = yscalar(ynode(d, pr->key));
        if (key && !strcmp(key, "datasets"))
            sets = ynode(d, pr->value);
        else if (!key || strcmp(key, "version") != 0)
            return yerr(d, ynode(d, pr->key), "unknown top-level key '%s' (allowed: version, "
                                              "datasets)", key ? key : "?");
    }
    if (!sets || sets->type != YAML_MAPPING_NODE)
        return yerr(d, sets ? sets : root, "'datasets' must be a mapping of name -> data set");
    int64_t fcap = 0;
    /* pass 1: file definitions; pass 2: references (a path listed in another data set) */
    for (int pass = 0; pass < 2; pass++) {
        for (yaml_node_pair_t *pr = sets->data.mapping.pairs.start;
             pr < sets->data.mapping.pairs.top; pr++) {
            yaml_node_t *kn = ynode(d, pr->key), *vn = ynode(d, pr->value);
            const char *name = yscalar(kn);
            if (!name || !*name) return yerr(d, kn, "a data set needs a plain name");
            for (const char *q = name; *q; q++)
                if (!(isalnum((unsigned char)*q) || strchr("_.-", *q)))
                    return yerr(d, kn, "data set name '%s': letters, digits, '_', '.', '-' only",
                                name);
            if (!vn || vn->type != YAML_MAPPING_NODE)
                return yerr(d, vn, "%s: expected a mapping {description, source, license, files}",
                            name);
            el_datasets_entry *e = NULL;
            if (pass == 0) {
                if (el_datasets_find(c, name)) return yerr(d, kn, "data set '%s' twice", name);
                c->sets = xrealloc(c->sets, (size_t)(c->n_sets + 1) * sizeof *c->sets);
                e = &c->sets[c->n_sets++];
                memset(e, 0, sizeof *e);
                e->name = xstrdup(name);
            } else {
                e = (el_datasets_entry *)el_datasets_find(c, name);
            }
            yaml_node_t *files = NULL;
            for (yaml_node_pair_t *q = vn->data.mapping.pairs.start; q < vn->data.mapping.pairs.top;
                 q++) {
                yaml_node_t *k2 = ynode(d, q->key), *v2 = ynode(d, q->value);
                const char *key = yscalar(k2);
                char **slot = NULL;
                if (!key) return yerr(d, k2, "%s: keys must be plain names", name);
                if (!strcmp(key, "files")) {
                    files = v2;
                    continue;
                }
                if (!strcmp(key, "description")) slot = &e->description;
                else if (!strcmp(key, "source")) slot = &e->source;
                else if (!strcmp(key, "license")) slot = &e->license;
                else
                    return yerr(d, k2, "%s: unknown key '%s' (allowed: description, source, "
                                       "license, files)", name, key);
                if (!yscalar(v2)) return yerr(d, v2, "%s.%s: expected text", name, key);
                if (pass == 0) {
                    free(*slot);
                    *slot = xstrdup(yscalar(v2));
                }
            }
            if (!files || files->type != YAML_SEQUENCE_NODE || files->data.sequence.items.top ==
                                                                    files->data.sequence.items.start)
                return yerr(d, files ? files : vn, "%s.files: expected a non-empty list", name);
            for (yaml_node_item_t *it = files->data.sequence.items.start;
                 it < files->data.sequence.items.top; it++) {
                yaml_node_t *fn = ynode(d, *it);
                const char *ref = yscalar(fn);
                int32_t idx = -1;
                if (pass == 0 && !ref) {
                    el_datasets_file f;
                    if (parse_file_entry(d, fn, name, &f) != EL_OK) {
                        file_free(&f);
                        return EL_ERR;
                    }
                    if (find_path_index(c, f.path) >= 0) {
                        int rc = yerr(d, fn, "%s: the file %s is defined twice; list it by its "
                                             "path alone the second time", name, f.path);
                        file_free(&f);
                        return rc;
                    }
                    el_grow(c->files, &fcap, c->n_files + 1);
                    c->files[c->n_files++] = f;
                    idx = c->n_files - 1;
                } else if (pass == 1 && ref) {
                    idx = find_path_index(c, ref);
                    if (idx < 0)
                        return yerr(d, fn, "%s.files: '%s' is not defined by any data set (give "
                                           "it as a mapping with url and pins)", name, ref);
                } else if (pass == 1) {
                    /* a definition: already added in pass 0, find it to keep the order */
                    const char *p = NULL;
                    for (yaml_node_pair_t *q = fn->data.mapping.pairs.start;
                         q < fn->data.mapping.pairs.top; q++)
                        if (el_streq(yscalar(ynode(d, q->key)), "path")) p = yscalar(ynode(d, q->value));
                    idx = p ? find_path_index(c, p) : -1;
                }
                if (pass == 1 && idx >= 0) {
                    e->files = xrealloc(e->files, (size_t)(e->n_files + 1) * sizeof *e->files);
                    e->files[e->n_files++] = idx;
                }
            }
        }
    }
    return EL_OK;
}

int el_datasets_load(const char *path, el_datasets_catalog *out) {
    memset(out, 0, sizeof *out);
    char *file = path ? xstrdup(path) : default_catalog();
    char *buf = NULL;
    size_t len = 0;
    if (el_read_file(file, &buf, &len) != EL_OK) {
        el_err_prefix("the data set catalog (set EMOLAB_DATASETS or --catalog)");
        free(file);
        return EL_ERR;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    int rc = EL_ERR;
    if (!yaml_parser_load(&parser, &doc)) {
        el_err("%s:%d:%d: %s", file, (int)parser.problem_mark.line + 1,
               (int)parser.problem_mark.column + 1, parser.problem ? parser.problem : "YAML error");
        yaml_parser_delete(&parser);
        free(buf);
        free(file);
        return EL_ERR;
    }
    ydoc d = {&doc, file};
    out->file = file;
    rc = load_doc(&d, out);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    free(buf);
    if (rc != EL_OK) {
        char *msg = xstrdup(el_last_error());
        el_datasets_free(out);
        el_err("%s", msg);
        free(msg);
    }
    return rc;
}

/* ---- the data cache ------------------------------------------------------------------- */
el_datasets_params el_datasets_default_params(void) {
    el_datasets_params p = {0};
    p.http = el_http_default_params();
    return p;
}

char *el_datasets_cache_dir(const char *option) {
    if (option && *option) return xstrdup(option);
    const char *e = el_env("EMOLAB_DATA_CACHE", NULL);
    if (e) return xstrdup(e);
    e = el_env("XDG_CACHE_HOME", NULL);
    if (e) return el_printf("%s/emolab/data", e);
    const char *h = el_env("HOME", NULL);
    if (!h) {
        struct passwd *pw = getpwuid(getuid());
        h = pw && pw->pw_dir ? pw->pw_dir : "/tmp";
    }
    return el_printf("%s/.cache/emolab/data", h);
}

bool el_datasets_is_url(const char *s) {
    return el_starts_with(s, "http://") || el_starts_with(s, "https://") ||
           el_starts_with(s, "file://");
}

int el_datasets_verify(const el_datasets_file *f, const char *local) {
    struct stat st;
    if (stat(local, &st) != 0) return el_err("%s: %s", local, strerror(errno));
    if (f->bytes >= 0 && (int64_t)st.st_size != f->bytes)
        return el_err("%s: %lld bytes, the pin says %lld", local, (long long)st.st_size,
                      (long long)f->bytes);
    if (f->sha256[0]) {
        char hex[65];
        if (el_sha256_file(local, hex) != EL_OK) return EL_ERR;
        if (strcmp(hex, f->sha256) != 0)
            return el_err("%s: sha256 %s, the pin says %s", local, hex, f->sha256);
    }
    if (f->git_blob[0]) {
        char hex[41];
        if (el_git_blob_sha1_file(local, hex) != EL_OK) return EL_ERR;
        if (strcmp(hex, f->git_blob) != 0) {
            if (el_is_lfs_pointer_file(local))
                return el_err("%s is a Git LFS pointer, not the file: the URL serves the pointer "
                              "(use the repository's media/LFS URL)", local);
            return el_err("%s: git blob id %s, the pin says %s", local, hex, f->git_blob);
        }
    }
    return EL_OK;
}

/* The URL to download a file from, given the mirror: NULL with a message when there is none. */
static char *source_url(const el_datasets_file *f, const char *mirror_rel, const char *mirror) {
    if (mirror && *mirror) {
        el_buf b = {0};
        bool is_url = el_datasets_is_url(mirror);
        if (is_url) {
            el_buf_puts(&b, mirror);
        } else {
            char buf[PATH_MAX];
            const char *abs = realpath(mirror, buf);
            if (!abs) {
                el_err("the data mirror %s: %s (EMOLAB_DATA_MIRROR or --mirror)", mirror,
                       strerror(errno));
                return NULL;
            }
            el_buf_puts(&b, "file://");
            for (const char *q = abs; *q; q++) {
                if (isalnum((unsigned char)*q) || strchr("/-._~", *q))
                    el_buf_putc(&b, *q);
                else
                    el_buf_printf(&b, "%%%02X", (unsigned char)*q);
            }
        }
        if (b.len && b.s[b.len - 1] != '/') el_buf_putc(&b, '/');
        for (const char *q = mirror_rel; *q; q++) {
            if (isalnum((unsigned char)*q) || strchr("/-._~", *q))
                el_buf_putc(&b, *q);
            else
                el_buf_printf(&b, "%%%02X", (unsigned char)*q);
        }
        return el_buf_take(&b);
    }
    if (!f->url) {
        el_err("%s has no upstream URL (it is derived%s%s): take it from a mirror that has it, "
               "e.g. EMOLAB_DATA_MIRROR=../shared/data or --mirror DIR",
               f->path, f->note ? ": " : "", f->note ? f->note : "");
        return NULL;
    }
    return xstrdup(f->url);
}

static int lock_path(const char *cache, const char *rel, int *fd_out) {
    char *dir = el_path_join(cache, ".locks");
    char name[64];
    snprintf(name, sizeof name, "%016llx.lock", (unsigned long long)el_hash64(rel, strlen(rel), 0));
    char *path = el_path_join(dir, name);
    int rc = EL_ERR;
    *fd_out = -1;
    if (el_mkdirs(dir, 0755) != EL_OK) {
        el_err_prefix("the data cache is not writable (set EMOLAB_DATA_CACHE or --cache-dir)");
    } else {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            el_err("%s: %s (set EMOLAB_DATA_CACHE or --cache-dir to a writable directory)", path,
                   strerror(errno));
        } else {
            while (flock(fd, LOCK_EX) != 0 && errno == EINTR) {
            }
            *fd_out = fd;
            rc = EL_OK;
        }
    }
    free(dir);
    free(path);
    return rc;
}

/* Fetches f into cache/<cache_rel>, taking it from the mirror at <mirror>/<mirror_rel>. */
static int fetch_into_cache(const el_datasets_file *f, const char *cache_rel,
                            const char *mirror_rel, const el_datasets_params *p, char **local) {
    *local = NULL;
    char *cache = el_datasets_cache_dir(p->cache_dir);
    char *dest = el_path_join(cache, cache_rel);
    char *inc = el_printf("%s.incomplete", dest);
    char *dir = el_dirname(dest);
    const char *mirror = p->mirror ? p->mirror : el_env("EMOLAB_DATA_MIRROR", NULL);
    char *url = NULL;
    int lfd = -1;
    int rc = EL_ERR;
    if (el_file_exists(dest) && !p->force) {
        if (el_datasets_verify(f, dest) == EL_OK) {
            *local = dest;
            dest = NULL;
            rc = EL_OK;
            goto done;
        }
        if (!p->quiet)
            fprintf(stderr, "data: the cached %s does not match its pin (%s); fetching it again\n",
                    f->path, el_last_error());
    }
    if (el_mkdirs(dir, 0755) != EL_OK) {
        el_err_prefix("the data cache %s is not usable (set EMOLAB_DATA_CACHE or --cache-dir to "
                      "a writable directory)", cache);
        goto done;
    }
    url = source_url(f, mirror_rel, mirror);
    if (!url) goto done;
    if (mirror && *mirror && !el_datasets_is_url(mirror)) {
        char *m = el_path_join(mirror, mirror_rel);
        struct stat mst;
        bool there = stat(m, &mst) == 0;
        free(m);
        if (there && f->bytes >= 0 && (int64_t)mst.st_size != f->bytes) {
            el_err("%s in the mirror %s has %lld bytes, the pin says %lld: the mirror copy is "
                   "damaged or a different version; restore it from upstream (nothing was cached)",
                   f->path, mirror, (long long)mst.st_size, (long long)f->bytes);
            goto done;
        }
        if (!there) {
            el_err("%s is not in the mirror %s (looked for %s/%s): copy it there, or fetch "
                   "without a mirror where there is network%s",
                   f->path, mirror, mirror, mirror_rel,
                   f->url ? "" : " (it has no upstream URL: only a mirror can have it)");
            goto done;
        }
    }
    if (lock_path(cache, cache_rel, &lfd) != EL_OK) goto done;
    if (el_file_exists(dest) && !p->force && el_datasets_verify(f, dest) == EL_OK) {
        *local = dest; /* another process fetched it meanwhile */
        dest = NULL;
        rc = EL_OK;
        goto done;
    }
    if (p->force) unlink(inc);
    el_http_params hp = p->http;
    hp.allow_file_urls = true;
    hp.token = NULL;
    if (!hp.progress_label) {
        const char *sl = strrchr(f->path, '/');
        hp.progress_label = sl ? sl + 1 : f->path;
    }
    el_http_response r;
    el_http_download_info info;
    for (int attempt = 0;; attempt++) {
        bool had_prefix = el_file_exists(inc);
        if (el_http_download(url, inc, f->bytes, &hp, &r, &info) != EL_OK) {
            el_err_prefix("fetching %s", f->path);
            el_http_response_free(&r);
            goto done;
        }
        el_http_response_free(&r);
        if (el_datasets_verify(f, inc) == EL_OK) break;
        if (!had_prefix || attempt > 0) break;
        unlink(inc); /* the kept partial file may be the bad part: one fresh try */
    }
    if (el_datasets_verify(f, inc) != EL_OK) {
        char *why = xstrdup(el_last_error());
        unlink(inc);
        el_err("%s from %s does not match its pin (%s): the download was deleted and nothing was "
               "cached; %s",
               f->path, url, why,
               mirror && *mirror ? "the mirror copy is damaged or a different version: restore it "
                                   "from upstream"
                                 : "run again later; if it persists the upstream file changed");
        free(why);
        goto done;
    }
    if (rename(inc, dest) != 0) {
        el_err("%s: cannot move the verified file into place: %s", dest, strerror(errno));
        goto done;
    }
    *local = dest;
    dest = NULL;
    rc = EL_OK;
done:
    if (lfd >= 0) {
        flock(lfd, LOCK_UN);
        close(lfd);
    }
    free(url);
    free(cache);
    free(dest);
    free(inc);
    free(dir);
    return rc;
}

int el_datasets_fetch_file(const el_datasets_file *f, const el_datasets_params *p, char **local) {
    el_datasets_params d;
    if (!p) {
        d = el_datasets_default_params();
        p = &d;
    }
    return fetch_into_cache(f, f->path, f->path, p, local);
}

int el_datasets_fetch_set(const el_datasets_catalog *c, const char *name,
                          const el_datasets_params *p) {
    const el_datasets_entry *e = el_datasets_find(c, name);
    if (!e) {
        el_buf b = {0};
        for (int32_t i = 0; i < c->n_sets; i++) el_buf_printf(&b, "%s%s", i ? ", " : "", c->sets[i].name);
        el_err("no data set '%s' in %s; known: %s (emolab data ls shows them)", name, c->file,
               b.s ? b.s : "none");
        el_buf_free(&b);
        return EL_ERR;
    }
    int failed = 0;
    char *first_err = NULL;
    for (int32_t i = 0; i < e->n_files; i++) {
        const el_datasets_file *f = &c->files[e->files[i]];
        char *local = NULL;
        double t0 = el_now();
        if (el_datasets_fetch_file(f, p, &local) != EL_OK) {
            failed++;
            if (!first_err) first_err = xstrdup(el_last_error());
            if (!p->quiet) fprintf(stderr, "data: FAILED %s: %s\n", f->path, el_last_error());
            continue;
        }
        if (!p->quiet) {
            char b[32];
            el_format_bytes(f->bytes >= 0 ? f->bytes : 0, b);
            fprintf(stderr, "data: ok %s (%s, verified, %.2fs)\n", f->path, b, el_now() - t0);
        }
        if (p->paths_out) fprintf(p->paths_out, "%s\n", local);
        free(local);
    }
    if (failed) {
        el_err("%d of %d files of %s could not be fetched; first: %s", failed, (int)e->n_files,
               name, first_err);
        free(first_err);
        return EL_ERR;
    }
    return EL_OK;
}

/* ---- URLs in specs ------------------------------------------------------------------------ */
int el_datasets_resolve_url(const el_datasets_catalog *cat, const char *url,
                            const el_datasets_params *p, char **local) {
    *local = NULL;
    el_datasets_params d;
    if (!p) {
        d = el_datasets_default_params();
        p = &d;
    }
    if (!el_datasets_is_url(url))
        return el_err("'%s' is not a URL (http://, https:// or file://)", url);
    el_datasets_catalog own = {0};
    if (!cat) {
        if (el_datasets_load(NULL, &own) != EL_OK) return EL_ERR;
        cat = &own;
    }
    const char *hash = strchr(url, '#');
    char *base = hash ? el_strndup(url, (size_t)(hash - url)) : xstrdup(url);
    int rc = EL_ERR;
    const el_datasets_file *f = el_datasets_find_url(cat, base);
    if (f) {
        rc = el_datasets_fetch_file(f, p, local);
        goto done;
    }
    el_datasets_file tmp = {0};
    tmp.bytes = -1;
    if (hash && el_starts_with(hash + 1, "sha256=") && el_is_hex(hash + 8, 64)) {
        memcpy(tmp.sha256, hash + 8, 65);
    } else if (hash && el_starts_with(hash + 1, "git_blob=") && el_is_hex(hash + 10, 40)) {
        memcpy(tmp.git_blob, hash + 10, 41);
    } else {
        el_err("%s is not pinned: add it to %s with its bytes and sha256 (or git_blob), or append "
               "#sha256=<64 hex digits of the file> to the URL",
               base, cat->file ? cat->file : "configs/datasets.yaml");
        goto done;
    }
    /* <host>/<path> for mirrors; urls/<hash>/<file name> in the cache */
    const char *s = strstr(base, "://") + 3;
    const char *q = s + strcspn(s, "?");
    char *mirror_rel = el_strndup(s, (size_t)(q - s));
    if (el_hub_check_filename(mirror_rel) != EL_OK) {
        el_err_prefix("URL %s", base);
        free(mirror_rel);
        goto done;
    }
    const char *slash = strrchr(mirror_rel, '/');
    const char *bn = slash && slash[1] ? slash + 1 : "file";
    char h[65];
    el_sha256_hex(base, strlen(base), h);
    char *cache_rel = el_printf("urls/%.16s/%s", h, bn);
    tmp.path = mirror_rel;
    tmp.url = base;
    rc = fetch_into_cache(&tmp, cache_rel, mirror_rel, p, local);
    free(cache_rel);
    free(mirror_rel);
done:
    free(base);
    el_datasets_free(&own);
    return rc;
}

/* ---- listing -------------------------------------------------------------------------------- */
void el_datasets_print(const el_datasets_catalog *c, const el_datasets_params *p, FILE *out,
                       bool verify) {
    char *cache = el_datasets_cache_dir(p->cache_dir);
    fprintf(out, "catalog %s, cache %s\n", c->file, cache);
    for (int32_t i = 0; i < c->n_sets; i++) {
        const el_datasets_entry *e = &c->sets[i];
        fprintf(out, "\n%s: %s\n", e->name, e->description ? e->description : "");
        if (e->source || e->license)
            fprintf(out, "  source: %s; license: %s\n", e->source ? e->source : "?",
                    e->license ? e->license : "?");
        for (int32_t k = 0; k < e->n_files; k++) {
            const el_datasets_file *f = &c->files[e->files[k]];
            char *local = el_path_join(cache, f->path);
            const char *state = "-";
            if (el_file_exists(local)) {
                struct stat st;
                bool size_ok = stat(local, &st) == 0 &&
                               (f->bytes < 0 || (int64_t)st.st_size == f->bytes);
                if (!size_ok)
                    state = "CORRUPT";
                else if (verify)
                    state = el_datasets_verify(f, local) == EL_OK ? "verified" : "CORRUPT";
                else
                    state = "cached";
            }
            char b[32] = "?";
            if (f->bytes >= 0) el_format_bytes(f->bytes, b);
            fprintf(out, "  %-9s %10s  %-13s %s%s\n", state, b,
                    f->sha256[0] && f->git_blob[0] ? "sha256+blob"
                    : f->sha256[0]                 ? "sha256"
                                                   : "git-blob",
                    f->path, f->url ? "" : "  (mirror only)");
            free(local);
        }
    }
    free(cache);
}
