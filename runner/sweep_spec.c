/* sweep_spec.c: sweep files (W&B sweep schema + base/seeds) -> el_sweep -> trial spec trees.
 * See sweep_spec.h. */
#define _GNU_SOURCE
#include "sweep_spec.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ERRORS 20
#define MAX_PROBE_CONFIGS 2000 /* grid: validate every configuration up to this many */

/* ---- errors -------------------------------------------------------------------------------- */
typedef struct {
    char *text;
    int32_t line, col;
    int64_t seq;
} serror;

typedef struct {
    const char *file;
    serror *errs;
    int64_t n_errs, cap_errs;
} sctx;

static void serr(sctx *c, const el_node *at, int32_t line, int32_t col, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void serr(sctx *c, const el_node *at, int32_t line, int32_t col, const char *key, const char *fmt, ...) {
    const char *file = at && at->file ? at->file : c->file;
    if (at && line <= 0) {
        line = at->line;
        col = at->col;
    }
    el_buf b = {0};
    if (line > 0)
        el_buf_printf(&b, "%s:%d:%d: ", file, line, col);
    else
        el_buf_printf(&b, "%s: ", file);
    if (key && *key) el_buf_printf(&b, "%s: ", key);
    va_list ap;
    va_start(ap, fmt);
    el_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    /* the same message twice (e.g. from several probe trials) is reported once */
    for (int64_t i = 0; i < c->n_errs; i++) {
        if (!strcmp(c->errs[i].text, b.s)) {
            el_buf_free(&b);
            return;
        }
    }
    el_grow(c->errs, &c->cap_errs, c->n_errs + 1);
    c->errs[c->n_errs] = (serror){el_buf_take(&b), line, col, c->n_errs};
    c->n_errs++;
}

/* Adds already formatted lines ("file:line:col: ...") as errors, keeping their order. */
static void serr_lines(sctx *c, const char *text) {
    const char *p = text;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char *line = el_strndup(p, n);
        if (!el_starts_with(line, "(and ")) {
            bool dup = false;
            for (int64_t i = 0; i < c->n_errs && !dup; i++) dup = !strcmp(c->errs[i].text, line);
            if (!dup) {
                el_grow(c->errs, &c->cap_errs, c->n_errs + 1);
                /* in document order when they point into the sweep file, else after its errors */
                int32_t l = INT32_MAX, k = 0;
                size_t fl = strlen(c->file);
                if (!strncmp(line, c->file, fl) && line[fl] == ':') {
                    int ln = 0, cl = 0;
                    if (sscanf(line + fl + 1, "%d:%d:", &ln, &cl) == 2 && ln > 0) {
                        l = ln;
                        k = cl;
                    }
                }
                c->errs[c->n_errs] = (serror){line, l, k, c->n_errs};
                c->n_errs++;
                line = NULL;
            }
        }
        free(line);
        p = nl ? nl + 1 : NULL;
    }
}

static int cmp_serr(const void *a, const void *b) {
    const serror *x = a, *y = b;
    if (x->line != y->line) return x->line < y->line ? -1 : 1;
    if (x->col != y->col) return x->col < y->col ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static int flush(sctx *c) {
    el_qsort(c->errs, (size_t)c->n_errs, sizeof *c->errs, cmp_serr);
    el_buf b = {0};
    for (int64_t i = 0; i < c->n_errs; i++) {
        if (i < MAX_ERRORS) {
            if (i) el_buf_putc(&b, '\n');
            el_buf_puts(&b, c->errs[i].text);
        }
        free(c->errs[i].text);
    }
    if (c->n_errs > MAX_ERRORS) el_buf_printf(&b, "\n(and %lld more errors)", (long long)(c->n_errs - MAX_ERRORS));
    free(c->errs);
    c->errs = NULL;
    c->n_errs = c->cap_errs = 0;
    el_err("%s", b.s ? b.s : "invalid sweep");
    el_buf_free(&b);
    return EL_ERR;
}

/* ---- helpers ---------------------------------------------------------------------------------- */
static void describe(const el_node *n, char *out, size_t cap) {
    if (!n || n->kind == EL_NODE_NULL)
        snprintf(out, cap, "nothing (null)");
    else if (n->kind == EL_NODE_MAP)
        snprintf(out, cap, "a mapping");
    else if (n->kind == EL_NODE_SEQ)
        snprintf(out, cap, "a list");
    else if (n->quoted || !el_number_kind(n->scalar))
        snprintf(out, cap, "a string (\"%.40s%s\")", n->scalar, strlen(n->scalar) > 40 ? "..." : "");
    else
        snprintf(out, cap, "the number %.40s%s", n->scalar, strlen(n->scalar) > 40 ? "..." : "");
}

static int32_t edit_distance(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b);
    if (n > 64 || m > 64) return 99;
    int32_t d[65][65];
    for (size_t i = 0; i <= n; i++) d[i][0] = (int32_t)i;
    for (size_t j = 0; j <= m; j++) d[0][j] = (int32_t)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int32_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + (a[i - 1] != b[j - 1]) < best) best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m];
}

/* The closest word of "a|b|c" to w (within a third of its length), or NULL. */
static const char *closest(const char *choices, const char *w, char *out, size_t cap) {
    int32_t best = 99, lim = (int32_t)strlen(w) / 3;
    if (lim < 1) lim = 1;
    if (lim > 3) lim = 3;
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        char c[64];
        snprintf(c, sizeof c, "%.*s", (int)(len < 63 ? len : 63), p);
        int32_t d = strcasecmp(c, w) == 0 ? 0 : edit_distance(w, c);
        if (d < best) {
            best = d;
            snprintf(out, cap, "%s", c);
        }
        p = bar ? bar + 1 : NULL;
    }
    return best <= lim ? out : NULL;
}

static bool in_choices(const char *choices, const char *w) {
    size_t n = strlen(w);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, w, n)) return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

static void key_pos(const el_node *map, int32_t i, int32_t *line, int32_t *col) {
    *line = map->key_line ? map->key_line[i] : 0;
    *col = map->key_col ? map->key_col[i] : 0;
}

/* Checks that every key of `map` is in `allowed` ("a|b|c"); reports the others. */
static void only_keys(sctx *c, const el_node *map, const char *prefix, const char *allowed) {
    for (int32_t i = 0; i < map->n; i++) {
        if (in_choices(allowed, map->keys[i])) continue;
        int32_t line, col;
        key_pos(map, i, &line, &col);
        char key[300], sug[64];
        snprintf(key, sizeof key, "%s%s%.200s", prefix, *prefix ? "." : "", map->keys[i]);
        if (closest(allowed, map->keys[i], sug, sizeof sug))
            serr(c, map->items[i], line, col, key, "unknown key, did you mean %s%s%s?", prefix,
                 *prefix ? "." : "", sug);
        else
            serr(c, map->items[i], line, col, key, "unknown key; allowed: %s", allowed);
    }
}

