/* tokenize_tfidf.h: TF-IDF features with scikit-learn's TfidfVectorizer semantics, for the
 * tfidf backbone (model_tfidf.c). Two analyzers side by side, each like one TfidfVectorizer
 * (the peer hstacks two): word n-grams and character n-grams.
 *
 * Per text (as scikit-learn 1.2 does it):
 *   - lowercase (per code point, Unicode simple case mapping) when asked;
 *   - word: tokens are maximal runs of "word" code points (letters, digits/numbers, '_': what
 *     Python's \w matches) of length >= 2 (token_pattern \b\w\w+\b); n-grams of consecutive
 *     tokens joined by one space, n = word_min..word_max;
 *   - char_wb: for each whitespace-separated word w (Python's str.split()), the n-grams of
 *     " w " for n = char_min..char_max; a padded word of length <= n gives itself once and
 *     ends the loop over n (scikit-learn's "count a short word only once");
 *   - char: runs of two or more whitespace code points become one space, then every n-gram of
 *     the whole text, n = char_min..min(char_max, length).
 * Fit (train texts only): document frequency df and total count per term; terms with
 * min_df <= df <= max_df * n_texts are kept; if more than max_features remain, the most
 * frequent (total count; ties: the smaller term in code-point order) are kept. A term's id is
 * its rank in code-point order within its analyzer; word ids come first, then char ids.
 * Values: tf = count (1 + ln(count) with sublinear_tf) times idf = ln((1 + n) / (1 + df)) + 1
 * (smooth_idf) or ln(n / df) + 1 (1 without use_idf), then each analyzer's part of the row is
 * normalised (l2, l1 or none) on its own. Computed in double, stored as float.
 *
 * Terms are identified by a 64-bit hash of their UTF-8 bytes (seeded per analyzer); the fitted
 * vocabulary is the list of those hashes plus idf, which is what a checkpoint keeps. Two
 * different terms colliding in 64 bits (odds ~1e-8 for a million terms) would be merged.
 * Known differences from Python: full case mappings that change length (U+0130 'İ') lowercase
 * by the simple mapping; the Unicode tables are utf8proc's.
 */
#ifndef EL_TOKENIZE_TFIDF_H
#define EL_TOKENIZE_TFIDF_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { EL_TFIDF_NORM_NONE = 0, EL_TFIDF_NORM_L1 = 1, EL_TFIDF_NORM_L2 = 2 } el_tfidf_norm;

typedef struct {
    int32_t word_min, word_max;  /* word n-grams; 0, 0 = no word analyzer */
    int32_t char_min, char_max;  /* char n-grams; 0, 0 = no char analyzer */
    bool char_wb;                /* char_wb (true) or char (false) */
    bool lowercase;
    int32_t min_df;              /* >= 1 */
    double max_df;               /* (0, 1] fraction of texts */
    int64_t word_max_features, char_max_features; /* >= 1 */
    bool sublinear_tf, use_idf, smooth_idf;
    el_tfidf_norm norm;
} el_tfidf_params;

el_tfidf_params el_tfidf_default_params(void); /* the peer's: word 1-2, char_wb 2-5, min_df 2 */

typedef struct {
    int64_t n_word, n_char; /* terms per analyzer; ids [0, n_word) words, then chars */
    uint64_t *hash;         /* per id: the term's 64-bit key */
    float *idf;             /* per id */
    char **terms;           /* per id: the term (only when fitted in this process; else NULL) */
    int64_t *slots;         /* lookup: open addressing over hash, -1 = empty */
    int64_t n_slots;
} el_tfidf_vocab;

typedef struct {
    int64_t n;        /* texts */
    int64_t *offsets; /* n + 1 */
    int64_t *ids;     /* term ids, ascending within a row */
    float *values;    /* tf-idf values */
} el_tfidf_rows;

/* Fits the vocabulary and idf on n texts. Errors name the spec keys to change. */
int el_tfidf_fit(const el_tfidf_params *p, char *const *texts, int64_t n, el_tfidf_vocab *v);
/* A vocabulary from stored hashes and idf (a checkpoint): copies them, builds the lookup. */
int el_tfidf_vocab_from(el_tfidf_vocab *v, int64_t n_word, int64_t n_char, const int64_t *hash,
                        const float *idf);
/* Tf-idf rows of n texts against a fitted vocabulary (terms not in it are ignored). */
int el_tfidf_transform(const el_tfidf_params *p, const el_tfidf_vocab *v, char *const *texts,
                       int64_t n, el_tfidf_rows *out);
void el_tfidf_vocab_free(el_tfidf_vocab *v);
void el_tfidf_rows_free(el_tfidf_rows *r);

/* The 64-bit key of a term of an analyzer (0 word, 1 char) as the vocabulary stores it. */
uint64_t el_tfidf_term_hash(int analyzer, const char *term, int64_t len);

#endif /* EL_TOKENIZE_TFIDF_H */
