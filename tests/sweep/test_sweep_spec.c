/* test_sweep_spec.c: sweep files (runner/sweep_spec.c): grid order and counts, seeds, run_cap,
 * seeded random sampling (reproducible per index, within bounds, distributions roughly right),
 * W&B's nested parameters, the bad inputs with their positions, base resolution from
 * files, and the sweeps under configs/sweeps. Expected values are worked out by hand from the
 * sweep texts. */
#define _GNU_SOURCE
#include "../spec/check.h"
#include "spec.h"
#include "sweep_spec.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef EMOLAB_SOURCE_DIR
#define EMOLAB_SOURCE_DIR "."
#endif

static const char *BASE_SPEC = "name: base\n"
                               "data:\n"
                               "  train: [{path: tr.csv, format: goemotions}]\n"
                               "  val: {path: va.csv, format: goemotions}\n"
                               "  test: {path: te.csv, format: goemotions}\n"
                               "head: {layers: [768]}\n";

static el_node *g_base;

static int parse(const char *text, const char *file, el_sweep *s) {
    return el_sweep_parse(text, strlen(text), file, NULL, g_base, s);
}

static const char *fails(const char *text) {
    el_sweep s;
    el_clear_error();
    int rc = parse(text, "bad.yaml", &s);
    CHECK(rc == EL_ERR);
    if (rc == EL_OK) {
        fprintf(stderr, "unexpectedly accepted:\n%s\n", text);
        el_sweep_free(&s);
        return "";
    }
    CHECK(s.params == NULL && s.base == NULL);
    return el_last_error();
}

/* The spec of trial i (validated), or a failed check. */
static bool trial_spec(const el_sweep *s, int64_t i, el_spec *out, char **assignment) {
    el_node *t = el_sweep_trial(s, i, assignment);
    if (!t) {
        fprintf(stderr, "trial %lld: %s\n", (long long)i, el_last_error());
        CHECK(t != NULL);
        return false;
    }
    int rc = el_spec_from_node(t, "trial", out);
    el_node_free(t);
    CHECK(rc == EL_OK);
    return rc == EL_OK;
}

