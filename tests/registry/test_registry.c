/* test_registry: the schema (applied, versioned, migrations == registry.db.sql), a run's full
 * lifecycle read back with the plain sqlite3 API, finality of finished runs, config-hash reuse,
 * bad arguments, and bad registry files (missing, foreign, newer, garbage, corrupt) refused with
 * the right message while the file stays byte-identical. */
#include "reg_test.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>

static const char *g_src; /* EMOLAB_SOURCE_DIR */

/* ---- schema structure, for comparing databases ------------------------------------------------ */
static char *norm_sql(const char *s) {
    el_buf b = {0};
    bool space = false;
    for (const char *p = s; p && *p; p++) {
        if (p[0] == '-' && p[1] == '-') { /* comment to end of line */
            while (*p && *p != '\n') p++;
            space = true;
            if (!*p) break;
            continue;
        }
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            space = true;
            continue;
        }
        bool tight = strchr("(),;", *p) != NULL;
        if (space && b.len && !tight && !strchr("(,", b.s[b.len - 1])) el_buf_putc(&b, ' ');
        space = false;
        el_buf_putc(&b, *p);
    }
    return el_buf_take(&b);
}

static char *schema_dump(sqlite3 *db) {
    el_buf b = {0};
    el_buf_printf(&b, "application_id %lld\n", (long long)raw_int(db, "PRAGMA application_id"));
    sqlite3_stmt *st;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE "
                                   "'sqlite_%' ORDER BY type, name", -1, &st, NULL) == SQLITE_OK, "dump");
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(st, 0), *name = (const char *)sqlite3_column_text(st, 1);
        char *sql = norm_sql((const char *)sqlite3_column_text(st, 3));
        el_buf_printf(&b, "%s %s on %s: %s\n", type, name, (const char *)sqlite3_column_text(st, 2), sql);
        free(sql);
        if (!strcmp(type, "table")) {
            const char *pragmas[] = {"SELECT * FROM pragma_table_xinfo(%Q)", "SELECT * FROM pragma_foreign_key_list(%Q)",
                                     "SELECT name, \"unique\", origin, partial FROM pragma_index_list(%Q) ORDER BY name",
                                     "SELECT type, ncol, wr, strict FROM pragma_table_list(%Q)"};
            for (size_t i = 0; i < sizeof pragmas / sizeof pragmas[0]; i++) {
                char *q = sqlite3_mprintf(pragmas[i], name);
                char *rows = raw_rows(db, q);
                el_buf_printf(&b, "  %s\n%s", pragmas[i], rows);
                free(rows);
                sqlite3_free(q);
            }
        } else if (!strcmp(type, "index")) {
            char *q = sqlite3_mprintf("SELECT * FROM pragma_index_xinfo(%Q)", name);
            char *rows = raw_rows(db, q);
            el_buf_printf(&b, "%s", rows);
            free(rows);
            sqlite3_free(q);
        }
    }
    sqlite3_finalize(st);
    return el_buf_take(&b);
}

static char *read_src(const char *rel) {
    char *p = el_path_join(g_src, rel), *data = NULL;
    size_t len;
    REQUIRE(el_read_file(p, &data, &len) == 0, "%s", el_last_error());
    free(p);
    return data;
}

/* A database built by executing SQL text directly (no registry.c). */
static char *dump_of_sql(const char *path, const char *sql, const char *extra) {
    unlink(path);
    sqlite3 *db = raw_open(path, true);
    REQUIRE(raw_exec(db, sql) == SQLITE_OK, "executing schema into %s", path);
    if (extra) REQUIRE(raw_exec(db, extra) == SQLITE_OK, "extra sql");
    char *d = schema_dump(db);
    sqlite3_close(db);
    return d;
}

static void first_diff(const char *a, const char *b) {
    size_t i = 0;
    while (a[i] && a[i] == b[i]) i++;
    size_t s = i > 200 ? i - 200 : 0;
    fprintf(stderr, "  first difference at byte %zu:\n  A: ...%.300s\n  B: ...%.300s\n", i, a + s, b + s);
}

