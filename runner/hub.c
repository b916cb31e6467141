/* hub.c: see hub.h. */
#define _GNU_SOURCE
#include "hub.h"

#include "digest.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

const char *const EL_HUB_DEFAULT_INCLUDE[] = {"*.json", "*.safetensors", "*.txt", "*.model"};
const int32_t EL_HUB_N_DEFAULT_INCLUDE = 4;

el_hub_params el_hub_default_params(void) {
    el_hub_params p = {0};
    p.offline = -1;
    p.http = el_http_default_params();
    return p;
}

/* ---- names -------------------------------------------------------------------------------- */
/* User input for a message: control characters as '?', at most 200 bytes. malloc'd. */
static char *shown(const char *s) {
    if (!s) return xstrdup("(null)");
    size_t n = strlen(s);
    if (n > 200) n = 200;
    char *o = el_strndup(s, n);
    for (char *q = o; *q; q++)
        if ((unsigned char)*q < 32 || *q == 127) *q = '?';
    return o;
}

static bool word_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

int el_hub_check_repo_id(const char *repo) {
    const char *example = "expected ORG/NAME as on the hub, e.g. ai-forever/ru-en-RoSBERTa";
    if (!repo || !*repo) return el_err("empty model name: %s", example);
    char *s = shown(repo);
    int rc = EL_OK;
    size_t n = strlen(repo);
    int slashes = 0;
    for (size_t i = 0; i < n && rc == EL_OK; i++) {
        char c = repo[i];
        if (c == '/') {
            slashes++;
        } else if (!(isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.') ||
                   (unsigned char)c >= 128) {
            rc = el_err("model name '%s': character %zu ('%c') is not allowed (letters, digits, "
                        "'-', '_' and '.' only); %s",
                        s, i + 1, (unsigned char)c >= 32 && c != 127 ? c : '?', example);
        }
    }
    if (rc == EL_OK && n > 96)
        rc = el_err("model name '%s' is longer than 96 characters; %s", s, example);
    if (rc == EL_OK && slashes > 1)
        rc = el_err("model name '%s' has more than one '/'; %s (a file inside the repository is "
                    "chosen with --include)", s, example);
    if (rc == EL_OK && (strstr(repo, "--") || strstr(repo, "..")))
        rc = el_err("model name '%s' contains '--' or '..', which the hub does not allow; %s", s,
                    example);
    if (rc == EL_OK && n >= 4 && strcmp(repo + n - 4, ".git") == 0)
        rc = el_err("model name '%s' ends with '.git'; drop it (%s)", s, example);
    if (rc == EL_OK) { /* each part starts and ends with a letter, digit or '_' */
        const char *part = repo;
        while (rc == EL_OK) {
            const char *end = strchr(part, '/');
            size_t pn = end ? (size_t)(end - part) : strlen(part);
            if (pn == 0 || !word_char(part[0]) || !word_char(part[pn - 1]))
                rc = el_err("model name '%s': each part must start and end with a letter or "
                            "digit; %s", s, example);
            if (!end) break;
            part = end + 1;
        }
    }
    free(s);
    return rc;
}

int el_hub_check_revision(const char *rev) {
    if (!rev || !*rev)
        return el_err("empty revision after '@': give a branch, tag or commit (e.g. @main)");
    char *s = shown(rev);
    int rc = EL_OK;
    size_t n = strlen(rev);
    if (n > 255) rc = el_err("revision '%s...' is longer than 255 characters", s);
    for (size_t i = 0; i < n && rc == EL_OK; i++) {
        unsigned char c = (unsigned char)rev[i];
        if (c <= 32 || c == 127 || strchr("~^:?*[\\", c))
            rc = el_err("revision '%s': character %zu is not allowed in a git branch, tag or "
                        "commit name", s, i + 1);
    }
    if (rc == EL_OK && (strstr(rev, "..") || strstr(rev, "//") || strstr(rev, "@{") ||
                        rev[0] == '/' || rev[0] == '-' || rev[0] == '.' || rev[n - 1] == '/' ||
                        rev[n - 1] == '.' || strstr(rev, "/.")))
        rc = el_err("revision '%s' is not a valid git branch, tag or commit name", s);
    free(s);
    return rc;
}

int el_hub_check_filename(const char *name) {
    if (!name || !*name) return el_err("empty file name");
    char *s = shown(name);
    int rc = EL_OK;
    size_t n = strlen(name);
    if (n > 1024) rc = el_err("file name '%s...' is longer than 1024 bytes", s);
    if (rc == EL_OK && name[0] == '/') rc = el_err("'%s' is an absolute path", s);
    for (size_t i = 0; i < n && rc == EL_OK; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 32 || c == 127 || c == '\\')
            rc = el_err("'%s' contains a control character or a backslash", s);
    }
    if (rc == EL_OK) {
        const char *part = name;
        while (rc == EL_OK) {
            const char *end = strchr(part, '/');
            size_t pn = end ? (size_t)(end - part) : strlen(part);
            if (pn == 0 || (pn == 1 && part[0] == '.') ||
                (pn == 2 && part[0] == '.' && part[1] == '.'))
                rc = el_err("'%s' has an empty, '.' or '..' path component", s);
            if (!end) break;
            part = end + 1;
        }
    }
    free(s);
    return rc;
}

int el_hub_parse_ref(const char *ref, char **repo, char **revision) {
    *repo = *revision = NULL;
    if (!ref || !*ref)
        return el_err("no model given: expected ORG/NAME[@REVISION], e.g. ai-forever/ru-en-RoSBERTa@main");
    const char *at = strchr(ref, '@');
    char *r = at ? el_strndup(ref, (size_t)(at - ref)) : xstrdup(ref);
    char *v = xstrdup(at ? at + 1 : "main");
    if (el_hub_check_repo_id(r) != EL_OK || el_hub_check_revision(v) != EL_OK) {
        free(r);
        free(v);
        return EL_ERR;
    }
    *repo = r;
    *revision = v;
    return EL_OK;
}

char *el_hub_folder_name(const char *repo) {
    el_buf b = {0};
    el_buf_puts(&b, "models--");
    for (const char *p = repo; *p; p++) {
        if (*p == '/')
            el_buf_puts(&b, "--");
        else
            el_buf_putc(&b, *p);
    }
    return el_buf_take(&b);
}

