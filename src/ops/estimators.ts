import { call, callAsync, type OpArrays, type OpIn, type OpNumbers, type OpOut } from './call.js';
import type { AsyncOptions, Engine } from '../backend/engine.js';
import type { NDArray } from '../types.js';
import { checkArray } from '../validate.js';

/**
 * Score-difference estimation: from samples x ((K+1)×N×d, environment 0 observational),
 * dsx_m = s_0 − s_m (m = 1..K) at the observational samples (K×N×d), or at given points.
 *
 * Methods are looked up by name in a registry, so estimators implemented elsewhere slot in with
 * `registerScoreEstimator`; 'gaussian' is built in.
 */
export interface ScoreDifferenceOptions {
  /** Estimator name: 'gaussian' (built in) or one registered with `registerScoreEstimator`. */
  method: string;
  /** Evaluate at these points (M×d) instead of the observational samples. */
  at?: NDArray;
  /** Dimension of the support the estimator works on (n). Default K. */
  latents?: number;
  /** Further method-specific options. */
  [option: string]: unknown;
}

export interface ScoreDifferenceResult {
  /** K×M×d score differences (M = N unless `at` was given). */
  dsx: NDArray;
  method: string;
  /** Method-specific fitted parameters. */
  model?: Record<string, NDArray | number | string>;
}

export interface GaussianOptions extends ScoreDifferenceOptions {
  method: 'gaussian';
  /**
   * true (default): s_k(x) = −B P_k (Bᵀx − ν_k), the Gaussian score with environment k's mean ν_k;
   * false: s_k(x) = −B P_k Bᵀx (means ignored, as in the authors' reference code).
   */
  centred?: boolean;
}

/**
 * Gaussian plug-in: on the n-dim support spanned by B (d×n, top-n eigenvectors of the
 * observational covariance), environment k's score is that of a Gaussian with the sample
 * covariance C_k of Bᵀx: s_k(x) = −B P_k (Bᵀx − ν_k), P_k = C_k⁻¹. The model holds
 * basis (d×n), means ((K+1)×n) and precisions ((K+1)×n×n).
 */
export interface GaussianResult extends ScoreDifferenceResult {
  model: { basis: NDArray; means: NDArray; precisions: NDArray };
}

type Estimator = {
  sync(engine: Engine, x: NDArray, options: ScoreDifferenceOptions): ScoreDifferenceResult;
  async(engine: Engine, x: NDArray, options: ScoreDifferenceOptions, async?: AsyncOptions): Promise<ScoreDifferenceResult>;
};

const registry = new Map<string, Estimator>();

// Score differences returned by a learned estimator (every method but the Gaussian plug-in), so
// that LSCALE-I can default to the edge rule for learned scores without being told.
const learned = new WeakSet<NDArray>();

/** Whether `dsx` was returned by `estimateScoreDifferences` with a learned (not plug-in) method. */
export function isLearnedScoreDifference(dsx: NDArray): boolean {
  return typeof dsx === 'object' && dsx !== null && learned.has(dsx);
}

/** Records `dsx` as learned (for the learned estimators' own evaluation paths). */
export function markLearnedScoreDifference(dsx: NDArray): NDArray {
  if (typeof dsx === 'object' && dsx !== null) learned.add(dsx);
  return dsx;
}

function markLearned(method: string, result: ScoreDifferenceResult): ScoreDifferenceResult {
  if (method !== 'gaussian' && typeof result === 'object' && result !== null) markLearnedScoreDifference(result.dsx);
  return result;
}

/** Adds (or replaces) an estimator under `method`. */
export function registerScoreEstimator(method: string, estimator: Estimator): void {
  registry.set(method, estimator);
}

/** Names of the estimators `estimateScoreDifferences` knows. */
export function scoreEstimators(): string[] {
  return [...registry.keys()].sort();
}

// 'seed' is accepted (and unused: the plug-in is deterministic) so callers can pass one to any method.
const GAUSSIAN_KEYS = ['method', 'at', 'latents', 'centred', 'seed'];

function gaussianInputs(x: NDArray, options: ScoreDifferenceOptions): OpIn<'gaussianScoreDifferences'> {
  const fn = 'estimateScoreDifferences';
  for (const key of Object.keys(options)) {
    if (!GAUSSIAN_KEYS.includes(key))
      throw new RangeError(`${fn}: unknown option '${key}' for method 'gaussian' (known: ${GAUSSIAN_KEYS.join(', ')})`);
  }
  const numbers: OpNumbers<'gaussianScoreDifferences'> = {};
  const arrays: OpArrays<'gaussianScoreDifferences'> = { x };
  if (options.centred !== undefined) numbers.centred = Boolean(options.centred);
  if (options.latents !== undefined) {
    if (!Number.isInteger(options.latents) || options.latents < 1)
      throw new RangeError(`${fn}: 'latents' must be a positive integer, got ${String(options.latents)}`);
    numbers.latents = options.latents;
  }
  if (options.at !== undefined) {
    checkArray(fn, 'at', options.at, 2);
    if (options.at.shape[1] !== x.shape[2])
      throw new RangeError(`${fn}: 'at' has ${options.at.shape[1]} columns, 'x' has d = ${x.shape[2]}`);
    arrays.at = options.at;
  }
  return { arrays, numbers };
}

function gaussianResult(out: OpOut<'gaussianScoreDifferences'>): GaussianResult {
  const a = out.arrays;
  return { dsx: a.dsx, method: 'gaussian', model: { basis: a.basis, means: a.means, precisions: a.precisions } };
}

registerScoreEstimator('gaussian', {
  sync: (engine, x, options) => gaussianResult(call(engine, 'gaussianScoreDifferences', gaussianInputs(x, options))),
  async: async (engine, x, options, async) =>
    gaussianResult(await callAsync(engine, 'gaussianScoreDifferences', gaussianInputs(x, options), async)),
});

function lookup(x: NDArray, options: ScoreDifferenceOptions): Estimator {
  const fn = 'estimateScoreDifferences';
  checkArray(fn, 'x', x, 3);
  if (x.shape[0]! < 2)
    throw new RangeError(`${fn}: 'x' needs the observational environment and at least one interventional one (shape [K+1, N, d])`);
  if (typeof options !== 'object' || options === null || typeof options.method !== 'string')
    throw new TypeError(`${fn}: options.method must name an estimator (${scoreEstimators().join(', ')})`);
  const estimator = registry.get(options.method);
  if (!estimator) throw new RangeError(`${fn}: unknown method '${options.method}' (available: ${scoreEstimators().join(', ')})`);
  return estimator;
}

export function estimateScoreDifferences(engine: Engine, x: NDArray, options: GaussianOptions): GaussianResult;
export function estimateScoreDifferences(engine: Engine, x: NDArray, options: ScoreDifferenceOptions): ScoreDifferenceResult;
/** Score differences of environments 1..K against environment 0 at the observational samples (or `at`). */
export function estimateScoreDifferences(engine: Engine, x: NDArray, options: ScoreDifferenceOptions): ScoreDifferenceResult {
  return markLearned(options.method, lookup(x, options).sync(engine, x, options));
}

export function estimateScoreDifferencesAsync(
  engine: Engine,
  x: NDArray,
  options: ScoreDifferenceOptions,
  async?: AsyncOptions,
): Promise<ScoreDifferenceResult> {
  return lookup(x, options)
    .async(engine, x, options, async)
    .then((result) => markLearned(options.method, result));
}
