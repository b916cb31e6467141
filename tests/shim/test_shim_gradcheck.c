/* test_shim_gradcheck.c: finite-difference gradient checks (f64) for every differentiable op in
 * torch_shim.h. For an op y = f(inputs), the loss is L = sum(y * R) with a fixed random R; the
 * gradient that ts_backward() leaves in each input's .grad is compared with central differences
 * (L(x + h e_j) - L(x - h e_j)) / 2h computed by perturbing the input's memory directly. */
#include "shim_check.h"

#include <stdint.h>

#define MAXIN 20
typedef ts_tensor (*op_fn)(ts_tensor *in);
static ts_tensor g_aux[4]; /* non-differentiable arguments (ids, masks, targets...) */
static uint64_t g_seed;    /* ops with randomness (dropout) reseed from it each evaluation */

static double eval_loss(op_fn f, ts_tensor *in, ts_tensor R) {
    ts_scope_begin();
    ts_no_grad_begin();
    ts_tensor y = f(in);
    REQUIRE(y);
    ts_tensor l = ts_sum(ts_mul(y, R));
    double v = item(l);
    ts_no_grad_end();
    ts_scope_end();
    return v;
}

/* diff: which inputs are checked (bit mask); all inputs must be contiguous f64. */
static void gradcheck(const char *name, op_fn f, ts_tensor *in, int n, unsigned diff) {
    const double h = 1e-6, atol = 1e-7, rtol = 1e-5;
    for (int i = 0; i < n; i++)
        if (diff >> i & 1) {
            REQUIRE(ts_dtype_of(in[i]) == TS_F64);
            ts_zero_grad(in[i]);
            REQUIRE(ts_set_requires_grad(in[i], 1) == TS_OK);
        }
    ts_scope_begin();
    ts_tensor y = f(in);
    if (!y) {
        fprintf(stderr, "gradcheck %s: op failed: %s\n", name, ts_last_error());
        g_failures++;
        ts_scope_end();
        return;
    }
    int64_t shp[TS_MAX_DIMS];
    int nd = ts_shape(y, shp, TS_MAX_DIMS);
    ts_tensor R = ts_to_dtype(ts_randn(shp, nd), TS_F64);
    ts_scope_keep(R);
    REQUIRE(ts_backward(ts_sum(ts_mul(y, R))) == TS_OK);
    ts_scope_end();
    int checked = 0;
    for (int i = 0; i < n; i++) {
        if (!(diff >> i & 1)) continue;
        int64_t m = ts_numel(in[i]);
        double *an = calloc((size_t)m, sizeof(double));
        ts_tensor g = ts_grad(in[i]);
        if (g) { /* no grad at all means zero gradient */
            REQUIRE(ts_copy_out(g, an, TS_F64, m) == TS_OK);
            ts_free(g);
        }
        double *x = ts_data_ptr(in[i]);
        REQUIRE(x);
        double worst = 0;
        int64_t worst_j = -1;
        double worst_a = 0, worst_n = 0;
        for (int64_t j = 0; j < m; j++) {
            double save = x[j];
            x[j] = save + h;
            double lp = eval_loss(f, in, R);
            x[j] = save - h;
            double lm = eval_loss(f, in, R);
            x[j] = save;
            double num = (lp - lm) / (2 * h);
            double err = fabs(num - an[j]) - (atol + rtol * fabs(num));
            if (err > worst || worst_j < 0) {
                worst = err;
                worst_j = j;
                worst_a = an[j];
                worst_n = num;
            }
            checked++;
        }
        g_checks++;
        if (worst > 0) {
            fprintf(stderr, "gradcheck %s: input %d element %lld: analytic %.10g, numeric %.10g\n",
                    name, i, (long long)worst_j, worst_a, worst_n);
            g_failures++;
        }
        free(an);
        ts_set_requires_grad(in[i], 0);
        ts_zero_grad(in[i]);
    }
    ts_free(R);
    printf("gradcheck %-28s %4d elements %s\n", name, checked, "checked");
}

/* f64 input, uniform in [lo, hi) */
static ts_tensor U(const int64_t *shape, int32_t nd, double lo, double hi) {
    ts_tensor t = ts_zeros(shape, nd, TS_F64);
    REQUIRE(t);
    ts_uniform_(t, lo, hi);
    return t;
}
#define UN(lo, hi, ...) U((const int64_t[]){__VA_ARGS__}, (int32_t)(sizeof((const int64_t[]){__VA_ARGS__}) / 8), lo, hi)

#define OP(name, expr)                                                                           \
    static ts_tensor name(ts_tensor *in) {                                                       \
        (void)in;                                                                                \
        return expr;                                                                             \
    }

