/* test_hf_cache.c: frozen Hugging Face encoders in the feature cache (model_hf.c's frozen op).
 *
 * A tiny BERT model directory (tiny_model.h) runs through el_train_run on 120/60/60 real rows
 * with EMOLAB_CACHE in a temporary directory:
 *  - freeze: all, pooling mean: the first run misses and stores 3 entries (train, val, test;
 *    backbone type hf in their metadata); the same spec again hits all 3 and gives
 *    bit-identical metrics and thresholds; a spec that changes only the head hits all 3;
 *  - the identity: new weights written to the same path (the spec does not change) miss all 3
 *    (the weights' digest is part of the key), and so does a changed tokenizer.json;
 *  - a hub snapshot (weights a symlink to blobs/<sha256>) is keyed by the blob's name, not
 *    read again: the same content under another blob name misses;
 *  - not cached: freeze none, freeze first_k and freeze all with attention pooling (a trained
 *    query) store no entry and touch none.
 */
#define _GNU_SOURCE
#include "backbones/bb_check.h"
#include "data.h"
#include "feature_cache.h"
#include "hf_model/tiny_model.h"
#include "train.h"

#include <dirent.h>
#include <unistd.h>

static char g_cache[300];

static int spec_for(el_spec *s, const char *backbone, const char *head) {
    char *y = el_printf(
        "name: t\ndata:\n"
        "  train: [{path: ru_go_emotions_djacon/derived/train_aligned_to_goemotions.csv, format: goemotions, limit: 120}]\n"
        "  val: {path: ru_go_emotions/older_version_c0703d7/ru-go-emotions-simplified-validation.csv, format: goemotions, limit: 60}\n"
        "  test: {path: ru_go_emotions/older_version_c0703d7/ru-go-emotions-simplified-test.csv, format: goemotions, limit: 60}\n"
        "backbone: %s\nhead: %s\ntrain: {epochs: 2, batch_size: 32, lr: 0.01, threads: 1, seed: 9}\n",
        backbone, head);
    int rc = el_spec_parse(y, strlen(y), "hf-cache-test.yaml", s);
    if (rc) fprintf(stderr, "spec: %s\n", el_last_error());
    free(y);
    return rc;
}

typedef struct {
    el_train_result res;
    el_feature_cache_stats st;
    int rc;
} outcome;

static outcome run(const char *backbone, const char *head) {
    outcome o;
    memset(&o, 0, sizeof o);
    el_spec spec;
    if (spec_for(&spec, backbone, head) != 0) {
        o.rc = -1;
        return o;
    }
    el_dataset d;
    if (el_data_load(&spec.data, &d) != 0) {
        fprintf(stderr, "data: %s\n", el_last_error());
        el_spec_free(&spec);
        o.rc = -1;
        return o;
    }
    el_feature_cache_stats_reset();
    el_train_ctx ctx = {.spec = &spec, .data = &d};
    o.rc = el_train_run(&ctx, &o.res);
    if (o.rc != 0) fprintf(stderr, "run: %s %s\n", o.res.status, o.res.error);
    o.st = el_feature_cache_stats_get();
    el_data_free(&d);
    el_spec_free(&spec);
    return o;
}

static bool same_metrics(const outcome *a, const outcome *b) {
    return a->res.val.weighted_f1 == b->res.val.weighted_f1 &&
           a->res.test.weighted_f1 == b->res.test.weighted_f1 &&
           !memcmp(a->res.thresholds, b->res.thresholds, sizeof a->res.thresholds);
}

#define CHECK_STATS(o, h, m, s)                                                                    \
    CHECK_MSG((o).rc == 0 && (o).st.hits == (h) && (o).st.misses == (m) && (o).st.stored == (s),  \
              "rc %d: hits %lld misses %lld stored %lld, want %d %d %d", (o).rc,                   \
              (long long)(o).st.hits, (long long)(o).st.misses, (long long)(o).st.stored, h, m, s)

/* entries in the cache directory; with `type`, those whose metadata names that backbone */
static int32_t count_entries(const char *type) {
    DIR *d = opendir(g_cache);
    int32_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strstr(e->d_name, ".safetensors")) continue;
        if (!type) {
            n++;
            continue;
        }
        char *path = el_printf("%s/%s", g_cache, e->d_name);
        el_safetensors st;
        if (el_st_open(path, &st) == 0) {
            n += el_streq(el_st_meta(&st, "emolab.backbone"), type);
            el_st_close(&st);
        }
        free(path);
    }
    if (d) closedir(d);
    return n;
}

