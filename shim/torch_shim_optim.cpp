// torch_shim_optim.cpp: AdamW and SGD with parameter groups, lazy row updates for sparse
// (embedding_bag) gradients, and gradient-norm clipping.
//
// Dense AdamW follows torch.optim.AdamW (1.13, single-tensor path) step for step:
//   p *= 1 - lr*wd;  m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g;
//   p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
// A sparse gradient (COO, one sparse dim: the rows) is coalesced and the same formula runs on the
// rows present only (moments, decay and values of the other rows are untouched); t counts the
// steps of the parameter, as torch.optim.SparseAdam does. A row that is touched at every step is
// therefore updated exactly as dense AdamW would update it. The cost is O(touched rows * D).
//
// For contiguous f32/f64 CPU tensors the update is one fused pass (vectorized, multi-threaded);
// other cases use the same formula through ATen ops.
#include "torch_shim_internal.hpp"

#include <ATen/Parallel.h>

#include <cmath>
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif
#include <memory>
#include <mutex>
#include <unordered_set>

namespace {

enum Kind { K_ADAMW = 1, K_SGD = 2 };

struct PState {
    at::Tensor p;
    int64_t step = 0;
    at::Tensor m, v; // AdamW moments
    at::Tensor buf;  // SGD momentum
};
struct Group {
    std::vector<PState> ps;
    double lr, wd;
};
struct Optim {
    Kind kind;
    ts_optim_params hp;
    std::vector<Group> groups;
};

// ---- optimizer handle table (same scheme as tensors; bit 31 marks the kind) ----------------
struct OSlot {
    std::unique_ptr<Optim> o;
    uint32_t gen = 1;
};
std::mutex g_omu;
std::vector<OSlot> g_oslots;
std::vector<uint32_t> g_ofree;
int64_t g_olive = 0;
constexpr uint64_t kOptimBit = 0x80000000u;

ts_optim register_optim(std::unique_ptr<Optim> o) {
    std::lock_guard<std::mutex> lk(g_omu);
    uint32_t slot;
    if (!g_ofree.empty()) {
        slot = g_ofree.back();
        g_ofree.pop_back();
    } else {
        slot = uint32_t(g_oslots.size());
        g_oslots.emplace_back();
    }
    g_oslots[slot].o = std::move(o);
    g_olive++;
    uint64_t h = (uint64_t(g_oslots[slot].gen) << 32) | kOptimBit | (slot + 1u);
    return reinterpret_cast<ts_optim>(uintptr_t(h));
}

Optim *find_optim(ts_optim h) {
    if (!h) throw tsi::HandleError("o is NULL");
    uint64_t v = uint64_t(reinterpret_cast<uintptr_t>(h));
    uint64_t lo = v & 0xffffffffu;
    std::lock_guard<std::mutex> lk(g_omu);
    if ((lo & kOptimBit) && (lo & ~kOptimBit) >= 1) {
        uint64_t slot = (lo & ~kOptimBit) - 1;
        if (slot < g_oslots.size() && g_oslots[slot].o && g_oslots[slot].gen == uint32_t(v >> 32))
            return g_oslots[slot].o.get();
    }
    throw tsi::HandleError("o is a freed or invalid optimizer handle");
}

// ---- fused kernels ----------------------------------------------------------------------------
template <typename T> struct AdamK {
    T decay, b1, omb1, b2, omb2, bc2_sqrt, eps, neg_step;
};

// One pass over n elements: the same operations in the same order as torch's single-tensor
// AdamW (no FMA contraction), so the results match it to the last bit or so.
template <typename T>
void adamw_span_scalar(T *__restrict p, const T *__restrict g, T *__restrict m, T *__restrict v,
                       int64_t n, const AdamK<T> &k) {
    for (int64_t i = 0; i < n; i++) {
        T gi = g[i];
        T pi = p[i] * k.decay;
        T mi = m[i] * k.b1 + k.omb1 * gi;
        T vi = v[i] * k.b2 + k.omb2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        T denom = std::sqrt(vi) / k.bc2_sqrt + k.eps;
        p[i] = pi + k.neg_step * mi / denom;
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
#define TS_HAVE_AVX2_KERNELS 1
// AVX2 versions (8 floats / 4 doubles per op; plain mul/add, no FMA, so lane results equal the
// scalar ones). Chosen at run time when the CPU has AVX2.
__attribute__((target("avx2"))) void adamw_span_avx2(float *__restrict p, const float *__restrict g,
                                                     float *__restrict m, float *__restrict v,
                                                     int64_t n, const AdamK<float> &k) {
    const __m256 decay = _mm256_set1_ps(k.decay), b1 = _mm256_set1_ps(k.b1),
                 omb1 = _mm256_set1_ps(k.omb1), b2 = _mm256_set1_ps(k.b2),
                 omb2 = _mm256_set1_ps(k.omb2), bc2 = _mm256_set1_ps(k.bc2_sqrt),
                 eps = _mm256_set1_ps(k.eps), ns = _mm256_set1_ps(k.neg_step);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        __m256 pi = _mm256_mul_ps(_mm256_loadu_ps(p + i), decay);
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(m + i), b1), _mm256_mul_ps(omb1, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), b2),
                                  _mm256_mul_ps(_mm256_mul_ps(omb2, gi), gi));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), bc2), eps);
        _mm256_storeu_ps(p + i, _mm256_add_ps(pi, _mm256_div_ps(_mm256_mul_ps(ns, mi), denom)));
    }
    adamw_span_scalar(p + i, g + i, m + i, v + i, n - i, k);
}
__attribute__((target("avx2"))) void adamw_span_avx2(double *__restrict p, const double *__restrict g,
                                                     double *__restrict m, double *__restrict v,
                                                     int64_t n, const AdamK<double> &k) {
    const __m256d decay = _mm256_set1_pd(k.decay), b1 = _mm256_set1_pd(k.b1),
                  omb1 = _mm256_set1_pd(k.omb1), b2 = _mm256_set1_pd(k.b2),
                  omb2 = _mm256_set1_pd(k.omb2), bc2 = _mm256_set1_pd(k.bc2_sqrt),
                  eps = _mm256_set1_pd(k.eps), ns = _mm256_set1_pd(k.neg_step);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d gi = _mm256_loadu_pd(g + i);
        __m256d pi = _mm256_mul_pd(_mm256_loadu_pd(p + i), decay);
        __m256d mi = _mm256_add_pd(_mm256_mul_pd(_mm256_loadu_pd(m + i), b1), _mm256_mul_pd(omb1, gi));
        __m256d vi = _mm256_add_pd(_mm256_mul_pd(_mm256_loadu_pd(v + i), b2),
                                   _mm256_mul_pd(_mm256_mul_pd(omb2, gi), gi));
        _mm256_storeu_pd(m + i, mi);
        _mm256_storeu_pd(v + i, vi);
        __m256d denom = _mm256_add_pd(_mm256_div_pd(_mm256_sqrt_pd(vi), bc2), eps);
        _mm256_storeu_pd(p + i, _mm256_add_pd(pi, _mm256_div_pd(_mm256_mul_pd(ns, mi), denom)));
    }
    adamw_span_scalar(p + i, g + i, m + i, v + i, n - i, k);
}
bool has_avx2() {
    static const bool v = (__builtin_cpu_init(), __builtin_cpu_supports("avx2") != 0);
    return v;
}
#else
#define TS_HAVE_AVX2_KERNELS 0
#endif

