/* bench_report: the leaderboard over a 10,000-run registry, in process.
 *
 *   report_bench --generate PATH [--runs N]   writes a registry of N (10,000) finished runs
 *   report_bench --registry PATH [--rounds R] times every format (and ls, show), best of R (5)
 *
 * The registry looks like a big study: 1,667 variants (backbone x head x lr) x 3 seeds x 2 data
 * variants (orig, ext), 20 sweeps, 5 owners; per run 60 params, 2 x 14 metrics, 2 x 7 class
 * metrics, 7 thresholds, 8 epochs, 19 threshold-curve points (as `emolab run` records them).
 * Timed per format: el_report_build (read-only open, queries, aggregation, sort) and the
 * renderer, as `emolab report --format F` runs them (html and json also load per-class scores
 * and the curves of the top 5 rows). The process start of the emolab binary (libtorch's shared
 * libraries) is measured separately by run.sh. */
#define _GNU_SOURCE
#include "registry.h"
#include "report.h"
#include "util.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *FILL =
    "PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; BEGIN;"
    "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %d - 1),"
    " bb(b, name) AS (VALUES (0, 'ai-forever/ru-en-RoSBERTa'), (1, 'ai-forever/ruBert-base'), (2, 'ai-forever/ruBert-large'),"
    " (3, 'cointegrated/LaBSE-en-ru'), (4, 'intfloat/multilingual-e5-large-instruct'), (5, 'deepvk/USER-bge-m3'),"
    " (6, 'cointegrated/rubert-tiny2')) "
    "INSERT INTO runs (uuid, name, owner, kind, status, created, started, config_json, config_hash, host, pid, seed,"
    " data_variant, sweep_id, run_dir, best_epoch, epochs_run, train_seconds) "
    "SELECT printf('%%08x-0000-4000-8000-%%012x', i, i),"
    " printf('%%s-h%%d-d%%02d-v%%04d', substr(bb.name, instr(bb.name, '/') + 1), 256 + 64 * ((i / 6) %% 9), ((i / 54) %% 10) * 10, i / 6),"
    " (SELECT o FROM (SELECT 'marina' AS o, 0 AS k UNION ALL SELECT 'ivan', 1 UNION ALL SELECT 'olga', 2 UNION ALL"
    "  SELECT 'pavel', 3 UNION ALL SELECT 'sveta', 4) WHERE k = (i / 6) %% 5), 'single', 'running',"
    " strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', '2026-01-01', printf('+%%d seconds', i * 37)),"
    " strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', '2026-01-01', printf('+%%d seconds', i * 37)),"
    " printf('{\"backbone\":{\"name\":\"%%s\"},\"head\":{\"dropout\":%%g},\"pad\":\"%%s\"}', bb.name, ((i / 54) %% 10) / 10.0,"
    "  hex(zeroblob(600))),"
    " printf('hash-%%d', i / 3), 'bench-host', 1, i %% 3 + 1, CASE WHEN (i / 3) %% 2 THEN 'ext' ELSE 'orig' END,"
    " printf('sweep-%%02d', (i / 6) %% 20), printf('experiments/run-%%d', i), 6, 8, 600 + i %% 50"
    " FROM n JOIN bb ON bb.b = (i / 6) %% 7;"
    /* 60 params per run, as the spec flattens them */
    "WITH k(key, j) AS (VALUES ('name', 0), ('owner', 1), ('notes', 2), ('backbone.type', 3), ('backbone.name', 4),"
    " ('backbone.pooling', 5), ('backbone.lr_scale', 6), ('head.layers', 7), ('head.dropout', 8), ('head.activation', 9),"
    " ('head.norm', 10), ('head.norm_groups', 11), ('head.residual', 12), ('head.heads', 13), ('head.meta', 14),"
    " ('train.epochs', 15), ('train.batch_size', 16), ('train.optimizer', 17), ('train.lr', 18), ('train.weight_decay', 19),"
    " ('train.momentum', 20), ('train.scheduler', 21), ('train.warmup', 22), ('train.loss', 23), ('train.focal_gamma', 24),"
    " ('train.class_weights', 25), ('train.grad_clip', 26), ('train.seed', 27), ('train.early_stopping.metric', 28),"
    " ('train.early_stopping.patience', 29), ('train.threads', 30), ('train.device', 31), ('threshold.mode', 32),"
    " ('threshold.value', 33), ('threshold.grid_step', 34), ('data.variant', 35), ('data.labels', 36), ('data.root', 37),"
    " ('data.drop_train_overlapping_eval', 38), ('data.train', 39), ('data.val.path', 40), ('data.val.format', 41),"
    " ('data.val.text', 42), ('data.val.labels', 43), ('data.val.id', 44), ('data.val.map', 45), ('data.val.enthusiasm', 46),"
    " ('data.val.neutral', 47), ('data.val.limit', 48), ('data.test.path', 49), ('data.test.format', 50),"
    " ('data.test.text', 51), ('data.test.labels', 52), ('data.test.id', 53), ('data.test.map', 54),"
    " ('data.test.enthusiasm', 55), ('data.test.neutral', 56), ('data.test.limit', 57), ('backbone.max_length', 58),"
    " ('backbone.revision', 59)) "
    "INSERT INTO params (run, key, value) SELECT r.uuid, k.key, CASE k.key"
    " WHEN 'name' THEN json_quote(r.name) WHEN 'owner' THEN json_quote(r.owner) WHEN 'notes' THEN '\"\"'"
    " WHEN 'backbone.type' THEN '\"hf\"' WHEN 'backbone.name' THEN json_extract(r.config_json, '$.backbone.name')"
    " WHEN 'head.layers' THEN printf('[%%d]', 256 + 64 * (((r.rowid - 1) / 6) %% 9))"
    " WHEN 'head.dropout' THEN printf('%%g', (((r.rowid - 1) / 54) %% 10) / 10.0)"
    " WHEN 'head.activation' THEN (CASE ((r.rowid - 1) / 540) %% 3 WHEN 0 THEN '\"gelu\"' WHEN 1 THEN '\"silu\"' ELSE '\"relu\"' END)"
    " WHEN 'train.lr' THEN (CASE ((r.rowid - 1) / 1620) %% 2 WHEN 0 THEN '2e-05' ELSE '3e-05' END)"
    " WHEN 'train.seed' THEN printf('%%d', r.seed) WHEN 'data.variant' THEN json_quote(r.data_variant)"
    " WHEN 'data.train' THEN (CASE r.data_variant WHEN 'ext' THEN '[{\"path\":\"go.csv\"},{\"path\":\"izard.csv\"}]' ELSE '[{\"path\":\"go.csv\"}]' END)"
    " ELSE printf('\"value-%%d\"', k.j) END FROM runs r, k;"
    "WITH s(split, d) AS (VALUES ('val', 0.0), ('test', -0.045)),"
    " nm(name, o) AS (VALUES ('weighted_f1', 0.0), ('macro_f1', -0.08), ('micro_f1', 0.02), ('samples_f1', 0.01),"
    " ('weighted_precision', 0.03), ('weighted_recall', 0.05), ('macro_precision', -0.05), ('macro_recall', -0.02),"
    " ('micro_precision', 0.04), ('micro_recall', 0.06), ('samples_precision', 0.02), ('samples_recall', 0.07),"
    " ('rows', 5425.4), ('support', 5917.4)) "
    "INSERT INTO metrics (run, split, name, value) SELECT uuid, s.split, nm.name,"
    " 0.55 + ((((rowid - 1) / 6) * 37) %% 130) / 1000.0 + ((rowid - 1) %% 3 - 1) * 0.004"
    " + (CASE data_variant WHEN 'ext' THEN 0.012 ELSE 0 END) + s.d + nm.o FROM runs, s, nm;"
    "WITH s(split, d) AS (VALUES ('val', 0.0), ('test', -0.04)),"
    " lb(label, idx, f) AS (VALUES ('anger', 0, 0.55), ('disgust', 1, 0.33), ('fear', 2, 0.61), ('joy', 3, 0.74),"
    " ('sadness', 4, 0.63), ('surprise', 5, 0.55), ('neutral', 6, 0.69)) "
    "INSERT INTO class_metrics (run, split, label, label_idx, precision, recall, f1, support, tp, fp, fn)"
    " SELECT uuid, split, label, idx, f, f, f + s.d + ((rowid * 13 + idx) %% 50) / 1000.0, 100 + idx, 50, 20, 30"
    " FROM runs, s, lb;"
    "WITH lb(label, idx) AS (VALUES ('anger', 0), ('disgust', 1), ('fear', 2), ('joy', 3), ('sadness', 4),"
    " ('surprise', 5), ('neutral', 6)) "
    "INSERT INTO thresholds (run, label, label_idx, value) SELECT uuid, label, idx, 0.1 + idx * 0.05 FROM runs, lb;"
    "WITH RECURSIVE e(ep) AS (SELECT 1 UNION ALL SELECT ep + 1 FROM e WHERE ep < 8) "
    "INSERT INTO epochs (run, epoch, train_loss, val_loss, val_weighted_f1, val_macro_f1, val_micro_f1, lr, seconds,"
    " samples_per_s) SELECT uuid, ep, 0.4 / ep + 0.08, 0.38 / ep + 0.12, 0.66 - 0.16 / ep, 0.5, 0.6, 2e-5 / ep, 75, 350"
    " FROM runs, e;"
    "WITH RECURSIVE t(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM t WHERE x < 19) "
    "INSERT INTO threshold_curve (run, threshold, val_weighted_f1) SELECT uuid, x * 0.05,"
    " 0.6 - (x * 0.05 - 0.3) * (x * 0.05 - 0.3) FROM runs, t;"
    "UPDATE runs SET status = 'finished', finished = created;"
    "COMMIT; PRAGMA journal_mode = WAL;";

