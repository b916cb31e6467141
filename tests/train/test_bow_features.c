/* The bow featurizer: token and n-gram counts worked out by hand, lowercasing, the range of
 * ids, and that the multi-threaded batch path gives exactly the one-text path's ids. */
#include "tokenize_bow.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);                  \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static int64_t count(const el_bow_params *p, const char *text, int64_t **ids, int64_t *cap) {
    return el_bow_featurize_one(p, text, ids, cap);
}

int main(void) {
    el_bow_params p = el_bow_default_params(); /* words 1-2, chars 3-5, 2^20 buckets */
    int64_t *ids = NULL, cap = 0;

    /* "Привет, мир!" -> tokens привет , мир ! (4 unigrams, 3 bigrams);
     * "<привет>" has 8 code points: 6 + 5 + 4 char n-grams of 3..5; "<мир>" 5: 3 + 2 + 1 */
    CHECK(count(&p, "Привет, мир!", &ids, &cap) == 4 + 3 + 15 + 6);
    for (int64_t i = 0; i < 28; i++) CHECK(ids[i] >= 0 && ids[i] < p.buckets);

    /* case does not matter when lowercasing, and does when not */
    int64_t *b = NULL, bcap = 0;
    int64_t n1 = count(&p, "ПРИВЕТ, МИР!", &b, &bcap);
    CHECK(n1 == 28 && memcmp(ids, b, 28 * sizeof(int64_t)) == 0);
    el_bow_params keep = p;
    keep.lowercase = false;
    count(&keep, "ПРИВЕТ, МИР!", &b, &bcap);
    CHECK(memcmp(ids, b, 28 * sizeof(int64_t)) != 0);

    /* whitespace of any kind separates; punctuation and emoji are tokens of their own */
    CHECK(count(&p, "a\tb\n", &ids, &cap) == 2 + 1 + (1 + 1)); /* "<a>" and "<b>": one 3-gram each */
    CHECK(count(&p, "", &ids, &cap) == 0);
    CHECK(count(&p, "   ", &ids, &cap) == 0);
    el_bow_params words = p;
    words.char_min = words.char_max = 0;
    CHECK(count(&words, "ну :) 🙂", &ids, &cap) == 4 + 3); /* ну : ) 🙂 */
    words.word_ngrams = 3;
    CHECK(count(&words, "один два три", &ids, &cap) == 3 + 2 + 1);

    /* the same n-gram gives the same id wherever it occurs; different kinds hash apart */
    el_bow_params uni = words;
    uni.word_ngrams = 1;
    int64_t x[2];
    count(&uni, "мир мир", &ids, &cap);
    x[0] = ids[0];
    x[1] = ids[1];
    CHECK(x[0] == x[1]);

    /* batch (threaded) == one by one */
    int64_t n = 9000;
    char **texts = xmalloc((size_t)n * sizeof(char *));
    for (int64_t i = 0; i < n; i++)
        texts[i] = el_printf("Текст номер %lld, и ещё %lld слов!", (long long)i, (long long)(i * 7));
    el_bow_features f;
    CHECK(el_bow_featurize(&p, texts, n, &f) == EL_OK);
    int ok = 1;
    for (int64_t i = 0; i < n && ok; i++) {
        int64_t k = count(&p, texts[i], &ids, &cap);
        if (k != f.offsets[i + 1] - f.offsets[i] ||
            memcmp(ids, f.ids + f.offsets[i], (size_t)k * sizeof(int64_t)) != 0)
            ok = 0;
    }
    CHECK(ok);
    el_bow_features_free(&f);
    for (int64_t i = 0; i < n; i++) free(texts[i]);
    free(texts);

    /* bad parameters are errors, not crashes */
    el_bow_params bad = p;
    bad.buckets = 0;
    CHECK(el_bow_featurize(&bad, NULL, 0, &f) == EL_ERR && strstr(el_last_error(), "buckets"));
    bad = p;
    bad.word_ngrams = 0;
    bad.char_min = 0;
    CHECK(el_bow_featurize(&bad, NULL, 0, &f) == EL_ERR && strstr(el_last_error(), "no features"));

    free(ids);
    free(b);
    if (failures) fprintf(stderr, "test_bow_features: %d checks failed\n", failures);
    else printf("test_bow_features: ok\n");
    return failures ? 1 : 0;
}
