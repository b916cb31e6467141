/* metrics.c: see metrics.h.
 *
 * Everything follows scikit-learn 1.2's precision_recall_fscore_support with zero_division=0,
 * including the order of floating-point operations where it is cheap to do so: per class
 * p = tp/(tp+fp), r = tp/(tp+fn), f = (2*p)*r/(p+r); weighted = sum(f*support)/sum(support).
 *
 * Threshold tuning never re-scans the rows per candidate: each probability is placed once into
 * the bucket of grid values it reaches (binary search over the sorted grid, the same `p >= thr`
 * comparison el_apply_thresholds makes), then suffix sums over the buckets give tp and the
 * number of predicted positives at every candidate threshold.
 */
#include "metrics.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EL_GRID_MAX 100000 /* step >= 1e-5 */

/* ---- basic counts -> scores ----------------------------------------------------------------- */

static double safe_div(double a, double b) { return b == 0.0 ? 0.0 : a / b; }

static double f1_of(double p, double r) {
    double denom = p + r;
    if (denom == 0.0) return 0.0;
    return 2.0 * p * r / denom;
}

/* Pairwise summation (accurate to O(log n) ulps; sums of 5k per-row scores stay within 1e-15). */
static double pairwise_sum(const double *a, int64_t n) {
    if (n <= 16) {
        double s = 0.0;
        for (int64_t i = 0; i < n; i++) s += a[i];
        return s;
    }
    int64_t h = n / 2;
    return pairwise_sum(a, h) + pairwise_sum(a + h, n - h);
}

void el_metrics_compute(const uint8_t *y_true, const uint8_t *y_pred, int64_t n, int32_t k,
                        el_metrics *out) {
    memset(out, 0, sizeof *out);
    if (k < 0) k = 0;
    if (k > EL_MAX_LABELS) k = EL_MAX_LABELS;
    if (n < 0 || !y_true || !y_pred) n = 0;
    out->n_labels = k;
    out->n_rows = n;
    if (k == 0) return;

    double *row_f = n > 0 ? xmalloc((size_t)n * sizeof(double)) : NULL;
    double *row_p = n > 0 ? xmalloc((size_t)n * sizeof(double)) : NULL;
    double *row_r = n > 0 ? xmalloc((size_t)n * sizeof(double)) : NULL;
    int64_t tp[EL_MAX_LABELS] = {0}, pred[EL_MAX_LABELS] = {0}, truth[EL_MAX_LABELS] = {0};
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *t = y_true + i * k, *p = y_pred + i * k;
        int64_t rtp = 0, rpred = 0, rtrue = 0;
        for (int32_t j = 0; j < k; j++) {
            int a = t[j] != 0, b = p[j] != 0;
            tp[j] += a & b;
            pred[j] += b;
            truth[j] += a;
            rtp += a & b;
            rpred += b;
            rtrue += a;
        }
        double pr = safe_div((double)rtp, (double)rpred), rc = safe_div((double)rtp, (double)rtrue);
        row_p[i] = pr;
        row_r[i] = rc;
        row_f[i] = f1_of(pr, rc);
    }

    int64_t stp = 0, spred = 0, strue = 0;
    double sum_p = 0, sum_r = 0, sum_f = 0, wsum_p = 0, wsum_r = 0, wsum_f = 0;
    for (int32_t j = 0; j < k; j++) {
        el_class_metrics *c = &out->cls[j];
        c->tp = tp[j];
        c->fp = pred[j] - tp[j];
        c->fn = truth[j] - tp[j];
        c->support = truth[j];
        c->precision = safe_div((double)tp[j], (double)pred[j]);
        c->recall = safe_div((double)tp[j], (double)truth[j]);
        c->f1 = f1_of(c->precision, c->recall);
        stp += tp[j];
        spred += pred[j];
        strue += truth[j];
        sum_p += c->precision;
        sum_r += c->recall;
        sum_f += c->f1;
        wsum_p += c->precision * (double)c->support;
        wsum_r += c->recall * (double)c->support;
        wsum_f += c->f1 * (double)c->support;
    }
    out->support = strue;
    out->micro_precision = safe_div((double)stp, (double)spred);
    out->micro_recall = safe_div((double)stp, (double)strue);
    out->micro_f1 = f1_of(out->micro_precision, out->micro_recall);
    out->macro_precision = sum_p / (double)k;
    out->macro_recall = sum_r / (double)k;
    out->macro_f1 = sum_f / (double)k;
    if (strue > 0) {
        out->weighted_precision = wsum_p / (double)strue;
        out->weighted_recall = wsum_r / (double)strue;
        out->weighted_f1 = wsum_f / (double)strue;
    } /* else: sklearn with zero_division=0 gives 0 for all three */
    if (n > 0) {
        out->samples_precision = pairwise_sum(row_p, n) / (double)n;
        out->samples_recall = pairwise_sum(row_r, n) / (double)n;
        out->samples_f1 = pairwise_sum(row_f, n) / (double)n;
    }
    free(row_f);
    free(row_p);
    free(row_r);
}

