/* report_query.c: registry -> in-memory leaderboard (filters, variants, aggregation over seeds,
 * best marks, sorting, curves). Read-only: the registry is opened with el_registry_open(path,
 * true) and only SELECTs run on it. See report.h for the variant definition. */
#define _GNU_SOURCE
#include "report.h"
#include "registry.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const EL_RUN_FIELDS[] = {"owner", "name", "status", "kind", "sweep", "host", "commit"};
const int32_t EL_N_RUN_FIELDS = (int32_t)(sizeof EL_RUN_FIELDS / sizeof EL_RUN_FIELDS[0]);
static const char *const RUN_COLUMNS[] = {"r.owner", "r.name", "r.status", "r.kind", "r.sweep_id", "r.host",
                                          "r.git_commit"};
static const char *const STATUSES[] = {"running", "finished", "failed", "interrupted", "stopped"};

/* Keys that do not make a variant: who/what it is called, the data (a column), the seed (runs
 * of several seeds aggregate) and execution knobs. data.* is excluded by prefix. */
#define NON_VARIANT_SQL "'name', 'owner', 'notes', 'train.seed', 'train.threads', 'train.device'"

static int run_field(const char *key) {
    for (int32_t i = 0; i < EL_N_RUN_FIELDS; i++)
        if (!strcmp(key, EL_RUN_FIELDS[i])) return i;
    if (!strcmp(key, "sweep_id")) return 4;
    return -1;
}

void el_strv_free(char **v, int32_t n) {
    for (int32_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* Distinct values of an indexed text column by repeated index seeks (cheap on big tables). */
static int distinct_seek(sqlite3 *db, const char *sql, char ***out, int32_t *n) {
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return el_err("query failed: %s", sqlite3_errmsg(db));
    int64_t cap = 0;
    char *last = xstrdup("");
    for (;;) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, last, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) {
            free(last);
            sqlite3_finalize(st);
            return el_err("query failed: %s", sqlite3_errmsg(db));
        }
        const char *v = (const char *)sqlite3_column_text(st, 0);
        el_grow(*out, &cap, *n + 1);
        (*out)[(*n)++] = xstrdup(v ? v : "");
        free(last);
        last = xstrdup(v ? v : "");
        if (*n > 100000) break;
    }
    free(last);
    sqlite3_finalize(st);
    return 0;
}

int el_registry_param_keys(sqlite3 *db, char ***keys, int32_t *n) {
    return distinct_seek(db, "SELECT key FROM params WHERE key > ?1 ORDER BY key LIMIT 1", keys, n);
}

static int registry_labels(sqlite3 *db, char ***labels, int32_t *n) {
    return distinct_seek(db, "SELECT label FROM class_metrics WHERE label > ?1 ORDER BY label LIMIT 1", labels, n);
}

static int registry_metric_names(sqlite3 *db, char ***names, int32_t *n) {
    return distinct_seek(db, "SELECT name FROM metrics WHERE name > ?1 ORDER BY name LIMIT 1", names, n);
}

static int64_t count_runs(sqlite3 *db) {
    sqlite3_stmt *st;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM runs", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    return n;
}

static bool exists_query(sqlite3 *db, const char *sql, const char *arg) {
    sqlite3_stmt *st;
    bool found = false;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
        found = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    return found;
}

/* "unknown key" errors: close param keys, then the run fields. */
static int unknown_key_error(sqlite3 *db, const char *reg_path, const char *opt, const char *key) {
    char **keys;
    int32_t n;
    el_buf b = {0};
    el_buf_printf(&b, "%s: unknown key '%s': no run in %s has a parameter of that name", opt, key, reg_path);
    if (el_registry_param_keys(db, &keys, &n) == 0) {
        el_buf close = {0};
        int32_t k = el_suggest(&close, key, (const char *const *)keys, n, 5);
        if (k) el_buf_printf(&b, "; close keys: %s", close.s);
        el_buf_free(&close);
        el_strv_free(keys, n);
    }
    el_buf_puts(&b, "; run fields: ");
    for (int32_t i = 0; i < EL_N_RUN_FIELDS; i++) el_buf_printf(&b, "%s%s", i ? ", " : "", EL_RUN_FIELDS[i]);
    el_buf_puts(&b, " (`emolab show RUN` lists a run's parameter keys)");
    el_err("%s", b.s);
    el_buf_free(&b);
    return EL_ERR;
}

static bool param_key_known(sqlite3 *db, const char *key) {
    return exists_query(db, "SELECT 1 FROM params WHERE key = ?1 LIMIT 1", key);
}

/* ---- filters ------------------------------------------------------------------------------- */
static void add_bind(el_run_where *w, const char *v) {
    w->binds = xrealloc(w->binds, (size_t)(w->n_binds + 1) * sizeof(char *));
    w->binds[w->n_binds++] = xstrdup(v);
}

/* * and ? are wildcards; '[' stays literal (lists like [768] are common values) */
static bool has_glob(const char *v) { return strpbrk(v, "*?") != NULL; }

static char *glob_escape(const char *v) {
    el_buf b = {0};
    for (const char *p = v; *p; p++)
        if (*p == '[') el_buf_puts(&b, "[[]");
        else el_buf_putc(&b, *p);
    return b.s ? el_buf_take(&b) : xstrdup("");
}

static char *json_quote(const char *s) {
    el_buf b = {0};
    el_buf_putc(&b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            el_buf_putc(&b, '\\');
            el_buf_putc(&b, (char)*p);
        } else if (*p < 0x20) {
            el_buf_printf(&b, "\\u%04x", *p);
        } else {
            el_buf_putc(&b, (char)*p);
        }
    }
    el_buf_putc(&b, '"');
    return el_buf_take(&b);
}

/* [512, 256] -> [512,256] (canonical JSON has no blanks outside strings) */
static char *squeeze_json(const char *v) {
    el_buf b = {0};
    bool in_str = false;
    for (const char *p = v; *p; p++) {
        if (*p == '"' && (p == v || p[-1] != '\\')) in_str = !in_str;
        if (!in_str && (*p == ' ' || *p == '\t')) continue;
        el_buf_putc(&b, *p);
    }
    if (!b.s) return xstrdup("");
    return el_buf_take(&b);
}

