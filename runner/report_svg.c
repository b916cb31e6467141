/* report_svg.c: the inline SVG charts of the HTML report: F1 per variant with the spread over
 * seeds, the per-class F1 heatmap, learning curves (loss and val F1 per epoch) and val F1
 * against the decision threshold. Plain SVG 1.1 (no script, no external reference); every text
 * from the registry is HTML-escaped; each mark carries a <title> tooltip. See report.h. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const PALETTE[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                      "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
#define N_PALETTE 10
#define VAL_COLOR "#2f6db5"
#define TEST_COLOR "#e07b24"
#define AXIS_COLOR "#9aa5b1"
#define GRID_COLOR "#e9edf1"
#define TEXT_COLOR "#3e4c59"

typedef struct {
    double d0, d1, r0, r1; /* domain -> range */
} scale;

static double sc(const scale *s, double v) {
    return s->d1 == s->d0 ? (s->r0 + s->r1) / 2 : s->r0 + (v - s->d0) * (s->r1 - s->r0) / (s->d1 - s->d0);
}

/* "nice" tick step for a range (1, 2 or 5 times a power of ten) */
static double nice_step(double span, int target) {
    if (!(span > 0)) return 1;
    double raw = span / target, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static void nice_domain(double *lo, double *hi, int target, double *step) {
    if (!isfinite(*lo) || !isfinite(*hi)) {
        *lo = 0;
        *hi = 1;
    }
    if (*hi - *lo < 1e-9) {
        *lo -= 0.05;
        *hi += 0.05;
    }
    *step = nice_step(*hi - *lo, target);
    *lo = floor(*lo / *step + 1e-9) * *step;
    *hi = ceil(*hi / *step - 1e-9) * *step;
}

static int tick_digits(double step) {
    int d = 0;
    while (d < 6 && fabs(step * pow(10, d) - round(step * pow(10, d))) > 1e-6) d++;
    return d;
}

static void text_esc(el_buf *b, const char *s, int32_t max_chars) {
    /* cut long labels on a code point boundary (the full text stays in the tooltip) */
    if (max_chars > 0 && el_utf8_width(s) > max_chars) {
        int32_t seen = 0;
        const char *p = s;
        while (*p) {
            if (((unsigned char)*p & 0xC0) != 0x80) {
                if (seen == max_chars - 1) break;
                seen++;
            }
            p++;
        }
        char *cut = el_strndup(s, (size_t)(p - s));
        el_html_escape(b, cut);
        el_buf_puts(b, "…");
        free(cut);
        return;
    }
    el_html_escape(b, s);
}

static void svg_open(el_buf *b, int w, int h, const char *aria) {
    el_buf_printf(b, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"", w, h, w, h);
    el_html_escape(b, aria);
    el_buf_puts(b, "\" xmlns=\"http://www.w3.org/2000/svg\">\n");
}

static void empty_chart(el_buf *b, const char *msg) {
    el_buf_puts(b, "<p class=\"empty\">");
    el_html_escape(b, msg);
    el_buf_puts(b, "</p>\n");
}

/* x axis at y, ticks from lo to hi */
static void x_axis(el_buf *b, const scale *x, double lo, double hi, double step, double y0, double y1, const char *title) {
    int dg = tick_digits(step);
    for (double t = lo; t <= hi + step * 1e-6; t += step) {
        double px = sc(x, t);
        el_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"" GRID_COLOR "\"/>", px, y0, px, y1);
        el_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"" TEXT_COLOR "\" text-anchor=\"middle\">%.*f</text>\n",
                      px, y1 + 14, dg, t);
    }
    el_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"" AXIS_COLOR "\"/>", x->r0, y1, x->r1, y1);
    if (title)
        el_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"" TEXT_COLOR "\" text-anchor=\"middle\">%s</text>\n",
                      (x->r0 + x->r1) / 2, y1 + 30, title);
}

