/* model_bow.c: fastText-style backbone: hashed word and character n-grams (tokenize_bow.c)
 * pooled by an embedding bag over a [buckets, dim] table trained from scratch.
 *
 * The table starts at zero and receives sparse gradients; the optimizer updates only touched
 * rows (lazy AdamW), so a step costs O(features in the batch), not O(table). Zero init also
 * means rows never seen in training stay exactly zero, so the checkpoint stores only non-zero
 * rows and still reproduces the model exactly.
 */
#include "model.h"
#include "tokenize_bow.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    el_bow_params fp;
    ts_tensor emb;   /* [buckets, dim] */
    ts_tensor idf;   /* [buckets] inverse document frequency (pooling idf), 0 = unseen */
    int pooling;     /* 0 mean, 1 sum, 2 sqrt (sum / sqrt(n)), 3 idf-weighted mean */
    /* batch staging, reused */
    int64_t *ids, *offs;
    float *weights;
    int64_t ids_cap, offs_cap, w_cap;
} bow_state;

/* idf = ln((1 + n) / (1 + df)) + 1 over the texts of the first split prepared (train), as
 * scikit-learn's smooth idf; buckets no training text has get 0 and so do not dilute the mean.
 * A loaded checkpoint brings its table, which is then kept. */
static void bow_fit_idf(bow_state *s, const el_bow_features *f) {
    float *idf = ts_data_ptr(s->idf);
    int64_t nb = s->fp.buckets;
    for (int64_t b = 0; b < nb; b++)
        if (idf[b] != 0.0f) return; /* already fitted or loaded */
    int32_t *df = xcalloc((size_t)nb, sizeof(int32_t));
    int64_t *last = xmalloc((size_t)nb * sizeof(int64_t));
    for (int64_t b = 0; b < nb; b++) last[b] = -1;
    for (int64_t i = 0; i < f->n; i++)
        for (int64_t j = f->offsets[i]; j < f->offsets[i + 1]; j++)
            if (last[f->ids[j]] != i) {
                last[f->ids[j]] = i;
                df[f->ids[j]]++;
            }
    for (int64_t b = 0; b < nb; b++)
        idf[b] = df[b] ? (float)(log((1.0 + (double)f->n) / (1.0 + df[b])) + 1.0) : 0.0f;
    free(df);
    free(last);
}

static void *bow_prepare(el_backbone *bb, char *const *texts, int64_t n) {
    bow_state *s = bb->state;
    el_bow_features *f = xcalloc(1, sizeof *f);
    if (el_bow_featurize(&s->fp, texts, n, f) != 0) {
        free(f);
        return NULL;
    }
    if (s->idf) bow_fit_idf(s, f);
    return f;
}

static void bow_free_inputs(void *inputs) {
    if (!inputs) return;
    el_bow_features_free(inputs);
    free(inputs);
}