static int generate(const char *path, int n) {
    remove(path);
    el_registry *r = el_registry_open(path, false); /* the schema, as emolab creates it */
    if (!r) {
        fprintf(stderr, "report_bench: %s\n", el_last_error());
        return 1;
    }
    el_registry_close(r);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        fprintf(stderr, "report_bench: cannot open %s\n", path);
        return 1;
    }
    char *sql = sqlite3_mprintf(FILL, n);
    char *err = NULL;
    double t0 = el_now();
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    sqlite3_free(sql);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "report_bench: filling %s: %s\n", path, err ? err : "?");
        sqlite3_free(err);
        sqlite3_close(db);
        return 1;
    }
    sqlite3_close(db);
    struct stat sb;
    stat(path, &sb);
    printf("generated %s: %d finished runs, %.1f MB, in %.1f s\n", path, n, (double)sb.st_size / 1e6, el_now() - t0);
    return 0;
}

typedef struct {
    const char *name;
    el_report_format fmt;
} bench_fmt;

int main(int argc, char **argv) {
    const char *gen = NULL, *reg = NULL;
    int runs = 10000, rounds = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--generate") && i + 1 < argc) gen = argv[++i];
        else if (!strcmp(argv[i], "--registry") && i + 1 < argc) reg = argv[++i];
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: report_bench --generate PATH [--runs N] | --registry PATH [--rounds R]\n");
            return 2;
        }
    }
    if (gen) return generate(gen, runs);
    if (!reg) {
        fprintf(stderr, "usage: report_bench --generate PATH [--runs N] | --registry PATH [--rounds R]\n");
        return 2;
    }
    static const bench_fmt fmts[] = {{"md", EL_REPORT_MD}, {"html", EL_REPORT_HTML}, {"csv", EL_REPORT_CSV},
                                     {"json", EL_REPORT_JSON}};
    double worst = 0;
    double la = 0;
    FILE *lf = fopen("/proc/loadavg", "r");
    if (lf) {
        if (fscanf(lf, "%lf", &la) != 1) la = 0;
        fclose(lf);
    }
    printf("in process, best of %d rounds; load average %.2f (shared machine): wall = elapsed, cpu = CPU time\n",
           rounds, la);
    printf("%-6s %10s %10s %10s %10s %10s %8s %6s\n", "format", "best ms", "query ms", "render ms", "median ms",
           "best cpu", "KB", "rows");
    for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++) {
        double best = 1e9, bq = 0, brd = 0, best_cpu = 1e9, *all = xcalloc((size_t)rounds, sizeof(double));
        size_t bytes = 0;
        int32_t nrows = 0;
        for (int k = 0; k < rounds; k++) {
            el_report_params p = el_report_default_params();
            p.registry = reg;
            bool rich = fmts[f].fmt == EL_REPORT_HTML || fmts[f].fmt == EL_REPORT_JSON;
            p.load_classes = rich;
            p.n_top_curves = rich ? 5 : 0;
            el_report r;
            bool usage;
            double t0 = el_now(), c0 = cpu_now();
            if (el_report_build(&p, &r, &usage)) {
                fprintf(stderr, "report_bench: %s\n", el_last_error());
                return 1;
            }
            double t1 = el_now();
            char *doc = fmts[f].fmt == EL_REPORT_HTML ? el_report_html(&r)
                      : fmts[f].fmt == EL_REPORT_CSV  ? el_report_csv(&r)
                      : fmts[f].fmt == EL_REPORT_JSON ? el_report_json(&r)
                                                      : el_report_md(&r);
            double t2 = el_now(), c2 = cpu_now();
            if (c2 - c0 < best_cpu) best_cpu = c2 - c0;
            nrows = r.n_rows;
            bytes = strlen(doc);
            free(doc);
            el_report_free(&r);
            all[k] = t2 - t0;
            if (t2 - t0 < best) {
                best = t2 - t0;
                bq = t1 - t0;
                brd = t2 - t1;
            }
        }
        for (int a = 1; a < rounds; a++) /* median */
            for (int b = a; b > 0 && all[b - 1] > all[b]; b--) {
                double t = all[b];
                all[b] = all[b - 1];
                all[b - 1] = t;
            }
        printf("%-6s %10.1f %10.1f %10.1f %10.1f %10.1f %8zu %6d\n", fmts[f].name, best * 1e3, bq * 1e3, brd * 1e3,
               all[rounds / 2] * 1e3, best_cpu * 1e3, bytes / 1024, (int)nrows);
        if (best > worst) worst = best;
        free(all);
    }
    /* ls and show, for completeness */
    double best_ls = 1e9, best_show = 1e9;
    for (int k = 0; k < rounds; k++) {
        FILE *null = fopen("/dev/null", "w");
        el_ls_params lp = {.registry = reg, .limit = 20};
        bool usage;
        double t0 = el_now();
        el_ls_print(&lp, null, &usage);
        double t1 = el_now();
        fclose(null);
        if (t1 - t0 < best_ls) best_ls = t1 - t0;
        t0 = el_now();
        el_registry *rg = el_registry_open(reg, true);
        char uuid[37];
        el_run_detail d;
        if (rg && el_run_resolve(el_registry_db(rg), reg, "00001234", uuid, NULL) == 0 &&
            el_run_detail_load(el_registry_db(rg), uuid, &d) == 0) {
            char *t = el_show_text(&d);
            free(t);
            el_run_detail_free(&d);
        }
        if (rg) el_registry_close(rg);
        t1 = el_now();
        if (t1 - t0 < best_show) best_show = t1 - t0;
    }
    printf("%-6s %10.1f\n%-6s %10.1f\n", "ls", best_ls * 1e3, "show", best_show * 1e3);
    printf("slowest format, best of %d: %.0f ms (bar: 1000 ms) %s\n", rounds, worst * 1e3, worst <= 1.0 ? "PASS" : "FAIL");
    return worst <= 1.0 ? 0 : 1;
}
