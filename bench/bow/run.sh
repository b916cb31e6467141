#!/usr/bin/env bash
# bench/bow/run.sh: emolab's bow model against two Python peers on the ru-go-ekman split, in one
# invocation on this machine: the same bow model in PyTorch eager (Debian python3-torch) and
# TF-IDF + one-vs-rest logistic regression (Debian python3-sklearn). Prints test weighted F1
# (per-class thresholds tuned on val), wall time and training throughput, and the ratios.
#
#   bench/bow/run.sh [SPEC]        default SPEC: configs/bow.yaml
#   EMOLAB_BENCH_SKIP_PEERS=1      emolab only
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
spec="${1:-$here/configs/bow.yaml}"
bin="${EMOLAB_BIN:-$here/build/emolab}"
export EMOLAB_DATA="${EMOLAB_DATA:-$here/../shared/data}"
# emolab sets passive OpenMP waiting for itself; give the Python peers the same policy so that
# both sides are measured alike (override with OMP_WAIT_POLICY=active for both)
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
[ -x "$bin" ] || { echo "build emolab first: scripts/setup.sh" >&2; exit 1; }

t0=$(date +%s.%N)
"$bin" run "$spec" --registry "$out/registry.db" --experiments "$out/exp" --no-checkpoint \
  > "$out/emolab.txt" 2> "$out/emolab.log"
t1=$(date +%s.%N)
cat "$out/emolab.txt" >&2
em_f1=$(awk '/test weighted F1/{print $4}' "$out/emolab.txt")
em_sps=$(awk '/training samples\/s/{print $1}' "$out/emolab.txt")
em_wall=$(echo "$t1 - $t0" | bc)

if [ "${EMOLAB_BENCH_SKIP_PEERS:-0}" != 1 ]; then
  # the same model and hyperparameters as configs/bow.yaml
  /usr/bin/python3 "$here/bench/peers/bow_peer.py" --epochs 4 --dropout 0.5 --emb-lr-scale 25 \
    > "$out/bow.json" 2> "$out/bow.log"
  /usr/bin/python3 "$here/bench/peers/tfidf_peer.py" > "$out/tfidf.json" 2> "$out/tfidf.log"
fi
/usr/bin/python3 - "$out" "$em_f1" "$em_sps" "$em_wall" <<'PY'
import json, os, sys
out, f1, sps, wall = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
rows = [("emolab bow (C, libtorch)", f1, wall, sps)]
for name, fn in (("PyTorch eager bow peer", "bow.json"), ("TF-IDF + LR peer (sklearn)", "tfidf.json")):
    p = os.path.join(out, fn)
    if os.path.exists(p):
        j = json.load(open(p))
        rows.append((name, j["test_weighted_f1"], j["seconds"], j.get("samples_per_s")))
print(f"{'system':28s} {'test wF1':>8s} {'wall s':>7s} {'train samples/s':>16s}")
for n, f, w, s in rows:
    print(f"{n:28s} {f:8.4f} {w:7.1f} {s if s else '-':>16}")
if len(rows) > 1 and rows[1][3]:
    print(f"throughput ratio emolab / PyTorch eager peer: {rows[0][3] / rows[1][3]:.2f}x")
    print(f"wall-time ratio PyTorch eager peer / emolab: {rows[1][2] / rows[0][2]:.2f}x")
PY
