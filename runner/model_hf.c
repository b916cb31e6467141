/* model_hf.c: pretrained Hugging Face encoders as an emolab backbone. See model_hf.h. */
#define _GNU_SOURCE
#include "model_hf.h"
#include "digest.h"
#include "hub.h"
#include "safetensors.h"
#include "util.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* eval-mode chunks: at most this many tokens, and attention scores of at most this many floats */
#define EVAL_TOKENS 8192
#define EVAL_SCORES (64LL << 20)

/* ---- pooling names ----------------------------------------------------------------------- */
static const char *POOL_NAMES[] = {"cls", "mean", "max", "attention", "cls_concat", "pooler"};

int el_pooling_parse(const char *s, el_pooling *out) {
    if (!s || !s[0]) {
        *out = EL_POOL_CLS;
        return EL_OK;
    }
    for (int i = 0; i < (int)(sizeof POOL_NAMES / sizeof POOL_NAMES[0]); i++)
        if (!strcmp(s, POOL_NAMES[i])) {
            *out = (el_pooling)i;
            return EL_OK;
        }
    return el_err("backbone.pooling: '%s' is not a pooling of the hf backbone (cls, mean, max, "
                  "attention, cls_concat, pooler)",
                  s);
}

const char *el_pooling_name(el_pooling p) {
    return (int)p >= 0 && p <= EL_POOL_POOLER ? POOL_NAMES[p] : "?";
}

