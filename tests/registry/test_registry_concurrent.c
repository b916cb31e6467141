/* test_registry_concurrent: 4 writer processes x 50 runs (begin, 2 epochs, artifact, finish)
 * into one registry that none of them created beforehand, while a fifth process reads the
 * leaderboard read-only in a loop. Exactly 200 runs, no duplicates, none lost (every uuid a
 * writer got back is there, complete), no "database is locked" or any other error,
 * integrity_check ok. Prints the wall time and the insert rate. */
#include "reg_test.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define N_WRITERS 4
#define N_RUNS 50

static char *g_path;

static int writer(int id, int barrier, const char *out_path) {
    char c;
    while (read(barrier, &c, 1) < 0 && errno == EINTR) {
    }
    FILE *out = fopen(out_path, "w");
    if (!out) return 10;
    el_registry *r = el_registry_open(g_path, false);
    if (!r) {
        fprintf(stderr, "writer %d: open: %s\n", id, el_last_error());
        return 11;
    }
    for (int i = 0; i < N_RUNS; i++) {
        char name[64], hash[64], u[37];
        snprintf(name, sizeof name, "w%d-run%d", id, i);
        snprintf(hash, sizeof hash, "hash-%d-%d", id, i);
        el_run_info info = make_info(name, hash);
        info.sweep_id = "sweep-concurrent";
        test_result t;
        make_result(&t, i);
        if (el_run_begin(r, &info, u)) goto fail;
        for (int e = 1; e <= 2; e++) {
            el_epoch_row ep = {e, 0.5 / e, 0.4 / e, 0.3 * e, 0.2 * e, 0.25 * e, 1e-3, 1.0, 100.0};
            if (el_run_epoch(r, u, &ep)) goto fail;
        }
        if (el_run_artifact(r, u, "checkpoint", "best.safetensors", "00ff", 1024)) goto fail;
        if (el_run_finish(r, u, &t.res)) goto fail;
        fprintf(out, "%s\n", u);
        fflush(out);
    }
    el_registry_close(r);
    fclose(out);
    return 0;
fail:
    fprintf(stderr, "writer %d: %s\n", id, el_last_error());
    return 12;
}

/* Reads the leaderboard until all 200 runs are finished (every query must succeed). */
static int reader(int barrier) {
    char c;
    while (read(barrier, &c, 1) < 0 && errno == EINTR) {
    }
    double t0 = el_now();
    el_registry *r = NULL;
    while (!r && el_now() - t0 < 60) { /* until a writer has created it */
        r = el_registry_open(g_path, true);
        if (!r) {
            struct timespec ts = {0, 2000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (!r) {
        fprintf(stderr, "reader: %s\n", el_last_error());
        return 20;
    }
    sqlite3 *db = el_registry_db(r);
    int queries = 0;
    for (;;) {
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(db,
                                    "SELECT r.uuid, r.name, m.value FROM runs r JOIN metrics m ON m.run = r.uuid "
                                    "AND m.split = 'test' AND m.name = 'weighted_f1' WHERE r.status = 'finished' "
                                    "ORDER BY m.value DESC", -1, &st, NULL);
        if (rc != SQLITE_OK) {
            fprintf(stderr, "reader: prepare: %s\n", sqlite3_errmsg(db));
            return 21;
        }
        int rows = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) rows++;
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            fprintf(stderr, "reader: query: %s\n", sqlite3_errmsg(db));
            return 22;
        }
        queries++;
        if (rows == N_WRITERS * N_RUNS) break;
        if (el_now() - t0 > 120) {
            fprintf(stderr, "reader: only %d finished runs after 120 s\n", rows);
            return 23;
        }
    }
    el_registry_close(r);
    printf("reader: %d leaderboard queries during the writes, none failed\n", queries);
    return 0;
}

int main(void) {
    tmp_dir("concurrent");
    g_path = tpath("shared.db");
    int barrier[2];
    REQUIRE(pipe(barrier) == 0, "pipe");
    pid_t pids[N_WRITERS + 1];
    char *outs[N_WRITERS];
    for (int w = 0; w <= N_WRITERS; w++) {
        char name[32];
        snprintf(name, sizeof name, "writer%d.txt", w);
        if (w < N_WRITERS) outs[w] = tpath(name);
        pids[w] = fork();
        REQUIRE(pids[w] >= 0, "fork");
        if (pids[w] == 0) {
            close(barrier[1]);
            _exit(w < N_WRITERS ? writer(w, barrier[0], outs[w]) : reader(barrier[0]));
        }
    }
    close(barrier[0]);
    double t0 = el_now();
    close(barrier[1]); /* go: all start at once, on a registry that does not exist yet */
    for (int w = 0; w <= N_WRITERS; w++) {
        int status;
        REQUIRE(waitpid(pids[w], &status, 0) == pids[w], "wait");
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s %d exited with %d", w < N_WRITERS ? "writer" : "reader",
              w, WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
    }
    double wall = el_now() - t0;
    int total = N_WRITERS * N_RUNS;
    printf("%d writers x %d runs (begin, 2 epochs, artifact, finish = 5 transactions each): %.2f s wall, "
           "%.0f runs/s, %.0f transactions/s\n",
           N_WRITERS, N_RUNS, wall, total / wall, 5 * total / wall);

    sqlite3 *db = raw_open(g_path, false);
    CHECK(raw_int(db, "SELECT count(*) FROM runs") == total, "runs: %lld", (long long)raw_int(db, "SELECT count(*) FROM runs"));
    CHECK(raw_int(db, "SELECT count(DISTINCT uuid) FROM runs") == total, "distinct uuids");
    CHECK(raw_int(db, "SELECT count(DISTINCT name) FROM runs") == total, "distinct names");
    CHECK(raw_int(db, "SELECT count(*) FROM runs WHERE status = 'finished' AND sweep_id = 'sweep-concurrent'") == total,
          "finished");
    CHECK(raw_int(db, "SELECT count(*) FROM epochs") == 2 * total, "epochs");
    CHECK(raw_int(db, "SELECT count(*) FROM metrics") == 28 * total, "metrics");
    CHECK(raw_int(db, "SELECT count(*) FROM class_metrics") == 14 * total, "class metrics");
    CHECK(raw_int(db, "SELECT count(*) FROM artifacts") == total, "artifacts");
    CHECK(raw_int(db, "SELECT count(*) FROM params") == 4 * total, "params");
    CHECK(raw_int(db, "SELECT count(*) FROM emolab_schema") == 1, "schema created once");
    /* every uuid a writer was given is in the registry */
    int seen = 0;
    for (int w = 0; w < N_WRITERS; w++) {
        FILE *f = fopen(outs[w], "r");
        REQUIRE(f, "%s", outs[w]);
        char line[64];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = 0;
            char *q = sqlite3_mprintf("SELECT count(*) FROM runs WHERE uuid = %Q AND status = 'finished'", line);
            CHECK(raw_int(db, q) == 1, "writer %d's run %s missing", w, line);
            sqlite3_free(q);
            seen++;
        }
        fclose(f);
        free(outs[w]);
    }
    CHECK(seen == total, "writers reported %d runs", seen);
    char *ok = raw_text(db, "PRAGMA integrity_check");
    CHECK(!strcmp(ok, "ok"), "integrity: %s", ok);
    free(ok);
    CHECK(raw_int(db, "SELECT count(*) FROM pragma_foreign_key_check") == 0, "foreign keys");
    sqlite3_close(db);
    free(g_path);
    tmp_cleanup();
    return test_done("test_registry_concurrent");
}
