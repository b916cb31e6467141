/* test_registry_crash: processes that die without recording a result.
 *  - a child begins a run and is killed with SIGKILL: its row stays `running` until the next
 *    read-write open marks it `interrupted`; finished runs are untouched;
 *  - children killed at several moments of a begin/epoch/finish loop: every run they reported as
 *    finished is there with all its rows, nothing is left `running`, integrity_check is ok;
 *  - the process check itself: alive, pid reused (other start time), exited, zombie, other boot,
 *    other host (left alone), finished rows (never touched). */
#include "reg_test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static char *g_path;

static long long proc_start(pid_t pid, char *state) {
    char p[64], buf[4096];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    int fd = open(p, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0) close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *q = strrchr(buf, ')') + 2;
    if (state) *state = *q;
    for (int i = 0; i < 19; i++) q = strchr(q, ' ') + 1;
    return atoll(q);
}

static void finish_one(el_registry *r, const char *name, char uuid[37], int variant) {
    el_run_info info = make_info(name, name);
    test_result t;
    make_result(&t, variant);
    REQUIRE(el_run_begin(r, &info, uuid) == 0, "%s", el_last_error());
    el_epoch_row ep = {1, 0.5, 0.4, 0.3, 0.2, 0.1, 1e-3, 1.0, 100.0};
    REQUIRE(el_run_epoch(r, uuid, &ep) == 0, "%s", el_last_error());
    ep.epoch = 2;
    REQUIRE(el_run_epoch(r, uuid, &ep) == 0, "%s", el_last_error());
    REQUIRE(el_run_finish(r, uuid, &t.res) == 0, "%s", el_last_error());
}

static bool read_full(int fd, char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        got += (size_t)k;
    }
    return true;
}

static void test_sigkill(void) {
    el_registry *r = el_registry_open(g_path, false);
    REQUIRE(r, "%s", el_last_error());
    char f1[37], f2[37];
    finish_one(r, "before-1", f1, 1);
    finish_one(r, "before-2", f2, 2);
    el_registry_close(r);
    sqlite3 *db = raw_open(g_path, false);
    char *s1 = run_snapshot(db, f1), *s2 = run_snapshot(db, f2);
    sqlite3_close(db);

    int fds[2];
    REQUIRE(pipe(fds) == 0, "pipe");
    pid_t pid = fork();
    REQUIRE(pid >= 0, "fork");
    if (pid == 0) {
        close(fds[0]);
        el_registry *cr = el_registry_open(g_path, false);
        if (!cr) _exit(2);
        el_run_info info = make_info("victim", "victim");
        char u[37];
        if (el_run_begin(cr, &info, u)) _exit(3);
        el_epoch_row ep = {1, 0.7, 0.6, 0.2, 0.1, 0.3, 1e-3, 1.0, 10.0};
        if (el_run_epoch(cr, u, &ep)) _exit(4);
        if (write(fds[1], u, 37) != 37) _exit(5);
        for (;;) pause(); /* training... until SIGKILL */
    }
    close(fds[1]);
    char uuid[37];
    REQUIRE(read_full(fds[0], uuid, 37), "child did not report its run");
    close(fds[0]);
    kill(pid, SIGKILL);
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status), "child");

    db = raw_open(g_path, false);
    char *st = raw_text(db, "SELECT status || '|' || epochs_run FROM runs WHERE uuid=%Q", uuid);
    CHECK(!strcmp(st, "running|1"), "after SIGKILL: %s", st);
    free(st);
    sqlite3_close(db);

    /* a read-only open never writes, so it leaves the row as it is */
    r = el_registry_open(g_path, true);
    REQUIRE(r, "%s", el_last_error());
    char s[16];
    CHECK(el_run_get_status(r, uuid, s) == 1 && !strcmp(s, "running"), "ro open changed the run: %s", s);
    el_registry_close(r);

    r = el_registry_open(g_path, false);
    REQUIRE(r, "%s", el_last_error());
    CHECK(el_run_get_status(r, uuid, s) == 1 && !strcmp(s, "interrupted"), "status after reopen: %s", s);
    CHECK(el_registry_recover(r) == 0, "second recovery found more");
    el_registry_close(r);
    db = raw_open(g_path, false);
    char *err = raw_text(db, "SELECT error FROM runs WHERE uuid=%Q", uuid);
    char want[64];
    snprintf(want, sizeof want, "pid %d ", (int)pid);
    CHECK(strstr(err, "interrupted") && strstr(err, want) && strstr(err, "ended"), "error: %s", err);
    free(err);
    char *fin = raw_text(db, "SELECT finished IS NOT NULL FROM runs WHERE uuid=%Q", uuid);
    CHECK(!strcmp(fin, "1"), "finished time");
    free(fin);
    char *a1 = run_snapshot(db, f1), *a2 = run_snapshot(db, f2);
    CHECK(!strcmp(s1, a1) && !strcmp(s2, a2), "finished runs changed by recovery");
    char *ok = raw_text(db, "PRAGMA integrity_check");
    CHECK(!strcmp(ok, "ok"), "integrity: %s", ok);
    free(ok);
    sqlite3_close(db);
    free(s1);
    free(s2);
    free(a1);
    free(a2);
}

