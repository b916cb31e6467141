/* tokenize.h: Hugging Face tokenizers in C, loaded from a tokenizer.json, giving the same ids as
 * the `tokenizers` library (0.19 semantics).
 *
 * Supported (anything else is refused at load time with the file and the JSON key path):
 *   models          WordPiece, BPE (incl. byte-level, byte_fallback, continuing prefix/suffix),
 *                   Unigram (Viterbi over the piece scores, fused unk, byte_fallback)
 *   normalizers     BertNormalizer, Precompiled (sentencepiece charsmap), NFC, NFD, NFKC, NFKD,
 *                   Lowercase, Strip, StripAccents, Nmt, Replace (string, or a one-atom regex
 *                   such as " {2,}"), Prepend, Sequence
 *   pre-tokenizers  BertPreTokenizer, ByteLevel (GPT-2 regex), Metaspace, WhitespaceSplit,
 *                   Sequence
 *   post-processors BertProcessing, RobertaProcessing, TemplateProcessing (single sequence),
 *                   ByteLevel (no effect on ids), Sequence
 *   added tokens    matched before normalisation (normalized=false) or after it (normalized=true),
 *                   leftmost-longest, with lstrip/rstrip/single_word
 * Truncation is longest-first on one sequence, right side, keeping room for the special tokens.
 * The truncation/padding sections of tokenizer.json are recorded (max_len hint, pad id) but not
 * applied: callers say max_len per call; batches are padded to their longest row.
 *
 * Typical use:
 *     el_tokenizer *tok = el_tokenizer_load("model_dir");   // or .../tokenizer.json
 *     el_encoding enc = {0};
 *     if (el_tokenize(tok, text, strlen(text), &enc, 128) != 0) fail(el_last_error());
 *     ... enc.ids[0 .. enc.len) ...
 *     el_encoding_free(&enc);
 *     el_tokenizer_free(tok);
 * A loaded tokenizer is immutable: el_tokenize may be called from several threads at once. */
#ifndef EL_TOKENIZE_H
#define EL_TOKENIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

typedef struct el_tokenizer el_tokenizer;

typedef enum {
    EL_TOK_WORDPIECE = 1,
    EL_TOK_BPE = 2,
    EL_TOK_UNIGRAM = 3,
} el_tok_model;

/* One encoded text. Zero-initialise it once; el_tokenize reuses its arrays. */
typedef struct {
    int32_t *ids;            /* [len] token ids, special tokens included */
    int32_t *type_ids;       /* [len] token type ids (segment ids) */
    int32_t *attention_mask; /* [len] all 1 for a single encoding */
    int32_t len;
    int32_t cap;
    int32_t n_truncated;     /* tokens dropped by truncation (0 when none) */
} el_encoding;
void el_encoding_free(el_encoding *e);

/* Loads PATH: a tokenizer.json file, or a directory that holds one (or, failing that, a BERT
 * vocab.txt + tokenizer_config.json, converted as transformers' BertTokenizerFast does).
 * NULL + el_err on failure. */
el_tokenizer *el_tokenizer_load(const char *path);
/* A BERT WordPiece tokenizer from vocab.txt and (optional, may be NULL) tokenizer_config.json:
 * do_lower_case, strip_accents, tokenize_chinese_chars, the special tokens, model_max_length. */
el_tokenizer *el_tokenizer_load_bert_vocab(const char *vocab_path, const char *config_path);
/* Parses a tokenizer.json held in memory (need not be NUL-terminated). NAME is used in error
 * messages ("NAME: model.vocab: ..."); NULL means "tokenizer.json". */
el_tokenizer *el_tokenizer_from_json(const char *buf, size_t len, const char *name);
void el_tokenizer_free(el_tokenizer *tok);

/* Encodes TEXT[0..len) (UTF-8; invalid UTF-8 is an error) with the special tokens of the
 * post-processor. max_len > 0 truncates to at most max_len tokens, specials included; max_len
 * <= 0 does not truncate. Returns 0, or EL_ERR with el_last_error() set. */
int el_tokenize(const el_tokenizer *tok, const char *text, size_t len, el_encoding *out,
                int32_t max_len);
/* Same, without the post-processor's special tokens (HF add_special_tokens=False). */
int el_tokenize_ex(const el_tokenizer *tok, const char *text, size_t len, el_encoding *out,
                   int32_t max_len, bool add_special_tokens);

