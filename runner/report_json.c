/* report_json.c: the leaderboard as one JSON document (jansson does the escaping), numbers in
 * full precision, NaN as null. Shape:
 *   {"emolab_report": 1, "registry", "generated", "metric", "metric_title", "group_by", "sort",
 *    "status", "filters", "registry_runs", "runs", "data_variants": [...], "labels": [...],
 *    "rows": [{"rank", "variant"|"group", "model", "owners", "kind", "runs", "differs", "key",
 *              "cells": {DV: {"runs": [uuid...], "val": STAT, "test": STAT,
 *                             "class_f1": {"val": {label: mean}, "test": {...}}}}}],
 *    "curves": [{"run", "label", "epochs": [{"epoch", "train_loss", "val_loss", "val_weighted_f1"}],
 *                "threshold_curve": [[threshold, val_weighted_f1], ...]}],
 *    "hint": "..." (only when there are no rows)}
 *   STAT = {"mean", "std", "min", "max", "n", "best"}. See report.h. */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Written by hand rather than through a JSON tree: a 10,000-run report has ~100k numbers and
 * tree building dominated the render time. Strings: RFC 8259 escapes; bytes that are not UTF-8
 * (a registry edited by hand) become U+FFFD. Numbers: the shortest of %.15g / %.17g that reads
 * back exactly; NaN and infinities as null. */
static void jstr(el_buf *b, const char *s) {
    if (!s) {
        el_buf_puts(b, "null");
        return;
    }
    size_t n = strlen(s);
    char *clean = NULL;
    int64_t at;
    if (el_utf8_invalid_at(s, n) >= 0) {
        el_buf c = {0};
        const char *p = s;
        size_t left = n;
        while ((at = el_utf8_invalid_at(p, left)) >= 0) {
            el_buf_append(&c, p, (size_t)at);
            el_buf_puts(&c, "\xEF\xBF\xBD");
            p += at + 1;
            left -= (size_t)at + 1;
        }
        el_buf_append(&c, p, left);
        clean = el_buf_take(&c);
        s = clean;
    }
    el_buf_putc(b, '"');
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch >= 0x20 && ch != '"' && ch != '\\') continue;
        el_buf_append(b, run, (size_t)(p - run));
        switch (ch) {
        case '"': el_buf_puts(b, "\\\""); break;
        case '\\': el_buf_puts(b, "\\\\"); break;
        case '\n': el_buf_puts(b, "\\n"); break;
        case '\r': el_buf_puts(b, "\\r"); break;
        case '\t': el_buf_puts(b, "\\t"); break;
        default: el_buf_printf(b, "\\u%04x", ch);
        }
        run = p + 1;
    }
    el_buf_puts(b, run);
    el_buf_putc(b, '"');
    free(clean);
}

static void jnum(el_buf *b, double v) {
    if (!isfinite(v)) {
        el_buf_puts(b, "null");
        return;
    }
    char t[40];
    snprintf(t, sizeof t, "%.15g", v);
    if (strtod(t, NULL) != v) snprintf(t, sizeof t, "%.17g", v);
    el_buf_puts(b, t);
}

static void key(el_buf *b, const char *k, bool *first) {
    if (!*first) el_buf_putc(b, ',');
    *first = false;
    jstr(b, k);
    el_buf_putc(b, ':');
}

static void kstr(el_buf *b, const char *k, const char *v, bool *first) {
    key(b, k, first);
    jstr(b, v);
}

static void kint(el_buf *b, const char *k, long long v, bool *first) {
    key(b, k, first);
    el_buf_printf(b, "%lld", v);
}

static void jstat(el_buf *b, const el_stat *s) {
    el_buf_puts(b, "{\"mean\":");
    jnum(b, s->n ? s->mean : NAN);
    el_buf_puts(b, ",\"std\":");
    jnum(b, s->n > 1 ? s->std : NAN);
    el_buf_puts(b, ",\"min\":");
    jnum(b, s->n ? s->min : NAN);
    el_buf_puts(b, ",\"max\":");
    jnum(b, s->n ? s->max : NAN);
    el_buf_printf(b, ",\"n\":%d,\"best\":%s}", (int)s->n, s->best ? "true" : "false");
}

