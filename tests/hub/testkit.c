/* testkit.c: see testkit.h. */
#define _GNU_SOURCE
#include "testkit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int tk_failures = 0;
int tk_checks = 0;

int tk_finish(const char *name) {
    printf("%s: %d checks, %d failed\n", name, tk_checks, tk_failures);
    return tk_failures ? 1 : 0;
}

char *tk_tempdir(const char *tag) {
    const char *t = getenv("TMPDIR");
    char buf[512];
    snprintf(buf, sizeof buf, "%s/emolab-%s-XXXXXX", t && *t ? t : "/tmp", tag);
    if (!mkdtemp(buf)) {
        perror("mkdtemp");
        exit(2);
    }
    return strdup(buf);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

void tk_rmrf(const char *path) {
    if (!path || !*path || !strcmp(path, "/")) return;
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

bool tk_exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

bool tk_is_symlink(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

char *tk_readlink(const char *path) {
    char buf[4096];
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    if (n < 0) return NULL;
    buf[n] = 0;
    return strdup(buf);
}

char *tk_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    size_t got;
    while ((got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap + 1);
        }
    }
    fclose(f);
    b[n] = 0;
    if (len) *len = n;
    return b;
}

bool tk_file_equals(const char *path, const void *data, size_t n) {
    size_t len = 0;
    char *b = tk_slurp(path, &len);
    bool ok = b && len == n && memcmp(b, data, n) == 0;
    free(b);
    return ok;
}

static const char *g_suffix;
static int g_count;
static int count_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)ftw;
    if (flag == FTW_F || flag == FTW_SL || flag == FTW_SLN) {
        size_t n = strlen(p), m = strlen(g_suffix);
        if (n >= m && !strcmp(p + n - m, g_suffix)) g_count++;
    }
    return 0;
}

int tk_count_files(const char *dir, const char *suffix) {
    g_suffix = suffix;
    g_count = 0;
    nftw(dir, count_one, 16, FTW_PHYS);
    return g_count;
}

static const char *g_needle;
static bool g_found;
static int search_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)ftw;
    if (strstr(p, g_needle)) g_found = true;
    if (flag == FTW_SL || flag == FTW_SLN) {
        char *t = tk_readlink(p);
        if (t && strstr(t, g_needle)) g_found = true;
        free(t);
    } else if (flag == FTW_F) {
        size_t n = 0;
        char *b = tk_slurp(p, &n);
        if (b && memmem(b, n, g_needle, strlen(g_needle))) g_found = true;
        free(b);
    }
    return 0;
}

bool tk_tree_contains(const char *dir, const char *needle) {
    g_needle = needle;
    g_found = false;
    nftw(dir, search_one, 16, FTW_PHYS);
    return g_found;
}

unsigned char *tk_bytes(size_t n, uint32_t seed) {
    unsigned char *b = malloc(n ? n : 1);
    uint64_t x = 0x9E3779B97F4A7C15ULL ^ seed;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b[i] = (unsigned char)(x >> 24);
    }
    return b;
}

extern char **environ;

/* environ with the entries of env applied ("K=V" sets, "K=" removes); built before fork so
 * the child only calls async-signal-safe functions. */
static char **build_env(const char *const *env) {
    size_t n = 0, m = 0;
    while (environ[n]) n++;
    while (env && env[m]) m++;
    char **out = calloc(n + m + 1, sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t nl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        bool overridden = false;
        for (size_t j = 0; j < m; j++) {
            const char *e2 = strchr(env[j], '=');
            if (e2 && (size_t)(e2 - env[j]) == nl && !strncmp(env[j], environ[i], nl))
                overridden = true;
        }
        if (!overridden) out[k++] = environ[i];
    }
    for (size_t j = 0; j < m; j++) {
        const char *e2 = strchr(env[j], '=');
        if (e2 && e2[1]) out[k++] = (char *)env[j];
    }
    out[k] = NULL;
    return out;
}

static char *read_all_fd(int fd) {
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap + 1);
        }
        ssize_t got = read(fd, b + n, cap - n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        n += (size_t)got;
    }
    b[n] = 0;
    return b;
}

int tk_exec(const char *const *argv, const char *const *env, tk_run *r) {
    return tk_exec_fsize(argv, env, 0, r);
}

int tk_exec_fsize(const char *const *argv, const char *const *env, int64_t fsize, tk_run *r) {
    memset(r, 0, sizeof *r);
    char outp[] = "/tmp/emolab-tk-out-XXXXXX", errp[] = "/tmp/emolab-tk-err-XXXXXX";
    int ofd = mkstemp(outp), efd = mkstemp(errp);
    fflush(stdout);
    fflush(stderr);
    char **envp = build_env(env);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(ofd, 1);
        dup2(efd, 2);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        if (fsize > 0) {
            struct rlimit rl = {(rlim_t)fsize, (rlim_t)fsize};
            signal(SIGXFSZ, SIG_IGN); /* stays ignored across exec */
            setrlimit(RLIMIT_FSIZE, &rl);
        }
        execve(argv[0], (char *const *)argv, envp);
        _exit(127);
    }
    free(envp);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    lseek(ofd, 0, SEEK_SET);
    lseek(efd, 0, SEEK_SET);
    r->out = read_all_fd(ofd);
    r->err = read_all_fd(efd);
    close(ofd);
    close(efd);
    unlink(outp);
    unlink(errp);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r->status;
}

void tk_run_free(tk_run *r) {
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

int tk_spawn(const char *const *argv, const char *const *env, const char *out_path,
             const char *err_path) {
    fflush(stdout);
    fflush(stderr);
    char **envp = build_env(env);
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(o, 1);
        dup2(e, 2);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        execve(argv[0], (char *const *)argv, envp);
        _exit(127);
    }
    free(envp);
    return (int)pid;
}

int tk_wait(int pid) {
    int st = 0;
    while (waitpid((pid_t)pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

const char *tk_emolab_bin(void) {
    const char *b = getenv("EMOLAB_BIN");
    if (!b || !*b) {
        fprintf(stderr, "EMOLAB_BIN is not set (run through ctest)\n");
        exit(2);
    }
    return b;
}