static void test_grid(void) {
    const char *text = "method: grid\n"
                       "parameters:\n"
                       "  head.dropout: {values: [0.1, 0.5]}\n"
                       "  head.activation: {values: [relu, gelu, silu]}\n"
                       "  train.epochs: {value: 3}\n"
                       "seeds: [7, 8]\n";
    el_sweep s;
    int rc = parse(text, "grid.yaml", &s);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK(rc == EL_OK);
    if (rc) return;
    CHECK_STR(s.name, "grid");
    CHECK(s.method == EL_SWEEP_GRID);
    CHECK(s.n_params == 3 && s.n_seeds == 2);
    CHECK(s.n_configs == 6 && s.n_trials == 12);
    CHECK_STR(s.metric_name, "val_weighted_f1");
    CHECK(s.maximize);
    CHECK(!s.hyperband);
    CHECK_STR(s.params[0].path, "head.dropout");
    CHECK(s.params[0].kind == EL_PARAM_CATEGORICAL && s.params[0].line == 3 && s.params[0].col == 3);
    CHECK(s.params[2].kind == EL_PARAM_VALUE);
    /* the last parameter varies fastest, seeds innermost */
    struct {
        int64_t i;
        double dropout;
        const char *act;
        int64_t seed;
    } want[] = {{0, 0.1, "relu", 7}, {1, 0.1, "relu", 8}, {2, 0.1, "gelu", 7}, {5, 0.1, "silu", 8},
                {6, 0.5, "relu", 7}, {9, 0.5, "gelu", 8}, {11, 0.5, "silu", 8}};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        el_spec sp;
        if (!trial_spec(&s, want[k].i, &sp, NULL)) continue;
        CHECK(sp.head.dropout == want[k].dropout);
        CHECK_STR(sp.head.activation, want[k].act);
        CHECK(sp.train.seed == want[k].seed);
        CHECK(sp.train.epochs == 3);
        CHECK(sp.head.n_layers == 1 && sp.head.layers[0] == 768); /* from the base */
        char name[32];
        snprintf(name, sizeof name, "grid-%lld", (long long)want[k].i);
        CHECK_STR(sp.name, name);
        el_spec_free(&sp);
    }
    char *a = NULL;
    el_node *t = el_sweep_trial(&s, 5, &a);
    CHECK_STR(a, "{\"head.activation\":\"silu\",\"head.dropout\":0.1,\"train.epochs\":3,\"train.seed\":8}");
    /* parameter values keep their place in the sweep file */
    el_node *d = el_node_get(t, "head.dropout");
    CHECK(d && d->line == 3 && d->col == 27);
    CHECK_STR(d ? d->file : NULL, "grid.yaml");
    free(a);
    el_node_free(t);
    CHECK(el_sweep_trial(&s, 12, NULL) == NULL);
    CHECK_PREFIX(el_last_error(), "grid.yaml: trial 12 does not exist (the sweep has 12)");
    CHECK(el_sweep_trial(&s, -1, NULL) == NULL);
    /* all 12 trials differ in their config hash */
    char hashes[12][65];
    for (int64_t i = 0; i < 12; i++) {
        el_spec sp;
        if (!trial_spec(&s, i, &sp, NULL)) continue;
        memcpy(hashes[i], sp.config_hash, 65);
        for (int64_t j = 0; j < i; j++) CHECK(strcmp(hashes[i], hashes[j]) != 0);
        el_spec_free(&sp);
    }
    el_sweep_free(&s);
    CHECK(s.params == NULL && s.base == NULL);

    /* run_cap caps the trials; int_uniform and q_uniform enumerate */
    const char *text2 = "name: g2\n"
                        "method: grid\n"
                        "run_cap: 5\n"
                        "parameters:\n"
                        "  head.heads: {distribution: int_uniform, min: 2, max: 4}\n"
                        "  train.warmup: {distribution: q_uniform, min: 0, max: 0.1, q: 0.05}\n";
    rc = parse(text2, "g2.yaml", &s);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK(rc == EL_OK);
    if (rc) return;
    CHECK(s.n_configs == 9 && s.n_trials == 5);
    el_spec sp;
    if (trial_spec(&s, 4, &sp, &a)) { /* config 4: heads index 1 (3), warmup index 1 (0.05) */
        CHECK(sp.head.heads == 3);
        CHECK(sp.train.warmup == 0.05);
        CHECK(sp.train.seed == 42); /* no seeds: the base's */
        CHECK_STR(a, "{\"head.heads\":3,\"train.warmup\":0.05}");
        free(a);
        el_spec_free(&sp);
    }
    CHECK(el_sweep_trial(&s, 5, NULL) == NULL);
    el_sweep_free(&s);

    /* seeds alone are a sweep */
    rc = parse("method: grid\nseeds: [1, 2, 3]\n", "seeds.yaml", &s);
    CHECK(rc == EL_OK);
    if (rc == EL_OK) {
        CHECK(s.n_configs == 1 && s.n_trials == 3);
        if (trial_spec(&s, 2, &sp, &a)) {
            CHECK(sp.train.seed == 3);
            CHECK_STR(a, "{\"train.seed\":3}");
            free(a);
            el_spec_free(&sp);
        }
        el_sweep_free(&s);
    }
}

static void test_nested(void) {
    const char *dotted = "method: grid\nparameters:\n  head.dropout: {values: [0.1, 0.5]}\n  train.epochs: {value: 3}\n";
    const char *nested = "method: grid\nparameters:\n  head:\n    parameters:\n      dropout: {values: [0.1, 0.5]}\n"
                         "  train:\n    parameters:\n      epochs: {value: 3}\n";
    el_sweep a, b;
    CHECK(parse(dotted, "x.yaml", &a) == EL_OK);
    CHECK(parse(nested, "x.yaml", &b) == EL_OK);
    CHECK(a.n_trials == 2 && b.n_trials == 2);
    for (int64_t i = 0; i < 2; i++) {
        char *ja = NULL, *jb = NULL;
        el_node *ta = el_sweep_trial(&a, i, &ja), *tb = el_sweep_trial(&b, i, &jb);
        CHECK(ta && tb && el_node_equal(ta, tb));
        CHECK_STR(ja, jb);
        free(ja);
        free(jb);
        el_node_free(ta);
        el_node_free(tb);
    }
    el_sweep_free(&a);
    el_sweep_free(&b);
}

