// torch_shim.cpp: errors, runtime settings, the handle table and scopes, tensor creation and
// inspection, autograd. Ops live in torch_shim_ops.cpp, optimizers in torch_shim_optim.cpp.
#include "torch_shim_internal.hpp"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/version.h>

#include <atomic>
#include <cstring>
#include <mutex>
#if defined(__linux__)
#include <sys/mman.h>
#endif

static_assert(sizeof(void *) == 8, "the handle encoding assumes 64-bit pointers");

namespace tsi {

static thread_local std::string t_last_error;

void set_error(std::string msg) { t_last_error = std::move(msg); }

void fail(const std::string &msg) { throw Error(msg); }

// ---- dtypes ---------------------------------------------------------------------------------
at::ScalarType scalar_type(int dtype) {
    switch (dtype) {
    case TS_F32: return at::kFloat;
    case TS_I64: return at::kLong;
    case TS_BOOL: return at::kBool;
    case TS_F16: return at::kHalf;
    case TS_BF16: return at::kBFloat16;
    case TS_I32: return at::kInt;
    case TS_U8: return at::kByte;
    case TS_F64: return at::kDouble;
    }
    fail("unknown ts_dtype " + std::to_string(dtype));
}

int ts_dtype_from(at::ScalarType st) {
    switch (st) {
    case at::kFloat: return TS_F32;
    case at::kLong: return TS_I64;
    case at::kBool: return TS_BOOL;
    case at::kHalf: return TS_F16;
    case at::kBFloat16: return TS_BF16;
    case at::kInt: return TS_I32;
    case at::kByte: return TS_U8;
    case at::kDouble: return TS_F64;
    default: return -1;
    }
}

const char *dtype_name(at::ScalarType st) {
    switch (st) {
    case at::kFloat: return "f32";
    case at::kLong: return "i64";
    case at::kBool: return "bool";
    case at::kHalf: return "f16";
    case at::kBFloat16: return "bf16";
    case at::kInt: return "i32";
    case at::kByte: return "u8";
    case at::kDouble: return "f64";
    default: return c10::toString(st);
    }
}

static std::string shape_desc(const at::Tensor &t) {
    std::string s = dtype_name(t.scalar_type());
    s += '[';
    auto sz = t.sizes();
    for (size_t i = 0; i < sz.size(); i++) {
        if (i) s += ',';
        s += std::to_string(sz[i]);
    }
    s += ']';
    return s;
}

std::string short_desc(const at::Tensor &t) {
    if (!t.defined()) return "undefined";
    return t.is_sparse() ? shape_desc(t) + " sparse" : shape_desc(t);
}

std::vector<int64_t> dims(const int64_t *shape, int32_t ndim, const char *what) {
    if (ndim < 0 || ndim > TS_MAX_DIMS)
        fail(std::string("ndim ") + std::to_string(ndim) + " out of range [0," +
             std::to_string(TS_MAX_DIMS) + "]");
    if (ndim > 0 && !shape) fail(std::string(what) + " is NULL with ndim " + std::to_string(ndim));
    std::vector<int64_t> v(shape, shape + ndim);
    for (int32_t i = 0; i < ndim; i++)
        if (v[i] < 0 && !(v[i] == -1 && std::strcmp(what, "reshape") == 0))
            fail(std::string(what) + "[" + std::to_string(i) + "] = " + std::to_string(v[i]) +
                 " is negative");
    return v;
}

at::Tensor empty_big(at::IntArrayRef sizes, at::TensorOptions opts) {
    at::Tensor t = at::empty(sizes, opts);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = uintptr_t(2) << 20;
    size_t bytes = size_t(t.numel()) * t.element_size();
    if (t.is_cpu() && bytes >= (size_t(8) << 20)) {
        uintptr_t b = reinterpret_cast<uintptr_t>(t.data_ptr());
        uintptr_t lo = (b + huge - 1) & ~(huge - 1), hi = (b + bytes) & ~(huge - 1);
        if (hi > lo) (void)madvise(reinterpret_cast<void *>(lo), hi - lo, MADV_HUGEPAGE); // a hint
    }
#endif
    return t;
}

at::Tensor zeros_like_big(const at::Tensor &t) {
    return empty_big(t.sizes(), t.options()).zero_();
}

// ---- handle table ---------------------------------------------------------------------------
// A handle is (generation << 32) | (slot + 1); bit 31 of the low word is reserved for other
// handle kinds (optimizers). A slot's generation changes when it is freed, so a stale handle
// never matches, and the check never dereferences anything the caller holds.
namespace {
struct Slot {
    at::Tensor t;
    uint64_t scope = 0; // id of the owning scope, 0 = free-standing
    uint32_t gen = 1;
    uint32_t next_free = UINT32_MAX;
    bool live = false;
};
struct ScopeRec {
    uint64_t id;
    std::vector<uint64_t> hs;
};
std::mutex g_mu;
std::vector<Slot> g_slots;
uint32_t g_free_head = UINT32_MAX;
int64_t g_live = 0;
std::atomic<uint64_t> g_scope_ids{1};
thread_local std::vector<ScopeRec> t_scopes;

constexpr uint64_t kKindBit = 0x80000000u;

inline uint64_t encode(uint32_t slot, uint32_t gen) { return (uint64_t(gen) << 32) | (slot + 1u); }
// Returns the slot index or -1 (caller holds g_mu).
inline int64_t decode_locked(uint64_t v) {
    uint64_t lo = v & 0xffffffffu;
    if (lo == 0 || (lo & kKindBit)) return -1;
    uint64_t slot = lo - 1;
    if (slot >= g_slots.size()) return -1;
    const Slot &s = g_slots[slot];
    if (!s.live || s.gen != uint32_t(v >> 32)) return -1;
    return int64_t(slot);
}
// Frees a live slot (caller holds g_mu); the tensor is moved to *sink to be destroyed unlocked.
inline void release_locked(uint32_t slot, at::Tensor *sink) {
    Slot &s = g_slots[slot];
    *sink = std::move(s.t);
    s.t = at::Tensor();
    s.live = false;
    s.scope = 0;
    s.gen++;
    if (s.gen == 0) s.gen = 1;
    s.next_free = g_free_head;
    g_free_head = slot;
    g_live--;
}
} // namespace

int lookup(ts_tensor h, at::Tensor *out) {
    if (!h) return 1;
    std::lock_guard<std::mutex> lk(g_mu);
    int64_t slot = decode_locked(uint64_t(reinterpret_cast<uintptr_t>(h)));
    if (slot < 0) return 2;
    *out = g_slots[size_t(slot)].t;
    return 0;
}

ts_tensor wrap(at::Tensor t) {
    if (!t.defined()) fail("the result is an undefined tensor");
    uint64_t scope = t_scopes.empty() ? 0 : t_scopes.back().id;
    uint64_t h;
    {
        std::lock_guard<std::mutex> lk(g_mu);
        uint32_t slot;
        if (g_free_head != UINT32_MAX) {
            slot = g_free_head;
            g_free_head = g_slots[slot].next_free;
        } else {
            if (g_slots.size() >= 0x7ffffff0u) fail("too many live tensor handles");
            slot = uint32_t(g_slots.size());
            g_slots.emplace_back();
        }
        Slot &s = g_slots[slot];
        s.t = std::move(t);
        s.live = true;
        s.scope = scope;
        s.next_free = UINT32_MAX;
        g_live++;
        h = encode(slot, s.gen);
    }
    if (scope) t_scopes.back().hs.push_back(h);
    return reinterpret_cast<ts_tensor>(uintptr_t(h));
}

// ---- per-call context -----------------------------------------------------------------------
const at::Tensor &Call::get(ts_tensor h, const char *name, int idx) {
    if (n >= kMax) fail("internal: too many arguments recorded");
    int r = lookup(h, &ts[n]);
    if (r != 0) {
        std::string nm = name;
        if (idx >= 0) nm += "[" + std::to_string(idx) + "]";
        throw HandleError(nm + (r == 1 ? " is NULL" : " is a freed or invalid tensor handle"));
    }
    names[n] = name;
    index[n] = idx;
    return ts[n++];
}

const at::Tensor &Call::opt(ts_tensor h, const char *name) {
    static const at::Tensor undefined;
    if (!h) return undefined;
    return get(h, name);
}

std::vector<at::Tensor> Call::list(const ts_tensor *hs, int32_t count, const char *name) {
    if (count < 0) fail(std::string("negative count for ") + name);
    if (count > 0 && !hs) throw HandleError(std::string(name) + " is NULL");
    std::vector<at::Tensor> v;
    v.reserve(size_t(count));
    for (int32_t i = 0; i < count; i++) {
        if (n < kMax) {
            v.push_back(get(hs[i], name, i));
        } else {
            at::Tensor t;
            int r = lookup(hs[i], &t);
            if (r != 0)
                throw HandleError(std::string(name) + "[" + std::to_string(i) + "]" +
                                  (r == 1 ? " is NULL" : " is a freed or invalid tensor handle"));
            v.push_back(std::move(t));
        }
    }
    return v;
}

std::string Call::args_desc() const {
    std::string s;
    for (int i = 0; i < n; i++) {
        if (i) s += ", ";
        s += names[i];
        if (index[i] >= 0) s += "[" + std::to_string(index[i]) + "]";
        s += ' ';
        s += short_desc(ts[i]);
    }
    return s;
}

static std::string first_line(const char *m) {
    const char *nl = std::strchr(m, '\n');
    std::string s = nl ? std::string(m, size_t(nl - m)) : std::string(m);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
    return s;
}

void Call::failed() noexcept {
    try {
        std::string msg;
        bool with_args = true;
        try {
            throw;
        } catch (const HandleError &e) {
            msg = e.msg;
            with_args = false;
        } catch (const c10::Error &e) {
            msg = first_line(e.what_without_backtrace());
        } catch (const std::exception &e) {
            msg = first_line(e.what());
        } catch (...) {
            msg = "unknown exception";
        }
        std::string out = op;
        out += ": ";
        if (with_args && n > 0) {
            out += args_desc();
            out += ": ";
        }
        out += msg;
        t_last_error = std::move(out);
    } catch (...) {
        // Out of memory while formatting: keep at least the op name.
        try {
            t_last_error = op;
        } catch (...) {
        }
    }
}

} // namespace tsi

