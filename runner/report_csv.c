/* report_csv.c: the leaderboard as CSV (RFC 4180), one line per row, numbers in full precision
 * for spreadsheets and pandas. Columns: rank, variant (or group), model, owner, runs, kind, then
 * per data variant DV: DV_val_mean, DV_val_std, DV_val_n, DV_test_mean, DV_test_std, DV_test_n
 * (empty when there is no value; std empty for a single run), then best (the columns where this
 * row is the best, ";"-joined, e.g. "orig_val;ext_test") and differs. See report.h. */
#include "report.h"

#include <math.h>
#include <stdlib.h>

static void num(el_buf *b, double v) {
    el_buf_putc(b, ',');
    if (!isnan(v)) el_buf_printf(b, "%.10g", v);
}

static void stat_fields(el_buf *b, const el_stat *s) {
    num(b, s->n ? s->mean : NAN);
    num(b, s->n > 1 ? s->std : NAN);
    el_buf_printf(b, ",%d", (int)s->n);
}

char *el_report_csv(const el_report *r) {
    el_buf b = {0};
    el_buf_printf(&b, "rank,%s,model,owner,runs,kind", r->group_by ? "group" : "variant");
    for (int32_t k = 0; k < r->n_dvariants; k++)
        for (int s = 0; s < 2; s++)
            for (int f = 0; f < 3; f++) {
                char *h = el_printf("%s_%s_%s", r->dvariants[k], s ? "test" : "val", f == 0 ? "mean" : f == 1 ? "std" : "n");
                el_buf_putc(&b, ',');
                el_csv_cell(&b, h, true);
                free(h);
            }
    el_buf_puts(&b, ",best,differs\r\n");
    for (int32_t i = 0; i < r->n_rows; i++) {
        const el_report_row *row = &r->rows[i];
        el_buf_printf(&b, "%d,", (int)i + 1);
        el_csv_cell(&b, row->title, true);
        el_buf_putc(&b, ',');
        el_csv_cell(&b, row->model, true);
        el_buf_putc(&b, ',');
        el_csv_cell(&b, row->owners, true);
        el_buf_printf(&b, ",%d,", (int)row->n_runs);
        el_csv_cell(&b, row->kind, true);
        el_buf best = {0};
        for (int32_t k = 0; k < r->n_dvariants; k++) {
            stat_fields(&b, &row->cells[k].val);
            stat_fields(&b, &row->cells[k].test);
            if (row->cells[k].val.best) el_buf_printf(&best, "%s%s_val", best.len ? ";" : "", r->dvariants[k]);
            if (row->cells[k].test.best) el_buf_printf(&best, "%s%s_test", best.len ? ";" : "", r->dvariants[k]);
        }
        el_buf_putc(&b, ',');
        el_csv_cell(&b, best.s ? best.s : "", true);
        el_buf_free(&best);
        el_buf_putc(&b, ',');
        el_csv_cell(&b, row->differs, true);
        el_buf_puts(&b, "\r\n");
    }
    return el_buf_take(&b);
}