OP(f_embedding, ts_embedding(in[0], g_aux[0], -1))
/* padding_idx 1: the padding row gets no gradient although the forward reads it, so the op is
 * checked with the padding positions masked out (g_aux[1]): then FD and autograd must agree,
 * including the zero gradient of row 1. */
OP(f_embedding_pad, ts_mul(ts_embedding(in[0], g_aux[0], 1), g_aux[1]))
OP(f_bag_sum, ts_embedding_bag(in[0], g_aux[0], g_aux[1], TS_BAG_SUM, 0, NULL))
OP(f_bag_mean, ts_embedding_bag(in[0], g_aux[0], g_aux[1], TS_BAG_MEAN, 0, NULL))
OP(f_bag_max, ts_embedding_bag(in[0], g_aux[0], g_aux[1], TS_BAG_MAX, 0, NULL))
OP(f_bag_mean_sparse, ts_embedding_bag(in[0], g_aux[0], g_aux[1], TS_BAG_MEAN, 1, NULL))
OP(f_bag_sum_sparse_psw, ts_embedding_bag(in[0], g_aux[0], g_aux[1], TS_BAG_SUM, 1, in[1]))
OP(f_linear, ts_linear(in[0], in[1], in[2]))
OP(f_linear_nob, ts_linear(in[0], in[1], NULL))
OP(f_matmul, ts_matmul(in[0], in[1]))
OP(f_bmm, ts_bmm(in[0], in[1]))
OP(f_baddbmm, ts_baddbmm(in[0], in[1], in[2], 0.7, -1.3))
OP(f_conv1d, ts_conv1d(in[0], in[1], in[2], 2, 1, 1, 1))
OP(f_conv1d_groups, ts_conv1d(in[0], in[1], NULL, 1, 2, 2, 2))
OP(f_add, ts_add(in[0], in[1]))
OP(f_sub, ts_sub(in[0], in[1]))
OP(f_mul, ts_mul(in[0], in[1]))
OP(f_div, ts_div(in[0], in[1]))
OP(f_add_scaled, ts_add_scaled(in[0], in[1], -2.5))
OP(f_add_scalar, ts_add_scalar(in[0], 3.0))
OP(f_mul_scalar, ts_mul_scalar(in[0], -1.7))
OP(f_pow_scalar, ts_pow_scalar(in[0], 2.5))
OP(f_neg, ts_neg(in[0]))
OP(f_exp, ts_exp(in[0]))
OP(f_log, ts_log(in[0]))
OP(f_sqrt, ts_sqrt(in[0]))
OP(f_clamp, ts_clamp(in[0], -0.5, 0.5))
OP(f_relu, ts_relu(in[0]))
OP(f_gelu, ts_gelu(in[0], 0))
OP(f_gelu_tanh, ts_gelu(in[0], 1))
OP(f_silu, ts_silu(in[0]))
OP(f_leaky_relu, ts_leaky_relu(in[0], 0.2))
OP(f_tanh, ts_tanh(in[0]))
OP(f_sigmoid, ts_sigmoid(in[0]))
OP(f_log_sigmoid, ts_log_sigmoid(in[0]))
OP(f_softmax, ts_softmax(in[0], 1))
OP(f_log_softmax, ts_log_softmax(in[0], -1))
OP(f_layer_norm, ts_layer_norm(in[0], in[1], in[2], 1e-5))
OP(f_layer_norm_nowb, ts_layer_norm(in[0], NULL, NULL, 1e-5))
OP(f_batch_norm_train, ts_batch_norm(in[0], in[1], in[2], NULL, NULL, 1, 0.1, 1e-5))
OP(f_batch_norm_eval, ts_batch_norm(in[0], in[1], in[2], g_aux[0], g_aux[1], 0, 0.1, 1e-5))
OP(f_group_norm, ts_group_norm(in[0], 2, in[1], in[2], 1e-5))
static ts_tensor f_dropout(ts_tensor *in) {
    ts_manual_seed(g_seed);
    return ts_dropout(in[0], 0.3, 1);
}
OP(f_masked_fill, ts_masked_fill(in[0], g_aux[0], -3.0))
OP(f_masked_mean, ts_masked_mean(in[0], g_aux[0], 1))
OP(f_masked_max, ts_masked_max(in[0], g_aux[0], 1))
OP(f_cat, ts_cat(in, 2, 1))
OP(f_stack, ts_stack(in, 2, 0))
OP(f_reshape, ts_reshape(in[0], SHAPE(-1, 2), 2))
OP(f_transpose, ts_transpose(in[0], 0, 2))
OP(f_permute, ts_permute(in[0], (const int32_t[]){1, 2, 0}, 3))
OP(f_unsqueeze, ts_unsqueeze(in[0], 1))
OP(f_squeeze, ts_squeeze(in[0], 1))
OP(f_slice, ts_slice(in[0], 1, 1, 5, 2))
OP(f_index_select, ts_index_select(in[0], 0, g_aux[0]))
OP(f_sum, ts_sum(in[0]))
OP(f_mean, ts_mean(in[0]))
OP(f_sum_dim, ts_sum_dim(in[0], 1, 0))
OP(f_mean_dim, ts_mean_dim(in[0], 0, 1))
OP(f_max_dim, ts_max_dim(in[0], 1, 0))
OP(f_bce, ts_bce_with_logits(in[0], g_aux[0], in[1], in[2], TS_REDUCE_MEAN))
OP(f_bce_none, ts_bce_with_logits(in[0], g_aux[0], NULL, NULL, TS_REDUCE_NONE))
OP(f_ce, ts_cross_entropy(in[0], g_aux[0], in[1], -100, 0.0, TS_REDUCE_MEAN))
OP(f_ce_smooth, ts_cross_entropy(in[0], g_aux[0], NULL, 1, 0.2, TS_REDUCE_SUM))
OP(f_clone, ts_clone(in[0]))
OP(f_contiguous, ts_contiguous(ts_transpose(in[0], 0, 1)))
static int g_rnn_kind, g_rnn_bidir;
OP(f_rnn, ts_rnn(g_rnn_kind, in[0], g_aux[0], in + 1, g_rnn_bidir ? 8 : 4, 1, g_rnn_bidir, 0.0, 1))
OP(f_rnn2, ts_rnn(g_rnn_kind, in[0], g_aux[0], in + 1, 8, 2, 0, 0.0, 0))

