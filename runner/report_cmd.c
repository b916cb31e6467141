/* report_cmd.c: `emolab report`, `emolab ls`, `emolab show RUN`, `emolab compare A B`. Every
 * command opens the registry read-only. Exit codes: 0 ok, 1 the registry could not be read
 * (missing, not an emolab registry, newer schema, damaged), 2 usage (bad option, unknown key,
 * unknown or ambiguous run). */
#define _GNU_SOURCE
#include "commands.h"
#include "registry.h"
#include "report.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "--opt VALUE" or "--opt=VALUE"; advances *i over a separate value */
static bool opt(int argc, char **argv, int *i, const char *name, const char **val) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n)) return false;
    if (a[n] == '=') {
        *val = a + n + 1;
        return true;
    }
    if (a[n]) return false;
    if (*i + 1 >= argc) {
        *val = NULL;
        return true;
    }
    *val = argv[++*i];
    return true;
}

static int missing_value(const char *cmd, const char *name) {
    fprintf(stderr, "emolab %s: %s needs a value (emolab %s --help)\n", cmd, name, cmd);
    return 2;
}

static int parse_count(const char *cmd, const char *name, const char *v, int32_t lo, int32_t hi, int32_t *out) {
    int64_t x;
    if (!v || el_parse_i64(v, &x) != 0 || x < lo || x > hi) {
        fprintf(stderr, "emolab %s: %s wants a whole number from %d to %d (got '%s')\n", cmd, name, (int)lo, (int)hi,
                v ? v : "");
        return 2;
    }
    *out = (int32_t)x;
    return 0;
}

/* the command line, shell-quoted where needed, for "regenerate with" lines */
static char *command_line(int argc, char **argv) {
    el_buf b = {0};
    el_buf_puts(&b, "emolab");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool plain = *a && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,+@%") == strlen(a);
        el_buf_putc(&b, ' ');
        if (plain) {
            el_buf_puts(&b, a);
            continue;
        }
        el_buf_putc(&b, '\'');
        for (const char *p = a; *p; p++)
            if (*p == '\'') el_buf_puts(&b, "'\\''");
            else el_buf_putc(&b, *p);
        el_buf_putc(&b, '\'');
    }
    return el_buf_take(&b);
}

