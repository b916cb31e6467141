/* test_backbone_spec.c: bad backbone specs and bad data for tfidf, cnn, rnn and transformer are refused
 * with the key, the place and what to do; good ones resolve with their defaults.
 *  - spec errors: unknown type (with a suggestion), keys of another type, n-gram ranges that
 *    leave no features or are reversed, empty/out-of-range kernels, unknown pooling/cell/norm/
 *    freeze values, out-of-range numbers, integers written as fractions;
 *  - fit errors: min_df/max_df that keep no term name the keys to change;
 *  - transformer: heads that do not divide hidden, keys of other types (char_ngrams, cell,
 *    kernels), bad pooling/tokens, out-of-range sizes and dropouts, init_std 0;
 *  - defaults: the peer's tf-idf settings, the cnn/rnn/transformer defaults; the built
 *    transformer's table sizes and names; the memory estimate counts its weights.
 */
#include "bb_check.h"
#include "tokenize_tfidf.h"
#include "train.h"

static void bad(const char *backbone, const char *want1, const char *want2) {
    el_spec s;
    char *y = el_printf("data: {train: [{path: x.csv, format: goemotions}], val: {path: x.csv, format: "
                        "goemotions}, test: {path: x.csv, format: goemotions}}\nbackbone: %s\n", backbone);
    int rc = el_spec_parse(y, strlen(y), "bad.yaml", &s);
    CHECK_MSG(rc != 0, "accepted: %s", backbone);
    if (rc == 0) el_spec_free(&s);
    else {
        CHECK_HAS(el_last_error(), "bad.yaml:");
        CHECK_HAS(el_last_error(), want1);
        if (want2) CHECK_HAS(el_last_error(), want2);
    }
    free(y);
}

static void test_bad_specs(void) {
    bad("{type: cnnn}", "backbone.type", "did you mean cnn");
    bad("{type: tfidf, word_ngrams: [0, 0], char_ngrams: [0, 0]}", "backbone.char_ngrams", "no features");
    bad("{type: tfidf, char_ngrams: [0, 3]}", "backbone.char_ngrams", "use [0, 0] for none");
    bad("{type: tfidf, word_ngrams: [3, 1]}", "backbone.word_ngrams", "min 3 is larger than max 1");
    bad("{type: tfidf, max_df: 0}", "backbone.max_df", "out of range");
    bad("{type: tfidf, min_df: 0.5}", "backbone.min_df", "expected an integer");
    bad("{type: tfidf, freeze: first_k}", "backbone.freeze", "allowed none|all");
    bad("{type: tfidf, norm: l3}", "backbone.norm", "did you mean l2");
    bad("{type: tfidf, kernels: [3]}", "backbone.kernels", "belongs to backbone.type cnn");
    bad("{type: tfidf, word_max_features: 0}", "backbone.word_max_features", "out of range");
    bad("{type: cnn, kernels: []}", "backbone.kernels", "an empty list");
    bad("{type: cnn, kernels: [0, 3]}", "backbone.kernels[0]", "out of range");
    bad("{type: cnn, pooling: last}", "backbone.pooling", "allowed max|mean|maxmean");
    bad("{type: cnn, tokens: subword}", "backbone.tokens", "allowed word|char");
    bad("{type: cnn, max_len: 0}", "backbone.max_len", "out of range");
    bad("{type: cnn, char_ngrams: [2, 0]}", "backbone.char_ngrams", "larger than max");
    bad("{type: rnn, cell: transformer}", "backbone.cell", "allowed gru|lstm");
    bad("{type: rnn, hidden: 0}", "backbone.hidden", "out of range");
    bad("{type: rnn, layers: 17}", "backbone.layers", "out of range");
    bad("{type: rnn, dropout: 1.0}", "backbone.dropout", "out of range");
    bad("{type: rnn, kernels: [3]}", "backbone.kernels", "belongs to backbone.type cnn");
    bad("{type: rnn, bidirectional: yes}", "backbone.bidirectional", "not booleans");
    bad("{type: rnn, pooling: cls}", "backbone.pooling", "allowed max|mean|maxmean|last");
    bad("{type: rnn, heads: 4}", "backbone.heads", "belongs to backbone.type transformer");
    bad("{type: transformer, hidden: 30, heads: 4}", "backbone.heads", "do not divide backbone.hidden 30; choose a divisor (e.g. 3)");
    bad("{type: transformer, heads: 0}", "backbone.heads", "out of range");
    bad("{type: transformer, hidden: 0}", "backbone.hidden", "out of range");
    bad("{type: transformer, layers: 129}", "backbone.layers", "out of range");
    bad("{type: transformer, intermediate: 0}", "backbone.intermediate", "out of range");
    bad("{type: transformer, dropout: 1.0}", "backbone.dropout", "out of range");
    bad("{type: transformer, attn_dropout: -0.1}", "backbone.attn_dropout", "out of range");
    bad("{type: transformer, init_std: 0}", "backbone.init_std", "out of range");
    bad("{type: transformer, buckets: 16777215}", "backbone.buckets", "out of range");
    bad("{type: transformer, max_len: 0}", "backbone.max_len", "out of range");
    bad("{type: transformer, pooling: attention}", "backbone.pooling", "allowed cls|mean|max");
    bad("{type: transformer, tokens: subword}", "backbone.tokens", "allowed word|char");
    bad("{type: transformer, char_ngrams: [3, 5]}", "backbone.char_ngrams", "belongs to backbone.type");
    bad("{type: transformer, cell: gru}", "backbone.cell", "belongs to backbone.type rnn");
    bad("{type: transformer, filters: 8}", "backbone.filters", "belongs to backbone.type cnn");
    bad("{type: transformer, dim: 64}", "backbone.dim", "belongs to backbone.type");
    bad("{type: transformer, freeze: all}", "backbone.freeze", "belongs to backbone.type");
    bad("{type: transformerr}", "backbone.type", "did you mean transformer");
}

