import { call, type OpArrays, type OpNumbers, type OpOut, type OpStrings, operation, present } from './call.js';
import type { Engine } from '../backend/engine.js';
import type { NDArray } from '../types.js';
import { checkArray } from '../validate.js';

/** Latent mechanism family (docs/simulation.md, "Models"). */
export type LatentModelName = 'linear' | 'quadratic' | 'mlp';
/** Hard: the intervened mechanism is removed (f_i = 0); soft: scaled by `softScale` (0.5). */
export type InterventionType = 'hard' | 'soft';
/**
 * - `single-node`: K = n environments, environment k intervenes one node;
 * - `two-hard-per-node`: K = 2n, environments 1..n and n+1..2n each intervene every
 *   node once, hard, with the first and second variance factor (GSCALE-I);
 * - `multi-node`: K = n, environment j intervenes the nodes of column j of
 *   D = I | upper-triangular Bernoulli(targetDensity) with columns permuted (UMNI-CRL).
 */
export type InterventionDesignName = 'single-node' | 'two-hard-per-node' | 'multi-node';
/** `linear`: x = G z; `tanh`: x = tanh(T z); `tanh-mlp`: an injective stack of tanh layers. */
export type TransformName = 'linear' | 'tanh' | 'tanh-mlp';

/** What `simulate` draws. Only `n`, `samples` and `seed` are required. */
export interface SimulationConfig {
  /** Latent nodes (>= 1). */
  n: number;
  /** Observed dimensions (>= n). Default n. */
  d?: number;
  /** Samples per environment N (>= 1). */
  samples: number;
  /** Seed of the NumPy-compatible generator (integer in [0, 2^53)). */
  seed: number;
  /** Erdős–Rényi edge probability in [0, 1]. Default 0.5. */
  density?: number;
  /** Relabel the nodes by a random permutation (else 0..n-1 is a topological order). Default false. */
  randomOrder?: boolean;
  /** Default 'linear'. */
  latent?: LatentModelName;
  /** Hidden width of the 'mlp' mechanisms. Default 32. */
  mlpHidden?: number;
  /** Default 'hard'. */
  intervention?: InterventionType;
  /** Factor on the mechanism under a soft intervention. Default 0.5. */
  softScale?: number;
  /** 'scale': v_i * factor (default); 'add': v_i + factor. */
  varianceChange?: 'scale' | 'add';
  /**
   * Noise-variance factors of the intervened nodes (> 0): one value for every
   * environment, one per environment (K values), or for 'two-hard-per-node' two
   * values (first and second intervention). Defaults: single-node 5,
   * multi-node 0.25, two-hard-per-node [0.25, 4].
   */
  varianceFactors?: number | number[];
  /** Default 'single-node'. */
  design?: InterventionDesignName;
  /** single-node / two-hard-per-node: environment k intervenes node perm[k-1] for a random perm. Default false. */
  randomInterventionOrder?: boolean;
  /** multi-node: 'upper-triangular' (default) or 'identity' (one node per environment, order unknown). */
  targetMatrix?: 'upper-triangular' | 'identity';
  /** multi-node: Bernoulli probability of the upper triangle of D. Default `density`. */
  targetDensity?: number;
  /** Default 'linear'. */
  transform?: TransformName;
  /** Scale the decoder's columns to max |entry| 1 (LSCALE-I); false leaves G = QR unscaled. Default true. */
  scaleDecoder?: boolean;
  /** R (n x n) is redrawn while sigma_min/sigma_max is below this. Default 0.1. */
  conditionFloor?: number;
  /** 'tanh-mlp': number of tanh layers. Default 2. */
  transformLayers?: number;
  /** Arrays to materialise (all by default). Skipped ones cost no time or memory. */
  outputs?: { z?: boolean; x?: boolean; dsx?: boolean };
}

/** Mechanism parameters, by latent model. */
export type Mechanisms =
  | {
      kind: 'linear';
      /** n x n: weights[i][j] = weight of the edge i -> j. */
      weights: NDArray;
    }
  | {
      kind: 'quadratic';
      /** n x n x n: slice j is A_j (f_j = sqrt(z^T A_j z)), nonzero only at parents x parents. */
      matrices: NDArray;
    }
  | {
      kind: 'mlp';
      /** n x H x n: slice j is W1 of f_j (columns at its parents). */
      w1: NDArray;
      /** n x H */
      b1: NDArray;
      /** n x H */
      w2: NDArray;
      /** n */
      b2: Float64Array;
    };

