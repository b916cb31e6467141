/* sweep.c: sweeps in the registry: the definition, trial rows, reuse, hyperband and the worker
 * loop. See sweep.h; the command line (controller, progress, status) is in sweep_cmd.c. */
#define _GNU_SOURCE
#include "sweep.h"
#include "run.h"
#include "util.h"

#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- the definition ---------------------------------------------------------------------------- */
static const char *kind_name(el_param_kind k) {
    switch (k) {
    case EL_PARAM_VALUE: return "value";
    case EL_PARAM_CATEGORICAL: return "categorical";
    case EL_PARAM_UNIFORM: return "uniform";
    case EL_PARAM_INT_UNIFORM: return "int_uniform";
    case EL_PARAM_LOG_UNIFORM_VALUES: return "log_uniform_values";
    case EL_PARAM_Q_UNIFORM: return "q_uniform";
    case EL_PARAM_NORMAL: return "normal";
    }
    return "?";
}

const char *el_sweep_method_name(el_sweep_method m) {
    return m == EL_SWEEP_GRID ? "grid" : m == EL_SWEEP_RANDOM ? "random" : "bayes";
}

static el_node *num_node(double v) {
    char t[48];
    if (v == floor(v) && fabs(v) < 9e15) snprintf(t, sizeof t, "%lld", (long long)v);
    else el_format_double(v, t);
    return el_node_new_scalar(t, false, NULL);
}

static el_node *str_node(const char *s) { return el_node_new_scalar(s ? s : "", true, NULL); }

char *el_sweep_definition(const el_sweep *s, char hash[65]) {
    el_node *d = el_node_new(EL_NODE_MAP, NULL);
    el_node_map_put(d, "emolab_sweep", num_node(1));
    el_node_map_put(d, "method", str_node(el_sweep_method_name(s->method)));
    el_node_map_put(d, "metric", str_node(s->metric_name));
    el_node_map_put(d, "goal", str_node(s->maximize ? "maximize" : "minimize"));
    el_node *ps = el_node_new(EL_NODE_SEQ, NULL);
    for (int32_t j = 0; j < s->n_params; j++) {
        const el_sweep_param *p = &s->params[j];
        el_node *m = el_node_new(EL_NODE_MAP, NULL);
        el_node_map_put(m, "path", str_node(p->path));
        el_node_map_put(m, "kind", str_node(kind_name(p->kind)));
        if (p->n_values > 0) {
            el_node *vs = el_node_new(EL_NODE_SEQ, NULL);
            for (int32_t i = 0; i < p->n_values; i++) el_node_seq_push(vs, el_node_clone(p->values[i]));
            el_node_map_put(m, "values", vs);
        }
        if (p->probs) {
            el_node *pr = el_node_new(EL_NODE_SEQ, NULL);
            for (int32_t i = 0; i < p->n_values; i++) el_node_seq_push(pr, num_node(p->probs[i]));
            el_node_map_put(m, "probabilities", pr);
        }
        switch (p->kind) {
        case EL_PARAM_UNIFORM:
        case EL_PARAM_INT_UNIFORM:
        case EL_PARAM_LOG_UNIFORM_VALUES:
            el_node_map_put(m, "min", num_node(p->min));
            el_node_map_put(m, "max", num_node(p->max));
            break;
        case EL_PARAM_Q_UNIFORM:
            el_node_map_put(m, "min", num_node(p->min));
            el_node_map_put(m, "max", num_node(p->max));
            el_node_map_put(m, "q", num_node(p->q));
            break;
        case EL_PARAM_NORMAL:
            el_node_map_put(m, "mu", num_node(p->mu));
            el_node_map_put(m, "sigma", num_node(p->sigma));
            break;
        default: break;
        }
        el_node_seq_push(ps, m);
    }
    el_node_map_put(d, "parameters", ps);
    el_node *seeds = el_node_new(EL_NODE_SEQ, NULL);
    for (int32_t i = 0; i < s->n_seeds; i++) el_node_seq_push(seeds, num_node((double)s->seeds[i]));
    el_node_map_put(d, "seeds", seeds);
    char ss[32];
    snprintf(ss, sizeof ss, "%llu", (unsigned long long)s->sampler_seed);
    el_node_map_put(d, "sampler_seed", el_node_new_scalar(ss, false, NULL));
    el_node_map_put(d, "run_cap", num_node((double)s->run_cap));
    el_node_map_put(d, "n_trials", num_node((double)s->n_trials));
    if (s->hyperband) {
        el_node *h = el_node_new(EL_NODE_MAP, NULL);
        el_node_map_put(h, "type", str_node("hyperband"));
        el_node_map_put(h, "min_iter", num_node(s->hb_min_iter));
        el_node_map_put(h, "max_iter", num_node(s->hb_max_iter));
        el_node_map_put(h, "eta", num_node(s->hb_eta));
        el_node_map_put(h, "s", num_node(s->hb_s));
        el_node_map_put(d, "early_terminate", h);
    }
    el_node *base = el_node_clone(s->base);
    if (base && base->kind == EL_NODE_MAP) {
        el_node_map_del(base, "name");
        el_node_map_del(base, "owner");
        el_node_map_del(base, "notes");
    }
    el_node_map_put(d, "base", base ? base : el_node_new(EL_NODE_NULL, NULL));
    char *json = el_node_to_json(d, false);
    el_node_free(d);
    if (hash) el_sha256_hex(json, strlen(json), hash);
    return json;
}

/* ---- trials -------------------------------------------------------------------------------------- */
int64_t el_sweep_trial_seed(const el_sweep *s, int64_t idx) {
    if (s->n_seeds <= 0) return -1;
    return s->seeds[idx % s->n_seeds];
}

int64_t el_sweep_trial_config(const el_sweep *s, int64_t idx) {
    return idx / (s->n_seeds > 0 ? s->n_seeds : 1);
}

void el_sweep_values_free(const el_sweep *s, el_node **values) {
    for (int32_t j = 0; j < s->n_params; j++) {
        el_node_free(values[j]);
        values[j] = NULL;
    }
}

char *el_sweep_values_json(const el_sweep *s, el_node *const *values) {
    el_node *seq = el_node_new(EL_NODE_SEQ, NULL);
    for (int32_t j = 0; j < s->n_params; j++) el_node_seq_push(seq, el_node_clone(values[j]));
    char *j = el_node_to_json(seq, false);
    el_node_free(seq);
    return j;
}

