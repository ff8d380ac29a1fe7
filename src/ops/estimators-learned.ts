import { call, callAsync, type OpArrays, type OpIn, type OpNumbers, type OpOut, type OpStrings } from './call.js';
import type { AsyncOptions, Engine } from '../backend/engine.js';
import type { NDArray } from '../types.js';
import { checkArray } from '../validate.js';
import {
  markLearnedScoreDifference,
  registerScoreEstimator,
  type ScoreDifferenceOptions,
  type ScoreDifferenceResult,
} from './estimators.js';

/**
 * Score-difference estimators learned from samples (docs/estimators.md):
 * - `logistic-quadratic`: logistic regression of environment 0 against m on quadratic features,
 *   Newton/IRLS with a small L2 penalty; exact when both environments are Gaussian;
 * - `classifier-mlp`: an MLP classifier (tanh, width 64) trained with Adam and early stopping, on
 *   top of the logistic-quadratic logit by default (`quadraticHead`);
 * - `ssm`: sliced score matching (variance-reduced) with a tanh MLP (two hidden layers of 64) per environment.
 * All train in the core, deterministically for a seed on a given backend. They are registered with
 * `estimateScoreDifferences` under these names.
 */
export type LearnedMethodName = 'logistic-quadratic' | 'classifier-mlp' | 'ssm';

export const LEARNED_METHODS: readonly LearnedMethodName[] = ['logistic-quadratic', 'classifier-mlp', 'ssm'];

export interface LearnedEstimatorOptions extends ScoreDifferenceOptions {
  method: LearnedMethodName;
  /**
   * Dimension n of the support: samples are mapped to the top-n principal directions of the
   * observational samples (whitened) and scores are learned there. Default K (one latent per
   * interventional environment); pass d to keep every direction.
   */
  latents?: number;
  /** Evaluate dsx at these points (M×d) instead of the observational samples. */
  at?: NDArray;
  /** Seed of initialisation, splits, shuffling and projections (integer in [0, 2^53)). Default 0. */
  seed?: number;
  /** Network methods: training epochs. Default 20. */
  epochs?: number;
  /** Network methods: hidden units per layer. Default 64. */
  width?: number;
  /** Network methods: hidden tanh layers. Default 2. */
  hiddenLayers?: number;
  /** Network methods: Adam step size (peak of the schedule). Default: classifier-mlp 1e-2, ssm 3e-3. */
  learningRate?: number;
  /** Network methods: 'cosine' (default) decays the step size to 0 over the epochs; 'constant' keeps it. */
  schedule?: 'cosine' | 'constant';
  /** Network methods: fraction of each environment held out for early stopping, in [0, 0.9]. Default 0.1. */
  validationFraction?: number;
  /** Network methods: minibatch size. Default 512. */
  batchSize?: number;
  /** Network methods: stop after this many epochs without a better validation loss. Default 10. */
  patience?: number;
  /** Network methods: adds weightDecay·|θ|² to the loss. Default 1e-5. */
  weightDecay?: number;
  /** ssm: random directions v per sample. Default 2. */
  projections?: number;
  /**
   * classifier-mlp: the logit is the logistic-quadratic fit (on the training rows, kept fixed) plus
   * the network, whose output layer starts at zero, so the network learns what a quadratic
   * log-ratio misses. false: the network alone. Default true.
   */
  quadraticHead?: boolean;
  /** logistic-quadratic: L2 penalty (l2/2)·|β|² on all coefficients but the intercept. Default 1e-6. */
  l2?: number;
  /** logistic-quadratic: Newton iterations at most. Default 50. */
  maxIterations?: number;
  /** logistic-quadratic: stop when half the squared Newton decrement is below this. Default 1e-8. */
  tolerance?: number;
}

/** What a fit reports about each regression (logistic-quadratic: K) or network (classifier-mlp: K, ssm: K+1). */
export interface LearnedTrainingReport {
  /** Newton iterations (logistic-quadratic) or epochs run. */
  iterations: number[];
  /** Epoch whose parameters were kept (network methods; 0 for logistic-quadratic). */
  bestEpoch: number[];
  /** Final objective (logistic-quadratic: penalised mean log-loss) or best validation loss. */
  loss: number[];
}

/**
 * A fitted score-difference model: evaluates dsx at any points. `params` is self-describing (its
 * layout is in docs/estimators.md), so a model can be stored and rebuilt with
 * `Backend.learnedScoreModel(params)`.
 */
export class LearnedScoreModel {
  readonly method: LearnedMethodName;
  /** Observed dimension d. */
  readonly d: number;
  /** Reduced dimension n. */
  readonly n: number;
  /** Interventional environments K. */
  readonly K: number;

