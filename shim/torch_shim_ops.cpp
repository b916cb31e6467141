// torch_shim_ops.cpp: the tensor-level ops of torch_shim.h (each returns a new reference).
#include "torch_shim_internal.hpp"

#include <limits>

using tsi::Call;
using tsi::opt_of;
using tsi::wrap;

#define TS_UNARY(fn, expr)                                                                       \
    ts_tensor fn(ts_tensor x) {                                                                  \
        TS_CALL(#fn) {                                                                           \
            const at::Tensor &X = C_.get(x, "x");                                                \
            return wrap(expr);                                                                   \
        }                                                                                        \
        TS_FAIL_PTR                                                                              \
    }

#define TS_BINARY(fn, expr)                                                                      \
    ts_tensor fn(ts_tensor a, ts_tensor b) {                                                     \
        TS_CALL(#fn) {                                                                           \
            const at::Tensor &A = C_.get(a, "a");                                                \
            const at::Tensor &B = C_.get(b, "b");                                                \
            return wrap(expr);                                                                   \
        }                                                                                        \
        TS_FAIL_PTR                                                                              \
    }

static void need_i64_or_i32(const at::Tensor &t, const char *name) {
    if (t.scalar_type() != at::kLong && t.scalar_type() != at::kInt)
        tsi::fail(std::string(name) + " must be i64 (or i32), got " + tsi::dtype_name(t.scalar_type()));
}

// Mask (bool, or any numeric with nonzero = keep) as bool, unsqueezed at the end to x's rank.
static at::Tensor keep_mask(const at::Tensor &x, const at::Tensor &mask) {
    if (mask.dim() > x.dim()) tsi::fail("mask has more dims than x");
    at::Tensor m = mask.scalar_type() == at::kBool ? mask : mask.ne(0);
    while (m.dim() < x.dim()) m = m.unsqueeze(-1);
    return m;
}

