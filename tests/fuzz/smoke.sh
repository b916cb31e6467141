#!/usr/bin/env bash
# The fuzz smoke run (ctest fuzz_smoke): every libFuzzer target of the fuzz build runs for
# $EMOLAB_FUZZ_SMOKE_SECONDS (default 4) from its committed seeds, in a scratch directory that is
# removed afterwards (the failing inputs are kept in BUILD_FUZZ/fuzz-smoke-failures/).
#   tests/fuzz/smoke.sh [BUILD_FUZZ]      (default: $EMOLAB_FUZZ_BUILD_DIR, else build-fuzz next
#                                         to the sources)
# Exit 0: nothing found; 1: a crash, leak, hang or out-of-memory; 77: no fuzz build (skipped).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/fuzz_lib.sh"
bdir="${EMOLAB_FUZZ_BUILD_DIR:-${1:-$here/../../build-fuzz}}"
manifest="$bdir/fuzz_targets.txt"
if [ ! -f "$manifest" ]; then
  echo "fuzz_smoke: no fuzz build at $bdir (scripts/test.sh makes one when clang is installed); skipped"
  exit 77
fi
secs="${EMOLAB_FUZZ_SMOKE_SECONDS:-4}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/emolab-fuzz-smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
bad=0 n=0
while IFS=$'\t' read -r name bin seeds; do
  [ -n "$name" ] || continue
  n=$((n + 1))
  if [ ! -x "$bin" ]; then
    echo "$name: $bin is missing: build the fuzz build (cmake --build $bdir)" >&2
    bad=1
    continue
  fi
  if ! fuzz_run "$name" "$bin" "$seeds" "$secs" "$tmp/$name/corpus" "$tmp/$name/found" \
       "$tmp/$name.log"; then
    bad=1
    mkdir -p "$bdir/fuzz-smoke-failures/$name"
    cp -r "$tmp/$name/found/." "$tmp/$name.log" "$bdir/fuzz-smoke-failures/$name/" 2>/dev/null
    echo "  kept in $bdir/fuzz-smoke-failures/$name" >&2
  fi
done < "$manifest"
[ "$n" -gt 0 ] || { echo "fuzz_smoke: $manifest lists no target" >&2; exit 1; }
echo "fuzz_smoke: $n targets, ${secs}s each: $([ $bad = 0 ] && echo ok || echo FAILED)"
exit $bad
