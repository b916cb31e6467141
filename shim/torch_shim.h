/*
 * torch_shim.h: a thin C API over libtorch (CPU; CUDA when the libtorch build has it).
 *
 * Contract (see DESIGN.md):
 *  - Handles are opaque. No C++ type, template or exception crosses this header.
 *  - Every entry point catches everything. Failure returns NULL (handle-returning calls) or a
 *    negative status (int-returning calls) and leaves a thread-local message for ts_last_error()
 *    that names the op and the shapes/dtypes involved. Nothing aborts the process, including
 *    calls on NULL or already-freed handles (handles are checked against a handle table).
 *  - Ownership: each call that returns a handle gives the caller one reference; ts_free()
 *    releases it. Handles created while a scope is open belong to the innermost scope;
 *    ts_scope_end() frees all of them except those passed to ts_scope_keep(), which move to the
 *    enclosing scope (or become free-standing when there is none). ts_free() on a scoped handle
 *    is allowed and removes it from its scope.
 *  - Ops are tensor-level; architectures live in C.
 *  - Threads: handles may be used from any thread (the table is locked; a lookup is O(1)).
 *    Scopes and the no-grad state are per thread. One optimizer must not be stepped and freed
 *    from two threads at once.
 *
 * Status codes: 0 = ok, TS_ERR (-1) = failure (see ts_last_error()).
 */
#ifndef TORCH_SHIM_H
#define TORCH_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ts_tensor_s *ts_tensor; /* a tensor reference */
typedef struct ts_optim_s *ts_optim;   /* an optimizer */

#define TS_OK 0
#define TS_ERR (-1)
#define TS_MAX_DIMS 8

typedef enum {
    TS_F32 = 0,
    TS_I64 = 1,
    TS_BOOL = 2,
    TS_F16 = 3,
    TS_BF16 = 4,
    TS_I32 = 5,
    TS_U8 = 6,
    TS_F64 = 7,
} ts_dtype;

typedef enum { TS_CPU = 0, TS_CUDA = 1 } ts_device;

typedef enum { TS_REDUCE_NONE = 0, TS_REDUCE_MEAN = 1, TS_REDUCE_SUM = 2 } ts_reduction;

typedef enum { TS_BAG_SUM = 0, TS_BAG_MEAN = 1, TS_BAG_MAX = 2 } ts_bag_mode;

/* ---- errors and runtime ------------------------------------------------------------------ */
const char *ts_last_error(void); /* thread-local message of the last failure; "" if none */
void ts_clear_error(void);
const char *ts_version(void);    /* libtorch version string, e.g. "1.13.1" */
int ts_set_num_threads(int32_t n);
int32_t ts_get_num_threads(void);
int ts_manual_seed(uint64_t seed); /* seeds libtorch's CPU (and CUDA) generators */
int ts_cuda_is_available(void);    /* 1 when libtorch has CUDA and a device is present */
int64_t ts_live_handles(void);     /* number of live tensor handles (leak checks in tests) */
int64_t ts_live_optims(void);      /* number of live optimizer handles */

/* ---- scopes (arenas for temporaries) ------------------------------------------------------ */
int ts_scope_begin(void);
int ts_scope_keep(ts_tensor t); /* survive the innermost scope's end */
int ts_scope_end(void);

/* ---- creation, copies, inspection --------------------------------------------------------- */
/* Copies n = prod(shape) elements from data. */
ts_tensor ts_from_data(const void *data, ts_dtype dtype, const int64_t *shape, int32_t ndim);
/* No copy: wraps caller memory (e.g. mmap'd safetensors); the caller keeps it alive and
 * unchanged while the tensor (or anything viewing it) lives. */
