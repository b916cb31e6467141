#!/usr/bin/env python3
"""Escaping: hostile strings in run names, owners, config values, label names and data-variant
names stay text in every format. `<script>alert(1)</script>|x` must not become an element in
HTML, must not add a column in Markdown, must round-trip through CSV and JSON, and control
characters (an ANSI escape) must not reach the terminal from ls / show / compare."""
import csv
import io
import json
import os
import sys
from html.parser import HTMLParser

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from regfix import add_run, base_params, check, done, emolab, md_table, new_registry, tmpdir  # noqa: E402

NAME = "<script>alert(1)</script>|x"
OWNER = "a|b & <i>c</i> \"q\" 'r'"
ACT = "<img src=x onerror=alert(2)>"
LABEL = "<u>joy</u>|"
DV = "ext|<b>"
ANSI = "ansi\x1b[31mred\x1b[0m"
FORMULA = "=cmd|' /C calc'!A0"

d = tmpdir("escape")
reg = os.path.join(d, "e.db")
db = new_registry(reg)
cls = {"val": {"anger": (0.5, 0.5, 0.4, 10), LABEL: (0.5, 0.5, 0.6, 12)},
       "test": {"anger": (0.5, 0.5, 0.3, 10), LABEL: (0.5, 0.5, 0.5, 12)}}
for seed, (v, t) in enumerate([(0.61, 0.60), (0.63, 0.58)], 1):
    p = base_params(NAME, OWNER, seed=seed, activation=ACT, extra={"notes": "<b>n</b>"})
    add_run(db, NAME, OWNER, p, val=v, test=t, seed=seed, created=f"2026-01-0{seed}T00:00:00.000Z", classes=cls,
            epochs=[(0.5, 0.6, 0.55), (0.4, 0.5, v)], curve=[(0.1, 0.5), (0.5, v)])
p = base_params("plain", "bob", seed=1, variant=DV, extra={"train.note": "=1+1|<script>"})
add_run(db, "plain", "bob", p, val=0.5, test=0.4, seed=1, variant=DV, created="2026-01-05T00:00:00.000Z", classes=cls)
p = base_params(ANSI, FORMULA, seed=1, lr=0.5, extra={"train.note": "ok"})
add_run(db, ANSI, FORMULA, p, val=0.45, test=0.44, seed=1, created="2026-01-06T00:00:00.000Z", classes=cls)
db.close()


def report(fmt, *extra):
    rc, out, err = emolab("report", "--registry", reg, "--format", fmt, *extra)
    check(rc == 0, f"{fmt}: exit {rc}: {err}")
    return out


# ---- Markdown ---------------------------------------------------------------------------------
md = report("md")
rows = md_table(md)
widths = {len(r) for r in rows}
check(len(widths) == 1, f"md: every table line has the same number of cells: {widths}")
check("<script>" not in md and "<img" not in md and "<i>" not in md and "<u>" not in md and "<b>" not in md,
      "md: no raw tag from the registry")
check("&lt;script&gt;alert(1)&lt;/script&gt;\\|x" in md, "md: the name escaped (entities and \\|)")
names = [r[1] for r in rows[2:]]
check(any("&lt;script&gt;" in n for n in names), f"md: the name sits in the variant column: {names}")
check("\x1b" not in md, "md: no escape character")

# ---- HTML -------------------------------------------------------------------------------------


class Collect(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.text, self.attrs = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]

    def handle_data(self, data):
        self.text.append(data)


html = report("html")
c = Collect()
c.feed(html)
text = "".join(c.text)
check(c.tags.count("script") == 1, f"html: exactly one script element (emolab's own): {c.tags.count('script')}")
check(html.rstrip().endswith("</script>\n</body>\n</html>") or html.rstrip().endswith("</html>"), "html: complete")
for bad in ("img", "i", "u", "b"):
    check(bad not in c.tags, f"html: no <{bad}> element from the registry")
check(not any(k.startswith("on") for _, k, _ in c.attrs), "html: no event-handler attribute")
check(NAME in text, "html: the name is shown as text")
check(OWNER in text, "html: the owner is shown as text")
check(ACT in text, "html: the config value (in the model description) is shown as text")
check(LABEL in text, "html: the label name is shown as text (heatmap)")
check(DV in text, "html: the data-variant name is shown as text")
check("\x1b" not in html, "html: no control character")
# an SVG <title> tooltip holds the name as text too
check(html.count("&lt;script&gt;alert(1)&lt;/script&gt;|x") >= 3, "html: the name escaped in table, charts, tooltips")

# ---- CSV --------------------------------------------------------------------------------------
out = report("csv")
recs = list(csv.DictReader(io.StringIO(out)))
byowner = {r["owner"]: r for r in recs}
check(OWNER in byowner and byowner[OWNER]["variant"] == NAME, f"csv: the name and owner round-trip: {list(byowner)}")
check(byowner.get("bob", {}).get("differs", "").find("=1+1|<script>") >= 0, "csv: differs kept as text")
check(all(len(r) == len(recs[0]) for r in recs), "csv: every record has every column")
check(any(h.startswith(DV) for h in recs[0].keys()), f"csv: the data-variant name in the header: {list(recs[0])}")
# a text field starting with '=' is defused for spreadsheets (a leading ')
check("'" + FORMULA in byowner, f"csv: formula defused: {list(byowner)}")

# ---- JSON -------------------------------------------------------------------------------------
j = json.loads(report("json"))
check(any(r["variant"] == NAME and r["owners"] == OWNER for r in j["rows"]), "json: the name and owner round-trip")
check(LABEL in j["labels"] and DV in j["data_variants"], f"json: labels and data variants: {j['labels']} {j['data_variants']}")

# ---- terminal: ls, show, compare --------------------------------------------------------------
rc, out, err = emolab("ls", "--registry", reg)
check(rc == 0 and "\x1b" not in out, f"ls: no ANSI escape reaches the terminal (exit {rc}: {err})")
check("ansi?[31mred" in out, "ls: control characters shown as ?")
rc, out, err = emolab("show", ANSI, "--registry", reg)
check(rc == 0 and "\x1b" not in out and "ansi?[31mred" in out, f"show: control characters as ? (exit {rc}: {err})")
rc, out, err = emolab("compare", ANSI, "plain", "--registry", reg)
check(rc == 0 and "\x1b" not in out, f"compare: no escape character (exit {rc}: {err})")
rc, out, err = emolab("show", NAME, "--registry", reg)
check(rc == 0 and NAME in out, "show finds a run by a name full of markup and prints it as is (a terminal is not HTML)")

done("test_report_escape")
