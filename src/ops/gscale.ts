import { call, callAsync, type OpArrays, type OpIn, type OpNumbers, type OpOut, type OpStrings, present } from './call.js';
import type { AsyncOptions, Engine } from '../backend/engine.js';
import type { NDArray } from '../types.js';
import { checkArray, checkOptionNames, optionNames } from '../validate.js';
import { type InterventionalGraphOptions, type InterventionalGraphResult, interventionalGraph } from './graph.js';

/**
 * Autoencoder family:
 * - `glm`: decoder x = tanh(U ẑ), encoder ẑ = pinv(U) atanh(x), U (d×n) learned
 *   (rows with saturated coordinates, |x| ≥ 1 − clampEpsilon, are fitted on
 *   their other coordinates);
 * - `mlp`: encoder d→h→h→n and decoder n→h→h→d, tanh hidden layers, linear outputs.
 */
export type GscaleFamily = 'glm' | 'mlp';

/** Training data. Score differences are evaluated at the rows of `x`. */
export interface GscaleInput {
  /** N×d observational samples. */
  x: NDArray;
  /**
   * n×N×d: slice i is the score difference between the two hard interventions
   * on node i (s_first − s_second, either sign), at the rows of `x`.
   */
  dsxPairs: NDArray;
  /**
   * n×N×d: slice i is the observational-vs-first-intervention difference
   * s_0 − s_first for node i. Needed for the graph; without it only latents are learned.
   */
  dsxObs?: NDArray;
}

export interface GscaleOptions {
  /** Default 'glm'. */
  family?: GscaleFamily;
  /** Hidden width of the 'mlp' family. Default 32. */
  hidden?: number;
  /** c: the target of D's diagonal (fixes each latent's scale). Default 1. */
  targetScale?: number;
  /**
   * The score term of the loss. 'mean-abs': the paper's Σ_ij |D(i, j) − c δ_ij|. 'direction': for
   * each pair and sample, the share of the latent score difference outside the pair's coordinate,
   * 1 − dsz_i(t)_i² / ‖dsz_i(t)‖², averaged over samples and summed over pairs, plus
   * 0.01 · Σ_i log(D(i, i) / c)² to pin the scale; every sample counts the same however large its
   * score difference. Default 'auto': mean-abs for glm, direction for mlp.
   */
  scoreLoss?: 'auto' | 'mean-abs' | 'direction';
  /** λ on the reconstruction term (1/N) Σ ||x̂ − x||². Default: glm 1, mlp 100. */
  reconstructionWeight?: number;
  /** Default 'adam'. */
  optimizer?: 'adam' | 'rmsprop';
  /** Initial step size. Default: glm 1e-3 (spectral start, or after realignment) or 2e-2; mlp 1e-2 (5e-3 with scoreLoss 'mean-abs'). */
  learningRate?: number;
  /** Iterations of the full loss at most (after any warm-up and restart probes). Default 20000. */
  maxIterations?: number;
  /** Relative improvement of the best loss that resets the plateau counter. Default 1e-4. */
  tolerance?: number;
  /** Iterations without improvement before the step size is halved. Default 200. */
  patience?: number;
  /** Halvings before training counts as converged. Default 6. */
  decays?: number;
  /** Training stops once loss ≤ lossTolerance · n · targetScale. Default 1e-6. */
  lossTolerance?: number;
  /**
   * 'auto' (default): 'spectral' for glm, 'random' for mlp. 'spectral' is a closed-form start
   * specific to the glm model x = tanh(U z); 'linear' is transform-agnostic (the data's linear
   * structure: principal subspace of x and LSCALE-I's pair rule on it); 'random' a seeded draw.
   */
  init?: 'auto' | 'spectral' | 'random' | 'linear';
  /** Seed of the random start (integer in [0, 2^53)). Default 0. */
  seed?: number;
  /** glm: coordinates with |x| ≥ 1 − clampEpsilon count as saturated. Default 1e-12. */
  clampEpsilon?: number;
  /**
   * 'threshold' (default): edge j→i when statistic[i][j] > edgeThreshold.
   * 'adaptive': LSCALE-I's scale-free data-driven rule (Otsu split of log statistics).
   */
  edgeRule?: 'threshold' | 'adaptive';
  /** Default 0.02. */
  edgeThreshold?: number;
  /** A history row every this many iterations (plus the last). Default 50. */
  historyEvery?: number;
  /**
   * Restarts chosen by the training loss: the start and `restarts` seeded random starts
   * (seeds seed+1, …) each train for `restartIterations`; the lowest loss then trains for
   * `maxIterations`. Default 0 (no restarts).
   */
  restarts?: number;
  /** Iterations of each restart's probe. Default 500. */
  restartIterations?: number;
  /**
   * Rows per iteration. 0: all rows (full batch). Otherwise each iteration's gradient uses the next
   * batchSize rows of a seeded shuffle, and the plateau schedule sees the loss on all rows once per
   * pass over them. Default: mlp 256 (so an iteration costs about the same at any N), glm 0.
   */
  batchSize?: number;
  /**
   * After training, while the score term exceeds `retryScore` per pair, train again from the next
   * seeded random start (seed + restarts + 1, …) and keep the lowest loss, at most this many times.
   * Default: 2 for the direction score term from a random start (the mlp default), else 0.
   */
  retries?: number;
  /** Per-pair score term above which a run counts as a poor basin and is retried. Default 0.1. */
  retryScore?: number;
  /**
   * Transform-agnostic path: iterations of reconstruction-only training (score term off, same
   * plateau schedule, ends early on a plateau) before the full loss. Default: glm with the
   * 'random' or 'linear' start 4000; otherwise 0.
   */
  warmupIterations?: number;
  /**
   * After the warm-up, re-mix the latents linearly by LSCALE-I's pair rule applied to the
   * model's own latent score differences. Default: true for glm with the 'random' or 'linear'
   * start; otherwise false.
   */
  realign?: boolean;
  /** Step size of the warm-up. Default: glm 2e-2, mlp 5e-3. */
  warmupLearningRate?: number;
}

