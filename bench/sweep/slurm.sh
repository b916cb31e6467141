#!/usr/bin/env bash
# bench/sweep/slurm.sh: the Slurm launcher's overhead per trial, beyond Slurm's own scheduling
# latency, on a real single-node Slurm cluster started (and stopped) here (tests/sweep/
# slurm_cluster.sh; needs root and Debian's slurmctld slurmd slurm-client munge).
#
# TRIALS one-step trials (64 rows, batch 64, bow 4096 x 8) through `emolab sweep --launcher slurm
# -j TASKS` (one job array). For each repeat:
#   wall      the `emolab sweep` command, submission to the end (registry consolidated)
#   latency   Slurm's scheduling latency: the array's first task StartTime - SubmitTime (scontrol)
#   runs      the trials' own el_run_spec times (the workers' log lines)
#   overhead/trial = ((wall - latency) x TASKS - runs) / TRIALS
# i.e. everything emolab adds: the controller's start, writing the sweep directory, sbatch, each
# task's process start (libtorch load), claims, run files, results, consolidation into the
# registry, polling, noticing the end. The bar (issue #10): at most 1 s per trial.
#
#   bench/sweep/slurm.sh [TRIALS] [TASKS] [REPEATS]     default 16 2 3
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${EMOLAB_BIN:-$here/build/emolab}"
trials="${1:-16}"
tasks="${2:-2}"
repeats="${3:-3}"
[ -x "$bin" ] || { echo "build emolab first: cmake -S . -B build && cmake --build build -j2" >&2; exit 1; }
. "$here/tests/sweep/slurm_cluster.sh"
slurm_available || { echo "Slurm is not installed (apt-get install slurmctld slurmd slurm-client munge)" >&2; exit 2; }
out="$(mktemp -d "${TMPDIR:-/tmp}/emolab-bench-slurm-XXXXXX")"
chmod 755 "$out"
trap 'slurm_stop; rm -rf "$out"' EXIT

. "$here/bench/sweep/one_step.sh"
one_step_data "$out"
seeds="$(seq -s, 1 "$trials")"
printf "base: base.yaml\nmethod: grid\nparameters:\n  train.lr: {value: 0.1}\nseeds: [%s]\n" "$seeds" > "$out/bench.yaml"

slurm_start "$out/cluster"
echo "bench/sweep/slurm.sh: $trials one-step trials, $tasks array tasks; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-4s %8s %10s %10s %16s\n" "rep" "wall s" "latency s" "runs s" "overhead s/trial"
for r in $(seq 1 "$repeats"); do
  t0=$(date +%s.%N)
  EMOLAB_PROGRESS=0 "$bin" sweep "$out/bench.yaml" --launcher slurm -j "$tasks" --rerun --registry "$out/reg.db" \
    --experiments "$out/exp" --sweep-dir "$out/sd" --no-checkpoint > "$out/sweep.out" 2> "$out/sweep.err" \
    || { cat "$out/sweep.err" >&2; exit 1; }
  t1=$(date +%s.%N)
  job="$(sed -n 's/^submitted job array \([0-9]*\):.*/\1/p' "$out/sweep.err")"
  id="$(sed -n 's/^sweep \([^ ]*\): [0-9]* trials: .*/\1/p' "$out/sweep.out")"
  timeout 10 scontrol show job "$job" > "$out/job.txt" || true
  cat "$out"/sd/"$id"/logs/*.log > "$out/logs.txt" 2>/dev/null || true
  /usr/bin/python3 - "$t0" "$t1" "$tasks" "$trials" "$out/job.txt" "$out/logs.txt" "$r" <<'PY'
import re, sys
from datetime import datetime
t0, t1, tasks, trials, job, logs, r = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), \
    open(sys.argv[5]).read(), open(sys.argv[6]).read(), sys.argv[7]
def ts(s): return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").timestamp()
subs = [ts(s) for s in re.findall(r"SubmitTime=(\S+)", job)]
starts = [ts(s) for s in re.findall(r"StartTime=(\S+)", job) if s != "Unknown"]
latency = min(starts) - min(subs) if subs and starts else 0.0
runs = sum(float(m) for m in re.findall(r"epoch\(s\), run ([0-9.]+) ms", logs)) / 1e3
wall = t1 - t0
print(f"{r:<4s} {wall:8.2f} {latency:10.2f} {runs:10.2f} {((wall - latency) * tasks - runs) / trials:16.3f}")
PY
done
echo "latency: scontrol's SubmitTime/StartTime have 1 s resolution. Bar: 1 s per trial."
