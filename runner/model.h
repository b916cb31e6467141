/* model.h: a classifier = backbone (text -> vector) + head (vector -> logits), both built in C
 * from shim ops, with named parameters for the optimizer and the checkpoint.
 *
 * Lifecycle (llm.c style): x_build / x_forward / x_free. Backbones implement el_backbone_ops so
 * that heads, training, prediction and checkpoints work with any of them.
 */
#ifndef EL_MODEL_H
#define EL_MODEL_H

#include "spec.h"
#include "torch_shim.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- named parameters -------------------------------------------------------------------- */
typedef enum { EL_GROUP_BACKBONE = 0, EL_GROUP_HEAD = 1 } el_param_group_id;

typedef struct {
    char *name;          /* "backbone.emb", "head.0.fc0.weight", ... */
    ts_tensor t;
    bool trainable;      /* false for buffers (batch-norm running statistics) */
    bool sparse_grad;    /* gets sparse gradients (hashed embedding tables) */
    bool decay;          /* weight decay applies */
    bool save_sparse;    /* checkpoint stores only its non-zero rows */
    el_param_group_id group;
    double lr_scale;     /* multiplies its group's lr (layer-wise decay); 1 by default */
} el_param;

typedef struct {
    el_param *items;
    int32_t n;
    int64_t cap;
} el_params;

ts_tensor el_params_add(el_params *ps, const char *name, ts_tensor t, el_param_group_id group,
                        bool trainable, bool decay);
el_param *el_params_find(el_params *ps, const char *name);
int64_t el_params_count(const el_params *ps); /* trainable scalars */
void el_params_free(el_params *ps);

/* ---- backbones --------------------------------------------------------------------------- */
typedef struct el_backbone el_backbone;

/* How a backbone's eval-mode output depends on the data (the feature cache, feature_cache.c). */
typedef enum {
    EL_FEATURES_TRAINED = 0, /* it trains: nothing can be cached */
    EL_FEATURES_FIXED = 1,   /* a fixed function of each text (a frozen pretrained encoder) */
    EL_FEATURES_FITTED = 2,  /* a fixed function of each text and of the first split prepared
                                (train), whose fitted state lives in the backbone's buffers
                                (its non-trainable parameters) */
} el_features_kind;

typedef struct {
    const char *type;
    /* Turns n texts into this backbone's input form, once per split. */
    void *(*prepare)(el_backbone *bb, char *const *texts, int64_t n);
    void (*free_inputs)(void *inputs);
    /* [n_rows, out_dim] features for the given rows of prepared inputs. */
    ts_tensor (*forward)(el_backbone *bb, const void *inputs, const int64_t *rows, int32_t n_rows,
                         bool training);
    void (*free)(el_backbone *bb);
    /* Optional: tokens per prepared row, for length-bucketed batches (NULL: no lengths). */
    const int32_t *(*lengths)(const void *inputs);
    /* Optional (NULL = EL_FEATURES_TRAINED): whether forward(training = false) is frozen, so
     * that its outputs can be cached per split. Writes into identity (cap bytes, may stay "")
     * anything beyond the backbone spec the outputs depend on, e.g. a resolved revision. */
    el_features_kind (*frozen)(const el_backbone *bb, char *identity, size_t cap);
} el_backbone_ops;

struct el_backbone {
    const el_backbone_ops *ops;
    el_backbone_spec cfg; /* borrowed strings from the spec */
    int32_t out_dim;
    void *state;
};

/* Builds the backbone named by cfg->type; its parameters are added to ps (group backbone). */
el_backbone *el_backbone_build(const el_backbone_spec *cfg, el_params *ps);
void el_backbone_free(el_backbone *bb);

/* bow: hashed n-gram embedding bag (model_bow.c) */
el_backbone *el_bow_build(const el_backbone_spec *cfg, el_params *ps);
/* hf: a pretrained Hugging Face encoder (model_hf.c) */
el_backbone *el_hf_build(const el_backbone_spec *cfg, el_params *ps);
/* tfidf: scikit-learn-style tf-idf rows times a [terms, dim] table (model_tfidf.c) */
el_backbone *el_tfidf_build(const el_backbone_spec *cfg, el_params *ps);
/* cnn: convolutions over hashed token embeddings, max-over-time pooling (model_cnn.c) */
el_backbone *el_cnn_build(const el_backbone_spec *cfg, el_params *ps);
/* rnn: (bidirectional, stacked) GRU or LSTM over hashed token embeddings (model_rnn.c) */
el_backbone *el_rnn_build(const el_backbone_spec *cfg, el_params *ps);
/* transformer: a BERT-style encoder (encoder.c) trained from scratch over hashed tokens
 * (model_transformer.c) */
el_backbone *el_transformer_build(const el_backbone_spec *cfg, el_params *ps);

/* ---- heads ------------------------------------------------------------------------------- */
#define EL_MAX_HEADS 16

typedef struct {
    ts_tensor w, b;           /* linear [out, in], [out] */
    ts_tensor nw, nb;         /* norm affine [out] (NULL when norm none) */
    ts_tensor rmean, rvar;    /* batch-norm running stats */
    int32_t in, out;
    bool residual;
} el_head_layer;

typedef struct {
    el_head_spec cfg;         /* borrowed strings */
    int32_t in_dim, n_out, n_heads;
    el_head_layer layers[EL_MAX_HEADS][EL_MAX_LAYERS + 1]; /* per head: hidden layers, output */
    int32_t n_layers;         /* hidden layers per head (cfg n_layers) */
    ts_tensor meta_w, meta_b; /* meta-layer over concatenated head outputs [n_out, heads*n_out] */
} el_head;

int el_head_build(el_head *h, const el_head_spec *cfg, int32_t in_dim, int32_t n_out,
                  el_params *ps);
ts_tensor el_head_forward(el_head *h, ts_tensor x, bool training); /* [B, n_out] logits */

/* ---- the whole classifier ---------------------------------------------------------------- */
typedef struct el_feature_cache el_feature_cache;

typedef struct {
    el_params params;
    el_backbone *backbone;
    el_head head;
    int32_t n_labels;
    /* feature cache (feature_cache.c): set when the prepared inputs are the frozen backbone's
     * outputs, so that forward goes straight to the head */
    el_feature_cache *fcache;
} el_model;

int el_model_build(el_model *m, const el_spec *spec, int32_t n_labels);
/* logits [n_rows, n_labels] for the given rows of prepared inputs */
ts_tensor el_model_forward(el_model *m, const void *inputs, const int64_t *rows, int32_t n_rows,
                           bool training);
void el_model_free(el_model *m);

/* Inputs of one split for el_model_forward (feature_cache.c). The backbone's own prepared
 * inputs; or, when the backbone is frozen (ops->frozen) and the cache is on, its outputs: read
 * from the feature cache, or computed once and stored there. Splits are prepared train first
 * (split = "train"), then the others. NULL + el_err on failure. */
void *el_model_prepare(el_model *m, const el_spec *spec, const char *split, char *const *texts,
                       int64_t n);
void el_model_free_inputs(el_model *m, void *inputs);

/* PyTorch's default nn.Linear init: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias. */
int el_init_linear(ts_tensor w, ts_tensor b, int32_t in);

#endif /* EL_MODEL_H */
