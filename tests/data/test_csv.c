/* test_csv: the CSV reader on small buffers and files written here. Expected values are
 * written out by hand from RFC 4180 (and, for file vs buffer, the two entry points must agree). */
#define _GNU_SOURCE
#include "check.h"
#include "csv.h"
#include "util.h"

#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

static char g_dir[256];

static char *tmp_write(const char *name, const char *data, size_t len) {
    char *path = el_printf("%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fwrite(data, 1, len, f);
    fclose(f);
    return path;
}

static el_csv *mem(const char *s) {
    el_csv *c = el_csv_open_mem(s, strlen(s), "buf.csv", el_csv_default_params());
    if (!c) fprintf(stderr, "open failed: %s\n", el_last_error());
    return c;
}

/* field i of the current record, or "(none)" */
static const char *F(el_csv *c, int32_t i) {
    const char *v = el_csv_field(c, i, NULL);
    return v ? v : "(none)";
}

static void test_basic(void) {
    el_csv *c = mem("text,label,id\nhello,1,a\n\"world, \"\"quoted\"\"\",0,b\n");
    CHECK(c != NULL);
    if (!c) return;
    CHECK_I(el_csv_n_columns(c), 3);
    CHECK_I(el_csv_column(c, "label"), 1);
    CHECK_I(el_csv_column(c, "id"), 2);
    CHECK_I(el_csv_column(c, "nope"), -1); /* missing column */
    CHECK_I(el_csv_column(c, "Text"), -1); /* names are exact */
    CHECK_I(el_csv_next(c), 1);
    CHECK_S(F(c, 0), "hello");
    CHECK_I(el_csv_row(c), 1);
    CHECK_I(el_csv_line(c), 2);
    CHECK_I(el_csv_next(c), 1);
    CHECK_S(F(c, 0), "world, \"quoted\"");
    CHECK_S(F(c, 2), "b");
    CHECK_I(el_csv_row(c), 2);
    CHECK_I(el_csv_next(c), 0);
    CHECK_I(el_csv_next(c), 0);
    char *cols = el_csv_columns_list(c);
    CHECK_S(cols, "text, label, id");
    free(cols);
    el_csv_close(c);
}

static void test_embedded_newlines_and_line_numbers(void) {
    /* record 1 spans lines 2-4 (LF and CRLF inside quotes), record 2 is on line 5 */
    el_csv *c = mem("a,b\n\"one\ntwo\r\nthree\",x\nfour,y\n");
    CHECK(c != NULL);
    if (!c) return;
    CHECK_I(el_csv_next(c), 1);
    CHECK_S(F(c, 0), "one\ntwo\r\nthree");
    CHECK_I(el_csv_line(c), 2);
    CHECK_I(el_csv_next(c), 1);
    CHECK_S(F(c, 0), "four");
    CHECK_S(F(c, 1), "y");
    CHECK_I(el_csv_line(c), 5);
    CHECK_I(el_csv_row(c), 2);
    CHECK_I(el_csv_next(c), 0);
    el_csv_close(c);
}

static void test_crlf_bom_blank_lines(void) {
    /* BOM + CRLF + a blank line + last record without a line break */
    el_csv *c = mem("\xEF\xBB\xBFtext,n\r\nab,1\r\n\r\n\"c\"\"d\",2\r\nlast,3");
    CHECK(c != NULL);
    if (!c) return;
    CHECK_S(el_csv_column_name(c, 0), "text"); /* BOM not part of the first name */
    CHECK_I(el_csv_column(c, "text"), 0);
    CHECK_I(el_csv_next(c), 1);
    CHECK_S(F(c, 0), "ab");
    CHECK_S(F(c, 1), "1"); /* no trailing \r */
    CHECK_I(el_csv_next(c), 1);
    CHECK_S(F(c, 0), "c\"d");
    CHECK_I(el_csv_line(c), 4);
    CHECK_I(el_csv_row(c), 2);
    CHECK_I(el_csv_next(c), 1);
    CHECK_S(F(c, 0), "last");
    CHECK_S(F(c, 1), "3");
    CHECK_I(el_csv_line(c), 5);
    CHECK_I(el_csv_next(c), 0);
    el_csv_close(c);

    /* lone CR line ends (old Mac) */
    c = mem("a,b\r1,2\r3,4\r");
    CHECK(c != NULL);
    if (!c) return;
    CHECK_I(el_csv_next(c), 1);
    CHECK_S(F(c, 1), "2");
    CHECK_I(el_csv_next(c), 1);
    CHECK_S(F(c, 0), "3");
    CHECK_I(el_csv_line(c), 3);
    CHECK_I(el_csv_next(c), 0);
    el_csv_close(c);
}

static void test_empty_fields(void) {
    el_csv *c = mem("a,b,c\n,,\n\"\",x,\n1,\"\",\"\"\n");
    CHECK(c != NULL);
    if (!c) return;
    CHECK_I(el_csv_next(c), 1);
    CHECK_I(el_csv_n_fields(c), 3);
    size_t n = 99;
    CHECK_S(el_csv_field(c, 2, &n), "");
    CHECK_I(n, 0);
    CHECK_I(el_csv_next(c), 1);
    CHECK_S(F(c, 0), "");
    CHECK_S(F(c, 1), "x");
    CHECK_S(F(c, 2), "");
    CHECK_I(el_csv_next(c), 1);
    CHECK_S(F(c, 1), "");
    CHECK_I(el_csv_n_fields(c), 3);
    CHECK(el_csv_field(c, 3, NULL) == NULL);
    CHECK(el_csv_field(c, -1, NULL) == NULL);
    CHECK_I(el_csv_next(c), 0);
    el_csv_close(c);

    /* a quote inside an unquoted field is a plain character */
    c = mem("t\n5\" screen\n");
    CHECK(c != NULL);
    if (!c) return;
    CHECK_I(el_csv_next(c), 1);
    CHECK_S(F(c, 0), "5\" screen");
    el_csv_close(c);

    /* header only: no records */
    c = mem("a,b\n");
    CHECK(c != NULL);
    if (c) {
        CHECK_I(el_csv_next(c), 0);
        el_csv_close(c);
    }

    /* embedded NUL bytes are kept and counted in the length */
    static const char nul[] = "a\n\"x\0y\"\n";
    c = el_csv_open_mem(nul, sizeof nul - 1, "nul.csv", el_csv_default_params());
    CHECK(c != NULL);
    if (c) {
        CHECK_I(el_csv_next(c), 1);
        el_csv_field(c, 0, &n);
        CHECK_I(n, 3);
        el_csv_close(c);
    }
}

static void test_errors(void) {
    /* unterminated quote: reported at the line where the field started (3), not at EOF (6) */
    el_csv *c = mem("a,b\n1,2\n3,\"open\nmore\nlines\nend\n");
    CHECK(c != NULL);
    if (c) {
        CHECK_I(el_csv_next(c), 1);
        CHECK_I(el_csv_next(c), -1);
        CHECK_HAS(el_last_error(), "buf.csv:3:");
        CHECK_HAS(el_last_error(), "unterminated quoted field");
        CHECK_HAS(el_last_error(), "field 2 (b)");
        CHECK_I(el_csv_next(c), -1); /* stays failed */
        el_csv_close(c);
    }

    /* field count differs from the header */
    c = mem("a,b,c\n1,2,3\n4,5\n");
    CHECK(c != NULL);
    if (c) {
        CHECK_I(el_csv_next(c), 1);
        CHECK_I(el_csv_next(c), -1);
        CHECK_HAS(el_last_error(), "buf.csv:3: row 2 has 2 fields but the header has 3");
        el_csv_close(c);
    }

    /* text after a closing quote */
    c = mem("a,b\n\"x\"y,1\n");
    CHECK(c != NULL);
    if (c) {
        CHECK_I(el_csv_next(c), -1);
        CHECK_HAS(el_last_error(), "buf.csv:2:");
        CHECK_HAS(el_last_error(), "after the closing quote");
        el_csv_close(c);
    }

    /* empty input: no header */
    c = mem("");
    CHECK(c == NULL);
    CHECK_HAS(el_last_error(), "buf.csv:1: empty file");

    /* duplicate column names */
    c = mem("text,x,text\n1,2,3\n");
    CHECK(c == NULL);
    CHECK_HAS(el_last_error(), "column name 'text' appears twice");

    /* an unterminated quote in the header */
    c = mem("\"text,x\n");
    CHECK(c == NULL);
    CHECK_HAS(el_last_error(), "buf.csv:1: unterminated");

    /* missing file */
    c = el_csv_open("/nonexistent/dir/x.csv", el_csv_default_params());
    CHECK(c == NULL);
    CHECK_HAS(el_last_error(), "/nonexistent/dir/x.csv: cannot open");
}

static void test_limits(void) {
    el_csv_params p = el_csv_default_params();
    p.max_field = 100;
    p.max_record = 250;
    char big[400];
    memset(big, 'x', sizeof big);
    el_buf b = {0};
    el_buf_puts(&b, "a,b,c\n1,2,3\n\"q\nq\",5,6\n7,");
    el_buf_append(&b, big, 150); /* a 150-byte field on line 5 */
    el_buf_puts(&b, ",9\n");
    el_csv *c = el_csv_open_mem(b.s, b.len, "lim.csv", p);
    CHECK(c != NULL);
    if (c) {
        CHECK_I(el_csv_next(c), 1);
        CHECK_I(el_csv_next(c), 1);
        CHECK_I(el_csv_next(c), -1);
        CHECK_HAS(el_last_error(), "lim.csv:5: field 2 (b) is longer than 100 bytes, refused");
        el_csv_close(c);
    }
    el_buf_free(&b);

    /* a record over the record limit made of fields under the field limit */
    el_buf_puts(&b, "a,b,c\n");
    for (int i = 0; i < 3; i++) {
        el_buf_append(&b, big, 90);
        el_buf_putc(&b, i < 2 ? ',' : '\n');
    }
    c = el_csv_open_mem(b.s, b.len, "rec.csv", p);
    CHECK(c != NULL);
    if (c) {
        CHECK_I(el_csv_next(c), -1);
        CHECK_HAS(el_last_error(), "rec.csv:2: record is longer than 250 bytes");
        el_csv_close(c);
    }
    el_buf_free(&b);

    /* too many fields */
    p = el_csv_default_params();
    p.max_fields = 4;
    c = el_csv_open_mem("a,b,c,d,e\n", 10, "wide.csv", p);
    CHECK(c == NULL);
    CHECK_HAS(el_last_error(), "wide.csv:1: record has more than 4 fields");
}

/* A 64 MiB line in a file is refused with its line number, with default limits, without the
 * reader's memory growing anywhere near the line's size. */
static void test_huge_line_file(void) {
    const size_t huge = (size_t)64 << 20;
    char *path = el_printf("%s/huge.csv", g_dir);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    fputs("text,label\nshort,1\n\"", f);
    char *chunk = malloc(1 << 20);
    memset(chunk, 'z', 1 << 20);
    for (size_t i = 0; i < huge >> 20; i++) fwrite(chunk, 1, 1 << 20, f);
    free(chunk);
    fputs("\",0\n", f);
    fclose(f);

    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    el_csv *c = el_csv_open(path, el_csv_default_params());
    CHECK(c != NULL);
    if (c) {
        CHECK_I(el_csv_next(c), 1);
        CHECK_I(el_csv_next(c), -1);
        CHECK_HAS(el_last_error(), "huge.csv:3: field 1 (text) is longer than 1048576 bytes, refused");
        el_csv_close(c);
    }
    getrusage(RUSAGE_SELF, &r1);
    long grew_kib = r1.ru_maxrss - r0.ru_maxrss;
    printf("huge line: peak RSS grew by %ld KiB while refusing a %zu MiB line\n", grew_kib, huge >> 20);
    CHECK(grew_kib < 24 * 1024);
    unlink(path);
    free(path);
}

/* The file reader (64 KiB window) gives the same records as the buffer reader on input whose
 * quoted fields, doubled quotes and CRLFs straddle window boundaries; the SHA-256 is the file's. */
static void test_file_matches_buffer(void) {
    el_buf b = {0};
    el_buf_puts(&b, "\xEF\xBB\xBFid,text\r\n");
    for (int i = 0; i < 3000; i++) {
        el_buf_printf(&b, "%d,\"row %d says \"\"hi\"\"", i, i);
        for (int k = 0; k < i % 7; k++) el_buf_puts(&b, "\r\nmore text, with commas");
        el_buf_puts(&b, "\"\r\n");
    }
    CHECK(b.len > 3 * 65536);
    char *path = tmp_write("same.csv", b.s, b.len);
    el_csv *fc = el_csv_open(path, el_csv_default_params());
    el_csv *mc = el_csv_open_mem(b.s, b.len, "same.csv", el_csv_default_params());
    CHECK(fc && mc);
    if (fc && mc) {
        int64_t rows = 0, mismatches = 0, last_line = 0;
        int rf, rm;
        while ((rf = el_csv_next(fc)) == 1 && (rm = el_csv_next(mc)) == 1) {
            rows++;
            last_line = el_csv_line(fc);
            size_t nf, nm;
            const char *a = el_csv_field(fc, 1, &nf), *m = el_csv_field(mc, 1, &nm);
            if (nf != nm || memcmp(a, m, nf) || el_csv_line(fc) != el_csv_line(mc)) mismatches++;
            char want[64];
            snprintf(want, sizeof want, "%lld", (long long)rows - 1);
            if (strcmp(el_csv_field(fc, 0, NULL), want)) mismatches++;
        }
        CHECK_I(rf, 0);
        CHECK_I(rows, 3000);
        CHECK_I(mismatches, 0);
        /* record 3000 starts after 1 header line + sum over i<2999 of (1 + i%7) lines */
        int64_t line = 2;
        for (int i = 0; i < 2999; i++) line += 1 + i % 7;
        CHECK_I(last_line, line);
        char h1[65], h2[65], want[65];
        el_sha256_hex(b.s, b.len, want);
        CHECK(el_csv_sha256(fc, h1) == 0);
        CHECK(el_csv_sha256(mc, h2) == 0);
        CHECK_S(h1, want);
        CHECK_S(h2, want);
    }
    el_csv_close(fc);
    el_csv_close(mc);

    /* stopping early still hashes the whole file */
    fc = el_csv_open(path, el_csv_default_params());
    if (fc) {
        CHECK_I(el_csv_next(fc), 1);
        char h[65], want[65];
        el_sha256_hex(b.s, b.len, want);
        CHECK(el_csv_sha256(fc, h) == 0);
        CHECK_S(h, want);
        CHECK_I(el_csv_next(fc), 0);
        el_csv_close(fc);
    }
    unlink(path);
    free(path);
    el_buf_free(&b);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s/el_test_csv_XXXXXX", el_env("TMPDIR", "/tmp"));
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 2;
    }
    test_basic();
    test_embedded_newlines_and_line_numbers();
    test_crlf_bom_blank_lines();
    test_empty_fields();
    test_errors();
    test_limits();
    test_huge_line_file();
    test_file_matches_buffer();
    rmdir(g_dir);
    return check_done("test_csv");
}
