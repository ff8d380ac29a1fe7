import { call, type OpArrays, type OpNumbers, type OpOut, type OpStrings, operation, present } from './call.js';
import type { Engine } from '../backend/engine.js';
import type { NDArray } from '../types.js';
import { checkArray, checkOptionNames, checkSameSize, optionNames } from '../validate.js';

/** Inputs of UMNI-CRL: samples of every environment and score differences. */
export interface UmniData {
  /** Samples, (K+1)×N×d: the observational environment first, then the K interventional ones. */
  x: NDArray;
  /** Score differences s_0 − s_m at observational samples, K×Ns×d (environment m = 1..K in order). */
  dsx: NDArray;
}

export interface UmniOptions {
  /** Integer weights range over {−κ..κ}; κ ≥ 1. Default 2. */
  kappa?: number;
  /** 'soft' (default): encoder up to ancestors and the transitive closure; 'hard' adds the unmixing stage. */
  intervention?: 'soft' | 'hard';
  /** Eigenvalue / singular-value threshold of the rank-one test, in (0, 1). Default 0.05. */
  tolEigv?: number;
  /** Level of the hard stage's Fisher z-tests, in (0, 1): an edge stays if p ≤ tolCi. Default 0.05. */
  tolCi?: number;
  /** Hard stage: change of regression coefficients that marks an environment intervening a latent. Default 0.1. */
  tolUnmix?: number;
  /**
   * Candidate order: 'l1' (default) visits {−κ..κ}^n by increasing ‖w‖₁ (lexicographically within one
   * ‖w‖₁), which finds sparser combinations and was more accurate in every setting of
   * docs/umni-accuracy.md; 'lexicographic' visits them as the authors' reference does (last coordinate
   * fastest, from −κ), so results equal the reference's.
   */
  order?: 'lexicographic' | 'l1';
  /** Number of latents n; must equal K. Default K. */
  latents?: number;
  /**
   * Cheap screening of candidates before the eigendecomposition (default true). It only rejects
   * candidates the full test rejects, so results do not depend on it; false is for verification.
   */
  prefilter?: boolean;
  /**
   * Largest search allowed: the call is refused up front (a ScorecrlError naming 'kappa' and this option)
   * when (2κ+1)^n exceeds it, because the search may visit every one of them, once per latent.
   * Default 1e7: n ≤ 14 at κ = 1, n ≤ 10 at κ = 2, n ≤ 8 at κ = 3; about 1 s per step when a step visits
   * them all (native, 2 cores). At most 1e12.
   */
  maxCandidates?: number;
}

/**
 * Result of UMNI-CRL. Latents are labelled in the estimated causal order: latent t is row t of the
 * encoders, and the graphs are upper triangular in this labelling.
 */
export interface UmniResult {
  /** Number of latents. */
  n: number;
  /**
   * n×n integer matrix after the ancestor refinement: column t combines the environments' score
   * differences (Σ_m W[m][t]·dsx_m) into a change of latent t and its ancestors only.
   */
  weights: NDArray;
  /** n×d encoder after the refinement: ẑ = encoder·x; row t mixes latent t with its ancestors only. Unit rows. */
  encoder: NDArray;
  /** n×n 0/1: transitive closure of the latent DAG (edge i → j at [i][j]). */
  graphClosure: NDArray;
  /** n×n integer weights of the causal-order search, before the refinement (each column divided by its gcd). */
  weightsOrder: NDArray;
  /** n×d encoder of the causal-order search (row t mixes latent t with latents earlier in the order). */
  encoderOrder: NDArray;
  /** d×n orthonormal basis of the reduced space (the column space of the decoder). */
  basis: NDArray;
  /** With hard interventions: latents up to scaling and the exact DAG. */
  hard?: {
    /** n×d encoder (unit rows): ẑ_t is latent t up to scale. */
    encoder: NDArray;
    /** n×n 0/1 latent DAG. */
    graph: NDArray;
  };
  /** Work done: weight vectors examined, and how many needed an eigendecomposition. */
  stats: { candidates: number; fullTests: number };
}

const UMNI_OPTIONS = optionNames<UmniOptions>()([
  'kappa',
  'intervention',
  'tolEigv',
  'tolCi',
  'tolUnmix',
  'order',
  'latents',
  'prefilter',
  'maxCandidates',
]);
const UMNI_TRIAL_SPEC = optionNames<UmniTrialSpec>()([
  'kappa',
  'intervention',
  'tolEigv',
  'tolCi',
  'tolUnmix',
  'order',
  'maxCandidates',
  'n',
  'd',
  'samples',
  'density',
  'factor',
  'targetDensity',
  'scaleDecoder',
  'randomOrder',
  'scores',
]);

