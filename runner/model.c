/* model.c: named parameters, the configurable classification head, and the classifier that
 * joins a backbone and a head. See model.h.
 *
 * Head, per parallel head h (the team's study):
 *   x -> [dropout -> linear(in, layers[i]) -> norm -> activation (+ x when residual and
 *        the sizes match)] for each hidden size -> dropout -> linear(last, n_labels)
 * With heads > 1 the heads' logits are concatenated and a meta-layer (linear, initialised to
 * the average of the heads) or a plain mean gives the final logits.
 */
#include "model.h"
#include "feature_cache.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- named parameters -------------------------------------------------------------------- */
ts_tensor el_params_add(el_params *ps, const char *name, ts_tensor t, el_param_group_id group,
                        bool trainable, bool decay) {
    if (!t) return NULL;
    el_grow(ps->items, &ps->cap, ps->n + 1);
    el_param *p = &ps->items[ps->n++];
    memset(p, 0, sizeof *p);
    p->name = xstrdup(name);
    p->t = t;
    p->trainable = trainable;
    p->decay = decay;
    p->group = group;
    p->lr_scale = 1.0;
    if (trainable) ts_set_requires_grad(t, 1);
    return t;
}

el_param *el_params_find(el_params *ps, const char *name) {
    for (int32_t i = 0; i < ps->n; i++)
        if (!strcmp(ps->items[i].name, name)) return &ps->items[i];
    return NULL;
}

int64_t el_params_count(const el_params *ps) {
    int64_t n = 0;
    for (int32_t i = 0; i < ps->n; i++)
        if (ps->items[i].trainable) n += ts_numel(ps->items[i].t);
    return n;
}

void el_params_free(el_params *ps) {
    for (int32_t i = 0; i < ps->n; i++) {
        free(ps->items[i].name);
        ts_free(ps->items[i].t);
    }
    free(ps->items);
    memset(ps, 0, sizeof *ps);
}

int el_init_linear(ts_tensor w, ts_tensor b, int32_t in) {
    double bound = 1.0 / sqrt((double)(in > 0 ? in : 1));
    if (ts_uniform_(w, -bound, bound) != 0) return el_err("init: %s", ts_last_error());
    if (b && ts_uniform_(b, -bound, bound) != 0) return el_err("init: %s", ts_last_error());
    return EL_OK;
}

/* ---- head -------------------------------------------------------------------------------- */
static ts_tensor new_param(el_params *ps, const char *name, int64_t d0, int64_t d1, bool decay) {
    int64_t shape[2] = {d0, d1};
    ts_tensor t = ts_zeros(shape, d1 > 0 ? 2 : 1, TS_F32);
    if (!t) {
        el_err("%s: cannot allocate: %s", name, ts_last_error());
        return NULL;
    }
    return el_params_add(ps, name, t, EL_GROUP_HEAD, true, decay);
}

static ts_tensor new_buffer(el_params *ps, const char *name, int64_t d0, double fill) {
    int64_t shape[1] = {d0};
    ts_tensor t = ts_full(shape, 1, TS_F32, fill);
    if (!t) {
        el_err("%s: cannot allocate: %s", name, ts_last_error());
        return NULL;
    }
    return el_params_add(ps, name, t, EL_GROUP_HEAD, false, false);
}

