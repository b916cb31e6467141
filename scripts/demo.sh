#!/usr/bin/env bash
# The main job: set up, build, train on the real data the team's bag-of-words baseline (orig and
# ext variants), the TF-IDF linear model and the word CNN, average the 3 best by validation into
# an ensemble, and print the leaderboard. Installs its own dependencies. About 5-8 minutes on 2
# cores (the CNN is most of it).
#   scripts/demo.sh                   configs/{bow,bow-ext,tfidf,cnn}.yaml, then ensemble --top 3
#   scripts/demo.sh SPEC.yaml ...     other specs (and the ensemble of their best 3, if 3 or more)
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
[ "${#specs[@]}" -gt 0 ] || specs=(configs/bow.yaml configs/bow-ext.yaml configs/tfidf.yaml configs/cnn.yaml)
for s in "${specs[@]}"; do
  echo "== emolab run $s" >&2
  "$bin" run "$s"
done
if [ "${#specs[@]}" -ge 3 ]; then
  echo "== emolab ensemble --top 3 (chosen and tuned on val only)" >&2
  "$bin" ensemble --top 3 --metric val_weighted_f1
fi
mkdir -p reports
"$bin" report -o reports/leaderboard.md
"$bin" report --format html -o reports/leaderboard.html
cat reports/leaderboard.md
echo "(also reports/leaderboard.html; registry $EMOLAB_REGISTRY: emolab ls, emolab show RUN)" >&2
