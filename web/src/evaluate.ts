// Evaluation of an estimate against the simulated truth (metrics: docs/lscale.md, "Graph utilities and metrics"), with
// the library's own metrics: the core matches latents (linearSumAssignment),
// compares graphs (compareGraphs, transitiveClosure) and judges the effective
// mixing (effectiveMixingError, allowedPattern). The page only does n×n
// algebra; the one pass over the samples is the core's covariance of [x0 | z0].
import type { CallOptions, GraphComparison, MixingError, NDArray, Simulation } from 'scorecrl';
import type { Fit, Runner } from './algorithms.js';
import { fromMatrix, rows, type Matrix } from './matrix.js';

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
  /**
   * 'effective' (linear encoders): encoder·decoder, rows in the true labelling, unit rows,
   * positive diagonal. 'correlation' (nonlinear encoders): corr(matched ẑ_i, z_j).
   */
  mixing: Matrix;
  mixingKind: 'effective' | 'correlation';
  /** Entries allowed to be nonzero: identity ('dag' fits) or ancestors + identity ('closure' fits). */
  allowed: boolean[][];
  /** Entries with |value| ≥ 0.05 outside `allowed`, and the off-pattern spectral norm (effective mixing only). */
  incorrectMixing?: number;
  offPatternNorm?: number;
  /** Time the core spent on these metrics (ms). */
  workerMs: number;
}

type Call = <T>(method: string, ...args: unknown[]) => Promise<T>;

/** Columns of two N-row arrays side by side: [a | b] (N×(p+q)). */
export function joinColumns(a: NDArray, b: NDArray): NDArray {
  const [N, p] = a.shape as [number, number];
  const q = b.shape[1]!;
  const out = new Float64Array(N * (p + q));
  for (let i = 0; i < N; i++) {
    out.set(a.data.subarray(i * p, (i + 1) * p), i * (p + q));
    out.set(b.data.subarray(i * q, (i + 1) * q), i * (p + q) + p);
  }
  return { data: out, shape: [N, p + q] };
}

/** Observational slice (environment 0) of a (K+1)×N×k array, as N×k. */
export function observational(a: NDArray): NDArray {
  const [, N, k] = a.shape as [number, number, number];
  return { data: a.data.subarray(0, N * k), shape: [N, k] };
}

/**
 * Compares a fit with the simulation it came from.
 * @param x0z0 [x0 | z0] (observational samples, N×(d+n)), for fits with a linear encoder
 */
export async function evaluateFit(
  runner: Runner,
  sim: Simulation,
  fit: Fit,
  x0z0?: NDArray,
  options: CallOptions = {},
): Promise<Evaluation> {
  let workerMs = 0;
  const call: Call = async (method, ...args) => {
    const t = await runner.timed(method, args, { signal: options.signal });
    workerMs += t.workerMs;
    return t.value as never;
  };
  const n = sim.n;
  const d = sim.d;
  // corr[t][j]: correlation of estimated latent t with true latent j (signed for latent fits).
  let corr: Matrix;
  if (fit.encoder) {
    if (!x0z0) throw new Error('evaluateFit: a linear fit needs [x0 | z0]');
    const cov = await call<NDArray>('covariance', x0z0);
    corr = latentCorrelations(cov.data, d, fit.encoder);
  } else {
    const cov = (await call<NDArray>('covariance', joinColumns(observational(sim.z!), fit.latents!))).data;
    const m = 2 * n;
    corr = Array.from({ length: n }, (_, t) =>
      Array.from({ length: n }, (_, j) => cov[(n + t) * m + j]! / Math.sqrt(cov[(n + t) * m + n + t]! * cov[j * m + j]!)),
    );
  }
  const absolute = corr.map((r) => r.map(Math.abs));
  const { assignment: match } = await call<{ assignment: number[] }>('linearSumAssignment', fromMatrix(absolute), { maximize: true });
  const correlations = new Array<number>(n).fill(0);
  match.forEach((j, t) => (correlations[j] = absolute[t]![j]!));
  const mcc = correlations.reduce((a, b) => a + b, 0) / n;

  const relabelled = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (fit.graph[i]![j]) relabelled[match[i]!]![match[j]!] = 1;
  const closure = fit.kind === 'closure';
  const truthGraph = sim.graph;
  const truth = closure ? await call<NDArray>('transitiveClosure', truthGraph) : truthGraph;
  const graph = closure ? await call<NDArray>('transitiveClosure', fromMatrix(relabelled)) : fromMatrix(relabelled);
  const comparison = await call<GraphComparison>('compareGraphs', truth, graph);

  const base = { mcc, match, correlations, graph: rows(graph), truth: rows(truth), comparison, shd: comparison.shd };
  if (!fit.encoder) {
    // Nonlinear encoder: show the correlations of matched estimates with every true latent.
    const shown = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    match.forEach((j, t) => {
      const sign = corr[t]![j]! < 0 ? -1 : 1;
      shown[j] = corr[t]!.map((v) => sign * v);
    });
    // Correlations with other latents are expected (causal dependence): nothing is outlined.
    const allowed = shown.map((r) => r.map(() => true));
    return { ...base, mixing: shown, mixingKind: 'correlation', allowed, incorrectMixing: undefined, offPatternNorm: undefined, workerMs };
  }
  // Linear encoder in the true labelling; hard: latents up to scaling (identity pattern), soft: up to ancestors.
  const encoder: Matrix = new Array(n);
  match.forEach((j, t) => (encoder[j] = fit.encoder![t]!));
  const patternGraph = closure ? truthGraph : { data: new Float64Array(n * n), shape: [n, n] };
  const allowed = await call<NDArray>('allowedPattern', patternGraph, true);
  const mixing = await call<MixingError>('effectiveMixingError', fromMatrix(encoder), sim.transform.decoder, allowed);
  return {
    ...base,
    mixing: rows(mixing.effective),
    mixingKind: 'effective',
    allowed: rows(allowed).map((r) => r.map((v) => v !== 0)),
    incorrectMixing: mixing.incorrectCount,
    offPatternNorm: mixing.offPatternSpectralNorm,
    workerMs,
  };
}
