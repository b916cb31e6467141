/* fuzz_hub_listing: the hub's model API answer (el_hub_parse_listing) on arbitrary bytes. A
 * listing that is accepted has a 40-hex commit and only safe relative file names (nothing
 * absolute, no '.' or '..' component, no backslash or control character): a hostile hub cannot
 * make emolab write outside the snapshot directory.
 *   build-fuzz/tests/fuzz/fuzz_hub_listing -max_total_time=600 tests/fuzz/seeds/hub_listing */
#include "fuzz_check.h"
#include "hub.h"
#include "digest.h"
#include "util.h"

#include <string.h>

static void check_safe(const char *name) {
    size_t n = strlen(name);
    FUZZ_REQUIRE(n > 0 && name[0] != '/');
    FUZZ_REQUIRE(strchr(name, '\\') == NULL);
    for (size_t i = 0; i < n; i++) FUZZ_REQUIRE((unsigned char)name[i] >= 32 && name[i] != 127);
    const char *part = name;
    for (;;) {
        const char *end = strchr(part, '/');
        size_t pn = end ? (size_t)(end - part) : strlen(part);
        FUZZ_REQUIRE(pn > 0);
        FUZZ_REQUIRE(!(pn == 1 && part[0] == '.'));
        FUZZ_REQUIRE(!(pn == 2 && part[0] == '.' && part[1] == '.'));
        if (!end) break;
        part = end + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char commit[41];
    char **files = NULL;
    int32_t n = 0;
    int rc = el_hub_parse_listing((const char *)data, size, commit, &files, &n);
    if (rc != EL_OK) {
        FUZZ_REQUIRE(rc >= 1 && rc <= 4 && files == NULL && n == 0);
        FUZZ_REQUIRE(el_last_error()[0] != 0);
        return 0;
    }
    FUZZ_REQUIRE(strlen(commit) == 40 && el_is_hex(commit, 40));
    for (int32_t i = 0; i < n; i++) {
        check_safe(files[i]);
        FUZZ_REQUIRE(el_hub_check_filename(files[i]) == EL_OK);
        free(files[i]);
    }
    free(files);
    return 0;
}
