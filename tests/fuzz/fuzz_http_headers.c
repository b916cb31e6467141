/* fuzz_http_headers: HTTP response headers as the hub client parses them. The input is split
 * into lines, each handed (in its own exactly-sized buffer, as libcurl does) to
 * el_http_parse_header_line; then the resolve metadata (el_hub_parse_file_headers), a same-origin
 * redirect (el_hub_redirect_target) and the name checks the fetch applies to what a hub says
 * (el_hub_check_filename, el_hub_parse_ref) run on the values.
 *   build-fuzz/tests/fuzz/fuzz_http_headers -max_total_time=600 tests/fuzz/seeds/http_headers */
#include "fuzz_check.h"
#include "hub.h"
#include "digest.h"
#include "util.h"

#include <ctype.h>
#include <string.h>

static void check_names(const char *v) {
    if (el_hub_check_filename(v) == EL_OK) {
        FUZZ_REQUIRE(v[0] != '/' && strcmp(v, "..") != 0 && strncmp(v, "../", 3) != 0);
        size_t n = strlen(v);
        FUZZ_REQUIRE(strstr(v, "/../") == NULL && !(n >= 3 && strcmp(v + n - 3, "/..") == 0));
    }
    char *repo = NULL, *rev = NULL;
    if (el_hub_parse_ref(v, &repo, &rev) == EL_OK) {
        FUZZ_REQUIRE(el_hub_check_repo_id(repo) == EL_OK && el_hub_check_revision(rev) == EL_OK);
        FUZZ_REQUIRE(strstr(repo, "..") == NULL && repo[0] != '/');
        char *folder = el_hub_folder_name(repo);
        FUZZ_REQUIRE(strchr(folder, '/') == NULL);
        free(folder);
    }
    free(repo);
    free(rev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    el_http_response r;
    memset(&r, 0, sizeof r);
    size_t i = 0;
    while (i < size) {
        const uint8_t *nl = memchr(data + i, '\n', size - i);
        size_t len = nl ? (size_t)(nl - (data + i)) + 1 : size - i;
        char *line = xmalloc(len ? len : 1);
        memcpy(line, data + i, len);
        el_http_parse_header_line(&r, line, len);
        free(line);
        i += len;
    }
    FUZZ_REQUIRE(r.n_headers >= 0 && r.n_headers <= EL_HTTP_MAX_HEADERS);
    for (int32_t h = 0; h < r.n_headers; h++) {
        for (const char *q = r.names[h]; *q; q++) FUZZ_REQUIRE(!isupper((unsigned char)*q));
        FUZZ_REQUIRE(el_http_header(&r, r.names[h]) != NULL);
        check_names(r.values[h]);
    }
    char commit[41], *etag = NULL;
    int64_t fsize;
    bool lfs;
    if (el_hub_parse_file_headers(&r, commit, &etag, &fsize, &lfs) == EL_OK) {
        FUZZ_REQUIRE(el_is_hex(commit, 40) && etag && *etag && strlen(etag) <= 128);
        for (const char *q = etag; *q; q++)
            FUZZ_REQUIRE(islower((unsigned char)*q) || isdigit((unsigned char)*q) || *q == '-' ||
                         *q == '_');
        FUZZ_REQUIRE(fsize >= -1);
    } else {
        FUZZ_REQUIRE(etag == NULL);
    }
    free(etag);
    const char *loc = el_http_header(&r, "location");
    if (loc) {
        static const char *base = "https://hub.example:8080/org/name/resolve/main/config.json";
        char *next = el_hub_redirect_target(base, loc);
        if (next) FUZZ_REQUIRE(strncmp(next, "https://hub.example:8080", 24) == 0);
        free(next);
    }
    el_http_response_free(&r);
    return 0;
}
