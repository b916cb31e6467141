/* train.c: see train.h. */
#define _GNU_SOURCE
#include "train.h"
#include "hf_config.h"
#include "safetensors.h"
#include "tokenize.h"
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define EVAL_BATCH 512

/* ---- small helpers ----------------------------------------------------------------------- */
static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void shuffle(int64_t *a, int64_t n, uint64_t *rng) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(splitmix64(rng) % (uint64_t)(i + 1));
        int64_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

static double lr_factor(const el_train_spec *t, int64_t step, int64_t total) {
    int64_t warm = (int64_t)(t->warmup * (double)total);
    if (step < warm) return (double)(step + 1) / (double)warm;
    if (el_streq(t->scheduler, "constant") || total <= warm) return 1.0;
    double progress = (double)(step - warm) / (double)(total - warm);
    if (progress > 1) progress = 1;
    if (el_streq(t->scheduler, "linear")) return 1.0 - progress;
    return 0.5 * (1.0 + cos(3.14159265358979323846 * progress));
}

int el_predict_probs(el_model *m, const void *inputs, int64_t n, float *probs) {
    int64_t rows[EVAL_BATCH];
    int rc = EL_OK;
    ts_no_grad_begin();
    for (int64_t b = 0; b < n && rc == EL_OK; b += EVAL_BATCH) {
        int32_t nb = (int32_t)(n - b < EVAL_BATCH ? n - b : EVAL_BATCH);
        for (int32_t i = 0; i < nb; i++) rows[i] = b + i;
        ts_scope_begin();
        ts_tensor logits = el_model_forward(m, inputs, rows, nb, false);
        ts_tensor p = logits ? ts_sigmoid(logits) : NULL;
        if (!p || ts_copy_out(p, probs + b * m->n_labels, TS_F32, (int64_t)nb * m->n_labels) != 0)
            rc = el_err("prediction: %s", logits ? ts_last_error() : el_last_error());
        ts_scope_end();
    }
    ts_no_grad_end();
    return rc;
}

static double bce_mean(const float *probs, const uint8_t *y, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        double p = probs[i];
        if (p < 1e-7) p = 1e-7;
        if (p > 1 - 1e-7) p = 1 - 1e-7;
        s -= y[i] ? log(p) : log(1 - p);
    }
    return n ? s / (double)n : 0;
}

static double metric_value(const char *name, const el_metrics *m, double val_loss) {
    if (el_streq(name, "val_macro_f1")) return m->macro_f1;
    if (el_streq(name, "val_micro_f1")) return m->micro_f1;
    if (el_streq(name, "val_loss")) return -val_loss; /* higher is better everywhere */
    return m->weighted_f1;
}

static el_threshold_mode thr_mode(const el_threshold_spec *t) {
    if (el_streq(t->mode, "fixed")) return EL_THR_FIXED;
    if (el_streq(t->mode, "global")) return EL_THR_GLOBAL;
    return EL_THR_PER_CLASS;
}

/* Scores probabilities against labels with thresholds tuned on them (validation) or given. */
static void score(const el_spec *spec, const float *probs, const el_split *s, bool tune,
                  float *thr, el_metrics *out) {
    int32_t k = s->n_labels;
    if (tune)
        el_thresholds_tune(probs, s->y, s->n, k, thr_mode(&spec->threshold), spec->threshold.value,
                           spec->threshold.grid_step, thr);
    uint8_t *pred = xmalloc((size_t)(s->n * k) + 1);
    el_apply_thresholds(probs, thr, s->n, k, pred);
    el_metrics_compute(s->y, pred, s->n, k, out);
    free(pred);
}

/* ---- loss -------------------------------------------------------------------------------- */
static ts_tensor loss_fn(const el_train_spec *t, ts_tensor logits, ts_tensor targets,
                         ts_tensor pos_weight) {
    if (!el_streq(t->loss, "focal"))
        return ts_bce_with_logits(logits, targets, NULL, pos_weight, TS_REDUCE_MEAN);
    /* focal: mean( bce * (1 - p_t)^gamma ), p_t = p y + (1 - p)(1 - y) */
    ts_tensor ce = ts_bce_with_logits(logits, targets, NULL, pos_weight, TS_REDUCE_NONE);
    ts_tensor p = ts_sigmoid(logits);
    ts_tensor one_minus_y = ts_add_scalar(ts_neg(targets), 1.0);
    ts_tensor one_minus_p = ts_add_scalar(ts_neg(p), 1.0);
    ts_tensor pt = ts_add(ts_mul(p, targets), ts_mul(one_minus_p, one_minus_y));
    ts_tensor mod = ts_pow_scalar(ts_add_scalar(ts_neg(pt), 1.0), t->focal_gamma);
    return ts_mean(ts_mul(ce, mod));
}