extern "C" {

// ---- embeddings, linear algebra -------------------------------------------------------------
ts_tensor ts_embedding(ts_tensor weight, ts_tensor ids, int64_t padding_idx) {
    TS_CALL("ts_embedding") {
        const at::Tensor &W = C_.get(weight, "weight");
        const at::Tensor &I = C_.get(ids, "ids");
        need_i64_or_i32(I, "ids");
        if (W.dim() != 2) tsi::fail("weight must be 2-D [V,D]");
        return wrap(at::embedding(W, I, padding_idx < 0 ? -1 : padding_idx, false, false));
    }
    TS_FAIL_PTR
}

ts_tensor ts_embedding_bag(ts_tensor weight, ts_tensor ids, ts_tensor offsets, ts_bag_mode mode,
                           int sparse, ts_tensor per_sample_weights) {
    TS_CALL("ts_embedding_bag") {
        const at::Tensor &W = C_.get(weight, "weight");
        const at::Tensor &I = C_.get(ids, "ids");
        const at::Tensor &O = C_.get(offsets, "offsets");
        const at::Tensor &P = C_.opt(per_sample_weights, "per_sample_weights");
        if (mode != TS_BAG_SUM && mode != TS_BAG_MEAN && mode != TS_BAG_MAX)
            tsi::fail("unknown ts_bag_mode " + std::to_string(int(mode)));
        if (W.dim() != 2) tsi::fail("weight must be 2-D [V,D]");
        need_i64_or_i32(I, "ids");
        need_i64_or_i32(O, "offsets");
        if (I.dim() != 1 || O.dim() != 1) tsi::fail("ids and offsets must be 1-D");
        if (P.defined() && mode != TS_BAG_SUM)
            tsi::fail("per_sample_weights are only supported in sum mode");
        at::Tensor Ic = I, Oc = O;
        if (Ic.scalar_type() != Oc.scalar_type()) { // ATen wants both of one type
            Ic = Ic.to(at::kLong);
            Oc = Oc.to(at::kLong);
        }
        auto r = at::embedding_bag(W, Ic, Oc, false, int64_t(mode), sparse != 0, opt_of(P), false);
        return wrap(std::get<0>(r));
    }
    TS_FAIL_PTR
}

ts_tensor ts_linear(ts_tensor x, ts_tensor w, ts_tensor b) {
    TS_CALL("ts_linear") {
        const at::Tensor &X = C_.get(x, "x");
        const at::Tensor &W = C_.get(w, "w");
        const at::Tensor &B = C_.opt(b, "b");
        return wrap(at::linear(X, W, opt_of(B)));
    }
    TS_FAIL_PTR
}

TS_BINARY(ts_matmul, at::matmul(A, B))
TS_BINARY(ts_bmm, at::bmm(A, B))

ts_tensor ts_baddbmm(ts_tensor bias, ts_tensor a, ts_tensor b, double beta, double alpha) {
    TS_CALL("ts_baddbmm") {
        const at::Tensor &Z = C_.get(bias, "bias");
        const at::Tensor &A = C_.get(a, "a");
        const at::Tensor &B = C_.get(b, "b");
        return wrap(at::baddbmm(Z, A, B, beta, alpha));
    }
    TS_FAIL_PTR
}

ts_tensor ts_conv1d(ts_tensor x, ts_tensor w, ts_tensor b, int64_t stride, int64_t padding,
                    int64_t dilation, int64_t groups) {
    TS_CALL("ts_conv1d") {
        const at::Tensor &X = C_.get(x, "x");
        const at::Tensor &W = C_.get(w, "w");
        const at::Tensor &B = C_.opt(b, "b");
        return wrap(at::conv1d(X, W, opt_of(B), {stride}, {padding}, {dilation}, groups));
    }
    TS_FAIL_PTR
}

// ---- recurrent layers -----------------------------------------------------------------------
ts_tensor ts_rnn(ts_rnn_kind kind, ts_tensor x, ts_tensor lengths, const ts_tensor *params,
                 int32_t n_params, int32_t num_layers, int bidirectional, double dropout,
                 int training) {
    TS_CALL("ts_rnn") {
        const at::Tensor &X = C_.get(x, "x");
        const at::Tensor &Lh = C_.opt(lengths, "lengths");
        if (kind != TS_RNN_LSTM && kind != TS_RNN_GRU)
            tsi::fail("unknown ts_rnn_kind " + std::to_string(int(kind)));
        if (num_layers < 1) tsi::fail("num_layers must be >= 1");
        int64_t dirs = bidirectional ? 2 : 1;
        if (int64_t(n_params) != int64_t(num_layers) * dirs * 4)
            tsi::fail("expected " + std::to_string(num_layers * dirs * 4) +
                      " params (w_ih, w_hh, b_ih, b_hh per layer and direction), got " +
                      std::to_string(n_params));
        std::vector<at::Tensor> P = C_.list(params, n_params, "params");
        if (X.dim() != 3) tsi::fail("x must be [B,T,I]");
        const int64_t G = kind == TS_RNN_LSTM ? 4 : 3;
        const int64_t H = P[1].size(1);
        if (P[0].dim() != 2 || P[0].size(0) != G * H)
            tsi::fail("params[0] (w_ih) must be [" + std::to_string(G * H) + ",I]");
        const int64_t B = X.size(0), T = X.size(1);
        at::Tensor h0 = at::zeros({int64_t(num_layers) * dirs, B, H}, X.options());
        const bool bi = bidirectional != 0, train = training != 0;
        auto run_full = [&](const at::Tensor &in) -> at::Tensor {
            if (kind == TS_RNN_LSTM)
                return std::get<0>(at::lstm(in, {h0, h0}, P, true, num_layers, dropout, train, bi, true));
            return std::get<0>(at::gru(in, h0, P, true, num_layers, dropout, train, bi, true));
        };
        if (!Lh.defined()) return wrap(run_full(X));

        if (Lh.dim() != 1 || Lh.size(0) != B)
            tsi::fail("lengths must be [B] = [" + std::to_string(B) + "]");
        need_i64_or_i32(Lh, "lengths");
        at::Tensor lens = Lh.to(at::kCPU, at::kLong);
        int64_t mx = B ? lens.max().item<int64_t>() : 0, mn = B ? lens.min().item<int64_t>() : 0;
        if (mn < 0 || mx > T)
            tsi::fail("lengths must be in [0, T=" + std::to_string(T) + "], got [" +
                      std::to_string(mn) + "," + std::to_string(mx) + "]");
        if (B == 0 || T == 0) return wrap(at::zeros({B, T, H * dirs}, X.options()));
        // Pack (sorted by decreasing length, as ATen wants), run, unpack, restore the order.
        at::Tensor clamped = lens.clamp_min(1); // empty rows run one step, zeroed below
        auto sorted = clamped.sort(0, /*descending=*/true);
        at::Tensor slen = std::get<0>(sorted), perm = std::get<1>(sorted);
        at::Tensor xs = X.index_select(0, perm.to(X.device()));
        auto packed = at::_pack_padded_sequence(xs, slen, /*batch_first=*/true);
        at::Tensor data = std::get<0>(packed), batch_sizes = std::get<1>(packed);
        at::Tensor out;
        if (kind == TS_RNN_LSTM)
            out = std::get<0>(at::lstm(data, batch_sizes, {h0, h0}, P, true, num_layers, dropout, train, bi));
        else
            out = std::get<0>(at::gru(data, batch_sizes, h0, P, true, num_layers, dropout, train, bi));
        at::Tensor padded = std::get<0>(at::_pad_packed_sequence(out, batch_sizes, true, 0, T));
        at::Tensor inv = perm.argsort();
        at::Tensor res = padded.index_select(0, inv.to(padded.device()));
        if (mn == 0) {
            at::Tensor nonempty = lens.gt(0).to(res.device(), res.scalar_type()).view({B, 1, 1});
            res = res * nonempty;
        }
        return wrap(res);
    }
    TS_FAIL_PTR
}

// ---- elementwise ----------------------------------------------------------------------------
TS_BINARY(ts_add, at::add(A, B))
TS_BINARY(ts_sub, at::sub(A, B))
TS_BINARY(ts_mul, at::mul(A, B))
TS_BINARY(ts_div, at::div(A, B))

ts_tensor ts_add_scaled(ts_tensor a, ts_tensor b, double alpha) {
    TS_CALL("ts_add_scaled") {
        const at::Tensor &A = C_.get(a, "a");
        const at::Tensor &B = C_.get(b, "b");
        return wrap(at::add(A, B, alpha));
    }
    TS_FAIL_PTR
}

#define TS_UNARY_S(fn, expr)                                                                     \
    ts_tensor fn(ts_tensor a, double s) {                                                        \
        TS_CALL(#fn) {                                                                           \
            const at::Tensor &X = C_.get(a, "a");                                                \
            return wrap(expr);                                                                   \
        }                                                                                        \
        TS_FAIL_PTR                                                                              \
    }

TS_UNARY_S(ts_add_scalar, at::add(X, at::Scalar(s)))
TS_UNARY_S(ts_mul_scalar, at::mul(X, at::Scalar(s)))
TS_UNARY_S(ts_pow_scalar, at::pow(X, at::Scalar(s)))
TS_UNARY_S(ts_gt_scalar, at::gt(X, at::Scalar(s)))

TS_UNARY(ts_neg, at::neg(X))
TS_UNARY(ts_exp, at::exp(X))
TS_UNARY(ts_log, at::log(X))
TS_UNARY(ts_sqrt, at::sqrt(X))

ts_tensor ts_clamp(ts_tensor a, double lo, double hi) {
    TS_CALL("ts_clamp") {
        const at::Tensor &X = C_.get(a, "a");
        if (lo > hi) tsi::fail("lo > hi");
        return wrap(at::clamp(X, at::Scalar(lo), at::Scalar(hi)));
    }
    TS_FAIL_PTR
}

// ---- activations ----------------------------------------------------------------------------
TS_UNARY(ts_relu, at::relu(X))
TS_UNARY(ts_silu, at::silu(X))
TS_UNARY(ts_tanh, at::tanh(X))
TS_UNARY(ts_sigmoid, at::sigmoid(X))
TS_UNARY(ts_log_sigmoid, at::log_sigmoid(X))

ts_tensor ts_gelu(ts_tensor x, int tanh_approx) {
    TS_CALL("ts_gelu") {
        const at::Tensor &X = C_.get(x, "x");
        return wrap(at::gelu(X, tanh_approx ? "tanh" : "none"));
    }
    TS_FAIL_PTR
}

ts_tensor ts_leaky_relu(ts_tensor x, double negative_slope) {
    TS_CALL("ts_leaky_relu") {
        const at::Tensor &X = C_.get(x, "x");
        return wrap(at::leaky_relu(X, negative_slope));
    }
    TS_FAIL_PTR
}

ts_tensor ts_softmax(ts_tensor x, int32_t dim) {
    TS_CALL("ts_softmax") {
        const at::Tensor &X = C_.get(x, "x");
        return wrap(at::softmax(X, dim));
    }
    TS_FAIL_PTR
}

ts_tensor ts_log_softmax(ts_tensor x, int32_t dim) {
    TS_CALL("ts_log_softmax") {
        const at::Tensor &X = C_.get(x, "x");
        return wrap(at::log_softmax(X, dim));
    }
    TS_FAIL_PTR
}

// ---- normalization, dropout -----------------------------------------------------------------
ts_tensor ts_layer_norm(ts_tensor x, ts_tensor w, ts_tensor b, double eps) {
    TS_CALL("ts_layer_norm") {
        const at::Tensor &X = C_.get(x, "x");
        const at::Tensor &W = C_.opt(w, "w");
        const at::Tensor &B = C_.opt(b, "b");
        if (X.dim() < 1) tsi::fail("x must have at least one dim");
        return wrap(at::layer_norm(X, {X.size(-1)}, opt_of(W), opt_of(B), eps, true));
    }
    TS_FAIL_PTR
}

ts_tensor ts_batch_norm(ts_tensor x, ts_tensor w, ts_tensor b, ts_tensor running_mean,
                        ts_tensor running_var, int training, double momentum, double eps) {
    TS_CALL("ts_batch_norm") {
        const at::Tensor &X = C_.get(x, "x");
        const at::Tensor &W = C_.opt(w, "w");
        const at::Tensor &B = C_.opt(b, "b");
        const at::Tensor &M = C_.opt(running_mean, "running_mean");
        const at::Tensor &V = C_.opt(running_var, "running_var");
        if (M.defined() != V.defined())
            tsi::fail("running_mean and running_var must both be given or both be NULL");
        if (!training && !M.defined()) tsi::fail("eval mode needs running_mean and running_var");
        if (X.dim() != 2 && X.dim() != 3) tsi::fail("x must be [B,C] or [B,C,T]");
        return wrap(at::batch_norm(X, opt_of(W), opt_of(B), opt_of(M), opt_of(V), training != 0,
                                   momentum, eps, true));
    }
    TS_FAIL_PTR
}

ts_tensor ts_group_norm(ts_tensor x, int64_t groups, ts_tensor w, ts_tensor b, double eps) {
    TS_CALL("ts_group_norm") {
        const at::Tensor &X = C_.get(x, "x");
        const at::Tensor &W = C_.opt(w, "w");
        const at::Tensor &B = C_.opt(b, "b");
        if (groups < 1) tsi::fail("groups must be >= 1");
        return wrap(at::group_norm(X, groups, opt_of(W), opt_of(B), eps, true));
    }
    TS_FAIL_PTR
}

ts_tensor ts_dropout(ts_tensor x, double p, int training) {
    TS_CALL("ts_dropout") {
        const at::Tensor &X = C_.get(x, "x");
        if (!(p >= 0.0 && p <= 1.0)) tsi::fail("p must be in [0,1], got " + std::to_string(p));
        if (!training || p == 0.0) return wrap(X); // a new reference to x itself
        return wrap(at::dropout(X, p, true));
    }
    TS_FAIL_PTR
}

// ---- masking --------------------------------------------------------------------------------
ts_tensor ts_masked_fill(ts_tensor x, ts_tensor mask, double value) {
    TS_CALL("ts_masked_fill") {
        const at::Tensor &X = C_.get(x, "x");
        const at::Tensor &M = C_.get(mask, "mask");
        if (M.scalar_type() != at::kBool)
            tsi::fail(std::string("mask must be bool, got ") + tsi::dtype_name(M.scalar_type()));
        return wrap(at::masked_fill(X, M, at::Scalar(value)));
    }
    TS_FAIL_PTR
}

ts_tensor ts_masked_mean(ts_tensor x, ts_tensor mask, int32_t dim) {
    TS_CALL("ts_masked_mean") {
        const at::Tensor &X = C_.get(x, "x");
        const at::Tensor &M = C_.get(mask, "mask");
        if (!at::isFloatingType(X.scalar_type())) tsi::fail("x must be floating point");
        at::Tensor m = keep_mask(X, M).to(X.scalar_type());
        at::Tensor s = (X * m).sum({dim});
        at::Tensor c = m.sum({dim}).clamp_min(1.0);
        return wrap(s / c);
    }
    TS_FAIL_PTR
}

ts_tensor ts_masked_max(ts_tensor x, ts_tensor mask, int32_t dim) {
    TS_CALL("ts_masked_max") {
        const at::Tensor &X = C_.get(x, "x");
        const at::Tensor &M = C_.get(mask, "mask");
        if (!at::isFloatingType(X.scalar_type())) tsi::fail("x must be floating point");
        at::Tensor keep = keep_mask(X, M);
        at::Tensor filled = X.masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity());
        at::Tensor mx = std::get<0>(filled.max(dim));
        at::Tensor any = keep.any(dim);
        return wrap(at::where(any, mx, at::zeros({}, mx.options())));
    }
    TS_FAIL_PTR
}

