/* hub_server.c: see hub_server.h. */
#define _GNU_SOURCE
#include "hub_server.h"

#include "digest.h"
#include "util.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    hs_stats st;
} file_state;

struct hub_server {
    struct MHD_Daemon *d, *cdn; /* the hub, and its storage on another origin */
    hs_repo *repos;
    int32_t n_repos;
    file_state **state; /* [repo][file] */
    char adv_sha[64][16][65]; /* advertised sha256 (bad_sha) per repo/file, small fixed bound */
    int32_t api_calls, requests;
    pthread_mutex_t mu;
    char url[64], cdn_url[64];
    int32_t cdn_auth_seen; /* requests to the storage that carried an Authorization header */
};

static void msleep(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- lookup ---------------------------------------------------------------------------- */
static int find_repo(hub_server *s, const char *id, size_t n) {
    for (int32_t i = 0; i < s->n_repos; i++)
        if (strlen(s->repos[i].id) == n && !strncmp(s->repos[i].id, id, n)) return i;
    return -1;
}

static int find_file(const hs_repo *r, const char *path) {
    for (int32_t i = 0; i < r->n_files; i++)
        if (!strcmp(r->files[i].path, path)) return i;
    return -1;
}

/* Splits "rev/path" by the known revisions of r; returns the path or NULL. */
static const char *match_rev(const hs_repo *r, const char *rest) {
    const char *names[6] = {r->commit, r->revs[0], r->revs[1], r->revs[2], r->revs[3], NULL};
    for (int i = 0; i < 5; i++) {
        if (!names[i]) continue;
        size_t n = strlen(names[i]);
        if (!strncmp(rest, names[i], n) && rest[n] == '/') return rest + n + 1;
    }
    return NULL;
}

static bool rev_known(const hs_repo *r, const char *rev) {
    if (!strcmp(rev, r->commit)) return true;
    for (int i = 0; i < 4; i++)
        if (r->revs[i] && !strcmp(r->revs[i], rev)) return true;
    return false;
}

/* ---- responses ---------------------------------------------------------------------------- */
static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned int status, const char *ctype,
                                const char *body, const char *hdrs[][2]) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                                                MHD_RESPMEM_MUST_COPY);
    if (ctype) MHD_add_response_header(resp, "Content-Type", ctype);
    for (int i = 0; hdrs && hdrs[i][0]; i++) MHD_add_response_header(resp, hdrs[i][0], hdrs[i][1]);
    enum MHD_Result r = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned int status, const char *code,
                                  const char *msg) {
    char body[512];
    snprintf(body, sizeof body, "{\"error\":\"%s\"}", msg);
    const char *h[3][2] = {{"X-Error-Code", code}, {"X-Error-Message", msg}, {NULL, NULL}};
    if (!code) {
        h[0][0] = "X-Error-Message";
        h[0][1] = msg;
        h[1][0] = NULL;
    }
    return send_buf(c, status, "application/json", body, h);
}

static bool auth_ok(struct MHD_Connection *c, const hs_repo *r, char *got, size_t gotn) {
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    snprintf(got, gotn, "%s", a ? a : "");
    if (!r->token) return true;
    char want[256];
    snprintf(want, sizeof want, "Bearer %s", r->token);
    return a && !strcmp(a, want);
}

static enum MHD_Result send_unauthorized(struct MHD_Connection *c, const hs_repo *r,
                                         const char *got) {
    char msg[400];
    if (r->echo_auth && *got)
        snprintf(msg, sizeof msg, "Invalid credentials in Authorization header: %s", got);
    else
        snprintf(msg, sizeof msg, "Invalid credentials in Authorization header");
    return send_error(c, 401, NULL, msg);
}

