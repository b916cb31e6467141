/* test_data_fuzz: a deterministic fuzz smoke run (seconds) of the CSV reader, the label-set
 * parser and text normalisation, through the same bodies as the libFuzzer targets. Inputs come
 * from a fixed-seed generator over alphabets that hit the parsers' special bytes, plus random
 * byte flips of the shipped label sets. Failures abort (run it under EMOLAB_SANITIZE for memory
 * errors). */
#include "fuzz_targets.h"

static uint64_t g_rng = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 32);
}

static size_t gen(uint8_t *out, size_t max, const char *const *alpha, size_t n_alpha) {
    size_t len = 0, want = rnd() % max;
    while (len < want) {
        const char *a = alpha[rnd() % n_alpha];
        size_t k = strlen(a);
        if (k == 0) k = 1; /* "" stands for a NUL byte */
        if (len + k > max) break;
        memcpy(out + len, a, k);
        len += k;
    }
    return len;
}

int main(void) {
    static const char *const csv_alpha[] = {"\"", "\"\"", ",", "\n", "\r", "\r\n", "a", "bc",
                                            "\xEF\xBB\xBF", "\xD0\xBF", "\xFF", " ", "", "text",
                                            "labels"};
    static const char *const norm_alpha[] = {"A", "z", "Я", "ё", "Ё", "1", "½", " ", "_", "-",
                                             "\xcc\x81", "\xF0\x9F\x98\x82", "\xFF", "\xC3",
                                             "ΣΑ", "ǅ", "İ", "ß", "\t", "Ⅻ", "ﬁ"};
    uint8_t buf[600];
    int64_t n_csv = 0, n_lab = 0, n_norm = 0;
    for (int i = 0; i < 40000; i++) {
        size_t n = gen(buf + 1, sizeof buf - 1, csv_alpha, sizeof csv_alpha / sizeof *csv_alpha);
        buf[0] = (uint8_t)rnd();
        fuzz_csv_input(buf, n + 1);
        n_csv++;
    }
    for (int i = 0; i < 40000; i++) {
        size_t n = gen(buf, 200, norm_alpha, sizeof norm_alpha / sizeof *norm_alpha);
        fuzz_normalize_input(buf, n);
        n_norm++;
    }
    const char *sets[] = {"ekman7", "goemotions28"};
    for (int s = 0; s < 2; s++) {
        char *path = el_labels_find(sets[s]);
        char *yaml = NULL;
        size_t len = 0;
        if (!path || el_read_file(path, &yaml, &len)) {
            fprintf(stderr, "%s\n", el_last_error());
            return 1;
        }
        fuzz_labels_input((const uint8_t *)yaml, len); /* the file itself parses */
        uint8_t *m = malloc(len + 1);
        for (int i = 0; i < 3000; i++) {
            memcpy(m, yaml, len);
            int flips = 1 + (int)(rnd() % 4);
            for (int k = 0; k < flips; k++)
                m[rnd() % len] = (uint8_t)"~[]{}:,-&*!|>'\"#\n 0a"[rnd() % 20];
            size_t cut = rnd() % 8 == 0 ? rnd() % len : len;
            fuzz_labels_input(m, cut);
            n_lab++;
        }
        free(m);
        free(yaml);
        free(path);
    }
    /* billion laughs: aliases must not blow up the label-set walk */
    const char *laughs = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
                         "c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nlabels: *c\nmaps: {m: {k: *c}}\n";
    fuzz_labels_input((const uint8_t *)laughs, strlen(laughs));
    printf("test_data_fuzz: %lld CSV inputs, %lld label-set inputs, %lld texts: no invariant broken\n",
           (long long)n_csv, (long long)n_lab, (long long)n_norm);
    return 0;
}
