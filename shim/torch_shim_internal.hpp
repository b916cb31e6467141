// torch_shim_internal.hpp: shared by the shim's translation units (C++ only, never installed).
//
// The handle table, the per-call context that turns exceptions into "op: args: message" errors,
// and dtype conversions. Entry points follow one pattern:
//
//   ts_tensor ts_relu(ts_tensor x) {
//       TS_CALL("ts_relu") { return tsi::wrap(at::relu(C_.get(x, "x"))); }
//       TS_FAIL_PTR
//   }
//
// C_.get() looks the handle up (NULL/freed -> tsi::HandleError) and remembers the tensor so that a
// failure message can describe every argument ("x f32[64,128], w f32[7,64]").
#ifndef TORCH_SHIM_INTERNAL_HPP
#define TORCH_SHIM_INTERNAL_HPP

#include "torch_shim.h"

// GCC 12 with -fsanitize=address reports -Wmaybe-uninitialized false positives inside c10's
// intrusive_ptr (optional<Generator> default arguments); they are libtorch's headers, not ours.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <ATen/ATen.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

namespace tsi {

// A failure detected by the shim itself; the message is used as is after "op: args: ".
struct Error : std::exception {
    std::string msg;
    explicit Error(std::string m) : msg(std::move(m)) {}
    const char *what() const noexcept override { return msg.c_str(); }
};
// A NULL / freed / wrong-kind handle: the message replaces the argument list ("op: w is NULL").
struct HandleError : Error {
    using Error::Error;
};

[[noreturn]] void fail(const std::string &msg);

void set_error(std::string msg);

// ---- dtypes ----
at::ScalarType scalar_type(int dtype); // throws tsi::Error for an unknown ts_dtype
int ts_dtype_from(at::ScalarType st);  // -1 when the type has no ts_dtype
const char *dtype_name(at::ScalarType st);
// "f32[64,128]" (+ " sparse" for sparse tensors); "undefined" for an undefined tensor.
std::string short_desc(const at::Tensor &t);

// ---- handle table ----
// Looks a handle up; returns 0 and copies the tensor, 1 for NULL, 2 for freed/invalid.
int lookup(ts_tensor h, at::Tensor *out);
// Registers t (must be defined) in the table and the innermost scope of this thread.
ts_tensor wrap(at::Tensor t);
std::vector<int64_t> dims(const int64_t *shape, int32_t ndim, const char *what = "shape");
// at::empty that asks the kernel for transparent huge pages when the tensor is big (>= 8 MiB,
// Linux): a 2^20 x 128 embedding table and its Adam moments are touched at random rows, and
// with 4 KiB pages nearly every row access is a TLB miss. Memory is not touched here.
at::Tensor empty_big(at::IntArrayRef sizes, at::TensorOptions opts);
at::Tensor zeros_like_big(const at::Tensor &t);

// ---- per-call context ----
struct Call {
    static constexpr int kMax = 6;
    const char *op;
    int n = 0;
    const char *names[kMax];
    int index[kMax];
    at::Tensor ts[kMax];
    explicit Call(const char *op_) : op(op_) {}
    // Required tensor argument.
    const at::Tensor &get(ts_tensor h, const char *name, int idx = -1);
    // Optional argument: NULL gives an undefined tensor (use opt_of() to pass it to ATen).
    const at::Tensor &opt(ts_tensor h, const char *name);
    // A list of handles (first few are recorded for the message).
    std::vector<at::Tensor> list(const ts_tensor *hs, int32_t count, const char *name);
    // Called from catch(...): formats the current exception into the thread-local error.
    void failed() noexcept;
    std::string args_desc() const;
};

inline c10::optional<at::Tensor> opt_of(const at::Tensor &t) {
    return t.defined() ? c10::optional<at::Tensor>(t) : c10::nullopt;
}

} // namespace tsi

#define TS_CALL(name)                                                                            \
    tsi::Call C_(name);                                                                          \
    try
#define TS_FAIL_PTR                                                                              \
    catch (...) {                                                                                \
        C_.failed();                                                                             \
    }                                                                                            \
    return nullptr;
#define TS_FAIL_INT                                                                              \
    catch (...) {                                                                                \
        C_.failed();                                                                             \
    }                                                                                            \
    return TS_ERR;

#endif
