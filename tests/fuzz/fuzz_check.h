/* fuzz_check.h: FUZZ_REQUIRE for the fuzz targets of tests/fuzz (an invariant that fails aborts,
 * which libFuzzer reports as a crash with its input). */
#ifndef EL_FUZZ_CHECK_H
#define EL_FUZZ_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_REQUIRE(c)                                                                 \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c);   \
            abort();                                                                    \
        }                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
