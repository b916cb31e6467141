/* util.c: see util.h. */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- errors ---------------------------------------------------------------------------- */
static _Thread_local char g_err[4096];

int el_err(const char *fmt, ...) {
    /* formatted aside first: the arguments may include el_last_error() itself */
    char msg[sizeof g_err];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(g_err, msg, sizeof g_err);
    return EL_ERR;
}

int el_err_prefix(const char *fmt, ...) {
    char prefix[1024], old[sizeof g_err];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, g_err, sizeof old);
    size_t np = strlen(prefix);
    if (np + 2 >= sizeof g_err) np = sizeof g_err - 3;
    memcpy(g_err, prefix, np);
    memcpy(g_err + np, ": ", 2);
    size_t rest = sizeof g_err - np - 3;
    size_t no = strnlen(old, rest);
    memcpy(g_err + np + 2, old, no);
    g_err[np + 2 + no] = 0;
    return EL_ERR;
}

const char *el_last_error(void) { return g_err; }
void el_clear_error(void) { g_err[0] = 0; }

/* ---- memory ------------------------------------------------------------------------------ */
static void oom(size_t n, const char *file, int line) {
    fprintf(stderr, "emolab: out of memory allocating %zu bytes at %s:%d\n", n, file, line);
    exit(3);
}

void *el_xmalloc_(size_t n, const char *file, int line) {
    void *p = malloc(n ? n : 1);
    if (!p) oom(n, file, line);
    return p;
}

void *el_xcalloc_(size_t n, size_t size, const char *file, int line) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size, file, line);
    return p;
}

void *el_xrealloc_(void *p, size_t n, const char *file, int line) {
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n, file, line);
    return q;
}

char *el_xstrdup_(const char *s, const char *file, int line) {
    if (!s) return NULL;
    size_t n = strlen(s);
    char *p = el_xmalloc_(n + 1, file, line);
    memcpy(p, s, n + 1);
    return p;
}

char *el_strndup(const char *s, size_t n) {
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *el_printf(const char *fmt, ...) {
    el_buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    el_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return el_buf_take(&b);
}

void el_grow_(void **p, int64_t *cap, int64_t need, size_t sz, const char *file, int line) {
    if (need <= *cap) return;
    int64_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    *p = el_xrealloc_(*p, (size_t)c * sz, file, line);
    *cap = c;
}

/* ---- buffers ----------------------------------------------------------------------------- */
static void buf_reserve(el_buf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t c = b->cap ? b->cap : 64;
    while (c < b->len + extra + 1) c *= 2;
    b->s = xrealloc(b->s, c);
    b->cap = c;
}

void el_buf_append(el_buf *b, const char *s, size_t n) {
    buf_reserve(b, n);
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

void el_buf_puts(el_buf *b, const char *s) { el_buf_append(b, s, strlen(s)); }
void el_buf_putc(el_buf *b, char c) { el_buf_append(b, &c, 1); }

void el_buf_vprintf(el_buf *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return;
    buf_reserve(b, (size_t)n);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void el_buf_printf(el_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    el_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void el_buf_free(el_buf *b) {
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

char *el_buf_take(el_buf *b) {
    char *s = b->s ? b->s : xstrdup("");
    b->s = NULL;
    b->len = b->cap = 0;
    return s;
}

/* ---- files ------------------------------------------------------------------------------- */
int el_read_file(const char *path, char **data, size_t *len) {
    return el_read_file_max(path, data, len, EL_READ_FILE_MAX);
}

int el_read_file_max(const char *path, char **data, size_t *len, size_t max) {
    FILE *f = fopen(path, "rb");
    if (!f) return el_err("%s: cannot open: %s", path, strerror(errno));
    el_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > max) { /* a huge file, a device or a pipe that never ends */
            fclose(f);
            el_buf_free(&b);
            return el_err("%s: larger than %zu MiB, refused (reading stopped there): is it the "
                          "right file?", path, max >> 20);
        }
        el_buf_append(&b, chunk, n);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        el_buf_free(&b);
        return el_err("%s: read error", path);
    }
    if (len) *len = b.len;
    *data = el_buf_take(&b);
    return EL_OK;
}

static int fsync_dir_of(const char *path) {
    char *dir = el_dirname(path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    free(dir);
    if (fd < 0) return EL_OK; /* best effort */
    fsync(fd);
    close(fd);
    return EL_OK;
}

struct el_afile {
    char *path, *tmp;
    int fd;
    bool failed;
};

el_afile *el_afile_open(const char *path) {
    el_afile *f = xcalloc(1, sizeof *f);
    f->path = xstrdup(path);
    f->tmp = el_printf("%s.tmp.%ld", path, (long)getpid());
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (f->fd < 0) {
        el_err("%s: cannot create: %s", f->tmp, strerror(errno));
        free(f->path);
        free(f->tmp);
        free(f);
        return NULL;
    }
    return f;
}

int el_afile_write(el_afile *f, const void *data, size_t len) {
    const char *p = data;
    while (len > 0 && !f->failed) {
        ssize_t w = write(f->fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            f->failed = true;
            return el_err("%s: write failed: %s", f->path, strerror(errno));
        }
        p += w;
        len -= (size_t)w;
    }
    return f->failed ? EL_ERR : EL_OK;
}

void el_afile_abort(el_afile *f) {
    if (!f) return;
    close(f->fd);
    unlink(f->tmp);
    free(f->path);
    free(f->tmp);
    free(f);
}

int el_afile_commit(el_afile *f) {
    if (f->failed) {
        el_afile_abort(f);
        return EL_ERR;
    }
    if (fsync(f->fd) != 0) {
        el_err("%s: cannot flush to disk: %s", f->path, strerror(errno));
        el_afile_abort(f);
        return EL_ERR;
    }
    if (close(f->fd) != 0) {
        f->fd = -1;
        el_err("%s: cannot close: %s", f->path, strerror(errno));
        el_afile_abort(f);
        return EL_ERR;
    }
    f->fd = -1;
    if (rename(f->tmp, f->path) != 0) {
        el_err("%s: cannot rename temporary file into place: %s", f->path, strerror(errno));
        el_afile_abort(f);
        return EL_ERR;
    }
    fsync_dir_of(f->path);
    free(f->path);
    free(f->tmp);
    free(f);
    return EL_OK;
}

int el_write_file_atomic(const char *path, const void *data, size_t len) {
    el_afile *f = el_afile_open(path);
    if (!f) return EL_ERR;
    if (el_afile_write(f, data, len) != 0) {
        el_afile_abort(f);
        return EL_ERR;
    }
    return el_afile_commit(f);
}

int el_mkdirs(const char *path, int mode) {
    char *p = xstrdup(path);
    size_t n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] == '/' || p[i] == 0) {
            char c = p[i];
            p[i] = 0;
            if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
                el_err("%s: cannot create directory: %s", p, strerror(errno));
                free(p);
                return EL_ERR;
            }
            p[i] = c;
        }
    }
    free(p);
    return EL_OK;
}

