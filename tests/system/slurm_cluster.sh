#!/usr/bin/env bash
# Start (or stop) a one-node SLURM cluster on this host for the tests: no accounting,
# SlurmctldHost = this host, MinJobAge=600 so `squeue` still sees finished jobs (the
# executor plugin's status command when there is no slurmdbd).
# `stop` also removes the slurm.conf written here (restoring one that was there before):
# with a conf naming a controller that is down, every `scontrol` waits ~9 s, and the
# SLURM executor plugin calls it when Snakemake loads its plugins, i.e. in every
# snakemake run of the rest of the test session.
# Usage: slurm_cluster.sh start|stop   (needs root, slurm-wlm and munge)
set -euo pipefail
action=${1:-start}
state=/tmp/neuroflow-slurm
host=$(hostname -s)
if [ "$action" = stop ]; then
  pkill -x slurmd 2>/dev/null || true
  pkill -x slurmctld 2>/dev/null || true
  for _ in $(seq 1 20); do
    pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || break
    sleep 0.5
  done
  if grep -qs '^ClusterName=neuroflow$' /etc/slurm/slurm.conf; then
    if [ -f /etc/slurm/slurm.conf.before-neuroflow ]; then
      mv /etc/slurm/slurm.conf.before-neuroflow /etc/slurm/slurm.conf
    else
      rm -f /etc/slurm/slurm.conf
    fi
  fi
  exit 0
fi
mkdir -p "$state"/{ctld,d,log} /run/munge /etc/slurm
chown munge:munge /run/munge
if ! pgrep -x munged >/dev/null; then
  [ -s /etc/munge/munge.key ] || { mungekey --create --force 2>/dev/null || \
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null; }
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  runuser -u munge -- /usr/sbin/munged
fi
# all online CPUs (nproc alone follows OMP_NUM_THREADS, which test runs often set to 1)
cpus=$(getconf _NPROCESSORS_ONLN)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 2048 ))
if [ -f /etc/slurm/slurm.conf ] && ! grep -qs '^ClusterName=neuroflow$' /etc/slurm/slurm.conf; then
  cp -p /etc/slurm/slurm.conf /etc/slurm/slurm.conf.before-neuroflow
fi
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=neuroflow
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
SlurmdTimeout=60
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
# a fresh controller starts from a clean state folder: a node record saved under an older
# conf (e.g. fewer CPUs) would otherwise be restored, and a group job asking for the
# node's real CPUs would pend forever
pgrep -x slurmctld >/dev/null || { rm -rf "${state:?}"/ctld/*; /usr/sbin/slurmctld; }
pgrep -x slurmd >/dev/null || /usr/sbin/slurmd
for _ in $(seq 1 30); do
  if sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
    echo "slurm up on $host ($cpus CPUs, ${mem} MB)"
    exit 0
  fi
  scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
  sleep 1
done
echo "slurm did not come up; logs in $state/log" >&2
exit 1
