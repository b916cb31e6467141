/* hf_dump: runs emolab's hf encoder on texts for the Python parity tests (tests/hf_model).
 *
 *   hf_dump hidden DIR TEXTS OUT [--max-len N] [--grad R.f32] [--train-mode]
 *       tokenizes TEXTS (one hex-encoded UTF-8 text per line) with DIR's tokenizer.json, pads
 *       to the longest, runs the encoder in eval mode and writes ids, mask and the last hidden
 *       state. With --grad, R holds B*T*H floats: loss = sum(hidden * R) is backpropagated and
 *       the gradient w.r.t. the word embeddings [V, H] is written too.
 *   hf_dump pool DIR TEXTS OUT POOLING [--max-len N] [--last-k K] [--prefix P] [--freeze F]
 *       the hf backbone (prepare + forward in eval mode, length-sorted chunks) -> [n, D]
 *   hf_dump predict RUN TEXTS OUT
 *       a trained run (export.h: run directory, checkpoint or id) -> sigmoid probabilities [n, K]
 *   hf_dump load DIR
 *       loads the directory (config, weights, tokenizer) and prints a summary; exit 1 with the
 *       error message on failure (bad-input tests).
 *
 * OUT: a sequence of arrays, each: int32 kind (0 = i32, 1 = f32), int32 ndim, int64 dims[ndim],
 * then the data. */
#define _GNU_SOURCE
#include "export.h"
#include "model_hf.h"
#include "train.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexv(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static char **read_texts(const char *path, int32_t *count) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "hf_dump: cannot open %s\n", path);
        exit(2);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    char **t = NULL;
    int32_t n = 0, tcap = 0;
    while ((got = getline(&line, &cap, f)) >= 0) {
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) got--;
        char *s = malloc((size_t)got / 2 + 1);
        size_t k = 0;
        for (ssize_t i = 0; i + 1 < got; i += 2) s[k++] = (char)(hexv(line[i]) * 16 + hexv(line[i + 1]));
        s[k] = 0;
        if (n + 1 > tcap) {
            tcap = tcap ? tcap * 2 : 256;
            t = realloc(t, sizeof(char *) * (size_t)tcap);
        }
        t[n++] = s;
    }
    free(line);
    fclose(f);
    *count = n;
    return t;
}

static void write_arr(FILE *f, int32_t kind, int32_t nd, const int64_t *dims, const void *data) {
    int64_t n = 1;
    for (int32_t d = 0; d < nd; d++) n *= dims[d];
    fwrite(&kind, 4, 1, f);
    fwrite(&nd, 4, 1, f);
    fwrite(dims, 8, (size_t)nd, f);
    fwrite(data, 4, (size_t)n, f);
}

static int die(const char *what) {
    fprintf(stderr, "hf_dump: %s: %s\n", what, el_last_error()[0] ? el_last_error() : ts_last_error());
    return 1;
}

static const char *opt(int argc, char **argv, const char *name, const char *def) {
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) return argv[i + 1];
    return def;
}

static bool flag(int argc, char **argv, const char *name) {
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], name)) return true;
    return false;
}

static int cmd_hidden(int argc, char **argv) {
    const char *dir = argv[2], *texts_path = argv[3], *out = argv[4];
    int32_t max_len = atoi(opt(argc, argv, "--max-len", "0"));
    const char *grad_path = opt(argc, argv, "--grad", NULL);
    el_params ps = {0};
    el_hf_model m;
    if (el_hf_model_load(&m, dir, "m.", &ps, true) != 0) return die("load");
    int32_t n;
    char **texts = read_texts(texts_path, &n);
    el_batch b = {0};
    if (el_tokenize_batch(m.tok, (const char *const *)texts, NULL, n, max_len, &b) != 0)
        return die("tokenize");
    int64_t B = b.n_rows, T = b.seq_len, H = m.config.enc.hidden, V = m.config.enc.vocab_size;
    /* pad with the tokenizer's pad id as HF does */
    int32_t pad = el_tokenizer_pad_id(m.tok);
    for (int64_t i = 0; i < B * T; i++)
        if (!b.attention_mask[i] && pad >= 0) b.ids[i] = pad;
    ts_scope_begin();
    el_encoder_input in = {b.ids, b.type_ids, b.attention_mask, (int32_t)B, (int32_t)T};
    el_encoder_run run = {flag(argc, argv, "--train-mode"), -1, NULL};
    ts_tensor h = el_encoder_forward(&m.enc, &in, &run);
    if (!h) return die("forward");
    float *hd = malloc((size_t)(B * T * H) * sizeof(float));
    ts_copy_out(h, hd, TS_F32, B * T * H);
    FILE *f = fopen(out, "wb");
    int64_t d2[2] = {B, T}, d3[3] = {B, T, H}, dv[2] = {V, H};
    write_arr(f, 0, 2, d2, b.ids);
    write_arr(f, 0, 2, d2, b.attention_mask);
    write_arr(f, 1, 3, d3, hd);
    if (grad_path) {
        float *r = malloc((size_t)(B * T * H) * sizeof(float));
        FILE *rf = fopen(grad_path, "rb");
        if (!rf || fread(r, sizeof(float), (size_t)(B * T * H), rf) != (size_t)(B * T * H)) {
            fprintf(stderr, "hf_dump: %s: expected %lld floats\n", grad_path, (long long)(B * T * H));
            return 2;
        }
        fclose(rf);
        ts_tensor R = ts_from_data(r, TS_F32, d3, 3);
        ts_tensor loss = ts_sum(ts_mul(h, R));
        if (!loss || ts_backward(loss) != 0) return die("backward");
        ts_tensor g = ts_grad(m.enc.emb.word);
        if (!g) return die("grad");
        float *gd = malloc((size_t)(V * H) * sizeof(float));
        ts_copy_out(g, gd, TS_F32, V * H);
        write_arr(f, 1, 2, dv, gd);
        free(gd);
        free(r);
    }
    fclose(f);
    ts_scope_end();
    free(hd);
    el_batch_free(&b);
    for (int32_t i = 0; i < n; i++) free(texts[i]);
    free(texts);
    el_hf_model_free(&m);
    el_params_free(&ps);
    return 0;
}