static void y_axis(el_buf *b, const scale *y, double lo, double hi, double step, double x0, double x1, const char *title) {
    int dg = tick_digits(step);
    for (double t = lo; t <= hi + step * 1e-6; t += step) {
        double py = sc(y, t);
        el_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"" GRID_COLOR "\"/>", x0, py, x1, py);
        el_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"" TEXT_COLOR "\" text-anchor=\"end\">%.*f</text>\n",
                      x0 - 6, py + 4, dg, t);
    }
    el_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"" AXIS_COLOR "\"/>", x0, y->r0, x0, y->r1);
    if (title)
        el_buf_printf(b, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" font-size=\"11\" fill=\"" TEXT_COLOR "\" "
                         "text-anchor=\"middle\">%s</text>\n", x0 - 44, (y->r0 + y->r1) / 2, title);
}

/* ---- F1 per variant ------------------------------------------------------------------------ */
typedef struct {
    int32_t row, col;
} entry;

static int32_t chart_entries(const el_report *r, entry **out, bool need_cls) {
    int32_t rows = r->n_rows < r->chart_rows ? r->n_rows : r->chart_rows, n = 0;
    *out = xmalloc((size_t)(rows * (r->n_dvariants ? r->n_dvariants : 1) + 1) * sizeof(entry));
    for (int32_t i = 0; i < rows; i++)
        for (int32_t k = 0; k < r->n_dvariants; k++) {
            const el_report_cell *c = &r->rows[i].cells[k];
            if (!c->n_runs) continue;
            if (need_cls && !c->cls[0]) continue;
            (*out)[n++] = (entry){i, k};
        }
    return n;
}

static char *entry_label(const el_report *r, entry e) {
    const el_report_row *row = &r->rows[e.row];
    return el_printf("%d. %s · %s", (int)e.row + 1, row->title, r->dvariants[e.col]);
}

