/* model_transformer.c: a BERT-style transformer encoder trained from scratch over hashed tokens.
 *
 *   tokens (tokenize_seq.c: hashed word or char tokens, no n-gram bags) -> ids
 *     [CLS] = 1, then 2 + bucket for each token; [PAD] = 0 (its embedding row stays zero)
 *   -> encoder.c (the same C encoder the hf backbone runs: post-LN layers, GELU, BERT's
 *      additive attention mask, positions 0..T-1, no token types), random init N(0, init_std)
 *   -> pooling: the [CLS] vector, or the masked mean / max over [CLS] and the tokens
 * A text keeps its first max_len tokens, so the position table has max_len + 1 rows. [CLS] is
 * prepended for every pooling (an empty text still has one token). A batch is padded only to
 * its own longest row (train.c buckets rows by length; eval runs in length-sorted chunks) and
 * padding never changes a row's output.
 */
#include "encoder.h"
#include "model.h"
#include "model_seq.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define TR_PAD_ID 0
#define TR_CLS_ID 1
#define TR_FIRST_TOKEN_ID 2

typedef enum { TR_POOL_CLS = 0, TR_POOL_MEAN = 1, TR_POOL_MAX = 2 } tr_pooling;

typedef struct {
    el_seq_params fp;      /* first: el_seq_prepare reads it (model_seq.h) */
    el_encoder enc;        /* word [buckets + 2, H], pos [max_len + 1, H], layers */
    tr_pooling pooling;
    /* staging for one batch, reused */
    int32_t *ids, *mask;   /* [B * T] */
    float *maskf;          /* [B * T] */
    int64_t cap;
} tr_state;

/* One padded batch: [CLS] + tokens per row, T = 1 + the longest row -> pooled [B, H]. */
static ts_tensor tr_forward_batch(el_backbone *bb, const void *inputs, const int64_t *rows,
                                  int32_t n_rows, bool training) {
    const el_seq_features *f = inputs;
    tr_state *s = bb->state;
    int64_t B = n_rows, T = 1;
    for (int32_t i = 0; i < n_rows; i++) {
        if (rows[i] < 0 || rows[i] >= f->n) {
            el_err("transformer forward: row %lld is outside the %lld prepared texts",
                   (long long)rows[i], (long long)f->n);
            return NULL;
        }
        if (1 + (int64_t)f->lengths[rows[i]] > T) T = 1 + f->lengths[rows[i]];
    }
    if (B * T > s->cap) {
        s->cap = B * T;
        s->ids = xrealloc(s->ids, (size_t)s->cap * sizeof(int32_t));
        s->mask = xrealloc(s->mask, (size_t)s->cap * sizeof(int32_t));
        s->maskf = xrealloc(s->maskf, (size_t)s->cap * sizeof(float));
    }
    for (int64_t i = 0; i < B; i++) {
        int64_t r = rows[i], L = f->lengths[r], t0 = f->tok_off[r];
        int32_t *ids = s->ids + i * T, *mk = s->mask + i * T;
        float *mf = s->maskf + i * T;
        ids[0] = TR_CLS_ID;
        for (int64_t t = 0; t < L; t++) /* one id per token: no n-gram bags */
            ids[1 + t] = TR_FIRST_TOKEN_ID + (int32_t)f->ids[f->id_off[t0 + t]];
        for (int64_t t = 1 + L; t < T; t++) ids[t] = TR_PAD_ID;
        for (int64_t t = 0; t < T; t++) {
            mk[t] = t <= L;
            mf[t] = t <= L ? 1.0f : 0.0f;
        }
    }
    el_encoder_input ei = {s->ids, NULL, s->mask, (int32_t)B, (int32_t)T};
    el_encoder_run run = {training, -1, NULL};
    ts_tensor h = el_encoder_forward(&s->enc, &ei, &run); /* [B, T, H] */
    if (!h) return NULL;
    int64_t H = s->enc.cfg.hidden, s2[2] = {B, H}, sm[2] = {B, T};
    if (s->pooling == TR_POOL_CLS) return ts_reshape(ts_slice(h, 1, 0, 1, 1), s2, 2);
    ts_tensor mf = ts_from_data(s->maskf, TS_F32, sm, 2);
    if (!mf) return NULL;
    return s->pooling == TR_POOL_MEAN ? ts_masked_mean(h, mf, 1) : ts_masked_max(h, mf, 1);
}

