/* fuzz_st_index: a sharded model's model.safetensors.index.json (el_st_index_parse) on arbitrary
 * bytes. An accepted index maps every tensor to one of at most EL_ST_MAX_SHARDS shard files,
 * each a plain file name inside the model directory (no '/', '\\', '.', '..', control
 * characters): a hostile index cannot make emolab open files elsewhere.
 *   build-fuzz/tests/fuzz/fuzz_st_index -max_total_time=600 tests/fuzz/seeds/st_index */
#include "fuzz_check.h"
#include "safetensors.h"
#include "util.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    el_st_model m;
    memset(&m, 0, sizeof m);
    char **shards = NULL;
    int32_t n = 0;
    int rc = el_st_index_parse((const char *)data, size, "fuzz/model.safetensors.index.json",
                               "fuzz", &m, &shards, &n);
    if (rc != EL_OK) {
        FUZZ_REQUIRE(shards == NULL && n == 0);
        FUZZ_REQUIRE(strstr(el_last_error(), "fuzz/model.safetensors.index.json") != NULL);
    } else {
        FUZZ_REQUIRE(n >= 1 && n <= EL_ST_MAX_SHARDS && m.n_map >= 1);
        for (int32_t k = 0; k < n; k++) {
            const char *s = shards[k];
            FUZZ_REQUIRE(*s && strcmp(s, ".") && strcmp(s, ".."));
            for (const char *c = s; *c; c++)
                FUZZ_REQUIRE(*c != '/' && *c != '\\' && (unsigned char)*c >= 0x20);
            for (int32_t j = 0; j < k; j++) FUZZ_REQUIRE(strcmp(shards[j], s) != 0);
        }
        for (int32_t i = 0; i < m.n_map; i++)
            FUZZ_REQUIRE(m.map_names[i] && m.map_files[i] >= 0 && m.map_files[i] < n);
    }
    for (int32_t k = 0; k < n; k++) free(shards[k]);
    free(shards);
    el_st_model_close(&m);
    return 0;
}
