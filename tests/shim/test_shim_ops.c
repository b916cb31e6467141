/* test_shim_ops.c: forward values of the ops against results computed by hand (small cases,
 * or the textbook formula evaluated in plain C double arithmetic: never through the shim). */
#include "shim_check.h"

#include <stdint.h>

#define TOL 1e-5

static double sigm(double x) { return 1.0 / (1.0 + exp(-x)); }

static void test_linear_algebra(void) {
    ts_scope_begin();
    ts_tensor x = MK(TS_F32, SHAPE(2, 3), 1, 2, 3, 4, 5, 6);
    ts_tensor w = MK(TS_F32, SHAPE(2, 3), 1, 0, -1, 0.5, 0.5, 0.5);
    ts_tensor b = MK(TS_F32, SHAPE(2), 0.1, -0.2);
    ts_tensor y = ts_linear(x, w, b);
    CHECK_SHAPE(y, 2, 2);
    CHECK_VALS(y, TOL, -1.9, 2.8, -1.9, 7.3);
    CHECK_VALS(ts_linear(x, w, NULL), TOL, -2, 3, -2, 7.5);
    ts_tensor v = MK(TS_F32, SHAPE(3), 1, 1, 2);
    CHECK_VALS(ts_matmul(x, v), TOL, 9, 21);
    ts_tensor a3 = MK(TS_F32, SHAPE(1, 2, 2), 1, 2, 3, 4);
    ts_tensor b3 = MK(TS_F32, SHAPE(1, 2, 2), 5, 6, 7, 8);
    CHECK_VALS(ts_bmm(a3, b3), TOL, 19, 22, 43, 50);
    ts_tensor ones = ts_full(SHAPE(1, 2, 2), 3, TS_F32, 1.0);
    CHECK_VALS(ts_baddbmm(ones, a3, b3, 2.0, 0.5), TOL, 11.5, 13, 23.5, 27);
    /* conv1d: x [1,1,5], w [1,1,2] = [2,1], b 0.5 */
    ts_tensor cx = MK(TS_F32, SHAPE(1, 1, 5), 1, 2, 3, 4, 5);
    ts_tensor cw = MK(TS_F32, SHAPE(1, 1, 2), 2, 1);
    ts_tensor cb = MK(TS_F32, SHAPE(1), 0.5);
    ts_tensor c1 = ts_conv1d(cx, cw, cb, 1, 0, 1, 1);
    CHECK_SHAPE(c1, 1, 1, 4);
    CHECK_VALS(c1, TOL, 4.5, 7.5, 10.5, 13.5);
    CHECK_VALS(ts_conv1d(cx, cw, cb, 2, 1, 1, 1), TOL, 1.5, 7.5, 13.5);
    CHECK_VALS(ts_conv1d(cx, cw, NULL, 1, 0, 2, 1), TOL, 2 + 3, 4 + 4, 6 + 5); /* dilation 2 */
    ts_scope_end();
}

