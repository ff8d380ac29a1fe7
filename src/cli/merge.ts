import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../sweep/config.js';
import { expandInputs, mergeFiles } from '../sweep/merge.js';
import { asUsage } from './options.js';

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('combine result files of one sweep (shards, partial runs) into one; idempotent, detects duplicates and config mismatches')
    .argument('<inputs...>', 'result files (.jsonl) or directories holding them')
    .option('-o, --output <file>', 'merged file (default: <dir>/trials.jsonl when the first input is a directory)')
    .addHelpText(
      'after',
      `
Every input must come from the same sweep (same seed, runs and grid); the same
trial in two inputs must have the same result (it is kept once; continuous
metrics may differ by 1e-9 relative, as between the native and WASM cores,
discrete ones such as SHD and 'correct' must be equal). An existing output is
merged too, never dropped, and is replaced atomically. The output is a
complete result file: 'scorecrl report' reads it, and 'scorecrl sweep' with the
same settings resumes it (filling trials that no shard ran).

Example:
  scorecrl merge results              # results/trials-shard-*.jsonl -> results/trials.jsonl`,
    )
    .action(async (inputs: string[], flags: { output?: string }) => {
      const summary = await asUsage(() => {
        expandInputs(inputs);
        let output = flags.output;
        if (!output) {
          const first = inputs[0]!;
          if (!existsSync(first) || !statSync(first).isDirectory()) {
            throw new ConfigError('merge: give --output <file> (or a directory as the first input)');
          }
          output = join(first, 'trials.jsonl');
        }
        // The output, when it exists, is merged too (mergeFiles adds it if not listed).
        return mergeFiles(expandInputs(inputs), output);
      });
      for (const w of summary.warnings) process.stderr.write(`warning: ${w}\n`);
      console.log(
        `merged ${summary.inputs.length} file(s)${summary.shards.length ? ` (shards ${summary.shards.join(', ')})` : ''} ` +
          `into ${summary.output}: ${summary.trials}/${summary.planned} trials of sweep ${summary.sweepId}` +
          (summary.duplicates ? `, ${summary.duplicates} duplicates dropped` : '') +
          (summary.replaced ? `, ${summary.replaced} failed trials superseded by successful re-runs` : '') +
          (summary.errors ? `, ${summary.errors} failed` : ''),
      );
      if (summary.missing > 0) {
        console.log(
          `${summary.missing} trials are missing: run the missing shards, or 'scorecrl sweep' with the same settings and -o on this directory`,
        );
      }
    });
}
