/* feature_cache.c: see feature_cache.h (`emolab cache ls / rm`: cache_cmd.c). */
#define _GNU_SOURCE
#include "feature_cache.h"
#include "safetensors.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK_ROWS 512

struct el_feature_cache {
    el_features_kind kind;
    int32_t dim;
    char *dir;
    char *config_json;   /* the backbone's resolved spec, as keyed */
    char *identity;      /* what the backbone's hook added */
    char fit_fp[65];     /* texts fingerprint of the fit split ("" until train is prepared) */
    float *staging;
    int64_t staging_cap;
};

typedef struct {
    int64_t n;
    int32_t dim;
    float *x; /* [n, dim] */
} cached_split;

static _Atomic int64_t g_hits, g_misses, g_stale, g_corrupt, g_stored;

el_feature_cache_stats el_feature_cache_stats_get(void) {
    el_feature_cache_stats s = {atomic_load(&g_hits), atomic_load(&g_misses), atomic_load(&g_stale),
                                atomic_load(&g_corrupt), atomic_load(&g_stored)};
    return s;
}

void el_feature_cache_stats_reset(void) {
    atomic_store(&g_hits, 0);
    atomic_store(&g_misses, 0);
    atomic_store(&g_stale, 0);
    atomic_store(&g_corrupt, 0);
    atomic_store(&g_stored, 0);
}

void el_texts_fingerprint(char *const *texts, int64_t n, char hex[65]) {
    el_sha256 *h = el_sha256_new();
    el_sha256_update(h, "emolab-texts-v1\n", 16);
    for (int64_t i = 0; i < n; i++) {
        size_t len = strlen(texts[i]);
        char pre[32];
        int k = snprintf(pre, sizeof pre, "%zu:", len);
        el_sha256_update(h, pre, (size_t)k);
        el_sha256_update(h, texts[i], len);
        el_sha256_update(h, "\n", 1);
    }
    el_sha256_final(h, hex);
}

/* ---- keys ------------------------------------------------------------------------------------ */
static char *backbone_json(const el_spec *spec) {
    const el_node *bb = el_node_get(spec->resolved, "backbone");
    if (!bb) return xstrdup("{}");
    el_node *c = el_node_clone(bb);
    el_node_map_del(c, "lr_scale");
    char *json = el_node_to_json(c, false);
    el_node_free(c);
    return json;
}

static bool fit_role(const el_feature_cache *c, const char *split) {
    return c->kind == EL_FEATURES_FITTED && el_streq(split, "train");
}

static void entry_key(const el_feature_cache *c, bool fit, const char *texts_fp, int64_t n,
                      char key[65]) {
    el_buf b = {0};
    el_buf_printf(&b, "%s\nbackbone:%s\nidentity:%s\ntexts:%s\n", EL_FEATURE_CACHE_FORMAT, c->config_json,
                  c->identity, texts_fp);
    if (c->kind == EL_FEATURES_FITTED) el_buf_printf(&b, "role:%s\nfit:%s\n", fit ? "fit" : "apply",
                                                     fit ? "" : c->fit_fp);
    el_buf_printf(&b, "rows:%lld\ndim:%d\n", (long long)n, c->dim);
    el_sha256_hex(b.s, b.len, key);
    el_buf_free(&b);
}

/* ---- entries ------------------------------------------------------------------------------- */
static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* sha256 over (name, NUL, bytes) of every tensor, in name order */
static void tensors_checksum(char **names, const void **data, const size_t *nbytes, int32_t n,
                             char hex[65]) {
    int32_t *order = xmalloc((size_t)(n + 1) * sizeof(int32_t));
    char **sorted = xmalloc((size_t)(n + 1) * sizeof(char *));
    for (int32_t i = 0; i < n; i++) sorted[i] = names[i];
    el_qsort(sorted, (size_t)n, sizeof(char *), cmp_str);
    for (int32_t i = 0; i < n; i++)
        for (int32_t j = 0; j < n; j++)
            if (names[j] == sorted[i]) order[i] = j;
    el_sha256 *h = el_sha256_new();
    for (int32_t i = 0; i < n; i++) {
        int32_t j = order[i];
        el_sha256_update(h, names[j], strlen(names[j]) + 1);
        if (nbytes[j]) el_sha256_update(h, data[j], nbytes[j]);
    }
    el_sha256_final(h, hex);
    free(order);
    free(sorted);
}

/* the backbone's buffers: its non-trainable parameters */
static bool is_state(const el_param *p) { return p->group == EL_GROUP_BACKBONE && !p->trainable; }

static size_t param_bytes(const el_param *p) {
    int dt = ts_dtype_of(p->t);
    size_t esz = dt == TS_I64 || dt == TS_F64 ? 8 : dt == TS_F32 || dt == TS_I32 ? 4 : dt == TS_U8 || dt == TS_BOOL ? 1 : 2;
    return (size_t)ts_numel(p->t) * esz;
}

