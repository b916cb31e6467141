/* hf_config.h: a Hugging Face model's config.json -> the encoder configuration.
 *
 * Supported model_type values: bert, roberta, xlm-roberta (BERT's config names) and distilbert
 * (its own names: dim, n_layers, n_heads, hidden_dim, activation, dropout, attention_dropout).
 * Missing keys take the defaults of the matching transformers config class, so a model loads as
 * transformers would load it. Anything the encoder cannot reproduce (relative position
 * embeddings, decoders, cross-attention, an unknown activation) is refused with the file and
 * the key.
 */
#ifndef EL_HF_CONFIG_H
#define EL_HF_CONFIG_H

#include "encoder.h"

typedef enum {
    EL_HF_BERT = 1,
    EL_HF_ROBERTA = 2,
    EL_HF_XLM_ROBERTA = 3,
    EL_HF_DISTILBERT = 4,
} el_hf_arch;

typedef struct {
    el_hf_arch arch;
    char model_type[32];
    el_encoder_config enc;
    int32_t pad_token_id;     /* config pad_token_id (-1 when null) */
    bool sinusoidal_pos;      /* DistilBERT sinusoidal_pos_embds: position table is fixed */
    char *file;               /* the config.json path (for messages) */
    char *text;               /* the file's text, as read (export starts from it) */
} el_hf_config;

/* path: a config.json or the directory holding one. */
int el_hf_config_load(const char *path, el_hf_config *out);
/* buf[0..len): the JSON text; name is used in messages. */
int el_hf_config_parse(const char *buf, size_t len, const char *name, el_hf_config *out);
void el_hf_config_free(el_hf_config *c);

const char *el_hf_arch_name(el_hf_arch a);         /* "bert", "roberta", ... */
const char *el_hf_arch_class(el_hf_arch a);        /* "Bert", "Roberta", "XLMRoberta", "DistilBert" */
const char *el_hf_arch_weight_prefix(el_hf_arch a); /* "bert.", "roberta.", "roberta.", "distilbert." */

#endif /* EL_HF_CONFIG_H */
