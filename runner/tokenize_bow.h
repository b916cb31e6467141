/* tokenize_bow.h: fastText-style hashed n-gram features for the bow backbone.
 *
 * A text is lowercased (Unicode, optional) and split into tokens: maximal runs of letters,
 * digits and combining marks are words; every other non-space code point (punctuation, emoji,
 * symbols) is a token of its own, so "!!!" and ":(" still carry signal. Features, each hashed
 * into [0, buckets):
 *   - word n-grams for n = 1..word_ngrams over the token sequence;
 *   - character n-grams (by code point) of each word wrapped in boundary marks "<word>", for
 *     n = char_min..char_max (char_min = 0 disables them).
 * Different feature kinds hash with different seeds. Featurisation runs once at load; a batch
 * is then slices of the flat id array (CSR layout).
 */
#ifndef EL_TOKENIZE_BOW_H
#define EL_TOKENIZE_BOW_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int32_t word_ngrams;  /* 0..5 */
    int32_t char_min;     /* 0 = no char n-grams */
    int32_t char_max;
    int64_t buckets;      /* > 0 */
    bool lowercase;
} el_bow_params;

el_bow_params el_bow_default_params(void);

typedef struct {
    int64_t n;        /* texts */
    int64_t *offsets; /* n + 1: features of text i are ids[offsets[i] .. offsets[i+1]) */
    int64_t *ids;     /* offsets[n] feature ids in [0, buckets) */
} el_bow_features;

/* Featurises n texts (uses all cores for large inputs; the result does not depend on it). */
int el_bow_featurize(const el_bow_params *p, char *const *texts, int64_t n, el_bow_features *out);
/* Features of one text appended to a caller buffer; returns the count or -1. */
int64_t el_bow_featurize_one(const el_bow_params *p, const char *text, int64_t **ids,
                             int64_t *cap);
void el_bow_features_free(el_bow_features *f);

/* Code point classes shared by the hashed tokenizers (bow, and tokenize_seq.c's cnn/rnn tokens):
 * word characters (letters, marks, digits), whitespace and control, everything else
 * (punctuation, symbols). */
typedef enum { EL_CP_SPACE, EL_CP_WORD, EL_CP_OTHER } el_cp_class;
el_cp_class el_cp_classify(int32_t cp);

/* UTF-8 of cps[0..n) into *buf (grown as needed, NUL-terminated), the byte offset of code point i
 * into (*off)[i] and the length into (*off)[n] (shared by tokenize_seq.c and tokenize_tfidf.c). */
void el_utf8_encode_offsets(const int32_t *cps, int64_t n, char **buf, int64_t *buf_cap,
                            int64_t **off, int64_t *off_cap);

#endif /* EL_TOKENIZE_BOW_H */
