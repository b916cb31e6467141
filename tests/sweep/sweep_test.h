/* sweep_test.h: helpers for the sweep runner tests: tiny synthetic data (learnable: each label has
 * its own words), a tiny base spec, and `emolab` started as a child in its own process group
 * (killed as a group at exit, so no test leaves processes behind). Header-only. */
#ifndef EL_SWEEP_TEST_H
#define EL_SWEEP_TEST_H

#include "registry/reg_test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>

/* ---- files ---------------------------------------------------------------------------------------- */
static inline void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    REQUIRE(f, "write %s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

static inline char *read_text(const char *path) {
    char *d = NULL;
    size_t n = 0;
    if (el_read_file(path, &d, &n) != 0) return xstrdup("");
    return d;
}

static inline uint32_t data_rng(uint64_t *x) {
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*x >> 33);
}

/* train/val/test CSVs (goemotions format) of n_train/n_eval rows in dir. */
static inline void make_data(const char *dir, int n_train, int n_eval) {
    static const int ids[7] = {2, 11, 14, 17, 25, 26, 27};
    static const char *kw[7][3] = {{"злость", "ярость", "бесит"},       {"мерзко", "отвратительно", "фу"},
                                   {"страшно", "боюсь", "ужас"},        {"радость", "счастье", "ура"},
                                   {"грустно", "печаль", "тоска"},      {"вау", "неожиданно", "удивительно"},
                                   {"стол", "окно", "дом"}};
    static const char *filler[8] = {"и", "в", "на", "это", "очень", "был", "день", "мы"};
    const char *names[3] = {"train.csv", "val.csv", "test.csv"};
    uint64_t x = 12345;
    for (int s = 0; s < 3; s++) {
        char *p = el_path_join(dir, names[s]);
        FILE *f = fopen(p, "w");
        REQUIRE(f, "write %s", p);
        fprintf(f, "id,ru_text,labels\n");
        int n = s == 0 ? n_train : n_eval;
        for (int i = 0; i < n; i++) {
            int a = (int)(data_rng(&x) % 7), b = (int)(data_rng(&x) % 7);
            bool two = data_rng(&x) % 3 == 0 && a != b;
            const char *f1 = filler[data_rng(&x) % 8], *w1 = kw[a][data_rng(&x) % 3], *f2 = filler[data_rng(&x) % 8];
            const char *w2 = kw[b][data_rng(&x) % 3];
            int lo = two && b < a ? b : a, hi = two && b > a ? b : a;
            fprintf(f, "%c%d,\"%s %s %s%s%s\",[%d", "tvs"[s], i, f1, w1, f2, two ? " " : "", two ? w2 : "", ids[lo]);
            if (two) fprintf(f, " %d", ids[hi]);
            fprintf(f, "]\n");
        }
        fclose(f);
        free(p);
    }
}

/* base.yaml in dir: the tiny trial (bow 4096 x 8, no hidden layer, 1 epoch, data in dir). */
static inline void make_base(const char *dir, int epochs) {
    char *p = el_path_join(dir, "base.yaml");
    char *t = el_printf("name: tiny\n"
                        "owner: tests\n"
                        "data:\n"
                        "  labels: ekman7\n"
                        "  root: %s\n"
                        "  train: [{path: train.csv, format: goemotions}]\n"
                        "  val: {path: val.csv, format: goemotions}\n"
                        "  test: {path: test.csv, format: goemotions}\n"
                        "  drop_train_overlapping_eval: false\n"
                        "backbone: {type: bow, dim: 8, buckets: 4096, word_ngrams: 1, char_ngrams: [3, 3]}\n"
                        "head: {layers: []}\n"
                        "train: {epochs: %d, batch_size: 512, lr: 0.3, early_stopping: {patience: 0}}\n",
                        dir, epochs);
    write_text(p, t);
    free(t);
    free(p);
}

/* ---- emolab as a child process --------------------------------------------------------------------- */
#define MAX_CHILDREN 64
static pid_t g_children[MAX_CHILDREN];
static int g_n_children;

static inline void kill_children(void) {
    for (int i = 0; i < g_n_children; i++) {
        if (g_children[i] <= 0) continue;
        kill(-g_children[i], SIGKILL); /* the whole group: the sweep and its workers */
        waitpid(g_children[i], NULL, 0);
        g_children[i] = 0;
    }
}

