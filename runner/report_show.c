/* report_show.c: the text of `emolab ls`, `emolab show RUN` and `emolab compare A B`. Every
 * string from the registry goes through el_term_escape (no control characters reach the
 * terminal). See report.h. */
#define _GNU_SOURCE
#include "report.h"
#include "metrics.h"
#include "registry.h"

#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static void num(el_buf *b, double v, int digits, int width) {
    if (isnan(v)) el_buf_printf(b, "%*s", width, "-");
    else el_buf_printf(b, "%*.*f", width, digits, v);
}

static void delta(el_buf *b, double a, double bv, int digits, int width) {
    if (isnan(a) || isnan(bv)) el_buf_printf(b, "%*s", width, "-");
    else el_buf_printf(b, "%+*.*f", width, digits, bv - a);
}

/* ---- ls ----------------------------------------------------------------------------------- */
#define MODEL_KEYS_SQL                                                                                   \
    "'backbone.type', 'backbone.name', 'backbone.repo', 'backbone.model', 'backbone.path', 'head.layers', " \
    "'head.dropout', 'head.activation', 'head.norm', 'head.residual', 'head.heads', 'head.meta'"

typedef struct {
    char *uuid, *name, *status, *created, *dv, *seed, *model, *val, *test, *age;
} ls_row;

int el_ls_print(const el_ls_params *p, FILE *out, bool *usage) {
    *usage = false;
    el_registry *reg = el_registry_open(p->registry, true);
    if (!reg) return EL_ERR;
    sqlite3 *db = el_registry_db(reg);
    el_run_where w;
    if (el_run_where_build(db, p->registry, &p->filter, NULL, &w)) {
        *usage = true;
        el_registry_close(reg);
        return EL_ERR;
    }
    el_buf q = {0};
    el_buf_printf(&q,
                  "SELECT r.uuid, r.name, r.status, r.created, r.data_variant, r.seed, r.kind, "
                  "(SELECT value FROM metrics WHERE run = r.uuid AND split = 'val' AND name = 'weighted_f1'), "
                  "(SELECT value FROM metrics WHERE run = r.uuid AND split = 'test' AND name = 'weighted_f1'), "
                  "(SELECT group_concat(key || '=' || value, char(10)) FROM params WHERE run = r.uuid AND key IN ("
                  MODEL_KEYS_SQL ")) "
                  "FROM runs r WHERE %s ORDER BY r.created DESC, r.uuid DESC",
                  w.sql.s);
    if (p->limit > 0) el_buf_printf(&q, " LIMIT %d", (int)p->limit);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, q.s, -1, &st, NULL) != SQLITE_OK) {
        el_err("%s: reading runs: %s", p->registry, sqlite3_errmsg(db));
        el_buf_free(&q);
        el_run_where_free(&w);
        el_registry_close(reg);
        return EL_ERR;
    }
    el_buf_free(&q);
    el_run_where_bind(&w, st, 1);
    ls_row *rows = NULL;
    int64_t cap = 0;
    int32_t n = 0;
    int wname = 4, wmodel = 5;
    while (sqlite3_step(st) == SQLITE_ROW) {
        el_grow(rows, &cap, n + 1);
        ls_row *r = &rows[n++];
        const char *uuid = (const char *)sqlite3_column_text(st, 0);
        r->uuid = el_strndup(uuid, 8);
        r->name = xstrdup((const char *)sqlite3_column_text(st, 1));
        r->status = xstrdup((const char *)sqlite3_column_text(st, 2));
        r->created = xstrdup((const char *)sqlite3_column_text(st, 3));
        r->dv = xstrdup(sqlite3_column_type(st, 4) == SQLITE_NULL ? "-" : (const char *)sqlite3_column_text(st, 4));
        r->seed = sqlite3_column_type(st, 5) == SQLITE_NULL ? xstrdup("-") : el_printf("%lld", (long long)sqlite3_column_int64(st, 5));
        r->val = sqlite3_column_type(st, 7) == SQLITE_NULL ? xstrdup("-") : el_printf("%.4f", sqlite3_column_double(st, 7));
        r->test = sqlite3_column_type(st, 8) == SQLITE_NULL ? xstrdup("-") : el_printf("%.4f", sqlite3_column_double(st, 8));
        /* the model description from the model keys */
        const char *kv = (const char *)sqlite3_column_text(st, 9);
        const char *keys[16], *vals[16];
        char *copy = xstrdup(kv ? kv : "");
        int32_t nk = 0;
        for (char *save = NULL, *t = strtok_r(copy, "\n", &save); t && nk < 16; t = strtok_r(NULL, "\n", &save)) {
            char *eq = strchr(t, '=');
            if (!eq) continue;
            *eq = 0;
            keys[nk] = t;
            vals[nk++] = eq + 1;
        }
        r->model = el_model_description(keys, vals, nk, (const char *)sqlite3_column_text(st, 6));
        free(copy);
        char age[32];
        el_age(r->created, age);
        r->age = xstrdup(age);
        if (el_utf8_width(r->name) > wname) wname = el_utf8_width(r->name);
        if (el_utf8_width(r->model) > wmodel) wmodel = el_utf8_width(r->model);
    }
    sqlite3_finalize(st);
    int64_t total = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM runs", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) total = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    if (wname > 32) wname = 32;
    if (wmodel > 36) wmodel = 36;
    el_buf b = {0};
    if (n == 0) {
        if (total == 0)
            el_buf_printf(&b, "no runs in %s yet: record one with `emolab run configs/bow.yaml --registry %s`\n",
                          p->registry, p->registry);
        else
            el_buf_printf(&b, "none of the %lld runs in %s matches the filters (%s)\n", (long long)total, p->registry,
                          w.desc.len ? w.desc.s : "status");
    } else {
        el_buf_puts(&b, "run       ");
        el_term_pad(&b, "name", wname, false);
        el_buf_puts(&b, "  status       ");
        el_term_pad(&b, "model", wmodel, false);
        el_buf_puts(&b, "  data   seed  val wF1  test wF1  age\n");
        for (int32_t i = 0; i < n; i++) {
            ls_row *r = &rows[i];
            el_buf_printf(&b, "%-8s  ", r->uuid);
            el_term_pad(&b, r->name, wname, false);
            el_buf_puts(&b, "  ");
            el_term_pad(&b, r->status, 11, false);
            el_buf_puts(&b, "  ");
            el_term_pad(&b, r->model, wmodel, false);
            el_buf_puts(&b, "  ");
            el_term_pad(&b, r->dv, 5, false);
            el_buf_puts(&b, "  ");
            el_term_pad(&b, r->seed, 4, true);
            el_buf_printf(&b, "  %7s  %8s  %s\n", r->val, r->test, r->age);
        }
        el_buf_printf(&b, "%d of %lld runs (newest first%s%s); `emolab show RUN` for one run, RUN = uuid prefix or name\n",
                      (int)n, (long long)total, w.desc.len ? "; " : "", w.desc.len ? w.desc.s : "");
    }
    fputs(b.s, out);
    el_buf_free(&b);
    for (int32_t i = 0; i < n; i++) {
        ls_row *r = &rows[i];
        char *f[] = {r->uuid, r->name, r->status, r->created, r->dv, r->seed, r->model, r->val, r->test, r->age};
        for (int k = 0; k < 10; k++) free(f[k]);
    }
    free(rows);
    el_run_where_free(&w);
    el_registry_close(reg);
    return 0;
}

