/* report.h: leaderboards and run inspection, read from the registry (always opened read-only:
 * nothing here ever writes to it).
 *
 * Data flows one way: registry -> el_report (report_query.c: filters, variants, aggregation,
 * best marks, sorting) -> one renderer per format (report_md.c, report_html.c with the charts of
 * report_svg.c, report_csv.c, report_json.c). `emolab ls / show / compare` read single runs
 * (report_runs.c) and print them as text (report_show.c). The commands are in report_cmd.c;
 * escaping, number formatting and "did you mean" suggestions in report_text.c.
 *
 * A variant (one leaderboard row by default) is the set of runs whose resolved configs are equal
 * once the keys that do not define the experiment are removed: name, owner, notes, every data.*
 * key (the data variant is a column, not a row), train.seed (repeated seeds aggregate), and the
 * execution knobs train.threads and train.device; plus the run kind (single / ensemble). In
 * practice: the runs' flattened params (table `params`) without those keys, compared as text.
 * A cell (variant x data variant x split) aggregates its runs as mean ± sample std (n).
 */
#ifndef EL_REPORT_H
#define EL_REPORT_H

#include "util.h"

#include <stdbool.h>
#include <stdint.h>

struct sqlite3;
struct sqlite3_stmt;

/* ---- a bump allocator for the model's strings (report_text.c) -------------------------- */
typedef struct el_arena el_arena;
el_arena *el_arena_new(void);
void el_arena_free(el_arena *a);
void *el_arena_alloc(el_arena *a, size_t n);           /* zeroed, 8-byte aligned */
const char *el_arena_str(el_arena *a, const char *s);   /* copy; NULL -> "" */
const char *el_arena_strn(el_arena *a, const char *s, size_t n);

/* ---- text helpers (report_text.c) ------------------------------------------------------ */
/* Append s escaped for HTML text and attribute values (& < > " '). */
void el_html_escape(el_buf *b, const char *s);
/* Append s escaped for a Markdown table cell: | \ ` * _ [ ] # ~ escaped with a backslash,
 * & < > as HTML entities (Markdown passes raw HTML through), newlines and tabs as spaces. */
void el_md_escape(el_buf *b, const char *s);
/* Append s as one CSV field (RFC 4180: quoted when it holds , " CR or LF; " doubled). Text
 * fields starting with = + - @ (spreadsheet formulas) get a leading ' when `text` is true. */
void el_csv_cell(el_buf *b, const char *s, bool text);
/* Append s for a terminal: control characters (ESC included) become '?'. */
void el_term_escape(el_buf *b, const char *s);
/* Display width of UTF-8 text in a terminal (code points; no wide-character table). */
int32_t el_utf8_width(const char *s);
/* Append s padded with spaces (or cut with "…") to exactly `width` columns (terminal escaped). */
void el_term_pad(el_buf *b, const char *s, int32_t width, bool right);
/* Levenshtein distance (bytes), capped at `cap` (returns cap when larger). */
int32_t el_edit_distance(const char *a, const char *b, int32_t cap);
/* Appends up to `max` of `cands` close to `word` (edit distance, shared prefix, substring) as
 * "a, b, c"; returns how many were appended. */
int32_t el_suggest(el_buf *b, const char *word, const char *const *cands, int32_t n, int32_t max);
/* A JSON param value for display: strings unquoted, others as they are ("[768]", "0.85"). */
char *el_json_display(const char *json); /* malloc'd */
/* "3m ago", "2h ago", "5d ago" from an ISO UTC time ("" when it cannot be parsed). */
void el_age(const char *iso, char out[32]);
/* Parses ISO dates/times (2026-11-28, 2026-11-28T14:00, ...Z) and relative ages (30m, 12h, 7d,
 * 2w) into the registry's ISO UTC text form; -1 with el_last_error() when it cannot. */
int el_parse_since(const char *s, char out[40]);

/* ---- run filters (report_query.c), shared by report and ls ------------------------------ */
typedef struct {
    const char *const *where; /* "KEY=VALUE" or "KEY!=VALUE"; KEY a param or a run field */
    int32_t n_where;
    const char *sweep;        /* runs.sweep_id, exact */
    const char *since;        /* see el_parse_since */
    const char *status;       /* comma list of statuses, or "any"; NULL = the caller's default */
} el_run_filter;

/* The run fields --where accepts besides params. */
extern const char *const EL_RUN_FIELDS[];
extern const int32_t EL_N_RUN_FIELDS;

/* Distinct parameter keys of the registry, sorted (index seeks, not a scan). */
int el_registry_param_keys(struct sqlite3 *db, char ***keys, int32_t *n);
void el_strv_free(char **v, int32_t n);

/* A WHERE clause over `runs r` with its bound values, built from a filter. Refuses unknown
 * keys (listing close ones), bad statuses, bad dates and unknown sweeps. */
