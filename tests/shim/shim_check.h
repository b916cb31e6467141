/* shim_check.h: small helpers for the shim tests (C11). Every CHECK failure is printed with the
 * shim's last error and counted; main() returns check_exit(). */
#ifndef SHIM_CHECK_H
#define SHIM_CHECK_H

#include "torch_shim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_failures = 0;
static int g_checks = 0;

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        g_checks++;                                                                              \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n  last error: %s\n", __FILE__, __LINE__,   \
                    #cond, ts_last_error());                                                     \
            g_failures++;                                                                        \
        }                                                                                        \
    } while (0)

/* Stops the test: for preconditions whose failure would only cascade. */
#define REQUIRE(cond)                                                                            \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n  last error: %s\n", __FILE__, __LINE__, \
                    #cond, ts_last_error());                                                     \
            exit(1);                                                                             \
        }                                                                                        \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                    \
    do {                                                                                         \
        double a_ = (a), b_ = (b);                                                               \
        g_checks++;                                                                              \
        if (!(fabs(a_ - b_) <= (tol) * (1.0 + fabs(b_)))) {                                      \
            fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.10g, expected %s = %.10g\n",       \
                    __FILE__, __LINE__, #a, a_, #b, b_);                                         \
            g_failures++;                                                                        \
        }                                                                                        \
    } while (0)

/* The last error contains every one of the NULL-terminated substrings. */
#define CHECK_ERR(...) check_err_(__FILE__, __LINE__, __VA_ARGS__, (const char *)NULL)
static inline void check_err_(const char *file, int line, const char *first, ...);

#include <stdarg.h>
static inline void check_err_(const char *file, int line, const char *first, ...) {
    const char *e = ts_last_error();
    va_list ap;
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *)) {
        g_checks++;
        if (!strstr(e, s)) {
            fprintf(stderr, "%s:%d: error message lacks \"%s\": \"%s\"\n", file, line, s, e);
            g_failures++;
        }
    }
    va_end(ap);
}

/* A tensor of dtype dt from doubles: mk(TS_F32, (double[]){1,2,3,4}, 2, (int64_t[]){2,2}). */
static inline ts_tensor mk(ts_dtype dt, const double *vals, int32_t ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int32_t i = 0; i < ndim; i++) n *= shape[i];
    ts_tensor d = ts_from_data(vals, TS_F64, shape, ndim);
    REQUIRE(d);
    if (dt == TS_F64) return d;
    ts_tensor t = ts_to_dtype(d, dt);
    REQUIRE(t);
    ts_free(d);
    (void)n;
    return t;
}
#define MK(dt, shape, ...)                                                                       \
    mk(dt, (const double[]){__VA_ARGS__}, (int32_t)(sizeof(shape) / sizeof(int64_t)), shape)
#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})

static inline ts_tensor mk_i64(const int64_t *vals, int32_t ndim, const int64_t *shape) {
    ts_tensor t = ts_from_data(vals, TS_I64, shape, ndim);
    REQUIRE(t);
    return t;
}

/* Compares t (any dtype, converted to f64) with expected[0..n). */
#define CHECK_VALS(t, tol, ...)                                                                  \
    check_vals_(__FILE__, __LINE__, #t, (t), (tol), (const double[]){__VA_ARGS__},               \
                (int64_t)(sizeof((const double[]){__VA_ARGS__}) / sizeof(double)))
static inline void check_vals_(const char *file, int line, const char *what, ts_tensor t,
                               double tol, const double *expected, int64_t n) {
    g_checks++;
    if (!t) {
        fprintf(stderr, "%s:%d: %s is NULL: %s\n", file, line, what, ts_last_error());
        g_failures++;
        return;
    }
    int64_t m = ts_numel(t);
    if (m != n) {
        char b[128];
        fprintf(stderr, "%s:%d: %s has %lld elements (%s), expected %lld\n", file, line, what,
                (long long)m, ts_describe(t, b, sizeof b), (long long)n);
        g_failures++;
        return;
    }
    double *got = malloc(sizeof(double) * (size_t)(n ? n : 1));
    REQUIRE(got);
    REQUIRE(ts_copy_out(t, got, TS_F64, n) == TS_OK);
    for (int64_t i = 0; i < n; i++) {
        if (!(fabs(got[i] - expected[i]) <= tol * (1.0 + fabs(expected[i]))) &&
            !(isinf(got[i]) && got[i] == expected[i])) {
            fprintf(stderr, "%s:%d: %s[%lld] = %.10g, expected %.10g\n", file, line, what,
                    (long long)i, got[i], expected[i]);
            g_failures++;
            break;
        }
    }
    free(got);
}

#define CHECK_SHAPE(t, ...)                                                                      \
    check_shape_(__FILE__, __LINE__, #t, (t), (const int64_t[]){__VA_ARGS__},                     \
                 (int32_t)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
static inline void check_shape_(const char *file, int line, const char *what, ts_tensor t,
                                const int64_t *shape, int32_t nd) {
    int64_t got[TS_MAX_DIMS];
    g_checks++;
    int r = ts_shape(t, got, TS_MAX_DIMS);
    int ok = r == nd;
    for (int32_t i = 0; ok && i < nd; i++) ok = got[i] == shape[i];
    if (!ok) {
        char b[128];
        fprintf(stderr, "%s:%d: %s has shape %s\n", file, line, what, ts_describe(t, b, sizeof b));
        g_failures++;
    }
}

static inline double item(ts_tensor t) {
    double v = NAN;
    if (!t || ts_item(t, &v) != TS_OK) fprintf(stderr, "item failed: %s\n", ts_last_error());
    return v;
}

static inline int check_exit(const char *name) {
    if (g_failures) {
        fprintf(stderr, "%s: %d of %d checks failed\n", name, g_failures, g_checks);
        return 1;
    }
    printf("%s: all %d checks passed\n", name, g_checks);
    return 0;
}

#endif
