/* encoder.c: the post-LN transformer encoder. See encoder.h. */
#include "encoder.h"
#include "torch_shim_extra.h"
#include "util.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

el_encoder_config el_encoder_default_config(void) {
    el_encoder_config c = {
        .vocab_size = 30522,
        .hidden = 768,
        .n_layers = 12,
        .n_heads = 12,
        .intermediate = 3072,
        .max_positions = 512,
        .type_vocab_size = 2,
        .pad_id = 0,
        .position_pad = -1,
        .act = EL_ACT_GELU,
        .ln_eps = 1e-12,
        .emb_ln_eps = 1e-12,
        .hidden_dropout = 0.1,
        .attn_dropout = 0.1,
        .attn_out_dropout = true,
        .scale_q = false,
        .naming = EL_NAMES_BERT,
    };
    return c;
}

const char *el_act_name(el_act a) {
    switch (a) {
    case EL_ACT_GELU: return "gelu";
    case EL_ACT_GELU_TANH: return "gelu_tanh";
    case EL_ACT_RELU: return "relu";
    case EL_ACT_SILU: return "silu";
    }
    return "?";
}

int el_encoder_config_check(const el_encoder_config *c, const char *what) {
    const char *w = what ? what : "encoder";
#define NEED(cond, ...)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            el_err(__VA_ARGS__);                                                                   \
            return el_err_prefix("%s", w);                                                         \
        }                                                                                          \
    } while (0)
    NEED(c->vocab_size >= 1 && c->vocab_size <= (1 << 24), "vocab_size %d is out of range [1, 2^24]",
         c->vocab_size);
    NEED(c->hidden >= 1 && c->hidden <= 65536, "hidden size %d is out of range [1, 65536]", c->hidden);
    NEED(c->n_layers >= 0 && c->n_layers <= EL_ENCODER_MAX_LAYERS,
         "number of layers %d is out of range [0, %d]", c->n_layers, EL_ENCODER_MAX_LAYERS);
    NEED(c->n_heads >= 1 && c->hidden % c->n_heads == 0,
         "%d attention heads do not divide the hidden size %d", c->n_heads, c->hidden);
    NEED(c->intermediate >= 1 && c->intermediate <= 1 << 20,
         "intermediate size %d is out of range [1, 2^20]", c->intermediate);
    NEED(c->max_positions >= 1 && c->max_positions <= 1 << 20,
         "max_position_embeddings %d is out of range [1, 2^20]", c->max_positions);
    NEED(c->type_vocab_size >= 0 && c->type_vocab_size <= 1 << 16,
         "type_vocab_size %d is out of range [0, 65536]", c->type_vocab_size);
    NEED(c->pad_id >= -1 && c->pad_id < c->vocab_size,
         "pad_token_id %d is outside the vocabulary (%d)", c->pad_id, c->vocab_size);
    NEED(c->position_pad < 0 || c->position_pad + 1 < c->max_positions,
         "padding_idx %d leaves no positions in a table of %d", c->position_pad, c->max_positions);
    NEED(c->ln_eps > 0 && c->ln_eps < 1 && c->emb_ln_eps > 0 && c->emb_ln_eps < 1,
         "layer_norm_eps must be in (0, 1)");
    NEED(c->hidden_dropout >= 0 && c->hidden_dropout < 1 && c->attn_dropout >= 0 &&
             c->attn_dropout < 1,
         "dropout probabilities must be in [0, 1)");
    NEED((int)c->act >= 0 && c->act <= EL_ACT_SILU, "unknown activation %d", (int)c->act);
#undef NEED
    return EL_OK;
}

/* ---- build ------------------------------------------------------------------------------- */
static ts_tensor add_tensor(el_encoder *e, el_params *ps, const char *prefix, int32_t depth,
                            bool is_emb, bool no_decay, int64_t d0, int64_t d1, const char *fmt,
                            int32_t layer) {
    char name[256];
    snprintf(name, sizeof name, fmt, layer);
    int64_t shape[2] = {d0, d1};
    int32_t nd = d1 > 0 ? 2 : 1;
    ts_tensor t = ts_zeros(shape, nd, TS_F32);
    if (!t) {
        el_err("%s: cannot allocate %lld x %lld floats: %s", name, (long long)d0, (long long)d1,
               ts_last_error());
        return NULL;
    }
    char *full = el_printf("%s%s", prefix ? prefix : "", name);
    el_params_add(ps, full, t, EL_GROUP_BACKBONE, true, !no_decay);
    free(full);
    el_encoder_tensor *et = &e->tensors[e->n_tensors++];
    et->name = xstrdup(name);
    et->t = t;
    et->ndim = nd;
    et->shape[0] = d0;
    et->shape[1] = d1 > 0 ? d1 : 0;
    et->depth = depth;
    et->is_embedding = is_emb;
    et->is_norm_or_bias = no_decay;
    return t;
}