typedef struct {
    el_buf sql;               /* "1" when there is nothing to filter */
    char **binds;
    int32_t n_binds;
    el_buf desc;              /* human summary: "owner=marina, sweep s1, since 2026-11-01" */
} el_run_where;
int el_run_where_build(struct sqlite3 *db, const char *reg_path, const el_run_filter *f,
                       const char *default_status, el_run_where *out);
void el_run_where_free(el_run_where *w);
/* Binds w's values to st starting at parameter `first` (1-based); returns the next index. */
int el_run_where_bind(const el_run_where *w, struct sqlite3_stmt *st, int first);

/* ---- the leaderboard model (report_query.c) -------------------------------------------- */
typedef enum { EL_REPORT_MD = 0, EL_REPORT_HTML, EL_REPORT_CSV, EL_REPORT_JSON } el_report_format;

typedef struct {
    const char *registry;     /* path (required) */
    el_run_filter filter;     /* status NULL = "finished" */
    const char *metric;       /* weighted_f1 (default) | macro_f1 | micro_f1 | samples_f1 | any
                                 metric of the registry | f1:LABEL */
    const char *group_by;     /* NULL = variants; else a param key or a run field */
    const char *sort;         /* val (default) | test | DATA.val | DATA.test | name | owner |
                                 runs | key */
    int32_t top;              /* keep the first N rows (0 = all) */
    int32_t digits;           /* decimals shown (default 3) */
    /* HTML charts */
    const char *const *curves; /* runs (uuid prefix or name) for learning/threshold curves */
    int32_t n_curves;
    int32_t n_top_curves;     /* else the best run of each of the top N rows (default 5) */
    int32_t chart_rows;       /* rows shown in the charts (default 25) */
    bool load_classes;        /* per-class F1 per cell (html, json) */
    const char *command_line; /* shown in the output: how to regenerate it */
} el_report_params;
el_report_params el_report_default_params(void);

typedef struct {
    double mean, std, min, max; /* std: sample standard deviation (n-1); NAN when n < 2 */
    int32_t n;                /* runs with a value; 0 = empty cell */
    bool best;                /* the best mean of its column (marked when >= 2 rows have one) */
} el_stat;

typedef struct {
    char uuid[37];
    const char *name, *owner, *kind, *status, *created, *sweep, *data_variant; /* arena */
    int64_t seed;
    double val, test;         /* the chosen metric, NAN when absent */
    int32_t row, col;         /* leaderboard row and data-variant column (-1: none) */
} el_report_run;

typedef struct {
    el_stat val, test;
    int32_t *runs;            /* indices into el_report.runs */
    int32_t n_runs, cap_runs;
    double *cls[2];           /* [0] val, [1] test: mean F1 per label (n_labels; NAN when no run
                                 of the cell has it); NULL unless load_classes */
} el_report_cell;

typedef struct {
    const char *key;          /* the variant key (params text) or the group value (JSON) */
    const char *title;        /* variant: the latest run's name; group: "KEY = value" */
    const char *model;        /* variant: backbone + head description; group: "" */
    const char *kind;         /* single | ensemble */
    const char *owners;       /* distinct owners, ", "-joined */
    const char *differs;      /* params (outside the model description) that vary across rows */
    int32_t n_names;          /* distinct run names in the row */
    int32_t n_runs;
    const char *latest;       /* latest created time */
    int32_t first_run;        /* index into el_report.runs: the row's first run */
    el_report_cell *cells;    /* n_dvariants */
    double sort_value;
} el_report_row;

typedef struct {
    char uuid[37];
    const char *label;        /* "name · 4d075d03 · ext" */
    int32_t n_epochs;
    double *epoch, *train_loss, *val_loss, *val_f1; /* NAN for missing values */
    int32_t n_thr;
    double *thr, *thr_f1;
} el_report_curve;

typedef struct {
    const char *registry;
    const char *generated;    /* ISO UTC */
    const char *metric;       /* as asked, normalised: "weighted_f1", "f1:joy" */
    const char *metric_title; /* "weighted F1", "F1 of joy" */
    const char *group_by;
    const char *sort, *sort_title;
    const char *filters;      /* human summary ("" when none) */
    const char *status;       /* statuses included, human ("finished") */
    const char *hint;         /* set when there are no rows: why, and what to do */
    const char *command_line;
    int32_t digits, chart_rows;
    int64_t registry_runs;    /* all runs in the registry */
    char **dvariants;         /* data-variant columns: orig, ext, then others by name */
    int32_t n_dvariants;
    char **labels;            /* label names in model output order */
    int32_t n_labels;
    el_report_run *runs;
    int32_t n_runs;
    el_report_row *rows;      /* sorted */
    int32_t n_rows, n_rows_total; /* shown / before --top */
    el_report_curve *curves;
    int32_t n_curves;
    el_arena *arena;
} el_report;