// ---- shapes ---------------------------------------------------------------------------------
ts_tensor ts_cat(const ts_tensor *ts, int32_t n, int32_t dim) {
    TS_CALL("ts_cat") {
        if (n < 1) tsi::fail("needs at least one tensor");
        return wrap(at::cat(C_.list(ts, n, "ts"), dim));
    }
    TS_FAIL_PTR
}

ts_tensor ts_stack(const ts_tensor *ts, int32_t n, int32_t dim) {
    TS_CALL("ts_stack") {
        if (n < 1) tsi::fail("needs at least one tensor");
        return wrap(at::stack(C_.list(ts, n, "ts"), dim));
    }
    TS_FAIL_PTR
}

ts_tensor ts_reshape(ts_tensor x, const int64_t *shape, int32_t ndim) {
    TS_CALL("ts_reshape") {
        const at::Tensor &X = C_.get(x, "x");
        return wrap(at::reshape(X, tsi::dims(shape, ndim, "reshape")));
    }
    TS_FAIL_PTR
}

ts_tensor ts_transpose(ts_tensor x, int32_t d0, int32_t d1) {
    TS_CALL("ts_transpose") {
        const at::Tensor &X = C_.get(x, "x");
        return wrap(at::transpose(X, d0, d1));
    }
    TS_FAIL_PTR
}

