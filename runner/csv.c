/* csv.c: see csv.h. A byte-at-a-time state machine over a refillable window (a 64 KiB read
 * buffer for files, the whole buffer for memory input). */
#include "csv.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSV_CHUNK (64 * 1024)

struct el_csv {
    el_csv_params p;
    char *name;
    FILE *f;                   /* NULL for memory input */
    const unsigned char *mem;  /* memory input */
    size_t mem_len;
    unsigned char *chunk;      /* file read buffer */
    const unsigned char *cur, *end;
    bool eof, read_error, failed, done;
    el_sha256 *h;              /* running hash of file bytes read so far */
    bool hashed;
    char hex[65];
    int64_t line;              /* line of the next unread byte, 1-based */
    int64_t rec_line;          /* line where the current record starts */
    int64_t row;               /* data rows returned so far (= current row) */
    /* the current record: fields stored back to back, each NUL-terminated */
    char *rec;
    size_t rec_len, rec_cap;
    size_t *starts, *lens;
    int32_t n_fields, fields_cap;
    /* header */
    char **cols;
    int32_t n_cols;
};

el_csv_params el_csv_default_params(void) {
    el_csv_params p;
    p.max_field = (size_t)1 << 20;
    p.max_record = (size_t)4 << 20;
    p.max_fields = 4096;
    p.delimiter = ',';
    p.header = true;
    p.hash = true;
    return p;
}

/* ---- input ------------------------------------------------------------------------------- */
static bool refill(el_csv *c) {
    if (!c->f || c->eof) return false;
    size_t n = fread(c->chunk, 1, CSV_CHUNK, c->f);
    if (n == 0) {
        c->eof = true;
        if (ferror(c->f)) c->read_error = true;
        return false;
    }
    if (c->h) el_sha256_update(c->h, c->chunk, n);
    c->cur = c->chunk;
    c->end = c->chunk + n;
    return true;
}

static inline int rd(el_csv *c) {
    if (c->cur < c->end || refill(c)) return *c->cur++;
    return -1;
}

static inline int peek(el_csv *c) {
    if (c->cur < c->end || refill(c)) return *c->cur;
    return -1;
}

/* ---- errors ------------------------------------------------------------------------------ */
static int fail(el_csv *c) {
    c->failed = true;
    return -1;
}

static int read_error(el_csv *c) {
    el_err("%s:%lld: read error: %s", c->name, (long long)c->line, strerror(errno ? errno : EIO));
    return fail(c);
}

/* "field 3" or "field 3 (labels)" */
static void field_desc(const el_csv *c, int32_t i, char *out, size_t n) {
    if (i < c->n_cols)
        snprintf(out, n, "field %d (%s)", (int)i + 1, c->cols[i]);
    else
        snprintf(out, n, "field %d", (int)i + 1);
}

/* ---- record buffer ----------------------------------------------------------------------- */
static int rec_reserve(el_csv *c, size_t extra) {
    if (c->rec_len + extra + 1 <= c->rec_cap) return 0;
    size_t cap = c->rec_cap ? c->rec_cap : 256;
    while (cap < c->rec_len + extra + 1) cap *= 2;
    c->rec = xrealloc(c->rec, cap);
    c->rec_cap = cap;
    return 0;
}

static int field_begin(el_csv *c) {
    if (c->n_fields >= c->p.max_fields) {
        el_err("%s:%lld: record has more than %d fields (the limit); check the delimiter", c->name,
               (long long)c->rec_line, (int)c->p.max_fields);
        return fail(c);
    }
    if (c->n_fields >= c->fields_cap) {
        c->fields_cap = c->fields_cap ? c->fields_cap * 2 : 16;
        c->starts = xrealloc(c->starts, sizeof(size_t) * (size_t)c->fields_cap);
        c->lens = xrealloc(c->lens, sizeof(size_t) * (size_t)c->fields_cap);
    }
    c->starts[c->n_fields] = c->rec_len;
    c->lens[c->n_fields] = 0;
    c->n_fields++;
    return 0;
}

static int too_long(el_csv *c, bool field) {
    char fd[128];
    field_desc(c, c->n_fields - 1, fd, sizeof fd);
    if (field)
        el_err("%s:%lld: %s is longer than %zu bytes, refused (the limit for one field); "
               "if the file is right, raise the limit, otherwise look for an unbalanced quote",
               c->name, (long long)c->rec_line, fd, c->p.max_field);
    else
        el_err("%s:%lld: record is longer than %zu bytes, refused (the limit for one record); "
               "if the file is right, raise the limit, otherwise look for an unbalanced quote",
               c->name, (long long)c->rec_line, c->p.max_record);
    return fail(c);
}

