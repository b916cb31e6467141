"""predict_cli: `emolab predict` from the outside (Python standard library only).

Checks the batch output's shape against facts this script knows independently: the header
(id column name, the run's labels in order from thresholds.json written by `emolab run`, p_*
columns), one row per input row in input order with the ids carried over, 0/1 values that equal
p >= threshold (thresholds from thresholds.json, compared as float32), empty texts predicted
(and identically), quoting of odd ids; the `row` column when there is no id column; --format json;
and every bad input of issue 8: unknown / ambiguous run (candidates listed), failed and
interrupted runs without a checkpoint, a missing text or id column (columns listed), invalid
UTF-8 (row and line reported), an output path in a missing directory, texts and an existing
output file left untouched by a failure, and no temporary file left behind.
"""
import csv
import io
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import uuid as uuidlib

BIN = os.environ["EMOLAB_BIN"]
SRC = os.environ["EMOLAB_SOURCE_DIR"]
DATA = os.environ["EMOLAB_DATA"]
TEST = os.path.join(DATA, "ru_go_emotions/older_version_c0703d7/ru-go-emotions-simplified-test.csv")
TINY = ["backbone.buckets=4096", "backbone.dim=16", "head.layers=[]", "train.epochs=1",
        "data.train.0.limit=2000", "data.val.limit=600", "data.test.limit=600"]

failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("CHECK failed:", what, file=sys.stderr)


def f32(x):
    return struct.unpack("f", struct.pack("f", float(x)))[0]


D = tempfile.mkdtemp(prefix="emolab-predict-cli-")
REG = os.path.join(D, "r.db")
EXP = os.path.join(D, "exp")


def emolab(*args):
    p = subprocess.run([BIN, *args], capture_output=True, text=True,
                       env=dict(os.environ, EMOLAB_PROGRESS="0"))
    return p.returncode, p.stdout, p.stderr


def train(name, seed, *extra):
    args = ["run", os.path.join(SRC, "configs/bow.yaml"), "--registry", REG, "--experiments", EXP,
            "--set", "name=" + name, "--set", "train.seed=%d" % seed]
    for s in TINY + list(extra):
        args += ["--set", s]
    return emolab(*args)


def predict(*args):
    return emolab("predict", "--registry", REG, *args)


def write(path, rows, header=("id", "ru_text"), raw=None):
    if raw is not None:
        with open(path, "wb") as f:
            f.write(raw)
        return
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def no_temp_files(d):
    return [n for n in os.listdir(d) if ".tmp." in n]


rc, out, err = train("cli-a", 1)
check(rc == 0, "training cli-a: " + err[-2000:])
rc2, _, err2 = train("dup", 2)
rc3, _, err3 = train("dup", 3)
check(rc2 == 0 and rc3 == 0, "training the two 'dup' runs: " + err2[-500:] + err3[-500:])
# a run that fails before saving anything (its test file does not exist)
rcf, _, _ = train("broken", 4, "data.test.path=missing/nowhere.csv")
check(rcf != 0, "the broken run fails")

db = sqlite3.connect(REG)
ua = db.execute("SELECT uuid, run_dir FROM runs WHERE name = 'cli-a'").fetchone()
UA, RUN_DIR = ua
with open(os.path.join(RUN_DIR, "thresholds.json")) as f:
    thr_json = json.load(f, object_pairs_hook=list)
LABELS = [k for k, _ in thr_json]
THR = {k: f32(v) for k, v in thr_json}
check(LABELS == ["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"],
      "ekman7 labels from thresholds.json: %s" % LABELS)

# ---- 1. the batch output's shape -------------------------------------------------------------
texts = [
    ("z-1", "Я так рада тебя видеть!"),
    ("a,2", "Это ужасно, ненавижу"),           # an id that needs quoting
    ("q\"3", ""),                              # empty text
    ("4", "   "),                              # whitespace only
    ("5", "многострочный\nтекст, с \"кавычками\""),
    ("6", "😀😀😀"),
    ("07", ""),                                # another empty text
]
inp = os.path.join(D, "in.csv")
write(inp, texts)
outp = os.path.join(D, "out.csv")
rc, out, err = predict("cli-a", "--input", inp, "--output", outp, "--text-column", "ru_text",
                       "--probabilities")