/* ---- show --------------------------------------------------------------------------------- */
static void field(el_buf *b, const char *label, const char *value) {
    el_buf_printf(b, "  %-10s ", label);
    el_term_escape(b, value && *value ? value : "-");
    el_buf_putc(b, '\n');
}

/* el_metrics from what the registry recorded, for the sklearn-style report */
static bool split_metrics(const el_run_detail *d, int s, el_metrics *m, const char **names) {
    memset(m, 0, sizeof *m);
    int32_t k = d->n_classes[s] < EL_MAX_LABELS ? d->n_classes[s] : EL_MAX_LABELS;
    if (!k && !d->n_metrics[s]) return false;
    m->n_labels = k;
    int64_t support = 0;
    for (int32_t j = 0; j < k; j++) {
        const el_class_row *c = &d->classes[s][j];
        m->cls[j] = (el_class_metrics){c->precision, c->recall, c->f1, c->support, c->tp, c->fp, c->fn};
        names[j] = c->label;
        support += c->support;
    }
#define M(field, name) m->field = el_run_detail_metric(d, s, name)
    M(micro_precision, "micro_precision");
    M(micro_recall, "micro_recall");
    M(micro_f1, "micro_f1");
    M(macro_precision, "macro_precision");
    M(macro_recall, "macro_recall");
    M(macro_f1, "macro_f1");
    M(weighted_precision, "weighted_precision");
    M(weighted_recall, "weighted_recall");
    M(weighted_f1, "weighted_f1");
    M(samples_precision, "samples_precision");
    M(samples_recall, "samples_recall");
    M(samples_f1, "samples_f1");
#undef M
    double sup = el_run_detail_metric(d, s, "support");
    m->support = isnan(sup) ? support : (int64_t)sup;
    double rows = el_run_detail_metric(d, s, "rows");
    m->n_rows = isnan(rows) ? 0 : (int64_t)rows;
    return true;
}

