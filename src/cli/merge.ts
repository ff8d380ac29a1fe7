import { type Command, Option } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../sweep/config.js';
import { expandInputs, type MergeSummary, mergeFiles } from '../sweep/merge.js';
import { EXIT_INCOMPLETE, ExitCode } from './exit.js';
import { asUsage } from './options.js';

interface MergeFlags {
  out?: string;
  output?: string;
  allowPartial?: boolean;
  rerun?: string;
}

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('combine result files of one sweep (shards, partial runs) into one; idempotent, detects duplicates and config mismatches')
    .argument('<inputs...>', 'result files (.jsonl) or directories holding them')
    .option('-o, --out <file>', 'merged file (default: <dir>/trials.jsonl when the first input is a directory)')
    // --output: the flag's earlier name, still accepted (every other command says --out).
    .addOption(new Option('--output <file>').hideHelp())
    .option('--allow-partial', 'write the merged file even when trials are missing (exit 0; the missing shards are still named)')
    .option(
      '--rerun <command>',
      "the command that reruns missing shards, printed when trials are missing; '{shards}' becomes their list, e.g. 'sbatch --array={shards} sweep.sbatch'",
    )
    .addHelpText(
      'after',
      `
Every input must come from the same sweep (same seed, runs and grid); the same
trial in two inputs must have the same result (it is kept once; continuous
metrics may differ by 1e-9 relative, as between the native and WASM cores,
discrete ones such as SHD and 'correct' must be equal). An existing output is
merged too, never dropped, and is replaced atomically. The output is a
complete result file: 'scorecrl report' reads it, and 'scorecrl sweep' with the
same settings resumes it.

When trials of the sweep are missing (a shard that failed, was cancelled or
never ran), nothing is written and merge exits 3, naming the shards that lack
trials and how to rerun them; --allow-partial writes what there is.

Examples:
  scorecrl merge results              # results/trials-shard-*.jsonl -> results/trials.jsonl
  scorecrl merge results --rerun 'bash slurm/submit.sh {shards}'`,
    )
    .action(async (inputs: string[], flags: MergeFlags) => {
      const summary = await asUsage(() => {
        expandInputs(inputs);
        let output = flags.out ?? flags.output;
        if (!output) {
          const first = inputs[0]!;
          if (!existsSync(first) || !statSync(first).isDirectory()) {
            throw new ConfigError('merge: give --out <file> (or a directory as the first input)');
          }
          output = join(first, 'trials.jsonl');
        }
        // The output, when it exists, is merged too (mergeFiles adds it if not listed).
        return mergeFiles(expandInputs(inputs), output, { allowPartial: flags.allowPartial });
      });
      for (const w of summary.warnings) process.stderr.write(`warning: ${w}\n`);
      if (!summary.written)
        throw new ExitCode(EXIT_INCOMPLETE, `merge: ${describeMissing(summary)}; nothing was written\n${howToRerun(summary, flags.rerun)}`);
      console.log(
        `merged ${summary.inputs.length} file(s)${summary.shards.length ? ` (shards ${summary.shards.join(', ')})` : ''} ` +
          `into ${summary.output}: ${summary.trials}/${summary.planned} trials of sweep ${summary.sweepId}` +
          (summary.duplicates ? `, ${summary.duplicates} duplicates dropped` : '') +
          (summary.replaced ? `, ${summary.replaced} failed trials superseded by successful re-runs` : '') +
          (summary.errors ? `, ${summary.errors} failed` : ''),
      );
      if (summary.missing > 0)
        process.stderr.write(`warning: ${describeMissing(summary)} (--allow-partial)\n${howToRerun(summary, flags.rerun)}\n`);
    });
}

/** Shards named one by one in the message (the rest are counted). */
const NAMED_SHARDS = 8;

/** Sorted shard indices as a Slurm array list: 1-3,5,9-10. */
export function ranges(indices: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < indices.length; ) {
    let j = i;
    while (j + 1 < indices.length && indices[j + 1] === indices[j]! + 1) j++;
    parts.push(j === i ? `${indices[i]}` : `${indices[i]}-${indices[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** "900 of 3600 trials of sweep … are missing: shard 2/4 lacks all its 900 trials, …". */
function describeMissing(summary: MergeSummary): string {
  const shards = summary.missingShards.map(
    (s) =>
      `shard ${s.index}/${s.count} lacks ${s.missing === s.planned ? `all its ${s.planned}` : `${s.missing} of its ${s.planned}`} trials`,
  );
  return (
    `${summary.missing} of the ${summary.planned} trials of sweep ${summary.sweepId} are missing` +
    (shards.length ? `: ${shards.join(', ')}` : '')
  );
}

/** What reruns the missing trials: the --rerun command with the shard list, else the generic sweep command. */
function howToRerun(summary: MergeSummary, rerun: string | undefined): string {
  const folder = dirname(summary.output);
  const list = ranges(summary.missingShards.map((s) => s.index));
  if (summary.missingShards.length === 0) {
    return (
      `fill them in: merge what there is with --allow-partial, then run 'scorecrl sweep' with the sweep's settings and -o ${folder} ` +
      '(it resumes the merged file and runs only the missing trials)'
    );
  }
  if (rerun) return `rerun the missing shards (${list}): ${rerun.replaceAll('{shards}', list)}\nthen merge again`;
  const count = summary.missingShards[0]!.count;
  return (
    `rerun the missing shards with the sweep's settings (each resumes its own file): ` +
    summary.missingShards
      .slice(0, NAMED_SHARDS)
      .map((s) => `scorecrl sweep … --shard ${s.index}/${count} -o ${folder}`)
      .join('; ') +
    (summary.missingShards.length > NAMED_SHARDS ? `; … (shards ${list})` : '') +
    '\nthen merge again'
  );
}
