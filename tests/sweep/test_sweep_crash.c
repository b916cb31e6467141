/* test_sweep_crash: kill -9 of a whole sweep (controller and workers, one process group) mid-way,
 * then `emolab sweep FILE --resume`, ends with the same trials as an uninterrupted sweep of the
 * same file in another registry: the same (config hash, seed, status) per trial, the same set of
 * finished runs, exactly one finished run per done trial (nothing trained twice to the end), the
 * failed trials (a missing data file) failed once each and keep their reason. Then one worker is
 * killed (not the controller): its claim becomes claimable, the controller starts another worker,
 * and the sweep completes with that trial's lost claim counted. Last, the kill -9 + --resume again
 * with the sweep-directory store (the Slurm launcher's): the same trials and finished runs. */
#include "sweep/sweep_test.h"

static const char *SWEEP =
    "base: base.yaml\n"
    "method: grid\n"
    "metric: {name: val_weighted_f1, goal: maximize}\n"
    "parameters:\n"
    "  data.train:\n"
    "    values:\n"
    "      - [{path: train.csv, format: goemotions}]\n"
    "      - [{path: train.csv, format: goemotions, limit: 150}]\n"
    "      - [{path: missing.csv, format: goemotions}]\n"
    "  train.lr: {values: [0.1, 0.3]}\n"
    "seeds: [1, 2, 3, 4]\n";

#define N_TRIALS 24
#define N_FAILING 8

static char *trials_key(sqlite3 *db) {
    return raw_rows(db, "SELECT idx, config_hash, seed, status, reused FROM sweep_trials ORDER BY idx");
}

static char *finished_runs(sqlite3 *db) {
    return raw_rows(db, "SELECT config_hash, seed FROM runs WHERE status = 'finished' ORDER BY config_hash, seed");
}

static void check_complete(sqlite3 *db, const char *what) {
    CHECK(raw_int(db, "SELECT count(*) FROM sweep_trials") == N_TRIALS, "%s: trials", what);
    CHECK(raw_int(db, "SELECT count(*) FROM sweep_trials WHERE status = 'done'") == N_TRIALS - N_FAILING,
          "%s: done %lld", what, (long long)raw_int(db, "SELECT count(*) FROM sweep_trials WHERE status = 'done'"));
    CHECK(raw_int(db, "SELECT count(*) FROM sweep_trials WHERE status = 'failed' AND error LIKE '%missing.csv%'") ==
              N_FAILING, "%s: failed trials with their reason", what);
    CHECK(raw_int(db, "SELECT count(*) FROM runs WHERE status = 'finished'") == N_TRIALS - N_FAILING,
          "%s: finished runs %lld", what, (long long)raw_int(db, "SELECT count(*) FROM runs WHERE status = 'finished'"));
    CHECK(raw_int(db, "SELECT count(*) FROM runs WHERE status = 'failed'") == N_FAILING, "%s: failed runs %lld", what,
          (long long)raw_int(db, "SELECT count(*) FROM runs WHERE status = 'failed'"));
    CHECK(raw_int(db, "SELECT count(*) FROM runs WHERE status = 'running'") == 0, "%s: running runs", what);
    CHECK(raw_int(db, "SELECT count(*) FROM sweep_trials t JOIN runs r ON r.uuid = t.run WHERE t.status = 'done'"
                      " AND r.status = 'finished' AND r.config_hash = t.config_hash") == N_TRIALS - N_FAILING,
          "%s: trial runs", what);
}