ts_tensor ts_permute(ts_tensor x, const int32_t *dims, int32_t ndim) {
    TS_CALL("ts_permute") {
        const at::Tensor &X = C_.get(x, "x");
        if (ndim < 0 || ndim > TS_MAX_DIMS || (ndim > 0 && !dims)) tsi::fail("bad dims");
        std::vector<int64_t> d(dims, dims + ndim);
        return wrap(X.permute(d));
    }
    TS_FAIL_PTR
}

ts_tensor ts_unsqueeze(ts_tensor x, int32_t dim) {
    TS_CALL("ts_unsqueeze") {
        const at::Tensor &X = C_.get(x, "x");
        return wrap(at::unsqueeze(X, dim));
    }
    TS_FAIL_PTR
}

ts_tensor ts_squeeze(ts_tensor x, int32_t dim) {
    TS_CALL("ts_squeeze") {
        const at::Tensor &X = C_.get(x, "x");
        return wrap(at::squeeze(X, dim));
    }
    TS_FAIL_PTR
}

ts_tensor ts_slice(ts_tensor x, int32_t dim, int64_t start, int64_t end, int64_t step) {
    TS_CALL("ts_slice") {
        const at::Tensor &X = C_.get(x, "x");
        if (step < 1) tsi::fail("step must be >= 1");
        return wrap(at::slice(X, dim, start, end, step));
    }
    TS_FAIL_PTR
}

