#!/usr/bin/env bash
# Builds emolab and runs the whole test suite (ctest). Installs its own dependencies.
#   scripts/test.sh                 everything
#   scripts/test.sh -L shim         one area (any ctest arguments are passed on)
#   EMOLAB_SANITIZE=1 scripts/test.sh   the same suite under ASan+UBSan+LSan (build-asan/)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "${EMOLAB_SANITIZE:-0}" = 1 ]; then
  export EMOLAB_BUILD_DIR="${EMOLAB_BUILD_DIR:-$here/build-asan}"
  export EMOLAB_CMAKE_ARGS="-DEMOLAB_SANITIZE=ON ${EMOLAB_CMAKE_ARGS:-}"
fi
"$here/scripts/setup.sh" --test
bdir="${EMOLAB_BUILD_DIR:-$here/build}"
cd "$bdir"
ctest --output-on-failure --timeout 900 -j "${EMOLAB_TEST_JOBS:-2}" "$@"