void el_svg_variant_f1(el_buf *b, const el_report *r) {
    entry *es;
    int32_t n = chart_entries(r, &es, false);
    double lo = INFINITY, hi = -INFINITY;
    for (int32_t i = 0; i < n; i++) {
        const el_report_cell *c = &r->rows[es[i].row].cells[es[i].col];
        for (int32_t j = 0; j < c->n_runs; j++) {
            const el_report_run *run = &r->runs[c->runs[j]];
            double v[2] = {run->val, run->test};
            for (int s = 0; s < 2; s++)
                if (!isnan(v[s])) {
                    if (v[s] < lo) lo = v[s];
                    if (v[s] > hi) hi = v[s];
                }
        }
        const el_stat *st[2] = {&c->val, &c->test};
        for (int s = 0; s < 2; s++)
            if (st[s]->n > 1) {
                if (st[s]->mean - st[s]->std < lo) lo = st[s]->mean - st[s]->std;
                if (st[s]->mean + st[s]->std > hi) hi = st[s]->mean + st[s]->std;
            }
    }
    if (!n || !isfinite(lo)) {
        empty_chart(b, "No scores to plot.");
        free(es);
        return;
    }
    double step;
    nice_domain(&lo, &hi, 6, &step);
    const int W = 1040, LW = 330, RH = 24, TOP = 34;
    int H = TOP + n * RH + 44;
    scale x = {lo, hi, LW + 10, W - 24};
    char *aria = el_printf("%s per variant and data variant, val and test", r->metric_title);
    svg_open(b, W, H, aria);
    free(aria);
    /* legend */
    el_buf_printf(b, "<g font-size=\"12\" fill=\"" TEXT_COLOR "\">"
                     "<circle cx=\"%d\" cy=\"14\" r=\"5\" fill=\"" VAL_COLOR "\"/><text x=\"%d\" y=\"18\">val mean</text>"
                     "<rect x=\"%d\" y=\"9\" width=\"10\" height=\"10\" transform=\"rotate(45 %d 14)\" fill=\"" TEST_COLOR "\"/>"
                     "<text x=\"%d\" y=\"18\">test mean</text>"
                     "<circle cx=\"%d\" cy=\"14\" r=\"3\" fill=\"none\" stroke=\"" TEXT_COLOR "\"/><text x=\"%d\" y=\"18\">one run (seed)</text>"
                     "<line x1=\"%d\" y1=\"14\" x2=\"%d\" y2=\"14\" stroke=\"" TEXT_COLOR "\" stroke-width=\"2\"/>"
                     "<text x=\"%d\" y=\"18\">± std over runs</text></g>\n",
                  LW + 10, LW + 20, LW + 105, LW + 110, LW + 122, LW + 215, LW + 225, LW + 330, LW + 352, LW + 358);
    x_axis(b, &x, lo, hi, step, TOP - 4, TOP + n * RH + 4, r->metric_title);
    for (int32_t i = 0; i < n; i++) {
        const el_report_row *row = &r->rows[es[i].row];
        const el_report_cell *c = &row->cells[es[i].col];
        double yc = TOP + i * RH + RH / 2.0;
        if (i % 2 == 0)
            el_buf_printf(b, "<rect x=\"0\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"#f6f8fa\" opacity=\"0.7\"/>", yc - RH / 2.0, W, RH);
        char *label = entry_label(r, es[i]);
        el_buf_printf(b, "<text x=\"%d\" y=\"%.1f\" font-size=\"12\" fill=\"" TEXT_COLOR "\" text-anchor=\"end\"><title>", LW, yc + 4);
        el_html_escape(b, label);
        if (*row->model) {
            el_buf_puts(b, " — ");
            el_html_escape(b, row->model);
        }
        el_buf_puts(b, "</title>");
        text_esc(b, label, 46);
        el_buf_puts(b, "</text>\n");
        const el_stat *st[2] = {&c->val, &c->test};
        const char *color[2] = {VAL_COLOR, TEST_COLOR};
        double off[2] = {-4.5, 4.5};
        for (int s = 0; s < 2; s++) {
            if (!st[s]->n) continue;
            double y = yc + off[s];
            if (st[s]->n > 1)
                el_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\" opacity=\"0.6\"/>",
                              sc(&x, st[s]->mean - st[s]->std), y, sc(&x, st[s]->mean + st[s]->std), y, color[s]);
            for (int32_t j = 0; j < c->n_runs; j++) {
                const el_report_run *run = &r->runs[c->runs[j]];
                double v = s ? run->test : run->val;
                if (isnan(v)) continue;
                el_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"white\" stroke=\"%s\" opacity=\"0.9\"><title>",
                              sc(&x, v), y, color[s]);
                el_html_escape(b, run->name);
                el_buf_printf(b, " %.8s seed %lld: %s %.4f</title></circle>", run->uuid, (long long)run->seed, s ? "test" : "val", v);
            }
            double mx = sc(&x, st[s]->mean);
            if (s == 0)
                el_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\">", mx, y, color[s]);
            else
                el_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"8\" height=\"8\" transform=\"rotate(45 %.1f %.1f)\" fill=\"%s\">",
                              mx - 4, y - 4, mx, y, color[s]);
            el_buf_puts(b, "<title>");
            el_html_escape(b, label);
            el_buf_printf(b, " %s: ", s ? "test" : "val");
            el_stat_text(b, st[s], 4, false);
            el_buf_printf(b, "</title></%s>\n", s == 0 ? "circle" : "rect");
        }
        free(label);
    }
    el_buf_puts(b, "</svg>\n");
    free(es);
}