/* ---- report ------------------------------------------------------------------------------- */
static void report_usage(FILE *out) {
    fprintf(out,
        "usage: emolab report [options]\n\n"
        "Renders the leaderboard from the registry: the team's table, one row per experiment\n"
        "variant, the owner, then the val and test score for each data variant (orig, ext, others)\n"
        "side by side, the best of each column marked. Repeated seeds of a variant aggregate as\n"
        "mean ± std (n); a single run shows its value. The registry is opened read-only.\n\n"
        "A variant = runs whose resolved configs are equal once these keys are removed: name,\n"
        "owner, notes, every data.* key (the data variant is a column), train.seed (seeds\n"
        "aggregate), train.threads and train.device (execution only); single runs and ensembles\n"
        "are never mixed. A row shows the latest run's name, the model (backbone + head:\n"
        "\"bow · h768 d0.85 gelu\") and the other params that differ between the rows shown.\n"
        "The std is the sample standard deviation (n - 1).\n\n"
        "options:\n"
        "  --registry FILE     the registry (default $EMOLAB_REGISTRY or ./registry.db)\n"
        "  -o, --output FILE   write there (atomically; parent directories created) instead of\n"
        "                      stdout; the format follows the extension (.md .html .csv .json)\n"
        "  --format F          md (default), html (one self-contained file with SVG charts), csv, json\n"
        "  --metric M          weighted_f1 (default), macro_f1, micro_f1, samples_f1, any recorded\n"
        "                      metric (weighted_precision, ...), or f1:LABEL for one class (f1:joy)\n"
        "  --where KEY=VALUE   keep runs whose param KEY (dotted: head.dropout, backbone.type,\n"
        "                      data.variant, train.lr, ...) or run field (owner, name, status, kind,\n"
        "                      sweep, host, commit) equals VALUE; KEY!=VALUE excludes; * and ?\n"
        "                      are wildcards. Numbers compare by value (0.850 = 0.85). Repeatable\n"
        "                      (all must hold)\n"
        "  --sweep ID          only the runs of that sweep\n"
        "  --since WHEN        runs created since a date (2026-11-01, 2026-11-01T14:30, UTC) or\n"
        "                      an age (30m, 12h, 7d, 2w)\n"
        "  --status LIST       statuses to include: finished (default), or a comma list of\n"
        "                      running, finished, failed, interrupted, stopped, or any\n"
        "  --group-by KEY      one row per value of a param or run field instead of per variant\n"
        "                      (e.g. head.dropout: what did dropout do, over everything else)\n"
        "  --sort S            val (default: the row's best val over data variants), test,\n"
        "                      DATA.val / DATA.test (one column, e.g. ext.val), name, owner,\n"
        "                      runs, latest, key (the --group-by value, numbers by value)\n"
        "  --top N             show the first N rows only\n"
        "  --digits N          decimals shown (default 3; csv and json keep full precision)\n"
        "  --curves RUN        html/json: learning and threshold curves for these runs (uuid\n"
        "                      prefix or name; repeatable or comma-separated). Default: the best\n"
        "                      run of each of the top --curves-top rows\n"
        "  --curves-top N      default 5 (0: no curves)\n"
        "  --chart-rows N      html: rows in the per-variant and heatmap charts (default 25)\n\n"
        "examples:\n"
        "  emolab report                                    the team's table, Markdown on stdout\n"
        "  emolab report -o reports/leaderboard.html        the HTML report with charts\n"
        "  emolab report --where backbone.type=bow --where owner=marina --sort ext.val\n"
        "  emolab report --sweep 7f3c2a91 --group-by head.dropout --sort key\n"
        "  emolab report --metric f1:fear --since 7d --format csv > fear.csv\n"
        "  emolab report --registry team.db --top 20 --format json\n\n"
        "exit codes: 0 written (an empty registry gives an empty table and a hint), 1 the\n"
        "registry cannot be read (missing, not an emolab registry, newer schema, damaged), 2 bad\n"
        "option or unknown key/metric/run.\n");
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

int cmd_report(int argc, char **argv) {
    el_report_params p = el_report_default_params();
    const char *reg = NULL, *out_path = NULL, *format = NULL;
    const char **where = xcalloc((size_t)argc + 1, sizeof(char *));
    const char **curves = xcalloc((size_t)argc * 8 + 1, sizeof(char *));
    char **curve_bufs = xcalloc((size_t)argc + 1, sizeof(char *));
    int32_t n_where = 0, n_curves = 0, n_curve_bufs = 0;
    int code = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            report_usage(stdout);
            code = 0;
            goto done;
        }
#define NEEDS(name) (opt(argc, argv, &i, name, &v))
        if (NEEDS("--registry")) {
            if (!v) { missing_value("report", "--registry"); goto done; }
            reg = v;
        } else if (NEEDS("--output") || NEEDS("-o")) {
            if (!v) { missing_value("report", "--output"); goto done; }
            out_path = v;
        } else if (NEEDS("--format")) {
            if (!v) { missing_value("report", "--format"); goto done; }
            format = v;
        } else if (NEEDS("--metric")) {
            if (!v) { missing_value("report", "--metric"); goto done; }
            p.metric = v;
        } else if (NEEDS("--where")) {
            if (!v) { missing_value("report", "--where"); goto done; }
            where[n_where++] = v;
        } else if (NEEDS("--sweep")) {
            if (!v) { missing_value("report", "--sweep"); goto done; }
            p.filter.sweep = v;
        } else if (NEEDS("--since")) {
            if (!v) { missing_value("report", "--since"); goto done; }
            p.filter.since = v;
        } else if (NEEDS("--status")) {
            if (!v) { missing_value("report", "--status"); goto done; }
            p.filter.status = v;
        } else if (NEEDS("--group-by")) {
            if (!v) { missing_value("report", "--group-by"); goto done; }
            p.group_by = v;
        } else if (NEEDS("--sort")) {
            if (!v) { missing_value("report", "--sort"); goto done; }
            p.sort = v;
        } else if (NEEDS("--top")) {
            if (parse_count("report", "--top", v, 1, 1 << 30, &p.top)) goto done;
        } else if (NEEDS("--digits")) {
            if (parse_count("report", "--digits", v, 1, 10, &p.digits)) goto done;
        } else if (NEEDS("--curves-top")) {
            if (parse_count("report", "--curves-top", v, 0, 50, &p.n_top_curves)) goto done;
        } else if (NEEDS("--chart-rows")) {
            if (parse_count("report", "--chart-rows", v, 1, 1000, &p.chart_rows)) goto done;
        } else if (NEEDS("--curves")) {
            if (!v) { missing_value("report", "--curves"); goto done; }
            char *copy = xstrdup(v);
            curve_bufs[n_curve_bufs++] = copy;
            for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                if (n_curves < argc * 8) curves[n_curves++] = t;
        } else {
            fprintf(stderr, "emolab report: unknown %s '%s' (emolab report --help)\n", a[0] == '-' ? "option" : "argument", a);
            goto done;
        }
#undef NEEDS
    }
    el_report_format fmt = EL_REPORT_MD;
    if (!format && out_path) {
        if (ends_with(out_path, ".html") || ends_with(out_path, ".htm")) fmt = EL_REPORT_HTML;
        else if (ends_with(out_path, ".csv")) fmt = EL_REPORT_CSV;
        else if (ends_with(out_path, ".json")) fmt = EL_REPORT_JSON;
    } else if (format) {
        if (!strcmp(format, "md") || !strcmp(format, "markdown")) fmt = EL_REPORT_MD;
        else if (!strcmp(format, "html")) fmt = EL_REPORT_HTML;
        else if (!strcmp(format, "csv")) fmt = EL_REPORT_CSV;
        else if (!strcmp(format, "json")) fmt = EL_REPORT_JSON;
        else {
            fprintf(stderr, "emolab report: --format %s: use md, html, csv or json\n", format);
            goto done;
        }
    }
    p.registry = el_registry_default_path(reg);
    p.filter.where = where;
    p.filter.n_where = n_where;
    p.curves = curves;
    p.n_curves = n_curves;
    p.load_classes = fmt == EL_REPORT_HTML || fmt == EL_REPORT_JSON;
    if (fmt != EL_REPORT_HTML && fmt != EL_REPORT_JSON) {
        p.n_top_curves = 0;
        p.n_curves = 0;
    }
    char *cl = command_line(argc - 1, argv + 1);
    char *full = el_printf("emolab report%s", cl + strlen("emolab"));
    free(cl);
    p.command_line = full;
    el_report rep;
    bool usage = false;
    if (el_report_build(&p, &rep, &usage) != 0) {
        fprintf(stderr, "emolab report: %s\n", el_last_error());
        el_report_free(&rep);
        free(full);
        code = usage ? 2 : 1;
        goto done;
    }
    char *doc = fmt == EL_REPORT_HTML ? el_report_html(&rep)
              : fmt == EL_REPORT_CSV  ? el_report_csv(&rep)
              : fmt == EL_REPORT_JSON ? el_report_json(&rep)
                                      : el_report_md(&rep);
    size_t len = strlen(doc);
    code = 0;
    if (out_path) {
        char *dir = el_dirname(out_path);
        if (dir && *dir && strcmp(dir, ".") && el_mkdirs(dir, 0755) != 0) {
            fprintf(stderr, "emolab report: cannot create the directory of %s: %s\n", out_path, el_last_error());
            code = 1;
        } else if (el_write_file_atomic(out_path, doc, len) != 0) {
            fprintf(stderr, "emolab report: cannot write %s: %s\n", out_path, el_last_error());
            code = 1;
        } else {
            fprintf(stderr, "wrote %s: %d row%s, %lld runs, %.1f KB\n", out_path, (int)rep.n_rows,
                    rep.n_rows == 1 ? "" : "s", (long long)rep.n_runs, (double)len / 1024);
        }
        free(dir);
    } else if (fwrite(doc, 1, len, stdout) != len || fflush(stdout) != 0) {
        fprintf(stderr, "emolab report: writing to stdout failed\n");
        code = 1;
    }
    if (rep.hint && code == 0) fprintf(stderr, "emolab report: %s\n", rep.hint);
    free(doc);
    el_report_free(&rep);
    free(full);
