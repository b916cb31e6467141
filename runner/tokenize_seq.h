/* tokenize_seq.h: token sequences for the cnn and rnn backbones, and length-bucketed batches.
 *
 * A text (lowercased when asked) becomes at most max_len tokens:
 *   - word: maximal runs of letters, digits and combining marks are words; every other
 *     non-space code point (punctuation, emoji, symbols) is a token of its own;
 *   - char: code points; a run of whitespace is one space token; leading and trailing
 *     whitespace is dropped.
 * Each token is a small bag of hashed ids in [0, buckets): the token itself plus its character
 * n-grams, n = char_min..char_max (char_min = 0: none):
 *   - word tokens: the n-grams of "<token>" (fastText's subword units);
 *   - char tokens: the n-grams ending at the token (n >= 2; n = 1 is the token itself).
 * The backbone embeds a token as the mean of its bag's vectors (embedding bag) so a sequence
 * is [tokens, dim]. Featurisation runs once per split; batches are slices (CSR of CSR).
 */
#ifndef EL_TOKENIZE_SEQ_H
#define EL_TOKENIZE_SEQ_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    bool chars;          /* char tokens (else word tokens) */
    int32_t char_min;    /* 0 = no n-grams */
    int32_t char_max;
    int64_t buckets;     /* > 0 */
    int32_t max_len;     /* > 0 */
    bool lowercase;
} el_seq_params;

el_seq_params el_seq_default_params(void);

typedef struct {
    int64_t n;           /* texts */
    int32_t *lengths;    /* n: tokens per text, <= max_len */
    int64_t *tok_off;    /* n + 1: the tokens of text i are tok_off[i] .. tok_off[i + 1] */
    int64_t *id_off;     /* tokens + 1: the ids of token t are ids[id_off[t] .. id_off[t + 1]) */
    int64_t *ids;
} el_seq_features;

int el_seq_featurize(const el_seq_params *p, char *const *texts, int64_t n, el_seq_features *out);
void el_seq_features_free(el_seq_features *f);

/* A batch of rows as embedding-bag inputs over a [B, T] grid, T = max(min_t, longest row):
 * bag b * T + t holds token t of row b (empty past the row's length, so it embeds to zero).
 * Fills ids/offsets (B * T bags), lengths (B) and mask (B * T, 1 = a real token); the arrays
 * grow as needed. Returns T. */
typedef struct {
    int64_t *ids, *offsets, *lengths;
    float *mask;
    int64_t ids_cap, offsets_cap, lengths_cap, mask_cap;
    int64_t n_ids;
} el_seq_batch;

int64_t el_seq_batch_fill(el_seq_batch *b, const el_seq_features *f, const int64_t *rows,
                          int32_t n_rows, int64_t min_t);
void el_seq_batch_free(el_seq_batch *b);

/* Evaluation batches are run in length-sorted chunks of this many rows (cnn, rnn). */
#define EL_SEQ_EVAL_CHUNK 64
/* order[0..n) = positions in rows[] sorted by the rows' lengths (stable). */
void el_seq_sort_rows(const el_seq_features *f, const int64_t *rows, int32_t n, int64_t *order);


#endif /* EL_TOKENIZE_SEQ_H */
