/* hf_config.c: see hf_config.h. */
#include "hf_config.h"
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *el_hf_arch_name(el_hf_arch a) {
    switch (a) {
    case EL_HF_BERT: return "bert";
    case EL_HF_ROBERTA: return "roberta";
    case EL_HF_XLM_ROBERTA: return "xlm-roberta";
    case EL_HF_DISTILBERT: return "distilbert";
    }
    return "?";
}

const char *el_hf_arch_class(el_hf_arch a) {
    switch (a) {
    case EL_HF_BERT: return "Bert";
    case EL_HF_ROBERTA: return "Roberta";
    case EL_HF_XLM_ROBERTA: return "XLMRoberta";
    case EL_HF_DISTILBERT: return "DistilBert";
    }
    return "?";
}

const char *el_hf_arch_weight_prefix(el_hf_arch a) {
    switch (a) {
    case EL_HF_BERT: return "bert.";
    case EL_HF_ROBERTA:
    case EL_HF_XLM_ROBERTA: return "roberta.";
    case EL_HF_DISTILBERT: return "distilbert.";
    }
    return "";
}

/* Integer key with a default; a present key must be an integer in [lo, hi]. */
static int get_int(json_t *root, const char *name, const char *key, int64_t def, int64_t lo,
                   int64_t hi, int32_t *out) {
    json_t *v = json_object_get(root, key);
    int64_t x = def;
    if (v && !json_is_null(v)) {
        if (json_is_integer(v)) {
            x = json_integer_value(v);
        } else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
                   fabs(json_real_value(v)) < 1e15) {
            x = (int64_t)json_real_value(v);
        } else {
            return el_err("%s: %s: expected an integer", name, key);
        }
    }
    if (x < lo || x > hi)
        return el_err("%s: %s: %lld is out of range [%lld, %lld]", name, key, (long long)x,
                      (long long)lo, (long long)hi);
    *out = (int32_t)x;
    return EL_OK;
}

static int get_num(json_t *root, const char *name, const char *key, double def, double lo,
                   double hi, bool hi_open, double *out) {
    json_t *v = json_object_get(root, key);
    double x = def;
    if (v && !json_is_null(v)) {
        if (!json_is_number(v)) return el_err("%s: %s: expected a number", name, key);
        x = json_number_value(v);
    }
    if (!(x >= lo) || !(hi_open ? x < hi : x <= hi))
        return el_err("%s: %s: %g is out of range [%g, %g%c", name, key, x, lo, hi,
                      hi_open ? ')' : ']');
    *out = x;
    return EL_OK;
}

static const char *get_str(json_t *root, const char *key, const char *def) {
    json_t *v = json_object_get(root, key);
    return json_is_string(v) ? json_string_value(v) : def;
}

static bool get_bool(json_t *root, const char *key) {
    json_t *v = json_object_get(root, key);
    return json_is_true(v);
}

static int parse_act(const char *name, const char *key, const char *s, el_act *out) {
    if (!strcmp(s, "gelu")) *out = EL_ACT_GELU;
    else if (!strcmp(s, "gelu_new") || !strcmp(s, "gelu_pytorch_tanh") || !strcmp(s, "gelu_fast"))
        *out = EL_ACT_GELU_TANH;
    else if (!strcmp(s, "relu")) *out = EL_ACT_RELU;
    else if (!strcmp(s, "silu") || !strcmp(s, "swish")) *out = EL_ACT_SILU;
    else
        return el_err("%s: %s: activation '%s' is not supported (supported: gelu, gelu_new, "
                      "gelu_pytorch_tanh, gelu_fast, relu, silu, swish)",
                      name, key, s);
    return EL_OK;
}

static int parse_bert_like(json_t *r, const char *name, el_hf_config *c) {
    el_encoder_config *e = &c->enc;
    const int32_t BIG = 1 << 24;
    bool roberta = c->arch != EL_HF_BERT;
    if (get_int(r, name, "vocab_size", 30522, 1, BIG, &e->vocab_size) ||
        get_int(r, name, "hidden_size", 768, 1, 65536, &e->hidden) ||
        get_int(r, name, "num_hidden_layers", 12, 0, EL_ENCODER_MAX_LAYERS, &e->n_layers) ||
        get_int(r, name, "num_attention_heads", 12, 1, 65536, &e->n_heads) ||
        get_int(r, name, "intermediate_size", 3072, 1, 1 << 20, &e->intermediate) ||
        get_int(r, name, "max_position_embeddings", 512, 1, 1 << 20, &e->max_positions) ||
        get_int(r, name, "type_vocab_size", 2, 0, 1 << 16, &e->type_vocab_size) ||
        get_num(r, name, "layer_norm_eps", 1e-12, 1e-30, 1, true, &e->ln_eps) ||
        get_num(r, name, "hidden_dropout_prob", 0.1, 0, 1, true, &e->hidden_dropout) ||
        get_num(r, name, "attention_probs_dropout_prob", 0.1, 0, 1, true, &e->attn_dropout))
        return EL_ERR;
    json_t *pad = json_object_get(r, "pad_token_id");
    if (pad && json_is_null(pad)) {
        c->pad_token_id = -1;
    } else if (get_int(r, name, "pad_token_id", roberta ? 1 : 0, 0, e->vocab_size - 1,
                       &c->pad_token_id)) {
        return EL_ERR;
    }
    e->emb_ln_eps = e->ln_eps;
    e->pad_id = c->pad_token_id;
    e->position_pad = roberta ? c->pad_token_id : -1;
    if (roberta && c->pad_token_id < 0)
        return el_err("%s: pad_token_id: %s needs one (position ids start after it)", name,
                      c->model_type);
    if (parse_act(name, "hidden_act", get_str(r, "hidden_act", "gelu"), &e->act)) return EL_ERR;
    const char *pet = get_str(r, "position_embedding_type", "absolute");
    if (strcmp(pet, "absolute"))
        return el_err("%s: position_embedding_type: '%s' is not supported (only absolute)", name,
                      pet);
    if (get_bool(r, "is_decoder") || get_bool(r, "add_cross_attention"))
        return el_err("%s: is_decoder/add_cross_attention: only encoders are supported", name);
    e->attn_out_dropout = true;
    e->scale_q = false;
    e->naming = EL_NAMES_BERT;
    return EL_OK;
}