done:
    for (int32_t i = 0; i < n_curve_bufs; i++) free(curve_bufs[i]);
    free(curve_bufs);
    free(curves);
    free(where);
    return code;
}

/* ---- ls ----------------------------------------------------------------------------------- */
static void ls_usage(FILE *out) {
    fprintf(out,
        "usage: emolab ls [options]\n\n"
        "Lists the most recent runs, one line each: short uuid, name, status, model (backbone +\n"
        "head), data variant, seed, val and test weighted F1, age. Any status by default.\n\n"
        "options:\n"
        "  --registry FILE     the registry (default $EMOLAB_REGISTRY or ./registry.db)\n"
        "  -n N                at most N runs (default 20)\n"
        "  --all               every run\n"
        "  --where KEY=VALUE   as in emolab report (params, owner, name, status, kind, sweep, ...)\n"
        "  --sweep ID          the runs of one sweep\n"
        "  --since WHEN        2026-11-01, 2026-11-01T14:30, or an age: 30m, 12h, 7d, 2w\n"
        "  --status LIST       e.g. failed,interrupted (default any)\n\n"
        "examples:\n"
        "  emolab ls\n"
        "  emolab ls --status failed --since 1d\n"
        "  emolab ls --sweep 7f3c2a91 --all\n"
        "then: emolab show RUN, emolab compare RUN_A RUN_B (RUN = uuid prefix or name)\n");
}

