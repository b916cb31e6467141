/* report_html.c: the leaderboard as one self-contained HTML file: inline CSS, inline SVG charts
 * (report_svg.c), one small inline script that sorts the table on a header click; no external
 * asset of any kind (fonts, images, scripts), so it reads the same offline. Every string from the
 * registry is HTML-escaped. See report.h. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char CSS[] =
    ":root{--fg:#1f2933;--muted:#66768a;--line:#e3e8ee;--bg:#f5f7fa;--card:#fff;--head:#f0f3f7;"
    "--best:#e3f4e8;--bestfg:#0b5a2a;--accent:#2f6db5}\n"
    "*{box-sizing:border-box}\n"
    "html{-webkit-text-size-adjust:100%}\n"
    "body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,"
    "\"Noto Sans\",\"DejaVu Sans\",\"Helvetica Neue\",Arial,sans-serif}\n"
    "main{max-width:1240px;margin:0 auto;padding:28px 28px 40px}\n"
    "header h1{font-size:24px;margin:0 0 4px;letter-spacing:-.01em}\n"
    "header .brand{color:var(--accent)}\n"
    ".sub{color:var(--muted);margin:0}\n"
    ".sub code,.foot code{background:var(--head);padding:1px 5px;border-radius:4px;font-size:12px}\n"
    ".cards{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:12px;margin:18px 0 6px}\n"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}\n"
    ".card .k{color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.06em}\n"
    ".card .v{font-size:24px;font-weight:650;font-variant-numeric:tabular-nums;margin-top:2px}\n"
    ".card .d{color:var(--muted);font-size:12px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}\n"
    ".panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;margin:14px 0}\n"
    ".panel h2{font-size:16px;margin:0 0 2px}\n"
    ".note{color:var(--muted);font-size:12px;margin:0 0 12px}\n"
    ".scroll{max-height:720px;overflow:auto;border:1px solid var(--line);border-radius:8px}\n"
    "table{border-collapse:separate;border-spacing:0;width:100%;font-size:13px}\n"
    "th,td{padding:6px 9px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}\n"
    "thead th{background:var(--head);font-weight:600;position:sticky;z-index:1;white-space:nowrap}\n"
    "thead tr:first-child th{top:0}\n"
    "thead tr:nth-child(2) th{top:31px}\n"
    "th[data-sort]{cursor:pointer;user-select:none}\n"
    "th[data-sort]:hover{color:var(--accent)}\n"
    "th.sorted-asc::after{content:\" \\25B2\";font-size:9px}\n"
    "th.sorted-desc::after{content:\" \\25BC\";font-size:9px}\n"
    "th.dv{text-align:center;border-left:1px solid var(--line)}\n"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "td.first{border-left:1px solid var(--line)}\n"
    "td.best{background:var(--best);color:var(--bestfg);font-weight:650}\n"
    "td.best::before{content:\"\\2605 \";font-size:10px}\n"
    ".pm{color:var(--muted);font-weight:400;font-size:12px}\n"
    "tbody tr:nth-child(even) td{background:#fafbfc}\n"
    "tbody tr:nth-child(even) td.best{background:var(--best)}\n"
    "tbody tr:hover td{background:#eef4fb}\n"
    "td.rank{color:var(--muted);text-align:right}\n"
    ".name{font-weight:600;word-break:break-word}\n"
    ".model{color:var(--muted);font-size:12px}\n"
    ".differs{color:var(--muted);font-size:11.5px;max-width:280px;word-break:break-word}\n"
    ".kind{display:inline-block;font-size:10px;text-transform:uppercase;letter-spacing:.05em;background:#fdf1e3;"
    "color:#8a4b08;border-radius:4px;padding:0 4px;margin-left:4px;vertical-align:1px}\n"
    ".empty{color:var(--muted);background:var(--head);border-radius:8px;padding:18px;margin:0}\n"
    ".chartwrap{overflow-x:auto}\n"
    "svg.chart{display:block;max-width:100%;height:auto}\n"
    ".grid2{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:14px}\n"
    ".grid2 .panel{margin:0}\n"
    ".foot{color:var(--muted);font-size:12px;margin-top:22px;line-height:1.6}\n"
    "@media (max-width:900px){.cards{grid-template-columns:repeat(2,minmax(0,1fr))}.grid2{grid-template-columns:1fr}}\n"
    "@media print{.scroll{max-height:none;overflow:visible}body{background:#fff}}\n";

/* sorts the leaderboard on a header click: numbers by data-v (missing last), text as text */
static const char JS[] =
    "(function(){\n"
    "var t=document.getElementById('board');if(!t||!t.tBodies.length)return;\n"
    "var body=t.tBodies[0];\n"
    "var heads=t.querySelectorAll('th[data-sort]');\n"
    "function key(tr,i,num){var c=tr.children[i];if(!c)return num?null:'';\n"
    "  if(num){var v=c.getAttribute('data-v');return v===null||v===''?null:parseFloat(v);}\n"
    "  return (c.textContent||'').toLowerCase();}\n"
    "Array.prototype.forEach.call(heads,function(th){th.addEventListener('click',function(){\n"
    "  var i=parseInt(th.getAttribute('data-sort'),10),num=th.getAttribute('data-type')==='num';\n"
    "  var dir=th.classList.contains('sorted-desc')?'asc':(th.classList.contains('sorted-asc')?'desc':(num?'desc':'asc'));\n"
    "  Array.prototype.forEach.call(heads,function(h){h.classList.remove('sorted-asc','sorted-desc');});\n"
    "  th.classList.add('sorted-'+dir);\n"
    "  var rows=Array.prototype.slice.call(body.rows);\n"
    "  rows.sort(function(a,b){var x=key(a,i,num),y=key(b,i,num);\n"
    "    if(x===null&&y===null)return 0;if(x===null)return 1;if(y===null)return -1;\n"
    "    var c=x<y?-1:(x>y?1:0);return dir==='asc'?c:-c;});\n"
    "  rows.forEach(function(r){body.appendChild(r);});\n"
    "});});\n"
    "})();\n";