static void test_schema(void) {
    char *path = tpath("schema.db");
    el_registry *r = el_registry_open(path, false);
    REQUIRE(r, "open: %s", el_last_error());
    CHECK(el_registry_schema_version(r) == el_registry_latest_version(), "version %d", el_registry_schema_version(r));
    CHECK(el_registry_latest_version() >= 1, "latest %d", el_registry_latest_version());
    CHECK(!strcmp(el_registry_path(r), path), "path");
    el_registry_close(r);

    sqlite3 *db = raw_open(path, false);
    char *mode = raw_text(db, "PRAGMA journal_mode");
    CHECK(!strcmp(mode, "wal"), "journal_mode %s", mode);
    free(mode);
    CHECK(raw_int(db, "SELECT max(version) FROM emolab_schema") == el_registry_latest_version(), "emolab_schema");
    CHECK(raw_int(db, "PRAGMA application_id") == 0x656d6f6c, "application_id");
    const char *tables[] = {"emolab_schema", "runs", "params", "data", "data_sources", "metrics", "class_metrics",
                            "thresholds", "epochs", "threshold_curve", "artifacts"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char *q = sqlite3_mprintf("SELECT count(*) FROM sqlite_master WHERE type='table' AND name=%Q", tables[i]);
        CHECK(raw_int(db, q) == 1, "table %s missing", tables[i]);
        sqlite3_free(q);
    }
    const char *indexes[] = {"runs_status", "runs_config_hash", "runs_sweep", "runs_created", "metrics_by_name"};
    for (size_t i = 0; i < sizeof indexes / sizeof indexes[0]; i++) {
        char *q = sqlite3_mprintf("SELECT count(*) FROM sqlite_master WHERE type='index' AND name=%Q", indexes[i]);
        CHECK(raw_int(db, q) == 1, "index %s missing", indexes[i]);
        sqlite3_free(q);
    }
    /* the plan for the leaderboard's lookups uses the indexes */
    char *plan = raw_rows(db, "EXPLAIN QUERY PLAN SELECT uuid FROM runs WHERE config_hash = 'x' AND status = 'finished'");
    CHECK(strstr(plan, "runs_config_hash"), "config-hash lookup plan: %s", plan);
    free(plan);
    plan = raw_rows(db, "EXPLAIN QUERY PLAN SELECT run, value FROM metrics WHERE name = 'weighted_f1' AND split = 'test' "
                        "ORDER BY value DESC");
    CHECK(strstr(plan, "metrics_by_name") && !strstr(plan, "TEMP B-TREE"), "leaderboard plan: %s", plan);
    free(plan);
    char *fresh = schema_dump(db);
    sqlite3_close(db);

    /* the embedded schema is registry.db.sql, byte for byte */
    char *file = read_src("registry.db.sql");
    CHECK(!strcmp(file, el_registry_schema_sql()), "embedded schema differs from registry.db.sql (stale build?)");

    /* registry.db.sql applied by hand == what el_registry_open created */
    char *p2 = tpath("byhand.db");
    char *byhand = dump_of_sql(p2, file, NULL);
    CHECK(!strcmp(fresh, byhand), "registry.db.sql by hand differs from el_registry_open's schema");
    if (strcmp(fresh, byhand)) first_diff(fresh, byhand);

    /* every frozen older schema, migrated by registry.c, == registry.db.sql */
    char *sdir = el_path_join(g_src, "tests/registry/schemas");
    int n_versions = 0;
    for (int v = 1; v <= el_registry_latest_version(); v++) {
        char rel[64];
        snprintf(rel, sizeof rel, "v%d.sql", v);
        char *vp = el_path_join(sdir, rel);
        if (!el_file_exists(vp)) {
            CHECK(false, "%s missing: freeze every released schema version", vp);
            free(vp);
            continue;
        }
        free(vp);
        char rel2[96];
        snprintf(rel2, sizeof rel2, "tests/registry/schemas/v%d.sql", v);
        char *old_sql = read_src(rel2);
        char *p3 = tpath("old.db");
        free(dump_of_sql(p3, old_sql, NULL));
        sqlite3 *odb = raw_open(p3, false);
        CHECK(raw_int(odb, "SELECT max(version) FROM emolab_schema") == v, "frozen v%d.sql says another version", v);
        sqlite3_close(odb);
        el_registry *rm = el_registry_open(p3, false); /* migrates */
        CHECK(rm != NULL, "migrating v%d: %s", v, el_last_error());
        if (rm) {
            CHECK(el_registry_schema_version(rm) == el_registry_latest_version(), "v%d migrated to %d", v,
                  el_registry_schema_version(rm));
            el_registry_close(rm);
            odb = raw_open(p3, false);
            char *migrated = schema_dump(odb);
            CHECK(raw_int(odb, "SELECT count(*) FROM emolab_schema") == el_registry_latest_version() - v + 1,
                  "emolab_schema rows after migrating v%d", v);
            sqlite3_close(odb);
            CHECK(!strcmp(migrated, fresh), "v%d + migrations differs from registry.db.sql", v);
            if (strcmp(migrated, fresh)) first_diff(migrated, fresh);
            free(migrated);
        }
        free(old_sql);
        unlink(p3);
        free(p3);
        n_versions++;
    }
    CHECK(n_versions == el_registry_latest_version(), "frozen schemas: %d", n_versions);
    /* and the comparison does see differences: an added column, a changed CHECK */
    char *other = dump_of_sql(p2, file, "ALTER TABLE runs ADD COLUMN extra TEXT");
    CHECK(strcmp(other, fresh) != 0, "schema comparison blind to an added column");
    free(other);
    char *changed = xstrdup(file);
    char *at = strstr(changed, "('single', 'ensemble')");
    REQUIRE(at, "CHECK text not found");
    memcpy(at, "('single', 'ENSEMBLE')", 22);
    other = dump_of_sql(p2, changed, NULL);
    CHECK(strcmp(other, fresh) != 0, "schema comparison blind to a changed CHECK");
    free(other);
    free(changed);
    free(sdir);
    free(byhand);
    free(fresh);
    free(file);
    free(p2);
    free(path);
}

/* ---- lifecycle -------------------------------------------------------------------------------- */
static bool iso_ok(const char *s) {
    /* 2026-11-28T14:11:31.042Z */
    if (!s || strlen(s) != 24) return false;
    const char *pat = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (int i = 0; i < 24; i++)
        if (pat[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != pat[i]) return false;
    return true;
}

static long long self_start_ticks(void) {
    char buf[4096];
    int fd = open("/proc/self/stat", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0) close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *p = strrchr(buf, ')') + 2;
    long long v = -1;
    /* fields 3..22: skip 19 */
    for (int i = 0; i < 19; i++) p = strchr(p, ' ') + 1;
    sscanf(p, "%lld", &v);
    return v;
}

static void make_dataset(el_dataset *d, uint8_t *ytr, uint8_t *yva, uint8_t *yte) {
    memset(d, 0, sizeof *d);
    d->labels.n = 7;
    for (int j = 0; j < 7; j++) d->labels.names[j] = (char *)LABELS7[j];
    for (int i = 0; i < 5 * 7; i++) ytr[i] = (uint8_t)(i % 3 == 0);
    for (int i = 0; i < 3 * 7; i++) yva[i] = (uint8_t)(i % 4 == 1);
    for (int i = 0; i < 2 * 7; i++) yte[i] = (uint8_t)(i % 2);
    d->train = (el_split){.n = 5, .y = ytr, .n_labels = 7};
    d->val = (el_split){.n = 3, .y = yva, .n_labels = 7};
    d->test = (el_split){.n = 2, .y = yte, .n_labels = 7};
    snprintf(d->train.fingerprint, 65, "%064d", 1);
    snprintf(d->val.fingerprint, 65, "%064d", 2);
    snprintf(d->test.fingerprint, 65, "%064d", 3);
    d->n_train_src = 2;
    d->train_src[0] = (el_source_stats){.path = "/data/a.csv", .rows_read = 4, .rows_kept = 3, .rows_dropped_overlap = 1};
    d->train_src[1] = (el_source_stats){.path = "/data/b.csv", .rows_read = 6, .rows_kept = 2, .rows_dropped_unmapped = 1,
                                        .rows_dropped_overlap = 3};
    snprintf(d->train_src[0].sha256, 65, "%064x", 0xa);
    snprintf(d->train_src[1].sha256, 65, "%064x", 0xb);
    d->val_src = (el_source_stats){.path = "/data/val.csv", .rows_read = 3, .rows_kept = 3};
    d->test_src = (el_source_stats){.path = "/data/test.csv", .rows_read = 2, .rows_kept = 2};
    d->n_dropped_overlap = 4;
}

static char *expected_counts(const uint8_t *y, int64_t n) {
    el_buf b = {0};
    el_buf_putc(&b, '{');
    for (int j = 0; j < 7; j++) {
        int64_t c = 0;
        for (int64_t i = 0; i < n; i++) c += y[i * 7 + j];
        el_buf_printf(&b, "%s\"%s\":%lld", j ? "," : "", LABELS7[j], (long long)c);
    }
    el_buf_putc(&b, '}');
    return el_buf_take(&b);
}

#define CHECK_TEXT(db, want, ...)                                                   \
    do {                                                                            \
        char *got_ = raw_text(db, __VA_ARGS__);                                     \
        CHECK(!strcmp(got_, want), "%s: got '%s', want '%s'", #__VA_ARGS__, got_, want); \
        free(got_);                                                                 \
    } while (0)

static void check_real(sqlite3 *db, double want, const char *what, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *sql = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    sqlite3_stmt *st;
    double got = NAN;
    int type = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            type = sqlite3_column_type(st, 0);
            got = sqlite3_column_double(st, 0);
        }
        sqlite3_finalize(st);
    }
    CHECK(type != -1 && type != SQLITE_NULL && got == want, "%s: got %.17g (type %d), want %.17g", what, got, type, want);
    sqlite3_free(sql);
}

