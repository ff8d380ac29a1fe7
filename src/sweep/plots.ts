/**
 * Figures of aggregated sweep results: Vega-Lite specifications rendered to
 * SVG by Vega's headless renderer (no browser).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { type METRICS, varyingColumns, type CellRow, type ReferenceRow } from './aggregate.js';

export interface Figure {
  /** File name (without directory), e.g. 'correct-graph-rate.svg'. */
  file: string;
  title: string;
  spec: TopLevelSpec;
}

interface Point {
  series: string;
  samples: number;
  mean: number;
  lo: number;
  hi: number;
  source: string;
}

/** The label of a row's curve: the varying fields other than samples ("n=3 d=15"). */
function seriesLabeller(rows: CellRow[]): (r: CellRow) => string {
  const fields = varyingColumns(rows).filter((f) => f !== 'samples');
  return (r) => fields.map((f) => `${f}=${String(r.cell[f])}`).join(' ') || 'all';
}

function lineChart(
  title: string,
  points: Point[],
  yTitle: string,
  options: { yLog?: boolean; yDomain?: [number, number]; bands?: boolean },
): TopLevelSpec {
  const sources = [...new Set(points.map((p) => p.source))];
  const x = {
    field: 'samples',
    type: 'quantitative' as const,
    title: 'samples per environment N',
    scale: { type: 'log' as const },
    axis: { values: [...new Set(points.map((p) => p.samples))].sort((a, b) => a - b), format: '~s' },
  };
  const y = {
    field: 'mean',
    type: 'quantitative' as const,
    title: yTitle,
    scale: options.yLog ? { type: 'log' as const } : options.yDomain ? { domain: options.yDomain } : { zero: true },
  };
  // Curves in the order of the rows (n=3 before n=10), not alphabetically.
  const series = [...new Set(points.map((p) => p.series))];
  const color = { field: 'series', type: 'nominal' as const, title: null, sort: series, scale: { scheme: 'tableau10', domain: series } };
  const dash =
    sources.length > 1
      ? {
          strokeDash: {
            field: 'source',
            type: 'nominal' as const,
            title: null,
            scale: { domain: sources, range: sources.map((_, i) => (i === 0 ? [1, 0] : [5, 3])) },
          },
        }
      : {};
  const layers: unknown[] = [];
  if (options.bands !== false) {
    layers.push({
      transform: [{ filter: "datum.source === 'scorecrl'" }],
      mark: { type: 'errorbar', ticks: true },
      encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color },
    });
  }
  layers.push({ mark: { type: 'line', point: true, strokeWidth: 1.8 }, encoding: { x, y, color, ...dash } });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 420,
    height: 280,
    data: { values: points as unknown as Record<string, unknown>[] },
    layer: layers,
    config: { font: 'sans-serif', legend: { labelLimit: 320 } },
  } as TopLevelSpec;
}

/** The figures of a report: correct-graph rate, SHD, encoder error, precision and recall vs N. */
export function buildFigures(rows: CellRow[], reference?: ReferenceRow[]): Figure[] {
  const label = seriesLabeller(rows);
  const ok = rows.filter((r) => r.runs > 0);
  const pointsFor = (key: 'correct' | (typeof METRICS)[number]['key'], clampLo?: number): Point[] =>
    ok.map((r) => {
      const s = key === 'correct' ? r.correctRate : r.metrics[key];
      const lo = s.mean - s.se;
      return {
        series: label(r),
        samples: r.cell.samples,
        mean: s.mean,
        lo: clampLo !== undefined ? Math.max(lo, clampLo) : lo,
        hi: s.mean + s.se,
        source: 'scorecrl',
      };
    });
  // Reference curves only where the rows are the plain (n, d, samples) grid.
  const onlyNd = varyingColumns(rows).every((f) => f === 'n' || f === 'd' || f === 'samples');
  const refPoints = (column: string): Point[] =>
    reference && onlyNd
      ? reference
          .filter((ref) => ok.some((r) => r.cell.n === ref.n && r.cell.d === ref.d))
          .filter((ref) => Number.isFinite(ref.values[column]))
          .map((ref) => {
            const any = ok.find((r) => r.cell.n === ref.n && r.cell.d === ref.d)!;
            const v = ref.values[column]!;
            return { series: label(any), samples: ref.samples, mean: v, lo: v, hi: v, source: 'reference' };
          })
      : [];

  const encoderPoints = pointsFor('encoderError').filter((p) => p.mean > 0);
  const figures: Figure[] = [
    {
      file: 'correct-graph-rate.svg',
      title: 'Correct-graph rate vs samples',
      spec: lineChart('Correct graph (SHD = 0)', [...pointsFor('correct', 0), ...refPoints('correct_graph_rate')], 'share of runs', {
        yDomain: [0, 1],
      }),
    },
    {
      file: 'shd.svg',
      title: 'SHD vs samples',
      spec: lineChart('SHD (mean ± s.e.)', [...pointsFor('shd', 0), ...refPoints('shd_mean')], 'SHD', {}),
    },
    {
      file: 'encoder-error.svg',
      title: 'Encoder error vs samples',
      spec: lineChart(
        'Encoder error (mean ± s.e.)',
        [...encoderPoints.map((p) => ({ ...p, lo: Math.max(p.lo, p.mean / 10) })), ...refPoints('encoder_err_mean')],
        'off-pattern spectral norm',
        { yLog: encoderPoints.length > 0 },
      ),
    },
    {
      file: 'precision.svg',
      title: 'Edge precision vs samples',
      spec: lineChart('Edge precision on closures', [...pointsFor('precision'), ...refPoints('precision_mean')], 'precision', {
        yDomain: [0, 1],
      }),
    },
    {
      file: 'recall.svg',
      title: 'Edge recall vs samples',
      spec: lineChart('Edge recall on closures', [...pointsFor('recall'), ...refPoints('recall_mean')], 'recall', {
        yDomain: [0, 1],
      }),
    },
  ];
  return figures;
}

/** Renders a Vega-Lite specification to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
