"""Out of memory under `ulimit -v` (issue #11, fault injection). Each case ends with a run that is
recorded `failed` with a reason, exit code 1, no epoch rows beyond those that finished, no
checkpoint file or artifact, integrity_check ok: never a half-written run.

  - an embedding table that cannot fit: refused before training, with the estimated size;
  - a tiny model under a limit that leaves no room for libtorch's and OpenBLAS's buffers: refused
    before training (OpenBLAS retries a failed buffer mmap forever: the run used to hang);
  - a batch whose activations cannot fit although the weights do: the allocation fails in the
    first step, the run fails with libtorch's "can't allocate memory" (not "x is NULL").

Skipped under the sanitizers: ASan reserves terabytes of address space for its shadow memory,
which no `ulimit -v` admits.
"""
import os
import resource
import subprocess
import sys

from faultlib import Env, SANITIZE, check, conclude, csv_rows, finished_intact, registry_ok


def as_limit(gib):
    n = int(gib * (1 << 30))
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (n, n))


def failed_cleanly(e, rc, err, what, want):
    uuid, status, error, epochs_run = e.q(
        "select uuid, status, error, epochs_run from runs order by rowid desc limit 1")[0]
    check(rc == 1, f"{what}: exit code 1 (rc={rc}, {err[-300:]})")
    for w in want:
        check(w in err and w in (error or ""), f"{what}: {w!r} in the message and the registry: "
                                               f"{err.strip()[-300:]} / {error}")
    check(status == "failed", f"{what}: recorded failed ({status})")
    check(epochs_run == 0 and e.q("select count(*) from epochs where run = ?", uuid)[0][0] == 0,
          f"{what}: no epoch recorded")
    check(e.q("select count(*) from artifacts where run = ?", uuid)[0][0] == 0,
          f"{what}: no artifact")
    check(not os.path.exists(os.path.join(e.exp, uuid, "model.safetensors")),
          f"{what}: no checkpoint file")
    check(e.q("select count(*) from metrics where run = ?", uuid)[0][0] == 0, f"{what}: no metrics")
    registry_ok(e, what)
    finished_intact(e, what)


def main():
    if SANITIZE:
        print("test_oom: skipped under the sanitizers (ulimit -v cannot hold ASan's shadow memory)")
        return 77
    e = Env("oom")
    rc, _, err = e.run("run", e.spec("tiny", epochs=1))
    check(rc == 0, f"baseline run ({err[-300:]})")
    e.remember_finished()

    # the embedding table: 16M buckets x 128 dims, ~32 GiB with the optimizer state
    table = e.spec("table", buckets=16777216, dim=128)
    rc, _, err = e.run("run", table, preexec_fn=as_limit(3), timeout=300)
    failed_cleanly(e, rc, err, "table", ["needs about", "GiB", "ulimit -v"])

    # a tiny model, but no room left for libtorch's and OpenBLAS's buffers
    try:
        rc, _, err = e.run("run", e.spec("cramped"), preexec_fn=as_limit(0.8), timeout=120)
        failed_cleanly(e, rc, err, "cramped", ["needs about", "ulimit -v"])
    except subprocess.TimeoutExpired:
        check(False, "cramped: the run hangs instead of being refused")

    # the batch: 16384 rows x 4096 hidden units, 256 MiB per activation; the weights are small
    e.write("wide.csv", csv_rows(16384, 5))
    wide = e.spec("wide", epochs=1, dim=64, layers="[4096]", batch=16384, train="wide.csv")
    try:
        rc, _, err = e.run("run", wide, preexec_fn=as_limit(1.8), timeout=300)
        failed_cleanly(e, rc, err, "wide batch", ["training step 1", "can't allocate memory"])
    except subprocess.TimeoutExpired:
        check(False, "wide batch: the run hangs instead of failing")

    check(e.q("select count(*) from runs where status = 'running'")[0][0] == 0, "nothing running")
    return conclude("test_oom", e)


if __name__ == "__main__":
    sys.exit(main())
