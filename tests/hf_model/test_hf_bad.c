/* test_hf_bad: bad model directories and specs for the hf backbone. Every case must fail with a
 * message that names the file and the key or tensor (and never crash); a valid tiny model made
 * here (config.json, model.safetensors, a hand-written WordPiece tokenizer.json) loads and runs.
 * Ends with a deterministic fuzz smoke run of the safetensors and config.json parsers (the
 * bodies of the libFuzzer targets in fuzz_hf.h). */
#define _GNU_SOURCE
#include "data/check.h"
#include "fuzz_hf.h"
#include "model_hf.h"

#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tiny_model.h"

/* el_hf_model_load must fail and the message contain every given piece. */
static void expect_load_error(const char *dir, ...) {
    el_params ps = {0};
    el_hf_model m;
    el_clear_error();
    int rc = el_hf_model_load(&m, dir, "b.", &ps, true);
    CHECK(rc != 0);
    if (rc == 0) {
        fprintf(stderr, "  %s loaded but should not\n", dir);
        el_hf_model_free(&m);
    } else {
        printf("  %s\n", el_last_error());
    }
    va_list ap;
    va_start(ap, dir);
    const char *piece;
    while ((piece = va_arg(ap, const char *))) CHECK_HAS(el_last_error(), piece);
    va_end(ap);
    el_params_free(&ps);
}

static char *config_with(const char *replace, const char *by) {
    const char *at = strstr(CONFIG_OK, replace);
    if (!at) {
        fprintf(stderr, "config_with: %s not found\n", replace);
        exit(1);
    }
    return el_printf("%.*s%s%s", (int)(at - CONFIG_OK), CONFIG_OK, by, at + strlen(replace));
}

/* a raw safetensors file: 8-byte length, header text, data bytes */
static void raw_st(const char *path, const char *header, size_t data_len, int64_t claimed_hlen) {
    size_t hl = strlen(header);
    uint64_t L = claimed_hlen >= 0 ? (uint64_t)claimed_hlen : hl;
    size_t n = 8 + hl + data_len;
    uint8_t *b = calloc(n + 1, 1);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(L >> (8 * i));
    memcpy(b + 8, header, hl);
    write_bytes(path, b, n);
    free(b);
}

static void test_valid(void) {
    char *d = model_dir("ok", NULL, (mutation){0});
    el_params ps = {0};
    el_hf_model m;
    int rc = el_hf_model_load(&m, d, "b.", &ps, true);
    CHECK(rc == 0);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    else el_hf_model_free(&m);
    el_params_free(&ps);
    /* through the backbone: prepare and forward two texts */
    el_backbone_spec cfg = {.type = "hf", .path = d, .pooling = "mean", .lr_scale = 1};
    el_backbone *bb = el_backbone_build(&cfg, &ps);
    CHECK(bb != NULL);
    if (bb) {
        char *texts[] = {"ab a b", "яя! ab"};
        void *in = bb->ops->prepare(bb, texts, 2);
        CHECK(in != NULL);
        int64_t rows[2] = {0, 1};
        ts_scope_begin();
        ts_tensor y = in ? bb->ops->forward(bb, in, rows, 2, true) : NULL;
        CHECK(y && ts_size(y, 0) == 2 && ts_size(y, 1) == 8);
        ts_scope_end();
        bb->ops->free_inputs(in);
        /* a row index outside the prepared texts */
        in = bb->ops->prepare(bb, texts, 1);
        ts_scope_begin();
        CHECK(bb->ops->forward(bb, in, rows + 1, 1, false) == NULL);
        CHECK_HAS(el_last_error(), "outside the 1 prepared texts");
        ts_scope_end();
        bb->ops->free_inputs(in);
        el_backbone_free(bb);
    }
    el_params_free(&ps);
    /* the same weights under the task-model prefix "bert." load too */
    char *d2 = fresh_dir("prefixed");
    write_text(d2, "config.json", CONFIG_OK);
    write_weights(d2, "model.safetensors", (mutation){.prefix = "bert."});
    write_tokenizer(d2, 11);
    rc = el_hf_model_load(&m, d2, "b.", &ps, true);
    CHECK(rc == 0);
    if (rc == 0) el_hf_model_free(&m);
    el_params_free(&ps);
    free(d2);
    free(d);
}