/* ---- loading a model directory ----------------------------------------------------------- */
static char *shape_str(char *buf, size_t n, int32_t nd, const int64_t *shape) {
    size_t at = 0;
    at += (size_t)snprintf(buf + at, n - at, "[");
    for (int32_t d = 0; d < nd && at < n; d++)
        at += (size_t)snprintf(buf + at, n - at, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (at < n) snprintf(buf + at, n - at, "]");
    return buf;
}

/* Finds a weight by its HF name under the model's prefix; legacy gamma/beta LayerNorm names. */
static const el_st_tensor *find_weight(const el_st_model *st, const char *prefix, const char *name,
                                       const char **file) {
    char key[512];
    snprintf(key, sizeof key, "%s%s", prefix, name);
    const el_st_tensor *t = el_st_model_find(st, key, file);
    if (t || !strstr(name, "LayerNorm.")) return t;
    size_t n = strlen(key);
    if (n > 7 && !strcmp(key + n - 7, ".weight")) {
        strcpy(key + n - 7, ".gamma");
        return el_st_model_find(st, key, file);
    }
    if (n > 5 && !strcmp(key + n - 5, ".bias")) {
        strcpy(key + n - 5, ".beta");
        return el_st_model_find(st, key, file);
    }
    return NULL;
}

static int load_tensor(const el_st_model *st, const char *prefix, const char *name, ts_tensor dst,
                       int32_t ndim, const int64_t *shape, const el_hf_config *hc) {
    const char *file = st->index ? st->index : (st->n_files ? st->files[0].path : st->dir);
    const el_st_tensor *t = find_weight(st, prefix, name, &file);
    if (!t)
        return el_err("%s: tensor '%s%s' is missing (model_type %s, %d layers in %s): the "
                      "weights do not belong to this config",
                      file, prefix, name, hc->model_type, hc->enc.n_layers, hc->file);
    bool ok = t->ndim == ndim;
    for (int32_t d = 0; ok && d < ndim; d++) ok = t->shape[d] == shape[d];
    if (!ok) {
        char a[96], b[96];
        return el_err("%s: tensor '%s' has shape %s but %s (hidden %d, %d heads, intermediate "
                      "%d, vocab %d, %d positions) implies %s",
                      file, t->name, shape_str(a, sizeof a, t->ndim, t->shape), hc->file,
                      hc->enc.hidden, hc->enc.n_heads, hc->enc.intermediate, hc->enc.vocab_size,
                      hc->enc.max_positions, shape_str(b, sizeof b, ndim, shape));
    }
    float *p = ts_data_ptr(dst);
    if (!p) return el_err("%s: %s", name, ts_last_error());
    return el_st_read_f32(t, p, ts_numel(dst), file);
}

static const char *detect_prefix(const el_st_model *st, const el_hf_config *hc) {
    const char *cands[] = {"", el_hf_arch_weight_prefix(hc->arch)};
    for (int i = 0; i < 2; i++) {
        char key[128];
        snprintf(key, sizeof key, "%sembeddings.word_embeddings.weight", cands[i]);
        if (el_st_model_find(st, key, NULL)) return cands[i];
    }
    return "";
}

int el_hf_model_load(el_hf_model *m, const char *dir, const char *prefix, el_params *ps,
                     bool with_tokenizer) {
    memset(m, 0, sizeof *m);
    m->dir = xstrdup(dir);
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        el_err("%s: not a model directory (expected config.json, model.safetensors, "
               "tokenizer.json inside)",
               dir);
        el_hf_model_free(m);
        return EL_ERR;
    }
    el_st_model st;
    memset(&st, 0, sizeof st);
    int rc = el_hf_config_load(dir, &m->config);
    if (rc == EL_OK) rc = el_st_model_open(dir, &st);
    if (rc == EL_OK) {
        m->weights_file = xstrdup(st.index ? st.index : st.files[0].path);
        rc = el_encoder_build(&m->enc, &m->config.enc, prefix, ps);
        if (rc != EL_OK) el_err_prefix("%s", m->config.file);
    }
    if (rc == EL_OK) {
        const char *wp = detect_prefix(&st, &m->config);
        ts_no_grad_begin();
        for (int32_t i = 0; i < m->enc.n_tensors && rc == EL_OK; i++) {
            el_encoder_tensor *t = &m->enc.tensors[i];
            rc = load_tensor(&st, wp, t->name, t->t, t->ndim, t->shape, &m->config);
        }
        /* BERT's pooler (optional: sentence-transformers checkpoints may lack it) */
        if (rc == EL_OK && m->config.arch == EL_HF_BERT &&
            find_weight(&st, wp, "pooler.dense.weight", NULL)) {
            int64_t H = m->config.enc.hidden;
            int64_t s2[2] = {H, H}, s1[1] = {H};
            ts_tensor w = ts_zeros(s2, 2, TS_F32), b = ts_zeros(s1, 1, TS_F32);
            rc = w && b ? EL_OK : el_err("pooler: %s", ts_last_error());
            if (rc == EL_OK) rc = load_tensor(&st, wp, "pooler.dense.weight", w, 2, s2, &m->config);
            if (rc == EL_OK) rc = load_tensor(&st, wp, "pooler.dense.bias", b, 1, s1, &m->config);
            if (rc == EL_OK) {
                char *n1 = el_printf("%spooler.dense.weight", prefix ? prefix : "");
                char *n2 = el_printf("%spooler.dense.bias", prefix ? prefix : "");
                m->pooler_w = el_params_add(ps, n1, w, EL_GROUP_BACKBONE, true, true);
                m->pooler_b = el_params_add(ps, n2, b, EL_GROUP_BACKBONE, true, false);
                free(n1);
                free(n2);
            } else {
                ts_free(w);
                ts_free(b);
            }
        }
        ts_no_grad_end();
    }
    el_st_model_close(&st);
    if (rc == EL_OK && with_tokenizer) {
        m->tok = el_tokenizer_load(dir);
        if (!m->tok) rc = el_err_prefix("tokenizer of %s", dir);
    }
    if (rc != EL_OK) {
        el_hf_model_free(m);
        return EL_ERR;
    }
    return EL_OK;
}

void el_hf_model_free(el_hf_model *m) {
    el_encoder_free(&m->enc);
    el_hf_config_free(&m->config);
    if (m->tok) el_tokenizer_free(m->tok);
    free(m->dir);
    free(m->weights_file);
    memset(m, 0, sizeof *m);
}

int el_hf_resolve_dir(const el_backbone_spec *cfg, char **dir) {
    *dir = NULL;
    if (cfg->path && cfg->path[0]) {
        *dir = xstrdup(cfg->path);
        return EL_OK;
    }
    if (!cfg->name || !cfg->name[0])
        return el_err("backbone: type hf needs `path` (a local model directory) or `name` "
                      "(ORG/NAME@REV on the Hugging Face hub)");
    char commit[41] = "";
    if (el_hub_resolve(cfg->name, dir, commit) != 0) return el_err_prefix("backbone.name");
    return EL_OK;
}