/* ---- places ----------------------------------------------------------------------------- */
static char *home_dir(void) {
    const char *h = el_env("HOME", NULL);
    if (h) return xstrdup(h);
    struct passwd *pw = getpwuid(getuid());
    return xstrdup(pw && pw->pw_dir ? pw->pw_dir : "/tmp");
}

static char *expand_home(const char *p) {
    if (p[0] == '~' && (p[1] == '/' || p[1] == 0)) {
        char *h = home_dir();
        char *r = el_printf("%s%s", h, p + 1);
        free(h);
        return r;
    }
    return xstrdup(p);
}

static char *hf_home(void) {
    const char *e = el_env("HF_HOME", NULL);
    if (e) return expand_home(e);
    e = el_env("XDG_CACHE_HOME", NULL);
    if (e) return el_printf("%s/huggingface", e);
    char *h = home_dir();
    char *r = el_printf("%s/.cache/huggingface", h);
    free(h);
    return r;
}

char *el_hub_cache_dir(const char *option) {
    if (option && *option) return expand_home(option);
    const char *e = el_env("HF_HUB_CACHE", NULL);
    if (!e) e = el_env("HUGGINGFACE_HUB_CACHE", NULL);
    if (e) return expand_home(e);
    char *home = hf_home();
    char *r = el_path_join(home, "hub");
    free(home);
    return r;
}

char *el_hub_endpoint(const char *option) {
    const char *e = option && *option ? option : el_env("HF_ENDPOINT", "https://huggingface.co");
    size_t n = strlen(e);
    while (n > 0 && e[n - 1] == '/') n--;
    return el_strndup(e, n);
}

bool el_hub_offline_env(void) {
    const char *e = getenv("HF_HUB_OFFLINE");
    if (!e) return false;
    return !strcasecmp(e, "1") || !strcasecmp(e, "on") || !strcasecmp(e, "yes") ||
           !strcasecmp(e, "true");
}

static void wipe_free(char *s) {
    if (!s) return;
    explicit_bzero(s, strlen(s));
    free(s);
}

static bool token_chars_ok(const char *t) {
    for (const unsigned char *p = (const unsigned char *)t; *p; p++)
        if (*p <= 32 || *p >= 127) return false;
    return true;
}

int el_hub_token(char **token) {
    *token = NULL;
    const char *e = getenv("HF_TOKEN");
    const char *from = "HF_TOKEN";
    if (!e || !*e) {
        e = getenv("HUGGING_FACE_HUB_TOKEN");
        from = "HUGGING_FACE_HUB_TOKEN";
    }
    if (e && *e) {
        if (!token_chars_ok(e))
            return el_err("%s contains spaces or control characters: set it to the token alone "
                          "(hf_...)", from);
        *token = xstrdup(e);
        return EL_OK;
    }
    char *path = NULL;
    const char *tp = el_env("HF_TOKEN_PATH", NULL);
    if (tp) {
        path = expand_home(tp);
    } else {
        char *home = hf_home();
        path = el_path_join(home, "token");
        free(home);
    }
    if (!el_file_exists(path)) {
        free(path);
        return EL_OK;
    }
    char *data = NULL;
    size_t len = 0;
    if (el_read_file(path, &data, &len) != EL_OK) {
        el_err_prefix("cannot read the Hugging Face token file");
        free(path);
        return EL_ERR;
    }
    /* trim surrounding whitespace */
    size_t a = 0, b = len;
    while (a < b && isspace((unsigned char)data[a])) a++;
    while (b > a && isspace((unsigned char)data[b - 1])) b--;
    char *t = el_strndup(data + a, b - a);
    explicit_bzero(data, len);
    free(data);
    if (!*t) {
        free(t);
        free(path);
        return EL_OK;
    }
    if (!token_chars_ok(t)) {
        wipe_free(t);
        el_err("the token file %s holds spaces or control characters: it must hold the token "
               "alone (hf_...)", path);
        free(path);
        return EL_ERR;
    }
    free(path);
    *token = t;
    return EL_OK;
}

/* ---- the fetch ---------------------------------------------------------------------------- */
typedef struct {
    char *path;   /* relative path in the repository */
    char *etag;   /* blob name */
    int64_t size; /* -1 = unknown */
    bool lfs;
    char *url;    /* resolve URL at the commit */
    bool cached;  /* already linked in the snapshot */
} hub_file;

typedef struct {
    const el_hub_params *p;
    el_http_params http;
    char *endpoint, *cache, *repo, *rev, *folder, *repo_dir;
    char *token;
    char commit[41];
} hub_ctx;

static void ctx_free(hub_ctx *c) {
    free(c->endpoint);
    free(c->cache);
    free(c->repo);
    free(c->rev);
    free(c->folder);
    free(c->repo_dir);
    wipe_free(c->token);
    memset(c, 0, sizeof *c);
}

static int ctx_init(hub_ctx *c, const char *ref, const el_hub_params *p) {
    memset(c, 0, sizeof *c);
    c->p = p;
    c->http = p->http;
    if (el_hub_parse_ref(ref, &c->repo, &c->rev) != EL_OK) return EL_ERR;
    c->endpoint = el_hub_endpoint(p->endpoint);
    c->cache = el_hub_cache_dir(p->cache_dir);
    c->folder = el_hub_folder_name(c->repo);
    c->repo_dir = el_path_join(c->cache, c->folder);
    return EL_OK;
}

static bool is_offline(const el_hub_params *p) {
    return p->offline > 0 || (p->offline < 0 && el_hub_offline_env());
}

static char *resolve_url(const hub_ctx *c, const char *rev, const char *path) {
    el_buf b = {0};
    char *er = el_http_escape(rev);
    el_buf_printf(&b, "%s/%s/resolve/%s/", c->endpoint, c->repo, er);
    free(er);
    const char *part = path;
    while (1) {
        const char *end = strchr(part, '/');
        char *seg = end ? el_strndup(part, (size_t)(end - part)) : xstrdup(part);
        char *es = el_http_escape(seg);
        el_buf_puts(&b, es);
        free(es);
        free(seg);
        if (!end) break;
        el_buf_putc(&b, '/');
        part = end + 1;
    }
    return el_buf_take(&b);
}

static bool has_glob(const char *s) { return strpbrk(s, "*?[") != NULL; }

static bool matches_any(const char *name, const char *const *pats, int32_t n) {
    for (int32_t i = 0; i < n; i++)
        if (fnmatch(pats[i], name, 0) == 0) return true;
    return false;
}