static int cmd_pool(int argc, char **argv) {
    const char *dir = argv[2], *texts_path = argv[3], *out = argv[4];
    el_backbone_spec cfg = {0};
    cfg.type = "hf";
    cfg.path = (char *)dir;
    cfg.pooling = argv[5];
    cfg.max_len = atoi(opt(argc, argv, "--max-len", "0"));
    cfg.last_k = atoi(opt(argc, argv, "--last-k", "0"));
    cfg.text_prefix = (char *)opt(argc, argv, "--prefix", NULL);
    cfg.freeze = (char *)opt(argc, argv, "--freeze", "none");
    cfg.lr_scale = 1;
    el_params ps = {0};
    el_backbone *bb = el_backbone_build(&cfg, &ps);
    if (!bb) return die("build");
    int32_t n;
    char **texts = read_texts(texts_path, &n);
    void *in = bb->ops->prepare(bb, texts, n);
    if (!in) return die("prepare");
    int64_t *rows = malloc(sizeof(int64_t) * (size_t)n);
    for (int32_t i = 0; i < n; i++) rows[i] = i;
    ts_scope_begin();
    ts_no_grad_begin();
    ts_tensor y = bb->ops->forward(bb, in, rows, n, false);
    if (!y) return die("forward");
    int64_t D = bb->out_dim, d2[2] = {n, D};
    float *yd = malloc((size_t)(n * D) * sizeof(float));
    ts_copy_out(y, yd, TS_F32, n * D);
    /* a second call answers from the feature cache under freeze: all */
    ts_tensor y2 = bb->ops->forward(bb, in, rows, n, false);
    float *yd2 = malloc((size_t)(n * D) * sizeof(float));
    if (!y2 || ts_copy_out(y2, yd2, TS_F32, n * D) != 0) return die("forward 2");
    if (memcmp(yd, yd2, (size_t)(n * D) * sizeof(float))) {
        fprintf(stderr, "hf_dump: a second forward gave different features\n");
        return 1;
    }
    ts_no_grad_end();
    ts_scope_end();
    FILE *f = fopen(out, "wb");
    write_arr(f, 1, 2, d2, yd);
    fclose(f);
    free(yd);
    free(yd2);
    free(rows);
    bb->ops->free_inputs(in);
    el_backbone_free(bb);
    el_params_free(&ps);
    for (int32_t i = 0; i < n; i++) free(texts[i]);
    free(texts);
    return 0;
}

static int cmd_predict(int argc, char **argv) {
    const char *run = argv[2], *texts_path = argv[3], *out = argv[4];
    el_export_params p = el_export_default_params();
    p.registry = opt(argc, argv, "--registry", NULL);
    el_spec spec;
    el_model m;
    el_labelset labels;
    float thr[EL_MAX_LABELS];
    if (el_run_model_load(run, &p, &spec, &m, &labels, thr, NULL) != 0) return die("load run");
    int32_t n;
    char **texts = read_texts(texts_path, &n);
    void *in = m.backbone->ops->prepare(m.backbone, texts, n);
    if (!in) return die("prepare");
    float *probs = malloc(sizeof(float) * (size_t)n * (size_t)labels.n);
    if (el_predict_probs(&m, in, n, probs) != 0) return die("predict");
    FILE *f = fopen(out, "wb");
    int64_t d2[2] = {n, labels.n};
    write_arr(f, 1, 2, d2, probs);
    fclose(f);
    free(probs);
    m.backbone->ops->free_inputs(in);
    for (int32_t i = 0; i < n; i++) free(texts[i]);
    free(texts);
    el_model_free(&m);
    el_run_spec_free(&spec);
    el_labelset_free(&labels);
    return 0;
}

static int cmd_load(const char *dir) {
    el_params ps = {0};
    el_hf_model m;
    if (el_hf_model_load(&m, dir, "m.", &ps, true) != 0) {
        fprintf(stderr, "%s\n", el_last_error());
        el_params_free(&ps);
        return 1;
    }
    printf("%s: %s, %d layers, hidden %d, %lld parameters\n", dir, m.config.model_type,
           m.config.enc.n_layers, m.config.enc.hidden, (long long)el_params_count(&ps));
    el_hf_model_free(&m);
    el_params_free(&ps);
    return 0;
}

int main(int argc, char **argv) {
    ts_set_num_threads(1);
    if (argc >= 5 && !strcmp(argv[1], "hidden")) return cmd_hidden(argc, argv);
    if (argc >= 6 && !strcmp(argv[1], "pool")) return cmd_pool(argc, argv);
    if (argc >= 5 && !strcmp(argv[1], "predict")) return cmd_predict(argc, argv);
    if (argc >= 3 && !strcmp(argv[1], "load")) return cmd_load(argv[2]);
    fprintf(stderr, "usage: hf_dump hidden|pool|load ... (see the source)\n");
    return 2;
}