static void test_lifecycle(void) {
    char *path = tpath("life.db");
    el_registry *r = el_registry_open(path, false);
    REQUIRE(r, "open: %s", el_last_error());
    el_run_info info = make_info("bow-h768-d085", "hash-life");
    info.sweep_id = "sweep-1";
    info.run_dir = NULL; /* known once the uuid is */
    char uuid[37];
    REQUIRE(el_run_begin(r, &info, uuid) == 0, "begin: %s", el_last_error());
    CHECK(el_run_set_run_dir(r, uuid, "experiments/x") == 0, "set_run_dir: %s", el_last_error());
    CHECK(el_run_set_run_dir(r, uuid, NULL) == -1, "NULL run dir");
    /* uuid v4: 8-4-4-4-12 lowercase hex, version 4, variant 10xx */
    CHECK(strlen(uuid) == 36 && uuid[14] == '4' && strchr("89ab", uuid[19]) && uuid[8] == '-' && uuid[23] == '-',
          "uuid %s", uuid);
    char st[16];
    CHECK(el_run_get_status(r, uuid, st) == 1 && !strcmp(st, "running"), "status %s", st);

    el_dataset d;
    uint8_t ytr[35], yva[21], yte[14];
    make_dataset(&d, ytr, yva, yte);
    CHECK(el_run_set_data(r, uuid, &d) == 0, "set_data: %s", el_last_error());
    CHECK(el_run_set_data(r, uuid, &d) == 0, "set_data again (replaces): %s", el_last_error());
    el_epoch_row ep[3] = {
        {1, 0.61, 0.55, 0.41, 0.31, 0.45, 2e-3, 20.5, 5100.25},
        {2, NAN, 0.50, 0.52, 0.42, 0.55, 1.5e-3, 19.75, 5200.5},
        {3, 0.40, INFINITY, 0.51, 0.40, 0.54, 5e-4, 21.0, 4999.0},
    };
    for (int i = 0; i < 3; i++) CHECK(el_run_epoch(r, uuid, &ep[i]) == 0, "epoch %d: %s", i + 1, el_last_error());
    CHECK(el_run_artifact(r, uuid, "checkpoint", "experiments/x/best.safetensors", "ab12", 123456) == 0, "artifact: %s",
          el_last_error());
    test_result t;
    make_result(&t, 1);
    t.res.epochs_run = 0; /* keep what el_run_epoch recorded */
    CHECK(el_run_finish(r, uuid, &t.res) == 0, "finish: %s", el_last_error());
    CHECK(el_run_get_status(r, uuid, st) == 1 && !strcmp(st, "finished"), "status %s", st);
    el_registry_close(r);

    /* read everything back with the plain sqlite3 API */
    sqlite3 *db = raw_open(path, false);
    CHECK_TEXT(db, "bow-h768-d085", "SELECT name FROM runs WHERE uuid=%Q", uuid);
    CHECK_TEXT(db, "marina", "SELECT owner FROM runs WHERE uuid=%Q", uuid);
    CHECK_TEXT(db, "single", "SELECT kind FROM runs WHERE uuid=%Q", uuid);
    CHECK_TEXT(db, "finished", "SELECT status FROM runs WHERE uuid=%Q", uuid);
    CHECK_TEXT(db, info.config_json, "SELECT config_json FROM runs WHERE uuid=%Q", uuid);
    CHECK_TEXT(db, "hash-life", "SELECT config_hash FROM runs WHERE uuid=%Q", uuid);
    CHECK_TEXT(db, "0123abcd", "SELECT git_commit FROM runs WHERE uuid=%Q", uuid);
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    CHECK_TEXT(db, host, "SELECT host FROM runs WHERE uuid=%Q", uuid);
    char want[64];
    snprintf(want, sizeof want, "%d", (int)getpid());
    CHECK_TEXT(db, want, "SELECT pid FROM runs WHERE uuid=%Q", uuid);
    snprintf(want, sizeof want, "%lld", self_start_ticks());
    CHECK_TEXT(db, want, "SELECT pid_start FROM runs WHERE uuid=%Q", uuid);
    char *boot = NULL;
    size_t blen;
    if (el_read_file("/proc/sys/kernel/random/boot_id", &boot, &blen) == 0) {
        boot[strcspn(boot, "\n")] = 0;
        CHECK_TEXT(db, boot, "SELECT boot_id FROM runs WHERE uuid=%Q", uuid);
        free(boot);
    }
    CHECK_TEXT(db, "42", "SELECT seed FROM runs WHERE uuid=%Q", uuid);
    CHECK_TEXT(db, "orig", "SELECT data_variant FROM runs WHERE uuid=%Q", uuid);
    CHECK_TEXT(db, "sweep-1", "SELECT sweep_id FROM runs WHERE uuid=%Q", uuid);
    CHECK_TEXT(db, "experiments/x", "SELECT run_dir FROM runs WHERE uuid=%Q", uuid);
    CHECK_TEXT(db, "configs/bow.yaml", "SELECT spec_file FROM runs WHERE uuid=%Q", uuid);
    CHECK_TEXT(db, "(null)", "SELECT error FROM runs WHERE uuid=%Q", uuid);
    CHECK_TEXT(db, "2", "SELECT best_epoch FROM runs WHERE uuid=%Q", uuid);
    CHECK_TEXT(db, "3", "SELECT epochs_run FROM runs WHERE uuid=%Q", uuid);
    check_real(db, 13.5, "train_seconds", "SELECT train_seconds FROM runs WHERE uuid=%Q", uuid);
    char *created = raw_text(db, "SELECT created FROM runs WHERE uuid=%Q", uuid);
    char *started = raw_text(db, "SELECT started FROM runs WHERE uuid=%Q", uuid);
    char *finished = raw_text(db, "SELECT finished FROM runs WHERE uuid=%Q", uuid);
    CHECK(iso_ok(created) && iso_ok(started) && iso_ok(finished), "times %s %s %s", created, started, finished);
    CHECK(strcmp(created, finished) <= 0 && strcmp(created, started) <= 0, "time order %s %s", created, finished);
    /* within a minute of now (UTC) */
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char nowbuf[32];
    strftime(nowbuf, sizeof nowbuf, "%Y-%m-%dT%H", &tm);
    CHECK(!strncmp(created, nowbuf, 10), "created %s is not today in UTC (%s)", created, nowbuf);
    free(created);
    free(started);
    free(finished);

    /* params */
    char *pq = sqlite3_mprintf("SELECT key, value FROM params WHERE run=%Q ORDER BY key", uuid);
    char *rows = raw_rows(db, pq);
    sqlite3_free(pq);
    CHECK(!strcmp(rows, "backbone.type|\"bow\"\nhead.dropout|0.85\nhead.layers|[768]\ntrain.lr|0.002\n"), "params:\n%s", rows);
    free(rows);
    /* data */
    char *ct = expected_counts(ytr, 5), *cv = expected_counts(yva, 3), *ce = expected_counts(yte, 2);
    char *wantdata = el_printf("test|%064d|2|0|%s\ntrain|%064d|5|4|%s\nval|%064d|3|0|%s\n", 3, ce, 1, ct, 2, cv);
    char *q = sqlite3_mprintf("SELECT split, fingerprint, rows, dropped_overlap, label_counts FROM data WHERE run=%Q "
                              "ORDER BY split", uuid);
    rows = raw_rows(db, q);
    sqlite3_free(q);
    CHECK(!strcmp(rows, wantdata), "data:\n%s\nwant:\n%s", rows, wantdata);
    free(rows);
    free(wantdata);
    free(ct);
    free(cv);
    free(ce);
    q = sqlite3_mprintf("SELECT split, idx, path, sha256, rows_read, rows_kept, rows_dropped_unmapped, rows_dropped_overlap "
                        "FROM data_sources WHERE run=%Q ORDER BY split, idx", uuid);
    rows = raw_rows(db, q);
    sqlite3_free(q);
    char *wantsrc = el_printf("test|0|/data/test.csv||2|2|0|0\ntrain|0|/data/a.csv|%064x|4|3|0|1\n"
                              "train|1|/data/b.csv|%064x|6|2|1|3\nval|0|/data/val.csv||3|3|0|0\n", 0xa, 0xb);
    CHECK(!strcmp(rows, wantsrc), "data_sources:\n%s\nwant:\n%s", rows, wantsrc);
    free(rows);
    free(wantsrc);
    /* epochs: NaN / inf stored as NULL */
    q = sqlite3_mprintf("SELECT * FROM epochs WHERE run=%Q ORDER BY epoch", uuid);
    rows = raw_rows(db, q);
    sqlite3_free(q);
    char *wantep = el_printf("%s|1|0.60999999999999999|0.55000000000000004|0.40999999999999998|0.31|0.45000000000000001|"
                             "0.002|20.5|5100.25\n"
                             "%s|2|NULL|0.5|0.52000000000000002|0.41999999999999998|0.55000000000000004|0.0015|19.75|5200.5\n"
                             "%s|3|0.40000000000000002|NULL|0.51000000000000001|0.40000000000000002|0.54000000000000004|"
                             "0.00050000000000000001|21|4999\n",
                             uuid, uuid, uuid);
    CHECK(!strcmp(rows, wantep), "epochs:\n%s\nwant:\n%s", rows, wantep);
    free(rows);
    free(wantep);
    /* metrics: every number exactly */
    const el_metrics *ms[2] = {&t.val, &t.test};
    const char *splits[2] = {"val", "test"};
    for (int s = 0; s < 2; s++) {
        const el_metrics *m = ms[s];
        struct {
            const char *n;
            double v;
        } want_m[] = {{"weighted_f1", m->weighted_f1}, {"macro_f1", m->macro_f1}, {"micro_f1", m->micro_f1},
                      {"samples_f1", m->samples_f1}, {"weighted_precision", m->weighted_precision},
                      {"weighted_recall", m->weighted_recall}, {"macro_precision", m->macro_precision},
                      {"macro_recall", m->macro_recall}, {"micro_precision", m->micro_precision},
                      {"micro_recall", m->micro_recall}, {"samples_precision", m->samples_precision},
                      {"samples_recall", m->samples_recall}, {"rows", 6}, {"support", (double)m->support}};
        for (size_t i = 0; i < sizeof want_m / sizeof want_m[0]; i++)
            check_real(db, want_m[i].v, want_m[i].n, "SELECT value FROM metrics WHERE run=%Q AND split=%Q AND name=%Q",
                       uuid, splits[s], want_m[i].n);
        q = sqlite3_mprintf("SELECT count(*) FROM metrics WHERE run=%Q AND split=%Q", uuid, splits[s]);
        CHECK(raw_int(db, q) == 14, "metric rows for %s", splits[s]);
        sqlite3_free(q);
        for (int j = 0; j < 7; j++) {
            const el_class_metrics *c = &m->cls[j];
            check_real(db, c->precision, "precision", "SELECT precision FROM class_metrics WHERE run=%Q AND split=%Q AND label=%Q",
                       uuid, splits[s], LABELS7[j]);
            check_real(db, c->recall, "recall", "SELECT recall FROM class_metrics WHERE run=%Q AND split=%Q AND label=%Q",
                       uuid, splits[s], LABELS7[j]);
            check_real(db, c->f1, "f1", "SELECT f1 FROM class_metrics WHERE run=%Q AND split=%Q AND label=%Q", uuid,
                       splits[s], LABELS7[j]);
            char w[128];
            snprintf(w, sizeof w, "%d|%lld|%lld|%lld|%lld", j, (long long)c->support, (long long)c->tp, (long long)c->fp,
                     (long long)c->fn);
            CHECK_TEXT(db, w, "SELECT label_idx || '|' || support || '|' || tp || '|' || fp || '|' || fn FROM class_metrics "
                              "WHERE run=%Q AND split=%Q AND label=%Q", uuid, splits[s], LABELS7[j]);
        }
    }
    /* floats are stored as their shortest decimal: exact as floats, readable as text */
    for (int j = 0; j < 7; j++) {
        q = sqlite3_mprintf("SELECT value FROM thresholds WHERE run=%Q AND label=%Q AND label_idx=%d", uuid, LABELS7[j], j);
        char *v = raw_text(db, q);
        sqlite3_free(q);
        char shortest[32];
        snprintf(shortest, sizeof shortest, "%.9g", (double)t.thr[j]);
        CHECK((float)strtod(v, NULL) == t.thr[j] && strlen(v) <= 6, "threshold %d stored as %s (float %.9g)", j, v,
              (double)t.thr[j]);
        free(v);
    }
    q = sqlite3_mprintf("SELECT count(*) FROM threshold_curve WHERE run=%Q", uuid);
    CHECK(raw_int(db, q) == 9, "curve points");
    sqlite3_free(q);
    for (int i = 0; i < 9; i++) {
        q = sqlite3_mprintf("SELECT threshold, val_weighted_f1 FROM threshold_curve WHERE run=%Q ORDER BY threshold "
                            "LIMIT 1 OFFSET %d", uuid, i);
        sqlite3_stmt *cs;
        REQUIRE(sqlite3_prepare_v2(db, q, -1, &cs, NULL) == SQLITE_OK && sqlite3_step(cs) == SQLITE_ROW, "curve row");
        CHECK((float)sqlite3_column_double(cs, 0) == t.cx[i] && (float)sqlite3_column_double(cs, 1) == t.cy[i],
              "curve point %d: %.17g %.17g", i, sqlite3_column_double(cs, 0), sqlite3_column_double(cs, 1));
        sqlite3_finalize(cs);
        sqlite3_free(q);
    }
    CHECK_TEXT(db, "0.54", "SELECT val_weighted_f1 FROM threshold_curve WHERE run=%Q AND threshold = 0.5", uuid);
    CHECK_TEXT(db, "checkpoint|experiments/x/best.safetensors|ab12|123456",
               "SELECT kind || '|' || path || '|' || sha256 || '|' || bytes FROM artifacts WHERE run=%Q", uuid);
    char *ok = raw_text(db, "PRAGMA integrity_check");
    CHECK(!strcmp(ok, "ok"), "integrity %s", ok);
    free(ok);
    CHECK(raw_int(db, "SELECT count(*) FROM pragma_foreign_key_check") == 0, "foreign keys");
    sqlite3_close(db);
    free(path);
}

