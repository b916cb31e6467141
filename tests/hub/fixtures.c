/* fixtures.c: see fixtures.h. */
#define _GNU_SOURCE
#include "fixtures.h"

#include "testkit.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static hs_file plain(const char *path, const char *text) {
    hs_file f = {0};
    f.path = path;
    f.data = (const unsigned char *)strdup(text);
    f.size = strlen(text);
    f.drop_at = -1;
    return f;
}

static hs_file blob(const char *path, size_t n, uint32_t seed) {
    hs_file f = {0};
    f.path = path;
    f.data = tk_bytes(n, seed);
    f.size = n;
    f.lfs = true;
    f.drop_at = -1;
    return f;
}

static hs_file *files(int n, ...) {
    hs_file *fs = calloc((size_t)n, sizeof *fs);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) fs[i] = va_arg(ap, hs_file);
    va_end(ap);
    return fs;
}

#define CONFIG "{\"model_type\": \"bert\", \"hidden_size\": 32, \"num_labels\": 7}\n"

hs_repo *fx_repos(int32_t *n, int32_t big_mb) {
    hs_repo *r = calloc(32, sizeof *r);
    int k = 0;
    /* a complete small model: plain files, LFS weights, a nested path, extra files */
    r[k] = (hs_repo){.id = "test-org/tiny", .commit = FX_COMMIT, .revs = {"main", "v1.0"}};
    r[k].files = files(6, plain("config.json", CONFIG),
                       plain("tokenizer.json", "{\"version\": \"1.0\", \"model\": {}}\n"),
                       blob("model.safetensors", 300 * 1024 + 7, 1),
                       plain("sub/dir/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nпривет\n"),
                       plain("README.md", "# tiny\n"), blob("pytorch_model.bin", 4096, 2));
    r[k++].n_files = 6;
    r[k] = (hs_repo){.id = "test-org/gated", .commit = FX_COMMIT, .revs = {"main"},
                     .token = FX_TOKEN, .echo_auth = true};
    r[k].files = files(2, plain("config.json", CONFIG), blob("model.safetensors", 20000, 3));
    r[k++].n_files = 2;
    r[k] = (hs_repo){.id = "test-org/flaky", .commit = FX_COMMIT, .revs = {"main"}};
    r[k].files = files(2, plain("config.json", CONFIG), blob("model.safetensors", 50000, 4));
    r[k].files[0].fail_500 = 2;
    r[k].files[1].fail_500 = 2;
    r[k++].n_files = 2;
    r[k] = (hs_repo){.id = "test-org/always500", .commit = FX_COMMIT, .revs = {"main"}};
    r[k].files = files(1, blob("model.safetensors", 5000, 5));
    r[k].files[0].fail_500 = 1000;
    r[k++].n_files = 1;
    r[k] = (hs_repo){.id = "test-org/dropper", .commit = FX_COMMIT, .revs = {"main"}};
    r[k].files = files(2, plain("config.json", CONFIG), blob("model.safetensors", 1000000, 6));
    r[k].files[1].drop_at = 400000;
    r[k++].n_files = 2;
    r[k] = (hs_repo){.id = "test-org/stall", .commit = FX_COMMIT, .revs = {"main"}};
    r[k].files = files(1, blob("model.safetensors", 512 * 1024, 7));
    r[k].files[0].drop_at = 100000;
    r[k].files[0].stall_ms = 2500;
    r[k++].n_files = 1;
    r[k] = (hs_repo){.id = "test-org/badsha", .commit = FX_COMMIT, .revs = {"main"}};
    r[k].files = files(2, plain("config.json", CONFIG), blob("model.safetensors", 30000, 8));
    r[k].files[1].bad_sha = true;
    r[k++].n_files = 2;
    r[k] = (hs_repo){.id = "test-org/evil", .commit = FX_COMMIT, .revs = {"main"},
                     .extra_names = {"../evil.txt"}};
    r[k].files = files(1, plain("config.json", CONFIG));
    r[k++].n_files = 1;
    r[k] = (hs_repo){.id = "test-org/evil-abs", .commit = FX_COMMIT, .revs = {"main"},
                     .extra_names = {"/tmp/emolab-evil-abs.json"}};
    r[k].files = files(1, plain("config.json", CONFIG));
    r[k++].n_files = 1;
    r[k] = (hs_repo){.id = "test-org/html", .commit = FX_COMMIT, .revs = {"main"}, .html_api = true};
    r[k].files = files(1, plain("config.json", CONFIG));
    r[k++].n_files = 1;
    r[k] = (hs_repo){.id = "test-org/missing", .commit = FX_COMMIT, .revs = {"main"}};
    r[k].files = files(2, plain("config.json", CONFIG), blob("model.safetensors", 1000, 9));
    r[k].files[1].missing = true;
    r[k++].n_files = 2;
    r[k] = (hs_repo){.id = "test-org/huge", .commit = FX_COMMIT, .revs = {"main"}};
    r[k].files = files(1, blob("model.safetensors", 1000, 10));
    r[k].files[0].fake_size = (int64_t)1 << 50;
    r[k++].n_files = 1;
    r[k] = (hs_repo){.id = "test-org/partial", .commit = FX_COMMIT, .revs = {"main"}};
    r[k].files = files(1, blob("model.safetensors", 200000, 11));
    r[k++].n_files = 1;
    r[k] = (hs_repo){.id = "test-org/norange", .commit = FX_COMMIT, .revs = {"main"}};
    r[k].files = files(1, blob("model.safetensors", 200000, 12));
    r[k].files[0].no_range = true;
    r[k++].n_files = 1;
    r[k] = (hs_repo){.id = "test-org/onlybin", .commit = FX_COMMIT, .revs = {"main"}};
    r[k].files = files(2, plain("config.json", CONFIG), blob("pytorch_model.bin", 3000, 13));
    r[k++].n_files = 2;
    /* two processes overlap for sure: the first byte waits for the second HEAD, then the body
     * takes about a second */
    r[k] = (hs_repo){.id = "test-org/slow", .commit = FX_COMMIT2, .revs = {"main"}};
    r[k].files = files(1, blob("model.safetensors", 2 << 20, 14));
    r[k].files[0].kib_per_ms = 2;
    r[k].files[0].hold_for_heads = 2;
    r[k++].n_files = 1;
    /* a disk-full victim: 2 MiB for a 1 MiB file system */
    r[k] = (hs_repo){.id = "test-org/fat", .commit = FX_COMMIT, .revs = {"main"}};
    r[k].files = files(2, plain("config.json", CONFIG), blob("model.safetensors", 2 << 20, 15));
    r[k++].n_files = 2;
    /* a renamed repository: relative redirects to test-org/tiny */
    r[k] = (hs_repo){.id = "test-org/old-name", .commit = FX_COMMIT, .revs = {"main"},
                     .renamed_to = "test-org/tiny"};
    r[k].files = files(1, plain("config.json", CONFIG));
    r[k++].n_files = 1;
    if (big_mb > 0) {
        r[k] = (hs_repo){.id = "test-org/big", .commit = FX_COMMIT, .revs = {"main"}};
        r[k].files = files(1, blob("model.safetensors", (size_t)big_mb << 20, 16));
        r[k++].n_files = 1;
    }
    *n = k;
    return r;
}

void fx_free(hs_repo *repos, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        for (int32_t k = 0; k < repos[i].n_files; k++) free((void *)repos[i].files[k].data);
        free(repos[i].files);
    }
    free(repos);
}

hs_repo *fx_find(hs_repo *repos, int32_t n, const char *id) {
    for (int32_t i = 0; i < n; i++)
        if (!strcmp(repos[i].id, id)) return &repos[i];
    return NULL;
}

hs_file *fx_file(hs_repo *r, const char *path) {
    for (int32_t i = 0; i < r->n_files; i++)
        if (!strcmp(r->files[i].path, path)) return &r->files[i];
    return NULL;
}