// Types only: the core checks ranges (its spec, and umni.cpp for kappa and the search size).
function optionInputs(fn: string, options: UmniOptions) {
  const o = options ?? {};
  const numbers: OpNumbers<'umni'> = {};
  for (const name of ['kappa', 'latents', 'maxCandidates', 'tolEigv', 'tolCi', 'tolUnmix'] as const) {
    const v = o[name];
    if (v === undefined) continue;
    if (typeof v !== 'number') throw new TypeError(`${fn}: '${name}' must be a number, got ${String(v)}`);
    numbers[name] = v;
  }
  if (o.prefilter !== undefined) numbers.prefilter = o.prefilter ? 1 : 0;
  const strings: OpStrings<'umni'> = {};
  if (o.intervention !== undefined) strings.intervention = o.intervention;
  if (o.order !== undefined) strings.order = o.order;
  return { numbers, strings };
}

function inputs(data: UmniData, options: UmniOptions) {
  const fn = 'umni';
  if (typeof data !== 'object' || data === null) throw new TypeError(`${fn}: 'data' must be { x, dsx }`);
  checkOptionNames(fn, options, UMNI_OPTIONS);
  checkArray(fn, 'x', data.x, 3);
  checkArray(fn, 'dsx', data.dsx, 3);
  checkSameSize(fn, ['x', data.x, 2], ['dsx', data.dsx, 2]);
  if (data.x.shape[0] !== (data.dsx.shape[0] ?? 0) + 1) {
    throw new RangeError(
      `${fn}: 'x' has ${data.x.shape[0]} environments and 'dsx' ${data.dsx.shape[0]}: 'x' needs the observational environment first, then one per row of 'dsx'`,
    );
  }
  return { arrays: { x: data.x, dsx: data.dsx }, ...optionInputs(fn, options) };
}

function result(out: OpOut<'umni'>): UmniResult {
  const a = out.arrays;
  const r: UmniResult = {
    n: out.numbers.n,
    weights: a.weights,
    encoder: a.encoder,
    graphClosure: a.graphClosure,
    weightsOrder: a.weightsOrder,
    encoderOrder: a.encoderOrder,
    basis: a.basis,
    stats: { candidates: out.numbers.candidates, fullTests: out.numbers.fullTests },
  };
  if (a.hardEncoder) r.hard = { encoder: a.hardEncoder, graph: present(a.hardGraph, 'umni', 'hardGraph') };
  return r;
}

/**
 * UMNI-CRL (linear decoder, unknown multi-node interventions): finds n integer combinations of the
 * environments that each act like an intervention on a single latent, which gives an encoder in
 * causal order; refines it up to ancestors and recovers the transitive closure of the latent DAG
 * (soft interventions); with hard interventions also unmixes the latents up to scaling and returns
 * the exact DAG. Needs K = n interventional environments whose targets form an invertible matrix.
 */
export const umni = operation(
  'umni',
  ([data]: [UmniData], options: UmniOptions) => inputs(data, options),
  (out) => result(out),
);

/** Per-environment moments of the observations, for UMNI-CRL with Gaussian plug-in scores. */
export interface UmniMoments {
  /** (K+1)×d×d centred covariances, the observational environment first. */
  covariances: NDArray;
  /** (K+1)×d means (optional: zero means). */
  means?: NDArray;
  /** Observational sample count N (the hard stage's Fisher z-tests use it). */
  samples: number;
}

/**
 * UMNI-CRL with Gaussian plug-in scores, from per-environment moments: each environment's score is
 * that of a Gaussian fitted on the n-dim support of the observational data (B: its top-n
 * eigenvectors), s_k(x) = −B P_k (Bᵀx − Bᵀμ_k) with P_k = (Bᵀ C_k B)⁻¹ (`centred: false` drops the
 * mean), and the score-difference moments follow in closed form. Same result fields as `umni`.
 */
export function umniGaussian(engine: Engine, moments: UmniMoments, options: UmniOptions & { centred?: boolean } = {}): UmniResult {
  const fn = 'umniGaussian';
  checkArray(fn, 'covariances', moments.covariances, 3);
  const arrays: OpArrays<'umniGaussian'> = { covariances: moments.covariances };
  if (moments.means !== undefined) {
    checkArray(fn, 'means', moments.means, 2);
    arrays.means = moments.means;
  }
  if (!Number.isSafeInteger(moments.samples) || moments.samples < 1) {
    throw new RangeError(`${fn}: 'samples' must be a positive integer, got ${moments.samples}`);
  }
  const { numbers, strings } = optionInputs(fn, options);
  const centred = options.centred === undefined ? {} : { centred: options.centred ? 1 : 0 };
  return result(call(engine, fn, { arrays, numbers: { ...numbers, ...centred, samples: moments.samples }, strings }));
}

