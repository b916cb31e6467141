/* test_backbone_train.c: tfidf, cnn, rnn and transformer train, save and load.
 *
 *  - a tiny training run (64 real train texts, 40 AdamW steps on them) brings the BCE loss
 *    well below its start, for every backbone: gradients reach the tables (sparse) and the
 *    convolution / recurrent weights;
 *  - checkpoint round trip: a model trained a few steps, saved with el_checkpoint_save and
 *    loaded into a fresh model, gives bit-identical probabilities on test texts; the loaded
 *    tfidf keeps its stored vocabulary (the test split is prepared first, and its buffers are
 *    checked unchanged by preparing: refitting on test would change them); a fresh model
 *    without the checkpoint does not predict the same (the check can fail);
 *  - end to end: el_train_run on 400/200/200 real rows finishes, and reloading its saved
 *    checkpoint reproduces its test weighted F1 exactly with its thresholds;
 *  - every backbone under deep/normalised/residual/parallel heads, focal and class-weighted
 *    losses and sgd: the runs finish with finite metrics.
 * Needs $EMOLAB_DATA (the real split); data is read with row limits, so it stays fast.
 */
#define _GNU_SOURCE
#include "bb_check.h"
#include "data.h"
#include "metrics.h"
#include "train.h"

#include <unistd.h>

static const char *DATA =
    "data:\n"
    "  train: [{path: ru_go_emotions_djacon/derived/train_aligned_to_goemotions.csv, format: goemotions, limit: 400}]\n"
    "  val: {path: ru_go_emotions/older_version_c0703d7/ru-go-emotions-simplified-validation.csv, format: goemotions, limit: 200}\n"
    "  test: {path: ru_go_emotions/older_version_c0703d7/ru-go-emotions-simplified-test.csv, format: goemotions, limit: 200}\n";

static const char *BACKBONES[] = {
    "{type: tfidf, dim: 16, min_df: 1, word_max_features: 5000, char_max_features: 20000}",
    "{type: cnn, dim: 16, filters: 8, kernels: [2, 3], buckets: 65536}",
    "{type: rnn, dim: 16, hidden: 8, buckets: 65536, pooling: last}",
    "{type: rnn, cell: lstm, dim: 16, hidden: 8, layers: 2, buckets: 65536, tokens: char, max_len: 64}",
    "{type: transformer, hidden: 16, heads: 2, intermediate: 32, layers: 2, buckets: 4096, max_len: 48}",
    "{type: transformer, hidden: 16, heads: 4, intermediate: 24, layers: 1, buckets: 2048, max_len: 64, "
    "tokens: char, pooling: mean, dropout: 0.0, attn_dropout: 0.0}",
};
#define N_BB (sizeof BACKBONES / sizeof BACKBONES[0])

static int load_spec(el_spec *s, const char *backbone, const char *head, const char *train) {
    char *y = el_printf("name: t\n%sbackbone: %s\nhead: %s\ntrain: %s\n", DATA, backbone, head, train);
    int rc = el_spec_parse(y, strlen(y), "test.yaml", s);
    if (rc) fprintf(stderr, "spec: %s\n", el_last_error());
    free(y);
    return rc;
}

static double step_loss(el_model *m, ts_optim opt, const void *in, const int64_t *rows, int32_t n,
                        const float *y, bool train) {
    ts_scope_begin();
    int64_t shape[2] = {n, m->n_labels};
    ts_tensor t = ts_from_data(y, TS_F32, shape, 2);
    ts_tensor logits = el_model_forward(m, in, rows, n, train);
    ts_tensor loss = logits ? ts_bce_with_logits(logits, t, NULL, NULL, TS_REDUCE_MEAN) : NULL;
    double lv = NAN;
    if (loss && ts_item(loss, &lv) == 0 && train) {
        ts_backward(loss);
        ts_optim_step(opt);
        ts_optim_zero_grad(opt);
    }
    ts_scope_end();
    return lv;
}

static ts_optim optimizer(el_model *m, double lr) {
    ts_tensor *ps = calloc((size_t)m->params.n + 1, sizeof(ts_tensor));
    int32_t n = 0;
    for (int32_t i = 0; i < m->params.n; i++)
        if (m->params.items[i].trainable) ps[n++] = m->params.items[i].t;
    ts_param_group g = {ps, n, lr, 0.0};
    ts_optim o = ts_adamw_new(&g, 1, ts_optim_default_params());
    free(ps);
    return o;
}

