#!/usr/bin/env python3
"""Golden values of `emolab report`: a registry with known numbers (written by regfix.py with
sqlite3, not by emolab), the expected cells computed here with Python's statistics module, then
checked in every format: mean ± std (n) per variant x data variant x split, best-per-column
marks, sorting, filters (--where on params and run fields, !=, wildcards, numbers by value,
--sweep, --since, --status), --metric (macro, f1:LABEL), --group-by, --top."""
import csv
import io
import json
import os
import statistics as st
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from regfix import (LABELS, add_run, base_params, check, done, emolab, fmt, md_table, new_registry,  # noqa: E402
                    tmpdir)

d = tmpdir("golden")
reg = os.path.join(d, "g.db")
db = new_registry(reg)

# ---- the fixture ----------------------------------------------------------------------------
# variant A: bow h768 d0.85 gelu, lr 0.002 (marina); 3 seeds on orig, 2 on ext
A = {"orig": [(0.61, 0.60), (0.63, 0.58), (0.62, 0.59)], "ext": [(0.68, 0.64), (0.66, 0.62)]}
# variant B: bow h512 d0.5 relu (ivan); one run per data variant
B = {"orig": [(0.65, 0.57)], "ext": [(0.64, 0.645)]}
# variant C: linear head d0.1 (olga), orig only, part of sweep sw1
C = {"orig": [(0.55, 0.53), (0.57, 0.50)]}
# variant D: as A but lr 0.001 (marina): a different variant that differs only in train.lr
D = {"orig": [(0.60, 0.61)]}
# an ensemble (marina), orig
E = {"orig": [(0.70, 0.56)]}

day = [0]


def created():
    day[0] += 1
    return f"2026-01-{day[0]:02d}T10:00:00.000Z"


def classes_for(v):
    # per-class F1 = weighted F1 + label index / 100 (val) and - index / 100 (test)
    return {"val": {lab: (0.5, 0.5, v[0] + i / 100, 10 + i) for i, lab in enumerate(LABELS)},
            "test": {lab: (0.5, 0.5, v[1] - i / 100, 10 + i) for i, lab in enumerate(LABELS)}}


def add_variant(spec, name, owner, pkw, kind="single", sweep=None, when=None):
    for dv, vals in spec.items():
        for seed, v in enumerate(vals, 1):
            p = base_params(name, owner, seed=seed, variant=dv, **pkw)
            add_run(db, name, owner, p, val=v[0], test=v[1], variant=dv, seed=seed, kind=kind, sweep=sweep,
                    created=when or created(),
                    metrics={"val": {"macro_f1": v[0] - 0.1}, "test": {"macro_f1": v[1] - 0.2}},
                    classes=classes_for(v))


add_variant(A, "bow-h768-d085", "marina", {})
add_variant(B, "bow-h512-d05", "ivan", {"layers": (512,), "dropout": 0.5, "activation": "relu"})
add_variant(C, "bow-linear", "olga", {"layers": (), "dropout": 0.1}, sweep="sw1")
add_variant(D, "bow-h768-d085-lr1e3", "marina", {"lr": 0.001})
add_variant(E, "ens-3", "marina", {}, kind="ensemble", when="2026-03-01T10:00:00.000Z")
# not finished: a failed run of B on orig (val 0.99) and a running one of C
add_run(db, "bow-h512-d05", "ivan", base_params("bow-h512-d05", "ivan", layers=(512,), dropout=0.5, activation="relu",
                                                 seed=9), val=0.99, test=0.11, status="failed", seed=9,
        created=created(), error="NaN loss")
add_run(db, "bow-linear", "olga", base_params("bow-linear", "olga", layers=(), dropout=0.1, seed=5), status="running",
        seed=5, created=created())
db.close()


