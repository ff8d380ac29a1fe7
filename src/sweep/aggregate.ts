/**
 * Aggregation of trial records into one row per cell: mean and standard error
 * of each metric, correct-graph rate, counts.
 */
import { CELL_FIELDS, DEFAULT_CELL, canonicalCell, type Cell, type CellField } from './config.js';
import type { TrialRecord } from './store.js';
import { parseDecimal } from '../io/numbers.js';

/** Metrics aggregated as mean ± standard error, with the column names of the table. */
export const METRICS = [
  // What a cell's algorithm identifies: the closure's SHD (finite-sample, soft interventions) or
  // the DAG's (hard interventions with lscale, umni and gscale).
  { key: 'shd', column: 'shd', label: 'SHD' },
  { key: 'precision', column: 'precision', label: 'precision' },
  { key: 'recall', column: 'recall', label: 'recall' },
  { key: 'encoderError', column: 'encoder_err', label: 'encoder error' },
] as const;

export interface Stat {
  mean: number;
  /** Standard error of the mean: sample standard deviation / sqrt(count); 0 for one value. */
  se: number;
  count: number;
}

export interface CellRow {
  cell: Cell;
  cellKey: string;
  /** Successful runs aggregated. */
  runs: number;
  /** Runs that threw. */
  errors: number;
  /** Share of successful runs with closure SHD 0, and its standard error sqrt(p (1-p) / runs). */
  correctRate: Stat;
  metrics: Record<(typeof METRICS)[number]['key'], Stat>;
  /** Mean wall time per trial (ms). */
  msMean: number;
}

export function stat(values: number[]): Stat {
  const count = values.length;
  if (count === 0) return { mean: NaN, se: NaN, count };
  const mean = values.reduce((s, v) => s + v, 0) / count;
  if (count === 1) return { mean, se: 0, count };
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (count - 1);
  return { mean, se: Math.sqrt(variance / count), count };
}

/** One row per cell, in the order cells first appear in `order` (or by n, d, samples if not given). */
export function aggregate(records: Iterable<TrialRecord>, order?: Cell[]): CellRow[] {
  const groups = new Map<string, { cell: Cell; key: string; ok: TrialRecord[]; errors: number }>();
  for (const r of records) {
    const canon = canonicalCell(r.cell);
    let g = groups.get(canon);
    if (!g) {
      g = { cell: r.cell, key: r.cellKey, ok: [], errors: 0 };
      groups.set(canon, g);
    }
    if (r.status === 'ok') g.ok.push(r);
    else g.errors++;
  }
  const rows: CellRow[] = [];
  for (const g of groups.values()) {
    // Sums in run order: the same numbers whatever order the trials finished in.
    g.ok.sort((a, b) => a.run - b.run);
    const correct: number[] = g.ok.map((r) => (r.metrics!.correct ? 1 : 0));
    const p = correct.length ? correct.reduce((a, b) => a + b, 0) / correct.length : NaN;
    const metrics = Object.fromEntries(METRICS.map((m) => [m.key, stat(g.ok.map((r) => Number(r.metrics![m.key])))])) as CellRow['metrics'];
    rows.push({
      cell: g.cell,
      cellKey: g.key,
      runs: g.ok.length,
      errors: g.errors,
      correctRate: { mean: p, se: correct.length ? Math.sqrt((p * (1 - p)) / correct.length) : NaN, count: correct.length },
      metrics,
      msMean: g.ok.length ? g.ok.reduce((s, r) => s + r.ms, 0) / g.ok.length : NaN,
    });
  }
  if (order) {
    const position = new Map(order.map((c, i) => [canonicalCell(c), i]));
    rows.sort((a, b) => (position.get(canonicalCell(a.cell)) ?? Infinity) - (position.get(canonicalCell(b.cell)) ?? Infinity));
  } else {
    rows.sort((a, b) => compareCells(a.cell, b.cell));
  }
  return rows;
}