static inline int put(el_csv *c, int ch) {
    size_t *fl = &c->lens[c->n_fields - 1];
    if (*fl + 1 > c->p.max_field) return too_long(c, true);
    if (c->rec_len + 1 > c->p.max_record) return too_long(c, false);
    if (c->rec_len + 2 > c->rec_cap) rec_reserve(c, 1);
    c->rec[c->rec_len++] = (char)ch;
    (*fl)++;
    return 0;
}

static void field_end(el_csv *c) {
    rec_reserve(c, 1);
    c->rec[c->rec_len++] = 0;
}

/* Consumes the rest of a line break whose first byte `ch` was already read. */
static void eat_newline(el_csv *c, int ch) {
    if (ch == '\r' && peek(c) == '\n') rd(c);
    c->line++;
}

/* Parses one record into c->rec. Returns 1 = record, 0 = end of input, -1 = error. */
static int parse_record(el_csv *c) {
    const int delim = (unsigned char)c->p.delimiter;
    int ch;
    /* skip blank lines */
    for (;;) {
        c->rec_len = 0;
        c->n_fields = 0;
        c->rec_line = c->line;
        ch = rd(c);
        if (ch == -1) {
            if (c->read_error) return read_error(c);
            c->done = true;
            return 0;
        }
        if (ch == '\n' || ch == '\r') {
            eat_newline(c, ch);
            continue;
        }
        break;
    }
    for (;;) {
        if (field_begin(c)) return -1;
        if (ch == '"') {
            int64_t open_line = c->line;
            for (;;) {
                ch = rd(c);
                if (ch == -1) {
                    if (c->read_error) return read_error(c);
                    char fd[128];
                    field_desc(c, c->n_fields - 1, fd, sizeof fd);
                    el_err("%s:%lld: unterminated quoted field: the quote that opens %s on line "
                           "%lld is never closed (a quote inside a quoted field must be doubled)",
                           c->name, (long long)open_line, fd, (long long)open_line);
                    return fail(c);
                }
                if (ch == '"') {
                    if (peek(c) == '"') {
                        rd(c);
                        if (put(c, '"')) return -1;
                        continue;
                    }
                    break;
                }
                if (ch == '\n' || (ch == '\r' && peek(c) != '\n')) c->line++;
                if (put(c, ch)) return -1;
            }
            field_end(c);
            ch = rd(c);
            if (ch == delim) {
                ch = rd(c);
                continue;
            }
            if (ch == '\n' || ch == '\r') {
                eat_newline(c, ch);
                return 1;
            }
            if (ch == -1) {
                if (c->read_error) return read_error(c);
                return 1;
            }
            char fd[128];
            field_desc(c, c->n_fields - 1, fd, sizeof fd);
            el_err("%s:%lld: %s: unexpected character '%c' after the closing quote (a quote "
                   "inside a quoted field must be doubled: \"\")",
                   c->name, (long long)c->line, fd, ch >= 32 && ch < 127 ? ch : '?');
            return fail(c);
        }
        /* unquoted: up to the delimiter or the end of the line; quotes are plain characters */
        while (ch != delim && ch != '\n' && ch != '\r' && ch != -1) {
            if (put(c, ch)) return -1;
            ch = rd(c);
        }
        field_end(c);
        if (ch == delim) {
            ch = rd(c);
            continue;
        }
        if (ch == -1) {
            if (c->read_error) return read_error(c);
            return 1;
        }
        eat_newline(c, ch);
        return 1;
    }
}

/* ---- open / close ------------------------------------------------------------------------ */
static el_csv *csv_new(const char *name, el_csv_params p) {
    el_csv *c = xcalloc(1, sizeof *c);
    c->p = p;
    if (c->p.max_field == 0) c->p.max_field = (size_t)1 << 20;
    if (c->p.max_record == 0) c->p.max_record = (size_t)4 << 20;
    if (c->p.max_fields <= 0) c->p.max_fields = 4096;
    if (c->p.delimiter == 0) c->p.delimiter = ',';
    c->name = xstrdup(name ? name : "<buffer>");
    c->line = 1;
    return c;
}

