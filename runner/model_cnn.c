/* model_cnn.c: a word/char CNN for text (Kim 2014 style) trained from scratch.
 *
 *   tokens (tokenize_seq.c: hashed word or char tokens, each with its char n-grams)
 *   -> x [B, T, dim]: each token the mean of its bag's embeddings; padding = empty bags = 0
 *   -> dropout(emb_dropout)
 *   -> per kernel width k: relu(conv1d(x, W_k [filters, dim, k], b_k)) [B, filters, T - k + 1]
 *   -> pooling over the windows of the real tokens (window t counts when t < max(1, len - k
 *      + 1)): max, mean, or both -> [B, filters * kernels (* 2)]
 * T = max(longest row in the batch, widest kernel): a batch is padded only to its own longest
 * row (dynamic padding; train.c buckets rows by length) and padding never changes a row's
 * output. The embedding table starts at zero (or N(0, emb_init_std)) and gets sparse
 * gradients, like bow's.
 */
#include "model.h"
#include "model_seq.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    el_seq_params fp;                   /* first: el_seq_prepare reads it (model_seq.h) */
    int32_t dim, filters, n_kernels, kmax;
    int32_t kernels[EL_MAX_KERNELS];
    int pooling;                        /* 0 max, 1 mean, 2 max and mean */
    double emb_dropout;
    ts_tensor emb;                      /* [buckets, dim] */
    ts_tensor conv_w[EL_MAX_KERNELS];   /* [filters, dim, k] */
    ts_tensor conv_b[EL_MAX_KERNELS];   /* [filters] */
    el_seq_batch batch;                 /* staging, reused */
    float *wmask;                       /* [B, T] window masks */
    int64_t wmask_cap;
} cnn_state;

static ts_tensor cnn_forward_batch(el_backbone *bb, const void *inputs, const int64_t *rows,
                                   int32_t n_rows, bool training) {
    cnn_state *s = bb->state;
    const el_seq_features *f = inputs;
    int64_t B = n_rows, T = el_seq_batch_fill(&s->batch, f, rows, n_rows, s->kmax);
    ts_tensor x = el_seq_embed_tokens(s->emb, &s->batch, B, T, s->dim);
    if (x && s->emb_dropout > 0) x = ts_dropout(x, s->emb_dropout, training);
    ts_tensor xt = x ? ts_transpose(x, 1, 2) : NULL; /* [B, dim, T] */
    if (!xt) return NULL;
    ts_tensor outs[2 * EL_MAX_KERNELS];
    int32_t no = 0;
    el_grow(s->wmask, &s->wmask_cap, B * T + 1);
    for (int32_t k = 0; k < s->n_kernels; k++) {
        int64_t kw = s->kernels[k], W = T - kw + 1;
        for (int64_t i = 0; i < B; i++) {
            int64_t valid = s->batch.lengths[i] - kw + 1;
            if (valid < 1) valid = 1;
            for (int64_t t = 0; t < W; t++) s->wmask[i * W + t] = t < valid ? 1.0f : 0.0f;
        }
        int64_t mshape[2] = {B, W};
        ts_tensor mask = ts_from_data(s->wmask, TS_F32, mshape, 2);
        ts_tensor c = ts_conv1d(xt, s->conv_w[k], s->conv_b[k], 1, 0, 1, 1);
        c = c ? ts_relu(c) : NULL;
        ts_tensor ct = c ? ts_transpose(c, 1, 2) : NULL; /* [B, W, filters] */
        if (!ct || !mask) return NULL;
        if (s->pooling != 1) outs[no++] = ts_masked_max(ct, mask, 1);
        if (s->pooling != 0) outs[no++] = ts_masked_mean(ct, mask, 1);
        if (!outs[no - 1] || (s->pooling == 2 && !outs[no - 2])) return NULL;
    }
    return no == 1 ? outs[0] : ts_cat(outs, no, 1);
}