static void label_counts(el_buf *b, const char *json) {
    json_error_t err;
    json_t *o = json ? json_loads(json, 0, &err) : NULL;
    if (!json_is_object(o)) {
        el_term_escape(b, json ? json : "-");
        json_decref(o);
        return;
    }
    const char *k;
    json_t *v;
    int i = 0;
    json_object_foreach(o, k, v) {
        el_buf_printf(b, "%s", i++ ? ", " : "");
        el_term_escape(b, k);
        el_buf_printf(b, " %lld", (long long)json_integer_value(v));
    }
    json_decref(o);
}

char *el_show_text(const el_run_detail *d) {
    el_buf b = {0};
    el_buf_printf(&b, "run %s  ", d->uuid);
    el_term_escape(&b, d->name);
    el_buf_putc(&b, '\n');
    char dur[32] = "-";
    if (!isnan(d->train_seconds)) el_format_duration(d->train_seconds, dur);
    el_buf_printf(&b, "  %-10s ", "status");
    el_term_escape(&b, d->status);
    if (d->epochs_run) el_buf_printf(&b, "  (best epoch %d of %d, %s training)", (int)d->best_epoch, (int)d->epochs_run, dur);
    el_buf_putc(&b, '\n');
    if (d->error && *d->error) field(&b, "reason", d->error);
    field(&b, "owner", d->owner);
    field(&b, "kind", d->kind);
    char *model = NULL;
    {
        const char **k = xmalloc((size_t)(d->n_params + 1) * sizeof(char *)), **v = xmalloc((size_t)(d->n_params + 1) * sizeof(char *));
        for (int32_t i = 0; i < d->n_params; i++) {
            k[i] = d->params[i].key;
            v[i] = d->params[i].value;
        }
        model = el_model_description(k, v, d->n_params, d->kind);
        free(k);
        free(v);
    }
    field(&b, "model", model);
    free(model);
    field(&b, "data", d->data_variant);
    char seed[32] = "-";
    if (d->have_seed) snprintf(seed, sizeof seed, "%lld", (long long)d->seed);
    field(&b, "seed", seed);
    field(&b, "sweep", d->sweep_id);
    field(&b, "created", d->created);
    field(&b, "finished", d->finished);
    field(&b, "host", d->host);
    field(&b, "commit", d->git_commit);
    field(&b, "spec", d->spec_file);
    field(&b, "run dir", d->run_dir);
    field(&b, "config", d->config_hash);

    el_buf_puts(&b, "\nresolved config (flattened; values as JSON)\n");
    if (d->n_params) {
        int w = 0;
        for (int32_t i = 0; i < d->n_params; i++)
            if (el_utf8_width(d->params[i].key) > w) w = el_utf8_width(d->params[i].key);
        if (w > 40) w = 40;
        for (int32_t i = 0; i < d->n_params; i++) {
            el_buf_puts(&b, "  ");
            el_term_pad(&b, d->params[i].key, w, false);
            el_buf_puts(&b, "  ");
            el_term_escape(&b, d->params[i].value);
            el_buf_putc(&b, '\n');
        }
    } else { /* no params recorded: the config JSON itself */
        json_error_t err;
        json_t *cfg = d->config_json ? json_loads(d->config_json, 0, &err) : NULL;
        char *pretty = cfg ? json_dumps(cfg, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15)) : NULL;
        const char *txt = pretty ? pretty : d->config_json ? d->config_json : "-";
        for (const char *p = txt; *p;) { /* indent each line by two */
            const char *nl = strchr(p, '\n');
            size_t len = nl ? (size_t)(nl - p) : strlen(p);
            char *line = el_strndup(p, len);
            el_buf_puts(&b, "  ");
            el_term_escape(&b, line);
            el_buf_putc(&b, '\n');
            free(line);
            p += len + (nl ? 1 : 0);
        }
        free(pretty);
        json_decref(cfg);
    }

    el_buf_puts(&b, "\ndata\n");
    if (!d->n_data) el_buf_puts(&b, "  (no data recorded: the run failed before its data was loaded)\n");
    else el_buf_puts(&b, "  split     rows  dropped  fingerprint   positives per label\n");
    for (int32_t i = 0; i < d->n_data; i++) {
        const el_data_row *r = &d->data[i];
        el_buf_printf(&b, "  %-5s %8lld %8lld  %.12s  ", r->split, (long long)r->rows, (long long)r->dropped_overlap,
                      r->fingerprint ? r->fingerprint : "-");
        label_counts(&b, r->label_counts);
        el_buf_putc(&b, '\n');
    }
    if (d->n_sources) el_buf_puts(&b, "  sources\n");
    for (int32_t i = 0; i < d->n_sources; i++) {
        const el_source_row *s = &d->sources[i];
        el_buf_printf(&b, "  %-5s ", s->split);
        el_term_escape(&b, s->path);
        el_buf_printf(&b, "\n        sha256 %.16s  read %lld, kept %lld (dropped: %lld unmapped, %lld overlapping val/test)\n",
                      s->sha256 ? s->sha256 : "-", (long long)s->rows_read, (long long)s->rows_kept,
                      (long long)s->dropped_unmapped, (long long)s->dropped_overlap);
    }

    static const char *const split_title[2] = {"val", "test"};
    for (int s = 0; s < 2; s++) {
        el_metrics m;
        const char *names[EL_MAX_LABELS];
        el_buf_printf(&b, "\n%s: classification report%s\n", split_title[s],
                      s ? " (thresholds tuned on val, applied here)" : " (at the thresholds tuned on it)");
        if (!split_metrics(d, s, &m, names)) {
            el_buf_puts(&b, "  (no scores recorded)\n");
            continue;
        }
        char *rep = el_metrics_report_digits(&m, names, 4);
        for (const char *p = rep; *p;) {
            const char *nl = strchr(p, '\n');
            size_t len = nl ? (size_t)(nl - p) : strlen(p);
            char *line = el_strndup(p, len);
            if (len) el_buf_puts(&b, "  ");
            el_term_escape(&b, line);
            el_buf_putc(&b, '\n');
            free(line);
            p += len + (nl ? 1 : 0);
        }
        free(rep);
        if (m.n_rows) el_buf_printf(&b, "  rows %lld\n", (long long)m.n_rows);
    }

    el_buf_puts(&b, "\nthresholds (tuned on val)\n  ");
    if (!d->n_thresholds) el_buf_puts(&b, "-");
    for (int32_t i = 0; i < d->n_thresholds; i++) {
        el_buf_puts(&b, i ? "  " : "");
        el_term_escape(&b, d->thresholds[i].key);
        el_buf_printf(&b, " %s", d->thresholds[i].value);
    }
    el_buf_putc(&b, '\n');

    el_buf_puts(&b, "\nepochs\n");
    if (!d->n_epochs) el_buf_puts(&b, "  (none recorded)\n");
    else el_buf_puts(&b, "  epoch  train loss  val loss  val wF1  val macro  val micro         lr     time  samples/s\n");
    for (int32_t i = 0; i < d->n_epochs; i++) {
        const el_epoch_rec *e = &d->epochs[i];
        char t[32] = "-";
        if (!isnan(e->seconds)) el_format_duration(e->seconds, t);
        el_buf_printf(&b, "  %4d%s", (int)e->epoch, e->epoch == d->best_epoch ? "*" : " ");
        num(&b, e->train_loss, 4, 12);
        num(&b, e->val_loss, 4, 10);
        num(&b, e->val_weighted_f1, 4, 9);
        num(&b, e->val_macro_f1, 4, 11);
        num(&b, e->val_micro_f1, 4, 11);
        if (isnan(e->lr)) el_buf_printf(&b, "%11s", "-");
        else el_buf_printf(&b, "%11.3g", e->lr);
        el_buf_printf(&b, "%9s", t);
        num(&b, e->samples_per_s, 0, 11);
        el_buf_putc(&b, '\n');
    }
    if (d->n_epochs) el_buf_puts(&b, "  (* best epoch: the checkpoint kept)\n");

    if (d->n_thr) {
        int32_t best = -1;
        for (int32_t i = 0; i < d->n_thr; i++)
            if (!isnan(d->thr_f1[i]) && (best < 0 || d->thr_f1[i] > d->thr_f1[best])) best = i;
        if (best >= 0)
            el_buf_printf(&b, "\nthreshold curve: one global threshold, best %.2f -> val weighted F1 %.4f (%d points, "
                              "%.2f..%.2f)\n", d->thr_x[best], d->thr_f1[best], (int)d->n_thr, d->thr_x[0],
                          d->thr_x[d->n_thr - 1]);
    }

    el_buf_puts(&b, "\nartifacts\n");
    if (!d->n_artifacts) el_buf_puts(&b, "  -\n");
    for (int32_t i = 0; i < d->n_artifacts; i++) {
        el_buf_puts(&b, "  ");
        el_term_pad(&b, d->artifacts[i].key, 11, false);
        el_buf_puts(&b, " ");
        el_term_escape(&b, d->artifacts[i].value);
        el_buf_putc(&b, '\n');
    }
    return el_buf_take(&b);
}

