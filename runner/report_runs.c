/* report_runs.c: single runs for ls / show / compare: naming a run (uuid prefix or name) and
 * reading everything recorded about it. Read-only queries only. See report.h. */
#define _GNU_SOURCE
#include "report.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char uuid[37];
    char *name, *created, *status;
} candidate;

static void cand_free(candidate *c, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        free(c[i].name);
        free(c[i].created);
        free(c[i].status);
    }
    free(c);
}

static int32_t query_candidates(sqlite3 *db, const char *sql, const char *arg, candidate **out, int32_t max) {
    sqlite3_stmt *st;
    int32_t n = 0;
    *out = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return el_err("query failed: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW && n < max) {
        *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        candidate *c = &(*out)[n++];
        snprintf(c->uuid, sizeof c->uuid, "%s", (const char *)sqlite3_column_text(st, 0));
        c->name = xstrdup((const char *)sqlite3_column_text(st, 1));
        c->created = xstrdup((const char *)sqlite3_column_text(st, 2));
        c->status = xstrdup((const char *)sqlite3_column_text(st, 3));
    }
    sqlite3_finalize(st);
    return n;
}

static void list_candidates(el_buf *b, const candidate *c, int32_t n, int32_t shown_max) {
    for (int32_t i = 0; i < n && i < shown_max; i++) {
        el_buf_printf(b, "\n  %.8s  %s  ", c[i].uuid, c[i].created);
        el_term_escape(b, c[i].name);
        el_buf_printf(b, "  (%s)", c[i].status);
    }
    if (n > shown_max) el_buf_printf(b, "\n  ... and more");
}

int el_run_resolve(sqlite3 *db, const char *reg_path, const char *ref, char uuid[37], el_buf *note) {
    if (!ref || !*ref) return el_err("no run given: name a run by its uuid (or a prefix of 4+ characters) or its name");
    candidate *byid = NULL, *byname = NULL;
    int32_t nid = 0, nname = 0;
    size_t len = strlen(ref);
    bool hexish = len >= 4 && len <= 36 && strspn(ref, "0123456789abcdefABCDEF-") == len;
    if (hexish) {
        char *lower = xstrdup(ref);
        for (char *p = lower; *p; p++)
            if (*p >= 'A' && *p <= 'F') *p = (char)(*p - 'A' + 'a');
        char *hi = el_printf("%s\x7f", lower);
        /* a range scan on the primary key, not LIKE (which would scan every run) */
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "SELECT uuid, name, created, status FROM runs WHERE uuid >= ?1 AND uuid < ?2 "
                                   "ORDER BY created DESC LIMIT 11", -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, lower, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
            while (sqlite3_step(st) == SQLITE_ROW) {
                byid = xrealloc(byid, (size_t)(nid + 1) * sizeof *byid);
                candidate *c = &byid[nid++];
                snprintf(c->uuid, sizeof c->uuid, "%s", (const char *)sqlite3_column_text(st, 0));
                c->name = xstrdup((const char *)sqlite3_column_text(st, 1));
                c->created = xstrdup((const char *)sqlite3_column_text(st, 2));
                c->status = xstrdup((const char *)sqlite3_column_text(st, 3));
            }
            sqlite3_finalize(st);
        }
        free(hi);
        free(lower);
    }
    nname = query_candidates(db, "SELECT uuid, name, created, status FROM runs WHERE name = ?1 ORDER BY created DESC, "
                                 "uuid DESC LIMIT 11", ref, &byname, 11);
    if (nname < 0) {
        cand_free(byid, nid);
        return EL_ERR;
    }
    int rc = 0;
    el_buf b = {0};
    if (nid == 1 && nname == 0) {
        memcpy(uuid, byid[0].uuid, 37);
    } else if (nid == 0 && nname >= 1) {
        memcpy(uuid, byname[0].uuid, 37);
        if (note && nname > 1) {
            el_buf_printf(note, "'%s' names %s%d runs: showing the latest, %.8s (%s); name another by its uuid prefix",
                          ref, nname > 10 ? "more than " : "", nname > 10 ? 10 : nname, byname[0].uuid,
                          byname[0].created);
        }
    } else if (nid > 1 || (nid >= 1 && nname >= 1)) {
        el_buf_printf(&b, "run '%s' is ambiguous in %s: ", ref, reg_path);
        if (nid >= 1 && nname >= 1) el_buf_printf(&b, "it is a run name and a uuid prefix; candidates:");
        else el_buf_printf(&b, "%s%d runs have a uuid starting with it; give more characters:", nid > 10 ? "more than " : "",
                           nid > 10 ? 10 : nid);
        list_candidates(&b, byid, nid, 10);
        if (nname) list_candidates(&b, byname, nname, 3);
        el_err("%s", b.s);
        rc = EL_ERR;
    } else {
        el_buf_printf(&b, "no run '%s' in %s: no run has that name", ref, reg_path);
        if (len < 4 && strspn(ref, "0123456789abcdef") == len) el_buf_puts(&b, " (uuid prefixes need 4 characters or more)");
        else if (hexish) el_buf_puts(&b, " and no uuid starts with it");
        /* close names among the distinct run names */
        sqlite3_stmt *st;
        char **names = NULL;
        int32_t n = 0;
        int64_t cap = 0;
        if (sqlite3_prepare_v2(db, "SELECT DISTINCT name FROM runs ORDER BY name LIMIT 20000", -1, &st, NULL) == SQLITE_OK) {
            while (sqlite3_step(st) == SQLITE_ROW) {
                el_grow(names, &cap, n + 1);
                names[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
            }
            sqlite3_finalize(st);
        }
        el_buf close = {0};
        if (el_suggest(&close, ref, (const char *const *)names, n, 5)) el_buf_printf(&b, "; close names: %s", close.s);
        el_buf_free(&close);
        el_strv_free(names, n);
        el_buf_printf(&b, " (`emolab ls --registry %s` lists the runs)", reg_path);
        el_err("%s", b.s);
        rc = EL_ERR;
    }
    el_buf_free(&b);
    cand_free(byid, nid);
    cand_free(byname, nname);
    return rc;
}

