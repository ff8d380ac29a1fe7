/**
 * Merging result files of one sweep (its shards, partial runs, earlier
 * merges) into one file. Idempotent: merging the output again with any of its
 * inputs gives the same file. Records are written in plan order.
 *
 * Checks: every input must carry the same sweep id (else the configs differ:
 * an error naming the differing fields); every record must be a trial of that
 * sweep with the seed the plan gives it; the same trial in two files must have
 * the same outcome (a duplicate, dropped) unless one of them is an error and
 * the other a success (the success is kept). Any other disagreement is a
 * conflict and nothing is written.
 */
import { existsSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, configFromJson, planTrials, sweepId } from './config.js';
import { readResults, recordOutcome, type SweepHeader, type TrialRecord } from './store.js';

export interface MergeSummary {
  output: string;
  sweepId: string;
  inputs: string[];
  /** Trials written. */
  trials: number;
  /** Trials of the plan missing from every input. */
  missing: number;
  planned: number;
  /** Records seen more than once with the same outcome. */
  duplicates: number;
  /** Error records replaced by a success for the same trial. */
  replaced: number;
  errors: number;
  /** Shards the inputs came from ('k/N'), if any. */
  shards: string[];
  warnings: string[];
}

/** Expands directories to the .jsonl files inside them (sorted). */
export function expandInputs(paths: string[], exclude?: string): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new ConfigError(`merge: ${p} does not exist`);
    if (statSync(p).isDirectory()) {
      const files = readdirSync(p)
        .filter((f) => f.endsWith('.jsonl'))
        .sort()
        .map((f) => join(p, f))
        .filter((f) => !exclude || resolve(f) !== resolve(exclude));
      if (files.length === 0) throw new ConfigError(`merge: no .jsonl files in ${p}`);
      out.push(...files);
    } else {
      out.push(p);
    }
  }
  return [...new Set(out.map((p) => resolve(p)))].map((abs) => out.find((p) => resolve(p) === abs)!);
}

function describeDifference(a: SweepHeader['config'], b: SweepHeader['config']): string {
  const diffs: string[] = [];
  if (a.seed !== b.seed) diffs.push(`seed ${a.seed} vs ${b.seed}`);
  if (a.runs !== b.runs) diffs.push(`runs ${a.runs} vs ${b.runs}`);
  const keys = new Set([...Object.keys(a.grid ?? {}), ...Object.keys(b.grid ?? {})]);
  for (const k of keys) {
    const x = JSON.stringify(a.grid?.[k]);
    const y = JSON.stringify(b.grid?.[k]);
    if (x !== y) diffs.push(`grid.${k} ${x} vs ${y}`);
  }
  return diffs.length ? diffs.join('; ') : 'same settings (different scorecrl versions?)';
}

export function mergeFiles(inputs: string[], output: string): MergeSummary {
  if (inputs.length === 0) throw new ConfigError('merge: give at least one result file or directory');
  const warnings: string[] = [];
  const files = inputs.map((path) => ({ path, read: readResults(path) }));
  for (const f of files) {
    if (!f.read.header) throw new ConfigError(`merge: ${f.path} has no sweep header (is it a scorecrl sweep result file?)`);
    for (const p of f.read.problems) warnings.push(p);
  }
  const first = files[0]!;
  const header0 = first.read.header!;
  for (const f of files.slice(1)) {
    const h = f.read.header!;
    if (h.sweepId !== header0.sweepId) {
      throw new ConfigError(
        `merge: ${f.path} is from a different sweep than ${first.path} (config mismatch: ${describeDifference(header0.config, h.config)})`,
      );
    }
  }
  let config;
  try {
    config = configFromJson(header0.config, `${first.path} header`);
  } catch (error) {
    throw new ConfigError(`merge: cannot read the sweep config in ${first.path}: ${(error as Error).message}`);
  }
  if (sweepId(config) !== header0.sweepId) {
    throw new ConfigError(`merge: the header of ${first.path} does not match its own sweep id (edited by hand?)`);
  }
  const plan = planTrials(config);
  const byId = new Map(plan.map((t) => [t.id, t]));

  const chosen = new Map<string, { record: TrialRecord; from: string }>();
  let duplicates = 0;
  let replaced = 0;
  const conflicts: string[] = [];
  for (const f of files) {
    for (const record of f.read.records.values()) {
      const trial = byId.get(record.id);
      if (!trial || trial.seed !== record.seed || trial.cellKey !== record.cellKey) {
        throw new ConfigError(`merge: ${f.path} holds trial ${record.id}, which is not part of sweep ${header0.sweepId} (config mismatch)`);
      }
      const previous = chosen.get(record.id);
      if (!previous) {
        chosen.set(record.id, { record, from: f.path });
      } else if (recordOutcome(previous.record) === recordOutcome(record)) {
        duplicates++;
      } else if (previous.record.status === 'error' && record.status === 'ok') {
        chosen.set(record.id, { record, from: f.path });
        replaced++;
      } else if (previous.record.status === 'ok' && record.status === 'error') {
        replaced++;
      } else {
        conflicts.push(`${record.id} (${previous.from} vs ${f.path})`);
      }
    }
  }
  if (conflicts.length > 0) {
    throw new Error(
      `merge: ${conflicts.length} trial(s) have different results in different files, e.g. ${conflicts.slice(0, 3).join(', ')}; ` +
        `nothing was written (were they made by different scorecrl versions?)`,
    );
  }
  const records = plan.filter((t) => chosen.has(t.id)).map((t) => chosen.get(t.id)!.record);
  const created = files.map((f) => f.read.header!.created).sort()[0]!;
  const header: SweepHeader = { ...header0, shard: null, trials: plan.length, created };
  const text = [header, ...records].map((r) => JSON.stringify(r)).join('\n') + '\n';
  const tmp = `${output}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, output);
  const shards = [
    ...new Set(files.map((f) => f.read.header!.shard).filter((s) => s).map((s) => `${s!.index}/${s!.count}`)),
  ];
  return {
    output,
    sweepId: header0.sweepId,
    inputs: files.map((f) => f.path),
    trials: records.length,
    missing: plan.length - records.length,
    planned: plan.length,
    duplicates,
    replaced,
    errors: records.filter((r) => r.status === 'error').length,
    shards,
    warnings,
  };
}