export interface SimulationTransform {
  kind: TransformName;
  /** d x n: G (linear), T (tanh) or the first layer W_1 (tanh-mlp). */
  decoder: NDArray;
  /** n x d: pinv(decoder), the encoder of the linear transform. */
  encoder: NDArray;
  /** Nonlinear transforms: h_l = tanh(weight h_{l-1} + bias), x = h_L. */
  layers?: { weight: NDArray; bias: Float64Array }[];
}

/**
 * A simulated data set. With K interventional environments (environment 0 is
 * observational), N samples and n latent / d observed dimensions:
 * - `z` (K+1) x N x n latents, `x` (K+1) x N x d observations,
 * - `dsx` K x N x d exact score differences s_0(x) - s_m(x) at the
 *   observational samples x = x[0] (slice m-1 for environment m).
 */
export interface Simulation {
  n: number;
  d: number;
  samples: number;
  /** K: interventional environments. */
  K: number;
  z?: NDArray;
  x?: NDArray;
  dsx?: NDArray;
  /** n x n, 0/1: graph[i][j] = 1 iff edge i -> j. */
  graph: NDArray;
  /** The topological order used for sampling. */
  order: number[];
  /** Observational noise variances v_i (n). */
  variances: Float64Array;
  mechanisms: Mechanisms;
  transform: SimulationTransform;
  /** n x K, 0/1: targets[i][m-1] = 1 iff environment m intervenes node i. */
  targets: NDArray;
  /** Per environment (K+1 entries, [0] = []): the intervened nodes. */
  interventions: number[][];
  /** K variance factors, one per interventional environment. */
  varianceFactors: Float64Array;
  /** (K+1) x n: the factor c_i on f_i in each environment (1, 0 hard, softScale soft). */
  mechanismScale: NDArray;
  /** (K+1) x n: the noise variance of each node in each environment. */
  noiseVariance: NDArray;
}

/** What `simulationScores` evaluates. Differences are s_0 - s_environment. */
export type ScoreQuantity =
  | 'latentScore'
  | 'latentScoreDifference'
  | 'observedScore'
  | 'observedScoreDifference'
  | 'latentLogDensity'
  | 'observedLogDensity';

/** Points for `simulationScores`: latent `z` (N x n) or observed `x` (N x d, on the data manifold). */
export type ScorePoints = { z: NDArray; x?: undefined } | { x: NDArray; z?: undefined };

const KEYS = new Set([
  'n',
  'd',
  'samples',
  'seed',
  'density',
  'randomOrder',
  'latent',
  'mlpHidden',
  'intervention',
  'softScale',
  'varianceChange',
  'varianceFactors',
  'design',
  'randomInterventionOrder',
  'targetMatrix',
  'targetDensity',
  'transform',
  'scaleDecoder',
  'conditionFloor',
  'transformLayers',
  'outputs',
]);

// The string options; the core's spec holds their allowed values and names them when one is wrong.
const CHOICES = ['latent', 'intervention', 'varianceChange', 'design', 'targetMatrix', 'transform'] as const;

/** The configuration's inputs (the same for simulate, simulationScores and simulationTransform). */
interface ConfigInputs {
  numbers: OpNumbers<'simulate'>;
  strings: OpStrings<'simulate'>;
  arrays: OpArrays<'simulate'>;
}