char *el_report_json(const el_report *r) {
    el_buf b = {0};
    bool f = true;
    el_buf_putc(&b, '{');
    kint(&b, "emolab_report", 1, &f);
    kstr(&b, "registry", r->registry, &f);
    kstr(&b, "generated", r->generated, &f);
    kstr(&b, "metric", r->metric, &f);
    kstr(&b, "metric_title", r->metric_title, &f);
    kstr(&b, "group_by", r->group_by, &f);
    kstr(&b, "sort", r->sort, &f);
    kstr(&b, "status", r->status, &f);
    kstr(&b, "filters", r->filters, &f);
    kint(&b, "registry_runs", r->registry_runs, &f);
    kint(&b, "runs", r->n_runs, &f);
    kint(&b, "rows_total", r->n_rows_total, &f);
    key(&b, "data_variants", &f);
    el_buf_putc(&b, '[');
    for (int32_t k = 0; k < r->n_dvariants; k++) {
        if (k) el_buf_putc(&b, ',');
        jstr(&b, r->dvariants[k]);
    }
    el_buf_puts(&b, "],\n\"labels\":[");
    for (int32_t j = 0; j < r->n_labels; j++) {
        if (j) el_buf_putc(&b, ',');
        jstr(&b, r->labels[j]);
    }
    el_buf_puts(&b, "],\n\"rows\":[");
    for (int32_t i = 0; i < r->n_rows; i++) {
        const el_report_row *row = &r->rows[i];
        bool g = true;
        el_buf_puts(&b, i ? ",\n{" : "\n{");
        kint(&b, "rank", i + 1, &g);
        kstr(&b, r->group_by ? "group" : "variant", row->title, &g);
        kstr(&b, "model", row->model, &g);
        kstr(&b, "owners", row->owners, &g);
        kstr(&b, "kind", row->kind, &g);
        kint(&b, "runs", row->n_runs, &g);
        kint(&b, "names", row->n_names, &g);
        kstr(&b, "differs", row->differs, &g);
        kstr(&b, "key", row->key, &g);
        key(&b, "cells", &g);
        el_buf_putc(&b, '{');
        bool h = true;
        for (int32_t k = 0; k < r->n_dvariants; k++) {
            const el_report_cell *c = &row->cells[k];
            if (!c->n_runs) continue;
            key(&b, r->dvariants[k], &h);
            el_buf_puts(&b, "{\"runs\":[");
            for (int32_t j = 0; j < c->n_runs; j++) el_buf_printf(&b, "%s\"%s\"", j ? "," : "", r->runs[c->runs[j]].uuid);
            el_buf_puts(&b, "],\"val\":");
            jstat(&b, &c->val);
            el_buf_puts(&b, ",\"test\":");
            jstat(&b, &c->test);
            if (c->cls[0]) {
                el_buf_puts(&b, ",\"class_f1\":{");
                for (int s = 0; s < 2; s++) {
                    el_buf_puts(&b, s ? ",\"test\":{" : "\"val\":{");
                    bool l = true;
                    for (int32_t j = 0; j < r->n_labels; j++) {
                        key(&b, r->labels[j], &l);
                        jnum(&b, c->cls[s][j]);
                    }
                    el_buf_putc(&b, '}');
                }
                el_buf_putc(&b, '}');
            }
            el_buf_putc(&b, '}');
        }
        el_buf_puts(&b, "}}");
    }
    el_buf_puts(&b, "],\n\"curves\":[");
    for (int32_t i = 0; i < r->n_curves; i++) {
        const el_report_curve *c = &r->curves[i];
        bool g = true;
        el_buf_puts(&b, i ? ",\n{" : "\n{");
        kstr(&b, "run", c->uuid, &g);
        kstr(&b, "label", c->label, &g);
        key(&b, "epochs", &g);
        el_buf_putc(&b, '[');
        for (int32_t e = 0; e < c->n_epochs; e++) {
            el_buf_puts(&b, e ? ",{\"epoch\":" : "{\"epoch\":");
            jnum(&b, c->epoch[e]);
            el_buf_puts(&b, ",\"train_loss\":");
            jnum(&b, c->train_loss[e]);
            el_buf_puts(&b, ",\"val_loss\":");
            jnum(&b, c->val_loss[e]);
            el_buf_puts(&b, ",\"val_weighted_f1\":");
            jnum(&b, c->val_f1[e]);
            el_buf_putc(&b, '}');
        }
        el_buf_puts(&b, "],\"threshold_curve\":[");
        for (int32_t t = 0; t < c->n_thr; t++) {
            el_buf_puts(&b, t ? ",[" : "[");
            jnum(&b, c->thr[t]);
            el_buf_putc(&b, ',');
            jnum(&b, c->thr_f1[t]);
            el_buf_putc(&b, ']');
        }
        el_buf_puts(&b, "]}");
    }
    el_buf_putc(&b, ']');
    if (r->hint) {
        el_buf_puts(&b, ",\n");
        bool g = true;
        kstr(&b, "hint", r->hint, &g);
    }
    el_buf_puts(&b, "}\n");
    return el_buf_take(&b);
}