static const el_node *child(const el_node *map, const char *key, int32_t *line, int32_t *col) {
    if (!map || map->kind != EL_NODE_MAP) return NULL;
    for (int32_t i = 0; i < map->n; i++) {
        if (!strcmp(map->keys[i], key)) {
            if (line) key_pos(map, i, line, col);
            return map->items[i]->kind == EL_NODE_NULL ? NULL : map->items[i];
        }
    }
    return NULL;
}

static bool num(sctx *c, const el_node *n, const char *key, double *out) {
    if (!n || n->kind != EL_NODE_SCALAR || n->quoted || !el_number_kind(n->scalar)) {
        char got[96];
        describe(n, got, sizeof got);
        serr(c, n, 0, 0, key, "expected a number, got %s", got);
        return false;
    }
    errno = 0;
    double x = strtod(n->scalar, NULL);
    if (errno == ERANGE || !isfinite(x)) {
        serr(c, n, 0, 0, key, "%.40s cannot be represented as a double", n->scalar);
        return false;
    }
    *out = x;
    return true;
}

static bool integer(sctx *c, const el_node *n, const char *key, int64_t lo, int64_t hi, int64_t *out) {
    if (!n || n->kind != EL_NODE_SCALAR || n->quoted || el_number_kind(n->scalar) != 1) {
        char got[96];
        describe(n, got, sizeof got);
        serr(c, n, 0, 0, key, "expected an integer, got %s", got);
        return false;
    }
    if (el_parse_i64(n->scalar, out) != EL_OK || *out < lo || *out > hi) {
        serr(c, n, 0, 0, key, "%.40s is out of range, allowed [%lld, %lld]", n->scalar, (long long)lo,
             (long long)hi);
        return false;
    }
    return true;
}

static bool string(sctx *c, const el_node *n, const char *key, const char **out) {
    if (!n || n->kind != EL_NODE_SCALAR) {
        char got[96];
        describe(n, got, sizeof got);
        serr(c, n, 0, 0, key, "expected a string, got %s", got);
        return false;
    }
    *out = n->scalar;
    return true;
}

static bool enum_value(sctx *c, const el_node *n, const char *key, const char *choices, const char **out) {
    if (!string(c, n, key, out)) return false;
    if (in_choices(choices, *out)) return true;
    char sug[64];
    if (closest(choices, *out, sug, sizeof sug))
        serr(c, n, 0, 0, key, "unknown value '%.60s', did you mean %s? allowed %s", *out, sug, choices);
    else
        serr(c, n, 0, 0, key, "unknown value '%.60s', allowed %s", *out, choices);
    return false;
}

static bool safe_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 100 || s[0] == '.' || s[0] == '-' || strstr(s, "..")) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!(isalnum(ch) || ch == '-' || ch == '_' || ch == '.')) return false;
    }
    return true;
}

