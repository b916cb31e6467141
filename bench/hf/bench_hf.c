/* bench_hf.c: emolab's side of bench/hf/run.sh. Through the product's encoder (runner/encoder.h)
 * and the shim, times one training step of a BERT encoder:
 *   ids [B, T] (uniform random over the vocabulary, all tokens real) -> encoder (training mode:
 *   dropout 0.1 on) -> CLS -> linear(H, 7) -> BCE-with-logits against fixed random targets ->
 *   backward -> AdamW (lr 1e-4, weight decay 0.01, every parameter) -> zero grads
 * default: 4 layers, H 256, 4 heads, FFN 1024, vocab 30522, 512 positions, B 32, T 64 (the issue's
 * bar); and a 1024 x 1024 x 1024 float32 GEMM for the machine's GEMM peak in the same run.
 * Prints "key value" lines: step_ms (median), step_gflops (matmul FLOPs of forward + backward /
 * step time), gemm_gflops.
 *   hf_bench [--threads N] [--steps N] [--layers L] [--hidden H] [--heads NH] [--ffn I]
 *            [--batch B] [--len T] [--vocab V] [--dropout-pct P]
 * HF_BENCH_PHASES=1 also prints the forward / backward / optimizer medians on stderr.
 * bench/hf/peer_bert.py does the same with transformers' BertModel in PyTorch eager. */
#define _POSIX_C_SOURCE 200809L
#include "../bench_timing.h"
#include "encoder.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECKED(x)                                                                               \
    do {                                                                                         \
        if (!(x)) {                                                                              \
            fprintf(stderr, "%s:%d: %s failed: %s | %s\n", __FILE__, __LINE__, #x,              \
                    el_last_error(), ts_last_error());                                           \
            exit(1);                                                                             \
        }                                                                                        \
    } while (0)

static int arg(int argc, char **argv, const char *name, int def) {
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) return atoi(argv[i + 1]);
    return def;
}

static double gemm_gflops(int iters) {
    const int64_t N = 1024;
    int64_t s[2] = {N, N};
    ts_tensor a = ts_randn(s, 2), b = ts_randn(s, 2);
    CHECKED(a && b);
    double med = bench_matmul_seconds(a, b, 2, iters);
    CHECKED(med > 0);
    ts_free(a);
    ts_free(b);
    return 2.0 * (double)(N * N * N) / med * 1e-9;
}

int main(int argc, char **argv) {
    int threads = arg(argc, argv, "--threads", 2), steps = arg(argc, argv, "--steps", 10);
    int64_t B = arg(argc, argv, "--batch", 32), T = arg(argc, argv, "--len", 64);
    const int32_t K = 7;
    ts_set_num_threads(threads);
    ts_manual_seed(1234);
    el_encoder_config c = el_encoder_default_config();
    c.n_layers = arg(argc, argv, "--layers", 4);
    c.hidden = arg(argc, argv, "--hidden", 256);
    c.n_heads = arg(argc, argv, "--heads", 4);
    c.intermediate = arg(argc, argv, "--ffn", 1024);
    c.vocab_size = arg(argc, argv, "--vocab", 30522);
    c.max_positions = 512;
    c.hidden_dropout = c.attn_dropout = arg(argc, argv, "--dropout-pct", 10) / 100.0;
    el_params ps = {0};
    el_encoder e;
    CHECKED(el_encoder_build(&e, &c, "backbone.", &ps) == 0);
    CHECKED(el_encoder_init_random(&e, 0.02) == 0);
    int64_t sw[2] = {K, c.hidden}, sb[1] = {K};
    ts_tensor hw = el_params_add(&ps, "head.w", ts_zeros(sw, 2, TS_F32), EL_GROUP_HEAD, true, true);
    ts_tensor hb = el_params_add(&ps, "head.b", ts_zeros(sb, 1, TS_F32), EL_GROUP_HEAD, true, false);
    CHECKED(hw && hb && el_init_linear(hw, hb, c.hidden) == 0);
    ts_tensor *all = malloc(sizeof(ts_tensor) * (size_t)ps.n);
    for (int32_t i = 0; i < ps.n; i++) all[i] = ps.items[i].t;
    ts_param_group g = {all, ps.n, 1e-4, 0.01};
    ts_optim opt = ts_adamw_new(&g, 1, ts_optim_default_params());
    CHECKED(opt);

    int32_t *ids = malloc(sizeof(int32_t) * (size_t)(B * T));
    uint64_t r = 42;
    for (int64_t i = 0; i < B * T; i++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        ids[i] = (int32_t)((r >> 33) % (uint64_t)c.vocab_size);
    }
    float *y = malloc(sizeof(float) * (size_t)(B * K));
    for (int64_t i = 0; i < B * K; i++) y[i] = (float)((i * 7919) % 5 == 0);
    int64_t sy[2] = {B, K}, s2[2] = {B, c.hidden};
    ts_tensor Y = ts_from_data(y, TS_F32, sy, 2);
    el_encoder_input in = {ids, NULL, NULL, (int32_t)B, (int32_t)T};
    el_encoder_run run = {true, -1, NULL};

    double *t = malloc(sizeof(double) * (size_t)steps * 4);
    double *tf = t + steps, *tb = t + 2 * steps, *to = t + 3 * steps;
    for (int i = -3; i < steps; i++) {
        double t0 = bench_now();
        CHECKED(ts_scope_begin() == 0);
        ts_tensor h = el_encoder_forward(&e, &in, &run);
        CHECKED(h);
        ts_tensor cls = ts_reshape(ts_slice(h, 1, 0, 1, 1), s2, 2);
        ts_tensor logits = ts_linear(cls, hw, hb);
        ts_tensor loss = ts_bce_with_logits(logits, Y, NULL, NULL, TS_REDUCE_MEAN);
        double t1 = bench_now();
        CHECKED(loss && ts_backward(loss) == 0);
        double t2 = bench_now();
        CHECKED(ts_optim_step(opt) == 0 && ts_optim_zero_grad(opt) == 0);
        CHECKED(ts_scope_end() == 0);
        double t3 = bench_now();
        if (i >= 0) {
            t[i] = t3 - t0;
            tf[i] = t1 - t0;
            tb[i] = t2 - t1;
            to[i] = t3 - t2;
        }
    }
    if (getenv("HF_BENCH_PHASES"))
        fprintf(stderr, "forward %.1f ms, backward %.1f ms, optimizer %.1f ms (medians)\n",
                bench_median(tf, steps) * 1e3, bench_median(tb, steps) * 1e3, bench_median(to, steps) * 1e3);
    double step = bench_median(t, steps);
    double flops = 3.0 * el_encoder_forward_flops(&c, B, T);
    printf("threads %d\nstep_ms %.3f\nstep_gflops %.2f\ngemm_gflops %.2f\n", ts_get_num_threads(),
           step * 1e3, flops / step * 1e-9, gemm_gflops(10));
    ts_optim_free(opt);
    ts_free(Y);
    el_encoder_free(&e);
    el_params_free(&ps);
    free(all);
    free(ids);
    free(y);
    free(t);
    return 0;
}
