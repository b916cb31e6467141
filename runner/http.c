/* http.c: see http.h. */
#define _GNU_SOURCE
#include "http.h"

#include "emolab_version.h"
#include "util.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

el_http_params el_http_default_params(void) {
    el_http_params p = {
        .max_attempts = 6,
        .backoff_initial_s = 1.0,
        .backoff_max_s = 30.0,
        .connect_timeout_s = 15.0,
        .stall_timeout_s = 30.0,
        .token = NULL,
        .user_agent = NULL,
        .progress = true,
        .progress_label = NULL,
        .allow_file_urls = false,
    };
    double d;
    int64_t i;
    const char *e = getenv("EMOLAB_HTTP_ATTEMPTS");
    if (e && el_parse_i64(e, &i) == EL_OK && i >= 1 && i <= 100) p.max_attempts = (int32_t)i;
    e = getenv("EMOLAB_HTTP_BACKOFF");
    if (e && el_parse_double(e, &d) == EL_OK && d >= 0 && d <= 600) p.backoff_initial_s = d;
    e = getenv("EMOLAB_HTTP_TIMEOUT");
    if (e && el_parse_double(e, &d) == EL_OK && d >= 1 && d <= 3600) p.stall_timeout_s = d;
    return p;
}

/* ---- small helpers ---------------------------------------------------------------------- */
void el_format_bytes(int64_t n, char out[32]) {
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, 32, "%lld B", (long long)n);
    else
        snprintf(out, 32, "%.1f %s", v, units[u]);
}

char *el_http_escape(const char *s) {
    el_buf b = {0};
    el_buf_puts(&b, "");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
            el_buf_putc(&b, (char)*p);
        else
            el_buf_printf(&b, "%%%02X", *p);
    }
    return el_buf_take(&b);
}

/* A URL for messages: credentials in the authority part are replaced by "***". */
static char *redact_url(const char *url) {
    const char *scheme = strstr(url, "://");
    if (!scheme) return xstrdup(url);
    const char *auth = scheme + 3;
    const char *end = auth + strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', (size_t)(end - auth));
    if (!at) return xstrdup(url);
    return el_printf("%.*s***%s", (int)(auth - url), url, at);
}

void el_http_scrub(char *s, const char *secret) {
    if (!s || !secret || strlen(secret) < 4) return;
    size_t n = strlen(secret);
    char *p;
    while ((p = strstr(s, secret)) != NULL) memset(p, '*', n);
}

/* Sets the error message from a buffer, scrubbed of the token. */
static int http_fail(const el_http_params *p, el_buf *msg) {
    el_http_scrub(msg->s, p->token);
    el_err("%s", msg->s ? msg->s : "HTTP request failed");
    el_buf_free(msg);
    return EL_ERR;
}

static const char *status_text(int32_t st) {
    switch (st) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}

static bool status_transient(int32_t st) { return st >= 500 || st == 408 || st == 429; }

static bool curl_transient(CURLcode cc) {
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return true;
    default:
        return false;
    }
}

static void sleep_s(double s) {
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static double backoff_for(const el_http_params *p, int32_t attempt, const el_http_response *r) {
    double w = p->backoff_initial_s;
    for (int32_t i = 1; i < attempt; i++) w *= 2;
    if (w > p->backoff_max_s) w = p->backoff_max_s;
    const char *ra = r ? el_http_header(r, "retry-after") : NULL;
    double d;
    if (ra && el_parse_double(ra, &d) == EL_OK && d > w && d <= p->backoff_max_s) w = d;
    return w;
}

/* ---- responses -------------------------------------------------------------------------- */
static void headers_clear(el_http_response *r) {
    for (int32_t i = 0; i < r->n_headers; i++) {
        free(r->names[i]);
        free(r->values[i]);
    }
    r->n_headers = 0;
}

void el_http_response_free(el_http_response *r) {
    if (!r) return;
    headers_clear(r);
    free(r->effective_url);
    memset(r, 0, sizeof *r);
}

const char *el_http_header(const el_http_response *r, const char *name) {
    for (int32_t i = r->n_headers - 1; i >= 0; i--)
        if (strcasecmp(r->names[i], name) == 0) return r->values[i];
    return NULL;
}

/* ---- one transfer ------------------------------------------------------------------------ */
typedef struct {
    el_http_response *r;
    bool is_file_url;
    /* memory sink (el_http_get) */
    el_buf *mem;
    int64_t mem_max;
    bool mem_overflow;
    /* file sink (el_http_download) */
    int fd;
    el_sha256 *sha;
    int64_t have;       /* bytes in the file that sha covers */
    int64_t range_from; /* Range asked for in this attempt (0 = none) */
    bool decided, to_file, bad_range, restarted;
    int write_errno;
    /* the beginning of a non-2xx body, for the error message */
    el_buf errbody;
    /* progress */
    el_progress *prog;
    int64_t prog_div, prog_base;
    /* stall detection: no byte for stall_s seconds aborts the transfer (retried) */
    double stall_s, last_t;
    curl_off_t last_bytes;
    bool stalled;
} xfer;

static int on_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
    (void)dltotal;
    (void)ultotal;
    xfer *x = ud;
    double now = el_now();
    curl_off_t seen = dlnow + ulnow;
    if (x->last_t == 0 || seen != x->last_bytes) {
        x->last_t = now;
        x->last_bytes = seen;
        return 0;
    }
    if (x->stall_s > 0 && now - x->last_t > x->stall_s) {
        x->stalled = true;
        return 1; /* CURLE_ABORTED_BY_CALLBACK */
    }
    return 0;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud) {
    xfer *x = ud;
    size_t n = size * nitems;
    el_http_parse_header_line(x->r, buf, n);
    return n;
}

