#!/usr/bin/env bash
# test_sweep_slurm.sh: `emolab sweep --launcher slurm` on a real single-node Slurm cluster that this
# test starts and stops (slurm_cluster.sh). Skipped (77) when Slurm is not installed.
#  1. a sweep of 8 tiny trials through the Slurm launcher (a job array of 3 `emolab worker` tasks on
#     a sweep directory) ends with exactly the trials and finished runs that the same sweep run
#     with the local launcher produces (config hash, seed, status per trial);
#  2. the same sweep again through Slurm trains nothing (reused);
#  3. a slower sweep of 8 trials with 3 array tasks: one task is cancelled with scancel (SIGTERM:
#     its trial is given back at once), another one's worker is killed with SIGKILL mid-trial (a
#     crashed node: no goodbye; its claim is taken over when its 4-second lease expires; workers
#     carry per-task host names so that only the lease can tell); --status shows the dead claim with
#     its job; the sweep still ends with exactly 8 done trials and 8 finished runs, none doubled;
#  4. bad input: no sbatch on PATH, a rejected submission (bad partition) quoting Slurm's message.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${EMOLAB_BIN:?run through ctest (EMOLAB_BIN)}"
. "$here/slurm_cluster.sh"
if ! slurm_available; then
  echo "skipped: Slurm is not installed (apt-get install slurmctld slurmd slurm-client munge)"
  exit 77
