"""Shared by the fault-injection tests (tests/faults, label faults): tiny synthetic data, a
scratch registry and experiments directory, emolab processes in their own process groups
(killed as groups at cleanup), and the checks every test makes afterwards:

  registry_ok(env)       PRAGMA integrity_check is ok, every status is a known one;
  finished_intact(env)   every run seen finished earlier is still there, unchanged (its metrics,
                         epochs, thresholds, artifacts) and its checkpoint file matches its sha256;
  checkpoints_valid(env) every model.safetensors under experiments/ is a complete safetensors
                         file (header inside the file, every tensor's bytes inside the data);
                         no truncated checkpoint is left under the name of a valid one.
"""
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("EMOLAB_BIN", "emolab")
SANITIZE = os.environ.get("EMOLAB_SANITIZE", "0") == "1"
failures = []
_procs = []

WORDS = ("радость гнев страх печаль удивление отвращение день мир хорошо плохо очень любовь "
         "ненависть спасибо ужас смешно скучно жаль вау класс").split()
GOEMO_IDS = [0, 2, 3, 9, 11, 14, 17, 25, 26, 27]


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr, flush=True)
    return cond


def finish(name):
    cleanup()
    if failures:
        print(f"{name}: {len(failures)} checks failed", file=sys.stderr)
        return 1
    print(f"{name}: ok")
    return 0


def csv_rows(n, seed):
    r = random.Random(seed)
    out = ["ru_text,labels,id"]
    for i in range(n):
        t = " ".join(r.choice(WORDS) for _ in range(r.randint(3, 12)))
        labels = r.sample(GOEMO_IDS, r.randint(1, 2))
        out.append(f'"{t} {seed}-{i}","[{", ".join(map(str, labels))}]",r{seed}_{i}')
    return "\n".join(out) + "\n"