void el_http_parse_header_line(el_http_response *r, const char *buf, size_t n) {
    if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        headers_clear(r);
        /* "HTTP/1.1 200 OK": three digits after the first space, read within the n bytes (the
         * buffer is not NUL-terminated); anything else is status 0 */
        const char *sp = memchr(buf, ' ', n);
        size_t at = sp ? (size_t)(sp - buf) + 1 : n, k = 0;
        int32_t st = 0;
        while (at + k < n && k < 4 && buf[at + k] >= '0' && buf[at + k] <= '9')
            st = st * 10 + (buf[at + k++] - '0');
        r->status = k == 3 ? st : 0;
        return;
    }
    const char *colon = memchr(buf, ':', n);
    if (!colon || r->n_headers >= EL_HTTP_MAX_HEADERS) return;
    size_t nn = (size_t)(colon - buf);
    const char *v = colon + 1, *end = buf + n;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    char *name = el_strndup(buf, nn);
    for (char *q = name; *q; q++) *q = (char)tolower((unsigned char)*q);
    r->names[r->n_headers] = name;
    r->values[r->n_headers] = el_strndup(v, (size_t)(end - v));
    r->n_headers++;
}

static void keep_errbody(xfer *x, const char *ptr, size_t n) {
    if (x->errbody.len < 4096) el_buf_append(&x->errbody, ptr, n < 4096 ? n : 4096);
}

static size_t on_body_mem(char *ptr, size_t size, size_t nmemb, void *ud) {
    xfer *x = ud;
    size_t n = size * nmemb;
    if ((int64_t)(x->mem->len + n) > x->mem_max) {
        x->mem_overflow = true;
        return 0;
    }
    el_buf_append(x->mem, ptr, n);
    return n;
}

static int64_t parse_content_range_start(const char *v) {
    /* "bytes 100-199/200" */
    if (!v || strncasecmp(v, "bytes ", 6) != 0) return -1;
    return strtoll(v + 6, NULL, 10);
}

static size_t on_body_file(char *ptr, size_t size, size_t nmemb, void *ud) {
    xfer *x = ud;
    size_t n = size * nmemb;
    if (!x->decided) {
        x->decided = true;
        int32_t st = x->r->status;
        if (x->is_file_url) st = x->range_from > 0 ? 206 : 200;
        if (st == 200 || st == 203) {
            x->to_file = true;
            if (x->have > 0) { /* the server ignored Range: start over */
                if (ftruncate(x->fd, 0) != 0 || lseek(x->fd, 0, SEEK_SET) != 0) {
                    x->write_errno = errno;
                    return 0;
                }
                char dummy[65];
                el_sha256_final(x->sha, dummy);
                x->sha = el_sha256_new();
                x->have = 0;
                x->restarted = true;
            }
        } else if (st == 206) {
            int64_t start = x->is_file_url ? x->range_from
                                           : parse_content_range_start(el_http_header(x->r, "content-range"));
            if (start != x->have) {
                x->bad_range = true;
                return 0;
            }
            x->to_file = true;
            if (!x->r->resumed_from) x->r->resumed_from = start;
        } else {
            x->to_file = false;
        }
    }
    if (!x->to_file) {
        keep_errbody(x, ptr, n);
        return n;
    }
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(x->fd, ptr + off, n - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            x->write_errno = errno;
            return 0;
        }
        off += (size_t)w;
    }
    el_sha256_update(x->sha, ptr, n);
    x->have += (int64_t)n;
    if (x->prog) {
        int64_t d = x->have - x->prog_base;
        el_progress_update(x->prog, (d < 0 ? 0 : d) / x->prog_div, NULL);
    }
    return n;
}

