/* test_labels: label sets from YAML. Golden values: the Ekman grouping as printed in
 * ../shared/data/INDEX.md (typed here), the izard mapping from the project brief, and the
 * 28 GoEmotions names from the data set's own id_to_label.yaml (read from $EMOLAB_DATA). */
#define _GNU_SOURCE
#include "check.h"
#include "labels.h"
#include "util.h"

#include <stdlib.h>
#include <unistd.h>

static char g_dir[256];

/* the target label names of a source label, "a+b" or "-" */
static void targets(const el_label_config *c, const el_label_map *m, const char *src, char *out, size_t n) {
    out[0] = 0;
    int32_t k = el_label_map_find(m, src);
    if (k < 0) {
        snprintf(out, n, "(absent)");
        return;
    }
    el_buf b = {0};
    for (int32_t j = 0; j < c->set.n; j++)
        if (m->targets[k] >> j & 1) el_buf_printf(&b, "%s%s", b.len ? "+" : "", c->set.names[j]);
    snprintf(out, n, "%s", b.s ? b.s : "-");
    el_buf_free(&b);
}

static void test_ekman7(void) {
    el_label_config c;
    int rc = el_labels_load("ekman7", &c);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK_I(rc, 0);
    if (rc) return;
    CHECK_S(c.name, "ekman7");
    CHECK_HAS(c.path, "labels/ekman7.yaml");
    const char *want[] = {"anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"};
    CHECK_I(c.set.n, 7);
    for (int i = 0; i < 7 && i < c.set.n; i++) CHECK_S(c.set.names[i], want[i]);

    /* INDEX.md: anger <- 2,3,10; disgust <- 11; fear <- 14,19; joy <- 17,1,4,13,15,18,20,23,21,0,8,5;
     * sadness <- 25,9,12,16,24; surprise <- 26,22,6,7; neutral <- 27 */
    struct {
        const char *label;
        int ids[12];
        int n;
    } groups[] = {
        {"anger", {2, 3, 10}, 3},
        {"disgust", {11}, 1},
        {"fear", {14, 19}, 2},
        {"joy", {17, 1, 4, 13, 15, 18, 20, 23, 21, 0, 8, 5}, 12},
        {"sadness", {25, 9, 12, 16, 24}, 5},
        {"surprise", {26, 22, 6, 7}, 4},
        {"neutral", {27}, 1},
    };
    const el_label_map *g = el_labels_get_map(&c, "goemotions");
    CHECK(g != NULL);
    if (g) {
        CHECK_I(g->n, 28);
        int seen[28] = {0};
        for (size_t k = 0; k < sizeof groups / sizeof groups[0]; k++)
            for (int i = 0; i < groups[k].n; i++) {
                char id[8], got[128];
                snprintf(id, sizeof id, "%d", groups[k].ids[i]);
                targets(&c, g, id, got, sizeof got);
                CHECK_S(got, groups[k].label);
                seen[groups[k].ids[i]]++;
            }
        for (int i = 0; i < 28; i++) CHECK_I(seen[i], 1); /* the table covers each id once */
        CHECK_I(el_label_map_find(g, "28"), -1);
        CHECK(el_label_map_find(g, "neutral") < 0);
    }
    const el_label_map *iz = el_labels_get_map(&c, "izard");
    CHECK(iz != NULL);
    if (iz) {
        const char *pairs[][2] = {{"neutral", "neutral"}, {"joy", "joy"}, {"sadness", "sadness"},
                                  {"anger", "anger"}, {"surprise", "surprise"}, {"disgust", "disgust"},
                                  {"fear", "fear"}, {"guilt", "sadness"}, {"shame", "sadness"},
                                  {"enthusiasm", "-"}};
        CHECK_I(iz->n, 10);
        for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
            char got[128];
            targets(&c, iz, pairs[k][0], got, sizeof got);
            CHECK_S(got, pairs[k][1]);
        }
    }
    CHECK(el_labels_get_map(&c, "nope") == NULL);
    CHECK_HAS(el_last_error(), "has no map 'nope' (maps: goemotions, izard, djacon9)");
    el_labels_free(&c);
}

/* goemotions28: identity on ids, names as in the data set's own id_to_label.yaml */
static void test_goemotions28(void) {
    el_label_config c;
    int rc = el_labels_load("goemotions28", &c);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK_I(rc, 0);
    if (rc) return;
    char *path = el_printf("%s/ru_go_emotions/id_to_label.yaml", el_env("EMOLAB_DATA", "data"));
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    int n = 0;
    const el_label_map *g = el_labels_get_map(&c, "goemotions");
    CHECK(g != NULL);
    if (f && g) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            int id;
            char name[64];
            if (sscanf(line, "%d: %63s", &id, name) != 2) continue;
            CHECK(id == n);
            CHECK(n < c.set.n);
            if (n < c.set.n) CHECK_S(c.set.names[n], name);
            char ids[8], got[128];
            snprintf(ids, sizeof ids, "%d", id);
            targets(&c, g, ids, got, sizeof got);
            CHECK_S(got, name);
            n++;
        }
        fclose(f);
    }
    CHECK_I(n, 28);
    CHECK_I(c.set.n, 28);
    free(path);
    el_labels_free(&c);
}

