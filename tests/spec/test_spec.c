/* test_spec.c: valid specs. configs/bow.yaml and configs/bow-ext.yaml field by field, every
 * default of a minimal spec, --set overrides (scalars, lists, sources, null = default), the
 * canonical JSON and config hash (the expected JSON is written by hand; its sha256 was computed
 * with `sha256sum` and Python's hashlib on that text), equal hashes for equivalent specs and
 * different hashes for different knobs, parameter paths, flattened params, the printed schema. */
#include "check.h"
#include "spec.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef EMOLAB_SOURCE_DIR
#define EMOLAB_SOURCE_DIR "."
#endif

static char *config_path(const char *name) {
    return el_printf("%s/configs/%s", el_env("EMOLAB_SOURCE_DIR", EMOLAB_SOURCE_DIR), name);
}

#define NEAR(a, b) (fabs((a) - (b)) < 1e-12)

#define TRAIN_PATH "ru_go_emotions_djacon/derived/train_aligned_to_goemotions.csv"
#define VAL_PATH "ru_go_emotions/older_version_c0703d7/ru-go-emotions-simplified-validation.csv"
#define TEST_PATH "ru_go_emotions/older_version_c0703d7/ru-go-emotions-simplified-test.csv"

static void check_goemotions_source(const el_source_spec *s, const char *path) {
    CHECK_STR(s->path, path);
    CHECK_STR(s->format, "goemotions");
    CHECK_STR(s->text, "ru_text");
    CHECK_STR(s->labels, "labels");
    CHECK(s->id == NULL); /* "" = the id column when present */
    CHECK_STR(s->map, "goemotions");
    CHECK(s->enthusiasm == NULL); /* no rule: goemotions has no enthusiasm label */
    CHECK_STR(s->neutral, "keep");
    CHECK(s->limit == 0);
}

/* The study's knobs as configs/bow.yaml writes them (issue #3). */
static void check_bow_knobs(const el_spec *s) {
    CHECK_STR(s->data.labels, "ekman7");
    CHECK(s->data.drop_train_overlapping_eval);
    CHECK(s->data.root == NULL);
    check_goemotions_source(&s->data.train[0], TRAIN_PATH);
    check_goemotions_source(&s->data.val, VAL_PATH);
    check_goemotions_source(&s->data.test, TEST_PATH);
    CHECK_STR(s->backbone.type, "bow");
    CHECK(s->backbone.dim == 128);
    CHECK(s->backbone.word_ngrams == 2);
    CHECK(s->backbone.char_ngram_min == 3 && s->backbone.char_ngram_max == 5);
    CHECK(s->backbone.buckets == 1048576);
    CHECK_STR(s->backbone.pooling, "mean");
    CHECK(s->backbone.lowercase);
    CHECK(s->backbone.lr_scale == 25.0);
    CHECK(s->head.n_layers == 1 && s->head.layers[0] == 768);
    CHECK(s->head.dropout == 0.5);
    CHECK_STR(s->head.activation, "gelu");
    CHECK_STR(s->head.norm, "none");
    CHECK(s->head.norm_groups == 8);
    CHECK(!s->head.residual);
    CHECK(s->head.heads == 1);
    CHECK_STR(s->head.meta, "linear");
    CHECK(s->train.epochs == 4);
    CHECK(s->train.batch_size == 64);
    CHECK_STR(s->train.optimizer, "adamw");
    CHECK(s->train.lr == 2e-3);
    CHECK(s->train.weight_decay == 1e-4);
    CHECK(s->train.momentum == 0.9);
    CHECK_STR(s->train.scheduler, "cosine");
    CHECK(s->train.warmup == 0.06);
    CHECK_STR(s->train.loss, "bce");
    CHECK(s->train.focal_gamma == 2.0);
    CHECK_STR(s->train.class_weights, "none");
    CHECK(s->train.grad_clip == 1.0);
    CHECK(s->train.seed == 42);
    CHECK_STR(s->train.es_metric, "val_weighted_f1");
    CHECK(s->train.es_patience == 2);
    CHECK(s->train.threads == 0);
    CHECK_STR(s->train.device, "cpu");
    CHECK_STR(s->threshold.mode, "per_class");
    CHECK(s->threshold.value == 0.5);
    CHECK(s->threshold.grid_step == 0.01);
}