int cmd_ls(int argc, char **argv) {
    el_ls_params p = {0};
    p.limit = 20;
    const char *reg = NULL;
    const char **where = xcalloc((size_t)argc + 1, sizeof(char *));
    int code = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            ls_usage(stdout);
            code = 0;
            goto done;
        } else if (!strcmp(a, "--all")) {
            p.limit = 0;
        } else if (opt(argc, argv, &i, "-n", &v) || opt(argc, argv, &i, "--limit", &v)) {
            if (parse_count("ls", "-n", v, 1, 1 << 30, &p.limit)) goto done;
        } else if (opt(argc, argv, &i, "--registry", &v)) {
            if (!v) { missing_value("ls", "--registry"); goto done; }
            reg = v;
        } else if (opt(argc, argv, &i, "--where", &v)) {
            if (!v) { missing_value("ls", "--where"); goto done; }
            where[p.filter.n_where++] = v;
        } else if (opt(argc, argv, &i, "--sweep", &v)) {
            if (!v) { missing_value("ls", "--sweep"); goto done; }
            p.filter.sweep = v;
        } else if (opt(argc, argv, &i, "--since", &v)) {
            if (!v) { missing_value("ls", "--since"); goto done; }
            p.filter.since = v;
        } else if (opt(argc, argv, &i, "--status", &v)) {
            if (!v) { missing_value("ls", "--status"); goto done; }
            p.filter.status = v;
        } else {
            fprintf(stderr, "emolab ls: unknown %s '%s' (emolab ls --help)\n", a[0] == '-' ? "option" : "argument", a);
            goto done;
        }
    }
    p.registry = el_registry_default_path(reg);
    p.filter.where = where;
    bool usage = false;
    if (el_ls_print(&p, stdout, &usage) != 0) {
        fprintf(stderr, "emolab ls: %s\n", el_last_error());
        code = usage ? 2 : 1;
    } else {
        code = 0;
    }