/* ---- finality ----------------------------------------------------------------------------------- */
static void test_final(void) {
    char *path = tpath("final.db");
    el_registry *r = el_registry_open(path, false);
    REQUIRE(r, "open: %s", el_last_error());
    el_run_info info = make_info("final", "hash-final");
    char uuid[37], failed[37], stopped[37];
    test_result t;
    make_result(&t, 2);
    REQUIRE(el_run_begin(r, &info, uuid) == 0, "%s", el_last_error());
    el_epoch_row ep1 = {1, 0.5, 0.5, 0.4, 0.3, 0.45, 1e-3, 10, 1000};
    REQUIRE(el_run_epoch(r, uuid, &ep1) == 0 && el_run_artifact(r, uuid, "log", "run.log", NULL, 10) == 0, "%s",
            el_last_error());
    REQUIRE(el_run_finish(r, uuid, &t.res) == 0, "%s", el_last_error());
    REQUIRE(el_run_begin(r, &info, failed) == 0, "%s", el_last_error());
    el_run_result fr = {.status = "failed", .error = "loss became NaN at epoch 2, step 17"};
    REQUIRE(el_run_finish(r, failed, &fr) == 0, "%s", el_last_error());
    REQUIRE(el_run_begin(r, &info, stopped) == 0, "%s", el_last_error());
    el_run_result sr = {.status = "stopped", .error = "hyperband: below the rung cutoff", .epochs_run = 3};
    REQUIRE(el_run_finish(r, stopped, &sr) == 0, "%s", el_last_error());

    sqlite3 *db = raw_open(path, false);
    char *before = run_snapshot(db, uuid), *before_f = run_snapshot(db, failed), *before_s = run_snapshot(db, stopped);
    sqlite3_close(db);

    const char *ids[3] = {uuid, failed, stopped};
    for (int i = 0; i < 3; i++) {
        CHECK(el_run_finish(r, ids[i], &t.res) != 0, "second finish accepted");
        CHECK(strstr(el_last_error(), "final") && strstr(el_last_error(), path), "message: %s", el_last_error());
        el_epoch_row ep = {4, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 1, 1};
        CHECK(el_run_epoch(r, ids[i], &ep) != 0, "epoch after finish accepted");
        CHECK(el_run_artifact(r, ids[i], "log", "x.log", NULL, 1) != 0, "artifact after finish accepted");
        el_dataset d;
        uint8_t a[35], b[21], c[14];
        make_dataset(&d, a, b, c);
        CHECK(el_run_set_data(r, ids[i], &d) != 0, "data after finish accepted");
        CHECK(el_run_set_run_dir(r, ids[i], "elsewhere") != 0, "run dir after finish accepted");
    }
    el_registry_close(r);

    /* from any SQL client too: the schema's triggers */
    db = raw_open(path, true);
    raw_exec(db, "PRAGMA foreign_keys = ON");
    setenv("QUIET_SQL", "1", 1);
    const char *attacks[] = {
        "UPDATE runs SET status = 'running' WHERE uuid = '%s'",
        "UPDATE runs SET name = 'renamed' WHERE uuid = '%s'",
        "INSERT OR REPLACE INTO runs (uuid, name, status, created, config_json, config_hash, host) "
        "SELECT uuid, 'x', 'running', created, '{}', 'h', host FROM runs WHERE uuid = '%s'",
        "INSERT INTO metrics (run, split, name, value) VALUES ('%s', 'val', 'extra', 1)",
        "UPDATE metrics SET value = 0.99 WHERE run = '%s'",
        "DELETE FROM class_metrics WHERE run = '%s'",
        "INSERT OR REPLACE INTO thresholds (run, label, label_idx, value) VALUES ('%s', 'anger', 0, 0.9)",
        "DELETE FROM epochs WHERE run = '%s'",
    };
    for (int i = 0; i < 3; i++)
        for (size_t a = 0; a < sizeof attacks / sizeof attacks[0]; a++) {
            char *sql = el_printf(attacks[a], ids[i]);
            int rc = raw_exec(db, sql);
            /* the finished run has rows in every table: each statement must be refused; for the
             * failed/stopped runs some statements match no row (and so change nothing) */
            if (i == 0 || rc != SQLITE_OK)
                CHECK(rc != SQLITE_OK && strstr(sqlite3_errmsg(db), "final"), "accepted or wrong error: %s: %s", sql,
                      sqlite3_errmsg(db));
            else
                CHECK(sqlite3_changes(db) == 0, "%s changed %d rows", sql, sqlite3_changes(db));
            free(sql);
        }
    unsetenv("QUIET_SQL");
    char *after = run_snapshot(db, uuid), *after_f = run_snapshot(db, failed), *after_s = run_snapshot(db, stopped);
    CHECK(!strcmp(before, after), "finished run changed:\n%s\n---\n%s", before, after);
    CHECK(!strcmp(before_f, after_f), "failed run changed");
    CHECK(!strcmp(before_s, after_s), "stopped run changed");
    CHECK(strstr(after_f, "loss became NaN at epoch 2, step 17") != NULL, "failed reason kept");
    /* deleting a run on purpose still works, and takes its rows with it */
    char *del = el_printf("DELETE FROM runs WHERE uuid = '%s'", stopped);
    CHECK(raw_exec(db, del) == SQLITE_OK, "delete of a run");
    free(del);
    CHECK(raw_int(db, "SELECT count(*) FROM runs") == 2, "runs after delete");
    sqlite3_close(db);
    free(before);
    free(after);
    free(before_f);
    free(after_f);
    free(before_s);
    free(after_s);

    /* an interrupted run may still be completed by its process; then it is final */
    r = el_registry_open(path, false);
    REQUIRE(r, "%s", el_last_error());
    char u2[37];
    REQUIRE(el_run_begin(r, &info, u2) == 0, "%s", el_last_error());
    el_run_result ir = {.status = "interrupted", .error = "SIGINT: stopped by the user"};
    CHECK(el_run_finish(r, u2, &ir) == 0, "interrupt: %s", el_last_error());
    CHECK(el_run_finish(r, u2, &t.res) == 0, "finish after interrupted: %s", el_last_error());
    char st[16];
    CHECK(el_run_get_status(r, u2, st) == 1 && !strcmp(st, "finished"), "status %s", st);
    CHECK(el_run_finish(r, u2, &ir) != 0, "interrupting a finished run accepted");
    el_registry_close(r);
    free(path);
}