static void td_stat(el_buf *b, const el_stat *s, int32_t digits, bool first) {
    el_buf_printf(b, "<td class=\"num%s%s\"", s->best ? " best" : "", first ? " first" : "");
    if (s->n) el_buf_printf(b, " data-v=\"%.10g\"", s->mean);
    el_buf_puts(b, ">");
    if (s->n) {
        el_buf_printf(b, "%.*f", (int)digits, s->mean);
        if (s->n > 1) el_buf_printf(b, "<span class=\"pm\"> ± %.*f (%d)</span>", (int)digits, s->std, (int)s->n);
    } else {
        el_buf_puts(b, "<span class=\"pm\">–</span>");
    }
    el_buf_puts(b, "</td>");
}

/* best of a split over every row and data variant, for the summary cards */
static void card_best(el_buf *b, const el_report *r, bool test) {
    int32_t bi = -1, bk = -1;
    for (int32_t i = 0; i < r->n_rows_total; i++)
        for (int32_t k = 0; k < r->n_dvariants; k++) {
            const el_stat *s = test ? &r->rows[i].cells[k].test : &r->rows[i].cells[k].val;
            if (!s->n) continue;
            const el_stat *cur = bi < 0 ? NULL : test ? &r->rows[bi].cells[bk].test : &r->rows[bi].cells[bk].val;
            if (!cur || s->mean > cur->mean) {
                bi = i;
                bk = k;
            }
        }
    el_buf_printf(b, "<div class=\"card\"><div class=\"k\">best %s ", test ? "test" : "val");
    el_html_escape(b, r->metric_title);
    el_buf_puts(b, "</div>");
    if (bi < 0) {
        el_buf_puts(b, "<div class=\"v\">–</div><div class=\"d\">no runs</div></div>\n");
        return;
    }
    const el_report_row *row = &r->rows[bi];
    const el_stat *s = test ? &row->cells[bk].test : &row->cells[bk].val;
    el_buf_printf(b, "<div class=\"v\">%.*f</div><div class=\"d\" title=\"", (int)r->digits, s->mean);
    el_html_escape(b, row->title);
    el_buf_puts(b, " · ");
    el_html_escape(b, r->dvariants[bk]);
    el_buf_puts(b, "\">");
    el_html_escape(b, row->title);
    el_buf_puts(b, " · ");
    el_html_escape(b, r->dvariants[bk]);
    if (s->n > 1) el_buf_printf(b, " · mean of %d", (int)s->n);
    el_buf_puts(b, "</div></div>\n");
}

