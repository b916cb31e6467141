/* test_hf_controls: the hf backbone's fine-tuning controls on a tiny BERT made here.
 *  - layer_lr_decay: lr_scale = decay^(L + 1 - depth): embeddings decay^2, layer 0 decay^1, the
 *    pooler 1 (L = 1); head parameters (attention pooling query) keep 1 and are in the head group;
 *  - freeze first_k: k = 0 freezes the embeddings only, k = 1 also layer 0 (not trainable, no
 *    requires_grad), the pooler stays trainable;
 *  - freeze all: no backbone parameter trains; a training-mode step through a head gives no
 *    gradient to any backbone tensor; the features are deterministic in training mode (no
 *    dropout in a frozen encoder) and come from the cache the second time;
 *  - freeze none: training mode applies dropout (two forwards differ), eval mode does not;
 *  - prepared inputs report their token counts (for length-bucketed batches). */
#define _GNU_SOURCE
#include "data/check.h"
#include "model_hf.h"

#include <math.h>
#include <unistd.h>

#include "tiny_model.h"

static el_param *find(el_params *ps, const char *name) {
    el_param *p = el_params_find(ps, name);
    if (!p) fprintf(stderr, "no parameter %s\n", name);
    return p;
}

static el_backbone *build(const char *dir, el_params *ps, const char *pooling, const char *freeze,
                          int32_t k, double decay) {
    el_backbone_spec cfg = {.type = "hf", .path = (char *)dir, .pooling = (char *)pooling,
                            .freeze = (char *)freeze, .freeze_k = k, .layer_lr_decay = decay,
                            .lr_scale = 1};
    el_backbone *bb = el_backbone_build(&cfg, ps);
    if (!bb) fprintf(stderr, "build: %s\n", el_last_error());
    return bb;
}

static float *features(el_backbone *bb, void *in, int n, bool training) {
    int64_t rows[3] = {0, 1, 2};
    ts_scope_begin();
    ts_tensor y = bb->ops->forward(bb, in, rows, n, training);
    float *out = calloc((size_t)n * (size_t)bb->out_dim, sizeof(float));
    if (!y || ts_copy_out(y, out, TS_F32, (int64_t)n * bb->out_dim) != 0)
        fprintf(stderr, "forward: %s\n", el_last_error());
    ts_scope_end();
    return out;
}

int main(void) {
    snprintf(g_root, sizeof g_root, "/tmp/emolab_hf_controls_%d", (int)getpid());
    el_mkdirs(g_root, 0755);
    char *d = model_dir("m", CONFIG_OK, (mutation){.with_pooler = true});
    char *texts[] = {"ab a b", "яя! ab b a ab", "a"};
    el_params ps = {0};

    /* layer-wise lr decay */
    el_backbone *bb = build(d, &ps, "attention", "none", 0, 0.5);
    CHECK(bb != NULL);
    if (bb) {
        CHECK(fabs(find(&ps, "backbone.embeddings.word_embeddings.weight")->lr_scale - 0.25) < 1e-12);
        CHECK(fabs(find(&ps, "backbone.embeddings.LayerNorm.bias")->lr_scale - 0.25) < 1e-12);
        CHECK(fabs(find(&ps, "backbone.encoder.layer.0.output.dense.weight")->lr_scale - 0.5) < 1e-12);
        CHECK(fabs(find(&ps, "backbone.pooler.dense.weight")->lr_scale - 1.0) < 1e-12);
        el_param *q = find(&ps, "backbone.pool.query");
        CHECK(q && q->group == EL_GROUP_HEAD && q->lr_scale == 1.0 && q->trainable);
        CHECK(!find(&ps, "backbone.encoder.layer.0.output.dense.bias")->decay);
        CHECK(find(&ps, "backbone.encoder.layer.0.output.dense.weight")->decay);
        void *in = bb->ops->prepare(bb, texts, 3);
        const int32_t *len = bb->ops->lengths(in);
        CHECK(len && len[0] == 5 && len[2] == 3); /* [CLS] ab a b [SEP], [CLS] a [SEP] */
        /* freeze none: dropout in training mode only */
        float *a = features(bb, in, 3, true), *b = features(bb, in, 3, true);
        float *c = features(bb, in, 3, false), *e = features(bb, in, 3, false);
        CHECK(memcmp(a, b, 3 * 8 * sizeof(float)) != 0);
        CHECK(memcmp(c, e, 3 * 8 * sizeof(float)) == 0);
        free(a), free(b), free(c), free(e);
        bb->ops->free_inputs(in);
        el_backbone_free(bb);
    }
    el_params_free(&ps);

    /* first_k */
    for (int k = 0; k <= 1; k++) {
        bb = build(d, &ps, "cls", "first_k", k, 1.0);
        CHECK(bb != NULL);
        if (!bb) continue;
        el_param *emb = find(&ps, "backbone.embeddings.word_embeddings.weight");
        el_param *l0 = find(&ps, "backbone.encoder.layer.0.attention.self.query.weight");
        el_param *pool = find(&ps, "backbone.pooler.dense.weight");
        CHECK(!emb->trainable && ts_requires_grad(emb->t) == 0);
        CHECK(l0->trainable == (k == 0) && ts_requires_grad(l0->t) == (k == 0));
        CHECK(pool->trainable);
        el_backbone_free(bb);
        el_params_free(&ps);
    }

    /* freeze all: no gradient reaches the encoder, features fixed in training mode */
    bb = build(d, &ps, "mean", "all", 0, 1.0);
    CHECK(bb != NULL);
    if (bb) {
        for (int32_t i = 0; i < ps.n; i++) CHECK(!ps.items[i].trainable);
        void *in = bb->ops->prepare(bb, texts, 3);
        float *a = features(bb, in, 3, true), *b = features(bb, in, 3, true);
        CHECK(memcmp(a, b, 3 * 8 * sizeof(float)) == 0);
        free(a), free(b);
        int64_t sw[2] = {2, 8}, rows[3] = {0, 1, 2};
        ts_tensor w = ts_randn(sw, 2);
        ts_set_requires_grad(w, 1);
        ts_scope_begin();
        ts_tensor y = bb->ops->forward(bb, in, rows, 3, true);
        ts_tensor loss = y ? ts_sum(ts_linear(y, w, NULL)) : NULL;
        CHECK(loss && ts_backward(loss) == 0);
        ts_tensor gw = ts_grad(w);
        CHECK(gw != NULL);
        for (int32_t i = 0; i < ps.n; i++) {
            ts_tensor g = ts_grad(ps.items[i].t);
            if (g) fprintf(stderr, "%s has a gradient\n", ps.items[i].name);
            CHECK(g == NULL);
        }
        ts_scope_end();
        ts_free(gw);
        ts_free(w);
        bb->ops->free_inputs(in);
        el_backbone_free(bb);
    }
    el_params_free(&ps);
    free(d);
    char *cmd = el_printf("rm -rf '%s'", g_root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_root);
    free(cmd);
    return check_done("test_hf_controls");
}
