/* test_registry_merge: `emolab registry merge A.db B.db -o team.db` and `emolab registry import`
 * (registry.c el_registry_import): two registries made in two directories ("two hosts"), with
 * finished, failed and still-running runs and a sweep.
 *  - merge gives the union once (runs still running left out), with every row of every run, the
 *    sweep and its trials, and run_origins naming the registry, host and owner; merging again
 *    changes nothing; import is idempotent too, and keeps the first origin of a re-imported run;
 *  - the sources are never written (byte-identical), a v1 registry can be a source;
 *  - refused, the target byte-identical: a run with the same uuid and different content, a
 *    registry of a newer schema, a corrupt file, a truncated registry, a non-emolab SQLite file,
 *    a missing file. */
#include "sweep/sweep_test.h"

static char g_src_dir[512];
static const char *g_a; /* a good source */

/* n finished runs (+ 1 failed, + 2 running) in a new registry at path; run names start with tag. */
static void fill(const char *path, const char *tag, int n, bool with_sweep) {
    el_registry *r = el_registry_open(path, false);
    REQUIRE(r, "open %s: %s", path, el_last_error());
    for (int i = 0; i < n + 3; i++) {
        char name[64], hash[64], u[37];
        snprintf(name, sizeof name, "%s-%d", tag, i);
        snprintf(hash, sizeof hash, "%s-hash-%d", tag, i);
        el_run_info info = make_info(name, hash);
        if (with_sweep) info.sweep_id = "sw-1";
        REQUIRE(el_run_begin(r, &info, u) == EL_OK, "begin: %s", el_last_error());
        if (i >= n + 1) continue; /* running */
        for (int e = 1; e <= 2; e++) {
            el_epoch_row ep = {e, 0.5 / e, 0.4 / e, 0.3 * e, 0.2 * e, 0.25 * e, 1e-3, 1.0, 100.0};
            REQUIRE(el_run_epoch(r, u, &ep) == EL_OK, "epoch: %s", el_last_error());
        }
        REQUIRE(el_run_artifact(r, u, "checkpoint", "best.safetensors", "00ff", 1024) == EL_OK, "artifact");
        test_result t;
        make_result(&t, i);
        if (i == n) {
            t.res.status = "failed";
            t.res.error = "the loss became NaN";
        }
        REQUIRE(el_run_finish(r, u, &t.res) == EL_OK, "finish: %s", el_last_error());
        if (with_sweep && i == 0) {
            el_trial_init ti = {.idx = 0, .config_hash = hash, .seed = 42, .has_seed = true, .assignment = "{}",
                                .param_values = "[]", .reuse_run = u, .reuse_status = "done", .reuse_metric = 0.5};
            el_reg_sweep s = {.id = "sw-1", .name = "sw", .file = "/s.yaml", .definition = "{}", .definition_hash = "d",
                              .method = "grid", .metric = "val_weighted_f1", .maximize = true, .n_trials = 1};
            REQUIRE(el_sweep_create(r, &s, &ti, 1) == EL_OK, "sweep: %s", el_last_error());
        }
    }
    el_registry_close(r);
}

static void hash_of(const char *path, char hex[65]) { file_hash(path, hex); }

static int merge(const char *name, const char *a, const char *b, const char *out) {
    const char *args[] = {"registry", "merge", a, b, "-o", out, NULL};
    if (!b) {
        args[3] = "-o";
        args[4] = out;
        args[5] = NULL;
    }
    return run_emolab(name, 120, args);
}

static int64_t count(const char *path, const char *sql) {
    sqlite3 *db = raw_open(path, false);
    int64_t v = raw_int(db, sql);
    sqlite3_close(db);
    return v;
}

/* Refused, and the target (and the bad source) unchanged. */
static void refused(const char *what, const char *bad, const char *target, const char *want) {
    char before[65], after[65], src_before[65], src_after[65];
    hash_of(target, before);
    hash_of(bad, src_before);
    int rc = merge("refused", g_a, bad, target);
    char *err = child_output("refused", "err");
    hash_of(target, after);
    hash_of(bad, src_after);
    CHECK(rc == 1, "%s: merge exit %d", what, rc);
    CHECK(strstr(err, want) && strstr(err, "is unchanged"), "%s: %s", what, err);
    CHECK(!strcmp(before, after), "%s: the target changed", what);
    CHECK(!strcmp(src_before, src_after), "%s: the source changed", what);
    free(err);
    const char *args[] = {"registry", "import", bad, "--registry", target, NULL};
    rc = run_emolab("refused-import", 120, args);
    err = child_output("refused-import", "err");
    hash_of(target, after);
    CHECK(rc == 1 && strstr(err, want), "%s: import exit %d: %s", what, rc, err);
    CHECK(!strcmp(before, after), "%s: import changed the target", what);
    free(err);
}