template <typename T>
inline void adamw_span(T *p, const T *g, T *m, T *v, int64_t n, const AdamK<T> &k) {
#if TS_HAVE_AVX2_KERNELS
    if (has_avx2()) return adamw_span_avx2(p, g, m, v, n, k);
#endif
    adamw_span_scalar(p, g, m, v, n, k);
}

template <typename T> AdamK<T> adam_consts(const ts_optim_params &hp, double lr, double wd, int64_t t) {
    double bc1 = 1.0 - std::pow(hp.beta1, double(t));
    double bc2 = 1.0 - std::pow(hp.beta2, double(t));
    AdamK<T> k;
    k.decay = T(1.0 - lr * wd);
    k.b1 = T(hp.beta1);
    k.omb1 = T(1.0 - hp.beta1);
    k.b2 = T(hp.beta2);
    k.omb2 = T(1.0 - hp.beta2);
    k.bc2_sqrt = T(std::sqrt(bc2));
    k.eps = T(hp.eps);
    k.neg_step = T(-(lr / bc1));
    return k;
}

bool fast_ok(const at::Tensor &t, at::ScalarType st) {
    return t.is_cpu() && !t.is_sparse() && t.scalar_type() == st && t.is_contiguous();
}

template <typename T>
void adamw_dense_fast(PState &s, const at::Tensor &g, const AdamK<T> &k) {
    at::Tensor gc = g.contiguous();
    T *p = s.p.data_ptr<T>(), *m = s.m.data_ptr<T>(), *v = s.v.data_ptr<T>();
    const T *gp = gc.data_ptr<T>();
    at::parallel_for(0, s.p.numel(), 32768, [&](int64_t b, int64_t e) {
        adamw_span(p + b, gp + b, m + b, v + b, e - b, k);
    });
}

