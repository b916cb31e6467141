/* test_regressions: one check per bug that hardening (issue #11) found in C code, each of which
 * failed before its fix. The fuzz-found inputs themselves are replayed by fuzz_*_replay.
 *  - el_err("...%s", el_last_error()): formatted into the buffer it read from (overlapping
 *    vsnprintf): garbled and doubled messages ("training step 1: training step 1: ...");
 *  - el_http_parse_header_line read the status code with atoi past the end of a header line
 *    that is not NUL-terminated (fuzz_http_headers), and accepted any number of digits;
 *  - el_hub_parse_file_headers / el_hub_parse_listing: the buffer entry points behave as the
 *    fetch did before they were split out (refusals, normalised ETags, unsafe names);
 *  - safetensors: a sharded index with a shard per tensor made the shard lookup quadratic
 *    (200,000 tensors: minutes); el_st_find was a linear scan, so checking every tensor of a
 *    file with many was quadratic too (200,000 tensors: over a minute). */
#include "hub.h"
#include "http.h"
#include "safetensors.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(c, ...)                                                    \
    do {                                                                 \
        if (!(c)) {                                                      \
            failures++;                                                  \
            fprintf(stderr, "%s:%d: FAIL: %s: ", __FILE__, __LINE__, #c); \
            fprintf(stderr, __VA_ARGS__);                                \
            fprintf(stderr, "\n");                                       \
        }                                                                \
    } while (0)

static void test_err_alias(void) {
    el_err("inner %d", 1);
    el_err("outer: %s", el_last_error());
    CHECK(!strcmp(el_last_error(), "outer: inner 1"), "got '%s'", el_last_error());
    char long_msg[5000];
    memset(long_msg, 'x', sizeof long_msg - 1);
    long_msg[sizeof long_msg - 1] = 0;
    el_err("%s", long_msg);
    el_err("a: %s", el_last_error());
    CHECK(!strncmp(el_last_error(), "a: xxx", 6) && strlen(el_last_error()) < 4096, "truncated");
    el_err("base");
    el_err_prefix("p%d", 2);
    CHECK(!strcmp(el_last_error(), "p2: base"), "got '%s'", el_last_error());
}

static el_http_response headers(const char *const *lines) {
    el_http_response r;
    memset(&r, 0, sizeof r);
    for (int i = 0; lines[i]; i++) {
        size_t n = strlen(lines[i]);
        char *exact = xmalloc(n ? n : 1); /* not NUL-terminated, like libcurl's buffer */
        memcpy(exact, lines[i], n);
        el_http_parse_header_line(&r, exact, n);
        free(exact);
    }
    return r;
}

static void test_status_line(void) {
    static const struct {
        const char *line;
        int status;
    } cases[] = {
        {"HTTP/1.1 200 OK\r\n", 200}, {"HTTP/2 404 \r\n", 404},     {"HTTP/1.1 302", 302},
        {"HTTP/1.1 3", 0},            {"HTTP/1.1 2000 x\r\n", 0},   {"HTTP/1.1 99999999999999\r\n", 0},
        {"HTTP/1.1", 0},              {"HTTP/ 12a\r\n", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *lines[] = {cases[i].line, NULL};
        el_http_response r = headers(lines);
        CHECK(r.status == cases[i].status, "'%s': status %d, want %d", cases[i].line, r.status,
              cases[i].status);
        el_http_response_free(&r);
    }
    /* a new status line starts a new response: the headers of a redirect are dropped */
    const char *lines[] = {"HTTP/1.1 302 Found\r\n", "Location: /x\r\n", "\r\n",
                           "HTTP/1.1 200 OK\r\n", "ETag: \"ab\"\r\n", NULL};
    el_http_response r = headers(lines);
    CHECK(r.status == 200 && !el_http_header(&r, "location") &&
              !strcmp(el_http_header(&r, "ETAG"), "\"ab\""), "redirect headers kept");
    el_http_response_free(&r);
}

static void test_file_headers(void) {
    const char *sha = "0123456789abcdef0123456789abcdef01234567";
    char c1[64], c2[64], c3[64];
    snprintf(c1, sizeof c1, "X-Repo-Commit: %s\r\n", sha);
    snprintf(c2, sizeof c2, "X-Repo-Commit: %.39s\r\n", sha);
    snprintf(c3, sizeof c3, "X-Repo-Commit: %s", sha);
    char commit[41], *etag;
    int64_t size;
    bool lfs;
    const char *lfs_lines[] = {"HTTP/1.1 302 Found\r\n", c1, "X-Linked-Etag: \"ABCdef\"\r\n",
                               "X-Linked-Size: 1234\r\n", "Content-Length: 5\r\n", NULL};
    el_http_response r = headers(lfs_lines);
    CHECK(el_hub_parse_file_headers(&r, commit, &etag, &size, &lfs) == EL_OK && !strcmp(commit, sha) &&
              !strcmp(etag, "abcdef") && size == 1234 && lfs, "lfs headers");
    free(etag);
    el_http_response_free(&r);
    const char *plain[] = {"HTTP/1.1 200 OK\r\n", c3, "ETag: W/\"0a1b\"\r\n", "Content-Length: 77\r\n", NULL};
    r = headers(plain);
    CHECK(el_hub_parse_file_headers(&r, commit, &etag, &size, &lfs) == EL_OK && !strcmp(etag, "0a1b") &&
              size == 77 && !lfs, "plain headers");
    free(etag);
    el_http_response_free(&r);
    const char *short_commit[] = {"HTTP/1.1 200 OK\r\n", c2, "ETag: \"ab\"\r\n", NULL};
    r = headers(short_commit);
    CHECK(el_hub_parse_file_headers(&r, commit, &etag, &size, &lfs) == 1 && !etag, "short commit");
    el_http_response_free(&r);
    const char *bad_etag[] = {"HTTP/1.1 200 OK\r\n", c1, "ETag: \"../../x\"\r\n", NULL};
    r = headers(bad_etag);
    CHECK(el_hub_parse_file_headers(&r, commit, &etag, &size, &lfs) == 3 && !etag, "unsafe etag");
    el_http_response_free(&r);
    const char *no_etag[] = {"HTTP/1.1 200 OK\r\n", c1, NULL};
    r = headers(no_etag);
    CHECK(el_hub_parse_file_headers(&r, commit, &etag, &size, &lfs) == 2 && !etag, "no etag");
    el_http_response_free(&r);

    char *next = el_hub_redirect_target("https://hub.example/a/resolve/main/f", "/b/resolve/main/f");
    CHECK(next && !strcmp(next, "https://hub.example/b/resolve/main/f"), "relative redirect");
    free(next);
    CHECK(!el_hub_redirect_target("https://hub.example/a", "https://cdn.example/x"), "other origin");
    CHECK(!el_hub_redirect_target("https://hub.example/a", "//cdn.example/x"), "scheme-relative");
}

static void test_listing(void) {
    char commit[41], **files;
    int32_t n;
    const char *ok = "{\"sha\":\"0123456789abcdef0123456789abcdef01234567\",\"siblings\":"
                     "[{\"rfilename\":\"config.json\"},{\"rfilename\":\"onnx/model.onnx\"}]}";
    CHECK(el_hub_parse_listing(ok, strlen(ok), commit, &files, &n) == EL_OK && n == 2 &&
              !strcmp(files[1], "onnx/model.onnx"), "listing");
    for (int32_t i = 0; i < n; i++) free(files[i]);
    free(files);
    static const struct {
        const char *json;
        int rc;
    } bad[] = {
        {"<html>", 1},
        {"[1]", 1},
        {"{\"sha\":\"x\",\"siblings\":[]}", 2},
        {"{\"sha\":\"0123456789abcdef0123456789abcdef01234567\",\"siblings\":[{}]}", 3},
        {"{\"sha\":\"0123456789abcdef0123456789abcdef01234567\",\"siblings\":"
         "[{\"rfilename\":\"a\"},{\"rfilename\":\"../../.bashrc\"}]}", 4},
        {"{\"sha\":\"0123456789abcdef0123456789abcdef01234567\",\"siblings\":"
         "[{\"rfilename\":\"/etc/passwd\"}]}", 4},
        {"{\"sha\":\"0123456789abcdef0123456789abcdef01234567\",\"siblings\":"
         "[{\"rfilename\":\"a\\\\..\\\\b\"}]}", 4},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = el_hub_parse_listing(bad[i].json, strlen(bad[i].json), commit, &files, &n);
        CHECK(rc == bad[i].rc && !files && n == 0, "listing %zu: rc %d, want %d", i, rc, bad[i].rc);
    }
}

static void test_safetensors_scale(void) {
    /* an index listing 200,000 tensors, each in its own shard: refused at the shard bound */
    el_buf b = {0};
    el_buf_puts(&b, "{\"weight_map\": {");
    for (int i = 0; i < 200000; i++)
        el_buf_printf(&b, "%s\"t%06d\": \"s%06d.safetensors\"", i ? "," : "", i, i);
    el_buf_puts(&b, "}}");
    el_st_model m;
    memset(&m, 0, sizeof m);
    char **shards;
    int32_t n;
    double t0 = el_now();
    int rc = el_st_index_parse(b.s, b.len, "x/model.safetensors.index.json", "x", &m, &shards, &n);
    double dt = el_now() - t0;
    CHECK(rc != EL_OK && strstr(el_last_error(), "shard files"), "refused: %s", el_last_error());
    CHECK(dt < 10, "the index took %.1fs", dt);
    el_st_model_close(&m);
    el_buf_free(&b);

    /* one file with 200,000 (empty) tensors: every one looked up */
    el_buf h = {0};
    el_buf_puts(&h, "{");
    for (int i = 0; i < 200000; i++)
        el_buf_printf(&h, "%s\"tensor.%06d\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}",
                      i ? "," : "", (i * 7919) % 200000);
    el_buf_puts(&h, "}");
    size_t len = 8 + h.len;
    uint8_t *file = xmalloc(len);
    for (int i = 0; i < 8; i++) file[i] = (uint8_t)((uint64_t)h.len >> (8 * i));
    memcpy(file + 8, h.s, h.len);
    el_safetensors st;
    CHECK(el_st_parse(file, len, "many.safetensors", &st) == EL_OK, "%s", el_last_error());
    t0 = el_now();
    int found = 0;
    char name[32];
    for (int i = 0; i < st.n; i++) {
        snprintf(name, sizeof name, "tensor.%06d", i);
        const el_st_tensor *t = el_st_find(&st, name);
        found += t && !strcmp(t->name, name);
    }
    dt = el_now() - t0;
    CHECK(found == 200000 && !el_st_find(&st, "tensor.200000") && !el_st_find(&st, ""),
          "found %d", found);
    CHECK(dt < 10, "200,000 lookups took %.1fs", dt);
    el_st_close(&st);
    free(file);
    el_buf_free(&h);
}

int main(void) {
    test_err_alias();
    test_safetensors_scale();
    test_status_line();
    test_file_headers();
    test_listing();
    if (failures) {
        fprintf(stderr, "test_regressions: %d checks failed\n", failures);
        return 1;
    }
    printf("test_regressions: ok\n");
    return 0;
}
