"""A full disk while emolab writes a checkpoint or the registry (issue #11, fault injection).

  A. the file-size limit (ulimit -f, set in the child) below the checkpoint's size: the run
     fails with a clear message (the file, "File too large"), is recorded `failed` with that
     reason, no model.safetensors and no temporary file is left, no artifact is recorded;
  B. the file-size limit just above the registry's size, at several values, so that the
     registry's writes fail at different moments (the new run's row, an epoch, the final
     transaction): emolab exits 1 (never killed by SIGXFSZ) naming the registry and the limit,
     PRAGMA integrity_check is ok, the earlier finished run is unchanged, and the next start
     leaves nothing `running`;
  C. a really full filesystem (ENOSPC): a 1 MiB tmpfs in a private mount namespace (unshare),
     (1) holding the experiments directory: the checkpoint write fails as in A;
     (2) holding the registry, nearly filled: the registry's write fails, the registry (copied
     out of the namespace) is intact. Skipped, with a message, where mount namespaces are not
     allowed.
"""
import os
import re
import resource
import shutil
import subprocess
import sys

from faultlib import (BIN, Env, check, checkpoints_valid, conclude, finished_intact,
                      registry_ok)


def fsize_limit(n):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (n, n))


def no_leftovers(e, uuid, what):
    d = os.path.join(e.exp, uuid)
    files = os.listdir(d) if os.path.isdir(d) else []
    check("model.safetensors" not in files, f"{what}: no model.safetensors ({files})")
    check(not [f for f in files if ".tmp." in f], f"{what}: no temporary file left ({files})")
    check(e.q("select count(*) from artifacts where run = ?", uuid)[0][0] == 0,
          f"{what}: no artifact recorded")


def last_run(e):
    r = e.q("select uuid, status, error from runs order by rowid desc limit 1")
    return r[0] if r else (None, None, None)


def big_spec(e):
    # a dense 768x768 hidden layer: a ~2.5 MB checkpoint
    return e.spec("big", epochs=2, dim=32, layers="[768, 768]")


def part_a(e):
    rc, out, err = e.run("run", big_spec(e), preexec_fn=fsize_limit(1 << 20))
    uuid, status, error = last_run(e)
    check(rc == 1, f"A: exit code 1 (rc={rc}, {err[-300:]})")
    check("saving the checkpoint" in err and "model.safetensors" in err and "File too large" in err,
          f"A: the message names the checkpoint and the cause: {err.strip()[-300:]}")
    check(status == "failed" and "File too large" in (error or ""),
          f"A: recorded failed with the reason ({status}: {error})")
    no_leftovers(e, uuid, "A")
    registry_ok(e, "A")
    finished_intact(e, "A")


def part_b(e, spec):
    base = os.path.getsize(e.reg)
    seen = set()
    # below the registry's size (its first writes fail), then a little above it (the WAL and the
    # database grow past the limit in a later transaction)
    for limit in [k << 10 for k in (4, 16, 48, 96)] + [base + (k << 10) for k in (4, 16, 64, 256)]:
        n_before = e.q("select count(*) from runs")[0][0]
        rc, out, err = e.run("run", spec, preexec_fn=fsize_limit(limit))
        what = f"B (limit {limit >> 10} KiB, registry {base >> 10} KiB)"
        check(rc in (0, 1), f"{what}: exits 0 or 1, never killed (rc={rc})")
        if rc == 1:
            msg = err.strip().splitlines()[-1] if err.strip() else ""
            check(e.reg in msg and "ulimit -f" in msg and "intact" in msg,
                  f"{what}: the message names the registry and the limit: {msg[-300:]}")
            m = re.search(re.escape(e.reg) + r": ([^:]+):", msg)
            seen.add(m.group(1) if m else msg)
        else:
            seen.add("none")
        registry_ok(e, what)
        finished_intact(e, what)
        checkpoints_valid(e, what)
        if e.q("select count(*) from runs")[0][0] > n_before:
            uuid, status, _ = last_run(e)
            check(status in ("running", "finished", "failed"), f"{what}: status {status}")
    print(f"B: registry writes failed at: {sorted(seen)}")
    check(len(seen - {"none"}) >= 2, f"B: the limits hit at least two different moments ({seen})")
    rc, _, err = e.run("run", spec, "--no-checkpoint")  # the next start, without a limit
    check(rc == 0, f"B: the next run finishes ({err[-300:]})")
    check(e.q("select count(*) from runs where status = 'running'")[0][0] == 0,
          "B: nothing left running after the next start")
    registry_ok(e, "B after")
    e.remember_finished()