static ts_tensor bow_forward(el_backbone *bb, const void *inputs, const int64_t *rows,
                             int32_t n_rows, bool training) {
    (void)training;
    bow_state *s = bb->state;
    const el_bow_features *f = inputs;
    int64_t total = 0;
    for (int32_t i = 0; i < n_rows; i++) total += f->offsets[rows[i] + 1] - f->offsets[rows[i]];
    el_grow(s->ids, &s->ids_cap, total + 1);
    el_grow(s->offs, &s->offs_cap, n_rows + 1);
    int64_t at = 0;
    for (int32_t i = 0; i < n_rows; i++) {
        int64_t b = f->offsets[rows[i]], e = f->offsets[rows[i] + 1];
        s->offs[i] = at;
        memcpy(s->ids + at, f->ids + b, (size_t)(e - b) * sizeof(int64_t));
        at += e - b;
    }
    int64_t shape_ids[1] = {total}, shape_offs[1] = {n_rows};
    ts_tensor ids = ts_from_data(s->ids, TS_I64, shape_ids, 1);
    ts_tensor offs = ts_from_data(s->offs, TS_I64, shape_offs, 1);
    ts_tensor psw = NULL;
    ts_bag_mode mode = TS_BAG_MEAN;
    if (s->pooling == 1) mode = TS_BAG_SUM;
    if (s->pooling >= 2) {
        mode = TS_BAG_SUM;
        el_grow(s->weights, &s->w_cap, total + 1);
        const float *idf = s->pooling == 3 ? ts_data_ptr(s->idf) : NULL;
        for (int32_t i = 0; i < n_rows; i++) {
            int64_t b = s->offs[i], e = i + 1 < n_rows ? s->offs[i + 1] : total;
            if (idf) {
                double z = 0;
                for (int64_t j = b; j < e; j++) z += idf[s->ids[j]];
                for (int64_t j = b; j < e; j++)
                    s->weights[j] = z > 0 ? (float)(idf[s->ids[j]] / z) : 0.0f;
            } else {
                float w = e > b ? 1.0f / sqrtf((float)(e - b)) : 0.0f;
                for (int64_t j = b; j < e; j++) s->weights[j] = w;
            }
        }
        psw = ts_from_data(s->weights, TS_F32, shape_ids, 1);
    }
    ts_tensor out = NULL;
    if (ids && offs && (s->pooling < 2 || psw))
        out = ts_embedding_bag(s->emb, ids, offs, mode, 1, psw);
    ts_free(ids);
    ts_free(offs);
    ts_free(psw);
    return out;
}

static void bow_free(el_backbone *bb) {
    bow_state *s = bb->state;
    if (s) {
        free(s->ids);
        free(s->offs);
        free(s->weights);
        free(s);
    }
    free(bb);
}

static const el_backbone_ops BOW_OPS = {
    .type = "bow",
    .prepare = bow_prepare,
    .free_inputs = bow_free_inputs,
    .forward = bow_forward,
    .free = bow_free,
};

el_backbone *el_bow_build(const el_backbone_spec *cfg, el_params *ps) {
    el_backbone *bb = xcalloc(1, sizeof *bb);
    bow_state *s = xcalloc(1, sizeof *s);
    bb->ops = &BOW_OPS;
    bb->cfg = *cfg;
    bb->state = s;
    bb->out_dim = cfg->dim;
    s->fp.word_ngrams = cfg->word_ngrams;
    s->fp.char_min = cfg->char_ngram_min;
    s->fp.char_max = cfg->char_ngram_max;
    s->fp.buckets = cfg->buckets;
    s->fp.lowercase = cfg->lowercase;
    s->pooling = el_streq(cfg->pooling, "sum")    ? 1
                 : el_streq(cfg->pooling, "sqrt") ? 2
                 : el_streq(cfg->pooling, "idf")  ? 3
                                                  : 0;
    int64_t shape[2] = {cfg->buckets, cfg->dim};
    ts_tensor emb = ts_zeros(shape, 2, TS_F32);
    if (!emb) {
        el_err("backbone bow: cannot allocate the %lld x %d embedding table (%.0f MiB): %s",
               (long long)cfg->buckets, cfg->dim,
               (double)cfg->buckets * cfg->dim * 4.0 / 1048576.0, ts_last_error());
        bow_free(bb);
        return NULL;
    }
    s->emb = el_params_add(ps, "backbone.emb", emb, EL_GROUP_BACKBONE, true, false);
    el_param *p = el_params_find(ps, "backbone.emb");
    p->sparse_grad = true;
    p->save_sparse = true;
    if (s->pooling == 3) {
        int64_t ishape[1] = {cfg->buckets};
        s->idf = el_params_add(ps, "backbone.idf", ts_zeros(ishape, 1, TS_F32), EL_GROUP_BACKBONE,
                               false, false);
        if (!s->idf) {
            el_err("backbone bow: cannot allocate the idf table: %s", ts_last_error());
            bow_free(bb);
            return NULL;
        }
    }
    return bb;
}
