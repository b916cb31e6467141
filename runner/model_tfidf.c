/* model_tfidf.c: the linear baseline inside emolab. Sparse TF-IDF rows with scikit-learn's
 * TfidfVectorizer semantics (tokenize_tfidf.c: word n-grams + char_wb n-grams, min_df,
 * max_features per analyzer, sublinear tf, smooth idf, l2 norm per analyzer), vocabulary and
 * idf fitted on the first split prepared (train) and kept in the checkpoint.
 *
 *   out[b] = sum over the row's terms t of tfidf[b, t] * emb[t]        (embedding bag, sum mode,
 *                                                                      per-sample weights)
 * so `head.layers: []` makes the whole model a linear classifier over tf-idf (logistic
 * regression trained with the run's optimizer); any head works on top.
 *
 * The table [word_max_features + char_max_features, dim] starts at zero and gets sparse
 * gradients (like bow): rows of terms never seen stay zero and the checkpoint keeps only the
 * others. It is the weight matrix of a linear model, so train.weight_decay applies to it. With
 * Adam the rare n-grams overfit within two epochs; SGD (configs/tfidf.yaml) trains it like the
 * peer's logistic regression. With `freeze: all` there is no table: the row is projected to dim columns by signed
 * feature hashing of each term's key (fixed, deterministic), and the feature cache reuses it.
 *
 * Buffers (checkpoint): backbone.vocab i64 [terms] the term keys (word terms first), backbone.
 * vocab_size i64 [2] (word, char terms; 0, 0 = not fitted yet), backbone.idf f32 [terms].
 */
#include "model.h"
#include "tokenize_tfidf.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    el_tfidf_params fp;
    int32_t dim;
    bool frozen;
    double feature_dropout; /* training: each term of a row dropped with this probability */
    int64_t max_terms;     /* rows of the table and buffers */
    ts_tensor emb;         /* [max_terms, dim], NULL when frozen */
    ts_tensor vocab;       /* i64 [max_terms] */
    ts_tensor vocab_size;  /* i64 [2] */
    ts_tensor idf;         /* f32 [max_terms] */
    el_tfidf_vocab v;      /* lookup over the buffers (rebuilt at each prepare) */
    /* batch staging, reused */
    int64_t *ids, *offs;
    float *w, *out;
    int64_t ids_cap, offs_cap, w_cap, out_cap;
} tfidf_state;

static el_tfidf_params params_of(const el_backbone_spec *cfg) {
    el_tfidf_params p = el_tfidf_default_params();
    p.word_min = cfg->word_ngram_min;
    p.word_max = cfg->word_ngram_max;
    p.char_min = cfg->char_ngram_min;
    p.char_max = cfg->char_ngram_max;
    p.char_wb = !el_streq(cfg->char_analyzer, "char");
    p.lowercase = cfg->lowercase;
    p.min_df = cfg->min_df;
    p.max_df = cfg->max_df;
    p.word_max_features = cfg->word_ngram_min > 0 ? cfg->word_max_features : 0;
    p.char_max_features = cfg->char_ngram_min > 0 ? cfg->char_max_features : 0;
    p.sublinear_tf = cfg->sublinear_tf;
    p.use_idf = cfg->use_idf;
    p.smooth_idf = cfg->smooth_idf;
    p.norm = el_streq(cfg->norm, "none") ? EL_TFIDF_NORM_NONE
             : el_streq(cfg->norm, "l1") ? EL_TFIDF_NORM_L1
                                         : EL_TFIDF_NORM_L2;
    return p;
}

/* Fits on these texts when the buffers hold no vocabulary yet (the first split, or a loaded
 * checkpoint's), else rebuilds the lookup from the buffers. */