/* kill -9 at several moments of a write loop */
static void test_kill_during_writes(void) {
    static const int delays_ms[] = {3, 11, 29, 47, 83, 131};
    int total_reported = 0;
    for (size_t k = 0; k < sizeof delays_ms / sizeof delays_ms[0]; k++) {
        int fds[2];
        REQUIRE(pipe(fds) == 0, "pipe");
        pid_t pid = fork();
        REQUIRE(pid >= 0, "fork");
        if (pid == 0) {
            close(fds[0]);
            el_registry *cr = el_registry_open(g_path, false);
            if (!cr) _exit(2);
            for (int i = 0;; i++) {
                char u[37], name[64];
                snprintf(name, sizeof name, "loop-%zu-%d", k, i);
                finish_one(cr, name, u, i);
                if (write(fds[1], u, 37) != 37) _exit(5);
            }
        }
        close(fds[1]);
        struct timespec ts = {0, delays_ms[k] * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        char reported[512][37];
        int n = 0;
        while (n < 512 && read_full(fds[0], reported[n], 37)) n++;
        close(fds[0]);
        total_reported += n;

        el_registry *r = el_registry_open(g_path, false); /* recovers */
        REQUIRE(r, "open after kill %zu: %s", k, el_last_error());
        el_registry_close(r);
        sqlite3 *db = raw_open(g_path, false);
        char *ok = raw_text(db, "PRAGMA integrity_check");
        CHECK(!strcmp(ok, "ok"), "integrity after kill at %d ms: %s", delays_ms[k], ok);
        free(ok);
        CHECK(raw_int(db, "SELECT count(*) FROM pragma_foreign_key_check") == 0, "foreign keys");
        CHECK(raw_int(db, "SELECT count(*) FROM runs WHERE status = 'running'") == 0, "runs left running");
        for (int i = 0; i < n; i++) {
            char *q = sqlite3_mprintf(
                "SELECT status || '|' || (SELECT count(*) FROM metrics WHERE run=%Q) || '|' ||"
                " (SELECT count(*) FROM class_metrics WHERE run=%Q) || '|' || (SELECT count(*) FROM thresholds WHERE run=%Q)"
                " || '|' || (SELECT count(*) FROM epochs WHERE run=%Q) || '|' || (SELECT count(*) FROM threshold_curve WHERE run=%Q)"
                " FROM runs WHERE uuid=%Q", reported[i], reported[i], reported[i], reported[i], reported[i], reported[i]);
            char *v = raw_text(db, "%s", q);
            CHECK(!strcmp(v, "finished|28|14|7|2|9"), "reported run %s after kill at %d ms: %s", reported[i],
                  delays_ms[k], v);
            free(v);
            sqlite3_free(q);
        }
        /* every finished run is complete (also those finished but not yet reported) */
        CHECK(raw_int(db, "SELECT count(*) FROM runs r WHERE status='finished' AND "
                          "(SELECT count(*) FROM metrics WHERE run=r.uuid) != 28") == 0, "incomplete finished run");
        sqlite3_close(db);
    }
    printf("kill -9 during writes: %d runs reported finished over %zu kills, all intact\n", total_reported,
           sizeof delays_ms / sizeof delays_ms[0]);
}

static void insert_running(sqlite3 *db, const char *uuid, const char *host, long long pid, long long start,
                           const char *boot, const char *status) {
    char *sql = sqlite3_mprintf("INSERT INTO runs (uuid, name, status, created, config_json, config_hash, host, pid,"
                                " pid_start, boot_id) VALUES (%Q, 'crafted', %Q, '2026-01-01T00:00:00.000Z', '{}',"
                                " 'h', %Q, %lld, %lld, %Q)", uuid, status, host, pid, start, boot);
    REQUIRE(raw_exec(db, sql) == SQLITE_OK, "insert %s", uuid);
    sqlite3_free(sql);
}

static void test_process_checks(void) {
    char *p2 = tpath("procs.db");
    el_registry *r = el_registry_open(p2, false);
    REQUIRE(r, "%s", el_last_error());
    el_registry_close(r);
    char *boot = NULL;
    size_t blen;
    REQUIRE(el_read_file("/proc/sys/kernel/random/boot_id", &boot, &blen) == 0, "boot_id");
    boot[strcspn(boot, "\n")] = 0;
    const char *host = el_hostname();
    long long me = getpid(), my_start = proc_start(getpid(), NULL);

    /* a child that has exited and been reaped: its pid is gone */
    pid_t gone = fork();
    if (gone == 0) _exit(0);
    long long gone_start = proc_start(gone, NULL);
    waitpid(gone, NULL, 0);
    /* a zombie: exited, not reaped yet (its /proc entry still exists, state Z) */
    pid_t zombie = fork();
    if (zombie == 0) _exit(0);
    long long zombie_start = -1;
    char zst = 0;
    for (int i = 0; i < 400; i++) {
        zombie_start = proc_start(zombie, &zst);
        if (zst == 'Z') break;
        struct timespec ts = {0, 5000000L};
        nanosleep(&ts, NULL);
    }
    REQUIRE(zst == 'Z', "child did not become a zombie");

    sqlite3 *db = raw_open(p2, true);
    raw_exec(db, "PRAGMA foreign_keys = ON");
    insert_running(db, "00000000-0000-4000-8000-00000000000a", host, me, my_start, boot, "running");     /* alive */
    insert_running(db, "00000000-0000-4000-8000-00000000000b", host, me, my_start - 7, boot, "running"); /* reused */
    insert_running(db, "00000000-0000-4000-8000-00000000000c", host, gone, gone_start, boot, "running"); /* gone */
    insert_running(db, "00000000-0000-4000-8000-00000000000d", host, zombie, zombie_start, boot, "running");
    insert_running(db, "00000000-0000-4000-8000-00000000000e", host, me, my_start,
                   "11111111-2222-3333-4444-555555555555", "running");                                  /* rebooted */
    insert_running(db, "00000000-0000-4000-8000-00000000000f", "some-other-host", gone, gone_start, boot, "running");
    insert_running(db, "00000000-0000-4000-8000-000000000010", host, gone, gone_start, boot, "running");
    raw_exec(db, "UPDATE runs SET status = 'finished' WHERE uuid = '00000000-0000-4000-8000-000000000010'");
    insert_running(db, "00000000-0000-4000-8000-000000000011", host, gone, gone_start, boot, "running");
    raw_exec(db, "UPDATE runs SET status = 'failed', error = 'bad data' WHERE uuid = '00000000-0000-4000-8000-000000000011'");
    char *before_fin = run_snapshot(db, "00000000-0000-4000-8000-000000000010");
    char *before_fail = run_snapshot(db, "00000000-0000-4000-8000-000000000011");
    sqlite3_close(db);

    r = el_registry_open(p2, false);
    REQUIRE(r, "%s", el_last_error());
    el_registry_close(r);
    waitpid(zombie, NULL, 0);

    db = raw_open(p2, false);
    struct {
        const char *uuid, *status, *why;
    } want[] = {
        {"00000000-0000-4000-8000-00000000000a", "running", NULL},
        {"00000000-0000-4000-8000-00000000000b", "interrupted", "pid now belongs to another process"},
        {"00000000-0000-4000-8000-00000000000c", "interrupted", "ended without"},
        {"00000000-0000-4000-8000-00000000000d", "interrupted", "ended without"},
        {"00000000-0000-4000-8000-00000000000e", "interrupted", "machine restarted"},
        {"00000000-0000-4000-8000-00000000000f", "running", NULL},
        {"00000000-0000-4000-8000-000000000010", "finished", NULL},
        {"00000000-0000-4000-8000-000000000011", "failed", "bad data"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char *s = raw_text(db, "SELECT status FROM runs WHERE uuid=%Q", want[i].uuid);
        char *e = raw_text(db, "SELECT error FROM runs WHERE uuid=%Q", want[i].uuid);
        CHECK(!strcmp(s, want[i].status), "%s: status %s, want %s", want[i].uuid, s, want[i].status);
        if (want[i].why) CHECK(strstr(e, want[i].why) != NULL, "%s: error '%s' lacks '%s'", want[i].uuid, e, want[i].why);
        else CHECK(!strcmp(e, "(null)"), "%s: error %s", want[i].uuid, e);
        free(s);
        free(e);
    }
    char *after_fin = run_snapshot(db, "00000000-0000-4000-8000-000000000010");
    char *after_fail = run_snapshot(db, "00000000-0000-4000-8000-000000000011");
    CHECK(!strcmp(before_fin, after_fin) && !strcmp(before_fail, after_fail), "final runs touched by recovery");
    sqlite3_close(db);
    free(before_fin);
    free(before_fail);
    free(after_fin);
    free(after_fail);
    free(boot);
    free(p2);
}

int main(void) {
    tmp_dir("crash");
    g_path = tpath("crash.db");
    test_sigkill();
    test_kill_during_writes();
    test_process_checks();
    free(g_path);
    tmp_cleanup();
    return test_done("test_registry_crash");
}
