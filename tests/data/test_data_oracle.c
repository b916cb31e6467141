/* test_data_oracle: the loader on the real data against an independent Python computation
 * (tests/data/oracle_data.py run by Debian's /usr/bin/python3 with csv/re/hashlib only): the
 * izard mapping and its rules, train/eval overlap counts, label counts, text normalisation of
 * every izard/val/test text, and the split fingerprints. Plus the figure INDEX.md states for the
 * "ext" variant: 18,937 izard rows kept, 354 dropped for overlapping val/test. */
#define _GNU_SOURCE
#include "check.h"
#include "data.h"
#include "util.h"

#include <stdlib.h>

#define OLD "ru_go_emotions/older_version_c0703d7/"
#define VAL OLD "ru-go-emotions-simplified-validation.csv"
#define TEST OLD "ru-go-emotions-simplified-test.csv"
#define GO_TRAIN "ru_go_emotions_djacon/derived/train_aligned_to_goemotions.csv"
#define IZ_TRAIN "ru_izard_emotions/train.csv"

typedef struct {
    char key[128];
    char val[128];
} kv;
static kv g_kv[512];
static int g_n;

static const char *get(const char *key) {
    for (int i = 0; i < g_n; i++)
        if (!strcmp(g_kv[i].key, key)) return g_kv[i].val;
    fprintf(stderr, "oracle did not print %s\n", key);
    g_failures++;
    return "(missing)";
}

static long long geti(const char *fmt, const char *a, const char *b) {
    char key[128];
    snprintf(key, sizeof key, fmt, a, b);
    return atoll(get(key));
}

static int run_oracle(void) {
    const char *src = el_env("EMOLAB_SOURCE_DIR", EMOLAB_SOURCE_DIR);
    const char *data = el_env("EMOLAB_DATA", "data");
    char *cmd = el_printf("/usr/bin/python3 '%s/tests/data/oracle_data.py' '%s'", src, data);
    FILE *p = popen(cmd, "r");
    free(cmd);
    if (!p) return -1;
    char line[512];
    while (fgets(line, sizeof line, p) && g_n < 512) {
        if (sscanf(line, "%127s %127s", g_kv[g_n].key, g_kv[g_n].val) == 2) g_n++;
    }
    int st = pclose(p);
    if (st != 0 || g_n < 10) {
        fprintf(stderr, "oracle failed (status %d, %d lines)\n", st, g_n);
        return -1;
    }
    return 0;
}

static el_source_spec source(const char *path, const char *format) {
    el_source_spec s;
    memset(&s, 0, sizeof s);
    s.path = (char *)path;
    s.format = (char *)format;
    return s;
}

static el_data_spec spec_with(int n, const el_source_spec *train, bool drop) {
    el_data_spec d;
    memset(&d, 0, sizeof d);
    d.labels = "ekman7";
    for (int i = 0; i < n; i++) d.train[i] = train[i];
    d.n_train = n;
    d.val = source(VAL, "goemotions");
    d.test = source(TEST, "goemotions");
    d.drop_train_overlapping_eval = drop;
    return d;
}

