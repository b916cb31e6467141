/* test_metrics: hand-computed golden values for el_metrics_compute, threshold tuning and the
 * report; degenerate inputs must not crash. (The scikit-learn comparison on random data is
 * sklearn_oracle.py.) */
#include "metrics.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int g_fail;
#define CHECK(cond, ...)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);      \
            fprintf(stderr, __VA_ARGS__);                                                 \
            fputc('\n', stderr);                                                          \
            g_fail++;                                                                     \
        }                                                                                 \
    } while (0)
#define CLOSE(a, b) CHECK(fabs((double)(a) - (double)(b)) < 1e-12, "%s = %.17g, want %.17g", #a, (double)(a), (double)(b))

static void test_hand_example(void) {
    /* 4 rows x 3 labels; values worked out by hand (see the comments) */
    const uint8_t yt[] = {1, 0, 1, /**/ 0, 1, 0, /**/ 1, 1, 0, /**/ 0, 0, 0};
    const uint8_t yp[] = {1, 0, 0, /**/ 0, 1, 1, /**/ 0, 1, 0, /**/ 0, 0, 0};
    el_metrics m;
    el_metrics_compute(yt, yp, 4, 3, &m);
    /* class 0: tp 1 fp 0 fn 1; class 1: tp 2; class 2: tp 0 fp 1 fn 1 */
    CHECK(m.cls[0].tp == 1 && m.cls[0].fp == 0 && m.cls[0].fn == 1 && m.cls[0].support == 2, "class 0 counts");
    CHECK(m.cls[2].tp == 0 && m.cls[2].fp == 1 && m.cls[2].fn == 1 && m.cls[2].support == 1, "class 2 counts");
    CLOSE(m.cls[0].precision, 1.0);
    CLOSE(m.cls[0].recall, 0.5);
    CLOSE(m.cls[0].f1, 2.0 / 3.0);
    CLOSE(m.cls[1].f1, 1.0);
    CLOSE(m.cls[2].f1, 0.0);
    CLOSE(m.micro_precision, 0.75); /* 3/4 */
    CLOSE(m.micro_recall, 0.6);     /* 3/5 */
    CLOSE(m.micro_f1, 2.0 / 3.0);
    CLOSE(m.macro_precision, 2.0 / 3.0);
    CLOSE(m.macro_recall, 0.5);
    CLOSE(m.macro_f1, 5.0 / 9.0);
    CLOSE(m.weighted_precision, 0.8);
    CLOSE(m.weighted_recall, 0.6);
    CLOSE(m.weighted_f1, 2.0 / 3.0);
    CLOSE(m.samples_precision, 0.625); /* (1 + .5 + 1 + 0) / 4, the empty row scores 0 */
    CLOSE(m.samples_recall, 0.5);
    CLOSE(m.samples_f1, 0.5);
    CHECK(m.support == 5 && m.n_rows == 4, "support %lld rows %lld", (long long)m.support, (long long)m.n_rows);

    const char *names[] = {"anger", "joy", "sadness"};
    char *rep = el_metrics_report(&m, names);
    const char *want =
        "              precision    recall  f1-score   support\n"
        "\n"
        "       anger       1.00      0.50      0.67         2\n"
        "         joy       1.00      1.00      1.00         2\n"
        "     sadness       0.00      0.00      0.00         1\n"
        "\n"
        "   micro avg       0.75      0.60      0.67         5\n"
        "   macro avg       0.67      0.50      0.56         5\n"
        "weighted avg       0.80      0.60      0.67         5\n"
        " samples avg       0.62      0.50      0.50         5\n";
    CHECK(strcmp(rep, want) == 0, "report:\n%s\nwant:\n%s", rep, want);
    free(rep);
}

