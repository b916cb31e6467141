/* tokenize_impl.h: internals shared by the tokenize_*.c files (not a public API). */
#ifndef EL_TOKENIZE_IMPL_H
#define EL_TOKENIZE_IMPL_H

#include "tokenize.h"

#include <stdbool.h>
#include <stdint.h>

/* ---- UTF-8 ------------------------------------------------------------------------------- */
/* Decodes one code point of valid UTF-8 at s[0..n); returns its byte length (>= 1). Input must
 * have been validated (invalid bytes decode as U+FFFD, length 1). */
int tk_utf8_dec(const char *s, size_t n, int32_t *cp);
/* Appends the UTF-8 of cp to b. */
void tk_utf8_put(el_buf *b, int32_t cp);
int tk_utf8_len(int32_t cp);

/* ---- Unicode predicates as HF tokenizers 0.19 sees them (tokenize_unitab.c) ------------- */
bool tk_uni_is_other(int32_t cp);     /* Cc|Cf|Co of unicode_categories (BertNormalizer) */
bool tk_uni_is_mn(int32_t cp);        /* Mn of unicode_categories (accent stripping) */
bool tk_uni_is_mark(int32_t cp);      /* M* of HF's normalization tables (StripAccents) */
bool tk_uni_is_punct(int32_t cp);     /* P* of unicode_categories, or ASCII punctuation */
bool tk_uni_is_chinese(int32_t cp);   /* BertNormalizer's CJK ranges */
bool tk_uni_is_ws(int32_t cp);        /* Rust char::is_whitespace == regex \s */
bool tk_uni_re_letter(int32_t cp);    /* \p{L} of the regex engine */
bool tk_uni_re_number(int32_t cp);    /* \p{N} of the regex engine */
bool tk_uni_no_canon_decomp(int32_t cp);  /* no canonical decomposition in HF's tables */
bool tk_uni_no_compat_decomp(int32_t cp); /* no compatibility decomposition in HF's tables */
bool tk_uni_is_alnum(int32_t cp);     /* Rust char::is_alphanumeric */
int tk_uni_ccc(int32_t cp);           /* canonical combining class in HF's tables */

/* ---- string -> id map (open addressing; keys live in an arena) --------------------------- */
typedef struct {
    char *arena;
    int64_t arena_len, arena_cap;
    int64_t *key_off; /* [n] */
    int32_t *key_len; /* [n] */
    int32_t *val;     /* [n] */
    int32_t n;
    int64_t cap;      /* of key_off/key_len/val */
    int32_t *slots;   /* [nslots] entry index or -1 */
    uint32_t nslots;  /* power of two */
} tk_map;
void tk_map_init(tk_map *m, int32_t expected);
void tk_map_free(tk_map *m);
/* Inserts or overwrites; returns the entry index. */
int32_t tk_map_put(tk_map *m, const char *s, size_t n, int32_t val);
/* Returns the value, or -1. */
int32_t tk_map_get(const tk_map *m, const char *s, size_t n);
/* Looks up prefix+s without building the string. */
int32_t tk_map_get2(const tk_map *m, const char *p, size_t np, const char *s, size_t ns);

/* ---- normalizers ------------------------------------------------------------------------- */
typedef enum {
    TK_N_BERT = 1, TK_N_NFC, TK_N_NFD, TK_N_NFKC, TK_N_NFKD, TK_N_LOWER, TK_N_STRIP,
    TK_N_STRIP_ACCENTS, TK_N_REPLACE, TK_N_PRECOMPILED, TK_N_NMT, TK_N_PREPEND, TK_N_SEQ,
} tk_norm_type;

typedef struct tk_norm {
    tk_norm_type type;
    /* bert */
    bool clean_text, chinese, strip_accents, lowercase;
    /* strip */
    bool strip_left, strip_right;
    /* replace: literal pattern, or one atom with a repeat range {rmin, rmax} (rmax -1 = inf) */
    char *pat;
    int32_t pat_len;
    bool pat_regex;
    int32_t atom_cp;   /* the atom's code point, or -1 for \s */
    int32_t rmin, rmax;
    char *content;     /* replacement (replace) or prefix (prepend) */
    int32_t content_len;
    /* precompiled */
    uint8_t *blob;     /* the decoded charsmap */
    const uint32_t *trie; /* double array (points into blob) */
    uint32_t trie_units;
    const char *norm_strs; /* normalized strings (points into blob) */
    uint32_t norm_len;
    /* sequence */
    struct tk_norm *kids;
    int32_t n_kids;
} tk_norm;
int tk_norm_apply(const tk_norm *nm, const char *s, size_t n, el_buf *out);
void tk_norm_free(tk_norm *nm);
/* Decodes and checks a base64 precompiled_charsmap into nm (type set by the caller). */
int tk_precompiled_init(tk_norm *nm, const char *b64, size_t n);

