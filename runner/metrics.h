/* metrics.h: multi-label classification metrics as scikit-learn reports them, and decision
 * thresholds tuned on validation only.
 *
 * Conventions (sklearn's precision_recall_fscore_support with zero_division=0):
 *  - per class: precision = tp/(tp+fp), recall = tp/(tp+fn), f1 = 2pr/(p+r); 0 when undefined;
 *  - micro: from summed tp/fp/fn; macro: unweighted mean over classes; weighted: mean weighted
 *    by support (true positives count per class); samples: mean over rows (rows with neither
 *    true nor predicted labels score 0, as sklearn does with zero_division=0).
 */
#ifndef EL_METRICS_H
#define EL_METRICS_H

#include "spec.h"
#include <stdint.h>

typedef struct {
    double precision, recall, f1;
    int64_t support;
    int64_t tp, fp, fn;
} el_class_metrics;

typedef struct {
    int32_t n_labels;
    el_class_metrics cls[EL_MAX_LABELS];
    double micro_precision, micro_recall, micro_f1;
    double macro_precision, macro_recall, macro_f1;
    double weighted_precision, weighted_recall, weighted_f1;
    double samples_precision, samples_recall, samples_f1;
    int64_t n_rows;
    int64_t support;          /* sum of per-class supports (the averages' "support" column) */
} el_metrics;

/* y_true, y_pred: n rows x k labels, 0/1, row-major. */
void el_metrics_compute(const uint8_t *y_true, const uint8_t *y_pred, int64_t n, int32_t k,
                        el_metrics *out);

typedef enum { EL_THR_FIXED = 0, EL_THR_GLOBAL = 1, EL_THR_PER_CLASS = 2 } el_threshold_mode;

/* Chooses thresholds from probabilities on validation rows:
 *  fixed: every class gets `fixed`;
 *  global: one value from the grid {step, 2*step, ..., < 1} maximising weighted F1;
 *  per_class: for each class the grid value maximising that class's F1 (this maximises weighted
 *  and macro F1 too, as both are sums of independent per-class terms). Ties: the smallest
 *  threshold wins. A class with no positives gets the fixed value.
 * Ties are exact for per_class (F1 = 2tp/(2tp+fp+fn) compared as fractions); for global, every
 * grid value within 1e-12 of the best weighted F1 counts as tied. With no positives at all,
 * global gives `fixed` too. The grid is el_threshold_grid(step); a step outside [1e-5, 1) falls
 * back to 0.01. n = 0 (or NULL data) gives `fixed` everywhere; k outside [1, EL_MAX_LABELS]
 * writes nothing. Cost: O(n*k + k*grid): each probability is bucketed once against the grid,
 * then one sweep per class; no pass over the rows per candidate (5.4k x 7 x 99: ~0.15 ms). */
void el_thresholds_tune(const float *probs, const uint8_t *y_true, int64_t n, int32_t k,
                        el_threshold_mode mode, double fixed, double step, float *thr_out);
/* y_pred[i,j] = probs[i,j] >= thr[j] */
void el_apply_thresholds(const float *probs, const float *thr, int64_t n, int32_t k,
                         uint8_t *y_pred);
/* Weighted F1 of the predictions at one global threshold, for threshold curves. */
double el_weighted_f1_at(const float *probs, const uint8_t *y_true, int64_t n, int32_t k,
                         float thr);

/* The tuning grid: thr[i] = (float)((i+1)*step) for every value < 1 (step 0.01 -> 0.01..0.99).
 * Returns the number of values (0 when step is not in (0, 1)); writes at most max of them. */
int32_t el_threshold_grid(double step, float *thr, int32_t max);
/* Val weighted F1 at every value of the grid (one global threshold), in one pass over the data:
 * x[i] = grid value, f1[i] = el_weighted_f1_at(probs, y_true, n, k, x[i]). Returns the number of
 * points written (at most max). */
int32_t el_threshold_curve(const float *probs, const uint8_t *y_true, int64_t n, int32_t k,
                           double step, float *x, float *f1, int32_t max);

/* sklearn-style classification_report text (per class, then micro/macro/weighted/samples), with
 * sklearn's default 2 digits. label_names may be NULL (then "0", "1", ...). */
char *el_metrics_report(const el_metrics *m, const char *const *label_names); /* malloc'd */
/* Same with `digits` decimals (sklearn's digits=, 1..15). */
char *el_metrics_report_digits(const el_metrics *m, const char *const *label_names,
                               int32_t digits); /* malloc'd */

#endif /* EL_METRICS_H */