static void test_config(void) {
    printf("config.json:\n");
    char *d = fresh_dir("noconfig");
    write_weights(d, "model.safetensors", (mutation){0});
    expect_load_error(d, "noconfig/config.json", NULL);
    free(d);
    expect_load_error("/nonexistent/model", "not a model directory", NULL);
    struct {
        const char *name, *from, *to, *want1, *want2;
    } cases[] = {
        {"badjson", "\"bert\",", "\"bert\" ", "config.json:1:", "not valid JSON"},
        {"gpt2", "\"bert\"", "\"gpt2\"", "model_type: 'gpt2' is not supported", "bert, roberta"},
        {"hidden_str", "\"hidden_size\": 8", "\"hidden_size\": \"8\"", "hidden_size: expected an integer", "config.json"},
        {"heads", "\"num_attention_heads\": 2", "\"num_attention_heads\": 3", "3 attention heads do not divide", "config.json"},
        {"relpos", "\"hidden_act\"", "\"position_embedding_type\": \"relative_key\", \"hidden_act\"", "position_embedding_type", "relative_key"},
        {"act", "\"gelu\"", "\"mish\"", "hidden_act: activation 'mish'", "config.json"},
        {"neg", "\"num_hidden_layers\": 1", "\"num_hidden_layers\": -1", "num_hidden_layers: -1 is out of range", "config.json"},
        {"eps", "1e-12", "2.5", "layer_norm_eps", "config.json"},
        {"pad", "\"pad_token_id\": 0", "\"pad_token_id\": 99", "pad_token_id: 99", "config.json"},
        {"decoder", "\"hidden_act\"", "\"is_decoder\": true, \"hidden_act\"", "is_decoder", "config.json"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *cfg = config_with(cases[i].from, cases[i].to);
        char *dd = model_dir(cases[i].name, cfg, (mutation){0});
        expect_load_error(dd, cases[i].want1, cases[i].want2, NULL);
        free(cfg);
        free(dd);
    }
    /* not an object / no model_type */
    char *dd = model_dir("array", "[1, 2]", (mutation){0});
    expect_load_error(dd, "expected a JSON object", NULL);
    free(dd);
    dd = model_dir("nomodeltype", "{\"hidden_size\": 8}", (mutation){0});
    expect_load_error(dd, "model_type: missing", NULL);
    free(dd);
}

static void test_weights(void) {
    printf("weights:\n");
    char *d = model_dir("missing", NULL, (mutation){.skip = "encoder.layer.0.output.dense.weight"});
    expect_load_error(d, "missing/model.safetensors", "'encoder.layer.0.output.dense.weight' is missing",
                      NULL);
    free(d);
    d = model_dir("shape", NULL,
                  (mutation){.reshape = "encoder.layer.0.attention.self.query.weight", .rows = 8, .cols = 4});
    expect_load_error(d, "shape/model.safetensors", "'encoder.layer.0.attention.self.query.weight'",
                      "has shape [8, 4]", "implies [8, 8]", "config.json", NULL);
    free(d);
    d = model_dir("vocab", NULL, (mutation){.reshape = "embeddings.word_embeddings.weight", .rows = 13, .cols = 8});
    expect_load_error(d, "'embeddings.word_embeddings.weight' has shape [13, 8]", "vocab 12", NULL);
    free(d);
    d = model_dir("dtype", NULL, (mutation){.as_i64 = "embeddings.LayerNorm.bias"});
    expect_load_error(d, "'embeddings.LayerNorm.bias'", "I64 is not a floating type", NULL);
    free(d);
    /* pickle only */
    d = fresh_dir("pickle");
    write_text(d, "config.json", CONFIG_OK);
    write_text(d, "pytorch_model.bin", "PK\x03\x04 not really");
    write_tokenizer(d, 11);
    expect_load_error(d, "pytorch_model.bin only", "safetensors", NULL);
    free(d);
    d = fresh_dir("noweights");
    write_text(d, "config.json", CONFIG_OK);
    expect_load_error(d, "no model.safetensors", NULL);
    free(d);
}

static void test_corrupt_safetensors(void) {
    printf("corrupt safetensors:\n");
    struct {
        const char *name, *header;
        size_t data;
        int64_t hlen;
        const char *want1, *want2;
    } cases[] = {
        {"hlen", "{}", 0, 1 << 20, "header length 1048576 is beyond the file", NULL},
        {"hlen_huge", "{}", 0, INT64_MAX, "is beyond the file", NULL},
        {"offsets", "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 8, -1,
         "tensor 'w': data_offsets [0, 16] outside the data (8 bytes)", "truncated or corrupt"},
        {"overlap", "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
                    " \"b\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [8, 24]}}", 24, -1,
         "tensors 'a' and 'b' overlap", NULL},
        {"dtype", "{\"w\": {\"dtype\": \"F8_E4M3\", \"shape\": [4], \"data_offsets\": [0, 4]}}", 4, -1,
         "tensor 'w': unsupported dtype 'F8_E4M3'", NULL},
        {"size", "{\"w\": {\"dtype\": \"F32\", \"shape\": [5], \"data_offsets\": [0, 16]}}", 16, -1,
         "tensor 'w': 16 bytes for shape of 5 F32", NULL},
        {"notjson", "{\"w\": [", 0, -1, "header JSON", NULL},
        {"negshape", "{\"w\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 0]}}", 0, -1,
         "shape[0] is not a non-negative integer", NULL},
        {"overflow", "{\"w\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 4294967296], \"data_offsets\": [0, 0]}}", 0, -1,
         "shape overflows", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *d = fresh_dir(cases[i].name);
        write_text(d, "config.json", CONFIG_OK);
        write_tokenizer(d, 11);
        char *p = el_path_join(d, "model.safetensors");
        raw_st(p, cases[i].header, cases[i].data, cases[i].hlen);
        expect_load_error(d, p, cases[i].want1, cases[i].want2 ? cases[i].want2 : "", NULL);
        free(p);
        free(d);
    }
    /* shorter than the length prefix */
    char *d = fresh_dir("tiny");
    write_text(d, "config.json", CONFIG_OK);
    char *p = el_path_join(d, "model.safetensors");
    write_bytes(p, "\x02\x00", 2);
    expect_load_error(d, p, "shorter than the 8-byte header length", NULL);
    free(p);
    free(d);
    /* a valid file cut in the middle of its data */
    d = model_dir("cut", NULL, (mutation){0});
    p = el_path_join(d, "model.safetensors");
    struct stat st;
    stat(p, &st);
    CHECK(truncate(p, st.st_size - 100) == 0);
    expect_load_error(d, p, "outside the data", "truncated or corrupt", NULL);
    free(p);
    free(d);
}

static void test_shards(void) {
    printf("sharded:\n");
    /* a valid 2-shard model: each tensor comes from the shard the index names */
    char *d = fresh_dir("shards");
    write_text(d, "config.json", CONFIG_OK);
    write_tokenizer(d, 11);
    const char *odd = "encoder.layer.0.output.dense.weight";
    write_weights(d, "a.safetensors", (mutation){.skip = odd});
    write_weights(d, "b.safetensors", (mutation){0});
    el_encoder_config c = el_encoder_default_config();
    c.vocab_size = 12, c.hidden = 8, c.n_layers = 1, c.n_heads = 2, c.intermediate = 16;
    c.max_positions = 16, c.type_vocab_size = 2;
    el_params ps = {0};
    el_encoder e;
    CHECK(el_encoder_build(&e, &c, "", &ps) == 0);
    el_buf ix = {0};
    el_buf_puts(&ix, "{\"metadata\": {\"total_size\": 0}, \"weight_map\": {");
    for (int32_t i = 0; i < e.n_tensors; i++)
        el_buf_printf(&ix, "%s\"%s\": \"%s\"", i ? ", " : "", e.tensors[i].name,
                      strcmp(e.tensors[i].name, odd) ? "a.safetensors" : "b.safetensors");
    el_buf_puts(&ix, "}}");
    write_text(d, "model.safetensors.index.json", ix.s);
    el_hf_model m;
    int rc = el_hf_model_load(&m, d, "b.", &ps, true);
    CHECK(rc == 0);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    else el_hf_model_free(&m);
    el_params_free(&ps);
    /* an index that leaves a tensor out: missing, named with the index file */
    write_text(d, "model.safetensors.index.json",
               "{\"weight_map\": {\"embeddings.word_embeddings.weight\": \"a.safetensors\"}}");
    expect_load_error(d, "model.safetensors.index.json", "'embeddings.position_embeddings.weight' is missing", NULL);
    el_buf_free(&ix);
    el_encoder_free(&e);
    el_params_free(&ps);
    struct {
        const char *name, *index, *want1, *want2;
    } cases[] = {
        {"traversal", "{\"weight_map\": {\"w\": \"../ok/model.safetensors\"}}", "weight_map.w", "file name inside"},
        {"absent", "{\"weight_map\": {\"w\": \"nothere.safetensors\"}}", "nothere.safetensors: cannot open", "index.json lists it"},
        {"notin", "{\"weight_map\": {\"nope\": \"a.safetensors\"}}", "tensor 'nope' is listed in shard", "a.safetensors"},
        {"nomap", "{\"metadata\": {}}", "weight_map: missing", NULL},
        {"empty", "{\"weight_map\": {}}", "weight_map is empty", NULL},
        {"badjson", "{\"weight_map\": ", "index.json:1:", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *dd = fresh_dir(cases[i].name);
        char *sub = el_printf("%s/sh_%s", g_root, cases[i].name);
        el_mkdirs(sub, 0755);
        write_text(sub, "config.json", CONFIG_OK);
        write_tokenizer(sub, 11);
        write_weights(sub, "a.safetensors", (mutation){0});
        write_text(sub, "model.safetensors.index.json", cases[i].index);
        expect_load_error(sub, cases[i].want1, cases[i].want2 ? cases[i].want2 : "", NULL);
        free(sub);
        free(dd);
    }
    free(d);
}

static void test_tokenizer_and_spec(void) {
    printf("tokenizer and spec:\n");
    char *d = fresh_dir("notok");
    write_text(d, "config.json", CONFIG_OK);
    write_weights(d, "model.safetensors", (mutation){0});
    expect_load_error(d, "tokenizer of", "notok", NULL);
    write_text(d, "tokenizer.json", "{\"version\": \"1.0\", \"model\": {\"type\": \"WordLevel\", \"vocab\": {}, \"unk_token\": \"x\"}}");
    expect_load_error(d, "tokenizer of", "WordLevel", NULL);
    free(d);
    /* the tokenizer knows an id beyond the model's vocabulary: refused when a text uses it */
    d = model_dir("bigvocab", NULL, (mutation){0});
    write_tokenizer(d, 40);
    el_params ps = {0};
    el_backbone_spec cfg = {.type = "hf", .path = d, .pooling = "cls", .lr_scale = 1};
    el_backbone *bb = el_backbone_build(&cfg, &ps);
    CHECK(bb != NULL);
    if (bb) {
        char *texts[] = {"ab", "zz ab"};
        void *in = bb->ops->prepare(bb, texts, 2);
        CHECK(in == NULL);
        CHECK_HAS(el_last_error(), "text 2: token id 40 is outside the model's vocabulary of 12");
        printf("  %s\n", el_last_error());
        el_backbone_free(bb);
    }
    el_params_free(&ps);
    free(d);
    d = model_dir("specs", NULL, (mutation){0});
    struct {
        el_backbone_spec cfg;
        const char *want;
    } cases[] = {
        {{.type = "hf", .path = d, .pooling = "bogus"}, "backbone.pooling: 'bogus'"},
        {{.type = "hf", .path = d, .max_len = 100}, "backbone.max_len: 100 is more than the 16 positions"},
        {{.type = "hf", .path = d, .max_len = 2}, "leaves no room for text"},
        {{.type = "hf", .path = d, .pooling = "cls_concat", .last_k = 3}, "backbone.last_k: 3 is more than the model's 1 layers"},
        {{.type = "hf", .path = d, .freeze = "some"}, "backbone.freeze: 'some'"},
        {{.type = "hf", .path = d, .freeze = "first_k", .freeze_k = 5}, "backbone.freeze_k: 5 is out of range [0, 1]"},
        {{.type = "hf", .path = d, .layer_lr_decay = 1.5}, "backbone.layer_lr_decay"},
        {{.type = "hf", .pooling = "cls"}, "needs `path`"},
        {{.type = "hf", .name = "org/model@main"}, "backbone.name"},
    };
    /* backbone.name resolves through the hub: offline, with an empty cache, it fails fast */
    char *cache = el_path_join(g_root, "hub_cache");
    setenv("HF_HUB_CACHE", cache, 1);
    setenv("HF_HUB_OFFLINE", "1", 1);
    free(cache);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        el_clear_error();
        bb = el_backbone_build(&cases[i].cfg, &ps);
        CHECK(bb == NULL);
        if (bb) el_backbone_free(bb);
        else printf("  %s\n", el_last_error());
        CHECK_HAS(el_last_error(), cases[i].want);
        el_params_free(&ps);
    }
    /* the pooler is BERT's: a model without pooler weights refuses pooling: pooler */
    bb = el_backbone_build(&(el_backbone_spec){.type = "hf", .path = d, .pooling = "pooler"}, &ps);
    CHECK(bb == NULL);
    CHECK_HAS(el_last_error(), "no pooler.dense weights");
    el_params_free(&ps);
    free(d);
}

/* ---- fuzz smoke ---------------------------------------------------------------------------- */
static uint64_t g_rng = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 32);
}

