/* torch_shim_extra.h: shim ops added for the hf backbone (implemented in torch_shim_extra.cpp,
 * same contract as torch_shim.h: handles, thread-local errors, nothing aborts). */
#ifndef TORCH_SHIM_EXTRA_H
#define TORCH_SHIM_EXTRA_H

#include "torch_shim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Inverted dropout like ts_dropout (zero with probability p, scale the rest by 1/(1-p); training
 * = 0 or p = 0 returns a new reference to x), with a fast mask: a counter-based hash of a 64-bit
 * seed drawn from libtorch's seeded CPU generator, vectorised and multi-threaded, instead of
 * libtorch 1.13's serial per-element Bernoulli sampling on CPU (~25x slower). Deterministic after
 * ts_manual_seed; float32 CPU tensors (others use ts_dropout's path). Gradient: grad * mask. */
ts_tensor ts_fast_dropout(ts_tensor x, double p, int training);

#ifdef __cplusplus
}
#endif
#endif /* TORCH_SHIM_EXTRA_H */
