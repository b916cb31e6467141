/* hub_server.h: a small Hugging Face hub emulator for the tests (libmicrohttpd), on 127.0.0.1
 * with an ephemeral port, one thread per connection.
 *
 *   GET  /api/models/{repo}/revision/{rev}      {"id", "sha", "siblings": [{"rfilename"}]}
 *   HEAD|GET /{repo}/resolve/{rev}/{path}       plain files: 200, ETag "<git blob id>",
 *                                               X-Repo-Commit; LFS files: 302 to /cdn/...,
 *                                               X-Linked-Etag "<sha256>", X-Linked-Size
 *   GET  /cdn/{repo}/{path}                     the LFS content (no token needed), served on a
 *                                               second port: another origin, like the hub's
 *                                               storage, so clients stop their HEAD there
 *   GET  /static/{path}                         files of the repo named "static" (data sets)
 *
 * Content GETs honour "Range: bytes=N-" (206 / 416) and the per-file faults below. Errors carry
 * X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound) like the hub.
 */
#ifndef HUB_SERVER_H
#define HUB_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *path;
    const unsigned char *data; /* owned by the caller, must outlive the server */
    size_t size;
    bool lfs;
    int32_t fail_500;     /* the first N content GETs answer 500 */
    int64_t drop_at;      /* first content GET: close the connection after this offset (-1 no) */
    int32_t stall_ms;     /* with drop_at: stall this long there instead of closing */
    bool bad_sha;         /* advertise a sha256 that is not the content's */
    int32_t kib_per_ms;   /* throttle: at most this many KiB per millisecond (0 = unthrottled) */
    bool missing;         /* listed by the API, but 404 on resolve */
    int64_t fake_size;    /* advertise this X-Linked-Size (0 = the real one) */
    bool no_range;        /* ignore Range (answer 200 with everything) */
    int32_t hold_for_heads; /* first content GET: no byte before this many HEADs of the file
                             * arrived (at most 20 s): makes two clients overlap for sure */
    char sha256[65];      /* filled by the server */
    char git_blob[41];    /* filled by the server */
} hs_file;

typedef struct {
    const char *id;            /* "org/name", or "static" */
    const char *commit;        /* 40 hex */
    const char *revs[4];       /* other names of the commit (branches, tags) */
    const char *token;         /* required Bearer token, or NULL */
    bool echo_auth;            /* a wrong token is echoed in X-Error-Message (a hostile hub) */
    hs_file *files;
    int32_t n_files;
    const char *extra_names[4]; /* more names in the listing (e.g. unsafe paths) */
    bool html_api;             /* the API answers 200 with an HTML page */
    const char *renamed_to;    /* answers everything with a relative 307 to this repo */
} hs_repo;

typedef struct {
    int32_t heads, gets, content_gets, range_gets;
    int64_t last_range_start, bytes_sent;
} hs_stats;

typedef struct hub_server hub_server;

hub_server *hs_start(hs_repo *repos, int32_t n_repos); /* NULL on failure (message on stderr) */
void hs_stop(hub_server *s);
const char *hs_url(const hub_server *s);               /* "http://127.0.0.1:PORT" */
hs_stats hs_file_stats(hub_server *s, const char *repo, const char *path);
int32_t hs_api_calls(hub_server *s);
int32_t hs_requests(hub_server *s);
int32_t hs_cdn_auth_seen(hub_server *s);               /* storage requests with a token */
void hs_reset(hub_server *s);                          /* zero all counters */

#endif /* HUB_SERVER_H */