char *el_report_html(const el_report *r) {
    el_buf b = {0};
    el_buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<meta name=\"generator\" content=\"emolab report\">\n"
                    "<link rel=\"icon\" href=\"data:,\">\n<title>emolab leaderboard · ");
    el_html_escape(&b, r->metric_title);
    el_buf_puts(&b, "</title>\n<style>\n");
    el_buf_puts(&b, CSS);
    el_buf_puts(&b, "</style>\n</head>\n<body>\n<main>\n<header>\n<h1><span class=\"brand\">emolab</span> leaderboard</h1>\n"
                    "<p class=\"sub\">");
    el_html_escape(&b, r->metric_title);
    el_buf_printf(&b, " · %lld run%s in %d %s · status ", (long long)r->n_runs, r->n_runs == 1 ? "" : "s",
                  (int)r->n_rows_total, r->group_by ? "groups" : r->n_rows_total == 1 ? "variant" : "variants");
    el_html_escape(&b, r->status);
    if (r->filters && *r->filters) {
        el_buf_puts(&b, " · filters: ");
        el_html_escape(&b, r->filters);
    }
    el_buf_puts(&b, "<br>registry <code>");
    el_html_escape(&b, r->registry);
    el_buf_printf(&b, "</code> · generated %s</p>\n</header>\n", r->generated);

    /* summary cards */
    el_buf_puts(&b, "<section class=\"cards\">\n");
    card_best(&b, r, false);
    card_best(&b, r, true);
    el_buf_printf(&b, "<div class=\"card\"><div class=\"k\">runs</div><div class=\"v\">%lld</div><div class=\"d\">of %lld in "
                      "the registry</div></div>\n", (long long)r->n_runs, (long long)r->registry_runs);
    el_buf_printf(&b, "<div class=\"card\"><div class=\"k\">%s</div><div class=\"v\">%d</div><div class=\"d\">",
                  r->group_by ? "groups" : "variants", (int)r->n_rows_total);
    el_buf_puts(&b, "data variants: ");
    for (int32_t k = 0; k < r->n_dvariants; k++) {
        el_buf_puts(&b, k ? ", " : "");
        el_html_escape(&b, r->dvariants[k]);
    }
    if (!r->n_dvariants) el_buf_puts(&b, "none");
    el_buf_puts(&b, "</div></div>\n</section>\n");

    /* the table */
    el_buf_puts(&b, "<section class=\"panel\">\n<h2>Leaderboard</h2>\n<p class=\"note\">");
    if (r->group_by) {
        el_buf_puts(&b, "One row per value of <code>");
        el_html_escape(&b, r->group_by);
        el_buf_puts(&b, "</code>. ");
    } else {
        el_buf_puts(&b, "One row per variant: runs whose configs are equal apart from name, owner, notes, data.*, "
                        "train.seed, train.threads and train.device. ");
    }
    el_buf_puts(&b, "Cells: mean ± sample std (n runs) of ");
    el_html_escape(&b, r->metric_title);
    el_buf_puts(&b, ", or the value of a single run; ★ best of its column. Sorted by ");
    el_html_escape(&b, r->sort_title);
    el_buf_puts(&b, "; click a header to re-sort.");
    if (r->n_rows < r->n_rows_total) el_buf_printf(&b, " Top %d of %d rows.", (int)r->n_rows, (int)r->n_rows_total);
    el_buf_puts(&b, "</p>\n<div class=\"scroll\">\n<table id=\"board\">\n<thead>\n<tr>");
    el_buf_printf(&b, "<th rowspan=\"2\" class=\"num\" data-sort=\"0\" data-type=\"num\">#</th>"
                      "<th rowspan=\"2\" data-sort=\"1\">%s</th><th rowspan=\"2\" data-sort=\"2\">owner</th>",
                  r->group_by ? "group" : "variant");
    for (int32_t k = 0; k < r->n_dvariants; k++) {
        el_buf_puts(&b, "<th colspan=\"2\" class=\"dv\">");
        el_html_escape(&b, r->dvariants[k]);
        el_buf_puts(&b, "</th>");
    }
    int32_t c_runs = 3 + 2 * r->n_dvariants;
    bool differs = false; /* the column only when some row has something in it */
    for (int32_t i = 0; i < r->n_rows; i++) differs |= r->rows[i].differs && *r->rows[i].differs;
    el_buf_printf(&b, "<th rowspan=\"2\" class=\"num\" data-sort=\"%d\" data-type=\"num\">runs</th>", (int)c_runs);
    if (differs) el_buf_printf(&b, "<th rowspan=\"2\" data-sort=\"%d\">differs</th>", (int)c_runs + 1);
    el_buf_puts(&b, "</tr>\n<tr>");
    for (int32_t k = 0; k < r->n_dvariants; k++)
        el_buf_printf(&b, "<th class=\"num\" data-sort=\"%d\" data-type=\"num\">val</th>"
                          "<th class=\"num\" data-sort=\"%d\" data-type=\"num\">test</th>", (int)(3 + 2 * k), (int)(4 + 2 * k));
    el_buf_puts(&b, "</tr>\n</thead>\n<tbody>\n");
    for (int32_t i = 0; i < r->n_rows; i++) {
        const el_report_row *row = &r->rows[i];
        el_buf_printf(&b, "<tr><td class=\"rank\" data-v=\"%d\">%d</td><td><div class=\"name\">", (int)i + 1, (int)i + 1);
        el_html_escape(&b, row->title);
        if (!r->group_by && row->n_names > 1) el_buf_printf(&b, " <span class=\"pm\">(+%d name%s)</span>", (int)row->n_names - 1, row->n_names == 2 ? "" : "s");
        if (!strcmp(row->kind, "ensemble")) el_buf_puts(&b, "<span class=\"kind\">ensemble</span>");
        el_buf_puts(&b, "</div>");
        if (*row->model) {
            el_buf_puts(&b, "<div class=\"model\">");
            el_html_escape(&b, row->model);
            el_buf_puts(&b, "</div>");
        }
        el_buf_puts(&b, "</td><td>");
        el_html_escape(&b, row->owners);
        el_buf_puts(&b, "</td>");
        for (int32_t k = 0; k < r->n_dvariants; k++) {
            td_stat(&b, &row->cells[k].val, r->digits, true);
            td_stat(&b, &row->cells[k].test, r->digits, false);
        }
        el_buf_printf(&b, "<td class=\"num\" data-v=\"%d\">%d</td>", (int)row->n_runs, (int)row->n_runs);
        if (differs) {
            el_buf_puts(&b, "<td class=\"differs\">");
            el_html_escape(&b, row->differs);
            el_buf_puts(&b, "</td>");
        }
        el_buf_puts(&b, "</tr>\n");
    }
    if (!r->n_rows) {
        el_buf_printf(&b, "<tr><td colspan=\"%d\" class=\"empty\">No runs to show. ", (int)c_runs + (differs ? 2 : 1));
        el_html_escape(&b, r->hint ? r->hint : "");
        el_buf_puts(&b, "</td></tr>\n");
    }
    el_buf_puts(&b, "</tbody>\n</table>\n</div>\n</section>\n");

    int32_t shown = r->n_rows < r->chart_rows ? r->n_rows : r->chart_rows;
    /* charts */
    el_buf_puts(&b, "<section class=\"panel\">\n<h2>Per ");
    el_buf_puts(&b, r->group_by ? "group" : "variant");
    el_buf_puts(&b, ": ");
    el_html_escape(&b, r->metric_title);
    el_buf_printf(&b, "</h2>\n<p class=\"note\">The top %d rows, per data variant: val (circle) and test "
                      "(diamond) means, every run as a small ring, the bar spans ± one standard deviation over "
                      "runs (seeds).</p>\n<div class=\"chartwrap\">\n", (int)shown);
    el_svg_variant_f1(&b, r);
    el_buf_puts(&b, "</div>\n</section>\n");

    el_buf_printf(&b, "<section class=\"panel\">\n<h2>Per-class F1</h2>\n<p class=\"note\">Mean F1 per label on the test "
                      "split (val where a run has no test scores; thresholds are tuned on val, so its per-class F1 is "
                      "optimistic), top %d rows.</p>\n<div class=\"chartwrap\">\n", (int)shown);
    el_svg_heatmap(&b, r);
    el_buf_puts(&b, "</div>\n</section>\n");

    el_buf_puts(&b, "<div class=\"grid2\">\n<section class=\"panel\">\n<h2>Loss per epoch</h2>\n<p class=\"note\">");
    if (r->n_curves) el_buf_printf(&b, "%d run%s: ", (int)r->n_curves, r->n_curves == 1 ? "" : "s");
    el_buf_puts(&b, "the best run of each top row, or the runs given with --curves.</p>\n<div class=\"chartwrap\">\n");
    el_svg_curves(&b, r, true);
    el_buf_puts(&b, "</div>\n</section>\n<section class=\"panel\">\n<h2>Val weighted F1 per epoch</h2>\n"
                    "<p class=\"note\">At the thresholds tuned after each epoch; the best epoch is the checkpoint kept.</p>\n"
                    "<div class=\"chartwrap\">\n");
    el_svg_curves(&b, r, false);
    el_buf_puts(&b, "</div>\n</section>\n</div>\n");

    el_buf_puts(&b, "<section class=\"panel\">\n<h2>Val weighted F1 against the threshold</h2>\n<p class=\"note\">One "
                    "global decision threshold for every label; the ring marks each run's best. Per-class tuned "
                    "thresholds (what the table reports) usually do better.</p>\n<div class=\"chartwrap\">\n");
    el_svg_threshold(&b, r);
    el_buf_puts(&b, "</div>\n</section>\n");

    el_buf_puts(&b, "<p class=\"foot\">");
    if (r->command_line) {
        el_buf_puts(&b, "Regenerate: <code>");
        el_html_escape(&b, r->command_line);
        el_buf_puts(&b, "</code><br>");
    }
    el_buf_puts(&b, "emolab report reads the registry read-only; this file has no external assets.</p>\n</main>\n<script>\n");
    el_buf_puts(&b, JS);
    el_buf_puts(&b, "</script>\n</body>\n</html>\n");
    return el_buf_take(&b);
}