/* ---- random numbers: splitmix64 to seed, xoshiro256** to draw ------------------------------ */
typedef struct {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t a, uint64_t b) {
    uint64_t x = a ^ (b * 0xd1342543de82ef95ULL + 0x2545f4914f6cdd1dULL);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

static double rng_uniform(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; } /* [0, 1) */

static uint64_t rng_below(rng *r, uint64_t n) { /* [0, n), unbiased */
    if (n <= 1) return 0;
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = rng_next(r);
    while (x >= lim);
    return x % n;
}

static double rng_normal(rng *r) {
    double u1 = 1.0 - rng_uniform(r), u2 = rng_uniform(r); /* u1 in (0, 1] */
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

/* ---- parameters -------------------------------------------------------------------------------- */
static const char *KIND_NAMES[] = {"constant", "categorical", "uniform", "int_uniform",
                                   "log_uniform_values", "q_uniform", "normal"};
#define DISTRIBUTIONS "constant|categorical|uniform|int_uniform|log_uniform_values|q_uniform|normal"
#define PARAM_KEYS "value|values|distribution|min|max|q|mu|sigma|probabilities"

static void param_free(el_sweep_param *p) {
    free(p->path);
    for (int32_t i = 0; i < p->n_values; i++) el_node_free(p->values[i]);
    free(p->values);
    free(p->probs);
    memset(p, 0, sizeof *p);
}

/* Number of grid points of a parameter (grid-able kinds only). */
static int64_t param_size(const el_sweep_param *p) {
    switch (p->kind) {
    case EL_PARAM_VALUE: return 1;
    case EL_PARAM_CATEGORICAL: return p->n_values;
    case EL_PARAM_INT_UNIFORM: return (int64_t)(p->max - p->min) + 1;
    case EL_PARAM_Q_UNIFORM: return (int64_t)floor((p->max - p->min) / p->q + 1e-9) + 1;
    default: return 0;
    }
}

static void parse_param(sctx *c, el_sweep *s, const char *path, const el_node *spec, int32_t kline, int32_t kcol) {
    char key[300];
    snprintf(key, sizeof key, "parameters.%.250s", path);
    const el_node *at = spec;
    if (!el_spec_path_known(path)) {
        serr(c, at, kline, kcol, "", "parameters.%s", el_last_error());
        return;
    }
    if (!strcmp(path, "name")) {
        serr(c, at, kline, kcol, key, "trial names are made by the sweep (NAME-<index>); remove it");
        return;
    }
    if (!strcmp(path, "train.seed") && s->n_seeds > 0) {
        serr(c, at, kline, kcol, key, "the seeds are given by `seeds`; remove one of the two");
        return;
    }
    for (int32_t i = 0; i < s->n_params; i++) {
        if (!strcmp(s->params[i].path, path)) {
            serr(c, at, kline, kcol, key, "given twice (first at line %d)", s->params[i].line);
            return;
        }
    }
    if (s->n_params >= EL_SWEEP_MAX_PARAMS) {
        serr(c, at, kline, kcol, key, "more than %d parameters", EL_SWEEP_MAX_PARAMS);
        return;
    }
    if (!spec || spec->kind != EL_NODE_MAP) {
        char got[96];
        describe(spec, got, sizeof got);
        serr(c, at, kline, kcol, key, "expected a mapping ({value: x}, {values: [...]} or {min, max, "
                                      "distribution}), got %s", got);
        return;
    }
    int64_t before = c->n_errs;
    only_keys(c, spec, key, PARAM_KEYS);
    if (c->n_errs != before) return;

    el_sweep_param p = {0};
    p.line = kline;
    p.col = kcol;
    const char *ptype = el_spec_path_type(path);
    p.int_path = ptype && !strcmp(ptype, "int");
    bool numeric_path = ptype && (!strcmp(ptype, "int") || !strcmp(ptype, "float"));

    const el_node *value = child(spec, "value", NULL, NULL), *values = child(spec, "values", NULL, NULL);
    const el_node *dist = child(spec, "distribution", NULL, NULL), *mn = child(spec, "min", NULL, NULL);
    const el_node *mx = child(spec, "max", NULL, NULL), *q = child(spec, "q", NULL, NULL);
    const el_node *mu = child(spec, "mu", NULL, NULL), *sigma = child(spec, "sigma", NULL, NULL);
    const el_node *probs = child(spec, "probabilities", NULL, NULL);
    bool has_value = false;
    for (int32_t i = 0; i < spec->n; i++) has_value |= !strcmp(spec->keys[i], "value"); /* value: ~ too */
    const char *dname = NULL;
    char dkey[320];
    snprintf(dkey, sizeof dkey, "%s.distribution", key);
    if (dist && !enum_value(c, dist, dkey, DISTRIBUTIONS, &dname)) return;

    int given = (has_value ? 1 : 0) + (values ? 1 : 0) + (mn || mx ? 1 : 0);
    if (given > 1) {
        serr(c, at, kline, kcol, key, "give one of value, values, or min/max");
        return;
    }
    if (has_value) {
        if (dname && strcmp(dname, "constant") != 0) {
            serr(c, dist, 0, 0, dkey, "%s does not take a single value; use distribution: constant", dname);
            return;
        }
        p.kind = EL_PARAM_VALUE;
        p.values = xmalloc(sizeof *p.values);
        p.values[0] = el_node_clone(value ? value : child(spec, "value", NULL, NULL));
        if (!p.values[0]) { /* value: ~ (null: the spec's default) */
            p.values[0] = el_node_new(EL_NODE_NULL, c->file);
            p.values[0]->line = kline;
            p.values[0]->col = kcol;
        }
        p.n_values = 1;
    } else if (values || (dname && !strcmp(dname, "categorical"))) {
        char vkey[320];
        snprintf(vkey, sizeof vkey, "%s.values", key);
        if (dname && strcmp(dname, "categorical") != 0) {
            serr(c, dist, 0, 0, dkey, "%s takes min and max, not values", dname);
            return;
        }
        if (!values) {
            serr(c, at, kline, kcol, key, "distribution categorical needs values: [...]");
            return;
        }
        if (values->kind != EL_NODE_SEQ) {
            char got[96];
            describe(values, got, sizeof got);
            serr(c, values, 0, 0, vkey, "expected a list of values, got %s", got);
            return;
        }
        if (values->n == 0) {
            serr(c, values, 0, 0, vkey, "an empty list; give at least one value");
            return;
        }
        if (values->n > EL_SWEEP_MAX_VALUES) {
            serr(c, values, 0, 0, vkey, "%d values, allowed at most %d", values->n, EL_SWEEP_MAX_VALUES);
            return;
        }
        p.kind = EL_PARAM_CATEGORICAL;
        p.values = xmalloc(sizeof *p.values * (size_t)values->n);
        for (int32_t i = 0; i < values->n; i++) p.values[i] = el_node_clone(values->items[i]);
        p.n_values = values->n;
        if (probs) {
            char pkey[320];
            snprintf(pkey, sizeof pkey, "%s.probabilities", key);
            if (probs->kind != EL_NODE_SEQ || probs->n != values->n) {
                serr(c, probs, 0, 0, pkey, "expected a list of %d probabilities, one per value", values->n);
                param_free(&p);
                return;
            }
            p.probs = xmalloc(sizeof *p.probs * (size_t)probs->n);
            double sum = 0;
            for (int32_t i = 0; i < probs->n; i++) {
                if (!num(c, probs->items[i], pkey, &p.probs[i])) {
                    param_free(&p);
                    return;
                }
                if (p.probs[i] < 0) {
                    serr(c, probs->items[i], 0, 0, pkey, "%g is negative", p.probs[i]);
                    param_free(&p);
                    return;
                }
                sum += p.probs[i];
            }
            if (fabs(sum - 1.0) > 1e-6) {
                serr(c, probs, 0, 0, pkey, "they sum to %g, not 1", sum);
                param_free(&p);
                return;
            }
        }
    } else {
        if (probs) {
            serr(c, probs, 0, 0, key, "probabilities go with values");
            return;
        }
        if (!dname) dname = ""; /* inferred below */
        bool is_normal = !strcmp(dname, "normal");
        if (!is_normal && !(mn && mx)) {
            if (!*dname && !mn && !mx)
                serr(c, at, kline, kcol, key, "a parameter needs value, values, or min and max (with a "
                                              "distribution: %s)", DISTRIBUTIONS);
            else
                serr(c, at, kline, kcol, key, "distribution %s needs both min and max%s",
                     *dname ? dname : "(inferred from min/max)", !mn && !mx ? "" : mn ? " (max is missing)" : " (min is missing)");
            return;
        }
        if (!strcmp(dname, "constant")) {
            serr(c, at, kline, kcol, key, "distribution constant needs value: x");
            return;
        }
        if (!numeric_path) {
            serr(c, at, kline, kcol, key, "a numeric distribution for a key that takes %s; use values: [...]",
                 ptype ? ptype : "?");
            return;
        }
        if (is_normal) {
            if (mn || mx) {
                serr(c, at, kline, kcol, key, "distribution normal takes mu and sigma, not min/max");
                return;
            }
            p.kind = EL_PARAM_NORMAL;
            p.mu = 0;
            p.sigma = 1;
            if (mu && !num(c, mu, key, &p.mu)) return;
            if (sigma && !num(c, sigma, key, &p.sigma)) return;
            if (!(p.sigma > 0)) {
                serr(c, sigma, 0, 0, key, "sigma %g must be > 0", p.sigma);
                return;
            }
        } else {
            if (!num(c, mn, key, &p.min) || !num(c, mx, key, &p.max)) return;
            bool ints = el_number_kind(mn->scalar) == 1 && el_number_kind(mx->scalar) == 1;
            if (!*dname) dname = ints ? "int_uniform" : "uniform"; /* as W&B infers */
            if (!strcmp(dname, "uniform")) {
                p.kind = EL_PARAM_UNIFORM;
            } else if (!strcmp(dname, "int_uniform")) {
                p.kind = EL_PARAM_INT_UNIFORM;
                if (!ints) {
                    serr(c, at, kline, kcol, key, "int_uniform needs integer min and max, got %s and %s",
                         mn->scalar, mx->scalar);
                    return;
                }
            } else if (!strcmp(dname, "log_uniform_values")) {
                p.kind = EL_PARAM_LOG_UNIFORM_VALUES;
                if (!(p.min > 0)) {
                    serr(c, mn, 0, 0, key, "log_uniform_values needs min > 0, got %s", mn->scalar);
                    return;
                }
            } else if (!strcmp(dname, "q_uniform")) {
                p.kind = EL_PARAM_Q_UNIFORM;
                p.q = 1;
                if (q && !num(c, q, key, &p.q)) return;
                if (!(p.q > 0)) {
                    serr(c, q, 0, 0, key, "q %g must be > 0", p.q);
                    return;
                }
            } else {
                serr(c, dist, 0, 0, dkey, "%s does not take min and max", dname);
                return;
            }
            if (fabs(p.min) > 9007199254740992.0 || fabs(p.max) > 9007199254740992.0) {
                serr(c, at, kline, kcol, key, "min and max must be within +-2^53");
                return;
            }
            if (p.min > p.max) {
                serr(c, mn, 0, 0, key, "min %s is larger than max %s", mn->scalar, mx->scalar);
                return;
            }
        }
    }
    if (q && p.kind != EL_PARAM_Q_UNIFORM) {
        serr(c, q, 0, 0, key, "q only goes with distribution q_uniform");
        param_free(&p);
        return;
    }
    if ((mu || sigma) && p.kind != EL_PARAM_NORMAL) {
        serr(c, mu ? mu : sigma, 0, 0, key, "mu and sigma only go with distribution normal");
        param_free(&p);
        return;
    }
    if (s->method == EL_SWEEP_GRID && !param_size(&p)) {
        serr(c, at, kline, kcol, key, "method grid cannot enumerate distribution %s (continuous); use "
                                      "values: [...], int_uniform or q_uniform, or method random|bayes",
             KIND_NAMES[p.kind]);
        param_free(&p);
        return;
    }
    if (p.kind == EL_PARAM_Q_UNIFORM && param_size(&p) > EL_SWEEP_MAX_CONFIGS) {
        serr(c, at, kline, kcol, key, "more than %d steps of q", EL_SWEEP_MAX_CONFIGS);
        param_free(&p);
        return;
    }
    p.path = xstrdup(path);
    if (!s->params) s->params = xcalloc(EL_SWEEP_MAX_PARAMS, sizeof *s->params);
    s->params[s->n_params++] = p;
}

/* `parameters`: dotted keys, or W&B's nested form {head: {parameters: {dropout: {...}}}}. */
static void parse_parameters(sctx *c, el_sweep *s, const el_node *map, const char *prefix, int32_t depth) {
    for (int32_t i = 0; i < map->n; i++) {
        int32_t line, col;
        key_pos(map, i, &line, &col);
        char *path = *prefix ? el_printf("%s.%s", prefix, map->keys[i]) : xstrdup(map->keys[i]);
        const el_node *v = map->items[i];
        const el_node *nested = child(v, "parameters", NULL, NULL);
        if (nested && depth < 8) {
            if (nested->kind != EL_NODE_MAP || v->n != 1)
                serr(c, v, line, col, "", "parameters.%s: a nested `parameters` must be the only key, "
                                          "and a mapping", path);
            else
                parse_parameters(c, s, nested, path, depth + 1);
        } else {
            parse_param(c, s, path, v, line, col);
        }
        free(path);
    }
}

/* ---- values of a configuration ----------------------------------------------------------------- */
static el_node *number_node(const el_sweep *s, const el_sweep_param *p, double x, bool as_int) {
    char t[48];
    if ((as_int || p->int_path) && fabs(x) < 9e18)
        snprintf(t, sizeof t, "%lld", (long long)llround(x));
    else
        el_format_double(x, t);
    el_node *n = el_node_new_scalar(t, false, s->file);
    n->line = p->line;
    n->col = p->col;
    return n;
}

int el_sweep_config_values(const el_sweep *s, int64_t config, el_node **values) {
    if (config < 0 || (s->n_configs > 0 && config >= s->n_configs))
        return el_err("%s: configuration %lld does not exist (0..%lld)", s->file, (long long)config,
                      (long long)s->n_configs - 1);
    if (s->method == EL_SWEEP_GRID) {
        int64_t rest = config;
        for (int32_t j = s->n_params - 1; j >= 0; j--) {
            const el_sweep_param *p = &s->params[j];
            int64_t size = param_size(p), k = rest % size;
            rest /= size;
            switch (p->kind) {
            case EL_PARAM_VALUE: values[j] = el_node_clone(p->values[0]); break;
            case EL_PARAM_CATEGORICAL: values[j] = el_node_clone(p->values[k]); break;
            case EL_PARAM_INT_UNIFORM: values[j] = number_node(s, p, p->min + (double)k, true); break;
            case EL_PARAM_Q_UNIFORM: values[j] = number_node(s, p, p->min + (double)k * p->q, false); break;
            default: values[j] = NULL;
            }
        }
        return EL_OK;
    }
    rng r;
    rng_seed(&r, s->sampler_seed, (uint64_t)config + 1);
    for (int32_t j = 0; j < s->n_params; j++) {
        const el_sweep_param *p = &s->params[j];
        switch (p->kind) {
        case EL_PARAM_VALUE: values[j] = el_node_clone(p->values[0]); break;
        case EL_PARAM_CATEGORICAL: {
            int64_t k = 0;
            if (p->probs) {
                double u = rng_uniform(&r), acc = 0;
                k = p->n_values - 1;
                for (int32_t i = 0; i < p->n_values; i++) {
                    acc += p->probs[i];
                    if (u < acc) {
                        k = i;
                        break;
                    }
                }
            } else {
                k = (int64_t)rng_below(&r, (uint64_t)p->n_values);
            }
            values[j] = el_node_clone(p->values[k]);
            break;
        }
        case EL_PARAM_UNIFORM:
            values[j] = number_node(s, p, p->min + rng_uniform(&r) * (p->max - p->min), false);
            break;
        case EL_PARAM_INT_UNIFORM:
            values[j] = number_node(s, p, p->min + (double)rng_below(&r, (uint64_t)(p->max - p->min) + 1), true);
            break;
        case EL_PARAM_LOG_UNIFORM_VALUES: {
            double lo = log(p->min), hi = log(p->max);
            double x = exp(lo + rng_uniform(&r) * (hi - lo));
            if (x < p->min) x = p->min;
            if (x > p->max) x = p->max;
            values[j] = number_node(s, p, x, false);
            break;
        }
        case EL_PARAM_Q_UNIFORM:
            values[j] = number_node(s, p, p->min + (double)rng_below(&r, (uint64_t)param_size(p)) * p->q, false);
            break;
        case EL_PARAM_NORMAL: values[j] = number_node(s, p, p->mu + p->sigma * rng_normal(&r), false); break;
        }
    }
    return EL_OK;
}

el_node *el_sweep_make_trial(const el_sweep *s, el_node *const *values, int64_t seed, int64_t index) {
    el_node *t = el_node_clone(s->base);
    for (int32_t j = 0; j < s->n_params; j++) {
        if (el_node_set(t, s->params[j].path, el_node_clone(values[j]), NULL) != EL_OK) {
            el_err_prefix("%s: parameters.%s", s->file, s->params[j].path);
            el_node_free(t);
            return NULL;
        }
    }
    if (seed >= 0) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)seed);
        el_node *n = el_node_new_scalar(buf, false, s->file);
        if (el_node_set(t, "train.seed", n, NULL) != EL_OK) {
            el_node_free(t);
            return NULL;
        }
    }
    char *name = el_printf("%s-%lld", s->name, (long long)index);
    if (el_node_set(t, "name", el_node_new_scalar(name, true, s->file), NULL) != EL_OK) {
        free(name);
        el_node_free(t);
        return NULL;
    }
    free(name);
    return t;
}

