#!/usr/bin/env bash
# A sweep on a real one-node Slurm cluster, run with the commands docs/sweep.md
# gives, as written.
#
# Stands up Slurm from Debian's slurm-wlm and munge (daemons started by hand,
# no systemd; slurm.conf generated with this machine's CPUs and memory;
# everything under a temporary folder), installs the packed scorecrl into an
# empty project folder (as `npm install scorecrl` would), then runs the sh
# block of docs/sweep.md marked `ci: slurm` line by line: `scorecrl slurm init`
# and `bash slurm/submit.sh`. While the array runs:
#   - task 1 is requeued mid-run (as a preemption does): it must get SIGTERM,
#     write its running trials, exit 143, run again and resume its file;
#   - task 2 is cancelled mid-run (scancel): the same SIGTERM check, and it
#     stays cancelled, so the merge job, queued with afterany, must run once
#     the array has ended, fail with exit 3 naming shard 2 and print the
#     command that reruns it. That command is run as printed; its merge must
#     succeed.
# The merged file must then equal a single-process run of the same sweep
# trial for trial (ids, seeds, status, metrics; wall times aside), with no
# trial lost or duplicated. Prints the figures docs/sweep.md reports.
#
# Needs root (it runs the daemons) and the packages slurm-wlm and munge
# (.ci/run installs them). Skips, saying why, where the daemons cannot run.
# SCORECRL_TARBALL=<file.tgz> installs that tarball instead of packing the
# checkout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
begin=$(date +%s)
say() { printf -- '--- %s (%ss)\n' "$1" "$(($(date +%s) - begin))"; }
fail() {
  echo "ci-slurm: FAILED: $1" >&2
  exit 1
}
skip() {
  echo "ci-slurm: SKIPPED: $1"
  exit 0
}

[ "$(id -u)" = 0 ] || skip "the Slurm and munge daemons need root here (running as $(id -un))"
for command in munged mungekey slurmctld slurmd sbatch squeue scontrol scancel sinfo; do
  command -v "$command" >/dev/null 2>&1 || fail "$command not found: install the Debian packages slurm-wlm and munge"
done

