/* test_sweep_bayes.c: method bayes is a real model-based search. On a synthetic objective over
 * the spec's parameters (a known optimum, no training), TPE (el_sweep_suggest) with a budget of
 * 40 configurations must beat random search (the same sweep with method random) with the same
 * budget, over 20 sampler seeds: a higher mean best value and more wins than losses. Also: the
 * first EL_SWEEP_BAYES_STARTUP configurations are the random draws, suggestions are
 * deterministic, stay inside the ranges and validate as specs. */
#include "../spec/check.h"
#include "spec.h"
#include "sweep_spec.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *BASE_SPEC = "data:\n"
                               "  train: [{path: tr.csv, format: goemotions}]\n"
                               "  val: {path: va.csv, format: goemotions}\n"
                               "  test: {path: te.csv, format: goemotions}\n"
                               "head: {layers: [768]}\n";

#define BUDGET 40
#define SEEDS 20

static char *sweep_text(const char *method, int seed) {
    return el_printf("method: %s\n"
                     "run_cap: %d\n"
                     "sampler_seed: %d\n"
                     "parameters:\n"
                     "  head.dropout: {min: 0.0, max: 0.95}\n"
                     "  train.lr: {distribution: log_uniform_values, min: 1e-5, max: 1e-1}\n"
                     "  head.heads: {min: 1, max: 16}\n"
                     "  head.activation: {values: [relu, gelu, silu, leaky_relu, tanh]}\n",
                     method, BUDGET, seed);
}

static double num(const el_node *n) { return n && n->scalar ? strtod(n->scalar, NULL) : NAN; }

/* Best at dropout 0.85, lr 2e-3, 5 heads, gelu: f = 1. */
static double objective(el_node *const *v) {
    double d = num(v[0]), lr = num(v[1]), h = num(v[2]);
    double f = -pow((d - 0.85) / 0.1, 2) - pow((log10(lr) + 2.7) / 0.4, 2) - pow((h - 5) / 3, 2);
    return f + (v[3] && v[3]->scalar && !strcmp(v[3]->scalar, "gelu") ? 1.0 : 0.0);
}

static double run(const char *method, int seed, el_node *base) {
    char *text = sweep_text(method, seed);
    el_sweep s;
    int rc = el_sweep_parse(text, strlen(text), "syn.yaml", NULL, base, &s);
    free(text);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK(rc == EL_OK);
    if (rc) return NAN;
    el_node *vals[BUDGET][4];
    el_sweep_obs obs[BUDGET];
    double best = -INFINITY;
    bool inside = true;
    for (int32_t c = 0; c < BUDGET; c++) {
        CHECK(el_sweep_suggest(&s, c, obs, c, vals[c]) == EL_OK);
        double f = objective(vals[c]);
        inside &= num(vals[c][0]) >= 0 && num(vals[c][0]) <= 0.95;
        inside &= num(vals[c][1]) >= 1e-5 && num(vals[c][1]) <= 1e-1;
        inside &= num(vals[c][2]) >= 1 && num(vals[c][2]) <= 16 && el_number_kind(vals[c][2]->scalar) == 1;
        obs[c] = (el_sweep_obs){vals[c], f};
        if (f > best) best = f;
    }
    CHECK(inside);
    /* the last suggestion is a valid trial spec */
    el_node *t = el_sweep_make_trial(&s, vals[BUDGET - 1], 1, BUDGET - 1);
    el_spec sp;
    CHECK(t && el_spec_from_node(t, "syn", &sp) == EL_OK);
    if (t) el_spec_free(&sp);
    el_node_free(t);
    for (int32_t c = 0; c < BUDGET; c++)
        for (int j = 0; j < 4; j++) el_node_free(vals[c][j]);
    el_sweep_free(&s);
    return best;
}

int main(void) {
    el_node *base = el_yaml_parse(BASE_SPEC, strlen(BASE_SPEC), "base.yaml");
    double sum_tpe = 0, sum_rnd = 0;
    int wins = 0, losses = 0;
    for (int seed = 1; seed <= SEEDS; seed++) {
        double b = run("bayes", seed, base), r = run("random", seed, base);
        sum_tpe += b;
        sum_rnd += r;
        wins += b > r;
        losses += b < r;
    }
    printf("mean best over %d seeds, budget %d: bayes (TPE) %.3f, random %.3f; bayes wins %d, loses %d\n",
           SEEDS, BUDGET, sum_tpe / SEEDS, sum_rnd / SEEDS, wins, losses);
    CHECK(sum_tpe > sum_rnd);
    CHECK(wins > losses);

    /* startup: the first configurations are the random draws; suggestions are deterministic */
    char *text = sweep_text("bayes", 5);
    el_sweep s;
    CHECK(el_sweep_parse(text, strlen(text), "syn.yaml", NULL, base, &s) == EL_OK);
    el_node *a[4], *b[4], *hist[12][4];
    el_sweep_obs obs[12];
    CHECK(el_sweep_suggest(&s, 3, obs, 0, a) == EL_OK);
    CHECK(el_sweep_config_values(&s, 3, b) == EL_OK);
    for (int j = 0; j < 4; j++) CHECK(el_node_equal(a[j], b[j]));
    for (int j = 0; j < 4; j++) el_node_free(a[j]), el_node_free(b[j]);
    for (int c = 0; c < 12; c++) {
        el_sweep_config_values(&s, c, hist[c]);
        obs[c] = (el_sweep_obs){hist[c], c == 4 ? NAN : objective(hist[c])}; /* one failed trial */
    }
    CHECK(el_sweep_suggest(&s, 12, obs, 12, a) == EL_OK);
    CHECK(el_sweep_suggest(&s, 12, obs, 12, b) == EL_OK);
    for (int j = 0; j < 4; j++) CHECK(el_node_equal(a[j], b[j]));
    for (int j = 0; j < 4; j++) el_node_free(a[j]), el_node_free(b[j]);
    for (int c = 0; c < 12; c++)
        for (int j = 0; j < 4; j++) el_node_free(hist[c][j]);
    el_sweep_free(&s);
    free(text);
    el_node_free(base);
    return check_summary("sweep_bayes");
}
