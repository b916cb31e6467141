/* test_seq_models.c: the cnn and rnn backbones and their token sequences.
 *
 *  - tokenization: word/char token counts, whitespace handling, max_len truncation, ids in
 *    range, bags (token + n-grams);
 *  - shapes: [rows, out_dim] for every pooling, cell, direction and depth;
 *  - masking: a row's output is the same alone (T = its own length), in a batch padded to a
 *    longer row, and in another order (padding never changes an output), and a text longer
 *    than max_len gives exactly the output of its first max_len tokens;
 *  - a 150-row evaluation batch (run in length-sorted chunks) gives every row's output in
 *    place;
 *  - the outputs are finite and differ between texts (the checks above are not vacuous: the
 *    table is random, emb_init_std > 0);
 *  - length bucketing: a permutation, batches of similar lengths, deterministic per seed.
 */
#include "bb_check.h"
#include "tokenize_seq.h"

static char *TEXTS[] = {
    "Какой чудесный день!",
    "",
    "   ",
    "а",
    "Ну и ну... 😀😀 это было неожиданно, правда?",
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen",
    "one two three four five six seven eight nine ten eleven twelve",
    "ок",
    "Не знаю.",
    "Я так зол на него, что не могу говорить!!!",
};
#define N_TEXTS ((int64_t)(sizeof TEXTS / sizeof TEXTS[0]))
#define LONG_ROW 5  /* longer than max_len 12 in word mode */
#define PREFIX_ROW 6 /* its first 12 tokens */

static void test_tokenize(void) {
    el_seq_params p = el_seq_default_params();
    p.buckets = 1000;
    p.char_min = 3;
    p.char_max = 4;
    char *t[] = {"Привет, мир!!", "  a  b ", "", "x"};
    el_seq_features f;
    CHECK(el_seq_featurize(&p, t, 4, &f) == 0);
    CHECK(f.lengths[0] == 5); /* привет , мир ! ! */
    CHECK(f.lengths[1] == 2 && f.lengths[2] == 0 && f.lengths[3] == 1);
    /* "привет": the token + n-grams of "<привет>" (8 code points): 6 of length 3, 5 of length 4 */
    CHECK(f.id_off[1] - f.id_off[0] == 1 + 6 + 5);
    /* "x": "<x>" has one 3-gram and no 4-gram */
    int64_t tx = f.tok_off[3];
    CHECK(f.id_off[tx + 1] - f.id_off[tx] == 1 + 1);
    for (int64_t i = 0; i < f.id_off[f.tok_off[4]]; i++) CHECK(f.ids[i] >= 0 && f.ids[i] < 1000);
    el_seq_features_free(&f);

    p.chars = true;
    p.char_min = 2;
    p.char_max = 3;
    CHECK(el_seq_featurize(&p, t, 4, &f) == 0);
    CHECK(f.lengths[0] == 13); /* "привет, мир!!" */
    CHECK(f.lengths[1] == 3);  /* "a b": runs of spaces are one, ends trimmed */
    CHECK(f.lengths[2] == 0 && f.lengths[3] == 1);
    /* char bags: position 0 has only itself, position 1 + a bigram, later + bigram + trigram */
    int64_t t0 = f.tok_off[0];
    CHECK(f.id_off[t0 + 1] - f.id_off[t0] == 1);
    CHECK(f.id_off[t0 + 2] - f.id_off[t0 + 1] == 2);
    CHECK(f.id_off[t0 + 3] - f.id_off[t0 + 2] == 3);
    el_seq_features_free(&f);

    p.max_len = 4;
    CHECK(el_seq_featurize(&p, t, 4, &f) == 0);
    CHECK(f.lengths[0] == 4 && f.lengths[1] == 3);
    el_seq_features_free(&f);

    /* lowercase: same ids for "Мир" and "мир" */
    p = el_seq_default_params();
    char *u[] = {"Мир", "мир"};
    CHECK(el_seq_featurize(&p, u, 2, &f) == 0);
    int64_t n0 = f.id_off[1] - f.id_off[0];
    CHECK(n0 == f.id_off[2] - f.id_off[1] && !memcmp(f.ids, f.ids + n0, (size_t)n0 * sizeof(int64_t)));
    el_seq_features_free(&f);
}