/* compares one configuration with the oracle's "name.*" figures */
static void compare(const char *name, const el_dataset *d, const char **tags) {
    for (int32_t i = 0; i < d->n_train_src; i++) {
        const el_source_stats *st = &d->train_src[i];
        const char *t = tags[i];
        char pre[64];
        snprintf(pre, sizeof pre, "%s.%s", name, t);
        CHECK_I(st->rows_read, geti("%s.%s.rows_read", name, t));
        CHECK_I(st->rows_dropped_unmapped, geti("%s.%s.dropped_unmapped", name, t));
        CHECK_I(st->rows_empty_text, geti("%s.%s.empty_text", name, t));
        CHECK_I(st->rows_overlap_val, geti("%s.%s.overlap_val", name, t));
        CHECK_I(st->rows_overlap_test, geti("%s.%s.overlap_test", name, t));
        CHECK_I(st->rows_dropped_overlap, geti("%s.%s.dropped_overlap", name, t));
        CHECK_I(st->rows_kept, geti("%s.%s.kept", name, t));
        printf("%s: read %lld, no label %lld, overlap val %lld / test %lld, dropped for overlap %lld, kept %lld\n",
               pre, (long long)st->rows_read, (long long)st->rows_dropped_unmapped,
               (long long)st->rows_overlap_val, (long long)st->rows_overlap_test,
               (long long)st->rows_dropped_overlap, (long long)st->rows_kept);
    }
    CHECK_I(d->train.n, geti("%s.train.rows%s", name, ""));
    int64_t counts[EL_MAX_LABELS];
    el_split_label_counts(&d->train, counts);
    for (int32_t j = 0; j < d->labels.n; j++) {
        char key[128];
        snprintf(key, sizeof key, "%s.train.count.%s", name, d->labels.names[j]);
        CHECK_I(counts[j], atoll(get(key)));
    }
    char key[128];
    snprintf(key, sizeof key, "%s.train.fingerprint", name);
    CHECK_S(d->train.fingerprint, get(key));
    snprintf(key, sizeof key, "%s.val.fingerprint", name);
    CHECK_S(d->val.fingerprint, get(key));
    snprintf(key, sizeof key, "%s.test.fingerprint", name);
    CHECK_S(d->test.fingerprint, get(key));
}

int main(void) {
    if (run_oracle()) return 1;

    /* "ext": benchmark train + izard train (enthusiasm dropped, neutral cleared by default) */
    el_source_spec ext[2] = {source(GO_TRAIN, "goemotions"), source(IZ_TRAIN, "izard")};
    el_data_spec s = spec_with(2, ext, true);
    el_dataset d;
    int rc = el_data_load(&s, &d);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK_I(rc, 0);
    if (rc == 0) {
        const char *tags[] = {"go", "izard"};
        compare("ext", &d, tags);
        /* INDEX.md: "+18,937 ru-izard rows: 354 overlapping val/test dropped" */
        CHECK_I(d.train_src[1].rows_kept, 18937);
        CHECK_I(d.train_src[1].rows_dropped_overlap, 354);
        CHECK_I(d.n_dropped_overlap, d.train_src[0].rows_dropped_overlap + 354);
        /* concatenation: go rows first, then izard rows */
        CHECK_I(d.train.n, d.train_src[0].rows_kept + d.train_src[1].rows_kept);
        CHECK_S(d.train.ids[0], "eebbqej"); /* first row of the derived train file */
        CHECK_S(d.train.ids[d.train_src[0].rows_kept], IZ_TRAIN ":1"); /* no id column: file:row */
        CHECK_S(d.train.texts[d.train_src[0].rows_kept], "Ты дебил");
        el_data_print_summary(&d, stdout);
        el_data_free(&d);
    }

    el_source_spec joy = source(IZ_TRAIN, "izard");
    joy.enthusiasm = "joy";
    joy.neutral = "keep";
    s = spec_with(1, &joy, true);
    rc = el_data_load(&s, &d);
    CHECK_I(rc, 0);
    if (rc == 0) {
        const char *tags[] = {"izard"};
        compare("iz_joy_keep", &d, tags);
        el_data_free(&d);
    }

    el_source_spec sur = source(IZ_TRAIN, "izard");
    sur.enthusiasm = "surprise";
    s = spec_with(1, &sur, false);
    rc = el_data_load(&s, &d);
    CHECK_I(rc, 0);
    if (rc == 0) {
        const char *tags[] = {"izard"};
        compare("iz_surprise", &d, tags);
        /* every izard row is kept here, in file order: the normalised forms of all izard, val
         * and test texts hashed in order must equal Python's */
        CHECK_I(d.train.n, 20162);
        el_sha256 *h = el_sha256_new();
        const el_split *sp[3] = {&d.train, &d.val, &d.test};
        for (int k = 0; k < 3; k++)
            for (int64_t i = 0; i < sp[k]->n; i++) {
                char *n = el_text_normalize(sp[k]->texts[i]);
                el_sha256_update(h, n, strlen(n));
                el_sha256_update(h, "\n", 1);
                free(n);
            }
        char hex[65];
        el_sha256_final(h, hex);
        CHECK_S(hex, get("norm.sha256"));
        el_data_free(&d);
    }
    return check_done("test_data_oracle");
}