static void test_embeddings(void) {
    ts_scope_begin();
    ts_tensor W = MK(TS_F32, SHAPE(4, 2), 0, 1, 2, 3, 4, 5, 6, 7);
    ts_tensor ids = mk_i64((const int64_t[]){3, 0, 1, 1}, 2, SHAPE(2, 2));
    ts_tensor e = ts_embedding(W, ids, -1);
    CHECK_SHAPE(e, 2, 2, 2);
    CHECK_VALS(e, 0, 6, 7, 0, 1, 2, 3, 2, 3);
    /* padding_idx: no gradient reaches the padding row */
    ts_set_requires_grad(W, 1);
    ts_tensor ep = ts_embedding(W, ids, 0);
    CHECK(ts_backward(ts_sum(ep)) == TS_OK);
    CHECK_VALS(ts_grad(W), 0, 0, 0, 2, 2, 0, 0, 1, 1);
    ts_zero_grad(W);

    /* bags: {0,2}, {}, {3,1,1} */
    ts_tensor bid = mk_i64((const int64_t[]){0, 2, 3, 1, 1}, 1, SHAPE(5));
    ts_tensor off = mk_i64((const int64_t[]){0, 2, 2}, 1, SHAPE(3));
    ts_tensor bs = ts_embedding_bag(W, bid, off, TS_BAG_SUM, 0, NULL);
    CHECK_SHAPE(bs, 3, 2);
    CHECK_VALS(bs, TOL, 4, 6, 0, 0, 10, 13);
    CHECK_VALS(ts_embedding_bag(W, bid, off, TS_BAG_MEAN, 0, NULL), TOL, 2, 3, 0, 0, 10.0 / 3, 13.0 / 3);
    CHECK_VALS(ts_embedding_bag(W, bid, off, TS_BAG_MAX, 0, NULL), TOL, 4, 5, 0, 0, 6, 7);
    ts_tensor psw = MK(TS_F32, SHAPE(5), 1, 0.5, 2, 1, -1);
    CHECK_VALS(ts_embedding_bag(W, bid, off, TS_BAG_SUM, 0, psw), TOL, 2, 3.5, 0, 0, 12, 14);
    CHECK(ts_embedding_bag(W, bid, off, TS_BAG_MEAN, 0, psw) == NULL);
    CHECK_ERR("ts_embedding_bag", "per_sample_weights", "sum mode");
    /* i32 ids with i64 offsets are accepted */
    ts_tensor bid32 = ts_to_dtype(bid, TS_I32);
    CHECK_VALS(ts_embedding_bag(W, bid32, off, TS_BAG_SUM, 0, NULL), TOL, 4, 6, 0, 0, 10, 13);

    /* sparse gradient (mean mode): bag {0,2} gives 1/2 each, bag {3,1,1} gives 1/3 per entry */
    ts_tensor bm = ts_embedding_bag(W, bid, off, TS_BAG_MEAN, 1, NULL);
    CHECK(ts_backward(ts_sum(bm)) == TS_OK);
    ts_tensor g = ts_grad(W);
    CHECK(ts_is_sparse(g) == 1);
    CHECK_SHAPE(g, 4, 2);
    CHECK_VALS(g, TOL, 0.5, 0.5, 2.0 / 3, 2.0 / 3, 0.5, 0.5, 1.0 / 3, 1.0 / 3);
    char buf[64];
    CHECK(strstr(ts_describe(g, buf, sizeof buf), "sparse") != NULL);
    ts_zero_grad(W);
    /* out-of-range ids come back as an error */
    ts_tensor bad = mk_i64((const int64_t[]){0, 9}, 1, SHAPE(2));
    ts_tensor off1 = mk_i64((const int64_t[]){0}, 1, SHAPE(1));
    CHECK(ts_embedding_bag(W, bad, off1, TS_BAG_SUM, 1, NULL) == NULL);
    CHECK_ERR("ts_embedding_bag", "weight f32[4,2]", "ids i64[2]");
    ts_scope_end();
}

static void test_elementwise(void) {
    ts_scope_begin();
    ts_tensor a = MK(TS_F32, SHAPE(2, 2), 1, 2, 3, 4);
    ts_tensor r = MK(TS_F32, SHAPE(2), 10, 20);
    CHECK_VALS(ts_add(a, r), TOL, 11, 22, 13, 24);
    CHECK_VALS(ts_sub(a, r), TOL, -9, -18, -7, -16);
    CHECK_VALS(ts_mul(a, r), TOL, 10, 40, 30, 80);
    CHECK_VALS(ts_div(a, r), TOL, 0.1, 0.1, 0.3, 0.2);
    CHECK_VALS(ts_add_scaled(a, r, -0.5), TOL, -4, -8, -2, -6);
    CHECK_VALS(ts_add_scalar(a, 1.5), TOL, 2.5, 3.5, 4.5, 5.5);
    CHECK_VALS(ts_mul_scalar(a, -2), TOL, -2, -4, -6, -8);
    CHECK_VALS(ts_pow_scalar(a, 2), TOL, 1, 4, 9, 16);
    CHECK_VALS(ts_pow_scalar(a, 0.5), TOL, 1, sqrt(2), sqrt(3), 2);
    CHECK_VALS(ts_neg(a), TOL, -1, -2, -3, -4);
    CHECK_VALS(ts_exp(a), TOL, exp(1), exp(2), exp(3), exp(4));
    CHECK_VALS(ts_log(a), TOL, 0, log(2), log(3), log(4));
    CHECK_VALS(ts_sqrt(a), TOL, 1, sqrt(2), sqrt(3), 2);
    CHECK_VALS(ts_clamp(a, 1.5, 3.5), TOL, 1.5, 2, 3, 3.5);
    ts_tensor gt = ts_gt_scalar(a, 2.5);
    CHECK(ts_dtype_of(gt) == TS_BOOL);
    CHECK_VALS(gt, 0, 0, 0, 1, 1);
    CHECK(ts_clamp(a, 2, 1) == NULL);
    ts_scope_end();
}