/* every row alone, all rows in one batch, reversed, and pairs with the longest row agree */
static void check_masking(const char *yaml, bool words) {
    el_spec spec;
    if (bb_spec(&spec, yaml, NULL, NULL) != 0) {
        CHECK_MSG(0, "spec %s", yaml);
        return;
    }
    ts_manual_seed(7);
    el_params ps = {0};
    el_backbone *bb = el_backbone_build(&spec.backbone, &ps);
    CHECK_MSG(bb != NULL, "%s: %s", yaml, el_last_error());
    if (!bb) {
        el_spec_free(&spec);
        return;
    }
    void *in = bb->ops->prepare(bb, TEXTS, N_TEXTS);
    CHECK(in != NULL);
    int32_t d = bb->out_dim;
    float *all = calloc((size_t)(N_TEXTS * d), sizeof(float));
    float *one = calloc((size_t)d, sizeof(float));
    float *rev = calloc((size_t)(N_TEXTS * d), sizeof(float));
    float *pair = calloc((size_t)(2 * d), sizeof(float));
    int64_t rows[N_TEXTS], rrows[N_TEXTS];
    for (int64_t i = 0; i < N_TEXTS; i++) {
        rows[i] = i;
        rrows[i] = N_TEXTS - 1 - i;
    }
    CHECK(bb_forward(bb, in, rows, (int32_t)N_TEXTS, all) == 0);
    CHECK(bb_forward(bb, in, rrows, (int32_t)N_TEXTS, rev) == 0);
    double worst = 0;
    bool finite = true;
    for (int64_t i = 0; i < N_TEXTS * d; i++) finite &= isfinite(all[i]) != 0;
    CHECK_MSG(finite, "%s: non-finite outputs", yaml);
    const int32_t *lens = bb->ops->lengths(in);
    int64_t longest = 0;
    for (int64_t i = 0; i < N_TEXTS; i++)
        if (lens[i] > lens[longest]) longest = i;
    for (int64_t i = 0; i < N_TEXTS; i++) {
        CHECK(bb_forward(bb, in, &rows[i], 1, one) == 0);
        double e = bb_max_abs_diff(one, all + i * d, d);
        double r = bb_max_abs_diff(one, rev + (N_TEXTS - 1 - i) * d, d);
        int64_t pr[2] = {i, longest};
        CHECK(bb_forward(bb, in, pr, 2, pair) == 0);
        double p = bb_max_abs_diff(one, pair, d);
        if (e > worst) worst = e;
        if (r > worst) worst = r;
        if (p > worst) worst = p;
    }
    CHECK_MSG(worst < 2e-5, "%s: padding changed an output by %g", yaml, worst);
    /* an evaluation batch of 150 rows runs in length-sorted chunks: same outputs, same order */
    int64_t big[150];
    for (int64_t i = 0; i < 150; i++) big[i] = (i * 7) % N_TEXTS;
    float *many = calloc((size_t)(150 * d), sizeof(float));
    CHECK(bb_forward(bb, in, big, 150, many) == 0);
    double wm = 0;
    for (int64_t i = 0; i < 150; i++) {
        double e = bb_max_abs_diff(many + i * d, all + big[i] * d, d);
        if (e > wm) wm = e;
    }
    CHECK_MSG(wm < 2e-5, "%s: a 150-row batch differs by %g", yaml, wm);
    free(many);
    /* not vacuous: different texts, different outputs */
    CHECK_MSG(bb_max_abs_diff(all, all + 9 * d, d) > 1e-3, "%s: rows 0 and 9 give the same output", yaml);
    if (words) { /* max_len 12: row 5 is truncated to exactly row 6 */
        CHECK(lens[LONG_ROW] == 12 && lens[PREFIX_ROW] == 12);
        CHECK_MSG(bb_max_abs_diff(all + LONG_ROW * d, all + PREFIX_ROW * d, d) < 1e-6,
                  "%s: truncation to max_len", yaml);
    }
    /* the lengths hook sees what tokenization gave */
    CHECK(lens[1] == 0 && lens[2] == 0);
    free(all);
    free(one);
    free(rev);
    free(pair);
    bb->ops->free_inputs(in);
    el_backbone_free(bb);
    el_params_free(&ps);
    el_spec_free(&spec);
}

static void test_shapes_and_masking(void) {
    const char *common = "dim: 16, buckets: 4096, max_len: 12, emb_init_std: 0.5, emb_dropout: 0.3";
    const char *common_char = "dim: 16, buckets: 4096, max_len: 40, emb_init_std: 0.5";
    const struct {
        const char *rest;
        int32_t out_dim;
    } cases[] = {
        {"type: cnn, filters: 8, kernels: [1, 3, 5], pooling: max", 24},
        {"type: cnn, filters: 8, kernels: [2, 7], pooling: mean", 16},
        {"type: cnn, filters: 4, kernels: [3], pooling: maxmean", 8},
        {"type: rnn, hidden: 6, pooling: max", 12},
        {"type: rnn, hidden: 6, pooling: mean", 12},
        {"type: rnn, hidden: 6, pooling: maxmean", 24},
        {"type: rnn, hidden: 6, pooling: last", 12},
        {"type: rnn, cell: lstm, hidden: 5, layers: 2, dropout: 0.5, pooling: last", 10},
        {"type: rnn, cell: gru, hidden: 5, bidirectional: false, pooling: last", 5},
        {"type: rnn, cell: lstm, hidden: 5, layers: 3, bidirectional: false, pooling: mean", 5},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *y = el_printf("{%s, %s}", common, cases[c].rest);
        el_spec spec;
        if (bb_spec(&spec, y, NULL, NULL) == 0) {
            el_params ps = {0};
            el_backbone *bb = el_backbone_build(&spec.backbone, &ps);
            CHECK_MSG(bb && bb->out_dim == cases[c].out_dim, "%s: out_dim %d, want %d", y,
                      bb ? bb->out_dim : -1, cases[c].out_dim);
            el_backbone_free(bb);
            el_params_free(&ps);
            el_spec_free(&spec);
        } else {
            CHECK_MSG(0, "spec %s", y);
        }
        check_masking(y, true);
        free(y);
        /* the same over characters (max_len 40, n-grams ending at each position) */
        y = el_printf("{%s, %s, tokens: char, char_ngrams: [2, 3]}", common_char, cases[c].rest);
        check_masking(y, false);
        free(y);
    }
}

int main(void) {
    ts_set_num_threads(1);
    test_tokenize();
    test_shapes_and_masking();
    return bb_summary("test_seq_models");
}