/* ---- heatmap ------------------------------------------------------------------------------- */
/* sequential blue scale for F1 in [0, 1] */
static void heat_color(double v, char out[8], bool *dark) {
    static const double stops[][3] = {{247, 251, 255}, {198, 219, 239}, {107, 174, 214}, {33, 113, 181}, {8, 48, 107}};
    if (isnan(v)) {
        snprintf(out, 8, "#eeeeee");
        *dark = false;
        return;
    }
    double t = v < 0 ? 0 : v > 1 ? 1 : v;
    double pos = t * 4;
    int i = (int)pos;
    if (i >= 4) i = 3;
    double f = pos - i;
    int rgb[3];
    for (int k = 0; k < 3; k++) rgb[k] = (int)lround(stops[i][k] + (stops[i + 1][k] - stops[i][k]) * f);
    snprintf(out, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
    *dark = t > 0.55;
}

void el_svg_heatmap(el_buf *b, const el_report *r) {
    entry *es;
    int32_t n = chart_entries(r, &es, true);
    if (!n || !r->n_labels) {
        empty_chart(b, "No per-class scores recorded for the rows shown.");
        free(es);
        return;
    }
    const int LW = 330, CW = 74, RH = 24, TOP = 40;
    int W = LW + 10 + CW * r->n_labels + 150, H = TOP + n * RH + 20;
    svg_open(b, W, H, "per-class F1 heatmap: rows are variants and data variants, columns are labels");
    for (int32_t j = 0; j < r->n_labels; j++) {
        el_buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"12\" font-weight=\"600\" fill=\"" TEXT_COLOR "\" text-anchor=\"middle\">",
                      LW + 10 + CW * j + CW / 2, TOP - 10);
        text_esc(b, r->labels[j], 10);
        el_buf_puts(b, "</text>\n");
    }
    for (int32_t i = 0; i < n; i++) {
        const el_report_cell *c = &r->rows[es[i].row].cells[es[i].col];
        int s = 1; /* test when recorded (thresholds were tuned on val: its per-class F1 is optimistic) */
        bool any = false;
        for (int32_t j = 0; j < r->n_labels; j++) any |= !isnan(c->cls[1][j]);
        if (!any) s = 0;
        double y = TOP + i * RH;
        char *label = entry_label(r, es[i]);
        el_buf_printf(b, "<text x=\"%d\" y=\"%.1f\" font-size=\"12\" fill=\"" TEXT_COLOR "\" text-anchor=\"end\"><title>", LW, y + RH / 2.0 + 4);
        el_html_escape(b, label);
        el_buf_puts(b, "</title>");
        text_esc(b, label, 46);
        if (!s) el_buf_puts(b, " (val)");
        el_buf_puts(b, "</text>\n");
        for (int32_t j = 0; j < r->n_labels; j++) {
            double v = c->cls[s][j];
            char col[8];
            bool dark;
            heat_color(v, col, &dark);
            int x = LW + 10 + CW * j;
            el_buf_printf(b, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"%s\" stroke=\"white\"><title>", x, y, CW, RH, col);
            el_html_escape(b, label);
            el_buf_puts(b, " · ");
            el_html_escape(b, r->labels[j]);
            if (isnan(v)) el_buf_puts(b, ": no score</title></rect>");
            else el_buf_printf(b, ": %s F1 %.4f (mean of %d run%s)</title></rect>", s ? "test" : "val", v, (int)c->n_runs,
                               c->n_runs == 1 ? "" : "s");
            if (!isnan(v))
                el_buf_printf(b, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" fill=\"%s\">%.2f</text>",
                              x + CW / 2, y + RH / 2.0 + 4, dark ? "white" : "#1f2933", v);
        }
        el_buf_putc(b, '\n');
        free(label);
    }
    /* colour legend */
    int lx = LW + 10 + CW * r->n_labels + 30;
    el_buf_puts(b, "<defs><linearGradient id=\"heatlegend\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">");
    for (int k = 0; k <= 4; k++) {
        char col[8];
        bool dark;
        heat_color(k / 4.0, col, &dark);
        el_buf_printf(b, "<stop offset=\"%d%%\" stop-color=\"%s\"/>", k * 25, col);
    }
    int lh = n * RH < 160 ? n * RH : 160;
    if (lh < 60) lh = 60;
    el_buf_printf(b, "</linearGradient></defs><rect x=\"%d\" y=\"%d\" width=\"14\" height=\"%d\" fill=\"url(#heatlegend)\" stroke=\"" GRID_COLOR "\"/>",
                  lx, TOP, lh);
    el_buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"" TEXT_COLOR "\">1.0</text>", lx + 20, TOP + 9);
    el_buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"" TEXT_COLOR "\">0.5</text>", lx + 20, TOP + lh / 2 + 4);
    el_buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"" TEXT_COLOR "\">0.0</text>", lx + 20, TOP + lh);
    el_buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"" TEXT_COLOR "\">F1</text>\n", lx, TOP - 10);
    el_buf_puts(b, "</svg>\n");
    free(es);
}