bool el_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

char *el_path_join(const char *a, const char *b) {
    if (!a || !*a || b[0] == '/') return xstrdup(b);
    size_t na = strlen(a);
    return el_printf("%s%s%s", a, a[na - 1] == '/' ? "" : "/", b);
}

char *el_dirname(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return xstrdup(".");
    if (slash == path) return xstrdup("/");
    return el_strndup(path, (size_t)(slash - path));
}

/* ---- hashing ----------------------------------------------------------------------------- */
struct el_sha256 {
    EVP_MD_CTX *ctx;
};

el_sha256 *el_sha256_new(void) {
    el_sha256 *h = xmalloc(sizeof *h);
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        fprintf(stderr, "emolab: OpenSSL SHA-256 unavailable\n");
        exit(3);
    }
    return h;
}

void el_sha256_update(el_sha256 *h, const void *data, size_t n) { EVP_DigestUpdate(h->ctx, data, n); }

void el_sha256_final(el_sha256 *h, char hex[65]) {
    unsigned char md[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, md, &n);
    EVP_MD_CTX_free(h->ctx);
    free(h);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    hex[64] = 0;
}

void el_sha256_hex(const void *data, size_t n, char hex[65]) {
    el_sha256 *h = el_sha256_new();
    el_sha256_update(h, data, n);
    el_sha256_final(h, hex);
}

int el_sha256_file(const char *path, char hex[65]) {
    FILE *f = fopen(path, "rb");
    if (!f) return el_err("%s: cannot open: %s", path, strerror(errno));
    el_sha256 *h = el_sha256_new();
    char chunk[1 << 16];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) el_sha256_update(h, chunk, n);
    int bad = ferror(f);
    fclose(f);
    el_sha256_final(h, hex);
    if (bad) return el_err("%s: read error", path);
    return EL_OK;
}