typedef struct {
    const char *word, *pos, *type, *emb_ln_w, *emb_ln_b;
    const char *q_w, *q_b, *k_w, *k_b, *v_w, *v_b, *o_w, *o_b, *ln1_w, *ln1_b;
    const char *fc_w, *fc_b, *proj_w, *proj_b, *ln2_w, *ln2_b;
} names_t;

static const names_t NAMES_BERT = {
    "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight",
    "embeddings.token_type_embeddings.weight",
    "embeddings.LayerNorm.weight",
    "embeddings.LayerNorm.bias",
    "encoder.layer.%d.attention.self.query.weight",
    "encoder.layer.%d.attention.self.query.bias",
    "encoder.layer.%d.attention.self.key.weight",
    "encoder.layer.%d.attention.self.key.bias",
    "encoder.layer.%d.attention.self.value.weight",
    "encoder.layer.%d.attention.self.value.bias",
    "encoder.layer.%d.attention.output.dense.weight",
    "encoder.layer.%d.attention.output.dense.bias",
    "encoder.layer.%d.attention.output.LayerNorm.weight",
    "encoder.layer.%d.attention.output.LayerNorm.bias",
    "encoder.layer.%d.intermediate.dense.weight",
    "encoder.layer.%d.intermediate.dense.bias",
    "encoder.layer.%d.output.dense.weight",
    "encoder.layer.%d.output.dense.bias",
    "encoder.layer.%d.output.LayerNorm.weight",
    "encoder.layer.%d.output.LayerNorm.bias",
};

static const names_t NAMES_DISTILBERT = {
    "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight",
    NULL,
    "embeddings.LayerNorm.weight",
    "embeddings.LayerNorm.bias",
    "transformer.layer.%d.attention.q_lin.weight",
    "transformer.layer.%d.attention.q_lin.bias",
    "transformer.layer.%d.attention.k_lin.weight",
    "transformer.layer.%d.attention.k_lin.bias",
    "transformer.layer.%d.attention.v_lin.weight",
    "transformer.layer.%d.attention.v_lin.bias",
    "transformer.layer.%d.attention.out_lin.weight",
    "transformer.layer.%d.attention.out_lin.bias",
    "transformer.layer.%d.sa_layer_norm.weight",
    "transformer.layer.%d.sa_layer_norm.bias",
    "transformer.layer.%d.ffn.lin1.weight",
    "transformer.layer.%d.ffn.lin1.bias",
    "transformer.layer.%d.ffn.lin2.weight",
    "transformer.layer.%d.ffn.lin2.bias",
    "transformer.layer.%d.output_layer_norm.weight",
    "transformer.layer.%d.output_layer_norm.bias",
};

