/* libFuzzer target (clang, -DEMOLAB_FUZZ=ON): see fuzz_hf.h. */
#include "fuzz_hf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_hf_config_input(data, size);
    return 0;
}
