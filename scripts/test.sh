#!/usr/bin/env bash
# Builds emolab and runs the whole test suite (ctest). Installs its own dependencies.
#   scripts/test.sh                 everything
#   scripts/test.sh -L shim         one area (any ctest arguments are passed on)
#   EMOLAB_SANITIZE=1 scripts/test.sh   the same suite under ASan+UBSan+LSan (build-asan/)
# With clang installed (setup.sh --test installs it) it also builds the libFuzzer targets into
# build-fuzz/ (clang, only the parsers' C sources: no libtorch, no shim), which the ctest
# fuzz_smoke runs for a few seconds each; EMOLAB_NO_FUZZ=1 skips that build.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "${EMOLAB_SANITIZE:-0}" = 1 ]; then
  export EMOLAB_BUILD_DIR="${EMOLAB_BUILD_DIR:-$here/build-asan}"
  export EMOLAB_CMAKE_ARGS="-DEMOLAB_SANITIZE=ON ${EMOLAB_CMAKE_ARGS:-}"
fi
"$here/scripts/setup.sh" --test
bdir="${EMOLAB_BUILD_DIR:-$here/build}"

if [ "${EMOLAB_SANITIZE:-0}" != 1 ] && [ "${EMOLAB_NO_FUZZ:-0}" != 1 ] && command -v clang >/dev/null; then
  fdir="${EMOLAB_FUZZ_BUILD_DIR:-$here/build-fuzz}"
  export EMOLAB_FUZZ_BUILD_DIR="$fdir"
  if [ ! -f "$fdir/CMakeCache.txt" ]; then
    CC=clang CXX=clang++ cmake -S "$here" -B "$fdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DEMOLAB_FUZZ=ON -DEMOLAB_FUZZ_ONLY=ON >/dev/null \
      || { echo "[test] error: configuring the fuzz build in $fdir failed" >&2; exit 1; }
  fi
  echo "[test] building the fuzz targets in $fdir" >&2
  cmake --build "$fdir" -j "$(nproc)" 2>&1 | grep -Ev '^\[ *[0-9]+%\]' >&2 || true
  [ "${PIPESTATUS[0]}" = 0 ] || { echo "[test] error: the fuzz build failed" >&2; exit 1; }
fi

cd "$bdir"
ctest --output-on-failure --timeout 900 -j "${EMOLAB_TEST_JOBS:-2}" "$@"