int el_encoder_build(el_encoder *e, const el_encoder_config *cfg, const char *prefix,
                     el_params *ps) {
    memset(e, 0, sizeof *e);
    if (el_encoder_config_check(cfg, "encoder") != 0) return EL_ERR;
    e->cfg = *cfg;
    const names_t *N = cfg->naming == EL_NAMES_DISTILBERT ? &NAMES_DISTILBERT : &NAMES_BERT;
    int64_t H = cfg->hidden, I = cfg->intermediate;
    e->tensors = xcalloc((size_t)(5 + 16 * cfg->n_layers), sizeof *e->tensors);
    e->layers = xcalloc((size_t)(cfg->n_layers > 0 ? cfg->n_layers : 1), sizeof *e->layers);
    el_encoder_embeddings *E = &e->emb;
#define T(field, depth, emb, nodecay, d0, d1, fmt, l)                                              \
    do {                                                                                           \
        if (!((field) = add_tensor(e, ps, prefix, depth, emb, nodecay, d0, d1, fmt, l)))          \
            return EL_ERR;                                                                         \
    } while (0)
    T(E->word, 0, true, false, cfg->vocab_size, H, N->word, 0);
    T(E->pos, 0, true, false, cfg->max_positions, H, N->pos, 0);
    if (cfg->type_vocab_size > 0 && N->type) T(E->type, 0, true, false, cfg->type_vocab_size, H, N->type, 0);
    T(E->ln_w, 0, false, true, H, 0, N->emb_ln_w, 0);
    T(E->ln_b, 0, false, true, H, 0, N->emb_ln_b, 0);
    if (ts_fill_(E->ln_w, 1.0) != 0) return el_err("encoder: %s", ts_last_error());
    for (int32_t l = 0; l < cfg->n_layers; l++) {
        el_encoder_layer *L = &e->layers[l];
        int32_t d = l + 1;
        T(L->q_w, d, false, false, H, H, N->q_w, l);
        T(L->q_b, d, false, true, H, 0, N->q_b, l);
        T(L->k_w, d, false, false, H, H, N->k_w, l);
        T(L->k_b, d, false, true, H, 0, N->k_b, l);
        T(L->v_w, d, false, false, H, H, N->v_w, l);
        T(L->v_b, d, false, true, H, 0, N->v_b, l);
        T(L->o_w, d, false, false, H, H, N->o_w, l);
        T(L->o_b, d, false, true, H, 0, N->o_b, l);
        T(L->ln1_w, d, false, true, H, 0, N->ln1_w, l);
        T(L->ln1_b, d, false, true, H, 0, N->ln1_b, l);
        T(L->fc_w, d, false, false, I, H, N->fc_w, l);
        T(L->fc_b, d, false, true, I, 0, N->fc_b, l);
        T(L->proj_w, d, false, false, H, I, N->proj_w, l);
        T(L->proj_b, d, false, true, H, 0, N->proj_b, l);
        T(L->ln2_w, d, false, true, H, 0, N->ln2_w, l);
        T(L->ln2_b, d, false, true, H, 0, N->ln2_b, l);
        if (ts_fill_(L->ln1_w, 1.0) != 0 || ts_fill_(L->ln2_w, 1.0) != 0)
            return el_err("encoder: %s", ts_last_error());
    }
#undef T
    return EL_OK;
}

int el_encoder_init_random(el_encoder *e, double std) {
    for (int32_t i = 0; i < e->n_tensors; i++) {
        el_encoder_tensor *t = &e->tensors[i];
        if (t->ndim != 2) continue; /* biases stay 0, norms 1 */
        if (ts_normal_(t->t, 0.0, std) != 0) return el_err("%s: %s", t->name, ts_last_error());
    }
    if (e->cfg.pad_id >= 0) {
        float *w = ts_data_ptr(e->emb.word);
        if (!w) return el_err("encoder init: %s", ts_last_error());
        memset(w + (int64_t)e->cfg.pad_id * e->cfg.hidden, 0, (size_t)e->cfg.hidden * sizeof(float));
    }
    return EL_OK;
}

void el_encoder_free(el_encoder *e) {
    if (!e) return;
    for (int32_t i = 0; i < e->n_tensors; i++) free(e->tensors[i].name);
    free(e->tensors);
    free(e->layers);
    free(e->ids64);
    free(e->types64);
    free(e->pos64);
    free(e->bias);
    memset(e, 0, sizeof *e);
}

/* ---- forward ----------------------------------------------------------------------------- */
static ts_tensor activation(el_act a, ts_tensor x) {
    switch (a) {
    case EL_ACT_GELU: return ts_gelu(x, 0);
    case EL_ACT_GELU_TANH: return ts_gelu(x, 1);
    case EL_ACT_RELU: return ts_relu(x);
    case EL_ACT_SILU: return ts_silu(x);
    }
    return NULL;
}

static ts_tensor maybe_dropout(ts_tensor x, double p, bool training) {
    if (!x || !training || p <= 0) return x;
    return ts_fast_dropout(x, p, 1);
}