/* ---- prepared inputs --------------------------------------------------------------------- */
typedef struct {
    int64_t n;
    int64_t *off;      /* [n + 1] token offsets */
    int32_t *ids;      /* all rows' tokens */
    int32_t *types;
    int32_t *len;      /* [n] */
    float *cache;      /* freeze all + parameter-free pooling: [n, out_dim] features */
    uint8_t *cached;   /* [n] */
} hf_inputs;

typedef struct {
    el_hf_model m;
    el_pooling pooling;
    int32_t last_k;
    int32_t max_len;
    int32_t pad_id;      /* tokenizer's padding id */
    int32_t frozen;      /* -1 none, else embeddings + layers [0, frozen) */
    bool freeze_all;
    bool cacheable;      /* pooled features are a fixed function of the text */
    char *text_prefix;
    char *identity;      /* cacheable: digests of the model files (hf_frozen) */
    ts_tensor pool_q;    /* attention pooling query [H] */
    /* staging */
    int32_t *ids, *types, *mask;
    float *maskf;
    int64_t cap;
    int64_t *order;
    int64_t order_cap;
} hf_state;

static void hf_free_inputs(void *p) {
    hf_inputs *in = p;
    if (!in) return;
    free(in->off);
    free(in->ids);
    free(in->types);
    free(in->len);
    free(in->cache);
    free(in->cached);
    free(in);
}

static void *hf_prepare(el_backbone *bb, char *const *texts, int64_t n) {
    hf_state *s = bb->state;
    hf_inputs *in = xcalloc(1, sizeof *in);
    in->n = n;
    in->off = xcalloc((size_t)n + 1, sizeof(int64_t));
    in->len = xcalloc((size_t)n + 1, sizeof(int32_t));
    int64_t cap = 0, used = 0;
    el_encoding enc = {0};
    el_buf tb = {0};
    size_t plen = s->text_prefix ? strlen(s->text_prefix) : 0;
    int32_t V = s->m.config.enc.vocab_size;
    for (int64_t i = 0; i < n; i++) {
        const char *t = texts[i] ? texts[i] : "";
        size_t tl = strlen(t);
        if (plen) {
            tb.len = 0;
            el_buf_append(&tb, s->text_prefix, plen);
            el_buf_append(&tb, t, tl);
            t = tb.s;
            tl = tb.len;
        }
        if (el_tokenize(s->m.tok, t, tl, &enc, s->max_len) != 0) {
            el_err_prefix("tokenizing text %lld", (long long)i + 1);
            goto fail;
        }
        if (enc.len < 1) {
            el_err("tokenizing text %lld: no tokens (the tokenizer adds no special tokens and "
                   "the text is empty)",
                   (long long)i + 1);
            goto fail;
        }
        for (int32_t j = 0; j < enc.len; j++)
            if (enc.ids[j] < 0 || enc.ids[j] >= V) {
                el_err("tokenizing text %lld: token id %d is outside the model's vocabulary of %d: "
                       "tokenizer.json does not belong to %s",
                       (long long)i + 1, enc.ids[j], V, s->m.config.file);
                goto fail;
            }
        if (used + enc.len > cap) {
            cap = (used + enc.len) * 2 + 1024;
            in->ids = xrealloc(in->ids, (size_t)cap * sizeof(int32_t));
            in->types = xrealloc(in->types, (size_t)cap * sizeof(int32_t));
        }
        memcpy(in->ids + used, enc.ids, (size_t)enc.len * sizeof(int32_t));
        memcpy(in->types + used, enc.type_ids, (size_t)enc.len * sizeof(int32_t));
        in->len[i] = enc.len;
        used += enc.len;
        in->off[i + 1] = used;
    }
    el_encoding_free(&enc);
    el_buf_free(&tb);
    if (s->cacheable) {
        in->cache = xmalloc((size_t)(n * bb->out_dim) * sizeof(float) + 1);
        in->cached = xcalloc((size_t)n + 1, 1);
    }
    return in;
fail:
    el_encoding_free(&enc);
    el_buf_free(&tb);
    hf_free_inputs(in);
    return NULL;
}