/* ---- pre-tokenizers ---------------------------------------------------------------------- */
typedef enum {
    TK_P_BERT = 1, TK_P_BYTELEVEL, TK_P_METASPACE, TK_P_WSSPLIT, TK_P_SEQ,
} tk_pretok_type;

typedef enum { TK_PREPEND_ALWAYS = 0, TK_PREPEND_NEVER, TK_PREPEND_FIRST } tk_prepend;

typedef struct tk_pretok {
    tk_pretok_type type;
    bool add_prefix_space, use_regex; /* bytelevel */
    char rep[8];                      /* metaspace replacement (UTF-8) */
    int32_t rep_len;
    int32_t rep_cp;
    tk_prepend prepend;
    bool split;
    struct tk_pretok *kids;
    int32_t n_kids;
} tk_pretok;

/* A list of pieces: bytes in one buffer, each piece an (offset, length) plus a flag saying
 * whether it starts at the very beginning of the original text. */
typedef struct {
    el_buf text;
    int64_t *off;
    int32_t *len;
    bool *first;
    int32_t n;
    int64_t cap;
} tk_pieces;
void tk_pieces_clear(tk_pieces *p);
void tk_pieces_free(tk_pieces *p);
void tk_pieces_add(tk_pieces *p, const char *s, size_t n, bool first);
int tk_pretok_apply(const tk_pretok *pt, const tk_pieces *in, tk_pieces *out);
void tk_pretok_free(tk_pretok *pt);
/* GPT-2 byte -> unicode char map. */
int32_t tk_byte_char(uint8_t b);

/* ---- models ------------------------------------------------------------------------------ */
typedef struct {
    int32_t a, b;       /* left, right ids */
    int32_t rank, id;   /* merge rank, merged id */
} tk_merge;

typedef struct {
    el_tok_model kind;
    tk_map vocab;       /* model vocab */
    int32_t unk_id;     /* -1 if none */
    /* wordpiece */
    char *prefix;       /* continuing_subword_prefix (wordpiece, bpe) */
    int32_t prefix_len;
    int32_t max_chars;
    int32_t max_key_bytes; /* longest vocab key (bounds the WordPiece search) */
    /* bpe */
    char *suffix;       /* end_of_word_suffix */
    int32_t suffix_len;
    tk_merge *merges;   /* open-addressed table keyed by (a, b); a = -1 empty */
    uint32_t merge_slots;
    int32_t n_merges;
    bool fuse_unk, byte_fallback, ignore_merges;
    /* unigram */
    double *scores;     /* [vocab n] by id */
    int32_t n_pieces;
    double unk_score;
    int32_t max_piece_chars;
    int32_t byte_ids[256]; /* <0xXX> ids for byte fallback, -1 when absent */
} tk_model;

/* Appends the ids of one pre-token to ids. */
typedef struct {
    int32_t *v;
    int32_t n;
    int64_t cap;
} tk_ids;
void tk_ids_push(tk_ids *ids, int32_t id);
int tk_wordpiece(const tk_model *m, const char *s, size_t n, tk_ids *ids);
int tk_bpe(const tk_model *m, const char *s, size_t n, tk_ids *ids);
int tk_unigram(const tk_model *m, const char *s, size_t n, tk_ids *ids);
int32_t tk_merge_find(const tk_model *m, int32_t a, int32_t b, int32_t *rank);
void tk_model_free(tk_model *m);

/* ---- added tokens and post-processing ---------------------------------------------------- */
typedef struct {
    char *content;
    int32_t len;
    int32_t id;
    bool special, normalized, lstrip, rstrip, single_word;
    char *norm_content; /* content after the normalizer (normalized tokens) */
    int32_t norm_len;
} tk_added;

typedef struct {
    int32_t id;
    int32_t type_id;
} tk_special;

struct el_tokenizer {
    char *name;
    tk_model model;
    tk_norm *norm;      /* NULL: none */
    tk_pretok *pretok;  /* NULL: none */
    tk_added *added;
    int32_t n_added;
    tk_map added_map;   /* content -> index into added */
    bool added_first[2][256]; /* [normalized][byte]: some added token starts with this byte */
    /* post-processor for a single sequence: prefix specials, A, suffix specials */
    bool has_post;
    tk_special *pre_sp, *post_sp;
    int32_t n_pre, n_post;
    int32_t seq_type_id;
    int32_t vocab_size;
    int32_t pad_id, cls_id, sep_id, mask_id;
    int32_t max_len_hint;
    char **id_tok;      /* [vocab_size] token text (may be NULL) */
    int32_t *id_tok_len;
};

#endif /* EL_TOKENIZE_IMPL_H */