static int tfidf_vocab(tfidf_state *s, char *const *texts, int64_t n) {
    int64_t *size = ts_data_ptr(s->vocab_size);
    int64_t *keys = ts_data_ptr(s->vocab);
    float *idf = ts_data_ptr(s->idf);
    if (!size || !keys || !idf) return el_err("tfidf buffers: %s", ts_last_error());
    el_tfidf_vocab_free(&s->v);
    if (size[0] == 0 && size[1] == 0) {
        if (el_tfidf_fit(&s->fp, texts, n, &s->v) != 0) return EL_ERR;
        int64_t nt = s->v.n_word + s->v.n_char;
        if (nt > s->max_terms) /* max_features bound each analyzer: cannot happen */
            return el_err("tfidf: %lld terms fitted, the table has %lld rows", (long long)nt,
                          (long long)s->max_terms);
        memcpy(keys, s->v.hash, (size_t)nt * sizeof(int64_t));
        memcpy(idf, s->v.idf, (size_t)nt * sizeof(float));
        size[0] = s->v.n_word;
        size[1] = s->v.n_char;
        return EL_OK;
    }
    if (size[0] < 0 || size[1] < 0 || size[0] + size[1] > s->max_terms ||
        size[0] > s->fp.word_max_features || size[1] > s->fp.char_max_features)
        return el_err("tfidf: the stored vocabulary (%lld word, %lld char terms) does not fit "
                      "this spec's word_max_features %lld / char_max_features %lld",
                      (long long)size[0], (long long)size[1], (long long)s->fp.word_max_features,
                      (long long)s->fp.char_max_features);
    return el_tfidf_vocab_from(&s->v, size[0], size[1], keys, idf);
}

static void *tfidf_prepare(el_backbone *bb, char *const *texts, int64_t n) {
    tfidf_state *s = bb->state;
    if (tfidf_vocab(s, texts, n) != 0) return NULL;
    el_tfidf_rows *r = xcalloc(1, sizeof *r);
    if (el_tfidf_transform(&s->fp, &s->v, texts, n, r) != 0) {
        free(r);
        return NULL;
    }
    return r;
}

static void tfidf_free_inputs(void *inputs) {
    if (!inputs) return;
    el_tfidf_rows_free(inputs);
    free(inputs);
}

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* freeze all: out[b, col(t)] += sign(t) * tfidf[b, t], col and sign from the term's key */
static ts_tensor tfidf_forward_hashed(tfidf_state *s, const el_tfidf_rows *r, const int64_t *rows,
                                      int32_t n_rows) {
    int64_t need = (int64_t)n_rows * s->dim;
    el_grow(s->out, &s->out_cap, need + 1);
    memset(s->out, 0, (size_t)need * sizeof(float));
    for (int32_t i = 0; i < n_rows; i++) {
        float *o = s->out + (int64_t)i * s->dim;
        for (int64_t j = r->offsets[rows[i]]; j < r->offsets[rows[i] + 1]; j++) {
            uint64_t h = mix64(s->v.hash[r->ids[j]]);
            o[h % (uint64_t)s->dim] += (h >> 63) ? -r->values[j] : r->values[j];
        }
    }
    int64_t shape[2] = {n_rows, s->dim};
    return ts_from_data(s->out, TS_F32, shape, 2);
}

static ts_tensor tfidf_forward(el_backbone *bb, const void *inputs, const int64_t *rows,
                               int32_t n_rows, bool training) {
    (void)training;
    tfidf_state *s = bb->state;
    const el_tfidf_rows *r = inputs;
    if (s->frozen) return tfidf_forward_hashed(s, r, rows, n_rows);
    int64_t total = 0;
    for (int32_t i = 0; i < n_rows; i++) total += r->offsets[rows[i] + 1] - r->offsets[rows[i]];
    el_grow(s->ids, &s->ids_cap, total + 1);
    el_grow(s->w, &s->w_cap, total + 1);
    el_grow(s->offs, &s->offs_cap, n_rows + 1);
    int64_t at = 0;
    for (int32_t i = 0; i < n_rows; i++) {
        int64_t b = r->offsets[rows[i]], e = r->offsets[rows[i] + 1];
        s->offs[i] = at;
        memcpy(s->ids + at, r->ids + b, (size_t)(e - b) * sizeof(int64_t));
        memcpy(s->w + at, r->values + b, (size_t)(e - b) * sizeof(float));
        at += e - b;
    }
    int64_t shape_ids[1] = {total}, shape_offs[1] = {n_rows};
    ts_tensor ids = ts_from_data(s->ids, TS_I64, shape_ids, 1);
    ts_tensor offs = ts_from_data(s->offs, TS_I64, shape_offs, 1);
    ts_tensor psw = ts_from_data(s->w, TS_F32, shape_ids, 1);
    ts_tensor dropped = NULL;
    if (psw && training && s->feature_dropout > 0 && total > 0) {
        /* each term of a training row kept with probability 1 - p, scaled by 1 / (1 - p)
         * (the seeded libtorch generator: runs stay reproducible) */
        ts_tensor u = ts_rand(shape_ids, 1);
        ts_tensor keep = u ? ts_gt_scalar(u, s->feature_dropout) : NULL;
        ts_tensor kf = keep ? ts_to_dtype(keep, TS_F32) : NULL;
        ts_tensor ks = kf ? ts_mul_scalar(kf, 1.0 / (1.0 - s->feature_dropout)) : NULL;
        dropped = ks ? ts_mul(psw, ks) : NULL;
        ts_free(u);
        ts_free(keep);
        ts_free(kf);
        ts_free(ks);
        if (!dropped) psw = NULL;
    }
    ts_tensor out = ids && offs && psw
                        ? ts_embedding_bag(s->emb, ids, offs, TS_BAG_SUM, 1, dropped ? dropped : psw)
                        : NULL;
    ts_free(ids);
    ts_free(offs);
    ts_free(psw);
    ts_free(dropped);
    return out;
}

