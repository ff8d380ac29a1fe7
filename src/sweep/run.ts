/**
 * Runs a sweep: plans its trials, skips those already in the result file,
 * runs the rest on a worker pool (piscina) and appends one line per finished
 * trial. Stopping (an aborted signal) lets the running trials finish and be
 * written, then returns; a killed process loses only the running trials.
 */
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { packageRoot } from '../backend/paths.js';
import { ConfigError, FileError } from '../errors.js';
import { configToJson, countTrials, planTrials, sweepId, trialCost, type Shard, type SweepConfig, type Trial } from './config.js';
import { describeFileError, isFileSystemError, JsonLinesWriter, makeDirectory, outputTarget, withPath } from '../io/files.js';
import { acquireLock, type Lock } from '../io/lock.js';
import { makeHeader, readResults, type SweepHeader, type TrialRecord } from './store.js';
import type { TrialOutcome, TrialTask, WorkerData } from './task.js';

export interface SweepProgress {
  /** Trials finished in this run (ok + error). */
  done: number;
  /** Trials to run in this run (the plan minus those already in the file). */
  total: number;
  /** Trials found finished in the file and skipped. */
  skipped: number;
  errors: number;
  /** Estimated work done / to do (trialCost units): a better basis for the ETA than trial counts. */
  costDone: number;
  costTotal: number;
  elapsedMs: number;
}

export interface RunOptions {
  config: SweepConfig;
  /** The JSONL result file (created with its directory if missing, else resumed). */
  file: string;
  shard?: Shard;
  /** Worker threads (default: one per core). 0 runs trials on the calling thread (needs `inlineTrial`). */
  workers?: number;
  backend?: WorkerData['backend'];
  /** Worker module for piscina (default: the compiled src/sweep/worker.ts). Tests inject doubles here. */
  workerFile?: string;
  /** Trial function for workers = 0. */
  inlineTrial?: (task: TrialTask) => Promise<TrialOutcome>;
  /** Run again trials recorded with an error (default: they count as finished). */
  retryErrors?: boolean;
  /** Stop after this many trials have been written in this run (for tests of resume). */
  limit?: number;
  signal?: AbortSignal;
  onProgress?: (progress: SweepProgress) => void;
  /** Warnings (damaged lines, ignored records). */
  onWarning?: (message: string) => void;
  version?: string;
  /**
   * Called once the result file is locked, with a function that closes the writer and releases
   * the lock at once (for a process that must exit now: the lines written so far stay).
   */
  onOpen?: (closeNow: () => void) => void;
}

/** Trials one process plans at most (beyond this, run the sweep in shards). */
export const MAX_TRIALS_PER_RUN = 2_000_000;

export interface RunSummary {
  file: string;
  sweepId: string;
  /** Trials of the plan (of this shard). */
  planned: number;
  /** Already in the file and skipped. */
  skipped: number;
  /** Finished in this run. */
  ran: number;
  /** Trials of this run that threw (recorded with their error). */
  errors: number;
  /** Plan trials still missing (stopped early). */
  remaining: number;
  interrupted: boolean;
  elapsedMs: number;
  workers: number;
  backend: string;
}

/** Default worker module: dist/sweep/worker.js (also when this file runs from src/ under a TS loader). */
export function defaultWorkerFile(): string {
  const here = fileURLToPath(new URL('./worker.js', import.meta.url));
  if (existsSync(here)) return here;
  return join(packageRoot, 'dist', 'sweep', 'worker.js');
}

/** Default worker count: one per core. */
export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

/** Checks that an existing file belongs to this sweep (and shard); throws ConfigError otherwise. */
export function checkHeader(file: string, header: SweepHeader | null, id: string, shard: Shard | null): void {
  if (!header) {
    throw new ConfigError(`${file} exists but does not start with a sweep header; use another --out or remove the file`);
  }
  if (header.sweepId !== id) {
    throw new ConfigError(
      `${file} holds results of a different sweep (id ${header.sweepId}, this one is ${id}: the seed, runs or grid differ). ` +
        `Use another --out to start a new sweep, or the same settings to resume that one.`,
    );
  }
  const a = header.shard && header.shard.count > 1 ? `${header.shard.index}/${header.shard.count}` : 'all';
  const b = shard && shard.count > 1 ? `${shard.index}/${shard.count}` : 'all';
  if (a !== b && a !== 'all') {
    throw new ConfigError(
      `${file} holds shard ${a} but this run is for ${b === 'all' ? 'the whole sweep' : `shard ${b}`}; use another --out`,
    );
  }
}

