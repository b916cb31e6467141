/* test_sweep_cli: `emolab sweep` end to end on tiny trials.
 *  - bad input (the list, a missing base, bad options): exit 2, the key named, nothing
 *    started (no registry, no experiments directory);
 *  - --dry-run lists the trials and starts nothing;
 *  - progress log lines (not a terminal): done / running / failed / stopped counts, best, ETA;
 *  - reuse: a second sweep of the same file trains nothing; --rerun retrains every trial;
 *  - --status (all sweeps, one sweep);
 *  - hyperband: a known bad configuration (lr 1e-6) is stopped at the first rung, recorded as
 *    `stopped` with the epoch reached, while the good one finishes;
 *  - bayes: trials made at claim time by two workers (re-executed `emolab worker` processes):
 *    run_cap trials, each index once;
 *  - Ctrl-C (SIGINT to the group): exit 130, running trials interrupted and given back (not
 *    counted as lost), --sweep-id continues; an edited file cannot resume the sweep. */
#include "sweep/sweep_test.h"

static const char *g_reg, *g_exp;

static int sweep_cmd(const char *name, double timeout, const char *a0, const char *a1, const char *a2,
                     const char *a3, const char *a4, const char *a5) {
    const char *args[32];
    int n = 0;
    const char *extra[6] = {a0, a1, a2, a3, a4, a5};
    for (int i = 0; i < 6 && extra[i]; i++) args[n++] = extra[i];
    args[n++] = "--registry";
    args[n++] = g_reg;
    args[n++] = "--experiments";
    args[n++] = g_exp;
    args[n++] = "--no-checkpoint";
    args[n] = NULL;
    return run_emolab(name, timeout, args);
}

static int64_t q(const char *sql) {
    sqlite3 *db = raw_open(g_reg, false);
    int64_t v = raw_int(db, sql);
    sqlite3_close(db);
    return v;
}

static void test_bad_input(void) {
    struct {
        const char *param, *want;
    } bad[] = {
        {"  head.dropuot: {values: [0.1]}\n", "parameters.head.dropuot: unknown parameter path, did you mean head.dropout?"},
        {"  head.dropout: {distribution: uniform, min: 0.1}\n", "needs both min and max (max is missing)"},
        {"  head.dropout: {min: 0.9, max: 0.1}\n", "min 0.9 is larger than max 0.1"},
        {"  head.dropout: {values: []}\n", "parameters.head.dropout.values: an empty list"},
        {"  head.dropout: {distribution: uniform, min: 0.1, max: 0.5}\n", "method grid cannot enumerate distribution uniform"},
        {"  head.dropout: {values: [1.5]}\n", "head.dropout"},
    };
    char *file = tpath("bad.yaml");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *t = el_printf("base: base.yaml\nmethod: grid\nparameters:\n%s", bad[i].param);
        write_text(file, t);
        free(t);
        int rc = sweep_cmd("bad", 60, "sweep", file, "-j", "2", NULL, NULL);
        char *err = child_output("bad", "err");
        CHECK(rc == 2, "bad input %zu: exit %d", i, rc);
        CHECK(strstr(err, bad[i].want) && strstr(err, "bad.yaml:4:"), "bad input %zu: %s", i, err);
        CHECK(strstr(err, "nothing was started"), "bad input %zu: %s", i, err);
        CHECK(!el_file_exists(g_reg) && !el_file_exists(g_exp), "bad input %zu started something", i);
        free(err);
    }
    write_text(file, "base: nowhere.yaml\nmethod: grid\nparameters:\n  head.dropout: {values: [0.1]}\n");
    int rc = sweep_cmd("bad", 60, "sweep", file, NULL, NULL, NULL, NULL);
    char *err = child_output("bad", "err");
    CHECK(rc == 2 && strstr(err, "nowhere.yaml"), "missing base: %d %s", rc, err);
    free(err);
    rc = sweep_cmd("bad", 60, "sweep", file, "-j", "0", NULL, NULL);
    err = child_output("bad", "err");
    CHECK(rc == 2 && strstr(err, "-j wants a number of workers"), "-j 0: %d %s", rc, err);
    free(err);
    rc = sweep_cmd("bad", 60, "sweep", "--bogus", NULL, NULL, NULL, NULL);
    CHECK(rc == 2, "unknown option: %d", rc);
    CHECK(!el_file_exists(g_reg) && !el_file_exists(g_exp), "bad options started something");
    free(file);
}

