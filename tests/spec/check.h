/* check.h: minimal checks for the spec tests. Each CHECK prints file:line and the failed
 * expression (with both values for strings) and counts the failure; main() returns
 * check_summary() so ctest sees a non-zero exit when anything failed. */
#ifndef EL_TEST_CHECK_H
#define EL_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int g_checks, g_failed;

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        g_checks++;                                                                            \
        if (!(cond)) {                                                                         \
            g_failed++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);           \
        }                                                                                      \
    } while (0)

#define CHECK_STR(got, want)                                                                   \
    do {                                                                                       \
        const char *g_ = (got), *w_ = (want);                                                  \
        g_checks++;                                                                            \
        if (!g_ || !w_ || strcmp(g_, w_) != 0) {                                               \
            g_failed++;                                                                        \
            fprintf(stderr, "%s:%d: %s\n    got:  %s\n    want: %s\n", __FILE__, __LINE__, #got, \
                    g_ ? g_ : "(null)", w_ ? w_ : "(null)");                                   \
        }                                                                                      \
    } while (0)

/* `got` starts with `want` */
#define CHECK_PREFIX(got, want)                                                                \
    do {                                                                                       \
        const char *g_ = (got), *w_ = (want);                                                  \
        g_checks++;                                                                            \
        if (!g_ || strncmp(g_, w_, strlen(w_)) != 0) {                                         \
            g_failed++;                                                                        \
            fprintf(stderr, "%s:%d: %s does not start as expected\n    got:  %s\n    want: %s...\n", \
                    __FILE__, __LINE__, #got, g_ ? g_ : "(null)", w_);                         \
        }                                                                                      \
    } while (0)

/* `got` contains `want` */
#define CHECK_HAS(got, want)                                                                   \
    do {                                                                                       \
        const char *g_ = (got), *w_ = (want);                                                  \
        g_checks++;                                                                            \
        if (!g_ || !strstr(g_, w_)) {                                                          \
            g_failed++;                                                                        \
            fprintf(stderr, "%s:%d: %s does not contain the expected text\n    got:  %s\n    want: ...%s...\n", \
                    __FILE__, __LINE__, #got, g_ ? g_ : "(null)", w_);                         \
        }                                                                                      \
    } while (0)

static int check_summary(const char *name) {
    if (g_failed) {
        fprintf(stderr, "%s: %d of %d checks FAILED\n", name, g_failed, g_checks);
        return 1;
    }
    printf("%s: all %d checks passed\n", name, g_checks);
    return 0;
}

#endif
