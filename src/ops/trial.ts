import { call, type OpIn, type OpNumbers, type OpStrings } from './call.js';
import { FINITE_SAMPLE_TOLERANCES } from '../algorithms.js';
import type { Engine } from '../backend/engine.js';
import type { NDArray } from '../types.js';
import { checkOptionNames } from '../validate.js';

/**
 * Settings of one simulated CRL trial: data model, estimator, algorithm.
 * Defaults (see `DEFAULT_TRIAL`) are those of the NeurIPS 2024
 * sample-complexity experiment.
 */
export interface TrialSpec {
  /** Latent dimension n (1..20). */
  n: number;
  /** Observed dimension d >= n. */
  d: number;
  /** Samples per environment. */
  samples: number;
  latent: 'linear' | 'quadratic' | 'mlp';
  /** Edge probability of the latent DAG. */
  density: number;
  /** Random topological order (relabel nodes by a random permutation). */
  randomOrder: boolean;
  intervention: 'hard' | 'soft';
  /** Factor on the intervened node's noise variance. */
  factor: number;
  varianceChange: 'scale' | 'add';
  design: 'single-node' | 'two-hard-per-node' | 'multi-node';
  /** Assign environments to nodes in a random order. */
  randomInterventionOrder: boolean;
  transform: 'linear' | 'tanh' | 'tanh-mlp';
  /** Scale decoder columns to max |entry| 1. */
  scaleDecoder: boolean;
  /** Smallest sigma_min / sigma_max of the decoder's mixing block. */
  conditionFloor: number;
  /** 'gaussian': Gaussian plug-in scores; 'exact': the true scores (simulation only). */
  estimator: 'gaussian' | 'exact';
  /**
   * 'samples': draw each environment's N x n standard normals (the stream
   * `simulate` uses) and accumulate their moments; 'wishart': draw the
   * moments from their exact distribution (mean N(0, I/N), centred scatter
   * Wishart(I, N-1)) in O(n^2), whatever N.
   */
  sampling: 'samples' | 'wishart';
  algorithm: 'finite-sample';
  /** Finite-sample algorithm: eigenvalue tolerance (ranks) and orthogonality tolerance (edges). */
  tolEigv: number;
  tolOrth: number;
}

export const DEFAULT_TRIAL: Omit<TrialSpec, 'n' | 'd' | 'samples'> = {
  latent: 'linear',
  density: 0.5,
  randomOrder: true,
  intervention: 'hard',
  factor: 0.25,
  varianceChange: 'scale',
  design: 'single-node',
  randomInterventionOrder: true,
  transform: 'linear',
  scaleDecoder: false,
  conditionFloor: 0.1,
  estimator: 'gaussian',
  sampling: 'samples',
  algorithm: 'finite-sample',
  ...FINITE_SAMPLE_TOLERANCES,
};

/** Metrics of one trial (graphs compared as transitive closures, in the true labelling). */
export interface TrialResult {
  /** Entries where the closures of the estimated and true graphs differ (false positives + false negatives). */
  shd: number;
  /** TP / (TP + FP) on closure edges (1 if no edge was estimated). */
  precision: number;
  /** TP / (TP + FN) on closure edges (1 if the true closure has no edge). */
  recall: number;
  /** Spectral norm of the unit-row effective mixing (encoder · decoder) outside parents + identity. */
  encoderError: number;
  /** shd == 0. */
  correct: boolean;
  /** Edges of the true closure and of the estimated graph. */
  trueEdges: number;
  estimatedEdges: number;
  /** Entries of the unit-row effective mixing with |value| >= 0.05 outside parents + identity. */
  incorrectMixing: number;
}

const STRING_FIELDS = ['latent', 'intervention', 'varianceChange', 'design', 'transform', 'estimator', 'sampling', 'algorithm'] as const;
const NUMBER_FIELDS = ['n', 'd', 'samples', 'density', 'factor', 'conditionFloor', 'tolEigv', 'tolOrth'] as const;
const FLAG_FIELDS = ['randomOrder', 'randomInterventionOrder', 'scaleDecoder'] as const;

/**
 * Runs one trial in the core: draws the model and data from `seed`, estimates
 * the score differences, runs the algorithm and scores the result. For a
 * linear SCM with a linear decoder and Gaussian plug-in (or exact) scores,
 * only per-environment second moments are formed: no N x d array is made.
 * Same seed and spec, same result, on either backend.
 */
export function trial(engine: Engine, spec: TrialInput, seed: number): TrialResult {
  const out = call(engine, 'trial', trialInputs('trial', spec, seed)).numbers;
  return {
    shd: out.shd,
    precision: out.precision,
    recall: out.recall,
    encoderError: out.encoderError,
    correct: out.correct === 1,
    trueEdges: out.trueEdges,
    estimatedEdges: out.estimatedEdges,
    incorrectMixing: out.incorrectMixing,
  };
}

/** The inputs of the algorithm in a trial, for checks against materialised data. */
export interface TrialCovariances {
  /** K x d x d: R_m = E_0[dsx_m dsx_m^T] with the trial's score estimator, slice m-1 for environment m. */
  covariances: NDArray;
  /** (K+1) x n x n: uncentred second moments (1/N) of each environment's latent samples. */
  latentSecondMoments: NDArray;
  /** (K+1) x n: means of each environment's latent samples. */
  latentMeans: NDArray;
}

/** What `trial` computes before the algorithm runs: latent moments and score-difference covariances. */
export function trialCovariances(engine: Engine, spec: TrialInput, seed: number): TrialCovariances {
  const out = call(engine, 'trialCovariances', trialInputs('trialCovariances', spec, seed)).arrays;
  return { covariances: out.covariances, latentSecondMoments: out.latentSecondMoments, latentMeans: out.latentMeans };
}

/** A trial spec with only n, d and samples required. */
export type TrialInput = Partial<TrialSpec> & Pick<TrialSpec, 'n' | 'd' | 'samples'>;

// Every key of TrialSpec: DEFAULT_TRIAL has all but the three required ones.
const TRIAL_SPEC = ['n', 'd', 'samples', ...Object.keys(DEFAULT_TRIAL)];

function trialInputs(fn: string, spec: TrialInput, seed: number): OpIn<'trial'> {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`${fn}: 'seed' must be a non-negative integer below 2^53, got ${seed}`);
  if (typeof spec !== 'object' || spec === null) throw new TypeError(`${fn}: 'spec' must be an object`);
  checkOptionNames(fn, spec, TRIAL_SPEC, 'spec');
  const full: TrialSpec = { ...DEFAULT_TRIAL, ...spec };
  const numbers: Record<string, number | boolean> = { seed };
  const strings: Record<string, string> = {};
  for (const k of NUMBER_FIELDS) {
    if (typeof full[k] !== 'number' || !Number.isFinite(full[k])) throw new TypeError(`${fn}: '${k}' must be a finite number`);
    numbers[k] = full[k];
  }
  for (const k of FLAG_FIELDS) {
    if (typeof full[k] !== 'boolean') throw new TypeError(`${fn}: '${k}' must be true or false`);
    numbers[k] = full[k];
  }
  for (const k of STRING_FIELDS) {
    if (typeof full[k] !== 'string') throw new TypeError(`${fn}: '${k}' must be a string`);
    strings[k] = full[k];
  }
  // Built by name above; the core checks each against its spec.
  return { numbers: numbers as OpNumbers<'trial'>, strings: strings as OpStrings<'trial'> };
}