/* ---- config-hash reuse -------------------------------------------------------------------------- */
static void test_find_finished(void) {
    char *path = tpath("find.db");
    el_registry *r = el_registry_open(path, false);
    REQUIRE(r, "open: %s", el_last_error());
    test_result t;
    make_result(&t, 0);
    el_run_info a = make_info("a", "hash-A"), b = make_info("b", "hash-B"), c = make_info("c", "hash-C");
    char a1[37], a2[37], b1[37], c1[37], got[37];
    CHECK(el_registry_find_finished(r, "hash-A", got) == 0 && !got[0], "empty registry");
    REQUIRE(el_run_begin(r, &a, a1) == 0 && el_run_finish(r, a1, &t.res) == 0, "%s", el_last_error());
    struct timespec ts = {0, 5 * 1000000L};
    nanosleep(&ts, NULL);
    REQUIRE(el_run_begin(r, &a, a2) == 0 && el_run_finish(r, a2, &t.res) == 0, "%s", el_last_error());
    REQUIRE(el_run_begin(r, &b, b1) == 0, "%s", el_last_error()); /* running */
    REQUIRE(el_run_begin(r, &c, c1) == 0, "%s", el_last_error());
    el_run_result fr = {.status = "failed", .error = "bad data"};
    REQUIRE(el_run_finish(r, c1, &fr) == 0, "%s", el_last_error());
    CHECK(el_registry_find_finished(r, "hash-A", got) == 1 && !strcmp(got, a2), "A -> %s (want the latest %s)", got, a2);
    CHECK(el_registry_find_finished(r, "hash-B", got) == 0, "running run reused");
    CHECK(el_registry_find_finished(r, "hash-C", got) == 0, "failed run reused");
    CHECK(el_registry_find_finished(r, "nope", got) == 0, "unknown hash");
    CHECK(el_registry_find_finished(r, NULL, got) == -1, "NULL hash");
    el_registry_close(r);
    /* read-only registries answer too */
    r = el_registry_open(path, true);
    REQUIRE(r, "ro open: %s", el_last_error());
    CHECK(el_registry_find_finished(r, "hash-A", got) == 1 && !strcmp(got, a2), "ro find");
    el_registry_close(r);
    free(path);
}

