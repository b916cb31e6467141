/* test_data_bad: the data module on small files written here: the rules (enthusiasm, neutral,
 * empty texts, limit, concatenation, label-list spellings, the columns format), paths and the
 * data root, the fingerprint encoding, and bad input, where each message must name the file
 * and the place (row and line). Expected values are worked out by hand from the inputs. */
#define _GNU_SOURCE
#include "check.h"
#include "data.h"
#include "util.h"

#include <stdlib.h>
#include <unistd.h>

static char g_root[256];

static void put(const char *rel, const char *text) {
    char *path = el_printf("%s/%s", g_root, rel);
    char *dir = el_dirname(path);
    el_mkdirs(dir, 0755);
    free(dir);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
    free(path);
}

static el_source_spec source(const char *path, const char *format) {
    el_source_spec s;
    memset(&s, 0, sizeof s);
    s.path = (char *)path;
    s.format = (char *)format;
    return s;
}

/* train = one source; val/test = the small goemotions eval files */
static el_data_spec spec1(el_source_spec train) {
    el_data_spec d;
    memset(&d, 0, sizeof d);
    d.labels = "ekman7";
    d.train[0] = train;
    d.n_train = 1;
    d.val = source("val.csv", "goemotions");
    d.test = source("test.csv", "goemotions");
    d.drop_train_overlapping_eval = true;
    d.root = g_root;
    return d;
}

/* the labels of row i as "anger+joy" */
static const char *row_labels(const el_dataset *d, const el_split *s, int64_t i) {
    static char out[256];
    out[0] = 0;
    for (int32_t j = 0; j < s->n_labels; j++)
        if (s->y[i * s->n_labels + j]) {
            if (out[0]) strcat(out, "+");
            strcat(out, d->labels.names[j]);
        }
    return out;
}

static void expect_fail(const el_data_spec *s, const char *want1, const char *want2, const char *want3) {
    el_dataset d;
    int rc = el_data_load(s, &d);
    CHECK_I(rc, -1);
    if (rc == 0) {
        el_data_free(&d);
        return;
    }
    printf("expected error: %s\n", el_last_error());
    CHECK_HAS(el_last_error(), want1);
    if (want2) CHECK_HAS(el_last_error(), want2);
    if (want3) CHECK_HAS(el_last_error(), want3);
}

static void write_inputs(void) {
    /* eval files in the older column order; val row 3 has an empty text (kept, counted) */
    put("val.csv", "text,labels,id,ru_text\n"
                   "x,[27],v1,\"Привет, МИР!\"\n"
                   "x,[ 2 17],v2,Совсем другое\n"
                   "x,[11],v3,\n");
    put("test.csv", "ru_text,labels,id\n"
                    "Ну и дела...,[26],t1\n"
                    "!!!,[27],t2\n");
    /* izard: rows are (1) joy+neutral, (2) enthusiasm only, (3) neutral+enthusiasm, (4) guilt+shame,
     * (5) overlaps val after normalisation, (6) empty text, (7) punctuation only = test row 2,
     * but empty normalised forms never count as overlap */
    put("iz.csv", "text,neutral,joy,sadness,anger,enthusiasm,surprise,disgust,fear,guilt,shame\n"
                  "Радость,1,1,0,0,0,0,0,0,0,0\n"
                  "Интерес,0,0,0,0,1,0,0,0,0,0\n"
                  "Спокойный интерес,1,0,0,0,1,0,0,0,0,0\n"
                  "Вина и стыд,0,0,0,0,0,0,0,0,1,1\n"
                  "  привет -- мир  ,0,0,0,1,0,0,0,0,0,0\n"
                  "\"  \",0,1,0,0,0,0,0,0,0,0\n"
                  "?!,0,0,0,0,0,1,0,0,0,0\n");
}