int el_sweep_values_parse(const el_sweep *s, const char *json, el_node **values) {
    el_node *seq = json ? el_yaml_parse(json, strlen(json), "sweep_trials.param_values") : NULL;
    if (!seq || seq->kind != EL_NODE_SEQ || seq->n != s->n_params) {
        el_node_free(seq);
        return el_err("%s: a trial's recorded parameter values (%.200s) do not fit the sweep's %d parameters: "
                      "the registry was changed by hand, or the sweep file no longer matches",
                      s->file, json ? json : "(none)", (int)s->n_params);
    }
    for (int32_t j = 0; j < s->n_params; j++) {
        values[j] = seq->items[j];
        seq->items[j] = NULL;
    }
    seq->n = 0;
    el_node_free(seq);
    return EL_OK;
}

char *el_sweep_assignment_json(const el_sweep *s, el_node *const *values, int64_t seed) {
    el_node *m = el_node_new(EL_NODE_MAP, NULL);
    for (int32_t j = 0; j < s->n_params; j++) el_node_map_put(m, s->params[j].path, el_node_clone(values[j]));
    if (seed >= 0) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)seed);
        el_node_map_put(m, "train.seed", el_node_new_scalar(buf, false, NULL));
    }
    char *j = el_node_to_json(m, false);
    el_node_free(m);
    return j;
}

int el_sweep_trial_spec(const el_sweep *s, int64_t idx, el_node *const *values, el_spec *spec) {
    el_node *t = el_sweep_make_trial(s, values, el_sweep_trial_seed(s, idx), idx);
    if (!t) return el_err_prefix("%s: trial %lld", s->file, (long long)idx);
    int rc = el_spec_from_node(t, s->base_path, spec);
    el_node_free(t);
    if (rc != EL_OK) return el_err_prefix("%s: trial %lld", s->file, (long long)idx);
    return EL_OK;
}

/* Values of a grid/random trial, regenerated from its index (the trial is a pure function of it). */
int el_sweep_trial_values(const el_sweep *s, int64_t idx, el_node **values) {
    return el_sweep_config_values(s, el_sweep_trial_config(s, idx), values);
}