/* ---- best-epoch snapshot ----------------------------------------------------------------- */
static int snapshot(el_model *m, ts_tensor *snap) {
    ts_no_grad_begin();
    int rc = EL_OK;
    for (int32_t i = 0; i < m->params.n; i++) {
        if (!snap[i]) {
            snap[i] = ts_clone(m->params.items[i].t);
            if (snap[i]) ts_set_requires_grad(snap[i], 0);
        } else if (ts_copy_(snap[i], m->params.items[i].t) != 0) {
            ts_free(snap[i]);
            snap[i] = NULL;
        }
        if (!snap[i]) {
            rc = el_err("keeping the best epoch's weights (%s): %s", m->params.items[i].name,
                        ts_last_error());
            break;
        }
    }
    ts_no_grad_end();
    return rc;
}

static int restore(el_model *m, ts_tensor *snap) {
    ts_no_grad_begin();
    int rc = EL_OK;
    for (int32_t i = 0; i < m->params.n && rc == EL_OK; i++)
        if (ts_copy_(m->params.items[i].t, snap[i]) != 0)
            rc = el_err("restoring the best epoch's weights: %s", ts_last_error());
    ts_no_grad_end();
    return rc;
}

/* ---- checkpoint -------------------------------------------------------------------------- */
static char *json_string_array(char *const *items, int32_t n) {
    json_t *a = json_array();
    for (int32_t i = 0; i < n; i++) json_array_append_new(a, json_string(items[i]));
    char *s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return s;
}

static char *json_float_array(const float *v, int32_t n) {
    el_buf b = {0};
    el_buf_putc(&b, '[');
    for (int32_t i = 0; i < n; i++) el_buf_printf(&b, "%s%.9g", i ? "," : "", (double)v[i]);
    el_buf_putc(&b, ']');
    return el_buf_take(&b);
}

int el_checkpoint_save(const char *path, el_model *m, const el_spec *spec,
                       const el_labelset *labels, const float *thresholds) {
    int32_t np = m->params.n;
    el_st_entry *e = xcalloc((size_t)np * 2 + 1, sizeof *e);
    int64_t (*shapes)[3] = xcalloc((size_t)np * 2 + 1, sizeof *shapes);
    void **owned = xcalloc((size_t)np * 2 + 1, sizeof(void *));
    char **names = xcalloc((size_t)np * 2 + 1, sizeof(char *));
    el_buf sparse_meta = {0};
    int32_t ne = 0, no = 0, rc = EL_OK;
    for (int32_t i = 0; i < np && rc == EL_OK; i++) {
        el_param *p = &m->params.items[i];
        ts_tensor c = ts_contiguous(p->t);
        float *data = c ? ts_data_ptr(c) : NULL;
        int32_t nd = ts_ndim(p->t);
        if (data && ts_dtype_of(p->t) == TS_I64 && !p->save_sparse) { /* i64 buffers (vocabularies) */
            int64_t numel = ts_numel(p->t);
            int64_t *copy = xmalloc((size_t)numel * sizeof(int64_t) + 1);
            memcpy(copy, data, (size_t)numel * sizeof(int64_t));
            owned[no++] = copy;
            names[ne] = xstrdup(p->name);
            shapes[ne][0] = numel;
            e[ne] = (el_st_entry){names[ne], EL_ST_I64, 1, shapes[ne], copy, (size_t)numel * 8};
            ne++;
            ts_free(c);
            continue;
        }
        if (!data || nd < 1 || nd > 3 || ts_dtype_of(p->t) != TS_F32) {
            rc = el_err("saving %s: %s", p->name, c ? "unsupported tensor" : ts_last_error());
            ts_free(c);
            break;
        }
        int64_t rows = ts_size(p->t, 0), cols = nd == 2 ? ts_size(p->t, 1) : 1;
        if (p->save_sparse && nd == 2) {
            int64_t nz = 0;
            int64_t *idx = xmalloc((size_t)rows * sizeof(int64_t));
            for (int64_t r = 0; r < rows; r++) {
                const float *row = data + r * cols;
                for (int64_t j = 0; j < cols; j++)
                    if (row[j] != 0.0f) {
                        idx[nz++] = r;
                        break;
                    }
            }
            float *vals = xmalloc((size_t)(nz * cols) * sizeof(float) + 1);
            for (int64_t r = 0; r < nz; r++)
                memcpy(vals + r * cols, data + idx[r] * cols, (size_t)cols * sizeof(float));
            owned[no++] = idx;
            owned[no++] = vals;
            names[ne] = el_printf("%s.rows", p->name);
            shapes[ne][0] = nz;
            e[ne] = (el_st_entry){names[ne], EL_ST_I64, 1, shapes[ne], idx, (size_t)nz * 8};
            ne++;
            names[ne] = xstrdup(p->name);
            shapes[ne][0] = nz;
            shapes[ne][1] = cols;
            e[ne] = (el_st_entry){names[ne], EL_ST_F32, 2, shapes[ne], vals,
                                  (size_t)(nz * cols) * sizeof(float)};
            ne++;
            el_buf_printf(&sparse_meta, "%s\"%s\":%lld", sparse_meta.len ? "," : "", p->name,
                          (long long)rows);
        } else {
            int64_t numel = ts_numel(p->t); /* up to 3-D (conv weights [out, in, width]) */
            float *copy = xmalloc((size_t)numel * sizeof(float) + 1);
            memcpy(copy, data, (size_t)numel * sizeof(float));
            owned[no++] = copy;
            names[ne] = xstrdup(p->name);
            ts_shape(p->t, shapes[ne], 3);
            e[ne] = (el_st_entry){names[ne], EL_ST_F32, nd, shapes[ne], copy,
                                  (size_t)numel * sizeof(float)};
            ne++;
        }
        ts_free(c);
    }
    if (rc == EL_OK) {
        char *labels_json = json_string_array(labels->names, labels->n);
        char *thr_json = json_float_array(thresholds, labels->n);
        char *sparse_json = el_printf("{%s}", sparse_meta.s ? sparse_meta.s : "");
        const char *keys[] = {"format", "emolab.config", "emolab.labels", "emolab.thresholds",
                              "emolab.sparse_rows"};
        const char *vals[] = {"pt", spec->resolved_json, labels_json, thr_json, sparse_json};
        rc = el_st_write(path, e, ne, keys, vals, 5);
        free(labels_json);
        free(thr_json);
        free(sparse_json);
    }
    for (int32_t i = 0; i < no; i++) free(owned[i]);
    for (int32_t i = 0; i < ne; i++) free(names[i]);
    free(owned);
    free(names);
    free(shapes);
    free(e);
    el_buf_free(&sparse_meta);
    return rc;
}

