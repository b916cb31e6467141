"""Input limits (issue #11): what a spec or a data file can make emolab do is bounded.

  - a "billion laughs" spec (aliases of aliases) is refused at the budget with the alias that
    crossed it, quickly and in little memory; so is one in a label-map file;
  - a spec that is a device or an endless pipe (/dev/zero, a FIFO fed forever) is refused once
    16 MiB were read, not read into memory until the machine runs out;
  - numbers out of range (too large for the schema or for int64, negative, NaN, infinite,
    fractions for integers) are refused naming the key, in the file and through --set;
  - run names that could leave experiments/ ("../x", "a/b", "..", ".x", "-x", 200 characters,
    non-ASCII) are refused, in the file and through --set; a run's files go to
    EXPERIMENTS/<uuid>/ and nowhere else (the name is never a path component);
  - a CSV with a 1 GB line, from a generator pipe and from a sparse file: refused with the file
    and the line number, after reading a few MiB (the generator is stopped early, the process's
    peak memory stays far below the line's size).
"""
import os
import stat
import subprocess
import sys
import threading
import time

from faultlib import Env, check, conclude, csv_rows

GiB = 1 << 30


def refused(e, spec_path, want, *extra, code=2, what=None):
    what = what or os.path.basename(spec_path)
    t0 = time.time()
    rc, out, err = e.run("run", spec_path, "--dry-run", *extra, timeout=120)
    dt = time.time() - t0
    check(rc == code, f"{what}: exit code {code} (rc={rc}, {err.strip()[-300:]})")
    for w in want:
        check(w in err, f"{what}: message has {w!r}: {err.strip()[-300:]}")
    return dt


class Feeder(threading.Thread):
    """Writes head, then `byte` forever (up to limit bytes) into a FIFO; counts what was taken."""

    def __init__(self, path, head, byte=b"a", limit=GiB):
        super().__init__(daemon=True)
        self.path, self.head, self.byte, self.limit, self.sent = path, head, byte, limit, 0
        os.mkfifo(path)

    def run(self):
        chunk = self.byte * (1 << 16)
        try:
            with open(self.path, "wb", buffering=0) as f:
                f.write(self.head)
                while self.sent < self.limit:
                    self.sent += f.write(chunk)
        except (BrokenPipeError, OSError):
            pass

    def release(self):
        """Unblocks a writer still waiting for a reader."""
        if self.is_alive():
            try:
                fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
                os.close(fd)
            except OSError:
                pass
        self.join(timeout=10)