ts_tensor ts_from_blob(void *data, ts_dtype dtype, const int64_t *shape, int32_t ndim);
ts_tensor ts_zeros(const int64_t *shape, int32_t ndim, ts_dtype dtype);
ts_tensor ts_full(const int64_t *shape, int32_t ndim, ts_dtype dtype, double value);
ts_tensor ts_arange(int64_t start, int64_t end, ts_dtype dtype);
ts_tensor ts_randn(const int64_t *shape, int32_t ndim); /* f32, from the seeded generator */
ts_tensor ts_rand(const int64_t *shape, int32_t ndim);  /* f32 uniform [0,1) */
int ts_uniform_(ts_tensor t, double lo, double hi);     /* in place, no grad */
int ts_normal_(ts_tensor t, double mean, double std);   /* in place, no grad */
int ts_fill_(ts_tensor t, double value);                /* in place, no grad */
int ts_copy_(ts_tensor dst, ts_tensor src);             /* in place, no grad; shapes must match */
ts_tensor ts_clone(ts_tensor t);
ts_tensor ts_detach(ts_tensor t);
ts_tensor ts_contiguous(ts_tensor t);
ts_tensor ts_to_dtype(ts_tensor t, ts_dtype dtype);
ts_tensor ts_to_device(ts_tensor t, ts_device device, int32_t index);
void ts_free(ts_tensor t); /* NULL and freed handles are ignored (no crash) */

/* Copies the tensor's elements (converted to dtype) into out, which holds n elements. */
int ts_copy_out(ts_tensor t, void *out, ts_dtype dtype, int64_t n);
/* Pointer to the data of a contiguous CPU tensor (NULL otherwise); valid while t lives. */
void *ts_data_ptr(ts_tensor t);
int ts_item(ts_tensor t, double *out); /* one-element tensor -> double */
int32_t ts_ndim(ts_tensor t);          /* -1 on error */
int64_t ts_size(ts_tensor t, int32_t dim); /* negative dim counts from the end; -1 on error */
int ts_shape(ts_tensor t, int64_t *shape, int32_t max_dims); /* returns ndim or -1 */
int64_t ts_numel(ts_tensor t);
int ts_dtype_of(ts_tensor t); /* ts_dtype or -1 */
int ts_is_sparse(ts_tensor t);
/* "f32[64,128] cpu grad" into buf; returns buf. */
const char *ts_describe(ts_tensor t, char *buf, size_t n);

/* ---- autograd ---------------------------------------------------------------------------- */
int ts_set_requires_grad(ts_tensor t, int on);
int ts_requires_grad(ts_tensor t); /* 1, 0, or -1 on error */
int ts_backward(ts_tensor loss);   /* loss must be a scalar */
ts_tensor ts_grad(ts_tensor t);    /* new reference to t.grad, or NULL with "" error if none */
int ts_zero_grad(ts_tensor t);     /* sets t.grad to undefined (like set_to_none) */
int ts_no_grad_begin(void);        /* nestable */
int ts_no_grad_end(void);

/* ---- ops (each returns a new reference) -------------------------------------------------- */
/* embedding: weight [V,D], ids i64 any shape -> [..., D]; padding_idx < 0 = none. */
ts_tensor ts_embedding(ts_tensor weight, ts_tensor ids, int64_t padding_idx);
/* embedding_bag: ids i64 [N] flat, offsets i64 [B] (start of each bag), optional
 * per_sample_weights f32 [N] (sum mode only) -> [B, D]. sparse=1 makes weight.grad a sparse
 * (COO, row-wise) gradient so that huge hashed tables are updated only where touched. */
ts_tensor ts_embedding_bag(ts_tensor weight, ts_tensor ids, ts_tensor offsets, ts_bag_mode mode,
                           int sparse, ts_tensor per_sample_weights);
ts_tensor ts_linear(ts_tensor x, ts_tensor w, ts_tensor b); /* x @ w^T + b; b may be NULL */
ts_tensor ts_matmul(ts_tensor a, ts_tensor b);
ts_tensor ts_bmm(ts_tensor a, ts_tensor b);
ts_tensor ts_baddbmm(ts_tensor bias, ts_tensor a, ts_tensor b, double beta, double alpha);
/* conv1d: x [B,C_in,T], w [C_out,C_in/groups,K], b [C_out] or NULL */
ts_tensor ts_conv1d(ts_tensor x, ts_tensor w, ts_tensor b, int64_t stride, int64_t padding,
                    int64_t dilation, int64_t groups);