/* ---- compare ------------------------------------------------------------------------------ */
static const char *param_of(const el_run_detail *d, const char *key) {
    for (int32_t i = 0; i < d->n_params; i++)
        if (!strcmp(d->params[i].key, key)) return d->params[i].value;
    return NULL;
}

static const el_class_row *class_of(const el_run_detail *d, int s, const char *label) {
    for (int32_t i = 0; i < d->n_classes[s]; i++)
        if (!strcmp(d->classes[s][i].label, label)) return &d->classes[s][i];
    return NULL;
}

static const char *fingerprint_of(const el_run_detail *d, const char *split) {
    for (int32_t i = 0; i < d->n_data; i++)
        if (!strcmp(d->data[i].split, split)) return d->data[i].fingerprint;
    return NULL;
}

static void run_line(el_buf *b, const char *tag, const el_run_detail *d) {
    el_buf_printf(b, "  %s  %.8s  ", tag, d->uuid);
    el_term_escape(b, d->name);
    el_buf_puts(b, "  (");
    el_term_escape(b, d->status);
    el_buf_puts(b, ", data ");
    el_term_escape(b, d->data_variant ? d->data_variant : "-");
    if (d->have_seed) el_buf_printf(b, ", seed %lld", (long long)d->seed);
    el_buf_puts(b, ", ");
    el_term_escape(b, d->created);
    el_buf_puts(b, ")\n");
}