int el_run_where_build(sqlite3 *db, const char *reg_path, const el_run_filter *f, const char *default_status,
                       el_run_where *w) {
    memset(w, 0, sizeof *w);
    el_buf_puts(&w->sql, "1");
    el_buf_puts(&w->desc, "");
    int64_t n_runs = count_runs(db);
    bool status_where = false;
    for (int32_t i = 0; i < f->n_where; i++) {
        const char *a = f->where[i];
        const char *ne = strstr(a, "!="), *eq = strchr(a, '=');
        bool neg = ne && ne < eq;
        const char *op = neg ? ne : eq;
        if (!op || op == a) {
            el_err("--where '%s': write KEY=VALUE or KEY!=VALUE, e.g. --where backbone.type=bow "
                   "--where owner=marina --where head.dropout=0.85 (VALUE may use * and ? wildcards)", a);
            goto fail;
        }
        char *key = el_strndup(a, (size_t)(op - a));
        const char *val = op + (neg ? 2 : 1);
        el_buf_printf(&w->desc, "%s%s%s%s", w->desc.len ? ", " : "", key, neg ? "!=" : "=", val);
        int fi = run_field(key);
        el_buf cond = {0};
        if (fi >= 0) {
            if (fi == 2) {
                status_where = true;
                bool ok = has_glob(val);
                for (size_t s = 0; s < sizeof STATUSES / sizeof STATUSES[0]; s++) ok |= !strcmp(val, STATUSES[s]);
                if (!ok) {
                    el_err("--where status=%s: not a status; statuses are running, finished, failed, "
                           "interrupted, stopped", val);
                    free(key);
                    goto fail;
                }
            }
            el_buf_printf(&cond, "IFNULL(%s, '') %s ?", RUN_COLUMNS[fi], has_glob(val) ? "GLOB" : "=");
            char *g = has_glob(val) ? glob_escape(val) : xstrdup(val);
            add_bind(w, g);
            free(g);
        } else {
            if (n_runs > 0 && !param_key_known(db, key)) {
                unknown_key_error(db, reg_path, "--where", key);
                free(key);
                goto fail;
            }
            el_buf_puts(&cond, "EXISTS (SELECT 1 FROM params p WHERE p.run = r.uuid AND p.key = ? AND (");
            add_bind(w, key);
            if (has_glob(val)) {
                char *g = glob_escape(val);
                char *q = el_printf("\"%s\"", g);
                el_buf_puts(&cond, "p.value GLOB ? OR p.value GLOB ?");
                add_bind(w, g);
                add_bind(w, q);
                free(q);
                free(g);
            } else {
                char *raw = val[0] == '[' || val[0] == '{' ? squeeze_json(val) : xstrdup(val);
                char *q = json_quote(val);
                el_buf_puts(&cond, "p.value = ? OR p.value = ?");
                add_bind(w, raw);
                add_bind(w, q);
                double d;
                if (el_parse_double(val, &d) == 0) {
                    el_buf_puts(&cond, " OR (p.value GLOB '[0-9-]*' AND CAST(p.value AS REAL) = CAST(? AS REAL))");
                    add_bind(w, val);
                }
                free(raw);
                free(q);
            }
            el_buf_puts(&cond, "))");
        }
        el_buf_printf(&w->sql, " AND %s(%s)", neg ? "NOT " : "", cond.s);
        el_buf_free(&cond);
        free(key);
    }
    if (f->sweep) {
        if (n_runs > 0 && !exists_query(db, "SELECT 1 FROM runs WHERE sweep_id = ?1 LIMIT 1", f->sweep)) {
            char **ids;
            int32_t n;
            el_buf b = {0};
            el_buf_printf(&b, "--sweep %s: no run of %s belongs to that sweep", f->sweep, reg_path);
            if (distinct_seek(db, "SELECT sweep_id FROM runs WHERE sweep_id > ?1 ORDER BY sweep_id LIMIT 1", &ids,
                              &n) == 0) {
                if (n == 0) {
                    el_buf_puts(&b, " (no run is part of a sweep)");
                } else {
                    el_buf close = {0};
                    if (el_suggest(&close, f->sweep, (const char *const *)ids, n, 5))
                        el_buf_printf(&b, "; close sweep ids: %s", close.s);
                    else {
                        el_buf_puts(&b, "; sweep ids: ");
                        for (int32_t i = 0; i < n && i < 8; i++) el_buf_printf(&b, "%s%s", i ? ", " : "", ids[i]);
                        if (n > 8) el_buf_printf(&b, " and %d more", (int)(n - 8));
                    }
                    el_buf_free(&close);
                }
                el_strv_free(ids, n);
            }
            el_err("%s", b.s);
            el_buf_free(&b);
            goto fail;
        }
        el_buf_puts(&w->sql, " AND r.sweep_id = ?");
        add_bind(w, f->sweep);
        el_buf_printf(&w->desc, "%ssweep %s", w->desc.len ? ", " : "", f->sweep);
    }
    if (f->since) {
        char iso[40];
        if (el_parse_since(f->since, iso) != 0) goto fail;
        el_buf_puts(&w->sql, " AND r.created >= ?");
        add_bind(w, iso);
        el_buf_printf(&w->desc, "%ssince %s", w->desc.len ? ", " : "", iso);
    }
    const char *status = f->status ? f->status : (status_where ? "any" : default_status);
    if (status && strcmp(status, "any") && strcmp(status, "all")) {
        el_buf_puts(&w->sql, " AND r.status IN (");
        char *copy = xstrdup(status);
        int k = 0;
        for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            while (*t == ' ') t++;
            bool ok = false;
            for (size_t s = 0; s < sizeof STATUSES / sizeof STATUSES[0]; s++) ok |= !strcmp(t, STATUSES[s]);
            if (!ok) {
                el_err("--status %s: '%s' is not a status; give a comma list of running, finished, failed, "
                       "interrupted, stopped, or 'any'", status, t);
                free(copy);
                goto fail;
            }
            el_buf_printf(&w->sql, "%s?", k++ ? ", " : "");
            add_bind(w, t);
        }
        free(copy);
        if (!k) {
            el_err("--status: empty list (give e.g. finished,stopped or any)");
            goto fail;
        }
        el_buf_puts(&w->sql, ")");
    }
    return 0;
fail:
    el_run_where_free(w);
    return EL_ERR;
}

void el_run_where_free(el_run_where *w) {
    el_buf_free(&w->sql);
    el_buf_free(&w->desc);
    el_strv_free(w->binds, w->n_binds);
    memset(w, 0, sizeof *w);
}

int el_run_where_bind(const el_run_where *w, sqlite3_stmt *st, int first) {
    for (int32_t i = 0; i < w->n_binds; i++) sqlite3_bind_text(st, first++, w->binds[i], -1, SQLITE_STATIC);
    return first;
}

/* ---- model description ---------------------------------------------------------------------- */
static const char *const MODEL_KEYS[] = {"backbone.type", "backbone.name", "backbone.repo", "backbone.model",
                                         "backbone.path", "head.layers", "head.dropout", "head.activation",
                                         "head.norm", "head.residual", "head.heads", "ensemble.size",
                                         "ensemble.combine", "ensemble.members"};

bool el_model_key(const char *key) {
    for (size_t i = 0; i < sizeof MODEL_KEYS / sizeof MODEL_KEYS[0]; i++)
        if (!strcmp(key, MODEL_KEYS[i])) return true;
    return false;
}

static const char *kv_get(const char *const *keys, const char *const *values, int32_t n, const char *key) {
    for (int32_t i = 0; i < n; i++)
        if (!strcmp(keys[i], key)) return values[i];
    return NULL;
}

static bool el_ends_with_sep(const el_buf *b) {
    size_t n = strlen(" · ");
    return b->len >= n && !memcmp(b->s + b->len - n, " · ", n);
}

char *el_model_description(const char *const *keys, const char *const *values, int32_t n, const char *kind) {
    el_buf b = {0};
    if (kind && !strcmp(kind, "ensemble")) {
        /* emolab ensemble records ensemble.size / ensemble.combine / ensemble.members */
        const char *size = kv_get(keys, values, n, "ensemble.size"), *comb = kv_get(keys, values, n, "ensemble.combine");
        char *c = comb ? el_json_display(comb) : NULL;
        if (size) el_buf_printf(&b, "ensemble (%s of %s runs) · ", c ? c : "combination", size);
        else el_buf_puts(&b, "ensemble · ");
        free(c);
    }
    const char *bb = NULL;
    static const char *const names[] = {"backbone.name", "backbone.repo", "backbone.model", "backbone.path"};
    for (size_t i = 0; i < 4 && !bb; i++) bb = kv_get(keys, values, n, names[i]);
    if (!bb) bb = kv_get(keys, values, n, "backbone.type");
    if (bb) {
        char *d = el_json_display(bb);
        const char *slash = strrchr(d, '/');
        el_buf_puts(&b, slash && slash[1] ? slash + 1 : d);
        free(d);
    }
    const char *layers = kv_get(keys, values, n, "head.layers");
    bool hidden = false;
    el_buf h = {0};
    if (layers) {
        char *d = squeeze_json(layers);
        if (!strcmp(d, "[]")) {
            el_buf_puts(&h, "linear");
        } else {
            hidden = true;
            el_buf_putc(&h, 'h');
            for (const char *p = d; *p; p++)
                if (*p == ',') el_buf_putc(&h, '-');
                else if (*p != '[' && *p != ']') el_buf_putc(&h, *p);
        }
        free(d);
    }
    const char *drop = kv_get(keys, values, n, "head.dropout");
    if (drop) el_buf_printf(&h, "%sd%s", h.len ? " " : "", drop);
    const char *act = kv_get(keys, values, n, "head.activation");
    if (act && hidden) {
        char *d = el_json_display(act);
        el_buf_printf(&h, " %s", d);
        free(d);
    }
    const char *norm = kv_get(keys, values, n, "head.norm");
    if (norm && hidden) {
        char *d = el_json_display(norm);
        if (strcmp(d, "none")) el_buf_printf(&h, " %snorm", d);
        free(d);
    }
    const char *res = kv_get(keys, values, n, "head.residual");
    if (res && !strcmp(res, "true")) el_buf_puts(&h, " residual");
    const char *heads = kv_get(keys, values, n, "head.heads");
    if (heads && strcmp(heads, "1")) {
        const char *meta = kv_get(keys, values, n, "head.meta");
        char *d = meta ? el_json_display(meta) : xstrdup("");
        el_buf_printf(&h, " x%s heads%s%s", heads, *d ? " + " : "", *d ? (strcmp(d, "linear") ? d : "meta-layer") : "");
        free(d);
    }
    if (h.len) el_buf_printf(&b, "%s%s", b.len && !el_ends_with_sep(&b) ? " · " : "", h.s);
    el_buf_free(&h);
    if (!b.s) return xstrdup("");
    if (el_ends_with_sep(&b)) b.s[b.len -= strlen(" · ")] = 0; /* "ensemble" alone */
    return el_buf_take(&b);
}

