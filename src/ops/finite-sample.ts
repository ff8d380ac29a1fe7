/**
 * The finite-sample algorithm (the NeurIPS 2024 sample-complexity algorithm): from n score
 * differences (environment m+1 intervenes latent m, one per latent) it finds the causal order, the
 * transitive closure of the latent graph and an encoder up to mixing with ancestors. `finiteSample`
 * runs it on score differences or their moments; `fitFiniteSample` on per-environment data moments
 * with Gaussian plug-in scores (what `scorecrl fit` runs).
 */
import { call, type OpOut, operation } from './call.js';
import { FINITE_SAMPLE_TOLERANCES } from '../algorithms.js';
import type { Engine, OpInputs } from '../backend/engine.js';
import type { NDArray } from '../types.js';
import { checkArray, checkOptionNames, optionNames } from '../validate.js';

/** Inputs of the sample-complexity algorithm: n score-difference second moments, or what gives them. */
export type FiniteSampleData = { rxs: NDArray } | { dsx: NDArray } | { x: NDArray; scores: 'gaussian'; centred?: boolean };

export interface FiniteSampleOptions {
  /** Eigenvalues above it span a column space. Default 1e-2. */
  tolEigv?: number;
  /** Approximate-orthogonality threshold of the graph test. Default 1e-1. */
  tolOrth?: number;
}

export interface FiniteSampleResult {
  /** Causal order, oldest first (latent m = environment m+1). */
  order: number[];
  /** n×n 0/1 transitive closure, [i][j] = i is an ancestor of j. */
  graphClosure: NDArray;
  /** n×d, unit rows: latent m up to mixing with its ancestors. */
  encoder: NDArray;
}

const FINITE_SAMPLE_OPTIONS = optionNames<FiniteSampleOptions>()(['tolEigv', 'tolOrth']);

function finiteSampleInputs(data: FiniteSampleData, options: FiniteSampleOptions): OpInputs {
  const fn = 'finiteSample';
  checkOptionNames(fn, options, FINITE_SAMPLE_OPTIONS);
  if (typeof data !== 'object' || data === null) throw new TypeError(`${fn}: 'data' must be { rxs }, { dsx } or { x, scores: 'gaussian' }`);
  const d = data as Record<string, unknown>;
  const given = ['rxs', 'dsx', 'x'].filter((k) => d[k] !== undefined);
  if (given.length !== 1) throw new TypeError(`${fn}: pass exactly one of 'rxs' (n×d×d), 'dsx' (n×N×d) or 'x' with scores: 'gaussian'`);
  const key = given[0]!;
  checkArray(fn, key, d[key], 3);
  const numbers: Record<string, number | boolean> = {};
  const strings: Record<string, string> = {};
  if (key === 'x') {
    if (d.scores !== 'gaussian') throw new TypeError(`${fn}: 'x' needs scores: 'gaussian' (or pass 'dsx' / 'rxs')`);
    strings.scores = 'gaussian';
    if (d.centred !== undefined) numbers.centred = Boolean(d.centred);
  }
  for (const k of ['tolEigv', 'tolOrth'] as const) {
    const v = options[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new RangeError(`${fn}: '${k}' must be a finite number >= 0, got ${String(v)}`);
    numbers[k] = v;
  }
  return { arrays: { [key]: d[key] as NDArray }, numbers, strings };
}

function finiteResultOf(out: OpOut<'finiteSample'>): FiniteSampleResult {
  return {
    order: out.arrays.order ? Array.from(out.arrays.order.data) : [],
    graphClosure: out.arrays.graphClosure,
    encoder: out.arrays.encoder,
  };
}

/** The NeurIPS 2024 sample-complexity algorithm: causal order, transitive closure, encoder. */
export const finiteSample = operation(
  'finiteSample',
  ([data]: [FiniteSampleData], options: FiniteSampleOptions) => finiteSampleInputs(data, options),
  (out) => finiteResultOf(out),
);

/** Result of `fitFiniteSample` (latent t belongs to environment t+1). */
export interface FiniteSampleFit {
  /** Causal order of the latents, oldest first. */
  order: number[];
  /** n x n 0/1: estimated transitive closure, graph[i][j] = 1 iff z_i is an ancestor of z_j. */
  graph: NDArray;
  /** n x d: encoder rows (unit norm, largest |entry| positive); z_hat = encoder · x. */
  encoder: NDArray;
  /** K x d x d: the score-difference covariances the algorithm used. */
  covariances: NDArray;
  /** d: eigenvalues of the observational covariance, descending. */
  supportEigenvalues: Float64Array;
  /** K x d: eigenvalues of each score-difference covariance, descending. */
  scoreDiffEigenvalues: NDArray;
}

/**
 * The finite-sample algorithm with Gaussian plug-in scores, on data given as
 * per-environment moments: `covariances` (K+1) x d x d (centred) and `means`
 * (K+1) x d, environment 0 observational, environment t+1 intervening latent t.
 */
export function fitFiniteSample(
  engine: Engine,
  covariances: NDArray,
  means: NDArray,
  n: number,
  options: { tolEigv?: number; tolOrth?: number } = {},
): FiniteSampleFit {
  checkArray('fitFiniteSample', 'covariances', covariances, 3);
  checkArray('fitFiniteSample', 'means', means, 2);
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`fitFiniteSample: 'n' must be a positive integer, got ${n}`);
  const out = call(engine, 'fitFiniteSample', {
    arrays: { covariances, means },
    numbers: {
      n,
      tolEigv: options.tolEigv ?? FINITE_SAMPLE_TOLERANCES.tolEigv,
      tolOrth: options.tolOrth ?? FINITE_SAMPLE_TOLERANCES.tolOrth,
    },
  }).arrays;
  return {
    order: Array.from(out.order.data),
    graph: out.graph,
    encoder: out.encoder,
    covariances: out.covariances,
    supportEigenvalues: out.supportEigenvalues.data,
    scoreDiffEigenvalues: out.scoreDiffEigenvalues,
  };
}
