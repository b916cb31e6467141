/* export.c: `emolab export RUN DIR`. See export.h. */
#include "export.h"
#include "commands.h"
#include "model_hf.h"
#include "registry.h"
#include "safetensors.h"
#include "train.h"
#include "util.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LINEAR_EPS 1e-5 /* tanh(eps x) = eps x to float32 precision for |x| < 1e3 */

el_export_params el_export_default_params(void) {
    el_export_params p = {0};
    return p;
}

static bool is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* RUN -> checkpoint path (malloc'd). */
static int find_checkpoint(const char *run, const el_export_params *p, char **out) {
    *out = NULL;
    if (is_file(run)) {
        *out = xstrdup(run);
        return EL_OK;
    }
    if (is_dir(run)) {
        char *c = el_path_join(run, "model.safetensors");
        if (!is_file(c)) {
            free(c);
            return el_err("%s: no model.safetensors in this run directory (was the run saved? "
                          "runs with --no-checkpoint or that failed have none)",
                          run);
        }
        *out = c;
        return EL_OK;
    }
    /* a run id, a unique prefix of one, or a run name (el_registry_resolve_run) */
    el_registry *reg = el_registry_open(el_registry_default_path(p->registry), true);
    if (!reg) return el_err_prefix("looking up run %s", run);
    el_run_ref ref;
    int rc = el_registry_resolve_run(reg, run, &ref);
    el_registry_close(reg);
    if (rc != EL_OK) return EL_ERR;
    if (ref.checkpoint) *out = xstrdup(ref.checkpoint);
    else if (ref.run_dir) *out = el_path_join(ref.run_dir, "model.safetensors");
    if (!*out || !is_file(*out)) {
        rc = el_err("run %s (%s, %s): no checkpoint%s%s (runs saved with --no-checkpoint or that "
                    "failed have none)",
                    ref.uuid, ref.name ? ref.name : "", ref.status ? ref.status : "",
                    *out ? " at " : "", *out ? *out : "");
        free(*out);
        *out = NULL;
    }
    el_run_ref_free(&ref);
    return rc;
}

/* The model part of a run's resolved config (backbone, head; name, owner) read with jansson:
 * export needs no data section, and does not depend on the data keys re-validating. */
static char *js(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return json_is_string(v) && json_string_value(v)[0] ? xstrdup(json_string_value(v)) : NULL;
}
static double jn(json_t *o, const char *k, double def) {
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : def;
}

static int spec_from_config(const char *cfg, const char *ckpt, el_spec *s) {
    json_error_t err;
    json_t *r = json_loads(cfg, 0, &err);
    json_t *b = r ? json_object_get(r, "backbone") : NULL, *h = r ? json_object_get(r, "head") : NULL;
    if (!json_is_object(b) || !json_is_object(h)) {
        json_decref(r);
        return el_err("%s: emolab.config has no backbone/head sections", ckpt);
    }
    s->name = js(r, "name");
    s->owner = js(r, "owner");
    s->resolved_json = xstrdup(cfg);
    el_sha256_hex(cfg, strlen(cfg), s->config_hash);
    el_backbone_spec *bb = &s->backbone;
    bb->type = js(b, "type");
    bb->path = js(b, "path");
    bb->name = js(b, "name");
    bb->pooling = js(b, "pooling");
    bb->text_prefix = js(b, "text_prefix");
    bb->freeze = js(b, "freeze");
    bb->max_len = (int32_t)jn(b, "max_len", 0);
    bb->last_k = (int32_t)jn(b, "last_k", 4);
    bb->freeze_k = (int32_t)jn(b, "freeze_k", 0);
    bb->layer_lr_decay = jn(b, "layer_lr_decay", 1);
    bb->lr_scale = jn(b, "lr_scale", 1);
    bb->dim = (int32_t)jn(b, "dim", 128);
    bb->word_ngrams = (int32_t)jn(b, "word_ngrams", 2);
    bb->buckets = (int64_t)jn(b, "buckets", 1048576);
    json_t *cn = json_object_get(b, "char_ngrams");
    bb->char_ngram_min = (int32_t)json_number_value(json_array_get(cn, 0));
    bb->char_ngram_max = (int32_t)json_number_value(json_array_get(cn, 1));
    bb->lowercase = !json_is_false(json_object_get(b, "lowercase"));
    el_head_spec *hs = &s->head;
    json_t *layers = json_object_get(h, "layers");
    hs->n_layers = json_is_array(layers) ? (int32_t)json_array_size(layers) : 0;
    if (hs->n_layers > EL_MAX_LAYERS) hs->n_layers = EL_MAX_LAYERS;
    for (int32_t i = 0; i < hs->n_layers; i++)
        hs->layers[i] = (int32_t)json_number_value(json_array_get(layers, (size_t)i));
    hs->dropout = jn(h, "dropout", 0);
    hs->activation = js(h, "activation");
    hs->norm = js(h, "norm");
    hs->norm_groups = (int32_t)jn(h, "norm_groups", 8);
    hs->residual = json_is_true(json_object_get(h, "residual"));
    hs->heads = (int32_t)jn(h, "heads", 1);
    hs->meta = js(h, "meta");
    json_decref(r);
    if (!bb->type) return el_err("%s: emolab.config: backbone.type missing", ckpt);
    return EL_OK;
}

static void spec_model_free(el_spec *s);
void el_run_spec_free(el_spec *s) { spec_model_free(s); }

static void spec_model_free(el_spec *s) {
    free(s->name);
    free(s->owner);
    free(s->resolved_json);
    free(s->backbone.type);
    free(s->backbone.path);
    free(s->backbone.name);
    free(s->backbone.pooling);
    free(s->backbone.text_prefix);
    free(s->backbone.freeze);
    free(s->head.activation);
    free(s->head.norm);
    free(s->head.meta);
    memset(s, 0, sizeof *s);
}

int el_run_model_load(const char *run, const el_export_params *p, el_spec *spec, el_model *m,
                      el_labelset *labels, float *thresholds, char **checkpoint_path) {
    memset(spec, 0, sizeof *spec);
    memset(m, 0, sizeof *m);
    memset(labels, 0, sizeof *labels);
    char *ckpt = NULL;
    if (find_checkpoint(run, p, &ckpt) != 0) return EL_ERR;
    el_safetensors st;
    if (el_st_open(ckpt, &st) != 0) {
        free(ckpt);
        return EL_ERR;
    }
    const char *cfg = el_st_meta(&st, "emolab.config"), *lab = el_st_meta(&st, "emolab.labels"),
               *thr = el_st_meta(&st, "emolab.thresholds");
    int rc = EL_OK;
    json_t *jl = lab ? json_loads(lab, 0, NULL) : NULL, *jt = thr ? json_loads(thr, 0, NULL) : NULL;
    if (!cfg || !json_is_array(jl) || !json_is_array(jt) || json_array_size(jl) < 1 ||
        json_array_size(jl) > EL_MAX_LABELS || json_array_size(jt) != json_array_size(jl)) {
        rc = el_err("%s: not an emolab checkpoint (metadata emolab.config, emolab.labels, "
                    "emolab.thresholds missing or malformed)",
                    ckpt);
    } else {
        labels->n = (int32_t)json_array_size(jl);
        for (int32_t i = 0; i < labels->n && rc == EL_OK; i++) {
            json_t *s = json_array_get(jl, (size_t)i), *t = json_array_get(jt, (size_t)i);
            if (!json_is_string(s) || !json_is_number(t)) {
                rc = el_err("%s: emolab.labels/thresholds: entry %d is malformed", ckpt, i);
                labels->n = i;
                break;
            }
            labels->names[i] = xstrdup(json_string_value(s));
            thresholds[i] = (float)json_number_value(t);
        }
    }
    json_decref(jl);
    json_decref(jt);
    if (rc == EL_OK) rc = spec_from_config(cfg, ckpt, spec);
    el_st_close(&st);
    /* only hf runs are rebuilt from their config here (their checkpoint records what an hf
     * encoder needs); say so instead of failing on the first key another backbone lacks */
    if (rc == EL_OK && !el_streq(spec->backbone.type, "hf"))
        rc = el_err("%s: backbone type %s; only runs with an hf backbone export to a Hugging Face "
                    "model directory (use `emolab predict` for this run)",
                    ckpt, spec->backbone.type);
    if (rc == EL_OK && p->model_dir) {
        free(spec->backbone.path);
        free(spec->backbone.name);
        spec->backbone.path = xstrdup(p->model_dir);
        spec->backbone.name = NULL;
    }
    if (rc == EL_OK && el_model_build(m, spec, labels->n) != 0)
        rc = el_err_prefix("rebuilding the run's model%s",
                           p->model_dir ? "" : " (is the source model directory still there? "
                                              "--model-dir DIR points at it)");
    if (rc == EL_OK && el_checkpoint_load(ckpt, m) != 0) rc = EL_ERR;
    if (rc != EL_OK) {
        el_model_free(m);
        spec_model_free(spec);
        el_labelset_free(labels);
        free(ckpt);
        return EL_ERR;
    }
    if (checkpoint_path) *checkpoint_path = ckpt;
    else free(ckpt);
    return EL_OK;
}

/* ---- the tensors to write ------------------------------------------------------------------ */
typedef struct {
    el_st_entry *e;
    char **names;
    float **data;
    int64_t (*shapes)[2];
    int32_t n, cap;
} tensor_list;

static float *tl_add(tensor_list *L, const char *name, int64_t d0, int64_t d1) {
    if (L->n == L->cap) {
        L->cap = L->cap ? L->cap * 2 : 64;
        L->e = xrealloc(L->e, (size_t)L->cap * sizeof *L->e);
        L->names = xrealloc(L->names, (size_t)L->cap * sizeof *L->names);
        L->data = xrealloc(L->data, (size_t)L->cap * sizeof *L->data);
        L->shapes = xrealloc(L->shapes, (size_t)L->cap * sizeof *L->shapes);
    }
    int32_t i = L->n++;
    int64_t numel = d0 * (d1 > 0 ? d1 : 1);
    L->names[i] = xstrdup(name);
    L->data[i] = xcalloc((size_t)numel + 1, sizeof(float));
    L->shapes[i][0] = d0;
    L->shapes[i][1] = d1;
    L->e[i] = (el_st_entry){L->names[i], EL_ST_F32, d1 > 0 ? 2 : 1, L->shapes[i], L->data[i],
                            (size_t)numel * sizeof(float)};
    return L->data[i];
}

static int tl_add_tensor(tensor_list *L, const char *name, ts_tensor t) {
    int32_t nd = ts_ndim(t);
    if (nd < 1 || nd > 2) return el_err("export: %s: unexpected rank %d", name, nd);
    int64_t d0 = ts_size(t, 0), d1 = nd == 2 ? ts_size(t, 1) : 0;
    float *dst = tl_add(L, name, d0, d1);
    if (ts_copy_out(t, dst, TS_F32, ts_numel(t)) != 0)
        return el_err("export: %s: %s", name, ts_last_error());
    return EL_OK;
}

static void tl_free(tensor_list *L) {
    for (int32_t i = 0; i < L->n; i++) {
        free(L->names[i]);
        free(L->data[i]);
    }
    free(L->e);
    free(L->names);
    free(L->data);
    free(L->shapes);
    memset(L, 0, sizeof *L);
}

/* ---- how the head maps ------------------------------------------------------------------- */
typedef enum {
    MAP_NONE = 0,      /* base model + emolab_head.safetensors */
    MAP_DIRECT,        /* HF's head layers are emolab's */
    MAP_LINEARIZED,    /* a linear emolab head through HF's dense + tanh/relu, made linear */
} head_map;

static head_map choose_map(const el_spec *spec, el_hf_arch arch, el_pooling pool, int32_t H,
                           const char **why) {
    const el_head_spec *h = &spec->head;
    if (h->heads != 1) {
        *why = "several parallel heads";
        return MAP_NONE;
    }
    if (pool != EL_POOL_CLS && pool != EL_POOL_POOLER) {
        *why = "HF's sequence-classification heads read the CLS token; this run pools otherwise";
        return MAP_NONE;
    }
    if (pool == EL_POOL_POOLER) { /* BERT only (the backbone refuses it elsewhere) */
        if (h->n_layers == 0) return MAP_DIRECT;
        *why = "pooler pooling with hidden head layers";
        return MAP_NONE;
    }
    if (h->n_layers == 0) return MAP_LINEARIZED;
    const char *act = arch == EL_HF_DISTILBERT ? "relu" : "tanh";
    if (h->n_layers == 1 && h->layers[0] == H && el_streq(h->activation, act) &&
        el_streq(h->norm, "none") && !h->residual)
        return MAP_DIRECT;
    *why = arch == EL_HF_DISTILBERT
               ? "DistilBERT's head is one hidden layer of dim units with relu (or none)"
               : "HF's head is one hidden layer of hidden_size units with tanh (or none)";
    return MAP_NONE;
}

/* ---- files ------------------------------------------------------------------------------- */
static int write_json(const char *dir, const char *name, json_t *j) {
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15));
    if (!s) return el_err("export: cannot encode %s", name);
    size_t n = strlen(s);
    s = xrealloc(s, n + 2);
    s[n] = '\n';
    s[n + 1] = 0;
    char *p = el_path_join(dir, name);
    int rc = el_write_file_atomic(p, s, n + 1);
    free(p);
    free(s);
    return rc;
}