template <typename T>
void adamw_rows_fast(PState &s, const at::Tensor &idx, const at::Tensor &vals, const AdamK<T> &k) {
    const int64_t U = idx.numel();
    const int64_t D = U ? vals.numel() / U : 0;
    const int64_t *ix = idx.data_ptr<int64_t>();
    const T *gv = vals.data_ptr<T>();
    T *p = s.p.data_ptr<T>(), *m = s.m.data_ptr<T>(), *v = s.v.data_ptr<T>();
    int64_t grain = D > 0 ? std::max<int64_t>(1, 16384 / D) : 1;
    at::parallel_for(0, U, grain, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; r++) {
            int64_t off = ix[r] * D;
            adamw_span(p + off, gv + r * D, m + off, v + off, D, k);
        }
    });
}

// The rows (indices along dim 0) and the values of a coalesced sparse gradient.
void sparse_rows(const at::Tensor &p, at::Tensor &g, at::Tensor *idx, at::Tensor *vals) {
    if (!g.is_coalesced()) g = g.coalesce();
    *idx = g._indices().select(0, 0).contiguous();
    *vals = g._values().contiguous();
    int64_t U = idx->numel();
    if (U > 0) {
        int64_t lo = idx->min().item<int64_t>(), hi = idx->max().item<int64_t>();
        if (lo < 0 || hi >= p.size(0)) tsi::fail("sparse gradient row index out of range");
    }
}