/* ---- run detail ----------------------------------------------------------------------------- */
static char *col_dup(sqlite3_stmt *st, int i) {
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? xstrdup(s) : NULL;
}

static double col_num(sqlite3_stmt *st, int i) {
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static sqlite3_stmt *prep(sqlite3 *db, const char *sql, const char *uuid) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        el_err("query failed: %s (%s)", sqlite3_errmsg(db), sql);
        return NULL;
    }
    sqlite3_bind_text(st, 1, uuid, -1, SQLITE_TRANSIENT);
    return st;
}

#define GROW(arr, n, cap) el_grow(arr, &cap, (n) + 1)

int el_run_detail_load(sqlite3 *db, const char *uuid, el_run_detail *d) {
    memset(d, 0, sizeof *d);
    sqlite3_stmt *st = prep(db, "SELECT uuid, name, owner, kind, status, created, started, finished, config_json, "
                                "config_hash, git_commit, host, data_variant, sweep_id, run_dir, spec_file, error, seed, "
                                "best_epoch, epochs_run, train_seconds FROM runs WHERE uuid = ?1", uuid);
    if (!st) return EL_ERR;
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return el_err("no run %s", uuid);
    }
    snprintf(d->uuid, sizeof d->uuid, "%s", (const char *)sqlite3_column_text(st, 0));
    char **fields[] = {&d->name, &d->owner, &d->kind, &d->status, &d->created, &d->started, &d->finished,
                       &d->config_json, &d->config_hash, &d->git_commit, &d->host, &d->data_variant, &d->sweep_id,
                       &d->run_dir, &d->spec_file, &d->error};
    for (int i = 0; i < 16; i++) *fields[i] = col_dup(st, i + 1);
    d->have_seed = sqlite3_column_type(st, 17) != SQLITE_NULL;
    d->seed = sqlite3_column_int64(st, 17);
    d->best_epoch = sqlite3_column_int(st, 18);
    d->epochs_run = sqlite3_column_int(st, 19);
    d->train_seconds = col_num(st, 20);
    sqlite3_finalize(st);

    int64_t cap;
    /* params */
    if (!(st = prep(db, "SELECT key, value FROM params WHERE run = ?1 ORDER BY key", uuid))) return EL_ERR;
    cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        GROW(d->params, d->n_params, cap);
        d->params[d->n_params++] = (el_kv){col_dup(st, 0), col_dup(st, 1)};
    }
    sqlite3_finalize(st);
    /* metrics */
    for (int s = 0; s < 2; s++) {
        if (!(st = prep(db, s ? "SELECT name, value FROM metrics WHERE run = ?1 AND split = 'test' ORDER BY name"
                              : "SELECT name, value FROM metrics WHERE run = ?1 AND split = 'val' ORDER BY name", uuid)))
            return EL_ERR;
        cap = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            GROW(d->metrics[s], d->n_metrics[s], cap);
            char *v = sqlite3_column_type(st, 1) == SQLITE_NULL ? xstrdup("") : el_printf("%.17g", sqlite3_column_double(st, 1));
            d->metrics[s][d->n_metrics[s]++] = (el_kv){col_dup(st, 0), v};
        }
        sqlite3_finalize(st);
        if (!(st = prep(db, s ? "SELECT label, label_idx, precision, recall, f1, support, tp, fp, fn FROM class_metrics "
                                "WHERE run = ?1 AND split = 'test' ORDER BY label_idx, label"
                              : "SELECT label, label_idx, precision, recall, f1, support, tp, fp, fn FROM class_metrics "
                                "WHERE run = ?1 AND split = 'val' ORDER BY label_idx, label", uuid)))
            return EL_ERR;
        cap = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            GROW(d->classes[s], d->n_classes[s], cap);
            el_class_row *c = &d->classes[s][d->n_classes[s]++];
            c->label = col_dup(st, 0);
            c->idx = sqlite3_column_int(st, 1);
            c->precision = col_num(st, 2);
            c->recall = col_num(st, 3);
            c->f1 = col_num(st, 4);
            c->support = sqlite3_column_int64(st, 5);
            c->have_counts = sqlite3_column_type(st, 6) != SQLITE_NULL;
            c->tp = sqlite3_column_int64(st, 6);
            c->fp = sqlite3_column_int64(st, 7);
            c->fn = sqlite3_column_int64(st, 8);
        }
        sqlite3_finalize(st);
    }
    /* thresholds */
    if (!(st = prep(db, "SELECT label, value FROM thresholds WHERE run = ?1 ORDER BY label_idx, label", uuid))) return EL_ERR;
    cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        GROW(d->thresholds, d->n_thresholds, cap);
        d->thresholds[d->n_thresholds++] = (el_kv){col_dup(st, 0), el_printf("%.4g", sqlite3_column_double(st, 1))};
    }
    sqlite3_finalize(st);
    /* data */
    if (!(st = prep(db, "SELECT split, fingerprint, rows, dropped_overlap, label_counts FROM data WHERE run = ?1 "
                        "ORDER BY CASE split WHEN 'train' THEN 0 WHEN 'val' THEN 1 ELSE 2 END", uuid)))
        return EL_ERR;
    cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        GROW(d->data, d->n_data, cap);
        d->data[d->n_data++] = (el_data_row){col_dup(st, 0), col_dup(st, 1), sqlite3_column_int64(st, 2),
                                             sqlite3_column_int64(st, 3), col_dup(st, 4)};
    }
    sqlite3_finalize(st);
    if (!(st = prep(db, "SELECT split, path, sha256, rows_read, rows_kept, rows_dropped_unmapped, rows_dropped_overlap "
                        "FROM data_sources WHERE run = ?1 ORDER BY CASE split WHEN 'train' THEN 0 WHEN 'val' THEN 1 "
                        "ELSE 2 END, idx", uuid)))
        return EL_ERR;
    cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        GROW(d->sources, d->n_sources, cap);
        d->sources[d->n_sources++] = (el_source_row){col_dup(st, 0), col_dup(st, 1), col_dup(st, 2),
                                                     sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4),
                                                     sqlite3_column_int64(st, 5), sqlite3_column_int64(st, 6)};
    }
    sqlite3_finalize(st);
    /* epochs */
    if (!(st = prep(db, "SELECT epoch, train_loss, val_loss, val_weighted_f1, val_macro_f1, val_micro_f1, lr, seconds, "
                        "samples_per_s FROM epochs WHERE run = ?1 ORDER BY epoch", uuid)))
        return EL_ERR;
    cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        GROW(d->epochs, d->n_epochs, cap);
        d->epochs[d->n_epochs++] = (el_epoch_rec){sqlite3_column_int(st, 0), col_num(st, 1), col_num(st, 2),
                                                  col_num(st, 3), col_num(st, 4), col_num(st, 5), col_num(st, 6),
                                                  col_num(st, 7), col_num(st, 8)};
    }
    sqlite3_finalize(st);
    /* threshold curve */
    if (!(st = prep(db, "SELECT threshold, val_weighted_f1 FROM threshold_curve WHERE run = ?1 ORDER BY threshold", uuid)))
        return EL_ERR;
    int64_t cap2 = 0;
    cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        GROW(d->thr_x, d->n_thr, cap);
        GROW(d->thr_f1, d->n_thr, cap2);
        d->thr_x[d->n_thr] = col_num(st, 0);
        d->thr_f1[d->n_thr++] = col_num(st, 1);
    }
    sqlite3_finalize(st);
    /* artifacts */
    if (!(st = prep(db, "SELECT kind, path, bytes, sha256 FROM artifacts WHERE run = ?1 ORDER BY kind, path", uuid)))
        return EL_ERR;
    cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        GROW(d->artifacts, d->n_artifacts, cap);
        const char *sha = (const char *)sqlite3_column_text(st, 3);
        char *v;
        if (sqlite3_column_type(st, 2) != SQLITE_NULL)
            v = el_printf("%s (%.1f MB, sha256 %.12s)", (const char *)sqlite3_column_text(st, 1),
                          sqlite3_column_double(st, 2) / 1e6, sha ? sha : "-");
        else
            v = el_printf("%s", (const char *)sqlite3_column_text(st, 1));
        d->artifacts[d->n_artifacts++] = (el_kv){col_dup(st, 0), v};
    }
    sqlite3_finalize(st);
    return 0;
}

