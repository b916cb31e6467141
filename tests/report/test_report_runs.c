/* test_report_runs: `emolab show`, `compare`, `ls` and `report` on a registry written through the
 * public registry API (el_run_begin / el_run_epoch / el_run_finish / el_run_artifact), the way
 * `emolab run` records runs. The numbers are chosen here; the checks read the CLI's output
 * (EMOLAB_BIN) and compare the numbers token by token. */
#include "registry/reg_test.h"

static const char *const L3[] = {"anger", "joy", "neutral"};

/* metrics with chosen numbers (not necessarily consistent with each other: the report only
 * shows what was recorded) */
static void fill(el_metrics *m, double shift) {
    memset(m, 0, sizeof *m);
    m->n_labels = 3;
    m->cls[0] = (el_class_metrics){0.5, 0.25, 1.0 / 3.0 + shift, 4, 1, 1, 3};
    m->cls[1] = (el_class_metrics){0.8, 0.8, 0.8 + shift, 10, 8, 2, 2};
    m->cls[2] = (el_class_metrics){0.6, 0.75, 2.0 / 3.0 + shift, 8, 6, 4, 2};
    m->micro_precision = 0.7, m->micro_recall = 0.68, m->micro_f1 = 0.69 + shift;
    m->macro_precision = 0.63, m->macro_recall = 0.6, m->macro_f1 = 0.61 + shift;
    m->weighted_precision = 0.66, m->weighted_recall = 0.65, m->weighted_f1 = 0.60 + shift;
    m->samples_precision = 0.5, m->samples_recall = 0.55, m->samples_f1 = 0.52 + shift;
    m->n_rows = 20;
    m->support = 22;
}

static void record(el_registry *r, const char *name, const char *dropout, int64_t seed, double shift, char uuid[37]) {
    char seed_s[16];
    snprintf(seed_s, sizeof seed_s, "%lld", (long long)seed);
    const char *keys[] = {"backbone.type", "data.variant", "head.dropout", "head.layers", "train.seed"};
    const char *vals[] = {"\"bow\"", "\"orig\"", dropout, "[768]", seed_s};
    char *cfg = el_printf("{\"head\":{\"dropout\":%s},\"train\":{\"seed\":%s}}", dropout, seed_s);
    el_run_info info = {.name = name, .owner = "marina", .kind = "single", .git_commit = "0123abcd",
                        .spec_file = "configs/bow.yaml", .config_json = cfg, .config_hash = name, .seed = seed,
                        .data_variant = "orig", .param_keys = keys, .param_values = vals, .n_params = 5};
    REQUIRE(el_run_begin(r, &info, uuid) == 0, "%s", el_last_error());
    free(cfg);
    for (int e = 1; e <= 3; e++) {
        el_epoch_row row = {.epoch = e, .train_loss = 0.5 / e, .val_loss = 0.6 / e, .val_weighted_f1 = 0.5 + e / 20.0 + shift,
                            .val_macro_f1 = 0.4, .val_micro_f1 = 0.45, .lr = 1e-3, .seconds = 65, .samples_per_s = 1234};
        REQUIRE(el_run_epoch(r, uuid, &row) == 0, "%s", el_last_error());
    }
    REQUIRE(el_run_artifact(r, uuid, "checkpoint", "/x/model.safetensors",
                            "abababababababababababababababababababababababababababababababab", 1500000) == 0,
            "%s", el_last_error());
    el_metrics val, test;
    fill(&val, shift);
    fill(&test, shift - 0.05);
    el_split_metrics sm[2] = {{"val", &val}, {"test", &test}};
    float thr[3] = {0.15f, 0.35f, 0.5f}, cx[3] = {0.25f, 0.5f, 0.75f}, cy[3] = {0.55f, 0.58f, 0.5f};
    el_run_result res = {.status = "finished", .best_epoch = 2, .epochs_run = 3, .thresholds = thr, .n_labels = 3,
                         .label_names = L3, .metrics = sm, .n_metrics = 2, .thr_curve_x = cx, .thr_curve_val_f1 = cy,
                         .n_thr_curve = 3, .train_seconds = 195};
    REQUIRE(el_run_finish(r, uuid, &res) == 0, "%s", el_last_error());
}

