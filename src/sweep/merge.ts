/**
 * Merging result files of one sweep (its shards, partial runs, earlier
 * merges) into one file. Idempotent: merging the output again with any of its
 * inputs gives the same file. Records are written in plan order.
 *
 * The output, when it exists, is one of the inputs: merging into a folder
 * whose trials.jsonl a resumed sweep has filled keeps those trials. It is
 * replaced atomically (temp file + rename) under the output's lock, so a merge
 * never runs while a sweep appends to the same file, and it is never written
 * through a symlink out of its folder; a file there that is not a result file
 * is refused, not replaced.
 *
 * Checks: every input must carry the same sweep id (else the configs differ:
 * an error naming the differing fields); every record must be a trial of that
 * sweep with the seed the plan gives it; the same trial in two places (two
 * files, or twice in one) must have the same outcome (`sameOutcome`: discrete
 * metrics equal, continuous ones within 1e-9, so native and WebAssembly shards
 * combine; a duplicate, dropped) unless one of them is an error and the other
 * a success (the success is kept). Any other disagreement is a conflict and
 * nothing is written. Trials of the plan that no input holds are counted, per
 * shard when the inputs are shards of one count N (a shard whose file is
 * missing altogether is named too); unless `allowPartial`, a merge with
 * missing trials writes nothing (`written: false`).
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { cellKey, ConfigError, configFromJson, expandCells, shardSize, type SweepConfig, sweepId, trialSeed } from './config.js';
import { outputTarget, withPath, writeFileAtomic } from '../io/files.js';
import { acquireLock, lockHolder } from '../io/lock.js';
import { readResults, sameOutcome, type SweepHeader, type TrialRecord } from './store.js';

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
  /** The shard count N of the inputs, when every shard input has the same one (else null). */
  shardCount: number | null;
  /** With `shardCount`: the shards missing trials, by index (a shard with no file at all is here too). */
  missingShards: MissingShard[];
  /** False when trials are missing and `allowPartial` was not given: nothing was written. */
  written: boolean;
  warnings: string[];
}

/** A shard k/N that lacks trials after a merge. */
export interface MissingShard {
  index: number;
  count: number;
  /** Its trials that no input holds. */
  missing: number;
  /** Its trials in the plan. */
  planned: number;
}

export interface MergeOptions {
  /** Write the merged file even when trials are missing (default false: then nothing is written). */
  allowPartial?: boolean;
}

/** Expands directories to the .jsonl files inside them (sorted); `exclude` leaves one file out. */
export function expandInputs(paths: string[], exclude?: string): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new ConfigError(`${p} does not exist`);
    if (withPath(p, 'read', () => statSync(p)).isDirectory()) {
      const files = withPath(p, 'list', () => readdirSync(p))
        .filter((f) => f.endsWith('.jsonl'))
        .sort()
        .map((f) => join(p, f))
        .filter((f) => !exclude || resolve(f) !== resolve(exclude));
      if (files.length === 0) throw new ConfigError(`no .jsonl files in ${p}`);
      out.push(...files);
    } else {
      // A device or pipe (/dev/zero) could be read forever: result files are regular files.
      if (!statSync(p).isFile()) throw new ConfigError(`${p} is not a regular file (give result files or folders holding them)`);
      out.push(p);
    }
  }
  return dedupe(out);
}

