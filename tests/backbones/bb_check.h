/* bb_check.h: checks and helpers for the backbone tests (tests/backbones). Each CHECK prints
 * file:line and the failed expression and counts the failure; main() returns bb_summary() so
 * ctest sees a non-zero exit when anything failed. */
#ifndef EL_BB_CHECK_H
#define EL_BB_CHECK_H

#include "model.h"
#include "spec.h"
#include "torch_shim.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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

#define CHECK_MSG(cond, ...)                                                                   \
    do {                                                                                       \
        g_checks++;                                                                            \
        if (!(cond)) {                                                                         \
            g_failed++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
        }                                                                                      \
    } while (0)

#define CHECK_HAS(got, want)                                                                   \
    do {                                                                                       \
        const char *g_ = (got), *w_ = (want);                                                  \
        g_checks++;                                                                            \
        if (!g_ || !strstr(g_, w_)) {                                                          \
            g_failed++;                                                                        \
            fprintf(stderr, "%s:%d: %s does not contain the expected text\n    got:  %s\n"   \
                            "    want: ...%s...\n",                                            \
                    __FILE__, __LINE__, #got, g_ ? g_ : "(null)", w_);                         \
        }                                                                                      \
    } while (0)

static inline int bb_summary(const char *name) {
    if (g_failed) {
        fprintf(stderr, "%s: %d of %d checks FAILED\n", name, g_failed, g_checks);
        return 1;
    }
    printf("%s: all %d checks passed\n", name, g_checks);
    return 0;
}

/* A spec around a backbone and head given as YAML flow mappings; data paths are placeholders
 * (tests that train pass real ones through `extra`). */
static inline int bb_spec(el_spec *s, const char *backbone, const char *head, const char *extra) {
    char *y = el_printf(
        "name: t\n"
        "data: {train: [{path: x.csv, format: goemotions}], val: {path: x.csv, format: goemotions},"
        " test: {path: x.csv, format: goemotions}}\n"
        "backbone: %s\nhead: %s\n%s\n",
        backbone, head ? head : "{layers: []}", extra ? extra : "");
    int rc = el_spec_parse(y, strlen(y), "test.yaml", s);
    if (rc != 0) fprintf(stderr, "spec: %s\n", el_last_error());
    free(y);
    return rc;
}

/* Backbone outputs [n_rows, out_dim] of the given rows (eval mode) into out. */
static inline int bb_forward(el_backbone *bb, const void *in, const int64_t *rows, int32_t n, float *out) {
    ts_no_grad_begin();
    ts_scope_begin();
    ts_tensor y = bb->ops->forward(bb, in, rows, n, false);
    int rc = y && ts_size(y, 0) == n && ts_size(y, 1) == bb->out_dim &&
                     ts_copy_out(y, out, TS_F32, (int64_t)n * bb->out_dim) == 0
                 ? 0
                 : -1;
    if (rc) fprintf(stderr, "forward: %s %s\n", ts_last_error(), el_last_error());
    ts_scope_end();
    ts_no_grad_end();
    return rc;
}

static inline double bb_max_abs_diff(const float *a, const float *b, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) m = d; /* NaN propagates as a large difference */
    }
    return m;
}

#endif