static const int32_t *hf_lengths(const void *inputs) { return ((const hf_inputs *)inputs)->len; }

/* Pools h [B, T, H] (and the layers' outputs) to [B, out_dim]. */
static ts_tensor pool(hf_state *s, ts_tensor h, ts_tensor maskf, const ts_tensor *hs, int64_t B,
                      int64_t T) {
    int64_t H = s->m.config.enc.hidden;
    int64_t s2[2] = {B, H};
    switch (s->pooling) {
    case EL_POOL_CLS: return ts_reshape(ts_slice(h, 1, 0, 1, 1), s2, 2);
    case EL_POOL_MEAN: return ts_masked_mean(h, maskf, 1);
    case EL_POOL_MAX: return ts_masked_max(h, maskf, 1);
    case EL_POOL_POOLER: {
        ts_tensor c = ts_reshape(ts_slice(h, 1, 0, 1, 1), s2, 2);
        return c ? ts_tanh(ts_linear(c, s->m.pooler_w, s->m.pooler_b)) : NULL;
    }
    case EL_POOL_CLS_CONCAT: {
        ts_tensor parts[EL_ENCODER_MAX_LAYERS + 1];
        int32_t L = s->m.config.enc.n_layers;
        for (int32_t i = 0; i < s->last_k; i++) {
            parts[i] = ts_reshape(ts_slice(hs[L - s->last_k + 1 + i], 1, 0, 1, 1), s2, 2);
            if (!parts[i]) return NULL;
        }
        return ts_cat(parts, s->last_k, 1);
    }
    case EL_POOL_ATTENTION: {
        /* scores = h q, masked softmax over tokens, weighted sum of h */
        int64_t sq[2] = {H, 1}, sbt[2] = {B, T}, s3[3] = {B, 1, T};
        ts_tensor q = ts_reshape(s->pool_q, sq, 2);
        ts_tensor sc = q ? ts_reshape(ts_matmul(h, q), sbt, 2) : NULL;
        ts_tensor pad = sc ? ts_gt_scalar(ts_neg(maskf), -0.5) : NULL; /* mask 0 -> true */
        ts_tensor scm = pad ? ts_masked_fill(sc, pad, -1e30) : NULL;
        ts_tensor p = scm ? ts_reshape(ts_softmax(scm, 1), s3, 3) : NULL;
        ts_tensor o = p ? ts_bmm(p, h) : NULL;
        return o ? ts_reshape(o, s2, 2) : NULL;
    }
    }
    return NULL;
}

/* One padded batch of rows -> pooled [n, out_dim]. */
static ts_tensor run_rows(el_backbone *bb, const hf_inputs *in, const int64_t *rows, int32_t n,
                          bool training) {
    hf_state *s = bb->state;
    int64_t T = 1;
    for (int32_t i = 0; i < n; i++)
        if (in->len[rows[i]] > T) T = in->len[rows[i]];
    int64_t need = (int64_t)n * T;
    if (need > s->cap) {
        s->cap = need;
        s->ids = xrealloc(s->ids, (size_t)need * sizeof(int32_t));
        s->types = xrealloc(s->types, (size_t)need * sizeof(int32_t));
        s->mask = xrealloc(s->mask, (size_t)need * sizeof(int32_t));
        s->maskf = xrealloc(s->maskf, (size_t)need * sizeof(float));
    }
    for (int32_t i = 0; i < n; i++) {
        int64_t r = rows[i], b = in->off[r], L = in->len[r];
        int32_t *ids = s->ids + i * T, *ty = s->types + i * T, *mk = s->mask + i * T;
        float *mf = s->maskf + i * T;
        memcpy(ids, in->ids + b, (size_t)L * sizeof(int32_t));
        memcpy(ty, in->types + b, (size_t)L * sizeof(int32_t));
        for (int64_t t = 0; t < T; t++) {
            mk[t] = t < L;
            mf[t] = t < L ? 1.0f : 0.0f;
            if (t >= L) {
                ids[t] = s->pad_id;
                ty[t] = 0;
            }
        }
    }
    el_encoder_input ei = {s->ids, s->types, s->mask, n, (int32_t)T};
    ts_tensor hs[EL_ENCODER_MAX_LAYERS + 1];
    el_encoder_run run = {training, s->freeze_all ? s->m.config.enc.n_layers : s->frozen,
                          s->pooling == EL_POOL_CLS_CONCAT ? hs : NULL};
    if (s->freeze_all) ts_no_grad_begin();
    ts_tensor h = el_encoder_forward(&s->m.enc, &ei, &run);
    if (s->freeze_all && s->pooling != EL_POOL_ATTENTION) { /* pooling params frozen too */
        ts_tensor out = NULL;
        if (h) {
            int64_t sm[2] = {n, T};
            ts_tensor mf = ts_from_data(s->maskf, TS_F32, sm, 2);
            out = mf ? pool(s, h, mf, hs, n, T) : NULL;
        }
        ts_no_grad_end();
        return out;
    }
    if (s->freeze_all) ts_no_grad_end();
    if (!h) return NULL;
    int64_t sm[2] = {n, T};
    ts_tensor mf = ts_from_data(s->maskf, TS_F32, sm, 2);
    return mf ? pool(s, h, mf, hs, n, T) : NULL;
}