static void test_izard_rules(void) {
    el_data_spec s = spec1(source("iz.csv", "izard"));
    el_dataset d;
    int rc = el_data_load(&s, &d);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK_I(rc, 0);
    if (rc) return;
    const el_source_stats *st = &d.train_src[0];
    CHECK_I(st->rows_read, 7);
    CHECK_I(st->rows_dropped_overlap, 1);  /* row 5 */
    CHECK_I(st->rows_overlap_val, 1);
    CHECK_I(st->rows_overlap_test, 0);
    CHECK_I(st->rows_dropped_unmapped, 1); /* row 2: enthusiasm only, dropped by default */
    CHECK_I(st->rows_empty_text, 1);       /* row 6 */
    CHECK_I(st->rows_kept, 4);
    CHECK_I(d.train.n, 4);
    CHECK_S(d.train.texts[0], "Радость");
    CHECK_S(row_labels(&d, &d.train, 0), "joy");         /* neutral cleared: an emotion is present */
    CHECK_S(row_labels(&d, &d.train, 1), "neutral");     /* enthusiasm ignored, neutral stays */
    CHECK_S(row_labels(&d, &d.train, 2), "sadness");     /* guilt + shame -> sadness */
    CHECK_S(d.train.texts[3], "?!");
    CHECK_S(row_labels(&d, &d.train, 3), "surprise");
    CHECK_S(d.train.ids[0], "iz.csv:1");
    CHECK_S(d.train.ids[3], "iz.csv:7");
    /* val keeps its empty text and counts it */
    CHECK_I(d.val.n, 3);
    CHECK_I(d.val_src.rows_empty_text, 1);
    CHECK_S(d.val.texts[2], "");
    CHECK_S(d.val.ids[2], "v3");
    CHECK_S(row_labels(&d, &d.val, 1), "anger+joy");
    CHECK_HAS(d.val_src.path, g_root);

    /* the fingerprint encoding, written out by hand for the test split */
    char want[65];
    const char *enc = "emolab-split-v1\nlabels:anger,disgust,fear,joy,sadness,surprise,neutral\n"
                      "19:Ну и дела... 0000010\n"
                      "3:!!! 0000001\n";
    el_sha256_hex(enc, strlen(enc), want);
    CHECK_S(d.test.fingerprint, want);
    el_data_free(&d);

    /* enthusiasm: surprise, neutral: keep */
    s.train[0].enthusiasm = "surprise";
    s.train[0].neutral = "keep";
    rc = el_data_load(&s, &d);
    CHECK_I(rc, 0);
    if (rc == 0) {
        CHECK_I(d.train_src[0].rows_dropped_unmapped, 0);
        CHECK_I(d.train.n, 5);
        CHECK_S(row_labels(&d, &d.train, 0), "joy+neutral");
        CHECK_S(row_labels(&d, &d.train, 1), "surprise");
        CHECK_S(row_labels(&d, &d.train, 2), "surprise+neutral");
        el_data_free(&d);
    }
    /* overlap kept when not asked to drop, but still counted */
    s.drop_train_overlapping_eval = false;
    rc = el_data_load(&s, &d);
    CHECK_I(rc, 0);
    if (rc == 0) {
        CHECK_I(d.train.n, 6);
        CHECK_I(d.train_src[0].rows_overlap_val, 1);
        CHECK_I(d.train_src[0].rows_dropped_overlap, 0);
        CHECK_I(d.n_dropped_overlap, 0);
        el_data_free(&d);
    }
    /* limit */
    s.train[0].limit = 2;
    rc = el_data_load(&s, &d);
    CHECK_I(rc, 0);
    if (rc == 0) {
        CHECK_I(d.train_src[0].rows_read, 2);
        CHECK_I(d.train.n, 2);
        el_data_free(&d);
    }
}

/* a label set given by path, whose izard map sends enthusiasm to joy: `enthusiasm: drop`
 * overrides it */
static void test_custom_set(void) {
    put("sets/small.yaml", "labels: [joy, sadness, neutral]\n"
                           "maps:\n  izard: {neutral: neutral, joy: joy, sadness: sadness, anger: ~,\n"
                           "          enthusiasm: joy, surprise: ~, disgust: [], fear: ~, guilt: sadness,\n"
                           "          shame: [sadness]}\n"
                           "  goemotions: {2: ~, 11: ~, 17: joy, 25: sadness, 26: ~, 27: neutral}\n");
    char *path = el_printf("%s/sets/small.yaml", g_root);
    el_data_spec s = spec1(source("iz.csv", "izard"));
    s.labels = path;
    s.drop_train_overlapping_eval = false;
    el_dataset d;
    int rc = el_data_load(&s, &d);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK_I(rc, 0);
    if (rc == 0) {
        CHECK_I(d.labels.n, 3);
        CHECK_S(d.labels_path, path);
        /* rows: joy (neutral cleared), joy (enthusiasm), joy (enthusiasm; neutral cleared),
         * sadness, (anger only: no label), (empty text), (surprise only: no label) */
        CHECK_I(d.train_src[0].rows_dropped_unmapped, 2);
        CHECK_I(d.train.n, 4);
        CHECK_S(row_labels(&d, &d.train, 1), "joy");
        CHECK_S(row_labels(&d, &d.train, 2), "joy");
        el_data_free(&d);
    }
    s.train[0].enthusiasm = "drop";
    rc = el_data_load(&s, &d);
    CHECK_I(rc, 0);
    if (rc == 0) {
        CHECK_I(d.train_src[0].rows_dropped_unmapped, 3);
        CHECK_I(d.train.n, 3);
        CHECK_S(d.train.texts[1], "Спокойный интерес");
        CHECK_S(row_labels(&d, &d.train, 1), "neutral");
        el_data_free(&d);
    }
    free(path);
}