/* runs the emolab binary; stdout and stderr into malloc'd strings; returns the exit code */
static int run_cli(const char *args, char **out, char **err) {
    const char *bin = getenv("EMOLAB_BIN");
    REQUIRE(bin, "EMOLAB_BIN is not set (run through ctest)");
    char *errf = tpath("stderr.txt");
    char *cmd = el_printf("'%s' %s 2>'%s'", bin, args, errf);
    FILE *p = popen(cmd, "r");
    REQUIRE(p, "popen %s", cmd);
    el_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) el_buf_append(&b, chunk, n);
    int st = pclose(p);
    *out = b.s ? el_buf_take(&b) : xstrdup("");
    size_t len;
    if (el_read_file(errf, err, &len) != 0) *err = xstrdup("");
    free(cmd);
    free(errf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The whitespace-separated tokens of the first line at/after `after` whose first tokens are
 * `lead`; "" when none. */
static char *line_tokens(const char *text, const char *after, const char *lead) {
    const char *p = after ? strstr(text, after) : text;
    if (!p) return xstrdup("");
    size_t ll = strlen(lead);
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = el_strndup(p, len);
        el_buf norm = {0};
        for (char *save = NULL, *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
            el_buf_printf(&norm, "%s%s", norm.len ? " " : "", t);
        free(line);
        if (norm.s && !strncmp(norm.s, lead, ll) && (norm.s[ll] == ' ' || !norm.s[ll])) return el_buf_take(&norm);
        el_buf_free(&norm);
        if (!nl) break;
        p = nl + 1;
    }
    return xstrdup("");
}

#define EXPECT_LINE(text, after, lead, want)                                                          \
    do {                                                                                              \
        char *got_ = line_tokens(text, after, lead);                                                  \
        CHECK(!strcmp(got_, want), "line '%s' (after '%s'): got '%s', want '%s'", lead, after ? after : "", \
              got_, want);                                                                            \
        free(got_);                                                                                   \
    } while (0)

int main(void) {
    tmp_dir("report-runs");
    char *path = tpath("reg.db");
    el_registry *r = el_registry_open(path, false);
    REQUIRE(r, "%s", el_last_error());
    char a[37], b[37], a2[37];
    record(r, "bow-a", "0.85", 1, 0.0, a);
    usleep(5000); /* created times are in milliseconds: keep the order */
    record(r, "bow-b", "0.5", 1, 0.05, b);
    usleep(5000);
    record(r, "bow-a", "0.85", 2, 0.02, a2);
    el_registry_close(r);
    char hash_before[65], hash_after[65];
    file_hash(path, hash_before);

    char *out, *err, *args;
    /* show by uuid prefix */
    args = el_printf("show %.8s --registry '%s'", a, path);
    CHECK(run_cli(args, &out, &err) == 0, "show: %s", err);
    CHECK(strstr(out, a) != NULL, "show prints the full uuid");
    EXPECT_LINE(out, "val: classification report", "anger", "anger 0.5000 0.2500 0.3333 4");
    EXPECT_LINE(out, "val: classification report", "joy", "joy 0.8000 0.8000 0.8000 10");
    EXPECT_LINE(out, "val: classification report", "weighted avg", "weighted avg 0.6600 0.6500 0.6000 22");
    EXPECT_LINE(out, "val: classification report", "micro avg", "micro avg 0.7000 0.6800 0.6900 22");
    EXPECT_LINE(out, "test: classification report", "neutral", "neutral 0.6000 0.7500 0.6167 8");
    EXPECT_LINE(out, "test: classification report", "weighted avg", "weighted avg 0.6600 0.6500 0.5500 22");
    EXPECT_LINE(out, "thresholds (tuned on val)\n", "anger", "anger 0.15 joy 0.35 neutral 0.5");
    EXPECT_LINE(out, "epochs", "2*", "2* 0.2500 0.3000 0.6000 0.4000 0.4500 0.001 1m05s 1234");
    EXPECT_LINE(out, "epochs", "3", "3 0.1667 0.2000 0.6500 0.4000 0.4500 0.001 1m05s 1234");
    EXPECT_LINE(out, "resolved config", "head.dropout", "head.dropout 0.85");
    EXPECT_LINE(out, "artifacts", "checkpoint", "checkpoint /x/model.safetensors (1.5 MB, sha256 abababababab)");
    EXPECT_LINE(out, NULL, "status", "status finished (best epoch 2 of 3, 3m15s training)");
    CHECK(strstr(out, "best 0.50 -> val weighted F1 0.5800") != NULL, "threshold curve's best point");
    free(out);
    free(err);
    free(args);

    /* show by name: the latest run of that name, and a note saying so */
    args = el_printf("show bow-a --registry '%s'", path);
    CHECK(run_cli(args, &out, &err) == 0, "show by name: %s", err);
    CHECK(strstr(out, a2) != NULL && strstr(out, a) == NULL, "a name means its latest run");
    CHECK(strstr(err, "names 2 runs") != NULL, "the note about several runs: %s", err);
    free(out);
    free(err);
    free(args);

    /* compare: config diff, metric deltas, per class */
    args = el_printf("compare %.6s %.6s --registry '%s'", a, b, path);
    CHECK(run_cli(args, &out, &err) == 0, "compare: %s", err);
    EXPECT_LINE(out, "config", "head.dropout", "head.dropout 0.85 -> 0.5");
    EXPECT_LINE(out, "metrics", "val weighted_f1", "val weighted_f1 0.6000 0.6500 +0.0500");
    EXPECT_LINE(out, "metrics", "test macro_f1", "test macro_f1 0.5600 0.6100 +0.0500");
    EXPECT_LINE(out, "per-class F1", "anger", "anger 0.3333 0.3833 +0.0500 0.2833 0.3333 +0.0500 4/4");
    EXPECT_LINE(out, "\nthresholds ", "joy", "joy 0.35 0.35 +0.00");
    CHECK(strstr(out, "train.seed") == NULL, "same seed: not in the diff");
    free(out);
    free(err);
    free(args);

    /* ls: newest first */
    args = el_printf("ls --registry '%s'", path);
    CHECK(run_cli(args, &out, &err) == 0, "ls: %s", err);
    const char *p1, *p2;
    char s1[9], s2[9], s3[9];
    memcpy(s1, a2, 8);
    memcpy(s2, b, 8);
    memcpy(s3, a, 8);
    s1[8] = s2[8] = s3[8] = 0;
    p1 = strstr(out, s1);
    p2 = strstr(out, s2);
    const char *p3 = strstr(out, s3);
    CHECK(p1 && p2 && p3 && p1 < p2 && p2 < p3, "ls lists newest first:\n%s", out);
    char *want = el_printf("%s bow-b finished bow · h768 d0.5 orig 1 0.6500 0.6000", s2);
    char *got = line_tokens(out, NULL, s2);
    CHECK(!strncmp(got, want, strlen(want)), "ls line: got '%s', want '%s ...'", got, want);
    free(got);
    free(want);
    free(out);
    free(err);
    free(args);

    /* report: the two bow-a seeds aggregate; mean and sample std by hand: 0.61 ± 0.01414 */
    args = el_printf("report --registry '%s'", path);
    CHECK(run_cli(args, &out, &err) == 0, "report: %s", err);
    CHECK(strstr(out, "| 0.610 ± 0.014 (2) |") != NULL, "mean ± std (n) of two seeds:\n%s", out);
    CHECK(strstr(out, "| **0.650** |") != NULL, "bow-b is the best val (bold)");
    free(out);
    free(err);
    free(args);

    file_hash(path, hash_after);
    CHECK(!strcmp(hash_before, hash_after), "the registry is unchanged by show/compare/ls/report");
    free(path);
    tmp_cleanup();
    return test_done("test_report_runs");
}