interface Executor {
  run(task: TrialTask): Promise<TrialOutcome>;
  close(): Promise<void>;
}

function piscinaExecutor(file: string, threads: number, data: WorkerData): Executor {
  // Each worker runs one trial at a time on one thread. OpenBLAS (when the
  // native core uses it) reads this once, when the addon is first loaded; its
  // own threads would otherwise busy-wait between the small products of a trial.
  process.env.OPENBLAS_NUM_THREADS ??= '1';
  const pool = new Piscina({
    filename: file,
    minThreads: threads,
    maxThreads: threads,
    workerData: data,
    idleTimeout: 60_000,
    atomics: 'disabled',
  });
  return {
    run: (task) => pool.run(task) as Promise<TrialOutcome>,
    close: () => pool.destroy(),
  };
}

export async function runSweep(options: RunOptions): Promise<RunSummary> {
  const started = performance.now();
  const { config } = options;
  const id = sweepId(config);
  const shard = options.shard && options.shard.count > 1 ? options.shard : null;
  const size = countTrials(config, shard ?? undefined);
  if (size > MAX_TRIALS_PER_RUN) {
    const total = countTrials(config);
    const shards = Math.ceil(total / MAX_TRIALS_PER_RUN);
    throw new ConfigError(
      `this run would hold ${size.toLocaleString('en-US')} trials, more than the ${MAX_TRIALS_PER_RUN.toLocaleString('en-US')} one process plans; ` +
        `lower --runs or the grid, or split the sweep with --shard k/${shards} (k = 1..${shards}) and merge the shards`,
    );
  }
  const plan = planTrials(config, shard ?? undefined);
  const warn = options.onWarning ?? (() => {});

  // The results go to `file`, or to its target when it is a symlink inside its folder.
  const folder = dirname(options.file);
  makeDirectory(folder);
  const file = outputTarget(options.file, folder);
  const lock = acquireLock(file, undefined, warn);
  try {
    return await runLocked(options, { started, id, shard, plan, warn, file, lock });
  } finally {
    lock.release();
  }
}