ts_tensor ts_index_select(ts_tensor x, int32_t dim, ts_tensor index) {
    TS_CALL("ts_index_select") {
        const at::Tensor &X = C_.get(x, "x");
        const at::Tensor &I = C_.get(index, "index");
        return wrap(at::index_select(X, dim, I));
    }
    TS_FAIL_PTR
}

// ---- reductions -----------------------------------------------------------------------------
TS_UNARY(ts_sum, at::sum(X))
TS_UNARY(ts_mean, at::mean(X))

ts_tensor ts_sum_dim(ts_tensor x, int32_t dim, int keepdim) {
    TS_CALL("ts_sum_dim") {
        const at::Tensor &X = C_.get(x, "x");
        return wrap(at::sum(X, {dim}, keepdim != 0));
    }
    TS_FAIL_PTR
}

ts_tensor ts_mean_dim(ts_tensor x, int32_t dim, int keepdim) {
    TS_CALL("ts_mean_dim") {
        const at::Tensor &X = C_.get(x, "x");
        return wrap(at::mean(X, {dim}, keepdim != 0));
    }
    TS_FAIL_PTR
}

ts_tensor ts_max_dim(ts_tensor x, int32_t dim, int keepdim) {
    TS_CALL("ts_max_dim") {
        const at::Tensor &X = C_.get(x, "x");
        return wrap(std::get<0>(at::max(X, dim, keepdim != 0)));
    }
    TS_FAIL_PTR
}

