/* model_seq.c: see model_seq.h. */
#include "model_seq.h"
#include "util.h"

#include <stdlib.h>

el_seq_params el_seq_params_from_spec(const el_backbone_spec *cfg) {
    el_seq_params p = el_seq_default_params();
    p.chars = el_streq(cfg->tokens, "char");
    p.char_min = cfg->char_ngram_min;
    p.char_max = cfg->char_ngram_max;
    p.buckets = cfg->buckets;
    p.max_len = cfg->max_len;
    p.lowercase = cfg->lowercase;
    return p;
}

void *el_seq_prepare(el_backbone *bb, char *const *texts, int64_t n) {
    const el_seq_params *fp = bb->state; /* the state's first member */
    el_seq_features *f = xcalloc(1, sizeof *f);
    if (el_seq_featurize(fp, texts, n, f) != 0) {
        free(f);
        return NULL;
    }
    return f;
}

void el_seq_free_inputs(void *inputs) {
    if (!inputs) return;
    el_seq_features_free(inputs);
    free(inputs);
}

const int32_t *el_seq_lengths(const void *inputs) { return ((const el_seq_features *)inputs)->lengths; }

ts_tensor el_seq_embed_tokens(ts_tensor emb, const el_seq_batch *b, int64_t B, int64_t T, int64_t dim) {
    int64_t ishape[1] = {b->n_ids}, oshape[1] = {B * T}, xshape[3] = {B, T, dim};
    ts_tensor ids = ts_from_data(b->ids, TS_I64, ishape, 1);
    ts_tensor offs = ts_from_data(b->offsets, TS_I64, oshape, 1);
    ts_tensor e = ids && offs ? ts_embedding_bag(emb, ids, offs, TS_BAG_MEAN, 1, NULL) : NULL;
    ts_free(ids);
    ts_free(offs);
    return e ? ts_reshape(e, xshape, 3) : NULL;
}

ts_tensor el_seq_forward(el_backbone *bb, const void *inputs, const int64_t *rows, int32_t n_rows,
                         bool training, el_seq_batch_forward fwd) {
    if (training || n_rows <= EL_SEQ_EVAL_CHUNK) return fwd(bb, inputs, rows, n_rows, training);
    const el_seq_features *f = inputs;
    int64_t *order = xmalloc((size_t)n_rows * sizeof(int64_t)), *sorted = xmalloc((size_t)n_rows * sizeof(int64_t));
    el_seq_sort_rows(f, rows, n_rows, order);
    for (int32_t i = 0; i < n_rows; i++) sorted[i] = rows[order[i]];
    int32_t n_chunks = (n_rows + EL_SEQ_EVAL_CHUNK - 1) / EL_SEQ_EVAL_CHUNK;
    ts_tensor *outs = xcalloc((size_t)n_chunks, sizeof(ts_tensor));
    ts_tensor out = NULL;
    bool ok = true;
    for (int32_t c = 0; c < n_chunks && ok; c++) {
        int32_t b = c * EL_SEQ_EVAL_CHUNK, n = n_rows - b < EL_SEQ_EVAL_CHUNK ? n_rows - b : EL_SEQ_EVAL_CHUNK;
        outs[c] = fwd(bb, inputs, sorted + b, n, false);
        ok = outs[c] != NULL;
    }
    if (ok) {
        /* row order[i] of the input is row i of the sorted output: invert */
        for (int32_t i = 0; i < n_rows; i++) sorted[order[i]] = i;
        int64_t shape[1] = {n_rows};
        ts_tensor cat = ts_cat(outs, n_chunks, 0);
        ts_tensor inv = ts_from_data(sorted, TS_I64, shape, 1);
        out = cat && inv ? ts_index_select(cat, 0, inv) : NULL;
        ts_free(inv);
    }
    free(outs);
    free(order);
    free(sorted);
    return out;
}