int main(void) {
    children_init();
    alarm(600);
    tmp_dir("registry-merge");
    snprintf(g_src_dir, sizeof g_src_dir, "%s", el_env("EMOLAB_SOURCE_DIR", "."));
    char *ha = tpath("host-a"), *hb = tpath("host-b");
    mkdir(ha, 0755);
    mkdir(hb, 0755);
    char *a = el_path_join(ha, "registry.db"), *b = el_path_join(hb, "registry.db"), *team = tpath("team.db");
    g_a = a;
    fill(a, "a", 30, true);
    fill(b, "b", 20, false);
    char a0[65], b0[65], a1[65], b1[65];
    hash_of(a, a0);
    hash_of(b, b0);

    int rc = merge("merge1", a, b, team);
    char *out = child_output("merge1", "out"), *err = child_output("merge1", "err");
    CHECK(rc == 0, "merge exit %d: %s", rc, err);
    CHECK(strstr(out, "31 run(s) added, 0 already here (identical), 2 still running there (left out), 1 sweep(s) and 1 trial(s) added"),
          "merge output: %s", out);
    CHECK(strstr(out, "21 run(s) added"), "merge output: %s", out);
    free(out);
    free(err);
    CHECK(count(team, "SELECT count(*) FROM runs") == 52, "union: %lld", (long long)count(team, "SELECT count(*) FROM runs"));
    CHECK(count(team, "SELECT count(*) FROM runs WHERE status = 'running'") == 0, "running runs copied");
    CHECK(count(team, "SELECT count(*) FROM runs WHERE status = 'failed' AND error = 'the loss became NaN'") == 2, "failed");
    CHECK(count(team, "SELECT count(*) FROM run_origins") == 52, "origins");
    {
        char *abs_a = realpath(a, NULL);
        char *q = sqlite3_mprintf("SELECT count(*) FROM run_origins o JOIN runs r ON r.uuid = o.run WHERE o.registry_path = %Q"
                                  " AND o.owner = 'marina' AND o.host = r.host AND r.name LIKE 'a-%%' AND o.registry_id IS NOT NULL",
                                  abs_a);
        CHECK(count(team, q) == 31, "origins of A: %lld", (long long)count(team, q));
        sqlite3_free(q);
        free(abs_a);
        sqlite3 *sa = raw_open(a, false);
        char *ida = raw_text(sa, "SELECT value FROM registry_info WHERE key = 'registry_id'");
        sqlite3_close(sa);
        q = sqlite3_mprintf("SELECT count(*) FROM run_origins WHERE registry_id = %Q", ida);
        CHECK(count(team, q) == 31, "registry id of A");
        sqlite3_free(q);
        free(ida);
    }
    CHECK(count(team, "SELECT count(*) FROM sweep_trials WHERE run IS NOT NULL AND run IN (SELECT uuid FROM runs)") == 1, "trial");
    /* every row of every run is there, equal to the source's */
    {
        sqlite3 *st = raw_open(team, false), *sa = raw_open(a, false);
        char *ua = raw_text(sa, "SELECT uuid FROM runs WHERE name = 'a-7'");
        char *s1 = run_snapshot(sa, ua), *s2 = run_snapshot(st, ua);
        CHECK(!strcmp(s1, s2), "run a-7 differs after the merge:\n%s\n---\n%s", s1, s2);
        free(s1);
        free(s2);
        free(ua);
        sqlite3_close(sa);
        sqlite3_close(st);
    }
    hash_of(a, a1);
    hash_of(b, b1);
    CHECK(!strcmp(a0, a1) && !strcmp(b0, b1), "a source was written");

    /* again: nothing changes */
    rc = merge("merge2", a, b, team);
    out = child_output("merge2", "out");
    CHECK(rc == 0 && strstr(out, "0 run(s) added, 31 already here") && strstr(out, "0 run(s) added, 21 already here"),
          "second merge: %d %s", rc, out);
    free(out);
    CHECK(count(team, "SELECT count(*) FROM runs") == 52 && count(team, "SELECT count(*) FROM run_origins") == 52, "second merge");

    /* import: B takes A's runs, then again; team imports B (A's runs keep their first origin) */
    const char *imp[] = {"registry", "import", a, "--registry", b, NULL};
    rc = run_emolab("import1", 120, imp);
    out = child_output("import1", "out");
    CHECK(rc == 0 && strstr(out, "31 run(s) added"), "import: %d %s", rc, out);
    free(out);
    rc = run_emolab("import2", 120, imp);
    out = child_output("import2", "out");
    CHECK(rc == 0 && strstr(out, "0 run(s) added, 31 already here"), "import again: %d %s", rc, out);
    free(out);
    CHECK(count(b, "SELECT count(*) FROM runs WHERE status != 'running'") == 52, "B after import");
    char *c = tpath("c.db");
    const char *imp2[] = {"registry", "import", b, "--registry", c, NULL};
    rc = run_emolab("import3", 120, imp2);
    CHECK(rc == 0, "import into a new registry: %d", rc);
    {
        char *abs_a = realpath(a, NULL);
        char *q = sqlite3_mprintf("SELECT count(*) FROM run_origins WHERE registry_path = %Q", abs_a);
        CHECK(count(c, q) == 31, "first origin kept: %lld", (long long)count(c, q));
        sqlite3_free(q);
        free(abs_a);
    }

    /* refusals */
    char *conflict = tpath("conflict.db");
    {
        char *cmd = el_printf("cp '%s' '%s'", a, conflict);
        REQUIRE(system(cmd) == 0, "cp");
        free(cmd);
        sqlite3 *db = raw_open(conflict, true);
        REQUIRE(raw_exec(db, "DROP TRIGGER metrics_final_update; UPDATE metrics SET value = 0.123 WHERE run ="
                             " (SELECT uuid FROM runs WHERE name = 'a-3') AND split = 'test' AND name = 'weighted_f1'") == SQLITE_OK,
                "edit");
        sqlite3_close(db);
    }
    refused("same uuid, other content", conflict, team, "with different content (table metrics differs)");
    char *newer = tpath("newer.db");
    {
        char *cmd = el_printf("cp '%s' '%s'", b, newer);
        REQUIRE(system(cmd) == 0, "cp");
        free(cmd);
        sqlite3 *db = raw_open(newer, true);
        REQUIRE(raw_exec(db, "INSERT INTO emolab_schema VALUES (99, '2030-01-01T00:00:00.000Z', 'future')") == SQLITE_OK, "v99");
        sqlite3_close(db);
    }
    refused("newer schema", newer, team, "has schema version 99");
    char *garbage = tpath("garbage.db");
    {
        FILE *f = fopen(garbage, "wb");
        for (int i = 0; i < 8192; i++) fputc((i * 7919) & 0xff, f);
        fclose(f);
    }
    refused("garbage", garbage, team, "not an SQLite database");
    char *trunc = tpath("truncated.db");
    {
        sqlite3 *db = raw_open(a, false);
        raw_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
        sqlite3_close(db);
        char *data = NULL;
        size_t n = 0;
        REQUIRE(el_read_file(a, &data, &n) == 0 && n > 8192, "read a");
        FILE *f = fopen(trunc, "wb");
        fwrite(data, 1, n / 3, f);
        fclose(f);
        free(data);
    }
    refused("truncated", trunc, team, "damaged");
    char *foreign = tpath("foreign.db");
    {
        sqlite3 *db = raw_open(foreign, true);
        raw_exec(db, "CREATE TABLE t (x); INSERT INTO t VALUES (1)");
        sqlite3_close(db);
    }
    refused("foreign", foreign, team, "is not an emolab registry");
    {
        char *missing = tpath("missing.db");
        char before[65], after[65];
        hash_of(team, before);
        rc = merge("missing", a, missing, team);
        hash_of(team, after);
        CHECK(rc == 1 && !strcmp(before, after), "missing source: %d", rc);
        free(missing);
    }

    /* a v1 registry (made from the frozen v1 schema) is a source; it is not upgraded */
    char *v1 = tpath("v1.db");
    {
        char *p = el_path_join(g_src_dir, "tests/registry/schemas/v1.sql");
        char *sql = read_text(p);
        free(p);
        sqlite3 *db = raw_open(v1, true);
        REQUIRE(raw_exec(db, sql) == SQLITE_OK, "v1 schema");
        REQUIRE(raw_exec(db, "INSERT INTO runs (uuid, name, status, created, config_json, config_hash, host)"
                             " VALUES ('11111111-2222-4333-8444-555555555555', 'old', 'running', '2026-01-01T00:00:00.000Z',"
                             " '{}', 'h', 'oldhost');"
                             "INSERT INTO metrics VALUES ('11111111-2222-4333-8444-555555555555', 'test', 'weighted_f1', 0.5);"
                             "UPDATE runs SET status = 'finished'") == SQLITE_OK, "v1 run");
        sqlite3_close(db);
        free(sql);
    }
    char v1a[65], v1b[65];
    hash_of(v1, v1a);
    const char *imp3[] = {"registry", "import", v1, "--registry", team, NULL};
    rc = run_emolab("import-v1", 120, imp3);
    out = child_output("import-v1", "out");
    hash_of(v1, v1b);
    CHECK(rc == 0 && strstr(out, "1 run(s) added"), "v1 import: %d %s", rc, out);
    CHECK(!strcmp(v1a, v1b), "the v1 source was written");
    CHECK(count(team, "SELECT count(*) FROM run_origins WHERE host = 'oldhost' AND registry_id IS NULL") == 1, "v1 origin");
    free(out);

    free(v1);
    free(foreign);
    free(trunc);
    free(garbage);
    free(newer);
    free(conflict);
    free(c);
    free(a);
    free(b);
    free(team);
    free(ha);
    free(hb);
    tmp_cleanup();
    return test_done("test_registry_merge");
}