/* sha256 over the backbone's buffers (what it fitted on train: vocabulary, idf) */
static char *buffers_digest(el_model *m) {
    el_sha256 *h = el_sha256_new();
    for (int32_t i = 0; i < m->params.n; i++) {
        el_param *p = &m->params.items[i];
        if (p->trainable || p->group != EL_GROUP_BACKBONE) continue;
        size_t esz = ts_dtype_of(p->t) == TS_I64 ? 8 : 4;
        el_sha256_update(h, p->name, strlen(p->name));
        el_sha256_update(h, ts_data_ptr(p->t), (size_t)ts_numel(p->t) * esz);
    }
    char *hex = malloc(65);
    el_sha256_final(h, hex);
    return hex;
}

/* loss goes down, and the checkpoint reproduces the model bit for bit */
static void test_train_and_roundtrip(const el_dataset *d, const char *backbone, const char *dir) {
    el_spec spec;
    if (load_spec(&spec, backbone, "{layers: [32], dropout: 0.1}", "{seed: 3}") != 0) {
        CHECK(0);
        return;
    }
    ts_manual_seed(3);
    el_model m;
    CHECK_MSG(el_model_build(&m, &spec, d->labels.n) == 0, "%s: %s", backbone, el_last_error());
    void *tr = m.backbone->ops->prepare(m.backbone, d->train.texts, d->train.n);
    CHECK(tr != NULL);
    int32_t k = d->labels.n, n = 64;
    int64_t rows[64];
    float *y = malloc((size_t)n * (size_t)k * sizeof(float));
    for (int32_t i = 0; i < n; i++) {
        rows[i] = i;
        for (int32_t j = 0; j < k; j++) y[i * k + j] = d->train.y[i * k + j];
    }
    ts_optim opt = optimizer(&m, 1e-2);
    double first = step_loss(&m, opt, tr, rows, n, y, false), last = first;
    for (int s = 0; s < 40; s++) step_loss(&m, opt, tr, rows, n, y, true);
    last = step_loss(&m, opt, tr, rows, n, y, false);
    CHECK_MSG(isfinite(first) && last < 0.5 * first, "%s: loss %.4f -> %.4f", backbone, first, last);

    /* round trip; preparing another split never changes what was fitted on train */
    char *fitted = buffers_digest(&m);
    void *te = m.backbone->ops->prepare(m.backbone, d->test.texts, d->test.n);
    char *after = buffers_digest(&m);
    CHECK_MSG(!strcmp(fitted, after), "%s: preparing test changed the fitted buffers", backbone);
    free(after);
    float *p1 = malloc((size_t)(d->test.n * k) * sizeof(float));
    float *p2 = calloc((size_t)(d->test.n * k), sizeof(float));
    float *p3 = calloc((size_t)(d->test.n * k), sizeof(float));
    CHECK(el_predict_probs(&m, te, d->test.n, p1) == 0);
    char *path = el_printf("%s/model.safetensors", dir);
    float thr[EL_MAX_LABELS];
    for (int32_t j = 0; j < k; j++) thr[j] = 0.5f;
    CHECK_MSG(el_checkpoint_save(path, &m, &spec, &d->labels, thr) == 0, "save: %s", el_last_error());

    el_model m2, m3;
    ts_manual_seed(99); /* another init: only the checkpoint can make them equal */
    CHECK(el_model_build(&m2, &spec, k) == 0);
    CHECK(el_model_build(&m3, &spec, k) == 0);
    CHECK_MSG(el_checkpoint_load(path, &m2) == 0, "load: %s", el_last_error());
    void *te2 = m2.backbone->ops->prepare(m2.backbone, d->test.texts, d->test.n); /* test first */
    after = buffers_digest(&m2);
    CHECK_MSG(!strcmp(fitted, after), "%s: the loaded model refitted its buffers", backbone);
    free(after);
    free(fitted);
    void *tr3 = m3.backbone->ops->prepare(m3.backbone, d->train.texts, d->train.n);
    void *te3 = m3.backbone->ops->prepare(m3.backbone, d->test.texts, d->test.n);
    CHECK(el_predict_probs(&m2, te2, d->test.n, p2) == 0);
    CHECK(el_predict_probs(&m3, te3, d->test.n, p3) == 0);
    CHECK_MSG(!memcmp(p1, p2, (size_t)(d->test.n * k) * sizeof(float)),
              "%s: reloaded probabilities differ (max %g)", backbone, bb_max_abs_diff(p1, p2, d->test.n * k));
    CHECK_MSG(bb_max_abs_diff(p1, p3, d->test.n * k) > 1e-4, "%s: an untrained model predicts the same", backbone);
    unlink(path);
    free(path);
    m.backbone->ops->free_inputs(tr);
    m.backbone->ops->free_inputs(te);
    m2.backbone->ops->free_inputs(te2);
    m3.backbone->ops->free_inputs(tr3);
    m3.backbone->ops->free_inputs(te3);
    ts_optim_free(opt);
    el_model_free(&m);
    el_model_free(&m2);
    el_model_free(&m3);
    el_spec_free(&spec);
    free(y);
    free(p1);
    free(p2);
    free(p3);
}

