/**
 * Sweep results as JSON Lines: a header line describing the sweep, then one
 * line per finished trial (its cell, run, seed and metrics, or its error).
 *
 * Each line is written with a single append `write` as soon as its trial
 * finishes, so a killed process loses only the trials that were running. A
 * line cut short by a kill mid-write is detected when the file is read again
 * (it does not parse, or lacks its newline) and is cut off before appending.
 */
import { readJsonLines } from '../io/readers.js';
import type { Cell, Shard, SweepConfig } from './config.js';

export const FORMAT = 1;

export interface SweepHeader {
  type: 'sweep';
  format: number;
  /** Identity of the sweep (seed, runs, cells): equal for all shards of one sweep. */
  sweepId: string;
  config: { seed: number; runs: number; grid: Record<string, unknown> };
  /** The shard this file holds, or null for the whole sweep (also after a merge). */
  shard: Shard | null;
  /** Trials this file is meant to hold. */
  trials: number;
  created: string;
  scorecrl: string;
}

/** Metrics of one successful trial. */
export interface TrialMetrics {
  /** Closure SHD: entries where the transitive closures of the estimated and true graphs differ. */
  shd: number;
  /** Edge precision and recall on transitive closures. */
  precision: number;
  recall: number;
  /** Spectral norm of the unit-row effective mixing outside parents + identity. */
  encoderError: number;
  /** shd == 0. */
  correct: boolean;
  [extra: string]: number | boolean | number[] | string;
}

export interface TrialRecord {
  type: 'trial';
  id: string;
  cellKey: string;
  cell: Cell;
  run: number;
  seed: number;
  status: 'ok' | 'error';
  metrics?: TrialMetrics;
  error?: string;
  /** Wall time of the trial in the worker (ms). */
  ms: number;
  backend: string;
}

export interface ReadResult {
  header: SweepHeader | null;
  /** One record per trial id: an 'ok' record wins over an 'error' one, else the first. */
  records: Map<string, TrialRecord>;
  /** Byte length up to the last complete line (where appends continue; only a cut-off last line lies beyond). */
  goodBytes: number;
  /** Byte length of the file. */
  totalBytes: number;
  /** Problems found (corrupt lines, duplicates), for warnings. */
  problems: string[];
  /** True if the last line was cut short (no newline or not JSON) and will be dropped. */
  truncatedTail: boolean;
  /** Number of trial lines read (including duplicates). */
  lines: number;
  /** Trials recorded twice with different results (beyond the tolerance of `sameOutcome`); the first is kept. */
  conflicts: Conflict[];
  /**
   * The file is not a sweep result file: it has content, but no sweep header
   * (and is not just a header cut short by a kill). Writers must refuse it.
   */
  foreign: boolean;
}

export interface Conflict {
  id: string;
  /** Line numbers of the kept record and of the differing one. */
  lines: [number, number];
  /** The first difference, e.g. "metrics.shd 2 vs 3". */
  difference: string;
}

function isTrialRecord(value: unknown): value is TrialRecord {
  const r = value as TrialRecord;
  return (
    typeof r === 'object' &&
    r !== null &&
    r.type === 'trial' &&
    typeof r.id === 'string' &&
    typeof r.cellKey === 'string' &&
    typeof r.cell === 'object' &&
    Number.isInteger(r.run) &&
    Number.isInteger(r.seed) &&
    (r.status === 'ok' ? typeof r.metrics === 'object' && r.metrics !== null : r.status === 'error')
  );
}

function isHeader(value: unknown): value is SweepHeader {
  const h = value as SweepHeader;
  return typeof h === 'object' && h !== null && h.type === 'sweep' && typeof h.sweepId === 'string' && typeof h.config === 'object';
}