// ---- losses ---------------------------------------------------------------------------------
static int64_t reduction_of(ts_reduction r) {
    switch (r) {
    case TS_REDUCE_NONE: return at::Reduction::None;
    case TS_REDUCE_MEAN: return at::Reduction::Mean;
    case TS_REDUCE_SUM: return at::Reduction::Sum;
    }
    tsi::fail("unknown ts_reduction " + std::to_string(int(r)));
}

ts_tensor ts_bce_with_logits(ts_tensor logits, ts_tensor targets, ts_tensor weight,
                             ts_tensor pos_weight, ts_reduction reduction) {
    TS_CALL("ts_bce_with_logits") {
        const at::Tensor &L = C_.get(logits, "logits");
        const at::Tensor &T = C_.get(targets, "targets");
        const at::Tensor &W = C_.opt(weight, "weight");
        const at::Tensor &P = C_.opt(pos_weight, "pos_weight");
        int64_t red = reduction_of(reduction);
        if (L.sizes() != T.sizes()) tsi::fail("logits and targets must have the same shape");
        return wrap(at::binary_cross_entropy_with_logits(L, T, opt_of(W), opt_of(P), red));
    }
    TS_FAIL_PTR
}

ts_tensor ts_cross_entropy(ts_tensor logits, ts_tensor target, ts_tensor weight,
                           int64_t ignore_index, double label_smoothing, ts_reduction reduction) {
    TS_CALL("ts_cross_entropy") {
        const at::Tensor &L = C_.get(logits, "logits");
        const at::Tensor &T = C_.get(target, "target");
        const at::Tensor &W = C_.opt(weight, "weight");
        int64_t red = reduction_of(reduction);
        if (T.scalar_type() != at::kLong)
            tsi::fail(std::string("target must be i64 class indices, got ") +
                      tsi::dtype_name(T.scalar_type()));
        if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
            tsi::fail("label_smoothing must be in [0,1]");
        return wrap(at::cross_entropy_loss(L, T, opt_of(W), red, ignore_index, label_smoothing));
    }
    TS_FAIL_PTR
}

} // extern "C"