/* Eval mode: rows sorted by length, chunks of bounded size, then back in the caller's order. */
static ts_tensor run_chunked(el_backbone *bb, const hf_inputs *in, const int64_t *rows, int32_t n,
                             bool training) {
    hf_state *s = bb->state;
    el_grow(s->order, &s->order_cap, 2 * (int64_t)n + 1);
    int64_t *ord = s->order, *inv = s->order + n;
    for (int32_t i = 0; i < n; i++) ord[i] = i;
    /* insertion sort by length (stable) is too slow for big n: counting sort over lengths */
    int32_t maxl = 0;
    for (int32_t i = 0; i < n; i++)
        if (in->len[rows[i]] > maxl) maxl = in->len[rows[i]];
    int64_t *cnt = xcalloc((size_t)maxl + 2, sizeof(int64_t));
    for (int32_t i = 0; i < n; i++) cnt[in->len[rows[i]] + 1]++;
    for (int32_t l = 1; l <= maxl + 1; l++) cnt[l] += cnt[l - 1];
    for (int32_t i = 0; i < n; i++) ord[cnt[in->len[rows[i]]]++] = i;
    free(cnt);
    int64_t *sorted_rows = xmalloc((size_t)n * sizeof(int64_t));
    for (int32_t i = 0; i < n; i++) {
        sorted_rows[i] = rows[ord[i]];
        inv[ord[i]] = i;
    }
    int64_t NH = s->m.config.enc.n_heads;
    ts_tensor *parts = xcalloc((size_t)n, sizeof(ts_tensor));
    int32_t np = 0;
    ts_tensor out = NULL;
    bool ok = true;
    for (int32_t b = 0; b < n && ok;) {
        int32_t e = b + 1;
        while (e < n) {
            int64_t T = in->len[sorted_rows[e]]; /* sorted ascending: the new row is the longest */
            int64_t rows_n = e + 1 - b;
            if (rows_n * T > EVAL_TOKENS || rows_n * NH * T * T > EVAL_SCORES) break;
            e++;
        }
        parts[np] = run_rows(bb, in, sorted_rows + b, e - b, training);
        ok = parts[np++] != NULL;
        b = e;
    }
    if (ok) {
        ts_tensor all = np == 1 ? parts[0] : ts_cat(parts, np, 0);
        int64_t si[1] = {n};
        ts_tensor idx = all ? ts_from_data(inv, TS_I64, si, 1) : NULL;
        out = idx ? ts_index_select(all, 0, idx) : NULL;
    }
    free(parts);
    free(sorted_rows);
    return out;
}

