/* model_rnn.c: a (bidirectional, stacked) GRU or LSTM over token embeddings, from scratch.
 *
 *   tokens (tokenize_seq.c) -> x [B, T, dim] (mean of each token's bag; padding = 0)
 *   -> dropout(emb_dropout)
 *   -> ts_rnn: `layers` layers of `cell`, `hidden` per direction, dropout between layers; the
 *      true lengths go in, so padding never enters either direction -> h [B, T, hidden * dirs]
 *   -> pooling over the real tokens: max, mean, both (maxmean), or last: the forward
 *      direction's state at the last token and the backward direction's at the first (each
 *      direction's final state) -> [B, hidden * dirs (* 2)]
 * Parameter names follow PyTorch's nn.GRU / nn.LSTM (weight_ih_l0, ..._reverse) and so does
 * the init: U(-1/sqrt(hidden), 1/sqrt(hidden)) for every weight and bias.
 */
#include "model.h"
#include "model_seq.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RNN_PARAMS (16 * 2 * 4)

typedef struct {
    el_seq_params fp;                   /* first: el_seq_prepare reads it (model_seq.h) */
    int32_t dim, hidden, layers, dirs;
    ts_rnn_kind kind;
    int pooling;                     /* 0 max, 1 mean, 2 max and mean, 3 last */
    double emb_dropout, dropout;
    ts_tensor emb;                   /* [buckets, dim] */
    /* per layer, per direction: weight_ih [G*hidden, in], weight_hh [G*hidden, hidden],
     * bias_ih [G*hidden], bias_hh [G*hidden]; G = 3 (GRU) or 4 (LSTM), in = dim for layer 0
     * and hidden * dirs above */
    ts_tensor w[MAX_RNN_PARAMS];
    int32_t n_w;
    el_seq_batch batch;              /* staging, reused */
    int64_t *idx;                    /* last / first positions */
    int64_t idx_cap;
} rnn_state;

/* [B, H*dirs]: forward state at position len - 1, backward state at position 0 */
static ts_tensor last_states(rnn_state *s, ts_tensor h, int64_t B, int64_t T) {
    int64_t HD = (int64_t)s->hidden * s->dirs, fshape[2] = {B * T, HD}, ishape[1] = {B};
    ts_tensor flat = ts_reshape(h, fshape, 2);
    el_grow(s->idx, &s->idx_cap, 2 * B + 1);
    for (int64_t i = 0; i < B; i++) {
        int64_t L = s->batch.lengths[i];
        s->idx[i] = i * T + (L > 0 ? L - 1 : 0);
        s->idx[B + i] = i * T;
    }
    ts_tensor il = ts_from_data(s->idx, TS_I64, ishape, 1);
    ts_tensor last = flat && il ? ts_index_select(flat, 0, il) : NULL;
    if (s->dirs == 1 || !last) return last;
    ts_tensor i0 = ts_from_data(s->idx + B, TS_I64, ishape, 1);
    ts_tensor first = i0 ? ts_index_select(flat, 0, i0) : NULL;
    ts_tensor parts[2] = {ts_slice(last, 1, 0, s->hidden, 1),
                          first ? ts_slice(first, 1, s->hidden, HD, 1) : NULL};
    return parts[0] && parts[1] ? ts_cat(parts, 2, 1) : NULL;
}

static ts_tensor rnn_forward_batch(el_backbone *bb, const void *inputs, const int64_t *rows,
                                   int32_t n_rows, bool training) {
    rnn_state *s = bb->state;
    const el_seq_features *f = inputs;
    int64_t B = n_rows, T = el_seq_batch_fill(&s->batch, f, rows, n_rows, 1);
    ts_tensor x = el_seq_embed_tokens(s->emb, &s->batch, B, T, s->dim);
    if (x && s->emb_dropout > 0) x = ts_dropout(x, s->emb_dropout, training);
    int64_t lshape[1] = {B}, mshape[2] = {B, T};
    ts_tensor lens = ts_from_data(s->batch.lengths, TS_I64, lshape, 1);
    ts_tensor h = x && lens ? ts_rnn(s->kind, x, lens, s->w, s->n_w, s->layers, s->dirs == 2,
                                     s->layers > 1 ? s->dropout : 0.0, training)
                            : NULL;
    if (!h) return NULL;
    if (s->pooling == 3) return last_states(s, h, B, T);
    ts_tensor mask = ts_from_data(s->batch.mask, TS_F32, mshape, 2);
    if (!mask) return NULL;
    if (s->pooling == 0) return ts_masked_max(h, mask, 1);
    if (s->pooling == 1) return ts_masked_mean(h, mask, 1);
    ts_tensor parts[2] = {ts_masked_max(h, mask, 1), ts_masked_mean(h, mask, 1)};
    return parts[0] && parts[1] ? ts_cat(parts, 2, 1) : NULL;
}