static void test_bow_yaml(void) {
    char *path = config_path("bow.yaml");
    el_spec s;
    int rc = el_spec_load(path, NULL, 0, &s);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK(rc == EL_OK);
    if (rc == EL_OK) {
        CHECK_STR(s.name, "bow-h768");
        CHECK_STR(s.owner, "marina");
        CHECK_STR(s.notes, "");
        CHECK_STR(s.file, path);
        CHECK_STR(s.data.variant, "orig");
        CHECK(s.data.n_train == 1);
        check_bow_knobs(&s);
        CHECK(strlen(s.config_hash) == 64);
        CHECK(s.resolved && s.resolved->kind == EL_NODE_MAP);
        CHECK_HAS(s.resolved_json, "\"lr\":0.002,");
        CHECK_HAS(s.resolved_json, "\"weight_decay\":0.0001}");
        CHECK_HAS(s.resolved_json, "\"layers\":[768],");
        CHECK_HAS(s.resolved_json, "\"char_ngrams\":[3,5],");
        CHECK_HAS(s.resolved_json, "\"grad_clip\":1.0,");
        CHECK_HAS(s.resolved_json, "\"name\":\"bow-h768\"");
        /* resolved nodes remember where they were written (line 15 of configs/bow.yaml) */
        el_node *d = el_node_get(s.resolved, "head.dropout");
        CHECK(d && d->line == 15 && d->col == 32);
        CHECK(d && d->file && strcmp(d->file, path) == 0);
    }
    el_spec_free(&s);
    CHECK(s.name == NULL && s.resolved == NULL); /* freed and zeroed; a second free is harmless */
    el_spec_free(&s);
    free(path);
}

static void test_bow_ext_yaml(void) {
    char *path = config_path("bow-ext.yaml");
    el_spec s;
    int rc = el_spec_load(path, NULL, 0, &s);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK(rc == EL_OK);
    if (rc == EL_OK) {
        CHECK_STR(s.name, "bow-h768-ext");
        CHECK_STR(s.data.variant, "ext");
        CHECK(s.data.n_train == 2);
        check_bow_knobs(&s);
        const el_source_spec *iz = &s.data.train[1];
        CHECK_STR(iz->path, "ru_izard_emotions/train.csv");
        CHECK_STR(iz->format, "izard");
        CHECK_STR(iz->text, "text");
        CHECK_STR(iz->map, "izard");
        CHECK_STR(iz->enthusiasm, "drop");
        CHECK_STR(iz->neutral, "clear_if_emotion");
        CHECK(iz->id == NULL && iz->limit == 0);
    }
    /* the ext config differs from bow.yaml only by the extra source (and name/notes): put the
     * source list of bow.yaml in and the hashes must agree */
    char *bow = config_path("bow.yaml");
    el_spec a, b;
    const char *set[] = {"data.train=[{path: " TRAIN_PATH ", format: goemotions, text: ru_text}]"};
    CHECK(el_spec_load(bow, NULL, 0, &a) == EL_OK);
    CHECK(el_spec_load(path, set, 1, &b) == EL_OK);
    CHECK_STR(a.config_hash, b.config_hash);
    CHECK(strcmp(a.config_hash, s.config_hash) != 0);
    el_spec_free(&a);
    el_spec_free(&b);
    el_spec_free(&s);
    free(bow);
    free(path);
}

#define MIN_SPEC                                                                               \
    "data:\n"                                                                                  \
    "  train: [{path: tr.csv, format: goemotions}]\n"                                          \
    "  val: {path: va.csv, format: goemotions}\n"                                              \
    "  test: {path: te.csv, format: columns}\n"