/* ---- the model ------------------------------------------------------------------------------ */
el_report_params el_report_default_params(void) {
    el_report_params p;
    memset(&p, 0, sizeof p);
    p.metric = "weighted_f1";
    p.sort = "val";
    p.digits = 3;
    p.n_top_curves = 5;
    p.chart_rows = 25;
    return p;
}

typedef struct {
    char **names;
    int32_t n;
} name_set;

static void name_set_add(name_set *s, const char *v) {
    for (int32_t i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], v)) return;
    if (s->n >= 64) return;
    s->names = xrealloc(s->names, (size_t)(s->n + 1) * sizeof(char *));
    s->names[s->n++] = xstrdup(v);
}

static void name_set_free(name_set *s) {
    el_strv_free(s->names, s->n);
    memset(s, 0, sizeof *s);
}

/* open-addressing map: row key -> row index */
typedef struct {
    const char **keys;
    int32_t *vals;
    int64_t cap, n;
} strmap;

static int32_t strmap_get(strmap *m, const char *k) {
    if (!m->cap) return -1;
    uint64_t h = el_hash64(k, strlen(k), 7);
    for (int64_t i = (int64_t)(h & (uint64_t)(m->cap - 1));; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i]) return -1;
        if (!strcmp(m->keys[i], k)) return m->vals[i];
    }
}

static void strmap_put(strmap *m, const char *k, int32_t v) {
    if ((m->n + 1) * 2 > m->cap) {
        strmap old = *m;
        m->cap = old.cap ? old.cap * 2 : 1024;
        m->keys = xcalloc((size_t)m->cap, sizeof(char *));
        m->vals = xcalloc((size_t)m->cap, sizeof(int32_t));
        m->n = 0;
        for (int64_t i = 0; i < old.cap; i++)
            if (old.keys[i]) strmap_put(m, old.keys[i], old.vals[i]);
        free(old.keys);
        free(old.vals);
    }
    uint64_t h = el_hash64(k, strlen(k), 7);
    int64_t i = (int64_t)(h & (uint64_t)(m->cap - 1));
    while (m->keys[i]) i = (i + 1) & (m->cap - 1);
    m->keys[i] = k;
    m->vals[i] = v;
    m->n++;
}

static void strmap_free(strmap *m) {
    free(m->keys);
    free(m->vals);
}

static void cell_add(el_report_cell *c, int32_t run) {
    if (c->n_runs == c->cap_runs) {
        c->cap_runs = c->cap_runs ? c->cap_runs * 2 : 4;
        c->runs = xrealloc(c->runs, (size_t)c->cap_runs * sizeof(int32_t));
    }
    c->runs[c->n_runs++] = run;
}

static void stat_of(el_stat *s, const el_report_run *runs, const int32_t *idx, int32_t n, bool test) {
    memset(s, 0, sizeof *s);
    double sum = 0;
    s->min = INFINITY;
    s->max = -INFINITY;
    for (int32_t i = 0; i < n; i++) {
        double v = test ? runs[idx[i]].test : runs[idx[i]].val;
        if (isnan(v)) continue;
        sum += v;
        s->n++;
        if (v < s->min) s->min = v;
        if (v > s->max) s->max = v;
    }
    if (!s->n) {
        s->mean = s->std = s->min = s->max = NAN;
        return;
    }
    s->mean = sum / s->n;
    double ss = 0;
    for (int32_t i = 0; i < n; i++) {
        double v = test ? runs[idx[i]].test : runs[idx[i]].val;
        if (!isnan(v)) ss += (v - s->mean) * (v - s->mean);
    }
    s->std = s->n > 1 ? sqrt(ss / (s->n - 1)) : NAN;
}

void el_stat_text(el_buf *b, const el_stat *s, int32_t digits, bool ascii) {
    if (!s->n) return;
    if (s->n == 1) {
        el_buf_printf(b, "%.*f", digits, s->mean);
        return;
    }
    el_buf_printf(b, "%.*f %s %.*f (%d)", digits, s->mean, ascii ? "+/-" : "±", digits, s->std, (int)s->n);
}

/* sort */
typedef enum { SORT_SPLIT, SORT_CELL, SORT_NAME, SORT_OWNER, SORT_RUNS, SORT_KEY, SORT_LATEST } sort_kind;
static sort_kind g_sort_kind;

static int cmp_num_desc(double a, double b) {
    bool na = isnan(a), nb = isnan(b);
    if (na || nb) return na - nb; /* missing last */
    return a < b ? 1 : a > b ? -1 : 0;
}

static int cmp_key(const char *a, const char *b) {
    double x, y;
    if (el_parse_double(a, &x) == 0 && el_parse_double(b, &y) == 0) return x < y ? -1 : x > y;
    return strcmp(a, b);
}

static double row_best(const el_report_row *row, int32_t n_dv, bool test);
static int32_t g_sort_ndv;

static int cmp_rows(const void *pa, const void *pb) {
    const el_report_row *a = pa, *b = pb;
    int c = 0;
    switch (g_sort_kind) {
    case SORT_SPLIT: case SORT_CELL: case SORT_RUNS: c = cmp_num_desc(a->sort_value, b->sort_value); break;
    case SORT_NAME: c = strcmp(a->title, b->title); break;
    case SORT_OWNER: c = strcmp(a->owners, b->owners); break;
    case SORT_KEY: c = cmp_key(a->key, b->key); break;
    case SORT_LATEST: c = -strcmp(a->latest, b->latest); break;
    }
    /* ties: the better best val, then the better best test, then by name and key */
    if (!c) c = cmp_num_desc(row_best(a, g_sort_ndv, false), row_best(b, g_sort_ndv, false));
    if (!c) c = cmp_num_desc(row_best(a, g_sort_ndv, true), row_best(b, g_sort_ndv, true));
    if (!c) c = strcmp(a->title, b->title);
    return c ? c : strcmp(a->key, b->key);
}

static double row_best(const el_report_row *row, int32_t n_dv, bool test) {
    double best = NAN;
    for (int32_t k = 0; k < n_dv; k++) {
        const el_stat *s = test ? &row->cells[k].test : &row->cells[k].val;
        if (s->n && (isnan(best) || s->mean > best)) best = s->mean;
    }
    return best;
}