static ts_tensor rnn_forward(el_backbone *bb, const void *inputs, const int64_t *rows,
                             int32_t n_rows, bool training) {
    return el_seq_forward(bb, inputs, rows, n_rows, training, rnn_forward_batch);
}

static void rnn_free(el_backbone *bb) {
    rnn_state *s = bb->state;
    if (s) {
        el_seq_batch_free(&s->batch);
        free(s->idx);
        free(s);
    }
    free(bb);
}

static const el_backbone_ops RNN_OPS = {
    .type = "rnn",
    .prepare = el_seq_prepare,
    .free_inputs = el_seq_free_inputs,
    .forward = rnn_forward,
    .free = rnn_free,
    .lengths = el_seq_lengths,
};

el_backbone *el_rnn_build(const el_backbone_spec *cfg, el_params *ps) {
    el_backbone *bb = xcalloc(1, sizeof *bb);
    rnn_state *s = xcalloc(1, sizeof *s);
    bb->ops = &RNN_OPS;
    bb->cfg = *cfg;
    bb->state = s;
    s->fp = el_seq_params_from_spec(cfg);
    s->dim = cfg->dim;
    s->hidden = cfg->hidden;
    s->layers = cfg->layers;
    s->dirs = cfg->bidirectional ? 2 : 1;
    s->kind = el_streq(cfg->cell, "lstm") ? TS_RNN_LSTM : TS_RNN_GRU;
    s->emb_dropout = cfg->emb_dropout;
    s->dropout = cfg->dropout;
    s->pooling = el_streq(cfg->pooling, "mean")      ? 1
                 : el_streq(cfg->pooling, "maxmean") ? 2
                 : el_streq(cfg->pooling, "last")    ? 3
                                                     : 0;
    if (s->layers < 1 || s->layers > 16) {
        el_err("backbone.layers: %d is out of range, allowed [1, 16]", s->layers);
        rnn_free(bb);
        return NULL;
    }
    bb->out_dim = s->hidden * s->dirs * (s->pooling == 2 ? 2 : 1);

    int64_t eshape[2] = {cfg->buckets, cfg->dim};
    ts_tensor emb = ts_zeros(eshape, 2, TS_F32);
    if (!emb || (cfg->emb_init_std > 0 && ts_normal_(emb, 0.0, cfg->emb_init_std) != 0)) {
        el_err("backbone rnn: cannot allocate the %lld x %d embedding table (%.0f MiB): lower "
               "backbone.buckets or backbone.dim: %s",
               (long long)cfg->buckets, cfg->dim, (double)cfg->buckets * cfg->dim * 4.0 / 1048576.0,
               ts_last_error());
        ts_free(emb);
        rnn_free(bb);
        return NULL;
    }
    s->emb = el_params_add(ps, "backbone.emb", emb, EL_GROUP_BACKBONE, true, false);
    el_param *p = el_params_find(ps, "backbone.emb");
    p->sparse_grad = true;
    p->save_sparse = true;

    int64_t G = s->kind == TS_RNN_LSTM ? 4 : 3, H = s->hidden;
    double bound = 1.0 / sqrt((double)H);
    for (int32_t l = 0; l < s->layers; l++) {
        int64_t in = l == 0 ? s->dim : H * s->dirs;
        for (int32_t d = 0; d < s->dirs; d++) {
            const char *sfx = d ? "_reverse" : "";
            int64_t shapes[4][2] = {{G * H, in}, {G * H, H}, {G * H, 0}, {G * H, 0}};
            const char *names[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
            for (int32_t k = 0; k < 4; k++) {
                char name[64];
                snprintf(name, sizeof name, "backbone.rnn.%s_l%d%s", names[k], l, sfx);
                ts_tensor t = ts_zeros(shapes[k], k < 2 ? 2 : 1, TS_F32);
                if (t && ts_uniform_(t, -bound, bound) != 0) {
                    ts_free(t);
                    t = NULL;
                }
                s->w[s->n_w] = el_params_add(ps, name, t, EL_GROUP_BACKBONE, true, k < 2);
                if (!s->w[s->n_w++]) {
                    el_err("backbone rnn: %s: %s", name, ts_last_error());
                    rnn_free(bb);
                    return NULL;
                }
            }
        }
    }
    return bb;
}