static void test_random(void) {
    const char *text = "method: random\n"
                       "run_cap: 400\n"
                       "sampler_seed: 3\n"
                       "metric: {name: val_loss}\n"
                       "parameters:\n"
                       "  head.dropout: {min: 0.2, max: 0.4}\n"
                       "  head.heads: {min: 1, max: 4}\n"
                       "  train.lr: {distribution: log_uniform_values, min: 1e-4, max: 1e-2}\n"
                       "  train.batch_size: {distribution: q_uniform, min: 16, max: 128, q: 16}\n"
                       "  head.activation: {values: [relu, gelu], probabilities: [0.25, 0.75]}\n"
                       "  train.warmup: {distribution: normal, mu: 0.5, sigma: 0.05}\n";
    el_sweep s;
    int rc = parse(text, "rand.yaml", &s);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK(rc == EL_OK);
    if (rc) return;
    CHECK(s.method == EL_SWEEP_RANDOM && s.n_trials == 400 && s.n_configs == 400);
    CHECK_STR(s.metric_name, "val_loss");
    CHECK(!s.maximize); /* a loss is minimised unless goal says otherwise */
    CHECK(s.params[0].kind == EL_PARAM_UNIFORM);     /* inferred from float min/max */
    CHECK(s.params[1].kind == EL_PARAM_INT_UNIFORM); /* inferred from integer min/max */
    CHECK(s.params[1].int_path && !s.params[0].int_path);
    int heads_seen[5] = {0}, batch_seen[9] = {0}, gelu = 0, n = 0;
    double log_lr_sum = 0, w_sum = 0, w_sq = 0;
    bool in_bounds = true;
    for (int64_t i = 0; i < s.n_trials; i++) {
        el_spec sp;
        if (!trial_spec(&s, i, &sp, NULL)) continue;
        n++;
        in_bounds &= sp.head.dropout >= 0.2 && sp.head.dropout <= 0.4;
        in_bounds &= sp.head.heads >= 1 && sp.head.heads <= 4;
        if (sp.head.heads >= 1 && sp.head.heads <= 4) heads_seen[sp.head.heads]++;
        in_bounds &= sp.train.lr >= 1e-4 && sp.train.lr <= 1e-2;
        log_lr_sum += log10(sp.train.lr);
        in_bounds &= sp.train.batch_size % 16 == 0 && sp.train.batch_size >= 16 && sp.train.batch_size <= 128;
        if (sp.train.batch_size % 16 == 0 && sp.train.batch_size >= 16 && sp.train.batch_size <= 128)
            batch_seen[sp.train.batch_size / 16]++;
        gelu += !strcmp(sp.head.activation, "gelu");
        w_sum += sp.train.warmup;
        w_sq += sp.train.warmup * sp.train.warmup;
        el_spec_free(&sp);
    }
    CHECK(n == 400);
    CHECK(in_bounds);
    for (int k = 1; k <= 4; k++) CHECK(heads_seen[k] > 60); /* ~100 each */
    for (int k = 1; k <= 8; k++) CHECK(batch_seen[k] > 25); /* ~50 each */
    double mean_log = log_lr_sum / n;                        /* -3 for log-uniform on [1e-4, 1e-2] */
    CHECK(mean_log > -3.15 && mean_log < -2.85);
    CHECK(gelu > 260 && gelu < 340); /* 0.75 * 400 = 300 */
    double wm = w_sum / n, wsd = sqrt(w_sq / n - wm * wm);
    CHECK(wm > 0.49 && wm < 0.51);
    CHECK(wsd > 0.04 && wsd < 0.06);

    /* a trial depends on its index only: the same whatever was drawn before, and in a new parse */
    char *a17 = NULL, *b17 = NULL, *c0 = NULL, *d0 = NULL;
    el_node *t = el_sweep_trial(&s, 17, &a17);
    el_node_free(t);
    el_sweep s2;
    CHECK(parse(text, "rand.yaml", &s2) == EL_OK);
    t = el_sweep_trial(&s2, 17, &b17);
    el_node_free(t);
    CHECK_STR(a17, b17);
    t = el_sweep_trial(&s2, 0, &c0);
    el_node_free(t);
    el_sweep_free(&s2);
    /* another sampler_seed draws other trials */
    char *other = el_printf("%s", text);
    char *p = strstr(other, "sampler_seed: 3");
    p[14] = '4';
    CHECK(parse(other, "rand.yaml", &s2) == EL_OK);
    t = el_sweep_trial(&s2, 0, &d0);
    el_node_free(t);
    CHECK(c0 && d0 && strcmp(c0, d0) != 0);
    el_sweep_free(&s2);
    free(other);
    free(a17);
    free(b17);
    free(c0);
    free(d0);
    el_sweep_free(&s);

    /* with seeds, consecutive trials share a configuration */
    const char *text3 = "method: random\nrun_cap: 6\nseeds: [1, 2]\nparameters:\n  head.dropout: {min: 0.1, max: 0.9}\n";
    CHECK(parse(text3, "r3.yaml", &s) == EL_OK);
    CHECK(s.n_configs == 3 && s.n_trials == 6);
    el_spec x, y, z;
    if (trial_spec(&s, 2, &x, NULL) && trial_spec(&s, 3, &y, NULL) && trial_spec(&s, 4, &z, NULL)) {
        CHECK(x.head.dropout == y.head.dropout && x.train.seed == 1 && y.train.seed == 2);
        CHECK(y.head.dropout != z.head.dropout);
        el_spec_free(&x);
        el_spec_free(&y);
        el_spec_free(&z);
    }
    el_sweep_free(&s);
}