class Env:
    """A scratch directory with a registry, an experiments dir and tiny train/val/test files."""

    def __init__(self, prefix, n_train=200, n_eval=60):
        self.dir = tempfile.mkdtemp(prefix=f"emolab-{prefix}-")
        self.reg = os.path.join(self.dir, "registry.db")
        self.exp = os.path.join(self.dir, "exp")
        for name, n, seed in (("train", n_train, 1), ("val", n_eval, 2), ("test", n_eval, 3)):
            self.write(f"{name}.csv", csv_rows(n, seed))
        self.finished = {}  # uuid -> snapshot of everything recorded about it

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        p = self.path(name)
        with open(p, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        return p

    def spec(self, name="tiny", epochs=3, buckets=4096, dim=8, layers="[16]", batch=32, extra="",
             train="train.csv"):
        return self.write(f"{name}.yaml", f"""name: {name}
owner: faults
data:
  train: [{{path: {self.path(train)}, format: goemotions, text: ru_text}}]
  val: {{path: {self.path('val.csv')}, format: goemotions, text: ru_text}}
  test: {{path: {self.path('test.csv')}, format: goemotions, text: ru_text}}
  drop_train_overlapping_eval: false
backbone: {{type: bow, dim: {dim}, buckets: {buckets}}}
head: {{layers: {layers}, dropout: 0.1}}
train: {{epochs: {epochs}, batch_size: {batch}, lr: 0.003, seed: 1, threads: 1}}
{extra}""")

    def env(self, **kw):
        e = dict(os.environ, EMOLAB_PROGRESS="0")
        e.update({k: str(v) for k, v in kw.items()})
        return e

    def args(self, *a, registry=None, experiments=None):
        return [BIN, *a, "--registry", registry or self.reg, "--experiments", experiments or self.exp]

    def run(self, *a, timeout=600, preexec_fn=None, env=None, registry=None, experiments=None):
        p = subprocess.run(self.args(*a, registry=registry, experiments=experiments),
                           capture_output=True, text=True, timeout=timeout,
                           env=env or self.env(), preexec_fn=preexec_fn, start_new_session=True)
        return p.returncode, p.stdout, p.stderr

    def popen(self, *a, preexec_fn=None, env=None, **kw):
        p = subprocess.Popen(self.args(*a), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env or self.env(), preexec_fn=preexec_fn,
                             start_new_session=True, **kw)
        _procs.append(p)
        return p

    def db(self):
        c = sqlite3.connect(self.reg, timeout=30)
        return c

    def q(self, sql, *a):
        c = self.db()
        try:
            return c.execute(sql, a).fetchall()
        finally:
            c.close()

    def snapshot(self, uuid):
        """Everything recorded about a run, to compare later."""
        return {t: self.q(f"select * from {t} where run = ? order by 1, 2, 3", uuid)
                for t in ("metrics", "class_metrics", "thresholds", "epochs", "artifacts")} | {
            "run": self.q("select uuid, name, status, best_epoch, epochs_run, config_hash "
                          "from runs where uuid = ?", uuid)}

    def remember_finished(self):
        for (u,) in self.q("select uuid from runs where status = 'finished'"):
            if u not in self.finished:
                self.finished[u] = self.snapshot(u)


def kill_group(p, sig=signal.SIGKILL):
    try:
        os.killpg(p.pid, sig)
    except ProcessLookupError:
        pass


def cleanup():
    for p in _procs:
        if p.poll() is None:
            kill_group(p)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        for f in (p.stdout, p.stderr):
            if f:
                f.close()
    _procs.clear()


def wait_line(p, prefix, timeout):
    """Reads p's stderr until a line starting with prefix (True) or EOF/timeout (False)."""
    t0 = time.time()
    for line in p.stderr:
        if line.startswith(prefix):
            return True
        if time.time() - t0 > timeout:
            return False
    return False


def safetensors_complete(path):
    """None when the file is a complete safetensors file, else what is wrong."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            return "shorter than 8 bytes"
        n = struct.unpack("<Q", head)[0]
        if 8 + n > size:
            return f"header length {n} beyond the file ({size} bytes)"
        try:
            h = json.loads(f.read(n))
        except ValueError as e:
            return f"header is not JSON: {e}"
    end = 0
    for k, v in h.items():
        if k == "__metadata__":
            continue
        end = max(end, v["data_offsets"][1])
    if 8 + n + end != size:
        return f"data ends at {8 + n + end}, file has {size} bytes"
    return None


def registry_ok(env, what):
    if not os.path.exists(env.reg):
        return
    check(env.q("pragma integrity_check") == [("ok",)], f"{what}: integrity_check")
    bad = env.q("select uuid, status from runs where status not in "
                "('running', 'finished', 'failed', 'interrupted', 'stopped')")
    check(not bad, f"{what}: unknown statuses {bad}")


def finished_intact(env, what):
    for u, snap in env.finished.items():
        now = env.snapshot(u)
        check(now == snap, f"{what}: finished run {u} unchanged")
        for (path, sha) in env.q("select path, sha256 from artifacts where run = ? and "
                                 "kind = 'checkpoint'", u):
            ok = os.path.exists(path)
            if ok:
                with open(path, "rb") as f:
                    ok = hashlib.sha256(f.read()).hexdigest() == sha
            check(ok, f"{what}: checkpoint of finished run {u} is there and matches its sha256")


def checkpoints_valid(env, what):
    if not os.path.isdir(env.exp):
        return
    for d in os.listdir(env.exp):
        p = os.path.join(env.exp, d, "model.safetensors")
        if os.path.exists(p):
            why = safetensors_complete(p)
            check(why is None, f"{what}: {p} is a complete checkpoint ({why})")


def rmtree(env):
    shutil.rmtree(env.dir, ignore_errors=True)


def conclude(name, env):
    """finish(name); the scratch directory is removed when every check passed, kept otherwise."""
    rc = finish(name)
    if rc == 0:
        rmtree(env)
    else:
        print(f"kept {env.dir}", file=sys.stderr)
    return rc