check(rc == 0, "batch predict: " + err)
check("2 empty texts" in err or "3 empty texts" in err, "empty texts counted: " + err)
with open(outp, newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f))
header = ["id"] + LABELS + ["p_" + l for l in LABELS]
check(rows[0] == header, "header %s" % rows[0])
check([r[0] for r in rows[1:]] == [t[0] for t in texts], "ids in input order: %s" % [r[0] for r in rows[1:]])
for r in rows[1:]:
    check(len(r) == 1 + 2 * len(LABELS), "row width %d" % len(r))
    for j, l in enumerate(LABELS):
        y, p = r[1 + j], f32(r[1 + len(LABELS) + j])
        check(y in ("0", "1"), "0/1 value %r" % y)
        check(0.0 <= p <= 1.0, "probability %r" % r[1 + len(LABELS) + j])
        check((y == "1") == (p >= THR[l]), "row %s %s: %s but p=%r thr=%r" % (r[0], l, y, p, THR[l]))
check(rows[3][1:] == rows[7][1:], "two empty texts get the same prediction")
check(no_temp_files(D) == [], "no temp files: %s" % no_temp_files(D))

# without --probabilities: only the 0/1 columns, the same decisions
out2 = os.path.join(D, "out2.csv")
rc, _, err = predict(UA[:8], "--input", inp, "--output", out2)
with open(out2, newline="", encoding="utf-8") as f:
    rows2 = list(csv.reader(f))
check(rc == 0 and rows2[0] == ["id"] + LABELS, "header without probabilities: %s" % rows2[0])
check([r[:1 + len(LABELS)] for r in rows] == rows2, "same decisions with and without probabilities")

# no id column: a `row` column numbering the data rows; output to stdout
noid = os.path.join(D, "noid.csv")
write(noid, [(t,) for _, t in texts[:3]], header=("text",))
rc, out, err = predict("cli-a", "--input", noid, "--output", "-", "--text-column", "text")
rows3 = list(csv.reader(io.StringIO(out)))
check(rc == 0 and rows3[0][0] == "row" and [r[0] for r in rows3[1:]] == ["1", "2", "3"],
      "row numbers when there is no id column: %s %s" % (rows3[:4], err))

# the test file streamed: one row per input row, ids carried over in order
test_out = os.path.join(D, "test_out.csv")
rc, _, err = predict("cli-a", "--input", TEST, "--output", test_out)
with open(TEST, newline="", encoding="utf-8") as f:
    test_ids = [r["id"] for r in csv.DictReader(f)]
with open(test_out, newline="", encoding="utf-8") as f:
    got_ids = [r["id"] for r in csv.DictReader(f)]
check(rc == 0 and got_ids == test_ids and len(got_ids) == 5427,
      "test file: %d rows, ids in order %s" % (len(got_ids), err))

# ---- 2. texts on the command line, text and JSON ---------------------------------------------
rc, out, err = predict("cli-a", "--format", "json", "Я так рада тебя видеть!", "")
j = json.loads(out) if rc == 0 else {}
check(rc == 0 and j["labels"] == LABELS and j["run"]["uuid"] == UA, "json header: " + err)
if rc == 0:
    check(len(j["predictions"]) == 2 and j["predictions"][1]["text"] == "", "two predictions")
    for pr in j["predictions"]:
        for l in LABELS:
            check((l in pr["labels"]) == (f32(pr["probabilities"][l]) >= THR[l]),
                  "json: label %s follows its threshold" % l)
    check(all(f32(j["thresholds"][l]) == THR[l] for l in LABELS), "json thresholds = thresholds.json")
    # the same text predicted in another batch: the same probabilities up to the last bits
    # (BLAS kernels depend on the batch size; files are always cut into the same batches)
    check(all(abs(f32(j["predictions"][0]["probabilities"][l]) - f32(rows[1][1 + len(LABELS) + i]))
              <= 1e-6 for i, l in enumerate(LABELS)), "json and batch probabilities agree")