/* ---- registry reads ------------------------------------------------------------------------------ */
int el_sweep_find_reusable(el_registry *r, const char *config_hash, bool include_stopped, char uuid[37],
                           char status[16]) {
    uuid[0] = status[0] = 0;
    sqlite3 *db = el_registry_db(r);
    sqlite3_stmt *st;
    const char *sql = include_stopped
                          ? "SELECT uuid, status FROM runs WHERE config_hash = ? AND status IN ('finished', 'stopped')"
                            " ORDER BY status = 'finished' DESC, finished DESC, uuid LIMIT 1"
                          : "SELECT uuid, status FROM runs WHERE config_hash = ? AND status = 'finished'"
                            " ORDER BY finished DESC, uuid LIMIT 1";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return el_err("%s: looking for a finished run: %s", el_registry_path(r), sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, config_hash, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st), out = 0;
    if (rc == SQLITE_ROW) {
        snprintf(uuid, 37, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(status, 16, "%s", (const char *)sqlite3_column_text(st, 1));
        out = 1;
    } else if (rc != SQLITE_DONE) {
        out = el_err("%s: looking for a finished run: %s", el_registry_path(r), sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return out;
}

/* The epochs-table column of a sweep metric (a fixed list: safe to paste into SQL). */
const char *el_sweep_metric_column(const char *metric) {
    static const char *const cols[] = {"val_weighted_f1", "val_macro_f1", "val_micro_f1", "val_loss"};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        if (el_streq(metric, cols[i])) return cols[i];
    return NULL;
}

int el_sweep_run_metric(el_registry *r, const char *uuid, const char *metric, double *value, int32_t *epochs) {
    *value = NAN;
    if (epochs) *epochs = 0;
    sqlite3 *db = el_registry_db(r);
    sqlite3_stmt *st;
    /* F1 metrics: the run's validation scores (best epoch, tuned thresholds); loss: its best epoch's */
    const char *sql = el_streq(metric, "val_loss")
                          ? "SELECT (SELECT val_loss FROM epochs WHERE run = r.uuid AND epoch = r.best_epoch),"
                            " r.epochs_run FROM runs r WHERE r.uuid = ?1"
                          : "SELECT (SELECT value FROM metrics WHERE run = r.uuid AND split = 'val' AND name = ?2),"
                            " r.epochs_run FROM runs r WHERE r.uuid = ?1";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return el_err("%s: reading run %s's metric: %s", el_registry_path(r), uuid, sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, uuid, -1, SQLITE_TRANSIENT);
    if (!el_streq(metric, "val_loss")) sqlite3_bind_text(st, 2, metric + 4, -1, SQLITE_TRANSIENT); /* "val_" */
    int rc = sqlite3_step(st), out = EL_OK;
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) != SQLITE_NULL) *value = sqlite3_column_double(st, 0);
        if (epochs) *epochs = sqlite3_column_int(st, 1);
    } else if (rc != SQLITE_DONE) {
        out = el_err("%s: reading run %s's metric: %s", el_registry_path(r), uuid, sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return out;
}

int el_sweep_counts_get(el_registry *r, const char *sweep_id, const char *metric, bool maximize,
                        el_sweep_counts *c) {
    memset(c, 0, sizeof *c);
    c->best_idx = -1;
    c->best = NAN;
    if (!r) return el_err("el_sweep_counts_get: no registry");
    sqlite3 *db = el_registry_db(r);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT (SELECT n_trials FROM sweeps WHERE id = ?1), status, count(*), sum(reused)"
                               " FROM sweep_trials WHERE sweep_id = ?1 GROUP BY status", -1, &st, NULL) != SQLITE_OK)
        return el_err("%s: reading sweep %s: %s", el_registry_path(r), sweep_id, sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, sweep_id, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        c->n_trials = sqlite3_column_int64(st, 0);
        const char *s = (const char *)sqlite3_column_text(st, 1);
        int64_t n = sqlite3_column_int64(st, 2);
        c->rows += n;
        if (el_streq(s, "pending")) c->pending = n;
        else if (el_streq(s, "claimed")) c->claimed = n;
        else if (el_streq(s, "done")) c->done = n;
        else if (el_streq(s, "failed")) c->failed = n;
        else if (el_streq(s, "stopped")) c->stopped = n;
        c->reused += sqlite3_column_int64(st, 3);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return el_err("%s: reading sweep %s: %s", el_registry_path(r), sweep_id, sqlite3_errmsg(db));
    if (c->rows == 0) { /* no trial yet (bayes): the sweep row still says how many */
        if (sqlite3_prepare_v2(db, "SELECT n_trials FROM sweeps WHERE id = ?", -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, sweep_id, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(st) == SQLITE_ROW) c->n_trials = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
    }
    (void)metric;
    char *q = sqlite3_mprintf("SELECT idx, metric, run FROM sweep_trials WHERE sweep_id = %Q AND status = 'done'"
                              " AND metric IS NOT NULL ORDER BY metric %s, idx LIMIT 1",
                              sweep_id, maximize ? "DESC" : "ASC");
    rc = sqlite3_prepare_v2(db, q, -1, &st, NULL);
    sqlite3_free(q);
    if (rc != SQLITE_OK) return el_err("%s: reading sweep %s: %s", el_registry_path(r), sweep_id, sqlite3_errmsg(db));
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        c->best_idx = sqlite3_column_int64(st, 0);
        c->best = sqlite3_column_double(st, 1);
        const char *u = (const char *)sqlite3_column_text(st, 2);
        snprintf(c->best_run, sizeof c->best_run, "%s", u ? u : "");
    }
    sqlite3_finalize(st);
    return EL_OK;
}

/* ---- hyperband ----------------------------------------------------------------------------------- */
int32_t el_hyperband_rungs(const el_sweep *s, int32_t epochs, int32_t *rungs, int32_t max) {
    if (!s->hyperband || max <= 0) return 0;
    double eta = s->hb_eta > 1 ? s->hb_eta : 3;
    int32_t n = 0, last = 0;
    if (s->hb_min_iter > 0) {
        for (int k = 0; k < 64 && n < max; k++) {
            double x = (double)s->hb_min_iter * pow(eta, k);
            if (x >= (double)epochs || x > 1e9) break;
            int32_t r = (int32_t)llround(x);
            if (r > last && r < epochs) rungs[n++] = last = r;
        }
    } else if (s->hb_max_iter > 0) {
        int32_t brackets = s->hb_s > 0 ? s->hb_s : (int32_t)floor(log((double)s->hb_max_iter) / log(eta) + 1e-9);
        for (int32_t k = brackets; k >= 1 && n < max; k--) {
            int32_t r = (int32_t)llround((double)s->hb_max_iter / pow(eta, k));
            if (r >= 1 && r > last && r < epochs) rungs[n++] = last = r;
        }
    }
    return n;
}

bool el_hyperband_should_stop(double mine, const double *values, int32_t n, double eta, bool maximize,
                              int32_t *keep_out, int32_t *rank_out, double *cutoff_out) {
    if (eta <= 1) eta = 3;
    int32_t m = 0, rank = 0;
    for (int32_t i = 0; i < n; i++) {
        if (!isfinite(values[i])) continue;
        m++;
        if (isfinite(mine) && (maximize ? values[i] > mine : values[i] < mine)) rank++;
    }
    int32_t keep = (int32_t)ceil((double)m / eta - 1e-9);
    if (keep < 1) keep = 1;
    /* cutoff: the keep-th best value */
    double cutoff = NAN;
    if (m > 0) {
        double *v = xmalloc(sizeof(double) * (size_t)m);
        int32_t k = 0;
        for (int32_t i = 0; i < n; i++)
            if (isfinite(values[i])) v[k++] = values[i];
        for (int32_t i = 1; i < m; i++) { /* insertion sort, best first */
            double x = v[i];
            int32_t j = i - 1;
            while (j >= 0 && (maximize ? v[j] < x : v[j] > x)) {
                v[j + 1] = v[j];
                j--;
            }
            v[j + 1] = x;
        }
        cutoff = v[(keep < m ? keep : m) - 1];
        free(v);
    }
    if (keep_out) *keep_out = keep;
    if (rank_out) *rank_out = rank;
    if (cutoff_out) *cutoff_out = cutoff;
    if (!isfinite(mine)) return false;
    return rank >= keep;
}

/* ---- trials made on demand (bayes) ------------------------------------------------------------- */
int el_sweep_bayes_trial(const el_sweep *s, int64_t idx, const char *first_seed_values, const el_sweep_seen *seen,
                         int32_t n_seen, el_trial_claim *out) {
    el_node *values[EL_SWEEP_MAX_PARAMS] = {0};
    int64_t ns = s->n_seeds > 0 ? s->n_seeds : 1;
    int rc = EL_OK;
    if (idx % ns != 0) { /* another seed of a configuration: the values of its first trial */
        if (!first_seed_values)
            return el_err("%s: trial %lld: the values of trial %lld are missing", s->file, (long long)idx,
                          (long long)(idx - idx % ns));
        if (el_sweep_values_parse(s, first_seed_values, values)) return EL_ERR;
    } else {
        el_node **all = xcalloc((size_t)n_seen * EL_SWEEP_MAX_PARAMS + 1, sizeof *all);
        el_sweep_obs *obs = xcalloc((size_t)n_seen + 1, sizeof *obs);
        int32_t n = 0;
        for (int32_t i = 0; i < n_seen; i++) {
            el_node **v = all + (int64_t)n * EL_SWEEP_MAX_PARAMS;
            if (el_sweep_values_parse(s, seen[i].param_values, v)) continue;
            obs[n].values = v;
            obs[n].metric = seen[i].failed ? NAN : seen[i].metric;
            n++;
        }
        rc = el_sweep_suggest(s, el_sweep_trial_config(s, idx), obs, n, values);
        for (int32_t i = 0; i < n; i++) el_sweep_values_free(s, all + (int64_t)i * EL_SWEEP_MAX_PARAMS);
        free(all);
        free(obs);
        if (rc) return EL_ERR;
        /* the trial is built from the recorded text, so that a resumed sweep builds the same one */
        char *vj = el_sweep_values_json(s, values);
        el_sweep_values_free(s, values);
        rc = el_sweep_values_parse(s, vj, values);
        free(vj);
        if (rc) return EL_ERR;
    }
    el_spec spec;
    if (el_sweep_trial_spec(s, idx, values, &spec)) {
        el_sweep_values_free(s, values);
        return EL_ERR;
    }
    int64_t seed = el_sweep_trial_seed(s, idx);
    out->idx = idx;
    snprintf(out->config_hash, sizeof out->config_hash, "%s", spec.config_hash);
    out->seed = seed >= 0 ? seed : spec.train.seed;
    out->has_seed = true;
    out->assignment = el_sweep_assignment_json(s, values, seed);
    out->param_values = el_sweep_values_json(s, values);
    el_spec_free(&spec);
    el_sweep_values_free(s, values);
    return EL_OK;
}

/* ---- the registry store: claims, results and runs in the registry (local sweeps) --------------- */
typedef struct {
    el_trial_store base;
    el_registry *reg;        /* the worker's connection */
    el_registry *hb_reg;     /* the heartbeat thread's own connection */
    const char *registry_path, *sweep_id;
    const el_sweep *s;
    el_claim_params cp;
} reg_store;

static int reg_make_bayes(void *vctx, el_registry *r, int64_t idx, el_trial_claim *out) {
    reg_store *rs = vctx;
    const el_sweep *s = rs->s;
    sqlite3 *db = el_registry_db(r);
    int64_t ns = s->n_seeds > 0 ? s->n_seeds : 1;
    sqlite3_stmt *st;
    if (idx % ns != 0) {
        if (sqlite3_prepare_v2(db, "SELECT param_values FROM sweep_trials WHERE sweep_id = ? AND idx = ?", -1, &st, NULL))
            return el_err("%s: %s", el_registry_path(r), sqlite3_errmsg(db));
        sqlite3_bind_text(st, 1, rs->sweep_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, idx - idx % ns);
        char *first = sqlite3_step(st) == SQLITE_ROW ? xstrdup((const char *)sqlite3_column_text(st, 0)) : NULL;
        sqlite3_finalize(st);
        int rc = el_sweep_bayes_trial(s, idx, first, NULL, 0, out);
        free(first);
        return rc;
    }
    if (sqlite3_prepare_v2(db, "SELECT param_values, metric, status FROM sweep_trials WHERE sweep_id = ?"
                               " AND status IN ('done', 'failed', 'stopped') ORDER BY idx", -1, &st, NULL))
        return el_err("%s: %s", el_registry_path(r), sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, rs->sweep_id, -1, SQLITE_TRANSIENT);
    el_sweep_seen *seen = NULL;
    int64_t cap = 0;
    int32_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        el_grow(seen, &cap, n + 1);
        seen[n].param_values = xstrdup((const char *)sqlite3_column_text(st, 0));
        seen[n].failed = el_streq((const char *)sqlite3_column_text(st, 2), "failed");
        seen[n].metric = sqlite3_column_type(st, 1) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 1);
        n++;
    }
    sqlite3_finalize(st);
    int rc = el_sweep_bayes_trial(s, idx, NULL, seen, n, out);
    for (int32_t i = 0; i < n; i++) free((char *)seen[i].param_values);
    free(seen);
    return rc;
}