/* el_train_run end to end; its checkpoint reproduces its test F1 */
static void test_train_run(const el_dataset *d, const char *backbone, const char *dir) {
    el_spec spec;
    if (load_spec(&spec, backbone, "{layers: [], dropout: 0.2}",
                  "{epochs: 2, batch_size: 32, lr: 0.005, threads: 1, seed: 5}") != 0) {
        CHECK(0);
        return;
    }
    el_train_ctx ctx = {.spec = &spec, .data = d, .run_dir = dir};
    el_train_result res;
    int rc = el_train_run(&ctx, &res);
    CHECK_MSG(rc == 0 && el_streq(res.status, "finished") && res.have_test, "%s: %s %s", backbone,
              res.status, res.error);
    if (rc != 0) {
        el_spec_free(&spec);
        return;
    }
    el_model m;
    int32_t k = d->labels.n;
    CHECK(el_model_build(&m, &spec, k) == 0);
    CHECK(el_checkpoint_load(res.checkpoint, &m) == 0);
    void *te = m.backbone->ops->prepare(m.backbone, d->test.texts, d->test.n);
    float *p = malloc((size_t)(d->test.n * k) * sizeof(float));
    uint8_t *pred = malloc((size_t)(d->test.n * k));
    CHECK(el_predict_probs(&m, te, d->test.n, p) == 0);
    el_apply_thresholds(p, res.thresholds, d->test.n, k, pred);
    el_metrics mt;
    el_metrics_compute(d->test.y, pred, d->test.n, k, &mt);
    CHECK_MSG(mt.weighted_f1 == res.test.weighted_f1, "%s: reloaded test F1 %.6f, run %.6f", backbone,
              mt.weighted_f1, res.test.weighted_f1);
    unlink(res.checkpoint);
    m.backbone->ops->free_inputs(te);
    el_model_free(&m);
    el_spec_free(&spec);
    free(p);
    free(pred);
}

/* every backbone with the other heads and losses: the run finishes with finite metrics */
static void test_heads_and_losses(const el_dataset *d, const char *backbone) {
    const struct {
        const char *head, *train;
    } v[] = {
        {"{layers: [16, 16], norm: batch, residual: true, activation: silu}", "{loss: focal}"},
        {"{layers: [16], norm: layer, heads: 3, meta: linear}", "{class_weights: balanced}"},
        {"{layers: [16, 16], norm: group, norm_groups: 4, heads: 2, meta: mean}", "{optimizer: sgd, lr: 0.1}"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char *train = el_printf("{epochs: 1, batch_size: 32, threads: 1, %s", v[i].train + 1);
        el_spec spec;
        if (load_spec(&spec, backbone, v[i].head, train) != 0) {
            CHECK_MSG(0, "%s %s", v[i].head, train);
            free(train);
            continue;
        }
        el_train_ctx ctx = {.spec = &spec, .data = d};
        el_train_result res;
        int rc = el_train_run(&ctx, &res);
        CHECK_MSG(rc == 0 && res.have_test && isfinite(res.test.weighted_f1), "%s + %s + %s: %s", backbone,
                  v[i].head, train, res.error);
        el_spec_free(&spec);
        free(train);
    }
}

int main(void) {
    ts_set_num_threads(1);
    setenv("EMOLAB_FEATURE_CACHE", "0", 1);
    el_spec spec;
    if (load_spec(&spec, BACKBONES[0], "{}", "{}") != 0) return 1;
    el_dataset d;
    if (el_data_load(&spec.data, &d) != 0) {
        fprintf(stderr, "data ($EMOLAB_DATA): %s\n", el_last_error());
        return 1;
    }
    char dir[] = "/tmp/emolab-bb-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    for (size_t i = 0; i < N_BB; i++) {
        test_train_and_roundtrip(&d, BACKBONES[i], dir);
        test_train_run(&d, BACKBONES[i], dir);
        test_heads_and_losses(&d, BACKBONES[i]);
    }
    rmdir(dir);
    el_data_free(&d);
    el_spec_free(&spec);
    return bb_summary("test_backbone_train");
}
