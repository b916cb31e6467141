"""regfix: small emolab registries with known numbers, written with Python's sqlite3 straight from
registry.db.sql (independent of emolab's C code), plus helpers to run the emolab binary.

A run is inserted as 'running', its rows are added, then its status is set: the schema's
triggers freeze a finished run, as they do for emolab itself.
"""
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import uuid as uuidlib

SRC = os.environ.get("EMOLAB_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("EMOLAB_BIN", os.path.join(SRC, "build", "emolab"))
LABELS = ["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]

_failures = []


def check(cond, what):
    """Records a failed check (and prints it); the test exits 1 at the end if any failed."""
    if not cond:
        _failures.append(what)
        print("CHECK FAILED:", what, flush=True)
    return cond


_tmpdirs = []


def done(name):
    if os.environ.get("EMOLAB_KEEP_TMP") != "1":
        for t in _tmpdirs:
            shutil.rmtree(t, ignore_errors=True)
    if _failures:
        print(f"{name}: {len(_failures)} check(s) failed")
        raise SystemExit(1)
    print(f"{name}: all checks passed")


def tmpdir(name):
    t = tempfile.mkdtemp(prefix=f"emolab-{name}-", dir=os.environ.get("TMPDIR", "/tmp"))
    _tmpdirs.append(t)
    return t


def new_registry(path, wal=False):
    db = sqlite3.connect(path)
    with open(os.path.join(SRC, "registry.db.sql"), encoding="utf-8") as f:
        db.executescript(f.read())
    if wal:
        db.execute("PRAGMA journal_mode = WAL")
    db.commit()
    return db


def jtext(v):
    """A param value as emolab stores it: canonical JSON text."""
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def base_params(name, owner, layers=(768,), dropout=0.85, activation="gelu", seed=1, variant="orig",
                lr=0.002, extra=None):
    p = {
        "name": name, "owner": owner, "notes": "",
        "backbone.type": "bow", "backbone.dim": 128,
        "head.layers": list(layers), "head.dropout": dropout, "head.activation": activation,
        "head.norm": "none", "head.heads": 1, "head.meta": "linear", "head.residual": False,
        "train.lr": lr, "train.seed": seed, "train.epochs": 8, "train.threads": 0, "train.device": "cpu",
        "data.variant": variant, "data.labels": "ekman7",
        "data.val.path": "val.csv", "data.test.path": "test.csv",
        "data.train": [{"path": "train.csv"}] + ([{"path": "izard.csv"}] if variant == "ext" else []),
    }
    p.update(extra or {})
    return p


def add_run(db, name, owner="", params=None, val=None, test=None, status="finished", kind="single",
            created="2026-01-01T00:00:00.000Z", variant="orig", seed=None, sweep=None, uuid=None,
            metrics=None, classes=None, thresholds=None, epochs=None, curve=None, error=None):
    """val/test: weighted F1 (or None). metrics: {'val': {name: value}, 'test': {...}} extra metrics.
    classes: {'val': {label: (precision, recall, f1, support)}, 'test': ...}.
    epochs: [(train_loss, val_loss, val_weighted_f1)]. curve: [(threshold, val_weighted_f1)]."""
    u = uuid or str(uuidlib.uuid4())
    params = params if params is not None else base_params(name, owner, seed=seed or 1, variant=variant)
    cfg = {}
    for k, v in params.items():  # a nested config from the flat keys (enough for these tests)
        node = cfg
        parts = k.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {}) if isinstance(node.get(p, {}), dict) else node
        node[parts[-1]] = v
    cfg_json = json.dumps(cfg, sort_keys=True, separators=(",", ":"))
    h = hashlib.sha256(cfg_json.encode()).hexdigest()
    db.execute(
        "INSERT INTO runs (uuid, name, owner, kind, status, created, started, config_json, config_hash, host, pid,"
        " seed, data_variant, sweep_id, run_dir, best_epoch, epochs_run, train_seconds, error)"
        " VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, 'testhost', 1, ?, ?, ?, ?, ?, ?, ?, ?)",
        (u, name, owner, kind, created, created, cfg_json, h, seed, variant, sweep, f"experiments/{u}",
         len(epochs or []) or None, len(epochs or []), 12.5, error))
    for k, v in params.items():
        db.execute("INSERT INTO params (run, key, value) VALUES (?, ?, ?)", (u, k, jtext(v)))
    ms = {"val": {}, "test": {}}
    if val is not None:
        ms["val"]["weighted_f1"] = val
    if test is not None:
        ms["test"]["weighted_f1"] = test
    for split, d in (metrics or {}).items():
        ms[split].update(d)
    for split, d in ms.items():
        for k, v in d.items():
            db.execute("INSERT INTO metrics (run, split, name, value) VALUES (?, ?, ?, ?)", (u, split, k, v))
    for split, d in (classes or {}).items():
        for i, (label, (p, r, f1, sup)) in enumerate(d.items()):
            db.execute("INSERT INTO class_metrics (run, split, label, label_idx, precision, recall, f1, support,"
                       " tp, fp, fn) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)",
                       (u, split, label, i, p, r, f1, sup))
    for i, (label, v) in enumerate((thresholds or {}).items()):
        db.execute("INSERT INTO thresholds (run, label, label_idx, value) VALUES (?, ?, ?, ?)", (u, label, i, v))
    for e, (tl, vl, vf) in enumerate(epochs or []):
        db.execute("INSERT INTO epochs (run, epoch, train_loss, val_loss, val_weighted_f1, val_macro_f1,"
                   " val_micro_f1, lr, seconds, samples_per_s) VALUES (?, ?, ?, ?, ?, NULL, NULL, 0.001, 5.0, 1000)",
                   (u, e + 1, tl, vl, vf))
    for t, f in curve or []:
        db.execute("INSERT INTO threshold_curve (run, threshold, val_weighted_f1) VALUES (?, ?, ?)", (u, t, f))
    if status != "running":
        db.execute("UPDATE runs SET status = ?, finished = ? WHERE uuid = ?", (status, created, u))
    db.commit()
    return u


def emolab(*args, env=None):
    """Runs the emolab binary; returns (exit code, stdout, stderr)."""
    e = dict(os.environ)
    e.pop("EMOLAB_REGISTRY", None)
    e.update(env or {})
    p = subprocess.run([BIN, *args], capture_output=True, text=True, env=e, timeout=120)
    return p.returncode, p.stdout, p.stderr


def md_table(text):
    """The rows of the first Markdown table in text, split on unescaped pipes (cells stripped)."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = re.split(r"(?<!\\)\|", line)
        rows.append([c.strip() for c in cells[1:-1]])
    return rows


def fmt(v, digits=3):
    return f"{v:.{digits}f}"


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def demo_registry(path, hostile=True, seed=7):
    """A registry that looks like the team's study: several backbones and heads, orig and ext
    data, 1-3 seeds each, learning curves, per-class scores, threshold curves (deterministic)."""
    import math
    import random
    rnd = random.Random(seed)
    db = new_registry(path)
    study = [  # (name, owner, backbone, layers, dropout, activation, base val F1)
        ("rosberta-h768-d085", "marina", "ai-forever/ru-en-RoSBERTa", (768,), 0.85, "gelu", 0.672),
        ("rubert-base-h800", "ivan", "ai-forever/ruBert-base", (800,), 0.5, "silu", 0.655),
        ("labse-h768-ln", "olga", "cointegrated/LaBSE-en-ru", (768,), 0.3, "gelu", 0.641),
        ("e5-large-instr", "marina", "intfloat/multilingual-e5-large-instruct", (1024,), 0.85, "gelu", 0.664),
        ("rubert-tiny2-linear", "ivan", "cointegrated/rubert-tiny2", (), 0.1, "relu", 0.598),
        ("bow-h768-d085", "olga", None, (768,), 0.85, "gelu", 0.561),
        ("user-bge-m3-2heads", "marina", "deepvk/USER-bge-m3", (512,), 0.5, "leaky_relu", 0.659),
    ]
    day = 0
    for name, owner, bb, layers, dropout, act, base in study:
        for dv, bonus in (("orig", 0.0), ("ext", 0.012)):
            for s in range(1, rnd.choice((2, 3, 3)) + 1):
                day += 1
                val = base + bonus + rnd.gauss(0, 0.006)
                test = val - 0.045 + rnd.gauss(0, 0.008)
                extra = {"backbone.type": "hf" if bb else "bow"}
                if bb:
                    extra["backbone.name"] = bb
                if name.endswith("2heads"):
                    extra["head.heads"] = 2
                p = base_params(name, owner, layers=layers, dropout=dropout, activation=act, seed=s, variant=dv,
                                extra=extra)
                n_ep = 8
                epochs = []
                k = (0.7 - base) * 3  # weaker models: higher loss
                for e in range(1, n_ep + 1):
                    tl = (0.40 + k) * math.exp(-e / 3.5) + 0.08 + k / 3 + rnd.uniform(0, 0.004)
                    vl = (0.38 + k) * math.exp(-e / 4.0) + 0.12 + k / 3 + max(0, e - 5) * 0.006
                    vf = val - 0.16 * math.exp(-e / 2.2) - max(0, e - 6) * 0.003
                    epochs.append((tl, vl, vf))
                curve = [(t / 100, val - 0.06 - 1.1 * (t / 100 - 0.32) ** 2) for t in range(5, 100, 5)]
                per = {}
                for i, lab in enumerate(LABELS):
                    f = {"anger": 0.55, "disgust": 0.33, "fear": 0.61, "joy": 0.74, "sadness": 0.63,
                         "surprise": 0.55, "neutral": 0.69}[lab] + (val - 0.62) + rnd.gauss(0, 0.01)
                    per[lab] = (f, f, f, 100 + 10 * i)
                pert = {lab: (f - 0.04, f - 0.04, f - 0.04, s2) for lab, (f, _, _, s2) in per.items()}
                add_run(db, name, owner, p, val=val, test=test, variant=dv, seed=s,
                        created=f"2026-{1 + day // 28:02d}-{1 + day % 28:02d}T10:00:00.000Z",
                        classes={"val": per, "test": pert}, epochs=epochs, curve=curve,
                        thresholds={lab: 0.3 for lab in LABELS},
                        metrics={"val": {"macro_f1": val - 0.08}, "test": {"macro_f1": test - 0.08}})
    if hostile:
        p = base_params("<script>alert(1)</script>|x", "<b>mallory</b>", seed=1)
        add_run(db, "<script>alert(1)</script>|x", "<b>mallory</b>", p, val=0.50, test=0.47, seed=1,
                created="2026-06-01T10:00:00.000Z",
                classes={"val": {lab: (0.5, 0.5, 0.5, 10) for lab in LABELS},
                         "test": {lab: (0.45, 0.45, 0.45, 10) for lab in LABELS}})
    db.close()
