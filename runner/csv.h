/* csv.h: a streaming RFC 4180 CSV reader.
 *
 * - quoted fields, doubled quotes ("" -> "), line breaks inside quotes, CRLF / LF / lone CR,
 *   a UTF-8 byte order mark, an optional header row, columns looked up by name;
 * - streaming: memory is bounded by the longest record (at most params.max_record bytes), never
 *   by the file; a field or record over its limit is refused with its line number before it is
 *   read into memory; an unterminated quote is reported with the line where the field started;
 * - reads a file or a memory buffer (el_csv_open_mem, for tests and fuzzing);
 * - hashes the bytes it reads (SHA-256), so a file is read once for parsing and fingerprinting.
 *
 * Errors go through el_err() and name the source and the line: "data/x.csv:12: ...".
 *
 * Lenient where the input is unambiguous: a quote inside an unquoted field is kept as a
 * character (5" screen); blank lines between records are skipped. Strict where it is not:
 * text after a closing quote ("ab"c) and a record whose field count differs from the header
 * are errors.
 *
 *     el_csv *c = el_csv_open("x.csv", el_csv_default_params());
 *     int32_t t = el_csv_column(c, "text");
 *     int r;
 *     while ((r = el_csv_next(c)) == 1) use(el_csv_field(c, t, NULL));
 *     if (r < 0) fail(el_last_error());
 *     el_csv_close(c);
 */
#ifndef EL_CSV_H
#define EL_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t max_field;   /* longest field in bytes (default 1 MiB) */
    size_t max_record;  /* longest record in bytes, all fields together (default 4 MiB) */
    int32_t max_fields; /* most fields per record (default 4096) */
    char delimiter;     /* default ',' */
    bool header;        /* the first record names the columns (default true) */
    bool hash;          /* SHA-256 the bytes read (default true; see el_csv_sha256) */
} el_csv_params;

el_csv_params el_csv_default_params(void);

typedef struct el_csv el_csv;

/* Opens a file and reads the header row (when params.header). NULL + el_err() on failure:
 * "PATH: cannot open: No such file or directory", "PATH:1: empty file, expected a header row". */
el_csv *el_csv_open(const char *path, el_csv_params params);
/* Same over a memory buffer (not copied: it must outlive the reader). `name` is used in errors. */
el_csv *el_csv_open_mem(const char *buf, size_t len, const char *name, el_csv_params params);
void el_csv_close(el_csv *c);

/* Reads the next record: 1 = a record, 0 = end of input, -1 = error (el_last_error()). After
 * an error every further call returns -1. */
int el_csv_next(el_csv *c);

/* Columns of the header (0 when params.header is false). */
int32_t el_csv_n_columns(const el_csv *c);
const char *el_csv_column_name(const el_csv *c, int32_t i);
/* Index of the column with this exact name, or -1. */
int32_t el_csv_column(const el_csv *c, const char *name);
/* "a, b, c": the header's column names, for error messages. malloc'd. */
char *el_csv_columns_list(const el_csv *c);

/* The current record: its fields (NUL-terminated; *len gets the byte length, which counts any
 * embedded NUL bytes). i out of range -> NULL. Valid until the next el_csv_next(). */
int32_t el_csv_n_fields(const el_csv *c);
const char *el_csv_field(const el_csv *c, int32_t i, size_t *len);
/* 1-based line where the current record starts, and 1-based data row (the header is row 0). */
int64_t el_csv_line(const el_csv *c);
int64_t el_csv_row(const el_csv *c);
const char *el_csv_name(const el_csv *c);

/* SHA-256 of the whole input. Reads (without parsing) whatever was not read yet, so it can be
 * called after stopping early; the reader is at end of input afterwards. -1 on a read error or
 * when params.hash was false. */
int el_csv_sha256(el_csv *c, char hex[65]);

#endif /* EL_CSV_H */