static char *write_yaml(const char *rel, const char *text) {
    char *path = el_printf("%s/%s", g_dir, rel);
    char *dir = el_dirname(path);
    el_mkdirs(dir, 0755);
    free(dir);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_lookup(void) {
    /* a path (contains '/'), then a name under $EMOLAB_CONFIGS, which wins over the built-in dir */
    char *p = write_yaml("tiny.yaml", "labels: [pos, neg]\nmaps:\n  columns: {good: pos, bad: [neg], meh: ~}\n");
    el_label_config c;
    CHECK_I(el_labels_load(p, &c), 0);
    CHECK_S(c.name, "tiny"); /* from the file name */
    CHECK_I(c.set.n, 2);
    const el_label_map *m = el_labels_get_map(&c, "columns");
    CHECK(m && m->n == 3);
    if (m) {
        char got[64];
        targets(&c, m, "meh", got, sizeof got);
        CHECK_S(got, "-");
        targets(&c, m, "bad", got, sizeof got);
        CHECK_S(got, "neg");
    }
    el_labels_free(&c);
    free(p);

    p = write_yaml("cfg/labels/ekman7.yaml", "name: shadow\nlabels: [only]\n");
    char *cfg = el_printf("%s/cfg", g_dir);
    setenv("EMOLAB_CONFIGS", cfg, 1);
    CHECK_I(el_labels_load("ekman7", &c), 0);
    CHECK_S(c.name, "shadow");
    el_labels_free(&c);
    unsetenv("EMOLAB_CONFIGS");
    CHECK_I(el_labels_load("ekman7", &c), 0);
    CHECK_S(c.name, "ekman7");
    el_labels_free(&c);
    unlink(p);
    free(p);

    setenv("EMOLAB_CONFIGS", cfg, 1);
    CHECK_I(el_labels_load("nosuchset", &c), -1);
    CHECK_HAS(el_last_error(), "no label set 'nosuchset'");
    CHECK_HAS(el_last_error(), "cfg/labels/nosuchset.yaml"); /* the places tried */
    CHECK_HAS(el_last_error(), "EMOLAB_CONFIGS");
    unsetenv("EMOLAB_CONFIGS");
    free(cfg);

    CHECK_I(el_labels_load("../etc/x", &c), -1); /* a path: must exist */
    CHECK_HAS(el_last_error(), "../etc/x: label-set file not found");
    CHECK_I(el_labels_load("bad name", &c), -1);
    CHECK_HAS(el_last_error(), "not a label-set name");
}

static void bad(const char *yaml, const char *want1, const char *want2) {
    el_label_config c;
    int rc = el_labels_parse(yaml, strlen(yaml), "bad.yaml", &c);
    CHECK_I(rc, -1);
    if (rc == 0) {
        el_labels_free(&c);
        return;
    }
    CHECK_HAS(el_last_error(), want1);
    if (want2) CHECK_HAS(el_last_error(), want2);
}

static void test_bad_yaml(void) {
    bad("labels: [a, b]\nmaps:\n  m:\n    x: c\n", "bad.yaml:4:8: maps.m.x:", "'c' is not a label of this set (labels: a, b");
    bad("labels: [a, b]\nmaps:\n  m:\n    x: a\n    x: b\n", "bad.yaml:5:5: maps.m.x: source label listed twice", NULL);
    bad("labels: [a, b]\nmaps:\n  m:\n    07: a\n    7: b\n", "bad.yaml:5:5: maps.m.7: source label listed twice", NULL);
    bad("labels: [a, a]\n", "bad.yaml:1:13: labels: 'a' is listed twice", NULL);
    bad("labels: []\n", "labels: empty", NULL);
    bad("name: x\n", "labels: missing", NULL);
    bad("labels: [a]\nlabel: [b]\n", "bad.yaml:2:1: label: unknown key", "allowed: name, description, labels, maps");
    bad("labels: [a b]\n", "a label name is one word", NULL);
    bad("labels: [a]\nmaps: [x]\n", "bad.yaml:2:7: maps: expected a map", NULL);
    bad("labels: [a]\nmaps:\n  m: {x: {y: a}}\n", "maps.m.x: expected a label, a list of labels", NULL);
    bad("labels: [a\n", "bad.yaml:2:1: YAML:", NULL);
    bad("", "empty document", NULL);
    bad("- a\n- b\n", "expected a map with keys", NULL);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s/el_test_labels_XXXXXX", el_env("TMPDIR", "/tmp"));
    if (!mkdtemp(g_dir)) return 2;
    unsetenv("EMOLAB_CONFIGS");
    test_ekman7();
    test_goemotions28();
    test_lookup();
    test_bad_yaml();
    char *cmd = el_printf("rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "cleanup failed\n");
    free(cmd);
    return check_done("test_labels");
}
