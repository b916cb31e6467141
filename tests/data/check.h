/* check.h: tiny assertion helpers for the data tests (count failures, keep going, exit 1). */
#ifndef EL_TEST_DATA_CHECK_H
#define EL_TEST_DATA_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_failures;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            g_failures++;                                                            \
        }                                                                            \
    } while (0)

#define CHECK_I(a, b)                                                                        \
    do {                                                                                     \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                \
        if (va_ != vb_) {                                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", __FILE__,      \
                    __LINE__, #a, #b, va_, vb_);                                             \
            g_failures++;                                                                    \
        }                                                                                    \
    } while (0)

#define CHECK_S(a, b)                                                                           \
    do {                                                                                        \
        const char *sa_ = (a), *sb_ = (b);                                                      \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n", __FILE__,     \
                    __LINE__, #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");              \
            g_failures++;                                                                       \
        }                                                                                       \
    } while (0)

/* the string contains sub */
#define CHECK_HAS(s, sub)                                                                      \
    do {                                                                                       \
        const char *ss_ = (s), *su_ = (sub);                                                   \
        if (!ss_ || !strstr(ss_, su_)) {                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: \"%s\" should contain \"%s\"\n", __FILE__,   \
                    __LINE__, ss_ ? ss_ : "(null)", su_);                                      \
            g_failures++;                                                                      \
        }                                                                                      \
    } while (0)

static inline int check_done(const char *name) {
    if (g_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, g_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

#endif