static void test_goemotions_spellings_and_concat(void) {
    /* id lists as numpy, python, quoted python and bare; CRLF line ends and a BOM */
    put("go.csv", "\xEF\xBB\xBFid,labels,ru_text\r\n"
                  "a,[27],один\r\n"
                  "b,[ 4 27],два\r\n"
                  "c,\"[4, 27]\",три\r\n"
                  "d,\"['2', '11']\",четыре\r\n"
                  "e,25 26,пять\r\n"
                  "f,[],шесть\r\n"
                  "g,[007],семь\r\n");
    put("cols.csv", "text,neutral,anger,joy,disgust,fear,sadness,surprise,note\n"
                    "много,0,1,1,0,0,0,0,whatever\n"
                    "ничего,0,0,0,0,0,0,0,x\n");
    el_data_spec s = spec1(source("go.csv", "goemotions"));
    s.train[1] = source("cols.csv", "columns");
    s.n_train = 2;
    s.drop_train_overlapping_eval = false;
    el_dataset d;
    int rc = el_data_load(&s, &d);
    if (rc) fprintf(stderr, "%s\n", el_last_error());
    CHECK_I(rc, 0);
    if (rc) return;
    CHECK_I(d.train_src[0].rows_read, 7);
    CHECK_I(d.train_src[0].rows_dropped_unmapped, 1); /* f: [] */
    CHECK_I(d.train_src[1].rows_dropped_unmapped, 1); /* ничего: all zeros */
    CHECK_I(d.train.n, 7);
    CHECK_S(row_labels(&d, &d.train, 0), "neutral");
    CHECK_S(row_labels(&d, &d.train, 1), "joy+neutral"); /* goemotions keeps neutral by default */
    CHECK_S(row_labels(&d, &d.train, 2), "joy+neutral");
    CHECK_S(row_labels(&d, &d.train, 3), "anger+disgust");
    CHECK_S(row_labels(&d, &d.train, 4), "sadness+surprise");
    CHECK_S(d.train.ids[5], "g");
    CHECK_S(row_labels(&d, &d.train, 5), "surprise"); /* 007 = 7 curiosity */
    CHECK_S(d.train.texts[6], "много");          /* the columns source comes second */
    CHECK_S(row_labels(&d, &d.train, 6), "anger+joy");
    CHECK_S(d.train.ids[6], "cols.csv:1");
    el_data_free(&d);

    /* neutral: clear_if_emotion on a goemotions source */
    s.train[0].neutral = "clear_if_emotion";
    rc = el_data_load(&s, &d);
    CHECK_I(rc, 0);
    if (rc == 0) {
        CHECK_S(row_labels(&d, &d.train, 1), "joy");
        CHECK_S(row_labels(&d, &d.train, 0), "neutral");
        el_data_free(&d);
    }
}

static void test_paths(void) {
    CHECK_S(el_data_root("/x"), "/x");
    setenv("EMOLAB_DATA", "/from/env", 1);
    CHECK_S(el_data_root(NULL), "/from/env");
    CHECK_S(el_data_root(""), "/from/env");
    CHECK_S(el_data_root("opt"), "opt");
    unsetenv("EMOLAB_DATA");
    CHECK_S(el_data_root(NULL), "data");

    char *p = NULL;
    CHECK_I(el_data_resolve_path("/root", "a/b.csv", &p), 0);
    CHECK_S(p, "/root/a/b.csv");
    free(p);
    CHECK_I(el_data_resolve_path("/root/", "/abs/b.csv", &p), 0);
    CHECK_S(p, "/abs/b.csv");
    free(p);
    CHECK_I(el_data_resolve_path("/root", "https://example.org/x.csv", &p), -1);
    CHECK(p == NULL);
    CHECK_HAS(el_last_error(), "https://example.org/x.csv is not pinned"); /* URLs need a pin */

    /* an absolute train path works whatever the root */
    char *abs = el_printf("%s/iz.csv", g_root);
    el_data_spec s = spec1(source(abs, "izard"));
    el_dataset d;
    CHECK_I(el_data_load(&s, &d), 0);
    el_data_free(&d);
    free(abs);

    /* URL in a spec */
    s = spec1(source("http://host/train.csv", "izard"));
    expect_fail(&s, "data.train[0].path: http://host/train.csv is not pinned", NULL, NULL);
}