static int reg_claim(el_trial_store *st, el_trial_claim *out) {
    reg_store *rs = (reg_store *)st;
    return el_sweep_claim(rs->reg, rs->sweep_id, &rs->cp, rs->s->method == EL_SWEEP_BAYES ? reg_make_bayes : NULL, rs,
                          out);
}

static int reg_complete(el_trial_store *st, const el_trial_claim *c, const el_trial_result *r) {
    reg_store *rs = (reg_store *)st;
    return el_sweep_complete(rs->reg, rs->sweep_id, c->idx, c->token, r);
}

static int reg_release(el_trial_store *st, const el_trial_claim *c, const char *why) {
    reg_store *rs = (reg_store *)st;
    return el_sweep_release(rs->reg, rs->sweep_id, c->idx, c->token, why);
}

static int reg_heartbeat(el_trial_store *st, int64_t idx, const char *token) {
    reg_store *rs = (reg_store *)st; /* called from the heartbeat thread only: its own connection */
    if (!rs->hb_reg) rs->hb_reg = el_registry_open(rs->registry_path, false);
    if (!rs->hb_reg) return EL_ERR;
    return el_sweep_heartbeat(rs->hb_reg, rs->sweep_id, idx, token, rs->cp.lease_s);
}

static el_registry *reg_run_registry(el_trial_store *st, const el_trial_claim *c) {
    (void)c;
    return ((reg_store *)st)->reg;
}

static void reg_run_registry_done(el_trial_store *st, el_registry *r) {
    (void)st;
    (void)r;
}

/* The metric at `epoch` of every trial of the sweep that reached it (this one included): runs
 * trained in the sweep (not the interrupted or failed ones) and the runs it reused. */
static int reg_rung_values(el_trial_store *st, el_registry *run_reg, const char *run_uuid, int64_t idx, int32_t epoch,
                           const char *col, double **vals, int32_t *n, double *mine) {
    (void)run_reg;
    (void)idx;
    reg_store *rs = (reg_store *)st;
    sqlite3 *db = el_registry_db(rs->reg);
    char *q = sqlite3_mprintf("SELECT e.%s, e.run = %Q FROM epochs e JOIN runs r ON r.uuid = e.run"
                              " WHERE e.epoch = %d AND e.%s IS NOT NULL AND r.status IN ('running', 'finished', 'stopped')"
                              " AND (r.sweep_id = %Q OR r.uuid IN (SELECT run FROM sweep_trials WHERE sweep_id = %Q"
                              " AND reused = 1 AND run IS NOT NULL))",
                              col, run_uuid, (int)epoch, col, rs->sweep_id, rs->sweep_id);
    sqlite3_stmt *s;
    int rc = sqlite3_prepare_v2(db, q, -1, &s, NULL);
    sqlite3_free(q);
    if (rc != SQLITE_OK) return el_err("hyperband: %s", sqlite3_errmsg(db));
    int64_t cap = 0;
    *n = 0;
    *mine = NAN;
    while (sqlite3_step(s) == SQLITE_ROW) {
        el_grow(*vals, &cap, *n + 1);
        (*vals)[*n] = sqlite3_column_double(s, 0);
        if (sqlite3_column_int(s, 1)) *mine = (*vals)[*n];
        (*n)++;
    }
    sqlite3_finalize(s);
    return EL_OK;
}

/* A final (finished or stopped) run of this very trial: the sweep's run with the trial's name and
 * config hash (its worker died between recording the run and recording the trial). */
static int reg_find_own(el_trial_store *st, const el_trial_claim *c, const el_spec *spec, el_trial_result *res,
                        char uuid[37]) {
    (void)c;
    reg_store *rs = (reg_store *)st;
    sqlite3 *db = el_registry_db(rs->reg);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT uuid, status FROM runs WHERE sweep_id = ? AND name = ? AND config_hash = ?"
                               " AND status IN ('finished', 'stopped') ORDER BY finished DESC LIMIT 1", -1, &s, NULL))
        return 0;
    sqlite3_bind_text(s, 1, rs->sweep_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, spec->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, spec->config_hash, -1, SQLITE_TRANSIENT);
    int found = 0;
    if (sqlite3_step(s) == SQLITE_ROW) {
        snprintf(uuid, 37, "%s", (const char *)sqlite3_column_text(s, 0));
        res->status = el_streq((const char *)sqlite3_column_text(s, 1), "finished") ? "done" : "stopped";
        found = 1;
    }
    sqlite3_finalize(s);
    if (found) el_sweep_run_metric(rs->reg, uuid, rs->s->metric_name, &res->metric, &res->epochs);
    return found;
}