work=$(mktemp -d /tmp/scorecrl-slurm.XXXXXX)
pids=()
cleanup() {
  local status=$?
  if [ -n "${SLURM_CONF:-}" ]; then timeout 10 scancel --user=root >/dev/null 2>&1 || true; fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$work/munge/munged.pid" ] && kill "$(cat "$work/munge/munged.pid")" 2>/dev/null || true
  if [ "$status" != 0 ]; then
    echo "ci-slurm: daemon logs and job logs:" >&2
    tail -n 30 "$work"/log/*.log "$work"/app/slurm/logs/*.out 2>/dev/null >&2 || true
  fi
  sleep 1
  rm -rf "$work"
}
trap cleanup EXIT

say "munge and Slurm ($(slurmctld -V)), one node: $(nproc) CPUs"
mkdir -p "$work/munge" "$work/log" "$work/state" "$work/spool" "$work/etc"
chmod 700 "$work/munge"
mungekey --create --keyfile="$work/munge/munge.key"
munged --force --socket="$work/munge/munge.socket" --key-file="$work/munge/munge.key" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/log/munged.log" --seed-file="$work/munge/munged.seed" ||
  skip "munged does not start on this machine (see above)"

host=$(hostname -s)
memory=$(awk '/MemTotal/ { print int($2 / 1024 * 0.8) }' /proc/meminfo)
export SLURM_CONF="$work/etc/slurm.conf"
cat >"$SLURM_CONF" <<EOF
ClusterName=scorecrl-ci
SlurmctldHost=$host
SlurmctldPort=6917
SlurmdPort=6918
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -i >"$work/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D >"$work/log/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do
  [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break
  sleep 0.5
done
[ "$(sinfo -h -o %T 2>/dev/null)" = idle ] || {
  cat "$work"/log/*.out "$work"/log/*.log >&2 || true
  skip "the Slurm daemons did not bring the node up on this machine (logs above)"
}
sinfo

say "scorecrl installed into an empty project folder"
mkdir -p "$work/app"
tarball=${SCORECRL_TARBALL:-}
if [ -z "$tarball" ]; then
  tarball="$work/$(cd "$root" && npm pack --silent --pack-destination "$work" | tail -n 1)"
fi
(cd "$work/app" && npm init -y >/dev/null && npm install --no-audit --no-fund "$tarball" >/dev/null)
(cd "$work/app" && npx scorecrl info | sed -n 2p)

say "docs/sweep.md's Slurm commands, as written"
# The sh block after the line '<!-- ci: slurm -->', one command per line; its
# 'npm install scorecrl' is the install above (from the packed checkout).
mapfile -t commands < <(awk '/<!-- ci: slurm -->/ { marked = 1; next } marked && /^```sh/ { inside = 1; next } inside && /^```/ { exit } inside' "$root/docs/sweep.md" | sed -E 's/[[:space:]]+#.*$//; /^[[:space:]]*$/d')
[ "${#commands[@]}" -ge 2 ] || fail "docs/sweep.md: no sh block after '<!-- ci: slurm -->'"
submitted=$(date +%s)
for command in "${commands[@]}"; do
  echo "\$ $command"
  [ "$command" = "npm install scorecrl" ] && continue
  (cd "$work/app" && bash -euo pipefail -c "$command") | tee -a "$work/commands.out"
done
array=$(sed -nE 's/^queued array job ([0-9]+) .*/\1/p' "$work/commands.out" | tail -n 1)
merge=$(sed -nE 's/.* and merge job ([0-9]+) .*/\1/p' "$work/commands.out" | tail -n 1)
[ -n "$array" ] && [ -n "$merge" ] || fail "the documented commands queued no array and merge job"
results=$(sed -nE 's/^watch: .*; results: (.*)\/trials\.jsonl$/\1/p' "$work/commands.out" | tail -n 1)
shards=$(sed -nE 's/^SHARDS=([0-9]+)$/\1/p' "$work/app/slurm/sweep.sbatch")
logs="$work/app/slurm/logs"

# Trials a task's shard file holds.
held() {
  local n
  n=$(grep -c '"type":"trial"' "$results/trials-shard-$1-of-$shards.jsonl" 2>/dev/null || true)
  echo "${n:-0}"
}
state() { squeue -h -j "$1" -o %T 2>/dev/null | head -n 1; }
# Waits until task $1 runs and holds at least $2 trials (it must not have finished yet).
wait_running() {
  for _ in $(seq 1 600); do
    if [ "$(state "${array}_$1")" = RUNNING ] && [ "$(held "$1")" -ge "$2" ]; then return 0; fi
    sleep 0.1
  done
  fail "task $1 did not run ($(state "${array}_$1"), $(held "$1") trials)"
}
# Checks that task $1's log shows one SIGTERM handled: running trials written, exit 143.
check_sigterm() {
  local log="$logs/scorecrl-sweep-${array}_$1.out" ran
  for _ in $(seq 1 100); do grep -q 'exit code 143' "$log" 2>/dev/null && break; sleep 0.2; done
  grep -q 'sweep: SIGTERM: finishing the running trials' "$log" || fail "task $1: scorecrl did not get SIGTERM ($log)"
  grep -q 'Exited with exit code 143' "$log" || fail "task $1: did not exit 143 ($log)"
  ! grep -q 'second SIGTERM' "$log" || fail "task $1: scorecrl got SIGTERM twice and stopped at once"
  ran=$(sed -nE 's/^sweep [0-9a-f]+: ([0-9]+) trials run .*/\1/p' "$log" | head -n 1)
  echo "task $1: SIGTERM at $2 trials in its file; scorecrl finished the running ones, wrote $ran trials in all, exit 143"
  [ "$ran" = "$(held "$1")" ] || fail "task $1: scorecrl reports $ran trials run but its file holds $(held "$1")"
}

say "requeue task 1 mid-run (as a preemption does)"
wait_running 1 40
at1=$(held 1)
scontrol requeue "${array}_1"
check_sigterm 1 "$at1"
written1=$(held 1)
# A requeued job waits about two minutes before it may start again; let it start now.
scontrol update JobId="${array}_1" StartTime=now

say "cancel task 2 mid-run (scancel)"
wait_running 2 40
at2=$(held 2)
scancel "${array}_2"
check_sigterm 2 "$at2"
written2=$(held 2)

say "the merge job runs after every task has ended (afterany), and fails naming shard 2"
for _ in $(seq 1 900); do [ -z "$(state "$merge")" ] && break; sleep 0.2; done
[ -z "$(state "$merge")" ] || fail "merge job $merge did not run"
merge_log="$logs/scorecrl-merge-$merge.out"
cat "$merge_log"
grep -q "shard 2/$shards lacks" "$merge_log" || fail "the merge job did not name shard 2 as missing"
grep -q "restart 1" "$logs/scorecrl-sweep-${array}_1.out" || fail "task 1 did not run again after the requeue (or its log was not appended)"
grep -q "trials run .*, $written1 already done" "$logs/scorecrl-sweep-${array}_1.out" ||
  fail "task 1's second run did not resume its file ($written1 trials done)"
echo "task 1 after its requeue: $(grep -E '^sweep [0-9a-f]+: ' "$logs/scorecrl-sweep-${array}_1.out" | tail -n 1)"
rerun=$(sed -nE 's/^rerun the missing shards \([0-9,-]+\): (.*)$/\1/p' "$merge_log")
[ -n "$rerun" ] || fail "the merge job printed no command to rerun the missing shards"

say "the command the merge printed, as printed: $rerun"
(cd "$work/app" && bash -euo pipefail -c "$rerun") | tee "$work/rerun.out"
merge2=$(sed -nE 's/.* and merge job ([0-9]+) .*/\1/p' "$work/rerun.out")
for _ in $(seq 1 900); do [ -z "$(state "$merge2")" ] && break; sleep 0.2; done
finished=$(date +%s)
grep -E '^merged ' "$logs/scorecrl-merge-$merge2.out" || fail "the second merge job did not merge ($logs/scorecrl-merge-$merge2.out)"
grep -q "trials of sweep" "$logs/scorecrl-merge-$merge2.out" && ! grep -q 'missing' "$logs/scorecrl-merge-$merge2.out" ||
  fail "the second merge still has missing trials"
[ -f "$results/report.html" ] || fail "the merge job wrote no report"

say "the same sweep in a single process"
single=$(date +%s)
(cd "$work/app" && npx scorecrl sweep --config slurm/sweep.json -o reference --progress none --no-report --reference none 2>&1 >/dev/null | grep -E '^sweep [0-9a-f]+: ')
single=$(($(date +%s) - single))

say "merged shards against the single-process run, trial for trial"
node --input-type=module - "$results/trials.jsonl" "$work/app/reference/trials.jsonl" "$shards" "$((finished - submitted))" "$single" <<'EOF'
import { readFileSync } from 'node:fs';
const [merged, reference, shards, seconds, single] = process.argv.slice(2);
// A trial's wall time differs run to run; everything else (id, cell, run, seed, status, metrics, backend) must not.
const TIMING = new Set(['ms']);
function trials(file) {
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  const header = lines.find((l) => l.type === 'sweep');
  const records = lines.filter((l) => l.type === 'trial');
  const byId = new Map();
  for (const r of records) {
    if (byId.has(r.id)) throw new Error(`${file}: trial ${r.id} twice`);
    byId.set(r.id, JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !TIMING.has(k)))));
  }
  return { header, count: records.length, byId };
}
const m = trials(merged);
const r = trials(reference);
if (m.header.sweepId !== r.header.sweepId) throw new Error(`different sweeps: ${m.header.sweepId} vs ${r.header.sweepId}`);
if (m.count !== m.header.trials || r.count !== r.header.trials) throw new Error(`trials: merged ${m.count}, single ${r.count}, planned ${m.header.trials}`);
let differ = 0;
for (const [id, outcome] of r.byId) if (m.byId.get(id) !== outcome) differ++;
if (differ > 0 || m.byId.size !== r.byId.size) throw new Error(`${differ} of ${r.byId.size} trials differ`);
console.log(`merged ${m.count} trials of sweep ${m.header.sweepId} from ${shards} shards = the single-process run, trial for trial (ids, seeds, status, metrics, backend); none lost, none twice`);
console.log('| shards | trials | submitted to merged, with the requeue, the cancel and the rerun (s) | one process, 2 workers (s) | merged = one process |');
console.log(`| ${shards} | ${m.count} | ${seconds} | ${single} | yes: ${m.count} of ${m.count} trials equal, none lost or twice |`);
EOF
echo "task 1: requeued at ${at1} trials, wrote ${written1}, resumed; task 2: cancelled at ${at2} trials, wrote ${written2}, rerun from the merge's command"
say "done"