static ts_tensor cnn_forward(el_backbone *bb, const void *inputs, const int64_t *rows,
                             int32_t n_rows, bool training) {
    return el_seq_forward(bb, inputs, rows, n_rows, training, cnn_forward_batch);
}

static void cnn_free(el_backbone *bb) {
    cnn_state *s = bb->state;
    if (s) {
        el_seq_batch_free(&s->batch);
        free(s->wmask);
        free(s);
    }
    free(bb);
}

static const el_backbone_ops CNN_OPS = {
    .type = "cnn",
    .prepare = el_seq_prepare,
    .free_inputs = el_seq_free_inputs,
    .forward = cnn_forward,
    .free = cnn_free,
    .lengths = el_seq_lengths,
};

el_backbone *el_cnn_build(const el_backbone_spec *cfg, el_params *ps) {
    el_backbone *bb = xcalloc(1, sizeof *bb);
    cnn_state *s = xcalloc(1, sizeof *s);
    bb->ops = &CNN_OPS;
    bb->cfg = *cfg;
    bb->state = s;
    s->fp = el_seq_params_from_spec(cfg);
    s->dim = cfg->dim;
    s->filters = cfg->filters;
    s->emb_dropout = cfg->emb_dropout;
    s->pooling = el_streq(cfg->pooling, "mean") ? 1 : el_streq(cfg->pooling, "maxmean") ? 2 : 0;
    s->n_kernels = cfg->n_kernels;
    if (s->n_kernels < 1 || s->n_kernels > EL_MAX_KERNELS) {
        el_err("backbone.kernels: %d widths, allowed 1 to %d", s->n_kernels, EL_MAX_KERNELS);
        cnn_free(bb);
        return NULL;
    }
    for (int32_t k = 0; k < s->n_kernels; k++) {
        s->kernels[k] = cfg->kernels[k];
        if (s->kernels[k] > s->kmax) s->kmax = s->kernels[k];
    }
    bb->out_dim = s->filters * s->n_kernels * (s->pooling == 2 ? 2 : 1);

    int64_t eshape[2] = {cfg->buckets, cfg->dim};
    ts_tensor emb = ts_zeros(eshape, 2, TS_F32);
    if (!emb || (cfg->emb_init_std > 0 && ts_normal_(emb, 0.0, cfg->emb_init_std) != 0)) {
        el_err("backbone cnn: cannot allocate the %lld x %d embedding table (%.0f MiB): lower "
               "backbone.buckets or backbone.dim: %s",
               (long long)cfg->buckets, cfg->dim, (double)cfg->buckets * cfg->dim * 4.0 / 1048576.0,
               ts_last_error());
        ts_free(emb);
        cnn_free(bb);
        return NULL;
    }
    s->emb = el_params_add(ps, "backbone.emb", emb, EL_GROUP_BACKBONE, true, false);
    el_param *p = el_params_find(ps, "backbone.emb");
    p->sparse_grad = true;
    p->save_sparse = true;
    for (int32_t k = 0; k < s->n_kernels; k++) {
        char name[64];
        int64_t wshape[3] = {s->filters, s->dim, s->kernels[k]}, bshape[1] = {s->filters};
        snprintf(name, sizeof name, "backbone.conv%d.weight", k);
        s->conv_w[k] = el_params_add(ps, name, ts_zeros(wshape, 3, TS_F32), EL_GROUP_BACKBONE, true, true);
        snprintf(name, sizeof name, "backbone.conv%d.bias", k);
        s->conv_b[k] = el_params_add(ps, name, ts_zeros(bshape, 1, TS_F32), EL_GROUP_BACKBONE, true, false);
        /* PyTorch's Conv1d init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = dim * k */
        if (!s->conv_w[k] || !s->conv_b[k] ||
            el_init_linear(s->conv_w[k], s->conv_b[k], s->dim * s->kernels[k]) != 0) {
            el_err_prefix("backbone cnn: convolution %d", k);
            cnn_free(bb);
            return NULL;
        }
    }
    return bb;
}