static const char *metric_title(el_arena *a, const char *m) {
    if (!strncmp(m, "f1:", 3)) {
        char *t = el_printf("F1 of %s", m + 3);
        const char *s = el_arena_str(a, t);
        free(t);
        return s;
    }
    static const char *const known[][2] = {{"weighted_f1", "weighted F1"}, {"macro_f1", "macro F1"},
                                           {"micro_f1", "micro F1"},       {"samples_f1", "samples F1"}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(m, known[i][0])) return known[i][1];
    return el_arena_str(a, m);
}

/* keys that are not part of a variant (data.* by prefix) */
static bool non_variant_key(const char *k) {
    if (k[0] != 'd' && k[0] != 'n' && k[0] != 'o' && k[0] != 't') return false;
    if (!strncmp(k, "data.", 5)) return true;
    static const char *const keys[] = {"name", "owner", "notes", "train.seed", "train.threads", "train.device"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(k, keys[i])) return true;
    return false;
}

/* the variant params of one run (sorted by key), into the arena */
static int32_t run_params(sqlite3_stmt *st, el_arena *a, const char *uuid, const char ***keys, const char ***vals) {
    int32_t n = 0, cap = 64;
    *keys = el_arena_alloc(a, (size_t)cap * sizeof(char *));
    *vals = el_arena_alloc(a, (size_t)cap * sizeof(char *));
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0), *v = (const char *)sqlite3_column_text(st, 1);
        if (!k || !v || non_variant_key(k)) continue;
        if (n == cap) {
            const char **k2 = el_arena_alloc(a, (size_t)cap * 2 * sizeof(char *)), **v2 = el_arena_alloc(a, (size_t)cap * 2 * sizeof(char *));
            memcpy(k2, *keys, (size_t)cap * sizeof(char *));
            memcpy(v2, *vals, (size_t)cap * sizeof(char *));
            *keys = k2;
            *vals = v2;
            cap *= 2;
        }
        (*keys)[n] = el_arena_str(a, k);
        (*vals)[n++] = el_arena_str(a, v);
    }
    return n;
}

typedef struct {
    const char *key, *value;
    int32_t row;
} kv_triple;

static int cmp_triple(const void *a, const void *b) {
    const kv_triple *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : x->row - y->row;
}

/* For each row: the params outside the model description that take two or more values among
 * the shown rows (rows without the key, e.g. ensembles next to single runs, are left out). */
static void compute_differs(el_report *r, const char ***row_keys, const char ***row_vals, const int32_t *row_n) {
    int64_t total = 0;
    for (int32_t i = 0; i < r->n_rows; i++) total += row_n[i];
    kv_triple *t = xmalloc((size_t)(total ? total : 1) * sizeof *t);
    int64_t k = 0;
    for (int32_t i = 0; i < r->n_rows; i++)
        for (int32_t j = 0; j < row_n[i]; j++)
            if (!el_model_key(row_keys[i][j])) t[k++] = (kv_triple){row_keys[i][j], row_vals[i][j], i};
    el_qsort(t, (size_t)k, sizeof *t, cmp_triple);
    el_buf *bufs = xcalloc((size_t)(r->n_rows ? r->n_rows : 1), sizeof(el_buf));
    for (int64_t s = 0; s < k;) {
        int64_t e = s;
        bool same = true;
        while (e < k && !strcmp(t[e].key, t[s].key)) {
            if (strcmp(t[e].value, t[s].value)) same = false;
            e++;
        }
        if (!same)
            for (int64_t q = s; q < e; q++) {
                char *d = el_json_display(t[q].value);
                el_buf_printf(&bufs[t[q].row], "%s%s=%s", bufs[t[q].row].len ? ", " : "", t[q].key, d);
                free(d);
            }
        s = e;
    }
    for (int32_t i = 0; i < r->n_rows; i++) {
        r->rows[i].differs = el_arena_str(r->arena, bufs[i].s);
        el_buf_free(&bufs[i]);
    }
    free(bufs);
    free(t);
}

/* uuid -> run index, for scans of a whole child table (rows come grouped by run) */
static void uuid_map(const el_report *r, strmap *m) {
    memset(m, 0, sizeof *m);
    for (int32_t i = 0; i < r->n_runs; i++) strmap_put(m, r->runs[i].uuid, i);
}

/* Reads rows "run, COLS" of a child table, either in one scan in primary-key order (when the
 * report holds a good part of the registry's runs) or by one index seek per run; calls fn(run
 * index, stmt) for each row that belongs to a run of the report. */
typedef void (*row_fn)(el_report *r, int32_t run, sqlite3_stmt *st, void *ctx);

static int each_child_row(sqlite3 *db, el_report *r, const char *cols, const char *table, const char *where,
                          const char *order, row_fn fn, void *ctx) {
    bool scan = (int64_t)r->n_runs * 4 >= r->registry_runs;
    char *sql = scan ? el_printf("SELECT run, %s FROM %s WHERE %s ORDER BY %s", cols, table, where, order)
                     : el_printf("SELECT run, %s FROM %s WHERE run = ?1 AND %s ORDER BY %s", cols, table, where, order);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    free(sql);
    if (rc != SQLITE_OK) return el_err("%s: reading %s: %s", r->registry, table, sqlite3_errmsg(db));
    rc = SQLITE_DONE;
    if (scan) {
        strmap m;
        uuid_map(r, &m);
        char cur[37] = "";
        int32_t idx = -1;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *u = (const char *)sqlite3_column_text(st, 0);
            if (!u) continue;
            if (strncmp(u, cur, 37)) {
                snprintf(cur, sizeof cur, "%s", u);
                idx = strmap_get(&m, cur);
            }
            if (idx >= 0) fn(r, idx, st, ctx);
        }
        strmap_free(&m);
    } else {
        for (int32_t i = 0; i < r->n_runs; i++) {
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, r->runs[i].uuid, -1, SQLITE_STATIC);
            while ((rc = sqlite3_step(st)) == SQLITE_ROW) fn(r, i, st, ctx);
            if (rc != SQLITE_DONE) break;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return el_err("%s: reading %s: %s", r->registry, table, sqlite3_errmsg(db));
    return 0;
}

/* per-class F1: sums and counts per cell x split x label (only cells with runs) */
typedef struct {
    double **sum;
    int32_t nl;
} cls_ctx;

static void cls_row(el_report *r, int32_t i, sqlite3_stmt *st, void *vctx) {
    cls_ctx *c = vctx;
    const el_report_run *run = &r->runs[i];
    if (run->row < 0 || run->col < 0 || sqlite3_column_type(st, 3) == SQLITE_NULL) return;
    const char *split = (const char *)sqlite3_column_text(st, 1);
    const char *label = (const char *)sqlite3_column_text(st, 2);
    int32_t s = split && !strcmp(split, "test") ? 1 : split && !strcmp(split, "val") ? 0 : -1;
    if (s < 0 || !label) return;
    int32_t cell = run->row * r->n_dvariants + run->col, nl = c->nl;
    if (!c->sum[cell]) c->sum[cell] = xcalloc((size_t)nl * 4, sizeof(double)); /* [split][label] sums, then counts */
    for (int32_t j = 0; j < nl; j++)
        if (!strcmp(r->labels[j], label)) {
            c->sum[cell][s * nl + j] += sqlite3_column_double(st, 3);
            c->sum[cell][2 * nl + s * nl + j] += 1;
            return;
        }
}