/* ---- thresholds ------------------------------------------------------------------------------ */

int32_t el_threshold_grid(double step, float *thr, int32_t max) {
    if (!(step > 0.0 && step < 1.0)) return 0;
    int32_t cnt = 0;
    for (int64_t i = 1;; i++) {
        double v = (double)i * step;
        if (!(v < 1.0 - 1e-9) || cnt >= EL_GRID_MAX) break;
        if (thr && cnt < max) thr[cnt] = (float)v;
        cnt++;
    }
    return cnt;
}

/* Grid for tuning: falls back to 0.01 for a step outside [1e-5, 1). */
static int32_t tuning_grid(double *step, float **grid) {
    if (!(*step >= 1e-5 && *step < 1.0)) *step = 0.01;
    int32_t g = el_threshold_grid(*step, NULL, 0);
    if (g <= 0) { /* e.g. step 0.9999999999: no value below 1; use 0.01 */
        *step = 0.01;
        g = el_threshold_grid(*step, NULL, 0);
    }
    *grid = xmalloc((size_t)g * sizeof(float));
    el_threshold_grid(*step, *grid, g);
    return g;
}

/* Number of grid values v with p >= v (grid ascending, uniform; NaN reaches none). The guess
 * from p/step is corrected against the float grid itself, so the answer is exact. */
static int32_t bucket_of(float p, const float *grid, int32_t g, double step) {
    if (!(p >= grid[0])) return 0;
    if (p >= grid[g - 1]) return g;
    int32_t b = (int32_t)((double)p / step); /* p in [grid[0], grid[g-1]): b in [1, g-1] approx */
    if (b < 1) b = 1;
    if (b > g - 1) b = g - 1;
    while (b < g && p >= grid[b]) b++;
    while (b > 1 && !(p >= grid[b - 1])) b--;
    return b;
}

/* For class j: tp_at[i], pred_at[i] for grid index i (threshold grid[i]); positives in *npos. */
static void class_sweep(const float *probs, const uint8_t *y_true, int64_t n, int32_t k, int32_t j,
                        const float *grid, int32_t g, double step, int64_t *pos_b, int64_t *all_b,
                        int64_t *tp_at, int64_t *pred_at, int64_t *npos) {
    memset(pos_b, 0, (size_t)(g + 1) * sizeof(int64_t));
    memset(all_b, 0, (size_t)(g + 1) * sizeof(int64_t));
    int64_t P = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t b = bucket_of(probs[i * k + j], grid, g, step);
        int pos = y_true[i * k + j] != 0;
        pos_b[b] += pos;
        all_b[b]++;
        P += pos;
    }
    /* predicted at grid index t <=> bucket >= t+1 */
    int64_t stp = 0, spred = 0;
    for (int32_t t = g - 1; t >= 0; t--) {
        stp += pos_b[t + 1];
        spred += all_b[t + 1];
        tp_at[t] = stp;
        pred_at[t] = spred;
    }
    *npos = P;
}

static double class_f1_counts(int64_t tp, int64_t pred, int64_t P) {
    double p = safe_div((double)tp, (double)pred), r = safe_div((double)tp, (double)P);
    return f1_of(p, r);
}

typedef struct {
    float *grid;
    int32_t g;
    int64_t *pos_b, *all_b;
    int64_t *tp_at, *pred_at; /* k * g */
    int64_t npos[EL_MAX_LABELS];
} sweep_state;