/* Written by hand from the schema's documented defaults (keys sorted, no spaces). */
static const char *MIN_JSON =
    "{\"backbone\":{\"buckets\":1048576,\"char_ngrams\":[3,5],\"dim\":128,\"lowercase\":true,"
    "\"lr_scale\":1.0,\"pooling\":\"mean\",\"type\":\"bow\",\"word_ngrams\":2},"
    "\"data\":{\"drop_train_overlapping_eval\":true,\"labels\":\"ekman7\",\"root\":\"\","
    "\"test\":{\"enthusiasm\":null,\"format\":\"columns\",\"id\":\"\",\"labels\":\"labels\","
    "\"limit\":0,\"map\":\"\",\"neutral\":\"keep\",\"path\":\"te.csv\",\"text\":\"text\"},"
    "\"train\":[{\"enthusiasm\":null,\"format\":\"goemotions\",\"id\":\"\",\"labels\":\"labels\","
    "\"limit\":0,\"map\":\"goemotions\",\"neutral\":\"keep\",\"path\":\"tr.csv\",\"text\":\"ru_text\"}],"
    "\"val\":{\"enthusiasm\":null,\"format\":\"goemotions\",\"id\":\"\",\"labels\":\"labels\","
    "\"limit\":0,\"map\":\"goemotions\",\"neutral\":\"keep\",\"path\":\"va.csv\",\"text\":\"ru_text\"},"
    "\"variant\":\"orig\"},"
    "\"head\":{\"activation\":\"relu\",\"dropout\":0.1,\"heads\":1,\"layers\":[],\"meta\":\"linear\","
    "\"norm\":\"none\",\"norm_groups\":8,\"residual\":false},"
    "\"name\":\"min-spec\",\"notes\":\"\",\"owner\":\"\","
    "\"threshold\":{\"grid_step\":0.01,\"mode\":\"per_class\",\"value\":0.5},"
    "\"train\":{\"batch_size\":64,\"class_weights\":\"none\",\"device\":\"cpu\","
    "\"early_stopping\":{\"metric\":\"val_weighted_f1\",\"patience\":0},\"epochs\":10,"
    "\"focal_gamma\":2.0,\"grad_clip\":0.0,\"loss\":\"bce\",\"lr\":0.001,\"momentum\":0.9,"
    "\"optimizer\":\"adamw\",\"scheduler\":\"constant\",\"seed\":42,\"threads\":0,\"warmup\":0.0,"
    "\"weight_decay\":0.01}}";

/* MIN_JSON without name, notes, owner: the text the config hash is taken of. */
static const char *MIN_JSON_HASHED =
    "{\"backbone\":{\"buckets\":1048576,\"char_ngrams\":[3,5],\"dim\":128,\"lowercase\":true,"
    "\"lr_scale\":1.0,\"pooling\":\"mean\",\"type\":\"bow\",\"word_ngrams\":2},"
    "\"data\":{\"drop_train_overlapping_eval\":true,\"labels\":\"ekman7\",\"root\":\"\","
    "\"test\":{\"enthusiasm\":null,\"format\":\"columns\",\"id\":\"\",\"labels\":\"labels\","
    "\"limit\":0,\"map\":\"\",\"neutral\":\"keep\",\"path\":\"te.csv\",\"text\":\"text\"},"
    "\"train\":[{\"enthusiasm\":null,\"format\":\"goemotions\",\"id\":\"\",\"labels\":\"labels\","
    "\"limit\":0,\"map\":\"goemotions\",\"neutral\":\"keep\",\"path\":\"tr.csv\",\"text\":\"ru_text\"}],"
    "\"val\":{\"enthusiasm\":null,\"format\":\"goemotions\",\"id\":\"\",\"labels\":\"labels\","
    "\"limit\":0,\"map\":\"goemotions\",\"neutral\":\"keep\",\"path\":\"va.csv\",\"text\":\"ru_text\"},"
    "\"variant\":\"orig\"},"
    "\"head\":{\"activation\":\"relu\",\"dropout\":0.1,\"heads\":1,\"layers\":[],\"meta\":\"linear\","
    "\"norm\":\"none\",\"norm_groups\":8,\"residual\":false},"
    "\"threshold\":{\"grid_step\":0.01,\"mode\":\"per_class\",\"value\":0.5},"
    "\"train\":{\"batch_size\":64,\"class_weights\":\"none\",\"device\":\"cpu\","
    "\"early_stopping\":{\"metric\":\"val_weighted_f1\",\"patience\":0},\"epochs\":10,"
    "\"focal_gamma\":2.0,\"grad_clip\":0.0,\"loss\":\"bce\",\"lr\":0.001,\"momentum\":0.9,"
    "\"optimizer\":\"adamw\",\"scheduler\":\"constant\",\"seed\":42,\"threads\":0,\"warmup\":0.0,"
    "\"weight_decay\":0.01}}";