static ts_tensor hf_forward(el_backbone *bb, const void *inputs, const int64_t *rows,
                            int32_t n_rows, bool training) {
    hf_state *s = bb->state;
    const hf_inputs *in = inputs;
    for (int32_t i = 0; i < n_rows; i++)
        if (rows[i] < 0 || rows[i] >= in->n) {
            el_err("hf forward: row %lld is outside the %lld prepared texts", (long long)rows[i],
                   (long long)in->n);
            return NULL;
        }
    if (!s->cacheable) {
        ts_tensor out = !training && n_rows > 1 ? run_chunked(bb, in, rows, n_rows, training)
                                                : run_rows(bb, in, rows, n_rows, training);
        if (!out && !el_last_error()[0]) el_err("hf forward: %s", ts_last_error());
        return out;
    }
    /* frozen encoder, parameter-free pooling: features computed once per text */
    hf_inputs *mi = (hf_inputs *)in;
    int64_t D = bb->out_dim;
    int64_t *todo = xmalloc((size_t)n_rows * sizeof(int64_t) + 1);
    int32_t nt = 0;
    for (int32_t i = 0; i < n_rows; i++)
        if (!mi->cached[rows[i]]) {
            bool dup = false; /* the same row twice in one call */
            for (int32_t j = 0; j < nt && !dup; j++) dup = todo[j] == rows[i];
            if (!dup) todo[nt++] = rows[i];
        }
    if (nt > 0) {
        ts_scope_begin();
        ts_no_grad_begin();
        ts_tensor f = run_chunked(bb, in, todo, nt, false);
        float *p = f ? ts_data_ptr(ts_contiguous(f)) : NULL;
        if (p) {
            for (int32_t j = 0; j < nt; j++) {
                memcpy(mi->cache + todo[j] * D, p + (int64_t)j * D, (size_t)D * sizeof(float));
                mi->cached[todo[j]] = 1;
            }
        }
        ts_no_grad_end();
        ts_scope_end();
        if (!p) {
            free(todo);
            el_err("hf forward: %s", ts_last_error());
            return NULL;
        }
    }
    free(todo);
    int64_t sh[2] = {n_rows, D};
    ts_tensor out = ts_zeros(sh, 2, TS_F32);
    float *o = out ? ts_data_ptr(out) : NULL;
    if (!o) {
        el_err("hf forward: %s", ts_last_error());
        return NULL;
    }
    for (int32_t i = 0; i < n_rows; i++)
        memcpy(o + (int64_t)i * D, mi->cache + rows[i] * D, (size_t)D * sizeof(float));
    return out;
}

static void hf_free(el_backbone *bb) {
    hf_state *s = bb->state;
    if (s) {
        el_hf_model_free(&s->m);
        free(s->text_prefix);
        free(s->identity);
        free(s->ids);
        free(s->types);
        free(s->mask);
        free(s->maskf);
        free(s->order);
        free(s);
    }
    free(bb);
}

/* ---- the feature cache ------------------------------------------------------------------- */
/* Bump when the encoder's or the tokenizer's output changes for the same model files. */
#define HF_FEATURES_VERSION "hf-features-1"

/* SHA-256 of a model file's content. A file of Hugging Face's hub cache is a symlink to
 * blobs/<sha256 of its content> when it is stored in LFS (weights): that name is used as is,
 * so a multi-GB checkpoint is not read again on every run. */
static int file_digest(const char *path, char hex[65]) {
    char real[PATH_MAX];
    if (realpath(path, real)) {
        const char *base = strrchr(real, '/');
        base = base ? base + 1 : real;
        const char *blobs = strstr(real, "/blobs/");
        if (blobs && blobs + 7 == base && strlen(base) == 64 && el_is_hex(base, 64)) {
            memcpy(hex, base, 65);
            return EL_OK;
        }
    }
    return el_sha256_file(path, hex);
}

/* What a frozen encoder's features depend on beyond the spec (which holds only path or name):
 * the content of config.json, tokenizer.json and the weights (index and every shard), as one
 * SHA-256 over their names and digests. */