def cell(vals, split, digits=3):
    """The expected Markdown cell of a list of (val, test) pairs."""
    xs = [v[0 if split == "val" else 1] for v in vals]
    if len(xs) == 1:
        return fmt(xs[0], digits)
    return f"{fmt(st.mean(xs), digits)} ± {fmt(st.stdev(xs), digits)} ({len(xs)})"


def report(*args):
    rc, out, err = emolab("report", "--registry", reg, *args)
    check(rc == 0, f"report {args}: exit {rc}: {err}")
    return out


def table(*args):
    rows = md_table(report(*args))
    check(len(rows) >= 2, f"report {args}: no table")
    head = rows[0]
    widths = {len(r) for r in rows}
    check(len(widths) == 1, f"report {args}: rows with different column counts: {widths}")
    return head, [dict(zip(head, r)) for r in rows[2:]]


def unbold(s):
    return s[2:-2] if s.startswith("**") and s.endswith("**") else s


# ---- the default table ---------------------------------------------------------------------------
head, rows = table()
check(head[:4] == ["#", "variant", "model", "owner"], f"header starts with #, variant, model, owner: {head}")
check(head[4:8] == ["orig val", "orig test", "ext val", "ext test"], f"orig then ext columns, val/test: {head}")
names = [r["variant"] for r in rows]
# sorted by the row's best val: E 0.70, A max(0.62, 0.67), B 0.65, D 0.60, C 0.56
check(names == ["ens-3", "bow-h768-d085", "bow-h512-d05", "bow-h768-d085-lr1e3", "bow-linear"],
      f"default order by best val: {names}")
byname = {r["variant"]: r for r in rows}
expect = {"bow-h768-d085": A, "bow-h512-d05": B, "bow-linear": C, "bow-h768-d085-lr1e3": D, "ens-3": E}
for name, spec in expect.items():
    r = byname.get(name, {})
    for dv in ("orig", "ext"):
        for split in ("val", "test"):
            want = cell(spec[dv], split) if dv in spec else ""
            got = unbold(r.get(f"{dv} {split}", "?"))
            check(got == want, f"{name} {dv} {split}: {got!r} != {want!r}")
check(byname["bow-h768-d085"]["owner"] == "marina" and byname["bow-h512-d05"]["owner"] == "ivan", "owners")
check(byname["bow-h768-d085"]["runs"] == "5" and byname["bow-linear"]["runs"] == "2", "run counts (finished only)")
check(byname["bow-h768-d085"]["model"] == "bow · h768 d0.85 gelu", f"model: {byname['bow-h768-d085']['model']}")
check(byname["bow-linear"]["model"] == "bow · linear d0.1", f"model of the linear head: {byname['bow-linear']['model']}")
check(byname["ens-3"]["model"].startswith("ensemble"), f"ensemble model: {byname['ens-3']['model']}")
check("train.lr=0.001" in byname["bow-h768-d085-lr1e3"]["differs"] and
      "train.lr=0.002" in byname["bow-h768-d085"]["differs"], "differs names train.lr")
check("train.seed" not in byname["bow-h768-d085"]["differs"], "the seed is not part of a variant")

# best per column: orig val E 0.70, orig test D 0.61, ext val A mean 0.67, ext test B 0.645
best = {(n, c) for n, r in byname.items() for c, v in r.items() if v.startswith("**")}
check(best == {("ens-3", "orig val"), ("bow-h768-d085-lr1e3", "orig test"), ("bow-h768-d085", "ext val"),
               ("bow-h512-d05", "ext test")}, f"best marks: {sorted(best)}")

# ---- sorting -------------------------------------------------------------------------------------
_, rows = table("--sort", "ext.test")
check([r["variant"] for r in rows][:2] == ["bow-h512-d05", "bow-h768-d085"], "ext.test: B (0.645) then A (0.630)")
check([r["variant"] for r in rows][2:] == ["ens-3", "bow-h768-d085-lr1e3", "bow-linear"],
      f"rows without ext come last, by best val: {[r['variant'] for r in rows]}")
