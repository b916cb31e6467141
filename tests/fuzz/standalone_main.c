/* standalone_main.c: runs a fuzz target's LLVMFuzzerTestOneInput over files, without libFuzzer.
 * ctest uses it to replay the committed seeds and every input that once crashed a target
 * (tests/fuzz/regress/<target>/) in the normal and the sanitizer builds:
 *   fuzz_x_replay DIR_OR_FILE...        (default: $EMOLAB_SOURCE_DIR/tests/fuzz/{seeds,regress}/x)
 * Each input is copied into a buffer of exactly its size, so an over-read is an ASan error. */
#define _DEFAULT_SOURCE
#include "fuzz_check.h"
#include "util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path, int *n) {
    char *buf = NULL;
    size_t len = 0;
    if (el_read_file(path, &buf, &len)) {
        fprintf(stderr, "%s\n", el_last_error());
        return 1;
    }
    uint8_t *exact = malloc(len ? len : 1);
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    (*n)++;
    return 0;
}

static int run_path(const char *path, int *n) {
    struct stat st;
    if (stat(path, &st) != 0) return 0; /* a target without regressions has no directory */
    if (!S_ISDIR(st.st_mode)) return run_file(path, n);
    struct dirent **ents = NULL;
    int k = scandir(path, &ents, NULL, alphasort);
    int bad = 0;
    for (int i = 0; i < k; i++) {
        if (ents[i]->d_name[0] != '.') {
            char *p = el_path_join(path, ents[i]->d_name);
            bad |= run_path(p, n);
            free(p);
        }
        free(ents[i]);
    }
    free(ents);
    return bad;
}

int main(int argc, char **argv) {
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    int bad = 0, n = 0;
    if (argc < 2) {
        const char *src = el_env("EMOLAB_SOURCE_DIR", ".");
        const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
        char *t = xstrdup(name);
        char *suffix = strstr(t, "_replay");
        if (suffix) *suffix = 0;
        const char *stem = strncmp(t, "fuzz_", 5) == 0 ? t + 5 : t;
        char *seeds = el_printf("%s/tests/fuzz/seeds/%s", src, stem);
        char *regress = el_printf("%s/tests/fuzz/regress/%s", src, stem);
        bad |= run_path(seeds, &n);
        bad |= run_path(regress, &n);
        free(seeds);
        free(regress);
        free(t);
    }
    for (int i = 1; i < argc; i++) bad |= run_path(argv[i], &n);
    printf("%s: %d inputs ran\n", argv[0], n);
    return bad || n == 0;
}
