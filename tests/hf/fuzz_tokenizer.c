/* libFuzzer targets for the tokenizers (issue 11): built when EMOLAB_FUZZ=ON (clang).
 *   fuzz_tokenizer_json: the input is a tokenizer.json; when it loads, a few texts are encoded.
 *   fuzz_tokenize_text:  the input is a text, encoded by the three tiny tokenizers.
 * Seeds: tests/hf/fuzz_seeds/{json,text}. Run e.g.
 *   build-fuzz/tests/hf/fuzz_tokenizer_json -max_total_time=600 tests/hf/fuzz_seeds/json */
#include "tiny_tokenizers.h"
#include "tokenize.h"

#include <string.h>

#ifdef FUZZ_JSON
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    el_tokenizer *t = el_tokenizer_from_json((const char *)data, size, "fuzz.json");
    if (!t) return 0;
    static const char *texts[] = {"", "Hello, мир! ёж", "  a  b  ", "<s> [CLS] <mask>", "\xf0\x9f\x98\x80\xcc\x81"};
    el_encoding e = {0};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        el_tokenize(t, texts[i], strlen(texts[i]), &e, 0);
        el_tokenize(t, texts[i], strlen(texts[i]), &e, 3);
    }
    el_encoding_free(&e);
    el_tokenizer_free(t);
    return 0;
}
#else
static el_tokenizer *g_tok[3];
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    g_tok[0] = el_tokenizer_from_json(WP, strlen(WP), "wp");
    g_tok[1] = el_tokenizer_from_json(BPE, strlen(BPE), "bpe");
    g_tok[2] = el_tokenizer_from_json(UNI, strlen(UNI), "uni");
    return 0;
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    el_encoding e = {0};
    for (int k = 0; k < 3; k++) {
        if (!g_tok[k]) continue;
        el_tokenize(g_tok[k], (const char *)data, size, &e, 0);
        el_tokenize(g_tok[k], (const char *)data, size, &e, 4);
    }
    el_encoding_free(&e);
    return 0;
}
#endif
