/* test_data_real: the benchmark split ("ru-go-ekman", INDEX.md) loaded from $EMOLAB_DATA.
 * Golden figures are the ones printed in the data's SOURCE.md files (computed there with
 * Python, not by emolab): row counts, Ekman label counts, multi-label rows, for both column
 * orders (HEAD files: ru_text,text,labels,id; older files: text,labels,id,ru_text). */
#define _GNU_SOURCE
#include "check.h"
#include "data.h"
#include "util.h"

#include <stdlib.h>

#define OLD "ru_go_emotions/older_version_c0703d7/"
#define HEAD "ru_go_emotions/"
#define VALF "ru-go-emotions-simplified-validation.csv"
#define TESTF "ru-go-emotions-simplified-test.csv"
#define GO_TRAIN "ru_go_emotions_djacon/derived/train_aligned_to_goemotions.csv"

static el_source_spec source(const char *path, const char *format) {
    el_source_spec s;
    memset(&s, 0, sizeof s);
    s.path = (char *)path;
    s.format = (char *)format;
    return s;
}

static el_data_spec benchmark(const char *evaldir, bool drop) {
    el_data_spec d;
    memset(&d, 0, sizeof d);
    d.labels = "ekman7";
    d.train[0] = source(GO_TRAIN, "goemotions");
    d.train[0].text = "ru_text";
    d.n_train = 1;
    d.val = source(evaldir == NULL ? OLD VALF : strcmp(evaldir, OLD) ? HEAD VALF : OLD VALF, "goemotions");
    d.test = source(evaldir == NULL ? OLD TESTF : strcmp(evaldir, OLD) ? HEAD TESTF : OLD TESTF, "goemotions");
    d.drop_train_overlapping_eval = drop;
    return d;
}

static int64_t multi_label_rows(const el_split *s) {
    int64_t m = 0;
    for (int64_t i = 0; i < s->n; i++) {
        int k = 0;
        for (int32_t j = 0; j < s->n_labels; j++) k += s->y[i * s->n_labels + j];
        m += k > 1;
    }
    return m;
}

/* counts in ekman7 order: anger, disgust, fear, joy, sadness, surprise, neutral */
static void check_counts(const char *what, const el_split *s, int64_t rows, const int64_t want[7],
                         int64_t multi) {
    int64_t c[EL_MAX_LABELS];
    el_split_label_counts(s, c);
    printf("%s: %lld rows, anger %lld disgust %lld fear %lld joy %lld sadness %lld surprise %lld "
           "neutral %lld, %lld multi-label\n", what, (long long)s->n, (long long)c[0], (long long)c[1],
           (long long)c[2], (long long)c[3], (long long)c[4], (long long)c[5], (long long)c[6],
           (long long)multi_label_rows(s));
    CHECK_I(s->n, rows);
    CHECK_I(s->n_labels, 7);
    for (int j = 0; j < 7; j++) CHECK_I(c[j], want[j]);
    CHECK_I(multi_label_rows(s), multi);
}

/* sha256sum(1) of a file, as an independent check of the per-source file hash */
static void sha256sum(const char *path, char out[65]) {
    char *cmd = el_printf("sha256sum '%s'", path);
    FILE *p = popen(cmd, "r");
    free(cmd);
    out[0] = 0;
    if (!p) return;
    if (fscanf(p, "%64s", out) != 1) out[0] = 0;
    pclose(p);
}

