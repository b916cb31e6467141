#!/usr/bin/env bash
# bench/backbones/run.sh: emolab's from-scratch backbones against the scikit-learn TF-IDF peer on
# the ru-go-ekman split, in one invocation on this machine. Prints val / test weighted F1
# (per-class thresholds tuned on val) and wall time of each, and the peer's.
#
#   bench/backbones/run.sh [SPEC...]   default: configs/tfidf.yaml configs/cnn.yaml configs/rnn.yaml
#                                      configs/transformer.yaml
#   EMOLAB_BENCH_SKIP_PEERS=1          emolab only
# On a machine shared with other jobs, OMP_WAIT_POLICY=passive keeps libtorch's two OpenMP
# threads from spinning against each other (it is set here unless already set).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${EMOLAB_BIN:-$here/build/emolab}"
export EMOLAB_DATA="${EMOLAB_DATA:-$here/../shared/data}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
[ -x "$bin" ] || { echo "build emolab first: scripts/setup.sh" >&2; exit 1; }
specs=("$@")
[ ${#specs[@]} -gt 0 ] || specs=("$here/configs/tfidf.yaml" "$here/configs/cnn.yaml" "$here/configs/rnn.yaml"
                                 "$here/configs/transformer.yaml")

: > "$out/rows.tsv"
for spec in "${specs[@]}"; do
  name=$(basename "$spec" .yaml)
  t0=$(date +%s.%N)
  "$bin" run "$spec" --registry "$out/registry.db" --experiments "$out/exp" --no-checkpoint \
    > "$out/$name.txt" 2> "$out/$name.log" || { echo "$spec failed:" >&2; tail -5 "$out/$name.log" >&2; continue; }
  t1=$(date +%s.%N)
  val=$(awk '/val  weighted F1/{print $4}' "$out/$name.txt")
  tst=$(awk '/test weighted F1/{print $4}' "$out/$name.txt")
  printf 'emolab %s\t%s\t%s\t%.1f\n' "$name" "$val" "$tst" "$(echo "$t1 - $t0" | bc)" >> "$out/rows.tsv"
done
if [ "${EMOLAB_BENCH_SKIP_PEERS:-0}" != 1 ]; then
  /usr/bin/python3 "$here/bench/peers/tfidf_peer.py" > "$out/tfidf.json" 2> "$out/tfidf.log"
  /usr/bin/python3 - "$out/tfidf.json" >> "$out/rows.tsv" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print(f"TF-IDF + LR peer (sklearn)\t{j['val_weighted_f1']}\t{j['test_weighted_f1']}\t{j['seconds']}")
PY
fi
printf '%-28s %8s %8s %8s\n' system "val wF1" "test wF1" "wall s"
while IFS=$'\t' read -r n v t w; do printf '%-28s %8s %8s %8s\n' "$n" "$v" "$t" "$w"; done < "$out/rows.tsv"
