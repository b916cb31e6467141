/* test_spec_bad.c: invalid specs are refused before any work, with
 * `file:line:column: key: what is wrong, what is allowed`. Every position below was counted by
 * hand in the YAML text next to it (line 1 = the first line of BASE). */
#include "check.h"
#include "spec.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#ifndef EMOLAB_SOURCE_DIR
#define EMOLAB_SOURCE_DIR "."
#endif

/* lines 1-4; the name comes from the file name ("bad.yaml" -> bad) */
#define BASE                                                                                   \
    "data:\n"                                                                                  \
    "  train: [{path: a.csv, format: goemotions}]\n"                                           \
    "  val: {path: v.csv, format: goemotions}\n"                                               \
    "  test: {path: t.csv, format: goemotions}\n"

/* Parses text as file `file`; the parse must fail. Returns the message (valid until the next
 * call). Also checks that a failed parse leaves the spec empty. */
static const char *fails_as(const char *text, const char *file) {
    el_spec s;
    memset(&s, 0x5a, sizeof s);
    el_clear_error();
    int rc = el_spec_parse(text, strlen(text), file, &s);
    CHECK(rc == EL_ERR);
    if (rc == EL_OK) {
        fprintf(stderr, "unexpectedly accepted:\n%s\n", text);
        el_spec_free(&s);
        return "";
    }
    CHECK(s.name == NULL && s.resolved == NULL && s.resolved_json == NULL);
    el_spec_free(&s); /* harmless on a zeroed spec */
    return el_last_error();
}

static const char *fails(const char *text) { return fails_as(text, "bad.yaml"); }

static void accepts(const char *text) {
    el_spec s;
    int rc = el_spec_parse(text, strlen(text), "ok.yaml", &s);
    if (rc) fprintf(stderr, "unexpectedly refused: %s\n", el_last_error());
    CHECK(rc == EL_OK);
    el_spec_free(&s);
}

