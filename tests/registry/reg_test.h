/* reg_test.h: small helpers shared by the registry tests (checks, temp dirs, raw SQLite queries
 * made independently of registry.c). Header-only; each test includes it once. */
#ifndef EL_REG_TEST_H
#define EL_REG_TEST_H

#define _GNU_SOURCE
#include "registry.h"
#include "util.h"

#include <dirent.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int g_fail;
#define CHECK(cond, ...)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);      \
            fprintf(stderr, __VA_ARGS__);                                                 \
            fputc('\n', stderr);                                                          \
            g_fail++;                                                                     \
        }                                                                                 \
    } while (0)
#define REQUIRE(cond, ...)                                                                \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                                 \
            fputc('\n', stderr);                                                          \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

static inline int test_done(const char *name) {
    if (g_fail) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, g_fail);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

/* A fresh directory under $TMPDIR (or /tmp); removed by tmp_cleanup unless EMOLAB_KEEP_TMP=1. */
static char g_tmp[512];
static inline const char *tmp_dir(const char *name) {
    snprintf(g_tmp, sizeof g_tmp, "%s/emolab-%s-XXXXXX", el_env("TMPDIR", "/tmp"), name);
    REQUIRE(mkdtemp(g_tmp) != NULL, "mkdtemp %s", g_tmp);
    return g_tmp;
}
static inline void tmp_cleanup(void) {
    if (!g_tmp[0] || el_streq(getenv("EMOLAB_KEEP_TMP"), "1")) return;
    char *cmd = el_printf("rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
    free(cmd);
}
static inline char *tpath(const char *file) { return el_path_join(g_tmp, file); }

/* sha256 of a file's bytes ("" when missing). */
static inline void file_hash(const char *path, char hex[65]) {
    if (el_sha256_file(path, hex) != 0) hex[0] = 0;
}

/* Names in a directory, sorted, joined by spaces. */
static inline int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static inline char *dir_listing(const char *dir) {
    DIR *d = opendir(dir);
    char *names[256];
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < 256)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names[n++] = xstrdup(e->d_name);
    if (d) closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_str);
    el_buf b = {0};
    for (int i = 0; i < n; i++) {
        el_buf_printf(&b, "%s%s", i ? " " : "", names[i]);
        free(names[i]);
    }
    return el_buf_take(&b);
}

/* Raw SQLite (not through registry.c): open read-only, query one value, dump rows. */
static inline sqlite3 *raw_open(const char *path, bool rw) {
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, rw ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY, NULL);
    REQUIRE(rc == SQLITE_OK, "open %s: %s", path, sqlite3_errstr(rc));
    sqlite3_busy_timeout(db, 30000);
    return db;
}
static inline int raw_exec(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK && !getenv("QUIET_SQL")) fprintf(stderr, "  (sql: %s)\n", msg ? msg : "");
    sqlite3_free(msg);
    return rc;
}
/* First column of the first row as text (malloc'd; "(null)" for NULL, "(none)" for no row,
 * "(error: ...)" on error). printf-style SQL. */
static inline char *raw_text(sqlite3 *db, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *sql = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    sqlite3_stmt *st;
    char *out;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        out = el_printf("(error: %s)", sqlite3_errmsg(db));
    } else {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            out = xstrdup(sqlite3_column_type(st, 0) == SQLITE_NULL ? "(null)" : (const char *)sqlite3_column_text(st, 0));
        else if (rc == SQLITE_DONE) out = xstrdup("(none)");
        else out = el_printf("(error: %s)", sqlite3_errmsg(db));
        sqlite3_finalize(st);
    }
    sqlite3_free(sql);
    return out;
}
static inline int64_t raw_int(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st;
    int64_t v = -999999;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    } else {
        fprintf(stderr, "  (sql: %s)\n", sqlite3_errmsg(db));
    }
    return v;
}
/* Every row of a query, as text lines "a|b|c\n" (floats with %.17g). */
static inline char *raw_rows(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st;
    el_buf b = {0};
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        el_buf_printf(&b, "(error: %s)", sqlite3_errmsg(db));
        return el_buf_take(&b);
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            if (i) el_buf_putc(&b, '|');
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_NULL: el_buf_puts(&b, "NULL"); break;
            case SQLITE_FLOAT: el_buf_printf(&b, "%.17g", sqlite3_column_double(st, i)); break;
            default: el_buf_puts(&b, (const char *)sqlite3_column_text(st, i)); break;
            }
        }
        el_buf_putc(&b, '\n');
    }
    if (rc != SQLITE_DONE) el_buf_printf(&b, "(error: %s)", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return el_buf_take(&b);
}

