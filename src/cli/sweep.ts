import { type Command, Option } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  applyGrid,
  applyTopLevel,
  CELL_FIELDS,
  countTrials,
  checkSupported,
  ConfigError,
  configFromJson,
  configToJson,
  defaultConfig,
  expandCells,
  parseNd,
  parseShard,
  sweepId,
  type CellField,
  type Shard,
  type SweepConfig,
} from '../sweep/config.js';
import { createProgress, formatDuration, type ProgressMode } from '../sweep/progress.js';
import { defaultWorkers, MAX_TRIALS_PER_RUN, runSweep, type RunSummary } from '../sweep/run.js';
import { ExitCode } from './exit.js';
import { backendOption } from './info.js';
import { asUsage, booleanList, integer, numberList, packageVersion, positiveNumber, signalExitCode, stringList } from './options.js';
import { loadReference, summarise } from './report.js';

/** Runs per cell of `--quick`. */
export const QUICK_RUNS = 10;

export interface SweepFlags {
  config?: string;
  out: string;
  runs?: number;
  seed?: number;
  quick?: boolean;
  nd?: string[];
  n?: number[];
  d?: number[];
  samples?: number[];
  latent?: string[];
  density?: number[];
  randomOrder?: boolean[];
  intervention?: string[];
  factor?: number[];
  varianceChange?: string[];
  design?: string[];
  randomInterventionOrder?: boolean[];
  transform?: string[];
  scaleDecoder?: boolean[];
  conditionFloor?: number[];
  estimator?: string[];
  sampling?: string[];
  algorithm?: string[];
  tolEigv?: number[];
  tolOrth?: number[];
  workers?: number;
  shard?: string;
  retryErrors?: boolean;
  report: boolean;
  reference: string;
  tolerance: number;
  progress: ProgressMode;
  progressInterval: number;
  printConfig?: boolean;
  dryRun?: boolean;
}

/** The cell fields set by their own flag (n and d come from --nd or --n/--d). */
const GRID_FLAGS = CELL_FIELDS.filter((field): field is Exclude<CellField, 'n' | 'd'> => field !== 'n' && field !== 'd');

/** The sweep config from --config and the grid flags (flags win). */
export function resolveConfig(flags: Partial<SweepFlags>): SweepConfig {
  let config = defaultConfig();
  if (flags.config) {
    if (!existsSync(flags.config)) throw new ConfigError(`--config: ${flags.config} does not exist`);
    // A device or pipe (/dev/zero) could be read forever: a config is a regular file.
    if (!statSync(flags.config).isFile()) throw new ConfigError(`--config: ${flags.config} is not a regular file`);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(flags.config, 'utf8'));
    } catch (error) {
      throw new ConfigError(`--config: ${flags.config} is not valid JSON (${(error as Error).message})`);
    }
    config = configFromJson(json, flags.config);
  }
  const grid: Record<string, unknown> = {};
  if (flags.nd) grid.nd = flags.nd.map(parseNd);
  if (flags.n) grid.n = flags.n;
  if (flags.d) grid.d = flags.d;
  for (const key of GRID_FLAGS) if (flags[key] !== undefined) grid[key] = flags[key];
  config = applyGrid(config, grid, 'flags');
  const runs = flags.runs ?? (flags.quick ? QUICK_RUNS : undefined);
  config = applyTopLevel(config, flags.seed, runs);
  checkSupported(config);
  return config;
}

/** Where a sweep's results go: <out>/trials.jsonl, or <out>/trials-shard-k-of-N.jsonl for a shard. */
export function resultFile(out: string, shard?: Shard): string {
  return shard && shard.count > 1 ? join(out, `trials-shard-${shard.index}-of-${shard.count}.jsonl`) : join(out, 'trials.jsonl');
}

/**
 * The options that make a sweep's config (--config, --runs, --seed, --quick and the grid flags), read by
 * `resolveConfig`; `sweep`, `slurm init` and `k8s init` take the same ones.
 */