void adamw_param(PState &s, const ts_optim_params &hp, double lr, double wd) {
    at::Tensor g = s.p.grad();
    if (!g.defined()) return;
    if (!s.m.defined()) {
        s.m = tsi::zeros_like_big(s.p);
        s.v = tsi::zeros_like_big(s.p);
    }
    s.step++;
    const int64_t t = s.step;
    bool sparse = g.is_sparse();
    if (sparse && g.sparse_dim() != 1) { // not row-wise: fall back to a dense update
        g = g.to_dense();
        sparse = false;
    }
    const at::ScalarType st = s.p.scalar_type();
    const bool fast = (st == at::kFloat || st == at::kDouble) && fast_ok(s.p, st) &&
                      fast_ok(s.m, st) && fast_ok(s.v, st) && g.scalar_type() == st && g.is_cpu();
    if (!sparse) {
        if (fast) {
            if (st == at::kFloat)
                adamw_dense_fast<float>(s, g, adam_consts<float>(hp, lr, wd, t));
            else
                adamw_dense_fast<double>(s, g, adam_consts<double>(hp, lr, wd, t));
            return;
        }
        double bc1 = 1.0 - std::pow(hp.beta1, double(t)), bc2 = 1.0 - std::pow(hp.beta2, double(t));
        s.p.mul_(1.0 - lr * wd);
        s.m.mul_(hp.beta1).add_(g, 1.0 - hp.beta1);
        s.v.mul_(hp.beta2).addcmul_(g, g, 1.0 - hp.beta2);
        at::Tensor denom = (s.v.sqrt() / std::sqrt(bc2)).add_(hp.eps);
        s.p.addcdiv_(s.m, denom, -(lr / bc1));
        return;
    }
    at::Tensor idx, vals;
    sparse_rows(s.p, g, &idx, &vals);
    if (idx.numel() == 0) return;
    if (fast && vals.scalar_type() == st) {
        if (st == at::kFloat)
            adamw_rows_fast<float>(s, idx, vals, adam_consts<float>(hp, lr, wd, t));
        else
            adamw_rows_fast<double>(s, idx, vals, adam_consts<double>(hp, lr, wd, t));
        return;
    }
    double bc1 = 1.0 - std::pow(hp.beta1, double(t)), bc2 = 1.0 - std::pow(hp.beta2, double(t));
    at::Tensor pr = s.p.index_select(0, idx), mr = s.m.index_select(0, idx), vr = s.v.index_select(0, idx);
    pr.mul_(1.0 - lr * wd);
    mr.mul_(hp.beta1).add_(vals, 1.0 - hp.beta1);
    vr.mul_(hp.beta2).addcmul_(vals, vals, 1.0 - hp.beta2);
    at::Tensor denom = (vr.sqrt() / std::sqrt(bc2)).add_(hp.eps);
    pr.addcdiv_(mr, denom, -(lr / bc1));
    s.p.index_copy_(0, idx, pr);
    s.m.index_copy_(0, idx, mr);
    s.v.index_copy_(0, idx, vr);
}

// torch.optim.SGD (dampening 0): d = g + wd*p; buf = momentum*buf + d (buf = d at first);
// d = nesterov ? d + momentum*buf : buf; p -= lr*d. Sparse gradients: the same on the rows
// present (the momentum buffer's other rows are not decayed: a lazy update).
void sgd_param(PState &s, const ts_optim_params &hp, double lr, double wd) {
    at::Tensor g = s.p.grad();
    if (!g.defined()) return;
    s.step++;
    const double mom = hp.momentum;
    if (g.is_sparse() && g.sparse_dim() != 1) g = g.to_dense();
    if (!g.is_sparse()) {
        at::Tensor d = wd != 0.0 ? g.add(s.p, wd) : g;
        if (mom != 0.0) {
            if (!s.buf.defined())
                s.buf = d.clone(at::MemoryFormat::Contiguous);
            else
                s.buf.mul_(mom).add_(d);
            d = hp.nesterov ? d.add(s.buf, mom) : s.buf;
        }
        s.p.add_(d, -lr);
        return;
    }
    at::Tensor idx, vals;
    sparse_rows(s.p, g, &idx, &vals);
    if (idx.numel() == 0) return;
    at::Tensor pr = s.p.index_select(0, idx);
    at::Tensor d = wd != 0.0 ? vals.add(pr, wd) : vals;
    if (mom != 0.0) {
        if (!s.buf.defined()) s.buf = tsi::zeros_like_big(s.p);
        at::Tensor br = s.buf.index_select(0, idx).mul_(mom).add_(d);
        s.buf.index_copy_(0, idx, br);
        d = hp.nesterov ? d.add(br, mom) : br;
    }
    s.p.index_add_(0, idx, d, -lr);
}

