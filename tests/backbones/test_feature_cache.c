/* test_feature_cache.c: the feature cache of frozen backbones and `emolab cache ls / rm`.
 *
 * A frozen tfidf (freeze: all: a fixed featurizer fitted on train) runs through el_train_run on
 * 300/150/150 real rows with EMOLAB_CACHE in a temporary directory:
 *  - miss: the first run computes and stores 3 entries (train, val, test);
 *  - hit: the same spec, and specs that change only the head or backbone.lr_scale, read all 3
 *    and give bit-identical metrics; the checkpoint of a run served from the cache (the train
 *    entry restores the fitted vocabulary) reproduces its test F1 when reloaded;
 *  - corrupt: a flipped byte (checksum), a truncated file and a non-safetensors file are each
 *    detected, recomputed and rewritten, and the metrics do not change;
 *  - stale: changed val texts miss (new key); changed train texts miss on all three (val and
 *    test depend on the vocabulary fitted on train); an entry whose content was made for other
 *    data but sits under the expected key (a forged or mixed-up file) is detected by its
 *    fingerprints and recomputed, never served;
 *  - off: EMOLAB_FEATURE_CACHE=0 and a trained (non-frozen) backbone touch no entry; an
 *    unwritable cache directory only costs a warning;
 *  - the CLI: ls lists every entry (key, backbone, split, rows), rm KEY (prefix), ambiguous
 *    and unknown keys (exit 1, nothing removed), --older-than by last use, --all, bad options
 *    (exit 2).
 */
#define _GNU_SOURCE
#include "bb_check.h"
#include "data.h"
#include "feature_cache.h"
#include "safetensors.h"
#include "train.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char g_dir[64];

static const char *FROZEN = "{type: tfidf, freeze: all, dim: 64, min_df: 1, word_max_features: 5000, "
                            "char_max_features: 20000}";

static int spec_for(el_spec *s, const char *backbone, const char *head, int64_t ltrain, int64_t lval) {
    char *y = el_printf(
        "name: t\ndata:\n"
        "  train: [{path: ru_go_emotions_djacon/derived/train_aligned_to_goemotions.csv, format: goemotions, limit: %lld}]\n"
        "  val: {path: ru_go_emotions/older_version_c0703d7/ru-go-emotions-simplified-validation.csv, format: goemotions, limit: %lld}\n"
        "  test: {path: ru_go_emotions/older_version_c0703d7/ru-go-emotions-simplified-test.csv, format: goemotions, limit: 150}\n"
        "backbone: %s\nhead: %s\ntrain: {epochs: 1, batch_size: 32, lr: 0.01, threads: 1, seed: 9}\n",
        (long long)ltrain, (long long)lval, backbone, head);
    int rc = el_spec_parse(y, strlen(y), "cache-test.yaml", s);
    if (rc) fprintf(stderr, "spec: %s\n", el_last_error());
    free(y);
    return rc;
}

typedef struct {
    el_train_result res;
    el_feature_cache_stats st;
    int rc;
} outcome;

static outcome run(const char *backbone, const char *head, int64_t ltrain, int64_t lval, const char *run_dir) {
    outcome o;
    memset(&o, 0, sizeof o);
    el_spec spec;
    if (spec_for(&spec, backbone, head, ltrain, lval) != 0) {
        o.rc = -1;
        return o;
    }
    el_dataset d;
    if (el_data_load(&spec.data, &d) != 0) {
        fprintf(stderr, "data: %s\n", el_last_error());
        el_spec_free(&spec);
        o.rc = -1;
        return o;
    }
    el_feature_cache_stats_reset();
    el_train_ctx ctx = {.spec = &spec, .data = &d, .run_dir = run_dir};
    o.rc = el_train_run(&ctx, &o.res);
    o.st = el_feature_cache_stats_get();
    el_data_free(&d);
    el_spec_free(&spec);
    return o;
}

static bool same_metrics(const outcome *a, const outcome *b) {
    return a->res.val.weighted_f1 == b->res.val.weighted_f1 &&
           a->res.test.weighted_f1 == b->res.test.weighted_f1 &&
           !memcmp(a->res.thresholds, b->res.thresholds, sizeof a->res.thresholds);
}

#define CHECK_STATS(o, h, m, s, c)                                                             \
    CHECK_MSG((o).rc == 0 && (o).st.hits == (h) && (o).st.misses == (m) && (o).st.stale == (s) && \
                  (o).st.corrupt == (c),                                                      \
              "rc %d: hits %lld misses %lld stale %lld corrupt %lld, want %d %d %d %d", (o).rc,   \
              (long long)(o).st.hits, (long long)(o).st.misses, (long long)(o).st.stale,         \
              (long long)(o).st.corrupt, h, m, s, c)

