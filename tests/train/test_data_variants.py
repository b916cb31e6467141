"""The "orig" and "ext" data variants (issue 9) for every backbone, through the command line on
small slices of the real data, and the leaderboard that puts them side by side.

For each backbone type (tiny models, one epoch): one run on the benchmark train split (orig) and
one with ru-izard-emotions added (ext, `enthusiasm: drop`). Checks, against the registry (read
with Python's sqlite3) and `emolab report --format json`:
  - every run finishes; the data variant recorded is orig with one train source, ext with two;
  - an ext run records both train files, the izard rows it read and kept (izard rows labelled only
    `enthusiasm` are dropped by the declared rule, so kept < read), and more train rows than orig;
  - val and test are the same files (same fingerprints) in both variants;
  - the report has one row per backbone with an orig and an ext cell side by side.
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

BIN = os.environ["EMOLAB_BIN"]
DATA = os.environ["EMOLAB_DATA"]
GO = "ru_go_emotions_djacon/derived/train_aligned_to_goemotions.csv"
IZARD = "ru_izard_emotions/train.csv"
VAL = "ru_go_emotions/older_version_c0703d7/ru-go-emotions-simplified-validation.csv"
TEST = "ru_go_emotions/older_version_c0703d7/ru-go-emotions-simplified-test.csv"
BACKBONES = {
    "bow": "{type: bow, dim: 8, buckets: 4096}",
    "tfidf": "{type: tfidf, dim: 8, word_max_features: 2000, char_max_features: 2000}",
    "cnn": "{type: cnn, dim: 8, buckets: 4096, filters: 8, kernels: [2, 3], max_len: 24}",
    "rnn": "{type: rnn, dim: 8, buckets: 4096, hidden: 8, max_len: 24}",
    "transformer": "{type: transformer, buckets: 4096, hidden: 16, heads: 2, intermediate: 32, "
                   "layers: 1, max_len: 24}",
}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def spec(name, backbone, ext):
    izard = f"\n    - {{path: {IZARD}, format: izard, enthusiasm: drop, limit: 300}}" if ext else ""
    return f"""name: {name}
owner: tests
data:
  train:
    - {{path: {GO}, format: goemotions, text: ru_text, limit: 400}}{izard}
  val: {{path: {VAL}, format: goemotions, text: ru_text, limit: 200}}
  test: {{path: {TEST}, format: goemotions, text: ru_text, limit: 200}}
backbone: {backbone}
head: {{layers: [16], dropout: 0.1, activation: gelu}}
train: {{epochs: 1, batch_size: 32, lr: 0.003, seed: 3, threads: 1}}
"""


def main():
    d = tempfile.mkdtemp(prefix="emolab-variants-")
    reg = os.path.join(d, "registry.db")
    env = dict(os.environ, EMOLAB_DATA=DATA, EMOLAB_PROGRESS="0")
    for bb, text in BACKBONES.items():
        for variant in ("orig", "ext"):
            p = os.path.join(d, f"{bb}-{variant}.yaml")
            with open(p, "w", encoding="utf-8") as f:
                f.write(spec(f"v-{bb}", text, variant == "ext"))
            r = subprocess.run([BIN, "run", p, "--registry", reg, "--experiments",
                                os.path.join(d, "exp"), "--no-checkpoint"],
                               capture_output=True, text=True, env=env, timeout=600)
            check(r.returncode == 0, f"{bb} {variant}: exit 0 ({r.stderr.strip()[-400:]})")

    db = sqlite3.connect(f"file:{reg}?mode=ro", uri=True)
    for bb in BACKBONES:
        rows = db.execute(
            "select r.uuid, r.data_variant, d.rows from runs r join params p on p.run = r.uuid "
            "and p.key = 'backbone.type' join data d on d.run = r.uuid and d.split = 'train' "
            "where r.status = 'finished' and p.value = ?", (json.dumps(bb),)).fetchall()
        by = {v: (u, n) for u, v, n in rows}
        check(sorted(by) == ["ext", "orig"], f"{bb}: one finished orig and one ext run ({rows})")
        if sorted(by) != ["ext", "orig"]:
            continue
        (uo, no), (ue, ne) = by["orig"], by["ext"]
        check(ne > no, f"{bb}: ext trains on more rows than orig ({ne} vs {no})")
        src = db.execute("select path, rows_read, rows_kept from data_sources where run = ? and "
                         "split = 'train' order by idx", (ue,)).fetchall()
        check([s[0].endswith(x) for s, x in zip(src, (GO, IZARD))] == [True, True] and len(src) == 2,
              f"{bb}: ext records both train files ({src})")
        if len(src) == 2:
            check(src[1][1] == 300 and 0 < src[1][2] < 300,
                  f"{bb}: izard rows read 300, some dropped by the enthusiasm rule ({src[1]})")
        fo = db.execute("select split, fingerprint from data where run = ? and split != 'train' "
                        "order by split", (uo,)).fetchall()
        fe = db.execute("select split, fingerprint from data where run = ? and split != 'train' "
                        "order by split", (ue,)).fetchall()
        check(fo == fe and len(fo) == 2, f"{bb}: same val/test data in both variants")

    r = subprocess.run([BIN, "report", "--registry", reg, "--format", "json"], capture_output=True,
                       text=True, timeout=120)
    check(r.returncode == 0, f"report exits 0 ({r.stderr[-300:]})")
    if r.returncode == 0:
        rep = json.loads(r.stdout)
        check(rep["data_variants"][:2] == ["orig", "ext"], f"columns orig, ext ({rep['data_variants']})")
        models = {}
        for row in rep["rows"]:
            models[row["model"].split(" ")[0]] = row
        for bb in BACKBONES:
            row = models.get(bb)
            check(row is not None, f"report: a row for {bb} ({list(models)})")
            if row:
                cells = row["cells"]
                check(all(cells.get(v, {}).get("test", {}).get("n") == 1 for v in ("orig", "ext")),
                      f"report: {bb} has an orig and an ext test value side by side ({cells.keys()})")
    if failures:
        print(f"test_data_variants: {len(failures)} checks failed (kept {d})", file=sys.stderr)
        return 1
    print("test_data_variants: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