export function addConfigOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'JSON sweep config ({ seed, runs, grid }); flags below override it')
    .option('--runs <k>', 'runs per cell (default 100)', integer('--runs', 1, 1_000_000))
    .option('--seed <s>', 'sweep seed (default 0)', integer('--seed', 0))
    .option('--quick', `${QUICK_RUNS} runs per cell instead of 100`)
    .option('--nd <pairs>', 'latent x observed dimensions, e.g. 3x3,5x15', stringList)
    .option('--n <list>', 'latent dimensions (product with --d)', numberList)
    .option('--d <list>', 'observed dimensions (default d = n)', numberList)
    .option('--samples <list>', 'samples per environment, e.g. 316,1000 or 10^2.5,10^3', numberList)
    .option('--latent <list>', 'latent model: linear; quadratic, mlp with gscale, or materialised finite-sample/lscale cells', stringList)
    .option('--density <list>', 'edge probability of the latent DAG', numberList)
    .option('--random-order <bools>', 'random topological order', booleanList)
    .option('--intervention <list>', 'hard or soft (lscale: which stage is scored, closure SHD soft, DAG SHD hard)', stringList)
    .option('--factor <list>', 'noise variance factor of an intervention', numberList)
    .option('--variance-change <list>', 'scale (v * factor) or add (v + factor)', stringList)
    .option(
      '--design <list>',
      'intervention design: single-node (finite-sample, lscale; umni: multi-node; gscale: two-hard-per-node)',
      stringList,
    )
    .option('--random-intervention-order <bools>', 'assign environments to nodes at random', booleanList)
    .option('--transform <list>', 'mixing: linear (gscale: tanh or tanh-mlp)', stringList)
    .option('--scale-decoder <bools>', 'scale decoder columns to max |entry| 1', booleanList)
    .option('--condition-floor <list>', 'smallest sigma_min/sigma_max of the decoder block', numberList)
    .option(
      '--estimator <list>',
      'score differences: gaussian (plug-in), exact, or learned: logistic-quadratic, classifier-mlp, ssm (not umni; trained per trial, far slower)',
      stringList,
    )
    .option(
      '--sampling <list>',
      'latent moments: samples (draw N per environment) or wishart (their exact distribution, O(n^2))',
      stringList,
    )
    .option('--algorithm <list>', 'finite-sample, lscale (LSCALE-I), umni or gscale', stringList)
    .option('--tol-eigv <list>', 'eigenvalue tolerance of the finite-sample algorithm', numberList)
    .option('--tol-orth <list>', 'orthogonality tolerance of the finite-sample algorithm', numberList);
}

export function registerSweep(program: Command): void {
  const command = program
    .command('sweep')
    .description(
      'run a grid of seeded simulated trials in parallel (default: the NeurIPS 2024 sample-complexity experiment, 3 600 trials), ' +
        'resumable, and print the table',
    );
  addConfigOptions(command)
    .option('-o, --out <dir>', 'output directory (results file trials.jsonl + report)', 'scorecrl-sweep')
    .option('-w, --workers <k>', `worker threads (default: one per core, here ${defaultWorkers()})`, integer('--workers', 1, 256))
    .option('--shard <k/N>', 'run only shard k of N (1 <= k <= N) of the trials, e.g. for a job array')
    .option('--retry-errors', 'run again the trials recorded with an error')
    .option('--no-report', 'do not write the report files (the table is still printed)')
    .option('--reference <csv>', "reference table to compare correct-graph rates with ('builtin' or 'none')", 'builtin')
    .option('--tolerance <x>', 'allowed |difference| from the reference rate', positiveNumber, 0.15)
    .addOption(
      new Option('--progress <mode>', 'progress display: bar (TTY), lines, none, auto')
        .choices(['auto', 'bar', 'lines', 'none'])
        .default('auto'),
    )
    .option('--progress-interval <s>', 'seconds between plain progress lines', positiveNumber, 5)
    .option('--print-config', 'print the resolved config as JSON and exit')
    .option('--dry-run', 'print what would run and exit')
    .addHelpText(
      'after',
      `
Results are appended to <out>/trials.jsonl, one line per finished trial; running
the same command again resumes (finished trials are skipped). Ctrl-C stops after
the running trials are written (exit 130; SIGTERM: 143). Every trial's seed
derives from (seed, cell, run), so results do not depend on --workers or --shard.

Examples:
  scorecrl sweep                                  # the full default sweep (3 600 trials)
  scorecrl sweep --quick                          # 10 runs per cell
  scorecrl sweep --nd 5x15 --samples 1000,10000 --estimator gaussian,exact --runs 50 -o est
  scorecrl sweep --algorithm lscale --intervention hard --nd 5x15 --samples 1000,10000 -o lscale
  scorecrl sweep --estimator logistic-quadratic --nd 3x5 --samples 1000,5000 --runs 20 -o learned
  scorecrl sweep --shard 2/8 -o results           # one task of a job array; then: scorecrl merge results`,
    )
    .action(async (flags: SweepFlags) => {
      const { config, shard } = await asUsage(() => ({
        config: resolveConfig(flags),
        shard: flags.shard ? parseShard(flags.shard) : undefined,
      }));
      if (flags.printConfig) {
        console.log(JSON.stringify(configToJson(config), null, 2));
        return;
      }
      const file = resultFile(flags.out, shard);
      const reference = await asUsage(() => loadReference(flags.reference));
      if (flags.dryRun) {
        // Counted, not planned: a dry run of a huge sweep answers at once.
        const total = countTrials(config);
        const mine = countTrials(config, shard);
        const tooMany =
          mine > MAX_TRIALS_PER_RUN
            ? `; more than the ${MAX_TRIALS_PER_RUN.toLocaleString('en-US')} trials one process runs: split it with --shard k/${Math.ceil(total / MAX_TRIALS_PER_RUN)}`
            : '';
        console.log(
          `sweep ${sweepId(config)}: ${expandCells(config).length} cells x ${config.runs} runs = ${total} trials` +
            (shard ? `; shard ${shard.index}/${shard.count}: ${mine} trials` : '') +
            `; results in ${file}${tooMany}`,
        );
        return;
      }
      await runAndReport(program, flags, config, shard, file, reference);
    });
}