def run_rusage(e, *args, timeout=300):
    """emolab ARGS; returns (exit code, stderr, peak RSS in bytes)."""
    p = subprocess.Popen(e.args(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True, env=e.env(), start_new_session=True)
    err_box = []
    reader = threading.Thread(target=lambda: err_box.append(p.stderr.read()), daemon=True)
    reader.start()
    t0 = time.time()
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.time() - t0 > timeout:
            os.killpg(p.pid, 9)
        time.sleep(0.05)
    p.returncode = os.waitstatus_to_exitcode(status)
    reader.join(timeout=10)
    p.stderr.close()
    return p.returncode, err_box[0] if err_box else "", ru.ru_maxrss * 1024


def main():
    e = Env("limits")
    base = open(e.spec("base")).read()

    # ---- billion laughs ---------------------------------------------------------------------
    lol = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):
        lol.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    laughs = e.write("laughs.yaml", base + "notes_anchor_bomb:\n  " + "\n  ".join(lol) + "\n")
    dt = refused(e, laughs, ["billion laughs", "refused", "laughs.yaml:"])
    check(dt < 20, f"billion laughs refused quickly ({dt:.1f}s)")
    # a label map is read with libyaml's document API (aliases stay shared, the walk is shallow)
    lab = e.write("laugh_labels.yaml", "name: lol\nlabels: [anger, joy]\nmaps:\n"
                  "  goemotions: {0: joy}\n  bomb:\n    " + "\n    ".join(lol) + "\n")
    spec_lab = e.write("spec_lab.yaml", base.replace("data:\n", f"data:\n  labels: {lab}\n", 1))
    t0 = time.time()
    rc, _, err = e.run("run", spec_lab, timeout=120)
    dt = time.time() - t0
    check(rc == 1 and "laugh_labels.yaml:" in err and dt < 30,
          f"billion laughs in a label map refused quickly ({rc}, {dt:.1f}s, {err.strip()[-300:]})")

    # ---- a spec that never ends ---------------------------------------------------------------
    dt = refused(e, "/dev/zero", ["/dev/zero", "larger than 16 MiB"], what="/dev/zero")
    check(dt < 30, f"/dev/zero refused quickly ({dt:.1f}s)")
    fifo = Feeder(e.path("endless.yaml"), b"name: endless\nnotes: ", b"x", limit=GiB)
    fifo.start()
    refused(e, e.path("endless.yaml"), ["endless.yaml", "larger than 16 MiB"])
    fifo.release()
    check(fifo.sent < 64 << 20, f"endless spec: reading stopped early ({fifo.sent >> 20} MiB taken)")

    # ---- numbers out of range ------------------------------------------------------------------
    cases = [
        ("epochs: 3", "epochs: 100001", "train.epochs"),
        ("epochs: 3", "epochs: 99999999999999999999999", "train.epochs"),
        ("epochs: 3", "epochs: 1e300", "train.epochs"),
        ("epochs: 3", "epochs: -1", "train.epochs"),
        ("epochs: 3", "epochs: 2.5", "train.epochs"),
        ("lr: 0.003", "lr: .inf", "train.lr"),
        ("lr: 0.003", "lr: .nan", "train.lr"),
        ("lr: 0.003", "lr: 1e999", "train.lr"),
        ("lr: 0.003", "lr: -0.1", "train.lr"),
        ("batch_size: 32", "batch_size: 0", "train.batch_size"),
        ("batch_size: 32", "batch_size: 4294967296", "train.batch_size"),
        ("seed: 1", "seed: 18446744073709551616", "train.seed"),
        ("seed: 1", "seed: -5", "train.seed"),
        ("threads: 1", "threads: 100000", "train.threads"),
        ("dim: 8", "dim: 65537", "backbone.dim"),
        ("buckets: 4096", "buckets: 1e30", "backbone.buckets"),
        ("buckets: 4096", "buckets: 1073741825", "backbone.buckets"),
        ("layers: [16]", "layers: [0]", "head.layers"),
        ("layers: [16]", "layers: [99999999999]", "head.layers"),
        ("dropout: 0.1", "dropout: 1.0", "head.dropout"),
        ("dropout: 0.1", "dropout: .nan", "head.dropout"),
    ]
    for i, (old, new, key) in enumerate(cases):
        p = e.write(f"num{i}.yaml", base.replace(old, new, 1))
        refused(e, p, [key, f"num{i}.yaml:"], what=f"{new}")
    good = e.spec("good", epochs=1)
    for kv, key in (("train.epochs=1e9", "train.epochs"), ("train.lr=.nan", "train.lr"),
                    ("backbone.buckets=-1", "backbone.buckets"),
                    ("train.seed=99999999999999999999", "train.seed")):
        refused(e, good, [key, "--set"], "--set", kv, what=f"--set {kv}")

    # ---- names that would leave experiments/ -----------------------------------------------------
    for i, name in enumerate(["../evil", "a/b", "..", ".hidden", "-rf", "x" * 200, "имя",
                              "a\\\\b", "'a b'", "'~'", "'%s%n'"]):
        p = e.write(f"name{i}.yaml", base.replace("name: base", f"name: {name}", 1))
        refused(e, p, ["name"], what=f"name {name}")
        refused(e, good, ["name", "--set"], "--set", f"name={name}", what=f"--set name={name}")

    # a run writes EXPERIMENTS/<uuid>/ and the registry, nothing else
    before = {os.path.join(d, f) for d, _, fs in os.walk(e.dir) for f in fs}
    rc, out, err = e.run("run", good)
    check(rc == 0, f"a good run ({err[-300:]})")
    uuid, name, run_dir = e.q("select uuid, name, run_dir from runs order by rowid desc limit 1")[0]
    check(run_dir == os.path.join(e.exp, uuid), f"run_dir is experiments/<uuid> ({run_dir})")
    after = {os.path.join(d, f) for d, _, fs in os.walk(e.dir) for f in fs}
    new = sorted(after - before)
    allowed = (os.path.join(e.exp, uuid) + os.sep, e.reg)
    check(new and all(f.startswith(allowed) for f in new), f"files written: {new}")
    check(not any(name in os.path.relpath(f, e.dir) for f in new) or name == "good",
          "the run name is not a path component")

    # ---- a 1 GB line in a CSV ---------------------------------------------------------------------
    header = b"ru_text,labels,id\n"
    fifo = Feeder(e.path("pipe.csv"), header + b'ok,[1],r0\n', b"a", limit=GiB)
    fifo.start()
    spec_pipe = e.spec("pipe", epochs=1, train="pipe.csv")
    t0 = time.time()
    rc, err, rss = run_rusage(e, "run", spec_pipe)
    dt = time.time() - t0
    fifo.release()
    check(rc == 1, f"1 GB line (pipe): exit code 1 (rc={rc}, {err.strip()[-300:]})")
    check("pipe.csv:3" in err and ("longer than" in err or "too long" in err),
          f"1 GB line (pipe): the file and line 3 named: {err.strip()[-300:]}")
    check(fifo.sent < 64 << 20, f"1 GB line (pipe): reading stopped early ({fifo.sent >> 20} MiB)")
    check(rss < 700 << 20, f"1 GB line (pipe): peak RSS {rss >> 20} MiB")
    print(f"1 GB line from a pipe: refused in {dt:.1f}s after {fifo.sent >> 20} MiB, "
          f"peak RSS {rss >> 20} MiB")

    sparse = e.path("sparse.csv")
    with open(sparse, "wb") as f:
        f.write(header)
        f.truncate(len(header) + GiB)  # line 2: 1 GB of NUL bytes, no data on disk
    check(os.stat(sparse).st_blocks * 512 < 1 << 20, "the sparse file takes no disk space")
    rc, err, rss = run_rusage(e, "run", e.spec("sparse", epochs=1, train="sparse.csv"))
    check(rc == 1 and "sparse.csv:2" in err, f"1 GB line (sparse): refused at line 2 "
                                              f"(rc={rc}, {err.strip()[-300:]})")
    check(rss < 700 << 20, f"1 GB line (sparse): peak RSS {rss >> 20} MiB")

    # the same with the 1 GB inside an unterminated quoted field: reported where the field began
    fifo = Feeder(e.path("quote.csv"), header + b'ok,[1],r0\n"never closed', b"b\n", limit=GiB)
    fifo.start()
    rc, err, rss = run_rusage(e, "run", e.spec("quote", epochs=1, train="quote.csv"))
    fifo.release()
    check(rc == 1 and "quote.csv:3" in err, f"1 GB quoted field: refused naming line 3 "
                                             f"(rc={rc}, {err.strip()[-300:]})")
    check(fifo.sent < 64 << 20, f"1 GB quoted field: reading stopped early ({fifo.sent >> 20} MiB)")
    check(e.q("pragma integrity_check") == [("ok",)], "registry intact")

    return conclude("test_limits", e)


if __name__ == "__main__":
    sys.exit(main())