static void test_bad(void) {
    /* the list: unknown path, missing bounds, min > max, empty values, grid over a
     * continuous distribution */
    CHECK_PREFIX(fails("method: grid\nparameters:\n  hed.dropout: {values: [0.1]}\n"),
                 "bad.yaml:3:3: parameters.hed.dropout: unknown parameter path, did you mean head.dropout?");
    CHECK_PREFIX(fails("method: grid\nparameters:\n  head.dropuot: {values: [0.1]}\n"),
                 "bad.yaml:3:3: parameters.head.dropuot: unknown parameter path, did you mean head.dropout?");
    CHECK_STR(fails("method: random\nrun_cap: 5\nparameters:\n  train.lr: {distribution: log_uniform_values, min: 1e-4}\n"),
              "bad.yaml:4:3: parameters.train.lr: distribution log_uniform_values needs both min and max (max is missing)");
    CHECK_PREFIX(fails("method: random\nrun_cap: 5\nparameters:\n  train.lr: {distribution: uniform}\n"),
                 "bad.yaml:4:3: parameters.train.lr: distribution uniform needs both min and max");
    CHECK_STR(fails("method: random\nrun_cap: 5\nparameters:\n  train.epochs: {min: 10, max: 2}\n"),
              "bad.yaml:4:23: parameters.train.epochs: min 10 is larger than max 2");
    CHECK_STR(fails("method: random\nrun_cap: 5\nparameters:\n  head.activation: {values: []}\n"),
              "bad.yaml:4:29: parameters.head.activation.values: an empty list; give at least one value");
    CHECK_PREFIX(fails("method: grid\nparameters:\n  head.dropout: {min: 0.1, max: 0.9}\n"),
                 "bad.yaml:3:3: parameters.head.dropout: method grid cannot enumerate distribution uniform (continuous)");
    CHECK_PREFIX(fails("method: grid\nparameters:\n  train.lr: {distribution: log_uniform_values, min: 1e-4, max: 1e-2}\n"),
                 "bad.yaml:3:3: parameters.train.lr: method grid cannot enumerate distribution log_uniform_values");
    CHECK_PREFIX(fails("method: grid\nparameters:\n  train.warmup: {distribution: normal, mu: 0.1, sigma: 0.01}\n"),
                 "bad.yaml:3:3: parameters.train.warmup: method grid cannot enumerate distribution normal");
    /* values the spec refuses, at their place in the sweep file */
    CHECK_STR(fails("method: grid\nparameters:\n  head.dropout: {values: [0.5, 1.5]}\n"),
              "bad.yaml:3:32: head.dropout: 1.5 is out of range, allowed [0, 1)");
    CHECK_STR(fails("method: grid\nparameters:\n  head.norm: {values: [none, rms]}\n"),
              "bad.yaml:3:30: head.norm: unknown value 'rms', allowed none|layer|batch|group");
    CHECK_STR(fails("method: random\nrun_cap: 5\nparameters:\n  head.dropout: {min: 0.5, max: 1.5}\n"),
              "bad.yaml:4:3: head.dropout: 1.5 is out of range, allowed [0, 1)");
    /* a combination the spec refuses (norm needs hidden layers) */
    CHECK_PREFIX(fails("method: grid\nparameters:\n  head.layers: {values: [[], [256]]}\n  head.norm: {values: [layer]}\n"),
                 "bad.yaml:4:24: head.norm: layer normalisation needs hidden layers");
    /* other keys */
    CHECK_PREFIX(fails("method: grid\nprogram: train.py\nseeds: [1]\n"),
                 "bad.yaml:2:1: program: a W&B key emolab does not use");
    CHECK_HAS(fails("methd: grid\nseeds: [1]\n"), "bad.yaml:1:1: method: missing, required");
    CHECK_HAS(el_last_error(), "bad.yaml:1:1: methd: unknown key, did you mean method?");
    CHECK_STR(fails("method: gird\nseeds: [1]\n"),
              "bad.yaml:1:9: method: unknown value 'gird', did you mean grid? allowed grid|random|bayes");
    CHECK_PREFIX(fails("method: random\nparameters:\n  head.dropout: {values: [0.1]}\n"),
                 "bad.yaml:1:1: run_cap: missing; method random needs run_cap");
    CHECK_PREFIX(fails("method: grid\nseeds: [1]\nmetric: {name: test_weighted_f1}\n"),
                 "bad.yaml:3:16: metric.name: 'test_weighted_f1': the test split is never used for a choice");
    CHECK_STR(fails("method: grid\nseeds: [1, 1]\n"), "bad.yaml:2:12: seeds[1]: seed 1 is given twice");
    CHECK_PREFIX(fails("method: grid\nseeds: [1, 2]\nparameters:\n  train.seed: {values: [3]}\n"),
                 "bad.yaml:4:3: parameters.train.seed: the seeds are given by `seeds`");
    CHECK_PREFIX(fails("method: grid\nseeds: [1]\nearly_terminate: {type: hyperband}\n"),
                 "bad.yaml:3:18: early_terminate: hyperband needs min_iter or max_iter");
    CHECK_PREFIX(fails("method: grid\nseeds: [1]\nearly_terminate: {type: hyperband, min_iter: 1, eta: 1}\n"),
                 "bad.yaml:3:54: early_terminate.eta: 1 is out of range, allowed > 1");
    CHECK_PREFIX(fails("method: grid\n"), "bad.yaml:1:1: parameters: nothing to sweep");
    CHECK_PREFIX(fails("method: grid\nname: ../x\nseeds: [1]\n"), "bad.yaml:2:7: name: '../x' is not a safe name");
    CHECK_PREFIX(fails("method: random\nrun_cap: 3\nparameters:\n  head.activation: {min: 1, max: 2}\n"),
                 "bad.yaml:4:3: parameters.head.activation: a numeric distribution for a key that takes enum");
    CHECK_PREFIX(fails("method: random\nrun_cap: 3\nparameters:\n  head.activation: {values: [relu, gelu], probabilities: [0.5]}\n"),
                 "bad.yaml:4:58: parameters.head.activation.probabilities: expected a list of 2 probabilities");
    CHECK_PREFIX(fails("method: random\nrun_cap: 3\nparameters:\n  head.activation: {values: [relu, gelu], probabilities: [0.5, 0.6]}\n"),
                 "bad.yaml:4:58: parameters.head.activation.probabilities: they sum to 1.1, not 1");
    CHECK_PREFIX(fails("method: grid\nparameters:\n  head.dropout: {values: [0.1], min: 0.1}\n"),
                 "bad.yaml:3:3: parameters.head.dropout: give one of value, values, or min/max");
    CHECK_PREFIX(fails("method: grid\nparameters:\n  head.dropout: 0.5\n"),
                 "bad.yaml:3:3: parameters.head.dropout: expected a mapping ({value: x}, {values: [...]}");
    CHECK_PREFIX(fails("method: grid\nparameters:\n  head.dropout: {valeus: [0.1]}\n"),
                 "bad.yaml:3:18: parameters.head.dropout.valeus: unknown key, did you mean parameters.head.dropout.values?");
    CHECK_PREFIX(fails("method: grid\nparameters:\n  head.dropout: {distribution: unifrom, min: 0, max: 1}\n"),
                 "bad.yaml:3:32: parameters.head.dropout.distribution: unknown value 'unifrom', did you mean uniform?");
    CHECK_PREFIX(fails("method: grid\nparameters:\n  name: {values: [a, b]}\n"),
                 "bad.yaml:3:3: parameters.name: trial names are made by the sweep");
    /* a grid too large to enumerate: 20^5 = 3.2M configurations */
    CHECK_PREFIX(fails("method: grid\nparameters:\n"
                       "  train.epochs: {min: 1, max: 20}\n  train.batch_size: {min: 1, max: 20}\n"
                       "  head.heads: {min: 1, max: 16}\n  train.threads: {min: 1, max: 20}\n"
                       "  backbone.dim: {min: 1, max: 20}\n"),
                 "bad.yaml: parameters: the grid has more than 1000000 configurations");
    /* a sweep file that is not a mapping; not YAML */
    CHECK_PREFIX(fails("[1, 2]\n"), "bad.yaml:1:1: a sweep file is a mapping");
    CHECK_PREFIX(fails("method: [grid\n"), "bad.yaml:2:1: did not find expected ',' or ']'");

    /* without a base tree, `base` is needed and read from disk */
    el_sweep s;
    const char *nb = "method: grid\nseeds: [1]\n";
    CHECK(el_sweep_parse(nb, strlen(nb), "nb.yaml", NULL, NULL, &s) == EL_ERR);
    CHECK_PREFIX(el_last_error(), "nb.yaml:1:1: base: missing, required");
    const char *mb = "base: nope.yaml\nmethod: grid\nseeds: [1]\n";
    CHECK(el_sweep_parse(mb, strlen(mb), "dir/mb.yaml", NULL, NULL, &s) == EL_ERR);
    CHECK_PREFIX(el_last_error(), "dir/mb.yaml:1:7: base: dir/nope.yaml: cannot open");
}

