/* metrics_tool: runs emolab's metric code on a case file and prints every number as JSON, for
 * the scikit-learn oracle (sklearn_oracle.py) to compare.
 *
 * usage: metrics_tool CASE.bin          -> JSON on stdout
 *        metrics_tool --bench N K REPS  -> timing of threshold tuning on random data (JSON)
 * CASE.bin: int64 n, int32 k, int32 n_names, then n_names NUL-terminated label names, then
 *           y_true (n*k uint8), y_pred (n*k uint8), probs (n*k float32), little-endian. */
#include "metrics.h"
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *metrics_json(const el_metrics *m) {
    json_t *o = json_object();
    json_t *cls = json_array();
    for (int32_t j = 0; j < m->n_labels; j++) {
        const el_class_metrics *c = &m->cls[j];
        json_array_append_new(cls, json_pack("{s:f,s:f,s:f,s:I,s:I,s:I,s:I}", "precision", c->precision,
                                             "recall", c->recall, "f1", c->f1, "support",
                                             (json_int_t)c->support, "tp", (json_int_t)c->tp, "fp",
                                             (json_int_t)c->fp, "fn", (json_int_t)c->fn));
    }
    json_object_set_new(o, "class", cls);
#define PUT(name) json_object_set_new(o, #name, json_real(m->name))
    PUT(micro_precision); PUT(micro_recall); PUT(micro_f1);
    PUT(macro_precision); PUT(macro_recall); PUT(macro_f1);
    PUT(weighted_precision); PUT(weighted_recall); PUT(weighted_f1);
    PUT(samples_precision); PUT(samples_recall); PUT(samples_f1);
#undef PUT
    json_object_set_new(o, "n_rows", json_integer(m->n_rows));
    json_object_set_new(o, "support", json_integer(m->support));
    return o;
}

static json_t *floats(const float *v, int32_t n) {
    json_t *a = json_array();
    for (int32_t i = 0; i < n; i++) json_array_append_new(a, json_real((double)v[i]));
    return a;
}