function configInputs(fn: string, config: SimulationConfig, needSamples: boolean): ConfigInputs {
  if (typeof config !== 'object' || config === null) throw new TypeError(`${fn}: 'config' must be an object`);
  for (const key of Object.keys(config)) {
    if (!KEYS.has(key)) throw new RangeError(`${fn}: unknown config field '${key}' (known: ${[...KEYS].join(', ')})`);
  }
  const numbers: Record<string, number> = {};
  const strings: Record<string, string> = {};
  const arrays: OpArrays<'simulate'> = {};
  const integer = (key: keyof SimulationConfig, min: number, required: boolean) => {
    const v = config[key];
    if (v === undefined) {
      if (required) throw new RangeError(`${fn}: config field '${key}' is required`);
      return;
    }
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
      throw new RangeError(`${fn}: '${key}' must be an integer, got ${String(v)}`);
    }
    if (v < min) throw new RangeError(`${fn}: '${key}' must be at least ${min}, got ${v}`);
    numbers[key] = v;
  };
  const real = (key: keyof SimulationConfig, check?: (v: number) => string | undefined) => {
    const v = config[key];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${fn}: '${key}' must be a finite number`);
    const problem = check?.(v);
    if (problem) throw new RangeError(`${fn}: '${key}' ${problem}, got ${v}`);
    numbers[key] = v;
  };
  const flag = (key: string, value: unknown) => {
    if (value === undefined) return;
    if (typeof value !== 'boolean') throw new TypeError(`${fn}: '${key}' must be true or false`);
    numbers[key] = value ? 1 : 0;
  };
  const unit = (v: number) => (v < 0 || v > 1 ? 'must be in [0, 1]' : undefined);

  integer('n', 1, true);
  integer('d', 1, false);
  if (config.d !== undefined && config.d < config.n) {
    throw new RangeError(`${fn}: 'd' must be at least n = ${config.n} (the transform must be injective), got ${config.d}`);
  }
  integer('samples', 1, needSamples);
  integer('seed', 0, true);
  real('density', unit);
  real('targetDensity', unit);
  real('conditionFloor', unit);
  real('softScale');
  integer('mlpHidden', 1, false);
  integer('transformLayers', 1, false);
  flag('randomOrder', config.randomOrder);
  flag('randomInterventionOrder', config.randomInterventionOrder);
  flag('scaleDecoder', config.scaleDecoder);
  for (const key of CHOICES) {
    const v: unknown = config[key];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new TypeError(`${fn}: '${key}' must be a string, got ${JSON.stringify(v)}`);
    strings[key] = v;
  }
  if (config.varianceFactors !== undefined) {
    const list = typeof config.varianceFactors === 'number' ? [config.varianceFactors] : config.varianceFactors;
    if (!Array.isArray(list) || list.length === 0) {
      throw new TypeError(`${fn}: 'varianceFactors' must be a number or a non-empty array of numbers`);
    }
    list.forEach((f, i) => {
      if (typeof f !== 'number' || !Number.isFinite(f) || f <= 0) {
        throw new RangeError(`${fn}: variance factors must be positive and finite; 'varianceFactors[${i}]' is ${String(f)}`);
      }
    });
    arrays.varianceFactors = { data: Float64Array.from(list), shape: [list.length] };
  }
  if (config.outputs !== undefined) {
    if (typeof config.outputs !== 'object' || config.outputs === null) {
      throw new TypeError(`${fn}: 'outputs' must be an object { z?, x?, dsx? }`);
    }
    for (const key of Object.keys(config.outputs)) {
      if (key !== 'z' && key !== 'x' && key !== 'dsx') throw new RangeError(`${fn}: unknown output '${key}' (z, x, dsx)`);
    }
    flag('outputZ', config.outputs.z);
    flag('outputX', config.outputs.x);
    flag('outputDsx', config.outputs.dsx);
  }
  // Built by name above; the core checks each against its spec.
  return { numbers: numbers as OpNumbers<'simulate'>, strings: strings as OpStrings<'simulate'>, arrays };
}

function interventionsOf(targets: NDArray): number[][] {
  const [n, K] = targets.shape as [number, number];
  const out: number[][] = [[]];
  for (let m = 0; m < K; m++) {
    const nodes: number[] = [];
    for (let i = 0; i < n; i++) if (targets.data[i * K + m] !== 0) nodes.push(i);
    out.push(nodes);
  }
  return out;
}

function toSimulation(config: SimulationConfig, out: OpOut<'simulate'>): Simulation {
  const a = out.arrays;
  const latent = config.latent ?? 'linear';
  const need = <T>(name: string, value: T | undefined) => present(value, 'simulate', name);
  const mechanisms: Mechanisms =
    latent === 'linear'
      ? { kind: 'linear', weights: need('weights', a.weights) }
      : latent === 'quadratic'
        ? { kind: 'quadratic', matrices: need('quadratic', a.quadratic) }
        : {
            kind: 'mlp',
            w1: need('mlp.w1', a['mlp.w1']),
            b1: need('mlp.b1', a['mlp.b1']),
            w2: need('mlp.w2', a['mlp.w2']),
            b2: need('mlp.b2', a['mlp.b2']).data,
          };
  const transform: SimulationTransform = {
    kind: config.transform ?? 'linear',
    decoder: a.decoder,
    encoder: a.encoder,
  };
  if (transform.kind !== 'linear') {
    transform.layers = [];
    for (let l = 0; a[`layer${l}.weight`]; l++) {
      transform.layers.push({ weight: a[`layer${l}.weight`], bias: need(`layer${l}.bias`, a[`layer${l}.bias`]).data });
    }
  }
  const sim: Simulation = {
    n: out.numbers.n,
    d: out.numbers.d,
    samples: out.numbers.samples,
    K: out.numbers.K,
    graph: a.graph,
    order: Array.from(a.order.data),
    variances: a.variances.data,
    mechanisms,
    transform,
    targets: a.targets,
    interventions: interventionsOf(a.targets),
    varianceFactors: a.varianceFactors.data,
    mechanismScale: a.mechanismScale,
    noiseVariance: a.noiseVariance,
  };
  if (a.z) sim.z = a.z;
  if (a.x) sim.x = a.x;
  if (a.dsx) sim.dsx = a.dsx;
  return sim;
}

/**
 * Draws a latent SCM, a transform, an intervention design and N samples of
 * every environment, with the exact score differences at the observational
 * samples. Deterministic in `seed` (NumPy-compatible generator; for linear and
 * quadratic models with a linear transform the draws equal the reference
 * experiments'). See docs/simulation.md.
 */
export const simulation = operation(
  'simulate',
  ([config]: [SimulationConfig]) => configInputs('simulate', config, true),
  (out, [config]) => toSimulation(config, out),
);

/** `simulation.run` with the engine first (the CLI's form). */
export function simulate(engine: Engine, config: SimulationConfig): Simulation {
  return simulation.run(engine, [config]);
}

function pointsInput(fn: string, points: ScorePoints): { z: NDArray } | { x: NDArray } {
  if (typeof points !== 'object' || points === null) throw new TypeError(`${fn}: 'points' must be { z } or { x }`);
  const hasZ = points.z !== undefined;
  const hasX = points.x !== undefined;
  if (hasZ === hasX) throw new RangeError(`${fn}: give exactly one of 'z' (N x n latent points) or 'x' (N x d observed points)`);
  if (hasZ) {
    checkArray(fn, 'z', points.z, 2);
    return { z: points.z };
  }
  checkArray(fn, 'x', points.x, 2);
  return { x: points.x };
}

/**
 * Exact scores and log-densities of the model `config` describes (re-drawn
 * from its seed; `samples` is not needed) in environment `environment`
 * (0..K), at latent points z (N x n) or observed points x (N x d):
 * - 'latentScore' s_z (N x n), 'latentScoreDifference' s_0 - s_env in z;
 * - 'observedScore' s_x (N x d), 'observedScoreDifference' s_0 - s_env in x.
 *   For nonlinear transforms with d > n these are scores on the data manifold
 *   (tangent vectors, docs/simulation.md);
 * - 'latentLogDensity' log p_z, 'observedLogDensity' log p_x (N).
 */
export function simulationScores(
  engine: Engine,
  config: SimulationConfig,
  quantity: ScoreQuantity,
  environment: number,
  points: ScorePoints,
): NDArray {
  const fn = 'simulationScores';
  const inputs = configInputs(fn, config, false);
  if (!Number.isSafeInteger(environment) || environment < 0) {
    throw new RangeError(`${fn}: 'environment' must be a non-negative integer, got ${environment}`);
  }
  return call(engine, 'simulationScores', {
    numbers: { ...inputs.numbers, environment },
    strings: { ...inputs.strings, quantity },
    arrays: { ...inputs.arrays, ...pointsInput(fn, points) },
  }).arrays.values;
}

/**
 * The transform of the model `config` describes: 'forward' x = g(z) (z: N x n
 * → N x d), 'inverse' z = g^{-1}(x) (x: N x d → N x n), 'jacobian' J_g(z)
 * (z: N x n → N x d x n).
 */
export function simulationTransform(
  engine: Engine,
  config: SimulationConfig,
  map: 'forward' | 'inverse' | 'jacobian',
  points: NDArray,
): NDArray {
  const fn = 'simulationTransform';
  const inputs = configInputs(fn, config, false);
  checkArray(fn, map === 'inverse' ? 'x' : 'z', points, 2);
  const at = map === 'inverse' ? { x: points } : { z: points };
  return call(engine, 'simulationTransform', {
    numbers: inputs.numbers,
    strings: { ...inputs.strings, map },
    arrays: { ...inputs.arrays, ...at },
  }).arrays.values;
}
