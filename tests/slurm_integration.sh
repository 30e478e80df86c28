#!/usr/bin/env bash
# netsweep on a real SLURM: a single-node cluster (munged, slurmctld, slurmd)
# configured in a temporary directory, a 4-task job array written by
# `netsweep slurm`, merged and compared with a single-process run; then a task
# is signalled mid-run (as before a time limit), the array resubmitted, and
# the resumed result compared again. Every daemon started is stopped by PID.
# Exits 77 (skipped) only if slurm-wlm/munge cannot be installed.
# usage: slurm_integration.sh NETSWEEP PYTHON COMPARE_SCRIPT (tools/compare_results.py)
set -euo pipefail
netsweep=$1 python=$2 compare=$3
skip() { echo "SKIP: $*"; exit 77; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  [ "$(id -u)" -eq 0 ] || skip "slurm-wlm and munge are not installed and this is not root"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1; } ||
    skip "cannot install slurm-wlm and munge"
fi
[ "$(id -u)" -eq 0 ] || skip "the test cluster's daemons run as root"

dir=$(mktemp -d /tmp/netsweep-slurm.XXXXXX)
chmod 700 "$dir"
pids=()
cleanup() {
  # Jobs first (their slurmstepd processes outlive slurmd), then the daemons we started.
  if [ -n "${SLURM_CONF:-}" ]; then
    scancel --full --quiet --partition=test 2>/dev/null || true
    for _ in $(seq 1 50); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
  fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [ "${keep:-0}" = 1 ]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for log in "$dir"/slurmctld.log "$dir"/slurmd.log "$dir"/out/*.log; do
    [ -f "$log" ] && { echo "--- $log"; tail -n 20 "$log"; }
  done
  exit 1
}

# munge
mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/out"
mungekey --create --keyfile="$dir/munge/munge.key" --force >/dev/null 2>&1 ||
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 600 "$dir/munge/munge.key"
munged --force --foreground --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" &
pids+=($!)
for _ in $(seq 1 50); do [ -S "$dir/munge/munge.socket" ] && break; sleep 0.1; done
[ -S "$dir/munge/munge.socket" ] || fail "munged did not start"

# slurm.conf for this host
host=$(hostname)
free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
cat >"$dir/slurm.conf" <<CONF
ClusterName=netsweeptest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
KillWait=10
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
export SLURM_CONF=$dir/slurm.conf
slurmctld -D -i -f "$SLURM_CONF" >"$dir/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" >"$dir/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  state=$(sinfo -h -o %t 2>/dev/null | head -n 1 || true)
  [ "$state" = idle ] && break
  sleep 0.2
done
[ "$state" = idle ] || fail "the node did not become idle (state '$state')"
echo "cluster up: $host, $cpus CPUs"

wait_for_job() {  # job id, seconds
  local id=$1 limit=$2
  for _ in $(seq 1 $((limit * 5))); do
    [ -z "$(squeue -h -j "$id" 2>/dev/null)" ] && return 0
    sleep 0.2
  done
  squeue
  fail "job $id still queued or running after ${limit}s"
}

cd "$dir/out"
# Case 1: a 4-shard array equals one process.
sweep=(--layers 1,2 --widths 8,32 --activations relu,tanh --seeds 2 --epochs 40 --snapshot-every 10 --grid 16
       --dataset moons:n=200 --test-fraction 0.25 --device cpu --threads 1)
"$netsweep" run "${sweep[@]}" -q -o single.h5
# --submit writes sweep.sbatch beside the output, runs sbatch and prints the job id.
job=$("$netsweep" slurm "${sweep[@]}" --shards 4 --time 00:10:00 --job-name nstest --submit -o "$dir/out/sweep.h5") ||
  fail "netsweep slurm --submit failed"
[[ "$job" =~ ^[0-9]+$ ]] || fail "--submit printed '$job', not a job id"
grep -q -- "--array=0-3" sweep.sbatch || fail "no --array=0-3 in the script"
echo "submitted job array $job"
wait_for_job "$job" 180
for i in 0 1 2 3; do [ -f "sweep.shard-$i.h5" ] || fail "shard $i missing: task log: $(cat sweep."$job"_"$i".log 2>/dev/null)"; done
grep -h "shard 0/4" "sweep.${job}_0.log" | head -n 2
"$netsweep" merge -q sweep.shard-*.h5 -o sweep.h5
"$python" "$compare" --exact single.h5 sweep.h5 || fail "merged array result differs from the single-process run"

# Case 2: a task is signalled mid-run, as SLURM does before a time limit, and the array is resubmitted.
# Long enough that task 0 is still running a second after it starts on a fast machine (600 epochs took
# 2.7 s on a 2-core Zen 5 once ReLU units off for a batch were left out, and ended before the signal),
# and short enough to end in minutes on a slow one (2400 epochs took 4.5 min a task on a 2-core AVX2
# EPYC, past the test's limit): a task's epochs are sized to about 20 s by a 50-epoch run of one.
long=(--layers 2,3 --widths 128,256 --activations relu,tanh --snapshot-every 200 --grid 24
      --dataset spiral:n=400 --device cpu)
t0=$(date +%s%N)
"$netsweep" run "${long[@]}" --epochs 50 --shard 0/2 --threads 1 -q -o probe.h5
probe_ms=$(( ($(date +%s%N) - t0) / 1000000 + 1 ))
epochs=$(( 50 * 20000 / probe_ms / 200 * 200 ))
epochs=$(( epochs < 200 ? 200 : epochs > 2400 ? 2400 : epochs ))
echo "long sweep: $epochs epochs (50 epochs of a task took $probe_ms ms)"
long+=(--epochs "$epochs")
"$netsweep" run "${long[@]}" -q -o long-single.h5
"$netsweep" slurm "${long[@]}" --threads 1 --shards 2 --job-name nslong --checkpoint-every 5 -o "$dir/out/long.h5" >long.sbatch
grep -q -- "--checkpoint-every 5" long.sbatch || fail "the script does not pass --checkpoint-every"
job=$(sbatch --parsable long.sbatch)
job=${job%%;*}
for _ in $(seq 1 300); do [ -d "long.shard-0.h5.ckpt" ] && break; sleep 0.1; done
[ -d "long.shard-0.h5.ckpt" ] || fail "task 0 did not start"
sleep 1
scancel --signal=TERM --batch "${job}_0" || fail "scancel --signal=TERM failed"
wait_for_job "$job" 300
[ ! -f long.shard-0.h5 ] || fail "task 0 finished before the signal arrived (make the long sweep longer)"
[ -f long.shard-0.h5.ckpt/state.h5 ] || fail "task 0 left no checkpoint"
grep -q "stopped by SIGTERM; checkpoint written" "long.${job}_0.log" || fail "task 0 log does not show the checkpoint"
job2=$(sbatch --parsable long.sbatch)
job2=${job2%%;*}
wait_for_job "$job2" 300
grep -q "resuming from" "long.${job2}_0.log" || fail "resubmitted task 0 did not resume"
grep -q "already complete" "long.${job2}_1.log" || fail "resubmitted task 1 did not see its finished file"
"$netsweep" merge -q long.shard-*.h5 -o long.h5
"$python" "$compare" --exact long-single.h5 long.h5 || fail "resumed array result differs from the single-process run"
echo "SLURM: array result and resumed result identical to single-process runs"
