#!/usr/bin/env bash
# Starts a single-node Slurm cluster on this machine, for CI and for trying
# deploy/slurm/sweep.sbatch by hand: this host (`hostname -s`) is the only
# node, with the CPUs and memory `slurmd -C` finds, in one default partition
# named `ci`. Runs as root, without systemd: it starts munged, slurmctld and
# slurmd itself.
#
#   sudo deploy/slurm/ci-cluster.sh     # then: sinfo; sbatch --wait ...
#
# Idempotent: when `sinfo` already shows the node usable it exits 0 at once.
# Otherwise it installs Debian's slurm-wlm and munge if they are missing,
# creates the munge key if there is none, starts munged if it does not answer,
# writes /etc/slurm/slurm.conf (only if that file is absent or was written by
# this script: a slurm.conf of someone else's is left alone and the script
# fails), restarts slurmctld and slurmd, and waits (SLURM_CI_WAIT seconds, 60
# by default) for the node to turn idle. On failure it prints the reason and
# the daemons' last log lines, and exits non-zero.
#
# Written against Debian 12's Slurm 22.05. Jobs run as the user who submits
# them, on this host's own file system, so a directory one job writes is seen
# by every other: no shared storage to set up.
set -euo pipefail

wait_secs=${SLURM_CI_WAIT:-60}
conf=/etc/slurm/slurm.conf
marker="# Written by lbsim's deploy/slurm/ci-cluster.sh; it rewrites this file."
state_dir=/var/lib/slurm/slurmctld
spool_dir=/var/lib/slurm/slurmd
log_dir=/var/log/slurm
run_dir=/run/slurm
ctld_log=$log_dir/slurmctld.log
slurmd_log=$log_dir/slurmd.log
ctld_pid=$run_dir/slurmctld.pid
slurmd_pid=$run_dir/slurmd.pid
started=$SECONDS

say() { echo "ci-cluster: $*" >&2; }

# The daemons' last lines, less the PMIx plugin's complaints: Debian builds
# Slurm with PMIx but does not install the library, and both daemons say so
# on every start although MpiDefault=none never uses it.
show_logs() {
    local f
    for f in "$ctld_log" "$slurmd_log" /var/log/munge/munged.log; do
        [ -r "$f" ] || continue
        echo "---- last lines of $f" >&2
        grep -v -E 'pmix|MPI: Cannot create context' "$f" | tail -n 25 >&2 || true
    done
}

fail() {
    say "FAILED: $*"
    exit 1
}

# fail, with the logs that tell why.
die() {
    say "FAILED: $*"
    show_logs
    exit 1
}

# Whether a process runs, zombies aside: this machine's init reaps its
# orphans only every few seconds, and a killed daemon lingers as a zombie.
alive() {
    local st
    st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) && [ -n "$st" ] && [ "$st" != Z ]
}

# The pids of the live processes named exactly $1.
running() {
    local p
    for p in $(pgrep -x "$1"); do
        if alive "$p"; then echo "$p"; fi
    done
}

# Usable: some node of the default partition answers and can take jobs
# (`idle*` or `down*`, with the star, is a node that does not respond). No
# slurmctld process, no need to ask: sinfo takes 9 s to give up on it.
answers() {
    command -v sinfo >/dev/null 2>&1 && [ -n "$(running slurmctld)" ] &&
        timeout 15 sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated|completing)\+?$'
}

# Stops a daemon that this script started before, found by its pid file.
stop_daemon() {
    local name=$1 pidfile=$2 pid
    [ -s "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
        say "stopping $name (pid $pid) to start it again with this configuration"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            alive "$pid" || break
            sleep 0.2
        done
        ! alive "$pid" || fail "$name (pid $pid) did not stop within 10 s"
    fi
    rm -f "$pidfile"
}

[ "$(id -u)" = 0 ] || fail "run as root (it installs packages and starts daemons)"

if answers; then
    say "Slurm already answers: $(sinfo -h -o '%P %T %N' | head -n 1)"
    exit 0
fi

# 1. Packages. --no-install-recommends leaves out slurm-wlm-plugins (HDF5,
# InfluxDB, IPMI, ... and their -dev packages), which nothing here uses.
missing=""
for cmd in slurmctld slurmd sinfo sbatch munged munge; do
    command -v "$cmd" >/dev/null 2>&1 || missing="$missing $cmd"
done
if [ -n "$missing" ]; then
    say "installing slurm-wlm and munge (missing:$missing)"
    apt_log=$(mktemp)
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurm-wlm munge; } >"$apt_log" 2>&1; then
        tail -n 20 "$apt_log" >&2
        die "apt-get could not install slurm-wlm and munge"
    fi
    rm -f "$apt_log"
    say "installed $(dpkg-query -W -f '${Package} ${Version}' slurmctld) and munge in $((SECONDS - started)) s"