static void test_activations(void) {
    ts_scope_begin();
    const double xs[4] = {-2, -0.5, 0, 1.5};
    ts_tensor x = MK(TS_F64, SHAPE(4), -2, -0.5, 0, 1.5);
    double ge[4], gt[4], si[4], th[4], sg[4], ls[4];
    for (int i = 0; i < 4; i++) {
        double v = xs[i];
        ge[i] = v * 0.5 * (1 + erf(v / sqrt(2.0)));
        gt[i] = 0.5 * v * (1 + tanh(sqrt(2.0 / 3.14159265358979323846) * (v + 0.044715 * v * v * v)));
        si[i] = v * sigm(v);
        th[i] = tanh(v);
        sg[i] = sigm(v);
        ls[i] = log(sigm(v));
    }
    CHECK_VALS(ts_relu(x), 1e-12, 0, 0, 0, 1.5);
    CHECK_VALS(ts_gelu(x, 0), 1e-12, ge[0], ge[1], ge[2], ge[3]);
    CHECK_VALS(ts_gelu(x, 1), 1e-12, gt[0], gt[1], gt[2], gt[3]);
    CHECK(fabs(ge[0] - gt[0]) > 1e-5); /* the two variants differ */
    CHECK_VALS(ts_silu(x), 1e-12, si[0], si[1], si[2], si[3]);
    CHECK_VALS(ts_leaky_relu(x, 0.1), 1e-12, -0.2, -0.05, 0, 1.5);
    CHECK_VALS(ts_tanh(x), 1e-12, th[0], th[1], th[2], th[3]);
    CHECK_VALS(ts_sigmoid(x), 1e-12, sg[0], sg[1], sg[2], sg[3]);
    CHECK_VALS(ts_log_sigmoid(x), 1e-12, ls[0], ls[1], ls[2], ls[3]);
    /* softmax over [1,2,3] per row */
    ts_tensor s = MK(TS_F32, SHAPE(2, 3), 1, 2, 3, 0, 0, 0);
    double z = exp(1) + exp(2) + exp(3);
    CHECK_VALS(ts_softmax(s, 1), TOL, exp(1) / z, exp(2) / z, exp(3) / z, 1. / 3, 1. / 3, 1. / 3);
    CHECK_VALS(ts_log_softmax(s, -1), TOL, 1 - log(z), 2 - log(z), 3 - log(z), -log(3), -log(3), -log(3));
    CHECK_VALS(ts_softmax(s, 0), TOL, sigm(1), sigm(2), sigm(3), sigm(-1), sigm(-2), sigm(-3));
    ts_scope_end();
}