int el_checkpoint_load(const char *path, el_model *m) {
    el_safetensors st;
    if (el_st_open(path, &st) != 0) return EL_ERR;
    int rc = EL_OK;
    ts_no_grad_begin();
    for (int32_t i = 0; i < m->params.n && rc == EL_OK; i++) {
        el_param *p = &m->params.items[i];
        const el_st_tensor *t = el_st_find(&st, p->name);
        bool i64 = ts_dtype_of(p->t) == TS_I64; /* buffers such as a vocabulary */
        if (!t || t->dtype != (i64 ? EL_ST_I64 : EL_ST_F32)) {
            rc = el_err("%s: tensor '%s' is missing (or not %s): not a checkpoint of this model",
                        path, p->name, i64 ? "I64" : "F32");
            break;
        }
        if (i64) {
            void *d = ts_data_ptr(p->t);
            if (!d || t->numel != ts_numel(p->t))
                rc = el_err("%s: tensor '%s' has %lld values, the model expects %lld", path,
                            p->name, (long long)t->numel, (long long)ts_numel(p->t));
            else
                memcpy(d, t->data, (size_t)t->numel * sizeof(int64_t));
            continue;
        }
        float *dst = ts_data_ptr(p->t);
        int64_t rows = ts_size(p->t, 0), numel = ts_numel(p->t);
        int64_t cols = rows > 0 ? numel / rows : 0;
        char *rname = el_printf("%s.rows", p->name);
        const el_st_tensor *ri = el_st_find(&st, rname);
        free(rname);
        if (!dst) {
            rc = el_err("%s: %s: %s", path, p->name, ts_last_error());
        } else if (ri) {
            if (ri->dtype != EL_ST_I64 || t->ndim != 2 || t->shape[1] != cols ||
                ri->numel != t->shape[0]) {
                rc = el_err("%s: tensor '%s': sparse rows do not match the model", path, p->name);
                break;
            }
            memset(dst, 0, (size_t)numel * sizeof(float));
            const int64_t *idx = ri->data;
            for (int64_t r = 0; r < ri->numel && rc == EL_OK; r++) {
                int64_t row;
                memcpy(&row, idx + r, sizeof row);
                if (row < 0 || row >= rows)
                    rc = el_err("%s: tensor '%s': row %lld outside the table", path, p->name,
                                (long long)row);
                else
                    memcpy(dst + row * cols, (const float *)t->data + r * cols,
                           (size_t)cols * sizeof(float));
            }
        } else if (t->numel != numel) {
            rc = el_err("%s: tensor '%s' has %lld values, the model expects %lld", path, p->name,
                        (long long)t->numel, (long long)numel);
        } else {
            memcpy(dst, t->data, (size_t)numel * sizeof(float));
        }
    }
    ts_no_grad_end();
    el_st_close(&st);
    return rc;
}

