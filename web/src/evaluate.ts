// Evaluation of an estimate against the simulated truth (DESIGN.md §6), with
// the library's own metrics: the core matches latents (linearSumAssignment),
// compares graphs (compareGraphs, transitiveClosure) and judges the effective
// mixing (effectiveMixingError, allowedPattern). The page only does n×n
// algebra; the one pass over the samples is the core's covariance of [x0 | z0].
import type { GraphComparison, MixingError, NDArray, Simulation } from 'scorecrl';
import type { Fit, Runner } from './algorithms.js';

export type Matrix = number[][];

export function rows(a: NDArray): Matrix {
  const [r, c] = a.shape as [number, number];
  return Array.from({ length: r }, (_, i) => Array.from(a.data.subarray(i * c, (i + 1) * c)));
}

export function fromMatrix(m: Matrix): NDArray {
  const r = m.length;
  const c = m[0]?.length ?? 0;
  const data = new Float64Array(r * c);
  m.forEach((row, i) => data.set(row, i * c));
  return { data, shape: [r, c] };
}

/**
 * |Pearson correlation| of estimated latent t (ẑ = encoder·x) with true latent j, from the
 * covariance of [x | z] ((d+n)×(d+n), row-major): cov(ẑ_t, z_j) = (H Σxz)[t][j].
 */
export function latentCorrelations(cov: Float64Array, d: number, encoder: Matrix): Matrix {
  const n = encoder.length;
  const m = d + n;
  return encoder.map((h) => {
    let variance = 0;
    for (let a = 0; a < d; a++) {
      let s = 0;
      for (let b = 0; b < d; b++) s += cov[a * m + b]! * h[b]!;
      variance += h[a]! * s;
    }
    return Array.from({ length: n }, (_, j) => {
      let c = 0;
      for (let a = 0; a < d; a++) c += h[a]! * cov[a * m + d + j]!;
      return Math.abs(c) / Math.sqrt(Math.max(variance * cov[(d + j) * m + d + j]!, 1e-300));
    });
  });
}

export type EdgeStatus = 'correct' | 'missing' | 'extra';

/** Edge-by-edge comparison in the true labelling: the status of every edge of either graph. */
export function compareEdges(truth: Matrix, estimate: Matrix): { from: number; to: number; status: EdgeStatus }[] {
  const out: { from: number; to: number; status: EdgeStatus }[] = [];
  for (let i = 0; i < truth.length; i++) {
    for (let j = 0; j < truth.length; j++) {
      const t = truth[i]![j] !== 0;
      const e = estimate[i]![j] !== 0;
      if (t && e) out.push({ from: i, to: j, status: 'correct' });
      else if (t) out.push({ from: i, to: j, status: 'missing' });
      else if (e) out.push({ from: i, to: j, status: 'extra' });
    }
  }
  return out;
}

export interface Evaluation {
  /** Mean |correlation| of matched latents. */
  mcc: number;
  /** match[t] = true latent of estimated latent t. */
  match: number[];
  /** |correlation| of each true latent with its matched estimate. */
  correlations: number[];
  /** The estimated graph in the true labelling, as compared (its closure for 'closure' fits). */
  graph: Matrix;
  /** The true graph as compared (its closure for 'closure' fits). */
  truth: Matrix;
  /** SHD, precision, recall, ... of `graph` against `truth`. */
  comparison: GraphComparison;
  shd: number;
  /** Effective mixing encoder·decoder, rows in the true labelling, unit rows, positive diagonal. */
  mixing: Matrix;
  /** Entries allowed to be nonzero: identity ('dag' fits) or ancestors + identity ('closure' fits). */
  allowed: boolean[][];
  /** Entries with |value| ≥ 0.05 outside `allowed`, and the off-pattern spectral norm. */
  incorrectMixing: number;
  offPatternNorm: number;
  /** Time the core spent on these metrics (ms). */
  workerMs: number;
}

type Call = <T>(method: string, ...args: unknown[]) => Promise<T>;

/**
 * Compares a fit with the simulation it came from.
 * @param x0z0Cov covariance of [x0 | z0] (observational samples), (d+n)×(d+n)
 */
export async function evaluateFit(runner: Runner, sim: Simulation, fit: Fit, x0z0Cov: NDArray): Promise<Evaluation> {
  let workerMs = 0;
  const call: Call = async (method, ...args) => {
    const t = await runner.timed(method, args);
    workerMs += t.workerMs;
    return t.value as never;
  };
  const n = fit.encoder.length;
  const d = sim.d;
  const corr = latentCorrelations(x0z0Cov.data, d, fit.encoder);
  const { assignment: match } = await call<{ assignment: number[] }>('linearSumAssignment', fromMatrix(corr), { maximize: true });
  const correlations = new Array<number>(n).fill(0);
  match.forEach((j, t) => (correlations[j] = corr[t]![j]!));
  const mcc = correlations.reduce((a, b) => a + b, 0) / n;

  // The estimate in the true labelling.
  const encoder: Matrix = new Array(n);
  match.forEach((j, t) => (encoder[j] = fit.encoder[t]!));
  const relabelled = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (fit.graph[i]![j]) relabelled[match[i]!]![match[j]!] = 1;

  const closure = fit.kind === 'closure';
  const truthGraph = sim.graph;
  const truth = closure ? await call<NDArray>('transitiveClosure', truthGraph) : truthGraph;
  const graph = closure ? await call<NDArray>('transitiveClosure', fromMatrix(relabelled)) : fromMatrix(relabelled);
  const comparison = await call<GraphComparison>('compareGraphs', truth, graph);

  // Hard: latents up to scaling (identity pattern); soft: up to mixing with ancestors.
  const patternGraph = closure ? truthGraph : { data: new Float64Array(n * n), shape: [n, n] };
  const allowed = await call<NDArray>('allowedPattern', patternGraph, true);
  const mixing = await call<MixingError>('effectiveMixingError', fromMatrix(encoder), sim.transform.decoder, allowed);
  return {
    mcc,
    match,
    correlations,
    graph: rows(graph),
    truth: rows(truth),
    comparison,
    shd: comparison.shd,
    mixing: rows(mixing.effective),
    allowed: rows(allowed).map((r) => r.map((v) => v !== 0)),
    incorrectMixing: mixing.incorrectCount,
    offPatternNorm: mixing.offPatternSpectralNorm,
    workerMs,
  };
}
