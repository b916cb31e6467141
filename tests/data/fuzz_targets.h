/* fuzz_targets.h: one-input bodies shared by the libFuzzer targets (fuzz_csv.c, fuzz_labels.c,
 * built with -DEMOLAB_FUZZ=ON and clang) and the deterministic smoke test (test_data_fuzz.c).
 * Each parses arbitrary bytes and checks the parser's invariants; a violation aborts. */
#ifndef EL_FUZZ_TARGETS_H
#define EL_FUZZ_TARGETS_H

#include "csv.h"
#include "data.h"
#include "labels.h"
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

/* byte 0 picks the reader's parameters, the rest is the CSV */
static inline void fuzz_csv_input(const uint8_t *d, size_t n) {
    if (n == 0) return;
    el_csv_params p = el_csv_default_params();
    p.header = !(d[0] & 1);
    p.max_field = 1 + (size_t)((d[0] >> 1) & 7) * 9;
    p.max_record = 1 + (size_t)((d[0] >> 4) & 7) * 23;
    p.max_fields = 1 + (d[0] >> 7) * 7;
    el_csv *c = el_csv_open_mem((const char *)d + 1, n - 1, "fuzz.csv", p);
    if (!c) {
        FUZZ_REQUIRE(strstr(el_last_error(), "fuzz.csv") != NULL);
        return;
    }
    for (int32_t i = 0; i < el_csv_n_columns(c); i++)
        FUZZ_REQUIRE(el_csv_column(c, el_csv_column_name(c, i)) >= 0);
    int r;
    int64_t rows = 0, line = 0;
    while ((r = el_csv_next(c)) == 1) {
        rows++;
        FUZZ_REQUIRE(el_csv_row(c) == rows);
        FUZZ_REQUIRE(el_csv_line(c) > line);
        line = el_csv_line(c);
        FUZZ_REQUIRE(el_csv_n_fields(c) >= 1 && el_csv_n_fields(c) <= p.max_fields);
        if (p.header) FUZZ_REQUIRE(el_csv_n_fields(c) == el_csv_n_columns(c));
        size_t total = 0;
        for (int32_t i = 0; i < el_csv_n_fields(c); i++) {
            size_t len;
            const char *f = el_csv_field(c, i, &len);
            FUZZ_REQUIRE(f != NULL && len <= p.max_field && f[len] == 0);
            total += len;
        }
        FUZZ_REQUIRE(total <= p.max_record);
    }
    if (r < 0) {
        FUZZ_REQUIRE(strstr(el_last_error(), "fuzz.csv:") != NULL);
        FUZZ_REQUIRE(el_csv_next(c) == -1);
    } else {
        FUZZ_REQUIRE(el_csv_next(c) == 0);
    }
    char hex[65];
    FUZZ_REQUIRE(el_csv_sha256(c, hex) == 0 && strlen(hex) == 64);
    el_csv_close(c);
}

static inline void fuzz_labels_input(const uint8_t *d, size_t n) {
    el_label_config lc;
    if (el_labels_parse((const char *)d, n, "fuzz.yaml", &lc) != 0) {
        FUZZ_REQUIRE(strstr(el_last_error(), "fuzz.yaml") != NULL);
        return;
    }
    FUZZ_REQUIRE(lc.set.n >= 1 && lc.set.n <= EL_MAX_LABELS);
    uint64_t all = lc.set.n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << lc.set.n) - 1);
    for (int32_t m = 0; m < lc.n_maps; m++)
        for (int32_t i = 0; i < lc.maps[m].n; i++) {
            FUZZ_REQUIRE((lc.maps[m].targets[i] & ~all) == 0);
            FUZZ_REQUIRE(el_label_map_find(&lc.maps[m], lc.maps[m].sources[i]) == i);
        }
    el_labels_free(&lc);
}

/* normalised text: valid UTF-8, no leading/trailing/double spaces, idempotent */
static inline void fuzz_normalize_input(const uint8_t *d, size_t n) {
    char *s = el_strndup((const char *)d, n);
    char *a = el_text_normalize(s);
    size_t la = strlen(a);
    FUZZ_REQUIRE(el_utf8_invalid_at(a, la) < 0);
    FUZZ_REQUIRE(la == 0 || (a[0] != ' ' && a[la - 1] != ' '));
    FUZZ_REQUIRE(strstr(a, "  ") == NULL);
    char *b = el_text_normalize(a);
    FUZZ_REQUIRE(strcmp(a, b) == 0);
    free(b);
    free(a);
    free(s);
}

#endif