/* ---- facts about the tokenizer ----------------------------------------------------------- */
el_tok_model el_tokenizer_model(const el_tokenizer *tok);
const char *el_tokenizer_model_name(const el_tokenizer *tok); /* "WordPiece", "BPE", "Unigram" */
int32_t el_tokenizer_vocab_size(const el_tokenizer *tok);     /* max id + 1, added tokens included */
/* Special ids, -1 when the tokenizer has none. pad: padding.pad_id of the file, else [PAD]/<pad>.
 * cls/sep: from the post-processor ([CLS]/<s> and [SEP]/</s>); unk: the model's unknown token. */
int32_t el_tokenizer_pad_id(const el_tokenizer *tok);
int32_t el_tokenizer_cls_id(const el_tokenizer *tok);
int32_t el_tokenizer_sep_id(const el_tokenizer *tok);
int32_t el_tokenizer_unk_id(const el_tokenizer *tok);
int32_t el_tokenizer_mask_id(const el_tokenizer *tok);
/* Number of special tokens the post-processor adds to one sequence ([CLS] A [SEP] -> 2). */
int32_t el_tokenizer_num_special(const el_tokenizer *tok);
/* truncation.max_length of the file (a sensible default max_len), or 0 when absent. */
int32_t el_tokenizer_max_len_hint(const el_tokenizer *tok);
/* Token <-> id (added tokens included). token_to_id returns -1 when absent; id_to_token returns
 * NULL for an unknown id and sets *n to the byte length otherwise. */
int32_t el_tokenizer_token_to_id(const el_tokenizer *tok, const char *token, size_t n);
const char *el_tokenizer_id_to_token(const el_tokenizer *tok, int32_t id, size_t *n);

/* Debug/test hooks: the normalizer alone, and the pre-tokenizer (after the normalizer) alone.
 * normalize appends the normalized text to out. pre_tokenize appends the pieces to out one
 * after the other, sets *piece_lens to a malloc'd array of their byte lengths (caller frees)
 * and returns their count (or EL_ERR). Added tokens are not extracted. */
int el_tokenizer_normalize(const el_tokenizer *tok, const char *text, size_t len, el_buf *out);
int el_tokenizer_pre_tokenize(const el_tokenizer *tok, const char *text, size_t len, el_buf *out,
                              int32_t **piece_lens);

/* ---- batches ----------------------------------------------------------------------------- */
/* A padded batch, row-major [n_rows x seq_len]. Padding on the right with the pad id (0 when the
 * tokenizer has none), type id 0 and mask 0. Zero-initialise once; arrays are reused. */
typedef struct {
    int32_t *ids;
    int32_t *attention_mask;
    int32_t *type_ids;
    int32_t *lengths; /* [n_rows] real lengths */
    int32_t n_rows;
    int32_t seq_len;  /* longest row of this batch (dynamic padding) */
    int64_t cap;
    int32_t rows_cap;
} el_batch;
void el_batch_free(el_batch *b);

/* Tokenizes texts[i][0..lens[i]) (lens NULL: NUL-terminated) for i in [0, n) into B, padded
 * to the longest row. Fails (EL_ERR, message names the row) if any text fails. */
int el_tokenize_batch(const el_tokenizer *tok, const char *const *texts, const size_t *lens,
                      int32_t n, int32_t max_len, el_batch *b);

/* Length-bucketed batching: a deterministic plan of batches over n examples of the given
 * lengths. The examples are shuffled with SEED, cut into buckets of bucket_batches*batch_size
 * examples, sorted by length within each bucket (ties by index), cut into batches, and the
 * batch order is shuffled with SEED. order[] holds a permutation of [0, n); batch k is
 * order[offsets[k] .. offsets[k+1]). shuffle=false keeps the input order (no shuffles) and only
 * sorts within buckets. */
typedef struct {
    int32_t batch_size;     /* > 0 */
    int32_t bucket_batches; /* batches per bucket, >= 1 (e.g. 50); 1 = sort within each batch */
    uint64_t seed;
    bool shuffle;
} el_bucket_params;
el_bucket_params el_bucket_default_params(void);
typedef struct {
    int32_t *order;   /* [n] */
    int32_t *offsets; /* [n_batches + 1] */
    int32_t n;
    int32_t n_batches;
} el_batch_plan;
int el_bucket_plan(const int32_t *lengths, int32_t n, el_bucket_params p, el_batch_plan *out);
void el_batch_plan_free(el_batch_plan *p);

#endif /* EL_TOKENIZE_H */