/* The file at snapshots/<commit>/<path> exists and its link (if it is one) resolves. */
static bool snapshot_has(const hub_ctx *c, const char *commit, const char *path) {
    char *p = el_printf("%s/snapshots/%s/%s", c->repo_dir, commit, path);
    struct stat st;
    bool ok = stat(p, &st) == 0 && S_ISREG(st.st_mode);
    free(p);
    return ok;
}

static int read_ref(const hub_ctx *c, const char *rev, char commit[41]) {
    if (el_is_hex(rev, 40)) {
        char *d = el_printf("%s/snapshots/%s", c->repo_dir, rev);
        bool ok = el_file_exists(d);
        free(d);
        if (ok) {
            memcpy(commit, rev, 41);
            return EL_OK;
        }
    }
    char *path = el_printf("%s/refs/%s", c->repo_dir, rev);
    char *data = NULL;
    size_t len = 0;
    int rc = EL_ERR;
    if (el_file_exists(path) && el_read_file(path, &data, &len) == EL_OK) {
        while (len > 0 && isspace((unsigned char)data[len - 1])) data[--len] = 0;
        if (el_is_hex(data, 40)) {
            memcpy(commit, data, 41);
            char *d = el_printf("%s/snapshots/%s", c->repo_dir, commit);
            if (el_file_exists(d)) rc = EL_OK;
            free(d);
        }
    }
    free(data);
    free(path);
    return rc;
}

static void snapshot_free_files(el_hub_snapshot *s) {
    for (int32_t i = 0; i < s->n_files; i++) free(s->files[i]);
    free(s->files);
    s->files = NULL;
    s->n_files = 0;
}

void el_hub_snapshot_free(el_hub_snapshot *s) {
    if (!s) return;
    free(s->repo);
    free(s->revision);
    free(s->repo_dir);
    free(s->snapshot_dir);
    snapshot_free_files(s);
    memset(s, 0, sizeof *s);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects regular files (or links to them) under dir, relative to base. */
static void walk_snapshot(const char *dir, const char *rel, char ***out, int32_t *n, int64_t *cap) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *full = el_printf("%s/%s", dir, e->d_name);
        char *r = *rel ? el_printf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
        struct stat st;
        if (stat(full, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                walk_snapshot(full, r, out, n, cap);
                free(r);
            } else if (S_ISREG(st.st_mode)) {
                el_grow(*out, cap, *n + 1);
                (*out)[(*n)++] = r;
            } else {
                free(r);
            }
        } else {
            free(r);
        }
        free(full);
    }
    closedir(d);
}

/* Resolves from the cache alone; `why` says why the hub is not asked. */
static int resolve_cached(hub_ctx *c, el_hub_snapshot *out, const char *why) {
    const el_hub_params *p = c->p;
    char commit[41];
    if (read_ref(c, c->rev, commit) != EL_OK)
        return el_err("%s@%s is not in the cache %s and %s: fetch it where there is network "
                      "(`emolab fetch %s@%s`) and copy %s into this cache, or point HF_HUB_CACHE "
                      "at a cache that has it",
                      c->repo, c->rev, c->cache, why, c->repo, c->rev, c->folder);
    char *snap = el_printf("%s/snapshots/%s", c->repo_dir, commit);
    char **all = NULL;
    int32_t n_all = 0;
    int64_t cap = 0;
    walk_snapshot(snap, "", &all, &n_all, &cap);
    if (n_all > 1) el_qsort(all, (size_t)n_all, sizeof *all, cmp_str);
    const char *const *pats = p->include ? p->include : EL_HUB_DEFAULT_INCLUDE;
    int32_t npats = p->include ? p->n_include : EL_HUB_N_DEFAULT_INCLUDE;
    el_hub_snapshot s = {0};
    int64_t scap = 0;
    for (int32_t i = 0; i < n_all; i++) {
        bool take = p->all_files || matches_any(all[i], pats, npats);
        if (!take && !p->include && !p->all_files && fnmatch("pytorch_model*.bin", all[i], 0) == 0)
            take = true;
        if (take) {
            el_grow(s.files, &scap, s.n_files + 1);
            s.files[s.n_files++] = all[i];
            char *full = el_printf("%s/%s", snap, all[i]);
            struct stat st;
            if (stat(full, &st) == 0) s.bytes_total += (int64_t)st.st_size;
            free(full);
        } else {
            free(all[i]);
        }
    }
    free(all);
    int rc = EL_OK;
    if (p->include && !p->all_files) {
        for (int32_t i = 0; i < p->n_include && rc == EL_OK; i++) {
            if (has_glob(p->include[i])) continue;
            bool found = false;
            for (int32_t k = 0; k < s.n_files; k++)
                if (!strcmp(s.files[k], p->include[i])) found = true;
            if (!found) {
                char *f = shown(p->include[i]);
                rc = el_err("%s is not in the cached snapshot %s of %s@%s and %s: fetch it where "
                            "there is network (`emolab fetch %s@%s --include %s`)",
                            f, commit, c->repo, c->rev, why, c->repo, c->rev, f);
                free(f);
            }
        }
    }
    if (rc == EL_OK && s.n_files == 0)
        rc = el_err("the cached snapshot %s has no file matching the patterns and %s: fetch "
                    "the files where there is network",
                    snap, why);
    if (rc != EL_OK) {
        snapshot_free_files(&s);
        free(snap);
        return EL_ERR;
    }
    s.repo = xstrdup(c->repo);
    s.revision = xstrdup(c->rev);
    memcpy(s.commit, commit, 41);
    s.repo_dir = xstrdup(c->repo_dir);
    s.snapshot_dir = snap;
    s.n_cached = s.n_files;
    s.from_cache = true;
    *out = s;
    return EL_OK;
}

