/* fuzz_safetensors: the safetensors reader (el_st_parse) on arbitrary bytes. A file that loads
 * must describe tensors inside the buffer, with byte sizes matching dtype x shape, names that
 * find themselves, and metadata that reads back; a file that does not load names itself in the
 * message. Every tensor byte is read, so ASan sees any view outside the buffer.
 *   build-fuzz/tests/fuzz/fuzz_safetensors -max_total_time=600 tests/fuzz/seeds/safetensors */
#include "fuzz_check.h"
#include "safetensors.h"
#include "util.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    el_safetensors st;
    if (el_st_parse(data, size, "fuzz.safetensors", &st) != EL_OK) {
        FUZZ_REQUIRE(strstr(el_last_error(), "fuzz.safetensors") != NULL);
        return 0;
    }
    FUZZ_REQUIRE(st.n >= 0 && st.n_meta >= 0);
    unsigned sum = 0;
    for (int32_t i = 0; i < st.n; i++) {
        const el_st_tensor *t = &st.tensors[i];
        FUZZ_REQUIRE(t->name != NULL);
        FUZZ_REQUIRE(t->ndim >= 0 && t->ndim <= EL_ST_MAX_DIMS);
        int64_t numel = 1;
        for (int32_t d = 0; d < t->ndim; d++) {
            FUZZ_REQUIRE(t->shape[d] >= 0);
            numel *= t->shape[d];
        }
        FUZZ_REQUIRE(numel == t->numel);
        FUZZ_REQUIRE(t->nbytes == (size_t)t->numel * el_st_dtype_size(t->dtype));
        const uint8_t *p = t->data;
        FUZZ_REQUIRE(p >= data + 8 && p + t->nbytes <= data + size);
        for (size_t b = 0; b < t->nbytes; b++) sum += p[b];
        FUZZ_REQUIRE(el_st_find(&st, t->name) == t);
        FUZZ_REQUIRE(strcmp(el_st_dtype_name(t->dtype), "?") != 0);
    }
    for (int32_t i = 0; i < st.n_meta; i++)
        FUZZ_REQUIRE(el_st_meta(&st, st.meta_keys[i]) != NULL);
    el_st_close(&st);
    return (int)(sum & 0); /* the reads above must not be optimised away */
}
