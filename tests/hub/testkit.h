/* testkit.h: checks, temporary directories and child processes for the hub tests. */
#ifndef HUB_TESTKIT_H
#define HUB_TESTKIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern int tk_failures;
extern int tk_checks;

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        tk_checks++;                                                                           \
        if (!(cond)) {                                                                         \
            tk_failures++;                                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);           \
        }                                                                                      \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                   \
    do {                                                                                       \
        tk_checks++;                                                                           \
        if (!(cond)) {                                                                         \
            tk_failures++;                                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
        }                                                                                      \
    } while (0)

/* Prints the summary line ctest shows and returns the exit code. */
int tk_finish(const char *name);

char *tk_tempdir(const char *tag);     /* mkdtemp under $TMPDIR or /tmp; malloc'd */
void tk_rmrf(const char *path);        /* rm -rf */
bool tk_exists(const char *path);      /* lstat: links count even when dangling */
bool tk_is_symlink(const char *path);
char *tk_readlink(const char *path);   /* malloc'd or NULL */
char *tk_slurp(const char *path, size_t *len); /* malloc'd or NULL */
bool tk_file_equals(const char *path, const void *data, size_t n);
int tk_count_files(const char *dir, const char *suffix); /* recursive, files/links ending so */
bool tk_tree_contains(const char *dir, const char *needle); /* any file's bytes, names, links */
/* deterministic pseudo-random bytes */
unsigned char *tk_bytes(size_t n, uint32_t seed);

typedef struct {
    int status;  /* exit code, or 128+signal */
    char *out;   /* stdout */
    char *err;   /* stderr */
} tk_run;

/* Runs argv with extra environment entries ("K=V", NULL-terminated; "K=" unsets K).
 * Returns the exit status; out/err captured. */
int tk_exec(const char *const *argv, const char *const *env, tk_run *r);
/* The same with a file size limit (RLIMIT_FSIZE, SIGXFSZ ignored) in the child: writes past it
 * fail with EFBIG, the way a full disk makes them fail. 0 = no limit. */
int tk_exec_fsize(const char *const *argv, const char *const *env, int64_t fsize, tk_run *r);
void tk_run_free(tk_run *r);
/* Starts argv in the background (stdout/stderr to files under dir); returns its pid. */
int tk_spawn(const char *const *argv, const char *const *env, const char *out_path,
             const char *err_path);
int tk_wait(int pid); /* exit status */
const char *tk_emolab_bin(void); /* $EMOLAB_BIN */

#endif /* HUB_TESTKIT_H */