/* Everything recorded about one run, from every table, as text (for before/after comparisons). */
static inline char *run_snapshot(sqlite3 *db, const char *uuid) {
    static const char *tables[] = {"runs", "params", "data", "data_sources", "metrics", "class_metrics",
                                   "thresholds", "epochs", "threshold_curve", "artifacts"};
    el_buf b = {0};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char *sql = sqlite3_mprintf("SELECT * FROM %s WHERE %s = %Q ORDER BY 1, 2, 3", tables[i],
                                    i == 0 ? "uuid" : "run", uuid);
        char *rows = raw_rows(db, sql);
        el_buf_printf(&b, "[%s]\n%s", tables[i], rows);
        free(rows);
        sqlite3_free(sql);
    }
    return el_buf_take(&b);
}

/* A small, complete result for a run (7 labels, val and test, thresholds, a curve). */
typedef struct {
    el_metrics val, test;
    el_split_metrics sm[2];
    float thr[7], cx[9], cy[9];
    el_run_result res;
} test_result;

static const char *const LABELS7[] = {"anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"};

static inline void make_result(test_result *t, int variant) {
    uint8_t yt[6 * 7], yp[6 * 7];
    for (int i = 0; i < 6 * 7; i++) {
        yt[i] = (uint8_t)(((i * 7 + variant) % 5) < 2);
        yp[i] = (uint8_t)(((i * 3 + variant) % 4) == 0);
    }
    el_metrics_compute(yt, yp, 6, 7, &t->val);
    el_metrics_compute(yp, yt, 6, 7, &t->test);
    t->sm[0] = (el_split_metrics){"val", &t->val};
    t->sm[1] = (el_split_metrics){"test", &t->test};
    for (int j = 0; j < 7; j++) t->thr[j] = (float)((5 * (j + 1) + variant) / 100.0);
    for (int i = 0; i < 9; i++) {
        t->cx[i] = 0.1f * (float)(i + 1);
        t->cy[i] = 0.5f + 0.01f * (float)i;
    }
    t->res = (el_run_result){.status = "finished", .best_epoch = 2, .epochs_run = 3, .thresholds = t->thr,
                             .n_labels = 7, .label_names = LABELS7, .metrics = t->sm, .n_metrics = 2,
                             .thr_curve_x = t->cx, .thr_curve_val_f1 = t->cy, .n_thr_curve = 9,
                             .train_seconds = 12.5 + variant};
}

static inline el_run_info make_info(const char *name, const char *hash) {
    static const char *keys[] = {"backbone.type", "head.dropout", "head.layers", "train.lr"};
    static const char *vals[] = {"\"bow\"", "0.85", "[768]", "0.002"};
    return (el_run_info){.name = name, .owner = "marina", .kind = "single", .sweep_id = NULL,
                         .git_commit = "0123abcd", .run_dir = "experiments/x", .spec_file = "configs/bow.yaml",
                         .config_json = "{\"backbone\":{\"type\":\"bow\"},\"head\":{\"dropout\":0.85}}",
                         .config_hash = hash, .seed = 42, .data_variant = "orig", .param_keys = keys,
                         .param_values = vals, .n_params = 4};
}

#endif /* EL_REG_TEST_H */