static int build_layer(el_head_layer *L, const el_head_spec *cfg, el_params *ps, int32_t h,
                       int32_t i, int32_t in, int32_t out, bool hidden) {
    char name[128];
    L->in = in;
    L->out = out;
    snprintf(name, sizeof name, "head.%d.fc%d.weight", h, i);
    L->w = new_param(ps, name, out, in, true);
    snprintf(name, sizeof name, "head.%d.fc%d.bias", h, i);
    L->b = new_param(ps, name, out, 0, false);
    if (!L->w || !L->b || el_init_linear(L->w, L->b, in) != 0) return EL_ERR;
    if (!hidden) return EL_OK;
    L->residual = cfg->residual && in == out;
    if (!el_streq(cfg->norm, "none")) {
        if (el_streq(cfg->norm, "group") && (cfg->norm_groups <= 0 || out % cfg->norm_groups))
            return el_err("head.norm_groups: %d does not divide hidden size %d; choose a divisor",
                          cfg->norm_groups, out);
        snprintf(name, sizeof name, "head.%d.norm%d.weight", h, i);
        L->nw = new_param(ps, name, out, 0, false);
        snprintf(name, sizeof name, "head.%d.norm%d.bias", h, i);
        L->nb = new_param(ps, name, out, 0, false);
        if (!L->nw || !L->nb || ts_fill_(L->nw, 1.0) != 0) return EL_ERR;
        if (el_streq(cfg->norm, "batch")) {
            snprintf(name, sizeof name, "head.%d.norm%d.running_mean", h, i);
            L->rmean = new_buffer(ps, name, out, 0.0);
            snprintf(name, sizeof name, "head.%d.norm%d.running_var", h, i);
            L->rvar = new_buffer(ps, name, out, 1.0);
            if (!L->rmean || !L->rvar) return EL_ERR;
        }
    }
    return EL_OK;
}

int el_head_build(el_head *h, const el_head_spec *cfg, int32_t in_dim, int32_t n_out,
                  el_params *ps) {
    memset(h, 0, sizeof *h);
    h->cfg = *cfg;
    h->in_dim = in_dim;
    h->n_out = n_out;
    h->n_heads = cfg->heads;
    h->n_layers = cfg->n_layers;
    if (h->n_heads < 1 || h->n_heads > EL_MAX_HEADS)
        return el_err("head.heads: %d is out of range, allowed [1, %d]", h->n_heads, EL_MAX_HEADS);
    for (int32_t k = 0; k < h->n_heads; k++) {
        int32_t in = in_dim;
        for (int32_t i = 0; i < h->n_layers; i++) {
            if (build_layer(&h->layers[k][i], cfg, ps, k, i, in, cfg->layers[i], true) != 0)
                return EL_ERR;
            in = cfg->layers[i];
        }
        if (build_layer(&h->layers[k][h->n_layers], cfg, ps, k, h->n_layers, in, n_out, false) != 0)
            return EL_ERR;
    }
    if (h->n_heads > 1 && !el_streq(cfg->meta, "mean")) {
        h->meta_w = new_param(ps, "head.meta.weight", n_out, (int64_t)n_out * h->n_heads, false);
        h->meta_b = new_param(ps, "head.meta.bias", n_out, 0, false);
        if (!h->meta_w || !h->meta_b) return EL_ERR;
        /* start as the average of the heads: w[k, j*n_out + k] = 1/heads */
        float *w = ts_data_ptr(h->meta_w);
        if (!w) return el_err("head.meta: %s", ts_last_error());
        for (int32_t k = 0; k < n_out; k++)
            for (int32_t j = 0; j < h->n_heads; j++)
                w[(int64_t)k * n_out * h->n_heads + (int64_t)j * n_out + k] = 1.0f / (float)h->n_heads;
    }
    return EL_OK;
}

static ts_tensor activate(const char *act, ts_tensor x) {
    if (el_streq(act, "relu")) return ts_relu(x);
    if (el_streq(act, "silu")) return ts_silu(x);
    if (el_streq(act, "leaky_relu")) return ts_leaky_relu(x, 0.01);
    if (el_streq(act, "tanh")) return ts_tanh(x);
    return ts_gelu(x, 0);
}