fi

# 2. Munge: every Slurm message is signed with this key.
if [ ! -s /etc/munge/munge.key ]; then
    say "creating /etc/munge/munge.key"
    install -d -o munge -g munge -m 0700 /etc/munge
    mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    chmod 0600 /etc/munge/munge.key
fi
# (No munged, no need to ask: munge takes 2 s to give up on a dead socket.)
if [ -z "$(running munged)" ] || ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "starting munged"
    install -d -o munge -g munge -m 0755 /run/munge
    runuser -u munge -- /usr/sbin/munged || die "munged would not start"
    for _ in $(seq 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.2
    done
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 || die "munged started but does not answer"
fi

# 3. slurm.conf, naming this host as the only node with what slurmd finds on
# it (sockets, cores, threads, memory: a node that reports less than its
# configured memory or CPUs is drained).
host=$(hostname -s)
node_line=$(slurmd -C 2>/dev/null | grep '^NodeName=' || true)
if [ -z "$node_line" ]; then
    mem_mb=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
    node_line="NodeName=$host CPUs=$(nproc) RealMemory=$mem_mb"
fi
# The node and the controller talk over loopback, whatever this host's name
# resolves to.
node_line="$node_line NodeAddr=127.0.0.1 State=UNKNOWN"

if [ -e "$conf" ] && ! grep -qF "$marker" "$conf"; then
    fail "$conf exists and was not written by this script; move it away to let it write its own"
fi
new_conf=$(
    cat <<EOF
$marker
# A single-node cluster on $host for CI: see the script for why each line.
ClusterName=lbsim-ci
SlurmctldHost=$host(127.0.0.1)
# Everything runs as root on one machine; jobs still run as their submitter.
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# No cgroups (this machine's init is not systemd and nothing here needs
# limits): processes are tracked through /proc, tasks are not bound.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
# Cores are what jobs ask for (--cpus-per-task); memory is not allocated.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# A node that was down (the machine restarted) comes back as soon as its
# slurmd registers with a valid configuration.
ReturnToService=2
StateSaveLocation=$state_dir
SlurmdSpoolDir=$spool_dir
SlurmctldPidFile=$ctld_pid
SlurmdPidFile=$slurmd_pid
SlurmctldLogFile=$ctld_log
SlurmdLogFile=$slurmd_log
$node_line
PartitionName=ci Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
)
if [ ! -e "$conf" ] || [ "$(cat "$conf")" != "$new_conf" ]; then
    say "writing $conf ($node_line)"
    install -d -m 0755 /etc/slurm
    printf '%s\n' "$new_conf" >"$conf"
fi
install -d -m 0755 "$state_dir" "$spool_dir" "$log_dir" "$run_dir"

# 4. The daemons, started afresh: the cluster did not answer, and a daemon
# still running may hold an older configuration.
stop_daemon slurmd "$slurmd_pid"
stop_daemon slurmctld "$ctld_pid"
for name in slurmctld slurmd; do
    other=$(running "$name")
    [ -z "$other" ] || fail "a $name this script did not start is running (pid $other); stop it first"
done
slurmctld || die "slurmctld would not start"
slurmd || die "slurmd would not start"

# 5. Wait for the node to register and turn idle.
resumed=""
deadline=$((SECONDS + wait_secs))
until answers; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        sinfo -N -l >&2 || true
        scontrol show node "$host" 2>/dev/null | grep -E 'State=|Reason=' >&2 || true
        die "node $host is not idle after ${wait_secs} s (its state and the logs are above)"
    fi
    # A node drained by an earlier run (say, with other hardware figures)
    # would stay so: ReturnToService does not undo a drain.
    if [ -z "$resumed" ] && timeout 15 sinfo -h -n "$host" -o %T 2>/dev/null | grep -qE '^(drain|drained|draining)'; then
        say "node $host is drained; resuming it"
        scontrol update NodeName="$host" State=RESUME || true
        resumed=1
    fi
    sleep 1
done
say "Slurm is up in $((SECONDS - started)) s: $(sinfo -h -o 'partition %P, node %N %T, %c CPUs' | head -n 1)"