char *el_compare_text(const el_run_detail *a, const el_run_detail *bd) {
    el_buf b = {0};
    el_buf_puts(&b, "compare\n");
    run_line(&b, "A", a);
    run_line(&b, "B", bd);

    /* config diff over the union of params (both lists are sorted by key) */
    el_buf_puts(&b, "\nconfig: parameters that differ\n");
    int wk = 3;
    for (int32_t i = 0; i < a->n_params; i++)
        if (el_utf8_width(a->params[i].key) > wk) wk = el_utf8_width(a->params[i].key);
    for (int32_t i = 0; i < bd->n_params; i++)
        if (el_utf8_width(bd->params[i].key) > wk) wk = el_utf8_width(bd->params[i].key);
    if (wk > 40) wk = 40;
    int32_t i = 0, j = 0, ndiff = 0;
    while (i < a->n_params || j < bd->n_params) {
        int c = i >= a->n_params ? 1 : j >= bd->n_params ? -1 : strcmp(a->params[i].key, bd->params[j].key);
        const char *key = c <= 0 ? a->params[i].key : bd->params[j].key;
        const char *va = c <= 0 ? a->params[i].value : NULL, *vb = c >= 0 ? bd->params[j].value : NULL;
        if (c <= 0) i++;
        if (c >= 0) j++;
        if (va && vb && !strcmp(va, vb)) continue;
        if (!ndiff++) {
            el_buf_puts(&b, "  ");
            el_term_pad(&b, "key", wk, false);
            el_buf_puts(&b, "  A -> B\n");
        }
        char *da = va ? el_json_display(va) : xstrdup("(absent)"), *db = vb ? el_json_display(vb) : xstrdup("(absent)");
        el_buf_puts(&b, "  ");
        el_term_pad(&b, key, wk, false);
        el_buf_puts(&b, "  ");
        el_term_escape(&b, da);
        el_buf_puts(&b, " -> ");
        el_term_escape(&b, db);
        el_buf_putc(&b, '\n');
        free(da);
        free(db);
    }
    if (!ndiff) el_buf_puts(&b, "  (none: the same config; only name, owner or notes may differ)\n");

    el_buf_puts(&b, "\ndata\n");
    static const char *const splits[] = {"train", "val", "test"};
    for (int s = 0; s < 3; s++) {
        const char *fa = fingerprint_of(a, splits[s]), *fb = fingerprint_of(bd, splits[s]);
        el_buf_printf(&b, "  %-5s ", splits[s]);
        if (!fa || !fb) el_buf_puts(&b, "not recorded for both runs\n");
        else if (!strcmp(fa, fb)) el_buf_printf(&b, "same rows (fingerprint %.12s)\n", fa);
        else el_buf_printf(&b, "DIFFERENT rows (A %.12s, B %.12s)%s\n", fa, fb,
                           s ? ": these scores are not on the same data" : "");
    }

    el_buf_puts(&b, "\nmetrics                          A         B     B - A\n");
    static const char *const names[] = {"weighted_f1", "macro_f1", "micro_f1", "samples_f1", "weighted_precision",
                                        "weighted_recall", "macro_precision", "macro_recall", "micro_precision",
                                        "micro_recall", "samples_precision", "samples_recall"};
    for (int s = 0; s < 2; s++)
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
            double x = el_run_detail_metric(a, s, names[k]), y = el_run_detail_metric(bd, s, names[k]);
            if (isnan(x) && isnan(y)) continue;
            el_buf_printf(&b, "  %-4s %-22s", s ? "test" : "val", names[k]);
            num(&b, x, 4, 10);
            num(&b, y, 4, 10);
            delta(&b, x, y, 4, 10);
            el_buf_putc(&b, '\n');
        }

    /* per class: the union of labels, in A's order then B's extra ones */
    el_buf_puts(&b, "\nper-class F1         val A     val B     delta    test A    test B     delta   support (val/test)\n");
    const el_run_detail *src[2] = {a, bd};
    int nl = 0;
    for (int r = 0; r < 2; r++)
        for (int s = 0; s < 2; s++)
            for (int32_t k = 0; k < src[r]->n_classes[s]; k++) {
                const char *label = src[r]->classes[s][k].label;
                bool seen = false;
                for (int r2 = 0; r2 <= r && !seen; r2++)
                    for (int s2 = 0; s2 < 2 && !seen; s2++) {
                        int32_t lim = (r2 == r && s2 == s) ? k : (r2 < r || s2 < s) ? src[r2]->n_classes[s2] : 0;
                        for (int32_t k2 = 0; k2 < lim && !seen; k2++)
                            seen = !strcmp(src[r2]->classes[s2][k2].label, label);
                    }
                if (seen) continue;
                nl++;
                const el_class_row *c[2][2];
                for (int r2 = 0; r2 < 2; r2++)
                    for (int s2 = 0; s2 < 2; s2++) c[r2][s2] = class_of(src[r2], s2, label);
                el_buf_puts(&b, "  ");
                el_term_pad(&b, label, 16, false);
                for (int s2 = 0; s2 < 2; s2++) {
                    double x = c[0][s2] ? c[0][s2]->f1 : NAN, y = c[1][s2] ? c[1][s2]->f1 : NAN;
                    num(&b, x, 4, 10);
                    num(&b, y, 4, 10);
                    delta(&b, x, y, 4, 10);
                }
                const el_class_row *sv = c[0][0] ? c[0][0] : c[1][0], *stt = c[0][1] ? c[0][1] : c[1][1];
                el_buf_printf(&b, "   %lld/%lld\n", sv ? (long long)sv->support : 0LL, stt ? (long long)stt->support : 0LL);
            }
    if (!nl) el_buf_puts(&b, "  (no per-class scores recorded)\n");

    if (a->n_thresholds || bd->n_thresholds) {
        el_buf_puts(&b, "\nthresholds               A         B     B - A\n");
        for (int32_t k = 0; k < a->n_thresholds; k++) {
            double x, y = NAN;
            el_parse_double(a->thresholds[k].value, &x);
            for (int32_t q = 0; q < bd->n_thresholds; q++)
                if (!strcmp(bd->thresholds[q].key, a->thresholds[k].key)) el_parse_double(bd->thresholds[q].value, &y);
            el_buf_puts(&b, "  ");
            el_term_pad(&b, a->thresholds[k].key, 16, false);
            num(&b, x, 2, 10);
            num(&b, y, 2, 10);
            delta(&b, x, y, 2, 10);
            el_buf_putc(&b, '\n');
        }
    }
    (void)param_of;
    return el_buf_take(&b);
}