async function runAndReport(
  program: Command,
  flags: SweepFlags,
  config: SweepConfig,
  shard: Shard | undefined,
  file: string,
  reference: Awaited<ReturnType<typeof loadReference>>,
): Promise<void> {
  const controller = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  // Closes the result file and releases its lock (set once the file is open).
  let closeNow: (() => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      // Every finished trial is already written (each line is one write); only running ones are lost.
      try {
        closeNow?.();
      } catch {
        // Exiting anyway: the lines are in the file whether or not the last flush worked.
      }
      process.stderr.write(`\nsweep: second ${signal}, exiting now (finished trials are kept; running ones are lost; resume later)\n`);
      process.exit(signalExitCode(signal));
    }
    signalled = signal;
    process.stderr.write(`\nsweep: ${signal}: finishing the running trials, then stopping (again to exit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const display = createProgress(flags.progress, process.stderr, flags.progressInterval * 1000);
  let summary: RunSummary;
  try {
    summary = await asUsage(() =>
      runSweep({
        config,
        file,
        shard,
        workers: flags.workers,
        backend: backendOption(program) ?? 'auto',
        retryErrors: flags.retryErrors,
        signal: controller.signal,
        onProgress: (p) => display.update(p),
        onWarning: (w) => process.stderr.write(`warning: ${w}\n`),
        version: packageVersion(),
        onOpen: (close) => {
          closeNow = close;
        },
      }),
    );
  } finally {
    display.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const rate = summary.ran > 0 ? (summary.ran * 1000) / summary.elapsedMs : 0;
  process.stderr.write(
    `sweep ${summary.sweepId}: ${summary.ran} trials run in ${formatDuration(summary.elapsedMs)} ` +
      `(${(summary.elapsedMs / 1000).toFixed(1)} s, ${rate.toFixed(1)} trials/s, ${summary.workers} workers` +
      `${summary.backend ? `, ${summary.backend}` : ''})` +
      (summary.skipped ? `, ${summary.skipped} already done` : '') +
      (summary.errors ? `, ${summary.errors} failed (recorded with their errors)` : '') +
      `; results: ${file}\n`,
  );
  if (signalled) {
    throw new ExitCode(
      signalExitCode(signalled),
      `stopped by ${signalled}: ${summary.remaining} trials not run; run the same command again to resume`,
    );
  }
  if (shard) {
    process.stderr.write(
      `shard ${shard.index}/${shard.count} done; when all shards are: scorecrl merge ${flags.out} && scorecrl report ${flags.out}\n`,
    );
    return;
  }
  await summarise([file], flags.out, { reference, tolerance: flags.tolerance, write: flags.report, figures: true });
}
