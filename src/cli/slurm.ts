/**
 * `scorecrl slurm init`: writes the job scripts that run a sweep as a Slurm
 * job array (one shard per task) plus a merge job, with the user's shard
 * count, partition, account, CPUs, memory and time limits filled in.
 *
 * What the scripts promise, and how:
 * - signals reach scorecrl: the task `exec`s srun, which runs node on
 *   scorecrl's own entry point (no npx, npm or shell between), so the SIGTERM
 *   of scancel, preemption, requeue or `--signal` makes it write its running
 *   trials and exit 143;
 * - a task resumes its shard file when it runs again (requeue, rerun);
 * - the shard count is written in the script, not read from the array's size,
 *   so `sbatch --array=3 sweep.sbatch` reruns shard 3 of N;
 * - logs are appended (a requeued task keeps its first run's log) in a
 *   folder made before anything is queued;
 * - the merge waits for every task to end (`afterany`), and when trials are
 *   missing fails naming the shards and the command that reruns them
 *   (`submit.sh <shards>`, which also queues a new merge).
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { packageRoot } from '../backend/paths.js';
import { makeDirectory } from '../io/files.js';
import { ConfigError } from '../sweep/config.js';
import {
  collect,
  configText,
  describeSplit,
  initCommand,
  invokedAs,
  matching,
  type ShardedSweep,
  scriptPath,
  shardedSweep,
  shellQuote,
  writeScripts,
} from './job-scripts.js';
import { asUsage, integer } from './options.js';
import type { SweepFlags } from './sweep.js';

/** Seconds before the time limit at which Slurm sends SIGTERM to a task (--signal=TERM@…). */
const TERM_NOTICE = 60;
/** Slurm's time formats: minutes, m:s, h:m:s, d-h, d-h:m, d-h:m:s. */
const SLURM_TIME = /^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2})$/;
/** Memory as sbatch takes it: a number and an optional K, M, G or T. */
const SLURM_MEMORY = /^\d+[KMGT]?$/i;
/** A partition, account, QOS or job name. */
const SLURM_NAME = /^[A-Za-z0-9_.:+-]+$/;

/** The settings that go into the scripts as given. */
interface SlurmSettings {
  cpus: number;
  memPerCpu: string;
  time: string;
  partition?: string;
  account?: string;
  qos?: string;
  name: string;
  maxRunning?: number;
  mergeTime: string;
  mergeMem: string;
}

export interface SlurmFlags extends Partial<SweepFlags>, SlurmSettings {
  shards: number;
  dir: string;
  out: string;
  sbatch?: string[];
  node: string;
  force?: boolean;
}

/** Everything the scripts are rendered from (paths absolute). */
export interface SlurmPlan extends SlurmSettings {
  sweep: ShardedSweep;
  dir: string;
  out: string;
  logs: string;
  config: string;
  node: string;
  scorecrl: string;
  sbatch: string[];
  command: string;
}