/* ---- memory ------------------------------------------------------------------------------ */
static int64_t head_params(const el_head_spec *h, int64_t in, int64_t k) {
    int64_t n = 0;
    for (int32_t i = 0; i < h->n_layers; i++) {
        n += (in + 1) * h->layers[i] + 2 * h->layers[i];
        in = h->layers[i];
    }
    n += (in + 1) * k;
    return n * h->heads + (h->heads > 1 ? (k * h->heads + 1) * k : 0);
}

int64_t el_train_estimate_bytes(const el_spec *spec, int64_t n_texts) {
    const el_backbone_spec *b = &spec->backbone;
    int64_t params = 0, per_text = 0;
    if (el_streq(b->type, "bow")) {
        params = b->buckets * (int64_t)b->dim;
        int64_t chars = b->char_ngram_min > 0 ? 60 * (b->char_ngram_max - b->char_ngram_min + 1) : 0;
        per_text = (int64_t)sizeof(int64_t) * (chars + 12 * b->word_ngrams + 1);
    }
    int32_t feat = b->dim > 0 ? b->dim : 768;
    if (el_streq(b->type, "transformer")) { /* model_transformer.c: the encoder's own sizes */
        int64_t H = b->hidden, I = b->intermediate, T = (int64_t)b->max_len + 1;
        params = (b->buckets + 2 + T) * H + (int64_t)b->layers * (4 * H * H + 2 * H * I + 9 * H + I) + 2 * H;
        feat = b->hidden;
        per_text = (int64_t)sizeof(int64_t) * 2 * T + 16; /* token ids and offsets */
    }
    if (el_streq(b->type, "hf") && b->path && b->path[0]) { /* the model's own config.json */
        el_hf_config hc;
        if (el_hf_config_load(b->path, &hc) == EL_OK) {
            const el_encoder_config *e = &hc.enc;
            int64_t H = e->hidden, I = e->intermediate;
            params = (int64_t)(e->vocab_size + e->max_positions + e->type_vocab_size) * H +
                     (int64_t)e->n_layers * (4 * H * H + 2 * H * I + 9 * H + I) + H * H + H;
            feat = e->hidden * (el_streq(b->pooling, "cls_concat") ? b->last_k : 1);
            per_text = (int64_t)sizeof(int32_t) * 2 * (b->max_len > 0 ? b->max_len : 128);
            el_hf_config_free(&hc);
        }
        el_clear_error(); /* a bad directory is reported by the model build, with its reasons */
    }
    params += head_params(&spec->head, feat, 64);
    /* weights, two AdamW moments, the best epoch's copy; features; libtorch itself */
    return params * 4 * 4 + n_texts * per_text + ((int64_t)400 << 20);
}

static int64_t mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return -1;
    char line[256];
    long long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1) break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

/* The address space the process maps now (libtorch, the data...), from /proc/self/statm. */
static int64_t vm_in_use(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    long long pages = 0;
    if (fscanf(f, "%lld", &pages) != 1) pages = 0;
    fclose(f);
    return (int64_t)pages * (int64_t)sysconf(_SC_PAGESIZE);
}

int el_train_check_memory(const el_spec *spec, int64_t n_texts) {
    int64_t need = el_train_estimate_bytes(spec, n_texts);
    struct rlimit rl;
    double gib = 1024.0 * 1024.0 * 1024.0;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        /* The limit counts what is mapped already, and OpenBLAS maps a 128 MiB buffer per
         * computing thread at its first GEMM; when that mmap fails, OpenBLAS retries forever
         * (the run would hang, not fail): the room must be there before training starts. */
        int64_t used = vm_in_use();
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        int64_t threads = spec->train.threads > 0 ? spec->train.threads : (ncpu > 0 ? ncpu : 1);
        int64_t blas = (threads + 1) * ((int64_t)128 << 20);
        if ((int64_t)rl.rlim_cur < need + used + blas)
            return el_err("this model needs about %.1f GiB (weights, optimizer state, best-epoch "
                          "copy, features, BLAS buffers) on top of the %.1f GiB the process maps "
                          "already, but the address-space limit (ulimit -v) is %.1f GiB: lower "
                          "backbone.buckets or backbone.dim, or raise the limit",
                          (double)(need + blas) / gib, (double)used / gib,
                          (double)rl.rlim_cur / gib);
    }
    int64_t avail = mem_available();
    if (avail > 0 && need > avail)
        return el_err("this model needs about %.1f GiB (weights, optimizer state, best-epoch copy, "
                      "features) but only %.1f GiB of memory is available: lower backbone.buckets "
                      "or backbone.dim",
                      (double)need / gib, (double)avail / gib);
    return EL_OK;
}

