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

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *jnum(double v) { return isnan(v) || isinf(v) ? json_null() : json_real(v); }

static json_t *jstat(const el_stat *s) {
    json_t *o = json_object();
    json_object_set_new(o, "mean", jnum(s->n ? s->mean : NAN));
    json_object_set_new(o, "std", jnum(s->n > 1 ? s->std : NAN));
    json_object_set_new(o, "min", jnum(s->n ? s->min : NAN));
    json_object_set_new(o, "max", jnum(s->n ? s->max : NAN));
    json_object_set_new(o, "n", json_integer(s->n));
    json_object_set_new(o, "best", json_boolean(s->best));
    return o;
}

/* text as a JSON string; bytes that are not UTF-8 (a registry edited by hand) become '?' */
static char *utf8_clean(const char *s) {
    char *c = xstrdup(s);
    size_t n = strlen(c);
    int64_t at;
    while ((at = el_utf8_invalid_at(c, n)) >= 0) c[at] = '?';
    return c;
}

static json_t *jstr(const char *s) {
    if (!s) return json_null();
    json_t *j = json_string(s);
    if (j) return j;
    char *c = utf8_clean(s);
    j = json_string(c);
    free(c);
    return j ? j : json_null();
}

static void set_key(json_t *o, const char *key, json_t *v) {
    if (json_object_set(o, key, v) != 0) { /* json_object_set keeps our reference */
        char *c = utf8_clean(key);
        json_object_set(o, c, v);
        free(c);
    }
    json_decref(v);
}

char *el_report_json(const el_report *r) {
    json_t *doc = json_object();
    json_object_set_new(doc, "emolab_report", json_integer(1));
    json_object_set_new(doc, "registry", jstr(r->registry));
    json_object_set_new(doc, "generated", jstr(r->generated));
    json_object_set_new(doc, "metric", jstr(r->metric));
    json_object_set_new(doc, "metric_title", jstr(r->metric_title));
    json_object_set_new(doc, "group_by", jstr(r->group_by));
    json_object_set_new(doc, "sort", jstr(r->sort));
    json_object_set_new(doc, "status", jstr(r->status));
    json_object_set_new(doc, "filters", jstr(r->filters));
    json_object_set_new(doc, "registry_runs", json_integer(r->registry_runs));
    json_object_set_new(doc, "runs", json_integer(r->n_runs));
    json_object_set_new(doc, "rows_total", json_integer(r->n_rows_total));
    json_t *dvs = json_array(), *labels = json_array(), *rows = json_array();
    for (int32_t k = 0; k < r->n_dvariants; k++) json_array_append_new(dvs, jstr(r->dvariants[k]));
    for (int32_t j = 0; j < r->n_labels; j++) json_array_append_new(labels, jstr(r->labels[j]));
    json_object_set_new(doc, "data_variants", dvs);
    json_object_set_new(doc, "labels", labels);
    for (int32_t i = 0; i < r->n_rows; i++) {
        const el_report_row *row = &r->rows[i];
        json_t *o = json_object();
        json_object_set_new(o, "rank", json_integer(i + 1));
        json_object_set_new(o, r->group_by ? "group" : "variant", jstr(row->title));
        json_object_set_new(o, "model", jstr(row->model));
        json_object_set_new(o, "owners", jstr(row->owners));
        json_object_set_new(o, "kind", jstr(row->kind));
        json_object_set_new(o, "runs", json_integer(row->n_runs));
        json_object_set_new(o, "names", json_integer(row->n_names));
        json_object_set_new(o, "differs", jstr(row->differs));
        json_object_set_new(o, "key", jstr(row->key));
        json_t *cells = json_object();
        for (int32_t k = 0; k < r->n_dvariants; k++) {
            const el_report_cell *c = &row->cells[k];
            if (!c->n_runs) continue;
            json_t *co = json_object(), *ids = json_array();
            for (int32_t j = 0; j < c->n_runs; j++) json_array_append_new(ids, json_string(r->runs[c->runs[j]].uuid));
            json_object_set_new(co, "runs", ids);
            json_object_set_new(co, "val", jstat(&c->val));
            json_object_set_new(co, "test", jstat(&c->test));
            if (c->cls[0]) {
                json_t *cf = json_object();
                for (int s = 0; s < 2; s++) {
                    json_t *m = json_object();
                    for (int32_t j = 0; j < r->n_labels; j++) set_key(m, r->labels[j], jnum(c->cls[s][j]));
                    json_object_set_new(cf, s ? "test" : "val", m);
                }
                json_object_set_new(co, "class_f1", cf);
            }
            set_key(cells, r->dvariants[k], co);
        }
        json_object_set_new(o, "cells", cells);
        json_array_append_new(rows, o);
    }
    json_object_set_new(doc, "rows", rows);
    json_t *curves = json_array();
    for (int32_t i = 0; i < r->n_curves; i++) {
        const el_report_curve *c = &r->curves[i];
        json_t *o = json_object(), *ep = json_array(), *th = json_array();
        json_object_set_new(o, "run", json_string(c->uuid));
        json_object_set_new(o, "label", jstr(c->label));
        for (int32_t e = 0; e < c->n_epochs; e++) {
            json_t *x = json_object();
            json_object_set_new(x, "epoch", jnum(c->epoch[e]));
            json_object_set_new(x, "train_loss", jnum(c->train_loss[e]));
            json_object_set_new(x, "val_loss", jnum(c->val_loss[e]));
            json_object_set_new(x, "val_weighted_f1", jnum(c->val_f1[e]));
            json_array_append_new(ep, x);
        }
        for (int32_t t = 0; t < c->n_thr; t++) json_array_append_new(th, json_pack("[oo]", jnum(c->thr[t]), jnum(c->thr_f1[t])));
        json_object_set_new(o, "epochs", ep);
        json_object_set_new(o, "threshold_curve", th);
        json_array_append_new(curves, o);
    }
    json_object_set_new(doc, "curves", curves);
    if (r->hint) json_object_set_new(doc, "hint", jstr(r->hint));
    char *s = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(doc);
    el_buf b = {0};
    el_buf_puts(&b, s);
    el_buf_putc(&b, '\n');
    free(s);
    return el_buf_take(&b);
}
