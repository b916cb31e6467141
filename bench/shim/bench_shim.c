/* bench_shim.c: the shim side of bench/shim/run.sh. Times, through torch_shim.h:
 *   gemm    512x768 @ 768x768 float32 matmul (GFLOP/s)
 *   mlp     a train step of a 768 -> 1024 -> 7 MLP (relu, BCE-with-logits, AdamW), batch 64
 *   sparse  a train step of embedding_bag(2^20 x 128, mean, sparse grads) over 200 ids per sample,
 *           batch 64, -> linear 128 -> 7, BCE; lazy AdamW on the table + AdamW on the head
 * and prints one "key value" line per result (medians over the timed iterations).
 *   shim_bench [--threads N] [--only gemm|mlp|sparse] [--quick]
 * bench_torch.py does the same work in python3-torch; run.sh runs both and prints the ratios. */
#define _POSIX_C_SOURCE 200809L
#include "../bench_timing.h"
#include "torch_shim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECKED(x)                                                                               \
    do {                                                                                         \
        if (!(x)) {                                                                              \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #x, ts_last_error()); \
            exit(1);                                                                             \
        }                                                                                        \
    } while (0)

static ts_tensor param(const int64_t *shape, int nd, double bound) {
    ts_tensor t = ts_zeros(shape, nd, TS_F32);
    CHECKED(t && ts_uniform_(t, -bound, bound) == TS_OK && ts_set_requires_grad(t, 1) == TS_OK);
    return t;
}

static void bench_gemm(int iters) {
    ts_tensor a = ts_randn((const int64_t[]){512, 768}, 2), b = ts_randn((const int64_t[]){768, 768}, 2);
    CHECKED(a && b);
    double med = bench_matmul_seconds(a, b, 3, iters);
    CHECKED(med > 0);
    printf("gemm_ms %.4f\ngemm_gflops %.2f\n", med * 1e3, 2.0 * 512 * 768 * 768 / med * 1e-9);
    ts_free(a), ts_free(b);
}

static void bench_mlp(int iters) {
    enum { B = 64, IN = 768, HID = 1024, OUT = 7 };
    ts_tensor w1 = param((const int64_t[]){HID, IN}, 2, 1 / sqrt(IN)), b1 = param((const int64_t[]){HID}, 1, 1 / sqrt(IN));
    ts_tensor w2 = param((const int64_t[]){OUT, HID}, 2, 1 / sqrt(HID)), b2 = param((const int64_t[]){OUT}, 1, 1 / sqrt(HID));
    ts_tensor x = ts_randn((const int64_t[]){B, IN}, 2);
    ts_tensor r = ts_rand((const int64_t[]){B, OUT}, 2), y = ts_gt_scalar(r, 0.7), yf = ts_to_dtype(y, TS_F32);
    ts_tensor ps[] = {w1, b1, w2, b2};
    ts_param_group g = {ps, 4, 1e-3, 0.01};
    ts_optim o = ts_adamw_new(&g, 1, ts_optim_default_params());
    CHECKED(o);
    double *t = malloc(sizeof(double) * (size_t)iters);
    for (int i = -3; i < iters; i++) {
        double t0 = bench_now();
        CHECKED(ts_scope_begin() == TS_OK);
        ts_tensor h = ts_relu(ts_linear(x, w1, b1));
        ts_tensor logits = ts_linear(h, w2, b2);
        ts_tensor loss = ts_bce_with_logits(logits, yf, NULL, NULL, TS_REDUCE_MEAN);
        CHECKED(loss);
        CHECKED(ts_optim_zero_grad(o) == TS_OK);
        CHECKED(ts_backward(loss) == TS_OK);
        CHECKED(ts_optim_step(o) == TS_OK);
        CHECKED(ts_scope_end() == TS_OK);
        if (i >= 0) t[i] = bench_now() - t0;
    }
    printf("mlp_step_ms %.4f\n", bench_median(t, iters) * 1e3);
    free(t);
    ts_optim_free(o);
    ts_tensor all[] = {w1, b1, w2, b2, x, r, y, yf};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) ts_free(all[i]);
}