static int bench(int64_t n, int32_t k, int reps) {
    float *probs = malloc((size_t)(n * k) * sizeof(float));
    uint8_t *y = malloc((size_t)(n * k));
    uint64_t s = 12345;
    for (int64_t i = 0; i < n * k; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        float p = (float)((s >> 40) & 0xFFFFFF) / 16777216.0f;
        probs[i] = p;
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        y[i] = ((s >> 40) & 0xFFFFFF) / 16777216.0f < p * 0.6f;
    }
    float thr[EL_MAX_LABELS], x[128], f[128];
    double best_pc = 1e9, best_gl = 1e9, best_curve = 1e9, best_fixed_f1 = 1e9;
    for (int r = 0; r < reps; r++) {
        double t0 = el_now();
        el_thresholds_tune(probs, y, n, k, EL_THR_PER_CLASS, 0.5, 0.01, thr);
        double t1 = el_now();
        el_thresholds_tune(probs, y, n, k, EL_THR_GLOBAL, 0.5, 0.01, thr);
        double t2 = el_now();
        el_threshold_curve(probs, y, n, k, 0.01, x, f, 128);
        double t3 = el_now();
        for (int t = 1; t < 100; t++) el_weighted_f1_at(probs, y, n, k, (float)(t * 0.01));
        double t4 = el_now();
        if (t1 - t0 < best_pc) best_pc = t1 - t0;
        if (t2 - t1 < best_gl) best_gl = t2 - t1;
        if (t3 - t2 < best_curve) best_curve = t3 - t2;
        if (t4 - t3 < best_fixed_f1) best_fixed_f1 = t4 - t3;
    }
    printf("{\"n\": %lld, \"k\": %d, \"per_class_ms\": %.4f, \"global_ms\": %.4f, \"curve_ms\": %.4f, "
           "\"naive_99_thresholds_ms\": %.4f}\n",
           (long long)n, k, best_pc * 1e3, best_gl * 1e3, best_curve * 1e3, best_fixed_f1 * 1e3);
    free(probs);
    free(y);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 5 && !strcmp(argv[1], "--bench")) return bench(atoll(argv[2]), atoi(argv[3]), atoi(argv[4]));
    if (argc != 2) {
        fprintf(stderr, "usage: metrics_tool CASE.bin | --bench N K REPS\n");
        return 2;
    }
    char *data;
    size_t len;
    if (el_read_file(argv[1], &data, &len)) {
        fprintf(stderr, "%s\n", el_last_error());
        return 1;
    }
    const char *p = data;
    int64_t n;
    int32_t k, nn;
    memcpy(&n, p, 8); p += 8;
    memcpy(&k, p, 4); p += 4;
    memcpy(&nn, p, 4); p += 4;
    const char *names[EL_MAX_LABELS];
    for (int32_t j = 0; j < nn; j++) {
        names[j] = p;
        p += strlen(p) + 1;
    }
    const uint8_t *yt = (const uint8_t *)p; p += n * k;
    const uint8_t *yp = (const uint8_t *)p; p += n * k;
    float *probs = malloc((size_t)(n * k + 1) * sizeof(float));
    memcpy(probs, p, (size_t)(n * k) * sizeof(float));

    json_t *out = json_object();
    el_metrics m;
    el_metrics_compute(yt, yp, n, k, &m);
    json_object_set_new(out, "metrics", metrics_json(&m));
    char *rep2 = el_metrics_report(&m, nn ? names : NULL);
    char *rep4 = el_metrics_report_digits(&m, nn ? names : NULL, 4);
    json_object_set_new(out, "report2", json_string(rep2));
    json_object_set_new(out, "report4", json_string(rep4));
    free(rep2);
    free(rep4);

    const double steps[] = {0.01, 0.1, 0.03};
    json_t *tune = json_object();
    for (size_t si = 0; si < sizeof steps / sizeof steps[0]; si++) {
        char key[32];
        float thr[EL_MAX_LABELS];
        json_t *o = json_object();
        el_thresholds_tune(probs, yt, n, k, EL_THR_FIXED, 0.4, steps[si], thr);
        json_object_set_new(o, "fixed", floats(thr, k));
        el_thresholds_tune(probs, yt, n, k, EL_THR_GLOBAL, 0.5, steps[si], thr);
        json_object_set_new(o, "global", floats(thr, k));
        el_thresholds_tune(probs, yt, n, k, EL_THR_PER_CLASS, 0.5, steps[si], thr);
        json_object_set_new(o, "per_class", floats(thr, k));
        /* metrics after applying per-class thresholds */
        uint8_t *pred = malloc((size_t)(n * k + 1));
        el_apply_thresholds(probs, thr, n, k, pred);
        el_metrics m2;
        el_metrics_compute(yt, pred, n, k, &m2);
        json_object_set_new(o, "per_class_metrics", metrics_json(&m2));
        free(pred);
        float x[2048], f[2048];
        int32_t c = el_threshold_curve(probs, yt, n, k, steps[si], x, f, 2048);
        json_object_set_new(o, "curve_x", floats(x, c));
        json_object_set_new(o, "curve_f1", floats(f, c));
        json_t *at = json_array();
        for (int32_t i = 0; i < c; i++) json_array_append_new(at, json_real(el_weighted_f1_at(probs, yt, n, k, x[i])));
        json_object_set_new(o, "weighted_f1_at", at);
        snprintf(key, sizeof key, "%g", steps[si]);
        json_object_set_new(tune, key, o);
    }
    json_object_set_new(out, "tune", tune);
    char *s = json_dumps(out, JSON_REAL_PRECISION(17) | JSON_COMPACT);
    puts(s);
    free(s);
    json_decref(out);
    free(probs);
    free(data);
    return 0;
}
