/* test_predict.c: `emolab predict` reproduces what training recorded, bit for bit, and
 * `emolab ensemble` records what an independent recomputation gives.
 *
 * Golden values come from elsewhere than the predict path:
 *  - a single run's val and test metrics are recorded by `emolab run` (training scores its
 *    in-memory model); predicting the val/test CSV files with the saved checkpoint, then scoring
 *    the 0/1 columns against labels loaded here with el_data_load, must give the same doubles;
 *  - an ensemble's thresholds and metrics are recomputed here from its members' probability
 *    columns (predicted one run at a time), averaged and tuned with the metrics module; and the
 *    recorded ensemble, predicted as a whole, must reproduce its own recorded test metrics.
 * Also: members scored on different val data are refused; a checkpoint changed after training
 * is refused until restored.
 *
 * Tiny models (4096 buckets, 16 dims, linear head, one epoch, 3000/1000/1100 rows) keep it fast;
 * 1100 test rows make three prediction chunks, the last one partial.
 */
#define _GNU_SOURCE
#include "csv.h"
#include "data.h"
#include "data/check.h"
#include "metrics.h"
#include "spec.h"
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_dir[256];
static const char *g_bin, *g_src;
static const char *VAL = "ru_go_emotions/older_version_c0703d7/ru-go-emotions-simplified-validation.csv";
static const char *TEST = "ru_go_emotions/older_version_c0703d7/ru-go-emotions-simplified-test.csv";
static const char *TINY[] = {"backbone.buckets=4096", "backbone.dim=16", "head.layers=[]",
                             "train.epochs=1",        "data.train.0.limit=3000",
                             "data.val.limit=1000",   "data.test.limit=1100"};
#define N_TINY 7

/* Runs a shell command line, stdout+stderr to DIR/last.log; returns the exit code. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *cmd = NULL;
    if (vasprintf(&cmd, fmt, ap) < 0) abort();
    va_end(ap);
    char *full = el_printf("%s > %s/last.log 2>&1", cmd, g_dir);
    int st = system(full);
    free(cmd);
    free(full);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *last_log(void) {
    char *p = el_printf("%s/last.log", g_dir), *s = NULL;
    size_t n;
    if (el_read_file(p, &s, &n) != 0) s = xstrdup("");
    free(p);
    return s;
}

static int train(const char *name, int seed, const char *extra) {
    el_buf b = {0};
    for (int i = 0; i < N_TINY; i++) el_buf_printf(&b, " --set '%s'", TINY[i]);
    int rc = sh("'%s' run '%s/configs/bow.yaml'%s --set name=%s --set train.seed=%d %s "
                "--registry %s/r.db --experiments %s/exp",
                g_bin, g_src, b.s, name, seed, extra ? extra : "", g_dir, g_dir);
    el_buf_free(&b);
    if (rc != 0) {
        char *log = last_log();
        fprintf(stderr, "training %s failed:\n%s\n", name, log);
        free(log);
    }
    return rc;
}

static sqlite3 *g_db;

static char *q_text(const char *sql, const char *arg) {
    sqlite3_stmt *st;
    char *out = NULL;
    if (sqlite3_prepare_v2(g_db, sql, -1, &st, NULL) != SQLITE_OK) return NULL;
    if (arg) sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        out = xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

static double q_metric(const char *uuid, const char *split, const char *name) {
    sqlite3_stmt *st;
    double v = NAN;
    sqlite3_prepare_v2(g_db, "SELECT value FROM metrics WHERE run = ? AND split = ? AND name = ?", -1,
                       &st, NULL);
    sqlite3_bind_text(st, 1, uuid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, split, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Every metric the registry records for a split equals ours, exactly. */
static void check_metrics_equal(const char *what, const char *uuid, const char *split,
                                const el_metrics *m) {
    struct {
        const char *name;
        double v;
    } vals[] = {
        {"weighted_f1", m->weighted_f1},       {"macro_f1", m->macro_f1},
        {"micro_f1", m->micro_f1},             {"samples_f1", m->samples_f1},
        {"weighted_precision", m->weighted_precision}, {"weighted_recall", m->weighted_recall},
        {"macro_precision", m->macro_precision},       {"macro_recall", m->macro_recall},
        {"micro_precision", m->micro_precision},       {"micro_recall", m->micro_recall},
        {"samples_precision", m->samples_precision},   {"samples_recall", m->samples_recall},
        {"rows", (double)m->n_rows},           {"support", (double)m->support},
    };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        double r = q_metric(uuid, split, vals[i].name);
        if (!(r == vals[i].v)) {
            fprintf(stderr, "%s: %s %s: registry %.17g, predicted %.17g\n", what, split,
                    vals[i].name, r, vals[i].v);
            g_failures++;
        }
    }
}