static inline void on_fatal_signal(int sig) {
    kill_children();
    signal(sig, SIG_DFL);
    raise(sig);
}

static inline void children_init(void) {
    atexit(kill_children);
    signal(SIGTERM, on_fatal_signal);
    signal(SIGINT, on_fatal_signal);
    signal(SIGALRM, on_fatal_signal);
}

static inline const char *emolab_bin(void) {
    const char *b = getenv("EMOLAB_BIN");
    REQUIRE(b && *b, "EMOLAB_BIN is not set (run the test through ctest)");
    return b;
}

/* Starts `emolab ARGS...` (NULL-terminated) in g_tmp, in its own process group, stdout and stderr to
 * g_tmp/NAME.out and NAME.err. Returns the pid (= the group id). */
static inline pid_t start_emolab(const char *name, const char *const *args) {
    char *out = el_printf("%s/%s.out", g_tmp, name), *err = el_printf("%s/%s.err", g_tmp, name);
    const char *argv[64];
    int n = 0;
    argv[n++] = "emolab";
    for (int i = 0; args[i] && n < 63; i++) argv[n++] = args[i];
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0, "fork");
    if (pid == 0) {
        setpgid(0, 0);
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || chdir(g_tmp) != 0) _exit(120);
        dup2(fo, 1);
        dup2(fe, 2);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        execv(emolab_bin(), (char *const *)argv);
        _exit(121);
    }
    setpgid(pid, pid); /* both sides, so that the group exists before any kill */
    REQUIRE(g_n_children < MAX_CHILDREN, "too many children");
    g_children[g_n_children++] = pid;
    free(out);
    free(err);
    return pid;
}

static inline void forget_child(pid_t pid) {
    for (int i = 0; i < g_n_children; i++)
        if (g_children[i] == pid) g_children[i] = 0;
}

/* Waits for the child (up to timeout_s; then kills its group and returns -1). Exit code, or 128+sig. */
static inline int wait_emolab(pid_t pid, double timeout_s) {
    double t0 = el_now();
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            forget_child(pid);
            kill(-pid, SIGKILL); /* any straggler of its group */
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        if (el_now() - t0 > timeout_s) {
            fprintf(stderr, "timeout after %.0fs: killing process group %d\n", timeout_s, (int)pid);
            kill(-pid, SIGKILL);
            waitpid(pid, NULL, 0);
            forget_child(pid);
            return -1;
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Runs `emolab ARGS...` to the end; prints its stderr when the exit code is not the expected one. */
static inline int run_emolab(const char *name, double timeout_s, const char *const *args) {
    pid_t pid = start_emolab(name, args);
    return wait_emolab(pid, timeout_s);
}

static inline char *child_output(const char *name, const char *ext) {
    char *p = el_printf("%s/%s.%s", g_tmp, name, ext);
    char *t = read_text(p);
    free(p);
    return t;
}

/* One integer from a query; -1 on any error (no message: the registry may not exist yet). */
static inline int64_t quiet_int(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    return v;
}

/* Whether any process of a group is still alive (zombies waiting for their reaper do not count). */
static inline bool group_alive(pid_t pgid) {
    DIR *d = opendir("/proc");
    if (!d) return kill(-pgid, 0) == 0;
    struct dirent *e;
    bool alive = false;
    while (!alive && (e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[300], buf[1024];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0) continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0) continue;
        buf[n] = 0;
        char *p = strrchr(buf, ')');
        char state;
        int ppid, pgrp;
        if (p && sscanf(p + 2, "%c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == pgid && state != 'Z' && state != 'X')
            alive = true;
    }
    closedir(d);
    return alive;
}

/* All worker logs of a sweep directory tree, concatenated. */
static inline char *all_logs(const char *exp_dir) {
    char *cmd = el_printf("cat '%s'/sweeps/*/worker-*.log 2>/dev/null", exp_dir);
    FILE *p = popen(cmd, "r");
    free(cmd);
    el_buf b = {0};
    el_buf_puts(&b, "");
    char buf[4096];
    size_t n;
    while (p && (n = fread(buf, 1, sizeof buf, p)) > 0) el_buf_append(&b, buf, n);
    if (p) pclose(p);
    return el_buf_take(&b);
}

#endif /* EL_SWEEP_TEST_H */
