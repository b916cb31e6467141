#!/usr/bin/env python3
"""The HTML report in real headless Chromium (Debian's chromium, through chromium_check.py):
- the checker itself first, on pages with known faults (a console.error, an uncaught exception,
  an alert() dialog, a request to another origin): each must be caught, so this test can fail;
- then emolab's report of a study-like registry (with a run named <script>alert(1)</script>|x):
  no console error, no exception, no dialog, no request besides the file itself, exactly one
  script element (emolab's), the five charts as inline SVG, the name shown as text, the table
  re-sorts on a header click; and the empty-registry report renders cleanly too.
The screenshots go to $EMOLAB_BUILD_DIR/report/ (report_screenshot.png, report_empty.png)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chromium_check  # noqa: E402
from regfix import check, demo_registry, done, emolab, new_registry, tmpdir  # noqa: E402

if not chromium_check.chromium_path():
    print("chromium is not installed: apt-get install chromium (scripts/setup.sh --test installs it)")
    raise SystemExit(1)

d = tmpdir("chromium")
out_dir = os.path.join(os.environ.get("EMOLAB_BUILD_DIR", d), "report")
os.makedirs(out_dir, exist_ok=True)

# ---- the checker catches what it must ------------------------------------------------------------
FAULTS = {
    "console_error": ("<p>x</p><script>console.error('boom')</script>", "errors", "boom"),
    "exception": ("<p>x</p><script>undefinedFunction()</script>", "errors", "undefinedFunction"),
    "dialog": ("<p>x</p><script>alert('hi')</script>", "dialogs", "hi"),
    "request": ("<p>x</p><img src='http://127.0.0.1:9/pixel.png'>", "requests", "127.0.0.1:9"),
}
for name, (body, key, needle) in FAULTS.items():
    page = os.path.join(d, f"fault_{name}.html")
    with open(page, "w") as f:
        f.write(f"<!DOCTYPE html><html><head><meta charset='utf-8'><link rel='icon' href='data:,'><title>t</title>"
                f"</head><body>{body}</body></html>")
    r = chromium_check.check_page(page, os.path.join(d, f"fault_{name}.png"), click=False)
    check(any(needle in x for x in r[key]), f"the checker catches a {name}: {r[key]}")
clean = os.path.join(d, "clean.html")
with open(clean, "w") as f:
    f.write("<!DOCTYPE html><html><head><meta charset='utf-8'><link rel='icon' href='data:,'><title>t</title>"
            "</head><body><p>fine</p></body></html>")
r = chromium_check.check_page(clean, os.path.join(d, "clean.png"), click=False)
check(not r["errors"] and not r["dialogs"] and not r["requests"], f"a clean page is clean: {r}")

# ---- emolab's report ----------------------------------------------------------------------------
reg = os.path.join(d, "study.db")
demo_registry(reg)
html = os.path.join(d, "leaderboard.html")
rc, out, err = emolab("report", "--registry", reg, "-o", html)
check(rc == 0, f"report -o {html}: exit {rc}: {err}")
shot = os.path.join(out_dir, "report_screenshot.png")
r = chromium_check.check_page(html, shot, top_shot=os.path.join(out_dir, "report_top.png"))
p = r["probe"]
check(not r["errors"], f"no console error or exception: {r['errors']}")
check(not r["dialogs"], f"no dialog (the hostile run name must not run): {r['dialogs']}")
check(not r["requests"], f"no request besides the file itself (self-contained): {r['requests']}")
check(not [u for u in p["resources"] if not u.startswith("data:")], f"no resource loaded: {p['resources']}")
check(p["scripts"] == 1, f"exactly one script element (emolab's table sorter): {p['scripts']}")
check(p["svgs"] >= 5, f"five inline SVG charts: {p['svgs']}")
check(p["rows"] == 7, f"seven variants in the table: {p['rows']}")
check("<script>alert(1)</script>|x" in p["text"], "the hostile name is shown as text")
check("rosberta-h768-d085" in p["text"] and "ru-en-RoSBERTa · h768 d0.85 gelu" in p["text"], "names and models")
check(p["width"] <= 1280, f"no horizontal overflow at 1280 px: {p['width']}")
check(r["click"] and r["click"].get("ok"), f"a header click sorts the table both ways: {r['click']}")
check(r["png_size"][0] == 1280 and r["png_size"][1] >= 1500 and r["png_bytes"] > 50_000,
      f"a full-page screenshot: {r['png_size']} {r['png_bytes']} bytes")

# the empty registry renders too
empty = os.path.join(d, "empty.db")
new_registry(empty).close()
html2 = os.path.join(d, "empty.html")
rc, out, err = emolab("report", "--registry", empty, "-o", html2)
check(rc == 0, f"empty report: exit {rc}: {err}")
r = chromium_check.check_page(html2, os.path.join(out_dir, "report_empty.png"), click=False)
check(not r["errors"] and not r["dialogs"] and not r["requests"], f"the empty report is clean: {r}")
check("no runs yet" in r["probe"]["text"], "the empty report shows the hint")

print(f"screenshots: {shot}, {os.path.join(out_dir, 'report_top.png')}, {os.path.join(out_dir, 'report_empty.png')}")
done("test_report_chromium")