int main(void) {
    /* ru_go_emotions/SOURCE.md */
    const int64_t val_want[7] = {717, 97, 105, 2219, 390, 624, 1766};
    const int64_t test_want[7] = {726, 123, 98, 2104, 379, 677, 1787};
    /* ru_go_emotions_djacon/SOURCE.md, derived train */
    const int64_t train_want[7] = {3999, 789, 625, 4255, 3025, 3538, 14151};

    /* the benchmark split as INDEX.md defines it (older eval files), nothing dropped */
    el_data_spec s = benchmark(OLD, false);
    el_dataset old;
    double t0 = el_now();
    int rc = el_data_load(&s, &old);
    double secs = el_now() - t0;
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK_I(rc, 0);
    if (rc) return check_done("test_data_real");
    printf("benchmark split loaded in %.3f s (%lld + %lld + %lld rows)\n", secs,
           (long long)old.train.n, (long long)old.val.n, (long long)old.test.n);
#if defined(__SANITIZE_ADDRESS__)
    CHECK(secs < 10.0);
#else
    CHECK(secs < 1.0); /* the brief: well under a second */
#endif
    check_counts("train", &old.train, 26945, train_want, 3348);
    check_counts("val (older)", &old.val, 5426, val_want, 480);
    check_counts("test (older)", &old.test, 5427, test_want, 459);
    CHECK_I(old.val_src.rows_read, 5426);
    CHECK_I(old.val_src.rows_empty_text, 0); /* checked with Python csv + grep: no empty ru_text */
    CHECK_I(old.train_src[0].rows_dropped_overlap, 0);
    CHECK(old.train_src[0].rows_overlap_val > 0); /* counted even when not dropped */
    /* the first rows, read by name from the older column order (text,labels,id,ru_text) */
    CHECK_S(old.val.ids[0], "edgurhb");
    CHECK_S(old.val.texts[0], "Это в Новом Орлеане?? Я действительно чувствую, что это Новый Орлеан.");
    CHECK(el_starts_with(old.val.texts[1], "Ты знаешь ответ, парень,"));
    CHECK_S(old.test.ids[0], "eecwqtt");
    CHECK_S(old.train.ids[0], "eebbqej");
    /* the per-file hash against sha256sum(1) */
    char want[65];
    sha256sum(old.val_src.path, want);
    CHECK_S(old.val_src.sha256, want);
    sha256sum(old.train_src[0].path, want);
    CHECK_S(old.train_src[0].sha256, want);

    /* HEAD eval files (ru_text first): same rows, ids and labels; other translations */
    s = benchmark(HEAD, false);
    el_dataset head;
    rc = el_data_load(&s, &head);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK_I(rc, 0);
    if (rc == 0) {
        check_counts("val (HEAD)", &head.val, 5426, val_want, 480);
        check_counts("test (HEAD)", &head.test, 5427, test_want, 459);
        CHECK(el_starts_with(head.val.texts[1], "Ты знаешь ответ, чувак,"));
        int64_t same_ids = 0, same_y = 0, same_text = 0;
        for (int64_t i = 0; i < head.val.n && i < old.val.n; i++) {
            same_ids += !strcmp(head.val.ids[i], old.val.ids[i]);
            same_y += !memcmp(head.val.y + i * 7, old.val.y + i * 7, 7);
            same_text += !strcmp(head.val.texts[i], old.val.texts[i]);
        }
        CHECK_I(same_ids, 5426);
        CHECK_I(same_y, 5426);
        CHECK_I(5426 - same_text, 4265); /* SOURCE.md: ru_text differs in 4,265 val rows */
        CHECK(strcmp(head.val.fingerprint, old.val.fingerprint) != 0);
        CHECK_S(head.train.fingerprint, old.train.fingerprint);
        el_data_free(&head);
    }

    /* the English column of the same files, read by name */
    s = benchmark(OLD, false);
    s.val.text = "text";
    el_dataset en;
    rc = el_data_load(&s, &en);
    CHECK_I(rc, 0);
    if (rc == 0) {
        CHECK_S(en.val.texts[0], "Is this in New Orleans?? I really feel like this is New Orleans.");
        CHECK_I(en.val.n, 5426);
        el_data_free(&en);
    }

    /* with de-duplication: rows dropped = rows counted as overlapping, the rest unchanged */
    s = benchmark(OLD, true);
    el_dataset dd;
    rc = el_data_load(&s, &dd);
    CHECK_I(rc, 0);
    if (rc == 0) {
        int64_t dropped = dd.train_src[0].rows_dropped_overlap;
        printf("benchmark train rows whose normalised text is also in val/test: %lld (val %lld, test %lld)\n",
               (long long)dropped, (long long)dd.train_src[0].rows_overlap_val,
               (long long)dd.train_src[0].rows_overlap_test);
        CHECK(dropped > 0);
        CHECK_I(dd.n_dropped_overlap, dropped);
        CHECK_I(dd.train.n, 26945 - dropped);
        CHECK_I(dd.train_src[0].rows_kept, dd.train.n);
        CHECK_S(dd.val.fingerprint, old.val.fingerprint);
        CHECK(strcmp(dd.train.fingerprint, old.train.fingerprint) != 0);
        el_data_free(&dd);
    }

    /* limit: the first N rows; the file hash is still the whole file's */
    s = benchmark(OLD, false);
    s.train[0].limit = 100;
    el_dataset lim;
    rc = el_data_load(&s, &lim);
    CHECK_I(rc, 0);
    if (rc == 0) {
        CHECK_I(lim.train.n, 100);
        CHECK_I(lim.train_src[0].rows_read, 100);
        CHECK_S(lim.train.ids[99], old.train.ids[99]);
        CHECK_S(lim.train_src[0].sha256, old.train_src[0].sha256);
        el_data_free(&lim);
    }

    /* goemotions28: the same files on the 28-label set; val neutral (id 27) = 1766 as in ekman7 */
    s = benchmark(OLD, false);
    s.labels = "goemotions28";
    el_dataset g28;
    rc = el_data_load(&s, &g28);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK_I(rc, 0);
    if (rc == 0) {
        CHECK_I(g28.labels.n, 28);
        int64_t c[EL_MAX_LABELS];
        el_split_label_counts(&g28.val, c);
        CHECK_S(g28.labels.names[27], "neutral");
        CHECK_I(c[27], 1766);
        CHECK_S(g28.labels.names[11], "disgust");
        CHECK_I(c[11], 97); /* disgust <- disgust(11) alone */
        el_data_free(&g28);
    }
    /* Djacon's raw train.csv (CRLF, `text,labels` with its own 9 class ids) through the djacon9
     * map; SOURCE.md's raw class counts: 0 joy 2217, 2 surprise 1057, 4 anger 3750, 5 disgust 789,
     * 6 fear 595, 8 neutral 14151 (sadness = 3 or 7 and interest-only rows are not derivable) */
    s = benchmark(OLD, false);
    s.train[0] = source("ru_go_emotions_djacon/train.csv", "goemotions");
    s.train[0].text = "text";
    s.train[0].map = "djacon9";
    el_dataset dj;
    rc = el_data_load(&s, &dj);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK_I(rc, 0);
    if (rc == 0) {
        int64_t c[EL_MAX_LABELS];
        el_split_label_counts(&dj.train, c);
        CHECK_I(dj.train_src[0].rows_read, 26945);
        CHECK_I(c[0], 3750);
        CHECK_I(c[1], 789);
        CHECK_I(c[2], 595);
        CHECK_I(c[3], 2217);
        CHECK_I(c[5], 1057);
        CHECK_I(c[6], 14151);
        CHECK(dj.train_src[0].rows_dropped_unmapped > 0); /* interest-only rows */
        CHECK_I(dj.train.n + dj.train_src[0].rows_dropped_unmapped, 26945);
        CHECK(strchr(dj.train.texts[0], '\r') == NULL);
        CHECK_S(dj.train.texts[0], "Моя любимая еда — это все, что мне не приходилось готовить самой.");
        printf("djacon train.csv via djacon9: %lld rows kept, %lld interest-only rows dropped\n",
               (long long)dj.train.n, (long long)dj.train_src[0].rows_dropped_unmapped);
        el_data_free(&dj);
    }
    el_data_free(&old);
    return check_done("test_data_real");
}