static void test_tuning_hand(void) {
    /* one class: positives at 0.9 and 0.6, negatives at 0.7 and 0.2 (grid step 0.1):
     * t <= 0.2: F1 = 4/6; 0.3..0.6: 4/5 (best); 0.7: 2/4; 0.8..0.9: 2/3 -> smallest best = 0.3 */
    const float p[] = {0.9f, 0.6f, 0.7f, 0.2f};
    const uint8_t y[] = {1, 1, 0, 0};
    float thr[1];
    el_thresholds_tune(p, y, 4, 1, EL_THR_PER_CLASS, 0.5, 0.1, thr);
    CHECK(thr[0] == 0.3f, "per_class threshold %.9g, want 0.3", thr[0]);
    el_thresholds_tune(p, y, 4, 1, EL_THR_GLOBAL, 0.5, 0.1, thr);
    CHECK(thr[0] == 0.3f, "global threshold %.9g, want 0.3", thr[0]);
    el_thresholds_tune(p, y, 4, 1, EL_THR_FIXED, 0.45, 0.1, thr);
    CHECK(thr[0] == 0.45f, "fixed threshold %.9g", thr[0]);
    CLOSE(el_weighted_f1_at(p, y, 4, 1, 0.3f), 0.8);
    CLOSE(el_weighted_f1_at(p, y, 4, 1, 0.7f), 0.5);

    /* two classes; class 1 has no positives -> keeps the fixed value */
    const float p2[] = {0.9f, 0.1f, 0.2f, 0.8f};
    const uint8_t y2[] = {1, 0, 0, 0};
    float t2[2];
    el_thresholds_tune(p2, y2, 2, 2, EL_THR_PER_CLASS, 0.5, 0.01, t2);
    CHECK(t2[0] == 0.21f && t2[1] == 0.5f, "no-positive class: %.9g %.9g (want 0.21, 0.5)", t2[0], t2[1]);

    float x[200], f[200];
    int32_t c = el_threshold_curve(p, y, 4, 1, 0.1, x, f, 200);
    CHECK(c == 9, "curve points %d, want 9", c);
    if (c == 9) {
        CHECK(x[0] == 0.1f && x[8] == 0.9f, "curve x %.9g..%.9g", x[0], x[8]);
        CHECK(fabsf(f[2] - 0.8f) < 1e-7f && fabsf(f[6] - 0.5f) < 1e-7f, "curve f1 %g %g", f[2], f[6]);
    }
    CHECK(el_threshold_grid(0.01, NULL, 0) == 99, "grid 0.01 has %d values", el_threshold_grid(0.01, NULL, 0));
    CHECK(el_threshold_grid(0.1, NULL, 0) == 9, "grid 0.1");
    CHECK(el_threshold_grid(0.0, NULL, 0) == 0 && el_threshold_grid(1.5, NULL, 0) == 0, "bad steps");
}

static void test_degenerate(void) {
    el_metrics m;
    el_metrics_compute(NULL, NULL, 5, 7, &m); /* no data: all zero, no crash */
    CHECK(m.weighted_f1 == 0 && m.n_rows == 0, "NULL input");
    el_metrics_compute((const uint8_t *)"", (const uint8_t *)"", 0, 7, &m);
    CHECK(m.samples_f1 == 0 && m.n_labels == 7, "empty input");
    el_metrics_compute((const uint8_t *)"", (const uint8_t *)"", 0, 1000, &m);
    CHECK(m.n_labels == EL_MAX_LABELS, "k clamped to %d", m.n_labels);

    float thr[3] = {-1, -1, -1};
    el_thresholds_tune(NULL, NULL, 0, 3, EL_THR_PER_CLASS, 0.5, 0.01, thr);
    CHECK(thr[0] == 0.5f && thr[2] == 0.5f, "no rows -> fixed");
    /* NaN probabilities are never predicted positive; tuning still gives a grid value */
    const float p[] = {NAN, 0.8f, NAN, 0.1f, 0.9f, NAN};
    const uint8_t y[] = {1, 1, 0, 0, 1, 1};
    el_thresholds_tune(p, y, 2, 3, EL_THR_PER_CLASS, 0.5, 0.01, thr);
    CHECK(thr[0] > 0 && thr[0] < 1 && thr[1] > 0 && thr[1] < 1, "NaN input thresholds %g %g", thr[0], thr[1]);
    uint8_t pred[6];
    el_apply_thresholds(p, thr, 2, 3, pred);
    CHECK(pred[0] == 0 && pred[2] == 0 && pred[5] == 0, "NaN predicted positive");
    el_thresholds_tune(p, y, 2, 3, EL_THR_GLOBAL, 0.5, -3.0, thr); /* bad step -> 0.01 */
    CHECK(thr[0] == thr[1] && thr[0] > 0 && thr[0] < 1, "bad step global %g", thr[0]);
    el_thresholds_tune(p, y, 2, 3, (el_threshold_mode)42, 0.25, 0.01, thr);
    CHECK(thr[0] == 0.25f, "unknown mode -> fixed");
    CHECK(el_weighted_f1_at(NULL, NULL, 3, 3, 0.5f) == 0.0, "NULL weighted_f1_at");

    el_metrics_compute((const uint8_t *)"\1\0\0", (const uint8_t *)"\1\1\0", 1, 3, &m);
    char *rep = el_metrics_report(&m, NULL); /* no names: "0", "1", "2" */
    CHECK(strstr(rep, "           0       1.00") != NULL, "unnamed report:\n%s", rep);
    free(rep);
    rep = el_metrics_report(NULL, NULL);
    CHECK(rep && !*rep, "NULL report");
    free(rep);
}

int main(void) {
    test_hand_example();
    test_tuning_hand();
    test_degenerate();
    if (g_fail) {
        fprintf(stderr, "%d check(s) failed\n", g_fail);
        return 1;
    }
    printf("metrics: all checks passed\n");
    return 0;
}