static void kv_free(el_kv *v, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        free(v[i].key);
        free(v[i].value);
    }
    free(v);
}

void el_run_detail_free(el_run_detail *d) {
    if (!d) return;
    char *fields[] = {d->name, d->owner, d->kind, d->status, d->created, d->started, d->finished, d->config_json,
                      d->config_hash, d->git_commit, d->host, d->data_variant, d->sweep_id, d->run_dir, d->spec_file,
                      d->error};
    for (int i = 0; i < 16; i++) free(fields[i]);
    kv_free(d->params, d->n_params);
    for (int s = 0; s < 2; s++) {
        kv_free(d->metrics[s], d->n_metrics[s]);
        for (int32_t i = 0; i < d->n_classes[s]; i++) free(d->classes[s][i].label);
        free(d->classes[s]);
    }
    kv_free(d->thresholds, d->n_thresholds);
    for (int32_t i = 0; i < d->n_data; i++) {
        free(d->data[i].split);
        free(d->data[i].fingerprint);
        free(d->data[i].label_counts);
    }
    free(d->data);
    for (int32_t i = 0; i < d->n_sources; i++) {
        free(d->sources[i].split);
        free(d->sources[i].path);
        free(d->sources[i].sha256);
    }
    free(d->sources);
    free(d->epochs);
    free(d->thr_x);
    free(d->thr_f1);
    kv_free(d->artifacts, d->n_artifacts);
    memset(d, 0, sizeof *d);
}

double el_run_detail_metric(const el_run_detail *d, int32_t split, const char *name) {
    if (split < 0 || split > 1) return NAN;
    for (int32_t i = 0; i < d->n_metrics[split]; i++)
        if (!strcmp(d->metrics[split][i].key, name)) {
            double v;
            return el_parse_double(d->metrics[split][i].value, &v) == 0 ? v : NAN;
        }
    return NAN;
}