typedef struct {
    hub_server *s;
    const hs_file *f;
    int ri, fi;
    int64_t start;   /* offset of the first byte sent */
    int64_t cut;     /* absolute offset to drop/stall at, -1 none */
    int32_t stall_ms;
    int32_t kib_per_ms;
    int32_t hold_for_heads;
} reader_ctx;

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max) {
    reader_ctx *x = cls;
    int64_t off = x->start + (int64_t)pos;
    for (int waited = 0; x->hold_for_heads > 0 && waited < 2000; waited++) {
        pthread_mutex_lock(&x->s->mu);
        int32_t heads = x->s->state[x->ri][x->fi].st.heads;
        pthread_mutex_unlock(&x->s->mu);
        if (heads >= x->hold_for_heads) break;
        msleep(10);
    }
    x->hold_for_heads = 0;
    if (off >= (int64_t)x->f->size) return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = max;
    if ((int64_t)n > (int64_t)x->f->size - off) n = (size_t)((int64_t)x->f->size - off);
    if (x->cut >= 0) {
        if (off >= x->cut) {
            if (x->stall_ms > 0) {
                msleep(x->stall_ms);
                x->cut = -1; /* the client gave up meanwhile; whatever follows goes nowhere */
            } else {
                return MHD_CONTENT_READER_END_WITH_ERROR; /* closes the connection mid-body */
            }
        } else if ((int64_t)n > x->cut - off) {
            n = (size_t)(x->cut - off);
        }
    }
    if (x->kib_per_ms > 0) {
        if (n > (size_t)x->kib_per_ms * 1024) n = (size_t)x->kib_per_ms * 1024;
        msleep(1);
    }
    memcpy(buf, x->f->data + off, n);
    pthread_mutex_lock(&x->s->mu);
    x->s->state[x->ri][x->fi].st.bytes_sent += (int64_t)n;
    pthread_mutex_unlock(&x->s->mu);
    return (ssize_t)n;
}