/* printf '%s' "$MIN_JSON_HASHED" | sha256sum  (and hashlib.sha256 of json.dumps(sort_keys)) */
#define MIN_HASH "00c9ee70e895140e2ea16eae882a2e5ce13bf1d4e00338add1bb931e20359781"

static void test_defaults_and_hash(void) {
    el_spec s;
    int rc = el_spec_parse(MIN_SPEC, strlen(MIN_SPEC), "specs/min-spec.yaml", &s);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK(rc == EL_OK);
    if (rc) return;
    CHECK_STR(s.resolved_json, MIN_JSON);
    char hex[65];
    el_sha256_hex(MIN_JSON_HASHED, strlen(MIN_JSON_HASHED), hex);
    CHECK_STR(hex, MIN_HASH); /* the constant belongs to the text above */
    CHECK_STR(s.config_hash, MIN_HASH);

    /* the struct holds the same defaults */
    CHECK_STR(s.name, "min-spec"); /* from the file name */
    CHECK_STR(s.owner, "");
    CHECK_STR(s.data.labels, "ekman7");
    CHECK_STR(s.data.variant, "orig");
    CHECK(s.data.drop_train_overlapping_eval);
    CHECK_STR(s.data.test.format, "columns");
    CHECK_STR(s.data.test.text, "text");
    CHECK(s.data.test.map == NULL); /* columns: no map */
    CHECK(s.data.test.enthusiasm == NULL);
    CHECK(s.backbone.dim == 128 && s.backbone.word_ngrams == 2 && s.backbone.buckets == 1048576);
    CHECK(s.backbone.char_ngram_min == 3 && s.backbone.char_ngram_max == 5);
    CHECK(s.head.n_layers == 0);
    CHECK(s.head.dropout == 0.1);
    CHECK_STR(s.head.activation, "relu");
    CHECK(s.train.epochs == 10 && s.train.batch_size == 64 && s.train.lr == 0.001);
    CHECK(s.train.weight_decay == 0.01 && s.train.momentum == 0.9 && s.train.warmup == 0.0);
    CHECK_STR(s.train.scheduler, "constant");
    CHECK(s.train.grad_clip == 0.0 && s.train.seed == 42 && s.train.es_patience == 0);
    CHECK_STR(s.threshold.mode, "per_class");
    el_spec_free(&s);

    /* el_spec_from_node gives the same, and leaves the tree alone */
    el_node *tree = el_yaml_parse(MIN_SPEC, strlen(MIN_SPEC), "x.yaml");
    char *before = el_node_to_json(tree, false);
    CHECK(el_spec_from_node(tree, "other/min-spec.yml", &s) == EL_OK);
    CHECK_STR(s.config_hash, MIN_HASH);
    CHECK_STR(s.name, "min-spec");
    char *after = el_node_to_json(tree, false);
    CHECK_STR(after, before);
    free(before);
    free(after);
    el_spec_free(&s);
    el_node_free(tree);
}