static void test_norms_dropout(void) {
    ts_scope_begin();
    const double eps = 1e-5;
    /* layer_norm rows [1,2,3] and [2,4,9]; w [1,2,3], b [0,0,1] */
    ts_tensor x = MK(TS_F32, SHAPE(2, 3), 1, 2, 3, 2, 4, 9);
    ts_tensor w = MK(TS_F32, SHAPE(3), 1, 2, 3), b = MK(TS_F32, SHAPE(3), 0, 0, 1);
    double s0 = sqrt(2.0 / 3 + eps), v1 = (9.0 + 1 + 16) / 3, s1 = sqrt(v1 + eps); /* mean 5 */
    CHECK_VALS(ts_layer_norm(x, NULL, NULL, eps), 1e-5, -1 / s0, 0, 1 / s0, -3 / s1, -1 / s1, 4 / s1);
    CHECK_VALS(ts_layer_norm(x, w, b, eps), 1e-5, -1 / s0, 0, 3 / s0 + 1, -3 / s1, -2 / s1, 12 / s1 + 1);

    /* batch_norm train: columns [1,2,3,4] (mean 2.5, var 1.25) and [0,0,4,4] (mean 2, var 4) */
    ts_tensor bx = MK(TS_F32, SHAPE(4, 2), 1, 0, 2, 0, 3, 4, 4, 4);
    ts_tensor bw = MK(TS_F32, SHAPE(2), 1, 2), bb = MK(TS_F32, SHAPE(2), 0, 1);
    ts_tensor rm = ts_zeros(SHAPE(2), 1, TS_F32), rv = ts_full(SHAPE(2), 1, TS_F32, 1.0);
    double a0 = sqrt(1.25 + eps), a1 = sqrt(4 + eps);
    ts_tensor by = ts_batch_norm(bx, bw, bb, rm, rv, 1, 0.1, eps);
    CHECK_VALS(by, 1e-5, -1.5 / a0, 2 * -2 / a1 + 1, -0.5 / a0, 2 * -2 / a1 + 1, 0.5 / a0,
               2 * 2 / a1 + 1, 1.5 / a0, 2 * 2 / a1 + 1);
    /* running stats: momentum 0.1, unbiased variance (5/3 and 16/3) */
    CHECK_VALS(rm, 1e-6, 0.25, 0.2);
    CHECK_VALS(rv, 1e-6, 0.9 + 0.1 * 5.0 / 3, 0.9 + 0.1 * 16.0 / 3);
    /* eval uses the running stats and leaves them alone */
    double r0 = sqrt(0.9 + 0.5 / 3 + eps), r1 = sqrt(0.9 + 1.6 / 3 + eps);
    ts_tensor be = ts_batch_norm(bx, bw, bb, rm, rv, 0, 0.1, eps);
    CHECK_VALS(be, 1e-5, 0.75 / r0, 2 * -0.2 / r1 + 1, 1.75 / r0, 2 * -0.2 / r1 + 1, 2.75 / r0,
               2 * 3.8 / r1 + 1, 3.75 / r0, 2 * 3.8 / r1 + 1);
    CHECK_VALS(rm, 1e-6, 0.25, 0.2);
    /* [B,C,T] input: stats over B and T */
    ts_tensor bx3 = MK(TS_F32, SHAPE(1, 2, 2), 1, 3, 0, 2);
    CHECK_VALS(ts_batch_norm(bx3, NULL, NULL, NULL, NULL, 1, 0.1, eps), 1e-5, -1 / sqrt(1 + eps),
               1 / sqrt(1 + eps), -1 / sqrt(1 + eps), 1 / sqrt(1 + eps));
    CHECK(ts_batch_norm(bx, NULL, NULL, NULL, NULL, 0, 0.1, eps) == NULL);
    CHECK_ERR("ts_batch_norm", "running_mean");

    /* group_norm: [1,4,1] = 1,2,3,5 in 2 groups: {1,2} var .25, {3,5} var 1 */
    ts_tensor gx = MK(TS_F32, SHAPE(1, 4, 1), 1, 2, 3, 5);
    double g0 = sqrt(0.25 + eps), g1 = sqrt(1 + eps);
    CHECK_VALS(ts_group_norm(gx, 2, NULL, NULL, eps), 1e-5, -0.5 / g0, 0.5 / g0, -1 / g1, 1 / g1);
    ts_tensor gw = MK(TS_F32, SHAPE(4), 1, 2, 3, 4), gb = MK(TS_F32, SHAPE(4), 1, 1, 1, 1);
    CHECK_VALS(ts_group_norm(gx, 2, gw, gb, eps), 1e-5, 1 - 0.5 / g0, 1 + 1 / g0, 1 - 3 / g1, 1 + 4 / g1);
    CHECK(ts_group_norm(gx, 3, NULL, NULL, eps) == NULL);
    CHECK_ERR("ts_group_norm", "f32[1,4,1]");

    /* dropout: eval = identity; train keeps ~1-p of the values, scaled by 1/(1-p) */
    ts_tensor ones = ts_full(SHAPE(20000), 1, TS_F32, 1.0);
    CHECK_NEAR(item(ts_sum(ts_dropout(ones, 0.5, 0))), 20000, 0);
    ts_manual_seed(1);
    ts_tensor d = ts_dropout(ones, 0.25, 1);
    float *dv = ts_data_ptr(d);
    int zeros = 0, bad = 0;
    for (int i = 0; i < 20000; i++) {
        if (dv[i] == 0) zeros++;
        else if (fabsf(dv[i] - 1.0f / 0.75f) > 1e-6f) bad++;
    }
    CHECK(bad == 0);
    CHECK(zeros > 20000 * 0.25 - 400 && zeros < 20000 * 0.25 + 400);
    CHECK_NEAR(item(ts_sum(ts_dropout(ones, 1.0, 1))), 0, 0);
    CHECK(ts_dropout(ones, 1.5, 1) == NULL);
    ts_scope_end();
}