static int reg_find_reusable(el_trial_store *st, const el_spec *spec, el_trial_result *res, char uuid[37]) {
    reg_store *rs = (reg_store *)st;
    char status[16];
    int found = el_sweep_find_reusable(rs->reg, spec->config_hash, rs->s->hyperband, uuid, status);
    if (found > 0) {
        res->status = el_streq(status, "finished") ? "done" : "stopped";
        el_sweep_run_metric(rs->reg, uuid, rs->s->metric_name, &res->metric, &res->epochs);
    }
    return found;
}

static void reg_free(el_trial_store *st) {
    reg_store *rs = (reg_store *)st;
    el_registry_close(rs->hb_reg);
    free(rs);
}

el_trial_store *el_store_registry(el_registry *reg, const char *registry_path, const char *sweep_id,
                                  const el_sweep *s, const el_worker_params *p) {
    reg_store *rs = xcalloc(1, sizeof *rs);
    rs->base = (el_trial_store){.kind = "registry", .claim = reg_claim, .complete = reg_complete,
                                .release = reg_release, .heartbeat = reg_heartbeat, .run_registry = reg_run_registry,
                                .run_registry_done = reg_run_registry_done, .rung_values = reg_rung_values,
                                .find_own = reg_find_own, .find_reusable = reg_find_reusable, .free = reg_free};
    rs->reg = reg;
    rs->registry_path = registry_path;
    rs->sweep_id = sweep_id;
    rs->s = s;
    rs->cp = (el_claim_params){.host = p->host, .job = p->job,
                               .lease_s = p->lease_s > 0 ? p->lease_s : EL_SWEEP_DEFAULT_LEASE_S,
                               .max_lost = p->max_lost};
    return &rs->base;
}

/* ---- the worker ---------------------------------------------------------------------------------- */
el_worker_params el_worker_default_params(void) {
    el_worker_params p = {.save_checkpoint = true, .lease_s = EL_SWEEP_DEFAULT_LEASE_S, .max_lost = 3};
    return p;
}

/* A thread that renews the lease of the trial being run (every lease/3). */
typedef struct {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool started, quit, active, lost;
    el_trial_store *store;
    int64_t idx;
    char token[37];
    double lease_s;
} heartbeat;