static int parse_distilbert(json_t *r, const char *name, el_hf_config *c) {
    el_encoder_config *e = &c->enc;
    if (get_int(r, name, "vocab_size", 30522, 1, 1 << 24, &e->vocab_size) ||
        get_int(r, name, "dim", 768, 1, 65536, &e->hidden) ||
        get_int(r, name, "n_layers", 6, 0, EL_ENCODER_MAX_LAYERS, &e->n_layers) ||
        get_int(r, name, "n_heads", 12, 1, 65536, &e->n_heads) ||
        get_int(r, name, "hidden_dim", 3072, 1, 1 << 20, &e->intermediate) ||
        get_int(r, name, "max_position_embeddings", 512, 1, 1 << 20, &e->max_positions) ||
        get_num(r, name, "dropout", 0.1, 0, 1, true, &e->hidden_dropout) ||
        get_num(r, name, "attention_dropout", 0.1, 0, 1, true, &e->attn_dropout))
        return EL_ERR;
    json_t *pad = json_object_get(r, "pad_token_id");
    if (pad && json_is_null(pad)) c->pad_token_id = -1;
    else if (get_int(r, name, "pad_token_id", 0, 0, e->vocab_size - 1, &c->pad_token_id))
        return EL_ERR;
    if (parse_act(name, "activation", get_str(r, "activation", "gelu"), &e->act)) return EL_ERR;
    c->sinusoidal_pos = get_bool(r, "sinusoidal_pos_embds");
    e->type_vocab_size = 0;
    e->pad_id = c->pad_token_id;
    e->position_pad = -1;
    e->ln_eps = e->emb_ln_eps = 1e-12; /* fixed in DistilBERT's modeling code */
    e->attn_out_dropout = false;
    e->scale_q = true;
    e->naming = EL_NAMES_DISTILBERT;
    return EL_OK;
}

int el_hf_config_parse(const char *buf, size_t len, const char *name, el_hf_config *out) {
    memset(out, 0, sizeof *out);
    out->file = xstrdup(name ? name : "config.json");
    name = out->file;
    json_error_t jerr;
    json_t *r = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!r) {
        el_err("%s:%d:%d: not valid JSON: %s", name, jerr.line, jerr.column, jerr.text);
        el_hf_config_free(out);
        return EL_ERR;
    }
    int rc = EL_OK;
    const char *mt = NULL;
    if (!json_is_object(r)) {
        rc = el_err("%s: expected a JSON object", name);
    } else if (!(mt = get_str(r, "model_type", NULL))) {
        rc = el_err("%s: model_type: missing (expected bert, roberta, xlm-roberta or distilbert)",
                    name);
    } else {
        snprintf(out->model_type, sizeof out->model_type, "%s", mt);
        out->enc = el_encoder_default_config();
        if (!strcmp(mt, "bert")) out->arch = EL_HF_BERT;
        else if (!strcmp(mt, "roberta")) out->arch = EL_HF_ROBERTA;
        else if (!strcmp(mt, "xlm-roberta")) out->arch = EL_HF_XLM_ROBERTA;
        else if (!strcmp(mt, "distilbert")) out->arch = EL_HF_DISTILBERT;
        else
            rc = el_err("%s: model_type: '%s' is not supported (supported: bert, roberta, "
                        "xlm-roberta, distilbert)",
                        name, mt);
        if (rc == EL_OK)
            rc = out->arch == EL_HF_DISTILBERT ? parse_distilbert(r, name, out)
                                               : parse_bert_like(r, name, out);
        if (rc == EL_OK) rc = el_encoder_config_check(&out->enc, name);
    }
    json_decref(r);
    if (rc != EL_OK) {
        el_hf_config_free(out);
        return EL_ERR;
    }
    out->text = el_strndup(buf, len);
    return EL_OK;
}

int el_hf_config_load(const char *path, el_hf_config *out) {
    memset(out, 0, sizeof *out);
    struct stat st;
    char *file = (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) ? el_path_join(path, "config.json")
                                                               : xstrdup(path);
    char *buf = NULL;
    size_t len = 0;
    if (el_read_file(file, &buf, &len) != 0) {
        free(file);
        return el_err_prefix("model config");
    }
    int rc = el_hf_config_parse(buf, len, file, out);
    free(buf);
    free(file);
    return rc;
}

void el_hf_config_free(el_hf_config *c) {
    free(c->file);
    free(c->text);
    memset(c, 0, sizeof *c);
}