static void test_hash_equivalence(void) {
    char *bow = config_path("bow.yaml");
    el_spec base;
    CHECK(el_spec_load(bow, NULL, 0, &base) == EL_OK);

    /* configs/bow.yaml written differently: other name/owner/notes, block style, keys in
     * another order, numbers in other notations, some defaults written out */
    const char *same = "# the same experiment written differently\n"
                       "name: another-name\n"
                       "owner: someone-else\n"
                       "notes: \"renamed; the hash must not change\"\n"
                       "threshold:\n"
                       "  mode: per_class\n"
                       "  value: 0.5\n"
                       "train:\n"
                       "  seed: 42\n"
                       "  lr: 0.002\n"
                       "  weight_decay: 0.0001\n"
                       "  epochs: 4\n"
                       "  batch_size: 64\n"
                       "  optimizer: adamw\n"
                       "  scheduler: cosine\n"
                       "  warmup: 6e-2\n"
                       "  loss: bce\n"
                       "  class_weights: none\n"
                       "  grad_clip: 1\n"
                       "  early_stopping:\n"
                       "    patience: 2\n"
                       "    metric: val_weighted_f1\n"
                       "head:\n"
                       "  dropout: .5\n"
                       "  layers:\n"
                       "    - 768\n"
                       "  activation: gelu\n"
                       "backbone:\n"
                       "  type: bow\n"
                       "  buckets: 1048576\n"
                       "  char_ngrams: [3, 5]\n"
                       "  dim: 128\n"
                       "  word_ngrams: 2\n"
                       "  lr_scale: 2.5e1\n"
                       "  pooling: mean\n"
                       "data:\n"
                       "  test: {path: " TEST_PATH ", format: goemotions}\n"
                       "  val: {format: goemotions, path: " VAL_PATH "}\n"
                       "  train:\n"
                       "    - path: " TRAIN_PATH "\n"
                       "      format: goemotions\n";
    el_spec s;
    int rc = el_spec_parse(same, strlen(same), "same.yaml", &s);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK(rc == EL_OK);
    CHECK_STR(s.config_hash, base.config_hash);
    CHECK(strcmp(s.resolved_json, base.resolved_json) != 0); /* the names differ */
    el_spec_free(&s);

    /* 0.4, .4, 4e-1, 0.40 hash the same; anchors and merge keys are just notation */
    const char *forms[] = {"0.4", ".4", "4e-1", "0.40", "40e-2"};
    char first[65] = "";
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char *set = el_printf("head.dropout=%s", forms[i]);
        const char *o[] = {set};
        CHECK(el_spec_load(bow, o, 1, &s) == EL_OK);
        if (i == 0) memcpy(first, s.config_hash, 65);
        CHECK_STR(s.config_hash, first);
        CHECK_HAS(s.resolved_json, "\"dropout\":0.4,");
        el_spec_free(&s);
        free(set);
    }
    CHECK(strcmp(first, base.config_hash) != 0);
    const char *merged = MIN_SPEC "defaults: &h {dropout: 0.1, layers: []}\n";
    rc = el_spec_parse(merged, strlen(merged), "m.yaml", &s);
    CHECK(rc == EL_ERR); /* `defaults` is not a key of the spec */
    const char *merged2 = "data: &d\n"
                          "  train: [{path: tr.csv, format: goemotions}]\n"
                          "  val: &v {path: va.csv, format: goemotions}\n"
                          "  test: {<<: *v, path: te.csv, format: columns}\n"
                          "name: other\n";
    rc = el_spec_parse(merged2, strlen(merged2), "m.yaml", &s);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK(rc == EL_OK);
    CHECK_STR(s.config_hash, MIN_HASH);
    el_spec_free(&s);

    /* any knob changes the hash, and each differently */
    const char *knobs[] = {
        "head.dropout=0.8",   "train.seed=43",          "head.layers=[768, 256]",
        "train.lr=0.0021",    "threshold.mode=global",  "data.train[0].limit=10",
        "backbone.char_ngrams=[2, 5]", "data.variant=other", "data.root=/data",
        "train.threads=2",    "head.activation=silu",   "data.val.path=v2.csv",
        "train.early_stopping.patience=3", "backbone.lowercase=false", "head.heads=2",
    };
    int32_t n = (int32_t)(sizeof knobs / sizeof knobs[0]);
    char hashes[16][65];
    for (int32_t i = 0; i < n; i++) {
        const char *o[] = {knobs[i]};
        rc = el_spec_load(bow, o, 1, &s);
        if (rc) fprintf(stderr, "%s\n", el_last_error());
        CHECK(rc == EL_OK);
        memcpy(hashes[i], s.config_hash, 65);
        CHECK(strcmp(s.config_hash, base.config_hash) != 0);
        for (int32_t j = 0; j < i; j++) CHECK(strcmp(hashes[i], hashes[j]) != 0);
        el_spec_free(&s);
    }
    /* ... but name, owner and notes do not */
    const char *names[] = {"name=renamed", "owner=someone", "notes=a note"};
    for (int32_t i = 0; i < 3; i++) {
        const char *o[] = {names[i]};
        CHECK(el_spec_load(bow, o, 1, &s) == EL_OK);
        CHECK_STR(s.config_hash, base.config_hash);
        CHECK(strcmp(s.resolved_json, base.resolved_json) != 0);
        el_spec_free(&s);
    }
    el_spec_free(&base);
    free(bow);
}

