/* bench_timing.h: what the C benchmark programs (bench/shim/bench_shim.c, bench/hf/bench_hf.c)
 * share: a monotonic clock, the median of timings, and the median time of a float32 matmul
 * through the shim (their GEMM rows). Header-only: bench_shim links the shim alone. */
#ifndef EL_BENCH_TIMING_H
#define EL_BENCH_TIMING_H

#include "torch_shim.h"

#include <stdlib.h>
#include <time.h>

static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* sorts v */
static inline double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* median seconds of a @ b over iters timed calls after warmup untimed ones; -1 when a matmul
 * fails (ts_last_error() says why) */
static inline double bench_matmul_seconds(ts_tensor a, ts_tensor b, int warmup, int iters) {
    double *t = malloc(sizeof(double) * (size_t)iters);
    if (!t) return -1;
    for (int i = -warmup; i < iters; i++) {
        double t0 = bench_now();
        ts_tensor c = ts_matmul(a, b);
        if (!c) {
            free(t);
            return -1;
        }
        ts_free(c);
        if (i >= 0) t[i] = bench_now() - t0;
    }
    double med = bench_median(t, iters);
    free(t);
    return med;
}

#endif /* EL_BENCH_TIMING_H */