ts_optim make_optim(Kind kind, const char *op, const ts_param_group *groups, int32_t n_groups,
                    ts_optim_params hp, tsi::Call &C_) {
    (void)op;
    if (!groups || n_groups < 1) tsi::fail("needs at least one parameter group");
    if (kind == K_ADAMW) {
        if (!(hp.beta1 >= 0 && hp.beta1 < 1) || !(hp.beta2 >= 0 && hp.beta2 < 1))
            tsi::fail("betas must be in [0,1), got " + std::to_string(hp.beta1) + ", " +
                      std::to_string(hp.beta2));
        if (!(hp.eps >= 0)) tsi::fail("eps must be >= 0");
    } else {
        if (!(hp.momentum >= 0)) tsi::fail("momentum must be >= 0");
        if (hp.nesterov && hp.momentum <= 0) tsi::fail("nesterov needs momentum > 0");
    }
    auto o = std::make_unique<Optim>();
    o->kind = kind;
    o->hp = hp;
    std::unordered_set<const void *> seen;
    for (int32_t gi = 0; gi < n_groups; gi++) {
        const ts_param_group &G = groups[gi];
        std::string gname = "group " + std::to_string(gi);
        if (!(G.lr >= 0)) tsi::fail(gname + ": lr must be >= 0");
        if (!(G.weight_decay >= 0)) tsi::fail(gname + ": weight_decay must be >= 0");
        if (G.n_params < 0 || (G.n_params > 0 && !G.params)) tsi::fail(gname + ": bad params array");
        Group grp;
        grp.lr = G.lr;
        grp.wd = G.weight_decay;
        for (int32_t i = 0; i < G.n_params; i++) {
            at::Tensor t;
            int r = tsi::lookup(G.params[i], &t);
            if (r != 0)
                throw tsi::HandleError(gname + " params[" + std::to_string(i) + "]" +
                                       (r == 1 ? " is NULL" : " is a freed or invalid tensor handle"));
            std::string pname = gname + " params[" + std::to_string(i) + "] " + tsi::short_desc(t);
            if (!at::isFloatingType(t.scalar_type())) tsi::fail(pname + ": not floating point");
            if (!t.is_leaf()) tsi::fail(pname + ": can't optimize a non-leaf tensor");
            if (!seen.insert(t.unsafeGetTensorImpl()).second)
                tsi::fail(pname + ": appears more than once");
            PState s;
            s.p = std::move(t);
            grp.ps.push_back(std::move(s));
        }
        o->groups.push_back(std::move(grp));
    }
    (void)C_;
    return register_optim(std::move(o));
}

} // namespace