int main(void) {
    children_init();
    alarm(900);
    const char *dir = tmp_dir("sweep-crash");
    make_data(dir, 400, 80);
    make_base(dir, 3);
    char *sweep = tpath("crash.yaml"), *reg_a = tpath("a.db"), *reg_b = tpath("b.db"), *exp = tpath("exp");
    write_text(sweep, SWEEP);

    /* the reference: uninterrupted */
    const char *a1[] = {"sweep", sweep, "-j", "2", "--registry", reg_a, "--experiments", exp, "--no-checkpoint", NULL};
    int rc = run_emolab("ref", 600, a1);
    char *err = child_output("ref", "err");
    CHECK(rc == 0, "reference sweep exit %d\n%s", rc, err);
    free(err);
    sqlite3 *da = raw_open(reg_a, false);
    check_complete(da, "reference");

    /* the same sweep, killed (SIGKILL to the whole group) while trials are claimed */
    const char *b1[] = {"sweep", sweep, "-j", "2", "--registry", reg_b, "--experiments", exp, "--no-checkpoint", NULL};
    pid_t pid = start_emolab("killed", b1);
    int64_t final_at_kill = -1, claimed_at_kill = -1;
    double t0 = el_now();
    while (el_now() - t0 < 300) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
        if (!el_file_exists(reg_b)) continue;
        sqlite3 *db = NULL;
        if (sqlite3_open_v2(reg_b, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
            sqlite3_close(db);
            continue;
        }
        sqlite3_busy_timeout(db, 1000);
        int64_t fin = quiet_int(db, "SELECT count(*) FROM sweep_trials WHERE status IN ('done', 'failed')");
        int64_t running = quiet_int(db, "SELECT count(*) FROM runs WHERE status = 'running'");
        int64_t cl = quiet_int(db, "SELECT count(*) FROM sweep_trials WHERE status = 'claimed'");
        sqlite3_close(db);
        if (fin >= 6 && running >= 1 && cl >= 1) {
            kill(-pid, SIGKILL);
            final_at_kill = fin;
            claimed_at_kill = cl;
            break;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) break; /* finished before we could kill it */
    }
    waitpid(pid, NULL, 0);
    forget_child(pid);
    REQUIRE(final_at_kill >= 0, "the sweep could not be killed mid-way (it ended or never got going)");
    printf("killed with %lld trials final, %lld claimed\n", (long long)final_at_kill, (long long)claimed_at_kill);
    /* no process of the group survives */
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
    CHECK(!group_alive(pid), "processes of the killed sweep are still alive");

    sqlite3 *db = raw_open(reg_b, false);
    CHECK(raw_int(db, "SELECT count(*) FROM sweep_trials WHERE status = 'claimed'") >= 1, "claims held by dead workers");
    CHECK(raw_int(db, "SELECT count(*) FROM sweep_trials WHERE status IN ('done', 'failed')") < N_TRIALS, "not done");
    sqlite3_close(db);

    /* resume: finishes what is missing */
    const char *b2[] = {"sweep", sweep, "--resume", "-j", "2", "--registry", reg_b, "--experiments", exp,
                        "--no-checkpoint", NULL};
    rc = run_emolab("resumed", 600, b2);
    err = child_output("resumed", "err");
    CHECK(rc == 0, "resume exit %d\n%s", rc, err);
    CHECK(strstr(err, "resuming sweep crash-"), "resume message: %s", err);
    CHECK(strstr(err, "interrupted trial(s) start again"), "resume message: %s", err);
    free(err);
    db = raw_open(reg_b, false);
    check_complete(db, "resumed");
    CHECK(raw_int(db, "SELECT count(*) FROM sweeps") == 1, "resume made a new sweep");
    CHECK(raw_int(db, "SELECT count(*) FROM sweep_trials WHERE lost_claims != 0") == 0,
          "a whole-sweep kill counted against trials");
    printf("interrupted runs after the kill: %lld\n", (long long)raw_int(db, "SELECT count(*) FROM runs WHERE status = 'interrupted'"));
    CHECK(raw_int(db, "SELECT count(*) FROM runs WHERE status NOT IN ('finished', 'failed', 'interrupted')") == 0, "statuses");
    char *ka = trials_key(da), *kb = trials_key(db);
    CHECK(!strcmp(ka, kb), "trials differ:\nreference\n%s\nresumed\n%s", ka, kb);
    char *fa = finished_runs(da), *fb = finished_runs(db);
    CHECK(!strcmp(fa, fb), "finished runs differ:\nreference\n%s\nresumed\n%s", fa, fb);
    /* the reasons of failed trials are the same text as in the reference (paths aside) */
    char *ea = raw_text(da, "SELECT count(DISTINCT error) FROM sweep_trials WHERE status = 'failed'");
    char *eb = raw_text(db, "SELECT count(DISTINCT error) FROM sweep_trials WHERE status = 'failed'");
    CHECK(!strcmp(ea, eb), "failure reasons %s vs %s", ea, eb);
    free(ea);
    free(eb);
    free(ka);
    free(kb);
    free(fa);
    free(fb);
    sqlite3_close(db);
    /* resuming a complete sweep does nothing */
    rc = run_emolab("again", 120, b2);
    CHECK(rc == 0, "resume of a complete sweep: exit %d", rc);
    db = raw_open(reg_b, false);
    CHECK(raw_int(db, "SELECT count(*) FROM runs WHERE status = 'finished'") == N_TRIALS - N_FAILING, "runs again");
    sqlite3_close(db);

    /* one worker killed (not the controller): its trial is given back and done by another worker */
    char *reg_c = tpath("c.db");
    const char *c1[] = {"sweep", sweep, "-j", "2", "--registry", reg_c, "--experiments", exp, "--no-checkpoint", NULL};
    pid = start_emolab("worker-killed", c1);
    pid_t victim = 0;
    t0 = el_now();
    while (el_now() - t0 < 300 && !victim) {
        struct timespec t2 = {0, 5 * 1000000L};
        nanosleep(&t2, NULL);
        if (!el_file_exists(reg_c)) continue;
        sqlite3 *d = NULL;
        if (sqlite3_open_v2(reg_c, &d, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
            sqlite3_close(d);
            continue;
        }
        sqlite3_busy_timeout(d, 1000);
        /* a worker in the middle of a run (not the controller, whose pid is `pid`) */
        char *q = sqlite3_mprintf("SELECT r.pid FROM runs r JOIN sweep_trials t ON t.claim_pid = r.pid"
                                  " WHERE r.status = 'running' AND t.status = 'claimed' AND r.pid != %d LIMIT 1", (int)pid);
        int64_t v = quiet_int(d, q);
        sqlite3_free(q);
        sqlite3_close(d);
        if (v > 0) victim = (pid_t)v;
        if (waitpid(pid, NULL, WNOHANG) == pid) break;
    }
    REQUIRE(victim > 0, "no worker to kill");
    kill(victim, SIGKILL);
    rc = wait_emolab(pid, 600);
    err = child_output("worker-killed", "err");
    CHECK(rc == 0, "sweep with a killed worker: exit %d\n%s", rc, err);
    CHECK(strstr(err, "was killed by signal 9"), "the controller did not notice the dead worker: %s", err);
    free(err);
    db = raw_open(reg_c, false);
    check_complete(db, "worker killed");
    CHECK(raw_int(db, "SELECT count(*) FROM sweep_trials WHERE lost_claims = 1 AND claims = 2 AND error IS NULL") +
              raw_int(db, "SELECT count(*) FROM sweep_trials WHERE lost_claims = 1 AND claims = 2 AND status = 'failed'") == 1,
          "the dead worker's trial: %s", raw_rows(db, "SELECT idx, status, claims, lost_claims, error FROM sweep_trials WHERE claims > 1"));
    /* its run: interrupted, unless it had just finished (then the trial is recorded with it) */
    CHECK(raw_int(db, "SELECT count(*) FROM runs WHERE status = 'interrupted'") <= 1, "the dead worker's run");
    sqlite3_close(db);

    /* kill -9 + resume with the sweep-directory store */
    char *reg_d = tpath("d.db"), *sd = tpath("sd");
    const char *d1[] = {"sweep", sweep, "-j", "2", "--sweep-dir", sd, "--registry", reg_d, "--experiments", exp,
                        "--no-checkpoint", NULL};
    pid = start_emolab("dir-killed", d1);
    bool killed = false;
    t0 = el_now();
    while (el_now() - t0 < 300 && !killed) {
        struct timespec t2 = {0, 5 * 1000000L};
        nanosleep(&t2, NULL);
        char *cmd = el_printf("ls '%s'/*/results 2>/dev/null | grep -c json; ls '%s'/*/claims 2>/dev/null | grep -c '^[0-9]*$'", sd, sd);
        FILE *p = popen(cmd, "r");
        free(cmd);
        int results = 0, claims = 0;
        if (p && fscanf(p, "%d %d", &results, &claims) != 2) results = claims = 0;
        if (p) pclose(p);
        if (results >= 6 && claims >= 1) {
            kill(-pid, SIGKILL);
            killed = true;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) break;
    }
    waitpid(pid, NULL, 0);
    forget_child(pid);
    CHECK(killed, "the directory sweep could not be killed mid-way");
    const char *d2[] = {"sweep", sweep, "--resume", "-j", "2", "--registry", reg_d, "--experiments", exp,
                        "--no-checkpoint", NULL};
    rc = run_emolab("dir-resumed", 600, d2);
    err = child_output("dir-resumed", "err");
    CHECK(rc == 0, "directory resume exit %d\n%s", rc, err);
    CHECK(strstr(err, "interrupted trial(s) start again"), "directory resume message: %s", err);
    free(err);
    db = raw_open(reg_d, false);
    check_complete(db, "directory store, resumed");
    ka = trials_key(da);
    kb = trials_key(db);
    CHECK(!strcmp(ka, kb), "directory store: trials differ:\nreference\n%s\nresumed\n%s", ka, kb);
    fa = finished_runs(da);
    fb = finished_runs(db);
    CHECK(!strcmp(fa, fb), "directory store: finished runs differ:\nreference\n%s\nresumed\n%s", fa, fb);
    free(ka);
    free(kb);
    free(fa);
    free(fb);
    sqlite3_close(db);
    free(reg_d);
    free(sd);
    sqlite3_close(da);
    free(reg_c);
    free(sweep);
    free(reg_a);
    free(reg_b);
    free(exp);
    tmp_cleanup();
    return test_done("test_sweep_crash");
}