static void test_fit_errors(void) {
    char *texts[] = {"один два", "три четыре", "пять"};
    el_tfidf_params p = el_tfidf_default_params();
    el_tfidf_vocab v;
    p.min_df = 2; /* no word is in two texts */
    CHECK(el_tfidf_fit(&p, texts, 3, &v) != 0);
    CHECK_HAS(el_last_error(), "backbone.word_ngrams");
    CHECK_HAS(el_last_error(), "lower backbone.min_df");
    p.min_df = 3;
    p.max_df = 0.5;
    CHECK(el_tfidf_fit(&p, texts, 3, &v) != 0);
    CHECK_HAS(el_last_error(), "backbone.max_df");
    p = el_tfidf_default_params();
    CHECK(el_tfidf_fit(&p, texts, 0, &v) != 0);
    CHECK_HAS(el_last_error(), "no training texts");
    /* the backbone reports it from prepare (the run's first split) */
    el_spec s;
    CHECK(bb_spec(&s, "{type: tfidf, min_df: 5}", NULL, NULL) == 0);
    el_params ps = {0};
    el_backbone *bb = el_backbone_build(&s.backbone, &ps);
    CHECK(bb && bb->ops->prepare(bb, texts, 3) == NULL);
    CHECK_HAS(el_last_error(), "min_df");
    el_backbone_free(bb);
    el_params_free(&ps);
    el_spec_free(&s);
}