/* Builds the handle shared by all three calls. *hdrs receives the header list to free. */
static CURL *make_handle(const char *url, const el_http_params *p, bool follow, xfer *x,
                         struct curl_slist **hdrs, char errbuf[CURL_ERROR_SIZE]) {
    pthread_once(&g_curl_once, curl_init_once);
    CURL *c = curl_easy_init();
    if (!c) return NULL;
    char ua[64];
    snprintf(ua, sizeof ua, "emolab/%s", EMOLAB_VERSION);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, p->user_agent ? p->user_agent : ua);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(p->connect_timeout_s * 1000));
    x->stall_s = p->stall_timeout_s > 0 ? p->stall_timeout_s : 30;
    x->last_t = 0;
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, p->allow_file_urls ? "http,https,file" : "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    errbuf[0] = 0;
    *hdrs = curl_slist_append(NULL, "Accept-Encoding: identity");
    if (p->token && *p->token) {
        char *h = el_printf("Authorization: Bearer %s", p->token);
        *hdrs = curl_slist_append(*hdrs, h);
        explicit_bzero(h, strlen(h));
        free(h);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
    return c;
}

static void free_handle(CURL *c, struct curl_slist *hdrs) {
    for (struct curl_slist *s = hdrs; s; s = s->next) explicit_bzero(s->data, strlen(s->data));
    curl_slist_free_all(hdrs);
    if (c) curl_easy_cleanup(c);
}

static void finish_response(CURL *c, el_http_response *r) {
    char *eff = NULL;
    curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff);
    free(r->effective_url);
    r->effective_url = eff ? xstrdup(eff) : NULL;
}

/* "the server's own message": X-Error-Message, a JSON {"error": "..."} or the start of a text
 * body; appended to msg as ": ...". */
static void append_server_message(el_buf *msg, const el_http_response *r, el_buf *body,
                                  const char *secret) {
    char *xm_copy = el_http_header(r, "x-error-message") ? xstrdup(el_http_header(r, "x-error-message")) : NULL;
    el_http_scrub(xm_copy, secret); /* before anything is cut */
    el_http_scrub(body->s, secret);
    const char *xm = xm_copy;
    char tmp[301];
    size_t n = 0;
    if (xm) {
        n = strlen(xm) < 300 ? strlen(xm) : 300;
        memcpy(tmp, xm, n);
    } else if (body && body->len) {
        const char *s = body->s;
        const char *e = strstr(s, "\"error\"");
        if (e) {
            const char *q = strchr(e + 7, '"');
            if (q) {
                q++;
                const char *qe = strchr(q, '"');
                n = qe ? (size_t)(qe - q) : 0;
                if (n > 300) n = 300;
                memcpy(tmp, q, n);
            }
        } else if (!strchr(s, '<')) {
            n = body->len < 200 ? body->len : 200;
            memcpy(tmp, s, n);
        }
    }
    tmp[n] = 0;
    free(xm_copy);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)tmp[i] < 32) tmp[i] = ' ';
    if (n) el_buf_printf(msg, " (server says: %s)", tmp);
}

static void describe_curl_failure(el_buf *msg, CURLcode cc, const char *errbuf) {
    el_buf_printf(msg, "%s", errbuf && *errbuf ? errbuf : curl_easy_strerror(cc));
    if (cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_COULDNT_CONNECT ||
        cc == CURLE_COULDNT_RESOLVE_PROXY)
        el_buf_puts(msg, "; check the network, the endpoint (HF_ENDPOINT / the mirror setting) "
                         "or work offline from the cache (HF_HUB_OFFLINE=1)");
    else if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE)
        el_buf_puts(msg, "; the TLS certificate could not be verified (install ca-certificates "
                         "or check a proxy)");
}

