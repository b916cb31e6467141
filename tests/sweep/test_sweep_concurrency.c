/* test_sweep_concurrency: `emolab sweep -j 4` of 200 tiny trials (10 learning rates x 20 seeds)
 * into one registry: exactly 200 runs, all finished, no duplicates (200 distinct config hashes,
 * names and trials), no lost rows (every trial done with its own run, every run of the sweep owned
 * by a trial), no "database is locked" anywhere, integrity_check ok, and every worker reported its
 * trials. Then the reuse bar: a second sweep of the same file trains nothing. Then the same 200
 * trials with --rerun through a sweep directory (the Slurm launcher's store: file claims, one
 * result per trial, runs consolidated by the controller) with 4 local workers: again exactly 200
 * new runs, one result each. */
#include "sweep/sweep_test.h"

int main(void) {
    children_init();
    alarm(900);
    const char *dir = tmp_dir("sweep-conc");
    make_data(dir, 200, 60);
    make_base(dir, 1);
    char *sweep = tpath("conc.yaml");
    write_text(sweep, "base: base.yaml\n"
                      "method: grid\n"
                      "metric: {name: val_weighted_f1, goal: maximize}\n"
                      "parameters:\n"
                      "  train.lr: {values: [0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.16, 0.18, 0.2]}\n"
                      "seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]\n");
    char *reg = tpath("registry.db"), *exp = tpath("exp");
    double t0 = el_now();
    const char *args[] = {"sweep", sweep, "-j", "4", "--registry", reg, "--experiments", exp, "--no-checkpoint", NULL};
    int rc = run_emolab("sweep1", 600, args);
    double wall = el_now() - t0;
    char *err = child_output("sweep1", "err"), *out = child_output("sweep1", "out");
    CHECK(rc == 0, "sweep exit %d\n%s", rc, err);
    printf("200 trials with 4 workers: %.1fs\n", wall);

    sqlite3 *db = raw_open(reg, false);
    char *id = raw_text(db, "SELECT id FROM sweeps");
    CHECK(raw_int(db, "SELECT count(*) FROM sweeps") == 1, "sweeps");
    CHECK(raw_int(db, "SELECT count(*) FROM runs") == 200, "runs: %lld", (long long)raw_int(db, "SELECT count(*) FROM runs"));
    char *q = sqlite3_mprintf("SELECT count(*) FROM runs WHERE sweep_id = %Q AND status = 'finished'", id);
    CHECK(raw_int(db, q) == 200, "finished runs of the sweep: %lld", (long long)raw_int(db, q));
    sqlite3_free(q);
    CHECK(raw_int(db, "SELECT count(DISTINCT config_hash) FROM runs") == 200, "distinct configs");
    CHECK(raw_int(db, "SELECT count(DISTINCT name) FROM runs") == 200, "distinct names");
    CHECK(raw_int(db, "SELECT count(DISTINCT seed || '/' || config_hash) FROM runs") == 200, "distinct (seed, config)");
    CHECK(raw_int(db, "SELECT count(*) FROM sweep_trials WHERE status = 'done' AND reused = 0") == 200, "trials done");
    CHECK(raw_int(db, "SELECT count(DISTINCT run) FROM sweep_trials") == 200, "distinct trial runs");
    CHECK(raw_int(db, "SELECT count(*) FROM sweep_trials WHERE claims != 1 OR lost_claims != 0") == 0, "claims");
    /* every trial's run is its own configuration, and no run of the sweep is without a trial */
    CHECK(raw_int(db, "SELECT count(*) FROM sweep_trials t JOIN runs r ON r.uuid = t.run"
                      " WHERE r.config_hash = t.config_hash AND r.seed = t.seed AND r.name = 'conc-' || t.idx") == 200,
          "trial/run agreement");
    CHECK(raw_int(db, "SELECT count(*) FROM runs WHERE uuid NOT IN (SELECT run FROM sweep_trials)") == 0, "orphan runs");
    CHECK(raw_int(db, "SELECT count(*) FROM metrics WHERE split = 'test' AND name = 'weighted_f1'") == 200, "metrics rows");
    CHECK(raw_int(db, "SELECT count(*) FROM epochs") == 200, "epoch rows");
    CHECK(raw_int(db, "SELECT count(*) FROM sweep_trials WHERE metric IS NULL") == 0, "trial metrics");
    char *ic = raw_text(db, "PRAGMA integrity_check");
    CHECK(!strcmp(ic, "ok"), "integrity: %s", ic);
    free(ic);
    /* no lock failure anywhere; each worker says how many trials it took */
    char *logs = all_logs(exp);
    CHECK(!strstr(logs, "locked") && !strstr(err, "locked"), "a lock error was reported");
    CHECK(!strstr(logs, "stopped by an error"), "a worker error:\n%s", logs);
    int workers = 0;
    long taken = 0;
    for (const char *p = logs; (p = strstr(p, " trial(s) taken")); p++) {
        const char *s = p;
        while (s > logs && s[-1] >= '0' && s[-1] <= '9') s--;
        taken += strtol(s, NULL, 10);
        workers++;
    }
    CHECK(workers == 4, "%d worker summaries", workers);
    CHECK(taken == 200, "trials taken by workers: %ld", taken);
    CHECK(strstr(out, "200 done (0 reused), 0 failed, 0 stopped"), "summary: %s", out);
    sqlite3_close(db);
    free(logs);
    free(err);
    free(out);

    /* reuse: the same file again trains nothing */
    const char *args2[] = {"sweep", sweep, "-j", "4", "--registry", reg, "--experiments", exp, "--no-checkpoint", NULL};
    t0 = el_now();
    rc = run_emolab("sweep2", 300, args2);
    err = child_output("sweep2", "err");
    out = child_output("sweep2", "out");
    CHECK(rc == 0, "second sweep exit %d\n%s", rc, err);
    printf("second sweep (all reused): %.1fs\n", el_now() - t0);
    db = raw_open(reg, false);
    CHECK(raw_int(db, "SELECT count(*) FROM runs") == 200, "runs after the second sweep: %lld",
          (long long)raw_int(db, "SELECT count(*) FROM runs"));
    CHECK(raw_int(db, "SELECT count(*) FROM sweeps") == 2, "two sweeps");
    CHECK(raw_int(db, "SELECT count(*) FROM sweep_trials WHERE sweep_id != (SELECT id FROM sweeps ORDER BY created LIMIT 1)"
                      " AND status = 'done' AND reused = 1 AND run IS NOT NULL") == 200, "reused trials");
    CHECK(strstr(out, "200 done (200 reused)"), "summary: %s", out);
    sqlite3_close(db);
    free(err);
    free(out);

    /* the sweep-directory store, 4 workers racing for the same file claims */
    char *sd = tpath("sd");
    const char *args3[] = {"sweep", sweep, "-j", "4", "--rerun", "--sweep-dir", sd, "--registry", reg, "--experiments", exp,
                           "--no-checkpoint", NULL};
    t0 = el_now();
    rc = run_emolab("sweep3", 600, args3);
    err = child_output("sweep3", "err");
    out = child_output("sweep3", "out");
    CHECK(rc == 0, "directory sweep exit %d\n%s", rc, err);
    printf("200 trials with 4 workers, sweep directory store: %.1fs\n", el_now() - t0);
    CHECK(strstr(out, "200 done (0 reused), 0 failed, 0 stopped"), "summary: %s", out);
    db = raw_open(reg, false);
    char *id3 = raw_text(db, "SELECT id FROM sweeps WHERE dir IS NOT NULL");
    char *q3 = sqlite3_mprintf("SELECT count(*) FROM runs WHERE sweep_id = %Q AND status = 'finished'", id3);
    CHECK(raw_int(db, q3) == 200, "directory sweep runs: %lld", (long long)raw_int(db, q3));
    sqlite3_free(q3);
    q3 = sqlite3_mprintf("SELECT count(*) FROM sweep_trials t JOIN runs r ON r.uuid = t.run WHERE t.sweep_id = %Q"
                         " AND t.status = 'done' AND r.sweep_id = %Q AND r.config_hash = t.config_hash", id3, id3);
    CHECK(raw_int(db, q3) == 200, "directory sweep trials: %lld", (long long)raw_int(db, q3));
    sqlite3_free(q3);
    CHECK(raw_int(db, "SELECT count(*) FROM runs") == 400, "runs in all: %lld", (long long)raw_int(db, "SELECT count(*) FROM runs"));
    ic = raw_text(db, "PRAGMA integrity_check");
    CHECK(!strcmp(ic, "ok"), "integrity: %s", ic);
    free(ic);
    char *dir3 = raw_text(db, "SELECT dir FROM sweeps WHERE dir IS NOT NULL");
    sqlite3_close(db);
    {
        char *cmd = el_printf("ls '%s/results' | wc -l; ls '%s/runs' | grep -c 'db$'; ls '%s/claims' | wc -l", dir3, dir3, dir3);
        FILE *p = popen(cmd, "r");
        int results = -1, shards = -1, claims = -1;
        if (p && fscanf(p, "%d %d %d", &results, &shards, &claims) != 3) results = -1;
        if (p) pclose(p);
        free(cmd);
        CHECK(results == 200 && shards == 200 && claims == 0, "directory: %d results, %d run files, %d claims left",
              results, shards, claims);
    }
    free(dir3);
    free(id3);
    free(sd);
    free(err);
    free(out);
    free(id);
    free(sweep);
    free(reg);
    free(exp);
    tmp_cleanup();
    return test_done("test_sweep_concurrency");
}