static void test_masking(void) {
    ts_scope_begin();
    ts_tensor x = MK(TS_F32, SHAPE(2, 2), 1, 2, 3, 4);
    ts_tensor m = ts_from_data((const uint8_t[]){1, 0, 0, 1}, TS_BOOL, SHAPE(2, 2), 2);
    CHECK_VALS(ts_masked_fill(x, m, -9), 0, -9, 2, 3, -9);
    ts_tensor mrow = ts_from_data((const uint8_t[]){0, 1}, TS_BOOL, SHAPE(2), 1);
    CHECK_VALS(ts_masked_fill(x, mrow, -9), 0, 1, -9, 3, -9); /* broadcast */
    ts_tensor mf = MK(TS_F32, SHAPE(2, 2), 1, 0, 0, 1);
    CHECK(ts_masked_fill(x, mf, 0) == NULL);
    CHECK_ERR("ts_masked_fill", "mask", "bool");

    /* x [2,3,2]; row 0 keeps t0,t1; row 1 keeps nothing */
    ts_tensor h = MK(TS_F32, SHAPE(2, 3, 2), -1, 5, -3, 2, 100, 100, 7, 8, 9, 10, 11, 12);
    ts_tensor km = ts_from_data((const uint8_t[]){1, 1, 0, 0, 0, 0}, TS_BOOL, SHAPE(2, 3), 2);
    ts_tensor kf = MK(TS_F32, SHAPE(2, 3), 1, 1, 0, 0, 0, 0);
    ts_tensor mm = ts_masked_mean(h, km, 1);
    CHECK_SHAPE(mm, 2, 2);
    CHECK_VALS(mm, TOL, -2, 3.5, 0, 0);
    CHECK_VALS(ts_masked_mean(h, kf, 1), TOL, -2, 3.5, 0, 0);
    ts_tensor mx = ts_masked_max(h, km, 1);
    CHECK_SHAPE(mx, 2, 2);
    CHECK_VALS(mx, TOL, -1, 5, 0, 0);
    CHECK_VALS(ts_masked_max(h, kf, 1), TOL, -1, 5, 0, 0);
    /* a partially kept second row */
    ts_tensor km2 = ts_from_data((const uint8_t[]){1, 1, 1, 0, 1, 1}, TS_BOOL, SHAPE(2, 3), 2);
    CHECK_VALS(ts_masked_mean(h, km2, 1), TOL, 32, 107.0 / 3, 10, 11);
    CHECK_VALS(ts_masked_max(h, km2, 1), TOL, 100, 100, 11, 12);
    ts_scope_end();
}