static char *write_tmp(const char *dir, const char *name, const char *text) {
    char *p = el_path_join(dir, name);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return p;
}

static void test_files(void) {
    char dir[] = "/tmp/emolab_sweep_test_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *sub = el_path_join(dir, "sweeps");
    CHECK(el_mkdirs(sub, 0755) == EL_OK);
    char *base = write_tmp(dir, "base.yaml", BASE_SPEC);
    char *sw = write_tmp(sub, "study.yaml", "base: ../base.yaml\nmethod: grid\nparameters:\n  head.heads: {values: [1, 2]}\n");
    el_sweep s;
    int rc = el_sweep_load(sw, &s);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK(rc == EL_OK);
    if (rc == EL_OK) {
        CHECK_STR(s.name, "study");
        CHECK(s.n_trials == 2);
        char *want = el_printf("%s/../base.yaml", sub);
        CHECK_STR(s.base_path, want);
        free(want);
        el_spec sp;
        if (trial_spec(&s, 1, &sp, NULL)) {
            CHECK(sp.head.heads == 2);
            CHECK_STR(sp.name, "study-1");
            el_spec_free(&sp);
        }
        el_sweep_free(&s);
    }
    unlink(sw);
    unlink(base);
    rmdir(sub);
    rmdir(dir);
    free(sw);
    free(base);
    free(sub);
}