/* One layer: x [B, T, H], bias [B*NH, 1, T] -> [B, T, H]. NULL on failure (shim error set). */
static ts_tensor layer_forward(const el_encoder_config *c, const el_encoder_layer *L, ts_tensor x,
                               ts_tensor bias, int64_t B, int64_t T, bool training) {
    int64_t H = c->hidden, NH = c->n_heads, D = H / NH;
    double scale = 1.0 / sqrt((double)D);
    /* q, k, v in one GEMM: [B, T, 3H] -> [3, B*NH, T, D] with one copy */
    ts_tensor ws[3] = {L->q_w, L->k_w, L->v_w}, bs[3] = {L->q_b, L->k_b, L->v_b};
    ts_tensor wqkv = ts_cat(ws, 3, 0), bqkv = ts_cat(bs, 3, 0);
    ts_tensor qkv = wqkv && bqkv ? ts_linear(x, wqkv, bqkv) : NULL;
    int64_t s5[5] = {B, T, 3, NH, D};
    int32_t perm[5] = {2, 0, 3, 1, 4};
    ts_tensor qkv5 = qkv ? ts_reshape(qkv, s5, 5) : NULL;
    ts_tensor qkvp = qkv5 ? ts_permute(qkv5, perm, 5) : NULL;
    int64_t s4[4] = {3, B * NH, T, D};
    ts_tensor heads = qkvp ? ts_reshape(qkvp, s4, 4) : NULL; /* copies into [3, B*NH, T, D] */
    if (!heads) return NULL;
    int64_t s3[3] = {B * NH, T, D};
    ts_tensor q = ts_reshape(ts_slice(heads, 0, 0, 1, 1), s3, 3);
    ts_tensor k = ts_reshape(ts_slice(heads, 0, 1, 2, 1), s3, 3);
    ts_tensor v = ts_reshape(ts_slice(heads, 0, 2, 3, 1), s3, 3);
    if (!q || !k || !v) return NULL;
    ts_tensor kt = ts_transpose(k, 1, 2);
    ts_tensor scores;
    if (c->scale_q) {
        ts_tensor qs = ts_mul_scalar(q, scale);
        scores = qs && kt ? ts_baddbmm(bias, qs, kt, 1.0, 1.0) : NULL;
    } else {
        scores = kt ? ts_baddbmm(bias, q, kt, 1.0, scale) : NULL;
    }
    ts_tensor probs = scores ? ts_softmax(scores, -1) : NULL;
    probs = maybe_dropout(probs, c->attn_dropout, training);
    ts_tensor ctx = probs ? ts_bmm(probs, v) : NULL; /* [B*NH, T, D] */
    int64_t sh[4] = {B, NH, T, D}, sm[3] = {B, T, H};
    ts_tensor ctx4 = ctx ? ts_reshape(ctx, sh, 4) : NULL;
    ts_tensor ctxt = ctx4 ? ts_transpose(ctx4, 1, 2) : NULL;
    ts_tensor merged = ctxt ? ts_reshape(ctxt, sm, 3) : NULL;
    ts_tensor a = merged ? ts_linear(merged, L->o_w, L->o_b) : NULL;
    if (c->attn_out_dropout) a = maybe_dropout(a, c->hidden_dropout, training);
    ts_tensor r1 = a ? ts_add(a, x) : NULL;
    ts_tensor x1 = r1 ? ts_layer_norm(r1, L->ln1_w, L->ln1_b, c->ln_eps) : NULL;
    ts_tensor f = x1 ? ts_linear(x1, L->fc_w, L->fc_b) : NULL;
    f = f ? activation(c->act, f) : NULL;
    f = f ? ts_linear(f, L->proj_w, L->proj_b) : NULL;
    f = maybe_dropout(f, c->hidden_dropout, training);
    ts_tensor r2 = f ? ts_add(f, x1) : NULL;
    return r2 ? ts_layer_norm(r2, L->ln2_w, L->ln2_b, c->ln_eps) : NULL;
}

static ts_tensor embed(el_encoder *e, const el_encoder_input *in, bool training) {
    const el_encoder_config *c = &e->cfg;
    int64_t B = in->batch, T = in->seq_len, n = B * T;
    int64_t s2[2] = {B, T};
    ts_tensor ids = ts_from_data(e->ids64, TS_I64, s2, 2);
    ts_tensor x = ids ? ts_embedding(e->emb.word, ids, c->pad_id) : NULL;
    if (!x) return NULL;
    if (e->emb.type) {
        bool any = false;
        for (int64_t i = 0; in->type_ids && i < n && !any; i++) any = in->type_ids[i] != 0;
        ts_tensor te;
        if (any) {
            ts_tensor types = ts_from_data(e->types64, TS_I64, s2, 2);
            te = types ? ts_embedding(e->emb.type, types, -1) : NULL;
        } else { /* all type 0: one row, broadcast (same values and gradient as the lookup) */
            te = ts_slice(e->emb.type, 0, 0, 1, 1);
        }
        x = te ? ts_add(x, te) : NULL;
    }
    ts_tensor pe;
    if (c->position_pad >= 0) {
        ts_tensor pos = ts_from_data(e->pos64, TS_I64, s2, 2);
        pe = pos ? ts_embedding(e->emb.pos, pos, -1) : NULL;
    } else {
        pe = ts_slice(e->emb.pos, 0, 0, T, 1); /* [T, H], broadcast over the batch */
    }
    x = x && pe ? ts_add(x, pe) : NULL;
    x = x ? ts_layer_norm(x, e->emb.ln_w, e->emb.ln_b, c->emb_ln_eps) : NULL;
    return maybe_dropout(x, c->hidden_dropout, training);
}

