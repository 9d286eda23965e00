#!/usr/bin/env bash
# A one-node Slurm cluster on this machine (Debian slurm-wlm 22.05 + munge), for tests and benchmarks:
# munged, slurmctld and slurmd as root, every file under one state directory, no systemd. Idempotent:
# `start` reuses a cluster that answers. Prints the SLURM_CONF to export (also in $DIR/env).
#
#   scripts/hpc/slurm-cluster.sh start|stop|status
#
# Environment: AUTOPIPE_SLURM_DIR (default /tmp/autopipe-slurm), AUTOPIPE_SLURM_PORTS ("6817 6818",
# slurmctld and slurmd). No accounting database (slurmdbd needs MariaDB): finished jobs are logged by
# jobcomp/filetxt, which `sacct --completion` reads, and kept in slurmctld's memory for an hour.
set -euo pipefail
DIR=${AUTOPIPE_SLURM_DIR:-/tmp/autopipe-slurm}
read -r CTLD_PORT SLURMD_PORT <<<"${AUTOPIPE_SLURM_PORTS:-6817 6818}"
CONF=$DIR/slurm.conf
NODE=autopipe-node
log() { printf '[slurm-cluster] %s\n' "$*" >&2; }

need() {
  for b in munged slurmctld slurmd sbatch squeue sacct scontrol scancel; do
    command -v "$b" >/dev/null 2>&1 || { echo "missing $b: install the Debian packages slurm-wlm and munge (scripts/setup.sh does)" >&2; exit 3; }
  done
  [ "$(id -u)" = 0 ] || { echo "a local Slurm cluster needs root (slurmd starts jobs as their user)" >&2; exit 3; }
}

# A pid file names a live daemon only if that pid runs that program (the file's name: slurmd.pid,
# slurmctld.pid, munged.pid): pids wrap (pid_max is often 32768), and a pid file left by a daemon stopped
# hours ago may name some other process by now. Trusting it once kept slurmctld from starting at all (CI)
# and would have had `stop` kill a stranger.
alive() { local pid; [ -f "$1" ] && pid=$(cat "$1") && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$(basename "$1" .pid)" ]; }

answers() { SLURM_CONF=$CONF timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP'; }

node_idle() { SLURM_CONF=$CONF timeout 5 sinfo -h -N -n "$NODE" -o %t 2>/dev/null | grep -Eq '^(idle|mix|alloc)'; }

write_conf() {
  local cpus mem
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
  mkdir -p "$DIR/ctld" "$DIR/slurmd" "$DIR/log" "$DIR/munge"
  cat > "$CONF" <<CONF
# Written by scripts/hpc/slurm-cluster.sh: one node, $cpus CPUs, root daemons, no accounting database.
ClusterName=autopipe
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/slurmd/%n
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/pgid
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
ReturnToService=2
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=3600
KillWait=5
InactiveLimit=0
SlurmdTimeout=30
NodeName=$NODE NodeHostname=$(hostname -s) NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
  printf 'export SLURM_CONF=%s\n' "$CONF" > "$DIR/env"
}

start() {
  need
  if answers && node_idle; then log "already running ($CONF)"; echo "SLURM_CONF=$CONF"; return 0; fi
  write_conf
  if ! alive "$DIR/munge/munged.pid"; then
    # A private munged with its own key: never touches a system munge on /run/munge.
    [ -f "$DIR/munge/munge.key" ] || { dd if=/dev/urandom bs=1 count=1024 of="$DIR/munge/munge.key" status=none; chmod 400 "$DIR/munge/munge.key"; }
    chmod 700 "$DIR/munge"
    munged --force --socket="$DIR/munge/munge.socket" --key-file="$DIR/munge/munge.key" \
      --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed"
  fi
  alive "$DIR/slurmctld.pid" || SLURM_CONF=$CONF slurmctld -i
  alive "$DIR/slurmd.pid" || SLURM_CONF=$CONF slurmd -N "$NODE"
  for _ in $(seq 1 60); do
    if answers && node_idle; then log "up: node $NODE ($(nproc) CPUs), partition debug, $CONF"; echo "SLURM_CONF=$CONF"; return 0; fi
    # A node that was DOWN when slurmctld last saw it returns to service by hand.
    SLURM_CONF=$CONF scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true
    sleep 1
  done
  log "the cluster did not come up; logs in $DIR/log"; tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
  exit 1
}

stop() {
  for f in slurmd.pid slurmctld.pid munge/munged.pid; do
    if alive "$DIR/$f"; then kill "$(cat "$DIR/$f")"; fi
  done
  for _ in $(seq 1 50); do
    if ! alive "$DIR/slurmd.pid" && ! alive "$DIR/slurmctld.pid" && ! alive "$DIR/munge/munged.pid"; then
      rm -f "$DIR/slurmd.pid" "$DIR/slurmctld.pid" "$DIR/munge/munged.pid"
      log stopped; return 0
    fi
    sleep 0.2
  done
  log "still running after 10 s"; exit 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if answers; then SLURM_CONF=$CONF sinfo; else echo "not running ($CONF)"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