static void test_bad_input(void) {
    el_data_spec s;

    /* missing file: the resolved path, the root and how to set it */
    s = spec1(source("nope/train.csv", "izard"));
    expect_fail(&s, "data.train[0]: ", "/nope/train.csv: file not found (data root: ", "EMOLAB_DATA");
    s.root = NULL;
    setenv("EMOLAB_DATA", "/no/such/root", 1);
    expect_fail(&s, "/no/such/root/", "from $EMOLAB_DATA", NULL);
    unsetenv("EMOLAB_DATA");

    /* a CSV without the named text column */
    s = spec1(source("go.csv", "goemotions"));
    s.train[0].text = "text";
    expect_fail(&s, "go.csv: no column 'text' (the text column; the header has: id, labels, ru_text)",
                "set the source's `text:`", NULL);
    s.train[0].text = NULL;
    s.val = source("test.csv", "goemotions"); /* test.csv has ru_text: fine */
    s.train[0].labels = "lbl";
    expect_fail(&s, "go.csv: no column 'lbl'", NULL, NULL);

    /* a label id outside the map: file, row, line, value */
    put("bad_id.csv", "ru_text,labels\nok,[1]\n\"two\nlines\",[1]\nbad,[ 4 28]\n");
    s = spec1(source("bad_id.csv", "goemotions"));
    expect_fail(&s, "bad_id.csv: row 3 (line 5): labels: label '28' (in '[ 4 28]') is not in the label map 'goemotions'",
                "ekman7.yaml", NULL);
    put("bad_list.csv", "ru_text,labels\nok,[1; 2]\n");
    s = spec1(source("bad_list.csv", "goemotions"));
    expect_fail(&s, "bad_list.csv: row 1 (line 2): labels: '[1; 2]': unexpected character ';'", NULL, NULL);
    put("bad_list2.csv", "ru_text,labels\nok,[1 2\n");
    s = spec1(source("bad_list2.csv", "goemotions"));
    expect_fail(&s, "row 1 (line 2): labels: '[1 2': missing the closing ']'", NULL, NULL);
    put("bad_list3.csv", "ru_text,labels\nok,\n");
    s = spec1(source("bad_list3.csv", "goemotions"));
    expect_fail(&s, "row 1 (line 2): labels: empty", NULL, NULL);

    /* izard: a column the map does not know, a missing one, a value that is not 0/1 */
    put("iz_extra.csv", "text,neutral,joy,sadness,anger,enthusiasm,surprise,disgust,fear,guilt,shame,pride\n"
                        "a,0,1,0,0,0,0,0,0,0,0,1\n");
    s = spec1(source("iz_extra.csv", "izard"));
    expect_fail(&s, "iz_extra.csv: column 'pride' is not a label of map 'izard'", NULL, NULL);
    put("iz_missing.csv", "text,neutral,joy\na,0,1\n");
    s = spec1(source("iz_missing.csv", "izard"));
    expect_fail(&s, "iz_missing.csv: no column 'sadness'", NULL, NULL);
    put("iz_val.csv", "text,neutral,joy,sadness,anger,enthusiasm,surprise,disgust,fear,guilt,shame\n"
                      "a,0,1,0,0,0,0,0,0,0,0\nb,0,yes,0,0,0,0,0,0,0,0\n");
    s = spec1(source("iz_val.csv", "izard"));
    expect_fail(&s, "iz_val.csv: row 2 (line 3): joy: 'yes' is not 0 or 1", NULL, NULL);

    /* invalid UTF-8 in a text: file, row, line, byte offset */
    put("utf.csv", "text,neutral,joy,sadness,anger,enthusiasm,surprise,disgust,fear,guilt,shame\n"
                   "ok,0,1,0,0,0,0,0,0,0,0\n"
                   "ok too,0,1,0,0,0,0,0,0,0,0\n"
                   "\"abc\n\xD0\xBF\xFF\",0,1,0,0,0,0,0,0,0,0\n");
    s = spec1(source("utf.csv", "izard"));
    expect_fail(&s, "utf.csv: row 3 (line 4): text: invalid UTF-8 at byte 6 of the text (byte 0xff)", NULL, NULL);
    /* cp1251 text in the val file */
    put("val1251.csv", "ru_text,labels\n\xcf\xf0\xe8\xe2\xe5\xf2,[27]\n");
    s = spec1(source("iz.csv", "izard"));
    s.val = source("val1251.csv", "goemotions");
    expect_fail(&s, "val1251.csv: row 1 (line 2): ru_text: invalid UTF-8 at byte 0", "iconv", NULL);

    /* an empty train split after de-duplication: every train text is also in val */
    put("dup.csv", "ru_text,labels\nпривет мир,[1]\nСовсем ДРУГОЕ!,[2]\n");
    s = spec1(source("dup.csv", "goemotions"));
    expect_fail(&s, "data.train: the train split is empty", "dup.csv: 2 rows read, 2 overlapping val/test",
                "drop_train_overlapping_eval");

    /* an unterminated quote in a data file */
    put("open.csv", "ru_text,labels\nok,[1]\n\"never closed,[2]\nmore\n");
    s = spec1(source("open.csv", "goemotions"));
    expect_fail(&s, "data.train[0]: ", "open.csv:3: unterminated quoted field", NULL);

    /* spec values the loader checks itself */
    s = spec1(source("iz.csv", "izard"));
    s.train[0].enthusiasm = "interest";
    expect_fail(&s, "data.train[0].enthusiasm: 'interest' is not allowed; use drop", NULL, NULL);
    s = spec1(source("go.csv", "goemotions"));
    s.train[0].enthusiasm = "joy";
    expect_fail(&s, "data.train[0].enthusiasm: the source's label map (goemotions) has no label 'enthusiasm'", NULL, NULL);
    s = spec1(source("iz.csv", "izard"));
    s.train[0].neutral = "sometimes";
    expect_fail(&s, "data.train[0].neutral: 'sometimes' is not allowed", NULL, NULL);
    s = spec1(source("iz.csv", "tsv"));
    expect_fail(&s, "data.train[0].format: 'tsv' is not a format; allowed: goemotions, izard, columns", NULL, NULL);
    s = spec1(source("iz.csv", "izard"));
    s.train[0].map = "nomap";
    expect_fail(&s, "data.train[0]: ", "has no map 'nomap' (maps: goemotions, izard, djacon9)", NULL);
    s = spec1(source("iz.csv", "izard"));
    s.labels = "nosuchset";
    expect_fail(&s, "data.labels: ", "no label set 'nosuchset'", NULL);
    s = spec1(source("iz.csv", "izard"));
    s.test.path = NULL;
    expect_fail(&s, "data.test: missing", NULL, NULL);
    s = spec1(source("iz.csv", "izard"));
    s.n_train = 0;
    expect_fail(&s, "data.train: no sources", NULL, NULL);
    s = spec1(source("cols.csv", "columns"));
    s.labels = "goemotions28";
    expect_fail(&s, "cols.csv: no column 'admiration'", NULL, NULL);
}