/* ---- errors from the hub ------------------------------------------------------------------ */
static int hub_status_error(const hub_ctx *c, const el_http_response *r, const char *what,
                            const char *file) {
    const char *code = el_http_header(r, "x-error-code");
    const char *xm = el_http_header(r, "x-error-message");
    char *srv = NULL;
    if (xm) { /* scrub the whole value before it is cut, so no part of a token survives */
        char *full = xstrdup(xm);
        el_http_scrub(full, c->token);
        srv = shown(full);
        free(full);
    }
    char extra[260] = "";
    if (srv) snprintf(extra, sizeof extra, " (hub says: %s)", srv);
    free(srv);
    int st = r->status;
    if (st == 401 || st == 403) {
        if (code && !strcmp(code, "GatedRepo"))
            return el_err("%s: %s is gated (HTTP %d)%s: accept its conditions at %s/%s with your "
                          "account and set HF_TOKEN to a token of that account",
                          what, c->repo, st, extra, c->endpoint, c->repo);
        if (!c->token)
            return el_err("%s: %s needs authentication (HTTP %d)%s: it is private or gated, or "
                          "does not exist. Set HF_TOKEN (or write the token to $HF_HOME/token) "
                          "with read access to it",
                          what, c->repo, st, extra);
        return el_err("%s: the hub refused the token for %s (HTTP %d)%s: check that HF_TOKEN (or "
                      "the token file) is valid and has read access to this repository",
                      what, c->repo, st, extra);
    }
    if (st == 404) {
        if (code && !strcmp(code, "RevisionNotFound"))
            return el_err("%s: revision '%s' does not exist in %s%s: use a branch, tag or commit "
                          "of the repository (see %s/%s/tree/main)",
                          what, c->rev, c->repo, extra, c->endpoint, c->repo);
        if (code && !strcmp(code, "EntryNotFound") && file)
            return el_err("%s: %s does not exist in %s at %s%s: check the file name", what, file,
                          c->repo, c->commit[0] ? c->commit : c->rev, extra);
        if (file)
            return el_err("%s: %s not found in %s@%s (HTTP 404)%s: check the file name and the "
                          "revision", what, file, c->repo, c->rev, extra);
        return el_err("%s: %s@%s not found at %s (HTTP 404)%s: check the name (ORG/NAME as in "
                      "%s/ORG/NAME) and the revision; a private repository needs HF_TOKEN",
                      what, c->repo, c->rev, c->endpoint, extra, c->endpoint);
    }
    if (st == 429)
        return el_err("%s: the hub limits the request rate (HTTP 429)%s: wait a few minutes and "
                      "run again; a token (HF_TOKEN) raises the limit", what, extra);
    return el_err("%s: HTTP %d from %s%s", what, st, c->endpoint, extra);
}

static bool looks_html(const el_http_response *r, const char *body) {
    const char *ct = el_http_header(r, "content-type");
    if (ct && strcasestr(ct, "html")) return true;
    if (body) {
        while (*body && isspace((unsigned char)*body)) body++;
        if (*body == '<') return true;
    }
    return false;
}

/* ---- the model API ---------------------------------------------------------------------- */
typedef struct {
    char commit[41];
    char **names;
    int32_t n;
} hub_listing;

static void listing_free(hub_listing *l) {
    for (int32_t i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
    memset(l, 0, sizeof *l);
}

int el_hub_parse_listing(const char *json, size_t len, char commit[41], char ***files,
                         int32_t *n_files) {
    *files = NULL;
    *n_files = 0;
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root || !json_is_object(root)) {
        el_err("%s at line %d", root ? "not an object" : jerr.text, root ? 1 : jerr.line);
        json_decref(root);
        return 1;
    }
    const char *sha = json_string_value(json_object_get(root, "sha"));
    json_t *sib = json_object_get(root, "siblings");
    if (!sha || !el_is_hex(sha, 40) || !json_is_array(sib)) {
        el_err("it lacks a 40-hex 'sha' or a 'siblings' list");
        json_decref(root);
        return 2;
    }
    memcpy(commit, sha, 41);
    size_t n = json_array_size(sib);
    char **names = xcalloc(n ? n : 1, sizeof(char *));
    int32_t k = 0;
    int rc = EL_OK;
    for (size_t i = 0; i < n; i++) {
        const char *name = json_string_value(json_object_get(json_array_get(sib, i), "rfilename"));
        if (!name) {
            el_err("entry %zu of 'siblings' has no 'rfilename'", i);
            rc = 3;
            break;
        }
        if (el_hub_check_filename(name) != EL_OK) {
            rc = 4;
            break;
        }
        names[k++] = xstrdup(name);
    }
    json_decref(root);
    if (rc != EL_OK) {
        for (int32_t i = 0; i < k; i++) free(names[i]);
        free(names);
        return rc;
    }
    *files = names;
    *n_files = k;
    return EL_OK;
}

/* EL_OK with the listing; EL_ERR with a message; *unreachable set when no answer came. */
static int fetch_listing(hub_ctx *c, hub_listing *out, bool *unreachable) {
    memset(out, 0, sizeof *out);
    *unreachable = false;
    char *er = el_http_escape(c->rev);
    char *url = el_printf("%s/api/models/%s/revision/%s", c->endpoint, c->repo, er);
    free(er);
    char *what = el_printf("listing the files of %s@%s", c->repo, c->rev);
    el_http_response r;
    char *body = NULL;
    int64_t blen = 0;
    el_http_params hp = c->http;
    hp.token = c->token;
    int rc = EL_ERR;
    if (el_http_get(url, &hp, 16 << 20, &r, &body, &blen) != EL_OK) {
        *unreachable = true;
        el_err_prefix("%s", what);
        goto done;
    }
    if (r.status != 200) {
        hub_status_error(c, &r, what, NULL);
        if (looks_html(&r, body)) {
            char *m = xstrdup(el_last_error());
            el_err("%s (the answer was an HTML page: is HF_ENDPOINT=%s a Hugging Face hub?)", m,
                   c->endpoint);
            free(m);
        }
        goto done;
    }
    if (looks_html(&r, body)) {
        const char *ct = el_http_header(&r, "content-type");
        el_err("%s: %s answered an HTML page (content-type %s) instead of JSON: HF_ENDPOINT=%s "
               "is not a Hugging Face hub API, or a proxy or captive portal answered; check "
               "HF_ENDPOINT and the network",
               what, url, ct ? ct : "unknown", c->endpoint);
        goto done;
    }
    int32_t nf = 0;
    int prc = el_hub_parse_listing(body, (size_t)blen, out->commit, &out->names, &nf);
    char *why = xstrdup(el_last_error());
    switch (prc) {
    case EL_OK:
        out->n = nf;
        rc = EL_OK;
        break;
    case 1:
        el_err("%s: %s did not answer JSON (%s): check HF_ENDPOINT=%s", what, url, why,
               c->endpoint);
        break;
    case 2:
        el_err("%s: the answer of %s lacks a 40-hex 'sha' or a 'siblings' list: HF_ENDPOINT=%s "
               "does not look like a Hugging Face hub", what, url, c->endpoint);
        break;
    case 3:
        el_err("%s: %s", what, why);
        break;
    default:
        el_err_prefix("%s: the hub's file list holds an unsafe path; refusing to fetch anything "
                      "from %s@%s (check that HF_ENDPOINT=%s is a trustworthy hub)",
                      what, c->repo, c->rev, c->endpoint);
        break;
    }
    free(why);
done:
    el_http_response_free(&r);
    free(body);
    free(what);
    free(url);
    return rc;
}