def namespace_ok():
    try:
        p = subprocess.run(["unshare", "--mount", "--map-root-user", "--propagation", "private",
                            "sh", "-c", "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs $d "
                            "&& umount $d && rmdir $d"],
                           capture_output=True, text=True, timeout=30)
        return p.returncode == 0, p.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as ex:
        return False, str(ex)


def in_namespace(script, timeout=600):
    p = subprocess.run(["unshare", "--mount", "--map-root-user", "--propagation", "private",
                        "sh", "-c", script], capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, EMOLAB_PROGRESS="0"), start_new_session=True)
    return p.returncode, p.stdout, p.stderr


def part_c(e, spec):
    ok, why = namespace_ok()
    if not ok:
        print(f"C: skipped: cannot mount a tmpfs in a private mount namespace here ({why})")
        return
    mnt = e.path("mnt")
    os.makedirs(mnt)
    # (1) the experiments directory on a full filesystem
    rc, out, err = in_namespace(
        f"mount -t tmpfs -o size=1m tmpfs {mnt} || exit 99; "
        f"{BIN} run {big_spec(e)} --registry {e.reg} --experiments {mnt}/exp; echo RC=$?; "
        f"find {mnt} -type f")
    check(rc == 0 and "RC=1" in out, f"C1: emolab exits 1 ({rc}, {out[-200:]}, {err[-300:]})")
    check("saving the checkpoint" in err and "No space left on device" in err,
          f"C1: the message names the checkpoint and the cause: {err.strip()[-300:]}")
    files = [line for line in out.splitlines() if line.startswith(mnt)]
    check(not [f for f in files if f.endswith("model.safetensors") or ".tmp." in f],
          f"C1: no checkpoint or temporary file left on the full disk: {files}")
    uuid, status, error = last_run(e)
    check(status == "failed" and "No space left" in (error or ""), f"C1: failed ({status}: {error})")
    registry_ok(e, "C1")
    finished_intact(e, "C1")

    # (2) the registry on a nearly full filesystem: copied in, run, copied out
    out_dir = e.path("c2")
    os.makedirs(out_dir)
    reg_size = os.path.getsize(e.reg)
    rc, out, err = in_namespace(
        f"mount -t tmpfs -o size=1m tmpfs {mnt} || exit 99; cp {e.reg} {mnt}/registry.db; "
        # leave ~24 KiB free: the new run's first transactions do not fit
        f"avail=$(df -k --output=avail {mnt} | tail -1); "
        f"dd if=/dev/zero of={mnt}/filler bs=1k count=$((avail - 24)) 2>/dev/null; "
        f"{BIN} run {spec} --registry {mnt}/registry.db --experiments {e.exp} --no-checkpoint; "
        f"echo RC=$?; cp {mnt}/registry.db* {out_dir}/")
    check(rc == 0 and "RC=1" in out, f"C2: emolab exits 1 ({rc}, {out[-200:]}, {err[-300:]})")
    msg = err.strip().splitlines()[-1] if err.strip() else ""
    check("disk is full" in msg and "intact" in msg, f"C2: the message says the disk is full: {msg}")
    copy = Env.__new__(Env)
    copy.dir, copy.reg, copy.exp, copy.finished = out_dir, os.path.join(out_dir, "registry.db"), \
        e.exp, e.finished
    registry_ok(copy, "C2")
    finished_intact(copy, "C2")
    rc, _, err = copy.run("run", spec, "--no-checkpoint")
    check(rc == 0 and copy.q("select count(*) from runs where status = 'running'")[0][0] == 0,
          f"C2: the next start (with space) finishes and leaves nothing running ({err[-200:]})")
    print(f"C: ok (registry {reg_size} bytes)")


def main():
    e = Env("diskfull")
    spec = e.spec("tiny", epochs=2)
    rc, _, err = e.run("run", spec)
    check(rc == 0, f"baseline run finishes ({err[-300:]})")
    e.remember_finished()
    part_a(e)
    part_b(e, spec)
    part_c(e, spec)
    return conclude("test_disk_full", e)


if __name__ == "__main__":
    sys.exit(main())