/* Reads a predict output: checks the header and that the ids are the split's, in order;
 * fills pred (n x k) and, when probs != NULL, probs. */
static int read_output(const char *path, const el_split *s, const el_labelset *ls, uint8_t *pred,
                       float *probs) {
    el_csv *c = el_csv_open(path, el_csv_default_params());
    if (!c) {
        fprintf(stderr, "%s\n", el_last_error());
        g_failures++;
        return -1;
    }
    int32_t k = ls->n;
    CHECK_S(el_csv_column_name(c, 0), "id");
    int32_t cols[EL_MAX_LABELS], pcols[EL_MAX_LABELS];
    for (int32_t j = 0; j < k; j++) {
        CHECK_I(el_csv_column(c, ls->names[j]), 1 + j); /* label columns in model order */
        cols[j] = el_csv_column(c, ls->names[j]);
        char *pn = el_printf("p_%s", ls->names[j]);
        pcols[j] = el_csv_column(c, pn);
        free(pn);
        if (probs) CHECK_I(pcols[j], 1 + k + j);
    }
    int64_t i = 0;
    while (el_csv_next(c) == 1 && i < s->n) {
        CHECK_S(el_csv_field(c, 0, NULL), s->ids[i]);
        for (int32_t j = 0; j < k; j++) {
            const char *v = el_csv_field(c, cols[j], NULL);
            if (strcmp(v, "0") && strcmp(v, "1")) g_failures++;
            pred[i * k + j] = v[0] == '1';
            if (probs) probs[i * k + j] = strtof(el_csv_field(c, pcols[j], NULL), NULL);
        }
        i++;
    }
    el_csv_close(c);
    CHECK_I(i, s->n);
    return i == s->n ? 0 : -1;
}

static char *uuid_of(const char *name) {
    return q_text("SELECT uuid FROM runs WHERE name = ? ORDER BY created DESC LIMIT 1", name);
}

/* predict RUN on a data file -> DIR/OUT */
static int predict(const char *run, const char *file, const char *out, bool probs) {
    return sh("'%s' predict %s --registry %s/r.db --input '%s/%s' --output %s/%s%s", g_bin, run,
              g_dir, el_data_root(NULL), file, g_dir, out, probs ? " --probabilities" : "");
}