/** Settings of a fused simulated UMNI-CRL trial (linear SCM, linear decoder, multi-node design). */
export interface UmniTrialSpec extends Omit<UmniOptions, 'latents' | 'prefilter'> {
  n: number;
  /** Observed dimension (>= n). Default n. */
  d?: number;
  /** Samples per environment. */
  samples: number;
  /** Erdős–Rényi edge probability. Default 0.5. */
  density?: number;
  /** Noise-variance factor of intervened nodes. Default 0.25. */
  factor?: number;
  /** Bernoulli probability of the upper triangle of the target matrix D. Default `density`. */
  targetDensity?: number;
  /** Scale decoder columns to max |entry| 1. Default false (as in the reference experiment). */
  scaleDecoder?: boolean;
  /** Relabel the nodes by a random permutation. Default false. */
  randomOrder?: boolean;
  /** 'exact' (default) or 'gaussian' (Gaussian plug-in s_k(x) = −B P_k Bᵀx fitted per environment). */
  scores?: 'exact' | 'gaussian';
}

/** Metrics of one stage, in the true labelling after matching estimated latents to true ones by MCC. */
export interface UmniStageMetrics {
  /** Soft stage: SHD between transitive closures; hard stage: SHD of the DAG (a reversal counts once). */
  shd: number;
  precision: number;
  recall: number;
  /** Mean |Pearson correlation| of matched true and estimated latents on the observational samples. */
  mcc: number;
  /** Entries of the unit-row effective mixing encoder·decoder with |value| ≥ 0.05 outside the allowed pattern
   * (ancestors + identity for the soft stage, identity for the hard stage), their share of the off-pattern
   * entries, and the spectral norm of the off-pattern part. */
  incorrectMixing: number;
  incorrectMixingRatio: number;
  offPatternNorm: number;
}

export interface UmniTrialResult {
  soft: UmniStageMetrics;
  /** With hard interventions. */
  hard?: UmniStageMetrics;
  stats: { candidates: number; fullTests: number };
}

/**
 * One seeded trial in the core: draws the model and data exactly as `simulate` does with
 * `design: 'multi-node'` (only their moments are formed), builds the score-difference moments
 * (exact or Gaussian plug-in), runs UMNI-CRL and scores the result.
 */
export function umniTrial(engine: Engine, spec: UmniTrialSpec, seed: number): UmniTrialResult {
  const fn = 'umniTrial';
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`${fn}: 'seed' must be a non-negative integer below 2^53, got ${seed}`);
  if (typeof spec !== 'object' || spec === null) throw new TypeError(`${fn}: 'spec' must be an object`);
  checkOptionNames(fn, spec, UMNI_TRIAL_SPEC, 'spec');
  const numbers: Record<string, number | boolean> = { seed };
  const strings: OpStrings<'umniTrial'> = {};
  for (const key of [
    'n',
    'd',
    'samples',
    'density',
    'factor',
    'targetDensity',
    'kappa',
    'tolEigv',
    'tolCi',
    'tolUnmix',
    'maxCandidates',
  ] as const) {
    const v = spec[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${fn}: '${key}' must be a finite number, got ${v}`);
    numbers[key] = v;
  }
  for (const key of ['scaleDecoder', 'randomOrder'] as const) {
    const v = spec[key];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') throw new TypeError(`${fn}: '${key}' must be true or false`);
    numbers[key] = v;
  }
  if (spec.intervention !== undefined) strings.intervention = spec.intervention;
  if (spec.order !== undefined) strings.order = spec.order;
  if (spec.scores !== undefined) strings.scores = spec.scores;
  // Built by name above; the core checks each against its spec.
  const out = call(engine, fn, { numbers: numbers as OpNumbers<'umniTrial'>, strings }).numbers;
  const stage = (prefix: 'soft' | 'hard'): UmniStageMetrics => {
    const need = (name: keyof UmniStageMetrics) => present(out[`${prefix}.${name}`], fn, `${prefix}.${name}`);
    return {
      shd: need('shd'),
      precision: need('precision'),
      recall: need('recall'),
      mcc: need('mcc'),
      incorrectMixing: need('incorrectMixing'),
      incorrectMixingRatio: need('incorrectMixingRatio'),
      offPatternNorm: need('offPatternNorm'),
    };
  };
  const result: UmniTrialResult = { soft: stage('soft'), stats: { candidates: out.candidates, fullTests: out.fullTests } };
  if (out['hard.shd'] !== undefined) result.hard = stage('hard');
  return result;
}
