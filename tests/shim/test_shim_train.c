/* test_shim_train.c: a two-layer MLP (linear -> gelu -> dropout -> linear, cross-entropy,
 * AdamW with two parameter groups, grad clipping) trained for 200 steps on a synthetic 4-class
 * problem that a linear model cannot solve. Checks that the loss goes down, the accuracy is high,
 * and that nothing is left behind: ts_live_handles() == 0 and ts_live_optims() == 0. Run under
 * valgrind / LeakSanitizer by the leak tests. TRAIN_STEPS=N overrides the step count,
 * TRAIN_THREADS=N the intra-op thread count (default 1). */
#define _POSIX_C_SOURCE 200809L
#include "shim_check.h"

#include <stdint.h>
#include <time.h>

enum { N = 2048, IN = 8, HID = 64, K = 4, BATCH = 64 };

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static double urand(void) { /* xorshift64*, uniform [0,1) */
    g_rng ^= g_rng >> 12, g_rng ^= g_rng << 25, g_rng ^= g_rng >> 27;
    return (double)((g_rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static int label_of(const float *x) {
    return (x[0] * x[1] > 0 ? 1 : 0) + (x[2] * x[2] + x[3] * x[3] > 0.5 ? 2 : 0);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* Kaiming-uniform-like init for a [out,in] weight */
static ts_tensor param(int64_t out, int64_t in) {
    ts_tensor w = in ? ts_zeros(SHAPE(out, in), 2, TS_F32) : ts_zeros(SHAPE(out), 1, TS_F32);
    double b = 1.0 / sqrt((double)(in ? in : HID));
    ts_uniform_(w, -b, b);
    ts_set_requires_grad(w, 1);
    return w;
}

int main(void) {
    const char *env = getenv("TRAIN_STEPS");
    int steps = env ? atoi(env) : 200;
    ts_manual_seed(0);
    const char *th = getenv("TRAIN_THREADS");
    REQUIRE(ts_set_num_threads(th ? atoi(th) : 1) == TS_OK);
    static float X[N * IN];
    static int64_t Y[N];
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < IN; j++) X[i * IN + j] = (float)(2 * urand() - 1);
        Y[i] = label_of(X + i * IN);
    }
    ts_tensor Xall = ts_from_data(X, TS_F32, SHAPE(N, IN), 2);
    ts_tensor Yall = ts_from_data(Y, TS_I64, SHAPE(N), 1);
    ts_tensor w1 = param(HID, IN), b1 = param(HID, 0), w2 = param(K, HID), b2 = param(K, 0);
    ts_tensor body[] = {w1, b1}, head[] = {w2, b2}, all[] = {w1, b1, w2, b2};
    ts_param_group groups[2] = {{body, 2, 1e-2, 0.01}, {head, 2, 2e-2, 0.0}};
    ts_optim opt = ts_adamw_new(groups, 2, ts_optim_default_params());
    REQUIRE(opt);

    double first = 0, last = 0, gnorm = 0;
    int nfirst = 0, nlast = 0;
    double t0 = now();
    for (int s = 0; s < steps; s++) {
        REQUIRE(ts_scope_begin() == TS_OK);
        int64_t idx[BATCH];
        for (int i = 0; i < BATCH; i++) idx[i] = (int64_t)(urand() * N);
        ts_tensor I = ts_from_data(idx, TS_I64, SHAPE(BATCH), 1);
        ts_tensor x = ts_index_select(Xall, 0, I), y = ts_index_select(Yall, 0, I);
        ts_tensor h = ts_dropout(ts_gelu(ts_linear(x, w1, b1), 0), 0.1, 1);
        ts_tensor logits = ts_linear(h, w2, b2);
        ts_tensor loss = ts_cross_entropy(logits, y, NULL, -100, 0.0, TS_REDUCE_MEAN);
        REQUIRE(loss);
        double l = item(loss);
        REQUIRE(ts_optim_zero_grad(opt) == TS_OK);
        REQUIRE(ts_backward(loss) == TS_OK);
        REQUIRE(ts_clip_grad_norm(all, 4, 5.0, &gnorm) == TS_OK);
        if (s == steps / 2) REQUIRE(ts_optim_set_lr(opt, 0, 5e-3) == TS_OK);
        REQUIRE(ts_optim_step(opt) == TS_OK);
        REQUIRE(ts_scope_end() == TS_OK);
        if (s < 10) first += l, nfirst++;
        if (s >= steps - 10) last += l, nlast++;
    }
    double dt = now() - t0;
    first /= nfirst ? nfirst : 1;
    last /= nlast ? nlast : 1;

    /* evaluation on all points, no grad, no dropout */
    ts_no_grad_begin();
    ts_scope_begin();
    ts_tensor lg = ts_linear(ts_dropout(ts_gelu(ts_linear(Xall, w1, b1), 0), 0.1, 0), w2, b2);
    static float L[N * K];
    REQUIRE(ts_copy_out(lg, L, TS_F32, N * K) == TS_OK);
    ts_scope_end();
    ts_no_grad_end();
    int correct = 0;
    for (int i = 0; i < N; i++) {
        int best = 0;
        for (int k = 1; k < K; k++)
            if (L[i * K + k] > L[i * K + best]) best = k;
        correct += best == Y[i];
    }
    double acc = (double)correct / N;
    printf("%d steps in %.3f s (%.0f steps/s); loss %.4f -> %.4f; accuracy %.3f; last grad norm %.3f\n",
           steps, dt, steps / dt, first, last, acc, gnorm);
    if (steps >= 200) {
        CHECK(last < 0.5 * first);
        CHECK(acc > 0.85);
    }
    ts_optim_free(opt);
    ts_free(w1), ts_free(b1), ts_free(w2), ts_free(b2), ts_free(Xall), ts_free(Yall);
    CHECK(ts_live_handles() == 0);
    CHECK(ts_live_optims() == 0);
    return check_exit("test_shim_train");
}