static void *heartbeat_main(void *vctx) {
    heartbeat *h = vctx;
    double every = h->lease_s / 3.0;
    if (every < 0.05) every = 0.05;
    pthread_mutex_lock(&h->mu);
    while (!h->quit) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double t = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9 + every;
        ts.tv_sec = (time_t)t;
        ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
        pthread_cond_timedwait(&h->cv, &h->mu, &ts);
        if (h->quit || !h->active) continue;
        int64_t idx = h->idx;
        char token[37];
        memcpy(token, h->token, sizeof token);
        pthread_mutex_unlock(&h->mu);
        int rc = h->store->heartbeat(h->store, idx, token);
        if (rc < 0) fprintf(stderr, "worker: warning: could not renew the lease of trial %lld: %s\n",
                            (long long)idx, el_last_error());
        pthread_mutex_lock(&h->mu);
        if (rc == 0 && h->active && h->idx == idx) {
            if (!h->lost) fprintf(stderr, "worker: trial %lld: the claim was lost (another worker took it)\n", (long long)idx);
            h->lost = true;
        }
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

static void heartbeat_set(heartbeat *h, bool active, int64_t idx, const char *token) {
    pthread_mutex_lock(&h->mu);
    h->active = active;
    h->idx = idx;
    h->lost = false;
    snprintf(h->token, sizeof h->token, "%s", token ? token : "");
    pthread_mutex_unlock(&h->mu);
}

typedef struct {
    el_trial_store *store;
    el_registry *run_reg;    /* where the current trial's run is recorded */
    const el_sweep *s;
    const el_worker_params *p;
    const char *sweep_id;
    const char *metric_col;
    /* the trial being run */
    int64_t idx;
    int32_t rungs[EL_HB_MAX_RUNGS], n_rungs;
    char run_uuid[37];
    char reason[512];
    /* where a worker's time goes (seconds, summed over trials): printed when it ends */
    double t_claim, t_build, t_run, t_record;
} worker_ctx;

/* This process's running run of the sweep (el_run_spec does not tell the callback its uuid). */
static bool find_my_run(worker_ctx *w) {
    if (w->run_uuid[0]) return true;
    sqlite3 *db = el_registry_db(w->run_reg);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT uuid FROM runs WHERE sweep_id = ? AND host = ? AND pid = ? AND status = 'running'"
                               " ORDER BY created DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, w->sweep_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, el_hostname(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, (int64_t)getpid());
    if (sqlite3_step(st) == SQLITE_ROW) snprintf(w->run_uuid, sizeof w->run_uuid, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return w->run_uuid[0] != 0;
}

static int on_epoch(void *vctx, int32_t epoch, double unused) {
    (void)unused;
    worker_ctx *w = vctx;
    bool rung = false;
    for (int32_t i = 0; i < w->n_rungs; i++) rung |= w->rungs[i] == epoch;
    if (!rung || !w->metric_col || !find_my_run(w)) return 0;
    double *vals = NULL, mine = NAN;
    int32_t n = 0;
    if (w->store->rung_values(w->store, w->run_reg, w->run_uuid, w->idx, epoch, w->metric_col, &vals, &n, &mine)) {
        fprintf(stderr, "worker: hyperband: %s\n", el_last_error());
        free(vals);
        return 0;
    }
    int32_t keep = 0, rank = 0;
    double cutoff = NAN, eta = w->s->hb_eta > 1 ? w->s->hb_eta : 3;
    bool stop = el_hyperband_should_stop(mine, vals, n, eta, w->s->maximize, &keep, &rank, &cutoff);
    free(vals);
    fprintf(stderr, "hyperband: trial %lld, epoch %d: %s %.6g, rank %d of %d at this rung, the best %d go on "
                    "(cutoff %.6g): %s\n",
            (long long)w->idx, (int)epoch, w->metric_col, mine, (int)rank + 1, (int)n, (int)keep, cutoff,
            stop ? "stop" : "continue");
    if (stop)
        snprintf(w->reason, sizeof w->reason,
                 "hyperband: %s %.6g at epoch %d is outside the best %d of the %d trials that reached this rung "
                 "(cutoff %.6g, eta %g)",
                 w->metric_col, mine, (int)epoch, (int)keep, (int)n, cutoff, eta);
    return stop ? 1 : 0;
}

typedef enum { TRIAL_NEXT = 0, TRIAL_INTERRUPTED = 1, TRIAL_ERROR = -1 } trial_outcome;

static void log_time(char out[32]) {
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, 32, "%H:%M:%S", &tm);
}

static int complete(worker_ctx *w, const el_trial_claim *c, const el_trial_result *res) {
    int rc = w->store->complete(w->store, c, res);
    if (rc < 0) return rc;
    if (rc == 0)
        fprintf(stderr, "worker: trial %lld: the claim was lost meanwhile (its lease expired and another worker took "
                        "it); this result stays recorded as run %s but not as the trial's\n",
                (long long)c->idx, res->run ? res->run : "-");
    return EL_OK;
}

static trial_outcome run_trial(worker_ctx *w, heartbeat *hb, const el_trial_claim *c) {
    const el_sweep *s = w->s;
    const el_worker_params *p = w->p;
    double tb = el_now();
    char t0s[32];
    log_time(t0s);
    fprintf(stderr, "[%s] trial %lld (claim %d): %s\n", t0s, (long long)c->idx, (int)c->claims,
            c->assignment ? c->assignment : "");
    el_node *values[EL_SWEEP_MAX_PARAMS] = {0};
    int rc = s->method == EL_SWEEP_BAYES ? el_sweep_values_parse(s, c->param_values, values)
                                         : el_sweep_trial_values(s, c->idx, values);
    el_spec spec;
    memset(&spec, 0, sizeof spec);
    if (rc == EL_OK) rc = el_sweep_trial_spec(s, c->idx, values, &spec);
    el_sweep_values_free(s, values);
    el_trial_result tr = {.status = "failed", .metric = NAN};
    if (rc != EL_OK) {
        tr.error = el_last_error();
        fprintf(stderr, "trial %lld failed: %s\n", (long long)c->idx, tr.error);
        return complete(w, c, &tr) ? TRIAL_ERROR : TRIAL_NEXT;
    }
    if (strcmp(spec.config_hash, c->config_hash) != 0) {
        char *msg = el_printf("trial %lld's config changed since the sweep was created (config hash %.12s, recorded "
                              "%.12s): the base spec or a file it names was edited; start a new sweep",
                              (long long)c->idx, spec.config_hash, c->config_hash);
        tr.error = msg;
        fprintf(stderr, "%s\n", msg);
        int e = complete(w, c, &tr);
        free(msg);
        el_spec_free(&spec);
        return e ? TRIAL_ERROR : TRIAL_NEXT;
    }
    char uuid[37] = "", status[16] = "";
    /* this sweep's own run of the trial is final, but its worker died before recording the trial
     * (kill -9 between the two commits): the trial is done, by that run */
    if (w->store->find_own(w->store, c, &spec, &tr, uuid) == 1) {
        tr.run = uuid;
        tr.error = el_streq(tr.status, "stopped") ? "stopped by hyperband (recorded before its worker died)" : NULL;
        fprintf(stderr, "trial %lld: its run %s was %s before the worker died; recorded\n", (long long)c->idx, uuid,
                tr.status);
        el_spec_free(&spec);
        return complete(w, c, &tr) ? TRIAL_ERROR : TRIAL_NEXT;
    }
    if (!p->rerun && w->store->find_reusable(w->store, &spec, &tr, uuid) == 1) {
        tr.run = uuid;
        tr.reused = true;
        tr.error = NULL;
        fprintf(stderr, "trial %lld: reused run %s (%s, same config hash %.12s)\n", (long long)c->idx, uuid, tr.status,
                spec.config_hash);
        el_spec_free(&spec);
        return complete(w, c, &tr) ? TRIAL_ERROR : TRIAL_NEXT;
    }
    tr = (el_trial_result){.status = "failed", .metric = NAN};
    w->t_build += el_now() - tb;
    if (spec.train.threads == 0 && p->threads > 0) spec.train.threads = p->threads;
    if (p->data_root) {
        free(spec.data.root);
        spec.data.root = xstrdup(p->data_root);
    }
    el_registry *run_reg = w->store->run_registry(w->store, c);
    if (!run_reg) {
        char *why = el_printf("not started: %s", el_last_error());
        fprintf(stderr, "worker: trial %lld: %s\n", (long long)c->idx, why);
        w->store->release(w->store, c, why);
        el_err("%s", why);
        free(why);
        el_spec_free(&spec);
        return TRIAL_ERROR;
    }
    w->run_reg = run_reg;
    w->idx = c->idx;
    w->run_uuid[0] = 0;
    w->reason[0] = 0;
    w->n_rungs = el_hyperband_rungs(s, spec.train.epochs, w->rungs, EL_HB_MAX_RUNGS);
    el_run_params rp = el_run_default_params();
    rp.experiments_dir = p->experiments_dir;
    rp.sweep_id = w->sweep_id;
    rp.save_checkpoint = p->save_checkpoint;
    rp.quiet = true;
    rp.stop = p->stop;
    rp.on_epoch = w->n_rungs > 0 ? on_epoch : NULL;
    rp.on_epoch_ctx = w;
    el_train_result res;
    heartbeat_set(hb, true, c->idx, c->token);
    double t0 = el_now();
    el_run_spec(run_reg, &spec, &rp, uuid, &res);
    double secs = el_now() - t0, tr0 = el_now();
    w->t_run += secs;
    heartbeat_set(hb, false, -1, NULL);
    el_spec_free(&spec);
    if (!uuid[0]) { /* the registry refused the run: nothing was trained */
        char *why = el_printf("not started: %s", el_last_error());
        fprintf(stderr, "worker: trial %lld: %s\n", (long long)c->idx, why);
        w->store->run_registry_done(w->store, run_reg);
        w->store->release(w->store, c, why);
        el_err("%s", why);
        free(why);
        return TRIAL_ERROR;
    }
    /* the run's recorded status is the truth (a failed registry write leaves it running) */
    if (el_run_get_status(run_reg, uuid, status) != 1) status[0] = 0;
    if (el_streq(status, "finished") || el_streq(status, "stopped"))
        el_sweep_run_metric(run_reg, uuid, s->metric_name, &tr.metric, NULL);
    w->store->run_registry_done(w->store, run_reg);
    w->run_reg = NULL;
    char tend[32];
    log_time(tend);
    if (el_streq(status, "interrupted") || el_streq(status, "running") || !status[0]) {
        char *why = el_printf("run %s was %s: %s", uuid, el_streq(status, "interrupted") ? "interrupted" : "not recorded",
                              res.error[0] ? res.error : el_last_error());
        int released = w->store->release(w->store, c, why);
        fprintf(stderr, "[%s] trial %lld: %s; the trial returns to the queue%s\n", tend, (long long)c->idx, why,
                released == 1 ? "" : " (claim already lost)");
        free(why);
        return el_streq(status, "interrupted") ? TRIAL_INTERRUPTED : TRIAL_ERROR;
    }
    tr.run = uuid;
    tr.epochs = res.epochs_run;
    if (el_streq(status, "finished")) {
        tr.status = "done";
    } else if (el_streq(status, "stopped")) {
        tr.status = "stopped";
        tr.error = w->reason[0] ? w->reason : res.error;
    } else {
        tr.status = "failed";
        tr.error = res.error[0] ? res.error : "failed (see the worker log)";
    }
    fprintf(stderr, "[%s] trial %lld: run %s %s%s%s, %s %.4f, %d epoch(s), run %.1f ms\n", tend, (long long)c->idx, uuid,
            status, tr.error ? ": " : "", tr.error ? tr.error : "", s->metric_name, tr.metric, (int)res.epochs_run,
            secs * 1e3);
    int e = complete(w, c, &tr);
    w->t_record += el_now() - tr0;
    return e ? TRIAL_ERROR : TRIAL_NEXT;
}

/* The sweep a worker works for: its id, file and definition hash, from the registry or from the
 * sweep directory. */
static int worker_sweep(const el_worker_params *p, el_registry **reg, char **id, char **file, char **def_hash) {
    *reg = NULL;
    *id = *file = *def_hash = NULL;
    if (p->sweep_dir) {
        el_sweep_dir_info di;
        if (el_sweep_dir_read_info(p->sweep_dir, &di)) return 1;
        *id = xstrdup(di.id);
        *file = xstrdup(di.file);
        *def_hash = xstrdup(di.definition_hash);
        el_sweep_dir_info_free(&di);
        return 0;
    }
    *reg = el_registry_open(p->registry, false);
    if (!*reg) return 1;
    el_sweep_row row;
    int rc = el_sweep_row_get(*reg, p->sweep_id, &row);
    if (rc != 1) {
        if (rc == 0) el_err("%s: no sweep %s (emolab sweep --status lists the sweeps)", p->registry, p->sweep_id);
        el_registry_close(*reg);
        *reg = NULL;
        return 1;
    }
    *id = xstrdup(row.id);
    *file = xstrdup(row.file);
    *def_hash = xstrdup(row.definition_hash);
    el_sweep_row_free(&row);
    return 0;
}

int el_sweep_worker(const el_worker_params *p) {
    double t_start = el_now();
    if (!p->sweep_dir && (!p->registry || !p->sweep_id)) {
        el_err("emolab worker: give --sweep-dir DIR, or --registry and --sweep-id");
        return 2;
    }
    el_registry *reg;
    char *id, *rec_file, *rec_hash;
    if (worker_sweep(p, &reg, &id, &rec_file, &rec_hash)) return 1;
    const char *file = p->file ? p->file : rec_file;
    el_sweep s;
    int out = 0;
    if (el_sweep_load(file, &s) != EL_OK) {
        el_err_prefix("sweep %s", id);
        out = 1;
        goto end;
    }
    char hash[65];
    free(el_sweep_definition(&s, hash));
    if (strcmp(hash, rec_hash) != 0) {
        el_err("%s no longer defines sweep %s (it was edited after the sweep started: its definition hash is "
               "%.12s, the sweep's %.12s); restore it, or start a new sweep with the edited file",
               file, id, hash, rec_hash);
        el_sweep_free(&s);
        out = 1;
        goto end;
    }
    el_trial_store *store = p->sweep_dir ? el_store_dir(p->sweep_dir, id, &s, p) : el_store_registry(reg, p->registry, id, &s, p);
    if (!store) {
        el_sweep_free(&s);
        out = 1;
        goto end;
    }
    worker_ctx w = {.store = store, .s = &s, .p = p, .sweep_id = id, .metric_col = el_sweep_metric_column(s.metric_name)};
    heartbeat hb = {.store = store, .lease_s = p->lease_s > 0 ? p->lease_s : EL_SWEEP_DEFAULT_LEASE_S};
    pthread_mutex_init(&hb.mu, NULL);
    pthread_cond_init(&hb.cv, NULL);
    hb.started = pthread_create(&hb.th, NULL, heartbeat_main, &hb) == 0;
    int n_run = 0;
    fprintf(stderr, "worker pid %d on %s%s%s: sweep %s (%s), %s store, %d libtorch thread(s)\n", (int)getpid(),
            el_hostname(), p->job ? ", job " : "", p->job ? p->job : "", id, file, store->kind, (int)p->threads);
    for (;;) {
        if (p->stop && *p->stop) {
            out = 130;
            break;
        }
        el_trial_claim c;
        double tc = el_now();
        int got = store->claim(store, &c);
        w.t_claim += el_now() - tc;
        if (got < 0) {
            out = 1;
            break;
        }
        if (got == 0) break;
        trial_outcome o = run_trial(&w, &hb, &c);
        el_trial_claim_free(&c);
        n_run++;
        if (o == TRIAL_ERROR) {
            out = 1;
            break;
        }
        if (o == TRIAL_INTERRUPTED) {
            out = 130;
            break;
        }
    }
    if (out == 1) fprintf(stderr, "worker: %s\n", el_last_error());
    fprintf(stderr, "worker pid %d: %d trial(s) taken, %s\n", (int)getpid(), n_run,
            out == 0 ? "nothing left to claim" : out == 130 ? "stopped by a signal" : "stopped by an error");
    if (n_run > 0)
        fprintf(stderr, "worker pid %d: per trial: claim %.1f ms, build + reuse check %.1f ms, run %.1f ms, "
                        "record %.1f ms; %.2fs since the worker started\n",
                (int)getpid(), 1e3 * w.t_claim / n_run, 1e3 * w.t_build / n_run, 1e3 * w.t_run / n_run,
                1e3 * w.t_record / n_run, el_now() - t_start);
    if (hb.started) {
        pthread_mutex_lock(&hb.mu);
        hb.quit = true;
        pthread_cond_signal(&hb.cv);
        pthread_mutex_unlock(&hb.mu);
        pthread_join(hb.th, NULL);
    }
    pthread_mutex_destroy(&hb.mu);
    pthread_cond_destroy(&hb.cv);
    store->free(store);
    el_sweep_free(&s);
end:
    free(id);
    free(rec_file);
    free(rec_hash);
    el_registry_close(reg);
    return out;
}

/* ---- sweeps in the registry ------------------------------------------------------------------------ */
static char *col_str(sqlite3_stmt *st, int i) {
    const char *s = (const char *)sqlite3_column_text(st, i);
    return xstrdup(s ? s : "");
}

int el_sweep_row_get(el_registry *r, const char *sweep_id, el_sweep_row *out) {
    memset(out, 0, sizeof *out);
    sqlite3 *db = el_registry_db(r);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT id, name, file, definition_hash, method, metric, goal, n_trials, created, host,"
                               " dir FROM sweeps WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return el_err("%s: reading sweep %s: %s", el_registry_path(r), sweep_id, sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, sweep_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st), found = 0;
    if (rc == SQLITE_ROW) {
        out->id = col_str(st, 0);
        out->name = col_str(st, 1);
        out->file = col_str(st, 2);
        out->definition_hash = col_str(st, 3);
        out->method = col_str(st, 4);
        out->metric = col_str(st, 5);
        out->maximize = el_streq((const char *)sqlite3_column_text(st, 6), "maximize");
        out->n_trials = sqlite3_column_int64(st, 7);
        out->created = col_str(st, 8);
        out->host = col_str(st, 9);
        out->dir = sqlite3_column_type(st, 10) == SQLITE_NULL ? NULL : col_str(st, 10);
        found = 1;
    } else if (rc != SQLITE_DONE) {
        found = el_err("%s: reading sweep %s: %s", el_registry_path(r), sweep_id, sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return found;
}

void el_sweep_row_free(el_sweep_row *row) {
    free(row->id);
    free(row->name);
    free(row->file);
    free(row->definition_hash);
    free(row->method);
    free(row->metric);
    free(row->created);
    free(row->host);
    free(row->dir);
    memset(row, 0, sizeof *row);
}

int el_sweep_find_latest(el_registry *r, const char *definition_hash, char id[EL_SWEEP_ID_MAX]) {
    id[0] = 0;
    sqlite3 *db = el_registry_db(r);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT id FROM sweeps WHERE definition_hash = ? ORDER BY created DESC, id DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return el_err("%s: looking for the sweep: %s", el_registry_path(r), sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, definition_hash, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st), found = 0;
    if (rc == SQLITE_ROW) {
        snprintf(id, EL_SWEEP_ID_MAX, "%s", (const char *)sqlite3_column_text(st, 0));
        found = 1;
    } else if (rc != SQLITE_DONE) {
        found = el_err("%s: looking for the sweep: %s", el_registry_path(r), sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return found;
}

void el_sweep_new_id(const el_sweep *s, char id[EL_SWEEP_ID_MAX]) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y%m%d-%H%M%S", &tm);
    uint16_t rnd = 0;
    if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) rnd = (uint16_t)(getpid() ^ (int)(el_now() * 1e6));
    snprintf(id, EL_SWEEP_ID_MAX, "%.100s-%s-%04x", s->name, ts, (unsigned)rnd);
}

typedef struct {
    char hash[65];
    char *assignment, *values;
    int64_t seed;
    char reuse_run[37], reuse_status[16];
    double metric;
    int32_t epochs;
} gen_trial;

int el_sweep_create_new(el_registry *r, const el_sweep *s, const char *file_abs, bool rerun, const char *owner,
                        const char *dir, char id[EL_SWEEP_ID_MAX], int64_t *n_reused) {
    *n_reused = 0;
    char def_hash[65];
    char *def = el_sweep_definition(s, def_hash);
    int64_t n = s->method == EL_SWEEP_BAYES ? 0 : s->n_trials;
    gen_trial *g = xcalloc((size_t)n + 1, sizeof *g);
    el_trial_init *ti = xcalloc((size_t)n + 1, sizeof *ti);
    int rc = EL_OK;
    for (int64_t i = 0; i < n && rc == EL_OK; i++) {
        el_node *values[EL_SWEEP_MAX_PARAMS] = {0};
        el_spec spec;
        if ((rc = el_sweep_trial_values(s, i, values)) != EL_OK) break;
        if ((rc = el_sweep_trial_spec(s, i, values, &spec)) != EL_OK) {
            el_sweep_values_free(s, values);
            break;
        }
        int64_t seed = el_sweep_trial_seed(s, i);
        memcpy(g[i].hash, spec.config_hash, 65);
        g[i].seed = seed >= 0 ? seed : spec.train.seed;
        g[i].assignment = el_sweep_assignment_json(s, values, seed);
        g[i].values = el_sweep_values_json(s, values);
        g[i].metric = NAN;
        el_sweep_values_free(s, values);
        el_spec_free(&spec);
        if (!rerun) {
            int found = el_sweep_find_reusable(r, g[i].hash, s->hyperband, g[i].reuse_run, g[i].reuse_status);
            if (found < 0) {
                rc = EL_ERR;
                break;
            }
            if (found) {
                el_sweep_run_metric(r, g[i].reuse_run, s->metric_name, &g[i].metric, &g[i].epochs);
                (*n_reused)++;
            }
        }
        ti[i] = (el_trial_init){.idx = i, .config_hash = g[i].hash, .seed = g[i].seed, .has_seed = true,
                                .assignment = g[i].assignment, .param_values = g[i].values,
                                .reuse_run = g[i].reuse_run[0] ? g[i].reuse_run : NULL,
                                .reuse_status = el_streq(g[i].reuse_status, "stopped") ? "stopped" : "done",
                                .reuse_metric = g[i].metric, .reuse_epochs = g[i].epochs};
    }
    if (rc == EL_OK) {
        if (!id[0]) el_sweep_new_id(s, id);
        el_reg_sweep rs = {.id = id, .name = s->name, .file = file_abs, .definition = def, .definition_hash = def_hash,
                           .method = el_sweep_method_name(s->method), .metric = s->metric_name, .owner = owner,
                           .dir = dir, .maximize = s->maximize, .n_trials = s->n_trials};
        rc = el_sweep_create(r, &rs, ti, n);
    }
    for (int64_t i = 0; i < n; i++) {
        free(g[i].assignment);
        free(g[i].values);
    }
    free(g);
    free(ti);
    free(def);
    return rc;
}