static void test_shapes_reductions(void) {
    ts_scope_begin();
    ts_tensor a = MK(TS_F32, SHAPE(2, 3), 1, 2, 3, 4, 5, 6);
    ts_tensor b = MK(TS_F32, SHAPE(1, 3), 7, 8, 9);
    ts_tensor ab[2] = {a, b};
    ts_tensor c0 = ts_cat(ab, 2, 0);
    CHECK_SHAPE(c0, 3, 3);
    CHECK_VALS(c0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    ts_tensor aa[2] = {a, a};
    CHECK_VALS(ts_cat(aa, 2, 1), 0, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6);
    ts_tensor st = ts_stack(aa, 2, 1);
    CHECK_SHAPE(st, 2, 2, 3);
    CHECK_VALS(st, 0, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6);
    CHECK(ts_stack(ab, 2, 0) == NULL);
    CHECK_ERR("ts_stack", "ts[0] f32[2,3], ts[1] f32[1,3]");
    ts_tensor r = ts_reshape(a, SHAPE(3, -1), 2);
    CHECK_SHAPE(r, 3, 2);
    ts_tensor t = ts_transpose(a, 0, 1);
    CHECK_SHAPE(t, 3, 2);
    CHECK_VALS(t, 0, 1, 4, 2, 5, 3, 6);
    ts_tensor x3 = ts_reshape(ts_arange(0, 24, TS_F32), SHAPE(2, 3, 4), 3);
    ts_tensor p = ts_permute(x3, (const int32_t[]){2, 0, 1}, 3);
    CHECK_SHAPE(p, 4, 2, 3);
    double pe[24]; /* p[k][i][j] = x3[i][j][k] = 12i + 4j + k */
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++) pe[k * 6 + i * 3 + j] = 12 * i + 4 * j + k;
    double pv[24];
    CHECK(ts_copy_out(p, pv, TS_F64, 24) == TS_OK);
    CHECK(memcmp(pe, pv, sizeof pe) == 0);
    ts_tensor u = ts_unsqueeze(a, 1);
    CHECK_SHAPE(u, 2, 1, 3);
    CHECK_SHAPE(ts_squeeze(u, 1), 2, 3);
    CHECK_SHAPE(ts_squeeze(u, 0), 2, 1, 3); /* size != 1: unchanged */
    CHECK_VALS(ts_slice(a, 1, 0, 3, 2), 0, 1, 3, 4, 6);
    CHECK_VALS(ts_slice(a, 1, -2, INT64_MAX, 1), 0, 2, 3, 5, 6);
    ts_tensor idx = mk_i64((const int64_t[]){2, 0, 2}, 1, SHAPE(3));
    CHECK_VALS(ts_index_select(a, 1, idx), 0, 3, 1, 3, 6, 4, 6);
    CHECK_VALS(ts_sum(a), 0, 21);
    CHECK_VALS(ts_mean(a), TOL, 3.5);
    CHECK_VALS(ts_sum_dim(a, 0, 0), 0, 5, 7, 9);
    CHECK_SHAPE(ts_sum_dim(a, 1, 1), 2, 1);
    CHECK_VALS(ts_mean_dim(a, 1, 0), TOL, 2, 5);
    ts_tensor mxd = MK(TS_F32, SHAPE(2, 3), 1, 9, 3, 7, 5, 6);
    CHECK_VALS(ts_max_dim(mxd, 1, 0), 0, 9, 7);
    CHECK_VALS(ts_max_dim(mxd, 0, 0), 0, 7, 9, 6);
    CHECK_SHAPE(ts_max_dim(mxd, 0, 1), 1, 3);
    ts_scope_end();
}

