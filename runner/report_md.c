/* report_md.c: the leaderboard as a Markdown document (GitHub-flavoured table). Every string
 * from the registry goes through el_md_escape: a name like `<script>x</script>|y` stays text
 * and cannot add a column. See report.h. */
#include "report.h"

#include <math.h>
#include <string.h>

static bool row_differs(const el_report_row *row) { return row->differs && *row->differs; }

static void md_cell(el_buf *b, const el_stat *s, int32_t digits) {
    el_buf_puts(b, " ");
    if (s->best) el_buf_puts(b, "**");
    el_stat_text(b, s, digits, false);
    if (s->best) el_buf_puts(b, "**");
    el_buf_puts(b, " |");
}

char *el_report_md(const el_report *r) {
    el_buf b = {0};
    el_buf_puts(&b, "# emolab leaderboard\n\n");
    el_md_escape(&b, r->metric_title);
    el_buf_printf(&b, " · %lld run%s in %d %s · status ", (long long)r->n_runs, r->n_runs == 1 ? "" : "s",
                  (int)r->n_rows_total, r->group_by ? "groups" : (r->n_rows_total == 1 ? "variant" : "variants"));
    el_md_escape(&b, r->status);
    if (r->filters && *r->filters) {
        el_buf_puts(&b, " · filters: ");
        el_md_escape(&b, r->filters);
    }
    el_buf_puts(&b, "  \nregistry ");
    el_md_escape(&b, r->registry);
    el_buf_printf(&b, " · generated %s  \n", r->generated);
    el_buf_puts(&b, "Sorted by ");
    el_md_escape(&b, r->sort_title);
    el_buf_puts(&b, ". ");
    if (r->group_by) {
        el_buf_puts(&b, "One row per value of ");
        el_md_escape(&b, r->group_by);
        el_buf_puts(&b, "; ");
    } else {
        el_buf_puts(&b, "One row per variant (the config without name, owner, notes, data.\\*, train.seed, "
                        "train.threads, train.device); ");
    }
    el_buf_puts(&b, "cells: mean ± sample std (n runs), or the value of a single run. Best per column in **bold**.");
    if (r->n_rows < r->n_rows_total) el_buf_printf(&b, " Top %d of %d rows.", (int)r->n_rows, (int)r->n_rows_total);
    el_buf_puts(&b, "\n\n");

    /* header */
    el_buf_puts(&b, r->group_by ? "| # | group | owner |" : "| # | variant | model | owner |");
    for (int32_t k = 0; k < r->n_dvariants; k++) {
        el_buf_puts(&b, " ");
        el_md_escape(&b, r->dvariants[k]);
        el_buf_puts(&b, " val | ");
        el_md_escape(&b, r->dvariants[k]);
        el_buf_puts(&b, " test |");
    }
    bool differs = false; /* the column only when some row has something in it */
    for (int32_t i = 0; i < r->n_rows; i++) differs |= row_differs(&r->rows[i]);
    el_buf_puts(&b, differs ? " runs | differs |\n|--:|---|---|" : " runs |\n|--:|---|---|");
    if (!r->group_by) el_buf_puts(&b, "---|");
    for (int32_t k = 0; k < r->n_dvariants; k++) el_buf_puts(&b, "--:|--:|");
    el_buf_puts(&b, differs ? "--:|---|\n" : "--:|\n");
    for (int32_t i = 0; i < r->n_rows; i++) {
        const el_report_row *row = &r->rows[i];
        el_buf_printf(&b, "| %d | ", (int)i + 1);
        el_md_escape(&b, row->title);
        if (!r->group_by && row->n_names > 1) el_buf_printf(&b, " (+%d name%s)", (int)row->n_names - 1, row->n_names == 2 ? "" : "s");
        if (!r->group_by) {
            el_buf_puts(&b, " | ");
            el_md_escape(&b, row->model);
        }
        el_buf_puts(&b, " | ");
        el_md_escape(&b, row->owners);
        el_buf_puts(&b, " |");
        for (int32_t k = 0; k < r->n_dvariants; k++) {
            md_cell(&b, &row->cells[k].val, r->digits);
            md_cell(&b, &row->cells[k].test, r->digits);
        }
        el_buf_printf(&b, " %d |", (int)row->n_runs);
        if (differs) {
            el_buf_puts(&b, " ");
            el_md_escape(&b, row->differs);
            el_buf_puts(&b, " |");
        }
        el_buf_puts(&b, "\n");
    }
    if (r->hint) {
        el_buf_puts(&b, "\n_No runs to show._ ");
        el_md_escape(&b, r->hint);
        el_buf_puts(&b, "\n");
    }
    if (r->command_line) {
        el_buf_puts(&b, "\nRegenerate: ");
        el_md_escape(&b, r->command_line);
        el_buf_puts(&b, "\n");
    }
    return el_buf_take(&b);
}