static ts_tensor layer_forward(const el_head *h, const el_head_layer *L, ts_tensor x,
                               bool hidden, bool training) {
    /* each step checks the last one: the first failure's message (e.g. an allocation that
     * failed) must not be replaced by the next op's "x is NULL" */
    ts_tensor y = h->cfg.dropout > 0 ? ts_dropout(x, h->cfg.dropout, training) : x;
    if (!y) return NULL;
    y = ts_linear(y, L->w, L->b);
    if (!hidden || !y) return y;
    if (L->nw) {
        if (el_streq(h->cfg.norm, "layer"))
            y = ts_layer_norm(y, L->nw, L->nb, 1e-5);
        else if (el_streq(h->cfg.norm, "batch"))
            y = ts_batch_norm(y, L->nw, L->nb, L->rmean, L->rvar, training, 0.1, 1e-5);
        else
            y = ts_group_norm(y, h->cfg.norm_groups, L->nw, L->nb, 1e-5);
        if (!y) return NULL;
    }
    y = activate(h->cfg.activation, y);
    if (L->residual && y) y = ts_add(y, x);
    return y;
}

/* Call inside a shim scope: intermediate tensors are left to the scope. */
ts_tensor el_head_forward(el_head *h, ts_tensor x, bool training) {
    ts_tensor outs[EL_MAX_HEADS];
    for (int32_t k = 0; k < h->n_heads; k++) {
        ts_tensor y = x;
        for (int32_t i = 0; i < h->n_layers && y; i++)
            y = layer_forward(h, &h->layers[k][i], y, true, training);
        if (y) y = layer_forward(h, &h->layers[k][h->n_layers], y, false, training);
        if (!y) {
            el_err("head %d forward: %s", k, ts_last_error());
            return NULL;
        }
        outs[k] = y;
    }
    if (h->n_heads == 1) return outs[0];
    ts_tensor out;
    if (h->meta_w) {
        ts_tensor cat = ts_cat(outs, h->n_heads, 1);
        out = cat ? ts_linear(cat, h->meta_w, h->meta_b) : NULL;
    } else {
        ts_tensor st = ts_stack(outs, h->n_heads, 0);
        out = st ? ts_mean_dim(st, 0, 0) : NULL;
    }
    if (!out) el_err("head meta-layer: %s", ts_last_error());
    return out;
}

/* ---- backbones and the classifier -------------------------------------------------------- */
el_backbone *el_backbone_build(const el_backbone_spec *cfg, el_params *ps) {
    if (el_streq(cfg->type, "bow")) return el_bow_build(cfg, ps);
    if (el_streq(cfg->type, "hf")) return el_hf_build(cfg, ps);
    if (el_streq(cfg->type, "tfidf")) return el_tfidf_build(cfg, ps);
    if (el_streq(cfg->type, "cnn")) return el_cnn_build(cfg, ps);
    if (el_streq(cfg->type, "rnn")) return el_rnn_build(cfg, ps);
    if (el_streq(cfg->type, "transformer")) return el_transformer_build(cfg, ps);
    el_err("backbone.type: '%s' is not available in this build", cfg->type ? cfg->type : "");
    return NULL;
}

void el_backbone_free(el_backbone *bb) {
    if (bb) bb->ops->free(bb);
}

int el_model_build(el_model *m, const el_spec *spec, int32_t n_labels) {
    memset(m, 0, sizeof *m);
    m->n_labels = n_labels;
    m->backbone = el_backbone_build(&spec->backbone, &m->params);
    if (!m->backbone) return EL_ERR;
    if (el_head_build(&m->head, &spec->head, m->backbone->out_dim, n_labels, &m->params) != 0)
        return EL_ERR;
    return EL_OK;
}

ts_tensor el_model_forward(el_model *m, const void *inputs, const int64_t *rows, int32_t n_rows,
                           bool training) {
    ts_tensor x = m->fcache ? el_feature_cache_rows(m->fcache, inputs, rows, n_rows)
                            : m->backbone->ops->forward(m->backbone, inputs, rows, n_rows, training);
    if (!x) {
        el_err("backbone %s forward: %s", m->backbone->ops->type, ts_last_error());
        return NULL;
    }
    return el_head_forward(&m->head, x, training);
}

void el_model_free(el_model *m) {
    el_feature_cache_free(m->fcache);
    el_backbone_free(m->backbone);
    el_params_free(&m->params);
    memset(m, 0, sizeof *m);
}