  constructor(
    private readonly engine: Engine,
    /** Flat float64 parameters (header, whitening, coefficients / network weights). */
    readonly params: Float64Array,
  ) {
    if (!(params instanceof Float64Array) || params.length < 6 || params[0] !== 1) {
      throw new TypeError("LearnedScoreModel: 'params' must be the Float64Array of a fitted model (format 1)");
    }
    const method = LEARNED_METHODS[params[1]! - 1];
    if (method === undefined) throw new TypeError(`LearnedScoreModel: unknown method code ${params[1]}`);
    this.method = method;
    this.d = params[2]!;
    this.n = params[3]!;
    this.K = params[4]!;
  }

  /** dsx (K×M×d) at the rows of `x` (M×d): dsx[m-1][t] = s_0(x_t) − s_m(x_t). */
  evaluate(x: NDArray): NDArray {
    return markLearnedScoreDifference(call(this.engine, 'evaluateLearnedScoreDifferences', this.inputs(x)).arrays.dsx);
  }

  /** `evaluate` off the event loop. */
  async evaluateAsync(x: NDArray, options?: AsyncOptions): Promise<NDArray> {
    return markLearnedScoreDifference(
      (await callAsync(this.engine, 'evaluateLearnedScoreDifferences', this.inputs(x), options)).arrays.dsx,
    );
  }

  private inputs(x: NDArray): OpIn<'evaluateLearnedScoreDifferences'> {
    checkArray('evaluateScoreDifferences', 'x', x, 2);
    if (x.shape[1] !== this.d) {
      throw new RangeError(`evaluateScoreDifferences: 'x' has ${x.shape[1]} columns but the model was fitted on d = ${this.d}`);
    }
    return { arrays: { model: { data: this.params, shape: [this.params.length] }, x } };
  }
}

/** Result of a learned estimator. */
export interface LearnedScoreDifferences extends ScoreDifferenceResult {
  method: LearnedMethodName;
  /** K×N×d: dsx[m-1][t] = s_0(x_t) − s_m(x_t) at the observational samples x[0] (K×M×d at `at`). */
  dsx: NDArray;
  /** The fitted parameters as one flat array (layout in docs/estimators.md). */
  model: { params: NDArray };
  /** The fitted model; `fitted.evaluate(points)` gives dsx at new points. */
  fitted: LearnedScoreModel;
  report: LearnedTrainingReport;
}

const NUMBER_OPTIONS = [
  'seed',
  'epochs',
  'width',
  'hiddenLayers',
  'learningRate',
  'validationFraction',
  'batchSize',
  'patience',
  'weightDecay',
  'projections',
  'l2',
  'maxIterations',
  'tolerance',
] as const;

const OPTION_KEYS = new Set<string>(['method', 'latents', 'at', ...NUMBER_OPTIONS, 'schedule', 'quadraticHead']);