static const char *TOKENIZER_FILES[] = {
    "tokenizer.json", "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt",
    "sentencepiece.bpe.model", "spiece.model", "added_tokens.json",
};

static int copy_tokenizer(const char *src, const char *dst, int32_t max_len, bool no_types,
                          int32_t *copied) {
    *copied = 0;
    for (size_t i = 0; i < sizeof TOKENIZER_FILES / sizeof TOKENIZER_FILES[0]; i++) {
        char *a = el_path_join(src, TOKENIZER_FILES[i]);
        if (is_file(a)) {
            char *buf = NULL, *b = el_path_join(dst, TOKENIZER_FILES[i]);
            size_t len = 0;
            int rc = el_read_file(a, &buf, &len);
            if (rc == EL_OK) rc = el_write_file_atomic(b, buf, len);
            free(buf);
            free(b);
            if (rc != EL_OK) {
                free(a);
                return EL_ERR;
            }
            (*copied)++;
        }
        free(a);
    }
    /* tokenizer_config.json: truncation=True in HF then cuts where the run did */
    char *a = el_path_join(src, "tokenizer_config.json");
    json_t *tc = is_file(a) ? json_load_file(a, 0, NULL) : NULL;
    free(a);
    if (!json_is_object(tc)) {
        json_decref(tc);
        tc = json_object();
    }
    json_object_set_new(tc, "model_max_length", json_integer(max_len));
    if (no_types && !json_object_get(tc, "model_input_names")) { /* DistilBERT takes no types */
        json_t *names = json_array();
        json_array_append_new(names, json_string("input_ids"));
        json_array_append_new(names, json_string("attention_mask"));
        json_object_set_new(tc, "model_input_names", names);
    }
    int rc = write_json(dst, "tokenizer_config.json", tc);
    json_decref(tc);
    return rc;
}