/* files of the cache directory (KEY.safetensors) */
static int32_t list_files(char names[][300], int32_t max) {
    DIR *d = opendir(g_dir);
    int32_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".safetensors") && n < max) snprintf(names[n++], 300, "%s", e->d_name);
    if (d) closedir(d);
    return n;
}

/* the entry file of a split (by its metadata) */
static char *entry_of(const char *split) {
    char names[64][300];
    int32_t n = list_files(names, 64);
    for (int32_t i = 0; i < n; i++) {
        char *path = el_printf("%s/%s", g_dir, names[i]);
        el_safetensors st;
        if (el_st_open(path, &st) == 0) {
            bool hit = el_streq(el_st_meta(&st, "emolab.split"), split);
            el_st_close(&st);
            if (hit) return path;
        }
        free(path);
    }
    return NULL;
}

static void flip_byte(const char *path, long at_from_end) {
    FILE *f = fopen(path, "r+b");
    fseek(f, -at_from_end, SEEK_END);
    int c = fgetc(f);
    fseek(f, -at_from_end, SEEK_END);
    fputc(c ^ 0x40, f);
    fclose(f);
}

/* runs the emolab binary; returns its exit code, output in *out (malloc'd) */
static int emolab(char **out, const char *args) {
    const char *bin = getenv("EMOLAB_BIN");
    char *cmd = el_printf("EMOLAB_CACHE='%s' '%s' %s 2>&1", g_dir, bin ? bin : "emolab", args);
    FILE *p = popen(cmd, "r");
    el_buf b = {0};
    char buf[4096];
    size_t k;
    while (p && (k = fread(buf, 1, sizeof buf, p)) > 0) el_buf_append(&b, buf, k);
    int st = p ? pclose(p) : -1;
    free(cmd);
    *out = b.s ? el_buf_take(&b) : xstrdup("");
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_runs(void) {
    const char *head = "{layers: [], dropout: 0.1}";
    outcome a = run(FROZEN, head, 300, 150, NULL);
    CHECK_STATS(a, 0, 3, 0, 0);
    CHECK(a.st.stored == 3);
    char names[64][300];
    CHECK(list_files(names, 64) == 3);

    /* hits: the same spec; a head change; backbone lr_scale (no effect on frozen outputs) */
    char run_dir[128];
    snprintf(run_dir, sizeof run_dir, "%s-run", g_dir);
    outcome b = run(FROZEN, head, 300, 150, run_dir);
    CHECK_STATS(b, 3, 0, 0, 0);
    CHECK(same_metrics(&a, &b));
    outcome c = run(FROZEN, "{layers: [16], dropout: 0.3}", 300, 150, NULL);
    CHECK_STATS(c, 3, 0, 0, 0);
    char *lr = el_printf("%.*s, lr_scale: 0.5}", (int)strlen(FROZEN) - 1, FROZEN);
    outcome c2 = run(lr, head, 300, 150, NULL);
    CHECK_STATS(c2, 3, 0, 0, 0);
    free(lr);

    /* the run served from the cache saved a complete checkpoint */
    if (b.res.checkpoint[0]) {
        el_spec spec;
        spec_for(&spec, FROZEN, head, 300, 150);
        el_dataset d;
        CHECK(el_data_load(&spec.data, &d) == 0);
        el_model m;
        CHECK(el_model_build(&m, &spec, d.labels.n) == 0);
        CHECK(el_checkpoint_load(b.res.checkpoint, &m) == 0);
        void *te = m.backbone->ops->prepare(m.backbone, d.test.texts, d.test.n);
        int32_t k = d.labels.n;
        float *p = malloc((size_t)(d.test.n * k) * sizeof(float));
        uint8_t *pred = malloc((size_t)(d.test.n * k));
        CHECK(te && el_predict_probs(&m, te, d.test.n, p) == 0);
        el_apply_thresholds(p, b.res.thresholds, d.test.n, k, pred);
        el_metrics mt;
        el_metrics_compute(d.test.y, pred, d.test.n, k, &mt);
        CHECK_MSG(mt.weighted_f1 == b.res.test.weighted_f1, "checkpoint of a cached run: %.6f vs %.6f",
                  mt.weighted_f1, b.res.test.weighted_f1);
        m.backbone->ops->free_inputs(te);
        el_model_free(&m);
        el_data_free(&d);
        el_spec_free(&spec);
        free(p);
        free(pred);
        unlink(b.res.checkpoint);
    } else {
        CHECK_MSG(0, "no checkpoint saved");
    }
    rmdir(run_dir);

    /* corrupt: a flipped byte inside the val features */
    char *val = entry_of("val"), *test = entry_of("test"), *train = entry_of("train");
    CHECK(val && test && train);
    if (!val || !test || !train) return;
    flip_byte(val, 1001);
    outcome e = run(FROZEN, head, 300, 150, NULL);
    CHECK_STATS(e, 2, 0, 0, 1);
    CHECK(e.st.stored == 1 && same_metrics(&a, &e));
    outcome e2 = run(FROZEN, head, 300, 150, NULL); /* rewritten: fine again */
    CHECK_STATS(e2, 3, 0, 0, 0);
    /* truncated test entry, and a train entry that is not safetensors at all */
    struct stat sb;
    stat(test, &sb);
    CHECK(truncate(test, sb.st_size / 2) == 0);
    FILE *f = fopen(train, "wb");
    fputs("not a safetensors file", f);
    fclose(f);
    outcome g = run(FROZEN, head, 300, 150, NULL);
    CHECK_STATS(g, 1, 0, 0, 2);
    CHECK(same_metrics(&a, &g));

    /* stale: other val texts -> another key (a miss); other train texts -> all three */
    outcome h = run(FROZEN, head, 300, 140, NULL);
    CHECK_STATS(h, 2, 1, 0, 0);
    outcome i = run(FROZEN, head, 280, 150, NULL);
    CHECK_STATS(i, 0, 3, 0, 0);
    CHECK(list_files(names, 64) == 7);

    /* a file under the expected key whose content was made for other data: never served;
     * the val entry of (train 300, val 150) gets the content of the val entry of (300, 140) */
    el_spec s150, s140;
    spec_for(&s150, FROZEN, head, 300, 150);
    spec_for(&s140, FROZEN, head, 300, 140);
    el_dataset d150, d140;
    CHECK(el_data_load(&s150.data, &d150) == 0 && el_data_load(&s140.data, &d140) == 0);
    char fp150[65], fp140[65], fit300[65];
    el_texts_fingerprint(d150.val.texts, d150.val.n, fp150);
    el_texts_fingerprint(d150.train.texts, d150.train.n, fit300); /* not the (280, 150) entry */
    el_texts_fingerprint(d140.val.texts, d140.val.n, fp140);
    char *good = NULL, *other = NULL;
    int32_t nf = list_files(names, 64);
    for (int32_t k = 0; k < nf; k++) {
        char *path = el_printf("%s/%s", g_dir, names[k]);
        el_safetensors st;
        if (el_st_open(path, &st) == 0) {
            const char *fp = el_st_meta(&st, "emolab.texts_fingerprint");
            if (el_streq(fp, fp150) && el_streq(el_st_meta(&st, "emolab.fit_fingerprint"), fit300) && !good)
                good = xstrdup(path);
            if (el_streq(fp, fp140) && !other) other = xstrdup(path);
            el_st_close(&st);
        }
        free(path);
    }
    CHECK(good && other);
    if (good && other) {
        char *data;
        size_t len;
        CHECK(el_read_file(other, &data, &len) == 0);
        CHECK(el_write_file_atomic(good, data, len) == 0);
        free(data);
        outcome j = run(FROZEN, head, 300, 150, NULL);
        CHECK_STATS(j, 2, 0, 1, 0);
        CHECK(same_metrics(&a, &j));
    }
    free(good);
    free(other);
    el_data_free(&d150);
    el_data_free(&d140);
    el_spec_free(&s150);
    el_spec_free(&s140);

    /* off: the switch, a trained backbone; an unwritable directory */
    setenv("EMOLAB_FEATURE_CACHE", "0", 1);
    outcome k = run(FROZEN, head, 300, 150, NULL);
    CHECK_STATS(k, 0, 0, 0, 0);
    CHECK(same_metrics(&a, &k)); /* the backbone's own forward gives the same features */
    unsetenv("EMOLAB_FEATURE_CACHE");
    outcome l = run("{type: tfidf, dim: 8, min_df: 1, word_max_features: 5000, char_max_features: 20000}",
                    head, 300, 150, NULL);
    CHECK_STATS(l, 0, 0, 0, 0);
    CHECK(list_files(names, 64) == 7);
    char *blocked = el_printf("%s/file", g_dir);
    f = fopen(blocked, "w");
    fclose(f);
    char *under = el_printf("%s/sub", blocked);
    setenv("EMOLAB_CACHE", under, 1);
    outcome m = run(FROZEN, head, 300, 150, NULL);
    CHECK_MSG(m.rc == 0 && m.st.misses == 3 && m.st.stored == 0, "unwritable cache: rc %d stored %lld",
              m.rc, (long long)m.st.stored);
    CHECK(same_metrics(&a, &m));
    setenv("EMOLAB_CACHE", g_dir, 1);
    unlink(blocked);
    free(blocked);
    free(under);
    free(val);
    free(test);
    free(train);
}

static void test_cli(void) {
    char *out;
    int rc = emolab(&out, "cache ls");
    CHECK(rc == 0);
    CHECK_HAS(out, "7 entries");
    CHECK_HAS(out, "tfidf");
    CHECK_HAS(out, "train");
    CHECK_HAS(out, "   150 ");
    free(out);
    char names[64][300];
    CHECK(list_files(names, 64) == 7);
    char key[9];
    snprintf(key, sizeof key, "%.8s", names[0]);

    char *args = el_printf("cache rm %s", key);
    rc = emolab(&out, args);
    CHECK(rc == 0);
    CHECK_HAS(out, "removed 1 entry");
    free(out);
    CHECK(list_files(names, 64) == 6);
    rc = emolab(&out, args); /* gone now */
    CHECK(rc == 1);
    CHECK_HAS(out, "no entry with key");
    free(out);
    free(args);

    /* an ambiguous prefix: make two entries share the first 4 characters */
    char *p0 = el_printf("%s/%s", g_dir, names[0]);
    char fake_name[80];
    snprintf(fake_name, sizeof fake_name, "%.4s%s.safetensors", names[0],
             "000000000000000000000000000000000000000000000000000000000000"); /* 4 + 60 hex */
    char *fake = el_printf("%s/%s", g_dir, fake_name);
    CHECK(strcmp(fake_name, names[0]) != 0);
    char *data;
    size_t len;
    CHECK(el_read_file(p0, &data, &len) == 0);
    CHECK(el_write_file_atomic(fake, data, len) == 0);
    free(data);
    args = el_printf("cache rm %.4s", names[0]);
    rc = emolab(&out, args);
    CHECK(rc == 1);
    CHECK_HAS(out, "matches 2 entries");
    free(out);
    free(args);
    CHECK(list_files(names, 64) == 7);

    rc = emolab(&out, "cache rm --older-than 1");
    CHECK(rc == 0);
    CHECK_HAS(out, "removed 0 entries");
    free(out);
    struct timespec ts[2] = {{time(NULL) - 3 * 86400, 0}, {time(NULL) - 3 * 86400, 0}};
    CHECK(utimensat(AT_FDCWD, fake, ts, 0) == 0);
    rc = emolab(&out, "cache rm --older-than 2");
    CHECK(rc == 0);
    CHECK_HAS(out, "removed 1 entry");
    free(out);
    CHECK(access(fake, F_OK) != 0 && access(p0, F_OK) == 0);
    free(fake);
    free(p0);

    const char *bad[] = {"cache rm", "cache rm --older-than -1", "cache rm --older-than abc",
                         "cache rm --all --older-than 2", "cache rm ZZZZ", "cache rm abc", "cache frob",
                         "cache rm --force", "cache ls extra"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc = emolab(&out, bad[i]);
        CHECK_MSG(rc == 2, "%s: exit %d (%s)", bad[i], rc, out);
        free(out);
    }
    CHECK(list_files(names, 64) == 6);
    rc = emolab(&out, "cache rm --all");
    CHECK(rc == 0);
    CHECK_HAS(out, "removed 6 entries");
    free(out);
    rc = emolab(&out, "cache ls");
    CHECK(rc == 0);
    CHECK_HAS(out, "(empty)");
    free(out);
}

int main(void) {
    ts_set_num_threads(1);
    snprintf(g_dir, sizeof g_dir, "/tmp/emolab-cache-XXXXXX");
    if (!mkdtemp(g_dir)) return 1;
    setenv("EMOLAB_CACHE", g_dir, 1);
    unsetenv("EMOLAB_FEATURE_CACHE");
    test_runs();
    test_cli();
    char *cmd = el_printf("rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    free(cmd);
    return bb_summary("test_feature_cache");
}