/* Builds the model (opens the registry read-only, closes it before returning). 0 ok; -1 with
 * el_last_error(): *usage is set when the error is the user's input (exit code 2) rather than
 * the registry (exit code 1). */
int el_report_build(const el_report_params *p, el_report *out, bool *usage);
void el_report_free(el_report *r);

/* Short description of a config from its flattened params (values as JSON text):
 * "bow · h768 d0.85 gelu", "ensemble · ...". malloc'd. (report_query.c) */
char *el_model_description(const char *const *keys, const char *const *values, int32_t n,
                           const char *kind);
/* Whether a param key is shown by el_model_description (so not repeated in `differs`). */
bool el_model_key(const char *key);

/* Cell text: "0.612 ± 0.004 (3)", "0.612" for one run, "" for none. */
void el_stat_text(el_buf *b, const el_stat *s, int32_t digits, bool ascii);

/* Renderers: the whole document, malloc'd. */
char *el_report_md(const el_report *r);
char *el_report_html(const el_report *r);
char *el_report_csv(const el_report *r);
char *el_report_json(const el_report *r);

/* ---- SVG charts for the HTML report (report_svg.c) ------------------------------------- */
void el_svg_variant_f1(el_buf *b, const el_report *r);    /* dots: runs, mean, ± std */
void el_svg_heatmap(el_buf *b, const el_report *r);       /* rows x labels, per-class F1 */
void el_svg_curves(el_buf *b, const el_report *r, bool loss); /* per epoch */
void el_svg_threshold(el_buf *b, const el_report *r);     /* val F1 against threshold */

/* ---- single runs (report_runs.c) -------------------------------------------------------- */
/* Resolves RUN (uuid, uuid prefix of >= 4 characters, or run name = its latest run) to a uuid.
 * `note` (may be NULL) receives a remark for the user, e.g. that a name had several runs.
 * Errors list the candidates (ambiguous) or close names (unknown). */
int el_run_resolve(struct sqlite3 *db, const char *reg_path, const char *ref, char uuid[37],
                   el_buf *note);

/* Everything recorded about one run, for show and compare. */
typedef struct {
    char *key, *value;        /* value: JSON text */
} el_kv;

typedef struct {
    char *label;
    int32_t idx;
    double precision, recall, f1;
    int64_t support, tp, fp, fn;
    bool have_counts;
} el_class_row;

typedef struct {
    char *split;
    char *fingerprint;
    int64_t rows, dropped_overlap;
    char *label_counts;       /* JSON text */
} el_data_row;

typedef struct {
    char *split, *path, *sha256;
    int64_t rows_read, rows_kept, dropped_unmapped, dropped_overlap;
} el_source_row;

typedef struct {
    int32_t epoch;
    double train_loss, val_loss, val_weighted_f1, val_macro_f1, val_micro_f1, lr, seconds,
        samples_per_s; /* NAN when NULL */
} el_epoch_rec;

typedef struct {
    char uuid[37];
    char *name, *owner, *kind, *status, *created, *started, *finished, *config_json,
        *config_hash, *git_commit, *host, *data_variant, *sweep_id, *run_dir, *spec_file, *error;
    int64_t seed;
    bool have_seed;
    int32_t best_epoch, epochs_run;
    double train_seconds;     /* NAN when NULL */
    el_kv *params;
    int32_t n_params;
    el_kv *metrics[2];        /* [0] val, [1] test: name -> value as text */
    int32_t n_metrics[2];
    el_class_row *classes[2]; /* [0] val, [1] test, by label_idx */
    int32_t n_classes[2];
    el_kv *thresholds;        /* label -> value (text), by label_idx */
    int32_t n_thresholds;
    el_data_row *data;
    int32_t n_data;
    el_source_row *sources;
    int32_t n_sources;
    el_epoch_rec *epochs;
    int32_t n_epochs;
    double *thr_x, *thr_f1;
    int32_t n_thr;
    el_kv *artifacts;         /* kind -> "path (bytes, sha256)" */
    int32_t n_artifacts;
} el_run_detail;

int el_run_detail_load(struct sqlite3 *db, const char *uuid, el_run_detail *d);
void el_run_detail_free(el_run_detail *d);
/* A metric of a split (0 val, 1 test) as a number; NAN when absent. */
double el_run_detail_metric(const el_run_detail *d, int32_t split, const char *name);

/* ---- text output of ls / show / compare (report_show.c) -------------------------------- */
typedef struct {
    const char *registry;
    el_run_filter filter;     /* status NULL = any */
    int32_t limit;            /* default 20; 0 = all */
} el_ls_params;
int el_ls_print(const el_ls_params *p, FILE *out, bool *usage);
char *el_show_text(const el_run_detail *d);
char *el_compare_text(const el_run_detail *a, const el_run_detail *b);

/* ---- commands (report_cmd.c; declared in commands.h) ----------------------------------- */

#endif /* EL_REPORT_H */