/* ---- line charts ---------------------------------------------------------------------------- */
static void legend_runs(el_buf *b, const el_report *r, int x0, int y0, int W, bool dashes) {
    int x = x0, y = y0;
    for (int32_t i = 0; i < r->n_curves; i++) {
        const char *col = PALETTE[i % N_PALETTE];
        int w = 28 + 7 * (el_utf8_width(r->curves[i].label) < 48 ? el_utf8_width(r->curves[i].label) : 48);
        if (x + w > W - 10 && x > x0) {
            x = x0;
            y += 18;
        }
        el_buf_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2.5\"/>", x, y - 4, x + 18, y - 4, col);
        el_buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"" TEXT_COLOR "\">", x + 23, y);
        text_esc(b, r->curves[i].label, 48);
        el_buf_puts(b, "</text>\n");
        x += w + 12;
    }
    if (dashes)
        el_buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"" TEXT_COLOR "\">solid: train loss · dashed: val loss</text>\n",
                      x0, y + 18);
}

static int legend_height(const el_report *r, int x0, int W) {
    int x = x0, lines = 1;
    for (int32_t i = 0; i < r->n_curves; i++) {
        int w = 28 + 7 * (el_utf8_width(r->curves[i].label) < 48 ? el_utf8_width(r->curves[i].label) : 48);
        if (x + w > W - 10 && x > x0) {
            x = x0;
            lines++;
        }
        x += w + 12;
    }
    return lines * 18;
}

static void polyline(el_buf *b, const double *xs, const double *ys, int32_t n, const scale *x, const scale *y,
                     const char *color, bool dashed, bool dots, const char *tip) {
    el_buf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", color,
                  dashed ? " stroke-dasharray=\"5 4\"" : "");
    for (int32_t i = 0; i < n; i++)
        if (!isnan(xs[i]) && !isnan(ys[i])) el_buf_printf(b, "%.1f,%.1f ", sc(x, xs[i]), sc(y, ys[i]));
    el_buf_puts(b, "\"><title>");
    el_html_escape(b, tip);
    el_buf_puts(b, "</title></polyline>\n");
    if (dots)
        for (int32_t i = 0; i < n; i++)
            if (!isnan(xs[i]) && !isnan(ys[i]))
                el_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"%s\"/>", sc(x, xs[i]), sc(y, ys[i]),
                              dashed ? "2" : "3", color);
}