static void test_defaults(void) {
    el_spec s;
    CHECK(bb_spec(&s, "{type: tfidf}", NULL, NULL) == 0);
    const el_backbone_spec *b = &s.backbone;
    CHECK(b->word_ngram_min == 1 && b->word_ngram_max == 2 && b->char_ngram_min == 2 && b->char_ngram_max == 5);
    CHECK(el_streq(b->char_analyzer, "char_wb") && b->min_df == 2 && b->max_df == 1.0);
    CHECK(b->word_max_features == 200000 && b->char_max_features == 300000);
    CHECK(b->sublinear_tf && b->use_idf && b->smooth_idf && el_streq(b->norm, "l2"));
    CHECK(el_streq(b->freeze, "none") && b->feature_dropout == 0.0);
    el_spec_free(&s);
    CHECK(bb_spec(&s, "{type: cnn}", NULL, NULL) == 0);
    CHECK(s.backbone.n_kernels == 3 && s.backbone.kernels[2] == 4 && s.backbone.filters == 128);
    CHECK(el_streq(s.backbone.tokens, "word") && el_streq(s.backbone.pooling, "max") && s.backbone.max_len == 128);
    el_spec_free(&s);
    CHECK(bb_spec(&s, "{type: rnn}", NULL, NULL) == 0);
    CHECK(el_streq(s.backbone.cell, "gru") && s.backbone.hidden == 128 && s.backbone.layers == 1 &&
          s.backbone.bidirectional);
    el_spec_free(&s);
    CHECK(bb_spec(&s, "{type: transformer}", NULL, NULL) == 0);
    CHECK(s.backbone.hidden == 128 && s.backbone.layers == 2 && s.backbone.heads == 4 &&
          s.backbone.intermediate == 512 && s.backbone.buckets == 32768 && s.backbone.max_len == 128);
    CHECK(s.backbone.dropout == 0.1 && s.backbone.attn_dropout == 0.1 && s.backbone.init_std == 0.02);
    CHECK(el_streq(s.backbone.tokens, "word") && el_streq(s.backbone.pooling, "cls") &&
          s.backbone.lowercase && s.backbone.lr_scale == 1.0);
    el_spec_free(&s);
    /* built: vocabulary buckets + [PAD] + [CLS], positions max_len + [CLS], BERT's names */
    CHECK(bb_spec(&s, "{type: transformer, buckets: 100, max_len: 7, hidden: 8, heads: 2, layers: 3}", NULL, NULL) == 0);
    el_params ps = {0};
    el_backbone *bb = el_backbone_build(&s.backbone, &ps);
    CHECK_MSG(bb && bb->out_dim == 8, "%s", el_last_error());
    el_param *w = el_params_find(&ps, "backbone.embeddings.word_embeddings.weight");
    el_param *pos = el_params_find(&ps, "backbone.embeddings.position_embeddings.weight");
    int64_t sh[2] = {0, 0};
    CHECK(w && ts_shape(w->t, sh, 2) == 2 && sh[0] == 102 && sh[1] == 8);
    CHECK(pos && ts_shape(pos->t, sh, 2) == 2 && sh[0] == 8);
    CHECK(el_params_find(&ps, "backbone.encoder.layer.2.output.LayerNorm.bias") != NULL);
    CHECK(el_params_find(&ps, "backbone.encoder.layer.3.output.LayerNorm.bias") == NULL);
    el_backbone_free(bb);
    el_params_free(&ps);
    el_spec_free(&s);
    /* the memory estimate counts the encoder: weights, two AdamW moments and the best copy */
    CHECK(bb_spec(&s, "{type: transformer, buckets: 1000000, hidden: 512, heads: 8, layers: 4, "
                      "intermediate: 2048}", NULL, NULL) == 0);
    double table = 1e6 * 512 * 4 * 4, layers = 4.0 * (4 * 512 * 512 + 2 * 512 * 2048) * 4 * 4;
    int64_t est = el_train_estimate_bytes(&s, 1000);
    CHECK_MSG((double)est > table + layers && (double)est < 1.2 * (table + layers) + (512 << 20),
              "estimate %.0f MiB, weights alone %.0f MiB", (double)est / 1048576, (table + layers) / 1048576);
    el_spec_free(&s);
}

int main(void) {
    test_bad_specs();
    test_fit_errors();
    test_defaults();
    return bb_summary("test_backbone_spec");
}
