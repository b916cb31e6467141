# slurm_cluster.sh: a real single-node Slurm cluster (munged, slurmctld, slurmd) in a temporary
# directory, for tests and benchmarks. Source it, then:
#   slurm_available || skip     the daemons and clients are installed (Debian: slurmctld slurmd
#                               slurm-client munge)
#   slurm_start DIR             start everything under DIR (world-executable), wait until the node is
#                               idle; exports SLURM_CONF for every client call (children too)
#   slurm_stop                  cancel every job, wait for the queue to empty, stop the daemons by
#                               their pids (KILL after 10 s); safe to call twice (use it in a trap)
# The configuration follows ../shared/notes/slurm-single-node.md (verified on Debian 12, Slurm
# 22.05). Every client call has a timeout: with broken munge, sinfo hangs.

slurm_available() {
  local p
  for p in slurmctld slurmd munged sbatch squeue scancel sinfo; do
    command -v "$p" >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ] || return 1
  done
  return 0
}

_slurm_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

slurm_start() {
  SLURM_DIR="$1"
  mkdir -p "$SLURM_DIR"/{munge,state,spool,log,run}
  chmod 755 "$SLURM_DIR" "$SLURM_DIR"/{munge,state,spool,log,run}
  # every folder above the munge socket must be world-executable
  local d="$SLURM_DIR"
  while [ "$d" != "/" ]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
  head -c 1024 /dev/urandom > "$SLURM_DIR/munge/munge.key"
  chmod 400 "$SLURM_DIR/munge/munge.key"
  local munged=/usr/sbin/munged
  command -v munged >/dev/null 2>&1 && munged="$(command -v munged)"
  "$munged" -F --force --key-file="$SLURM_DIR/munge/munge.key" --socket="$SLURM_DIR/munge/munge.socket" \
    --pid-file="$SLURM_DIR/run/munged.pid" --seed-file="$SLURM_DIR/munge/seed" \
    --log-file="$SLURM_DIR/log/munged.log" > "$SLURM_DIR/log/munged.out" 2>&1 &
  SLURM_MUNGED_PID=$!
  local ctl_port slurmd_port
  ctl_port=$(_slurm_free_port)
  slurmd_port=$(_slurm_free_port)
  while [ "$slurmd_port" = "$ctl_port" ]; do slurmd_port=$(_slurm_free_port); done
  cat > "$SLURM_DIR/slurm.conf" <<CONF
ClusterName=emolabtest
SlurmctldHost=localhost
SlurmctldPort=$ctl_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SLURM_DIR/munge/munge.socket
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool
SlurmctldPidFile=$SLURM_DIR/run/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/run/slurmd.pid
SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log
SlurmdLogFile=$SLURM_DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
MinJobAge=600
KillWait=2
NodeName=ci1 NodeAddr=127.0.0.1 CPUs=2 Sockets=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=1000
PartitionName=debug Nodes=ci1 Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$SLURM_DIR/slurm.conf"
  # wait for munged's socket
  local i
  for i in $(seq 1 100); do [ -S "$SLURM_DIR/munge/munge.socket" ] && break; sleep 0.05; done
  /usr/sbin/slurmctld -D -f "$SLURM_CONF" > "$SLURM_DIR/log/slurmctld.out" 2>&1 &
  SLURM_CTLD_PID=$!
  /usr/sbin/slurmd -D -N ci1 -f "$SLURM_CONF" > "$SLURM_DIR/log/slurmd.out" 2>&1 &
  SLURM_SLURMD_PID=$!
  local state=""
  for i in $(seq 1 150); do
    state="$(timeout 5 sinfo -h -N -o %t 2>/dev/null | head -1 || true)"
    [ "$state" = "idle" ] && return 0
    sleep 0.2
  done
  echo "slurm_start: the node did not become idle (state '$state'); logs in $SLURM_DIR/log" >&2
  tail -5 "$SLURM_DIR"/log/*.log >&2 || true
  return 1
}

_slurm_kill() { # pid: TERM, then KILL after 10 s
  local pid="$1" i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

slurm_stop() {
  [ -n "${SLURM_CONF:-}" ] || return 0
  timeout 10 scancel -u "$(id -un)" >/dev/null 2>&1 || true
  local i
  for i in $(seq 1 100); do
    [ -z "$(timeout 5 squeue -h 2>/dev/null || true)" ] && break
    sleep 0.1
  done
  _slurm_kill "${SLURM_SLURMD_PID:-}"
  _slurm_kill "${SLURM_CTLD_PID:-}"
  _slurm_kill "${SLURM_MUNGED_PID:-}"
  SLURM_SLURMD_PID="" SLURM_CTLD_PID="" SLURM_MUNGED_PID=""
  unset SLURM_CONF
}
