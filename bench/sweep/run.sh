#!/usr/bin/env bash
# bench/sweep/run.sh: orchestration overhead of `emolab sweep` per trial, beyond the trial's own
# run, on 200 trials of a model that trains for one step (64 training rows, batch 64, 1 epoch,
# bow 4096 x 8, no hidden layer; 32 val / 32 test rows).
#
#   overhead/trial = (wall of `emolab sweep -j J` x J - sum of the trials' own run times) / 200
#
# A trial's own run time is el_run_spec's wall time as the worker measured it around the call
# (its log line "trial N: run UUID finished, ..., run X ms"): registering the run, loading the data,
# training, scoring val and test, recording every result (with the commit's fsync). The overhead
# is everything else: starting emolab (the controller loads libtorch: about 1 s alone on an idle
# machine), validating the sweep and making its 200 trial rows, starting the workers (forks),
# claiming, rebuilding and validating each trial's spec, the reuse lookup, recording the trial,
# the controller's polling, and waiting for the last worker. Also printed: the same against the
# registry's created->finished window of each run, and against train_seconds only (training and
# scoring), for those who count result recording or data loading as overhead too.
# The bar (issue #5): at most 50 ms per trial.
#
#   bench/sweep/run.sh [REPEATS] [JOBS...]     default: 3 repeats, -j 1 and -j 2
# The machine is shared by several engineers: repeat, and read the spread (load average printed).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${EMOLAB_BIN:-$here/build/emolab}"
repeats="${1:-3}"; shift || true
jobs=("$@"); [ ${#jobs[@]} -gt 0 ] || jobs=(1 2)
[ -x "$bin" ] || { echo "build emolab first: cmake -S . -B build && cmake --build build -j2" >&2; exit 1; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

. "$here/bench/sweep/one_step.sh"
one_step_data "$out"
cat > "$out/bench.yaml" <<'YAML'
base: base.yaml
method: grid
parameters:
  train.lr: {values: [0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5]}
seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]
YAML

echo "emolab sweep overhead, 200 one-step trials; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-4s %-3s %7s %11s %15s %11s | %10s %12s %12s\n" "jobs" "rep" "wall s" "runs sum s" "OVERHEAD ms/tr" "load avg" \
  "vs window" "vs train" "worker ms/tr"
for j in "${jobs[@]}"; do
  for r in $(seq 1 "$repeats"); do
    reg="$out/reg-$j-$r.db"
    load=$(cut -d' ' -f1 /proc/loadavg)
    t0=$(date +%s.%N)
    EMOLAB_PROGRESS=0 "$bin" sweep "$out/bench.yaml" -j "$j" --registry "$reg" --experiments "$out/exp-$j-$r" \
      --no-checkpoint > "$out/sweep.out" 2> "$out/sweep.err" || { cat "$out/sweep.err" >&2; exit 1; }
    t1=$(date +%s.%N)
    cat "$out/exp-$j-$r"/sweeps/*/worker-*.log > "$out/logs.txt"
    /usr/bin/python3 - "$reg" "$t0" "$t1" "$j" "$r" "$load" "$out/logs.txt" <<'PY'
import re, sqlite3, sys
from datetime import datetime
reg, t0, t1, j, r, load, logs = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5], \
    sys.argv[6], open(sys.argv[7]).read()
db = sqlite3.connect(reg)
def ts(s): return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
rows = db.execute("SELECT created, finished, train_seconds, status FROM runs").fetchall()
assert len(rows) == 200 and all(x[3] == "finished" for x in rows), f"{len(rows)} runs"
runs_ms = [float(m) for m in re.findall(r"epoch\(s\), run ([0-9.]+) ms", logs)]
assert len(runs_ms) == 200, f"{len(runs_ms)} run lines in the worker logs"
runs = sum(runs_ms) / 1e3
window = sum(ts(f) - ts(c) for c, f, _, _ in rows)
train = sum(t for _, _, t, _ in rows)
# the workers' own per-trial bookkeeping (claim + build + record), from their summary lines
w = [tuple(map(float, m)) for m in re.findall(r"claim ([0-9.]+) ms, build \+ reuse check ([0-9.]+) ms, run [0-9.]+ ms, "
                                             r"record ([0-9.]+) ms", logs)]
n = [int(m) for m in re.findall(r"(\d+) trial\(s\) taken", logs)]
per = sum((a + b + c) * k for (a, b, c), k in zip(w, n)) / max(1, sum(n))
wall = t1 - t0
print(f"{j:<4d} {r:<3s} {wall:7.2f} {runs:11.2f} {(wall * j - runs) / 200 * 1000:15.1f} {load:>11s} | "
      f"{(wall * j - window) / 200 * 1000:10.1f} {(wall * j - train) / 200 * 1000:12.1f} {per:12.1f}")
PY
  done
done
echo "OVERHEAD = (wall x jobs - sum of the trials' own el_run_spec times) / 200; bar: 50 ms. 'worker ms/tr' = claim +"
echo "build + reuse check + record inside the workers; the rest is process start (libtorch load), trial creation, polling."