static el_csv *csv_start(el_csv *c) {
    /* UTF-8 byte order mark */
    if (c->end - c->cur >= 3 && c->cur[0] == 0xEF && c->cur[1] == 0xBB && c->cur[2] == 0xBF)
        c->cur += 3;
    if (!c->p.header) return c;
    int r = parse_record(c);
    if (r < 0) {
        el_csv_close(c);
        return NULL;
    }
    if (r == 0) {
        el_err("%s:1: empty file, expected a header row naming the columns", c->name);
        el_csv_close(c);
        return NULL;
    }
    c->n_cols = c->n_fields;
    c->cols = xcalloc((size_t)c->n_cols, sizeof(char *));
    for (int32_t i = 0; i < c->n_cols; i++) c->cols[i] = xstrdup(c->rec + c->starts[i]);
    for (int32_t i = 0; i < c->n_cols; i++)
        for (int32_t j = 0; j < i; j++)
            if (strcmp(c->cols[i], c->cols[j]) == 0) {
                el_err("%s:%lld: header: column name '%s' appears twice (columns %d and %d); "
                       "columns are read by name, so names must be unique",
                       c->name, (long long)c->rec_line, c->cols[i], (int)j + 1, (int)i + 1);
                el_csv_close(c);
                return NULL;
            }
    return c;
}

el_csv *el_csv_open(const char *path, el_csv_params p) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        el_err("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    el_csv *c = csv_new(path, p);
    c->f = f;
    c->chunk = xmalloc(CSV_CHUNK);
    if (c->p.hash) c->h = el_sha256_new();
    c->cur = c->end = c->chunk;
    refill(c);
    if (c->read_error) {
        read_error(c);
        el_csv_close(c);
        return NULL;
    }
    return csv_start(c);
}

el_csv *el_csv_open_mem(const char *buf, size_t len, const char *name, el_csv_params p) {
    el_csv *c = csv_new(name, p);
    c->mem = (const unsigned char *)(buf ? buf : "");
    c->mem_len = buf ? len : 0;
    c->cur = c->mem;
    c->end = c->mem + c->mem_len;
    c->eof = true;
    return csv_start(c);
}

void el_csv_close(el_csv *c) {
    if (!c) return;
    if (c->f) fclose(c->f);
    if (c->h) {
        char hex[65];
        el_sha256_final(c->h, hex);
    }
    for (int32_t i = 0; i < c->n_cols; i++) free(c->cols[i]);
    free(c->cols);
    free(c->chunk);
    free(c->rec);
    free(c->starts);
    free(c->lens);
    free(c->name);
    free(c);
}

/* ---- records ----------------------------------------------------------------------------- */
int el_csv_next(el_csv *c) {
    if (c->failed) return -1;
    if (c->done) return 0;
    int r = parse_record(c);
    if (r <= 0) {
        c->n_fields = 0;
        return r;
    }
    if (c->p.header && c->n_fields != c->n_cols) {
        el_err("%s:%lld: row %lld has %d fields but the header has %d (%s); check for an unquoted "
               "delimiter or quote",
               c->name, (long long)c->rec_line, (long long)c->row + 1, (int)c->n_fields,
               (int)c->n_cols, c->n_fields < c->n_cols ? "fields missing" : "extra fields");
        c->n_fields = 0;
        return fail(c);
    }
    c->row++;
    return 1;
}

int32_t el_csv_n_columns(const el_csv *c) { return c->n_cols; }

const char *el_csv_column_name(const el_csv *c, int32_t i) {
    return i >= 0 && i < c->n_cols ? c->cols[i] : NULL;
}

int32_t el_csv_column(const el_csv *c, const char *name) {
    if (!name) return -1;
    for (int32_t i = 0; i < c->n_cols; i++)
        if (strcmp(c->cols[i], name) == 0) return i;
    return -1;
}

char *el_csv_columns_list(const el_csv *c) {
    el_buf b = {0};
    for (int32_t i = 0; i < c->n_cols; i++) el_buf_printf(&b, "%s%s", i ? ", " : "", c->cols[i]);
    return el_buf_take(&b);
}

int32_t el_csv_n_fields(const el_csv *c) { return c->n_fields; }

const char *el_csv_field(const el_csv *c, int32_t i, size_t *len) {
    if (i < 0 || i >= c->n_fields) return NULL;
    if (len) *len = c->lens[i];
    return c->rec + c->starts[i];
}

int64_t el_csv_line(const el_csv *c) { return c->rec_line; }
int64_t el_csv_row(const el_csv *c) { return c->row; }
const char *el_csv_name(const el_csv *c) { return c->name; }

int el_csv_sha256(el_csv *c, char hex[65]) {
    if (c->hashed) {
        memcpy(hex, c->hex, 65);
        return 0;
    }
    if (c->mem) {
        el_sha256_hex(c->mem, c->mem_len, c->hex);
    } else {
        if (!c->h) return el_err("%s: hashing was not enabled for this reader", c->name);
        c->cur = c->end;
        while (refill(c)) c->cur = c->end;
        if (c->read_error) return read_error(c);
        c->done = true;
        c->n_fields = 0;
        el_sha256_final(c->h, c->hex);
        c->h = NULL;
    }
    c->hashed = true;
    memcpy(hex, c->hex, 65);
    return 0;
}