/* Host-side staging: ids/types/positions as int64, the additive mask bias. Checks ranges. */
static int stage(el_encoder *e, const el_encoder_input *in) {
    const el_encoder_config *c = &e->cfg;
    int64_t B = in->batch, T = in->seq_len, n = B * T, NH = c->n_heads;
    if (B < 1 || T < 1) return el_err("encoder: empty batch (%lld x %lld)", (long long)B, (long long)T);
    el_grow(e->ids64, &e->cap_tok, n);
    e->types64 = xrealloc(e->types64, (size_t)e->cap_tok * sizeof(int64_t));
    e->pos64 = xrealloc(e->pos64, (size_t)e->cap_tok * sizeof(int64_t));
    el_grow(e->bias, &e->cap_bias, B * NH * T);
    for (int64_t i = 0; i < n; i++) {
        int32_t id = in->ids[i];
        if (id < 0 || id >= c->vocab_size)
            return el_err("encoder: token id %d (row %lld, position %lld) is outside the "
                          "vocabulary of %d: the tokenizer does not match the model",
                          id, (long long)(i / T), (long long)(i % T), c->vocab_size);
        e->ids64[i] = id;
        int32_t ty = in->type_ids ? in->type_ids[i] : 0;
        if (ty < 0 || (ty > 0 && ty >= c->type_vocab_size))
            return el_err("encoder: token type %d is outside the %d token types", ty,
                          c->type_vocab_size);
        e->types64[i] = ty;
    }
    if (c->position_pad >= 0) {
        for (int64_t b = 0; b < B; b++) {
            int64_t k = 0;
            for (int64_t t = 0; t < T; t++) {
                int64_t i = b * T + t;
                if (in->ids[i] != c->position_pad) {
                    k++;
                    e->pos64[i] = c->position_pad + k;
                } else {
                    e->pos64[i] = c->position_pad;
                }
                if (e->pos64[i] >= c->max_positions)
                    return el_err("encoder: sequence of %lld tokens is longer than the model's "
                                  "%d positions (padding_idx %d): lower max_len",
                                  (long long)T, c->max_positions - c->position_pad - 1,
                                  c->position_pad);
            }
        }
    } else if (T > c->max_positions) {
        return el_err("encoder: sequence of %lld tokens is longer than the model's %d positions: "
                      "lower max_len",
                      (long long)T, c->max_positions);
    }
    const float lowest = -FLT_MAX; /* torch.finfo(torch.float32).min */
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < NH; h++) {
            float *row = e->bias + (b * NH + h) * T;
            for (int64_t t = 0; t < T; t++)
                row[t] = !in->mask || in->mask[b * T + t] ? 0.0f : lowest;
        }
    return EL_OK;
}

ts_tensor el_encoder_forward(el_encoder *e, const el_encoder_input *in, const el_encoder_run *r) {
    const el_encoder_config *c = &e->cfg;
    if (stage(e, in) != 0) return NULL;
    int64_t B = in->batch, T = in->seq_len;
    int32_t frozen = r->frozen < 0 ? -1 : (r->frozen > c->n_layers ? c->n_layers : r->frozen);
    int64_t sb[3] = {B * c->n_heads, 1, T};
    ts_tensor bias = ts_from_data(e->bias, TS_F32, sb, 3);
    if (!bias) {
        el_err("encoder: %s", ts_last_error());
        return NULL;
    }
    int ng = 0; /* no-grad nesting opened here */
    if (frozen >= 0) {
        ts_no_grad_begin();
        ng = 1;
    }
    ts_tensor x = embed(e, in, r->training && frozen < 0);
    if (x && r->hidden_states) r->hidden_states[0] = x;
    for (int32_t l = 0; l < c->n_layers && x; l++) {
        if (ng && l >= frozen) {
            ts_no_grad_end();
            ng = 0;
        }
        bool train_l = r->training && l >= frozen;
        x = layer_forward(c, &e->layers[l], x, bias, B, T, train_l);
        if (x && r->hidden_states) r->hidden_states[l + 1] = x;
    }
    if (ng) ts_no_grad_end();
    if (!x) el_err("encoder forward: %s", ts_last_error());
    return x;
}

double el_encoder_forward_flops(const el_encoder_config *c, int64_t B, int64_t T) {
    double H = c->hidden, I = c->intermediate, n = (double)(B * T);
    double per_layer = 2.0 * n * (4.0 * H * H + 2.0 * H * I) /* q, k, v, o; fc, proj */
                       + 2.0 * 2.0 * (double)B * (double)T * (double)T * H; /* scores, context */
    return per_layer * c->n_layers;
}