/* ---- bad arguments ------------------------------------------------------------------------------ */
static void test_bad_args(void) {
    char *path = tpath("args.db");
    el_registry *r = el_registry_open(path, false);
    REQUIRE(r, "open: %s", el_last_error());
    char u[37];
    el_run_info info = make_info("x", "h");
    test_result t;
    make_result(&t, 0);
    CHECK(el_run_begin(NULL, &info, u) == -1, "NULL registry");
    CHECK(el_run_begin(r, NULL, u) == -1, "NULL info");
    el_run_info bad = info;
    bad.config_json = "{not json";
    CHECK(el_run_begin(r, &bad, u) == -1 && strstr(el_last_error(), "not valid JSON") && strstr(el_last_error(), path),
          "bad JSON: %s", el_last_error());
    bad = info;
    bad.config_hash = "";
    CHECK(el_run_begin(r, &bad, u) == -1, "empty hash");
    bad = info;
    bad.name = NULL;
    CHECK(el_run_begin(r, &bad, u) == -1, "no name");
    bad = info;
    bad.kind = "committee";
    CHECK(el_run_begin(r, &bad, u) == -1 && strstr(el_last_error(), "committee"), "bad kind: %s", el_last_error());
    static const char *k1[] = {"head.dropout"}, *v1[] = {"0.85.1"};
    bad = info;
    bad.param_keys = k1;
    bad.param_values = v1;
    bad.n_params = 1;
    CHECK(el_run_begin(r, &bad, u) == -1 && strstr(el_last_error(), "head.dropout"), "bad param: %s", el_last_error());
    bad.param_keys = NULL;
    CHECK(el_run_begin(r, &bad, u) == -1, "NULL params");
    static const char *k2[] = {"a", "a"}, *v2[] = {"1", "2"};
    bad = info;
    bad.param_keys = k2;
    bad.param_values = v2;
    bad.n_params = 2;
    CHECK(el_run_begin(r, &bad, u) == -1 && strstr(el_last_error(), "parameter a"), "duplicate param: %s", el_last_error());
    sqlite3 *db = raw_open(path, false);
    CHECK(raw_int(db, "SELECT count(*) FROM runs") == 0, "a refused run left a row");
    sqlite3_close(db);

    CHECK(el_run_finish(r, "not-a-uuid", &t.res) == -1 && strstr(el_last_error(), "not a run id"), "%s", el_last_error());
    CHECK(el_run_finish(r, NULL, &t.res) == -1, "NULL uuid");
    const char *ghost = "00000000-0000-4000-8000-000000000000";
    CHECK(el_run_finish(r, ghost, &t.res) == -1 && strstr(el_last_error(), "no run"), "%s", el_last_error());
    CHECK(el_run_epoch(r, ghost, NULL) == -1, "NULL epoch");
    REQUIRE(el_run_begin(r, &info, u) == 0, "%s", el_last_error());
    el_epoch_row ep0 = {0};
    CHECK(el_run_epoch(r, u, &ep0) == -1 && strstr(el_last_error(), "epoch 0"), "%s", el_last_error());
    el_run_result br = t.res;
    br.status = "done";
    CHECK(el_run_finish(r, u, &br) == -1 && strstr(el_last_error(), "'done'"), "%s", el_last_error());
    br = t.res;
    br.n_labels = 1000;
    CHECK(el_run_finish(r, u, &br) == -1, "1000 labels");
    br = t.res;
    br.metrics = NULL;
    CHECK(el_run_finish(r, u, &br) == -1, "NULL metrics");
    br = t.res;
    br.thr_curve_x = NULL;
    CHECK(el_run_finish(r, u, &br) == -1, "NULL curve");
    br = t.res;
    el_split_metrics nosplit[1] = {{NULL, &t.val}};
    br.metrics = nosplit;
    br.n_metrics = 1;
    CHECK(el_run_finish(r, u, &br) == -1, "metrics without split");
    /* label names missing: recorded as "0".."6" rather than losing the result */
    br = t.res;
    br.label_names = NULL;
    CHECK(el_run_finish(r, u, &br) == 0, "finish without label names: %s", el_last_error());
    db = raw_open(path, false);
    char *lab = raw_text(db, "SELECT group_concat(label) FROM (SELECT label FROM thresholds ORDER BY label_idx)");
    CHECK(!strcmp(lab, "0,1,2,3,4,5,6"), "labels %s", lab);
    free(lab);
    sqlite3_close(db);
    CHECK(el_run_artifact(r, u, NULL, "p", NULL, 0) == -1, "artifact without kind");
    CHECK(el_run_set_data(r, u, NULL) == -1, "NULL data");
    CHECK(el_run_get_status(r, "zz", (char[16]){0}) == -1, "bad uuid status");
    CHECK(el_run_get_status(r, ghost, (char[16]){0}) == 0, "ghost status");
    el_registry_close(r);
    el_registry_close(NULL);

    /* read-only handles refuse every write, naming the path */
    r = el_registry_open(path, true);
    REQUIRE(r, "ro: %s", el_last_error());
    CHECK(el_run_begin(r, &info, u) == -1 && strstr(el_last_error(), "read-only") && strstr(el_last_error(), path), "%s",
          el_last_error());
    CHECK(el_run_finish(r, ghost, &t.res) == -1 && strstr(el_last_error(), "read-only"), "%s", el_last_error());
    CHECK(el_registry_recover(r) == 0, "recover on ro");
    el_registry_close(r);

    /* a held write lock: a clear error after the busy timeout, success once released */
    db = raw_open(path, true);
    REQUIRE(raw_exec(db, "BEGIN IMMEDIATE") == SQLITE_OK, "lock");
    r = el_registry_open(path, false); /* opening needs no write lock when nothing is to do */
    REQUIRE(r, "open while locked: %s", el_last_error());
    el_registry_set_busy_timeout(r, 300);
    double t0 = el_now();
    CHECK(el_run_begin(r, &info, u) == -1 && strstr(el_last_error(), "locked") && strstr(el_last_error(), path),
          "locked: %s", el_last_error());
    double waited = el_now() - t0;
    CHECK(waited >= 0.25 && waited < 5, "waited %.2f s for a 0.3 s timeout", waited);
    raw_exec(db, "COMMIT");
    CHECK(el_run_begin(r, &info, u) == 0, "after unlock: %s", el_last_error());
    sqlite3_close(db);
    el_registry_close(r);

    CHECK(el_registry_open(NULL, false) == NULL && strstr(el_last_error(), "EMOLAB_REGISTRY"), "NULL path");
    CHECK(el_registry_open("", true) == NULL, "empty path");
    CHECK(!strcmp(el_registry_default_path("x.db"), "x.db"), "option");
    setenv("EMOLAB_REGISTRY", "/tmp/env.db", 1);
    CHECK(!strcmp(el_registry_default_path(NULL), "/tmp/env.db"), "env");
    unsetenv("EMOLAB_REGISTRY");
    CHECK(!strcmp(el_registry_default_path(""), "registry.db"), "default");
    free(path);
}