async function runLocked(
  options: RunOptions,
  context: { started: number; id: string; shard: Shard | null; plan: Trial[]; warn: (m: string) => void; file: string; lock: Lock },
): Promise<RunSummary> {
  const { config } = options;
  const { started, id, shard, plan, warn, file, lock } = context;
  // Resume: read what is there (under the lock: no other writer adds to it now).
  let keepBytes: number | undefined;
  const finished = new Set<string>();
  if (existsSync(file)) {
    if (!statSync(file).isFile()) {
      throw new ConfigError(`${options.file} exists and is not a regular file; it is left untouched: use another --out`);
    }
    const existing = withPath(file, 'read', () => readResults(file));
    if (existing.foreign) {
      throw new ConfigError(
        `${options.file} exists and is not a scorecrl result file (no sweep header); it is left untouched: use another --out, or move the file away`,
      );
    }
    // No header and not foreign: blank, or only a header cut short by a kill; start it again.
    if (existing.header) checkHeader(options.file, existing.header, id, shard);
    for (const problem of existing.problems) warn(problem);
    keepBytes = existing.header ? existing.goodBytes : 0;
    for (const [trialId, record] of existing.records) {
      if (record.status === 'ok' || !options.retryErrors) finished.add(trialId);
    }
  }
  const todo = plan.filter((t) => !finished.has(t.id));
  const skipped = plan.length - todo.length;
  // Longest first: better load balance across workers.
  const costs = new Map(todo.map((t) => [t.id, trialCost(t.cell)]));
  todo.sort((a, b) => costs.get(b.id)! - costs.get(a.id)! || a.index - b.index);
  const costTotal = todo.reduce((s, t) => s + costs.get(t.id)!, 0);

  const workers = options.workers ?? defaultWorkers();
  const summary: RunSummary = {
    file: options.file,
    sweepId: id,
    planned: plan.length,
    skipped,
    ran: 0,
    errors: 0,
    remaining: todo.length,
    interrupted: false,
    elapsedMs: 0,
    workers,
    backend: '',
  };
  const header = makeHeader(config, id, shard, plan.length, options.version ?? '', configToJson(config));
  const writer = withPath(file, 'write', () => JsonLinesWriter.open(file, header, keepBytes));
  options.onOpen?.(() => {
    writer.close();
    lock.release();
  });
  const limit = options.limit ?? Infinity;
  if (todo.length === 0 || limit <= 0) {
    writer.close();
    summary.elapsedMs = performance.now() - started;
    return summary;
  }

  let executor: Executor;
  if (workers === 0) {
    if (!options.inlineTrial) throw new ConfigError('workers = 0 needs an inline trial function');
    const fn = options.inlineTrial;
    executor = { run: fn, close: async () => {} };
  } else {
    executor = piscinaExecutor(options.workerFile ?? defaultWorkerFile(), workers, { backend: options.backend ?? 'auto' });
  }

  const progress: SweepProgress = { done: 0, total: todo.length, skipped, errors: 0, costDone: 0, costTotal, elapsedMs: 0 };
  const backends = new Set<string>();
  let next = 0;
  let failure: Error | undefined;
  const stopped = () => options.signal?.aborted || failure !== undefined || summary.ran >= limit;

  const record = (trial: Trial, outcome: TrialOutcome): TrialRecord => ({
    type: 'trial',
    id: trial.id,
    cellKey: trial.cellKey,
    cell: trial.cell,
    run: trial.run,
    seed: trial.seed,
    status: outcome.status,
    ...(outcome.status === 'ok' ? { metrics: outcome.metrics } : { error: outcome.error ?? 'unknown error' }),
    ms: Math.round(outcome.ms * 1000) / 1000,
    backend: outcome.backend,
  });

  // Each lane takes the next trial until the plan is done or the run stops;
  // at most `lanes` trials are in flight, so a stop waits for few of them.
  const lanes = Math.max(1, workers) + (workers > 0 ? 1 : 0);
  const lane = async () => {
    while (!stopped() && next < todo.length) {
      const trial = todo[next++]!;
      let outcome: TrialOutcome;
      try {
        outcome = await executor.run({ id: trial.id, cell: trial.cell, seed: trial.seed });
      } catch (error) {
        // The worker itself failed (backend did not load, thread crashed): not the trial's fault; stop.
        failure ??= error instanceof Error ? error : new Error(String(error));
        return;
      }
      if (summary.ran >= limit) return;
      try {
        writer.appendLine(record(trial, outcome));
      } catch (error) {
        failure ??= error instanceof Error ? error : new Error(String(error));
        return;
      }
      summary.ran++;
      backends.add(outcome.backend);
      if (outcome.status === 'error') {
        summary.errors++;
        progress.errors++;
      }
      progress.done++;
      progress.costDone += costs.get(trial.id)!;
      progress.elapsedMs = performance.now() - started;
      options.onProgress?.({ ...progress });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(lanes, todo.length) }, lane));
  } finally {
    try {
      writer.close();
    } catch (error) {
      failure ??= error instanceof Error ? error : new Error(String(error));
    }
    await executor.close();
  }
  summary.remaining = todo.length - summary.ran;
  summary.interrupted = summary.remaining > 0 && !failure;
  summary.backend = [...backends].join('+');
  summary.elapsedMs = performance.now() - started;
  if (failure && isFileSystemError(failure)) {
    const error = new FileError(
      `${describeFileError(failure, options.file, 'write')}; ${summary.ran} trials of this run were written before it (run the same command again to resume)`,
      options.file,
      failure.code,
    );
    (error as Error & { summary?: RunSummary }).summary = summary;
    throw error;
  }
  if (failure) {
    const error = new Error(
      `a sweep worker failed: ${failure.message} (${summary.ran} trials were written; run the same command again to resume)`,
    );
    (error as Error & { summary?: RunSummary }).summary = summary;
    throw error;
  }
  return summary;
}