static void sweep_all(const float *probs, const uint8_t *y_true, int64_t n, int32_t k, double step,
                      sweep_state *s) {
    s->g = tuning_grid(&step, &s->grid);
    s->pos_b = xmalloc((size_t)(s->g + 1) * sizeof(int64_t));
    s->all_b = xmalloc((size_t)(s->g + 1) * sizeof(int64_t));
    s->tp_at = xmalloc((size_t)k * (size_t)s->g * sizeof(int64_t));
    s->pred_at = xmalloc((size_t)k * (size_t)s->g * sizeof(int64_t));
    for (int32_t j = 0; j < k; j++)
        class_sweep(probs, y_true, n, k, j, s->grid, s->g, step, s->pos_b, s->all_b,
                    s->tp_at + (size_t)j * s->g, s->pred_at + (size_t)j * s->g, &s->npos[j]);
}

static void sweep_free(sweep_state *s) {
    free(s->grid);
    free(s->pos_b);
    free(s->all_b);
    free(s->tp_at);
    free(s->pred_at);
}

/* Weighted F1 at grid index t (sklearn's formula and summation order). */
static double sweep_weighted_f1(const sweep_state *s, int32_t k, int32_t t) {
    int64_t W = 0;
    double acc = 0.0;
    for (int32_t j = 0; j < k; j++) {
        int64_t P = s->npos[j];
        double f = class_f1_counts(s->tp_at[(size_t)j * s->g + t], s->pred_at[(size_t)j * s->g + t], P);
        acc += f * (double)P;
        W += P;
    }
    return W > 0 ? acc / (double)W : 0.0;
}

void el_thresholds_tune(const float *probs, const uint8_t *y_true, int64_t n, int32_t k,
                        el_threshold_mode mode, double fixed, double step, float *thr_out) {
    if (!thr_out || k <= 0 || k > EL_MAX_LABELS) return;
    for (int32_t j = 0; j < k; j++) thr_out[j] = (float)fixed;
    if (mode == EL_THR_FIXED || n <= 0 || !probs || !y_true) return;

    sweep_state s = {0};
    sweep_all(probs, y_true, n, k, step, &s);
    if (mode == EL_THR_PER_CLASS) {
        for (int32_t j = 0; j < k; j++) {
            int64_t P = s.npos[j];
            if (P == 0) continue; /* no positives: keep the fixed value */
            /* F1 = 2tp / (pred + P), exact comparison of fractions; strict > keeps the smallest */
            const int64_t *tp = s.tp_at + (size_t)j * s.g, *pr = s.pred_at + (size_t)j * s.g;
            int32_t best = 0;
            for (int32_t t = 1; t < s.g; t++) {
                __int128 lhs = (__int128)(2 * tp[t]) * (__int128)(pr[best] + P);
                __int128 rhs = (__int128)(2 * tp[best]) * (__int128)(pr[t] + P);
                if (lhs > rhs) best = t;
            }
            thr_out[j] = s.grid[best];
        }
    } else if (mode == EL_THR_GLOBAL) {
        int64_t W = 0;
        for (int32_t j = 0; j < k; j++) W += s.npos[j];
        if (W > 0) {
            double *score = xmalloc((size_t)s.g * sizeof(double));
            double best = -1.0;
            for (int32_t t = 0; t < s.g; t++) {
                score[t] = sweep_weighted_f1(&s, k, t);
                if (score[t] > best) best = score[t];
            }
            int32_t pick = 0;
            for (int32_t t = 0; t < s.g; t++)
                if (score[t] >= best - 1e-12) {
                    pick = t;
                    break;
                }
            for (int32_t j = 0; j < k; j++) thr_out[j] = s.grid[pick];
            free(score);
        }
    }
    sweep_free(&s);
}

void el_apply_thresholds(const float *probs, const float *thr, int64_t n, int32_t k,
                         uint8_t *y_pred) {
    if (!probs || !thr || !y_pred || n <= 0 || k <= 0) return;
    for (int64_t i = 0; i < n; i++)
        for (int32_t j = 0; j < k; j++) y_pred[i * k + j] = probs[i * k + j] >= thr[j];
}