int main(void) {
    ts_set_num_threads(1);
    snprintf(g_root, sizeof g_root, "/tmp/emolab_hf_cache_%d", (int)getpid());
    el_mkdirs(g_root, 0755);
    snprintf(g_cache, sizeof g_cache, "%s/cache", g_root);
    setenv("EMOLAB_CACHE", g_cache, 1);
    unsetenv("EMOLAB_FEATURE_CACHE");
    char *dir = model_dir("m", CONFIG_OK, (mutation){0});
    char *frozen = el_printf("{type: hf, path: %s, freeze: all, pooling: mean, max_len: 16}", dir);
    const char *head = "{layers: [16], dropout: 0.1}";

    /* miss, then hit with the same result */
    outcome a = run(frozen, head);
    CHECK_STATS(a, 0, 3, 3);
    CHECK_MSG(count_entries(NULL) == 3 && count_entries("hf") == 3, "%d entries, %d of hf",
              count_entries(NULL), count_entries("hf"));
    outcome b = run(frozen, head);
    CHECK_STATS(b, 3, 0, 0);
    CHECK_MSG(same_metrics(&a, &b), "cached run: val %.6f test %.6f, first %.6f %.6f",
              b.res.val.weighted_f1, b.res.test.weighted_f1, a.res.val.weighted_f1, a.res.test.weighted_f1);
    CHECK(a.rc == 0 && isfinite(a.res.test.weighted_f1));
    outcome c = run(frozen, "{layers: [], dropout: 0.3}");
    CHECK_STATS(c, 3, 0, 0);
    CHECK(count_entries(NULL) == 3);

    /* other weights or another tokenizer at the same path: new entries, never the old ones */
    write_weights(dir, "model.safetensors", (mutation){.with_pooler = true});
    outcome w = run(frozen, head);
    CHECK_STATS(w, 0, 3, 3);
    CHECK(count_entries(NULL) == 6);
    char *tok = el_printf(TOKENIZER_OK, "yy", 11); /* token 11 is "yy" instead of "zz" */
    write_text(dir, "tokenizer.json", tok);
    free(tok);
    outcome t = run(frozen, head);
    CHECK_STATS(t, 0, 3, 3);
    CHECK(count_entries(NULL) == 9);
    outcome t2 = run(frozen, head);
    CHECK_STATS(t2, 3, 0, 0);

    /* Hugging Face's cache layout: snapshots/REV/model.safetensors -> ../../blobs/SHA256 */
    {
        char *blobs = fresh_dir("hub/blobs");
        char *snap = fresh_dir("hub/snapshots/0123456789abcdef0123456789abcdef01234567");
        char *weights = el_path_join(dir, "model.safetensors"), sha[65];
        CHECK(el_sha256_file(weights, sha) == 0);
        char *blob = el_printf("%s/%s", blobs, sha), *other = el_printf("%s/%064d", blobs, 7);
        char *link = el_path_join(snap, "model.safetensors");
        char *cp = el_printf("cp '%s' '%s' && cp '%s' '%s' && cp '%s/config.json' '%s/tokenizer.json' '%s/'",
                             weights, blob, weights, other, dir, dir, snap);
        CHECK(system(cp) == 0);
        CHECK(symlink(blob, link) == 0);
        char *hub = el_printf("{type: hf, path: %s, freeze: all, pooling: mean, max_len: 16}", snap);
        outcome h1 = run(hub, head);
        CHECK_STATS(h1, 0, 3, 3);
        outcome h2 = run(hub, head);
        CHECK_STATS(h2, 3, 0, 0);
        CHECK(same_metrics(&h1, &h2));
        unlink(link);
        CHECK(symlink(other, link) == 0); /* same bytes, another blob name */
        outcome h3 = run(hub, head);
        CHECK_STATS(h3, 0, 3, 3);
        CHECK(same_metrics(&h1, &h3));
        char *rm = el_printf("rm -f '%s'/*", g_cache);
        CHECK(system(rm) == 0);
        free(rm);
        free(blobs), free(snap), free(weights), free(blob), free(other), free(link), free(cp), free(hub);
    }

    /* trained encoders (or a trained pooling) are never cached */
    const char *trained[] = {"freeze: none, pooling: mean", "freeze: first_k, freeze_k: 1, pooling: cls",
                             "freeze: all, pooling: attention"};
    for (int i = 0; i < 3; i++) {
        char *bb = el_printf("{type: hf, path: %s, max_len: 16, %s}", dir, trained[i]);
        outcome n = run(bb, head);
        CHECK_MSG(n.rc == 0 && n.st.hits == 0 && n.st.misses == 0 && n.st.stored == 0,
                  "%s: rc %d hits %lld misses %lld stored %lld", trained[i], n.rc,
                  (long long)n.st.hits, (long long)n.st.misses, (long long)n.st.stored);
        CHECK_MSG(count_entries(NULL) == 0, "%s: %d entries", trained[i], count_entries(NULL));
        free(bb);
    }

    free(frozen);
    free(dir);
    char *cmd = el_printf("rm -rf '%s'", g_root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_root);
    free(cmd);
    return bb_summary("test_hf_cache");
}
