#!/usr/bin/env python3
"""End to end: `emolab run configs/hf-tiny.yaml` fine-tunes the tiny fixture BERT through the whole
pipeline (spec -> data -> hf backbone -> train -> metrics -> registry) and registers the run:
status finished, val/test metrics, one row per epoch, a checkpoint artifact, a val weighted F1
above the all-neutral baseline. Then the fine-tuning controls, each a short run that must finish:
freeze: all (only the head trains: the printed parameter count is the head's), freeze: first_k
with grad_accum 2 and layer_lr_decay 0.5, attention pooling with head_lr, cls_concat.
usage: test_hf_e2e.py EMOLAB FIXTURES"""
import os, re, shutil, sqlite3, sys

sys.path.insert(0, os.path.dirname(__file__))
import hfm_common as C  # noqa: E402

emolab, fix = sys.argv[1], sys.argv[2]
src = os.environ.get("EMOLAB_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
data = os.environ.get("EMOLAB_DATA", os.path.join(src, "..", "shared", "data"))
tmp = C.tmpdir()
reg = os.path.join(tmp, "reg.db")
ok = True
base = [emolab, "run", os.path.join(src, "configs", "hf-tiny.yaml"), "--data-root", data, "--registry", reg,
        "--experiments", os.path.join(tmp, "exp"), "--set", "backbone.path=" + os.path.join(fix, "bert")]

r = C.run(base)
print(r.stdout.strip())
con = sqlite3.connect(reg)
uuid, status, best, epochs, run_dir = con.execute(
    "SELECT uuid, status, best_epoch, epochs_run, run_dir FROM runs ORDER BY created DESC LIMIT 1").fetchone()
n_epochs = con.execute("SELECT count(*) FROM epochs WHERE run = ?", (uuid,)).fetchone()[0]
metrics = dict(con.execute("SELECT split, value FROM metrics WHERE run = ? AND name = 'weighted_f1'",
                           (uuid,)).fetchall())
arts = con.execute("SELECT kind FROM artifacts WHERE run = ?", (uuid,)).fetchall()
con.close()
good = status == "finished" and epochs == 2 and n_epochs == 2 and set(metrics) == {"val", "test"}
good &= os.path.isfile(os.path.join(run_dir, "model.safetensors")) and ("checkpoint",) in arts
# the all-neutral baseline on this val slice scores weighted F1 ~0.24 (neutral is ~37% of rows)
good &= metrics.get("val", 0) > 0.30
print("registered run %s: %s, %d epochs, val wF1 %.4f, test wF1 %.4f %s"
      % (uuid, status, n_epochs, metrics.get("val", 0), metrics.get("test", 0), "" if good else "FAIL"))
ok &= good

SMALL = ["--set", "data.train=[{path: ru_go_emotions_djacon/derived/train_aligned_to_goemotions.csv, "
         "format: goemotions, text: ru_text, limit: 600}]", "--set", "data.val.limit=200",
         "--set", "data.test.limit=200", "--set", "train.epochs=1", "--no-checkpoint"]
head_params = 48 * 7 + 7
for name, sets, want_params in [
        ("freeze_all", ["backbone.freeze=all"], head_params),
        ("first_k_accum", ["backbone.freeze=first_k", "backbone.freeze_k=1", "train.grad_accum=2",
                           "train.batch_size=16", "backbone.layer_lr_decay=0.5"], None),
        ("attention", ["backbone.pooling=attention", "train.head_lr=0.01"], None),
        ("cls_concat", ["backbone.pooling=cls_concat", "backbone.last_k=2", "backbone.freeze=all"], 96 * 7 + 7),
        ("mean_max_len", ["backbone.pooling=mean", "backbone.max_len=16"], None)]:
    cmd = base + SMALL + ["--set", "name=" + name]
    for s in sets:
        cmd += ["--set", s]
    r = C.run(cmd, check=False)
    m = re.search(r"(\d+) parameters", r.stdout)
    good = r.returncode == 0 and " finished" in r.stdout and m is not None
    if want_params is not None and m:
        good &= int(m.group(1)) == want_params
    print("%-14s %s: %s %s" % (name, " ".join(sets), (m.group(0) if m else r.stderr[-500:]), "" if good else "FAIL"))
    ok &= good
shutil.rmtree(tmp, ignore_errors=True)
sys.exit(0 if ok else 1)