double el_weighted_f1_at(const float *probs, const uint8_t *y_true, int64_t n, int32_t k,
                         float thr) {
    if (!probs || !y_true || n <= 0 || k <= 0 || k > EL_MAX_LABELS) return 0.0;
    int64_t tp[EL_MAX_LABELS] = {0}, pred[EL_MAX_LABELS] = {0}, truth[EL_MAX_LABELS] = {0};
    for (int64_t i = 0; i < n; i++)
        for (int32_t j = 0; j < k; j++) {
            int a = y_true[i * k + j] != 0, b = probs[i * k + j] >= thr;
            tp[j] += a & b;
            pred[j] += b;
            truth[j] += a;
        }
    int64_t W = 0;
    double acc = 0.0;
    for (int32_t j = 0; j < k; j++) {
        acc += class_f1_counts(tp[j], pred[j], truth[j]) * (double)truth[j];
        W += truth[j];
    }
    return W > 0 ? acc / (double)W : 0.0;
}

int32_t el_threshold_curve(const float *probs, const uint8_t *y_true, int64_t n, int32_t k,
                           double step, float *x, float *f1, int32_t max) {
    if (!x || !f1 || max <= 0 || k <= 0 || k > EL_MAX_LABELS) return 0;
    if (!(step >= 1e-5 && step < 1.0)) return 0;
    if (n <= 0 || !probs || !y_true) {
        int32_t g = el_threshold_grid(step, x, max);
        if (g > max) g = max;
        for (int32_t t = 0; t < g; t++) f1[t] = 0.0f;
        return g;
    }
    sweep_state s = {0};
    sweep_all(probs, y_true, n, k, step, &s);
    int32_t m = s.g < max ? s.g : max;
    for (int32_t t = 0; t < m; t++) {
        x[t] = s.grid[t];
        f1[t] = (float)sweep_weighted_f1(&s, k, t);
    }
    sweep_free(&s);
    return m;
}

/* ---- report ---------------------------------------------------------------------------------- */

/* Display width as Python's len(): code points (UTF-8 continuation bytes do not count). */
static int32_t u8_width(const char *s) {
    int32_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) w++;
    return w;
}

static void put_right(el_buf *b, const char *s, int32_t width) {
    for (int32_t i = u8_width(s); i < width; i++) el_buf_putc(b, ' ');
    el_buf_puts(b, s);
}

static void report_row(el_buf *b, const char *name, int32_t width, int32_t digits, double p, double r,
                       double f, int64_t support) {
    put_right(b, name, width);
    el_buf_printf(b, "  %9.*f %9.*f %9.*f %9lld\n", digits, p, digits, r, digits, f, (long long)support);
}

char *el_metrics_report_digits(const el_metrics *m, const char *const *label_names, int32_t digits) {
    el_buf b = {0};
    if (!m) return el_buf_take(&b);
    if (digits < 1) digits = 1;
    if (digits > 15) digits = 15;
    int32_t k = m->n_labels < 0 ? 0 : m->n_labels > EL_MAX_LABELS ? EL_MAX_LABELS : m->n_labels;
    char names[EL_MAX_LABELS][24];
    const char *nm[EL_MAX_LABELS];
    for (int32_t j = 0; j < k; j++) {
        if (label_names && label_names[j]) {
            nm[j] = label_names[j];
        } else {
            snprintf(names[j], sizeof names[j], "%d", (int)j);
            nm[j] = names[j];
        }
    }
    int32_t width = (int32_t)strlen("weighted avg");
    for (int32_t j = 0; j < k; j++)
        if (u8_width(nm[j]) > width) width = u8_width(nm[j]);
    if (digits > width) width = digits;

    put_right(&b, "", width);
    el_buf_printf(&b, "  %9s %9s %9s %9s\n\n", "precision", "recall", "f1-score", "support");
    for (int32_t j = 0; j < k; j++)
        report_row(&b, nm[j], width, digits, m->cls[j].precision, m->cls[j].recall, m->cls[j].f1,
                   m->cls[j].support);
    el_buf_putc(&b, '\n');
    report_row(&b, "micro avg", width, digits, m->micro_precision, m->micro_recall, m->micro_f1, m->support);
    report_row(&b, "macro avg", width, digits, m->macro_precision, m->macro_recall, m->macro_f1, m->support);
    report_row(&b, "weighted avg", width, digits, m->weighted_precision, m->weighted_recall,
               m->weighted_f1, m->support);
    report_row(&b, "samples avg", width, digits, m->samples_precision, m->samples_recall,
               m->samples_f1, m->support);
    return el_buf_take(&b);
}

char *el_metrics_report(const el_metrics *m, const char *const *label_names) {
    return el_metrics_report_digits(m, label_names, 2);
}