static int load_classes(sqlite3 *db, el_report *r) {
    char **labels;
    int32_t nl;
    if (registry_labels(db, &labels, &nl)) return EL_ERR;
    if (nl > 64) {
        for (int32_t i = 64; i < nl; i++) free(labels[i]);
        nl = 64;
    }
    /* model output order: by label_idx */
    int32_t idx[64];
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT label_idx FROM class_metrics WHERE label = ?1 LIMIT 1", -1, &st, NULL)) {
        el_strv_free(labels, nl);
        return el_err("query failed: %s", sqlite3_errmsg(db));
    }
    for (int32_t i = 0; i < nl; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, labels[i], -1, SQLITE_STATIC);
        idx[i] = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 1 << 20;
    }
    sqlite3_finalize(st);
    for (int32_t i = 1; i < nl; i++) /* insertion sort by (idx, name) */
        for (int32_t j = i; j > 0 && (idx[j - 1] > idx[j] || (idx[j - 1] == idx[j] && strcmp(labels[j - 1], labels[j]) > 0)); j--) {
            int32_t ti = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = ti;
            char *tl = labels[j];
            labels[j] = labels[j - 1];
            labels[j - 1] = tl;
        }
    r->labels = labels;
    r->n_labels = nl;
    if (!nl || !r->n_runs) return 0;
    int32_t n_cells = r->n_rows_total * r->n_dvariants;
    cls_ctx c = {xcalloc((size_t)(n_cells ? n_cells : 1), sizeof(double *)), nl};
    int rc = each_child_row(db, r, "split, label, f1", "class_metrics", "1", "run, split, label", cls_row, &c);
    for (int32_t cell = 0; cell < n_cells; cell++) {
        if (!c.sum[cell]) continue;
        el_report_cell *ce = &r->rows[cell / r->n_dvariants].cells[cell % r->n_dvariants];
        for (int32_t s = 0; s < 2; s++) {
            ce->cls[s] = el_arena_alloc(r->arena, (size_t)nl * sizeof(double));
            for (int32_t j = 0; j < nl; j++) {
                double cnt = c.sum[cell][2 * nl + s * nl + j];
                ce->cls[s][j] = cnt > 0 ? c.sum[cell][s * nl + j] / cnt : NAN;
            }
        }
        free(c.sum[cell]);
    }
    free(c.sum);
    return rc;
}

/* variant keys: a 128-bit hash of each run's variant params, chained in key order (two
 * independent 64-bit chains) */
typedef struct {
    uint64_t *h1, *h2;
    int32_t *n;
} vkey_ctx;

/* a quick 64-bit hash over 8-byte words (the chains' only job: tell configs apart) */
static uint64_t mix64(const void *data, size_t n, uint64_t h, uint64_t mul) {
    const unsigned char *p = data;
    uint64_t w;
    for (; n >= 8; n -= 8, p += 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * mul;
        h ^= h >> 31;
    }
    w = (uint64_t)n << 56;
    for (size_t i = 0; i < n; i++) w |= (uint64_t)p[i] << (8 * i);
    h = (h ^ w) * mul;
    h ^= h >> 29;
    return h;
}

static void vkey_row(el_report *r, int32_t i, sqlite3_stmt *st, void *vctx) {
    (void)r;
    vkey_ctx *c = vctx;
    const char *k = (const char *)sqlite3_column_text(st, 1);
    size_t kl = (size_t)sqlite3_column_bytes(st, 1);
    const char *v = (const char *)sqlite3_column_text(st, 2);
    size_t vl = (size_t)sqlite3_column_bytes(st, 2);
    if (!k || !v || non_variant_key(k)) return;
    /* the key with its NUL, then the value: "ab"+"c" and "a"+"bc" differ */
    c->h1[i] = mix64(v, vl, mix64(k, kl + 1, c->h1[i], 0x9e3779b97f4a7c15ULL), 0x9e3779b97f4a7c15ULL);
    c->h2[i] = mix64(v, vl, mix64(k, kl + 1, c->h2[i], 0xc2b2ae3d27d4eb4fULL), 0xff51afd7ed558ccdULL);
    c->n[i]++;
}

static double *arena_nan(el_arena *a, int32_t n) {
    double *v = el_arena_alloc(a, (size_t)(n ? n : 1) * sizeof(double));
    for (int32_t i = 0; i < n; i++) v[i] = NAN;
    return v;
}

static int load_curve(sqlite3 *db, el_report *r, el_report_curve *c) {
    sqlite3_stmt *st;
    int32_t n = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM epochs WHERE run = ?1", -1, &st, NULL)) goto fail;
    sqlite3_bind_text(st, 1, c->uuid, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    c->epoch = arena_nan(r->arena, n);
    c->train_loss = arena_nan(r->arena, n);
    c->val_loss = arena_nan(r->arena, n);
    c->val_f1 = arena_nan(r->arena, n);
    if (sqlite3_prepare_v2(db, "SELECT epoch, train_loss, val_loss, val_weighted_f1 FROM epochs WHERE run = ?1 "
                               "ORDER BY epoch", -1, &st, NULL))
        goto fail;
    sqlite3_bind_text(st, 1, c->uuid, -1, SQLITE_STATIC);
    c->n_epochs = 0;
    while (sqlite3_step(st) == SQLITE_ROW && c->n_epochs < n) {
        double *cols[4] = {c->epoch, c->train_loss, c->val_loss, c->val_f1};
        for (int k = 0; k < 4; k++)
            if (sqlite3_column_type(st, k) != SQLITE_NULL) cols[k][c->n_epochs] = sqlite3_column_double(st, k);
        c->n_epochs++;
    }
    sqlite3_finalize(st);
    n = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM threshold_curve WHERE run = ?1", -1, &st, NULL)) goto fail;
    sqlite3_bind_text(st, 1, c->uuid, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    c->thr = arena_nan(r->arena, n);
    c->thr_f1 = arena_nan(r->arena, n);
    if (sqlite3_prepare_v2(db, "SELECT threshold, val_weighted_f1 FROM threshold_curve WHERE run = ?1 "
                               "ORDER BY threshold", -1, &st, NULL))
        goto fail;
    sqlite3_bind_text(st, 1, c->uuid, -1, SQLITE_STATIC);
    c->n_thr = 0;
    while (sqlite3_step(st) == SQLITE_ROW && c->n_thr < n) {
        c->thr[c->n_thr] = sqlite3_column_double(st, 0);
        if (sqlite3_column_type(st, 1) != SQLITE_NULL) c->thr_f1[c->n_thr] = sqlite3_column_double(st, 1);
        c->n_thr++;
    }
    sqlite3_finalize(st);
    return 0;
fail:
    return el_err("reading the curves of run %s: %s", c->uuid, sqlite3_errmsg(db));
}

static void curve_label(el_report *r, el_report_curve *c, const char *name, const char *dv) {
    char *l = el_printf("%s · %.8s · %s", name, c->uuid, dv && *dv ? dv : "-");
    c->label = el_arena_str(r->arena, l);
    free(l);
}

static int load_curves(sqlite3 *db, const el_report_params *p, el_report *r, bool *usage) {
    int32_t want = p->n_curves ? p->n_curves : (p->n_top_curves < r->n_rows ? p->n_top_curves : r->n_rows);
    if (want <= 0) return 0;
    r->curves = el_arena_alloc(r->arena, (size_t)want * sizeof(el_report_curve));
    if (p->n_curves) {
        for (int32_t i = 0; i < p->n_curves; i++) {
            el_report_curve *c = &r->curves[r->n_curves];
            if (el_run_resolve(db, r->registry, p->curves[i], c->uuid, NULL)) {
                *usage = true;
                return el_err_prefix("--curves %s", p->curves[i]);
            }
            sqlite3_stmt *st;
            if (sqlite3_prepare_v2(db, "SELECT name, data_variant FROM runs WHERE uuid = ?1", -1, &st, NULL) == SQLITE_OK) {
                sqlite3_bind_text(st, 1, c->uuid, -1, SQLITE_STATIC);
                if (sqlite3_step(st) == SQLITE_ROW)
                    curve_label(r, c, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1));
                sqlite3_finalize(st);
            }
            if (load_curve(db, r, c)) return EL_ERR;
            r->n_curves++;
        }
        return 0;
    }
    for (int32_t i = 0; i < want; i++) { /* the best run (by val) of each of the top rows */
        const el_report_row *row = &r->rows[i];
        int32_t best = -1;
        for (int32_t k = 0; k < r->n_dvariants; k++) {
            const el_report_cell *cell = &row->cells[k];
            for (int32_t j = 0; j < cell->n_runs; j++) {
                const el_report_run *run = &r->runs[cell->runs[j]];
                if (best < 0 || cmp_num_desc(run->val, r->runs[best].val) < 0) best = cell->runs[j];
            }
        }
        if (best < 0) continue;
        el_report_curve *c = &r->curves[r->n_curves];
        memcpy(c->uuid, r->runs[best].uuid, 37);
        curve_label(r, c, r->runs[best].name, r->runs[best].data_variant);
        if (load_curve(db, r, c)) return EL_ERR;
        r->n_curves++;
    }
    return 0;
}

static int check_metric(sqlite3 *db, el_report *r, const char *metric, int64_t n_runs, const char **out) {
    static const char *const aliases[][2] = {{"weighted", "weighted_f1"}, {"macro", "macro_f1"}, {"micro", "micro_f1"},
                                             {"samples", "samples_f1"},   {"f1", "weighted_f1"}};
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcmp(metric, aliases[i][0])) metric = aliases[i][1];
    *out = el_arena_str(r->arena, metric);
    if (!strncmp(metric, "f1:", 3)) {
        const char *label = metric + 3;
        if (!*label) return el_err("--metric f1:LABEL: name a label, e.g. --metric f1:joy");
        if (n_runs == 0 || exists_query(db, "SELECT 1 FROM class_metrics WHERE label = ?1 LIMIT 1", label)) return 0;
        char **labels;
        int32_t n;
        el_buf b = {0};
        el_buf_printf(&b, "--metric %s: no run in %s has a label '%s'", metric, r->registry, label);
        if (registry_labels(db, &labels, &n) == 0) {
            el_buf_puts(&b, "; labels: ");
            for (int32_t i = 0; i < n; i++) el_buf_printf(&b, "%s%s", i ? ", " : "", labels[i]);
            el_strv_free(labels, n);
        }
        el_err("%s", b.s);
        el_buf_free(&b);
        return EL_ERR;
    }
    static const char *const standard[] = {"weighted_f1", "macro_f1", "micro_f1", "samples_f1"};
    bool std_name = false;
    for (size_t i = 0; i < 4; i++) std_name |= !strcmp(metric, standard[i]);
    if (std_name || exists_query(db, "SELECT 1 FROM metrics WHERE name = ?1 LIMIT 1", metric))
        return 0;
    char **names;
    int32_t n;
    el_buf b = {0};
    el_buf_printf(&b, "--metric %s: not a metric of %s; use weighted_f1, macro_f1, micro_f1, samples_f1 or "
                      "f1:LABEL (per class)", metric, r->registry);
    if (registry_metric_names(db, &names, &n) == 0 && n) {
        el_buf close = {0};
        if (el_suggest(&close, metric, (const char *const *)names, n, 4)) el_buf_printf(&b, "; close: %s", close.s);
        el_buf_free(&close);
        el_buf_puts(&b, "; recorded metrics: ");
        for (int32_t i = 0; i < n; i++) el_buf_printf(&b, "%s%s", i ? ", " : "", names[i]);
        el_strv_free(names, n);
    }
    el_err("%s", b.s);
    el_buf_free(&b);
    return EL_ERR;
}

