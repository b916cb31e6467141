"""SIGINT / SIGTERM during `emolab run` (issue #11, fault injection).

  - SIGINT and SIGTERM once the second epoch has ended: the current step ends, the run is
    recorded `interrupted` (with why and at which epoch), exit code 130; the best epoch's
    checkpoint is flushed (complete file, its sha256 in the registry, config.json and
    thresholds.json next to it), its epochs, thresholds and validation metrics are in the
    registry; test is never scored on an interrupted run;
  - a signal before the first epoch ends: `interrupted`, exit 130, no checkpoint;
  - a second Ctrl-C during a long step exits at once (130) without waiting for the step; the
    run, which could not be recorded, is marked `interrupted` by the next start.
"""
import hashlib
import os
import signal
import sys
import time

from faultlib import (Env, check, checkpoints_valid, conclude, csv_rows, registry_ok,
                      wait_line)


def last_run(e):
    return e.q("select uuid, status, error, epochs_run, best_epoch from runs "
               "order by rowid desc limit 1")[0]


def interrupted_after_epochs(e, spec, sig):
    name = signal.Signals(sig).name
    p = e.popen("run", spec)
    check(wait_line(p, "epoch 2/400: train loss", 300), f"{name}: two epochs ran")
    t0 = time.time()
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    dt = time.time() - t0
    check(p.returncode == 130, f"{name}: exit code 130 (rc={p.returncode}, {err[-300:]})")
    check(dt < 30, f"{name}: exits soon after the signal ({dt:.1f}s)")
    uuid, status, error, epochs_run, best = last_run(e)
    check(status == "interrupted", f"{name}: recorded interrupted ({status})")
    check(error and "interrupted" in error and f"epoch {epochs_run}" in error,
          f"{name}: the reason names the epoch ({error})")
    check(epochs_run >= 2 and 1 <= best <= epochs_run, f"{name}: epochs {epochs_run}, best {best}")
    check(e.q("select count(*) from epochs where run = ?", uuid)[0][0] == epochs_run,
          f"{name}: one epoch row per epoch run")
    check(e.q("select count(*) from thresholds where run = ?", uuid)[0][0] == 7,
          f"{name}: thresholds recorded")
    check(e.q("select count(*) from metrics where run = ? and split = 'val' and "
              "name = 'weighted_f1'", uuid)[0][0] == 1, f"{name}: val metrics recorded")
    check(e.q("select count(*) from metrics where run = ? and split = 'test'", uuid)[0][0] == 0,
          f"{name}: test not scored")
    art = e.q("select path, sha256 from artifacts where run = ? and kind = 'checkpoint'", uuid)
    check(len(art) == 1, f"{name}: the checkpoint is recorded")
    if art:
        path, sha = art[0]
        with open(path, "rb") as f:
            check(hashlib.sha256(f.read()).hexdigest() == sha, f"{name}: checkpoint sha256")
        d = os.path.dirname(path)
        for f in ("config.json", "thresholds.json"):
            check(os.path.exists(os.path.join(d, f)), f"{name}: {f} next to the checkpoint")
        check(not [f for f in os.listdir(d) if ".tmp." in f], f"{name}: no temporary file left")
    checkpoints_valid(e, name)
    registry_ok(e, name)


def main():
    e = Env("signals", n_train=3000)
    long_spec = e.spec("long", epochs=400)
    for sig in (signal.SIGINT, signal.SIGTERM):
        interrupted_after_epochs(e, long_spec, sig)

    # before the first epoch ends: a big first epoch, interrupted as soon as the run is registered
    e.write("big.csv", csv_rows(60000, 7))
    early = e.spec("early", epochs=2, train="big.csv", batch=8)
    p = e.popen("run", early)
    check(wait_line(p, "run early:", 300), "early: started")
    time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    uuid, status, error, epochs_run, _ = last_run(e)
    check(p.returncode == 130, f"early: exit code 130 (rc={p.returncode}, {err[-300:]})")
    check(status == "interrupted" and epochs_run == 0 and "before the first epoch" in (error or ""),
          f"early: interrupted before the first epoch ({status}, {epochs_run}, {error})")
    check(e.q("select count(*) from artifacts where run = ?", uuid)[0][0] == 0,
          "early: no checkpoint")
    check(not os.path.exists(os.path.join(e.exp, uuid, "model.safetensors")),
          "early: no checkpoint file")

    # a second Ctrl-C during a long step exits at once
    e.write("slow.csv", csv_rows(4096, 8))
    slow = e.spec("slow", epochs=2, train="slow.csv", dim=256, layers="[3072, 3072]", batch=4096,
                  buckets=8192)
    p = e.popen("run", slow)
    check(wait_line(p, "data: train", 300), "slow: data loaded")
    time.sleep(1.0)  # inside the first (multi-second) training step
    p.send_signal(signal.SIGINT)
    time.sleep(0.3)
    alive = p.poll() is None
    check(alive, "slow: the first Ctrl-C lets the step go on")
    t0 = time.time()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    dt = time.time() - t0
    check(p.returncode == 130, f"second Ctrl-C: exit code 130 (rc={p.returncode})")
    check(dt < 2.0, f"second Ctrl-C: exits at once ({dt:.2f}s)")
    check("second Ctrl-C" in err, "second Ctrl-C: says so")
    uuid = last_run(e)[0]
    rc, _, err = e.run("run", long_spec, "--set", "train.epochs=1")
    check(rc == 0, f"the next run finishes ({err[-300:]})")
    st = e.q("select status from runs where uuid = ?", uuid)[0][0]
    check(st == "interrupted", f"second Ctrl-C: the next start marks the run interrupted ({st})")
    registry_ok(e, "signals")
    return conclude("test_signals", e)


if __name__ == "__main__":
    sys.exit(main())