static void test_losses(void) {
    ts_scope_begin();
    /* BCE with logits, pos_weight [2, .5]: l = -(pw*y*log s(x) + (1-y)*log(1-s(x))) */
    ts_tensor lg = MK(TS_F32, SHAPE(2, 2), 0, 2, -1, 3);
    ts_tensor tg = MK(TS_F32, SHAPE(2, 2), 1, 0, 0, 1);
    ts_tensor pw = MK(TS_F32, SHAPE(2), 2, 0.5);
    double e00 = -2 * log(0.5), e01 = log(1 + exp(2)), e10 = log(1 + exp(-1)), e11 = 0.5 * log(1 + exp(-3));
    CHECK_VALS(ts_bce_with_logits(lg, tg, NULL, pw, TS_REDUCE_NONE), TOL, e00, e01, e10, e11);
    CHECK_VALS(ts_bce_with_logits(lg, tg, NULL, pw, TS_REDUCE_MEAN), TOL, (e00 + e01 + e10 + e11) / 4);
    CHECK_VALS(ts_bce_with_logits(lg, tg, NULL, pw, TS_REDUCE_SUM), TOL, e00 + e01 + e10 + e11);
    ts_tensor cw = MK(TS_F32, SHAPE(2), 1, 2);
    CHECK_VALS(ts_bce_with_logits(lg, tg, cw, pw, TS_REDUCE_SUM), TOL, e00 + 2 * e01 + e10 + 2 * e11);
    CHECK_VALS(ts_bce_with_logits(lg, tg, NULL, NULL, TS_REDUCE_NONE), TOL, log(2), e01, e10, 2 * e11);
    ts_tensor tg3 = MK(TS_F32, SHAPE(3), 1, 0, 1);
    CHECK(ts_bce_with_logits(lg, tg3, NULL, NULL, TS_REDUCE_MEAN) == NULL);
    CHECK_ERR("ts_bce_with_logits", "logits f32[2,2], targets f32[3]");

    /* cross-entropy: rows [1,2,3] (target 2) and [1,1,1] (target 0) */
    ts_tensor cl = MK(TS_F32, SHAPE(2, 3), 1, 2, 3, 1, 1, 1);
    ts_tensor ct = mk_i64((const int64_t[]){2, 0}, 1, SHAPE(2));
    double lz = log(exp(1) + exp(2) + exp(3));
    double n0 = lz - 3, n1 = log(3);
    CHECK_VALS(ts_cross_entropy(cl, ct, NULL, -100, 0, TS_REDUCE_NONE), TOL, n0, n1);
    CHECK_VALS(ts_cross_entropy(cl, ct, NULL, -100, 0, TS_REDUCE_MEAN), TOL, (n0 + n1) / 2);
    CHECK_VALS(ts_cross_entropy(cl, ct, NULL, -100, 0, TS_REDUCE_SUM), TOL, n0 + n1);
    ts_tensor w3 = MK(TS_F32, SHAPE(3), 1, 1, 2);
    CHECK_VALS(ts_cross_entropy(cl, ct, w3, -100, 0, TS_REDUCE_MEAN), TOL, (2 * n0 + n1) / 3);
    ts_tensor cti = mk_i64((const int64_t[]){2, -100}, 1, SHAPE(2));
    CHECK_VALS(ts_cross_entropy(cl, cti, NULL, -100, 0, TS_REDUCE_MEAN), TOL, n0);
    /* label smoothing .1: (1-.1)*nll + .1*mean_j(-log p_j) */
    double u0 = ((lz - 1) + (lz - 2) + (lz - 3)) / 3, u1 = log(3);
    CHECK_VALS(ts_cross_entropy(cl, ct, NULL, -100, 0.1, TS_REDUCE_MEAN), TOL,
               (0.9 * n0 + 0.1 * u0 + 0.9 * n1 + 0.1 * u1) / 2);
    ts_tensor bad = mk_i64((const int64_t[]){2, 5}, 1, SHAPE(2));
    CHECK(ts_cross_entropy(cl, bad, NULL, -100, 0, TS_REDUCE_MEAN) == NULL);
    CHECK_ERR("ts_cross_entropy", "logits f32[2,3], target i64[2]");
    ts_scope_end();
}

/* ---- recurrent layers: a plain-C reference of PyTorch's LSTM/GRU equations ------------------ */
enum { RB = 3, RT = 4, RI = 3, RH = 2 };

/* One direction of one layer over seq[0..len) (rev = run from len-1 down to 0); writes H outputs
 * per step at out[t*ostride + ooff]. w_ih [G*H, in], w_hh [G*H, H], b_ih, b_hh [G*H]. */
static void ref_dir(int gru, const double *seq, int in, int len, int rev, const double *wih,
                    const double *whh, const double *bih, const double *bhh, double *out,
                    int ostride, int ooff) {
    double h[RH] = {0}, c[RH] = {0};
    int G = gru ? 3 : 4;
    for (int s = 0; s < len; s++) {
        int t = rev ? len - 1 - s : s;
        const double *x = seq + t * in;
        double gi[4 * RH], gh[4 * RH];
        for (int r = 0; r < G * RH; r++) {
            gi[r] = bih[r];
            for (int k = 0; k < in; k++) gi[r] += wih[r * in + k] * x[k];
            gh[r] = bhh[r];
            for (int k = 0; k < RH; k++) gh[r] += whh[r * RH + k] * h[k];
        }
        double nh[RH];
        for (int j = 0; j < RH; j++) {
            if (!gru) { /* gates i, f, g, o */
                double ig = sigm(gi[j] + gh[j]), fg = sigm(gi[RH + j] + gh[RH + j]);
                double gg = tanh(gi[2 * RH + j] + gh[2 * RH + j]), og = sigm(gi[3 * RH + j] + gh[3 * RH + j]);
                c[j] = fg * c[j] + ig * gg;
                nh[j] = og * tanh(c[j]);
            } else { /* gates r, z, n */
                double rg = sigm(gi[j] + gh[j]), zg = sigm(gi[RH + j] + gh[RH + j]);
                double ng = tanh(gi[2 * RH + j] + rg * gh[2 * RH + j]);
                nh[j] = (1 - zg) * ng + zg * h[j];
            }
        }
        for (int j = 0; j < RH; j++) {
            h[j] = nh[j];
            out[t * ostride + ooff + j] = h[j];
        }
    }
}