/** A trained autoencoder: plain data (JSON-able apart from the Float64Array), usable with `gscaleEncode`/`gscaleDecode`. */
export interface GscaleModel {
  family: GscaleFamily;
  n: number;
  d: number;
  /** mlp width (0 for glm). */
  hidden: number;
  clampEpsilon: number;
  /**
   * Flat parameters. glm: U (d×n, row-major). mlp: E1 (h×d), e1 (h), E2 (h×h),
   * e2 (h), E3 (n×h), e3 (n), D1 (h×n), f1 (h), D2 (h×h), f2 (h), D3 (d×h), f3 (d).
   */
  parameters: Float64Array;
}

/** Training history, one entry per recorded iteration. */
export interface GscaleHistory {
  iteration: number[];
  loss: number[];
  scoreTerm: number[];
  reconstruction: number[];
  learningRate: number[];
}

export interface GscaleResult {
  model: GscaleModel;
  /** ẑ (N×n) for new samples x (N×d). Node only (closures do not cross to a browser worker; use `gscaleEncode`). */
  encode(x: NDArray): NDArray;
  /** x̂ (N×d) for latents z (N×n). */
  decode(z: NDArray): NDArray;
  /** N×n: the latents of the training samples; column i is the latent of node i. */
  latents: NDArray;
  /** n×n: D[i][j] = mean_t |(J_dec(ẑ_t)ᵀ dsxPairs_i(x_t))_j|; ≈ targetScale · I when training succeeded. */
  D: NDArray;
  /** n×n: the same for dsxObs (with dsxObs). */
  Dobs?: NDArray;
  /** n×n: statistic[i][j] = Dobs[i][j] · sd(ẑ_j) (scale-free), compared for the edge j→i. */
  statistic?: NDArray;
  /** The threshold the edge rule applied. */
  threshold?: number;
  /** n×n 0/1 DAG, graph[j][i] = 1 iff edge j→i. */
  graph?: NDArray;
  /** The thresholded statistic before the closest-DAG step (may be cyclic). */
  rawGraph?: NDArray;
  /** A topological order of `graph`. */
  order?: number[];
  history: GscaleHistory;
  /** Iterations over every phase (warm-up, restart probes, full loss). */
  iterations: number;
  converged: boolean;
  /** Final loss terms (at the returned, best, parameters). */
  loss: number;
  scoreTerm: number;
  reconstruction: number;
  /** The start used and its step size. */
  init: 'spectral' | 'random' | 'linear';
  learningRate: number;
}

