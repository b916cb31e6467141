/* util.h: small shared helpers for the emolab runner (errors, memory, strings, files, hashing,
 * time, progress). Every module reports failure by returning a negative status (or NULL) after
 * el_err() has left a message for el_last_error(); main prints it. */
#ifndef EL_UTIL_H
#define EL_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EL_OK 0
#define EL_ERR (-1)

/* ---- errors ---------------------------------------------------------------------------- */
/* Sets the thread-local error message (printf-style) and returns EL_ERR. */
int el_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prepends "prefix: " to the current message (adds context while unwinding); returns EL_ERR. */
int el_err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *el_last_error(void);
void el_clear_error(void);

/* ---- memory (out of memory is reported with file:line and exits 3) ------------------------ */
void *el_xmalloc_(size_t n, const char *file, int line);
void *el_xcalloc_(size_t n, size_t size, const char *file, int line);
void *el_xrealloc_(void *p, size_t n, const char *file, int line);
char *el_xstrdup_(const char *s, const char *file, int line);
#define xmalloc(n) el_xmalloc_((n), __FILE__, __LINE__)
#define xcalloc(n, s) el_xcalloc_((n), (s), __FILE__, __LINE__)
#define xrealloc(p, n) el_xrealloc_((p), (n), __FILE__, __LINE__)
#define xstrdup(s) el_xstrdup_((s), __FILE__, __LINE__)
char *el_strndup(const char *s, size_t n);
char *el_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* malloc'd */

/* Grow a dynamic array: ensures capacity for need elements of size sz. */
void el_grow_(void **p, int64_t *cap, int64_t need, size_t sz, const char *file, int line);
#define el_grow(p, cap, need) el_grow_((void **)&(p), (cap), (need), sizeof(*(p)), __FILE__, __LINE__)

/* qsort for arrays that may be empty: an empty array is often NULL, which qsort must not get
 * (UBSan: nonnull argument) */
void el_qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

/* ---- string buffer ----------------------------------------------------------------------- */
typedef struct {
    char *s;     /* always NUL-terminated once anything was appended */
    size_t len;
    size_t cap;
} el_buf;
void el_buf_append(el_buf *b, const char *s, size_t n);
void el_buf_puts(el_buf *b, const char *s);
void el_buf_printf(el_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void el_buf_vprintf(el_buf *b, const char *fmt, va_list ap);
void el_buf_putc(el_buf *b, char c);
void el_buf_free(el_buf *b);
char *el_buf_take(el_buf *b); /* returns the string (caller frees) and resets b */

/* ---- files ------------------------------------------------------------------------------- */
/* Reads a whole file (NUL-terminated); on failure sets "PATH: reason". A file (or a device, or
 * a pipe) longer than EL_READ_FILE_MAX bytes is refused once that much was read; _max takes the
 * bound (small text files such as specs and label maps use a smaller one). */
#define EL_READ_FILE_MAX ((size_t)256 << 20)
int el_read_file(const char *path, char **data, size_t *len);
int el_read_file_max(const char *path, char **data, size_t *len, size_t max);
/* Writes atomically: PATH.tmp.PID, fsync, rename, fsync of the directory. */
int el_write_file_atomic(const char *path, const void *data, size_t len);
/* The same, streamed: open, write pieces, then commit (or abort, which removes the temp file).
 * A write error (full disk, file size limit) is reported and the target is never touched. */
typedef struct el_afile el_afile;
el_afile *el_afile_open(const char *path);
int el_afile_write(el_afile *f, const void *data, size_t len);
int el_afile_commit(el_afile *f); /* frees f */
void el_afile_abort(el_afile *f); /* frees f */
int el_mkdirs(const char *path, int mode); /* mkdir -p */
bool el_file_exists(const char *path);
char *el_path_join(const char *a, const char *b); /* malloc'd; b absolute -> copy of b */
char *el_dirname(const char *path);               /* malloc'd */

/* ---- hashing ----------------------------------------------------------------------------- */
typedef struct el_sha256 el_sha256; /* incremental SHA-256 (OpenSSL libcrypto) */
el_sha256 *el_sha256_new(void);
void el_sha256_update(el_sha256 *h, const void *data, size_t n);
void el_sha256_final(el_sha256 *h, char hex[65]); /* frees h */
void el_sha256_hex(const void *data, size_t n, char hex[65]);
int el_sha256_file(const char *path, char hex[65]);
uint64_t el_hash64(const void *data, size_t n, uint64_t seed); /* fast non-crypto hash */

/* ---- UTF-8 ------------------------------------------------------------------------------- */
/* Returns the byte offset of the first invalid UTF-8 sequence, or -1 if s[0..n) is valid. */
int64_t el_utf8_invalid_at(const char *s, size_t n);

/* ---- time -------------------------------------------------------------------------------- */
double el_now(void);                   /* monotonic seconds */
void el_iso_time(char out[32]);        /* current UTC time, 2026-11-28T14:11:31Z */
void el_format_duration(double s, char out[32]); /* 1h02m, 3m05s, 12.3s */

/* ---- terminal progress ------------------------------------------------------------------- */
/* On a terminal: one line redrawn at most 10 times a second with a bar, count, rate, ETA and
 * a caller-supplied suffix. Otherwise: a plain log line at most every `log_every` seconds and
 * at the end. EMOLAB_PROGRESS=0 silences it, =1 forces the bar. */
typedef struct {
    char label[64];
    char unit[16];
    int64_t total, done;
    double t0, last_draw, log_every;
    bool tty, quiet, drawn;
    FILE *out;
} el_progress;
void el_progress_begin(el_progress *p, const char *label, int64_t total, const char *unit);
void el_progress_update(el_progress *p, int64_t done, const char *suffix);
void el_progress_end(el_progress *p, const char *suffix);

/* ---- misc -------------------------------------------------------------------------------- */
bool el_streq(const char *a, const char *b); /* NULL-safe */
bool el_starts_with(const char *s, const char *prefix);
int el_parse_i64(const char *s, int64_t *out);   /* whole string, base 10 */
int el_parse_double(const char *s, double *out); /* whole string, finite */
const char *el_hostname(void);
const char *el_env(const char *name, const char *fallback); /* getenv with fallback for "" too */
/* who is running: $USER, else the account name of the process (e.g. in cron or a container), else "" */
const char *el_user_name(void);

#endif /* EL_UTIL_H */