static int write_readme(const char *dir, const char *arch_name, const char *cls,
                        const el_spec *spec, const el_labelset *labels, const float *thr,
                        head_map map, const char *why, const char *text_prefix, int32_t max_len) {
    el_buf b = {0};
    el_buf_printf(&b, "# %s\n\nExported by emolab from run `%s` (owner %s): a %s encoder fine-tuned "
                      "for multi-label classification of %d labels.\n\n",
                  spec->name, spec->name, spec->owner && spec->owner[0] ? spec->owner : "-",
                  arch_name, labels->n);
    el_buf_puts(&b, "| label | threshold (tuned on val) |\n|---|---|\n");
    for (int32_t i = 0; i < labels->n; i++)
        el_buf_printf(&b, "| %s | %.4g |\n", labels->names[i], (double)thr[i]);
    el_buf_printf(&b, "\nTexts are truncated to %d tokens%s%s%s.\n\n", max_len,
                  text_prefix ? "; prepend `" : "", text_prefix ? text_prefix : "",
                  text_prefix ? "` to every text as in training" : "");
    if (map != MAP_NONE) {
        el_buf_printf(&b,
                      "```python\nimport torch\nfrom transformers import AutoModelForSequenceClassification, AutoTokenizer\n"
                      "tok = AutoTokenizer.from_pretrained(DIR)\n"
                      "model = AutoModelForSequenceClassification.from_pretrained(DIR).eval()  # %s\n"
                      "enc = tok([%stext], padding=True, truncation=True, return_tensors=\"pt\")\n"
                      "probs = torch.sigmoid(model(**enc).logits)  # compare with the thresholds above\n```\n",
                      cls, text_prefix ? "\"<prefix>\" + " : "");
        if (map == MAP_LINEARIZED)
            el_buf_puts(&b, "\nThe run's head is one linear layer on the CLS vector. HF's head has a "
                            "dense layer with a nonlinearity before the classifier; it is set so that "
                            "it passes the CLS vector through unchanged (see config.json, "
                            "emolab.head_mapping).\n");
    } else {
        el_buf_printf(&b, "The run's head cannot be expressed as HF's %s head (%s). "
                          "model.safetensors holds the encoder (loads with AutoModel); "
                          "emolab_head.safetensors holds the head, described in config.json's "
                          "`emolab` section.\n",
                      cls, why);
    }
    char *p = el_path_join(dir, "README.md");
    int rc = el_write_file_atomic(p, b.s, b.len);
    free(p);
    el_buf_free(&b);
    return rc;
}