static void bench_sparse(int iters, int quick) {
    const int64_t V = quick ? (1 << 16) : (1 << 20);
    enum { D = 128, B = 64, PER = 200, OUT = 7, NB = 4 };
    ts_tensor E = ts_zeros((const int64_t[]){V, D}, 2, TS_F32);
    CHECKED(E && ts_normal_(E, 0, 1) == TS_OK && ts_set_requires_grad(E, 1) == TS_OK);
    ts_tensor w = param((const int64_t[]){OUT, D}, 2, 1 / sqrt(D)), b = param((const int64_t[]){OUT}, 1, 1 / sqrt(D));
    /* NB pre-generated batches of hashed ids (as a tokenizer would give), cycled */
    ts_tensor ids[NB];
    static int64_t buf[B * PER];
    uint64_t s = 88172645463325252ull;
    for (int k = 0; k < NB; k++) {
        for (int i = 0; i < B * PER; i++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            buf[i] = (int64_t)(s % (uint64_t)V);
        }
        ids[k] = ts_from_data(buf, TS_I64, (const int64_t[]){B * PER}, 1);
    }
    ts_tensor off = ts_arange(0, B * PER, TS_I64), offs = ts_slice(off, 0, 0, B * PER, PER);
    ts_tensor r = ts_rand((const int64_t[]){B, OUT}, 2), y = ts_gt_scalar(r, 0.7), yf = ts_to_dtype(y, TS_F32);
    ts_param_group ge = {&E, 1, 1e-3, 0.0};
    ts_tensor hp[] = {w, b};
    ts_param_group gh = {hp, 2, 1e-3, 0.0};
    ts_optim oe = ts_adamw_new(&ge, 1, ts_optim_default_params());
    ts_optim oh = ts_adamw_new(&gh, 1, ts_optim_default_params());
    CHECKED(oe && oh);
    double *t = malloc(sizeof(double) * (size_t)iters);
    for (int i = -3; i < iters; i++) {
        double t0 = bench_now();
        CHECKED(ts_scope_begin() == TS_OK);
        ts_tensor e = ts_embedding_bag(E, ids[(i + 3) % NB], offs, TS_BAG_MEAN, 1, NULL);
        ts_tensor loss = ts_bce_with_logits(ts_linear(e, w, b), yf, NULL, NULL, TS_REDUCE_MEAN);
        CHECKED(loss);
        CHECKED(ts_optim_zero_grad(oe) == TS_OK && ts_optim_zero_grad(oh) == TS_OK);
        CHECKED(ts_backward(loss) == TS_OK);
        CHECKED(ts_optim_step(oe) == TS_OK && ts_optim_step(oh) == TS_OK);
        CHECKED(ts_scope_end() == TS_OK);
        if (i >= 0) t[i] = bench_now() - t0;
    }
    printf("sparse_step_ms %.4f\n", bench_median(t, iters) * 1e3);
    free(t);
    ts_optim_free(oe), ts_optim_free(oh);
    for (int k = 0; k < NB; k++) ts_free(ids[k]);
    ts_tensor all[] = {E, w, b, off, offs, r, y, yf};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) ts_free(all[i]);
}

int main(int argc, char **argv) {
    int threads = 2, quick = 0;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--quick")) quick = 1;
        else {
            fprintf(stderr, "usage: %s [--threads N] [--only gemm|mlp|sparse] [--quick]\n", argv[0]);
            return 2;
        }
    }
    CHECKED(ts_set_num_threads(threads) == TS_OK);
    CHECKED(ts_manual_seed(0) == TS_OK);
    printf("threads %d\n", ts_get_num_threads());
    if (!only || !strcmp(only, "gemm")) bench_gemm(quick ? 3 : 30);
    if (!only || !strcmp(only, "mlp")) bench_mlp(quick ? 3 : 40);
    if (!only || !strcmp(only, "sparse")) bench_sparse(quick ? 3 : 30, quick);
    if (ts_live_handles() != 0 || ts_live_optims() != 0) {
        fprintf(stderr, "leaked %lld tensor / %lld optimizer handles\n", (long long)ts_live_handles(),
                (long long)ts_live_optims());
        return 1;
    }
    return 0;
}
