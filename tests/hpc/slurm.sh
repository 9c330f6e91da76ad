#!/usr/bin/env bash
# A throw-away single-node Slurm cluster for the batch tests.
#
#   tests/hpc/slurm.sh up DIR     # installs munge + Slurm from Debian's packages if missing,
#                                 # starts munged, slurmctld and slurmd with every file under DIR,
#                                 # waits until the node takes jobs, writes DIR/slurm.env
#   source DIR/slurm.env          # SLURM_CONF for sbatch, squeue, scontrol
#   tests/hpc/slurm.sh down DIR   # cancels the jobs, stops the daemons it started, deletes DIR
#
# The daemons run as root (Slurm's user and munge's), so `up` needs root.
# Finished jobs are logged one per line in DIR/log/jobcomp.log (no slurmdbd,
# so no sacct). Ports: ATTR_SLURM_PORTS (default 6817,6818).
set -euo pipefail

cmd=${1:-}
DIR=${2:-}
[ -n "$cmd" ] && [ -n "$DIR" ] || { echo "usage: $0 up|down DIR" >&2; exit 2; }
IFS=, read -r CTLD_PORT NODE_PORT <<< "${ATTR_SLURM_PORTS:-6817,6818}"

say() { echo "slurm.sh: $*" >&2; }
fail() { say "$*"; for f in "$DIR"/log/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done; exit 1; }

# pid in FILE, if that process is alive and its command line names DIR
our_pid() {
    local p
    p=$(cat "$1" 2>/dev/null) || return 1
    [ -n "$p" ] && tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$DIR"  && echo "$p"
}

stop() {
    local p
    if [ -f "$DIR/slurm.env" ] && p=$(our_pid "$DIR/run/slurmctld.pid"); then
        # shellcheck disable=SC1091
        source "$DIR/slurm.env"
        ids=$(squeue -h -o %A 2> /dev/null | sort -u)
        # shellcheck disable=SC2086
        [ -z "$ids" ] || scancel $ids 2> /dev/null || true
    fi
    for d in slurmd slurmctld munged; do
        p=$(our_pid "$DIR/run/$d.pid") || continue
        kill "$p" 2>/dev/null || true
        for _ in $(seq 50); do [ -d "/proc/$p" ] || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    # job steps the node daemon left behind
    pgrep -f -- "$DIR/spool" | xargs -r kill -9 2>/dev/null || true
}

case "$cmd" in
down)
    [ -d "$DIR" ] || exit 0
    DIR=$(cd "$DIR" && pwd)
    stop
    rm -rf "$DIR"
    ;;
up)
    [ "$(id -u)" = 0 ] || { say "needs root: Slurm's daemons run as root here"; exit 3; }
    missing=()
    for b in munged slurmctld slurmd sbatch; do command -v "$b" > /dev/null || missing+=("$b"); done
    if [ ${#missing[@]} -gt 0 ]; then
        command -v apt-get > /dev/null || { say "missing ${missing[*]} and no apt-get to install them"; exit 3; }
        say "installing munge and slurm-wlm from Debian's packages"
        apt-get update -qq > /dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            munge slurm-wlm slurmctld slurmd slurm-client > /dev/null
    fi
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    stop
    rm -rf "${DIR:?}"/{etc,run,log,state,spool,munge}
    mkdir -p "$DIR"/{etc,run,log,state,spool,munge}
    chmod 0755 "$DIR" "$DIR/etc" "$DIR/run" "$DIR/log"
    chmod 0700 "$DIR/munge" "$DIR/state" "$DIR/spool"
    for p in "$CTLD_PORT" "$NODE_PORT"; do
        if command -v ss > /dev/null && ss -Hltn "sport = :$p" | grep -q .; then
            fail "port $p is taken: set ATTR_SLURM_PORTS=CTLD,NODE to free ones"
        fi
    done

    key=$DIR/munge/munge.key sock=$DIR/run/munge.sock
    head -c 1024 /dev/urandom > "$key"
    chmod 0400 "$key"
    munged --force --key-file="$key" --socket="$sock" --pid-file="$DIR/run/munged.pid" \
        --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/seed" || fail "munged did not start"
    for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done

    conf=$DIR/etc/slurm.conf
    mem=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
    cat > "$conf" <<EOF
# single-node test cluster written by tests/hpc/slurm.sh
ClusterName=attrtest
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmdPort=$NODE_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
# no cgroups: works in containers and on either cgroup version
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0,sched_min_interval=100000
SlurmdParameters=config_overrides
DependencyParameters=kill_invalid_depend
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
MinJobAge=300
InactiveLimit=0
KillWait=5
MaxArraySize=10001
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
    printf 'export SLURM_CONF=%q\n' "$conf" > "$DIR/slurm.env"
    export SLURM_CONF=$conf
    slurmctld -c -f "$conf" || fail "slurmctld did not start"
    for _ in $(seq 100); do scontrol ping 2> /dev/null | grep -q UP && break; sleep 0.1; done
    slurmd -f "$conf" -N localhost || fail "slurmd did not start"
    for _ in $(seq 300); do
        case "$(sinfo -h -n localhost -o %T 2> /dev/null)" in idle* | mix* | alloc*) exit 0 ;; esac
        sleep 0.2
    done
    fail "the node did not become idle in 60 s"
    ;;
*)
    echo "usage: $0 up|down DIR" >&2
    exit 2
    ;;
esac