/* Bump when the featurizer's output changes for the same spec and texts (cached features of
 * the old code must not be served). */
#define TFIDF_FEATURES_VERSION "tfidf-features-1"

static el_features_kind tfidf_frozen(const el_backbone *bb, char *identity, size_t cap) {
    const tfidf_state *s = bb->state;
    snprintf(identity, cap, "%s", TFIDF_FEATURES_VERSION);
    return s->frozen ? EL_FEATURES_FITTED : EL_FEATURES_TRAINED;
}

static void tfidf_free(el_backbone *bb) {
    tfidf_state *s = bb->state;
    if (s) {
        el_tfidf_vocab_free(&s->v);
        free(s->ids);
        free(s->offs);
        free(s->w);
        free(s->out);
        free(s);
    }
    free(bb);
}

static const el_backbone_ops TFIDF_OPS = {
    .type = "tfidf",
    .prepare = tfidf_prepare,
    .free_inputs = tfidf_free_inputs,
    .forward = tfidf_forward,
    .free = tfidf_free,
    .frozen = tfidf_frozen,
};

static ts_tensor add_buffer(el_params *ps, const char *name, int64_t n, ts_dtype dt) {
    int64_t shape[1] = {n};
    return el_params_add(ps, name, ts_zeros(shape, 1, dt), EL_GROUP_BACKBONE, false, false);
}

el_backbone *el_tfidf_build(const el_backbone_spec *cfg, el_params *ps) {
    el_backbone *bb = xcalloc(1, sizeof *bb);
    tfidf_state *s = xcalloc(1, sizeof *s);
    bb->ops = &TFIDF_OPS;
    bb->cfg = *cfg;
    bb->state = s;
    bb->out_dim = cfg->dim;
    s->fp = params_of(cfg);
    s->dim = cfg->dim;
    s->frozen = el_streq(cfg->freeze, "all");
    s->feature_dropout = cfg->feature_dropout;
    s->max_terms = s->fp.word_max_features + s->fp.char_max_features;
    if (s->fp.word_min <= 0 && s->fp.char_min <= 0) {
        el_err("backbone.word_ngrams, backbone.char_ngrams: both [0, 0] leave no features");
        tfidf_free(bb);
        return NULL;
    }
    s->vocab = add_buffer(ps, "backbone.vocab", s->max_terms, TS_I64);
    s->vocab_size = add_buffer(ps, "backbone.vocab_size", 2, TS_I64);
    s->idf = add_buffer(ps, "backbone.idf", s->max_terms, TS_F32);
    if (!s->vocab || !s->vocab_size || !s->idf) {
        el_err("backbone tfidf: cannot allocate the vocabulary buffers: %s", ts_last_error());
        tfidf_free(bb);
        return NULL;
    }
    if (s->frozen) return bb;
    int64_t shape[2] = {s->max_terms, cfg->dim};
    ts_tensor emb = ts_zeros(shape, 2, TS_F32);
    if (!emb) {
        el_err("backbone tfidf: cannot allocate the %lld x %d table (%.0f MiB): lower "
               "backbone.dim or the max_features: %s",
               (long long)s->max_terms, cfg->dim,
               (double)s->max_terms * cfg->dim * 4.0 / 1048576.0, ts_last_error());
        tfidf_free(bb);
        return NULL;
    }
    /* the weights of a linear model over tf-idf: weight decay applies (L2 with sgd) */
    s->emb = el_params_add(ps, "backbone.emb", emb, EL_GROUP_BACKBONE, true, true);
    el_param *p = el_params_find(ps, "backbone.emb");
    p->sparse_grad = true;
    p->save_sparse = true;
    return bb;
}