static el_st_dtype st_dtype_of(ts_tensor t) {
    switch (ts_dtype_of(t)) {
    case TS_I64: return EL_ST_I64;
    case TS_I32: return EL_ST_I32;
    case TS_U8: return EL_ST_U8;
    case TS_BOOL: return EL_ST_BOOL;
    case TS_F64: return EL_ST_F64;
    case TS_F16: return EL_ST_F16;
    case TS_BF16: return EL_ST_BF16;
    default: return EL_ST_F32;
    }
}

static int store_entry(const el_feature_cache *c, el_model *m, const char *path, const char *key,
                       const el_spec *spec, const char *split, bool fit, const char *texts_fp,
                       const float *x, int64_t n) {
    el_params *ps = &m->params;
    int32_t cap = ps->n + 2, ne = 0;
    el_st_entry *e = xcalloc((size_t)cap, sizeof *e);
    char **names = xcalloc((size_t)cap, sizeof(char *));
    const void **data = xcalloc((size_t)cap, sizeof(void *));
    size_t *nbytes = xcalloc((size_t)cap, sizeof(size_t));
    int64_t (*shapes)[2] = xcalloc((size_t)cap, sizeof *shapes);
    names[ne] = xstrdup("features");
    shapes[ne][0] = n;
    shapes[ne][1] = c->dim;
    e[ne] = (el_st_entry){names[ne], EL_ST_F32, 2, shapes[ne], x, (size_t)n * (size_t)c->dim * sizeof(float)};
    ne++;
    int rc = EL_OK;
    for (int32_t i = 0; fit && i < ps->n; i++) {
        el_param *p = &ps->items[i];
        if (!is_state(p)) continue;
        void *d = ts_data_ptr(p->t);
        if (!d) {
            rc = el_err("feature cache: %s: %s", p->name, ts_last_error());
            break;
        }
        names[ne] = el_printf("state.%s", p->name);
        shapes[ne][0] = ts_numel(p->t);
        e[ne] = (el_st_entry){names[ne], st_dtype_of(p->t), 1, shapes[ne], d, param_bytes(p)};
        ne++;
    }
    for (int32_t i = 0; i < ne; i++) {
        data[i] = e[i].data;
        nbytes[i] = e[i].nbytes;
    }
    char sum[65], created[32], rows[32], dim[32];
    tensors_checksum(names, data, nbytes, ne, sum);
    el_iso_time(created);
    snprintf(rows, sizeof rows, "%lld", (long long)n);
    snprintf(dim, sizeof dim, "%d", c->dim);
    const char *keys[] = {"emolab.cache", "emolab.key", "emolab.backbone", "emolab.backbone_config",
                          "emolab.identity", "emolab.split", "emolab.role", "emolab.rows",
                          "emolab.dim", "emolab.texts_fingerprint", "emolab.fit_fingerprint",
                          "emolab.created", "emolab.sha256"};
    const char *vals[] = {EL_FEATURE_CACHE_FORMAT, key, spec->backbone.type, c->config_json, c->identity, split,
                          c->kind != EL_FEATURES_FITTED ? "fixed" : fit ? "fit" : "apply", rows, dim,
                          texts_fp, fit ? "" : c->fit_fp, created, sum};
    /* a unique temporary name, renamed into place: concurrent writers never mix */
    static _Atomic int64_t seq;
    char *tmp = el_printf("%s.tmp.%ld.%lld", path, (long)getpid(), (long long)atomic_fetch_add(&seq, 1));
    if (rc == EL_OK && el_mkdirs(c->dir, 0755) != 0) rc = EL_ERR;
    if (rc == EL_OK) rc = el_st_write(tmp, e, ne, keys, vals, (int32_t)(sizeof keys / sizeof keys[0]));
    if (rc == EL_OK && rename(tmp, path) != 0) rc = el_err("%s: cannot rename into place: %s", path, strerror(errno));
    if (rc != EL_OK) unlink(tmp);
    free(tmp);
    for (int32_t i = 0; i < ne; i++) free(names[i]);
    free(names);
    free(data);
    free(nbytes);
    free(shapes);
    free(e);
    return rc;
}

typedef enum { LOAD_OK = 0, LOAD_ABSENT, LOAD_STALE, LOAD_CORRUPT } load_status;

/* Reads and verifies an entry; on LOAD_OK *x holds [n, dim] (malloc'd) and, for a fit entry,
 * the backbone's buffers are restored. Sets el_err with the reason otherwise. */
