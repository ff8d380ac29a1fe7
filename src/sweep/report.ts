/** Writes a sweep report: table as CSV and JSON, figures as SVG, and an HTML page with both. */
import { join } from 'node:path';
import { makeDirectory, writeFileAtomic } from '../io/files.js';
import { toCsv, toJson, type CellRow, type Comparison, type ReferenceRow } from './aggregate.js';
import { formatRateMatrix, formatTable } from './table.js';

export interface ReportInfo {
  /** Result files the report was made from. */
  sources: string[];
  sweepId?: string;
  trials: number;
  errors: number;
  planned?: number;
  reference?: { file: string; rows: ReferenceRow[]; comparisons: Comparison[]; tolerance: number };
}

export interface ReportFiles {
  csv: string;
  json: string;
  html: string;
  figures: string[];
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export async function writeReport(dir: string, rows: CellRow[], info: ReportInfo): Promise<ReportFiles> {
  makeDirectory(join(dir, 'figures'));
  const csv = join(dir, 'summary.csv');
  const json = join(dir, 'summary.json');
  const html = join(dir, 'report.html');
  writeFileAtomic(csv, toCsv(rows), dir);
  writeFileAtomic(
    json,
    `${JSON.stringify(
      {
        sweepId: info.sweepId ?? null,
        sources: info.sources,
        trials: info.trials,
        errors: info.errors,
        planned: info.planned ?? null,
        cells: toJson(rows),
        reference: info.reference
          ? { file: info.reference.file, tolerance: info.reference.tolerance, comparisons: info.reference.comparisons }
          : null,
      },
      null,
      2,
    )}\n`,
    dir,
  );
  // Vega is large: loaded only when figures are made.
  const { buildFigures, renderSvg } = await import('./plots.js');
  const figures = buildFigures(rows, info.reference?.rows);
  const svgs: { file: string; title: string; svg: string }[] = [];
  for (const figure of figures) {
    const svg = await renderSvg(figure.spec);
    const path = join(dir, 'figures', figure.file);
    writeFileAtomic(path, svg, dir);
    svgs.push({ file: path, title: figure.title, svg });
  }
  const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>scorecrl sweep report${info.sweepId ? ` ${escapeHtml(info.sweepId)}` : ''}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; font-size: 0.85rem; }
.figures { display: flex; flex-wrap: wrap; gap: 1rem; }
.figures figure { margin: 0; }
figcaption { font-size: 0.9rem; color: #555; }
</style>
</head>
<body>
<h1>Sweep report</h1>
<p>${info.trials} trials${info.planned ? ` of ${info.planned} planned` : ''}, ${info.errors} with errors, ${rows.length} cells.
Sweep ${escapeHtml(info.sweepId ?? '(unknown)')}; from ${info.sources.map(escapeHtml).join(', ')}.
Tables: <a href="summary.csv">summary.csv</a>, <a href="summary.json">summary.json</a>.</p>
<h2>Correct-graph rate${info.reference ? ' (reference in parentheses)' : ''}</h2>
<pre>${escapeHtml(formatRateMatrix(rows, info.reference?.comparisons))}</pre>
<h2>Figures</h2>
<div class="figures">
${svgs.map((s) => `<figure>${s.svg}<figcaption>${escapeHtml(s.title)}</figcaption></figure>`).join('\n')}
</div>
<h2>All cells (mean ± standard error)</h2>
<pre>${escapeHtml(formatTable(rows))}</pre>
</body>
</html>
`;
  writeFileAtomic(html, page, dir);
  return { csv, json, html, figures: svgs.map((s) => s.file) };
}
