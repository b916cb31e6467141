/* export.h: a trained run back as a Hugging Face model directory (`emolab export RUN DIR`).
 *
 * The run's checkpoint carries its resolved config, labels and thresholds; the model is rebuilt
 * from that config (the hf backbone reads the source model directory again: backbone.path or
 * backbone.name, or --model-dir) and the checkpoint's weights are loaded into it. DIR gets:
 *   config.json        the source model's config + architectures, problem_type
 *                      multi_label_classification, id2label/label2id, and an "emolab" section
 *                      (run, thresholds, pooling, max_len, text_prefix, how the head maps)
 *   model.safetensors  F32 weights under HF's names
 *   tokenizer files    copied from the source directory (tokenizer_config.json's
 *                      model_max_length set to the run's max_len)
 *   README.md          what the directory holds and how to use it
 *
 * The classification head becomes HF's *ForSequenceClassification head when that reproduces
 * emolab's logits exactly (eval mode; checked by tests/hf_model/test_export.py), with pooling
 * cls (or pooler) and one head:
 *   BERT        pooler + linear head: pooler, classifier
 *               cls + one hidden layer of H units with tanh: pooler := hidden layer, classifier
 *               cls + linear head: pooler := 1e-5 * I (tanh is linear there: tanh(1e-5 x) =
 *               1e-5 x to float32 precision), classifier := W / 1e-5
 *   RoBERTa,    cls + hidden layer of H units with tanh: classifier.dense, classifier.out_proj
 *   XLM-R       cls + linear head: classifier.dense := 1e-5 * I, out_proj := W / 1e-5
 *   DistilBERT  cls + hidden layer of H units with relu: pre_classifier, classifier
 *               cls + linear head: pre_classifier := I with bias c, classifier bias b - W c,
 *               c_i = sqrt(H) |gamma_i| + |beta_i| + 1 bounds the last LayerNorm's output, so
 *               relu never clips
 * (hidden layers without norm and residual; dropout is inactive in eval mode.) Any other head or
 * pooling (mean, max, attention, cls_concat, deeper heads, norms, several heads) is exported as
 * the base model (architectures: BertModel, ...; loads with AutoModel) plus
 * emolab_head.safetensors holding the head's weights under emolab's names, described in
 * config.json's "emolab" section: transformers alone does not reproduce those logits.
 */
#ifndef EL_EXPORT_H
#define EL_EXPORT_H

#include "model.h"
#include "spec.h"
#include "labels.h"

#include <stdbool.h>

typedef struct {
    const char *model_dir;   /* source HF directory (NULL: the run's backbone.path / name) */
    const char *registry;    /* to resolve a run id (NULL: the default registry) */
    bool force;              /* write into a non-empty DIR */
} el_export_params;

el_export_params el_export_default_params(void);

/* A run's model: RUN is a run directory, a checkpoint file, or a run id, unique id prefix or
 * run name looked up in the registry (el_registry_resolve_run). Fills spec (from the checkpoint's config), the model with the
 * checkpoint's weights, labels and thresholds (EL_MAX_LABELS floats). Free spec with
 * el_run_spec_free. */
int el_run_model_load(const char *run, const el_export_params *p, el_spec *spec, el_model *m,
                      el_labelset *labels, float *thresholds, char **checkpoint_path);

/* Frees what el_run_model_load put in spec (only the model part is filled: name, owner,
 * backbone, head; resolved_json is the checkpoint's config text). */
void el_run_spec_free(el_spec *spec);

int el_export_hf(const char *run, const char *out_dir, const el_export_params *p);

#endif /* EL_EXPORT_H */