static char *assignment(const el_sweep *s, el_node *const *values, int64_t seed) {
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

static void free_values(el_node **v, int32_t n) {
    for (int32_t j = 0; j < n; j++) el_node_free(v[j]);
}

el_node *el_sweep_trial(const el_sweep *s, int64_t index, char **assignment_json) {
    if (assignment_json) *assignment_json = NULL;
    if (index < 0 || index >= s->n_trials) {
        el_err("%s: trial %lld does not exist (the sweep has %lld)", s->file, (long long)index,
               (long long)s->n_trials);
        return NULL;
    }
    int64_t ns = s->n_seeds > 0 ? s->n_seeds : 1;
    int64_t config = index / ns, seed = s->n_seeds > 0 ? s->seeds[index % ns] : -1;
    el_node *values[EL_SWEEP_MAX_PARAMS];
    if (el_sweep_config_values(s, config, values)) return NULL;
    el_node *t = el_sweep_make_trial(s, values, seed, index);
    if (t) {
        el_spec spec;
        if (el_spec_from_node(t, s->base_path, &spec) != EL_OK) {
            el_err_prefix("%s: trial %lld", s->file, (long long)index);
            el_node_free(t);
            t = NULL;
        } else {
            el_spec_free(&spec);
        }
    }
    if (t && assignment_json) *assignment_json = assignment(s, values, seed);
    free_values(values, s->n_params);
    return t;
}

/* ---- validation of the values against the spec ------------------------------------------------ */
static void probe(sctx *c, const el_sweep *s, el_node **values) {
    el_node *t = el_sweep_make_trial(s, values, s->n_seeds ? s->seeds[0] : -1, 0);
    if (!t) {
        serr_lines(c, el_last_error());
        return;
    }
    el_spec spec;
    if (el_spec_from_node(t, s->base_path, &spec) != EL_OK)
        serr_lines(c, el_last_error());
    else
        el_spec_free(&spec);
    el_node_free(t);
}

/* A value of each kind that stands for the parameter (its first value, min, mu). */
static el_node *first_value(const el_sweep *s, const el_sweep_param *p) {
    switch (p->kind) {
    case EL_PARAM_VALUE:
    case EL_PARAM_CATEGORICAL: return el_node_clone(p->values[0]);
    case EL_PARAM_NORMAL: return number_node(s, p, p->mu, false);
    default: return number_node(s, p, p->min, p->kind == EL_PARAM_INT_UNIFORM);
    }
}

static void probe_all(sctx *c, const el_sweep *s) {
    el_node *values[EL_SWEEP_MAX_PARAMS];
    if (s->method == EL_SWEEP_GRID && s->n_configs <= MAX_PROBE_CONFIGS) {
        for (int64_t k = 0; k < s->n_configs && c->n_errs < MAX_ERRORS; k++) {
            if (el_sweep_config_values(s, k, values)) return;
            probe(c, s, values);
            free_values(values, s->n_params);
        }
        return;
    }
    /* every parameter at its first value, then each parameter through its values / ends */
    for (int32_t j = 0; j < s->n_params; j++) values[j] = first_value(s, &s->params[j]);
    probe(c, s, values);
    for (int32_t j = 0; j < s->n_params && c->n_errs < MAX_ERRORS; j++) {
        const el_sweep_param *p = &s->params[j];
        el_node *keep = values[j];
        if (p->kind == EL_PARAM_CATEGORICAL) {
            for (int32_t i = 1; i < p->n_values && c->n_errs < MAX_ERRORS; i++) {
                values[j] = el_node_clone(p->values[i]);
                probe(c, s, values);
                el_node_free(values[j]);
            }
        } else if (p->kind != EL_PARAM_VALUE && p->kind != EL_PARAM_NORMAL) {
            /* the other end of the range */
            double hi = p->kind == EL_PARAM_Q_UNIFORM ? p->min + (double)(param_size(p) - 1) * p->q : p->max;
            values[j] = number_node(s, p, hi, p->kind == EL_PARAM_INT_UNIFORM);
            probe(c, s, values);
            el_node_free(values[j]);
        }
        values[j] = keep;
    }
    free_values(values, s->n_params);
}

/* ---- the sweep file ---------------------------------------------------------------------------- */
#define TOP_KEYS "name|description|base|method|metric|parameters|seeds|run_cap|early_terminate|sampler_seed"
#define WANDB_ONLY "program|command|project|entity|controller|job|image|apiVersion"

static void parse_sweep(sctx *c, const el_node *root, const char *base_dir, const el_node *base_tree, el_sweep *s) {
    if (!root || root->kind != EL_NODE_MAP) {
        char got[96];
        describe(root, got, sizeof got);
        serr(c, root, 1, 1, "", "a sweep file is a mapping (method, parameters, base, ...), got %s", got);
        return;
    }
    for (int32_t i = 0; i < root->n; i++) {
        if (!in_choices(WANDB_ONLY, root->keys[i])) continue;
        int32_t line, col;
        key_pos(root, i, &line, &col);
        serr(c, root->items[i], line, col, root->keys[i], "a W&B key emolab does not use (the base "
                                                           "spec is the program); remove it");
    }
    el_node *rest = el_node_clone(root);
    for (int32_t i = rest->n - 1; i >= 0; i--)
        if (in_choices(WANDB_ONLY, rest->keys[i])) el_node_map_del(rest, rest->keys[i]);
    only_keys(c, rest, "", TOP_KEYS);
    el_node_free(rest);

    int32_t line = 0, col = 0;
    const char *str;
    /* name */
    const el_node *n = child(root, "name", NULL, NULL);
    if (n) {
        if (string(c, n, "name", &str)) {
            if (!safe_name(str))
                serr(c, n, 0, 0, "name", "'%.60s' is not a safe name: use letters, digits, '-', '_', '.' "
                                         "(no '/', no '..', at most 100 characters)", str);
            else
                s->name = xstrdup(str);
        }
    } else {
        const char *b = strrchr(c->file, '/');
        char stem[128];
        snprintf(stem, sizeof stem, "%s", b ? b + 1 : c->file);
        char *dot = strrchr(stem, '.');
        if (dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml"))) *dot = 0;
        if (safe_name(stem))
            s->name = xstrdup(stem);
        else
            serr(c, root, 0, 0, "name", "missing, and the file name does not give a safe one; set a name");
    }
    if ((n = child(root, "description", NULL, NULL)) && string(c, n, "description", &str))
        s->description = xstrdup(str);
    /* method */
    n = child(root, "method", NULL, NULL);
    if (!n) {
        serr(c, root, 0, 0, "method", "missing, required (grid | random | bayes)");
    } else if (enum_value(c, n, "method", "grid|random|bayes", &str)) {
        s->method = !strcmp(str, "grid") ? EL_SWEEP_GRID : !strcmp(str, "random") ? EL_SWEEP_RANDOM : EL_SWEEP_BAYES;
    }
    /* metric */
    s->metric_name = xstrdup("val_weighted_f1");
    s->maximize = true;
    if ((n = child(root, "metric", NULL, NULL))) {
        if (n->kind != EL_NODE_MAP) {
            serr(c, n, 0, 0, "metric", "expected a mapping {name, goal}");
        } else {
            only_keys(c, n, "metric", "name|goal");
            const el_node *mn = child(n, "name", NULL, NULL), *g = child(n, "goal", NULL, NULL);
            if (mn && string(c, mn, "metric.name", &str)) {
                if (el_starts_with(str, "test"))
                    serr(c, mn, 0, 0, "metric.name", "'%.60s': the test split is never used for a "
                                                     "choice; use a val_ metric", str);
                else if (enum_value(c, mn, "metric.name", "val_weighted_f1|val_macro_f1|val_micro_f1|val_loss", &str)) {
                    free(s->metric_name);
                    s->metric_name = xstrdup(str);
                    s->maximize = strcmp(str, "val_loss") != 0;
                }
            }
            if (g && enum_value(c, g, "metric.goal", "maximize|minimize", &str)) s->maximize = !strcmp(str, "maximize");
        }
    }
    /* run_cap, sampler_seed */
    if ((n = child(root, "run_cap", NULL, NULL))) integer(c, n, "run_cap", 1, EL_SWEEP_MAX_CONFIGS, &s->run_cap);
    int64_t ss = 0;
    if ((n = child(root, "sampler_seed", NULL, NULL)) && integer(c, n, "sampler_seed", 0, INT64_MAX, &ss))
        s->sampler_seed = (uint64_t)ss;
    if (s->method != EL_SWEEP_GRID && s->run_cap == 0 && !child(root, "run_cap", NULL, NULL) &&
        child(root, "method", NULL, NULL))
        serr(c, root, 0, 0, "run_cap", "missing; method %s needs run_cap (how many trials to run)",
             s->method == EL_SWEEP_RANDOM ? "random" : "bayes");
    /* seeds */
    if ((n = child(root, "seeds", NULL, NULL))) {
        if (n->kind != EL_NODE_SEQ || n->n == 0 || n->n > EL_SWEEP_MAX_SEEDS) {
            serr(c, n, 0, 0, "seeds", "expected a list of 1..%d integer seeds, like [1, 2, 3]", EL_SWEEP_MAX_SEEDS);
        } else {
            s->seeds = xmalloc(sizeof *s->seeds * (size_t)n->n);
            for (int32_t i = 0; i < n->n; i++) {
                char key[32];
                snprintf(key, sizeof key, "seeds[%d]", i);
                int64_t v;
                if (!integer(c, n->items[i], key, 0, INT64_MAX, &v)) continue;
                bool dup = false;
                for (int32_t k = 0; k < s->n_seeds; k++) dup |= s->seeds[k] == v;
                if (dup)
                    serr(c, n->items[i], 0, 0, key, "seed %lld is given twice", (long long)v);
                else
                    s->seeds[s->n_seeds++] = v;
            }
        }
    }
    /* early_terminate */
    if ((n = child(root, "early_terminate", NULL, NULL))) {
        if (n->kind != EL_NODE_MAP) {
            serr(c, n, 0, 0, "early_terminate", "expected a mapping {type: hyperband, min_iter, eta}");
        } else {
            only_keys(c, n, "early_terminate", "type|min_iter|max_iter|eta|s|strict");
            const el_node *t = child(n, "type", NULL, NULL);
            if (!t)
                serr(c, n, 0, 0, "early_terminate.type", "missing, required (hyperband)");
            else if (enum_value(c, t, "early_terminate.type", "hyperband", &str))
                s->hyperband = true;
            int64_t v;
            const el_node *x;
            s->hb_eta = 3;
            if ((x = child(n, "min_iter", NULL, NULL)) && integer(c, x, "early_terminate.min_iter", 1, 100000, &v))
                s->hb_min_iter = (int32_t)v;
            if ((x = child(n, "max_iter", NULL, NULL)) && integer(c, x, "early_terminate.max_iter", 1, 100000, &v))
                s->hb_max_iter = (int32_t)v;
            if ((x = child(n, "s", NULL, NULL)) && integer(c, x, "early_terminate.s", 0, 100, &v)) s->hb_s = (int32_t)v;
            if ((x = child(n, "eta", NULL, NULL)) && num(c, x, "early_terminate.eta", &s->hb_eta) && !(s->hb_eta > 1))
                serr(c, x, 0, 0, "early_terminate.eta", "%g is out of range, allowed > 1", s->hb_eta);
            if (!child(n, "min_iter", NULL, NULL) && !child(n, "max_iter", NULL, NULL))
                serr(c, n, 0, 0, "early_terminate", "hyperband needs min_iter or max_iter (epochs)");
            if (s->hb_min_iter && s->hb_max_iter && s->hb_min_iter > s->hb_max_iter)
                serr(c, n, 0, 0, "early_terminate", "min_iter %d is larger than max_iter %d", s->hb_min_iter,
                     s->hb_max_iter);
        }
    }
    /* base */
    n = child(root, "base", &line, &col);
    if (base_tree) {
        s->base = el_node_clone(base_tree);
        s->base_path = xstrdup(n && n->kind == EL_NODE_SCALAR ? n->scalar : "base.yaml");
    } else if (!n) {
        serr(c, root, 0, 0, "base", "missing, required (the spec file every trial starts from)");
    } else if (string(c, n, "base", &str)) {
        char *dir = base_dir ? xstrdup(base_dir) : el_dirname(c->file);
        s->base_path = el_path_join(dir, str);
        free(dir);
        s->base = el_yaml_load(s->base_path);
        if (!s->base) serr(c, n, 0, 0, "base", "%s", el_last_error());
    }
    /* parameters */
    n = child(root, "parameters", &line, &col);
    if (n) {
        if (n->kind != EL_NODE_MAP)
            serr(c, n, 0, 0, "parameters", "expected a mapping of dotted spec paths, like "
                                           "{head.dropout: {values: [0.1, 0.5]}}");
        else
            parse_parameters(c, s, n, "", 0);
    }
    if (s->n_params == 0 && s->n_seeds == 0 && c->n_errs == 0)
        serr(c, root, 0, 0, "parameters", "nothing to sweep: give parameters or seeds");
}

static void count_trials(sctx *c, el_sweep *s) {
    int64_t ns = s->n_seeds > 0 ? s->n_seeds : 1;
    if (s->method == EL_SWEEP_GRID) {
        int64_t configs = 1;
        for (int32_t j = 0; j < s->n_params; j++) {
            int64_t k = param_size(&s->params[j]);
            if (k <= 0 || configs > EL_SWEEP_MAX_CONFIGS / k) {
                serr(c, NULL, 0, 0, "parameters", "the grid has more than %d configurations; use fewer "
                                                  "values or method random", EL_SWEEP_MAX_CONFIGS);
                return;
            }
            configs *= k;
        }
        s->n_configs = configs;
        s->n_trials = configs * ns;
        if (s->run_cap > 0 && s->run_cap < s->n_trials) s->n_trials = s->run_cap;
    } else {
        s->n_trials = s->run_cap;
        s->n_configs = (s->run_cap + ns - 1) / ns;
    }
}

void el_sweep_free(el_sweep *s) {
    if (!s) return;
    free(s->file);
    free(s->name);
    free(s->description);
    free(s->metric_name);
    free(s->base_path);
    el_node_free(s->base);
    free(s->seeds);
    for (int32_t j = 0; j < s->n_params; j++) param_free(&s->params[j]);
    free(s->params);
    memset(s, 0, sizeof *s);
}

static int sweep_from_tree(const el_node *root, const char *filename, const char *base_dir,
                           const el_node *base_tree, el_sweep *out) {
    memset(out, 0, sizeof *out);
    out->file = xstrdup(filename ? filename : "<sweep>");
    sctx c = {.file = out->file};
    parse_sweep(&c, root, base_dir, base_tree, out);
    if (c.n_errs == 0) count_trials(&c, out);
    if (c.n_errs == 0) probe_all(&c, out);
    if (c.n_errs) {
        el_sweep_free(out);
        return flush(&c);
    }
    free(c.errs);
    return EL_OK;
}

int el_sweep_parse(const char *buf, size_t len, const char *filename, const char *base_dir,
                   const el_node *base_tree, el_sweep *out) {
    memset(out, 0, sizeof *out);
    el_node *root = el_yaml_parse(buf, len, filename ? filename : "<sweep>");
    if (!root) return EL_ERR;
    int rc = sweep_from_tree(root, filename, base_dir, base_tree, out);
    el_node_free(root);
    return rc;
}

int el_sweep_load(const char *path, el_sweep *out) {
    memset(out, 0, sizeof *out);
    el_node *root = el_yaml_load(path);
    if (!root) return EL_ERR;
    int rc = sweep_from_tree(root, path, NULL, NULL, out);
    el_node_free(root);
    return rc;
}

/* ---- bayes: Tree-structured Parzen Estimator ------------------------------------------------- */
#define TPE_CANDIDATES 24
#define TPE_MAX_GOOD 25

typedef struct {
    double lo, hi;       /* range in the model's space (log for log_uniform_values) */
    const double *mu;    /* kernel centres */
    double *sigma;       /* kernel bandwidths */
    int32_t n;
} parzen;

static double norm_cdf(double x) { return 0.5 * (1.0 + erf(x / sqrt(2.0))); }

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Bandwidths as hyperopt's adaptive Parzen estimator: the larger gap to a neighbour (the range
 * ends count as neighbours), clipped to [range / min(100, n + 1), range]. */
static void parzen_init(parzen *pz, double lo, double hi, double *mu, int32_t n) {
    pz->lo = lo;
    pz->hi = hi;
    pz->mu = mu;
    pz->n = n;
    pz->sigma = xmalloc(sizeof(double) * (size_t)(n ? n : 1));
    el_qsort(mu, (size_t)n, sizeof *mu, cmp_double);
    double range = hi - lo > 0 ? hi - lo : 1.0;
    double minbw = range / (n + 1 < 100 ? n + 1 : 100);
    for (int32_t i = 0; i < n; i++) {
        double left = mu[i] - (i > 0 ? mu[i - 1] : lo), right = (i + 1 < n ? mu[i + 1] : hi) - mu[i];
        double bw = left > right ? left : right;
        if (bw < minbw) bw = minbw;
        if (bw > range) bw = range;
        pz->sigma[i] = bw;
    }
}

static double parzen_pdf(const parzen *pz, double x) {
    double range = pz->hi - pz->lo > 0 ? pz->hi - pz->lo : 1.0;
    double p = 1.0 / range; /* the prior: uniform over the range */
    for (int32_t i = 0; i < pz->n; i++) {
        double s = pz->sigma[i], z = (x - pz->mu[i]) / s;
        double mass = norm_cdf((pz->hi - pz->mu[i]) / s) - norm_cdf((pz->lo - pz->mu[i]) / s);
        if (mass < 1e-12) mass = 1e-12;
        p += exp(-0.5 * z * z) / (s * sqrt(2.0 * 3.14159265358979323846)) / mass;
    }
    return p / (pz->n + 1);
}

static double parzen_sample(const parzen *pz, rng *r) {
    int64_t k = (int64_t)rng_below(r, (uint64_t)pz->n + 1);
    if (k == pz->n) return pz->lo + rng_uniform(r) * (pz->hi - pz->lo);
    for (int t = 0; t < 100; t++) {
        double x = pz->mu[k] + pz->sigma[k] * rng_normal(r);
        if (x >= pz->lo && x <= pz->hi) return x;
    }
    return pz->mu[k];
}

/* A parameter's value as a number in the model's space; false when it is not a number. */
static bool model_value(const el_sweep_param *p, const el_node *v, double *out) {
    if (!v || v->kind != EL_NODE_SCALAR || !el_number_kind(v->scalar)) return false;
    double x = strtod(v->scalar, NULL);
    if (!isfinite(x)) return false;
    if (p->kind == EL_PARAM_LOG_UNIFORM_VALUES) {
        if (x <= 0) return false;
        x = log(x);
    }
    *out = x;
    return true;
}

static void model_range(const el_sweep_param *p, double *lo, double *hi) {
    switch (p->kind) {
    case EL_PARAM_LOG_UNIFORM_VALUES: *lo = log(p->min), *hi = log(p->max); break;
    case EL_PARAM_NORMAL: *lo = p->mu - 4 * p->sigma, *hi = p->mu + 4 * p->sigma; break;
    case EL_PARAM_INT_UNIFORM: *lo = p->min - 0.5, *hi = p->max + 0.5; break; /* round to ints */
    case EL_PARAM_Q_UNIFORM: *lo = p->min - 0.5 * p->q, *hi = p->min + ((double)param_size(p) - 0.5) * p->q; break;
    default: *lo = p->min, *hi = p->max;
    }
}

static el_node *from_model(const el_sweep *s, const el_sweep_param *p, double x) {
    switch (p->kind) {
    case EL_PARAM_LOG_UNIFORM_VALUES: {
        double v = exp(x);
        return number_node(s, p, v < p->min ? p->min : v > p->max ? p->max : v, false);
    }
    case EL_PARAM_INT_UNIFORM: {
        double v = floor(x + 0.5);
        return number_node(s, p, v < p->min ? p->min : v > p->max ? p->max : v, true);
    }
    case EL_PARAM_Q_UNIFORM: {
        double k = floor((x - p->min) / p->q + 0.5), last = (double)param_size(p) - 1;
        return number_node(s, p, p->min + (k < 0 ? 0 : k > last ? last : k) * p->q, false);
    }
    default: return number_node(s, p, x, false);
    }
}

typedef struct {
    int32_t i;
    double m;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->m != y->m) return x->m > y->m ? -1 : 1; /* best first */
    return (x->i > y->i) - (x->i < y->i);
}