static void test_overrides(void) {
    char *bow = config_path("bow.yaml");
    el_spec s;
    const char *o1[] = {
        "head.layers=[512, 256]",
        "backbone.char_ngrams=[2, 4]",
        "data.train[0].limit=100",
        "head.dropout=0.3",
        "head.dropout=0.4", /* the later one wins */
        "notes=hello world",
        "threshold={mode: fixed, value: 0.3}",
        "train.early_stopping.patience=5",
        "head.norm=group",
        "head.norm_groups=4",
        "backbone.type=bow",
    };
    int rc = el_spec_load(bow, o1, (int32_t)(sizeof o1 / sizeof o1[0]), &s);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK(rc == EL_OK);
    if (rc == EL_OK) {
        CHECK(s.head.n_layers == 2 && s.head.layers[0] == 512 && s.head.layers[1] == 256);
        CHECK(s.backbone.char_ngram_min == 2 && s.backbone.char_ngram_max == 4);
        CHECK(s.data.train[0].limit == 100);
        CHECK(s.head.dropout == 0.4);
        CHECK_STR(s.notes, "hello world");
        CHECK_STR(s.threshold.mode, "fixed");
        CHECK(s.threshold.value == 0.3);
        CHECK(s.threshold.grid_step == 0.01); /* the section was replaced: defaults again */
        CHECK(s.train.es_patience == 5);
        CHECK_STR(s.train.es_metric, "val_weighted_f1");
        CHECK_STR(s.head.norm, "group");
        CHECK(s.head.norm_groups == 4);
        CHECK(s.train.epochs == 4); /* untouched keys keep the file's values */
        /* overridden values carry their origin */
        el_node *d = el_node_get(s.resolved, "head.dropout");
        CHECK(d && d->line == 0);
        CHECK_STR(d ? d->file : NULL, "--set head.dropout=0.4");
    }
    el_spec_free(&s);

    /* a null override restores the default; a list of sources makes the ext variant */
    const char *o2[] = {
        "head.dropout=~",
        "head.layers=",
        "data.train=[{path: a.csv, format: goemotions}, {path: b.csv, format: izard, enthusiasm: joy}]",
    };
    rc = el_spec_load(bow, o2, 3, &s);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK(rc == EL_OK);
    if (rc == EL_OK) {
        CHECK(s.head.dropout == 0.1);
        CHECK(s.head.n_layers == 0);
        CHECK(s.data.n_train == 2);
        CHECK_STR(s.data.variant, "ext");
        CHECK_STR(s.data.train[1].enthusiasm, "joy");
        CHECK_STR(s.data.train[1].neutral, "clear_if_emotion");
        CHECK_STR(s.data.train[0].text, "ru_text");
    }
    el_spec_free(&s);

    /* el_spec_apply_override on a tree */
    el_node *t = el_yaml_parse(MIN_SPEC, strlen(MIN_SPEC), "t.yaml");
    CHECK(el_spec_apply_override(t, "head.layers=[64]") == EL_OK);
    CHECK(el_spec_apply_override(t, "owner=ann") == EL_OK);
    CHECK(el_spec_from_node(t, "t.yaml", &s) == EL_OK);
    CHECK(s.head.n_layers == 1 && s.head.layers[0] == 64);
    CHECK_STR(s.owner, "ann");
    el_spec_free(&s);
    CHECK(el_spec_apply_override(t, "nokey") == EL_ERR);
    CHECK_STR(el_last_error(), "--set nokey: expected KEY=VALUE (like head.dropout=0.5 or head.layers=[512,256])");
    CHECK(el_spec_apply_override(t, "=5") == EL_ERR);
    el_node_free(t);
    free(bow);
}