/* bool mask with about half true */
static ts_tensor half_mask(const int64_t *shape, int32_t nd) {
    ts_tensor u = U(shape, nd, 0, 1);
    ts_tensor m = ts_gt_scalar(u, 0.5);
    ts_free(u);
    return m;
}

static void free_all(ts_tensor *t, int n) {
    for (int i = 0; i < n; i++) ts_free(t[i]);
}
static void free_aux(void) {
    for (int i = 0; i < 4; i++) {
        ts_free(g_aux[i]);
        g_aux[i] = NULL;
    }
}

#define CASE(name, fn, diff, ...)                                                                \
    do {                                                                                         \
        ts_tensor in_[] = {__VA_ARGS__};                                                         \
        int n_ = (int)(sizeof in_ / sizeof *in_);                                                \
        gradcheck(name, fn, in_, n_, diff);                                                      \
        free_all(in_, n_);                                                                       \
        free_aux();                                                                              \
    } while (0)

int main(void) {
    int64_t start = ts_live_handles();
    ts_manual_seed(123);
    const int64_t ids[7] = {0, 3, 3, 1, 4, 2, 0};
    g_aux[0] = mk_i64(ids, 2, SHAPE(2, 3));
    CASE("embedding", f_embedding, 1, UN(-1, 1, 5, 3));
    g_aux[0] = mk_i64(ids, 2, SHAPE(2, 3));
    g_aux[1] = MK(TS_F64, SHAPE(2, 3, 1), 1, 1, 1, 0, 1, 1); /* ids[1][0] == 1 is padding */
    CASE("embedding padding_idx", f_embedding_pad, 1, UN(-1, 1, 5, 3));
#define BAGS() (g_aux[0] = mk_i64(ids, 1, SHAPE(7)), g_aux[1] = mk_i64((const int64_t[]){0, 3, 3, 5}, 1, SHAPE(4)))
    BAGS();
    CASE("embedding_bag sum", f_bag_sum, 1, UN(-1, 1, 5, 3));
    BAGS();
    CASE("embedding_bag mean", f_bag_mean, 1, UN(-1, 1, 5, 3));
    BAGS();
    CASE("embedding_bag max", f_bag_max, 1, UN(-1, 1, 5, 3));
    BAGS();
    CASE("embedding_bag mean sparse", f_bag_mean_sparse, 1, UN(-1, 1, 5, 3));
    BAGS();
    CASE("embedding_bag sum sparse psw", f_bag_sum_sparse_psw, 3, UN(-1, 1, 5, 3), UN(0, 2, 7));
    CASE("linear", f_linear, 7, UN(-1, 1, 4, 3), UN(-1, 1, 2, 3), UN(-1, 1, 2));
    CASE("linear (3-D x, no bias)", f_linear_nob, 3, UN(-1, 1, 2, 2, 3), UN(-1, 1, 4, 3));
    CASE("matmul", f_matmul, 3, UN(-1, 1, 2, 3, 4), UN(-1, 1, 4, 2));
    CASE("bmm", f_bmm, 3, UN(-1, 1, 2, 3, 4), UN(-1, 1, 2, 4, 2));
    CASE("baddbmm", f_baddbmm, 7, UN(-1, 1, 2, 3, 2), UN(-1, 1, 2, 3, 4), UN(-1, 1, 2, 4, 2));
    CASE("conv1d", f_conv1d, 7, UN(-1, 1, 2, 3, 7), UN(-1, 1, 4, 3, 3), UN(-1, 1, 4));
    CASE("conv1d groups dilation", f_conv1d_groups, 3, UN(-1, 1, 1, 4, 6), UN(-1, 1, 2, 2, 2));
    CASE("add (broadcast)", f_add, 3, UN(-1, 1, 3, 4), UN(-1, 1, 4));
    CASE("sub", f_sub, 3, UN(-1, 1, 3, 4), UN(-1, 1, 3, 1));
    CASE("mul", f_mul, 3, UN(-1, 1, 3, 4), UN(-1, 1, 3, 4));
    CASE("div", f_div, 3, UN(-1, 1, 3, 4), UN(0.5, 2, 4));
    CASE("add_scaled", f_add_scaled, 3, UN(-1, 1, 3, 4), UN(-1, 1, 3, 4));
    CASE("add_scalar", f_add_scalar, 1, UN(-1, 1, 3, 4));
    CASE("mul_scalar", f_mul_scalar, 1, UN(-1, 1, 3, 4));
    CASE("pow_scalar", f_pow_scalar, 1, UN(0.2, 2, 3, 4));
    CASE("neg", f_neg, 1, UN(-1, 1, 3, 4));
    CASE("exp", f_exp, 1, UN(-1, 1, 3, 4));
    CASE("log", f_log, 1, UN(0.2, 2, 3, 4));
    CASE("sqrt", f_sqrt, 1, UN(0.2, 2, 3, 4));
    CASE("clamp", f_clamp, 1, UN(-1, 1, 3, 4));
    CASE("relu", f_relu, 1, UN(-1, 1, 3, 4));
    CASE("gelu", f_gelu, 1, UN(-3, 3, 3, 4));
    CASE("gelu tanh", f_gelu_tanh, 1, UN(-3, 3, 3, 4));
    CASE("silu", f_silu, 1, UN(-3, 3, 3, 4));
    CASE("leaky_relu", f_leaky_relu, 1, UN(-1, 1, 3, 4));
    CASE("tanh", f_tanh, 1, UN(-2, 2, 3, 4));
    CASE("sigmoid", f_sigmoid, 1, UN(-3, 3, 3, 4));
    CASE("log_sigmoid", f_log_sigmoid, 1, UN(-3, 3, 3, 4));
    CASE("softmax", f_softmax, 1, UN(-2, 2, 3, 4));
    CASE("log_softmax", f_log_softmax, 1, UN(-2, 2, 3, 4));
    CASE("layer_norm", f_layer_norm, 7, UN(-2, 2, 3, 5), UN(0.5, 1.5, 5), UN(-1, 1, 5));
    CASE("layer_norm (no affine)", f_layer_norm_nowb, 1, UN(-2, 2, 2, 3, 4));
    CASE("batch_norm train", f_batch_norm_train, 7, UN(-2, 2, 5, 3), UN(0.5, 1.5, 3), UN(-1, 1, 3));
    CASE("batch_norm train [B,C,T]", f_batch_norm_train, 7, UN(-2, 2, 3, 2, 4), UN(0.5, 1.5, 2), UN(-1, 1, 2));
    g_aux[0] = UN(-0.5, 0.5, 3);
    g_aux[1] = UN(0.5, 2, 3);
    CASE("batch_norm eval", f_batch_norm_eval, 7, UN(-2, 2, 4, 3), UN(0.5, 1.5, 3), UN(-1, 1, 3));
    CASE("group_norm", f_group_norm, 7, UN(-2, 2, 2, 4, 3), UN(0.5, 1.5, 4), UN(-1, 1, 4));
    g_seed = 99;
    CASE("dropout", f_dropout, 1, UN(-1, 1, 4, 5));
    g_aux[0] = half_mask(SHAPE(3, 4), 2);
    CASE("masked_fill", f_masked_fill, 1, UN(-1, 1, 3, 4));
    const uint8_t km[8] = {1, 0, 1, 1, 0, 0, 0, 0}; /* batch 1 keeps nothing */
    g_aux[0] = ts_from_data(km, TS_BOOL, SHAPE(2, 4), 2);
    CASE("masked_mean", f_masked_mean, 1, UN(-1, 1, 2, 4, 3));
    g_aux[0] = ts_from_data(km, TS_BOOL, SHAPE(2, 4), 2);
    CASE("masked_max", f_masked_max, 1, UN(-1, 1, 2, 4, 3));
    CASE("cat", f_cat, 3, UN(-1, 1, 2, 3), UN(-1, 1, 2, 2));
    CASE("stack", f_stack, 3, UN(-1, 1, 2, 3), UN(-1, 1, 2, 3));
    CASE("reshape", f_reshape, 1, UN(-1, 1, 2, 3));
    CASE("transpose", f_transpose, 1, UN(-1, 1, 2, 3, 2));
    CASE("permute", f_permute, 1, UN(-1, 1, 2, 3, 2));
    CASE("unsqueeze", f_unsqueeze, 1, UN(-1, 1, 2, 3));
    CASE("squeeze", f_squeeze, 1, UN(-1, 1, 2, 1, 3));
    CASE("slice", f_slice, 1, UN(-1, 1, 2, 6));
    g_aux[0] = mk_i64((const int64_t[]){2, 0, 2, 1}, 1, SHAPE(4));
    CASE("index_select", f_index_select, 1, UN(-1, 1, 3, 2));
    CASE("sum", f_sum, 1, UN(-1, 1, 2, 3));
    CASE("mean", f_mean, 1, UN(-1, 1, 2, 3));
    CASE("sum_dim", f_sum_dim, 1, UN(-1, 1, 2, 3, 2));
    CASE("mean_dim", f_mean_dim, 1, UN(-1, 1, 2, 3));
    CASE("max_dim", f_max_dim, 1, UN(-1, 1, 3, 5));
    ts_tensor hm = half_mask(SHAPE(3, 4), 2);
    g_aux[0] = ts_to_dtype(hm, TS_F64);
    ts_free(hm);
    /* weight and pos_weight are not differentiable in torch 1.13: logits only */
    CASE("bce_with_logits", f_bce, 1, UN(-2, 2, 3, 4), UN(0.5, 2, 4), UN(0.5, 3, 4));
    g_aux[0] = UN(0, 1, 3, 4); /* soft targets */
    CASE("bce_with_logits none", f_bce_none, 1, UN(-2, 2, 3, 4));
    g_aux[0] = mk_i64((const int64_t[]){0, 3, 1, -100, 3}, 1, SHAPE(5));
    CASE("cross_entropy weight ignore", f_ce, 1, UN(-2, 2, 5, 4), UN(0.5, 2, 4));
    g_aux[0] = mk_i64((const int64_t[]){0, 3, 1, 2, 1}, 1, SHAPE(5));
    CASE("cross_entropy smoothing", f_ce_smooth, 1, UN(-2, 2, 5, 4));
    CASE("clone", f_clone, 1, UN(-1, 1, 2, 3));
    CASE("contiguous", f_contiguous, 1, UN(-1, 1, 2, 3));
    /* rnn: x [2,4,3], H 2; lengths {4, 2}; every weight and the input */
    for (g_rnn_kind = 0; g_rnn_kind < 2; g_rnn_kind++) {
        int G = g_rnn_kind == TS_RNN_LSTM ? 4 : 3;
        g_rnn_bidir = 1;
        g_aux[0] = mk_i64((const int64_t[]){4, 2}, 1, SHAPE(2));
        CASE(g_rnn_kind ? "rnn gru bidirectional" : "rnn lstm bidirectional", f_rnn, 0x1ff,
             UN(-1, 1, 2, 4, 3), UN(-1, 1, G * 2, 3), UN(-1, 1, G * 2, 2), UN(-1, 1, G * 2),
             UN(-1, 1, G * 2), UN(-1, 1, G * 2, 3), UN(-1, 1, G * 2, 2), UN(-1, 1, G * 2),
             UN(-1, 1, G * 2));
        g_aux[0] = NULL;
        CASE(g_rnn_kind ? "rnn gru 2 layers" : "rnn lstm 2 layers", f_rnn2, 0x1ff,
             UN(-1, 1, 2, 3, 3), UN(-1, 1, G * 2, 3), UN(-1, 1, G * 2, 2), UN(-1, 1, G * 2),
             UN(-1, 1, G * 2), UN(-1, 1, G * 2, 2), UN(-1, 1, G * 2, 2), UN(-1, 1, G * 2),
             UN(-1, 1, G * 2));
    }
    CHECK(ts_live_handles() == start);
    return check_exit("test_shim_gradcheck");
}