int el_sweep_suggest(const el_sweep *s, int64_t config, const el_sweep_obs *obs, int32_t n_obs, el_node **values) {
    if (s->method != EL_SWEEP_BAYES || n_obs < EL_SWEEP_BAYES_STARTUP) return el_sweep_config_values(s, config, values);
    if (config < 0) return el_err("%s: configuration %lld does not exist", s->file, (long long)config);
    /* rank: best first, failed (NaN) last */
    ranked *rk = xmalloc(sizeof *rk * (size_t)n_obs);
    for (int32_t i = 0; i < n_obs; i++) {
        double m = obs[i].metric;
        rk[i] = (ranked){i, isfinite(m) ? (s->maximize ? m : -m) : -INFINITY};
    }
    el_qsort(rk, (size_t)n_obs, sizeof *rk, cmp_ranked);
    int32_t n_good = (int32_t)ceil(0.25 * n_obs);
    if (n_good > TPE_MAX_GOOD) n_good = TPE_MAX_GOOD;
    if (n_good < 1) n_good = 1;
    rng r;
    rng_seed(&r, s->sampler_seed ^ 0x7470652d62617965ULL, (uint64_t)config + 1);
    for (int32_t j = 0; j < s->n_params; j++) {
        const el_sweep_param *p = &s->params[j];
        if (p->kind == EL_PARAM_VALUE) {
            values[j] = el_node_clone(p->values[0]);
            continue;
        }
        if (p->kind == EL_PARAM_CATEGORICAL) {
            /* smoothed counts: prior weight 1 per category (or its probability times k) */
            double *wg = xcalloc((size_t)p->n_values, sizeof(double)), *wb = xcalloc((size_t)p->n_values, sizeof(double));
            for (int32_t k = 0; k < p->n_values; k++) wg[k] = wb[k] = p->probs ? p->probs[k] * p->n_values : 1.0;
            for (int32_t i = 0; i < n_obs; i++) {
                const el_node *v = obs[rk[i].i].values[j];
                for (int32_t k = 0; k < p->n_values; k++) {
                    if (el_node_equal(v, p->values[k])) {
                        if (i < n_good)
                            wg[k] += 1;
                        else
                            wb[k] += 1;
                        break;
                    }
                }
            }
            double sg = 0, sb = 0;
            for (int32_t k = 0; k < p->n_values; k++) sg += wg[k], sb += wb[k];
            int32_t best = 0;
            double best_score = -INFINITY;
            for (int c = 0; c < TPE_CANDIDATES; c++) {
                double u = rng_uniform(&r) * sg, acc = 0;
                int32_t k = p->n_values - 1;
                for (int32_t t = 0; t < p->n_values; t++) {
                    acc += wg[t];
                    if (u < acc) {
                        k = t;
                        break;
                    }
                }
                double score = log(wg[k] / sg) - log(wb[k] / sb);
                if (score > best_score) best_score = score, best = k;
            }
            values[j] = el_node_clone(p->values[best]);
            free(wg);
            free(wb);
            continue;
        }
        double lo, hi;
        model_range(p, &lo, &hi);
        double *good = xmalloc(sizeof(double) * (size_t)n_obs), *bad = xmalloc(sizeof(double) * (size_t)n_obs);
        int32_t ng = 0, nb = 0;
        for (int32_t i = 0; i < n_obs; i++) {
            double x;
            if (!model_value(p, obs[rk[i].i].values[j], &x)) continue;
            if (x < lo) x = lo;
            if (x > hi) x = hi;
            if (i < n_good)
                good[ng++] = x;
            else
                bad[nb++] = x;
        }
        parzen pg, pb;
        parzen_init(&pg, lo, hi, good, ng);
        parzen_init(&pb, lo, hi, bad, nb);
        double best = lo, best_score = -INFINITY;
        for (int c = 0; c < TPE_CANDIDATES; c++) {
            double x = parzen_sample(&pg, &r);
            double score = log(parzen_pdf(&pg, x)) - log(parzen_pdf(&pb, x));
            if (score > best_score) best_score = score, best = x;
        }
        values[j] = from_model(s, p, best);
        free(pg.sigma);
        free(pb.sigma);
        free(good);
        free(bad);
    }
    free(rk);
    return EL_OK;
}