/** Reads a result file; tolerates a cut-off last line and reports (but skips) other bad lines. */
export function readResults(path: string): ReadResult {
  const file = readJsonLines(path);
  const buffer = file.bytes;
  const result: ReadResult = {
    header: null,
    records: new Map(),
    goodBytes: file.goodBytes,
    totalBytes: buffer.length,
    problems: [],
    truncatedTail: false,
    lines: 0,
    conflicts: [],
    foreign: false,
  };
  const lineOf = new Map<string, number>();
  for (const entry of file.lines) {
    const lineNumber = entry.line;
    if ('bad' in entry) {
      result.problems.push(
        entry.bad === 'incomplete'
          ? `${path}:${lineNumber}: last line is incomplete (the writer was stopped mid-line); ignored`
          : `${path}:${lineNumber}: not valid JSON; ignored`,
      );
      continue;
    }
    const parsed = entry.value;
    if (lineNumber === 1 && isHeader(parsed)) {
      result.header = parsed;
    } else if (isTrialRecord(parsed)) {
      result.lines++;
      const previous = result.records.get(parsed.id);
      if (!previous) {
        result.records.set(parsed.id, parsed);
        lineOf.set(parsed.id, lineNumber);
      } else if (previous.status === 'error' && parsed.status === 'ok') {
        result.records.set(parsed.id, parsed);
        lineOf.set(parsed.id, lineNumber);
      } else if (previous.status === 'ok' && parsed.status === 'error') {
        result.problems.push(
          `${path}:${lineNumber}: trial ${parsed.id} failed here but succeeded on line ${lineOf.get(parsed.id)}; the success is kept`,
        );
      } else {
        const difference = sameOutcome(previous, parsed);
        const first = lineOf.get(parsed.id)!;
        if (difference === null) {
          result.problems.push(`${path}:${lineNumber}: trial ${parsed.id} appears again (same result as line ${first}); ignored`);
        } else {
          result.conflicts.push({ id: parsed.id, lines: [first, lineNumber], difference });
          result.problems.push(
            `${path}:${lineNumber}: trial ${parsed.id} has a different result than on line ${first} (${difference}); ` +
              `line ${first} is kept, and 'scorecrl merge' refuses the file until one of the two lines is removed`,
          );
        }
      }
    } else {
      result.problems.push(`${path}:${lineNumber}: not a sweep header or trial record; ignored`);
    }
  }
  // Bytes after the last newline: a write cut short. Appends continue at goodBytes.
  result.truncatedTail = result.goodBytes < buffer.length;
  // Content without a sweep header is someone else's file, unless it is only a header cut short
  // (one line, no newline) or blank.
  const cutHeader = buffer.indexOf(0x0a) < 0 && /^\s*\{\s*"type"\s*:\s*"sweep"/.test(buffer.toString('utf8', 0, 64));
  result.foreign = !result.header && !cutHeader && buffer.toString('utf8').trim().length > 0;
  return result;
}

/** Makes the header object for a sweep file. */
export function makeHeader(
  _config: SweepConfig,
  id: string,
  shard: Shard | null,
  trials: number,
  version: string,
  configJson: SweepHeader['config'],
): SweepHeader {
  return {
    type: 'sweep',
    format: FORMAT,
    sweepId: id,
    config: configJson,
    shard: shard && shard.count > 1 ? shard : null,
    trials,
    created: new Date().toISOString(),
    scorecrl: version,
  };
}

/** The fields of a record that a re-run must reproduce exactly (identity and metrics; not timing or backend). */
export function recordOutcome(r: TrialRecord): string {
  return JSON.stringify({ id: r.id, seed: r.seed, status: r.status, metrics: r.metrics ?? null, error: r.error ?? null });
}

/** Relative tolerance of continuous metrics in `sameOutcome` (native and WASM differ by ~1e-13). */
export const METRIC_RTOL = 1e-9;
/** Absolute floor of that tolerance, for values that are zero up to rounding. */
export const METRIC_ATOL = 1e-12;

function sameNumber(a: number, b: number): boolean {
  if (a === b) return true;
  // Counts, SHDs and other whole-number metrics must agree exactly.
  if (Number.isInteger(a) && Number.isInteger(b)) return false;
  return Math.abs(a - b) <= METRIC_ATOL + METRIC_RTOL * Math.max(Math.abs(a), Math.abs(b));
}

function sameValue(a: unknown, b: unknown, at: string): string | null {
  if (typeof a === 'number' && typeof b === 'number') return sameNumber(a, b) ? null : `${at} ${a} vs ${b}`;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${at} has ${a.length} vs ${b.length} entries`;
    for (let i = 0; i < a.length; i++) {
      const d = sameValue(a[i], b[i], `${at}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return a === b ? null : `${at} ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

/**
 * Whether two records of one trial give the same result: identity, status, and
 * discrete metrics (booleans such as `correct`, whole numbers such as SHD and edge counts,
 * strings, graphs) exactly; continuous metrics within a relative 1e-9 (plus 1e-12 absolute),
 * so results of the native and the WebAssembly core, which differ in the last bits, agree.
 * Returns null when they agree, else the first difference.
 */
export function sameOutcome(a: TrialRecord, b: TrialRecord): string | null {
  if (a.id !== b.id) return `id ${a.id} vs ${b.id}`;
  if (a.seed !== b.seed) return `seed ${a.seed} vs ${b.seed}`;
  if (a.status !== b.status) return `status ${a.status} vs ${b.status}`;
  // Two failures are not two results (their messages may differ); either one stands for the trial.
  if (a.status === 'error') return null;
  return sameValue(a.metrics ?? null, b.metrics ?? null, 'metrics');
}