int main(void) {
    children_init();
    alarm(900);
    const char *dir = tmp_dir("sweep-cli");
    make_data(dir, 300, 80);
    make_base(dir, 1);
    char *reg = tpath("registry.db"), *exp = tpath("exp");
    g_reg = reg;
    g_exp = exp;
    test_bad_input();

    /* --dry-run */
    char *small = tpath("small.yaml");
    write_text(small, "base: base.yaml\n"
                      "method: grid\n"
                      "metric: {name: val_weighted_f1, goal: maximize}\n"
                      "parameters:\n"
                      "  train.lr: {values: [0.1, 0.3, 0.5]}\n"
                      "seeds: [1, 2]\n");
    int rc = sweep_cmd("dry", 60, "sweep", small, "--dry-run", NULL, NULL, NULL);
    char *out = child_output("dry", "out");
    CHECK(rc == 0, "dry run exit %d", rc);
    CHECK(strstr(out, "6 trial(s) = 3 configuration(s) x 2 seed(s)"), "dry run: %s", out);
    CHECK(strstr(out, "{\"train.lr\":0.5,\"train.seed\":2}"), "dry run: %s", out);
    CHECK(!el_file_exists(reg), "dry run created the registry");
    free(out);

    /* a run with progress log lines (stderr is not a terminal) */
    unsetenv("EMOLAB_PROGRESS");
    rc = sweep_cmd("small1", 300, "sweep", small, "-j", "2", NULL, NULL);
    setenv("EMOLAB_PROGRESS", "0", 1);
    char *err = child_output("small1", "err");
    out = child_output("small1", "out");
    CHECK(rc == 0, "small sweep exit %d\n%s", rc, err);
    CHECK(strstr(err, "] sweep small: 6/6 done (0 reused), 0 running, 0 failed, 0 stopped | best val_weighted_f1 0."),
          "progress: %s", err);
    CHECK(strstr(err, "] sweep small: 0/6 done"), "first progress line: %s", err);
    CHECK(strstr(err, "ETA"), "ETA: %s", err);
    CHECK(strstr(err, "2 worker(s), 1 libtorch thread(s) each") || strstr(err, "2 worker(s), "), "threads: %s", err);
    CHECK(strstr(out, "6 trials: 6 done (0 reused), 0 failed, 0 stopped; best val_weighted_f1"), "summary: %s", out);
    CHECK(q("SELECT count(*) FROM runs WHERE status = 'finished'") == 6, "runs");
    free(err);
    free(out);

    /* reuse, then --rerun */
    rc = sweep_cmd("small2", 300, "sweep", small, "-j", "2", NULL, NULL);
    out = child_output("small2", "out");
    err = child_output("small2", "err");
    CHECK(rc == 0 && strstr(out, "6 done (6 reused)"), "reuse: %d %s", rc, out);
    CHECK(strstr(err, "6 reused from earlier runs"), "reuse message: %s", err);
    CHECK(q("SELECT count(*) FROM runs") == 6, "the second sweep trained something");
    free(out);
    free(err);
    rc = sweep_cmd("dry2", 60, "sweep", small, "--dry-run", NULL, NULL, NULL);
    out = child_output("dry2", "out");
    CHECK(rc == 0 && strstr(out, "6 of these would be reused"), "dry run with reuse: %s", out);
    free(out);
    rc = sweep_cmd("small3", 300, "sweep", small, "-j", "2", "--rerun", NULL);
    out = child_output("small3", "out");
    CHECK(rc == 0 && strstr(out, "6 done (0 reused)"), "rerun: %d %s", rc, out);
    CHECK(q("SELECT count(*) FROM runs WHERE status = 'finished'") == 12, "--rerun did not retrain");
    CHECK(q("SELECT count(DISTINCT config_hash) FROM runs") == 6, "configs");
    free(out);

    /* --status */
    rc = sweep_cmd("status1", 60, "sweep", "--status", NULL, NULL, NULL, NULL);
    out = child_output("status1", "out");
    CHECK(rc == 0 && strstr(out, "small-") && strstr(out, "6 (6, 0, 0)"), "status list: %s", out);
    free(out);
    rc = sweep_cmd("status2", 60, "sweep", small, "--status", NULL, NULL, NULL);
    out = child_output("status2", "out");
    CHECK(rc == 0 && strstr(out, "pending 0, claimed 0, done 6, failed 0, stopped 0") && strstr(out, "best val_weighted_f1"),
          "status: %s", out);
    free(out);

    /* hyperband: lr 1e-6 cannot lower the val loss in one epoch; lr 0.5 does */
    make_base(dir, 3);
    char *hb = tpath("hb.yaml");
    write_text(hb, "base: base.yaml\n"
                   "method: grid\n"
                   "metric: {name: val_loss, goal: minimize}\n"
                   "parameters:\n"
                   "  train.lr: {values: [0.5, 1e-6]}\n"
                   "seeds: [1, 2, 3]\n"
                   "early_terminate: {type: hyperband, min_iter: 1, eta: 3}\n");
    rc = sweep_cmd("hb", 300, "sweep", hb, "-j", "1", NULL, NULL);
    err = child_output("hb", "err");
    CHECK(rc == 0, "hyperband sweep exit %d\n%s", rc, err);
    free(err);
    {
        sqlite3 *db = raw_open(reg, false);
        char *rows = raw_rows(db, "SELECT t.idx, t.status, t.epochs, r.status, r.epochs_run, t.error FROM sweep_trials t"
                                  " JOIN runs r ON r.uuid = t.run WHERE t.sweep_id LIKE 'hb-%' ORDER BY t.idx");
        CHECK(raw_int(db, "SELECT count(*) FROM sweep_trials t JOIN runs r ON r.uuid = t.run WHERE t.sweep_id LIKE 'hb-%'"
                          " AND t.idx >= 3 AND t.status = 'stopped' AND t.epochs = 1 AND r.status = 'stopped'"
                          " AND r.epochs_run = 1 AND t.error LIKE 'hyperband: val_loss % at epoch 1 is outside the best %'") == 3,
              "the bad trials were not all stopped at the first rung:\n%s", rows);
        CHECK(raw_int(db, "SELECT count(*) FROM sweep_trials t JOIN runs r ON r.uuid = t.run WHERE t.sweep_id LIKE 'hb-%'"
                          " AND t.idx < 3 AND t.status = 'done' AND r.epochs_run = 3") >= 1,
              "no good trial finished:\n%s", rows);
        CHECK(raw_int(db, "SELECT count(*) FROM runs WHERE status = 'stopped' AND error LIKE 'stopped early by hyperband at epoch 1'") >= 3,
              "runs' stop reason:\n%s", rows);
        free(rows);
        sqlite3_close(db);
    }

    /* bayes: trials made when claimed, by two workers */
    make_base(dir, 1);
    char *by = tpath("bayes.yaml");
    write_text(by, "base: base.yaml\n"
                   "method: bayes\n"
                   "metric: {name: val_weighted_f1, goal: maximize}\n"
                   "run_cap: 14\n"
                   "parameters:\n"
                   "  train.lr: {distribution: log_uniform_values, min: 1e-3, max: 1}\n"
                   "  head.dropout: {distribution: uniform, min: 0, max: 0.5}\n");
    setenv("EMOLAB_SWEEP_EXEC", "1", 1); /* workers as separate `emolab worker` processes */
    rc = sweep_cmd("bayes", 300, "sweep", by, "-j", "2", NULL, NULL);
    unsetenv("EMOLAB_SWEEP_EXEC");
    err = child_output("bayes", "err");
    CHECK(rc == 0, "bayes sweep exit %d\n%s", rc, err);
    free(err);
    CHECK(q("SELECT count(*) FROM sweep_trials WHERE sweep_id LIKE 'bayes-%' AND status = 'done'") == 14, "bayes trials");
    CHECK(q("SELECT count(DISTINCT idx) FROM sweep_trials WHERE sweep_id LIKE 'bayes-%' AND idx BETWEEN 0 AND 13") == 14,
          "bayes indexes");
    CHECK(q("SELECT count(*) FROM runs WHERE sweep_id LIKE 'bayes-%'") == 14, "bayes runs");
    CHECK(q("SELECT count(DISTINCT config_hash) FROM sweep_trials WHERE sweep_id LIKE 'bayes-%'") == 14, "bayes configs");
    {
        char *logs = all_logs(exp);
        CHECK(strstr(logs, "per trial: claim"), "worker summaries: %s", logs);
        free(logs);
    }

    /* Ctrl-C: the terminal sends SIGINT to the whole group */
    make_base(dir, 3);
    make_data(dir, 3000, 80);
    char *slow = tpath("slow.yaml");
    write_text(slow, "base: base.yaml\n"
                     "method: grid\n"
                     "parameters:\n"
                     "  train.lr: {values: [0.1, 0.2, 0.3, 0.4]}\n"
                     "  train.batch_size: {value: 16}\n"
                     "seeds: [1, 2]\n");
    const char *sargs[] = {"sweep", slow, "-j", "2", "--registry", reg, "--experiments", exp, "--no-checkpoint", NULL};
    pid_t pid = start_emolab("slow", sargs);
    double t0 = el_now();
    bool sent = false;
    while (el_now() - t0 < 300) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
        sqlite3 *db = NULL;
        if (sqlite3_open_v2(reg, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
            sqlite3_close(db);
            continue;
        }
        int64_t running = quiet_int(db, "SELECT count(*) FROM runs WHERE status = 'running' AND sweep_id LIKE 'slow-%'");
        sqlite3_close(db);
        if (running >= 1) {
            kill(-pid, SIGINT);
            sent = true;
            break;
        }
    }
    CHECK(sent, "no trial started");
    rc = wait_emolab(pid, 120);
    err = child_output("slow", "err");
    CHECK(rc == 130, "Ctrl-C: exit %d\n%s", rc, err);
    CHECK(strstr(err, "interrupted;") && strstr(err, "--resume"), "Ctrl-C message: %s", err);
    free(err);
    CHECK(q("SELECT count(*) FROM sweep_trials WHERE sweep_id LIKE 'slow-%' AND status = 'claimed'") == 0, "claims kept");
    CHECK(q("SELECT count(*) FROM sweep_trials WHERE sweep_id LIKE 'slow-%' AND lost_claims > 0") == 0, "counted as lost");
    CHECK(q("SELECT count(*) FROM runs WHERE sweep_id LIKE 'slow-%' AND status = 'interrupted'") >= 1, "no run interrupted");
    CHECK(q("SELECT count(*) FROM runs WHERE sweep_id LIKE 'slow-%' AND status = 'running'") == 0, "runs left running");
    int64_t pending = q("SELECT count(*) FROM sweep_trials WHERE sweep_id LIKE 'slow-%' AND status = 'pending'");
    CHECK(pending >= 1, "pending after Ctrl-C: %lld", (long long)pending);
    sqlite3 *db = raw_open(reg, false);
    char *id = raw_text(db, "SELECT id FROM sweeps WHERE id LIKE 'slow-%%'");
    sqlite3_close(db);
    /* an edited sweep file cannot continue the sweep */
    write_text(slow, "base: base.yaml\n"
                     "method: grid\n"
                     "parameters:\n"
                     "  train.lr: {values: [0.1, 0.2, 0.3, 0.45]}\n"
                     "  train.batch_size: {value: 16}\n"
                     "seeds: [1, 2]\n");
    rc = sweep_cmd("edited", 60, "sweep", slow, "--sweep-id", id, NULL, NULL);
    err = child_output("edited", "err");
    CHECK(rc == 2 && strstr(err, "does not define sweep"), "edited file: %d %s", rc, err);
    free(err);
    rc = sweep_cmd("edited2", 60, "sweep", slow, "--resume", NULL, NULL, NULL);
    err = child_output("edited2", "err");
    CHECK(rc == 2 && strstr(err, "to resume"), "resume of an edited file: %d %s", rc, err);
    free(err);
    write_text(slow, "base: base.yaml\n"
                     "method: grid\n"
                     "parameters:\n"
                     "  train.lr: {values: [0.1, 0.2, 0.3, 0.4]}   # a comment does not change the sweep\n"
                     "  train.batch_size: {value: 16}\n"
                     "seeds: [1, 2]\n");
    rc = sweep_cmd("cont", 600, "sweep", "--sweep-id", id, "-j", "2", NULL);
    err = child_output("cont", "err");
    CHECK(rc == 0, "--sweep-id: exit %d\n%s", rc, err);
    CHECK(strstr(err, "resuming sweep slow-"), "--sweep-id message: %s", err);
    free(err);
    CHECK(q("SELECT count(*) FROM sweep_trials WHERE sweep_id LIKE 'slow-%' AND status = 'done'") == 8, "slow sweep done");
    CHECK(q("SELECT count(*) FROM runs WHERE sweep_id LIKE 'slow-%' AND status = 'finished'") == 8, "slow runs");
    free(id);
    free(slow);
    free(by);
    free(hb);
    free(small);
    free(reg);
    free(exp);
    tmp_cleanup();
    return test_done("test_sweep_cli");
}