/* ---- the training run -------------------------------------------------------------------- */
typedef struct {
    el_model model;
    void *in_train, *in_val, *in_test;
    ts_optim opt;
    ts_tensor pos_weight;
    ts_tensor *snap;
    float *probs_val, *best_probs_val;
    float *ybuf;
    int64_t *perm;
    ts_tensor *trainable; /* the trainable parameters, for clipping */
    int32_t n_trainable;
    double *base_lr;      /* per optimizer group */
    int32_t n_groups;
    int64_t *batch_off;   /* this epoch's batches: perm[batch_off[k] .. batch_off[k + 1]) */
    int64_t n_batches;
} run_state;

static void run_state_free(run_state *s) {
    if (s->model.backbone) {
        el_model_free_inputs(&s->model, s->in_train);
        el_model_free_inputs(&s->model, s->in_val);
        el_model_free_inputs(&s->model, s->in_test);
    }
    if (s->snap) {
        for (int32_t i = 0; i < s->model.params.n; i++) ts_free(s->snap[i]);
        free(s->snap);
    }
    ts_optim_free(s->opt);
    ts_free(s->pos_weight);
    el_model_free(&s->model);
    free(s->probs_val);
    free(s->best_probs_val);
    free(s->ybuf);
    free(s->perm);
    free(s->trainable);
    free(s->base_lr);
    free(s->batch_off);
}

/* Parameter groups: one per (backbone/head, decay, lr scale). Backbone lr = train.lr *
 * backbone.lr_scale * the parameter's own lr_scale (layer-wise decay); head lr = train.head_lr
 * when set, else train.lr. */
static int make_optimizer(run_state *s, const el_spec *spec) {
    const el_train_spec *t = &spec->train;
    el_params *ps = &s->model.params;
    int32_t cap = ps->n + 1;
    ts_tensor **lists = xcalloc((size_t)cap, sizeof(ts_tensor *));
    int32_t *counts = xcalloc((size_t)cap, sizeof(int32_t));
    el_param **keys = xcalloc((size_t)cap, sizeof(el_param *)); /* first member of each group */
    s->n_groups = 0;
    for (int32_t i = 0; i < ps->n; i++) {
        el_param *p = &ps->items[i];
        if (!p->trainable) continue;
        int32_t g = 0;
        while (g < s->n_groups && !(keys[g]->group == p->group && keys[g]->decay == p->decay &&
                                    keys[g]->lr_scale == p->lr_scale))
            g++;
        if (g == s->n_groups) {
            keys[g] = p;
            lists[g] = xcalloc((size_t)cap, sizeof(ts_tensor));
            s->n_groups++;
        }
        lists[g][counts[g]++] = p->t;
    }
    ts_param_group *groups = xcalloc((size_t)s->n_groups + 1, sizeof *groups);
    s->base_lr = xcalloc((size_t)s->n_groups + 1, sizeof(double));
    double head_lr = t->head_lr > 0 ? t->head_lr : t->lr;
    for (int32_t g = 0; g < s->n_groups; g++) {
        double lr = keys[g]->group == EL_GROUP_HEAD
                        ? head_lr
                        : t->lr * spec->backbone.lr_scale * keys[g]->lr_scale;
        groups[g] = (ts_param_group){lists[g], counts[g], lr, keys[g]->decay ? t->weight_decay : 0.0};
        s->base_lr[g] = lr;
    }
    ts_optim_params op = ts_optim_default_params();
    op.momentum = t->momentum;
    s->opt = s->n_groups == 0 ? NULL
             : el_streq(t->optimizer, "sgd") ? ts_sgd_new(groups, s->n_groups, op)
                                             : ts_adamw_new(groups, s->n_groups, op);
    for (int32_t g = 0; g < s->n_groups; g++) free(lists[g]);
    free(lists);
    free(counts);
    free(keys);
    free(groups);
    if (s->n_groups == 0) return el_err("optimizer: the model has no trainable parameters");
    if (!s->opt) return el_err("optimizer: %s", ts_last_error());
    return EL_OK;
}

/* This epoch's batches into s->perm / s->batch_off: length-bucketed when the backbone knows
 * its rows' token counts (similar lengths together: less padding), else a plain shuffle. */
static int plan_batches(run_state *s, const el_spec *spec, const int32_t *lens, int64_t n,
                        int32_t epoch, uint64_t *rng) {
    int32_t bs = spec->train.batch_size;
    int64_t nb = (n + bs - 1) / bs;
    s->batch_off = xrealloc(s->batch_off, (size_t)(nb + 1) * sizeof(int64_t));
    s->n_batches = nb;
    if (lens && n <= INT32_MAX) {
        el_bucket_params bp = el_bucket_default_params();
        bp.batch_size = bs;
        bp.seed = (uint64_t)spec->train.seed * 1000003ULL + (uint64_t)epoch;
        el_batch_plan plan;
        if (el_bucket_plan(lens, (int32_t)n, bp, &plan) != 0) return EL_ERR;
        for (int64_t i = 0; i < n; i++) s->perm[i] = plan.order[i];
        for (int64_t k = 0; k <= nb && k <= plan.n_batches; k++) s->batch_off[k] = plan.offsets[k];
        s->n_batches = plan.n_batches;
        el_batch_plan_free(&plan);
        return EL_OK;
    }
    shuffle(s->perm, n, rng); /* continues from the previous epoch's order */
    for (int64_t k = 0; k < nb; k++) s->batch_off[k] = k * bs;
    s->batch_off[nb] = n;
    return EL_OK;
}

