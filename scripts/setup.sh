#!/usr/bin/env bash
# emolab setup: installs what the build (and, with --test, the tests and benchmarks) need, checks
# that libtorch will use OpenBLAS, and builds emolab into build/ (or $EMOLAB_BUILD_DIR).
# Idempotent: a second run installs nothing and rebuilds only what changed.
#
#   scripts/setup.sh            build dependencies + build
#   scripts/setup.sh --test     + test/bench dependencies and the Python oracle venv (.venv)
#   scripts/setup.sh --no-build dependencies only
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want_test=0
build=1
for a in "$@"; do
  case "$a" in
    --test) want_test=1 ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $a (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

pkgs=(build-essential cmake pkg-config git ca-certificates bc
      libtorch-dev libopenblas0-pthread
      libyaml-dev libsqlite3-dev sqlite3 libcurl4-openssl-dev libjansson-dev libutf8proc-dev libssl-dev)
test_pkgs=(python3 python3-venv python3-torch python3-sklearn python3-numpy
           libmicrohttpd-dev clang libclang-rt-14-dev valgrind chromium
           slurmctld slurmd slurm-client munge)
[ "$want_test" = 1 ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
    sudo=sudo
  fi
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq || die "apt-get update failed"
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install failed for: ${missing[*]}"
fi

# libtorch from Debian calls the system libblas.so.3. With the reference BLAS a 512x768x768 GEMM
# runs at ~5.6 GFLOP/s instead of ~190 with OpenBLAS: refuse to go on silently 35x slower.
alt=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/{print $2}')
case "$alt" in
  *openblas*) ;;
  *) die "libblas.so.3 points at '${alt:-nothing}', not OpenBLAS; libtorch would run ~35x slower.
  Fix: apt-get install libopenblas0-pthread && update-alternatives --auto libblas.so.3-x86_64-linux-gnu" ;;
esac

if [ "$want_test" = 1 ]; then
  venv="$here/.venv"
  req="$here/tests/requirements.txt"
  stamp="$venv/.requirements.sha256"
  sum=$(sha256sum "$req" | cut -d' ' -f1)
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
    say "creating the Python oracle venv in .venv (sees Debian's python3-torch and sklearn)"
    rm -rf "$venv"
    /usr/bin/python3 -m venv --system-site-packages "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" \
      || die "pip install -r tests/requirements.txt failed"
    echo "$sum" > "$stamp"
  fi
fi

if [ "$build" = 1 ]; then
  bdir="${EMOLAB_BUILD_DIR:-$here/build}"
  if [ ! -f "$bdir/CMakeCache.txt" ]; then
    cmake -S "$here" -B "$bdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${EMOLAB_CMAKE_ARGS:-} >/dev/null \
      || die "cmake configure failed"
  fi
  say "building in $bdir"
  cmake --build "$bdir" -j "$(nproc)" 2>&1 | grep -Ev '^\[ *[0-9]+%\]' >&2 || true
  [ "${PIPESTATUS[0]}" = 0 ] || die "build failed"
  [ -x "$bdir/emolab" ] || die "build failed: $bdir/emolab missing"
fi
say "ok"