static void fuzz_smoke(void) {
    char *d = model_dir("fuzzseed", NULL, (mutation){0});
    char *p = el_path_join(d, "model.safetensors"), *buf = NULL;
    size_t len = 0;
    CHECK(el_read_file(p, &buf, &len) == 0);
    uint8_t *m = malloc(len + 64);
    int64_t n_st = 0, n_cfg = 0;
    for (int i = 0; i < 20000; i++) { /* byte flips in the header, cuts, length changes */
        memcpy(m, buf, len);
        size_t n = len;
        int k = 1 + (int)(rnd() % 4);
        for (int j = 0; j < k; j++) {
            size_t at = rnd() % (n < 600 ? n : 600);
            m[at] = rnd() % 3 ? (uint8_t) "0123456789{}[],:\"FI-"[rnd() % 20] : (uint8_t)rnd();
        }
        if (rnd() % 5 == 0) n = rnd() % (len + 1);
        fuzz_safetensors_input(m, n);
        n_st++;
    }
    size_t cl = strlen(CONFIG_OK);
    for (int i = 0; i < 20000; i++) {
        memcpy(m, CONFIG_OK, cl);
        size_t n = cl;
        int k = 1 + (int)(rnd() % 3);
        for (int j = 0; j < k; j++) m[rnd() % n] = (uint8_t)"0123456789-.e{}[],:\" ntfu"[rnd() % 25];
        fuzz_hf_config_input(m, n);
        n_cfg++;
    }
    printf("fuzz smoke: %lld safetensors, %lld config.json inputs\n", (long long)n_st, (long long)n_cfg);
    free(m);
    free(buf);
    free(p);
    free(d);
}

int main(void) {
    snprintf(g_root, sizeof g_root, "/tmp/emolab_hf_bad_%d", (int)getpid());
    el_mkdirs(g_root, 0755);
    int64_t h0 = ts_live_handles();
    test_valid();
    test_config();
    test_weights();
    test_corrupt_safetensors();
    test_shards();
    test_tokenizer_and_spec();
    CHECK_I(ts_live_handles(), h0); /* nothing leaked, failures included */
    fuzz_smoke();
    char *cmd = el_printf("rm -rf '%s'", g_root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_root);
    free(cmd);
    return check_done("test_hf_bad");
}