fi
if [ "$(id -u)" != 0 ]; then
  echo "skipped: the test cluster runs slurmd as root (run as root, as CI does)"
  exit 77
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/emolab-slurm-XXXXXX")"
cleanup() {
  slurm_stop || true
  [ -n "${bg:-}" ] && kill -KILL -- "-$bg" 2>/dev/null || true
  [ "${EMOLAB_KEEP_TMP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work"
fails=0
check() { # check "what" command...
  local what="$1"; shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; fails=$((fails + 1)); fi
}
q() { python3 -c 'import sqlite3, sys; print("\n".join("|".join(map(str, r)) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])))' "$@"; }

# tiny learnable data and specs
python3 - "$work" <<'PY'
import random, sys
out = sys.argv[1]
random.seed(3)
ids = [2, 11, 14, 17, 25, 26, 27]
kw = {2: "злость ярость", 11: "мерзко фу", 14: "страшно ужас", 17: "радость ура", 25: "грустно тоска",
      26: "вау неожиданно", 27: "стол окно"}
for name, n in (("train", 300), ("val", 80), ("test", 80), ("slow", 6000)):
    with open(f"{out}/{name}.csv", "w") as f:
        f.write("id,ru_text,labels\n")
        for i in range(n):
            l = random.choice(ids)
            f.write(f'{name}{i},"{random.choice(kw[l].split())} и это {random.choice(kw[random.choice(ids)].split())}",[{l}]\n')
PY
cat > "$work/base.yaml" <<YAML
name: tiny
data:
  labels: ekman7
  root: $work
  train: [{path: train.csv, format: goemotions}]
  val: {path: val.csv, format: goemotions}
  test: {path: test.csv, format: goemotions}
  drop_train_overlapping_eval: false
backbone: {type: bow, dim: 8, buckets: 4096, word_ngrams: 1, char_ngrams: [3, 3]}
head: {layers: []}
train: {epochs: 1, batch_size: 512, lr: 0.3, early_stopping: {patience: 0}}
YAML
cat > "$work/eight.yaml" <<'YAML'
base: base.yaml
method: grid
parameters:
  train.lr: {values: [0.05, 0.1, 0.2, 0.4]}
seeds: [1, 2]
YAML
cat > "$work/slow.yaml" <<'YAML'
base: base.yaml
method: grid
parameters:
  train.lr: {values: [0.05, 0.1, 0.2, 0.4]}
  train.epochs: {value: 8}
  train.batch_size: {value: 4}
  data.train: {value: [{path: slow.csv, format: goemotions}]}
seeds: [1, 2]
YAML
export EMOLAB_PROGRESS=0

t0=$(date +%s)
slurm_start "$work/cluster"
echo "cluster up in $(( $(date +%s) - t0 )) s"

# 1. local reference, then the Slurm launcher
"$bin" sweep "$work/eight.yaml" -j 2 --registry "$work/local.db" --experiments "$work/exp" --no-checkpoint \
  > "$work/local.out" 2> "$work/local.err" || { cat "$work/local.err"; exit 1; }
rc=0
timeout 300 "$bin" sweep "$work/eight.yaml" --launcher slurm -j 3 --registry "$work/slurm.db" \
  --experiments "$work/exp" --sweep-dir "$work/sd" --no-checkpoint > "$work/slurm.out" 2> "$work/slurm.err" || rc=$?
check "slurm sweep exit 0 (got $rc)" [ "$rc" = 0 ]
[ "$rc" = 0 ] || cat "$work/slurm.err"
check "submitted a job array" grep -q "submitted job array" "$work/slurm.err"
trials="SELECT idx, config_hash, seed, status FROM sweep_trials ORDER BY idx"
runs="SELECT config_hash, seed FROM runs WHERE status = 'finished' ORDER BY 1, 2"
check "same trials as the local launcher" [ "$(q "$work/local.db" "$trials")" = "$(q "$work/slurm.db" "$trials")" ]
check "same finished runs as the local launcher" [ "$(q "$work/local.db" "$runs")" = "$(q "$work/slurm.db" "$runs")" ]
check "exactly 8 finished runs" [ "$(q "$work/slurm.db" "SELECT count(*) FROM runs")" = 8 ]
check "8 trials done, each with its run" \
  [ "$(q "$work/slurm.db" "SELECT count(*) FROM sweep_trials t JOIN runs r ON r.uuid = t.run WHERE t.status = 'done'")" = 8 ]
check "claims recorded Slurm job ids" \
  [ "$(q "$work/slurm.db" "SELECT count(*) FROM sweep_trials WHERE claim_job LIKE '%\_%' ESCAPE '\\'")" -ge 1 ]
check "the worker logs are Slurm's" bash -c "ls '$work'/sd/*/logs/*_*.log >/dev/null"
# --collect is idempotent
"$bin" sweep "$work/eight.yaml" --collect --registry "$work/slurm.db" > "$work/collect.out"
check "collect again changes nothing" [ "$(q "$work/slurm.db" "SELECT count(*) FROM runs")" = 8 ]

# 2. again: everything reused, nothing submitted
timeout 120 "$bin" sweep "$work/eight.yaml" --launcher slurm --registry "$work/slurm.db" --experiments "$work/exp" \
  --sweep-dir "$work/sd" --no-checkpoint > "$work/again.out" 2> "$work/again.err" || true
check "second slurm sweep reuses all 8" grep -q "8 done (8 reused)" "$work/again.out"
check "second slurm sweep trained nothing" [ "$(q "$work/slurm.db" "SELECT count(*) FROM runs")" = 8 ]

# 3. scancel (TERM) of one task and scancel -s KILL of another, mid-trial
export EMOLAB_WORKER_HOST='vnode-%j'
setsid "$bin" sweep "$work/slow.yaml" --launcher slurm -j 3 --lease 4 --registry "$work/slow.db" \
  --experiments "$work/exp" --sweep-dir "$work/sd" --no-checkpoint > "$work/slow.out" 2> "$work/slow.err" &
bg=$!
unset EMOLAB_WORKER_HOST
victims=""
for i in $(seq 1 600); do
  sleep 0.1
  # claims whose run has started (its run file exists): their job ids
  victims="$(python3 - "$work/sd" <<'PY'
import glob, json, os, sys
jobs = []
for c in sorted(glob.glob(sys.argv[1] + "/*/claims/*")):
    base = os.path.basename(c)
    if not base.isdigit():
        continue
    try:
        j = json.load(open(c))
    except Exception:
        continue
    if glob.glob(f"{os.path.dirname(os.path.dirname(c))}/runs/{base}-{j['token']}.db") and j.get("job"):
        jobs.append(f"{j['job']}:{j['pid']}")
print(" ".join(sorted(set(jobs))))
PY
)"
  [ "$(echo "$victims" | wc -w)" -ge 2 ] && break
done
set -- $victims
check "two array tasks were running trials (got: $victims)" [ "$#" -ge 2 ]
term_job="${1%%:*}" kill_job="${2%%:*}" kill_pid="${2##*:}"
timeout 10 scancel "$term_job" || true
kill -KILL "$kill_pid" || true
echo "cancelled $term_job (scancel: SIGTERM), killed the worker of $kill_job (pid $kill_pid, SIGKILL)"
status_out="$("$bin" sweep "$work/slow.yaml" --status --registry "$work/slow.db" 2>&1 || true)"
check "--status shows the killed task's claim with its job" grep -q "job $kill_job" <<<"$status_out"
grep -q "job $kill_job" <<<"$status_out" || echo "$status_out"
rc=0
for i in $(seq 1 3000); do kill -0 "$bg" 2>/dev/null || break; sleep 0.1; done
wait "$bg" || rc=$?
bg=""
check "sweep with cancelled tasks exit 0 (got $rc)" [ "$rc" = 0 ]
[ "$rc" = 0 ] || { cat "$work/slow.err"; tail -5 "$work"/sd/*/logs/*.log; }
check "exactly 8 trials done" [ "$(q "$work/slow.db" "SELECT count(*) FROM sweep_trials WHERE status = 'done'")" = 8 ]
check "exactly 8 finished runs, one per trial" \
  [ "$(q "$work/slow.db" "SELECT count(*), count(DISTINCT config_hash) FROM runs WHERE status = 'finished'")" = "8|8" ]
check "no run of another status was imported" [ "$(q "$work/slow.db" "SELECT count(*) FROM runs WHERE status != 'finished'")" = 0 ]
check "a trial was claimed again after its task died" \
  [ "$(q "$work/slow.db" "SELECT count(*) FROM sweep_trials WHERE claims >= 2")" -ge 1 ]
sd_slow="$(q "$work/slow.db" "SELECT dir FROM sweeps")"
check "the killed task's claim was taken over after its lease (claims/*.dead.*)" \
  bash -c "ls '$sd_slow'/claims/*.dead.* >/dev/null 2>&1"
check "the cancelled task gave its trial back (claims/*.released.*)" \
  bash -c "ls '$sd_slow'/claims/*.released.* >/dev/null 2>&1"

# 4. bad input
rc=0
PATH=/nonexistent "$bin" sweep "$work/eight.yaml" --launcher slurm --registry "$work/bad.db" --sweep-dir "$work/sd" \
  > /dev/null 2> "$work/nosbatch.err" || rc=$?
check "no sbatch on PATH: exit 1 and a clear message" \
  bash -c "[ $rc = 1 ] && grep -q 'no sbatch on PATH' '$work/nosbatch.err' && [ ! -e '$work/bad.db' ]"
rc=0
"$bin" sweep "$work/eight.yaml" --launcher slurm --partition nope --rerun --registry "$work/bad2.db" \
  --sweep-dir "$work/sd" > /dev/null 2> "$work/badpart.err" || rc=$?
check "bad partition: exit 1 quoting Slurm" bash -c "[ $rc = 1 ] && grep -q 'Slurm says: .*nvalid partition' '$work/badpart.err'"

echo "test_sweep_slurm: $fails failure(s) in $(( $(date +%s) - t0 )) s"
[ "$fails" = 0 ]