/* ---- HEAD / GET into memory ------------------------------------------------------------- */
static int request_small(const char *url, const el_http_params *p, bool head, int64_t max_bytes,
                         el_http_response *r, el_buf *body) {
    memset(r, 0, sizeof *r);
    char *shown = redact_url(url);
    if (!p->allow_file_urls && !el_starts_with(url, "http://") && !el_starts_with(url, "https://")) {
        el_err("%s: only http:// and https:// URLs can be fetched", shown);
        free(shown);
        return EL_ERR;
    }
    int32_t attempts = p->max_attempts < 1 ? 1 : p->max_attempts;
    double t0 = el_now();
    int rc = EL_ERR;
    el_buf msg = {0};
    for (int32_t a = 1; a <= attempts; a++) {
        xfer x = {.r = r, .mem = body, .mem_max = max_bytes > 0 ? max_bytes : (64 << 20)};
        x.is_file_url = el_starts_with(url, "file:");
        char errbuf[CURL_ERROR_SIZE];
        struct curl_slist *hdrs = NULL;
        CURL *c = make_handle(url, p, !head, &x, &hdrs, errbuf);
        if (!c) {
            el_buf_printf(&msg, "%s: cannot initialise libcurl", shown);
            break;
        }
        if (head) {
            curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        } else {
            curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body_mem);
            curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
        }
        if (body) body->len = 0;
        if (body && body->s) body->s[0] = 0;
        headers_clear(r);
        r->status = 0;
        CURLcode cc = curl_easy_perform(c);
        finish_response(c, r);
        if (x.is_file_url && cc == CURLE_OK) r->status = 200;
        if (x.is_file_url && cc == CURLE_FILE_COULDNT_READ_FILE) {
            free_handle(c, hdrs);
            r->status = 404;
            r->attempts = a;
            rc = EL_OK;
            break;
        }
        free_handle(c, hdrs);
        r->attempts = a;
        el_buf_free(&x.errbody);
        if (x.mem_overflow) {
            el_buf_printf(&msg, "%s %s: the answer is larger than %lld bytes; is this the right "
                                "endpoint?", head ? "HEAD" : "GET", shown, (long long)x.mem_max);
            break;
        }
        bool retry = false;
        if (cc == CURLE_OK) {
            if (status_transient(r->status) && a < attempts) {
                retry = true;
            } else {
                rc = EL_OK;
                break;
            }
        } else if ((curl_transient(cc) || x.stalled) && a < attempts) {
            retry = true;
        } else {
            el_buf_printf(&msg, "%s %s: ", head ? "HEAD" : "GET", shown);
            if (x.stalled)
                el_buf_printf(&msg, "no data for %.0fs", x.stall_s);
            else
                describe_curl_failure(&msg, cc, errbuf);
            if (a > 1)
                el_buf_printf(&msg, " (after %d attempts over %.0fs)", (int)a, el_now() - t0);
            break;
        }
        if (retry) sleep_s(backoff_for(p, a, r));
    }
    free(shown);
    if (rc == EL_OK) {
        el_buf_free(&msg);
        return EL_OK;
    }
    return http_fail(p, &msg);
}

int el_http_head(const char *url, const el_http_params *p, el_http_response *r) {
    return request_small(url, p, true, 0, r, NULL);
}

int el_http_get(const char *url, const el_http_params *p, int64_t max_bytes, el_http_response *r,
                char **body, int64_t *body_len) {
    el_buf b = {0};
    el_buf_puts(&b, "");
    int rc = request_small(url, p, false, max_bytes, r, &b);
    if (rc != EL_OK) {
        el_buf_free(&b);
        *body = NULL;
        if (body_len) *body_len = 0;
        return rc;
    }
    if (body_len) *body_len = (int64_t)b.len;
    *body = el_buf_take(&b);
    return EL_OK;
}

/* ---- GET into a file, resumable --------------------------------------------------------- */
static int hash_prefix(int fd, el_sha256 *h, int64_t n) {
    char buf[1 << 16];
    int64_t done = 0;
    if (lseek(fd, 0, SEEK_SET) != 0) return EL_ERR;
    while (done < n) {
        size_t want = (size_t)(n - done < (int64_t)sizeof buf ? n - done : (int64_t)sizeof buf);
        ssize_t got = read(fd, buf, want);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return EL_ERR;
        el_sha256_update(h, buf, (size_t)got);
        done += got;
    }
    return EL_OK;
}

static const char *disk_hint(int e) {
    if (e == ENOSPC || e == EDQUOT)
        return "the disk is full: free space or point the cache at a bigger disk "
               "(HF_HUB_CACHE / EMOLAB_DATA_CACHE or --cache-dir); the partial file is kept and "
               "the download resumes from it next time";
    if (e == EFBIG) return "the file size limit was reached (ulimit -f)";
    if (e == EROFS || e == EACCES || e == EPERM)
        return "the cache directory is not writable: fix its permissions or choose another "
               "(HF_HUB_CACHE / EMOLAB_DATA_CACHE or --cache-dir)";
    return "check the disk holding the cache";
}

