/**
 * What `scorecrl slurm init` and `scorecrl k8s init` share: the sweep's config
 * resolved from the sweep flags and written once as JSON beside the scripts,
 * the shard count checked against the plan, values checked before they go
 * into a script, and the files written (never over an existing one unless
 * --force).
 */
import { type Command, InvalidArgumentError } from 'commander';
import { chmodSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeDirectory, writeFileAtomic } from '../io/files.js';
import { ConfigError, configToJson, countTrials, expandCells, type SweepConfig, sweepId } from '../sweep/config.js';
import { MAX_TRIALS_PER_RUN } from '../sweep/run.js';
import { integer } from './options.js';
import { addConfigOptions, resolveConfig, type SweepFlags } from './sweep.js';

/** The sweep a set of job scripts runs: its config, id and size, split in `shards`. */
export interface ShardedSweep {
  config: SweepConfig;
  id: string;
  cells: number;
  trials: number;
  shards: number;
  /** Trials of the largest shard (shard 1). */
  perShard: number;
}

/** `<engine> init` under `parent`: --shards (up to `maxShards`) and the sweep's config options; the engine adds its own. */
export function initCommand(parent: Command, description: string, shardsHelp: string, maxShards: number): Command {
  const init = parent
    .command('init')
    .description(description)
    .requiredOption('--shards <N>', shardsHelp, integer('--shards', 1, maxShards));
  return addConfigOptions(init);
}

/** Resolves the sweep flags and checks the split: every shard gets a trial, none more than one process runs. */
export function shardedSweep(flags: Partial<SweepFlags>, shards: number): ShardedSweep {
  const config = resolveConfig(flags);
  const trials = countTrials(config);
  if (shards > trials) throw new ConfigError(`--shards ${shards}: the sweep has only ${trials} trials (give at most ${trials} shards)`);
  const perShard = countTrials(config, { index: 1, count: shards });
  if (perShard > MAX_TRIALS_PER_RUN) {
    throw new ConfigError(
      `--shards ${shards}: a shard would run ${perShard} trials, more than the ${MAX_TRIALS_PER_RUN} one process plans; ` +
        `give at least --shards ${Math.ceil(trials / MAX_TRIALS_PER_RUN)}`,
    );
  }
  return { config, id: sweepId(config), cells: expandCells(config).length, trials, shards, perShard };
}

/** The config as the scripts read it (`scorecrl sweep --config`): one grid field a line. */
export function configText(sweep: ShardedSweep): string {
  return `${objectsByLine(configToJson(sweep.config), '')}\n`;
}

/** JSON with objects spread over lines and everything else (lists of values) kept on one. */
function objectsByLine(value: unknown, indent: string): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return JSON.stringify(value);
  const inner = `${indent}  `;
  const fields = Object.entries(value).map(([k, v]) => `${inner}${JSON.stringify(k)}: ${objectsByLine(v, inner)}`);
  return `{\n${fields.join(',\n')}\n${indent}}`;
}

/** One sentence on the sweep and its split, for script headers and the init command's output. */
export function describeSplit(sweep: ShardedSweep): string {
  const sizes = sweep.trials % sweep.shards === 0 ? `${sweep.perShard} each` : `${sweep.perShard - 1} or ${sweep.perShard} each`;
  return `sweep ${sweep.id}: ${sweep.cells} cells x ${sweep.config.runs} runs = ${sweep.trials} trials in ${sweep.shards} shards (${sizes})`;
}

/** A word safely quoted for bash. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The command line that ran (for the "written by" line of a script), arguments quoted. */
export function invokedAs(): string {
  return ['scorecrl', ...process.argv.slice(2)].map(shellQuote).join(' ');
}

/** A commander parser for a value that goes into a script or manifest as is: checked against `pattern`. */
export function matching(name: string, pattern: RegExp, example: string): (value: string) => string {
  return (value: string) => {
    if (!pattern.test(value)) throw new InvalidArgumentError(`${name}: '${value}' is not valid (e.g. ${example})`);
    return value;
  };
}

/** A commander parser that collects a repeatable option. */
export function collect(check: (value: string) => string): (value: string, previous: string[] | undefined) => string[] {
  return (value, previous) => [...(previous ?? []), check(value)];
}

/**
 * A path as the scripts name it (absolute unless `relative`), free of
 * characters that a job script, an #SBATCH line or a YAML comment would mangle.
 */
export function scriptPath(name: string, path: string, relative = false): string {
  const named = relative ? path : resolve(path);
  if (!/^[A-Za-z0-9_./+@,:=-]+$/.test(named)) {
    throw new ConfigError(`${name} ${named}: use a path of letters, digits and _ . / + @ , : = - only (no spaces or quotes)`);
  }
  return named;
}

export interface ScriptFile {
  name: string;
  text: string;
  executable?: boolean;
}

/**
 * Writes `files` into `dir` (made if missing). An existing file is kept and
 * the command refused unless `force`: scripts may have been edited by hand.
 */
export function writeScripts(dir: string, files: ScriptFile[], force: boolean): string[] {
  if (!force) {
    const existing = files.map((f) => join(dir, f.name)).filter((p) => existsSync(p));
    if (existing.length) {
      throw new ConfigError(`${existing.join(', ')} already exist(s); give --force to replace them, or another --dir`);
    }
  }
  makeDirectory(dir);
  return files.map((f) => {
    const path = join(dir, f.name);
    writeFileAtomic(path, f.text);
    if (f.executable) chmodSync(path, 0o755);
    return path;
  });
}