static void test_configs(void) {
    struct {
        const char *file;
        int64_t trials;
    } want[] = {{"bow-dropout.yaml", 18}, {"bow-hidden.yaml", 18}, {"bow-activation.yaml", 15},
                {"bow-norm.yaml", 12},    {"bow-heads.yaml", 42},  {"bow-residual.yaml", 6},
                {"bow-loss.yaml", 12},    {"bow-data.yaml", 6},    {"bow-random.yaml", 40}};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        char *p = el_printf("%s/configs/sweeps/%s", el_env("EMOLAB_SOURCE_DIR", EMOLAB_SOURCE_DIR), want[k].file);
        el_sweep s;
        int rc = el_sweep_load(p, &s);
        if (rc) fprintf(stderr, "%s\n", el_last_error());
        CHECK(rc == EL_OK);
        if (rc == EL_OK) {
            CHECK(s.n_trials == want[k].trials);
            for (int64_t i = 0; i < s.n_trials; i++) {
                el_node *t = el_sweep_trial(&s, i, NULL);
                if (!t) fprintf(stderr, "%s trial %lld: %s\n", want[k].file, (long long)i, el_last_error());
                CHECK(t != NULL);
                el_node_free(t);
            }
            if (!strcmp(want[k].file, "bow-data.yaml")) {
                el_spec a, b;
                if (trial_spec(&s, 1, &a, NULL) && trial_spec(&s, 3, &b, NULL)) {
                    CHECK_STR(a.data.variant, "orig");
                    CHECK(a.data.n_train == 1 && a.train.seed == 2);
                    CHECK_STR(b.data.variant, "ext");
                    CHECK(b.data.n_train == 2 && b.train.seed == 1);
                    el_spec_free(&a);
                    el_spec_free(&b);
                }
            }
            if (!strcmp(want[k].file, "bow-random.yaml")) CHECK(s.hyperband && s.hb_min_iter == 2 && s.hb_eta == 3);
            el_sweep_free(&s);
        }
        free(p);
    }
}

int main(void) {
    g_base = el_yaml_parse(BASE_SPEC, strlen(BASE_SPEC), "base.yaml");
    test_grid();
    test_nested();
    test_random();
    test_bad();
    test_files();
    test_configs();
    el_node_free(g_base);
    return check_summary("sweep_spec");
}
