/* test_tokenize_c: the tokenizer C API without Python: tiny hand-written tokenizer.json buffers
 * of each kind, special ids, truncation, errors, batches and bucket plans, and an in-process
 * mutation fuzz of the loader and the tokenizers (must never crash; run it under ASan too). */
#include "tokenize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_fail = 0, g_pass = 0;
#define CHECK(cond, ...)                                                              \
    do {                                                                              \
        if (cond) g_pass++;                                                           \
        else {                                                                        \
            g_fail++;                                                                 \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                             \
            fprintf(stderr, "\n");                                                    \
        }                                                                             \
    } while (0)

#include "tiny_tokenizers.h"

static el_tokenizer *load(const char *json) { return el_tokenizer_from_json(json, strlen(json), "test.json"); }

static void expect_ids(const el_tokenizer *t, const char *text, int32_t max_len, const int32_t *want, int32_t n) {
    el_encoding e = {0};
    int rc = el_tokenize(t, text, strlen(text), &e, max_len);
    CHECK(rc == 0, "%s", el_last_error());
    int same = rc == 0 && e.len == n;
    for (int32_t i = 0; same && i < n; i++) same = e.ids[i] == want[i] && e.attention_mask[i] == 1;
    if (!same) {
        fprintf(stderr, "  text '%s' max_len %d: got", text, (int)max_len);
        for (int32_t i = 0; i < e.len; i++) fprintf(stderr, " %d", (int)e.ids[i]);
        fprintf(stderr, "; want");
        for (int32_t i = 0; i < n; i++) fprintf(stderr, " %d", (int)want[i]);
        fprintf(stderr, "\n");
    }
    CHECK(same, "ids of '%s'", text);
    el_encoding_free(&e);
}

static uint64_t g_rng = 0x1234567;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 11);
}

static void fuzz_text(const el_tokenizer *t, int iters) {
    el_encoding e = {0};
    char buf[256];
    static const char *pieces[] = {"a", "b", " ", "  ", "\xd0\xb5", "\xd0\xbb", "<s>", "<mask>", "[SEP]", "\xe2\x96\x81",
                                   "\xf0\x9f\x98\x80", "\xcc\x81", "\t", "\n", "!", "\x00", "\xc4\xa0", "##"};
    for (int it = 0; it < iters; it++) {
        size_t n = 0;
        int mode = (int)(rnd() % 2);
        int len = (int)(rnd() % 40);
        for (int k = 0; k < len && n < sizeof buf - 8; k++) {
            if (mode == 0) buf[n++] = (char)(rnd() & 0xFF);
            else {
                const char *p = pieces[rnd() % (sizeof pieces / sizeof *pieces)];
                size_t l = p[0] ? strlen(p) : 1;
                memcpy(buf + n, p, l);
                n += l;
            }
        }
        int32_t ml = (int32_t)(rnd() % 6);
        if (el_tokenize(t, buf, n, &e, ml) == 0) {
            for (int32_t i = 0; i < e.len; i++)
                if (e.ids[i] < 0 || e.ids[i] >= el_tokenizer_vocab_size(t)) {
                    CHECK(0, "id %d out of range", (int)e.ids[i]);
                    break;
                }
            if (ml >= el_tokenizer_num_special(t) && ml > 0) CHECK(e.len <= ml, "truncation to %d gave %d", (int)ml, (int)e.len);
        }
    }
    el_encoding_free(&e);
}

static void fuzz_json(const char *json, int iters) {
    size_t n0 = strlen(json);
    char *buf = malloc(n0 + 64);
    static const char alpha[] = "{}[]\",:0123456789-.eE truefalsnul\\u\xc4\xa0\xe2\x96\x81";
    int loaded = 0;
    for (int it = 0; it < iters; it++) {
        memcpy(buf, json, n0);
        size_t n = n0;
        int edits = 1 + (int)(rnd() % 4);
        for (int k = 0; k < edits; k++) {
            size_t pos = rnd() % (n ? n : 1);
            switch (rnd() % 4) {
            case 0: buf[pos] = alpha[rnd() % (sizeof alpha - 1)]; break;
            case 1: buf[pos] = (char)(rnd() & 0xFF); break;
            case 2: n = pos; break; /* truncate */
            case 3:
                if (n + 1 < n0 + 64) {
                    memmove(buf + pos + 1, buf + pos, n - pos);
                    buf[pos] = alpha[rnd() % (sizeof alpha - 1)];
                    n++;
                }
                break;
            }
        }
        el_tokenizer *t = el_tokenizer_from_json(buf, n, "fuzz.json");
        if (t) {
            loaded++;
            fuzz_text(t, 20);
            el_tokenizer_free(t);
        } else {
            CHECK(strstr(el_last_error(), "fuzz.json") != NULL, "error without the file name: %s", el_last_error());
        }
    }
    free(buf);
    printf("fuzz: %d mutations, %d still loaded\n", iters, loaded);
}