function fitInputs(fn: string, x: NDArray, options: LearnedEstimatorOptions): OpIn<'learnedScoreDifferences'> {
  checkArray(fn, 'x', x, 3);
  if (x.shape[0]! < 2) {
    throw new RangeError(`${fn}: 'x' needs the observational environment and at least one interventional one (shape [K+1, N, d])`);
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${fn}: options must be an object with a 'method'`);
  }
  if (!LEARNED_METHODS.includes(options.method)) {
    throw new RangeError(
      `${fn}: 'method' must be one of ${LEARNED_METHODS.map((m) => `'${m}'`).join(', ')}, got '${String(options.method)}'`,
    );
  }
  // A misspelt option ('epoch') would otherwise be dropped silently and the default used.
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key))
      throw new RangeError(`${fn}: unknown option '${key}' for method '${options.method}' (known: ${[...OPTION_KEYS].join(', ')})`);
  }
  const numbers: Record<string, number> = {};
  for (const key of NUMBER_OPTIONS) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new TypeError(`${fn}: '${key}' must be a finite number, got ${String(value)}`);
    }
    numbers[key] = value;
  }
  const latents = options.latents ?? x.shape[0]! - 1;
  if (!Number.isInteger(latents) || latents < 1) {
    throw new RangeError(`${fn}: 'latents' must be a positive integer, got ${String(options.latents)}`);
  }
  numbers.dimension = latents;
  const flags: Record<string, boolean> = {};
  if (options.quadraticHead !== undefined) {
    if (typeof options.quadraticHead !== 'boolean') throw new TypeError(`${fn}: 'quadraticHead' must be a boolean`);
    flags.quadraticHead = options.quadraticHead;
  }
  const strings: OpStrings<'learnedScoreDifferences'> = { method: options.method };
  // The core names the allowed values when one is wrong.
  if (options.schedule !== undefined) strings.schedule = String(options.schedule) as 'cosine';
  const arrays: OpArrays<'learnedScoreDifferences'> = { x };
  if (options.at !== undefined) {
    checkArray(fn, 'at', options.at, 2);
    if (options.at.shape[1] !== x.shape[2]) {
      throw new RangeError(`${fn}: 'at' has ${options.at.shape[1]} columns, 'x' has d = ${x.shape[2]}`);
    }
    arrays.at = options.at;
  }
  return { arrays, numbers: { ...numbers, ...flags }, strings };
}

function fromOutputs(engine: Engine, out: OpOut<'learnedScoreDifferences'>): LearnedScoreDifferences {
  const list = (a: NDArray) => Array.from(a.data);
  return {
    method: out.strings.method as LearnedMethodName,
    dsx: out.arrays.dsx,
    model: { params: out.arrays.model },
    fitted: new LearnedScoreModel(engine, out.arrays.model.data),
    report: {
      iterations: list(out.arrays.iterations),
      bestEpoch: list(out.arrays.bestEpoch),
      loss: list(out.arrays.loss),
    },
  };
}

/**
 * Learns score differences from samples `x` ((K+1)×N×d, environment 0 observational) and returns
 * dsx (K×N×d) at the observational samples (or at `at`) with the fitted model. The same as
 * `estimateScoreDifferences(x, { method, ... })` for the learned methods.
 */
export function estimateLearnedScoreDifferences(
  engine: Engine,
  x: NDArray,
  options: LearnedEstimatorOptions,
  fn = 'estimateScoreDifferences',
): LearnedScoreDifferences {
  return fromOutputs(engine, call(engine, 'learnedScoreDifferences', fitInputs(fn, x, options)));
}

/** `estimateLearnedScoreDifferences` off the event loop, with progress and cancellation. */
export async function estimateLearnedScoreDifferencesAsync(
  engine: Engine,
  x: NDArray,
  options: LearnedEstimatorOptions,
  asyncOptions?: AsyncOptions,
  fn = 'estimateScoreDifferences',
): Promise<LearnedScoreDifferences> {
  return fromOutputs(engine, await callAsync(engine, 'learnedScoreDifferences', fitInputs(fn, x, options), asyncOptions));
}

/** Rebuilds a fitted model from its `params` (e.g. after storing them). */
export function learnedScoreModel(engine: Engine, params: Float64Array): LearnedScoreModel {
  return new LearnedScoreModel(engine, params);
}

/**
 * A training objective and its hand-derived gradient at given parameters, for checks:
 * classifier-mlp: mean binary cross-entropy of the network's logit (aux: B×1 labels, 1 = environment 0,
 * or B×2: labels and fixed logit offsets);
 * ssm: mean of 0.5|s|² + vᵀJv over the directions (aux: (P·B)×n, direction p of sample b in row p·B+b);
 * logistic-quadratic: penalised mean log-loss (aux: labels) with its Hessian.
 */
export function learnedObjective(
  engine: Engine,
  method: LearnedMethodName,
  params: Float64Array,
  y: NDArray,
  aux: NDArray,
  options: { width?: number; hiddenLayers?: number; l2?: number } = {},
): { loss: number; gradient: Float64Array; hessian?: NDArray } {
  checkArray('learnedObjective', 'y', y, 2);
  checkArray('learnedObjective', 'aux', aux, 2);
  const numbers: OpNumbers<'learnedObjective'> = {};
  if (options.width !== undefined) numbers.width = options.width;
  if (options.hiddenLayers !== undefined) numbers.hiddenLayers = options.hiddenLayers;
  if (options.l2 !== undefined) numbers.l2 = options.l2;
  const out = call(engine, 'learnedObjective', {
    arrays: { params: { data: params, shape: [params.length] }, y, aux },
    numbers,
    strings: { method },
  });
  const result: { loss: number; gradient: Float64Array; hessian?: NDArray } = {
    loss: out.numbers.loss,
    gradient: out.arrays.gradient.data,
  };
  if (out.arrays.hessian) result.hessian = out.arrays.hessian;
  return result;
}

for (const method of LEARNED_METHODS) {
  registerScoreEstimator(method, {
    sync: (engine, x, options) => estimateLearnedScoreDifferences(engine, x, options as LearnedEstimatorOptions),
    async: (engine, x, options, async) => estimateLearnedScoreDifferencesAsync(engine, x, options as LearnedEstimatorOptions, async),
  });
}