static int hf_identity(const char *dir, char **out) {
    el_st_model st;
    memset(&st, 0, sizeof st);
    if (el_st_model_open(dir, &st) != 0) return EL_ERR;
    el_buf b = {0};
    el_buf_printf(&b, "%s", HF_FEATURES_VERSION);
    const char *small[] = {"config.json", "tokenizer.json"};
    int rc = EL_OK;
    char hex[65];
    for (int i = 0; i < 2 && rc == EL_OK; i++) {
        char *p = el_path_join(dir, small[i]);
        rc = el_sha256_file(p, hex);
        if (rc == EL_OK) el_buf_printf(&b, " %s=%s", small[i], hex);
        free(p);
    }
    if (rc == EL_OK && st.index && (rc = el_sha256_file(st.index, hex)) == EL_OK)
        el_buf_printf(&b, " index=%s", hex);
    for (int32_t i = 0; i < st.n_files && rc == EL_OK; i++) {
        const char *base = strrchr(st.files[i].path, '/');
        if ((rc = file_digest(st.files[i].path, hex)) == EL_OK)
            el_buf_printf(&b, " %s=%s", base ? base + 1 : st.files[i].path, hex);
    }
    el_st_model_close(&st);
    if (rc != EL_OK) {
        el_buf_free(&b);
        return el_err_prefix("backbone: digest of the model files in %s", dir);
    }
    /* one digest of the list: fits the cache's identity field whatever the number of shards */
    el_sha256_hex(b.s, b.len, hex);
    el_buf_free(&b);
    *out = el_printf("%s files=%s", HF_FEATURES_VERSION, hex);
    return EL_OK;
}

/* freeze: all with a parameter-free pooling: a fixed function of each text (features cached).
 * The model files are digested on the first call only (training asks; prediction does not).
 * When they cannot be read, nothing is cached: features are never served under a key that
 * does not name the weights. */
static el_features_kind hf_frozen(const el_backbone *bb, char *identity, size_t cap) {
    hf_state *s = bb->state;
    if (!s->cacheable) return EL_FEATURES_TRAINED;
    if (!s->identity && hf_identity(s->m.dir, &s->identity) != 0) {
        fprintf(stderr, "warning: features of %s not cached: %s\n", s->m.dir, el_last_error());
        el_clear_error();
        return EL_FEATURES_TRAINED;
    }
    snprintf(identity, cap, "%s", s->identity);
    return EL_FEATURES_FIXED;
}

static const el_backbone_ops HF_OPS = {
    .type = "hf",
    .prepare = hf_prepare,
    .free_inputs = hf_free_inputs,
    .forward = hf_forward,
    .free = hf_free,
    .lengths = hf_lengths,
    .frozen = hf_frozen,
};

el_hf_model *el_hf_backbone_model(el_backbone *bb) {
    return bb && bb->ops == &HF_OPS ? &((hf_state *)bb->state)->m : NULL;
}

el_pooling el_hf_backbone_pooling(el_backbone *bb) {
    return bb && bb->ops == &HF_OPS ? ((hf_state *)bb->state)->pooling : EL_POOL_CLS;
}