static void test_paths(void) {
    const char *known[] = {"head.dropout", "head", "data.train", "data.train[1].path", "data.train.0",
                           "data.val.text", "data.test", "backbone.dim", "backbone.type",
                           "train.early_stopping.patience", "train.early_stopping", "threshold.value",
                           "name", "data.root", "backbone.char_ngrams"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        bool k = el_spec_path_known(known[i]);
        if (!k) fprintf(stderr, "not known: %s\n", known[i]);
        CHECK(k);
    }
    CHECK_STR(el_spec_path_type("head.dropout"), "float");
    CHECK_STR(el_spec_path_type("head.layers"), "list");
    CHECK_STR(el_spec_path_type("head.activation"), "enum");
    CHECK_STR(el_spec_path_type("train.seed"), "int");
    CHECK_STR(el_spec_path_type("head.residual"), "bool");
    CHECK_STR(el_spec_path_type("data.train"), "list");
    CHECK_STR(el_spec_path_type("data.train.0"), "source");
    CHECK_STR(el_spec_path_type("data.val"), "source");
    CHECK_STR(el_spec_path_type("data.train[0].path"), "string");
    CHECK_STR(el_spec_path_type("head"), "section");

    CHECK(!el_spec_path_known("head.dropuot"));
    CHECK_STR(el_last_error(), "head.dropuot: unknown parameter path, did you mean head.dropout? "
                               "(emolab run --help-spec lists them)");
    CHECK(!el_spec_path_known("hed.dropout"));
    CHECK_PREFIX(el_last_error(), "hed.dropout: unknown parameter path, did you mean head.dropout?");
    CHECK(!el_spec_path_known("head.lr"));
    CHECK_PREFIX(el_last_error(), "head.lr: unknown parameter path, did you mean train.lr?");
    CHECK(!el_spec_path_known("data.val.txt"));
    CHECK_PREFIX(el_last_error(), "data.val.txt: unknown parameter path, did you mean data.val.text?");
    const char *unknown[] = {"head.x", "head.dropout.x", "source.path", "", "data.train.path",
                             "data.train.99.path", "data..train", "backbone.nme", "x[0]"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        bool k = el_spec_path_known(unknown[i]);
        if (k) fprintf(stderr, "known but should not be: %s\n", unknown[i]);
        CHECK(!k);
        CHECK(el_spec_path_type(unknown[i]) == NULL);
    }
}

typedef struct {
    int32_t n;
    char first[64], last[64], prev[64];
    bool sorted;
    char layers[64], chars[64], dropout[64], train_head[64];
} params_seen;