/* Recurrent layers over x [B,T,I] (batch first). params holds, for each layer and then each
 * direction: w_ih [G*H,I_l], w_hh [G*H,H], b_ih [G*H], b_hh [G*H] (G = 4 for LSTM, 3 for GRU;
 * I_l = I for layer 0, H*dirs after). lengths i64 [B] (may be NULL) gives each sequence's
 * true length so that padding never enters either direction. Returns [B,T,H*dirs] with padded
 * positions zero. */
typedef enum { TS_RNN_LSTM = 0, TS_RNN_GRU = 1 } ts_rnn_kind;
ts_tensor ts_rnn(ts_rnn_kind kind, ts_tensor x, ts_tensor lengths, const ts_tensor *params,
                 int32_t n_params, int32_t num_layers, int bidirectional, double dropout,
                 int training);

ts_tensor ts_add(ts_tensor a, ts_tensor b); /* broadcasting */
ts_tensor ts_sub(ts_tensor a, ts_tensor b);
ts_tensor ts_mul(ts_tensor a, ts_tensor b);
ts_tensor ts_div(ts_tensor a, ts_tensor b);
ts_tensor ts_add_scaled(ts_tensor a, ts_tensor b, double alpha); /* a + alpha * b */
ts_tensor ts_add_scalar(ts_tensor a, double s);
ts_tensor ts_mul_scalar(ts_tensor a, double s);
ts_tensor ts_pow_scalar(ts_tensor a, double exponent);
ts_tensor ts_neg(ts_tensor a);
ts_tensor ts_exp(ts_tensor a);
ts_tensor ts_log(ts_tensor a);
ts_tensor ts_sqrt(ts_tensor a);
ts_tensor ts_clamp(ts_tensor a, double lo, double hi);
ts_tensor ts_gt_scalar(ts_tensor a, double s); /* bool */

ts_tensor ts_relu(ts_tensor x);
ts_tensor ts_gelu(ts_tensor x, int tanh_approx); /* 0 = exact erf GELU, 1 = tanh approximation */
ts_tensor ts_silu(ts_tensor x);
ts_tensor ts_leaky_relu(ts_tensor x, double negative_slope);
ts_tensor ts_tanh(ts_tensor x);
ts_tensor ts_sigmoid(ts_tensor x);
ts_tensor ts_log_sigmoid(ts_tensor x);
ts_tensor ts_softmax(ts_tensor x, int32_t dim);
ts_tensor ts_log_softmax(ts_tensor x, int32_t dim);

/* layer_norm over the last dimension; w, b [D] or NULL */
ts_tensor ts_layer_norm(ts_tensor x, ts_tensor w, ts_tensor b, double eps);
/* batch_norm: x [B,C] or [B,C,T]; running stats are updated in training mode */
ts_tensor ts_batch_norm(ts_tensor x, ts_tensor w, ts_tensor b, ts_tensor running_mean,
                        ts_tensor running_var, int training, double momentum, double eps);
/* group_norm: x [B,C,...], C divisible by groups */
ts_tensor ts_group_norm(ts_tensor x, int64_t groups, ts_tensor w, ts_tensor b, double eps);
ts_tensor ts_dropout(ts_tensor x, double p, int training);

ts_tensor ts_masked_fill(ts_tensor x, ts_tensor mask, double value); /* mask bool, broadcast */
/* x [B,T,H], mask [B,T] (bool or float, 1 = keep) -> [B,H]; rows with no kept position -> 0 */
ts_tensor ts_masked_mean(ts_tensor x, ts_tensor mask, int32_t dim);
ts_tensor ts_masked_max(ts_tensor x, ts_tensor mask, int32_t dim);