export function registerSlurm(program: Command): void {
  initCommand(
    program.command('slurm').description('run a sweep on a Slurm cluster: job scripts for a job array of shards and a merge'),
    'write the job scripts (sweep.sbatch, merge.sbatch, submit.sh) and the sweep config for a Slurm job array',
    'array tasks: the sweep is split into N shards, one per task',
    1_000_000,
  )
    .option('-d, --dir <folder>', 'where the scripts, the config and logs/ go', 'slurm')
    .option('-o, --out <dir>', 'results folder on a file system every node sees (shard files, merged trials.jsonl, report)', 'results')
    .option('--cpus <k>', 'CPUs per task (= worker threads); at most the CPUs of one node', integer('--cpus', 1, 1024), 4)
    .option('--mem-per-cpu <size>', 'memory per CPU (sbatch --mem-per-cpu)', matching('--mem-per-cpu', SLURM_MEMORY, '1G'), '1G')
    .option('--time <limit>', 'time limit of one task (sbatch --time)', matching('--time', SLURM_TIME, '02:00:00'), '01:00:00')
    .option(
      '--partition <name>',
      'partition (sbatch --partition; default: the cluster default)',
      matching('--partition', SLURM_NAME, 'batch'),
    )
    .option('--account <name>', 'account to charge (sbatch --account)', matching('--account', SLURM_NAME, 'proj123'))
    .option('--qos <name>', 'quality of service (sbatch --qos)', matching('--qos', SLURM_NAME, 'normal'))
    .option('--name <name>', 'job name prefix: <name>-sweep, <name>-merge', matching('--name', SLURM_NAME, 'scorecrl'), 'scorecrl')
    .option('--max-running <k>', 'at most k tasks at once (array throttle %k)', integer('--max-running', 1, 1_000_000))
    .option(
      '--sbatch <option>',
      "another sbatch option for the array and the merge, repeatable (e.g. --sbatch=--constraint=avx2 --sbatch='--mail-type=END')",
      collect(matching('--sbatch', /^--?[A-Za-z][A-Za-z0-9-]*(=[A-Za-z0-9_.,:=@%/+&|*![\]-]*)?$/, '--constraint=avx2')),
    )
    .option('--merge-time <limit>', 'time limit of the merge job', matching('--merge-time', SLURM_TIME, '00:30:00'), '00:30:00')
    .option('--merge-mem <size>', 'memory of the merge job', matching('--merge-mem', SLURM_MEMORY, '4G'), '4G')
    .option('--node <path>', 'the node binary the jobs run (default: the one running this command)', process.execPath)
    .option('--force', 'replace scripts that exist')
    .addHelpText(
      'after',
      `
The sweep is given as for 'scorecrl sweep' (--config and the grid flags); it is
written resolved to <dir>/sweep.json, which the jobs read. Paths in the scripts
are absolute: the folder, the results and scorecrl itself must be on a file
system the compute nodes see.

  scorecrl slurm init --shards 32 --cpus 8 --time 02:00:00 --partition batch --config sweep.json -o results/big
  bash slurm/submit.sh            # queue the array and the merge (afterany)
  bash slurm/submit.sh 3,7        # rerun shards 3 and 7 (each resumes its file) and merge again`,
    )
    .action(async (flags: SlurmFlags) => {
      const plan = await asUsage(() => slurmPlan(flags));
      const files = await asUsage(() => writeScripts(plan.dir, renderSlurm(plan), flags.force ?? false));
      await asUsage(() => makeDirectory(plan.logs));
      console.log(`${describeSplit(plan.sweep)}; ${plan.cpus} CPU${plan.cpus === 1 ? '' : 's'} per task`);
      console.log(`wrote ${files.join(', ')}`);
      console.log(`queue it:     bash ${join(plan.dir, 'submit.sh')}`);
      console.log(`rerun shards: bash ${join(plan.dir, 'submit.sh')} 3,7   (resume their files, then merge again)`);
      console.log(`results:      ${join(plan.out, 'trials.jsonl')} and the report beside it; logs in ${plan.logs}`);
    });
}

export function slurmPlan(flags: SlurmFlags): SlurmPlan {
  const sweep = shardedSweep(flags, flags.shards);
  if (flags.maxRunning !== undefined && flags.maxRunning > flags.shards) {
    throw new ConfigError(`--max-running ${flags.maxRunning}: more than the ${flags.shards} tasks of the array`);
  }
  const dir = scriptPath('--dir', flags.dir);
  const { cpus, memPerCpu, time, partition, account, qos, name, maxRunning, mergeTime, mergeMem } = flags;
  return {
    ...{ cpus, memPerCpu, time, partition, account, qos, name, maxRunning, mergeTime, mergeMem },
    sweep,
    dir,
    out: scriptPath('--out', flags.out),
    logs: join(dir, 'logs'),
    config: join(dir, 'sweep.json'),
    node: scriptPath('--node', flags.node),
    scorecrl: scriptPath('scorecrl', join(packageRoot, 'bin', 'scorecrl.js')),
    sbatch: flags.sbatch ?? [],
    command: invokedAs(),
  };
}

