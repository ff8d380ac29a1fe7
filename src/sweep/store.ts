/**
 * Sweep results as JSON Lines: a header line describing the sweep, then one
 * line per finished trial (its cell, run, seed and metrics, or its error).
 *
 * Each line is written with a single append `write` as soon as its trial
 * finishes, so a killed process loses only the trials that were running. A
 * line cut short by a kill mid-write is detected when the file is read again
 * (it does not parse, or lacks its newline) and is cut off before appending.
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
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
  /** Byte length of the well-formed prefix (where appends continue). */
  goodBytes: number;
  /** Byte length of the file. */
  totalBytes: number;
  /** Problems found (corrupt lines, duplicates), for warnings. */
  problems: string[];
  /** True if the last line was cut short (no newline or not JSON) and will be dropped. */
  truncatedTail: boolean;
  /** Number of trial lines read (including duplicates). */
  lines: number;
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
  const buffer = readFileSync(path);
  const result: ReadResult = {
    header: null,
    records: new Map(),
    goodBytes: 0,
    totalBytes: buffer.length,
    problems: [],
    truncatedTail: false,
    lines: 0,
  };
  let start = 0;
  let lineNumber = 0;
  while (start < buffer.length) {
    lineNumber++;
    const newline = buffer.indexOf(0x0a, start);
    const end = newline < 0 ? buffer.length : newline;
    const text = buffer.toString('utf8', start, end).trim();
    const next = newline < 0 ? buffer.length : newline + 1;
    let parsed: unknown;
    let ok = text.length > 0 && newline >= 0;
    if (ok) {
      try {
        parsed = JSON.parse(text);
      } catch {
        ok = false;
      }
    }
    if (text.length === 0 && newline >= 0) {
      // A blank line is harmless.
    } else if (!ok) {
      result.problems.push(
        newline < 0
          ? `${path}:${lineNumber}: last line is incomplete (the writer was stopped mid-line); ignored`
          : `${path}:${lineNumber}: not valid JSON; ignored`,
      );
      start = next;
      continue;
    } else if (lineNumber === 1 && isHeader(parsed)) {
      result.header = parsed;
    } else if (isTrialRecord(parsed)) {
      result.lines++;
      const previous = result.records.get(parsed.id);
      if (!previous) result.records.set(parsed.id, parsed);
      else if (previous.status === 'error' && parsed.status === 'ok') result.records.set(parsed.id, parsed);
      else result.problems.push(`${path}:${lineNumber}: trial ${parsed.id} appears again; ignored`);
    } else {
      result.problems.push(`${path}:${lineNumber}: not a sweep header or trial record; ignored`);
    }
    start = next;
    result.goodBytes = next;
  }
  // Bad bytes after the last good line: a write cut short. Appends continue at goodBytes.
  result.truncatedTail = result.goodBytes < buffer.length;
  return result;
}

/**
 * An append-only writer. `open` cuts a damaged tail off an existing file;
 * every `append` is one `write` of one complete line; data is flushed to disk
 * (fsync) at most every `syncMs` and on close.
 */
export class ResultWriter {
  private fd: number;
  private lastSync = Date.now();

  private constructor(
    readonly path: string,
    fd: number,
    private readonly syncMs: number,
  ) {
    this.fd = fd;
  }

  /** Opens `path` for appending; `keepBytes` (from readResults) drops a cut-off tail. Writes `header` if the file is new. */
  static open(path: string, header: SweepHeader, keepBytes?: number, syncMs = 1000): ResultWriter {
    const exists = existsSync(path);
    const fd = openSync(path, 'a');
    if (exists && keepBytes !== undefined) ftruncateSync(fd, keepBytes);
    const writer = new ResultWriter(path, fd, syncMs);
    if (!exists || keepBytes === 0) writer.appendLine(header);
    return writer;
  }

  appendLine(value: unknown): void {
    const line = Buffer.from(JSON.stringify(value) + '\n', 'utf8');
    let offset = 0;
    while (offset < line.length) offset += writeSync(this.fd, line, offset, line.length - offset);
    const now = Date.now();
    if (now - this.lastSync >= this.syncMs) {
      fsyncSync(this.fd);
      this.lastSync = now;
    }
  }

  close(): void {
    if (this.fd < 0) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
  }
}

/** Makes the header object for a sweep file. */
export function makeHeader(
  config: SweepConfig,
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
