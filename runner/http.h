/* http.h: the HTTP client under `emolab fetch` and `emolab data fetch` (libcurl).
 *
 * Three calls: a HEAD that does not follow redirects (to read a hub's metadata headers), a GET
 * into memory (small JSON answers) and a GET into a file that resumes with Range, retries
 * transient failures with exponential backoff and hashes the bytes as they arrive.
 *
 * Transient (retried): 5xx, 408, 429, timeouts, dropped connections (partial bodies, resets,
 * empty replies). Not retried: other 4xx, unreachable hosts (DNS, refused), disk errors.
 * A bearer token is sent as an Authorization header and never printed: error messages name
 * the URL and the status, never the headers. libcurl itself drops the header when a redirect
 * leaves the original host.
 */
#ifndef EL_HTTP_H
#define EL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t max_attempts;       /* tries per request, first one included (default 6) */
    double backoff_initial_s;   /* wait before the 2nd try; doubles each time (default 1) */
    double backoff_max_s;       /* cap of one wait (default 30) */
    double connect_timeout_s;   /* default 15 */
    double stall_timeout_s;     /* a transfer slower than 1 byte/s for this long fails (default 30) */
    const char *token;          /* bearer token or NULL; never logged */
    const char *user_agent;     /* default "emolab/<version>" */
    bool progress;              /* el_progress bar on file downloads */
    const char *progress_label; /* e.g. the file name (default: last URL segment) */
    bool allow_file_urls;       /* accept file:// URLs (data mirrors on disk) */
} el_http_params;

/* Defaults, then the environment: EMOLAB_HTTP_ATTEMPTS, EMOLAB_HTTP_BACKOFF (initial seconds,
 * e.g. 0.01 in tests), EMOLAB_HTTP_TIMEOUT (stall timeout seconds). */
el_http_params el_http_default_params(void);

#define EL_HTTP_MAX_HEADERS 48

/* The last response of a request (after redirects for GETs). Header names are lowercased. */
typedef struct {
    int32_t status;          /* HTTP status; 0 when no response arrived */
    char *names[EL_HTTP_MAX_HEADERS];
    char *values[EL_HTTP_MAX_HEADERS];
    int32_t n_headers;
    char *effective_url;     /* where the last request went (after redirects) */
    int32_t attempts;        /* tries that were made */
    int64_t resumed_from;    /* file downloads: the offset of the first successful Range, or 0 */
} el_http_response;

void el_http_response_free(el_http_response *r);
/* The value of a header (case-insensitive name) or NULL. */
const char *el_http_header(const el_http_response *r, const char *name);

/* HEAD without following redirects. Returns EL_OK when any HTTP response arrived (check
 * r->status: 2xx, 3xx with Location, 4xx...); retries 5xx and transport failures first.
 * EL_ERR with a message when no response could be had. */
int el_http_head(const char *url, const el_http_params *p, el_http_response *r);

/* GET following redirects into memory (at most max_bytes; 0 = 64 MiB). Returns EL_OK with any
 * final HTTP status (the body of an error page is returned too); EL_ERR when no response. */
int el_http_get(const char *url, const el_http_params *p, int64_t max_bytes, el_http_response *r,
                char **body, int64_t *body_len);

typedef struct {
    int64_t bytes;           /* final file size */
    int64_t bytes_received;  /* bytes that came over the wire in this call */
    char sha256[65];         /* of the whole file */
    double seconds;
} el_http_download_info;

/* GET following redirects, appending to `path` (created when missing). An existing prefix is
 * kept and resumed with "Range: bytes=N-" (restarted from 0 when the server ignores Range or the
 * prefix is longer than expected_size). expected_size < 0 when unknown. Retries transient
 * failures, continuing from what arrived. On success the file holds the whole body and
 * info->sha256 its hash; a non-2xx final status is an error naming the URL and status (with
 * the server's own message when it gave one). The file is left in place on failure. */
int el_http_download(const char *url, const char *path, int64_t expected_size,
                     const el_http_params *p, el_http_response *r, el_http_download_info *info);

/* One header line as libcurl hands it over ("HTTP/1.1 200 OK\r\n" starts a new response and
 * clears the headers; "Name: value\r\n" adds one, name lowercased, value trimmed); at most
 * EL_HTTP_MAX_HEADERS are kept. The buffer need not be NUL-terminated. Fuzzed by tests/fuzz. */
void el_http_parse_header_line(el_http_response *r, const char *buf, size_t n);

/* Percent-encodes one path segment or query value (RFC 3986 unreserved kept). malloc'd. */
char *el_http_escape(const char *s);
/* Overwrites every occurrence of secret in s with '*' (no-op for NULL or short secrets). */
void el_http_scrub(char *s, const char *secret);
/* "1.5 MiB", "312 B" */
void el_format_bytes(int64_t n, char out[32]);

#endif /* EL_HTTP_H */