static void test_rnn_kind(int gru) {
    ts_scope_begin();
    ts_manual_seed(7 + gru);
    const int L = 2, dirs = 2, G = gru ? 3 : 4;
    ts_tensor params[16];
    double pv[16][4 * RH * 2 * RH];
    for (int l = 0; l < L; l++)
        for (int d = 0; d < dirs; d++) {
            int in = l == 0 ? RI : RH * dirs, base = (l * dirs + d) * 4;
            int64_t shp[4][2] = {{G * RH, in}, {G * RH, RH}, {G * RH, 0}, {G * RH, 0}};
            for (int k = 0; k < 4; k++) {
                ts_tensor r = ts_randn(shp[k], k < 2 ? 2 : 1);
                params[base + k] = ts_to_dtype(r, TS_F64);
                ts_copy_out(params[base + k], pv[base + k], TS_F64, ts_numel(params[base + k]));
            }
        }
    ts_tensor xr = ts_randn(SHAPE(RB, RT, RI), 3);
    ts_tensor x = ts_to_dtype(xr, TS_F64);
    double xv[RB * RT * RI];
    ts_copy_out(x, xv, TS_F64, RB * RT * RI);
    const int64_t lens[RB] = {2, 4, 0};
    ts_tensor lt = mk_i64(lens, 1, SHAPE(RB));

    for (int use_len = 0; use_len < 2; use_len++) {
        double ref[RB * RT * 2 * RH];
        memset(ref, 0, sizeof ref);
        for (int b = 0; b < RB; b++) {
            int len = use_len ? (int)lens[b] : RT;
            double l0[RT * 2 * RH] = {0}, l1[RT * 2 * RH] = {0};
            for (int d = 0; d < dirs; d++) {
                int p = d * 4;
                ref_dir(gru, xv + b * RT * RI, RI, len, d, pv[p], pv[p + 1], pv[p + 2], pv[p + 3], l0, 2 * RH, d * RH);
            }
            for (int d = 0; d < dirs; d++) {
                int p = (dirs + d) * 4;
                ref_dir(gru, l0, 2 * RH, len, d, pv[p], pv[p + 1], pv[p + 2], pv[p + 3], l1, 2 * RH, d * RH);
            }
            memcpy(ref + b * RT * 2 * RH, l1, sizeof l1);
        }
        ts_tensor y = ts_rnn(gru ? TS_RNN_GRU : TS_RNN_LSTM, x, use_len ? lt : NULL, params, 16, L, 1, 0.0, 1);
        REQUIRE(y);
        CHECK_SHAPE(y, RB, RT, 2 * RH);
        double yv[RB * RT * 2 * RH];
        ts_copy_out(y, yv, TS_F64, RB * RT * 2 * RH);
        double maxd = 0;
        for (int i = 0; i < RB * RT * 2 * RH; i++) maxd = fmax(maxd, fabs(yv[i] - ref[i]));
        if (maxd > 1e-10) fprintf(stderr, "rnn %s lengths=%d: max diff %g\n", gru ? "gru" : "lstm", use_len, maxd);
        CHECK(maxd <= 1e-10);
    }
    /* errors: wrong param count, lengths longer than T */
    CHECK(ts_rnn(TS_RNN_LSTM, x, lt, params, 15, L, 1, 0, 1) == NULL);
    CHECK_ERR("ts_rnn", "expected 16 params");
    ts_tensor bad = mk_i64((const int64_t[]){1, 9, 1}, 1, SHAPE(RB));
    CHECK(ts_rnn(gru ? TS_RNN_GRU : TS_RNN_LSTM, x, bad, params, 16, L, 1, 0, 1) == NULL);
    CHECK_ERR("ts_rnn", "x f64[3,4,3], lengths i64[3]", "lengths must be in [0, T=4]");
    ts_scope_end();
}

int main(void) {
    int64_t start = ts_live_handles();
    test_linear_algebra();
    test_embeddings();
    test_elementwise();
    test_activations();
    test_norms_dropout();
    test_masking();
    test_shapes_reductions();
    test_losses();
    test_rnn_kind(0);
    test_rnn_kind(1);
    CHECK(ts_live_handles() == start);
    return check_exit("test_shim_ops");
}