/* ---- per-file metadata ------------------------------------------------------------------- */
static char *normalize_etag(const char *e) {
    if (!e) return NULL;
    if (!strncmp(e, "W/", 2)) e += 2;
    size_t n = strlen(e);
    if (n >= 2 && e[0] == '"' && e[n - 1] == '"') return el_strndup(e + 1, n - 2);
    return xstrdup(e);
}

static bool etag_safe(const char *e) {
    size_t n = strlen(e);
    if (n == 0 || n > 128) return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)e[i]) || e[i] == '-' || e[i] == '_')) return false;
    return true;
}

static char *url_origin(const char *url) {
    const char *s = strstr(url, "://");
    if (!s) return xstrdup(url);
    const char *e = s + 3 + strcspn(s + 3, "/?#");
    return el_strndup(url, (size_t)(e - url));
}

char *el_hub_redirect_target(const char *url, const char *loc) {
    char *o = url_origin(url);
    char *next = NULL;
    if (loc[0] == '/' && loc[1] != '/') {
        next = el_printf("%s%s", o, loc);
    } else {
        char *lo = url_origin(loc);
        if (!strcmp(lo, o)) next = xstrdup(loc);
        free(lo);
    }
    free(o);
    return next;
}

int el_hub_parse_file_headers(const el_http_response *r, char commit[41], char **etag,
                              int64_t *size, bool *lfs) {
    *etag = NULL;
    *size = -1;
    *lfs = false;
    const char *cm = el_http_header(r, "x-repo-commit");
    const char *le = el_http_header(r, "x-linked-etag");
    const char *et = el_http_header(r, "etag");
    const char *ls = el_http_header(r, "x-linked-size");
    const char *cl = el_http_header(r, "content-length");
    if (!cm || !el_is_hex(cm, 40)) return 1;
    memcpy(commit, cm, 41);
    char *e = normalize_etag(le ? le : et);
    if (!e) return 2;
    if (!etag_safe(e)) {
        free(e);
        return 3;
    }
    for (char *q = e; *q; q++) *q = (char)tolower((unsigned char)*q);
    *etag = e;
    *lfs = le != NULL;
    int64_t v;
    if (ls && el_parse_i64(ls, &v) == EL_OK && v >= 0)
        *size = v;
    else if (!*lfs && r->status == 200 && cl && el_parse_i64(cl, &v) == EL_OK && v >= 0)
        *size = v;
    return EL_OK;
}

/* HEAD the resolve URL of f->path at `rev`; fills etag/size/lfs and (when commit_out is given)
 * the commit the hub reports. */
static int head_file(hub_ctx *c, hub_file *f, const char *rev, char commit_out[41],
                     bool *unreachable) {
    char *url = resolve_url(c, rev, f->path);
    char *what = el_printf("resolving %s in %s@%s", f->path, c->repo, c->rev);
    el_http_params hp = c->http;
    hp.token = c->token;
    el_http_response r = {0};
    int rc = EL_ERR;
    for (int hop = 0; hop < 6; hop++) {
        el_http_response_free(&r);
        if (el_http_head(url, &hp, &r) != EL_OK) {
            if (unreachable) *unreachable = true;
            el_err_prefix("%s", what);
            goto done;
        }
        const char *loc = el_http_header(&r, "location");
        /* a redirect on the hub's own origin (a renamed repository) is followed; one to
         * another origin goes to the storage backend, and this answer carries the metadata */
        if (r.status >= 300 && r.status < 400 && loc && !el_http_header(&r, "x-repo-commit")) {
            char *next = el_hub_redirect_target(url, loc);
            if (next) {
                free(url);
                url = next;
                continue;
            }
        }
        break;
    }
    if (r.status >= 400 || r.status < 200) {
        hub_status_error(c, &r, what, f->path);
        goto done;
    }
    char commit[41];
    free(f->etag);
    f->etag = NULL;
    int prc = el_hub_parse_file_headers(&r, commit, &f->etag, &f->size, &f->lfs);
    if (prc == 1) {
        el_err("%s: the answer (HTTP %d) has no X-Repo-Commit header: HF_ENDPOINT=%s does not "
               "look like a Hugging Face hub, or a proxy strips its headers",
               what, (int)r.status, c->endpoint);
        goto done;
    }
    if (prc != EL_OK) {
        el_err("%s: the hub gave %s ETag; cannot name the blob (HF_ENDPOINT=%s)", what,
               prc == 2 ? "no" : "an unusable", c->endpoint);
        goto done;
    }
    if (commit_out) memcpy(commit_out, commit, 41);
    free(f->url);
    f->url = resolve_url(c, commit, f->path);
    rc = EL_OK;
done:
    el_http_response_free(&r);
    free(url);
    free(what);
    return rc;
}

/* ---- blobs, locks, links ----------------------------------------------------------------- */
static int lock_blob(hub_ctx *c, const char *etag, const char *file, int *fd_out) {
    char *dir = el_printf("%s/.locks/%s", c->cache, c->folder);
    char *path = el_printf("%s/%s.lock", dir, etag);
    int rc = EL_ERR;
    *fd_out = -1;
    if (el_mkdirs(dir, 0755) != EL_OK) {
        el_err_prefix("cannot create the lock directory (is the cache writable? set "
                      "HF_HUB_CACHE or --cache-dir)");
        goto done;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        el_err("%s: cannot create the lock file: %s; is the cache writable? (HF_HUB_CACHE or "
               "--cache-dir)", path, strerror(errno));
        goto done;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            el_err("%s: cannot lock: %s", path, strerror(errno));
            close(fd);
            goto done;
        }
        if (!c->p->quiet)
            fprintf(stderr, "hub: waiting for another process that downloads %s (lock %s)\n",
                    file, path);
        while (flock(fd, LOCK_EX) != 0) {
            if (errno != EINTR) {
                el_err("%s: cannot lock: %s", path, strerror(errno));
                close(fd);
                goto done;
            }
        }
    }
    *fd_out = fd;
    rc = EL_OK;