/** Megabytes of a Slurm memory size (no suffix: megabytes). */
function megabytes(size: string): number {
  const m = /^(\d+)([KMGT]?)$/i.exec(size)!;
  const scale: Record<string, number> = { K: 1 / 1024, '': 1, M: 1, G: 1024, T: 1024 * 1024 };
  return Math.ceil(Number(m[1]) * scale[m[2]!.toUpperCase()]!);
}

/** The #SBATCH lines both jobs share: where they run and who pays. */
function placement(plan: SlurmPlan): string[] {
  return [
    ...(plan.partition ? [`--partition=${plan.partition}`] : []),
    ...(plan.account ? [`--account=${plan.account}`] : []),
    ...(plan.qos ? [`--qos=${plan.qos}`] : []),
    ...plan.sbatch,
  ];
}

const sbatchLines = (options: string[]) => options.map((o) => `#SBATCH ${o}`).join('\n');

export function renderSlurm(plan: SlurmPlan): { name: string; text: string; executable?: boolean }[] {
  const q = shellQuote;
  const { sweep } = plan;
  const N = sweep.shards;
  const scorecrl = `${q(plan.node)} ${q(plan.scorecrl)}`;
  const written = `# Written by: ${plan.command}\n# (run it again with --force to change the settings; the sweep itself is in ${plan.config})`;
  const submit = join(plan.dir, 'submit.sh');

  const sweepScript = `#!/bin/bash
# One task of a Slurm job array running scorecrl ${describeSplit(sweep)}:
# task k runs shard k/${N} into ${plan.out}/trials-shard-k-of-${N}.jsonl.
${written}
#
# Queue it with submit.sh beside this file, which also queues the merge:
#   bash ${submit}           all ${N} shards
#   bash ${submit} 3         rerun shard 3 (it resumes its file) and merge again
# or by hand (the shard count is fixed here, so any subset of 1-${N} works):
#   mkdir -p ${plan.logs} && sbatch --array=3 ${join(plan.dir, 'sweep.sbatch')}
#
# A task stopped by scancel, preemption, requeue or its time limit (SIGTERM
# ${TERM_NOTICE} s before) writes its running trials and exits 143; run again,
# it skips the trials its file holds.
#SBATCH --job-name=${plan.name}-sweep
#SBATCH --array=1-${N}${plan.maxRunning ? `%${plan.maxRunning}` : ''}
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=${plan.cpus}
#SBATCH --mem-per-cpu=${plan.memPerCpu}
#SBATCH --time=${plan.time}
${sbatchLines([...placement(plan), '--requeue', `--signal=TERM@${TERM_NOTICE}`, '--open-mode=append', `--output=${plan.logs}/%x-%A_%a.out`])}
set -euo pipefail

SHARDS=${N}
task=\${SLURM_ARRAY_TASK_ID:?submit this script as a job array task: sbatch --array=1-${N} (or a subset) $0}
if (( task < 1 || task > SHARDS )); then
  echo "array task \${task} is outside 1..\${SHARDS}: this sweep has \${SHARDS} shards (to change it: scorecrl slurm init --shards N --force)" >&2
  exit 2
fi
echo "scorecrl shard \${task}/\${SHARDS} on $(hostname), job \${SLURM_JOB_ID}, restart \${SLURM_RESTART_COUNT:-0}, $(date -u +%FT%TZ)"
# exec: srun replaces this shell and starts node itself, so the SIGTERM Slurm
# sends reaches scorecrl (npx would start npm and a shell, which do not pass it on).
exec srun --ntasks=1 --cpus-per-task="\${SLURM_CPUS_PER_TASK}" \\
  ${scorecrl} sweep \\
  --config ${q(plan.config)} \\
  --out ${q(plan.out)} \\
  --shard "\${task}/\${SHARDS}" \\
  --workers "\${SLURM_CPUS_PER_TASK}" \\
  --progress lines --progress-interval 30
`;

  const mergeScript = `#!/bin/bash
# Merges the ${N} shard files of scorecrl ${describeSplit(sweep)}
# into ${plan.out}/trials.jsonl and writes the report beside it.
${written}
#
# submit.sh queues it after the array with --dependency=afterany: it runs once
# every task has ended, whether it finished, failed or was cancelled. When
# trials are missing it fails (exit 3), naming the shards that lack trials and
# the command that reruns them and queues a new merge.
#SBATCH --job-name=${plan.name}-merge
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --mem=${plan.mergeMem}
#SBATCH --time=${plan.mergeTime}
${sbatchLines([...placement(plan), '--open-mode=append', `--output=${plan.logs}/%x-%j.out`])}
set -euo pipefail

${scorecrl} merge ${q(plan.out)} --rerun ${q(`bash ${submit} {shards}`)}
${scorecrl} report ${q(plan.out)}
`;

  const throttle = plan.maxRunning ? `%${plan.maxRunning}` : '';
  const submitScript = `#!/bin/bash
# Queues scorecrl ${describeSplit(sweep)} on Slurm:
# the array of shards, then the merge, which runs after every task has ended.
#   bash ${submit}            all ${N} shards
#   bash ${submit} 3,7        only shards 3 and 7 (or a range: 1-4): a rerun, each resumes its file
${written}
set -euo pipefail

SHARDS=${N}
CPUS=${plan.cpus}
MEM_MB=$(( ${megabytes(plan.memPerCpu)} * CPUS ))
shards=\${1:-1-\${SHARDS}}
if ! [[ \${shards} =~ ^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$ ]]; then
  echo "usage: bash $0 [SHARDS]: the shards to run as a Slurm array list, e.g. 3 or 3,7 or 1-4 (default: 1-\${SHARDS})" >&2
  exit 2
fi
for part in \${shards//,/ }; do
  for k in \${part//-/ }; do
    if (( k < 1 || k > SHARDS )); then echo "$0: shard \${k} is outside 1..\${SHARDS}" >&2; exit 2; fi
  done
done
if ! command -v sbatch >/dev/null 2>&1; then
  echo "$0: sbatch not found: run this where Slurm jobs are submitted (a login node)" >&2
  exit 2
fi
# A task asking for more CPUs or memory than any node has pends forever
# (Reason=PartitionConfig or Resources): refuse it here instead.
nodes=$(sinfo -h -N ${plan.partition ? `--partition=${plan.partition} ` : ''}-o '%c %m' 2>/dev/null | tr -d '+' | sort -n | tail -1 || true)
if [ -n "\${nodes}" ]; then
  read -r node_cpus node_mb <<<"\${nodes}"
  if (( node_cpus < CPUS )); then
    echo "$0: a task asks for \${CPUS} CPUs but the largest node${plan.partition ? ` of partition ${plan.partition}` : ''} has \${node_cpus}; write the scripts again with --cpus \${node_cpus} --force" >&2
    exit 2
  fi
  if [[ \${node_mb} =~ ^[0-9]+$ ]] && (( node_mb < MEM_MB )); then
    echo "$0: a task asks for \${MEM_MB} MB (--mem-per-cpu x --cpus) but the node has \${node_mb} MB; write the scripts again with a smaller --mem-per-cpu --force" >&2
    exit 2
  fi
fi
mkdir -p ${q(plan.logs)} ${q(plan.out)}
# Checks that scorecrl runs here and reads the config.
${scorecrl} sweep --config ${q(plan.config)} --out ${q(plan.out)} --shard "1/\${SHARDS}" --dry-run >/dev/null
array=$(sbatch --parsable --array="\${shards}${throttle}" ${q(join(plan.dir, 'sweep.sbatch'))})
array=\${array%%;*}
merge=$(sbatch --parsable --dependency="afterany:\${array}" ${q(join(plan.dir, 'merge.sbatch'))})
merge=\${merge%%;*}
echo "queued array job \${array} (shards \${shards} of \${SHARDS}) and merge job \${merge} (after every task has ended)"
echo "watch: squeue -j \${array},\${merge}; logs: ${plan.logs}/; results: ${plan.out}/trials.jsonl"
`;
  return [
    { name: 'sweep.json', text: configText(sweep) },
    { name: 'sweep.sbatch', text: sweepScript, executable: true },
    { name: 'merge.sbatch', text: mergeScript, executable: true },
    { name: 'submit.sh', text: submitScript, executable: true },
  ];
}
