#!/usr/bin/env bash
# bench/report/run.sh: `emolab report` over a registry of 10,000 finished runs, every format.
# Bar (issue #4): rendering any format takes at most 1 second.
#
#   bench/report/run.sh                 5 rounds, build dir ./build, registry on /dev/shm
#   ROUNDS=9 EMOLAB_BUILD_DIR=/path bench/report/run.sh
#
# 1. generates the registry (report_bench --generate: the schema as emolab creates it, then SQL:
#    ~1,700 variants x 3 seeds x orig/ext, 60 params, 28 metrics, 14 class metrics, 7
#    thresholds, 8 epochs, 19 curve points per run: ~1.4 million rows);
# 2. times each format in process (read-only open + queries + aggregation + rendering), best
#    of ROUNDS, wall and CPU time (report_bench --registry);
# 3. times the CLI end to end (`emolab report --format F > /dev/null`), best of ROUNDS, next to
#    the bare start of the emolab binary (`emolab --version`): the binary links libtorch, whose
#    loading and static initialisation cost about half a second of CPU before main() runs.
# The machine is shared: timings are the best of the rounds; the load average is printed.
# Exits 1 when the in-process time of a format is above 1 s in every round.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${EMOLAB_BUILD_DIR:-$root/build}"
rounds="${ROUNDS:-5}"
if [ ! -f "$build/CMakeCache.txt" ]; then cmake -S "$root" -B "$build" >/dev/null; fi
cmake --build "$build" --target emolab report_bench -j2 >/dev/null
bench="$build/tests/report/report_bench"
bin="$build/emolab"
dir="$(mktemp -d "${BENCH_TMP:-/dev/shm}/emolab-report-bench.XXXXXX")"
trap 'rm -rf "$dir"' EXIT
reg="$dir/registry.db"

"$bench" --generate "$reg" --runs 10000
code=0
"$bench" --registry "$reg" --rounds "$rounds" || code=$?

best_of() { # best wall seconds of $rounds runs of a command (stdout discarded)
  local best=999 t0 t1 t
  for _ in $(seq 1 "$rounds"); do
    t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N)
    t=$(echo "$t1 - $t0" | bc)
    if [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
  done
  printf '%.3f' "$best"
}
echo
echo "CLI end to end, best of $rounds (load average $(cut -d' ' -f1 /proc/loadavg)):"
start=$(best_of "$bin" --version)
printf '  %-28s %6s s   (process start: libtorch loads before main)\n' "emolab --version" "$start"
for f in md html csv json; do
  t=$(best_of "$bin" report --registry "$reg" --format "$f")
  printf '  %-28s %6s s   (minus the start: %.3f s)\n' "emolab report --format $f" "$t" "$(echo "$t - $start" | bc)"
done
exit $code