static int check_out_dir(const char *dir, bool force) {
    if (is_dir(dir)) {
        DIR *d = opendir(dir);
        struct dirent *e;
        bool empty = true;
        while (d && (e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = false;
        if (d) closedir(d);
        if (!empty && !force)
            return el_err("%s: exists and is not empty (--force writes into it)", dir);
        return EL_OK;
    }
    if (el_file_exists(dir)) return el_err("%s: exists and is not a directory", dir);
    return el_mkdirs(dir, 0755);
}

int el_export_hf(const char *run, const char *out_dir, const el_export_params *p) {
    el_spec spec;
    el_model m;
    el_labelset labels;
    float thr[EL_MAX_LABELS];
    char *ckpt = NULL;
    if (el_run_model_load(run, p, &spec, &m, &labels, thr, &ckpt) != 0) return EL_ERR;
    int rc = EL_OK;
    tensor_list W = {0}, HW = {0};
    json_t *cfg = NULL;
    el_hf_model *hf = el_hf_backbone_model(m.backbone);
    if (!hf) {
        rc = el_err("%s: backbone type %s; only runs with an hf backbone export to a Hugging "
                    "Face model directory",
                    ckpt, spec.backbone.type);
        goto done;
    }
    if ((rc = check_out_dir(out_dir, p->force)) != EL_OK) goto done;
    el_hf_arch arch = hf->config.arch;
    el_pooling pool = el_hf_backbone_pooling(m.backbone);
    int32_t H = hf->config.enc.hidden, K = labels.n;
    const char *why = "";
    head_map map = choose_map(&spec, arch, pool, H, &why);
    const char *prefix = map != MAP_NONE ? el_hf_arch_weight_prefix(arch) : "";
    char cls[64], name[256];
    snprintf(cls, sizeof cls, "%s%s", el_hf_arch_class(arch),
             map != MAP_NONE ? "ForSequenceClassification" : "Model");

    /* the encoder (and BERT's pooler) under HF's names */
    for (int32_t i = 0; i < hf->enc.n_tensors && rc == EL_OK; i++) {
        snprintf(name, sizeof name, "%s%s", prefix, hf->enc.tensors[i].name);
        rc = tl_add_tensor(&W, name, hf->enc.tensors[i].t);
    }
    bool pooler_from_head = arch == EL_HF_BERT && map != MAP_NONE && pool == EL_POOL_CLS;
    if (rc == EL_OK && hf->pooler_w && !pooler_from_head) {
        snprintf(name, sizeof name, "%spooler.dense.weight", prefix);
        rc = tl_add_tensor(&W, name, hf->pooler_w);
        snprintf(name, sizeof name, "%spooler.dense.bias", prefix);
        if (rc == EL_OK) rc = tl_add_tensor(&W, name, hf->pooler_b);
    }
    const el_head_layer *L0 = &m.head.layers[0][0], *L1 = &m.head.layers[0][1];
    const char *dense_w = NULL, *dense_b = NULL, *out_w = NULL, *out_b = NULL;
    switch (arch) {
    case EL_HF_BERT:
        dense_w = "bert.pooler.dense.weight", dense_b = "bert.pooler.dense.bias";
        out_w = "classifier.weight", out_b = "classifier.bias";
        break;
    case EL_HF_ROBERTA:
    case EL_HF_XLM_ROBERTA:
        dense_w = "classifier.dense.weight", dense_b = "classifier.dense.bias";
        out_w = "classifier.out_proj.weight", out_b = "classifier.out_proj.bias";
        break;
    case EL_HF_DISTILBERT:
        dense_w = "pre_classifier.weight", dense_b = "pre_classifier.bias";
        out_w = "classifier.weight", out_b = "classifier.bias";
        break;
    }
    const char *mapping = "";
    if (rc == EL_OK && map == MAP_DIRECT && pool == EL_POOL_POOLER) { /* BERT: pooler + linear */
        mapping = "classifier = the head's linear layer (pooler: the run's fine-tuned pooler)";
        rc = tl_add_tensor(&W, out_w, L0->w);
        if (rc == EL_OK) rc = tl_add_tensor(&W, out_b, L0->b);
    } else if (rc == EL_OK && map == MAP_DIRECT) {
        mapping = arch == EL_HF_DISTILBERT
                      ? "pre_classifier = head hidden layer (relu), classifier = head output layer"
                      : "dense (+tanh) = head hidden layer, classifier = head output layer";
        rc = tl_add_tensor(&W, dense_w, L0->w);
        if (rc == EL_OK) rc = tl_add_tensor(&W, dense_b, L0->b);
        if (rc == EL_OK) rc = tl_add_tensor(&W, out_w, L1->w);
        if (rc == EL_OK) rc = tl_add_tensor(&W, out_b, L1->b);
    } else if (rc == EL_OK && map == MAP_LINEARIZED) {
        float *dw = tl_add(&W, dense_w, H, H), *db = tl_add(&W, dense_b, H, 0);
        float *ow = tl_add(&W, out_w, K, H), *ob = tl_add(&W, out_b, K, 0);
        float *hw = xmalloc((size_t)K * (size_t)H * sizeof(float)), *hb = xmalloc((size_t)K * sizeof(float));
        if (ts_copy_out(L0->w, hw, TS_F32, (int64_t)K * H) != 0 ||
            ts_copy_out(L0->b, hb, TS_F32, K) != 0)
            rc = el_err("export: head: %s", ts_last_error());
        if (rc == EL_OK && arch != EL_HF_DISTILBERT) {
            mapping = "linear head through a dense layer of 1e-5 * identity (tanh(1e-5 x) = 1e-5 x "
                      "in float32), classifier = head weight / 1e-5";
            for (int32_t i = 0; i < H; i++) dw[(int64_t)i * H + i] = (float)LINEAR_EPS;
            for (int64_t i = 0; i < (int64_t)K * H; i++) ow[i] = (float)((double)hw[i] / LINEAR_EPS);
            memcpy(ob, hb, (size_t)K * sizeof(float));
        } else if (rc == EL_OK) {
            mapping = "linear head through pre_classifier = identity with bias c above the last "
                      "LayerNorm's output bound (relu passes it unchanged), classifier bias = b - W c";
            ts_tensor g = hf->enc.cfg.n_layers > 0 ? hf->enc.layers[hf->enc.cfg.n_layers - 1].ln2_w
                                                   : hf->enc.emb.ln_w;
            ts_tensor be = hf->enc.cfg.n_layers > 0 ? hf->enc.layers[hf->enc.cfg.n_layers - 1].ln2_b
                                                    : hf->enc.emb.ln_b;
            float *gv = xmalloc((size_t)H * sizeof(float)), *bv = xmalloc((size_t)H * sizeof(float));
            ts_copy_out(g, gv, TS_F32, H);
            ts_copy_out(be, bv, TS_F32, H);
            for (int32_t i = 0; i < H; i++) {
                dw[(int64_t)i * H + i] = 1.0f;
                db[i] = (float)ceil(sqrt((double)H) * fabs((double)gv[i]) + fabs((double)bv[i]) + 1.0);
            }
            memcpy(ow, hw, (size_t)K * (size_t)H * sizeof(float));
            for (int32_t k = 0; k < K; k++) {
                double s = hb[k];
                for (int32_t i = 0; i < H; i++) s -= (double)hw[(int64_t)k * H + i] * (double)db[i];
                ob[k] = (float)s;
            }
            free(gv);
            free(bv);
        }
        free(hw);
        free(hb);
    } else if (rc == EL_OK) { /* the head in its own file, emolab's names */
        for (int32_t i = 0; i < m.params.n && rc == EL_OK; i++) {
            el_param *pa = &m.params.items[i];
            if (pa->group == EL_GROUP_HEAD) rc = tl_add_tensor(&HW, pa->name, pa->t);
        }
    }
    if (rc != EL_OK) goto done;
    char *wpath = el_path_join(out_dir, "model.safetensors");
    const char *mk[] = {"format"}, *mv[] = {"pt"};
    rc = el_st_write(wpath, W.e, W.n, mk, mv, 1);
    free(wpath);
    if (rc == EL_OK && HW.n > 0) {
        char *hpath = el_path_join(out_dir, "emolab_head.safetensors");
        rc = el_st_write(hpath, HW.e, HW.n, mk, mv, 1);
        free(hpath);
    }
    if (rc != EL_OK) goto done;

    /* config.json */
    cfg = json_loads(hf->config.text, 0, NULL);
    if (!json_is_object(cfg)) {
        rc = el_err("export: %s: cannot re-read", hf->config.file);
        goto done;
    }
    json_t *archs = json_array(), *id2 = json_object(), *l2id = json_object(), *em = json_object();
    json_array_append_new(archs, json_string(cls));
    json_object_set_new(cfg, "architectures", archs);
    json_object_set_new(cfg, "problem_type", json_string("multi_label_classification"));
    json_t *thr_o = json_object();
    for (int32_t i = 0; i < K; i++) {
        char k[16];
        snprintf(k, sizeof k, "%d", i);
        json_object_set_new(id2, k, json_string(labels.names[i]));
        json_object_set_new(l2id, labels.names[i], json_integer(i));
        char tv[32];
        snprintf(tv, sizeof tv, "%.6g", (double)thr[i]);
        json_object_set_new(thr_o, labels.names[i], json_real(strtod(tv, NULL)));
    }
    json_object_set_new(cfg, "id2label", id2);
    json_object_set_new(cfg, "label2id", l2id);
    json_object_set_new(cfg, "torch_dtype", json_string("float32"));
    const el_backbone_spec *bs = &spec.backbone;
    int32_t max_len = 0;
    {
        const el_encoder_config *ec = &hf->config.enc;
        int32_t positions = ec->max_positions - (ec->position_pad >= 0 ? ec->position_pad + 1 : 0);
        max_len = bs->max_len > 0 ? bs->max_len : (positions < 512 ? positions : 512);
    }
    json_object_set_new(em, "run", json_string(spec.name));
    json_object_set_new(em, "checkpoint", json_string(ckpt));
    json_object_set_new(em, "config_hash", json_string(spec.config_hash));
    json_object_set_new(em, "thresholds", thr_o);
    json_object_set_new(em, "pooling", json_string(el_pooling_name(pool)));
    json_object_set_new(em, "max_len", json_integer(max_len));
    json_object_set_new(em, "text_prefix", json_string(bs->text_prefix ? bs->text_prefix : ""));
    json_object_set_new(em, "head_mapping", json_string(map != MAP_NONE ? mapping : why));
    if (map == MAP_NONE) {
        json_t *hd = json_loads(spec.resolved_json, 0, NULL);
        json_t *head = hd ? json_incref(json_object_get(hd, "head")) : NULL;
        json_decref(hd);
        if (head) json_object_set_new(em, "head", head);
        if (pool == EL_POOL_CLS_CONCAT) json_object_set_new(em, "last_k", json_integer(bs->last_k));
        json_object_set_new(em, "head_file", json_string("emolab_head.safetensors"));
    }
    json_object_set_new(cfg, "emolab", em);
    if ((rc = write_json(out_dir, "config.json", cfg)) != EL_OK) goto done;
    int32_t copied = 0;
    if ((rc = copy_tokenizer(hf->dir, out_dir, max_len, arch == EL_HF_DISTILBERT, &copied)) != EL_OK) goto done;
    rc = write_readme(out_dir, el_hf_arch_name(arch), cls, &spec, &labels, thr, map, why,
                      bs->text_prefix && bs->text_prefix[0] ? bs->text_prefix : NULL, max_len);
    if (rc == EL_OK)
        fprintf(stderr, "exported %s to %s: %s, %d tensors%s, %d tokenizer files\n", ckpt, out_dir,
                cls, W.n, HW.n ? " + emolab_head.safetensors" : "", copied + 1);
done:
    json_decref(cfg);
    tl_free(&W);
    tl_free(&HW);
    el_model_free(&m);
    el_run_spec_free(&spec);
    el_labelset_free(&labels);
    free(ckpt);
    return rc;
}

/* ---- emolab export ----------------------------------------------------------------------- */
static void export_usage(FILE *out) {
    fprintf(out,
            "usage: emolab export RUN DIR [options]\n\n"
            "Writes a fine-tuned hf run as a Hugging Face model directory: config.json\n"
            "(problem_type multi_label_classification, id2label/label2id, the run's thresholds),\n"
            "model.safetensors, tokenizer files, README.md. RUN is a run id, id prefix or run name,\n"
            "a run directory (experiments/RUN_ID) or a checkpoint file.\n\n"
            "options:\n"
            "  --model-dir DIR   the source model directory, when the run's backbone.path moved\n"
            "  --registry FILE   the registry that knows RUN (default $EMOLAB_REGISTRY or ./registry.db)\n"
            "  --force           write into a non-empty DIR\n");
}

int cmd_export(int argc, char **argv) {
    el_export_params p = el_export_default_params();
    const char *run = NULL, *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            export_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--model-dir") && next) {
            p.model_dir = argv[++i];
        } else if (!strcmp(a, "--registry") && next) {
            p.registry = argv[++i];
        } else if (!strcmp(a, "--force")) {
            p.force = true;
        } else if (a[0] == '-') {
            fprintf(stderr, "emolab export: unknown option %s (emolab export --help)\n", a);
            return 2;
        } else if (!run) {
            run = a;
        } else if (!dir) {
            dir = a;
        } else {
            fprintf(stderr, "emolab export: one RUN and one DIR (got also %s)\n", a);
            return 2;
        }
    }
    if (!run || !dir) {
        export_usage(stderr);
        return 2;
    }
    if (el_export_hf(run, dir, &p) != 0) {
        fprintf(stderr, "emolab export: %s\n", el_last_error());
        return 1;
    }
    return 0;
}