/* ---- bad files ---------------------------------------------------------------------------------- */
static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    REQUIRE(f && fwrite(data, 1, n, f) == n && fclose(f) == 0, "write %s", path);
}

/* Opens path (ro and rw) expecting a refusal whose message contains want; the file must stay
 * byte-identical and no file may appear next to it. */
static void expect_refused(const char *path, const char *want, const char *want2) {
    char *dir = el_dirname(path);
    for (int ro = 1; ro >= 0; ro--) {
        char h0[65], h1[65];
        file_hash(path, h0);
        char *ls0 = dir_listing(dir);
        el_registry *r = el_registry_open(path, ro);
        CHECK(r == NULL, "%s opened %s", path, ro ? "read-only" : "read-write");
        if (r) {
            el_registry_close(r);
            continue;
        }
        const char *msg = el_last_error();
        CHECK(strstr(msg, want) != NULL, "%s (%s): message '%s' lacks '%s'", path, ro ? "ro" : "rw", msg, want);
        if (want2) CHECK(strstr(msg, want2) != NULL, "%s: message '%s' lacks '%s'", path, msg, want2);
        file_hash(path, h1);
        CHECK(!strcmp(h0, h1), "%s changed (%s open)", path, ro ? "ro" : "rw");
        char *ls1 = dir_listing(dir);
        CHECK(!strcmp(ls0, ls1), "files next to %s changed: [%s] -> [%s]", path, ls0, ls1);
        free(ls0);
        free(ls1);
    }
    free(dir);
}

