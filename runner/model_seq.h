/* model_seq.h: what the sequence backbones (cnn, rnn, transformer) share: featurizing texts into hashed
 * token sequences (tokenize_seq.h), token embeddings of a batch, and evaluation in
 * length-sorted chunks.
 *
 * Contract: a sequence backbone's state struct starts with its el_seq_params (first member), so
 * that el_seq_prepare can find them; its ops use el_seq_prepare / el_seq_free_inputs /
 * el_seq_lengths as they are, and its forward calls el_seq_forward with its own batch forward.
 */
#ifndef EL_MODEL_SEQ_H
#define EL_MODEL_SEQ_H

#include "model.h"
#include "tokenize_seq.h"

/* tokens, char n-grams, buckets, max_len, lowercase of a backbone spec */
el_seq_params el_seq_params_from_spec(const el_backbone_spec *cfg);

void *el_seq_prepare(el_backbone *bb, char *const *texts, int64_t n);
void el_seq_free_inputs(void *inputs);
const int32_t *el_seq_lengths(const void *inputs);

/* [B, T, dim] token embeddings of a filled batch: each token the mean of its bag of rows of emb
 * (padding = empty bags = zeros) */
ts_tensor el_seq_embed_tokens(ts_tensor emb, const el_seq_batch *b, int64_t B, int64_t T, int64_t dim);

typedef ts_tensor (*el_seq_batch_forward)(el_backbone *bb, const void *inputs, const int64_t *rows,
                                          int32_t n_rows, bool training);

/* forward over many rows: in training (or for at most EL_SEQ_EVAL_CHUNK rows) one call of fwd;
 * in evaluation length-sorted chunks of EL_SEQ_EVAL_CHUNK rows (little padding), the outputs put
 * back in the rows' order */
ts_tensor el_seq_forward(el_backbone *bb, const void *inputs, const int64_t *rows, int32_t n_rows,
                         bool training, el_seq_batch_forward fwd);

#endif /* EL_MODEL_SEQ_H */
