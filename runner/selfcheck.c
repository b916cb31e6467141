#define _GNU_SOURCE
/* selfcheck.c: `emolab selfcheck`: libtorch answers, the shim reports errors instead of
 * aborting, and a 512x768x768 float32 GEMM runs at OpenBLAS speed (not reference BLAS). */
#include "commands.h"
#include "torch_shim.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_selfcheck(int argc, char **argv) {
    double min_gflops = 40.0; /* reference BLAS gives ~5.6, OpenBLAS ~190 on 2 cores */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: emolab selfcheck [--min-gflops X]\n\n"
                   "Checks that libtorch loads, that shim errors come back as messages, and that\n"
                   "a 512x768x768 float32 GEMM reaches at least X GFLOP/s (default %.0f): Debian's\n"
                   "reference BLAS gives ~5.6, OpenBLAS ~190 on 2 cores.\n",
                   min_gflops);
            return 0;
        }
        if (!strcmp(argv[i], "--min-gflops") && i + 1 < argc) {
            if (el_parse_double(argv[++i], &min_gflops) != 0) {
                fprintf(stderr, "emolab selfcheck: --min-gflops wants a number\n");
                return 2;
            }
        } else {
            fprintf(stderr, "emolab selfcheck: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    int ok = 1;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    ts_set_num_threads((int32_t)(ncpu > 0 ? ncpu : 1)); /* as emolab run does by default */
    printf("libtorch %s, %d threads, CUDA %s\n", ts_version(), ts_get_num_threads(),
           ts_cuda_is_available() ? "available" : "not available");

    /* errors come back as messages */
    int64_t sa[2] = {2, 3}, sb[2] = {4, 5};
    ts_tensor a = ts_zeros(sa, 2, TS_F32), b = ts_zeros(sb, 2, TS_F32);
    ts_tensor c = ts_matmul(a, b);
    if (c || !strstr(ts_last_error(), "matmul")) {
        printf("FAIL shim error reporting: expected a matmul shape error, got '%s'\n",
               ts_last_error());
        ok = 0;
    } else {
        printf("ok   shim error reporting: %s\n", ts_last_error());
    }
    ts_free(c);
    ts_free(a);
    ts_free(b);

    /* GEMM speed */
    int64_t m = 512, k = 768, n = 768;
    int64_t s1[2] = {m, k}, s2[2] = {k, n};
    ts_tensor x = ts_randn(s1, 2), w = ts_randn(s2, 2);
    ts_tensor warm = ts_matmul(x, w);
    ts_free(warm);
    int reps = 20;
    double t0 = el_now();
    for (int r = 0; r < reps; r++) ts_free(ts_matmul(x, w));
    double dt = el_now() - t0;
    double gflops = 2.0 * (double)m * (double)k * (double)n * reps / dt / 1e9;
    ts_free(x);
    ts_free(w);
    if (gflops < min_gflops) {
        printf("FAIL GEMM 512x768x768: %.1f GFLOP/s < %.0f: libtorch is not using an optimised BLAS.\n"
               "     Fix: apt-get install libopenblas0-pthread (check: update-alternatives --display "
               "libblas.so.3-x86_64-linux-gnu)\n",
               gflops, min_gflops);
        ok = 0;
    } else {
        printf("ok   GEMM 512x768x768: %.1f GFLOP/s (%d threads)\n", gflops, ts_get_num_threads());
    }
    return ok ? 0 : 1;
}
