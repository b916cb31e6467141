/* ensemble.c: ensembles of recorded runs (see predict.h): build, score, record; pick members
 * from the leaderboard; `emolab ensemble`.
 *
 * Members are loaded one at a time (a bow model with 2^20 buckets holds a 512 MiB table), each
 * predicts the whole val and test splits exactly as training scored them, and the ensemble's
 * probabilities are el_probs_mean of theirs: the function the ensemble predictor uses later, so
 * predicting with the recorded ensemble reproduces its recorded metrics.
 */
#define _GNU_SOURCE
#include "commands.h"
#include "data.h"
#include "predict.h"
#include "spec.h"
#include "train.h"
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

el_ensemble_params el_ensemble_default_params(void) {
    el_ensemble_params p = {
        .threshold_mode = "per_class",
        .threshold_value = 0.5,
        .grid_step = 0.01,
        .reuse = true,
    };
    return p;
}

/* ---- registry reads ------------------------------------------------------------------------ */
typedef struct {
    char val[65], test[65], train[65];
    char variant[64];
} member_data;

static int read_member_data(el_registry *reg, const char *uuid, member_data *d) {
    memset(d, 0, sizeof *d);
    sqlite3 *db = el_registry_db(reg);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT split, fingerprint FROM data WHERE run = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return el_err("%s: reading data facts: %s", el_registry_path(reg), sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, uuid, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *split = (const char *)sqlite3_column_text(st, 0);
        const char *fp = (const char *)sqlite3_column_text(st, 1);
        char *dst = el_streq(split, "val") ? d->val : el_streq(split, "test") ? d->test
                  : el_streq(split, "train")                                  ? d->train
                                                                              : NULL;
        if (dst && fp) snprintf(dst, 65, "%s", fp);
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db, "SELECT data_variant FROM runs WHERE uuid = ?", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, uuid, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            snprintf(d->variant, sizeof d->variant, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    if (!d->val[0] || !d->test[0])
        return el_err("run %s has no recorded val/test data fingerprints (did its data load?)", uuid);
    return EL_OK;
}

/* A recorded metric of a run, NAN when absent. */
static double read_metric(el_registry *reg, const char *uuid, const char *split, const char *name) {
    sqlite3 *db = el_registry_db(reg);
    sqlite3_stmt *st;
    double v = NAN;
    if (sqlite3_prepare_v2(db, "SELECT value FROM metrics WHERE run = ? AND split = ? AND name = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return v;
    sqlite3_bind_text(st, 1, uuid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, split, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* ---- building ---------------------------------------------------------------------------- */
static el_threshold_mode parse_mode(const char *m) {
    if (el_streq(m, "fixed")) return EL_THR_FIXED;
    if (el_streq(m, "global")) return EL_THR_GLOBAL;
    return EL_THR_PER_CLASS;
}

static void score(const float *probs, const el_split *s, const float *thr, el_metrics *out) {
    int32_t k = s->n_labels;
    uint8_t *pred = xmalloc((size_t)(s->n * k) + 1);
    el_apply_thresholds(probs, thr, s->n, k, pred);
    el_metrics_compute(s->y, pred, s->n, k, out);
    free(pred);
}

typedef struct {
    int32_t n;
    char uuid[64][37];
    char *name[64];
    member_data data[64];
    int32_t k;
    char *labels[EL_MAX_LABELS];
    float *pv[64], *pt[64]; /* each member's val/test probabilities */
} members;

static void members_free(members *m) {
    for (int32_t i = 0; i < m->n; i++) {
        free(m->name[i]);
        free(m->pv[i]);
        free(m->pt[i]);
    }
    for (int32_t j = 0; j < m->k; j++) free(m->labels[j]);
}

static char *make_config(const members *m, const el_ensemble_params *p, const char *name,
                         const char *owner, const char *variant, bool with_identity) {
    json_t *o = json_object();
    json_t *uu = json_array(), *nn = json_array(), *ll = json_array();
    for (int32_t i = 0; i < m->n; i++) {
        json_array_append_new(uu, json_string(m->uuid[i]));
        json_array_append_new(nn, json_string(m->name[i]));
    }
    for (int32_t j = 0; j < m->k; j++) json_array_append_new(ll, json_string(m->labels[j]));
    json_object_set_new(o, "kind", json_string("ensemble"));
    json_object_set_new(o, "combine", json_string("mean"));
    json_object_set_new(o, "members", uu);
    json_object_set_new(o, "member_names", nn);
    json_object_set_new(o, "labels", ll);
    json_t *thr = json_object();
    json_object_set_new(thr, "mode", json_string(p->threshold_mode));
    json_object_set_new(thr, "value", json_real(p->threshold_value));
    json_object_set_new(thr, "grid_step", json_real(p->grid_step));
    json_object_set_new(o, "threshold", thr);
    json_t *d = json_object();
    json_object_set_new(d, "val", json_string(m->data[0].val));
    json_object_set_new(d, "test", json_string(m->data[0].test));
    json_object_set_new(d, "variant", json_string(variant));
    json_object_set_new(o, "data", d);
    if (with_identity) {
        json_object_set_new(o, "name", json_string(name));
        json_object_set_new(o, "owner", json_string(owner));
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(o);
    return s;
}

/* The shortest decimal that reads back as exactly f: 0.35, not 0.349999994. */
static double short_double(float f) {
    char b[32];
    for (int d = 1; d <= 9; d++) {
        snprintf(b, sizeof b, "%.*g", d, (double)f);
        if (strtof(b, NULL) == f) break;
    }
    return strtod(b, NULL);
}

static int write_ensemble_json(const char *path, const members *m, const char *uuid,
                               const char *name, const float *thr) {
    json_t *o = json_object(), *mem = json_array(), *th = json_object(), *ll = json_array();
    json_object_set_new(o, "uuid", json_string(uuid));
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "combine", json_string("mean"));
    for (int32_t i = 0; i < m->n; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "uuid", json_string(m->uuid[i]));
        json_object_set_new(e, "name", json_string(m->name[i]));
        json_array_append_new(mem, e);
    }
    json_object_set_new(o, "members", mem);
    for (int32_t j = 0; j < m->k; j++) {
        json_array_append_new(ll, json_string(m->labels[j]));
        json_object_set_new(th, m->labels[j], json_real(short_double(thr[j])));
    }
    json_object_set_new(o, "labels", ll);
    json_object_set_new(o, "thresholds", th);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
    json_decref(o);
    el_buf b = {0};
    el_buf_puts(&b, s);
    el_buf_putc(&b, '\n');
    free(s);
    int rc = el_write_file_atomic(path, b.s, b.len);
    el_buf_free(&b);
    return rc;
}

/* Labels a run was scored with (its thresholds rows), in output order. */
static int read_labels(el_registry *reg, const char *uuid, members *m) {
    sqlite3 *db = el_registry_db(reg);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT label FROM thresholds WHERE run = ? ORDER BY label_idx", -1,
                           &st, NULL) != SQLITE_OK)
        return el_err("%s: reading labels: %s", el_registry_path(reg), sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, uuid, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW && m->k < EL_MAX_LABELS)
        m->labels[m->k++] = xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (m->k == 0) return el_err("run %s has no recorded thresholds/labels", uuid);
    return EL_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Step 1, from the registry alone (cheap, before any model or data is loaded): resolves and
 * checks the members, puts them in uuid order (an ensemble is a set: "a b" and "b a" are the
 * same ensemble, averaged in the same order), reads their data fingerprints and labels. */
static int check_members(el_registry *reg, const char *const *refs, int32_t n, members *m) {
    char **sorted = xcalloc((size_t)n, sizeof(char *));
    int rc = EL_OK;
    for (int32_t i = 0; i < n && rc == EL_OK; i++) {
        el_run_ref r;
        if (el_registry_resolve_run(reg, refs[i], &r) != 0) {
            rc = EL_ERR;
            break;
        }
        if (!el_streq(r.kind, "single"))
            rc = el_err("run %s (%s) is itself an ensemble: list its members instead", r.uuid,
                        r.name);
        else if (!el_streq(r.status, "finished"))
            rc = el_err("run %s (%s) is %s: an ensemble member must be a finished run (its val "
                        "and test scores are complete)", r.uuid, r.name, r.status);
        else if (!r.checkpoint)
            rc = el_err("run %s (%s) saved no checkpoint: it cannot predict", r.uuid, r.name);
        /* "uuid\tname\tref" sorts by uuid */
        sorted[i] = el_printf("%s\t%s\t%s", r.uuid, r.name ? r.name : "", refs[i]);
        el_run_ref_free(&r);
    }
    int32_t got = 0;
    while (got < n && sorted[got]) got++;
    if (rc == EL_OK) {
        el_qsort(sorted, (size_t)n, sizeof(char *), cmp_str);
        for (int32_t i = 0; i < n; i++) {
            char *name = strchr(sorted[i], '\t');
            *name++ = 0;
            char *ref = strchr(name, '\t');
            *ref++ = 0;
            memcpy(m->uuid[i], sorted[i], 37);
            m->name[i] = xstrdup(name);
            m->n = i + 1;
            if (i > 0 && !strcmp(m->uuid[i], m->uuid[i - 1])) {
                rc = el_err("run %s (%s) is listed twice; list each member once", m->uuid[i], name);
                break;
            }
        }
    }
    for (int32_t i = 0; i < got; i++) free(sorted[i]);
    free(sorted);
    for (int32_t i = 0; i < m->n && rc == EL_OK; i++) {
        if (read_member_data(reg, m->uuid[i], &m->data[i]) != 0) return EL_ERR;
        if (i > 0) {
            const char *what = strcmp(m->data[i].val, m->data[0].val) ? "val"
                             : strcmp(m->data[i].test, m->data[0].test) ? "test"
                                                                        : NULL;
            if (what)
                return el_err("runs %s (%s) and %s (%s) were scored on different %s data "
                              "(fingerprints %.12s... and %.12s...): an ensemble's members must "
                              "share val and test", m->uuid[0], m->name[0], m->uuid[i], m->name[i],
                              what, !strcmp(what, "val") ? m->data[0].val : m->data[0].test,
                              !strcmp(what, "val") ? m->data[i].val : m->data[i].test);
        }
    }
    if (rc == EL_OK) rc = read_labels(reg, m->uuid[0], m);
    return rc;
}

/* Step 2: each member loaded in turn (checkpoint verified) predicts val and test. */
static int predict_members(el_registry *reg, const el_ensemble_params *p, members *m,
                           el_dataset *data) {
    el_predictor_params pp = el_predictor_default_params();
    pp.threads = p->threads;
    pp.quiet = p->quiet;
    int32_t n = m->n;
    /* 2. the val and test data, checked against what the members were scored on */
    for (int32_t i = 0; i < n; i++) {
        el_predictor *pr = el_predictor_open_members(reg, (const char *const[]){m->uuid[i]}, 1, &pp);
        if (!pr) return EL_ERR;
        int32_t k = el_predictor_n_labels(pr);
        const char *const *labels = el_predictor_labels(pr);
        int rc = EL_OK;
        bool same = k == m->k;
        for (int32_t j = 0; same && j < k; j++) same = !strcmp(labels[j], m->labels[j]);
        if (!same) {
            rc = el_err("run %s (%s) predicts other labels (or in another order) than %s (%s) was "
                        "scored with: they cannot be averaged", m->uuid[i], m->name[i], m->uuid[0],
                        m->name[0]);
        } else if (i == 0) {
            el_spec spec;
            const char *cfg = el_predictor_member_config(pr, 0);
            rc = el_predict_spec_from_config(cfg, m->uuid[0], &spec);
            if (rc == EL_OK) {
                if (p->data_root) {
                    free(spec.data.root);
                    spec.data.root = xstrdup(p->data_root);
                }
                if (!p->quiet) fprintf(stderr, "loading val and test data (from run %s's spec)\n", m->uuid[0]);
                rc = el_data_load(&spec.data, data);
                if (rc != EL_OK) el_err_prefix("loading the val/test data of run %s", m->uuid[0]);
                el_spec_free(&spec);
            }
            if (rc == EL_OK && (strcmp(data->val.fingerprint, m->data[0].val) ||
                                strcmp(data->test.fingerprint, m->data[0].test)))
                rc = el_err("the %s data read now (fingerprint %.12s...) is not what run %s was scored "
                            "on (%.12s...): the data files changed since; restore them (or point "
                            "--data-root at the original data)",
                            strcmp(data->val.fingerprint, m->data[0].val) ? "val" : "test",
                            strcmp(data->val.fingerprint, m->data[0].val) ? data->val.fingerprint
                                                                          : data->test.fingerprint,
                            m->uuid[0],
                            strcmp(data->val.fingerprint, m->data[0].val) ? m->data[0].val
                                                                          : m->data[0].test);
            if (rc == EL_OK && data->labels.n != k)
                rc = el_err("run %s predicts %d labels, its data has %d", m->uuid[0], (int)k,
                            (int)data->labels.n);
        }
        if (rc == EL_OK) {
            if (!p->quiet)
                fprintf(stderr, "member %d/%d: %s (%s): predicting val and test\n", (int)i + 1,
                        (int)n, m->uuid[i], m->name[i]);
            m->pv[i] = xmalloc((size_t)(data->val.n * k) * sizeof(float) + 1);
            m->pt[i] = xmalloc((size_t)(data->test.n * k) * sizeof(float) + 1);
            rc = el_predictor_probs(pr, data->val.texts, data->val.n, m->pv[i]);
            if (rc == EL_OK) rc = el_predictor_probs(pr, data->test.texts, data->test.n, m->pt[i]);
        }
        el_predictor_free(pr);
        if (rc != EL_OK) return EL_ERR;
    }
    return EL_OK;
}

typedef struct {
    char **keys, **values;
    int32_t n;
} kv;

static void kv_add(kv *l, const char *key, char *json_value /* taken */) {
    l->keys = xrealloc(l->keys, (size_t)(l->n + 1) * sizeof(char *));
    l->values = xrealloc(l->values, (size_t)(l->n + 1) * sizeof(char *));
    l->keys[l->n] = xstrdup(key);
    l->values[l->n++] = json_value;
}

static void kv_free(kv *l) {
    for (int32_t i = 0; i < l->n; i++) {
        free(l->keys[i]);
        free(l->values[i]);
    }
    free(l->keys);
    free(l->values);
}

static char *json_str(const char *s) {
    json_t *j = json_string(s);
    char *out = json_dumps(j, JSON_ENCODE_ANY);
    json_decref(j);
    return out;
}

static int record(el_registry *reg, const members *m, const el_ensemble_params *p,
                  const el_dataset *data, const char *name, const char *owner, const char *variant,
                  const char *cfg, const char *hash, const float *thr, const el_metrics *vm,
                  const el_metrics *tm, const float *cx, const float *cy, double seconds,
                  char uuid[37]) {
    kv params = {0};
    el_buf b = {0};
    el_buf_putc(&b, '[');
    for (int32_t i = 0; i < m->n; i++) el_buf_printf(&b, "%s\"%s\"", i ? "," : "", m->uuid[i]);
    el_buf_putc(&b, ']');
    kv_add(&params, "ensemble.members", el_buf_take(&b));
    el_buf_putc(&b, '[');
    for (int32_t i = 0; i < m->n; i++) {
        char *s = json_str(m->name[i]);
        el_buf_printf(&b, "%s%s", i ? "," : "", s);
        free(s);
    }
    el_buf_putc(&b, ']');
    kv_add(&params, "ensemble.member_names", el_buf_take(&b));
    kv_add(&params, "ensemble.size", el_printf("%d", (int)m->n));
    kv_add(&params, "ensemble.combine", xstrdup("\"mean\""));
    kv_add(&params, "threshold.mode", json_str(p->threshold_mode));
    char num[40];
    el_format_double(p->threshold_value, num);
    kv_add(&params, "threshold.value", xstrdup(num));
    el_format_double(p->grid_step, num);
    kv_add(&params, "threshold.grid_step", xstrdup(num));
    kv_add(&params, "data.variant", json_str(variant));

    el_run_info info = {
        .name = name,
        .owner = owner,
        .kind = "ensemble",
        .config_json = cfg,
        .config_hash = hash,
        .seed = 0,
        .data_variant = variant,
        .param_keys = (const char *const *)params.keys,
        .param_values = (const char *const *)params.values,
        .n_params = params.n,
    };
    int rc = el_run_begin(reg, &info, uuid);
    kv_free(&params);
    if (rc != 0) return EL_ERR;
    const char *exp_dir = p->experiments_dir ? p->experiments_dir
                                             : el_env("EMOLAB_EXPERIMENTS", "experiments");
    char *run_dir = el_path_join(exp_dir, uuid);
    char *json_path = el_path_join(run_dir, "ensemble.json");
    char err[1024] = "";
    /* the data facts: val and test as scored; train only when every member shares it */
    el_dataset d = *data;
    bool same_train = true;
    for (int32_t i = 0; i < m->n; i++)
        same_train = same_train && !strcmp(m->data[i].train, data->train.fingerprint);
    if (!same_train) {
        memset(&d.train, 0, sizeof d.train);
        d.train.n_labels = data->train.n_labels;
        d.n_train_src = 0;
        d.n_dropped_overlap = 0;
    }
    if (el_run_set_run_dir(reg, uuid, run_dir) != 0 || el_run_set_data(reg, uuid, &d) != 0 ||
        el_mkdirs(run_dir, 0755) != 0 || write_ensemble_json(json_path, m, uuid, name, thr) != 0) {
        snprintf(err, sizeof err, "%s", el_last_error());
    } else {
        char hex[65];
        FILE *f = fopen(json_path, "rb");
        int64_t bytes = -1;
        if (f) {
            fseek(f, 0, SEEK_END);
            bytes = ftell(f);
            fclose(f);
        }
        if (el_sha256_file(json_path, hex) != 0 ||
            el_run_artifact(reg, uuid, "ensemble", json_path, hex, bytes) != 0)
            snprintf(err, sizeof err, "%s", el_last_error());
    }
    el_split_metrics sm[2] = {{"val", vm}, {"test", tm}};
    el_run_result rr = {
        .status = err[0] ? "failed" : "finished",
        .error = err[0] ? err : NULL,
        .thresholds = err[0] ? NULL : thr,
        .n_labels = m->k,
        .label_names = (const char *const *)m->labels,
        .metrics = sm,
        .n_metrics = err[0] ? 0 : 2,
        .thr_curve_x = cx,
        .thr_curve_val_f1 = cy,
        .n_thr_curve = err[0] ? 0 : EL_CURVE_POINTS,
        .train_seconds = seconds,
    };
    rc = el_run_finish(reg, uuid, &rr);
    free(run_dir);
    free(json_path);
    if (err[0]) return el_err("recording ensemble %s: %s", uuid, err);
    return rc;
}

int el_ensemble_build(el_registry *reg, const char *const *refs, int32_t n,
                      const el_ensemble_params *pin, el_ensemble_result *res) {
    memset(res, 0, sizeof *res);
    el_ensemble_params p = pin ? *pin : el_ensemble_default_params();
    if (!reg) return el_err("el_ensemble_build: no registry");
    if (n < 2) return el_err("an ensemble needs at least two runs (got %d)", (int)n);
    if (n > 64) return el_err("an ensemble has at most 64 members (got %d)", (int)n);
    if (!el_streq(p.threshold_mode, "per_class") && !el_streq(p.threshold_mode, "global") &&
        !el_streq(p.threshold_mode, "fixed"))
        return el_err("--threshold %s: allowed: per_class, global, fixed", p.threshold_mode);
    if (!(p.threshold_value > 0 && p.threshold_value < 1))
        return el_err("--threshold-value %g: must be in (0, 1)", p.threshold_value);
    if (!(p.grid_step >= 1e-5 && p.grid_step < 1))
        return el_err("--grid-step %g: must be in [0.00001, 1)", p.grid_step);
    double t0 = el_now();
    members m;
    memset(&m, 0, sizeof m);
    el_dataset data;
    memset(&data, 0, sizeof data);
    int rc = check_members(reg, refs, n, &m);
    char *cfg = NULL, *cfg_id = NULL, *name = NULL;
    if (rc != EL_OK) goto out;

    const char *variant = m.data[0].variant;
    for (int32_t i = 1; i < n; i++)
        if (strcmp(m.data[i].variant, variant)) variant = "mixed";
    if (p.name) {
        name = xstrdup(p.name);
    } else {
        el_buf b = {0};
        el_buf_printf(&b, "ensemble-%d:", (int)n);
        for (int32_t i = 0; i < n && b.len < 100; i++)
            el_buf_printf(&b, "%s%s", i ? "+" : "", m.name[i]);
        name = el_buf_take(&b);
    }
    const char *owner = p.owner ? p.owner : el_user_name();
    cfg = make_config(&m, &p, name, owner, variant, false);
    char hash[65];
    el_sha256_hex(cfg, strlen(cfg), hash);
    if (p.reuse) {
        int f = el_registry_find_finished(reg, hash, res->uuid);
        if (f < 0) {
            rc = EL_ERR;
            goto out;
        }
        if (f == 1) {
            res->reused = true;
            res->val.weighted_f1 = read_metric(reg, res->uuid, "val", "weighted_f1");
            res->test.weighted_f1 = read_metric(reg, res->uuid, "test", "weighted_f1");
            res->val.macro_f1 = read_metric(reg, res->uuid, "val", "macro_f1");
            res->test.macro_f1 = read_metric(reg, res->uuid, "test", "macro_f1");
            goto out;
        }
    }
    rc = predict_members(reg, &p, &m, &data);
    if (rc != EL_OK) goto out;
    int32_t k = m.k;
    float *pv = xmalloc((size_t)(data.val.n * k) * sizeof(float) + 1);
    float *pt = xmalloc((size_t)(data.test.n * k) * sizeof(float) + 1);
    el_probs_mean((const float *const *)m.pv, n, data.val.n * k, pv);
    el_probs_mean((const float *const *)m.pt, n, data.test.n * k, pt);
    float thr[EL_MAX_LABELS];
    el_thresholds_tune(pv, data.val.y, data.val.n, k, parse_mode(p.threshold_mode),
                       p.threshold_value, p.grid_step, thr);
    score(pv, &data.val, thr, &res->val);
    score(pt, &data.test, thr, &res->test); /* test is scored, never used to choose */
    float cx[EL_CURVE_POINTS], cy[EL_CURVE_POINTS];
    for (int32_t i = 0; i < EL_CURVE_POINTS; i++) {
        cx[i] = 0.05f * (float)(i + 1);
        cy[i] = (float)el_weighted_f1_at(pv, data.val.y, data.val.n, k, cx[i]);
    }
    free(pv);
    free(pt);
    cfg_id = make_config(&m, &p, name, owner, variant, true);
    res->seconds = el_now() - t0;
    rc = record(reg, &m, &p, &data, name, owner, variant, cfg_id, hash, thr, &res->val,
                &res->test, cx, cy, res->seconds, res->uuid);
out:
    free(cfg);
    free(cfg_id);
    free(name);
    members_free(&m);
    el_data_free(&data);
    return rc;
}

/* ---- picking members from the leaderboard ------------------------------------------------ */
int el_ensemble_top(el_registry *reg, int32_t k, const char *metric, const char *variant,
                    char ***uuids, int32_t *n) {
    *uuids = NULL;
    *n = 0;
    if (!metric || !*metric) metric = "val_weighted_f1";
    if (el_starts_with(metric, "test_"))
        return el_err("--metric %s: members are chosen on validation only (test is for reporting, "
                      "never for choices); use val_%s", metric, metric + 5);
    if (!el_starts_with(metric, "val_") || !metric[4])
        return el_err("--metric %s: expected a validation metric such as val_weighted_f1, "
                      "val_macro_f1, val_micro_f1", metric);
    if (k < 2 || k > 64) return el_err("--top %d: an ensemble has 2 to 64 members", (int)k);
    sqlite3 *db = el_registry_db(reg);
    sqlite3_stmt *st;
    const char *sql =
        "SELECT r.uuid, r.config_hash, m.value,"
        " (SELECT fingerprint FROM data WHERE run = r.uuid AND split = 'val'),"
        " (SELECT fingerprint FROM data WHERE run = r.uuid AND split = 'test'),"
        " (SELECT group_concat(label, ',') FROM"
        "   (SELECT label FROM thresholds WHERE run = r.uuid ORDER BY label_idx))"
        " FROM runs r JOIN metrics m ON m.run = r.uuid AND m.split = 'val' AND m.name = ?1"
        " WHERE r.kind = 'single' AND r.status = 'finished' AND m.value IS NOT NULL"
        "  AND EXISTS (SELECT 1 FROM artifacts a WHERE a.run = r.uuid AND a.kind = 'checkpoint')"
        "  AND (?2 IS NULL OR r.data_variant = ?2)"
        " ORDER BY m.value DESC, r.finished DESC, r.uuid";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return el_err("%s: choosing members: %s", el_registry_path(reg), sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, metric + 4, -1, SQLITE_TRANSIENT);
    if (variant) sqlite3_bind_text(st, 2, variant, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, 2);
    char **out = xcalloc((size_t)k, sizeof(char *));
    char **hashes = xcalloc((size_t)k, sizeof(char *));
    char *fv = NULL, *ft = NULL, *lab = NULL;
    int32_t got = 0;
    int64_t seen = 0;
    while (got < k && sqlite3_step(st) == SQLITE_ROW) {
        seen++;
        const char *u = (const char *)sqlite3_column_text(st, 0);
        const char *h = (const char *)sqlite3_column_text(st, 1);
        const char *v = (const char *)sqlite3_column_text(st, 3);
        const char *t = (const char *)sqlite3_column_text(st, 4);
        const char *l = (const char *)sqlite3_column_text(st, 5);
        if (!v || !t || !l) continue;
        if (got == 0) {
            fv = xstrdup(v);
            ft = xstrdup(t);
            lab = xstrdup(l);
        } else if (strcmp(v, fv) || strcmp(t, ft) || strcmp(l, lab)) {
            continue; /* scored on other data or labels than the best run */
        }
        bool dup = false;
        for (int32_t i = 0; i < got && !dup; i++) dup = !strcmp(hashes[i], h);
        if (dup) continue;
        out[got] = xstrdup(u);
        hashes[got++] = xstrdup(h);
    }
    sqlite3_finalize(st);
    for (int32_t i = 0; i < got; i++) free(hashes[i]);
    free(hashes);
    free(fv);
    free(ft);
    free(lab);
    if (got < 2) {
        for (int32_t i = 0; i < got; i++) free(out[i]);
        free(out);
        if (seen == 0)
            return el_err("%s: no finished single run with a checkpoint has the metric %s%s%s "
                          "(metric names: weighted_f1, macro_f1, micro_f1, samples_f1, ...)",
                          el_registry_path(reg), metric, variant ? " and data variant " : "",
                          variant ? variant : "");
        return el_err("%s: only %d run qualifies for --top %d by %s (finished, with a checkpoint, "
                      "the best run's val/test data and labels, one per config): train more runs",
                      el_registry_path(reg), (int)got, (int)k, metric);
    }
    *uuids = out;
    *n = got;
    return EL_OK;
}

/* ---- emolab ensemble --------------------------------------------------------------------- */
static void ensemble_usage(FILE *out) {
    fprintf(out,
            "usage: emolab ensemble RUN RUN [RUN ...] [options]\n"
            "       emolab ensemble --top K [--metric val_weighted_f1] [options]\n\n"
            "Averages the probabilities of recorded runs, tunes the ensemble's thresholds on val\n"
            "only, scores it on val and test, and records it in the registry as a run of kind\n"
            "ensemble, so it appears on the leaderboard and `emolab predict ENSEMBLE ...` works\n"
            "(it loads the members). Members: finished single runs with a checkpoint, the same\n"
            "labels, scored on the same val and test data (same fingerprints; their train data\n"
            "may differ, e.g. orig and ext). Building the same ensemble twice returns the first\n"
            "one (same members, order and threshold settings) unless --force.\n\n"
            "options:\n"
            "  --top K              the K best runs by --metric (val only: test never chooses),\n"
            "                       among those sharing the best run's val/test data and labels,\n"
            "                       one run per config hash\n"
            "  --metric NAME        val_weighted_f1 (default), val_macro_f1, val_micro_f1, ...\n"
            "  --variant V          with --top: only runs of data variant V (orig, ext, ...)\n"
            "  --name NAME          the ensemble's run name (default ensemble-K:NAME+NAME...)\n"
            "  --owner WHO          the researcher column (default $USER, else the login name)\n"
            "  --threshold MODE     per_class (default) | global | fixed, tuned on val\n"
            "  --threshold-value X  fixed mode's threshold, and classes without positives (0.5)\n"
            "  --grid-step S        threshold tuning grid (default 0.01)\n"
            "  --data-root DIR      where the members' data is (default $EMOLAB_DATA)\n"
            "  --experiments DIR    DIR/UUID/ensemble.json is written (default ./experiments)\n"
            "  --registry FILE      the registry (default $EMOLAB_REGISTRY or ./registry.db)\n"
            "  --threads N          libtorch threads\n"
            "  --force              record a new ensemble even when an identical one exists\n\n"
            "examples:\n"
            "  emolab ensemble --top 3 --metric val_weighted_f1 --name top3\n"
            "  emolab ensemble 3f2a 9c01 bow-ext-h800 --threshold global\n"
            "  emolab predict top3 --input test.csv --output submission.csv\n\n"
            "exit codes: 0 recorded (or found), 1 error, 2 usage.\n");
}

/* Parses one ensemble option at argv[*i]: 1 consumed, 0 not an ensemble option, -1 bad value. */
static int parse_ens_opt(int argc, char **argv, int *i, el_ensemble_params *p) {
    const char *a = argv[*i];
    const char *next = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (!strcmp(a, "--force")) {
        p->reuse = false;
        return 1;
    }
    if (!next) return 0;
    if (!strcmp(a, "--name")) p->name = next;
    else if (!strcmp(a, "--owner")) p->owner = next;
    else if (!strcmp(a, "--threshold")) p->threshold_mode = next;
    else if (!strcmp(a, "--data-root")) p->data_root = next;
    else if (!strcmp(a, "--experiments")) p->experiments_dir = next;
    else if (!strcmp(a, "--threshold-value") || !strcmp(a, "--grid-step")) {
        double v;
        if (el_parse_double(next, &v) != 0) {
            fprintf(stderr, "emolab ensemble: %s %s: not a number\n", a, next);
            return -1;
        }
        if (!strcmp(a, "--grid-step")) p->grid_step = v;
        else p->threshold_value = v;
    } else if (!strcmp(a, "--threads")) {
        int64_t v;
        if (el_parse_i64(next, &v) != 0 || v < 1 || v > 1024) {
            fprintf(stderr, "emolab ensemble: --threads wants a number from 1 to 1024\n");
            return -1;
        }
        p->threads = (int32_t)v;
    } else {
        return 0;
    }
    (*i)++;
    return 1;
}

static void print_result(el_registry *reg, const char *const *refs, int32_t n,
                         const el_ensemble_result *res) {
    if (res->reused) {
        printf("ensemble %s  already recorded (same members and settings; --force records a new "
               "one)\n  val  weighted F1 %.4f  macro F1 %.4f\n  test weighted F1 %.4f  macro F1 "
               "%.4f\n", res->uuid, res->val.weighted_f1, res->val.macro_f1,
               res->test.weighted_f1, res->test.macro_f1);
        return;
    }
    printf("ensemble %s  finished  (%d members, %.1fs)\n", res->uuid, (int)n, res->seconds);
    for (int32_t i = 0; i < n; i++) {
        el_run_ref r;
        if (el_registry_resolve_run(reg, refs[i], &r) != 0) continue;
        printf("  member %s  %-28s val weighted F1 %.4f  test %.4f\n", r.uuid, r.name,
               read_metric(reg, r.uuid, "val", "weighted_f1"),
               read_metric(reg, r.uuid, "test", "weighted_f1"));
        el_run_ref_free(&r);
    }
    printf("  val  weighted F1 %.4f  macro F1 %.4f  (thresholds tuned here)\n",
           res->val.weighted_f1, res->val.macro_f1);
    printf("  test weighted F1 %.4f  macro F1 %.4f\n", res->test.weighted_f1, res->test.macro_f1);
}

int el_ensemble_cli(el_registry *reg, const char *const *refs, int32_t n, int argc, char **argv,
                    char uuid[37]) {
    el_ensemble_params p = el_ensemble_default_params();
    for (int i = 1; i < argc; i++) {
        int r = parse_ens_opt(argc, argv, &i, &p);
        if (r <= 0) {
            if (r == 0) fprintf(stderr, "emolab ensemble: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    el_ensemble_result res;
    if (el_ensemble_build(reg, refs, n, &p, &res) != 0) {
        fprintf(stderr, "emolab ensemble: %s\n", el_last_error());
        return 1;
    }
    print_result(reg, refs, n, &res);
    memcpy(uuid, res.uuid, 37);
    return 0;
}

int cmd_ensemble(int argc, char **argv) {
    el_ensemble_params p = el_ensemble_default_params();
    const char *reg_path = NULL, *metric = NULL, *variant = NULL;
    int64_t top = 0;
    const char **refs = xcalloc((size_t)argc + 1, sizeof(char *));
    int32_t n = 0;
    int code = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        int r;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            ensemble_usage(stdout);
            code = 0;
            goto done;
        } else if (!strcmp(a, "--top") && next) {
            if (el_parse_i64(argv[++i], &top) != 0 || top < 2 || top > 64) {
                fprintf(stderr, "emolab ensemble: --top wants a number from 2 to 64\n");
                goto done;
            }
        } else if (!strcmp(a, "--metric") && next) {
            metric = argv[++i];
        } else if (!strcmp(a, "--variant") && next) {
            variant = argv[++i];
        } else if (!strcmp(a, "--registry") && next) {
            reg_path = argv[++i];
        } else if ((r = parse_ens_opt(argc, argv, &i, &p)) != 0) {
            if (r < 0) goto done;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "emolab ensemble: unknown option %s, or it lacks its value (emolab "
                            "ensemble --help)\n", a);
            goto done;
        } else {
            refs[n++] = a;
        }
    }
    if ((top > 0) == (n > 0)) {
        fprintf(stderr, "emolab ensemble: give either the member runs or --top K\n");
        ensemble_usage(stderr);
        goto done;
    }
    if ((metric || variant) && !top) {
        fprintf(stderr, "emolab ensemble: --metric and --variant go with --top K\n");
        goto done;
    }
    if (n == 1) {
        fprintf(stderr, "emolab ensemble: an ensemble needs at least two runs\n");
        goto done;
    }
    code = 1;
    el_registry *reg = el_registry_open(el_registry_default_path(reg_path), false);
    if (!reg) {
        fprintf(stderr, "emolab ensemble: %s\n", el_last_error());
        goto done;
    }
    char **picked = NULL;
    if (top) {
        int32_t got;
        if (el_ensemble_top(reg, (int32_t)top, metric, variant, &picked, &got) != 0) {
            fprintf(stderr, "emolab ensemble: %s\n", el_last_error());
            el_registry_close(reg);
            goto done;
        }
        if (got < top)
            fprintf(stderr, "note: only %d runs qualify for --top %lld; the ensemble has %d "
                            "members\n", (int)got, (long long)top, (int)got);
        for (int32_t i = 0; i < got; i++) refs[n++] = picked[i];
    }
    el_ensemble_result res;
    if (el_ensemble_build(reg, refs, n, &p, &res) != 0) {
        fprintf(stderr, "emolab ensemble: %s\n", el_last_error());
    } else {
        print_result(reg, refs, n, &res);
        code = 0;
    }
    el_registry_close(reg);
    if (picked) {
        for (int32_t i = 0; i < n; i++) free(picked[i]);
        free(picked);
    }
done:
    free(refs);
    return code;
}
