/* tiny_model.h: a valid tiny BERT model directory written by C tests (config.json,
 * model.safetensors with deterministic values, a hand-written WordPiece tokenizer.json), with
 * mutations for the bad-input tests. Include once per test program; set g_root first. */
#ifndef EL_TINY_MODEL_H
#define EL_TINY_MODEL_H

#include "model_hf.h"
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char g_root[256];

static const char *CONFIG_OK =
    "{\"model_type\": \"bert\", \"vocab_size\": 12, \"hidden_size\": 8, \"num_hidden_layers\": 1,"
    " \"num_attention_heads\": 2, \"intermediate_size\": 16, \"max_position_embeddings\": 16,"
    " \"type_vocab_size\": 2, \"hidden_act\": \"gelu\", \"layer_norm_eps\": 1e-12,"
    " \"pad_token_id\": 0}";

static const char *TOKENIZER_OK =
    "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": ["
    "{\"id\": 0, \"content\": \"[PAD]\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},"
    "{\"id\": 1, \"content\": \"[UNK]\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},"
    "{\"id\": 2, \"content\": \"[CLS]\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},"
    "{\"id\": 3, \"content\": \"[SEP]\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}],"
    " \"normalizer\": {\"type\": \"BertNormalizer\", \"clean_text\": true, \"handle_chinese_chars\": true, \"strip_accents\": null, \"lowercase\": true},"
    " \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"},"
    " \"post_processor\": {\"type\": \"BertProcessing\", \"sep\": [\"[SEP]\", 3], \"cls\": [\"[CLS]\", 2]},"
    " \"decoder\": null,"
    " \"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"continuing_subword_prefix\": \"##\", \"max_input_chars_per_word\": 100,"
    " \"vocab\": {\"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3, \"a\": 4, \"b\": 5, \"##a\": 6, \"##b\": 7, \"ab\": 8, \"я\": 9, \"!\": 10, \"%s\": %d}}}";

static inline void write_text(const char *dir, const char *name, const char *text) {
    char *p = el_path_join(dir, name);
    FILE *f = fopen(p, "wb");
    fwrite(text, 1, strlen(text), f);
    fclose(f);
    free(p);
}

static inline void write_bytes(const char *path, const void *d, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(d, 1, n, f);
    fclose(f);
}

static inline char *fresh_dir(const char *name) {
    char *d = el_path_join(g_root, name);
    el_mkdirs(d, 0755);
    return d;
}

/* Weight mutations for write_weights. */
typedef struct {
    const char *skip;        /* leave this tensor out */
    const char *reshape;     /* give this tensor the shape [rows, cols] */
    int64_t rows, cols;
    const char *as_i64;      /* store this tensor as I64 */
    const char *prefix;      /* prepend to every name */
    bool with_pooler;        /* add BERT's pooler.dense weights */
} mutation;

/* model.safetensors for CONFIG_OK's shapes (values: a deterministic ramp). */
static inline void write_weights(const char *dir, const char *file, mutation mu) {
    el_encoder_config c = el_encoder_default_config();
    c.vocab_size = 12, c.hidden = 8, c.n_layers = 1, c.n_heads = 2, c.intermediate = 16;
    c.max_positions = 16, c.type_vocab_size = 2;
    el_params ps = {0};
    el_encoder e;
    if (el_encoder_build(&e, &c, "", &ps) != 0) {
        fprintf(stderr, "%s\n", el_last_error());
        exit(1);
    }
    el_st_entry *en = calloc((size_t)e.n_tensors, sizeof *en);
    void **bufs = calloc((size_t)e.n_tensors, sizeof(void *));
    char **names = calloc((size_t)e.n_tensors, sizeof(char *));
    int64_t (*shapes)[2] = calloc((size_t)e.n_tensors, sizeof *shapes);
    int32_t n = 0;
    for (int32_t i = 0; i < e.n_tensors; i++) {
        el_encoder_tensor *t = &e.tensors[i];
        if (mu.skip && !strcmp(t->name, mu.skip)) continue;
        shapes[n][0] = t->shape[0];
        shapes[n][1] = t->shape[1];
        int32_t nd = t->ndim;
        if (mu.reshape && !strcmp(t->name, mu.reshape)) {
            shapes[n][0] = mu.rows;
            shapes[n][1] = mu.cols;
            nd = mu.cols > 0 ? 2 : 1;
        }
        int64_t numel = shapes[n][0] * (nd == 2 ? shapes[n][1] : 1);
        bool i64 = mu.as_i64 && !strcmp(t->name, mu.as_i64);
        size_t es = i64 ? 8 : 4;
        bufs[n] = calloc((size_t)numel + 1, es);
        for (int64_t k = 0; k < numel; k++) {
            if (i64) ((int64_t *)bufs[n])[k] = k;
            else ((float *)bufs[n])[k] = 0.01f * (float)((k * 7 + i) % 23) - 0.1f;
        }
        names[n] = el_printf("%s%s", mu.prefix ? mu.prefix : "", t->name);
        en[n] = (el_st_entry){names[n], i64 ? EL_ST_I64 : EL_ST_F32, nd, shapes[n], bufs[n],
                              (size_t)numel * es};
        n++;
    }
    float pw[64 + 8];
    int64_t pws[2] = {8, 8}, pbs[1] = {8};
    char *pn[2] = {el_printf("%spooler.dense.weight", mu.prefix ? mu.prefix : ""),
                   el_printf("%spooler.dense.bias", mu.prefix ? mu.prefix : "")};
    el_st_entry *all = calloc((size_t)n + 2, sizeof *all);
    memcpy(all, en, (size_t)n * sizeof *en);
    int32_t na = n;
    if (mu.with_pooler) {
        for (int i = 0; i < 72; i++) pw[i] = 0.05f * (float)((i * 5) % 11) - 0.2f;
        all[na++] = (el_st_entry){pn[0], EL_ST_F32, 2, pws, pw, 64 * sizeof(float)};
        all[na++] = (el_st_entry){pn[1], EL_ST_F32, 1, pbs, pw + 64, 8 * sizeof(float)};
    }
    char *path = el_path_join(dir, file);
    if (el_st_write(path, all, na, NULL, NULL, 0) != 0) {
        fprintf(stderr, "%s\n", el_last_error());
        exit(1);
    }
    free(path);
    free(all);
    free(pn[0]);
    free(pn[1]);
    for (int32_t i = 0; i < n; i++) {
        free(bufs[i]);
        free(names[i]);
    }
    free(bufs);
    free(names);
    free(shapes);
    free(en);
    el_encoder_free(&e);
    el_params_free(&ps);
}

static inline void write_tokenizer(const char *dir, int32_t extra_id) {
    char *t = el_printf(TOKENIZER_OK, "zz", extra_id);
    write_text(dir, "tokenizer.json", t);
    free(t);
}

static inline char *model_dir(const char *name, const char *config, mutation mu) {
    char *d = fresh_dir(name);
    write_text(d, "config.json", config ? config : CONFIG_OK);
    write_weights(d, "model.safetensors", mu);
    write_tokenizer(d, 11);
    return d;
}

#endif
