/* model_hf.h: pretrained Hugging Face encoders (BERT, RoBERTa, XLM-RoBERTa, DistilBERT) from a
 * local model directory, as an emolab backbone.
 *
 * A model directory holds config.json (hf_config.h), model.safetensors or the shards of
 * model.safetensors.index.json (safetensors.h), and tokenizer.json (tokenize.h). Weights are
 * found under their HF names with or without the task-model prefix ("bert.", "roberta.",
 * "distilbert."); legacy LayerNorm gamma/beta names are accepted. Each weight's shape is checked
 * against config.json; F16/BF16/F64 weights are converted to float32.
 *
 * The backbone (`backbone: {type: hf, ...}` in a spec):
 *   prepare   text_prefix + text -> token ids (special tokens, truncation to max_len), once
 *   forward   dynamic padding to the longest row of the batch; in eval mode rows are sorted by
 *             length and run in chunks of bounded size
 *   pooling   cls | mean (masked) | max (masked) | attention (a learned query, masked softmax
 *             over the tokens) | cls_concat (CLS of the last k layers) | pooler (BERT's
 *             pretrained dense + tanh over CLS, as BertForSequenceClassification)
 *   freeze    none | all (encoder under no-grad in eval mode; parameter-free pooled features
 *             are computed once per text and cached) | first_k (embeddings + first k layers
 *             under no-grad in eval mode)
 *   layer_lr_decay  lr scale decay^(L + 1 - depth) per parameter (depth 0 = embeddings)
 * Parameters are named "backbone." + the HF name; pooling parameters "backbone.pool.*" belong
 * to the head group (head lr).
 */
#ifndef EL_MODEL_HF_H
#define EL_MODEL_HF_H

#include "encoder.h"
#include "hf_config.h"
#include "model.h"
#include "tokenize.h"

typedef enum {
    EL_POOL_CLS = 0,
    EL_POOL_MEAN,
    EL_POOL_MAX,
    EL_POOL_ATTENTION,
    EL_POOL_CLS_CONCAT,
    EL_POOL_POOLER,
} el_pooling;

/* A loaded model directory. */
typedef struct {
    char *dir;
    el_hf_config config;
    el_encoder enc;
    el_tokenizer *tok;        /* NULL when loaded without a tokenizer */
    ts_tensor pooler_w, pooler_b; /* BERT's pooler [H, H], [H] when the checkpoint has one */
    char *weights_file;       /* model.safetensors or the index (messages, export) */
} el_hf_model;

/* Loads DIR: config, weights (into parameters registered in ps as prefix + HF name) and,
 * when with_tokenizer, tokenizer.json. On failure everything is released (parameters already
 * added to ps stay there for ps's owner to free). */
int el_hf_model_load(el_hf_model *m, const char *dir, const char *prefix, el_params *ps,
                     bool with_tokenizer);
void el_hf_model_free(el_hf_model *m);

/* The loaded model behind an hf backbone (tests, export). */
el_hf_model *el_hf_backbone_model(el_backbone *bb);
el_pooling el_hf_backbone_pooling(el_backbone *bb);
int el_pooling_parse(const char *s, el_pooling *out);
const char *el_pooling_name(el_pooling p);

/* Resolves backbone.path / backbone.name to a local directory (malloc'd). */
int el_hf_resolve_dir(const el_backbone_spec *cfg, char **dir);

#endif /* EL_MODEL_HF_H */