static int32_t count_lines(const char *s) {
    int32_t n = 1;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void test_unknown_keys(void) {
    CHECK_STR(fails(BASE "head:\n  dropuot: 0.5\n"),
              "bad.yaml:6:3: head.dropuot: unknown key, did you mean head.dropout?");
    CHECK_STR(fails(BASE "hed: {dropout: 0.5}\n"), "bad.yaml:5:1: hed: unknown key, did you mean head?");
    CHECK_STR(fails(BASE "head: {lr: 0.1}\n"),
              "bad.yaml:5:8: head.lr: unknown key here, did you mean train.lr?");
    CHECK_STR(fails(BASE "head: {foo: 1}\n"),
              "bad.yaml:5:8: head.foo: unknown key; the keys of head are: layers, dropout, "
              "activation, norm, norm_groups, residual, heads, meta");
    CHECK_STR(fails(BASE "train: {early_stopping: {patiense: 2}}\n"),
              "bad.yaml:5:26: train.early_stopping.patiense: unknown key, did you mean "
              "train.early_stopping.patience?");
    CHECK_STR(fails("data:\n"
                    "  train: [{path: a.csv, format: goemotions}]\n"
                    "  val: {path: v.csv, format: goemotions, txt: ru_text}\n"
                    "  test: {path: t.csv, format: goemotions}\n"),
              "bad.yaml:3:42: data.val.txt: unknown key, did you mean data.val.text?");
}

static void test_wrong_types(void) {
    CHECK_STR(fails(BASE "head:\n  layers: \"768\"\n"),
              "bad.yaml:6:11: head.layers: expected a list of integers, got a string (\"768\")");
    CHECK_STR(fails(BASE "head: {layers: [768, x]}\n"),
              "bad.yaml:5:22: head.layers[1]: expected an integer, got a string (\"x\")");
    CHECK_STR(fails(BASE "head: {layers: 768}\n"),
              "bad.yaml:5:16: head.layers: expected a list of integers, got the integer 768");
    CHECK_STR(fails(BASE "head: {dropout: \"0.5\"}\n"),
              "bad.yaml:5:17: head.dropout: expected a number, got a string (\"0.5\")");
    CHECK_STR(fails(BASE "head: {residual: yes}\n"),
              "bad.yaml:5:18: head.residual: expected true or false, got yes (yes/no/on/off are not "
              "booleans here)");
    CHECK_STR(fails(BASE "head: [1]\n"), "bad.yaml:5:7: head: expected a mapping, got a list");
    CHECK_STR(fails(BASE "train: {epochs: 8.0}\n"),
              "bad.yaml:5:17: train.epochs: expected an integer, got the number 8.0 (write integers "
              "without a fraction or exponent), allowed [1, 100000]");
    CHECK_STR(fails(BASE "owner: [a]\n"), "bad.yaml:5:8: owner: expected a string, got a list");
    CHECK_PREFIX(fails(BASE "owner: \"a\\nb\"\n"), "bad.yaml:5:8: owner: a control character (0x0a)");
    accepts(BASE "notes: \"line 1\\nline 2\"\n");
    CHECK_STR(fails("data:\n"
                    "  train: {path: a.csv, format: goemotions}\n"
                    "  val: {path: v.csv, format: goemotions}\n"
                    "  test: {path: t.csv, format: goemotions}\n"),
              "bad.yaml:2:10: data.train: expected a list of sources [{path, format, ...}, ...], got "
              "a mapping");
    CHECK_STR(fails("[1, 2]\n"),
              "bad.yaml:1:1: the spec must be a mapping of keys (name, data, backbone, ...), got a list");
    CHECK_PREFIX(fails(""), "bad.yaml:1:1: the spec is empty");
    CHECK_PREFIX(fails("# nothing\n"), "bad.yaml:1:1: the spec is empty");
}

static void test_ranges(void) {
    CHECK_STR(fails(BASE "head: {dropout: 1.5}\n"),
              "bad.yaml:5:17: head.dropout: 1.5 is out of range, allowed [0, 1)");
    CHECK_STR(fails(BASE "head: {dropout: -0.1}\n"),
              "bad.yaml:5:17: head.dropout: -0.1 is out of range, allowed [0, 1)");
    CHECK_STR(fails(BASE "head: {dropout: 1}\n"),
              "bad.yaml:5:17: head.dropout: 1 is out of range, allowed [0, 1)");
    accepts(BASE "head: {dropout: 0.85}\n");
    accepts(BASE "head: {dropout: 0}\n");
    CHECK_STR(fails(BASE "train: {lr: 0}\n"), "bad.yaml:5:13: train.lr: 0 is out of range, allowed > 0");
    CHECK_STR(fails(BASE "train: {lr: -2e-3}\n"),
              "bad.yaml:5:13: train.lr: -2e-3 is out of range, allowed > 0");
    CHECK_STR(fails(BASE "train: {weight_decay: -1}\n"),
              "bad.yaml:5:23: train.weight_decay: -1 is out of range, allowed >= 0");
    CHECK_STR(fails(BASE "train: {warmup: 1.0}\n"),
              "bad.yaml:5:17: train.warmup: 1.0 is out of range, allowed [0, 1)");
    CHECK_STR(fails(BASE "head: {heads: 0}\n"), "bad.yaml:5:15: head.heads: 0 is out of range, allowed [1, 16]");
    CHECK_STR(fails(BASE "threshold: {value: 1}\n"),
              "bad.yaml:5:20: threshold.value: 1 is out of range, allowed (0, 1)");
    CHECK_STR(fails(BASE "backbone: {buckets: 2000000000}\n"),
              "bad.yaml:5:21: backbone.buckets: 2000000000 is out of range, allowed [1, 1073741824]");
    CHECK_STR(fails(BASE "backbone: {char_ngrams: [5, 3]}\n"),
              "bad.yaml:5:25: backbone.char_ngrams: min 5 is larger than max 3; write [min, max]");
    CHECK_STR(fails(BASE "backbone: {char_ngrams: [3]}\n"),
              "bad.yaml:5:25: backbone.char_ngrams: expected two integers [min, max], got a list of 1");
    CHECK_PREFIX(fails(BASE "backbone: {char_ngrams: [0, 3]}\n"),
                 "bad.yaml:5:25: backbone.char_ngrams: [0, 3]: use [0, 0] for no character n-grams");
    CHECK_PREFIX(fails(BASE "backbone: {char_ngrams: [0, 0], word_ngrams: 0}\n"),
                 "bad.yaml:5:46: backbone.word_ngrams: 0 with char_ngrams [0, 0] leaves no features");
    CHECK_STR(fails(BASE "head: {layers: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]}\n"),
              "bad.yaml:5:16: head.layers: a list of 17 items, allowed at most 16");
    CHECK_STR(fails(BASE "head: {layers: [768, 0]}\n"),
              "bad.yaml:5:22: head.layers[1]: 0 is out of range, allowed [1, 1048576]");
}

static void test_huge_numbers(void) {
    CHECK_STR(fails(BASE "backbone: {buckets: 99999999999999999999}\n"),
              "bad.yaml:5:21: backbone.buckets: 99999999999999999999 is too large for an integer, "
              "allowed [1, 1073741824]");
    CHECK_PREFIX(fails(BASE "backbone: {buckets: 1e30}\n"),
                 "bad.yaml:5:21: backbone.buckets: expected an integer, got the number 1e30");
    CHECK_PREFIX(fails(BASE "train: {seed: 9223372036854775808}\n"),
                 "bad.yaml:5:15: train.seed: 9223372036854775808 is too large for an integer");
    accepts(BASE "train: {seed: 9223372036854775807}\n");
    CHECK_STR(fails(BASE "train: {lr: 1e400}\n"),
              "bad.yaml:5:13: train.lr: 1e400 is too large to be represented as a double, allowed > 0");
    CHECK_STR(fails(BASE "train: {lr: 1e-400}\n"),
              "bad.yaml:5:13: train.lr: 1e-400 is too small to be represented as a double, allowed > 0");
    CHECK_STR(fails(BASE "train: {lr: .inf}\n"),
              "bad.yaml:5:13: train.lr: expected a finite number, got .inf, allowed > 0");
    CHECK_STR(fails(BASE "train: {lr: -.inf}\n"),
              "bad.yaml:5:13: train.lr: expected a finite number, got -.inf, allowed > 0");
    CHECK_STR(fails(BASE "train: {lr: .nan}\n"),
              "bad.yaml:5:13: train.lr: expected a finite number, got .nan, allowed > 0");
    CHECK_STR(fails(BASE "train: {lr: NaN}\n"),
              "bad.yaml:5:13: train.lr: expected a finite number, got NaN, allowed > 0");
    /* a huge lr is a valid spec: it is the training run that fails (issue #3: NaN loss) */
    accepts(BASE "train: {lr: 1e30}\n");
    /* a 5000-digit number */
    el_buf b = {0};
    el_buf_puts(&b, BASE "train: {epochs: ");
    for (int i = 0; i < 5000; i++) el_buf_putc(&b, '9');
    el_buf_puts(&b, "}\n");
    CHECK_PREFIX(fails(b.s), "bad.yaml:5:17: train.epochs: 9999999999999999999999999999999999999999... "
                             "is too large for an integer");
    el_buf_free(&b);
}

static void test_enums(void) {
    CHECK_STR(fails(BASE "head: {activation: swish}\n"),
              "bad.yaml:5:20: head.activation: unknown value 'swish', allowed relu|gelu|silu|leaky_relu|tanh");
    CHECK_STR(fails(BASE "head: {activation: GELU}\n"),
              "bad.yaml:5:20: head.activation: unknown value 'GELU', did you mean gelu? allowed "
              "relu|gelu|silu|leaky_relu|tanh");
    CHECK_STR(fails(BASE "head: {norm: rms}\n"),
              "bad.yaml:5:14: head.norm: unknown value 'rms', allowed none|layer|batch|group");
    CHECK_STR(fails(BASE "backbone: {pooling: max}\n"),
              "bad.yaml:5:21: backbone.pooling: unknown value 'max', allowed mean|sum|sqrt|idf");
    CHECK_STR(fails(BASE "train: {scheduler: step}\n"),
              "bad.yaml:5:20: train.scheduler: unknown value 'step', allowed constant|linear|cosine");
    CHECK_STR(fails(BASE "train: {scheduler: cosin}\n"),
              "bad.yaml:5:20: train.scheduler: unknown value 'cosin', did you mean cosine? allowed "
              "constant|linear|cosine");
    CHECK_STR(fails("data:\n"
                    "  train: [{path: a.csv, format: csv}]\n"
                    "  val: {path: v.csv, format: goemotions}\n"
                    "  test: {path: t.csv, format: goemotions}\n"),
              "bad.yaml:2:33: data.train[0].format: unknown value 'csv', allowed goemotions|izard|columns");
    /* an unknown backbone type: only that error, not one per bow key */
    CHECK_STR(fails(BASE "backbone: {type: lstm, dim: 5}\n"),
              "bad.yaml:5:18: backbone.type: unknown value 'lstm', allowed bow|hf|tfidf|cnn|rnn|transformer");
}

static void test_empty_layers(void) {
    /* layers: [] is a single linear layer: legitimate on its own */
    accepts(BASE "head: {layers: []}\n");
    accepts(BASE "head: {layers: [], activation: gelu, dropout: 0.5}\n");
    /* ... but not with what needs hidden layers */
    CHECK_STR(fails(BASE "head: {layers: [], norm: layer}\n"),
              "bad.yaml:5:26: head.norm: layer normalisation needs hidden layers, but head.layers is "
              "empty (a single linear layer); add hidden sizes or use none");
    CHECK_PREFIX(fails(BASE "head:\n  residual: true\n"),
                 "bad.yaml:6:13: head.residual: residual blocks need hidden layers, but head.layers is empty");
    CHECK_PREFIX(fails(BASE "head: {layers: [750], norm: group}\n"),
                 "bad.yaml:5:29: head.norm_groups: 8 groups do not divide hidden size 750 (head.layers[0])");
    accepts(BASE "head: {layers: [768], norm: group}\n");
    CHECK_STR(fails("data:\n"
                    "  train: []\n"
                    "  val: {path: v.csv, format: goemotions}\n"
                    "  test: {path: t.csv, format: goemotions}\n"),
              "bad.yaml:2:10: data.train: an empty list; give at least one source {path, format}");
}

static void test_missing(void) {
    CHECK_STR(fails("data:\n"
                    "  train: [{path: a.csv, format: goemotions}]\n"
                    "  test: {path: t.csv, format: goemotions}\n"),
              "bad.yaml:2:3: data.val: missing, required (a source mapping {path, format, ...})");
    CHECK_STR(fails("data:\n"
                    "  train: [{path: a.csv, format: goemotions}]\n"
                    "  val: {path: v.csv, format: goemotions}\n"
                    "  test: {format: goemotions}\n"),
              "bad.yaml:4:9: data.test.path: missing, required (a string)");
    const char *e = fails("name: x\n");
    CHECK_STR(e, "bad.yaml:1:1: data.train: missing, required (a list of sources [{path, format, ...}, ...])\n"
                 "bad.yaml:1:1: data.val: missing, required (a source mapping {path, format, ...})\n"
                 "bad.yaml:1:1: data.test: missing, required (a source mapping {path, format, ...})");
    CHECK_STR(fails("data:\n"
                    "  train: [{path: '', format: goemotions}]\n"
                    "  val: {path: v.csv, format: goemotions}\n"
                    "  test: {path: t.csv, format: goemotions}\n"),
              "bad.yaml:2:18: data.train[0].path: an empty path; give the CSV file");
}

static void test_names(void) {
    CHECK_PREFIX(fails(BASE "name: ../x\n"), "bad.yaml:5:7: name: '../x' is not a safe name: use letters, "
                                             "digits, '-', '_', '.' (no '/', no '..'");
    const char *bad_names[] = {"a/b", "..", ".hidden", "''", "-x", "a..b", "x/../../etc", "'a b'",
                               "'/abs'", "'ы'"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        char *doc = el_printf(BASE "name: %s\n", bad_names[i]);
        CHECK_PREFIX(fails(doc), "bad.yaml:5:7: name: '");
        CHECK_HAS(el_last_error(), "is not a safe name");
        free(doc);
    }
    el_buf b = {0};
    el_buf_puts(&b, BASE "name: ");
    for (int i = 0; i < 129; i++) el_buf_putc(&b, 'a');
    el_buf_putc(&b, '\n');
    CHECK_HAS(fails(b.s), "is not a safe name");
    el_buf_free(&b);
    accepts(BASE "name: bow-h768_d0.85\n");
    CHECK_PREFIX(fails(BASE "data_variant: x\n"), "bad.yaml:5:1: data_variant: unknown key");
    CHECK_PREFIX(fails(BASE "data: {variant: ../x}\n"), "bad.yaml:5:1: duplicate key 'data'");
    /* without `name`, the file name must give a safe one */
    CHECK_STR(fails_as(BASE, "bad name.yaml"),
              "bad name.yaml:1:1: name: missing, and the file name does not give a safe one; set a "
              "name (letters, digits, '-', '_', '.')");
    /* the label set: a name or a .yaml path */
    CHECK_PREFIX(fails("data:\n"
                       "  labels: ../x\n"
                       "  train: [{path: a.csv, format: goemotions}]\n"
                       "  val: {path: v.csv, format: goemotions}\n"
                       "  test: {path: t.csv, format: goemotions}\n"),
                 "bad.yaml:2:11: data.labels: '../x' is neither a label-set name");
    accepts("data:\n"
            "  labels: configs/labels/mine.yaml\n"
            "  train: [{path: a.csv, format: goemotions}]\n"
            "  val: {path: v.csv, format: goemotions}\n"
            "  test: {path: t.csv, format: goemotions}\n");
}

static void test_yaml_level(void) {
    /* billion laughs through the spec entry point */
    const char *laughs = BASE
        "notes: &a [x,x,x,x,x,x,x,x,x,x]\n"
        "owner: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "x1: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "x2: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        "x3: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "x4: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
        "x5: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
        "x6: [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\n";
    const char *e = fails(laughs);
    CHECK_PREFIX(e, "bad.yaml:9:27: alias *d: the document expands to more than 100000 nodes");
    CHECK_HAS(e, "billion laughs");
    CHECK_PREFIX(fails(BASE "head: {dropout: 0.1, dropout: 0.2}\n"),
                 "bad.yaml:5:22: duplicate key 'dropout' (first at line 5, column 8)");
    CHECK_PREFIX(fails(BASE "---\nname: x\n"), "bad.yaml:5:1: a second YAML document");
    CHECK_PREFIX(fails(BASE "head: {dropout: [1, 2}\n"), "bad.yaml:5:");
}

static void test_many_errors(void) {
    /* all errors are reported, in document order */
    CHECK_STR(fails(BASE "train: {lr: 0}\nhead: {dropout: 1.5}\n"),
              "bad.yaml:5:13: train.lr: 0 is out of range, allowed > 0\n"
              "bad.yaml:6:17: head.dropout: 1.5 is out of range, allowed [0, 1)");
    el_buf b = {0};
    el_buf_puts(&b, BASE "head: {");
    for (int i = 0; i < 25; i++) el_buf_printf(&b, "%sxx%d: 1", i ? ", " : "", i);
    el_buf_puts(&b, "}\n");
    const char *e = fails(b.s);
    CHECK(count_lines(e) == 21);
    CHECK_HAS(e, "\n(and 5 more errors)");
    el_buf_free(&b);
}

static void test_overrides(void) {
    char *bow = el_printf("%s/configs/bow.yaml", el_env("EMOLAB_SOURCE_DIR", EMOLAB_SOURCE_DIR));
    struct {
        const char *set[2];
        int32_t n;
        const char *want;
        bool prefix;
    } cases[] = {
        {{"head.dropout=1.5"}, 1, "--set head.dropout=1.5: head.dropout: 1.5 is out of range, allowed [0, 1)", false},
        {{"head.dropuot=0.5"}, 1, "--set head.dropuot=0.5: head.dropuot: unknown key, did you mean head.dropout?", false},
        {{"hed.dropout=0.5"}, 1, "--set hed.dropout=0.5: hed: unknown key, did you mean head?", false},
        {{"head.layers=abc"}, 1, "--set head.layers=abc: head.layers: expected a list of integers, got a string (\"abc\")", false},
        {{"head.layers=[768, -1]"}, 1, "--set head.layers=[768, -1]: head.layers[1]: -1 is out of range, allowed [1, 1048576]", false},
        {{"train.lr=0"}, 1, "--set train.lr=0: train.lr: 0 is out of range, allowed > 0", false},
        {{"head.activation=swish"}, 1, "--set head.activation=swish: head.activation: unknown value 'swish', allowed relu|gelu|silu|leaky_relu|tanh", false},
        {{"name=../x"}, 1, "--set name=../x: name: '../x' is not a safe name", true},
        {{"head.layers=[]", "head.norm=layer"}, 2, "--set head.norm=layer: head.norm: layer normalisation needs hidden layers", true},
        {{"head.dropout"}, 1, "--set head.dropout: expected KEY=VALUE", true},
        {{"head.dropout.x=1"}, 1, "--set head.dropout.x=1: head.dropout.x: cannot set 'x' inside a value that is not a mapping", false},
        {{"head.layers=[1,"}, 1, "--set head.layers=[1,: not a valid YAML value", true},
        {{"data.train[3].path=x"}, 1, "--set data.train[3].path=x: data.train[3].path: there is no item 3 in this list of 1", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        el_spec s;
        el_clear_error();
        int rc = el_spec_load(bow, cases[i].set, cases[i].n, &s);
        CHECK(rc == EL_ERR);
        if (rc == EL_OK) {
            fprintf(stderr, "accepted: --set %s\n", cases[i].set[0]);
            el_spec_free(&s);
            continue;
        }
        CHECK(s.name == NULL);
        if (cases[i].prefix)
            CHECK_PREFIX(el_last_error(), cases[i].want);
        else
            CHECK_STR(el_last_error(), cases[i].want);
    }
    el_spec s;
    CHECK(el_spec_load("/nonexistent/spec.yaml", NULL, 0, &s) == EL_ERR);
    CHECK_PREFIX(el_last_error(), "/nonexistent/spec.yaml: cannot open");
    free(bow);
}

int main(void) {
    test_unknown_keys();
    test_wrong_types();
    test_ranges();
    test_huge_numbers();
    test_enums();
    test_empty_layers();
    test_missing();
    test_names();
    test_yaml_level();
    test_many_errors();
    test_overrides();
    return check_summary("spec_bad");
}
