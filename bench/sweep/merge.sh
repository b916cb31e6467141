#!/usr/bin/env bash
# bench/sweep/merge.sh: `emolab registry merge A.db B.db -o team.db` of two registries of 10,000
# runs each (the leaderboard-scale runs of tests/registry/test_registry_scale: 20 params, 2 x 14
# metrics, 2 x 7 class metrics, 7 thresholds, 8 epochs, 99 curve points: ~250 rows per run, ~5M
# rows in all), into a new team.db; then the same merge again (every run already there: the
# identical-content check over all of them). The bar (issue #10): at most 5 s for the merge.
#
#   bench/sweep/merge.sh [RUNS_PER_REGISTRY] [REPEATS]      default 10000, 3
# Prints emolab's own time for the merge and the command's wall time (process start included).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${EMOLAB_BIN:-$here/build/emolab}"
n="${1:-10000}"
repeats="${2:-3}"
[ -x "$bin" ] || { echo "build emolab first: cmake -S . -B build && cmake --build build -j2" >&2; exit 1; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

/usr/bin/python3 - "$here/registry.db.sql" "$out" "$n" <<'PY'
import sqlite3, sys
schema, out, n = open(sys.argv[1]).read(), sys.argv[2], int(sys.argv[3])
FILL = r"""
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < N - 1) INSERT INTO runs (uuid, name, owner, kind, status, created, started, config_json, config_hash, host, pid, seed, data_variant, sweep_id, run_dir, best_epoch, epochs_run, train_seconds) SELECT printf('%08x-0000-4000-8000-%012x', i + OFFSET, i), printf('variant-%d', (i / 6) % 800), printf('owner%d', i % 7), 'single', 'running', strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', printf('+%d seconds', i * 37)), strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', printf('+%d seconds', i * 37)), printf('{"head":{"dropout":%g},"backbone":{"type":"bow"},"pad":"%s"}', (i % 9) / 10.0, hex(zeroblob(400))), printf('hash-%d', (i / 6) % 1600), 'bench-host', 1, i % 3, CASE WHEN (i / 3) % 2 THEN 'ext' ELSE 'orig' END, printf('sweep-%d', i % 25), printf('experiments/run-%d', i), 5, 8, 60.0 + i % 50 FROM n;
WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < 19) INSERT INTO params (run, key, value) SELECT uuid, CASE j WHEN 0 THEN 'head.dropout' WHEN 1 THEN 'backbone.type' WHEN 2 THEN 'head.layers' ELSE printf('train.knob%02d', j) END, CASE j WHEN 0 THEN printf('%g', (rowid % 9) / 10.0) WHEN 1 THEN '"bow"' WHEN 2 THEN printf('[%d]', 256 + 64 * (rowid % 9)) ELSE printf('%d', (rowid * (j + 3)) % 97) END FROM runs, k;
WITH s(split) AS (VALUES ('val'), ('test')), nm(name, o) AS (VALUES ('weighted_f1', 1), ('macro_f1', 2), ('micro_f1', 3), ('samples_f1', 4), ('weighted_precision', 5), ('weighted_recall', 6), ('macro_precision', 7), ('macro_recall', 8), ('micro_precision', 9), ('micro_recall', 10), ('samples_precision', 11), ('samples_recall', 12), ('rows', 13), ('support', 14)) INSERT INTO metrics (run, split, name, value) SELECT uuid, s.split, nm.name, ((runs.rowid * 2654435761 + o * 40503) % 100003) / 100003.0 FROM runs, s, nm;
WITH s(split) AS (VALUES ('val'), ('test')), lb(label, idx) AS (VALUES ('anger', 0), ('disgust', 1), ('fear', 2), ('joy', 3), ('sadness', 4), ('surprise', 5), ('neutral', 6)) INSERT INTO class_metrics (run, split, label, label_idx, precision, recall, f1, support, tp, fp, fn) SELECT uuid, split, label, idx, ((rowid * 7 + idx) % 101) / 101.0, ((rowid * 11 + idx) % 103) / 103.0, ((rowid * 13 + idx) % 107) / 107.0, 100 + idx, 50, 20, 30 FROM runs, s, lb;
WITH lb(label, idx) AS (VALUES ('anger', 0), ('disgust', 1), ('fear', 2), ('joy', 3), ('sadness', 4), ('surprise', 5), ('neutral', 6)) INSERT INTO thresholds (run, label, label_idx, value) SELECT uuid, label, idx, 0.05 + idx * 0.1 FROM runs, lb;
WITH RECURSIVE e(ep) AS (SELECT 1 UNION ALL SELECT ep + 1 FROM e WHERE ep < 8) INSERT INTO epochs (run, epoch, train_loss, val_loss, val_weighted_f1, val_macro_f1, val_micro_f1, lr, seconds, samples_per_s) SELECT uuid, ep, 1.0 / ep, 1.1 / ep, 0.5 + ep / 100.0, 0.4 + ep / 100.0, 0.45 + ep / 100.0, 1e-3 / ep, 7.5, 5000 FROM runs, e;
WITH RECURSIVE t(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM t WHERE x < 99) INSERT INTO threshold_curve (run, threshold, val_weighted_f1) SELECT uuid, x / 100.0, 0.6 - abs(x - 40) / 200.0 FROM runs, t;
UPDATE runs SET status = 'finished', finished = created;

"""
for name, offset in (("a", 0), ("b", 1 << 28)):
    db = sqlite3.connect(f"{out}/{name}.db", isolation_level=None)
    db.executescript(schema)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript("BEGIN;" + FILL.replace("OFFSET", str(offset)).replace("N - 1", str(n - 1)) + "COMMIT;")
    db.close()
PY
echo "bench/sweep/merge.sh: 2 x $n runs ($(du -h "$out/a.db" | cut -f1) each); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-4s %-38s %10s %10s %10s\n" "rep" "what" "emolab s" "wall s" "CPU s"
for r in $(seq 1 "$repeats"); do
  rm -f "$out/team.db"*
  for what in "merge into a new team.db" "the same merge again (all identical)"; do
    t0=$(date +%s.%N)
    /usr/bin/time -f "%U %S" -o "$out/time.txt" "$bin" registry merge "$out/a.db" "$out/b.db" -o "$out/team.db" \
      > "$out/merge.out" 2> "$out/merge.err" || { cat "$out/merge.err" >&2; exit 1; }
    t1=$(date +%s.%N)
    own=$(sed -n 's/.* in \([0-9.]*\)s$/\1/p' "$out/merge.err")
    cpu=$(awk '{print $1 + $2}' "$out/time.txt")
    printf "%-4s %-38s %10s %10.2f %10s\n" "$r" "$what" "$own" "$(echo "$t1 - $t0" | bc)" "$cpu"
  done
done
runs=$(/usr/bin/python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from runs').fetchone()[0])" "$out/team.db")
echo "team.db: $runs runs (expected $((2 * n))); bar: the merge in at most 5 s. CPU = user + sys of the"
echo "command (libtorch's load included): what the merge costs on an idle machine; wall depends on the load."