static int make_pos_weight(run_state *s, const el_spec *spec, const el_split *tr) {
    if (!el_streq(spec->train.class_weights, "balanced")) return EL_OK;
    int32_t k = tr->n_labels;
    float w[EL_MAX_LABELS];
    for (int32_t j = 0; j < k; j++) {
        int64_t pos = 0;
        for (int64_t i = 0; i < tr->n; i++) pos += tr->y[i * k + j];
        w[j] = pos > 0 ? (float)(tr->n - pos) / (float)pos : 1.0f;
    }
    int64_t shape[1] = {k};
    s->pos_weight = ts_from_data(w, TS_F32, shape, 1);
    return s->pos_weight ? EL_OK : el_err("class weights: %s", ts_last_error());
}

static void fail(el_train_result *res, const char *status) {
    res->status = status;
    snprintf(res->error, sizeof res->error, "%s", el_last_error());
}

int el_train_run(const el_train_ctx *ctx, el_train_result *res) {
    const el_spec *spec = ctx->spec;
    const el_train_spec *t = &spec->train;
    const el_dataset *d = ctx->data;
    const el_split *tr = &d->train, *va = &d->val, *te = &d->test;
    int32_t k = d->labels.n;
    memset(res, 0, sizeof *res);
    res->status = "failed";
    run_state s = {0};
    double t_start = el_now();

    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    ts_set_num_threads(t->threads > 0 ? t->threads : (int32_t)(ncpu > 0 ? ncpu : 1));
    ts_manual_seed((uint64_t)t->seed);
    if (el_train_check_memory(spec, tr->n + va->n + te->n) != 0 ||
        el_model_build(&s.model, spec, k) != 0) {
        fail(res, "failed");
        run_state_free(&s);
        return EL_ERR;
    }
    res->n_params = el_params_count(&s.model.params);
    /* train first: a backbone fits its vocabulary/idf there; frozen backbones give cached
     * features (feature_cache.c) */
    s.in_train = el_model_prepare(&s.model, spec, "train", tr->texts, tr->n);
    s.in_val = s.in_train ? el_model_prepare(&s.model, spec, "val", va->texts, va->n) : NULL;
    s.in_test = s.in_val ? el_model_prepare(&s.model, spec, "test", te->texts, te->n) : NULL;
    /* rows of similar length batched together when the backbone has sequence lengths (not
     * with cached features: those rows are vectors) */
    const int32_t *lengths = !s.model.fcache && s.model.backbone->ops->lengths && s.in_train
                                 ? s.model.backbone->ops->lengths(s.in_train)
                                 : NULL;
    if (!s.in_test || make_optimizer(&s, spec) != 0 || make_pos_weight(&s, spec, tr) != 0) {
        el_err_prefix("preparing the run");
        fail(res, "failed");
        run_state_free(&s);
        return EL_ERR;
    }
    s.snap = xcalloc((size_t)s.model.params.n + 1, sizeof(ts_tensor));
    s.probs_val = xmalloc((size_t)(va->n * k) * sizeof(float) + 1);
    s.best_probs_val = xmalloc((size_t)(va->n * k) * sizeof(float) + 1);
    s.ybuf = xmalloc((size_t)t->batch_size * (size_t)k * sizeof(float));
    s.perm = xmalloc((size_t)tr->n * sizeof(int64_t) + 1);
    for (int64_t i = 0; i < tr->n; i++) s.perm[i] = i;
    s.trainable = xmalloc((size_t)s.model.params.n * sizeof(ts_tensor) + 1);
    for (int32_t i = 0; i < s.model.params.n; i++)
        if (s.model.params.items[i].trainable) s.trainable[s.n_trainable++] = s.model.params.items[i].t;

    int32_t accum = t->grad_accum > 1 ? t->grad_accum : 1;
    int64_t steps_per_epoch = ((tr->n + t->batch_size - 1) / t->batch_size + accum - 1) / accum;
    int64_t total_steps = steps_per_epoch * t->epochs, step = 0, samples = 0, step_at_snap = -1;
    uint64_t rng = (uint64_t)t->seed * 0x9e3779b97f4a7c15ULL + 1;
    double best = -INFINITY, train_time = 0;
    int32_t since_best = 0;
    int rc = EL_OK;
    bool interrupted = false, stopped = false;

    for (int32_t epoch = 1; epoch <= t->epochs && rc == EL_OK; epoch++) {
        double te0 = el_now();
        if (plan_batches(&s, spec, lengths, tr->n, epoch, &rng) != 0) {
            rc = EL_ERR;
            break;
        }
        el_progress bar;
        char label[64], suffix[96];
        snprintf(label, sizeof label, "epoch %d/%d", epoch, t->epochs);
        el_progress_begin(&bar, label, tr->n, "samples");
        double loss_sum = 0;
        int64_t loss_n = 0, done = 0;
        /* gradient accumulation: `accum` micro-batches per optimizer step, each micro-batch's
         * mean loss weighted by its share of the step's rows (= the mean over all of them) */
        for (int64_t k0 = 0; k0 < s.n_batches; k0 += accum) {
            int64_t k1 = k0 + accum < s.n_batches ? k0 + accum : s.n_batches;
            int64_t group_rows = s.batch_off[k1] - s.batch_off[k0];
            double f = lr_factor(t, step, total_steps);
            for (int32_t g = 0; g < s.n_groups; g++) ts_optim_set_lr(s.opt, g, s.base_lr[g] * f);
            int64_t stepped_rows = 0;
            for (int64_t kb = k0; kb < k1 && rc == EL_OK; kb++) {
                int32_t nb = (int32_t)(s.batch_off[kb + 1] - s.batch_off[kb]);
                if (nb < 2 && el_streq(spec->head.norm, "batch")) continue; /* batch norm needs 2 */
                const int64_t *rows = s.perm + s.batch_off[kb];
                for (int32_t i = 0; i < nb; i++)
                    for (int32_t j = 0; j < k; j++) s.ybuf[i * k + j] = tr->y[rows[i] * k + j];
                ts_scope_begin();
                int64_t yshape[2] = {nb, k};
                ts_tensor y = ts_from_data(s.ybuf, TS_F32, yshape, 2);
                ts_tensor logits = el_model_forward(&s.model, s.in_train, rows, nb, true);
                ts_tensor loss = logits && y ? loss_fn(t, logits, y, s.pos_weight) : NULL;
                ts_tensor scaled = loss && k1 - k0 > 1
                                       ? ts_mul_scalar(loss, (double)nb / (double)group_rows)
                                       : loss;
                double lv = NAN;
                if (!scaled || ts_backward(scaled) != 0 || ts_item(loss, &lv) != 0) {
                    rc = el_err("training step %lld: %s", (long long)step + 1,
                                logits ? ts_last_error() : el_last_error());
                } else if (!isfinite(lv)) {
                    rc = el_err("the loss became %s at epoch %d, step %lld (lr %.3g): lower "
                                "train.lr or set train.grad_clip",
                                isnan(lv) ? "NaN" : "infinite", epoch, (long long)step + 1,
                                t->lr * f);
                }
                ts_scope_end();
                if (rc != EL_OK) break;
                loss_sum += lv * nb;
                loss_n += nb;
                stepped_rows += nb;
            }
            if (rc == EL_OK && stepped_rows > 0) {
                if ((t->grad_clip > 0 &&
                     ts_clip_grad_norm(s.trainable, s.n_trainable, t->grad_clip, NULL) != 0) ||
                    ts_optim_step(s.opt) != 0)
                    rc = el_err("optimizer step %lld: %s", (long long)step + 1, ts_last_error());
            }
            ts_optim_zero_grad(s.opt);
            if (rc != EL_OK) break;
            samples += stepped_rows;
            done += group_rows;
            step++;
            snprintf(suffix, sizeof suffix, "loss %.4f", loss_n ? loss_sum / (double)loss_n : 0);
            el_progress_update(&bar, done, suffix);
            if (ctx->stop && *ctx->stop) {
                interrupted = true;
                break;
            }
        }
        train_time += el_now() - te0;
        if (rc != EL_OK || interrupted) {
            if (rc == EL_OK) el_progress_end(&bar, "interrupted");
            break;
        }
        snprintf(suffix, sizeof suffix, "loss %.4f", loss_n ? loss_sum / (double)loss_n : 0);
        el_progress_end(&bar, suffix);

        /* validation */
        el_metrics vm;
        float thr[EL_MAX_LABELS];
        if (el_predict_probs(&s.model, s.in_val, va->n, s.probs_val) != 0) {
            rc = EL_ERR;
            break;
        }
        score(spec, s.probs_val, va, true, thr, &vm);
        double vloss = bce_mean(s.probs_val, va->y, va->n * k);
        double metric = metric_value(t->es_metric, &vm, vloss);
        bool improved = metric > best;
        res->epochs_run = epoch;
        if (improved) {
            best = metric;
            since_best = 0;
            res->best_epoch = epoch;
            memcpy(s.best_probs_val, s.probs_val, (size_t)(va->n * k) * sizeof(float));
            if (epoch < t->epochs) { /* training goes on: keep this epoch's weights */
                rc = snapshot(&s.model, s.snap);
                step_at_snap = step;
            }
            if (rc != EL_OK) break;
        } else {
            since_best++;
        }
        double ep_seconds = el_now() - te0;
        fprintf(stderr,
                "epoch %d/%d: train loss %.4f, val loss %.4f, val weighted F1 %.4f%s, "
                "%.0f samples/s, %.1fs\n",
                epoch, t->epochs, loss_n ? loss_sum / (double)loss_n : 0, vloss, vm.weighted_f1,
                improved ? " (best)" : "", train_time > 0 ? (double)samples / train_time : 0,
                ep_seconds);
        if (ctx->reg && ctx->uuid) {
            el_epoch_row row = {epoch, loss_n ? loss_sum / (double)loss_n : 0, vloss,
                                vm.weighted_f1, vm.macro_f1, vm.micro_f1,
                                t->lr * lr_factor(t, step > 0 ? step - 1 : 0, total_steps),
                                ep_seconds, train_time > 0 ? (double)samples / train_time : 0};
            if (el_run_epoch(ctx->reg, ctx->uuid, &row) != 0) {
                rc = EL_ERR;
                break;
            }
        }
        if (ctx->stop && *ctx->stop) {
            interrupted = true;
            break;
        }
        if (ctx->on_epoch && ctx->on_epoch(ctx->on_epoch_ctx, epoch, metric)) {
            stopped = true;
            break;
        }
        if (t->es_patience > 0 && since_best >= t->es_patience && epoch < t->epochs) {
            fprintf(stderr, "early stopping: no improvement of %s for %d epochs (best epoch %d)\n",
                    t->es_metric, t->es_patience, res->best_epoch);
            break;
        }
    }
    res->train_seconds = el_now() - t_start;
    res->samples_per_s = train_time > 0 ? (double)samples / train_time : 0;
    if (rc != EL_OK) {
        fail(res, "failed");
        run_state_free(&s);
        return EL_ERR;
    }
    if (res->best_epoch == 0) { /* interrupted before any epoch finished */
        res->status = interrupted ? "interrupted" : "failed";
        snprintf(res->error, sizeof res->error, "%s",
                 interrupted ? "interrupted by the user before the first epoch ended"
                             : "no epoch finished");
        run_state_free(&s);
        return interrupted ? EL_OK : EL_ERR;
    }

    /* the best epoch: thresholds and validation metrics from its validation probabilities */
    score(spec, s.best_probs_val, va, true, res->thresholds, &res->val);
    res->have_val = true;
    for (int32_t i = 0; i < EL_CURVE_POINTS; i++) {
        res->curve_x[i] = 0.05f * (float)(i + 1);
        res->curve_val_f1[i] =
            (float)el_weighted_f1_at(s.best_probs_val, va->y, va->n, k, res->curve_x[i]);
    }
    /* weights changed after the best epoch's snapshot: go back to it */
    if (step_at_snap >= 0 && step != step_at_snap && restore(&s.model, s.snap) != 0) {
        fail(res, "failed");
        run_state_free(&s);
        return EL_ERR;
    }
    if (interrupted || stopped) {
        res->status = interrupted ? "interrupted" : "stopped";
        snprintf(res->error, sizeof res->error, "%s at epoch %d",
                 interrupted ? "interrupted by the user" : "stopped early by hyperband",
                 res->epochs_run);
    } else {
        float *pt = xmalloc((size_t)(te->n * k) * sizeof(float) + 1);
        rc = el_predict_probs(&s.model, s.in_test, te->n, pt);
        if (rc == EL_OK) {
            score(spec, pt, te, false, res->thresholds, &res->test);
            res->have_test = true;
        }
        free(pt);
        if (rc != EL_OK) {
            fail(res, "failed");
            run_state_free(&s);
            return EL_ERR;
        }
        res->status = "finished";
    }
    if (ctx->run_dir && !stopped) {
        char *path = el_path_join(ctx->run_dir, "model.safetensors");
        if (el_mkdirs(ctx->run_dir, 0755) != 0 ||
            el_checkpoint_save(path, &s.model, spec, &d->labels, res->thresholds) != 0) {
            free(path);
            el_err_prefix("saving the checkpoint");
            fail(res, "failed");
            run_state_free(&s);
            return EL_ERR;
        }
        snprintf(res->checkpoint, sizeof res->checkpoint, "%s", path);
        free(path);
    }
    run_state_free(&s);
    return EL_OK;
}
