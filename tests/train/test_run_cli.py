"""`emolab run` end to end, through the command line, on small slices of the real data.

Checks, each against what the registry (read with Python's own sqlite3) and the exit codes say:
  - a run finishes and records val/test metrics, per-class metrics, thresholds, epochs, params,
    data fingerprints and its checkpoint artifact (sha256 of the file on disk);
  - same spec and seed give bit-identical metrics and checkpoint; another seed does not;
  - --dry-run prints the resolved config and trains nothing; --set is validated like the file;
  - bad input exits non-zero naming the file and place, and leaves the registry intact
    (integrity_check ok, nothing left `running`, earlier finished runs unchanged);
  - a loss that becomes NaN/inf is recorded as `failed` with that reason;
  - a model that cannot fit in the address-space limit is refused before training, with its size;
  - SIGINT ends the run as `interrupted` with exit code 130; SIGKILL leaves `running`, which the
    next emolab start marks `interrupted`.
"""
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

BIN = os.environ["EMOLAB_BIN"]
DATA = os.environ["EMOLAB_DATA"]
TRAIN = "ru_go_emotions_djacon/derived/train_aligned_to_goemotions.csv"
VAL = "ru_go_emotions/older_version_c0703d7/ru-go-emotions-simplified-validation.csv"
TEST = "ru_go_emotions/older_version_c0703d7/ru-go-emotions-simplified-test.csv"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def spec(name, train=TRAIN, val=VAL, test=TEST, extra="", train_limit=3000, eval_limit=600,
         fmt="goemotions", text="ru_text"):
    return f"""name: {name}
owner: tests
data:
  train: [{{path: {train}, format: {fmt}, text: {text}, limit: {train_limit}}}]
  val: {{path: {val}, format: goemotions, text: ru_text, limit: {eval_limit}}}
  test: {{path: {test}, format: goemotions, text: ru_text, limit: {eval_limit}}}
backbone: {{type: bow, dim: 16, buckets: 16384, lr_scale: 10}}
head: {{layers: [32], dropout: 0.2, activation: gelu}}
train: {{epochs: 2, batch_size: 32, lr: 0.003, seed: 7, threads: 1}}
{extra}"""


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="emolab-run-")
        self.reg = os.path.join(self.dir, "registry.db")
        self.exp = os.path.join(self.dir, "exp")

    def write(self, name, text):
        p = os.path.join(self.dir, name)
        with open(p, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        return p

    def run(self, spec_path, *args, data=DATA):
        env = dict(os.environ, EMOLAB_DATA=data, EMOLAB_PROGRESS="0")
        p = subprocess.run([BIN, "run", spec_path, "--registry", self.reg, "--experiments", self.exp,
                            *args], capture_output=True, text=True, env=env, timeout=300)
        return p.returncode, p.stdout, p.stderr

    def db(self):
        return sqlite3.connect(f"file:{self.reg}?mode=ro", uri=True)

    def q(self, sql, *a):
        with self.db() as c:
            return c.execute(sql, a).fetchall()


def metrics_of(e, uuid):
    return e.q("select split, name, value from metrics where run = ? order by split, name", uuid)


def last_uuid(e):
    return e.q("select uuid from runs order by created desc, rowid desc limit 1")[0][0]


def registry_intact(e, what):
    if not os.path.exists(e.reg):
        return
    check(e.q("pragma integrity_check")[0][0] == "ok", f"{what}: integrity_check")
    check(e.q("select count(*) from runs where status = 'running'")[0][0] == 0,
          f"{what}: no run left running")


def main():
    e = Env()
    # --- a good run, recorded completely ---------------------------------------------------
    good = e.write("good.yaml", spec("good"))
    rc, out, err = e.run(good)
    check(rc == 0, f"good run exits 0 (rc={rc}, err={err[-400:]})")
    u1 = last_uuid(e)
    status, ckpt_dir, chash = e.q("select status, run_dir, config_hash from runs where uuid = ?", u1)[0]
    check(status == "finished", "good run finished")
    m1 = metrics_of(e, u1)
    names = {(s, n) for s, n, _ in m1}
    for s in ("val", "test"):
        for n in ("weighted_f1", "macro_f1", "micro_f1"):
            check((s, n) in names, f"metric {s}/{n} recorded")
    check(e.q("select count(*) from class_metrics where run = ? and split = 'test'", u1)[0][0] == 7,
          "7 per-class test rows")
    check(e.q("select count(*) from thresholds where run = ?", u1)[0][0] == 7, "7 thresholds")
    check(e.q("select count(*) from epochs where run = ?", u1)[0][0] == 2, "2 epoch rows")
    check(e.q("select value from params where run = ? and key = 'head.layers'", u1) == [("[32]",)],
          "params flattened")
    check(e.q("select rows from data where run = ? and split = 'val'", u1) == [(600,)], "val rows")
    art = e.q("select path, sha256 from artifacts where run = ? and kind = 'checkpoint'", u1)
    check(len(art) == 1, "checkpoint artifact")
    if art:
        with open(art[0][0], "rb") as f:
            check(hashlib.sha256(f.read()).hexdigest() == art[0][1], "artifact sha256 matches file")
        check(os.path.exists(os.path.join(os.path.dirname(art[0][0]), "config.json")),
              "config.json next to the checkpoint")
    check("test weighted F1" in out, "summary printed")

    # --- determinism ------------------------------------------------------------------------
    rc, _, _ = e.run(good)
    u2 = last_uuid(e)
    check(rc == 0 and u2 != u1, "second run")
    check(metrics_of(e, u2) == m1, "same spec and seed: bit-identical metrics")
    a2 = e.q("select sha256 from artifacts where run = ? and kind = 'checkpoint'", u2)
    check(art and a2 and a2[0][0] == art[0][1], "same spec and seed: identical checkpoint bytes")
    check(e.q("select config_hash from runs where uuid = ?", u2)[0][0] == chash, "same hash")
    rc, _, _ = e.run(good, "--set", "train.seed=8", "--no-checkpoint")
    u3 = last_uuid(e)
    check(metrics_of(e, u3) != m1, "another seed gives other metrics")
    check(e.q("select config_hash from runs where uuid = ?", u3)[0][0] != chash, "seed in the hash")
    check(e.q("select count(*) from artifacts where run = ?", u3)[0][0] == 0, "--no-checkpoint")

    # --- dry run and overrides ----------------------------------------------------------------
    n_before = e.q("select count(*) from runs")[0][0]
    rc, out, _ = e.run(good, "--dry-run", "--set", "head.dropout=0.25")
    check(rc == 0 and '"dropout": 0.25' in out and "config hash" in out, "dry run prints config")
    check(e.q("select count(*) from runs")[0][0] == n_before, "dry run registers nothing")
    rc, _, err = e.run(good, "--set", "head.dropout=1.5")
    check(rc == 2 and "--set head.dropout=1.5" in err and "[0, 1)" in err, "bad --set refused")

    # --- bad input ----------------------------------------------------------------------------
    finished_before = e.q("select uuid, status from runs where status = 'finished' order by uuid")

    def bad(name, text, want, code=None):
        p = e.write(name + ".yaml", text)
        rc, _, err = e.run(p)
        check(rc != 0 and (code is None or rc == code), f"{name}: non-zero exit (rc={rc})")
        for w in want:
            check(w in err, f"{name}: message has {w!r}: {err.strip()[-300:]}")
        registry_intact(e, name)

    bad("unknown_key", spec("u").replace("head: {", "head: {dropuot: 0.1, "),
        ["unknown_key.yaml:8:", "head.dropuot", "did you mean head.dropout"], 2)
    bad("wrong_type", spec("w").replace("layers: [32]", "layers: big"),
        ["wrong_type.yaml:8:", "head.layers"], 2)
    bad("dropout", spec("d").replace("dropout: 0.2", "dropout: 1.5"),
        ["dropout.yaml:8:", "head.dropout", "1.5", "[0, 1)"], 2)
    bad("missing_file", spec("m", train="no/such.csv"), ["no/such.csv", "not found"], 1)
    # data written here: a CSV without the text column, a label id outside the map, bad UTF-8
    e.write("notext.csv", "text,labels,id\nhello,[1],a\n")
    bad("no_text_column", spec("n", train=os.path.join(e.dir, "notext.csv")),
        ["notext.csv", "ru_text"], 1)
    e.write("badlabel.csv", "ru_text,labels,id\nпривет,[1],a\nмир,[31],b\n")
    bad("label_outside_map", spec("l", train=os.path.join(e.dir, "badlabel.csv")),
        ["badlabel.csv", "31"], 1)
    with open(os.path.join(e.dir, "badutf8.csv"), "wb") as f:
        f.write(b"ru_text,labels,id\n\xd0\xbf\xd1\x80\xd0,[1],a\nok,[2],b\n")
    bad("invalid_utf8", spec("i", train=os.path.join(e.dir, "badutf8.csv")),
        ["badutf8.csv", "UTF-8", "row 1"], 1)
    # every train text also occurs in val: nothing left after de-duplication
    e.write("dup_train.csv", "ru_text,labels,id\n" + "".join(
        f'"{t}",[1],x{i}\n' for i, t in enumerate(["Это в Новом Орлеане?? Я действительно чувствую, что это Новый Орлеан."])))
    bad("empty_after_dedupe", spec("e", train=os.path.join(e.dir, "dup_train.csv")),
        ["dup_train.csv", "empty"], 1)
    check(e.q("select uuid, status from runs where status = 'finished' order by uuid") ==
          finished_before, "finished runs untouched by the failures")

    # --- NaN: recorded as failed with the reason ------------------------------------------
    nan = e.write("nan.yaml", spec("nan").replace("lr: 0.003", "lr: 1e30"))
    rc, _, err = e.run(nan, "--no-checkpoint")
    check(rc == 1, f"NaN run exits 1 (rc={rc})")
    st, why = e.q("select status, error from runs where name = 'nan'")[0]
    check(st == "failed" and ("NaN" in why or "infinite" in why), f"NaN run failed with reason: {why}")
    registry_intact(e, "nan")

    # --- a model that cannot fit is refused before training, with its size -----------------
    # (not under the sanitizers: ASan's shadow memory does not fit in any ulimit -v)
    if os.environ.get("EMOLAB_SANITIZE") != "1":
        import resource
        big = e.write("big.yaml", spec("big").replace("buckets: 16384", "buckets: 16777216")
                      .replace("dim: 16", "dim: 128"))
        p = subprocess.run([BIN, "run", big, "--registry", e.reg, "--experiments", e.exp],
                           capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, EMOLAB_DATA=DATA, EMOLAB_PROGRESS="0"),
                           preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30)))
        check(p.returncode == 1 and "needs about" in p.stderr and "ulimit -v" in p.stderr,
              f"oversized model refused with its estimate: {p.stderr[-300:]}")
        st, why = e.q("select status, error from runs where name = 'big'")[0]
        check(st == "failed" and "GiB" in why, "oversized model recorded as failed with the estimate")
        registry_intact(e, "oom")

    # --- SIGINT and SIGKILL -------------------------------------------------------------------
    slow = e.write("slow.yaml", spec("slow", train_limit=0).replace("epochs: 2", "epochs: 50"))
    env = dict(os.environ, EMOLAB_DATA=DATA, EMOLAB_PROGRESS="0")
    for sig, want_status in ((signal.SIGINT, "interrupted"), (signal.SIGKILL, "running")):
        p = subprocess.Popen([BIN, "run", slow, "--registry", e.reg, "--experiments", e.exp,
                              "--no-checkpoint"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        t0 = time.time()
        for line in p.stderr:  # wait for the first finished epoch
            if line.startswith("epoch 1/50:") or time.time() - t0 > 120:
                break
        p.send_signal(sig)
        rc = p.wait(timeout=120)
        p.stderr.close()
        st = e.q("select status from runs where name = 'slow' order by created desc, rowid desc limit 1")[0][0]
        if sig == signal.SIGINT:
            check(rc == 130, f"SIGINT exit code 130 (rc={rc})")
            check(st == "interrupted", f"SIGINT: run interrupted ({st})")
        else:
            check(st == "running", f"SIGKILL leaves running ({st})")
            rc, _, _ = e.run(good, "--dry-run")  # dry run never opens the registry
            e.run(e.write("tiny.yaml", spec("tiny", train_limit=300, eval_limit=100)), "--no-checkpoint")
            st = e.q("select status from runs where name = 'slow' order by created desc, rowid desc limit 1")[0][0]
            check(st == "interrupted", f"next start marks the killed run interrupted ({st})")
    registry_intact(e, "signals")

    if failures:
        print(f"test_run_cli: {len(failures)} checks failed", file=sys.stderr)
        return 1
    print("test_run_cli: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
