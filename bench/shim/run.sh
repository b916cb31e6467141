#!/usr/bin/env bash
# bench/shim/run.sh: the shim against Debian's python3-torch on the same work, same shapes, same
# thread count, in one invocation. For each of ROUNDS rounds and each benchmark it runs the shim
# program and the python peer (alternating which goes first), then prints the medians over the
# rounds and ratio = peer_time / shim_time (>= 1: the shim is faster; the target is >= 0.95).
#
#   bench/shim/run.sh                       5 rounds, 2 threads, build dir ./build
#   ROUNDS=9 THREADS=2 EMOLAB_BUILD_DIR=/path bench/shim/run.sh
#   ONLY="gemm mlp" bench/shim/run.sh       a subset (gemm, mlp, sparse)
#
# Exits 1 if the gemm or mlp ratio is below 0.95. Timings on a shared machine are noisy: use
# several rounds and read the min..max spread printed next to each median.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${EMOLAB_BUILD_DIR:-$root/build}"
rounds="${ROUNDS:-5}"
threads="${THREADS:-2}"
only="${ONLY:-gemm mlp sparse}"
py="${EMOLAB_TORCH_PYTHON:-/usr/bin/python3}"
# The same OpenMP wait policy for both sides (emolab itself runs with PASSIVE: spinning OpenMP
# threads collapse when other processes share the cores). OMP_WAIT_POLICY=active to compare spinning.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

"$py" -c 'import torch' 2>/dev/null || { echo "run.sh: $py has no torch (apt-get install python3-torch)" >&2; exit 2; }
if [ ! -d "$build" ]; then cmake -S "$root" -B "$build" >/dev/null; fi
cmake --build "$build" --target shim_bench -j2 >/dev/null
bin="$build/tests/shim/shim_bench"

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
echo "bench/shim: $rounds rounds, $threads threads, libtorch $("$py" -c 'import torch; print(torch.__version__)'), $(nproc) cores, OMP_WAIT_POLICY=$OMP_WAIT_POLICY, load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  for b in $only; do
    if [ $((r % 2)) = 1 ]; then order="shim torch"; else order="torch shim"; fi
    for who in $order; do
      if [ "$who" = shim ]; then
        "$bin" --threads "$threads" --only "$b" | sed "s/^/shim $r /" >> "$out"
      else
        "$py" "$here/bench_torch.py" --threads "$threads" --only "$b" | sed "s/^/torch $r /" >> "$out"
      fi
    done
  done
  echo "  round $r done" >&2
done

"$py" - "$out" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
vals = {}
for who, _r, key, v in rows:
    if key != "threads":
        vals.setdefault((key, who), []).append(float(v))
status = 0
print(f"{'metric':<16}{'shim (median)':>16}{'torch (median)':>16}{'ratio':>8}   spread shim | torch")
for key in ("gemm_ms", "gemm_gflops", "mlp_step_ms", "sparse_step_ms"):
    s, t = vals.get((key, "shim")), vals.get((key, "torch"))
    if not s or not t:
        continue
    ms, mt = statistics.median(s), statistics.median(t)
    ratio = ms / mt if key.endswith("gflops") else mt / ms  # peer_time / shim_time
    print(f"{key:<16}{ms:>16.3f}{mt:>16.3f}{ratio:>8.2f}   {min(s):.2f}..{max(s):.2f} | {min(t):.2f}..{max(t):.2f}")
    if key in ("gemm_ms", "mlp_step_ms") and ratio < 0.95:
        print(f"  FAIL: {key} ratio {ratio:.2f} < 0.95")
        status = 1
print("ratio = peer_time / shim_time (for gflops: shim / torch); sparse: shim lazy AdamW vs torch.optim.SparseAdam")
sys.exit(status)
PY
