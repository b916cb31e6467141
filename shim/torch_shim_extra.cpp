// torch_shim_extra.cpp: shim ops added for the hf backbone. See torch_shim_extra.h.
#include "torch_shim_extra.h"
#include "torch_shim_internal.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <mutex>

namespace {

// A 32-bit integer hash with good avalanche (Chris Wellons' "lowbias32"); vectorises well.
inline uint32_t mix32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

uint64_t draw_seed() {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

} // namespace

using tsi::wrap;

ts_tensor ts_fast_dropout(ts_tensor x, double p, int training) {
    TS_CALL("ts_fast_dropout") {
        const at::Tensor &X = C_.get(x, "x");
        if (!(p >= 0.0 && p < 1.0)) tsi::fail("p must be in [0,1), got " + std::to_string(p));
        if (!training || p == 0.0) return wrap(X); // a new reference to x itself
        if (X.scalar_type() != at::kFloat || !X.device().is_cpu())
            return wrap(at::dropout(X, p, true));
        const uint64_t seed = draw_seed();
        const uint32_t s0 = uint32_t(seed), s1 = uint32_t(seed >> 32);
        // keep when the hash is >= p * 2^32 (p < 1, so the threshold fits)
        const uint32_t thr = uint32_t(p * 4294967296.0);
        const float scale = float(1.0 / (1.0 - p));
        at::Tensor mask = at::empty(X.sizes(), X.options().requires_grad(false));
        float *m = mask.data_ptr<float>();
        const int64_t n = mask.numel();
        at::parallel_for(0, n, 1 << 15, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; i++) {
                uint32_t h = mix32(mix32(uint32_t(i) + s0) ^ s1 ^ uint32_t(uint64_t(i) >> 32));
                m[i] = h >= thr ? scale : 0.0f;
            }
        });
        return wrap(X * mask);
    }
    TS_FAIL_PTR
}
