#!/usr/bin/env bash
# Long fuzz runs (the issue's bar: 10 minutes per target, 0 crashes, hangs, leaks).
#   tests/fuzz/run_long.sh TARGET[,TARGET...]|all [SECONDS=600] [PARALLEL=1]
#   tests/fuzz/run_long.sh list
# TARGET is a name from build-fuzz/fuzz_targets.txt (e.g. fuzz_safetensors); `all` runs every
# target, PARALLEL of them at a time (each libFuzzer process uses one core). The working corpus
# grows in build-fuzz/fuzz-corpus/TARGET/ across runs (seeded from the committed seeds), findings
# go to build-fuzz/fuzz-artifacts/TARGET/, logs to build-fuzz/fuzz-logs/. One summary line per
# target: executions, executions per second, coverage (libFuzzer's cov: and ft:), corpus.
# Build first: CC=clang CXX=clang++ cmake -S . -B build-fuzz -DEMOLAB_FUZZ=ON -DEMOLAB_FUZZ_ONLY=ON
#              && cmake --build build-fuzz -j2      (scripts/test.sh does this too)
# A found input: replay it with `build-fuzz/.../fuzz_X INPUT`, fix the parser, and commit the
# input to tests/fuzz/regress/<X>/ (tests/fuzz targets; replayed by ctest) or the area's corpus.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/fuzz_lib.sh"
bdir="${EMOLAB_FUZZ_BUILD_DIR:-$here/../../build-fuzz}"
manifest="$bdir/fuzz_targets.txt"
[ -f "$manifest" ] || { echo "run_long.sh: no fuzz build at $bdir (see the comment at the top)" >&2; exit 2; }
what="${1:-}"
secs="${2:-600}"
par="${3:-1}"
if [ -z "$what" ] || [ "$what" = list ]; then
  cut -f1 "$manifest"
  exit 0
fi
one() {
  local name=$1 bin=$2 seeds=$3
  local stamp; stamp=$(date +%Y%m%d-%H%M%S)
  mkdir -p "$bdir/fuzz-logs"
  fuzz_run "$name" "$bin" "$seeds" "$secs" "$bdir/fuzz-corpus/$name" "$bdir/fuzz-artifacts/$name" \
    "$bdir/fuzz-logs/$name-$stamp.log"
}
bad=0 found=0
pids=()
while IFS=$'\t' read -r name bin seeds; do
  [ "$what" = all ] || [[ ",$what," == *",$name,"* ]] || continue
  found=1
  if [ "$par" -le 1 ]; then
    one "$name" "$bin" "$seeds" || bad=1
  else
    one "$name" "$bin" "$seeds" &
    pids+=($!)
    if [ "${#pids[@]}" -ge "$par" ]; then
      wait "${pids[0]}" || bad=1
      pids=("${pids[@]:1}")
    fi
  fi
done < "$manifest"
for p in "${pids[@]}"; do wait "$p" || bad=1; done
[ "$found" = 1 ] || { echo "run_long.sh: no target $what (run_long.sh list)" >&2; exit 2; }
exit $bad