int main(void) {
    /* ---- WordPiece ---- */
    el_tokenizer *wp = load(WP);
    CHECK(wp != NULL, "%s", el_last_error());
    if (wp) {
        CHECK(el_tokenizer_model(wp) == EL_TOK_WORDPIECE, "model");
        CHECK(el_tokenizer_vocab_size(wp) == 11, "vocab %d", (int)el_tokenizer_vocab_size(wp));
        CHECK(el_tokenizer_pad_id(wp) == 0 && el_tokenizer_cls_id(wp) == 2 && el_tokenizer_sep_id(wp) == 3 &&
                  el_tokenizer_unk_id(wp) == 1 && el_tokenizer_mask_id(wp) == 4,
              "special ids");
        CHECK(el_tokenizer_max_len_hint(wp) == 12, "hint");
        CHECK(el_tokenizer_num_special(wp) == 2, "num special");
        /* "ЁЛКА" -> lowercase + accent strip -> "елка" -> ел ##ка; "Йод" -> "иод"; "!" */
        expect_ids(wp, "\xd0\x81\xd0\x9b\xd0\x9a\xd0\x90 \xd0\x99\xd0\xbe\xd0\xb4!", 0, (int32_t[]){2, 5, 6, 7, 8, 3}, 6);
        expect_ids(wp, "\xd0\x81\xd0\x9b\xd0\x9a\xd0\x90 \xd0\x99\xd0\xbe\xd0\xb4!", 4, (int32_t[]){2, 5, 6, 3}, 4);
        expect_ids(wp, "", 0, (int32_t[]){2, 3}, 2);
        expect_ids(wp, "xyz [MASK] [mask]", 0, (int32_t[]){2, 1, 4, 1, 1, 1, 3}, 7);
        /* longer than max_input_chars_per_word (10) -> one [UNK] */
        expect_ids(wp, "\xd0\xb5\xd0\xbb\xd0\xbb\xd0\xbb\xd0\xbb\xd0\xbb\xd0\xbb\xd0\xbb\xd0\xbb\xd0\xbb\xd0\xbb", 0,
                   (int32_t[]){2, 1, 3}, 3);
        el_encoding e = {0};
        CHECK(el_tokenize(wp, "a", 1, &e, 1) != 0, "max_len 1 < 2 specials must fail");
        CHECK(strstr(el_last_error(), "max_len") != NULL, "%s", el_last_error());
        CHECK(el_tokenize(wp, "\xff", 1, &e, 0) != 0 && strstr(el_last_error(), "UTF-8"), "invalid UTF-8: %s", el_last_error());
        CHECK(el_tokenize_ex(wp, "!", 1, &e, 0, false) == 0 && e.len == 1 && e.ids[0] == 8, "no specials");
        el_encoding_free(&e);
        size_t l;
        const char *s = el_tokenizer_id_to_token(wp, 6, &l);
        CHECK(s && l == 6 && !memcmp(s, "##\xd0\xba\xd0\xb0", 6), "id_to_token");
        CHECK(el_tokenizer_token_to_id(wp, "[SEP]", 5) == 3 && el_tokenizer_token_to_id(wp, "zz", 2) == -1, "token_to_id");
        CHECK(el_tokenizer_id_to_token(wp, 99, NULL) == NULL && el_tokenizer_id_to_token(wp, -1, NULL) == NULL, "bad id");

        /* batch: padded to the longest row with pad id 0, mask 0 */
        const char *texts[] = {"!", "\xd0\xb5\xd0\xbb\xd0\xba\xd0\xb0 !", ""};
        el_batch b = {0};
        CHECK(el_tokenize_batch(wp, texts, NULL, 3, 0, &b) == 0, "%s", el_last_error());
        CHECK(b.n_rows == 3 && b.seq_len == 5, "batch shape %d x %d", (int)b.n_rows, (int)b.seq_len);
        int32_t want_ids[15] = {2, 8, 3, 0, 0, 2, 5, 6, 8, 3, 2, 3, 0, 0, 0};
        int32_t want_mask[15] = {1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
        CHECK(!memcmp(b.ids, want_ids, sizeof want_ids) && !memcmp(b.attention_mask, want_mask, sizeof want_mask), "batch content");
        CHECK(b.lengths[0] == 3 && b.lengths[1] == 5 && b.lengths[2] == 2, "lengths");
        const char *bad[] = {"ok", "\xc3"};
        CHECK(el_tokenize_batch(wp, bad, NULL, 2, 0, &b) != 0 && strstr(el_last_error(), "row 1"), "%s", el_last_error());
        el_batch_free(&b);
    }

    /* ---- byte-level BPE ---- */
    el_tokenizer *bpe = load(BPE);
    CHECK(bpe != NULL, "%s", el_last_error());
    if (bpe) {
        CHECK(el_tokenizer_model(bpe) == EL_TOK_BPE && el_tokenizer_pad_id(bpe) == 1, "bpe facts");
        expect_ids(bpe, "ab ab a", 0, (int32_t[]){0, 8, 8, 7, 2}, 5);
        expect_ids(bpe, "ab <mask>", 0, (int32_t[]){0, 8, 3, 2}, 4); /* lstrip eats the space */
        expect_ids(bpe, "abab", 0, (int32_t[]){0, 8, 9, 2}, 4);
    }

    /* ---- Unigram ---- */
    el_tokenizer *uni = load(UNI);
    CHECK(uni != NULL, "%s", el_last_error());
    if (uni) {
        CHECK(el_tokenizer_model(uni) == EL_TOK_UNIGRAM && el_tokenizer_unk_id(uni) == 3, "unigram facts");
        /* ▁ab scores -4.5 beats ▁a + b (-6.5) and ▁ + ab (-7) */
        expect_ids(uni, "ab", 0, (int32_t[]){0, 7, 2}, 3);
        /* unknown chars are fused into one <unk>; double spaces collapse (Replace " {2,}") */
        expect_ids(uni, "a  xyz", 0, (int32_t[]){0, 9, 4, 3, 2}, 5);
        expect_ids(uni, "\xef\xbd\x81\xef\xbd\x82", 0, (int32_t[]){0, 7, 2}, 3); /* NFKC: fullwidth ab */
    }

    /* ---- bucket plans ---- */
    int32_t lens[100];
    for (int i = 0; i < 100; i++) lens[i] = 1 + (i * 37) % 50;
    el_bucket_params p = el_bucket_default_params();
    p.batch_size = 8;
    p.bucket_batches = 3;
    p.seed = 11;
    el_batch_plan a, b2, c;
    CHECK(el_bucket_plan(lens, 100, p, &a) == 0, "%s", el_last_error());
    CHECK(el_bucket_plan(lens, 100, p, &b2) == 0, "plan");
    p.seed = 12;
    CHECK(el_bucket_plan(lens, 100, p, &c) == 0, "plan");
    CHECK(a.n_batches == 13 && a.offsets[13] == 100, "batches %d", (int)a.n_batches);
    CHECK(!memcmp(a.order, b2.order, sizeof(int32_t) * 100), "same seed, same plan");
    CHECK(memcmp(a.order, c.order, sizeof(int32_t) * 100) != 0, "other seed, other plan");
    int seen[100] = {0}, sorted = 1;
    for (int i = 0; i < 100; i++) seen[a.order[i]]++;
    for (int i = 0; i < 100; i++) CHECK(seen[i] == 1, "index %d seen %d times", i, seen[i]);
    for (int32_t k = 0; k < a.n_batches; k++)
        for (int32_t i = a.offsets[k] + 1; i < a.offsets[k + 1]; i++)
            if (lens[a.order[i - 1]] > lens[a.order[i]]) sorted = 0;
    CHECK(sorted, "rows of a batch sorted by length");
    el_batch_plan_free(&a);
    el_batch_plan_free(&b2);
    el_batch_plan_free(&c);
    p.batch_size = 0;
    CHECK(el_bucket_plan(lens, 100, p, &a) != 0, "batch_size 0 refused");

    /* ---- loader errors ---- */
    CHECK(el_tokenizer_from_json("{", 1, "x.json") == NULL && strstr(el_last_error(), "x.json:1:"), "%s", el_last_error());
    CHECK(el_tokenizer_from_json(NULL, 0, "x.json") == NULL, "NULL buffer");
    CHECK(el_tokenizer_load("/nonexistent/tokenizer.json") == NULL && strstr(el_last_error(), "/nonexistent"), "%s", el_last_error());
    static const char wl[] = "{\"model\":{\"type\":\"WordLevel\",\"vocab\":{}}}";
    CHECK(el_tokenizer_from_json(wl, sizeof wl - 1, "w.json") == NULL &&
              strstr(el_last_error(), "w.json: model.type: unsupported model 'WordLevel'"),
          "%s", el_last_error());

    /* ---- fuzz ---- */
    if (wp) fuzz_text(wp, 3000);
    if (bpe) fuzz_text(bpe, 3000);
    if (uni) fuzz_text(uni, 3000);
    int iters = atoi(el_env("EMOLAB_TOK_FUZZ_ITERS", "20000"));
    fuzz_json(WP, iters);
    fuzz_json(BPE, iters);
    fuzz_json(UNI, iters);

    el_tokenizer_free(wp);
    el_tokenizer_free(bpe);
    el_tokenizer_free(uni);
    el_tokenizer_free(NULL);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