rc, out, err = predict("cli-a", "Спасибо!")
check(rc == 0 and "labels:" in out and "threshold" in out, "text output: " + out + err)

# ---- 3. bad input ----------------------------------------------------------------------------
def refused(args, needles, what, code=1):
    rc, out, err = predict(*args)
    check(rc == code, "%s: exit %d (want %d): %s" % (what, rc, code, err))
    for n in needles:
        check(n in err, "%s: message should contain %r: %s" % (what, n, err))
    return err


refused(["no-such-run", "x"], ["no run matches 'no-such-run'", "cli-a"], "unknown run")
dups = [u for (u,) in db.execute("SELECT uuid FROM runs WHERE name = 'dup'")]
refused(["dup", "x"], ["ambiguous"] + dups, "ambiguous name")
refused(["broken", "x"], ["failed", "saved no checkpoint"], "failed run")
# an interrupted run that never saved a checkpoint (as a kill during epoch 1 leaves it)
ui = str(uuidlib.uuid4())
db.execute("INSERT INTO runs (uuid, name, status, created, config_json, config_hash, host, error)"
           " VALUES (?, 'cut', 'interrupted', '2026-01-01T00:00:00.000Z', '{}', 'h', 'x',"
           " 'interrupted by the user before the first epoch ended')", (ui,))
db.commit()
refused([ui[:13], "x"], ["interrupted", "saved no checkpoint"], "interrupted run")

existing = os.path.join(D, "existing.csv")
with open(existing, "w") as f:
    f.write("keep me\n")
refused(["cli-a", "--input", inp, "--output", existing, "--text-column", "body"],
        ["no column 'body'", "id, ru_text"], "missing text column")
refused(["cli-a", "--input", inp, "--output", existing, "--id-column", "key"],
        ["no id column 'key'", "id, ru_text"], "missing id column")
bad = os.path.join(D, "bad.csv")
write(bad, None, raw=b"id,ru_text\n1,\xd1\x85\xd0\xbe\n2,\"two\nlines\"\n3,bad \xff\xfe text\n")
refused(["cli-a", "--input", bad, "--output", existing], ["row 3", "line 5", "invalid UTF-8"],
        "invalid UTF-8")
with open(existing) as f:
    check(f.read() == "keep me\n", "an existing output file is untouched by a failed run")
missing_dir = os.path.join(D, "no", "such", "dir", "out.csv")
refused(["cli-a", "--input", inp, "--output", missing_dir], ["does not exist", "mkdir -p"],
        "output in a missing directory")
check(not os.path.exists(os.path.join(D, "no")), "nothing created for a missing directory")
refused(["cli-a", "--input", inp, "--output", inp], ["is the input file"], "output = input")
refused(["cli-a", b"bad \xff text"], ["text 1", "invalid UTF-8"], "invalid UTF-8 on the command line")
refused(["cli-a"], ["nothing to predict"], "no texts", code=2)
refused(["cli-a", "--input", inp], ["--output"], "input without output", code=2)
check(no_temp_files(D) == [], "no temp files after the failures: %s" % no_temp_files(D))

rc, out, _ = emolab("predict", "--help")
check(rc == 0 and "ID,LABEL_1,...,LABEL_K" in out and "empty texts" in out and "examples:" in out,
      "--help documents the output header, empty texts, examples")

if failures:
    print("predict_cli: %d check(s) failed (kept %s)" % (failures, D), file=sys.stderr)
    sys.exit(1)
shutil.rmtree(D)
print("predict_cli: all checks passed")
