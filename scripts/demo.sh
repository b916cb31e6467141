#!/usr/bin/env bash
# The main job: set up, build, train the team's bag-of-words baseline on the real data (orig and
# ext variants), and print the leaderboard. Installs its own dependencies.
#   scripts/demo.sh                   configs/bow.yaml and configs/bow-ext.yaml
#   scripts/demo.sh SPEC.yaml ...     other specs
# Data: ../shared/data (or $EMOLAB_DATA). Registry: ./registry.db (or $EMOLAB_REGISTRY).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
"$here/scripts/setup.sh"
bin="${EMOLAB_BUILD_DIR:-$here/build}/emolab"
export EMOLAB_DATA="${EMOLAB_DATA:-$here/../shared/data}"
export EMOLAB_REGISTRY="${EMOLAB_REGISTRY:-$here/registry.db}"
[ -d "$EMOLAB_DATA" ] || { echo "demo: data root $EMOLAB_DATA not found; set EMOLAB_DATA" >&2; exit 1; }

"$bin" --version
"$bin" selfcheck
specs=("$@")
[ "${#specs[@]}" -gt 0 ] || specs=(configs/bow.yaml configs/bow-ext.yaml)
for s in "${specs[@]}"; do
  echo "== emolab run $s" >&2
  "$bin" run "$s"
done
mkdir -p reports
"$bin" report -o reports/leaderboard.md
"$bin" report --format html -o reports/leaderboard.html
cat reports/leaderboard.md
echo "(also reports/leaderboard.html; registry $EMOLAB_REGISTRY: emolab ls, emolab show RUN)" >&2