el_backbone *el_hf_build(const el_backbone_spec *cfg, el_params *ps) {
    el_backbone *bb = xcalloc(1, sizeof *bb);
    hf_state *s = xcalloc(1, sizeof *s);
    bb->ops = &HF_OPS;
    bb->cfg = *cfg;
    bb->state = s;
    char *dir = NULL;
    int32_t first = ps->n;
    if (el_pooling_parse(cfg->pooling, &s->pooling) != 0 || el_hf_resolve_dir(cfg, &dir) != 0)
        goto fail;
    if (el_hf_model_load(&s->m, dir, "backbone.", ps, true) != 0) goto fail;
    free(dir);
    dir = NULL;
    const el_encoder_config *ec = &s->m.config.enc;
    int32_t H = ec->hidden, L = ec->n_layers;

    /* max_len: the spec's, within the model's positions */
    int32_t positions = ec->max_positions - (ec->position_pad >= 0 ? ec->position_pad + 1 : 0);
    s->max_len = cfg->max_len > 0 ? cfg->max_len : (positions < 512 ? positions : 512);
    if (s->max_len > positions) {
        el_err("backbone.max_len: %d is more than the %d positions of %s: use at most %d",
               cfg->max_len, positions, s->m.config.file, positions);
        goto fail;
    }
    int32_t nspecial = el_tokenizer_num_special(s->m.tok);
    if (s->max_len <= nspecial) {
        el_err("backbone.max_len: %d leaves no room for text after the %d special tokens",
               s->max_len, nspecial);
        goto fail;
    }
    s->pad_id = el_tokenizer_pad_id(s->m.tok);
    if (s->pad_id < 0) s->pad_id = s->m.config.pad_token_id >= 0 ? s->m.config.pad_token_id : 0;
    if (s->pad_id >= ec->vocab_size) {
        el_err("%s: the tokenizer's padding id %d is outside the model's vocabulary of %d",
               s->m.dir, s->pad_id, ec->vocab_size);
        goto fail;
    }
    s->text_prefix = cfg->text_prefix && cfg->text_prefix[0] ? xstrdup(cfg->text_prefix) : NULL;

    /* pooling */
    bb->out_dim = H;
    if (s->pooling == EL_POOL_CLS_CONCAT) {
        s->last_k = cfg->last_k > 0 ? cfg->last_k : 4;
        if (s->last_k > L) {
            el_err("backbone.last_k: %d is more than the model's %d layers", s->last_k, L);
            goto fail;
        }
        bb->out_dim = s->last_k * H;
    } else if (s->pooling == EL_POOL_POOLER && !s->m.pooler_w) {
        el_err("backbone.pooling: pooler needs BERT's pretrained pooler, and %s has no "
               "pooler.dense weights (model_type %s): use cls",
               s->m.weights_file, s->m.config.model_type);
        goto fail;
    } else if (s->pooling == EL_POOL_ATTENTION) {
        int64_t sh[1] = {H};
        ts_tensor q = ts_zeros(sh, 1, TS_F32); /* zero query: starts as the masked mean */
        if (!q) {
            el_err("attention pooling: %s", ts_last_error());
            goto fail;
        }
        s->pool_q = el_params_add(ps, "backbone.pool.query", q, EL_GROUP_HEAD, true, false);
    }

    /* freezing */
    const char *fz = cfg->freeze && cfg->freeze[0] ? cfg->freeze : "none";
    s->frozen = -1;
    if (!strcmp(fz, "all")) {
        s->freeze_all = true;
        s->frozen = L;
    } else if (!strcmp(fz, "first_k")) {
        if (cfg->freeze_k < 0 || cfg->freeze_k > L) {
            el_err("backbone.freeze_k: %d is out of range [0, %d] (the model's layers)",
                   cfg->freeze_k, L);
            goto fail;
        }
        s->frozen = cfg->freeze_k;
    } else if (strcmp(fz, "none")) {
        el_err("backbone.freeze: '%s' is not one of none, all, first_k", fz);
        goto fail;
    }
    s->cacheable = s->freeze_all && s->pooling != EL_POOL_ATTENTION;
    double decay = cfg->layer_lr_decay > 0 ? cfg->layer_lr_decay : 1.0;
    if (decay > 1.0) {
        el_err("backbone.layer_lr_decay: %g is out of range (0, 1]", decay);
        goto fail;
    }
    /* per-parameter: frozen or not, layer-wise lr scale */
    for (int32_t i = first; i < ps->n; i++) {
        el_param *p = &ps->items[i];
        if (p->group != EL_GROUP_BACKBONE) continue;
        int32_t depth = L + 1; /* pooler: above the last layer */
        const char *hn = p->name + strlen("backbone.");
        for (int32_t j = 0; j < s->m.enc.n_tensors; j++)
            if (!strcmp(s->m.enc.tensors[j].name, hn)) depth = s->m.enc.tensors[j].depth;
        bool frozen = s->freeze_all || (s->frozen >= 0 && depth <= s->frozen);
        if (s->m.config.sinusoidal_pos && p->t == s->m.enc.emb.pos) frozen = true;
        if (frozen) {
            p->trainable = false;
            ts_set_requires_grad(p->t, 0);
        }
        p->lr_scale = pow(decay, (double)(L + 1 - depth));
    }
    return bb;
fail:
    free(dir);
    hf_free(bb);
    return NULL;
}