_, rows = table("--sort", "orig.test")
check([r["variant"] for r in rows] == ["bow-h768-d085-lr1e3", "bow-h768-d085", "bow-h512-d05", "ens-3", "bow-linear"],
      f"orig.test order: {[r['variant'] for r in rows]}")
_, rows = table("--sort", "name")
check([r["variant"] for r in rows] == sorted(expect), "by name")
_, rows = table("--sort", "runs")
check(rows[0]["variant"] == "bow-h768-d085", "most runs first")
_, rows = table("--top", "2")
check(len(rows) == 2, "--top 2 keeps two rows")

# ---- filters -------------------------------------------------------------------------------------
def variants(*args):
    return sorted(r["variant"] for r in table(*args)[1])


check(variants("--where", "owner=marina") == ["bow-h768-d085", "bow-h768-d085-lr1e3", "ens-3"], "owner=marina")
check(variants("--where", "owner!=marina") == ["bow-h512-d05", "bow-linear"], "owner!=marina")
check(variants("--where", "head.dropout=0.850") == ["bow-h768-d085", "bow-h768-d085-lr1e3", "ens-3"],
      "numbers compare by value (0.850 = 0.85)")
check(variants("--where", "head.layers=[768]") == ["bow-h768-d085", "bow-h768-d085-lr1e3", "ens-3"], "lists")
check(variants("--where", "head.activation=relu") == ["bow-h512-d05"], "strings without quotes")
check(variants("--where", "name=bow-h768*") == ["bow-h768-d085", "bow-h768-d085-lr1e3"], "wildcards")
check(variants("--where", "kind=ensemble") == ["ens-3"], "kind")
check(variants("--where", "owner=marina", "--where", "train.lr=0.001") == ["bow-h768-d085-lr1e3"], "filters combine")
check(variants("--sweep", "sw1") == ["bow-linear"], "--sweep")
check(variants("--since", "2026-02-01") == ["ens-3"], "--since a date")
_, rows = table("--where", "data.variant=ext")
check(sorted(r["variant"] for r in rows) == ["bow-h512-d05", "bow-h768-d085"], "data.variant=ext")
check("orig val" not in rows[0], "no orig column when no orig run matches")

# unfinished runs: --status any brings the failed B run (0.99) and the running C run (no score)
head, rows = table("--status", "any")
byname = {r["variant"]: r for r in rows}
check(unbold(byname["bow-h512-d05"]["orig val"]) == cell([(0.65, 0.57), (0.99, 0.11)], "val"),
      f"failed run aggregated with --status any: {byname['bow-h512-d05']['orig val']}")
check(byname["bow-linear"]["runs"] == "3" and unbold(byname["bow-linear"]["orig val"]) == cell(C["orig"], "val"),
      "a running run without scores counts as a run but not in the mean")
_, rows = table("--status", "failed")
check([r["variant"] for r in rows] == ["bow-h512-d05"], "--status failed")

# ---- metrics -------------------------------------------------------------------------------------
_, rows = table("--metric", "macro_f1")
byname = {r["variant"]: r for r in rows}
want = cell([(v - 0.1, t - 0.2) for v, t in A["orig"]], "val")
check(unbold(byname["bow-h768-d085"]["orig val"]) == want, f"macro_f1: {byname['bow-h768-d085']['orig val']} != {want}")
_, rows = table("--metric", "f1:joy")  # joy is label 3: val + 0.03, test - 0.03
byname = {r["variant"]: r for r in rows}
want_v = cell([(v + 0.03, t - 0.03) for v, t in A["ext"]], "val")
want_t = cell([(v + 0.03, t - 0.03) for v, t in A["ext"]], "test")
check(unbold(byname["bow-h768-d085"]["ext val"]) == want_v and unbold(byname["bow-h768-d085"]["ext test"]) == want_t,
      f"f1:joy: {byname['bow-h768-d085']['ext val']} / {byname['bow-h768-d085']['ext test']}")