static void test_normalize(void) {
    const char *cases[][2] = {
        {"Привет, МИР!!", "привет мир"},
        {"  --ЁЛКА__2x  ", "ёлка 2x"},
        {"don't STOP", "don t stop"},
        {"[ИМЯ] сказал: «да»", "имя сказал да"},
        {"!!!", ""},
        {"", ""},
        {"ΣΑΣ", "σασ"},           /* simple lowercase: no final-sigma rule */
        {"Straße 3½", "straße 3½"}, /* ½ is a number (No) */
        {"a\xcc\x81 b", "a b"},     /* a combining mark separates like punctuation */
        {"x\xffy", "x y"},          /* an invalid byte too */
        {"😂 ха-ха 😂", "ха ха"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *n = el_text_normalize(cases[i][0]);
        CHECK_S(n, cases[i][1]);
        free(n);
    }
}

int main(void) {
    snprintf(g_root, sizeof g_root, "%s/el_test_data_XXXXXX", el_env("TMPDIR", "/tmp"));
    if (!mkdtemp(g_root)) return 2;
    unsetenv("EMOLAB_CONFIGS");
    write_inputs();
    test_izard_rules();
    test_goemotions_spellings_and_concat();
    test_custom_set();
    test_paths();
    test_bad_input();
    test_normalize();
    char *cmd = el_printf("rm -rf '%s'", g_root);
    if (system(cmd) != 0) fprintf(stderr, "cleanup failed\n");
    free(cmd);
    return check_done("test_data_bad");
}
