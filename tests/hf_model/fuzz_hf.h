/* fuzz_hf.h: one-input bodies shared by the libFuzzer targets (fuzz_safetensors.c,
 * fuzz_hf_config.c; -DEMOLAB_FUZZ=ON with clang) and the deterministic smoke run in
 * test_hf_bad.c. Each parses arbitrary bytes and checks the parser's invariants; a violation
 * aborts. */
#ifndef EL_FUZZ_HF_H
#define EL_FUZZ_HF_H

#include "hf_config.h"
#include "safetensors.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_REQUIRE(c)                                                                 \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c);   \
            abort();                                                                    \
        }                                                                               \
    } while (0)

/* a safetensors file: every tensor lies inside the data, sizes agree, float reads work */
static inline void fuzz_safetensors_input(const uint8_t *d, size_t n) {
    el_safetensors st;
    if (el_st_parse(d, n, "fuzz.safetensors", &st) != 0) {
        FUZZ_REQUIRE(strstr(el_last_error(), "fuzz.safetensors") != NULL);
        return;
    }
    for (int32_t i = 0; i < st.n; i++) {
        const el_st_tensor *t = &st.tensors[i];
        const uint8_t *p = t->data;
        FUZZ_REQUIRE(p >= d + 8 && p + t->nbytes <= d + n);
        FUZZ_REQUIRE(t->nbytes == (size_t)t->numel * el_st_dtype_size(t->dtype));
        FUZZ_REQUIRE(el_st_find(&st, t->name) != NULL);
        if (t->numel <= 4096) {
            float *f = malloc((size_t)t->numel * sizeof(float) + 1);
            int rc = el_st_read_f32(t, f, t->numel, "fuzz.safetensors");
            FUZZ_REQUIRE(rc == 0 || t->dtype != EL_ST_F32);
            free(f);
        }
    }
    el_st_close(&st);
}

/* a config.json: accepted configs pass the encoder's own checks */
static inline void fuzz_hf_config_input(const uint8_t *d, size_t n) {
    el_hf_config c;
    if (el_hf_config_parse((const char *)d, n, "fuzz/config.json", &c) != 0) {
        FUZZ_REQUIRE(strstr(el_last_error(), "fuzz/config.json") != NULL);
        return;
    }
    FUZZ_REQUIRE(el_encoder_config_check(&c.enc, "fuzz") == 0);
    FUZZ_REQUIRE(c.enc.hidden % c.enc.n_heads == 0);
    el_hf_config_free(&c);
}

#endif