static int parse_sort(el_report *r, const char *sort, sort_kind *kind, int32_t *col, bool *test) {
    *col = -1;
    *test = false;
    if (!strcmp(sort, "val") || !strcmp(sort, "test")) {
        *kind = SORT_SPLIT;
        *test = !strcmp(sort, "test");
        return 0;
    }
    static const char *const words[] = {"name", "owner", "runs", "key", "latest"};
    static const sort_kind kinds[] = {SORT_NAME, SORT_OWNER, SORT_RUNS, SORT_KEY, SORT_LATEST};
    for (int i = 0; i < 5; i++)
        if (!strcmp(sort, words[i])) {
            *kind = kinds[i];
            return 0;
        }
    const char *dot = strrchr(sort, '.');
    if (dot && (!strcmp(dot, ".val") || !strcmp(dot, ".test"))) {
        *kind = SORT_CELL;
        *test = !strcmp(dot, ".test");
        for (int32_t k = 0; k < r->n_dvariants; k++)
            if (strlen(r->dvariants[k]) == (size_t)(dot - sort) && !strncmp(r->dvariants[k], sort, (size_t)(dot - sort))) {
                *col = k;
                return 0;
            }
        if (r->n_runs == 0) return 0; /* nothing to sort */
        el_buf b = {0};
        for (int32_t k = 0; k < r->n_dvariants; k++) el_buf_printf(&b, "%s%s", k ? ", " : "", r->dvariants[k]);
        el_err("--sort %s: no data variant '%.*s' among the runs shown (data variants: %s)", sort,
               (int)(dot - sort), sort, b.s ? b.s : "none");
        el_buf_free(&b);
        return EL_ERR;
    }
    return el_err("--sort %s: sort by val or test (the row's best over data variants), DATA.val or DATA.test "
                  "(one column, e.g. ext.val), name, owner, runs, latest, or key (the --group-by value)", sort);
}

/* the run fields of the main query; group: the row key of each run (arena) */
static int load_runs(sqlite3 *db, const el_report_params *p, el_report *r, const el_run_where *w, int group_field,
                     const char ***keys, const char ***hashes) {
    bool cls_metric = !strncmp(r->metric, "f1:", 3);
    el_buf q = {0};
    el_buf_puts(&q, "SELECT r.uuid, r.name, r.owner, r.kind, r.status, r.created, r.sweep_id, r.data_variant, r.seed, "
                    "r.config_hash, ");
    if (cls_metric)
        el_buf_puts(&q, "(SELECT f1 FROM class_metrics c WHERE c.run = r.uuid AND c.split = 'val' AND c.label = ?1), "
                        "(SELECT f1 FROM class_metrics c WHERE c.run = r.uuid AND c.split = 'test' AND c.label = ?1)");
    else
        el_buf_puts(&q, "(SELECT value FROM metrics m WHERE m.run = r.uuid AND m.split = 'val' AND m.name = ?1), "
                        "(SELECT value FROM metrics m WHERE m.run = r.uuid AND m.split = 'test' AND m.name = ?1)");
    if (group_field >= 0) el_buf_printf(&q, ", %s", RUN_COLUMNS[group_field]);
    else if (p->group_by) el_buf_puts(&q, ", (SELECT value FROM params g WHERE g.run = r.uuid AND g.key = ?2)");
    el_buf_printf(&q, " FROM runs r WHERE %s ORDER BY r.created, r.uuid", w->sql.s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, q.s, -1, &st, NULL) != SQLITE_OK) {
        el_err("%s: reading runs: %s", r->registry, sqlite3_errmsg(db));
        el_buf_free(&q);
        return EL_ERR;
    }
    el_buf_free(&q);
    sqlite3_bind_text(st, 1, cls_metric ? r->metric + 3 : r->metric, -1, SQLITE_STATIC);
    int first = 2;
    if (p->group_by && group_field < 0) sqlite3_bind_text(st, first++, p->group_by, -1, SQLITE_STATIC);
    el_run_where_bind(w, st, first);
    int64_t cap = 0, kcap = 0, hcap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        el_grow(r->runs, &cap, r->n_runs + 1);
        el_grow(*keys, &kcap, r->n_runs + 1);
        el_grow(*hashes, &hcap, r->n_runs + 1);
        el_report_run *run = &r->runs[r->n_runs];
        memset(run, 0, sizeof *run);
        const char *uuid = (const char *)sqlite3_column_text(st, 0);
        snprintf(run->uuid, sizeof run->uuid, "%s", uuid ? uuid : "");
