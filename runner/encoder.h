/* encoder.h: a post-LayerNorm transformer encoder (BERT family) in C over the shim.
 *
 * One implementation serves every encoder emolab runs: pretrained Hugging Face checkpoints
 * (model_hf.c: BERT, RoBERTa, XLM-RoBERTa, DistilBERT) and from-scratch transformers (random
 * init, any depth and width). It follows Hugging Face's modeling code:
 *
 *   x = LayerNorm(word[ids] + position[pos] + token_type[types]) -> dropout
 *   per layer:
 *     a = softmax(q k^T / sqrt(d) + mask_bias) -> dropout -> @ v -> out proj [-> dropout]
 *     x = LayerNorm(x + a)
 *     f = proj(act(fc(x))) -> dropout
 *     x = LayerNorm(x + f)
 *
 * mask_bias is 0 for tokens and float32's lowest value for padding (HF's additive mask).
 * Positions are 0..T-1 (BERT, DistilBERT) or, with position_pad >= 0 (RoBERTa, XLM-R),
 * position_pad + 1 + (index among the non-pad tokens) for tokens and position_pad for pad ids,
 * computed from the ids as HF's create_position_ids_from_input_ids does.
 *
 * Lifecycle: el_encoder_build (zeros, parameters registered in an el_params) -> load weights
 * (el_encoder_tensors lists them with their expected shapes) or el_encoder_init_random ->
 * el_encoder_forward (inside a shim scope) -> el_encoder_free.
 */
#ifndef EL_ENCODER_H
#define EL_ENCODER_H

#include "model.h"
#include "torch_shim.h"

#include <stdbool.h>
#include <stdint.h>

#define EL_ENCODER_MAX_LAYERS 128

typedef enum {
    EL_ACT_GELU = 0,      /* exact (erf) GELU: HF "gelu" */
    EL_ACT_GELU_TANH = 1, /* tanh approximation: HF "gelu_new", "gelu_pytorch_tanh", "gelu_fast" */
    EL_ACT_RELU = 2,
    EL_ACT_SILU = 3,      /* HF "silu", "swish" */
} el_act;

/* Names of the weights: HF's for BERT-like models (also RoBERTa, XLM-R, from-scratch) or for
 * DistilBERT. */
typedef enum { EL_NAMES_BERT = 0, EL_NAMES_DISTILBERT = 1 } el_encoder_naming;

typedef struct {
    int32_t vocab_size;      /* V */
    int32_t hidden;          /* H */
    int32_t n_layers;        /* L */
    int32_t n_heads;         /* NH, divides H */
    int32_t intermediate;    /* I: FFN width */
    int32_t max_positions;   /* P: rows of the position table */
    int32_t type_vocab_size; /* rows of the token type table; 0 = none (DistilBERT) */
    int32_t pad_id;          /* padding_idx of the word table (its row gets no gradient); -1 none */
    int32_t position_pad;    /* >= 0: RoBERTa positions (see above); -1: 0..T-1 */
    el_act act;
    double ln_eps;           /* LayerNorm eps inside the layers */
    double emb_ln_eps;       /* LayerNorm eps of the embeddings */
    double hidden_dropout;   /* embeddings, attention output, FFN output */
    double attn_dropout;     /* attention probabilities */
    bool attn_out_dropout;   /* dropout on the attention output (BERT yes, DistilBERT no) */
    bool scale_q;            /* scale q before q k^T (DistilBERT) rather than the scores */
    el_encoder_naming naming;
} el_encoder_config;

/* A BERT-base-like default (H 768, 12 layers, 12 heads, I 3072, gelu, eps 1e-12, dropout .1). */
el_encoder_config el_encoder_default_config(void);
/* Checks sizes and ranges; errors name the config key (with `what` as a prefix, e.g. the file). */
int el_encoder_config_check(const el_encoder_config *c, const char *what);

typedef struct {
    ts_tensor q_w, q_b;       /* [H, H], [H] */
    ts_tensor k_w, k_b;       /* [H, H], [H] */
    ts_tensor v_w, v_b;       /* [H, H], [H] */
    ts_tensor o_w, o_b;       /* attention output [H, H], [H] */
    ts_tensor ln1_w, ln1_b;   /* [H] after attention + residual */
    ts_tensor fc_w, fc_b;     /* [I, H], [I] */
    ts_tensor proj_w, proj_b; /* [H, I], [H] */
    ts_tensor ln2_w, ln2_b;   /* [H] after FFN + residual */
} el_encoder_layer;

typedef struct {
    ts_tensor word;           /* [V, H] */
    ts_tensor pos;            /* [P, H] */
    ts_tensor type;           /* [T, H] or NULL */
    ts_tensor ln_w, ln_b;     /* [H] */
} el_encoder_embeddings;

/* One weight: its name inside the model (HF's, e.g. "encoder.layer.0.attention.self.query.weight"),
 * the tensor, its expected shape, and its depth (0 = embeddings, 1 + i = layer i) for layer-wise
 * learning rates and freezing. */
typedef struct {
    char *name;
    ts_tensor t;
    int32_t ndim;
    int64_t shape[2];
    int32_t depth;
    bool is_embedding;        /* a lookup table (word/position/type) */
    bool is_norm_or_bias;     /* no weight decay */
} el_encoder_tensor;

typedef struct {
    el_encoder_config cfg;
    el_encoder_embeddings emb;
    el_encoder_layer *layers; /* [L] */
    el_encoder_tensor *tensors;
    int32_t n_tensors;
    /* staging for one forward (reused) */
    int64_t *ids64, *types64, *pos64;
    float *bias;
    int64_t cap_tok, cap_bias;
} el_encoder;

/* Allocates every weight (zeros) and registers it in ps as prefix + name (group backbone,
 * trainable, weight decay except on biases and norms). */
int el_encoder_build(el_encoder *e, const el_encoder_config *cfg, const char *prefix,
                     el_params *ps);
/* HF's init for training from scratch: N(0, std) for matrices and tables (padding row zero),
 * zero biases, LayerNorm 1 / 0. Uses the shim's seeded generator. */
int el_encoder_init_random(el_encoder *e, double std);
void el_encoder_free(el_encoder *e); /* the tensors belong to the el_params */

typedef struct {
    const int32_t *ids;      /* [B * T] token ids, row-major */
    const int32_t *type_ids; /* [B * T] or NULL (all 0) */
    const int32_t *mask;     /* [B * T] 1 = token, 0 = padding; NULL = no padding */
    int32_t batch, seq_len;  /* B, T */
} el_encoder_input;

typedef struct {
    bool training;           /* dropout on */
    /* -1: all trainable. k >= 0: the embeddings and layers [0, k) run under no-grad in eval
     * mode (frozen: deterministic, no dropout); k > L is the same as L. */
    int32_t frozen;
    /* optional out: [L + 1] hidden states (embeddings output, then each layer), owned by the
     * current scope like the result */
    ts_tensor *hidden_states;
} el_encoder_run;

/* Last hidden state [B, T, H]. Call inside a shim scope. NULL + el_err on failure (ids out of
 * the table, sequence longer than the position table, ...). */
ts_tensor el_encoder_forward(el_encoder *e, const el_encoder_input *in, const el_encoder_run *r);

/* FLOPs of one forward of B sequences of length T (matmuls only): for benchmarks. */
double el_encoder_forward_flops(const el_encoder_config *c, int64_t B, int64_t T);

const char *el_act_name(el_act a);

#endif /* EL_ENCODER_H */