static load_status load_entry(const el_feature_cache *c, el_model *m, const char *path,
                              const char *key, bool fit, const char *texts_fp, int64_t n,
                              float **x) {
    *x = NULL;
    if (!el_file_exists(path)) return LOAD_ABSENT;
    el_safetensors st;
    if (el_st_open(path, &st) != 0) return LOAD_CORRUPT;
    load_status rc = LOAD_OK;
    const char *fmt = el_st_meta(&st, "emolab.cache"), *k = el_st_meta(&st, "emolab.key");
    const char *tfp = el_st_meta(&st, "emolab.texts_fingerprint");
    const char *ffp = el_st_meta(&st, "emolab.fit_fingerprint"), *sum = el_st_meta(&st, "emolab.sha256");
    const el_st_tensor *f = el_st_find(&st, "features");
    if (!el_streq(fmt, EL_FEATURE_CACHE_FORMAT) || !sum) {
        el_err("%s: not a feature-cache entry of this emolab (%s)", path, fmt ? fmt : "no format");
        rc = LOAD_CORRUPT;
    } else if (!el_streq(k, key) || !el_streq(tfp, texts_fp) ||
               (c->kind == EL_FEATURES_FITTED && !el_streq(ffp, fit ? "" : c->fit_fp))) {
        el_err("%s: made for other data (texts fingerprint %.12s, expected %.12s)", path,
               tfp ? tfp : "?", texts_fp);
        rc = LOAD_STALE;
    } else if (!f || f->dtype != EL_ST_F32 || f->ndim != 2 || f->shape[0] != n || f->shape[1] != c->dim) {
        el_err("%s: the features tensor is missing or not f32 [%lld, %d]", path, (long long)n, c->dim);
        rc = LOAD_CORRUPT;
    } else {
        char **names = xcalloc((size_t)st.n + 1, sizeof(char *));
        const void **data = xcalloc((size_t)st.n + 1, sizeof(void *));
        size_t *nbytes = xcalloc((size_t)st.n + 1, sizeof(size_t));
        for (int32_t i = 0; i < st.n; i++) {
            names[i] = st.tensors[i].name;
            data[i] = st.tensors[i].data;
            nbytes[i] = st.tensors[i].nbytes;
        }
        char got[65];
        tensors_checksum(names, data, nbytes, st.n, got);
        free(names);
        free(data);
        free(nbytes);
        if (strcmp(got, sum) != 0) {
            el_err("%s: checksum mismatch (the file is damaged)", path);
            rc = LOAD_CORRUPT;
        }
    }
    /* a fit entry brings the fitted buffers back (all checked before any is written) */
    el_params *ps = &m->params;
    for (int32_t pass = 0; pass < 2 && rc == LOAD_OK && fit; pass++) {
        for (int32_t i = 0; i < ps->n && rc == LOAD_OK; i++) {
            el_param *p = &ps->items[i];
            if (!is_state(p)) continue;
            char *name = el_printf("state.%s", p->name);
            const el_st_tensor *t = el_st_find(&st, name);
            void *dst = ts_data_ptr(p->t);
            if (!t || !dst || t->dtype != st_dtype_of(p->t) || t->nbytes != param_bytes(p)) {
                el_err("%s: tensor %s is missing or does not match the model", path, name);
                rc = LOAD_CORRUPT;
            } else if (pass == 1) {
                memcpy(dst, t->data, t->nbytes);
            }
            free(name);
        }
    }
    if (rc == LOAD_OK) {
        *x = xmalloc(f->nbytes + 1);
        memcpy(*x, f->data, f->nbytes);
    }
    el_st_close(&st);
    return rc;
}

/* Runs the frozen backbone over all texts in eval mode: [n, dim]. */
static float *compute_features(el_model *m, char *const *texts, int64_t n) {
    el_backbone *bb = m->backbone;
    void *in = bb->ops->prepare(bb, texts, n);
    if (!in) return NULL;
    int32_t dim = bb->out_dim;
    float *x = xmalloc((size_t)n * (size_t)dim * sizeof(float) + 1);
    int64_t rows[CHUNK_ROWS];
    int rc = EL_OK;
    ts_no_grad_begin();
    for (int64_t b = 0; b < n && rc == EL_OK; b += CHUNK_ROWS) {
        int32_t nb = (int32_t)(n - b < CHUNK_ROWS ? n - b : CHUNK_ROWS);
        for (int32_t i = 0; i < nb; i++) rows[i] = b + i;
        ts_scope_begin();
        ts_tensor y = bb->ops->forward(bb, in, rows, nb, false);
        if (!y || ts_ndim(y) != 2 || ts_size(y, 0) != nb || ts_size(y, 1) != dim ||
            ts_copy_out(y, x + b * dim, TS_F32, (int64_t)nb * dim) != 0)
            rc = el_err("backbone %s forward: %s", bb->ops->type, y ? "unexpected output shape" : ts_last_error());
        ts_scope_end();
    }
    ts_no_grad_end();
    bb->ops->free_inputs(in);
    if (rc != EL_OK) {
        free(x);
        return NULL;
    }
    return x;
}