#define COL_STR(i) el_arena_str(r->arena, (const char *)sqlite3_column_text(st, i))
        run->name = COL_STR(1);
        run->owner = COL_STR(2);
        run->kind = COL_STR(3);
        run->status = COL_STR(4);
        run->created = COL_STR(5);
        run->sweep = COL_STR(6);
        run->data_variant = sqlite3_column_type(st, 7) == SQLITE_NULL ? "(none)" : COL_STR(7);
        run->seed = sqlite3_column_int64(st, 8);
        (*hashes)[r->n_runs] = COL_STR(9);
        run->val = sqlite3_column_type(st, 10) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 10);
        run->test = sqlite3_column_type(st, 11) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 11);
        (*keys)[r->n_runs] = p->group_by ? (sqlite3_column_type(st, 12) == SQLITE_NULL ? NULL : COL_STR(12)) : NULL;
#undef COL_STR
        r->n_runs++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return el_err("%s: reading runs: %s", r->registry, sqlite3_errmsg(db));
    return 0;
}

/* data variants: orig and ext first (the team's layout), then the others by name; orig/ext only
 * when some run has them, except for an empty report (the team's empty table) */
static void order_dvariants(el_report *r, const char **run_dv) {
    char **names = NULL;
    int32_t n = 0;
    for (int32_t i = 0; i < r->n_runs; i++) {
        bool seen = false;
        for (int32_t k = 0; k < n && !seen; k++) seen = !strcmp(names[k], run_dv[i]);
        if (!seen) {
            names = xrealloc(names, (size_t)(n + 1) * sizeof(char *));
            names[n++] = xstrdup(run_dv[i]);
        }
    }
    if (!n) {
        names = xrealloc(names, 2 * sizeof(char *));
        names[0] = xstrdup("orig");
        names[1] = xstrdup("ext");
        n = 2;
    }
    for (int32_t i = 1; i < n; i++) /* insertion sort: orig, ext, then by name */
        for (int32_t j = i; j > 0; j--) {
            const char *a = names[j - 1], *b = names[j];
            int ra = !strcmp(a, "orig") ? 0 : !strcmp(a, "ext") ? 1 : 2, rb = !strcmp(b, "orig") ? 0 : !strcmp(b, "ext") ? 1 : 2;
            if (ra < rb || (ra == rb && strcmp(a, b) <= 0)) break;
            names[j - 1] = names[j];
            names[j] = (char *)a;
        }
    r->dvariants = names;
    r->n_dvariants = n;
    for (int32_t i = 0; i < r->n_runs; i++)
        for (int32_t k = 0; k < n; k++)
            if (!strcmp(names[k], run_dv[i])) {
                r->runs[i].col = k;
                break;
            }
}

