/* fuzz_spec.c: libFuzzer target for the spec parser (issue #11). Feeds arbitrary bytes to
 * el_spec_parse; on success also exercises the JSON, params and override paths. The input's
 * first line, when it looks like "#set KEY=VALUE", is applied as an override to the parsed tree.
 *
 *   clang -fsanitize=fuzzer,address,undefined ... (cmake -DEMOLAB_FUZZ=ON, target fuzz_spec)
 *   ./fuzz_spec -max_total_time=60 tests/spec/corpus
 *
 * Built without libFuzzer (FUZZ_STANDALONE), it is a regression runner: every file given on the
 * command line (or in the directories given) is fed once; ctest runs it over the corpus. */
#define _GNU_SOURCE
#include "spec.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void on_param(const char *key, const char *json, void *ctx) {
    size_t *n = ctx;
    *n += strlen(key) + strlen(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    el_spec s;
    if (el_spec_parse((const char *)data, size, "fuzz.yaml", &s) == EL_OK) {
        size_t n = 0;
        el_spec_params(&s, on_param, &n);
        char *pretty = el_node_to_json(s.resolved, true);
        free(pretty);
        el_spec_free(&s);
    }
    /* the tree level with an override taken from the first line */
    el_node *t = el_yaml_parse((const char *)data, size, "fuzz.yaml");
    if (t) {
        if (size > 5 && memcmp(data, "#set ", 5) == 0) {
            const char *nl = memchr(data, '\n', size);
            size_t len = nl ? (size_t)(nl - (const char *)data) : size;
            char *o = el_strndup((const char *)data + 5, len - 5);
            if (strlen(o) == len - 5) {
                if (el_spec_apply_override(t, o) == EL_OK && el_spec_from_node(t, "fuzz.yaml", &s) == EL_OK)
                    el_spec_free(&s);
                char *eq = strchr(o, '=');
                if (eq) {
                    *eq = 0;
                    (void)el_spec_path_known(o);
                    (void)el_node_get(t, o);
                }
            }
            free(o);
        }
        char *j = el_node_to_json(t, false);
        free(j);
        el_node *c = el_node_clone(t);
        el_node_free(c);
        el_node_free(t);
    }
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

/* With no arguments: $EMOLAB_SOURCE_DIR/tests/spec/corpus. */
int main(int argc, char **argv) {
    int bad = 0, n = 0;
    if (argc < 2) {
        char *dir = el_printf("%s/tests/spec/corpus", el_env("EMOLAB_SOURCE_DIR", "."));
        bad = run_path(dir, &n);
        free(dir);
    }
    for (int i = 1; i < argc; i++) bad |= run_path(argv[i], &n);
    printf("fuzz_spec: %d inputs ran\n", n);
    return bad || n == 0;
}
#endif