out = report("--metric", "f1:joy")
check("F1 of joy" in out, "the metric is named in the header")

# ---- group by ------------------------------------------------------------------------------------
head, rows = table("--group-by", "head.dropout", "--sort", "key")
check(head[1] == "group", f"group column: {head}")
groups = [r["group"] for r in rows]
check(groups == ["head.dropout = 0.1", "head.dropout = 0.5", "head.dropout = 0.85"], f"groups sorted by value: {groups}")
g = {r["group"]: r for r in rows}
pool = A["orig"] + D["orig"] + E["orig"]  # everything with dropout 0.85 on orig
check(unbold(g["head.dropout = 0.85"]["orig val"]) == cell(pool, "val"),
      f"group mean over variants: {g['head.dropout = 0.85']['orig val']} != {cell(pool, 'val')}")
check(g["head.dropout = 0.85"]["owner"] == "marina", "group owners")
_, rows = table("--group-by", "owner")
check(sorted(r["group"] for r in rows) == ["owner = ivan", "owner = marina", "owner = olga"], "group by a run field")

# ---- CSV -----------------------------------------------------------------------------------------
rc, out, err = emolab("report", "--registry", reg, "--format", "csv")
check(rc == 0, f"csv: {err}")
recs = list(csv.DictReader(io.StringIO(out)))
check(len(recs) == 5, f"csv rows: {len(recs)}")
byname = {r["variant"]: r for r in recs}
a = byname["bow-h768-d085"]
xs = [v for v, _ in A["orig"]]
check(abs(float(a["orig_val_mean"]) - st.mean(xs)) < 1e-9 and abs(float(a["orig_val_std"]) - st.stdev(xs)) < 1e-9
      and a["orig_val_n"] == "3", f"csv A orig val: {a['orig_val_mean']} {a['orig_val_std']} {a['orig_val_n']}")
check(byname["bow-h512-d05"]["orig_val_std"] == "" and byname["bow-h512-d05"]["orig_val_n"] == "1",
      "csv: no std for a single run")
check(byname["bow-linear"]["ext_val_mean"] == "" and byname["bow-linear"]["ext_val_n"] == "0", "csv: empty cell")
check(a["best"] == "ext_val" and byname["bow-h512-d05"]["best"] == "ext_test", f"csv best: {a['best']}")
check(a["rank"] == "2" and a["owner"] == "marina", "csv rank and owner")

# ---- JSON ----------------------------------------------------------------------------------------
rc, out, err = emolab("report", "--registry", reg, "--format", "json")
check(rc == 0, f"json: {err}")
j = json.loads(out)
check(j["metric"] == "weighted_f1" and j["data_variants"] == ["orig", "ext"] and j["labels"] == LABELS,
      f"json header: {j['metric']} {j['data_variants']} {j['labels']}")
byname = {r["variant"]: r for r in j["rows"]}
c = byname["bow-h768-d085"]["cells"]["ext"]
xs = [t for _, t in A["ext"]]
check(abs(c["test"]["mean"] - st.mean(xs)) < 1e-12 and abs(c["test"]["std"] - st.stdev(xs)) < 1e-12
      and c["test"]["n"] == 2 and c["test"]["best"] is False and c["val"]["best"] is True, f"json A ext: {c}")
check(len(c["runs"]) == 2, "json lists the runs of a cell")
# per-class mean F1 of A on ext test for 'fear' (index 2): mean(test) - 0.02
check(abs(c["class_f1"]["test"]["fear"] - (st.mean(xs) - 0.02)) < 1e-12, f"json class F1: {c['class_f1']['test']}")
check(byname["bow-h512-d05"]["cells"]["orig"]["val"]["std"] is None, "json: std null for one run")
check(len(j["curves"]) == 0 or all("epochs" in cv for cv in j["curves"]), "json curves")

done("test_report_golden")