/* EMOLAB_REPORT_TIMING=1: where the time goes (wall since the start, CPU of the process) */
static void phase_time(double t0, const char *what) {
    static int on = -1;
    if (on < 0) on = getenv("EMOLAB_REPORT_TIMING") && !strcmp(getenv("EMOLAB_REPORT_TIMING"), "1");
    if (!on) return;
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    fprintf(stderr, "report timing: %-9s %8.1f ms wall %8.1f ms process cpu\n", what, (el_now() - t0) * 1e3,
            (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6);
}

int el_report_build(const el_report_params *p, el_report *r, bool *usage) {
    memset(r, 0, sizeof *r);
    *usage = false;
    r->arena = el_arena_new();
    r->registry = el_arena_str(r->arena, p->registry);
    r->digits = p->digits > 0 && p->digits <= 10 ? p->digits : 3;
    r->chart_rows = p->chart_rows > 0 ? p->chart_rows : 25;
    r->command_line = p->command_line ? el_arena_str(r->arena, p->command_line) : NULL;
    char now[32];
    el_iso_time(now);
    r->generated = el_arena_str(r->arena, now);

    el_registry *reg = el_registry_open(p->registry, true);
    if (!reg) return EL_ERR;
    sqlite3 *db = el_registry_db(reg);
    int rc = EL_ERR;
    el_run_where w = {0};
    strmap rows_by_key = {0};
    name_set *names = NULL, *owners = NULL;
    const char **run_key = NULL, **run_hash = NULL, **run_dv = NULL;
    vkey_ctx vk = {0};
    int64_t cap_rows = 0;

    r->registry_runs = count_runs(db);
    if (r->registry_runs < 0) {
        el_err("%s: cannot read the runs table: %s", p->registry, sqlite3_errmsg(db));
        goto out;
    }
    const char *metric;
    if (check_metric(db, r, p->metric ? p->metric : "weighted_f1", r->registry_runs, &metric)) {
        *usage = true;
        goto out;
    }
    r->metric = metric;
    r->metric_title = metric_title(r->arena, metric);
    int group_field = -1;
    if (p->group_by) {
        group_field = run_field(p->group_by);
        if (group_field < 0 && r->registry_runs > 0 && !param_key_known(db, p->group_by)) {
            unknown_key_error(db, p->registry, "--group-by", p->group_by);
            *usage = true;
            goto out;
        }
        r->group_by = el_arena_str(r->arena, p->group_by);
    }
    if (el_run_where_build(db, p->registry, &p->filter, "finished", &w)) {
        *usage = true;
        goto out;
    }
    r->filters = el_arena_str(r->arena, w.desc.s);
    r->status = el_arena_str(r->arena, p->filter.status ? p->filter.status : "finished");

    double t0 = el_now();
    phase_time(t0, "prelude");
    /* 1. the runs, in creation order */
    if (load_runs(db, p, r, &w, group_field, &run_key, &run_hash)) goto out;
    run_dv = xmalloc((size_t)(r->n_runs ? r->n_runs : 1) * sizeof(char *));
    for (int32_t i = 0; i < r->n_runs; i++) run_dv[i] = r->runs[i].data_variant;
    order_dvariants(r, run_dv);

    phase_time(t0, "runs");
    /* 2. row keys: the variant hash, or the group value */
    if (!p->group_by && r->n_runs) {
        vk.h1 = xcalloc((size_t)r->n_runs, sizeof(uint64_t));
        vk.h2 = xcalloc((size_t)r->n_runs, sizeof(uint64_t));
        for (int32_t i = 0; i < r->n_runs; i++) vk.h2[i] = 0x2545f4914f6cdd1dULL;
        vk.n = xcalloc((size_t)r->n_runs, sizeof(int32_t));
        if (each_child_row(db, r, "key, value", "params",
                           "NOT (key >= 'data.' AND key < 'data/') AND key NOT IN (" NON_VARIANT_SQL ")", "run, key",
                           vkey_row, &vk)) goto out;
        for (int32_t i = 0; i < r->n_runs; i++) {
            char *k = vk.n[i] ? el_printf("%s:%016llx%016llx", r->runs[i].kind, (unsigned long long)vk.h1[i],
                                          (unsigned long long)vk.h2[i])
                              : el_printf("%s:config:%s", r->runs[i].kind, run_hash[i]); /* no params recorded */
            run_key[i] = el_arena_str(r->arena, k);
            free(k);
        }
    }

    phase_time(t0, "vkeys");
    /* 3. rows, in order of first appearance */
    for (int32_t i = 0; i < r->n_runs; i++) {
        el_report_run *run = &r->runs[i];
        const char *key = run_key[i] ? run_key[i] : "null";
        int32_t row = strmap_get(&rows_by_key, key);
        if (row < 0) {
            el_grow(r->rows, &cap_rows, r->n_rows + 1);
            names = xrealloc(names, (size_t)cap_rows * sizeof *names);
            owners = xrealloc(owners, (size_t)cap_rows * sizeof *owners);
            row = r->n_rows++;
            el_report_row *rw = &r->rows[row];
            memset(rw, 0, sizeof *rw);
            memset(&names[row], 0, sizeof names[row]);
            memset(&owners[row], 0, sizeof owners[row]);
            rw->key = key;
            rw->kind = run->kind;
            rw->first_run = i;
            rw->model = rw->differs = "";
            strmap_put(&rows_by_key, key, row);
            if (p->group_by) {
                char *d = run_key[i] ? el_json_display(run_key[i]) : xstrdup("(unset)");
                char *t = el_printf("%s = %s", p->group_by, d);
                rw->title = el_arena_str(r->arena, t);
                free(t);
                free(d);
            }
        }
        run->row = row;
        el_report_row *rw = &r->rows[row];
        if (!p->group_by) rw->title = run->name; /* the latest run's name (runs come by creation time) */
        rw->latest = run->created;
        rw->n_runs++;
        name_set_add(&names[row], run->name);
        name_set_add(&owners[row], run->owner);
    }
    r->n_rows_total = r->n_rows;

    /* 4. cells: mean ± std (n) per data variant and split */
    for (int32_t i = 0; i < r->n_rows; i++)
        r->rows[i].cells = el_arena_alloc(r->arena, (size_t)r->n_dvariants * sizeof(el_report_cell));
    for (int32_t i = 0; i < r->n_runs; i++) cell_add(&r->rows[r->runs[i].row].cells[r->runs[i].col], i);
    for (int32_t i = 0; i < r->n_rows; i++) {
        el_report_row *rw = &r->rows[i];
        for (int32_t k = 0; k < r->n_dvariants; k++) {
            el_report_cell *c = &rw->cells[k];
            stat_of(&c->val, r->runs, c->runs, c->n_runs, false);
            stat_of(&c->test, r->runs, c->runs, c->n_runs, true);
        }
        rw->n_names = names[i].n;
        el_buf ob = {0};
        for (int32_t j = 0; j < owners[i].n; j++) {
            if (j == 3) {
                el_buf_printf(&ob, " +%d", (int)(owners[i].n - 3));
                break;
            }
            el_buf_printf(&ob, "%s%s", j ? ", " : "", owners[i].names[j]);
        }
        rw->owners = el_arena_str(r->arena, ob.s);
        el_buf_free(&ob);
    }

    /* 5. best per column (data variant x split) over every matching row; marked when >= 2 rows have a value */
    for (int32_t k = 0; k < r->n_dvariants; k++)
        for (int s = 0; s < 2; s++) {
            double best = NAN;
            int32_t n = 0;
            for (int32_t i = 0; i < r->n_rows; i++) {
                const el_stat *st2 = s ? &r->rows[i].cells[k].test : &r->rows[i].cells[k].val;
                if (!st2->n) continue;
                n++;
                if (isnan(best) || st2->mean > best) best = st2->mean;
            }
            if (n < 2) continue;
            for (int32_t i = 0; i < r->n_rows; i++) {
                el_stat *st2 = s ? &r->rows[i].cells[k].test : &r->rows[i].cells[k].val;
                if (st2->n && st2->mean == best) st2->best = true;
            }
        }

    phase_time(t0, "cells");
    /* 6. sort */
    sort_kind sk;
    int32_t scol;
    bool stest;
    const char *sort = p->sort ? p->sort : "val";
    if (parse_sort(r, sort, &sk, &scol, &stest)) {
        *usage = true;
        goto out;
    }
    r->sort = el_arena_str(r->arena, sort);
    {
        char *t;
        switch (sk) {
        case SORT_SPLIT: t = el_printf("best %s %s over data variants, descending", stest ? "test" : "val", r->metric_title); break;
        case SORT_CELL: t = el_printf("%s %s, descending", sort, r->metric_title); break;
        case SORT_RUNS: t = xstrdup("number of runs, descending"); break;
        case SORT_LATEST: t = xstrdup("latest run first"); break;
        case SORT_KEY: t = el_printf("%s value", p->group_by ? p->group_by : "row key"); break;
        default: t = el_printf("%s", sort); break;
        }
        r->sort_title = el_arena_str(r->arena, t);
        free(t);
    }
    for (int32_t i = 0; i < r->n_rows; i++) {
        el_report_row *rw = &r->rows[i];
        switch (sk) {
        case SORT_SPLIT: rw->sort_value = row_best(rw, r->n_dvariants, stest); break;
        case SORT_CELL: {
            const el_stat *c = scol < 0 ? NULL : stest ? &rw->cells[scol].test : &rw->cells[scol].val;
            rw->sort_value = c && c->n ? c->mean : NAN;
            break;
        }
        case SORT_RUNS: rw->sort_value = rw->n_runs; break;
        default: rw->sort_value = 0;
        }
    }
    g_sort_kind = sk;
    g_sort_ndv = r->n_dvariants;
    el_qsort(r->rows, (size_t)r->n_rows, sizeof *r->rows, cmp_rows);
    for (int32_t i = 0; i < r->n_rows; i++) /* runs point at their row again */
        for (int32_t k = 0; k < r->n_dvariants; k++)
            for (int32_t j = 0; j < r->rows[i].cells[k].n_runs; j++) r->runs[r->rows[i].cells[k].runs[j]].row = i;
    if (p->top > 0 && p->top < r->n_rows) r->n_rows = p->top;

    phase_time(t0, "sort");
    /* 7. variants shown: the model description and the params that differ between them */
    if (!p->group_by && r->n_rows) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "SELECT key, value FROM params WHERE run = ?1 ORDER BY key", -1, &st, NULL)) {
            el_err("%s: reading params: %s", p->registry, sqlite3_errmsg(db));
            goto out;
        }
        const char ***keys = xmalloc((size_t)r->n_rows * sizeof *keys), ***vals = xmalloc((size_t)r->n_rows * sizeof *vals);
        int32_t *nk = xmalloc((size_t)r->n_rows * sizeof *nk);
        for (int32_t i = 0; i < r->n_rows; i++) {
            el_report_row *rw = &r->rows[i];
            nk[i] = run_params(st, r->arena, r->runs[rw->first_run].uuid, &keys[i], &vals[i]);
            char *m = el_model_description(keys[i], vals[i], nk[i], rw->kind);
            rw->model = el_arena_str(r->arena, m);
            free(m);
        }
        sqlite3_finalize(st);
        compute_differs(r, keys, vals, nk);
        free(keys);
        free(vals);
        free(nk);
    }
    phase_time(t0, "describe");
    if (p->load_classes && load_classes(db, r)) goto out;
    phase_time(t0, "classes");
    if (load_curves(db, p, r, usage)) goto out;
    phase_time(t0, "curves");

    if (r->n_rows == 0) {
        char *h;
        if (r->registry_runs == 0)
            h = el_printf("The registry %s has no runs yet: train one with `emolab run configs/bow.yaml "
                          "--registry %s`, then run this command again.", p->registry, p->registry);
        else if (w.desc.len || p->filter.status)
            h = el_printf("None of the %lld runs in %s matches (status %s%s%s). `emolab ls --registry %s` "
                          "shows what is there; loosen the filters, or use --status any.",
                          (long long)r->registry_runs, p->registry, r->status, w.desc.len ? "; " : "",
                          w.desc.len ? w.desc.s : "", p->registry);
        else
            h = el_printf("None of the %lld runs in %s has finished yet. `emolab ls --registry %s` shows "
                          "them; --status any includes unfinished runs.", (long long)r->registry_runs,
                          p->registry, p->registry);
        r->hint = el_arena_str(r->arena, h);
        free(h);
    }
    rc = 0;
out:
    el_run_where_free(&w);
    strmap_free(&rows_by_key);
    for (int32_t i = 0; names && i < r->n_rows_total; i++) {
        name_set_free(&names[i]);
        name_set_free(&owners[i]);
    }
    free(names);
    free(owners);
    free(run_key);
    free(run_hash);
    free(run_dv);
    free(vk.h1);
    free(vk.h2);
    free(vk.n);
    el_registry_close(reg);
    return rc;
}

void el_report_free(el_report *r) {
    if (!r) return;
    el_strv_free(r->dvariants, r->n_dvariants);
    el_strv_free(r->labels, r->n_labels);
    for (int32_t i = 0; i < r->n_rows_total; i++)
        for (int32_t k = 0; r->rows[i].cells && k < r->n_dvariants; k++) free(r->rows[i].cells[k].runs);
    free(r->rows);
    free(r->runs);
    el_arena_free(r->arena);
    memset(r, 0, sizeof *r);
}