/** Drops repeated files (the same file under two names counts once). */
function dedupe(paths: string[]): string[] {
  const seen = new Set<string>();
  return paths.filter((p) => {
    let key: string;
    try {
      key = realpathSync(p);
    } catch {
      key = resolve(p);
    }
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
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

export function mergeFiles(inputs: string[], output: string, options: MergeOptions = {}): MergeSummary {
  if (inputs.length === 0) throw new ConfigError('merge: give at least one result file or directory');
  const folder = dirname(output);
  if (!existsSync(folder)) throw new ConfigError(`merge: the folder of --out ${output} does not exist`);
  const target = outputTarget(output, folder);
  if (existsSync(target) && !statSync(target).isFile()) {
    throw new ConfigError(`merge: --out ${output} exists and is not a regular file; it is left untouched (give a file path)`);
  }
  const lock = acquireLock(target);
  try {
    return mergeLocked(inputs, output, target, options.allowPartial ?? false);
  } finally {
    lock.release();
  }
}

function mergeLocked(inputs: string[], output: string, target: string, allowPartial: boolean): MergeSummary {
  const warnings: string[] = [];
  // The existing output is an input too: what it holds is kept.
  const paths = existsSync(target) ? dedupe([...inputs, output]) : dedupe(inputs);
  const files = paths.map((path) => ({ path, read: withPath(path, 'read', () => readResults(path)) }));
  for (const f of files) {
    if (!f.read.header) {
      throw new ConfigError(
        f.path === output
          ? `merge: ${output} exists and is not a scorecrl result file (no sweep header); it is left untouched: use another --out, or move it away`
          : `merge: ${f.path} has no sweep header (is it a scorecrl sweep result file?)`,
      );
    }
    for (const p of f.read.problems) warnings.push(p);
    if (f.path !== output) {
      const holder = lockHolder(f.path);
      if (holder) warnings.push(`${f.path} is still being written by ${holder}; merged what it holds now (merge again when it is done)`);
    }
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
  let config: SweepConfig;
  try {
    config = configFromJson(header0.config, `${first.path} header`);
  } catch (error) {
    throw new ConfigError(`merge: cannot read the sweep config in ${first.path}: ${(error as Error).message}`);
  }
  if (sweepId(config) !== header0.sweepId) {
    throw new ConfigError(`merge: the header of ${first.path} does not match its own sweep id (edited by hand?)`);
  }
  // Each record is checked against its cell and seed without building the plan (a sweep may be huge).
  const cells = new Map(expandCells(config).map((cell, index) => [cellKey(cell), { cell, index }]));
  const planned = cells.size * config.runs;
  const position = (r: TrialRecord) => cells.get(r.cellKey)!.index * config.runs + r.run;
  const belongs = (r: TrialRecord) => {
    const c = cells.get(r.cellKey);
    return (
      c !== undefined &&
      r.run >= 0 &&
      r.run < config.runs &&
      r.id === `${r.cellKey}/${r.run}` &&
      r.seed === trialSeed(config.seed, c.cell, r.run)
    );
  };

  const chosen = new Map<string, { record: TrialRecord; from: string }>();
  let duplicates = 0;
  let replaced = 0;
  const conflicts: string[] = [];
  for (const f of files) {
    for (const c of f.read.conflicts) conflicts.push(`${c.id} (${f.path} lines ${c.lines[0]} and ${c.lines[1]}: ${c.difference})`);
    for (const record of f.read.records.values()) {
      if (!belongs(record)) {
        throw new ConfigError(`merge: ${f.path} holds trial ${record.id}, which is not part of sweep ${header0.sweepId} (config mismatch)`);
      }
      const previous = chosen.get(record.id);
      if (!previous) {
        chosen.set(record.id, { record, from: f.path });
        continue;
      }
      const difference = sameOutcome(previous.record, record);
      if (difference === null) {
        duplicates++;
      } else if (previous.record.status === 'error' && record.status === 'ok') {
        chosen.set(record.id, { record, from: f.path });
        replaced++;
      } else if (previous.record.status === 'ok' && record.status === 'error') {
        replaced++;
      } else {
        conflicts.push(`${record.id} (${previous.from} vs ${f.path}: ${difference})`);
      }
    }
  }
  if (conflicts.length > 0) {
    throw new ConfigError(
      `merge: ${conflicts.length} trial(s) have different results in different files (or twice in one file), e.g. ${conflicts.slice(0, 3).join('; ')}; ` +
        `nothing was written (were they made by different scorecrl versions? remove the lines or files you do not want)`,
    );
  }
  const records = [...chosen.values()].map((c) => c.record).sort((a, b) => position(a) - position(b));
  const shardHeaders = files.map((f) => f.read.header!.shard).filter((s) => s !== null && s.count > 1);
  const shards = [...new Set(shardHeaders.map((s) => `${s!.index}/${s!.count}`))];
  const counts = new Set(shardHeaders.map((s) => s!.count));
  const shardCount = counts.size === 1 ? [...counts][0]! : null;
  const missing = planned - records.length;
  const missingShards = missing > 0 && shardCount !== null ? shardsLacking(records.map(position), planned, shardCount) : [];
  const written = missing === 0 || allowPartial;
  if (written) {
    const created = files.map((f) => f.read.header!.created).sort()[0]!;
    const header: SweepHeader = { ...header0, shard: null, trials: planned, created };
    writeFileAtomic(target, `${[header, ...records].map((r) => JSON.stringify(r)).join('\n')}\n`);
  }
  return {
    output,
    sweepId: header0.sweepId,
    inputs: files.map((f) => f.path),
    trials: records.length,
    missing,
    planned,
    duplicates,
    replaced,
    errors: records.filter((r) => r.status === 'error').length,
    shards,
    shardCount,
    missingShards,
    written,
    warnings,
  };
}

/** The shards k/`count` (plan position p belongs to shard p mod count + 1) that lack some of their trials. */
function shardsLacking(present: number[], planned: number, count: number): MissingShard[] {
  const held = new Array<number>(count).fill(0);
  for (const p of present) held[p % count]!++;
  const out: MissingShard[] = [];
  for (let index = 1; index <= count; index++) {
    const size = shardSize(planned, { index, count });
    if (held[index - 1]! < size) out.push({ index, count, missing: size - held[index - 1]!, planned: size });
  }
  return out;
}