static void test_bad_files(void) {
    tmp_dir("badfiles");
    /* missing file, read-only: refused, nothing created */
    char *missing = tpath("missing.db");
    CHECK(el_registry_open(missing, true) == NULL, "missing opened");
    CHECK(strstr(el_last_error(), missing) && strstr(el_last_error(), "no such registry"), "%s", el_last_error());
    CHECK(!el_file_exists(missing), "read-only open created %s", missing);
    char *nodir = tpath("no/such/dir/r.db");
    CHECK(el_registry_open(nodir, false) == NULL && strstr(el_last_error(), "does not exist"), "%s", el_last_error());
    CHECK(el_registry_open(g_tmp, false) == NULL && strstr(el_last_error(), "directory"), "%s", el_last_error());

    /* a foreign SQLite database */
    char *foreign = tpath("foreign.db");
    sqlite3 *db = raw_open(foreign, true);
    raw_exec(db, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'x');");
    sqlite3_close(db);
    char *want = el_printf("not an emolab registry: %s (no emolab schema table)", foreign);
    expect_refused(foreign, want, NULL);
    free(want);

    /* a registry from a newer emolab */
    char *newer = tpath("newer.db");
    el_registry *r = el_registry_open(newer, false);
    REQUIRE(r, "%s", el_last_error());
    el_registry_close(r);
    db = raw_open(newer, true);
    char *ins = el_printf("INSERT INTO emolab_schema VALUES (%d, '2030-01-01T00:00:00.000Z', 'future')",
                          el_registry_latest_version() + 98);
    raw_exec(db, ins);
    free(ins);
    raw_exec(db, "PRAGMA journal_mode = DELETE"); /* no -wal/-shm left next to it */
    sqlite3_close(db);
    want = el_printf("%s has schema version %d, this emolab knows up to %d: upgrade emolab", newer,
                     el_registry_latest_version() + 98, el_registry_latest_version());
    expect_refused(newer, want, NULL);
    free(want);

    /* garbage */
    char *garbage = tpath("garbage.db");
    char junk[10000];
    uint64_t s = 88172645463325252ULL;
    for (size_t i = 0; i < sizeof junk; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        junk[i] = (char)s;
    }
    write_bytes(garbage, junk, sizeof junk);
    expect_refused(garbage, garbage, "not an SQLite database");
    /* a text file */
    char *text = tpath("notes.txt");
    write_bytes(text, "name: bow\nowner: marina\n", 24);
    expect_refused(text, text, "not an SQLite database");

    /* corrupt: a real registry whose schema page is damaged */
    char *corrupt = tpath("corrupt.db");
    r = el_registry_open(corrupt, false);
    REQUIRE(r, "%s", el_last_error());
    el_registry_close(r);
    db = raw_open(corrupt, true);
    raw_exec(db, "PRAGMA journal_mode = DELETE");
    sqlite3_close(db);
    char *data;
    size_t len;
    REQUIRE(el_read_file(corrupt, &data, &len) == 0 && len > 4096, "read corrupt");
    memcpy(data + 100, junk, 3000); /* keep the 100-byte header, damage page 1 */
    write_bytes(corrupt, data, len);
    free(data);
    expect_refused(corrupt, corrupt, "damaged");

    /* truncated registry */
    char *trunc = tpath("trunc.db");
    r = el_registry_open(trunc, false);
    REQUIRE(r, "%s", el_last_error());
    el_registry_close(r);
    db = raw_open(trunc, true);
    raw_exec(db, "PRAGMA journal_mode = DELETE");
    sqlite3_close(db);
    REQUIRE(el_read_file(trunc, &data, &len) == 0, "read");
    write_bytes(trunc, data, 50);
    free(data);
    expect_refused(trunc, trunc, NULL);

    /* an empty file is a new registry (read-write), but not a registry to read */
    char *empty = tpath("empty.db");
    write_bytes(empty, "", 0);
    CHECK(el_registry_open(empty, true) == NULL && strstr(el_last_error(), "not an emolab registry"), "%s",
          el_last_error());
    r = el_registry_open(empty, false);
    CHECK(r != NULL, "empty file not initialised: %s", el_last_error());
    el_registry_close(r);

    free(missing);
    free(nodir);
    free(foreign);
    free(newer);
    free(garbage);
    free(text);
    free(corrupt);
    free(trunc);
    free(empty);
}

int main(void) {
    g_src = getenv("EMOLAB_SOURCE_DIR");
    REQUIRE(g_src, "EMOLAB_SOURCE_DIR is not set (run through ctest)");
    tmp_dir("registry");
    test_schema();
    test_lifecycle();
    test_final();
    test_find_finished();
    test_bad_args();
    tmp_cleanup();
    test_bad_files(); /* in a directory of its own: it checks which files appear */
    tmp_cleanup();
    return test_done("test_registry");
}