done:
    free(dir);
    free(path);
    return rc;
}

static void unlock_blob(int fd) {
    if (fd < 0) return;
    flock(fd, LOCK_UN);
    close(fd);
}

/* Checks the downloaded file against what the hub announced; sets a message on mismatch. */
static int verify_blob(const hub_ctx *c, const hub_file *f, const char *path,
                       const el_http_download_info *info) {
    if (f->size >= 0 && info->bytes != f->size)
        return el_err("%s from %s: got %lld bytes, the hub announced %lld", f->path, c->repo,
                      (long long)info->bytes, (long long)f->size);
    if (el_is_hex(f->etag, 64)) {
        if (strcmp(info->sha256, f->etag) != 0)
            return el_err("%s from %s: sha256 %s does not match %s announced by the hub "
                          "(X-Linked-Etag)", f->path, c->repo, info->sha256, f->etag);
    } else if (!f->lfs && el_is_hex(f->etag, 40)) {
        char sha1[41];
        if (el_git_blob_sha1_file(path, sha1) != EL_OK) return EL_ERR;
        if (strcmp(sha1, f->etag) != 0)
            return el_err("%s from %s: git blob id %s does not match the ETag %s announced by the "
                          "hub", f->path, c->repo, sha1, f->etag);
    }
    return EL_OK;
}

static int download_blob(hub_ctx *c, hub_file *f, int64_t *received, bool *downloaded) {
    *downloaded = false;
    char *blob = el_printf("%s/blobs/%s", c->repo_dir, f->etag);
    char *inc = el_printf("%s.incomplete", blob);
    int rc = EL_ERR;
    if (el_file_exists(blob) && !c->p->force) {
        rc = EL_OK;
        goto done;
    }
    if (c->p->force) unlink(inc);
    el_http_params hp = c->http;
    hp.token = c->token;
    hp.progress_label = f->path;
    for (int attempt = 0; attempt < 2; attempt++) {
        el_http_response r;
        el_http_download_info info;
        int drc = el_http_download(f->url, inc, f->size, &hp, &r, &info);
        *received += info.bytes_received;
        if (drc != EL_OK) {
            struct stat ist;
            if (stat(inc, &ist) == 0 && ist.st_size == 0) unlink(inc); /* nothing to resume */
            if (r.status == 401 || r.status == 403 || r.status == 404) {
                char *what = el_printf("downloading %s from %s@%s", f->path, c->repo, c->rev);
                hub_status_error(c, &r, what, f->path);
                free(what);
            } else {
                el_err_prefix("downloading %s from %s@%s", f->path, c->repo, c->rev);
            }
            el_http_response_free(&r);
            goto done;
        }
        bool resumed = r.resumed_from > 0 || info.bytes_received != info.bytes;
        el_http_response_free(&r);
        if (verify_blob(c, f, inc, &info) != EL_OK) {
            unlink(inc);
            if (resumed && attempt == 0) continue; /* the kept prefix may be the bad part */
            char *m = xstrdup(el_last_error());
            el_err("%s: refused the corrupt download (deleted, nothing was linked); run again "
                   "later, and if it persists a proxy or the hub's copy is at fault", m);
            free(m);
            goto done;
        }
        if (rename(inc, blob) != 0) {
            el_err("%s: cannot move the verified download into place: %s", blob, strerror(errno));
            goto done;
        }
        *downloaded = true;
        rc = EL_OK;
        break;
    }
done:
    free(blob);
    free(inc);
    return rc;
}

static int link_snapshot(hub_ctx *c, const char *commit, const hub_file *f) {
    char *link = el_printf("%s/snapshots/%s/%s", c->repo_dir, commit, f->path);
    char *dir = el_dirname(link);
    el_buf target = {0};
    int slashes = 0;
    for (const char *q = f->path; *q; q++) slashes += *q == '/';
    for (int i = 0; i < 2 + slashes; i++) el_buf_puts(&target, "../");
    el_buf_printf(&target, "blobs/%s", f->etag);
    char *tmp = el_printf("%s.tmp.%ld", link, (long)getpid());
    int rc = EL_ERR;
    if (el_mkdirs(dir, 0755) != EL_OK) {
        el_err_prefix("linking %s into the snapshot", f->path);
        goto done;
    }
    unlink(tmp);
    if (symlink(target.s, tmp) != 0) {
        el_err("%s: cannot create a symbolic link: %s (the cache needs a file system with "
               "symbolic links)", tmp, strerror(errno));
        goto done;
    }
    if (rename(tmp, link) != 0) {
        el_err("%s: cannot put the link in place: %s", link, strerror(errno));
        unlink(tmp);
        goto done;
    }
    rc = EL_OK;
done:
    el_buf_free(&target);
    free(tmp);
    free(link);
    free(dir);
    return rc;
}

static int write_ref(hub_ctx *c, const char *commit) {
    if (!strcmp(c->rev, commit)) return EL_OK; /* a commit needs no ref */
    char *path = el_printf("%s/refs/%s", c->repo_dir, c->rev);
    char *dir = el_dirname(path);
    int rc = EL_OK;
    char *old = NULL;
    size_t len = 0;
    if (el_file_exists(path) && el_read_file(path, &old, &len) == EL_OK && len >= 40 &&
        !strncmp(old, commit, 40) && (len == 40 || isspace((unsigned char)old[40]))) {
        /* up to date */
    } else if (el_mkdirs(dir, 0755) != EL_OK || el_write_file_atomic(path, commit, 40) != EL_OK) {
        el_err_prefix("recording %s@%s = %s", c->repo, c->rev, commit);
        rc = EL_ERR;
    }
    free(old);
    free(dir);
    free(path);
    return rc;
}

static int check_cache_writable(hub_ctx *c) {
    char *blobs = el_path_join(c->repo_dir, "blobs");
    int rc = EL_OK;
    if (el_mkdirs(blobs, 0755) != EL_OK) {
        el_err_prefix("the Hugging Face cache %s is not usable (set HF_HUB_CACHE or --cache-dir "
                      "to a writable directory)", c->cache);
        rc = EL_ERR;
    } else if (access(blobs, W_OK) != 0) {
        rc = el_err("the Hugging Face cache %s is not writable (%s): fix its permissions or set "
                    "HF_HUB_CACHE or --cache-dir to a writable directory", blobs, strerror(errno));
    }
    free(blobs);
    return rc;
}