extern "C" {

ts_optim_params ts_optim_default_params(void) {
    ts_optim_params p;
    p.beta1 = 0.9;
    p.beta2 = 0.999;
    p.eps = 1e-8;
    p.momentum = 0.0;
    p.nesterov = 0;
    return p;
}

ts_optim ts_adamw_new(const ts_param_group *groups, int32_t n_groups, ts_optim_params p) {
    TS_CALL("ts_adamw_new") { return make_optim(K_ADAMW, "ts_adamw_new", groups, n_groups, p, C_); }
    TS_FAIL_PTR
}

ts_optim ts_sgd_new(const ts_param_group *groups, int32_t n_groups, ts_optim_params p) {
    TS_CALL("ts_sgd_new") { return make_optim(K_SGD, "ts_sgd_new", groups, n_groups, p, C_); }
    TS_FAIL_PTR
}

int ts_optim_set_lr(ts_optim o, int32_t group, double lr) {
    TS_CALL("ts_optim_set_lr") {
        Optim *op = find_optim(o);
        if (group < 0 || size_t(group) >= op->groups.size())
            tsi::fail("group " + std::to_string(group) + " out of range (" +
                      std::to_string(op->groups.size()) + " groups)");
        if (!(lr >= 0)) tsi::fail("lr must be >= 0");
        op->groups[size_t(group)].lr = lr;
        return TS_OK;
    }
    TS_FAIL_INT
}

int ts_optim_get_lr(ts_optim o, int32_t group, double *lr) {
    TS_CALL("ts_optim_get_lr") {
        Optim *op = find_optim(o);
        if (group < 0 || size_t(group) >= op->groups.size())
            tsi::fail("group " + std::to_string(group) + " out of range (" +
                      std::to_string(op->groups.size()) + " groups)");
        if (!lr) tsi::fail("lr is NULL");
        *lr = op->groups[size_t(group)].lr;
        return TS_OK;
    }
    TS_FAIL_INT
}

int ts_optim_step(ts_optim o) {
    TS_CALL("ts_optim_step") {
        Optim *op = find_optim(o);
        at::NoGradGuard ng;
        for (auto &G : op->groups)
            for (auto &s : G.ps) {
                if (op->kind == K_ADAMW)
                    adamw_param(s, op->hp, G.lr, G.wd);
                else
                    sgd_param(s, op->hp, G.lr, G.wd);
            }
        return TS_OK;
    }
    TS_FAIL_INT
}

int ts_optim_zero_grad(ts_optim o) {
    TS_CALL("ts_optim_zero_grad") {
        Optim *op = find_optim(o);
        for (auto &G : op->groups)
            for (auto &s : G.ps) s.p.mutable_grad().reset();
        return TS_OK;
    }
    TS_FAIL_INT
}

void ts_optim_free(ts_optim o) {
    if (!o) return;
    try {
        std::unique_ptr<Optim> dead;
        {
            std::lock_guard<std::mutex> lk(g_omu);
            uint64_t v = uint64_t(reinterpret_cast<uintptr_t>(o));
            uint64_t lo = v & 0xffffffffu;
            if ((lo & kOptimBit) && (lo & ~kOptimBit) >= 1) {
                uint64_t slot = (lo & ~kOptimBit) - 1;
                if (slot < g_oslots.size() && g_oslots[slot].o &&
                    g_oslots[slot].gen == uint32_t(v >> 32)) {
                    g_ofree.push_back(uint32_t(slot)); // may throw: before any change
                    dead = std::move(g_oslots[slot].o);
                    g_oslots[slot].gen++;
                    if (g_oslots[slot].gen == 0) g_oslots[slot].gen = 1;
                    g_olive--;
                }
            }
        }
        if (!dead) tsi::set_error("ts_optim_free: o is a freed or invalid optimizer handle (ignored)");
    } catch (...) {
    }
}

int64_t ts_live_optims(void) {
    TS_CALL("ts_live_optims") {
        std::lock_guard<std::mutex> lk(g_omu);
        return g_olive;
    }
    TS_FAIL_INT
}

// torch.nn.utils.clip_grad_norm_ (norm_type 2): total = ||(||g_1||, ..., ||g_n||)||;
// coef = max_norm / (total + 1e-6); grads are scaled by coef when it is below 1. Sparse grads
// are coalesced first (duplicates summed) and their values count.
int ts_clip_grad_norm(const ts_tensor *params, int32_t n, double max_norm, double *total_norm) {
    TS_CALL("ts_clip_grad_norm") {
        std::vector<at::Tensor> P = C_.list(params, n, "params");
        if (!(max_norm >= 0)) tsi::fail("max_norm must be >= 0");
        at::NoGradGuard ng;
        std::vector<at::Tensor> grads, norms;
        for (auto &p : P) {
            at::Tensor &g = p.mutable_grad();
            if (!g.defined()) continue;
            if (g.is_sparse()) {
                if (!g.is_coalesced()) g = g.coalesce();
                norms.push_back(at::norm(g._values()));
            } else {
                norms.push_back(at::norm(g));
            }
            grads.push_back(g);
        }
        if (norms.empty()) {
            if (total_norm) *total_norm = 0.0;
            return TS_OK;
        }
        at::Tensor total = norms.size() == 1 ? norms[0] : at::norm(at::stack(norms));
        double tn = total.item<double>();
        if (total_norm) *total_norm = tn;
        // As torch (error_if_nonfinite=False): an infinite norm zeroes the grads, NaN spreads.
        double coef = (max_norm / (total + 1e-6)).item<double>();
        if (!(coef >= 1.0)) {
            for (auto &g : grads) {
                if (g.is_sparse())
                    g._values().mul_(coef);
                else
                    g.mul_(coef);
            }
        }
        return TS_OK;
    }
    TS_FAIL_INT
}

} // extern "C"