static ts_tensor tr_forward(el_backbone *bb, const void *inputs, const int64_t *rows,
                            int32_t n_rows, bool training) {
    return el_seq_forward(bb, inputs, rows, n_rows, training, tr_forward_batch);
}

static void tr_free(el_backbone *bb) {
    tr_state *s = bb->state;
    if (s) {
        el_encoder_free(&s->enc);
        free(s->ids);
        free(s->mask);
        free(s->maskf);
        free(s);
    }
    free(bb);
}

static const el_backbone_ops TRANSFORMER_OPS = {
    .type = "transformer",
    .prepare = el_seq_prepare,
    .free_inputs = el_seq_free_inputs,
    .forward = tr_forward,
    .free = tr_free,
    .lengths = el_seq_lengths,
};

static el_encoder_config el_transformer_encoder_config(const el_backbone_spec *cfg) {
    el_encoder_config c = el_encoder_default_config();
    c.vocab_size = (int32_t)(cfg->buckets + TR_FIRST_TOKEN_ID);
    c.hidden = cfg->hidden;
    c.n_layers = cfg->layers;
    c.n_heads = cfg->heads;
    c.intermediate = cfg->intermediate;
    c.max_positions = cfg->max_len + 1;
    c.type_vocab_size = 0;
    c.pad_id = TR_PAD_ID;
    c.position_pad = -1;
    c.act = EL_ACT_GELU;
    c.hidden_dropout = cfg->dropout;
    c.attn_dropout = cfg->attn_dropout;
    return c;
}

el_backbone *el_transformer_build(const el_backbone_spec *cfg, el_params *ps) {
    el_backbone *bb = xcalloc(1, sizeof *bb);
    tr_state *s = xcalloc(1, sizeof *s);
    bb->ops = &TRANSFORMER_OPS;
    bb->cfg = *cfg;
    bb->state = s;
    s->fp = el_seq_params_from_spec(cfg);
    s->fp.char_min = 0; /* one hashed id per token: no n-gram bags */
    s->fp.char_max = 0;
    const char *pool = cfg->pooling && cfg->pooling[0] ? cfg->pooling : "cls";
    if (el_streq(pool, "cls")) s->pooling = TR_POOL_CLS;
    else if (el_streq(pool, "mean")) s->pooling = TR_POOL_MEAN;
    else if (el_streq(pool, "max")) s->pooling = TR_POOL_MAX;
    else {
        el_err("backbone.pooling: '%s' is not a pooling of the transformer backbone (cls, mean, max)", pool);
        tr_free(bb);
        return NULL;
    }
    if (cfg->buckets < 1 || cfg->buckets > (1 << 24) - TR_FIRST_TOKEN_ID) {
        el_err("backbone.buckets: %lld is out of range [1, %d]", (long long)cfg->buckets,
               (1 << 24) - TR_FIRST_TOKEN_ID);
        tr_free(bb);
        return NULL;
    }
    if (cfg->max_len < 1) {
        el_err("backbone.max_len: %d must be at least 1", cfg->max_len);
        tr_free(bb);
        return NULL;
    }
    if (cfg->heads < 1 || cfg->hidden % cfg->heads != 0) {
        el_err("backbone.heads: %d attention heads do not divide backbone.hidden %d", cfg->heads, cfg->hidden);
        tr_free(bb);
        return NULL;
    }
    el_encoder_config ec = el_transformer_encoder_config(cfg);
    if (el_encoder_build(&s->enc, &ec, "backbone.", ps) != 0 ||
        el_encoder_init_random(&s->enc, cfg->init_std > 0 ? cfg->init_std : 0.02) != 0) {
        el_err_prefix("backbone transformer (buckets %lld, hidden %d, %d layers, intermediate %d)",
                      (long long)cfg->buckets, cfg->hidden, cfg->layers, cfg->intermediate);
        tr_free(bb);
        return NULL;
    }
    bb->out_dim = cfg->hidden;
    return bb;
}