const FAMILIES = ['glm', 'mlp'];
const OPTION_KEYS = optionNames<GscaleOptions>()([
  'family',
  'hidden',
  'targetScale',
  'scoreLoss',
  'reconstructionWeight',
  'optimizer',
  'learningRate',
  'maxIterations',
  'tolerance',
  'patience',
  'decays',
  'lossTolerance',
  'init',
  'seed',
  'clampEpsilon',
  'edgeRule',
  'edgeThreshold',
  'historyEvery',
  'restarts',
  'restartIterations',
  'batchSize',
  'retries',
  'retryScore',
  'warmupIterations',
  'realign',
  'warmupLearningRate',
]);

function checkInput(fn: string, input: GscaleInput): OpArrays<'gscale'> {
  if (typeof input !== 'object' || input === null) throw new TypeError(`${fn}: 'input' must be { x, dsxPairs, dsxObs? }`);
  checkArray(fn, 'x', input.x, 2);
  checkArray(fn, 'dsxPairs', input.dsxPairs, 3);
  const [N, d] = input.x.shape as [number, number];
  const [n, Np, dp] = input.dsxPairs.shape as [number, number, number];
  if (Np !== N || dp !== d) {
    throw new RangeError(
      `${fn}: 'dsxPairs' must be n×N×d = n×${N}×${d} (score differences at the rows of 'x'), got [${input.dsxPairs.shape.join(', ')}]`,
    );
  }
  if (d < n) throw new RangeError(`${fn}: 'x' has d = ${d} columns, fewer than the n = ${n} nodes of 'dsxPairs'; GSCALE-I needs d >= n`);
  const arrays: OpArrays<'gscale'> = { x: input.x, dsxPairs: input.dsxPairs };
  if (input.dsxObs !== undefined) {
    checkArray(fn, 'dsxObs', input.dsxObs, 3);
    if (input.dsxObs.shape.join() !== input.dsxPairs.shape.join()) {
      throw new RangeError(
        `${fn}: 'dsxObs' must have the shape of 'dsxPairs' [${input.dsxPairs.shape.join(', ')}], got [${input.dsxObs.shape.join(', ')}]`,
      );
    }
    arrays.dsxObs = input.dsxObs;
  }
  return arrays;
}