/* Serves the content of file fi of repo ri with the faults it asks for. */
static enum MHD_Result send_content(hub_server *s, struct MHD_Connection *c, int ri, int fi,
                                    bool head, const char *extra[][2]) {
    const hs_file *f = &s->repos[ri].files[fi];
    hs_stats *st = &s->state[ri][fi].st;
    int32_t k;
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
    pthread_mutex_lock(&s->mu);
    if (head) {
        st->heads++;
        k = -1;
    } else {
        st->gets++;
        k = st->content_gets++;
        if (range) {
            st->range_gets++;
            st->last_range_start = strtoll(range + 6, NULL, 10);
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (!head && k < f->fail_500) return send_error(c, 500, NULL, "Internal Server Error");
    int64_t start = 0;
    unsigned int status = 200;
    char cr[96];
    if (!head && range && !f->no_range && !strncmp(range, "bytes=", 6)) {
        start = strtoll(range + 6, NULL, 10);
        if (start >= (int64_t)f->size) {
            snprintf(cr, sizeof cr, "bytes */%zu", f->size);
            const char *h[2][2] = {{"Content-Range", cr}, {NULL, NULL}};
            return send_buf(c, 416, "text/plain", "", h);
        }
        status = 206;
        snprintf(cr, sizeof cr, "bytes %lld-%zu/%zu", (long long)start, f->size - 1, f->size);
    }
    reader_ctx *x = xcalloc(1, sizeof *x);
    x->s = s;
    x->f = f;
    x->ri = ri;
    x->fi = fi;
    x->start = start;
    x->cut = (!head && k == 0 && f->drop_at >= 0) ? f->drop_at : -1;
    x->stall_ms = f->stall_ms;
    x->kib_per_ms = f->kib_per_ms;
    x->hold_for_heads = (!head && k == 0) ? f->hold_for_heads : 0;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(f->size - (size_t)start, 64 * 1024, reader, x, free);
    MHD_add_response_header(resp, "Accept-Ranges", "bytes");
    MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
    if (status == 206) MHD_add_response_header(resp, "Content-Range", cr);
    for (int i = 0; extra && extra[i][0]; i++) MHD_add_response_header(resp, extra[i][0], extra[i][1]);
    enum MHD_Result r = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result api(hub_server *s, struct MHD_Connection *c, const char *rest) {
    pthread_mutex_lock(&s->mu);
    s->api_calls++;
    pthread_mutex_unlock(&s->mu);
    const char *rv = strstr(rest, "/revision/");
    if (!rv) return send_error(c, 404, "RepoNotFound", "Repository not found");
    int ri = find_repo(s, rest, (size_t)(rv - rest));
    if (ri < 0) return send_error(c, 404, "RepoNotFound", "Repository not found");
    const hs_repo *r = &s->repos[ri];
    if (r->renamed_to) {
        char loc[1200];
        snprintf(loc, sizeof loc, "/api/models/%s%s", r->renamed_to, rv);
        const char *h[2][2] = {{"Location", loc}, {NULL, NULL}};
        return send_buf(c, 307, "text/plain", "", h);
    }
    char got[300];
    if (!auth_ok(c, r, got, sizeof got)) return send_unauthorized(c, r, got);
    if (r->html_api)
        return send_buf(c, 200, "text/html; charset=utf-8",
                        "<!DOCTYPE html><html><body><h1>Welcome to the hotel wifi</h1>"
                        "<p>Please log in.</p></body></html>", NULL);
    const char *rev = rv + 10;
    if (!rev_known(r, rev)) {
        char msg[300];
        snprintf(msg, sizeof msg, "Invalid rev id: %s", rev);
        return send_error(c, 404, "RevisionNotFound", msg);
    }
    el_buf b = {0};
    el_buf_printf(&b, "{\"_id\":\"x\",\"id\":\"%s\",\"sha\":\"%s\",\"siblings\":[", r->id, r->commit);
    int n = 0;
    for (int32_t i = 0; i < r->n_files; i++)
        el_buf_printf(&b, "%s{\"rfilename\":\"%s\"}", n++ ? "," : "", r->files[i].path);
    for (int i = 0; i < 4 && r->extra_names[i]; i++)
        el_buf_printf(&b, "%s{\"rfilename\":\"%s\"}", n++ ? "," : "", r->extra_names[i]);
    el_buf_puts(&b, "]}");
    enum MHD_Result res = send_buf(c, 200, "application/json", b.s, NULL);
    el_buf_free(&b);
    return res;
}

static enum MHD_Result resolve(hub_server *s, struct MHD_Connection *c, const char *url,
                               bool head) {
    const char *rs = strstr(url, "/resolve/");
    int ri = find_repo(s, url + 1, (size_t)(rs - url - 1));
    if (ri < 0) return send_error(c, 404, "RepoNotFound", "Repository not found");
    const hs_repo *r = &s->repos[ri];
    if (r->renamed_to) {
        char loc[1200];
        snprintf(loc, sizeof loc, "/%s%s", r->renamed_to, rs);
        const char *h[2][2] = {{"Location", loc}, {NULL, NULL}};
        return send_buf(c, 307, "text/plain", "", h);
    }
    char got[300];
    if (!auth_ok(c, r, got, sizeof got)) return send_unauthorized(c, r, got);
    const char *path = match_rev(r, rs + 9);
    if (!path) return send_error(c, 404, "RevisionNotFound", "Invalid rev id");
    int fi = find_file(r, path);
    if (fi < 0 || r->files[fi].missing)
        return send_error(c, 404, "EntryNotFound", "Entry not found");
    const hs_file *f = &r->files[fi];
    char etag[80], size[32];
    if (f->lfs) {
        char loc[1200];
        /* absolute, like the hub's redirects to its storage: huggingface_hub follows only
         * relative ones (renamed repositories) on HEAD */
        snprintf(loc, sizeof loc, "%s/cdn/%s/%s?X-Amz-Signature=abc", s->cdn_url, r->id, f->path);
        snprintf(etag, sizeof etag, "\"%s\"", s->adv_sha[ri][fi]);
        snprintf(size, sizeof size, "%lld", (long long)(f->fake_size ? f->fake_size : (int64_t)f->size));
        const char *h[6][2] = {{"Location", loc},       {"X-Repo-Commit", r->commit},
                               {"X-Linked-Etag", etag}, {"X-Linked-Size", size},
                               {"ETag", "\"0123456789abcdef0123456789abcdef01234567\""},
                               {NULL, NULL}};
        pthread_mutex_lock(&s->mu);
        if (head) s->state[ri][fi].st.heads++;
        pthread_mutex_unlock(&s->mu);
        return send_buf(c, 302, "text/plain", "", h);
    }
    snprintf(etag, sizeof etag, "\"%s\"", f->git_blob);
    const char *h[3][2] = {{"ETag", etag}, {"X-Repo-Commit", r->commit}, {NULL, NULL}};
    return send_content(s, c, ri, fi, head, h);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls) {
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)con_cls;
    hub_server *s = cls;
    pthread_mutex_lock(&s->mu);
    s->requests++;
    pthread_mutex_unlock(&s->mu);
    bool head = !strcmp(method, "HEAD");
    if (!head && strcmp(method, "GET") != 0) return send_error(c, 405, NULL, "Method not allowed");
    if (!strncmp(url, "/api/models/", 12)) return api(s, c, url + 12);
    if (!strncmp(url, "/cdn/", 5) || !strncmp(url, "/static/", 8)) {
        bool cdn = url[1] == 'c';
        if (cdn && MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization")) {
            pthread_mutex_lock(&s->mu);
            s->cdn_auth_seen++;
            pthread_mutex_unlock(&s->mu);
        }
        const char *rest = url + (cdn ? 5 : 8);
        int ri = -1;
        const char *path = NULL;
        if (cdn) {
            for (int32_t i = 0; i < s->n_repos; i++) {
                size_t n = strlen(s->repos[i].id);
                if (!strncmp(rest, s->repos[i].id, n) && rest[n] == '/') {
                    ri = i;
                    path = rest + n + 1;
                }
            }
        } else {
            ri = find_repo(s, "static", 6);
            path = rest;
        }
        int fi = ri >= 0 ? find_file(&s->repos[ri], path) : -1;
        if (fi < 0) return send_error(c, 404, NULL, "No such object");
        return send_content(s, c, ri, fi, head, NULL);
    }
    if (strstr(url, "/resolve/")) return resolve(s, c, url, head);
    return send_buf(c, 404, "text/html", "<html><body>404 Not Found</body></html>", NULL);
}

/* ---- lifecycle ----------------------------------------------------------------------------- */
hub_server *hs_start(hs_repo *repos, int32_t n_repos) {
    if (n_repos > 64) {
        fprintf(stderr, "hs_start: at most 64 repos\n");
        return NULL;
    }
    hub_server *s = xcalloc(1, sizeof *s);
    s->repos = repos;
    s->n_repos = n_repos;
    pthread_mutex_init(&s->mu, NULL);
    s->state = xcalloc((size_t)n_repos, sizeof *s->state);
    for (int32_t i = 0; i < n_repos; i++) {
        if (repos[i].n_files > 16) {
            fprintf(stderr, "hs_start: at most 16 files per repo\n");
            return NULL;
        }
        s->state[i] = xcalloc((size_t)(repos[i].n_files + 1), sizeof **s->state);
        for (int32_t k = 0; k < repos[i].n_files; k++) {
            hs_file *f = &repos[i].files[k];
            el_sha256_hex(f->data, f->size, f->sha256);
            el_git_blob_sha1(f->data, (int64_t)f->size, f->git_blob);
            memcpy(s->adv_sha[i][k], f->sha256, 65);
            if (f->bad_sha) s->adv_sha[i][k][0] = f->sha256[0] == 'a' ? 'b' : 'a';
        }
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon **ds[2] = {&s->d, &s->cdn};
    char *urls[2] = {s->url, s->cdn_url};
    for (int i = 0; i < 2; i++) {
        *ds[i] = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                                  0, NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR,
                                  (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_TIMEOUT,
                                  (unsigned int)30, MHD_OPTION_END);
        if (!*ds[i]) {
            fprintf(stderr, "hs_start: MHD_start_daemon failed\n");
            if (i) MHD_stop_daemon(s->d);
            return NULL;
        }
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(*ds[i], MHD_DAEMON_INFO_BIND_PORT);
        snprintf(urls[i], 64, "http://127.0.0.1:%u", info ? (unsigned)info->port : 0u);
    }
    return s;
}

void hs_stop(hub_server *s) {
    if (!s) return;
    MHD_stop_daemon(s->d);
    MHD_stop_daemon(s->cdn);
    for (int32_t i = 0; i < s->n_repos; i++) free(s->state[i]);
    free(s->state);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

const char *hs_url(const hub_server *s) { return s->url; }

hs_stats hs_file_stats(hub_server *s, const char *repo, const char *path) {
    hs_stats st = {0};
    int ri = find_repo(s, repo, strlen(repo));
    if (ri < 0) return st;
    int fi = find_file(&s->repos[ri], path);
    if (fi < 0) return st;
    pthread_mutex_lock(&s->mu);
    st = s->state[ri][fi].st;
    pthread_mutex_unlock(&s->mu);
    return st;
}

int32_t hs_api_calls(hub_server *s) {
    pthread_mutex_lock(&s->mu);
    int32_t n = s->api_calls;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int32_t hs_cdn_auth_seen(hub_server *s) {
    pthread_mutex_lock(&s->mu);
    int32_t n = s->cdn_auth_seen;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int32_t hs_requests(hub_server *s) {
    pthread_mutex_lock(&s->mu);
    int32_t n = s->requests;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void hs_reset(hub_server *s) {
    pthread_mutex_lock(&s->mu);
    for (int32_t i = 0; i < s->n_repos; i++)
        memset(s->state[i], 0, (size_t)(s->repos[i].n_files + 1) * sizeof **s->state);
    s->api_calls = s->requests = s->cdn_auth_seen = 0;
    pthread_mutex_unlock(&s->mu);
}