void el_svg_curves(el_buf *b, const el_report *r, bool loss) {
    double xmax = 1, lo = INFINITY, hi = -INFINITY;
    int32_t have = 0;
    for (int32_t i = 0; i < r->n_curves; i++) {
        const el_report_curve *c = &r->curves[i];
        for (int32_t e = 0; e < c->n_epochs; e++) {
            if (c->epoch[e] > xmax) xmax = c->epoch[e];
            double v[2] = {loss ? c->train_loss[e] : c->val_f1[e], loss ? c->val_loss[e] : NAN};
            for (int k = 0; k < 2; k++)
                if (!isnan(v[k])) {
                    have++;
                    if (v[k] < lo) lo = v[k];
                    if (v[k] > hi) hi = v[k];
                }
        }
    }
    if (!have) {
        empty_chart(b, loss ? "No per-epoch losses recorded for these runs." : "No per-epoch val F1 recorded for these runs.");
        return;
    }
    double ystep, xstep;
    nice_domain(&lo, &hi, 5, &ystep);
    if (loss && lo < 0) lo = 0;
    xstep = ceil(nice_step(xmax - 1 < 1 ? 1 : xmax - 1, 8));
    if (xstep < 1) xstep = 1;
    double x0 = xstep > 1 ? 0 : 1, x1 = ceil(xmax / xstep) * xstep;
    if (x1 <= x0) x1 = x0 + 1;
    const int W = 520, L = 60, R = 16, T = 14, PH = 220;
    int lg = legend_height(r, L, W);
    int H = T + PH + 44 + lg + (loss ? 18 : 0);
    scale x = {x0, x1, L, W - R}, y = {lo, hi, T + PH, T};
    svg_open(b, W, H, loss ? "training and validation loss per epoch" : "validation weighted F1 per epoch");
    y_axis(b, &y, lo, hi, ystep, L, W - R, loss ? "loss" : "val weighted F1");
    x_axis(b, &x, x0, x1, xstep, T, T + PH, "epoch");
    for (int32_t i = 0; i < r->n_curves; i++) {
        const el_report_curve *c = &r->curves[i];
        const char *col = PALETTE[i % N_PALETTE];
        char *tip;
        if (loss) {
            tip = el_printf("%s: train loss", c->label);
            polyline(b, c->epoch, c->train_loss, c->n_epochs, &x, &y, col, false, c->n_epochs < 40, tip);
            free(tip);
            tip = el_printf("%s: val loss", c->label);
            polyline(b, c->epoch, c->val_loss, c->n_epochs, &x, &y, col, true, c->n_epochs < 40, tip);
        } else {
            tip = el_printf("%s: val weighted F1", c->label);
            polyline(b, c->epoch, c->val_f1, c->n_epochs, &x, &y, col, false, c->n_epochs < 40, tip);
        }
        free(tip);
    }
    legend_runs(b, r, L, T + PH + 44 + 4, W, loss);
    el_buf_puts(b, "</svg>\n");
}

void el_svg_threshold(el_buf *b, const el_report *r) {
    double lo = INFINITY, hi = -INFINITY;
    int32_t have = 0;
    for (int32_t i = 0; i < r->n_curves; i++)
        for (int32_t t = 0; t < r->curves[i].n_thr; t++) {
            double v = r->curves[i].thr_f1[t];
            if (isnan(v)) continue;
            have++;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
    if (!have) {
        empty_chart(b, "No threshold curves recorded for these runs.");
        return;
    }
    double ystep, xstep = 0.1;
    nice_domain(&lo, &hi, 5, &ystep);
    const int W = 1040, L = 60, R = 20, T = 14, PH = 240;
    int lg = legend_height(r, L, W);
    int H = T + PH + 44 + lg;
    scale x = {0, 1, L, W - R}, y = {lo, hi, T + PH, T};
    svg_open(b, W, H, "validation weighted F1 against one global decision threshold");
    y_axis(b, &y, lo, hi, ystep, L, W - R, "val weighted F1");
    x_axis(b, &x, 0, 1, xstep, T, T + PH, "global threshold");
    for (int32_t i = 0; i < r->n_curves; i++) {
        const el_report_curve *c = &r->curves[i];
        const char *col = PALETTE[i % N_PALETTE];
        char *tip = el_printf("%s: val weighted F1 at one global threshold", c->label);
        polyline(b, c->thr, c->thr_f1, c->n_thr, &x, &y, col, false, false, tip);
        free(tip);
        int32_t best = -1;
        for (int32_t t = 0; t < c->n_thr; t++)
            if (!isnan(c->thr_f1[t]) && (best < 0 || c->thr_f1[t] > c->thr_f1[best])) best = t;
        if (best >= 0) {
            el_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"white\" stroke=\"%s\" stroke-width=\"2\"><title>",
                          sc(&x, c->thr[best]), sc(&y, c->thr_f1[best]), col);
            el_html_escape(b, c->label);
            el_buf_printf(b, ": best global threshold %.2f, val weighted F1 %.4f</title></circle>\n", c->thr[best],
                          c->thr_f1[best]);
        }
    }
    legend_runs(b, r, L, T + PH + 44 + 4, W, false);
    el_buf_puts(b, "</svg>\n");
}