done:
    free(where);
    return code;
}

/* ---- show / compare -------------------------------------------------------------------------- */
static void show_usage(FILE *out) {
    fprintf(out,
        "usage: emolab show RUN [--registry FILE]\n\n"
        "Everything recorded about one run: status and provenance, the resolved config, the data\n"
        "(rows, fingerprints, positives per label, source files), a scikit-learn style\n"
        "classification report on val and on test, the thresholds tuned on val, the per-epoch\n"
        "table, the threshold curve's best point, and the artifacts.\n\n"
        "RUN is a uuid, a uuid prefix of 4 or more characters, or a run name (then its latest run;\n"
        "emolab says so when the name has several).\n\n"
        "examples:\n"
        "  emolab show 4d075d03\n"
        "  emolab show bow-h768-d085 --registry team.db\n");
}

static void compare_usage(FILE *out) {
    fprintf(out,
        "usage: emolab compare RUN_A RUN_B [--registry FILE]\n\n"
        "Puts two runs side by side: the config parameters that differ (A -> B), whether they\n"
        "saw the same train/val/test rows (data fingerprints), every val and test metric with the\n"
        "delta B - A, per-class F1 with deltas, and the thresholds.\n\n"
        "RUN is a uuid, a uuid prefix of 4 or more characters, or a run name (its latest run).\n\n"
        "examples:\n"
        "  emolab compare 4d075d03 9a1b2c3d\n"
        "  emolab compare bow-h768-d085 bow-h512-d05\n");
}

static int runs_cmd(const char *cmd, int argc, char **argv, int want, void (*usage)(FILE *)) {
    const char *reg = NULL, *refs[2] = {NULL, NULL};
    int n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (opt(argc, argv, &i, "--registry", &v)) {
            if (!v) return missing_value(cmd, "--registry");
            reg = v;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "emolab %s: unknown option %s (emolab %s --help)\n", cmd, a, cmd);
            return 2;
        } else if (n < want) {
            refs[n++] = a;
        } else {
            fprintf(stderr, "emolab %s: too many runs (%s); %s\n", cmd, a, want == 1 ? "one run at a time" : "give two runs");
            return 2;
        }
    }
    if (n < want) {
        usage(stderr);
        return 2;
    }
    const char *path = el_registry_default_path(reg);
    el_registry *r = el_registry_open(path, true);
    if (!r) {
        fprintf(stderr, "emolab %s: %s\n", cmd, el_last_error());
        return 1;
    }
    sqlite3 *db = el_registry_db(r);
    el_run_detail d[2];
    memset(d, 0, sizeof d);
    int code = 0;
    int loaded = 0;
    for (int k = 0; k < want; k++) {
        char uuid[37];
        el_buf note = {0};
        if (el_run_resolve(db, path, refs[k], uuid, &note) != 0) {
            fprintf(stderr, "emolab %s: %s\n", cmd, el_last_error());
            code = 2;
            el_buf_free(&note);
            break;
        }
        if (note.len) fprintf(stderr, "emolab %s: %s\n", cmd, note.s);
        el_buf_free(&note);
        if (el_run_detail_load(db, uuid, &d[k]) != 0) {
            fprintf(stderr, "emolab %s: %s: %s\n", cmd, path, el_last_error());
            code = 1;
            el_run_detail_free(&d[k]);
            break;
        }
        loaded++;
    }
    if (code == 0) {
        char *text = want == 1 ? el_show_text(&d[0]) : el_compare_text(&d[0], &d[1]);
        fputs(text, stdout);
        free(text);
    }
    for (int k = 0; k < loaded; k++) el_run_detail_free(&d[k]);
    el_registry_close(r);
    return code;
}

int cmd_show(int argc, char **argv) { return runs_cmd("show", argc, argv, 1, show_usage); }
int cmd_compare(int argc, char **argv) { return runs_cmd("compare", argc, argv, 2, compare_usage); }
