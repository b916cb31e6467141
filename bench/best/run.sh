#!/usr/bin/env bash
# bench/best/run.sh: the whole search for emolab's best model on the ru-go-ekman split (issue 9),
# timed from the first run to the recorded ensemble, next to the scikit-learn peer in the same
# invocation. Every choice is made on validation; test is only reported.
#
#   1. emolab run configs/tfidf.yaml, configs/bow.yaml          (the fast, diverse members)
#   2. emolab sweep configs/sweeps/best.yaml -j JOBS             (cnn and BiGRU, 3 seeds each)
#   3. emolab ensemble --top K for K in KS                       (thresholds tuned on val)
#   4. the ensemble with the best *val* weighted F1 is the pick
#   5. bench/peers/tfidf_peer.py                                  (TF-IDF + one-vs-rest LR)
# and prints one table: each member, each ensemble, the pick, the peer, and the total wall time.
#
#   bench/best/run.sh [OUT_DIR]      default: a fresh bench/best/out-YYYYmmdd-HHMMSS/
#   JOBS=2 KS="3 5 8"                 sweep workers; ensemble sizes tried
#   EMOLAB_BENCH_SKIP_PEERS=1         emolab only
# OUT_DIR keeps the registry (registry.db), the runs' checkpoints (exp/) and the logs, so the
# leaderboard can be rendered afterwards: build/emolab report --registry OUT_DIR/registry.db
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${EMOLAB_BIN:-$here/build/emolab}"
export EMOLAB_DATA="${EMOLAB_DATA:-$here/../shared/data}"
export EMOLAB_PROGRESS="${EMOLAB_PROGRESS:-0}"
jobs="${JOBS:-2}"
ks="${KS:-3 5 8}"
out="${1:-$here/bench/best/out-$(date +%Y%m%d-%H%M%S)}"
[ -x "$bin" ] || { echo "bench/best: build emolab first (scripts/setup.sh)" >&2; exit 1; }
mkdir -p "$out"
reg="$out/registry.db"
common=(--registry "$reg" --experiments "$out/exp")
log() { printf '[best %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

t0=$(date +%s.%N)
for spec in tfidf bow; do
  log "emolab run configs/$spec.yaml"
  "$bin" run "$here/configs/$spec.yaml" "${common[@]}" > "$out/$spec.txt" 2> "$out/$spec.log" \
    || { echo "bench/best: configs/$spec.yaml failed (see $out/$spec.log)" >&2; exit 1; }
done
log "emolab sweep configs/sweeps/best.yaml -j $jobs"
"$bin" sweep "$here/configs/sweeps/best.yaml" -j "$jobs" "${common[@]}" > "$out/sweep.txt" 2> "$out/sweep.log" \
  || { echo "bench/best: the sweep failed (see $out/sweep.log)" >&2; exit 1; }
for k in $ks; do
  log "emolab ensemble --top $k"
  "$bin" ensemble --top "$k" --metric val_weighted_f1 --name "top$k" --owner emolab "${common[@]}" \
    > "$out/top$k.txt" 2> "$out/top$k.log" \
    || { echo "bench/best: ensemble --top $k failed (see $out/top$k.log)" >&2; exit 1; }
done
t1=$(date +%s.%N)
search_s=$(echo "$t1 - $t0" | bc)

if [ "${EMOLAB_BENCH_SKIP_PEERS:-0}" != 1 ]; then
  log "scikit-learn peer"
  /usr/bin/python3 "$here/bench/peers/tfidf_peer.py" > "$out/peer.json" 2> "$out/peer.log"
fi

/usr/bin/python3 - "$reg" "$out/peer.json" "$search_s" "$jobs" <<'PY'
import json, os, sqlite3, sys
reg, peer, search_s, jobs = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
db = sqlite3.connect(f"file:{reg}?mode=ro", uri=True)
rows = db.execute("""
  SELECT r.name, r.kind, v.value, t.value,
         (julianday(r.finished) - julianday(r.started)) * 86400.0
  FROM runs r
  JOIN metrics v ON v.run = r.uuid AND v.split = 'val'  AND v.name = 'weighted_f1'
  JOIN metrics t ON t.run = r.uuid AND t.split = 'test' AND t.name = 'weighted_f1'
  WHERE r.status = 'finished' ORDER BY r.kind DESC, v.value DESC""").fetchall()
print(f"{'run':<34} {'kind':<9} {'val wF1':>8} {'test wF1':>9} {'wall s':>8}")
for name, kind, v, t, s in rows:
    wall = f"{s:8.1f}" if kind == "single" and s is not None else f"{'-':>8}"  # ensembles: no training
    print(f"{name:<34} {kind:<9} {v:8.4f} {t:9.4f} {wall}")
singles = [r for r in rows if r[1] == "single"]
ens = [r for r in rows if r[1] == "ensemble"]
best_single = max(singles, key=lambda r: r[2])
pick = max(singles + ens, key=lambda r: r[2])
print()
print(f"best single by val: {best_single[0]}  val {best_single[2]:.4f}  test {best_single[3]:.4f}")
print(f"best entry by val:  {pick[0]}  val {pick[2]:.4f}  test {pick[3]:.4f}")
print(f"whole search (runs + sweep -j {jobs} + ensembles): {search_s:.0f} s = {search_s / 60:.1f} min")
if os.path.exists(peer):
    p = json.load(open(peer))
    print(f"TF-IDF + LR peer (scikit-learn): val {p['val_weighted_f1']:.4f}  test "
          f"{p['test_weighted_f1']:.4f}  in {p['seconds']:.0f} s")
    print(f"best entry - peer on test: {pick[3] - p['test_weighted_f1']:+.4f}")
PY
echo "registry: $reg   (build/emolab report --registry $reg)"