static void short_key(const char *key, char out[13]) { snprintf(out, 13, "%.12s", key); }

static cached_split *cached_features(el_model *m, const el_spec *spec, const char *split,
                                     char *const *texts, int64_t n) {
    el_feature_cache *c = m->fcache;
    bool fit = fit_role(c, split);
    if (c->kind == EL_FEATURES_FITTED && !fit && !c->fit_fp[0]) {
        el_err("feature cache: split %s prepared before train (the backbone is fitted on train)", split);
        return NULL;
    }
    char tfp[65], key[65], sk[13];
    el_texts_fingerprint(texts, n, tfp);
    entry_key(c, fit, tfp, n, key);
    short_key(key, sk);
    char *name = el_printf("%s.safetensors", key);
    char *path = el_path_join(c->dir, name);
    free(name);
    float *x = NULL;
    double t0 = el_now();
    load_status ls = load_entry(c, m, path, key, fit, tfp, n, &x);
    if (ls == LOAD_OK) {
        atomic_fetch_add(&g_hits, 1);
        utimensat(AT_FDCWD, path, NULL, 0); /* last used */
        fprintf(stderr, "features: %s from the cache (%s, %lld x %d, %.1fs)\n", split, sk,
                (long long)n, c->dim, el_now() - t0);
    } else {
        if (ls == LOAD_ABSENT) {
            atomic_fetch_add(&g_misses, 1);
        } else {
            atomic_fetch_add(ls == LOAD_STALE ? &g_stale : &g_corrupt, 1);
            fprintf(stderr, "features: %s: %s; recomputing\n", ls == LOAD_STALE ? "stale entry" : "corrupt entry",
                    el_last_error());
        }
        x = compute_features(m, texts, n);
        if (!x) {
            free(path);
            return NULL;
        }
        if (store_entry(c, m, path, key, spec, split, fit, tfp, x, n) == 0) {
            atomic_fetch_add(&g_stored, 1);
            fprintf(stderr, "features: %s computed and cached (%s, %lld x %d, %.1fs)\n", split, sk,
                    (long long)n, c->dim, el_now() - t0);
        } else {
            fprintf(stderr, "warning: features: %s computed but not cached: %s\n", split, el_last_error());
        }
    }
    free(path);
    if (fit) memcpy(c->fit_fp, tfp, sizeof c->fit_fp);
    cached_split *cs = xcalloc(1, sizeof *cs);
    cs->n = n;
    cs->dim = c->dim;
    cs->x = x;
    return cs;
}

/* ---- the model's view ------------------------------------------------------------------------ */
void *el_model_prepare(el_model *m, const el_spec *spec, const char *split, char *const *texts,
                       int64_t n) {
    el_backbone *bb = m->backbone;
    if (!m->fcache && el_streq(split, "train")) {
        char identity[512] = "";
        el_features_kind kind = bb->ops->frozen ? bb->ops->frozen(bb, identity, sizeof identity)
                                                : EL_FEATURES_TRAINED;
        const char *env = getenv("EMOLAB_FEATURE_CACHE");
        bool off = env && (!strcmp(env, "0") || !strcmp(env, "off"));
        if (kind != EL_FEATURES_TRAINED && !off) {
            el_feature_cache *c = xcalloc(1, sizeof *c);
            c->kind = kind;
            c->dim = bb->out_dim;
            c->dir = el_feature_cache_dir();
            c->config_json = backbone_json(spec);
            c->identity = xstrdup(identity);
            m->fcache = c;
        }
    }
    if (!m->fcache) return bb->ops->prepare(bb, texts, n);
    return cached_features(m, spec, split, texts, n);
}

void el_model_free_inputs(el_model *m, void *inputs) {
    if (!inputs) return;
    if (m->fcache) {
        cached_split *cs = inputs;
        free(cs->x);
        free(cs);
        return;
    }
    m->backbone->ops->free_inputs(inputs);
}

ts_tensor el_feature_cache_rows(el_feature_cache *c, const void *inputs, const int64_t *rows,
                                int32_t n_rows) {
    const cached_split *cs = inputs;
    el_grow(c->staging, &c->staging_cap, (int64_t)n_rows * cs->dim + 1);
    for (int32_t i = 0; i < n_rows; i++)
        memcpy(c->staging + (int64_t)i * cs->dim, cs->x + rows[i] * cs->dim, (size_t)cs->dim * sizeof(float));
    int64_t shape[2] = {n_rows, cs->dim};
    return ts_from_data(c->staging, TS_F32, shape, 2);
}

void el_feature_cache_free(el_feature_cache *c) {
    if (!c) return;
    free(c->dir);
    free(c->config_json);
    free(c->identity);
    free(c->staging);
    free(c);
}