uint64_t el_hash64(const void *data, size_t n, uint64_t seed) {
    /* FNV-1a 64 followed by a murmur3 finaliser for good low-bit mixing. */
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* ---- UTF-8 ------------------------------------------------------------------------------- */
int64_t el_utf8_invalid_at(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        unsigned min;
        if ((c & 0xE0) == 0xC0) {
            k = 1;
            min = 0x80;
            c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2;
            min = 0x800;
            c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3;
            min = 0x10000;
            c &= 0x07;
        } else {
            return (int64_t)i;
        }
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (p[i + j] & 0xC0) != 0x80) return (int64_t)i;
            c = (c << 6) | (p[i + j] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return (int64_t)i;
        i += k + 1;
    }
    return -1;
}

/* ---- time -------------------------------------------------------------------------------- */
double el_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void el_iso_time(char out[32]) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void el_format_duration(double s, char out[32]) {
    if (!isfinite(s) || s < 0) {
        snprintf(out, 32, "?");
    } else if (s < 60) {
        snprintf(out, 32, "%.1fs", s);
    } else if (s < 3600) {
        snprintf(out, 32, "%dm%02ds", (int)s / 60, (int)s % 60);
    } else {
        snprintf(out, 32, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
    }
}

/* ---- progress ---------------------------------------------------------------------------- */
void el_progress_begin(el_progress *p, const char *label, int64_t total, const char *unit) {
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "it");
    p->total = total;
    p->out = stderr;
    p->t0 = el_now();
    p->log_every = 10.0;
    const char *e = getenv("EMOLAB_PROGRESS");
    p->tty = isatty(fileno(stderr));
    if (e && strcmp(e, "0") == 0) p->quiet = true;
    if (e && strcmp(e, "1") == 0) p->tty = true;
    if (!p->tty) p->last_draw = p->t0; /* first log line after log_every */
}

static void progress_draw(el_progress *p, const char *suffix, bool final) {
    double now = el_now(), el = now - p->t0;
    double rate = el > 0 ? (double)p->done / el : 0;
    char eta[32], spent[32];
    el_format_duration(rate > 0 && p->total > 0 ? (double)(p->total - p->done) / rate : -1, eta);
    el_format_duration(el, spent);
    if (p->tty) {
        char bar[26];
        int w = 24, fill = p->total > 0 ? (int)((double)w * (double)p->done / (double)p->total) : 0;
        if (fill > w) fill = w;
        for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '.';
        bar[w] = 0;
        fprintf(p->out, "\r\033[K%s [%s] %lld/%lld %s, %.0f %s/s, %s %s%s%s", p->label, bar,
                (long long)p->done, (long long)p->total, p->unit, rate, p->unit,
                final ? "took" : "ETA", final ? spent : eta, suffix ? "  " : "",
                suffix ? suffix : "");
        if (final) fputc('\n', p->out);
    } else {
        fprintf(p->out, "%s: %lld/%lld %s, %.0f %s/s, %s %s%s%s\n", p->label, (long long)p->done,
                (long long)p->total, p->unit, rate, p->unit, final ? "took" : "ETA",
                final ? spent : eta, suffix ? ", " : "", suffix ? suffix : "");
    }
    fflush(p->out);
    p->drawn = true;
}

void el_progress_update(el_progress *p, int64_t done, const char *suffix) {
    p->done = done;
    if (p->quiet) return;
    double now = el_now();
    double every = p->tty ? 0.1 : p->log_every;
    if (now - p->last_draw < every) return;
    p->last_draw = now;
    progress_draw(p, suffix, false);
}

void el_progress_end(el_progress *p, const char *suffix) {
    if (p->quiet) return;
    progress_draw(p, suffix, true);
}

/* ---- misc -------------------------------------------------------------------------------- */
bool el_streq(const char *a, const char *b) {
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

bool el_starts_with(const char *s, const char *prefix) {
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

int el_parse_i64(const char *s, int64_t *out) {
    if (!s || !*s) return EL_ERR;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return EL_ERR;
    *out = v;
    return EL_OK;
}

int el_parse_double(const char *s, double *out) {
    if (!s || !*s) return EL_ERR;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) return EL_ERR;
    *out = v;
    return EL_OK;
}

const char *el_hostname(void) {
    static char host[256];
    if (!host[0] && gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "unknown");
    return host;
}

const char *el_env(const char *name, const char *fallback) {
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

void el_qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *)) {
    if (n > 1) qsort(base, n, size, cmp);
}

const char *el_user_name(void) {
    const char *u = el_env("USER", NULL);
    if (u) return u;
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_name ? pw->pw_name : "";
}