ts_tensor ts_cat(const ts_tensor *ts, int32_t n, int32_t dim);
ts_tensor ts_stack(const ts_tensor *ts, int32_t n, int32_t dim);
ts_tensor ts_reshape(ts_tensor x, const int64_t *shape, int32_t ndim); /* -1 allowed once */
ts_tensor ts_transpose(ts_tensor x, int32_t d0, int32_t d1);
ts_tensor ts_permute(ts_tensor x, const int32_t *dims, int32_t ndim);
ts_tensor ts_unsqueeze(ts_tensor x, int32_t dim);
ts_tensor ts_squeeze(ts_tensor x, int32_t dim);
ts_tensor ts_slice(ts_tensor x, int32_t dim, int64_t start, int64_t end, int64_t step);
ts_tensor ts_index_select(ts_tensor x, int32_t dim, ts_tensor index);

ts_tensor ts_sum(ts_tensor x); /* all elements -> scalar */
ts_tensor ts_mean(ts_tensor x);
ts_tensor ts_sum_dim(ts_tensor x, int32_t dim, int keepdim);
ts_tensor ts_mean_dim(ts_tensor x, int32_t dim, int keepdim);
ts_tensor ts_max_dim(ts_tensor x, int32_t dim, int keepdim); /* values only */

/* losses */
/* logits, targets f32 [B,K]; weight [K] or [B,K] or NULL; pos_weight [K] or NULL */
ts_tensor ts_bce_with_logits(ts_tensor logits, ts_tensor targets, ts_tensor weight,
                             ts_tensor pos_weight, ts_reduction reduction);
/* logits [B,C], target i64 [B]; weight [C] or NULL; ignore_index e.g. -100 */
ts_tensor ts_cross_entropy(ts_tensor logits, ts_tensor target, ts_tensor weight,
                           int64_t ignore_index, double label_smoothing, ts_reduction reduction);

/* ---- optimizers -------------------------------------------------------------------------- */
typedef struct {
    ts_tensor *params; /* the group's parameters (borrowed: the optimizer takes its own refs) */
    int32_t n_params;
    double lr;
    double weight_decay;
} ts_param_group;

typedef struct {
    double beta1, beta2, eps; /* AdamW */
    double momentum;          /* SGD */
    int nesterov;             /* SGD */
} ts_optim_params;
ts_optim_params ts_optim_default_params(void); /* beta1 .9, beta2 .999, eps 1e-8, momentum 0 */

/* AdamW (decoupled weight decay, bias-corrected, as torch.optim.AdamW). A parameter whose
 * gradient is sparse (from ts_embedding_bag(..., sparse=1)) gets a lazy update: only the rows
 * present in the gradient have their moments, weight decay and values updated, with the AdamW
 * formula and the parameter's step count for bias correction (as torch.optim.SparseAdam, plus
 * decoupled decay): a row touched at every step is updated exactly as by dense AdamW. The cost
 * is O(touched rows x D). Parameters without a gradient are skipped (their step count too).
 * SGD (torch.optim.SGD, dampening 0) treats sparse gradients the same lazy way. */
ts_optim ts_adamw_new(const ts_param_group *groups, int32_t n_groups, ts_optim_params p);
ts_optim ts_sgd_new(const ts_param_group *groups, int32_t n_groups, ts_optim_params p);
int ts_optim_set_lr(ts_optim o, int32_t group, double lr);
int ts_optim_get_lr(ts_optim o, int32_t group, double *lr);
int ts_optim_step(ts_optim o);
int ts_optim_zero_grad(ts_optim o); /* grads of all its params set to none */
void ts_optim_free(ts_optim o);     /* NULL and freed handles are ignored (no crash) */
/* Scales all gradients so that their global L2 norm is at most max_norm (sparse grads
 * included); the norm before clipping goes to *total_norm (may be NULL). */
int ts_clip_grad_norm(const ts_tensor *params, int32_t n, double max_norm, double *total_norm);

#ifdef __cplusplus
}
#endif
#endif /* TORCH_SHIM_H */