function optionInputs(fn: string, options: GscaleOptions): { numbers: OpNumbers<'gscale'>; strings: OpStrings<'gscale'> } {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${fn}: 'options' must be an object`);
  checkOptionNames(fn, options, OPTION_KEYS);
  const numbers: Record<string, number> = {};
  const strings: Record<string, string> = {};
  const o = options as Record<string, unknown>;
  const choice = (key: string, allowed: string[]) => {
    const v = o[key];
    if (v === undefined) return;
    if (typeof v !== 'string' || !allowed.includes(v)) {
      throw new RangeError(`${fn}: '${key}' must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(v)}`);
    }
    strings[key] = v;
  };
  const integer = (key: string, min: number) => {
    const v = o[key];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      throw new RangeError(`${fn}: '${key}' must be an integer >= ${min}, got ${String(v)}`);
    }
    numbers[key] = v;
  };
  const real = (key: string, ok: (v: number) => boolean, what: string) => {
    const v = o[key];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new RangeError(`${fn}: '${key}' must be ${what}, got ${String(v)}`);
    numbers[key] = v;
  };
  choice('family', FAMILIES);
  choice('optimizer', ['adam', 'rmsprop']);
  choice('init', ['auto', 'spectral', 'random', 'linear']);
  choice('edgeRule', ['threshold', 'adaptive']);
  choice('scoreLoss', ['auto', 'mean-abs', 'direction']);
  if (options.init === 'spectral' && options.family === 'mlp') {
    throw new RangeError(`${fn}: 'init' = 'spectral' needs the glm family; use 'random' (or 'auto') for mlp`);
  }
  integer('hidden', 1);
  integer('maxIterations', 0);
  integer('patience', 1);
  integer('decays', 0);
  integer('seed', 0);
  integer('historyEvery', 1);
  integer('restarts', 0);
  integer('restartIterations', 1);
  integer('batchSize', 0);
  integer('retries', 0);
  if (o.batchSize === 1) throw new RangeError(`${fn}: 'batchSize' must be 0 (all rows) or at least 2, got 1`);
  integer('warmupIterations', 0);
  if (o.realign !== undefined) {
    if (typeof o.realign !== 'boolean') throw new RangeError(`${fn}: 'realign' must be true or false, got ${String(o.realign)}`);
    numbers.realign = o.realign ? 1 : 0;
  }
  real('targetScale', (v) => v > 0, 'a positive number');
  real('retryScore', (v) => v >= 0, 'a number >= 0');
  real('reconstructionWeight', (v) => v >= 0, 'a number >= 0');
  real('learningRate', (v) => v > 0, 'a positive number');
  real('warmupLearningRate', (v) => v > 0, 'a positive number');
  real('tolerance', (v) => v >= 0 && v < 1, 'in [0, 1)');
  real('lossTolerance', (v) => v >= 0, 'a number >= 0');
  real('clampEpsilon', (v) => v > 0 && v < 0.5, 'in (0, 0.5)');
  real('edgeThreshold', (v) => v >= 0, 'a number >= 0');
  // Built by name above; the core checks each against its spec.
  return { numbers: numbers as OpNumbers<'gscale'>, strings: strings as OpStrings<'gscale'> };
}

function modelInputs(fn: string, model: GscaleModel) {
  if (typeof model !== 'object' || model === null || !(model.parameters instanceof Float64Array)) {
    throw new TypeError(`${fn}: 'model' must be a GscaleModel { family, n, d, hidden, clampEpsilon, parameters: Float64Array }`);
  }
  if (!FAMILIES.includes(model.family))
    throw new RangeError(`${fn}: 'model.family' must be 'glm' or 'mlp', got ${JSON.stringify(model.family)}`);
  return {
    numbers: { n: model.n, d: model.d, hidden: model.hidden, clampEpsilon: model.clampEpsilon },
    strings: { family: model.family } as OpStrings<'gscaleEncode'>,
    arrays: { parameters: { data: model.parameters, shape: [model.parameters.length] } },
  };
}

function withData<A extends object>(base: ReturnType<typeof modelInputs>, arrays: A) {
  return { numbers: base.numbers, strings: base.strings, arrays: { ...base.arrays, ...arrays } };
}

/** ẑ (N×n) for the rows of x (N×d) under a trained model. */
export function gscaleEncode(engine: Engine, model: GscaleModel, x: NDArray): NDArray {
  checkArray('gscaleEncode', 'x', x, 2);
  return call(engine, 'gscaleEncode', withData(modelInputs('gscaleEncode', model), { x })).arrays.z;
}

/**
 * GSCALE-I's graph from the samples of every environment (for learned score differences, whose
 * Dobs statistic carries their error): `x` ((2n+1)×M×d) in GSCALE-I's layout — the observational
 * environment, then the first hard intervention on latents 0..n−1, then the second in the same
 * order. Each environment is encoded with the trained model and `interventionalGraph` decides the
 * order and the edges (docs/gscale.md#graphs-from-the-environments).
 */
export function gscaleEnvironmentGraph(
  engine: Engine,
  model: GscaleModel,
  x: NDArray,
  options: InterventionalGraphOptions = {},
): InterventionalGraphResult {
  const fn = 'gscaleEnvironmentGraph';
  checkArray(fn, 'x', x, 3);
  const [K1, M, d] = x.shape as [number, number, number];
  const n = model.n;
  if (K1 !== 2 * n + 1)
    throw new RangeError(
      `${fn}: 'x' must hold the observational environment and two hard interventions per latent, 2n + 1 = ${2 * n + 1} environments, got ${K1}`,
    );
  const latents = new Float64Array(K1 * M * n);
  for (let k = 0; k < K1; k++)
    latents.set(gscaleEncode(engine, model, { data: x.data.subarray(k * M * d, (k + 1) * M * d), shape: [M, d] }).data, k * M * n);
  const targets = new Float64Array(n * 2 * n);
  for (let i = 0; i < n; i++) {
    targets[i * 2 * n + i] = 1;
    targets[i * 2 * n + n + i] = 1;
  }
  return interventionalGraph(engine, { data: latents, shape: [K1, M, n] }, { data: targets, shape: [n, 2 * n] }, options);
}

/** x̂ (N×d) for the rows of z (N×n) under a trained model. */
export function gscaleDecode(engine: Engine, model: GscaleModel, z: NDArray): NDArray {
  checkArray('gscaleDecode', 'z', z, 2);
  return call(engine, 'gscaleDecode', withData(modelInputs('gscaleDecode', model), { z })).arrays.x;
}

/**
 * Latent score differences implied by a model: for each slice k of `dsx`
 * (K×N×d, at the rows of x), J_dec(ẑ_t)ᵀ dsx_k(x_t) with ẑ = encode(x). Returns K×N×n.
 */
export function gscaleLatentScoreDifferences(engine: Engine, model: GscaleModel, x: NDArray, dsx: NDArray): NDArray {
  checkArray('gscaleLatentScoreDifferences', 'x', x, 2);
  checkArray('gscaleLatentScoreDifferences', 'dsx', dsx, 3);
  const inputs = withData(modelInputs('gscaleLatentScoreDifferences', model), { x, dsx });
  return call(engine, 'gscaleLatentScoreDifferences', inputs).arrays.dsz;
}

/** The training loss at a model's parameters, its terms, D, and (unless `gradient: false`) its gradient. */
export function gscaleLoss(
  engine: Engine,
  model: GscaleModel,
  input: Pick<GscaleInput, 'x' | 'dsxPairs'>,
  options: Pick<GscaleOptions, 'targetScale' | 'reconstructionWeight' | 'scoreLoss'> & { gradient?: boolean } = {},
): { loss: number; scoreTerm: number; reconstruction: number; D: NDArray; gradient?: Float64Array } {
  const arrays = checkInput('gscaleLoss', { x: input.x, dsxPairs: input.dsxPairs });
  const base = modelInputs('gscaleLoss', model);
  const opts = optionInputs('gscaleLoss', {
    targetScale: options.targetScale,
    reconstructionWeight: options.reconstructionWeight,
    scoreLoss: options.scoreLoss,
  });
  const numbers = { ...base.numbers, ...opts.numbers, gradient: options.gradient === false ? 0 : 1 };
  const strings = { ...base.strings, ...(opts.strings.scoreLoss ? { scoreLoss: opts.strings.scoreLoss } : {}) };
  const out = call(engine, 'gscaleLoss', { numbers, strings, arrays: { ...base.arrays, ...arrays } });
  const result: { loss: number; scoreTerm: number; reconstruction: number; D: NDArray; gradient?: Float64Array } = {
    loss: out.numbers.loss,
    scoreTerm: out.numbers.scoreTerm,
    reconstruction: out.numbers.reconstruction,
    D: out.arrays.D,
  };
  if (out.arrays.gradient) result.gradient = out.arrays.gradient.data;
  return result;
}

function toResult(engine: Engine, out: OpOut<'gscale'>): GscaleResult {
  const a = out.arrays;
  const model: GscaleModel = {
    family: out.strings.family as GscaleFamily,
    n: out.numbers.n,
    d: out.numbers.d,
    hidden: out.numbers.hidden,
    clampEpsilon: out.numbers.clampEpsilon,
    parameters: a.parameters.data,
  };
  const h = a.history;
  const column = (c: number) => Array.from({ length: h.shape[0]! }, (_, r) => h.data[r * 5 + c]!);
  const result: GscaleResult = {
    model,
    encode: (x: NDArray) => gscaleEncode(engine, model, x),
    decode: (z: NDArray) => gscaleDecode(engine, model, z),
    latents: a.latents,
    D: a.D,
    history: {
      iteration: column(0),
      loss: column(1),
      scoreTerm: column(2),
      reconstruction: column(3),
      learningRate: column(4),
    },
    iterations: out.numbers.iterations,
    converged: out.numbers.converged === 1,
    loss: out.numbers.loss,
    scoreTerm: out.numbers.scoreTerm,
    reconstruction: out.numbers.reconstruction,
    init: out.strings.init as GscaleResult['init'],
    learningRate: out.numbers.learningRate,
  };
  if (a.graph) {
    const need = <T>(name: string, value: T | undefined) => present(value, 'gscale', name);
    result.Dobs = need('Dobs', a.Dobs);
    result.statistic = need('statistic', a.statistic);
    result.threshold = need('threshold', out.numbers.threshold);
    result.graph = a.graph;
    result.rawGraph = need('rawGraph', a.rawGraph);
    result.order = Array.from(need('order', a.order).data);
  }
  return result;
}

function gscaleInputs(fn: string, input: GscaleInput, options: GscaleOptions): OpIn<'gscale'> {
  // Options first: a misspelt name is reported before any check of the data.
  const named = optionInputs(fn, options);
  return { arrays: checkInput(fn, input), ...named };
}

/**
 * GSCALE-I (general invertible transform, two hard interventions per node):
 * trains an autoencoder so that the latent score differences
 * J_dec(ẑ)ᵀ dsxPairs_i are non-zero only in coordinate i, i.e. minimises
 * Σ_ij |D_ij − c·δ_ij| + λ·reconstruction with hand-derived gradients, then
 * reads edges j→i from dsxObs. Latent i is the node of `dsxPairs[i]`. See docs/gscale.md.
 */
export function gscale(engine: Engine, input: GscaleInput, options: GscaleOptions = {}): GscaleResult {
  return toResult(engine, call(engine, 'gscale', gscaleInputs('gscale', input, options)));
}

/** `gscale` off the event loop, with progress (fraction of the iteration budget: warm-up, restart probes, maxIterations) and cancellation. */
export async function gscaleAsync(
  engine: Engine,
  input: GscaleInput,
  options: GscaleOptions = {},
  asyncOptions?: AsyncOptions,
): Promise<GscaleResult> {
  const inputs = gscaleInputs('gscale', input, options);
  return toResult(engine, await callAsync(engine, 'gscale', inputs, asyncOptions));
}

/**
 * Splits the K = 2n score differences of a two-hard-per-node design
 * (`dsx`, K×N×d, slice m−1 = s_0 − s_m; environments 1..n and n+1..2n
 * intervene the same nodes in the same order) into GSCALE-I's inputs:
 * dsxPairs[i] = dsx[n+i] − dsx[i] (= s_first − s_second) and dsxObs[i] = dsx[i].
 */
export function gscalePairs(dsx: NDArray): { dsxPairs: NDArray; dsxObs: NDArray } {
  checkArray('gscalePairs', 'dsx', dsx, 3);
  const [K, N, d] = dsx.shape as [number, number, number];
  if (K % 2 !== 0 || K === 0) {
    throw new RangeError(`gscalePairs: 'dsx' must hold 2n slices (two interventions per node), got ${K}`);
  }
  const n = K / 2;
  const block = N * d;
  const pairs = new Float64Array(n * block);
  for (let i = 0; i < n; i++) {
    const first = dsx.data.subarray(i * block, (i + 1) * block);
    const second = dsx.data.subarray((n + i) * block, (n + i + 1) * block);
    const out = pairs.subarray(i * block, (i + 1) * block);
    for (let t = 0; t < block; t++) out[t] = second[t]! - first[t]!;
  }
  return {
    dsxPairs: { data: pairs, shape: [n, N, d] },
    dsxObs: { data: dsx.data.slice(0, n * block), shape: [n, N, d] },
  };
}
