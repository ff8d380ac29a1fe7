/** Plain-text tables of aggregated sweep results (for the terminal and the README). */
import { METRICS, varyingColumns, type CellRow, type Comparison } from './aggregate.js';
import type { CellField } from './config.js';

function pad(cells: string[][], rightAlign: boolean[]): string {
  const widths = cells[0]!.map((_, j) => Math.max(...cells.map((r) => r[j]!.length)));
  return cells
    .map((r) =>
      r
        .map((c, j) => (rightAlign[j] ? c.padStart(widths[j]!) : c.padEnd(widths[j]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const pm = (mean: number, se: number, digits: number) =>
  Number.isFinite(mean) ? `${mean.toFixed(digits)} ± ${Number.isFinite(se) ? se.toFixed(digits) : '?'}` : '—';

const SHORT: Partial<Record<CellField, string>> = { samples: 'N' };

/** One line per cell: varying fields, runs, correct-graph rate, mean ± s.e. of each metric. */
export function formatTable(rows: CellRow[]): string {
  if (rows.length === 0) return '(no finished trials)';
  const fields = varyingColumns(rows);
  const anyErrors = rows.some((r) => r.errors > 0);
  const header = [...fields.map((f) => SHORT[f] ?? f), 'runs', ...(anyErrors ? ['errors'] : []), 'correct', ...METRICS.map((m) => m.label)];
  const body = rows.map((r) => [
    ...fields.map((f) => String(r.cell[f])),
    String(r.runs),
    ...(anyErrors ? [String(r.errors)] : []),
    Number.isFinite(r.correctRate.mean) ? r.correctRate.mean.toFixed(2) : '—',
    ...METRICS.map((m) => pm(r.metrics[m.key].mean, r.metrics[m.key].se, m.key === 'encoderError' ? 4 : m.key === 'shd' ? 2 : 3)),
  ]);
  return pad(
    [header, ...body],
    header.map((_, j) => j >= 0),
  );
}

/**
 * Correct-graph rate as a matrix: one row per combination of the varying
 * fields other than samples, one column per sample size. With a reference,
 * each entry reads "ours (reference)".
 */
export function formatRateMatrix(rows: CellRow[], comparisons?: Comparison[]): string {
  if (rows.length === 0) return '';
  const fields = varyingColumns(rows).filter((f) => f !== 'samples');
  const samples = [...new Set(rows.map((r) => r.cell.samples))].sort((a, b) => a - b);
  const keyOf = (r: CellRow) => fields.map((f) => String(r.cell[f])).join(' ');
  const groups: string[] = [];
  for (const r of rows) if (!groups.includes(keyOf(r))) groups.push(keyOf(r));
  const ref = new Map((comparisons ?? []).map((c) => [c.cellKey, c]));
  const header = [fields.map((f) => SHORT[f] ?? f).join(' '), ...samples.map((N) => `N=${N}`)];
  const body = groups.map((g) => {
    const line = [g];
    for (const N of samples) {
      const r = rows.find((x) => keyOf(x) === g && x.cell.samples === N);
      if (!r) {
        line.push('');
        continue;
      }
      const rate = Number.isFinite(r.correctRate.mean) ? r.correctRate.mean.toFixed(2) : '—';
      const c = ref.get(r.cellKey);
      line.push(c ? `${rate} (${c.reference.toFixed(2)})` : rate);
    }
    return line;
  });
  return pad(
    [header, ...body],
    header.map((_, j) => j > 0),
  );
}

/** Summary of a comparison with a reference table: largest difference and cells outside the tolerance. */
export function formatComparison(comparisons: Comparison[], tolerance: number): string {
  if (comparisons.length === 0) return 'reference: no cell in common';
  const worst = comparisons.reduce((a, b) => (Math.abs(b.diff) > Math.abs(a.diff) ? b : a));
  const outside = comparisons.filter((c) => Math.abs(c.diff) > tolerance);
  const meanAbs = comparisons.reduce((s, c) => s + Math.abs(c.diff), 0) / comparisons.length;
  const lines = [
    `reference: ${comparisons.length} cells compared; mean |difference| ${meanAbs.toFixed(3)}, ` +
      `largest ${worst.diff >= 0 ? '+' : ''}${worst.diff.toFixed(2)} at n=${worst.n} d=${worst.d} N=${worst.samples}; ` +
      `${outside.length} outside ±${tolerance}`,
  ];
  for (const c of outside) {
    lines.push(`  n=${c.n} d=${c.d} N=${c.samples}: ${c.ours.toFixed(2)} vs ${c.reference.toFixed(2)}`);
  }
  return lines.join('\n');
}