int el_http_download(const char *url, const char *path, int64_t expected_size,
                     const el_http_params *p, el_http_response *r, el_http_download_info *info) {
    memset(r, 0, sizeof *r);
    memset(info, 0, sizeof *info);
    char *shown = redact_url(url);
    el_buf msg = {0};
    bool is_file_url = el_starts_with(url, "file:");
    if (!(el_starts_with(url, "http://") || el_starts_with(url, "https://") ||
          (p->allow_file_urls && is_file_url))) {
        el_buf_printf(&msg, "%s: only http:// and https:// URLs can be fetched", shown);
        free(shown);
        return http_fail(p, &msg);
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        el_buf_printf(&msg, "%s: cannot create: %s; %s", path, strerror(e), disk_hint(e));
        free(shown);
        return http_fail(p, &msg);
    }
    struct stat st;
    int64_t have = 0;
    if (fstat(fd, &st) == 0) have = (int64_t)st.st_size;
    if (expected_size >= 0 && have > expected_size) {
        if (ftruncate(fd, 0) != 0) have = -1;
        else have = 0;
    }
    el_sha256 *sha = el_sha256_new();
    if (have < 0 || (have > 0 && hash_prefix(fd, sha, have) != EL_OK)) {
        /* unreadable prefix: start over */
        char dummy[65];
        el_sha256_final(sha, dummy);
        sha = el_sha256_new();
        if (ftruncate(fd, 0) != 0) {
            int e = errno;
            el_buf_printf(&msg, "%s: cannot truncate: %s", path, strerror(e));
            el_sha256_final(sha, dummy);
            close(fd);
            free(shown);
            return http_fail(p, &msg);
        }
        have = 0;
    }
    const int64_t initial = have;
    el_progress prog;
    el_progress *pp = NULL;
    int64_t div = 1;
    if (p->progress) {
        const char *label = p->progress_label;
        if (!label) {
            const char *sl = strrchr(url, '/');
            label = sl ? sl + 1 : url;
        }
        int64_t total = expected_size >= 0 ? expected_size - initial : 0;
        div = (expected_size >= 0 ? expected_size : 0) >= (10 << 20) ? (1 << 20) : 1024;
        el_progress_begin(&prog, label, total / div, div == 1024 ? "KiB" : "MiB");
        pp = &prog;
    }
    int32_t attempts = p->max_attempts < 1 ? 1 : p->max_attempts;
    double t0 = el_now();
    int rc = EL_ERR;
    int64_t received = 0;
    int32_t restarts = 0;
    for (int32_t a = 1; a <= attempts; a++) {
        /* the file must hold exactly the hashed prefix */
        if (ftruncate(fd, have) != 0 || lseek(fd, have, SEEK_SET) != have) {
            int e = errno;
            el_buf_printf(&msg, "%s: cannot prepare the file: %s; %s", path, strerror(e),
                          disk_hint(e));
            break;
        }
        if (expected_size >= 0 && have == expected_size && have > 0) {
            rc = EL_OK; /* complete from an earlier run: nothing to ask */
            r->status = 200;
            break;
        }
        xfer x = {.r = r, .is_file_url = is_file_url, .fd = fd, .sha = sha, .have = have,
                  .range_from = have, .prog = pp, .prog_div = div, .prog_base = initial};
        char errbuf[CURL_ERROR_SIZE];
        struct curl_slist *hdrs = NULL;
        CURL *c = make_handle(url, p, true, &x, &hdrs, errbuf);
        if (!c) {
            el_buf_printf(&msg, "%s: cannot initialise libcurl", shown);
            break;
        }
        char range[32];
        if (have > 0) {
            snprintf(range, sizeof range, "%lld-", (long long)have);
            curl_easy_setopt(c, CURLOPT_RANGE, range);
        }
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body_file);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
        headers_clear(r);
        r->status = 0;
        CURLcode cc = curl_easy_perform(c);
        finish_response(c, r);
        if (is_file_url && cc == CURLE_OK) r->status = have > 0 ? 206 : 200;
        free_handle(c, hdrs);
        r->attempts = a;
        sha = x.sha;
        received += x.have - (x.restarted ? 0 : have);
        have = x.have;
        el_buf errbody = x.errbody;
        bool retry = false, now = false;
        if (x.write_errno) {
            int e = x.write_errno;
            el_buf_printf(&msg, "%s: write failed after %lld bytes: %s; %s", path, (long long)have,
                          strerror(e), disk_hint(e));
        } else if (x.bad_range && restarts < 2) {
            /* the server answered another range than asked: start from zero */
            restarts++;
            char dummy[65];
            el_sha256_final(sha, dummy);
            sha = el_sha256_new();
            have = 0;
            retry = now = true;
        } else if (x.bad_range) {
            el_buf_printf(&msg, "GET %s: the server keeps answering a Range request with another "
                                "range; delete %s and try again", shown, path);
        } else if (cc == CURLE_OK && r->status >= 200 && r->status < 300) {
            if (expected_size >= 0 && have < expected_size) {
                retry = true; /* the body ended early without an error: resume */
            } else if (expected_size >= 0 && have > expected_size) {
                el_buf_printf(&msg, "GET %s: the server sent %lld bytes, %lld were announced",
                              shown, (long long)have, (long long)expected_size);
            } else {
                rc = EL_OK;
            }
        } else if (cc == CURLE_OK && r->status == 416 && have > 0 && restarts < 2) {
            /* our prefix does not fit the file on the server: start over */
            char dummy[65];
            el_sha256_final(sha, dummy);
            sha = el_sha256_new();
            have = 0;
            restarts++;
            retry = now = true;
        } else if (cc == CURLE_OK && status_transient(r->status)) {
            retry = true;
            if (a == attempts)
                el_buf_printf(&msg, "GET %s: HTTP %d %s, still failing after %d attempts over "
                                    "%.0fs: try again later (EMOLAB_HTTP_ATTEMPTS sets the "
                                    "number of tries)",
                              shown, (int)r->status, status_text(r->status), (int)a,
                              el_now() - t0);
        } else if (cc == CURLE_OK) {
            el_buf_printf(&msg, "GET %s: HTTP %d %s", shown, (int)r->status,
                          status_text(r->status));
            append_server_message(&msg, r, &errbody, p->token);
        } else if (is_file_url && cc == CURLE_FILE_COULDNT_READ_FILE) {
            r->status = 404;
            el_buf_printf(&msg, "%s: no such file", shown);
        } else if (curl_transient(cc) || x.stalled) {
            retry = true;
            if (a == attempts) {
                el_buf_printf(&msg, "GET %s: ", shown);
                if (x.stalled)
                    el_buf_printf(&msg, "no data for %.0fs", x.stall_s);
                else
                    describe_curl_failure(&msg, cc, errbuf);
                el_buf_printf(&msg, ", still failing after %d attempts over %.0fs (%lld of %s "
                                    "bytes kept for resuming): try again later",
                              (int)a, el_now() - t0, (long long)have,
                              expected_size >= 0 ? "the" : "unknown");
            }
        } else {
            el_buf_printf(&msg, "GET %s: ", shown);
            describe_curl_failure(&msg, cc, errbuf);
        }
        el_buf_free(&errbody);
        if (rc == EL_OK || !retry || a == attempts) {
            if (!retry || rc == EL_OK) break;
            if (!msg.len) el_buf_printf(&msg, "GET %s: gave up after %d attempts", shown, (int)a);
            break;
        }
        if (now) a--; /* a restart from zero is not a failed attempt */
        else sleep_s(backoff_for(p, a, r));
    }
    if (rc == EL_OK && fsync(fd) != 0) {
        int e = errno;
        el_buf_printf(&msg, "%s: cannot flush to disk: %s; %s", path, strerror(e), disk_hint(e));
        rc = EL_ERR;
    }
    if (rc != EL_OK && have >= 0) {
        if (ftruncate(fd, have) != 0) { /* keep only the verified-by-order prefix */
        }
    }
    close(fd);
    el_sha256_final(sha, info->sha256);
    info->bytes = have;
    info->bytes_received = received;
    info->seconds = el_now() - t0;
    if (pp) {
        if (rc == EL_OK && (pp->tty || info->seconds >= 2.0)) {
            char b[32], suffix[64];
            el_format_bytes(have, b);
            snprintf(suffix, sizeof suffix, "%s", b);
            el_progress_end(pp, suffix);
        } else if (pp->drawn && pp->tty) {
            fputc('\n', pp->out);
        }
    }
    free(shown);
    if (rc == EL_OK) {
        el_buf_free(&msg);
        return EL_OK;
    }
    return http_fail(p, &msg);
}