static int check_space(hub_ctx *c, hub_file *files, int32_t n) {
    int64_t need = 0;
    for (int32_t i = 0; i < n; i++) {
        if (files[i].cached || files[i].size < 0) continue;
        char *blob = el_printf("%s/blobs/%s", c->repo_dir, files[i].etag);
        char *inc = el_printf("%s.incomplete", blob);
        struct stat st;
        if (stat(blob, &st) != 0) {
            int64_t have = stat(inc, &st) == 0 ? (int64_t)st.st_size : 0;
            if (files[i].size > have) need += files[i].size - have;
        }
        free(blob);
        free(inc);
    }
    char *blobs = el_path_join(c->repo_dir, "blobs");
    struct statvfs vfs;
    int rc = EL_OK;
    if (need > 0 && statvfs(blobs, &vfs) == 0) {
        int64_t avail = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
        if (need > avail) {
            char a[32], b[32];
            el_format_bytes(need, a);
            el_format_bytes(avail, b);
            rc = el_err("%s@%s needs %s more in %s but only %s are free: free space, or set "
                        "HF_HUB_CACHE (or --cache-dir) to a disk with room; nothing was downloaded",
                        c->repo, c->rev, a, c->cache, b);
        }
    }
    free(blobs);
    return rc;
}

static void files_free(hub_file *files, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        free(files[i].path);
        free(files[i].etag);
        free(files[i].url);
    }
    free(files);
}

/* Downloads (as needed) and links files[0..n) at commit; fills the counters of s. */
static int materialize(hub_ctx *c, const char *commit, hub_file *files, int32_t n,
                       el_hub_snapshot *s) {
    for (int32_t i = 0; i < n; i++) {
        if (files[i].cached) continue;
        if (head_file(c, &files[i], commit, NULL, NULL) != EL_OK) return EL_ERR;
    }
    if (check_space(c, files, n) != EL_OK) return EL_ERR;
    for (int32_t i = 0; i < n; i++) {
        hub_file *f = &files[i];
        if (f->cached) {
            s->n_cached++;
            continue;
        }
        int lfd;
        if (lock_blob(c, f->etag, f->path, &lfd) != EL_OK) return EL_ERR;
        int64_t got = 0;
        bool downloaded = false;
        int rc = download_blob(c, f, &got, &downloaded);
        unlock_blob(lfd);
        s->bytes_downloaded += got;
        if (rc != EL_OK) return EL_ERR;
        if (link_snapshot(c, commit, f) != EL_OK) return EL_ERR;
        if (downloaded)
            s->n_downloaded++;
        else
            s->n_cached++;
    }
    for (int32_t i = 0; i < n; i++) {
        char *p = el_printf("%s/snapshots/%s/%s", c->repo_dir, commit, files[i].path);
        struct stat st;
        if (stat(p, &st) == 0) s->bytes_total += (int64_t)st.st_size;
        free(p);
    }
    return EL_OK;
}

static char *abs_path(const char *p) {
    char buf[PATH_MAX];
    if (realpath(p, buf)) return xstrdup(buf);
    return xstrdup(p);
}

int el_hub_fetch(const char *ref, const el_hub_params *p, el_hub_snapshot *out) {
    memset(out, 0, sizeof *out);
    double t0 = el_now();
    hub_ctx c;
    if (ctx_init(&c, ref, p) != EL_OK) {
        ctx_free(&c);
        return EL_ERR;
    }
    int rc = EL_ERR;
    hub_listing l = {0};
    hub_file *files = NULL;
    int32_t nf = 0;
    if (is_offline(p)) {
        rc = resolve_cached(&c, out, "HF_HUB_OFFLINE=1 forbids downloading");
        goto done;
    }
    if (p->token) {
        if (*p->token && !token_chars_ok(p->token)) {
            el_err("the token has spaces or control characters: give the token alone (hf_...)");
            goto done;
        }
        c.token = *p->token ? xstrdup(p->token) : NULL;
    } else if (el_hub_token(&c.token) != EL_OK) {
        goto done;
    }
    bool unreachable = false;
    if (fetch_listing(&c, &l, &unreachable) != EL_OK) {
        if (unreachable) {
            char *msg = xstrdup(el_last_error());
            el_hub_snapshot s;
            if (resolve_cached(&c, &s, "the hub is unreachable") == EL_OK) {
                if (!p->quiet)
                    fprintf(stderr, "hub: warning: %s; using the cached snapshot %s of %s@%s\n",
                            msg, s.commit, c.repo, c.rev);
                *out = s;
                rc = EL_OK;
            } else {
                el_err("%s", msg);
            }
            free(msg);
        }
        goto done;
    }
    memcpy(c.commit, l.commit, 41);
    /* choose the files */
    const char *const *pats = p->include ? p->include : EL_HUB_DEFAULT_INCLUDE;
    int32_t npats = p->include ? p->n_include : EL_HUB_N_DEFAULT_INCLUDE;
    bool fallback_bin = false;
    if (!p->include && !p->all_files) {
        bool any_st = false;
        for (int32_t i = 0; i < l.n; i++)
            if (fnmatch("*.safetensors", l.names[i], 0) == 0) any_st = true;
        fallback_bin = !any_st;
    }
    files = xcalloc((size_t)(l.n ? l.n : 1), sizeof *files);
    for (int32_t i = 0; i < l.n; i++) {
        bool take = p->all_files || matches_any(l.names[i], pats, npats) ||
                    (fallback_bin && fnmatch("pytorch_model*.bin", l.names[i], 0) == 0);
        if (!take) continue;
        files[nf].path = xstrdup(l.names[i]);
        files[nf].size = -1;
        nf++;
    }
    if (fallback_bin && !p->quiet) {
        for (int32_t i = 0; i < nf; i++)
            if (fnmatch("pytorch_model*.bin", files[i].path, 0) == 0) {
                fprintf(stderr, "hub: note: %s has no safetensors weights; taking "
                                "pytorch_model*.bin\n", c.repo);
                break;
            }
    }
    if (p->include && !p->all_files) {
        for (int32_t k = 0; k < p->n_include; k++) {
            if (has_glob(p->include[k])) continue;
            bool found = false;
            for (int32_t i = 0; i < nf; i++)
                if (!strcmp(files[i].path, p->include[k])) found = true;
            if (!found) {
                char *f = shown(p->include[k]);
                el_err("%s is not a file of %s@%s (commit %s); %d files are listed: check the "
                       "name, or use a pattern such as '*.json'",
                       f, c.repo, c.rev, c.commit, (int)l.n);
                free(f);
                goto done;
            }
        }
    }
    if (nf == 0) {
        el_buf b = {0};
        for (int32_t i = 0; i < l.n && i < 12; i++)
            el_buf_printf(&b, "%s%s", i ? ", " : "", l.names[i]);
        if (l.n > 12) el_buf_puts(&b, ", ...");
        el_err("no file of %s@%s matches the patterns; the repository has: %s", c.repo, c.rev,
               b.s ? b.s : "(no files)");
        el_buf_free(&b);
        goto done;
    }
    for (int32_t i = 0; i < nf; i++) files[i].cached = !p->force && snapshot_has(&c, c.commit, files[i].path);
    bool all_cached = true;
    for (int32_t i = 0; i < nf; i++) all_cached &= files[i].cached;
    if (!all_cached && check_cache_writable(&c) != EL_OK) goto done;
    el_hub_snapshot s = {0};
    if (materialize(&c, c.commit, files, nf, &s) != EL_OK) {
        el_hub_snapshot_free(&s);
        goto done;
    }
    if (write_ref(&c, c.commit) != EL_OK) {
        el_hub_snapshot_free(&s);
        goto done;
    }
    s.repo = xstrdup(c.repo);
    s.revision = xstrdup(c.rev);
    memcpy(s.commit, c.commit, 41);
    s.repo_dir = abs_path(c.repo_dir);
    s.snapshot_dir = el_printf("%s/snapshots/%s", s.repo_dir, c.commit);
    s.files = xcalloc((size_t)nf, sizeof(char *));
    for (int32_t i = 0; i < nf; i++) s.files[s.n_files++] = xstrdup(files[i].path);
    *out = s;
    rc = EL_OK;
done:
    if (rc == EL_OK) {
        char *a = abs_path(out->repo_dir);
        if (strcmp(a, out->repo_dir) != 0) {
            free(out->repo_dir);
            out->repo_dir = a;
            free(out->snapshot_dir);
            out->snapshot_dir = el_printf("%s/snapshots/%s", a, out->commit);
        } else {
            free(a);
        }
        out->seconds = el_now() - t0;
    }
    files_free(files, nf);
    listing_free(&l);
    ctx_free(&c);
    return rc;
}

