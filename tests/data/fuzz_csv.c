/* libFuzzer target (clang, -DEMOLAB_FUZZ=ON): see fuzz_targets.h. */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_csv_input(data, size);
    return 0;
}
