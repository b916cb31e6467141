"""kill -9 of `emolab run` at many random moments (issue #11, fault injection).

Tiny runs (200 train rows, 4 epochs) are started one after the other on one registry and killed
with SIGKILL (the whole process group) at a random moment: some while libtorch loads, most between
the registry's first write and the process exit (data loading, epochs and their registry rows,
the checkpoint write, the final transaction). After every kill:
  - PRAGMA integrity_check is ok;
  - every run that had finished is still there, unchanged (metrics, per-class metrics,
    thresholds, epochs, artifacts) and its checkpoint file still matches its recorded sha256;
  - every model.safetensors under experiments/ is a complete file (a kill during the checkpoint
    write leaves at most a temporary file, never a truncated model.safetensors);
  - no run was recorded `failed` (a kill is not a failure).
At the end one more run (the next start) leaves nothing `running`: each killed run that had
registered is `interrupted`.
EMOLAB_FAULT_KILLS (default 50) sets the number of kills; EMOLAB_FAULT_SEED the moments.
"""
import os
import random
import re
import sys
import time

from faultlib import (Env, check, checkpoints_valid, conclude, finished_intact, kill_group,
                      registry_ok, wait_line)


def main():
    kills = int(os.environ.get("EMOLAB_FAULT_KILLS", "50"))
    rng = random.Random(int(os.environ.get("EMOLAB_FAULT_SEED", "20240611")))
    e = Env("kill9")
    spec = e.spec(epochs=4)

    # calibration: a complete run, its whole time and the time after its registry row exists
    t0 = time.time()
    p = e.popen("run", spec)
    check(wait_line(p, "run tiny:", 300), "calibration run starts")
    t1 = time.time()
    out, err = p.communicate(timeout=300)
    t2 = time.time()
    check(p.returncode == 0, f"calibration run finishes (rc={p.returncode}, {err[-300:]})")
    total, after = t2 - t0, t2 - t1
    print(f"one run: {total:.2f}s, {after:.2f}s after its registry row", flush=True)
    e.remember_finished()

    phases = {"before the registry": 0, "during the run": 0, "after it finished": 0}  # as recorded
    t_start = time.time()
    for i in range(kills):
        n_rows = e.q("select count(*) from runs")[0][0]
        p = e.popen("run", spec, "--set", f"train.seed={i + 2}")
        if i % 5 == 0:  # anywhere in the process's life, libtorch's loading included
            time.sleep(rng.uniform(0, total * 1.1))
        else:           # once it has a registry row: data, epochs, checkpoint, final rows
            wait_line(p, "run tiny:", 300)
            time.sleep(rng.uniform(0, after * 1.15))
        kill_group(p)
        p.wait(timeout=60)
        out = p.stdout.read()
        p.stdout.close()
        p.stderr.close()
        new = e.q("select status from runs order by rowid desc limit 1") \
            if e.q("select count(*) from runs")[0][0] > n_rows else []
        if p.returncode == 0:
            m = re.search(r"^run ([0-9a-f-]{36}) ", out, re.M)
            check(m is not None, f"kill {i}: a run that exited 0 printed its uuid")
        if new == [("finished",)]:
            phases["after it finished"] += 1
        elif new:
            check(new == [("running",)], f"kill {i}: the killed run is running until the next "
                                         f"start ({new})")
            phases["during the run"] += 1
        else:
            phases["before the registry"] += 1
        what = f"kill {i}"
        registry_ok(e, what)
        finished_intact(e, what)
        checkpoints_valid(e, what)
        check(e.q("select count(*) from runs where status = 'failed'")[0][0] == 0,
              f"{what}: no run recorded failed")
        e.remember_finished()
        if failures_so_far():
            break
    elapsed = time.time() - t_start

    # the next start marks every killed run interrupted
    rc, out, err = e.run("run", spec, "--set", "train.seed=999")
    check(rc == 0, f"the run after the kills finishes (rc={rc}, {err[-300:]})")
    registry_ok(e, "after the kills")
    e.remember_finished()
    finished_intact(e, "after the kills")
    statuses = dict(e.q("select status, count(*) from runs group by status"))
    check(statuses.get("running", 0) == 0, f"nothing left running: {statuses}")
    check(set(statuses) <= {"finished", "interrupted"}, f"only finished/interrupted: {statuses}")
    check(statuses.get("interrupted", 0) == phases["during the run"],
          f"each run killed after registering is interrupted: {statuses} vs {phases}")
    n_fin = statuses.get("finished", 0)
    check(n_fin == len(e.finished) and n_fin == phases["after it finished"] + 2,
          f"finished runs: {n_fin} in the registry, {len(e.finished)} seen, {phases}")
    for (u,) in e.q("select uuid from runs where status = 'interrupted'"):
        check(e.q("select count(*) from metrics where run = ? and split = 'test'", u)[0][0] == 0,
              f"interrupted run {u} has no test metrics")
    print(f"{kills} kills in {elapsed:.0f}s: " + ", ".join(f"{v} {k}" for k, v in phases.items()))
    tmp_left = [f for d, _, fs in os.walk(e.exp) for f in fs if ".tmp." in f]
    print(f"temporary files left by kills during a write: {len(tmp_left)}")
    return conclude("test_kill9", e)


def failures_so_far():
    from faultlib import failures
    return len(failures) > 0


if __name__ == "__main__":
    sys.exit(main())
