#!/usr/bin/env bash
# bench/hf/run.sh: emolab's encoder training step against transformers' BertModel in PyTorch eager
# (Debian's python3-torch) on the same work, same shapes, same thread count, in one invocation.
# The step: 4-layer, 256-hidden, 4-head, FFN-1024 BERT, vocab 30522, batch 32, length 64,
# dropout 0.1, CLS -> linear(256, 7) -> BCE, backward, AdamW over every parameter.
#
# For each of ROUNDS rounds it runs bench_hf (emolab) and peer_bert.py (transformers), alternating
# which goes first, each timing STEPS steps after 3 warm-up steps (median per process). Then it
# prints the medians over the rounds, ratio = peer_time / emolab_time (>= 1: emolab is at least
# as fast; the bar is >= 1.0), the achieved matmul GFLOP/s of each and the GEMM peak (1024^3
# float32 matmul) measured by both in the same rounds.
#
#   bench/hf/run.sh                          7 rounds, 2 threads, 10 steps, build dir ./build
#   ROUNDS=15 THREADS=2 STEPS=10 EMOLAB_BUILD_DIR=/path bench/hf/run.sh
#   BENCH_ARGS="--layers 2 --batch 16" bench/hf/run.sh    other shapes (both sides)
#
# Exits 1 if the ratio is below 1.0. On a shared machine timings are noisy (other processes take
# the cores; OpenMP threads then wait for each other): read the min..max spread next to each
# median and use more rounds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${EMOLAB_BUILD_DIR:-$root/build}"
rounds="${ROUNDS:-7}"
threads="${THREADS:-2}"
steps="${STEPS:-10}"
args="${BENCH_ARGS:-}"
py="${EMOLAB_PYTHON:-$root/.venv/bin/python}"
# emolab runs with OMP_WAIT_POLICY=PASSIVE (runner/main.c: spinning OpenMP workers collapse when
# other processes share the cores); both sides are measured alike (OMP_WAIT_POLICY=active for both
# to compare spinning)
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

"$py" -c 'import torch, transformers' 2>/dev/null || {
  echo "run.sh: $py lacks torch/transformers (scripts/setup.sh --test makes .venv)" >&2; exit 2; }
if [ ! -d "$build" ]; then cmake -S "$root" -B "$build" >/dev/null; fi
cmake --build "$build" --target hf_bench -j2 >/dev/null
bin="$build/tests/hf_model/hf_bench"

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
echo "bench/hf: $rounds rounds x $steps steps, $threads threads, torch $("$py" -c 'import torch; print(torch.__version__)'), transformers $("$py" -c 'import transformers; print(transformers.__version__)' 2>/dev/null), $(nproc) cores, OMP_WAIT_POLICY=$OMP_WAIT_POLICY, load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then order="emolab peer"; else order="peer emolab"; fi
  for who in $order; do
    if [ "$who" = emolab ]; then
      # shellcheck disable=SC2086
      "$bin" --threads "$threads" --steps "$steps" $args | sed "s/^/emolab $r /" >> "$out"
    else
      # shellcheck disable=SC2086
      "$py" "$here/peer_bert.py" --threads "$threads" --steps "$steps" $args 2>/dev/null | sed "s/^/peer $r /" >> "$out"
    fi
  done
  echo "  round $r done (load $(cut -d' ' -f1 /proc/loadavg))" >&2
done

"$py" - "$out" <<'PY'
import statistics, sys
vals = {}
for line in open(sys.argv[1]):
    who, _r, key, v = line.split()
    if key != "threads":
        vals.setdefault((key, who), []).append(float(v))
e, p = vals[("step_ms", "emolab")], vals[("step_ms", "peer")]
me, mp = statistics.median(e), statistics.median(p)
ratio = mp / me
# per-round ratios (the two ran back to back) are less sensitive to slow drifts of the load
rr = [b / a for a, b in zip(e, p)]
print(f"{'':<26}{'emolab':>12}{'transformers':>14}   spread emolab | transformers")
print(f"{'step ms (median)':<26}{me:>12.1f}{mp:>14.1f}   {min(e):.0f}..{max(e):.0f} | {min(p):.0f}..{max(p):.0f}")
ge, gp = vals[("step_gflops", "emolab")], vals[("step_gflops", "peer")]
print(f"{'matmul GFLOP/s (median)':<26}{statistics.median(ge):>12.1f}{statistics.median(gp):>14.1f}")
ke, kp = vals[("gemm_gflops", "emolab")], vals[("gemm_gflops", "peer")]
peak = statistics.median(ke + kp)
print(f"{'GEMM 1024^3 GFLOP/s':<26}{statistics.median(ke):>12.1f}{statistics.median(kp):>14.1f}   peak (median of both) {peak:.1f}")
print(f"emolab reaches {100 * statistics.median(ge) / peak:.0f}% of the GEMM peak, transformers {100 * statistics.median(gp) / peak:.0f}%")
print(f"ratio = transformers / emolab step time: {ratio:.2f} (median of per-round ratios {statistics.median(rr):.2f}, "
      f"range {min(rr):.2f}..{max(rr):.2f})")
if ratio < 1.0:
    print("FAIL: ratio below 1.0")
    sys.exit(1)
PY