static void on_param(const char *key, const char *json, void *ctx) {
    params_seen *p = ctx;
    if (p->n == 0) snprintf(p->first, sizeof p->first, "%s", key);
    if (p->n > 0 && strcmp(p->prev, key) >= 0) p->sorted = false;
    snprintf(p->prev, sizeof p->prev, "%s", key);
    snprintf(p->last, sizeof p->last, "%s", key);
    if (!strcmp(key, "head.layers")) snprintf(p->layers, sizeof p->layers, "%s", json);
    if (!strcmp(key, "backbone.char_ngrams")) snprintf(p->chars, sizeof p->chars, "%s", json);
    if (!strcmp(key, "head.dropout")) snprintf(p->dropout, sizeof p->dropout, "%s", json);
    if (!strcmp(key, "data.train")) snprintf(p->train_head, sizeof p->train_head, "%.30s", json);
    p->n++;
}

/* The resolved config is a spec: it reads back (as YAML, since JSON is YAML) into the same
 * resolved config and hash. Prediction and ensembles rebuild models from it. */
static void test_resolved_round_trip(void) {
    const char *files[] = {"bow.yaml", "bow-ext.yaml"};
    for (int i = 0; i < 2; i++) {
        char *path = config_path(files[i]);
        el_spec a, b;
        CHECK(el_spec_load(path, NULL, 0, &a) == EL_OK);
        int rc = el_spec_parse(a.resolved_json, strlen(a.resolved_json), "resolved.json", &b);
        if (rc) fprintf(stderr, "%s\n", el_last_error());
        CHECK(rc == EL_OK);
        if (rc == EL_OK) {
            CHECK_STR(b.resolved_json, a.resolved_json);
            CHECK_STR(b.config_hash, a.config_hash);
            el_spec_free(&b);
        }
        el_spec_free(&a);
        free(path);
    }
}

static void test_params(void) {
    char *bow = config_path("bow.yaml");
    el_spec s;
    CHECK(el_spec_load(bow, NULL, 0, &s) == EL_OK);
    params_seen p = {.sorted = true};
    el_spec_params(&s, on_param, &p);
    /* name owner notes (3) + data: labels variant train drop root (5) + val/test 9 each (18)
     * + backbone bow (8) + head (8) + train (17) + threshold (3) = 62 */
    CHECK(p.n == 62);
    CHECK(p.sorted);
    CHECK_STR(p.first, "backbone.buckets");
    CHECK_STR(p.last, "train.weight_decay");
    CHECK_STR(p.layers, "[768]");
    CHECK_STR(p.chars, "[3,5]");
    CHECK_STR(p.dropout, "0.5");
    CHECK_STR(p.train_head, "[{\"enthusiasm\":null,\"format\":\"");
    el_spec_free(&s);
    free(bow);
}

static void test_print_schema(void) {
    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (!f) return;
    el_spec_print_schema(f);
    long n = ftell(f);
    rewind(f);
    char *text = calloc(1, (size_t)n + 1);
    CHECK(fread(text, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    const char *want[] = {
        "head.dropout", "float, [0, 1); default 0.1", "relu|gelu|silu|leaky_relu|tanh",
        "none|layer|batch|group", "mean|sum|sqrt", "constant|linear|cosine",
        "(only when backbone.type is bow)", "train.lr", "float, > 0; default 0.001",
        "data.train", "list of sources (1..8); required", "single linear layer",
        "goemotions|izard|columns", "drop|joy|surprise", "keep|clear_if_emotion",
        "fixed|global|per_class", "val_weighted_f1|val_macro_f1|val_loss", "adamw|sgd",
        "bce|focal", "none|balanced", "cpu|cuda", "linear|mean", "threshold.grid_step",
        "train.early_stopping.patience", "backbone.char_ngrams", "[min, max] of int, each [0, 16]",
        "  path", "  enthusiasm", "data.drop_train_overlapping_eval", "backbone.lr_scale",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) CHECK_HAS(text, want[i]);
    free(text);
}

int main(void) {
    test_bow_yaml();
    test_bow_ext_yaml();
    test_defaults_and_hash();
    test_hash_equivalence();
    test_overrides();
    test_paths();
    test_resolved_round_trip();
    test_params();
    test_print_schema();
    return check_summary("spec_valid");
}