int main(void) {
    g_bin = getenv("EMOLAB_BIN");
    g_src = getenv("EMOLAB_SOURCE_DIR");
    if (!g_bin || !g_src || !getenv("EMOLAB_DATA")) {
        fprintf(stderr, "EMOLAB_BIN, EMOLAB_SOURCE_DIR and EMOLAB_DATA must be set (ctest sets them)\n");
        return 1;
    }
    snprintf(g_dir, sizeof g_dir, "%s/emolab-predict-XXXXXX", el_env("TMPDIR", "/tmp"));
    if (!mkdtemp(g_dir)) return 1;
    setenv("EMOLAB_PROGRESS", "0", 1);

    /* ---- three tiny runs; c is scored on other val data ---- */
    if (train("tiny-a", 1, NULL) || train("tiny-b", 2, NULL) ||
        train("tiny-c", 3, "--set data.val.limit=900")) {
        g_failures++;
        return check_done("test_predict");
    }
    char *dbp = el_printf("%s/r.db", g_dir);
    if (sqlite3_open_v2(dbp, &g_db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) return 1;
    free(dbp);
    char *ua = uuid_of("tiny-a"), *ub = uuid_of("tiny-b"), *uc = uuid_of("tiny-c");
    CHECK(ua && ub && uc);

    /* the labelled splits, loaded here from the spec (not through predict) */
    const char *ov[N_TINY];
    for (int i = 0; i < N_TINY; i++) ov[i] = TINY[i];
    char *spec_path = el_printf("%s/configs/bow.yaml", g_src);
    el_spec spec;
    if (el_spec_load(spec_path, ov, N_TINY, &spec) != 0) {
        fprintf(stderr, "%s\n", el_last_error());
        return 1;
    }
    el_dataset d;
    if (el_data_load(&spec.data, &d) != 0) {
        fprintf(stderr, "%s\n", el_last_error());
        return 1;
    }
    int32_t k = d.labels.n;
    const el_split *va = &d.val, *te = &d.test;
    CHECK_I(te->n, 1100);
    uint8_t *pred_v = xmalloc((size_t)(va->n * k)), *pred_t = xmalloc((size_t)(te->n * k));
    float *pav = xmalloc((size_t)(va->n * k) * 4), *pbv = xmalloc((size_t)(va->n * k) * 4);
    float *pat = xmalloc((size_t)(te->n * k) * 4), *pbt = xmalloc((size_t)(te->n * k) * 4);
    el_metrics m;

    /* ---- 1. single runs: predictions on their own val and test reproduce the registry ---- */
    const char *runs[2] = {ua, ub};
    float *pv[2] = {pav, pbv}, *pt[2] = {pat, pbt};
    for (int r = 0; r < 2; r++) {
        /* by uuid prefix for one, by name for the other */
        char prefix[9];
        snprintf(prefix, sizeof prefix, "%s", runs[r]);
        const char *ref = r == 0 ? prefix : "tiny-b";
        CHECK_I(predict(ref, TEST, "test.csv", true), 0);
        char *out = el_printf("%s/test.csv", g_dir);
        if (read_output(out, te, &d.labels, pred_t, pt[r]) == 0) {
            el_metrics_compute(te->y, pred_t, te->n, k, &m);
            check_metrics_equal("single run, test", runs[r], "test", &m);
        }
        free(out);
        CHECK_I(predict(ref, VAL, "val.csv", true), 0);
        out = el_printf("%s/val.csv", g_dir);
        if (read_output(out, va, &d.labels, pred_v, pv[r]) == 0) {
            el_metrics_compute(va->y, pred_v, va->n, k, &m);
            check_metrics_equal("single run, val", runs[r], "val", &m);
        }
        free(out);
    }

    /* ---- 2. an ensemble: recorded values equal an independent recomputation ---- */
    CHECK_I(sh("'%s' ensemble tiny-b %.8s --name ens-ab --registry %s/r.db --experiments %s/exp",
               g_bin, ua, g_dir, g_dir), 0);
    char *ue = uuid_of("ens-ab");
    CHECK(ue != NULL);
    if (ue) {
        char *kind = q_text("SELECT kind || ' ' || status FROM runs WHERE uuid = ?", ue);
        CHECK_S(kind, "ensemble finished");
        free(kind);
        /* its config lists the members (in uuid order), its params too */
        char *cfg = q_text("SELECT config_json FROM runs WHERE uuid = ?", ue);
        json_t *j = cfg ? json_loads(cfg, 0, NULL) : NULL;
        json_t *mem = j ? json_object_get(j, "members") : NULL;
        CHECK_I(json_array_size(mem), 2);
        const char *lo = strcmp(ua, ub) < 0 ? ua : ub, *hi = strcmp(ua, ub) < 0 ? ub : ua;
        CHECK_S(json_string_value(json_array_get(mem, 0)), lo);
        CHECK_S(json_string_value(json_array_get(mem, 1)), hi);
        json_decref(j);
        free(cfg);
        char *pm = q_text("SELECT value FROM params WHERE run = ? AND key = 'ensemble.members'", ue);
        CHECK(pm && strstr(pm, ua) && strstr(pm, ub));
        free(pm);

        /* members' probabilities averaged here, thresholds tuned here on val only */
        float *ev = xmalloc((size_t)(va->n * k) * 4), *et = xmalloc((size_t)(te->n * k) * 4);
        for (int64_t i = 0; i < va->n * k; i++)
            ev[i] = (float)(((double)(strcmp(ua, ub) < 0 ? pav : pbv)[i] +
                             (double)(strcmp(ua, ub) < 0 ? pbv : pav)[i]) / 2.0);
        for (int64_t i = 0; i < te->n * k; i++)
            et[i] = (float)(((double)(strcmp(ua, ub) < 0 ? pat : pbt)[i] +
                             (double)(strcmp(ua, ub) < 0 ? pbt : pat)[i]) / 2.0);
        float thr[EL_MAX_LABELS];
        el_thresholds_tune(ev, va->y, va->n, k, EL_THR_PER_CLASS, 0.5, 0.01, thr);
        sqlite3_stmt *st;
        sqlite3_prepare_v2(g_db, "SELECT label, value FROM thresholds WHERE run = ? ORDER BY label_idx",
                           -1, &st, NULL);
        sqlite3_bind_text(st, 1, ue, -1, SQLITE_TRANSIENT);
        int32_t n_thr = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            CHECK_S((const char *)sqlite3_column_text(st, 0), d.labels.names[n_thr]);
            CHECK((float)sqlite3_column_double(st, 1) == thr[n_thr]);
            n_thr++;
        }
        sqlite3_finalize(st);
        CHECK_I(n_thr, k);
        el_apply_thresholds(ev, thr, va->n, k, pred_v);
        el_metrics_compute(va->y, pred_v, va->n, k, &m);
        check_metrics_equal("ensemble, val (recomputed)", ue, "val", &m);
        el_apply_thresholds(et, thr, te->n, k, pred_t);
        el_metrics_compute(te->y, pred_t, te->n, k, &m);
        check_metrics_equal("ensemble, test (recomputed)", ue, "test", &m);

        /* predicting with the recorded ensemble (it loads both members) reproduces it */
        CHECK_I(predict("ens-ab", TEST, "ens_test.csv", false), 0);
        char *out = el_printf("%s/ens_test.csv", g_dir);
        if (read_output(out, te, &d.labels, pred_t, NULL) == 0) {
            el_metrics_compute(te->y, pred_t, te->n, k, &m);
            check_metrics_equal("ensemble predicted, test", ue, "test", &m);
        }
        free(out);
        free(ev);
        free(et);

        /* building it again (members in another order) finds the recorded one */
        CHECK_I(sh("'%s' ensemble %s %s --registry %s/r.db --experiments %s/exp", g_bin, ua, ub,
                   g_dir, g_dir), 0);
        char *log = last_log();
        CHECK_HAS(log, "already recorded");
        CHECK_HAS(log, ue);
        free(log);
    }

    /* ---- 3. members scored on different val data are refused, nothing recorded ---- */
    char *before = q_text("SELECT count(*) FROM runs", NULL);
    CHECK_I(sh("'%s' ensemble tiny-a tiny-c --registry %s/r.db --experiments %s/exp", g_bin, g_dir,
               g_dir), 1);
    char *log = last_log();
    CHECK_HAS(log, "different val data");
    free(log);
    char *after = q_text("SELECT count(*) FROM runs", NULL);
    CHECK_S(after, before);
    free(before);
    free(after);

    /* ---- 4. a checkpoint changed after training is refused; restored, it works again ---- */
    char *ck = q_text("SELECT path FROM artifacts WHERE run = ? AND kind = 'checkpoint'", ua);
    CHECK(ck != NULL);
    if (ck) {
        FILE *f = fopen(ck, "r+b");
        CHECK(f != NULL);
        if (f) {
            fseek(f, -5, SEEK_END);
            int ch = fgetc(f);
            fseek(f, -5, SEEK_END);
            fputc(ch ^ 0x01, f);
            fclose(f);
            char *out = el_printf("%s/changed.csv", g_dir);
            unlink(out);
            CHECK_I(predict("tiny-a", TEST, "changed.csv", false), 1);
            log = last_log();
            CHECK_HAS(log, "changed after the run saved it");
            free(log);
            CHECK(!el_file_exists(out));
            f = fopen(ck, "r+b");
            fseek(f, -5, SEEK_END);
            fputc(ch, f);
            fclose(f);
            CHECK_I(predict("tiny-a", TEST, "changed.csv", false), 0);
            CHECK(el_file_exists(out));
            free(out);
        }
        free(ck);
    }

    sqlite3_close(g_db);
    el_data_free(&d);
    el_spec_free(&spec);
    free(spec_path);
    free(pred_v);
    free(pred_t);
    free(pav);
    free(pbv);
    free(pat);
    free(pbt);
    free(ua);
    free(ub);
    free(uc);
    free(ue);
    int rc = check_done("test_predict");
    if (rc == 0) sh("rm -rf '%s'", g_dir);
    else fprintf(stderr, "kept %s for inspection\n", g_dir);
    return rc;
}
