/* fuzz_sweep.c: libFuzzer target for the sweep parser (issue #11). Arbitrary bytes as a sweep
 * file over a fixed base spec; on success a few trials are generated (grid, random) and, for
 * bayes, a suggestion from the first trials' draws.
 *
 *   cmake -DEMOLAB_FUZZ=ON ... ; build/tests/sweep/fuzz_sweep -max_total_time=60 tests/sweep/corpus
 *
 * Built with FUZZ_STANDALONE it feeds each file of $EMOLAB_SOURCE_DIR/tests/sweep/corpus (or
 * the paths given) once: the corpus as a regression test. */
#define _GNU_SOURCE
#include "spec.h"
#include "sweep_spec.h"
#include "util.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *BASE_SPEC = "data:\n"
                               "  train: [{path: tr.csv, format: goemotions}]\n"
                               "  val: {path: va.csv, format: goemotions}\n"
                               "  test: {path: te.csv, format: goemotions}\n"
                               "head: {layers: [768]}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static el_node *base;
    if (!base) base = el_yaml_parse(BASE_SPEC, strlen(BASE_SPEC), "base.yaml");
    el_sweep s;
    if (el_sweep_parse((const char *)data, size, "fuzz.yaml", "/nonexistent", base, &s) != EL_OK) return 0;
    int64_t n = s.n_trials < 4 ? s.n_trials : 4;
    for (int64_t i = 0; i < n; i++) {
        char *a = NULL;
        el_node *t = el_sweep_trial(&s, i, &a);
        el_node_free(t);
        free(a);
    }
    if (s.method == EL_SWEEP_BAYES && s.n_params > 0) {
        enum { N = EL_SWEEP_BAYES_STARTUP + 2 };
        el_node *vals[N][EL_SWEEP_MAX_PARAMS];
        el_sweep_obs obs[N];
        int32_t n_obs = 0;
        for (int32_t c = 0; c < N; c++) {
            if (el_sweep_suggest(&s, c, obs, n_obs, vals[c]) != EL_OK) break;
            obs[c] = (el_sweep_obs){vals[c], c % 3 == 2 ? NAN : (double)((c * 7) % 5)};
            n_obs++;
        }
        for (int32_t c = 0; c < n_obs; c++)
            for (int32_t j = 0; j < s.n_params; j++) el_node_free(vals[c][j]);
    }
    el_sweep_free(&s);
    return 0;
}

#ifdef FUZZ_STANDALONE
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

static int run_file(const char *path) {
    char *buf = NULL;
    size_t len = 0;
    if (el_read_file(path, &buf, &len)) {
        fprintf(stderr, "%s\n", el_last_error());
        return 1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
    free(buf);
    return 0;
}

static int run_path(const char *path, int *n) {
    int bad = 0;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char *p = el_path_join(path, e->d_name);
            bad |= run_file(p);
            (*n)++;
            free(p);
        }
        if (d) closedir(d);
    } else {
        bad |= run_file(path);
        (*n)++;
    }
    return bad;
}

int main(int argc, char **argv) {
    int bad = 0, n = 0;
    if (argc < 2) {
        char *dir = el_printf("%s/tests/sweep/corpus", el_env("EMOLAB_SOURCE_DIR", "."));
        bad = run_path(dir, &n);
        free(dir);
    }
    for (int i = 1; i < argc; i++) bad |= run_path(argv[i], &n);
    printf("fuzz_sweep: %d inputs ran\n", n);
    return bad || n == 0;
}
#endif