/** Orders cells by their fields in CELL_FIELDS order. */
export function compareCells(a: Cell, b: Cell): number {
  for (const f of CELL_FIELDS) {
    const x = a[f];
    const y = b[f];
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

/** Fields whose value differs between rows (always including n, d and samples). */
export function varyingColumns(rows: CellRow[]): CellField[] {
  return CELL_FIELDS.filter(
    (f) => f === 'n' || f === 'd' || f === 'samples' || new Set(rows.map((r) => JSON.stringify(r.cell[f]))).size > 1,
  );
}

const fixed = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : '');

/** CSV columns: the varying cell fields, runs, errors, correct_graph_rate(+se), then mean/se of each metric, ms_mean. */
export function toCsv(rows: CellRow[]): string {
  const fields = varyingColumns(rows);
  const header = [
    ...fields,
    'runs',
    'errors',
    'correct_graph_rate',
    'correct_graph_rate_se',
    ...METRICS.flatMap((m) => [`${m.column}_mean`, `${m.column}_se`]),
    'ms_mean',
  ];
  const lines = [header.join(',')];
  for (const r of rows) {
    lines.push(
      [
        ...fields.map((f) => String(r.cell[f])),
        r.runs,
        r.errors,
        fixed(r.correctRate.mean, 4),
        fixed(r.correctRate.se, 4),
        ...METRICS.flatMap((m) => [fixed(r.metrics[m.key].mean, 6), fixed(r.metrics[m.key].se, 6)]),
        fixed(r.msMean, 3),
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** JSON form of the rows (cell fields, counts, stats). */
export function toJson(rows: CellRow[]): object[] {
  return rows.map((r) => ({
    cell: r.cell,
    cellKey: r.cellKey,
    runs: r.runs,
    errors: r.errors,
    correctGraphRate: r.correctRate,
    ...Object.fromEntries(METRICS.map((m) => [m.key, r.metrics[m.key]])),
    msMean: r.msMean,
  }));
}

/** A row of a reference table (the anchors' CSV): keyed by samples, n, d. */
export interface ReferenceRow {
  samples: number;
  n: number;
  d: number;
  runs: number;
  correctRate: number;
  values: Record<string, number>;
}

/** Parses a reference CSV with columns samples, n, d, runs, correct_graph_rate, ... */
export function parseReferenceCsv(text: string): ReferenceRow[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  if (lines.length < 2) throw new Error('reference table: expected a header and at least one row');
  const header = lines[0]!.split(',').map((s) => s.trim());
  for (const need of ['samples', 'n', 'd', 'correct_graph_rate']) {
    if (!header.includes(need)) throw new Error(`reference table: missing column '${need}'`);
  }
  return lines.slice(1).map((line, i) => {
    const cells = line.split(',').map((s) => parseDecimal(s));
    if (cells.length !== header.length || cells.some((v) => !Number.isFinite(v))) {
      throw new Error(`reference table: row ${i + 2} is not ${header.length} numbers`);
    }
    const values = Object.fromEntries(header.map((h, j) => [h, cells[j]!]));
    return {
      samples: values.samples!,
      n: values.n!,
      d: values.d!,
      runs: values.runs ?? NaN,
      correctRate: values.correct_graph_rate!,
      values,
    };
  });
}

export interface Comparison {
  /** Key of our cell compared. */
  cellKey: string;
  n: number;
  d: number;
  samples: number;
  ours: number;
  reference: number;
  diff: number;
}

/**
 * Our correct-graph rate beside the reference's for each (n, d, samples) both
 * have, among our cells whose other settings are those of the default sweep
 * (the reference experiment's).
 */
export function compareWithReference(rows: CellRow[], reference: ReferenceRow[]): Comparison[] {
  const out: Comparison[] = [];
  // 'sampling' does not change the distribution of a trial's data, so both kinds compare.
  const asReference = rows.filter((r) =>
    (Object.keys(DEFAULT_CELL) as (keyof typeof DEFAULT_CELL)[]).every((k) => k === 'sampling' || r.cell[k] === DEFAULT_CELL[k]),
  );
  for (const ref of reference) {
    const mine = asReference.filter((r) => r.cell.n === ref.n && r.cell.d === ref.d && r.cell.samples === ref.samples);
    if (mine.length !== 1) continue;
    const ours = mine[0]!.correctRate.mean;
    out.push({
      cellKey: mine[0]!.cellKey,
      n: ref.n,
      d: ref.d,
      samples: ref.samples,
      ours,
      reference: ref.correctRate,
      diff: ours - ref.correctRate,
    });
  }
  return out;
}