using tsi::Call;
using tsi::wrap;

extern "C" {

// ---- errors and runtime ---------------------------------------------------------------------
const char *ts_last_error(void) { return tsi::t_last_error.c_str(); }
void ts_clear_error(void) { tsi::t_last_error.clear(); }
const char *ts_version(void) { return TORCH_VERSION; }

int ts_set_num_threads(int32_t n) {
    TS_CALL("ts_set_num_threads") {
        if (n < 1) tsi::fail("thread count must be >= 1, got " + std::to_string(n));
        at::set_num_threads(n);
        return TS_OK;
    }
    TS_FAIL_INT
}

int32_t ts_get_num_threads(void) {
    TS_CALL("ts_get_num_threads") { return int32_t(at::get_num_threads()); }
    TS_FAIL_INT
}

int ts_manual_seed(uint64_t seed) {
    TS_CALL("ts_manual_seed") {
        at::manual_seed(seed);
        return TS_OK;
    }
    TS_FAIL_INT
}

int ts_cuda_is_available(void) {
    try {
        return at::hasCUDA() && at::detail::getCUDAHooks().getNumGPUs() > 0;
    } catch (...) {
        return 0;
    }
}

int64_t ts_live_handles(void) {
    TS_CALL("ts_live_handles") {
        std::lock_guard<std::mutex> lk(tsi::g_mu);
        return tsi::g_live;
    }
    TS_FAIL_INT
}

// ---- scopes ---------------------------------------------------------------------------------
int ts_scope_begin(void) {
    TS_CALL("ts_scope_begin") {
        tsi::t_scopes.push_back(tsi::ScopeRec{tsi::g_scope_ids.fetch_add(1), {}});
        return TS_OK;
    }
    TS_FAIL_INT
}

int ts_scope_keep(ts_tensor t) {
    TS_CALL("ts_scope_keep") {
        if (!t) throw tsi::HandleError("t is NULL");
        if (tsi::t_scopes.empty()) tsi::fail("no scope is open");
        uint64_t h = uint64_t(reinterpret_cast<uintptr_t>(t));
        uint64_t inner = tsi::t_scopes.back().id;
        uint64_t outer = tsi::t_scopes.size() > 1 ? tsi::t_scopes[tsi::t_scopes.size() - 2].id : 0;
        {
            std::lock_guard<std::mutex> lk(tsi::g_mu);
            int64_t slot = tsi::decode_locked(h);
            if (slot < 0) throw tsi::HandleError("t is a freed or invalid tensor handle");
            tsi::Slot &s = tsi::g_slots[size_t(slot)];
            if (s.scope != inner) return TS_OK; // not in the innermost scope: nothing to do
            s.scope = outer;
        }
        if (outer) tsi::t_scopes[tsi::t_scopes.size() - 2].hs.push_back(h);
        return TS_OK;
    }
    TS_FAIL_INT
}

int ts_scope_end(void) {
    TS_CALL("ts_scope_end") {
        if (tsi::t_scopes.empty()) tsi::fail("no scope is open");
        tsi::ScopeRec rec = std::move(tsi::t_scopes.back());
        tsi::t_scopes.pop_back();
        std::vector<at::Tensor> dead;
        dead.reserve(rec.hs.size());
        {
            std::lock_guard<std::mutex> lk(tsi::g_mu);
            for (uint64_t h : rec.hs) {
                int64_t slot = tsi::decode_locked(h);
                if (slot < 0 || tsi::g_slots[size_t(slot)].scope != rec.id) continue;
                dead.emplace_back();
                tsi::release_locked(uint32_t(slot), &dead.back());
            }
        }
        dead.clear(); // tensors are destroyed outside the lock
        return TS_OK;
    }
    TS_FAIL_INT
}

void ts_free(ts_tensor t) {
    if (!t) return;
    try {
        at::Tensor dead;
        bool ok = false;
        {
            std::lock_guard<std::mutex> lk(tsi::g_mu);
            int64_t slot = tsi::decode_locked(uint64_t(reinterpret_cast<uintptr_t>(t)));
            if (slot >= 0) {
                tsi::release_locked(uint32_t(slot), &dead);
                ok = true;
            }
        }
        if (!ok) tsi::set_error("ts_free: t is a freed or invalid tensor handle (ignored)");
    } catch (...) {
        // nothing sensible to report from a void call; the handle state is unchanged
    }
}

// ---- creation -------------------------------------------------------------------------------
static at::TensorOptions opts(int dtype) { return at::TensorOptions().dtype(tsi::scalar_type(dtype)); }

ts_tensor ts_from_data(const void *data, ts_dtype dtype, const int64_t *shape, int32_t ndim) {
    TS_CALL("ts_from_data") {
        auto d = tsi::dims(shape, ndim);
        at::Tensor t = tsi::empty_big(d, opts(dtype));
        size_t bytes = size_t(t.numel()) * t.element_size();
        if (bytes) {
            if (!data) tsi::fail("data is NULL");
            std::memcpy(t.data_ptr(), data, bytes);
        }
        return wrap(std::move(t));
    }
    TS_FAIL_PTR
}

ts_tensor ts_from_blob(void *data, ts_dtype dtype, const int64_t *shape, int32_t ndim) {
    TS_CALL("ts_from_blob") {
        auto d = tsi::dims(shape, ndim);
        if (!data) tsi::fail("data is NULL");
        return wrap(at::from_blob(data, d, opts(dtype)));
    }
    TS_FAIL_PTR
}

ts_tensor ts_zeros(const int64_t *shape, int32_t ndim, ts_dtype dtype) {
    TS_CALL("ts_zeros") { return wrap(tsi::empty_big(tsi::dims(shape, ndim), opts(dtype)).zero_()); }
    TS_FAIL_PTR
}

ts_tensor ts_full(const int64_t *shape, int32_t ndim, ts_dtype dtype, double value) {
    TS_CALL("ts_full") { return wrap(tsi::empty_big(tsi::dims(shape, ndim), opts(dtype)).fill_(value)); }
    TS_FAIL_PTR
}

ts_tensor ts_arange(int64_t start, int64_t end, ts_dtype dtype) {
    TS_CALL("ts_arange") { return wrap(at::arange(start, end, opts(dtype))); }
    TS_FAIL_PTR
}

ts_tensor ts_randn(const int64_t *shape, int32_t ndim) {
    TS_CALL("ts_randn") { return wrap(tsi::empty_big(tsi::dims(shape, ndim), at::kFloat).normal_(0, 1)); }
    TS_FAIL_PTR
}

ts_tensor ts_rand(const int64_t *shape, int32_t ndim) {
    TS_CALL("ts_rand") { return wrap(tsi::empty_big(tsi::dims(shape, ndim), at::kFloat).uniform_(0, 1)); }
    TS_FAIL_PTR
}

int ts_uniform_(ts_tensor t, double lo, double hi) {
    TS_CALL("ts_uniform_") {
        at::NoGradGuard ng;
        C_.get(t, "t").uniform_(lo, hi);
        return TS_OK;
    }
    TS_FAIL_INT
}

int ts_normal_(ts_tensor t, double mean, double std) {
    TS_CALL("ts_normal_") {
        at::NoGradGuard ng;
        C_.get(t, "t").normal_(mean, std);
        return TS_OK;
    }
    TS_FAIL_INT
}

int ts_fill_(ts_tensor t, double value) {
    TS_CALL("ts_fill_") {
        at::NoGradGuard ng;
        C_.get(t, "t").fill_(value);
        return TS_OK;
    }
    TS_FAIL_INT
}

int ts_copy_(ts_tensor dst, ts_tensor src) {
    TS_CALL("ts_copy_") {
        const at::Tensor &D = C_.get(dst, "dst");
        const at::Tensor &S = C_.get(src, "src");
        if (D.sizes() != S.sizes()) tsi::fail("shapes differ");
        at::NoGradGuard ng;
        const_cast<at::Tensor &>(D).copy_(S);
        return TS_OK;
    }
    TS_FAIL_INT
}

ts_tensor ts_clone(ts_tensor t) {
    TS_CALL("ts_clone") { return wrap(C_.get(t, "t").clone()); }
    TS_FAIL_PTR
}

ts_tensor ts_detach(ts_tensor t) {
    TS_CALL("ts_detach") { return wrap(C_.get(t, "t").detach()); }
    TS_FAIL_PTR
}

ts_tensor ts_contiguous(ts_tensor t) {
    TS_CALL("ts_contiguous") { return wrap(C_.get(t, "t").contiguous()); }
    TS_FAIL_PTR
}

ts_tensor ts_to_dtype(ts_tensor t, ts_dtype dtype) {
    TS_CALL("ts_to_dtype") {
        const at::Tensor &T = C_.get(t, "t");
        return wrap(T.to(tsi::scalar_type(dtype)));
    }
    TS_FAIL_PTR
}

ts_tensor ts_to_device(ts_tensor t, ts_device device, int32_t index) {
    TS_CALL("ts_to_device") {
        const at::Tensor &T = C_.get(t, "t");
        if (device == TS_CPU) return wrap(T.to(at::Device(at::kCPU)));
        if (device != TS_CUDA) tsi::fail("unknown ts_device " + std::to_string(int(device)));
        if (!ts_cuda_is_available())
            tsi::fail("CUDA is not available (this libtorch build has no CUDA or no GPU is "
                      "present); use TS_CPU");
        int64_t ngpu = at::detail::getCUDAHooks().getNumGPUs();
        if (index < 0 || index >= ngpu)
            tsi::fail("CUDA device index " + std::to_string(index) + " out of range (" +
                      std::to_string(ngpu) + " devices)");
        return wrap(T.to(at::Device(at::kCUDA, c10::DeviceIndex(index))));
    }
    TS_FAIL_PTR
}

// ---- copies out, inspection -----------------------------------------------------------------
int ts_copy_out(ts_tensor t, void *out, ts_dtype dtype, int64_t n) {
    TS_CALL("ts_copy_out") {
        const at::Tensor &T = C_.get(t, "t");
        at::ScalarType st = tsi::scalar_type(dtype);
        if (n != T.numel())
            tsi::fail("out holds " + std::to_string(n) + " elements but the tensor has " +
                      std::to_string(T.numel()));
        if (n == 0) return TS_OK;
        if (!out) tsi::fail("out is NULL");
        at::NoGradGuard ng;
        at::Tensor s = T.is_sparse() ? T.to_dense() : T;
        if (!s.is_cpu()) s = s.cpu();
        if (s.scalar_type() != st) s = s.to(st);
        s = s.contiguous();
        std::memcpy(out, s.data_ptr(), size_t(n) * s.element_size());
        return TS_OK;
    }
    TS_FAIL_INT
}

void *ts_data_ptr(ts_tensor t) {
    TS_CALL("ts_data_ptr") {
        const at::Tensor &T = C_.get(t, "t");
        if (T.is_sparse() || !T.is_cpu()) tsi::fail("not a dense CPU tensor");
        if (!T.is_contiguous()) tsi::fail("not contiguous (use ts_contiguous first)");
        return T.data_ptr();
    }
    TS_FAIL_PTR
}

int ts_item(ts_tensor t, double *out) {
    TS_CALL("ts_item") {
        const at::Tensor &T = C_.get(t, "t");
        if (!out) tsi::fail("out is NULL");
        if (T.numel() != 1)
            tsi::fail("ts_item needs a one-element tensor, got " + std::to_string(T.numel()) +
                      " elements");
        *out = T.item<double>();
        return TS_OK;
    }
    TS_FAIL_INT
}

int32_t ts_ndim(ts_tensor t) {
    TS_CALL("ts_ndim") { return int32_t(C_.get(t, "t").dim()); }
    TS_FAIL_INT
}

int64_t ts_size(ts_tensor t, int32_t dim) {
    TS_CALL("ts_size") { return C_.get(t, "t").size(dim); }
    TS_FAIL_INT
}

int ts_shape(ts_tensor t, int64_t *shape, int32_t max_dims) {
    TS_CALL("ts_shape") {
        const at::Tensor &T = C_.get(t, "t");
        int64_t nd = T.dim();
        if (nd > max_dims)
            tsi::fail("the tensor has " + std::to_string(nd) + " dims but max_dims is " +
                      std::to_string(max_dims));
        if (nd > 0 && !shape) tsi::fail("shape is NULL");
        for (int64_t i = 0; i < nd; i++) shape[i] = T.size(i);
        return int(nd);
    }
    TS_FAIL_INT
}

int64_t ts_numel(ts_tensor t) {
    TS_CALL("ts_numel") { return C_.get(t, "t").numel(); }
    TS_FAIL_INT
}

int ts_dtype_of(ts_tensor t) {
    TS_CALL("ts_dtype_of") {
        const at::Tensor &T = C_.get(t, "t");
        int d = tsi::ts_dtype_from(T.scalar_type());
        if (d < 0) tsi::fail("dtype has no ts_dtype equivalent");
        return d;
    }
    TS_FAIL_INT
}

int ts_is_sparse(ts_tensor t) {
    TS_CALL("ts_is_sparse") { return C_.get(t, "t").is_sparse() ? 1 : 0; }
    TS_FAIL_INT
}

const char *ts_describe(ts_tensor t, char *buf, size_t n) {
    if (!buf || n == 0) return buf;
    std::string s;
    try {
        at::Tensor T;
        int r = tsi::lookup(t, &T);
        if (r == 1) {
            s = "<null>";
        } else if (r == 2) {
            s = "<freed>";
        } else {
            s = tsi::shape_desc(T);
            s += ' ';
            s += T.device().str();
            if (T.is_sparse()) s += " sparse";
            if (T.requires_grad()) s += " grad";
        }
    } catch (...) {
        s = "<error>";
    }
    size_t k = s.size() < n - 1 ? s.size() : n - 1;
    std::memcpy(buf, s.data(), k);
    buf[k] = 0;
    return buf;
}

// ---- autograd -------------------------------------------------------------------------------
int ts_set_requires_grad(ts_tensor t, int on) {
    TS_CALL("ts_set_requires_grad") {
        const at::Tensor &T = C_.get(t, "t");
        const_cast<at::Tensor &>(T).set_requires_grad(on != 0);
        return TS_OK;
    }
    TS_FAIL_INT
}

int ts_requires_grad(ts_tensor t) {
    TS_CALL("ts_requires_grad") { return C_.get(t, "t").requires_grad() ? 1 : 0; }
    TS_FAIL_INT
}

int ts_backward(ts_tensor loss) {
    TS_CALL("ts_backward") {
        const at::Tensor &L = C_.get(loss, "loss");
        if (L.numel() != 1) tsi::fail("loss must be a scalar (one element)");
        if (!L.requires_grad())
            tsi::fail("loss does not require grad (no parameter with requires_grad took part, "
                      "or it was computed under ts_no_grad_begin)");
        L.backward();
        return TS_OK;
    }
    TS_FAIL_INT
}

ts_tensor ts_grad(ts_tensor t) {
    TS_CALL("ts_grad") {
        const at::Tensor &T = C_.get(t, "t");
        const at::Tensor &g = T.grad();
        if (!g.defined()) {
            tsi::set_error("");
            return nullptr;
        }
        return wrap(g);
    }
    TS_FAIL_PTR
}

int ts_zero_grad(ts_tensor t) {
    TS_CALL("ts_zero_grad") {
        const at::Tensor &T = C_.get(t, "t");
        const_cast<at::Tensor &>(T).mutable_grad().reset();
        return TS_OK;
    }
    TS_FAIL_INT
}

static thread_local std::vector<char> t_grad_modes;

int ts_no_grad_begin(void) {
    TS_CALL("ts_no_grad_begin") {
        t_grad_modes.push_back(c10::GradMode::is_enabled() ? 1 : 0);
        c10::GradMode::set_enabled(false);
        return TS_OK;
    }
    TS_FAIL_INT
}

int ts_no_grad_end(void) {
    TS_CALL("ts_no_grad_end") {
        if (t_grad_modes.empty()) tsi::fail("no matching ts_no_grad_begin");
        c10::GradMode::set_enabled(t_grad_modes.back() != 0);
        t_grad_modes.pop_back();
        return TS_OK;
    }
    TS_FAIL_INT
}

} // extern "C"