int el_hub_resolve(const char *ref, char **snapshot_dir, char commit[41]) {
    el_hub_params p = el_hub_default_params();
    el_hub_snapshot s;
    *snapshot_dir = NULL;
    if (el_hub_fetch(ref, &p, &s) != EL_OK) return EL_ERR;
    *snapshot_dir = xstrdup(s.snapshot_dir);
    memcpy(commit, s.commit, 41);
    el_hub_snapshot_free(&s);
    return EL_OK;
}

int el_hub_fetch_file(const char *ref, const char *filename, const el_hub_params *p,
                      char **local_path, char commit[41]) {
    *local_path = NULL;
    if (el_hub_check_filename(filename) != EL_OK) return el_err_prefix("file name");
    hub_ctx c;
    if (ctx_init(&c, ref, p) != EL_OK) {
        ctx_free(&c);
        return EL_ERR;
    }
    int rc = EL_ERR;
    hub_file f = {.path = xstrdup(filename), .size = -1};
    const char *inc[1] = {filename};
    el_hub_params cp = *p;
    cp.include = inc;
    cp.n_include = 1;
    cp.all_files = false;
    c.p = &cp;
    if (is_offline(p)) {
        el_hub_snapshot s;
        if (resolve_cached(&c, &s, "HF_HUB_OFFLINE=1 forbids downloading") != EL_OK) goto done;
        *local_path = el_printf("%s/%s", s.snapshot_dir, filename);
        memcpy(commit, s.commit, 41);
        el_hub_snapshot_free(&s);
        rc = EL_OK;
        goto done;
    }
    if (p->token) {
        if (*p->token && !token_chars_ok(p->token)) {
            el_err("the token has spaces or control characters: give the token alone (hf_...)");
            goto done;
        }
        c.token = *p->token ? xstrdup(p->token) : NULL;
    } else if (el_hub_token(&c.token) != EL_OK) {
        goto done;
    }
    if (el_is_hex(c.rev, 40) && snapshot_has(&c, c.rev, filename) && !p->force) {
        memcpy(c.commit, c.rev, 41);
    } else {
        bool unreachable = false;
        if (head_file(&c, &f, c.rev, c.commit, &unreachable) != EL_OK) {
            el_hub_snapshot s;
            /* the hub unreachable: fall back to the cache as huggingface_hub does */
            if (unreachable) {
                char *msg = xstrdup(el_last_error());
                if (resolve_cached(&c, &s, "the hub is unreachable") == EL_OK) {
                    if (!p->quiet)
                        fprintf(stderr, "hub: warning: %s; using the cached snapshot %s\n", msg,
                                s.commit);
                    *local_path = el_printf("%s/%s", s.snapshot_dir, filename);
                    memcpy(commit, s.commit, 41);
                    el_hub_snapshot_free(&s);
                    rc = EL_OK;
                } else {
                    el_err("%s", msg);
                }
                free(msg);
            }
            goto done;
        }
        f.cached = !p->force && snapshot_has(&c, c.commit, filename);
        if (!f.cached && check_cache_writable(&c) != EL_OK) goto done;
        if (!f.cached) {
            if (check_space(&c, &f, 1) != EL_OK) goto done;
            int lfd;
            if (lock_blob(&c, f.etag, f.path, &lfd) != EL_OK) goto done;
            int64_t got = 0;
            bool dl = false;
            int drc = download_blob(&c, &f, &got, &dl);
            unlock_blob(lfd);
            if (drc != EL_OK || link_snapshot(&c, c.commit, &f) != EL_OK) goto done;
        }
        if (write_ref(&c, c.commit) != EL_OK) goto done;
    }
    char *rd = abs_path(c.repo_dir);
    *local_path = el_printf("%s/snapshots/%s/%s", rd, c.commit, filename);
    free(rd);
    memcpy(commit, c.commit, 41);
    rc = EL_OK;
done:
    free(f.path);
    free(f.etag);
    free(f.url);
    ctx_free(&c);
    return rc;
}
