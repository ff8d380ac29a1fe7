import { call, type OpArrays, type OpIn, type OpNumbers, type OpOut, type OpStrings, operation, present } from './call.js';
import type { Engine } from '../backend/engine.js';
import type { NDArray } from '../types.js';
import { checkArray, checkOptionNames, optionNames } from '../validate.js';
import { isLearnedScoreDifference } from './estimators.js';

/**
 * What LSCALE-I runs on. Environment 0 is observational; environment m+1 intervenes latent m
 * (m = 0..n-1), so `x` has n+1 environments and there are n score differences.
 *
 * - `{ x, dsx }`: samples ((n+1)×N×d) and score differences s_0 − s_{m+1} at observational
 *   samples (n×Ns×d), from any estimator (see `estimateScoreDifferences`). `learned: true` says
 *   they were learned (the default edge rule is then 'null-level'); score differences returned by
 *   `estimateScoreDifferences` with a learned method ('logistic-quadratic', 'classifier-mlp',
 *   'ssm', registered ones) are known to be learned without it.
 * - `{ x, scores: 'gaussian' }`: the Gaussian plug-in estimator fitted to `x`; its score
 *   differences are affine in x, so only their second moments are computed (dsx is never formed).
 * - `{ covariances, scoreDiffCovariances }`: d×d moments — centred covariances of every
 *   environment ((n+1)×d×d) and E[dsx_m dsx_mᵀ] (n×d×d).
 * - `{ covariances, means?, scores: 'gaussian' }`: Gaussian plug-in from moments alone.
 */
export type LscaleData =
  | { x: NDArray; dsx: NDArray; learned?: boolean }
  | { x: NDArray; scores: 'gaussian'; centred?: boolean }
  | { covariances: NDArray; scoreDiffCovariances: NDArray; samples?: number; learned?: boolean }
  | { covariances: NDArray; means?: NDArray; scores: 'gaussian'; centred?: boolean; samples?: number };

export interface LscaleOptions {
  /** 'soft' (default): soft stage only; 'hard': adds the unmixing stage (latents up to scaling, the DAG). */
  intervention?: 'soft' | 'hard';
  /** Also run the full-rank variant (sufficiently nonlinear latent models). Default false. */
  fullRank?: boolean;
  /**
   * 'adaptive': scale-free, data-driven threshold (docs/lscale.md);
   * 'null-level': as 'adaptive' in the soft stage; the hard stage's threshold is `nullMargin`
   * decades above the non-edge level (median pair minimum), without a two-group split — for
   * learned score differences, whose hard-stage non-edges spread above that level;
   * 'absolute': edge j → m iff Rz_m[j][j] ≥ tolEdge (the reference's rule);
   * 'regression' (samples, or moments with `samples`; the hard stage needs samples `{ x, dsx }`):
   * the causal order from how each environment shifts the soft latents. Soft stage: j → m for j
   * before m when environment j+1 shifts latent m's mean or variance (test at `edgeLevel` over
   * the n(n−1) pairs) or its score margin exceeds 0.6 decades. Hard stage: an F-test per pair j
   * before m, on the observational samples of the hard latents, of the nonlinear part of j's
   * influence on m given all latents before m; an edge when its p-value is below
   * `edgeLevel` / (n(n−1)/2), or when all of j's terms explain at least 3 % of m's variance (a
   * linear mechanism; see docs/lscale.md#the-regression-rule).
   * Default: 'regression' for learned score differences (see `LscaleData`) given with samples;
   * 'null-level' for learned ones given as moments; else 'adaptive'.
   * With exact scores (statistics with exact zeros) 'null-level' decides as 'adaptive'.
   */
  edgeRule?: 'adaptive' | 'absolute' | 'null-level' | 'regression';
  /** Threshold of the 'absolute' rule. Default 1e-3. */
  tolEdge?: number;
  /** 'null-level' rule: hard-stage threshold in decades above the non-edge level. Default 1.25. */
  nullMargin?: number;
  /** 'regression' rule: family-wise level of the hard stage's edge tests, in (0, 1). Default 0.01. */
  edgeLevel?: number;
  /** Full-rank stage: eigenvalue threshold of the column spaces and sine threshold of their intersections. Default 1e-2. */
  tolEigv?: number;
  /** Full-rank stage: the same for the encoder's subspace intersections. Default 1e-6. */
  tolIntersection?: number;
  /**
   * Hard stage: latents regressed out of latent m — every latent before m in the soft causal
   * order ('predecessors', default) or m's parents in the soft graph ('soft-parents', the reference).
   */
  unmixing?: 'predecessors' | 'soft-parents';
  /**
   * Hard graph keeps only edges also in: 'auto' (default) — when the soft stage's statistics are
   * exact (some of them numerical zeros, as with exact scores; the soft closure is then the true
   * DAG's), the soft closure, whose transitive reduction is always kept and among whose pairs the
   * adaptive threshold is chosen; else nothing; 'none': nothing; 'soft-graph': the soft graph (the
   * reference); 'soft-closure': its closure. See docs/lscale.md.
   */
  hardGraphFilter?: 'auto' | 'none' | 'soft-graph' | 'soft-closure';
  /**
   * Bootstrap refits for per-edge evidence (data `{ x, dsx }` only): the rows of every environment
   * are resampled (the observational rows together with the score differences at them) this many
   * times and each resample refitted with the same options in the fitted basis; each stage then
   * reports `edgeFrequency`. Default 0 (none). The frequencies show how stable an edge is under
   * sampling noise, not whether the estimator's error put it there.
   */
  resamples?: number;
  /** Seed of the resampling draws. Default 0. */
  resampleSeed?: number;
}

/** The authors' reference behaviour (fixed threshold, soft-graph unmixing and filter), for comparisons. */
export const LSCALE_REFERENCE_OPTIONS: Readonly<LscaleOptions> = Object.freeze({
  edgeRule: 'absolute',
  unmixing: 'soft-parents',
  hardGraphFilter: 'soft-graph',
});

/** One stage of LSCALE-I. Latent m is the one environment m+1 intervenes. */
export interface LscaleStage {
  /** n×d: ẑ = encoder·x. */
  encoder: NDArray;
  /** d×n: x ≈ decoder·ẑ (soft and full-rank stages: columns scaled to max |entry| 1). */
  decoder: NDArray;
  /** n×n 0/1, [i][j] = edge i → j; a DAG. */
  graph: NDArray;
  /** Causal order of the latents, oldest first (a topological order of `graph`). */
  order: number[];
  /** n×n×n: Rz_m = decoderᵀ E[dsx_m dsx_mᵀ] decoder, the latent score-difference covariances. */
  latentScoreDiffCov: NDArray;
  /** n×n 0/1 edges the rule accepted before they were made a DAG (and, hard stage, filtered). */
  rawGraph: NDArray;
  /** n×n, [j][m]: the statistic the edge rule compared for j → m (soft and hard stages). */
  edgeStatistic?: NDArray;
  /** Edges have edgeStatistic above this (soft and hard stages). */
  edgeThreshold?: number;
  /**
   * n×n, [j][m]: log10(edgeStatistic / nullLevel), the decades by which j → m stands above the
   * non-edge level — the evidence for an edge (soft and hard stages, adaptive statistic; NaN on the
   * diagonal, for exact zeros, and with the 'absolute' rule). The 'null-level' rule reports the
   * edges whose margin exceeds `nullMargin`.
   */
  edgeMargin?: NDArray;
  /** The non-edge level: median over pairs of min(statistic j → m, m → j), a non-edge in any DAG (NaN when undefined). */
  nullLevel?: number;
  /**
   * 'regression' rule. Hard stage: n×n, [j][m] = p-value of the test that decided j → m (NaN
   * where not tested: j not before m in `order`); `edgeStatistic` then holds the share of m's
   * variance all of j's terms explain, `edgeThreshold` the per-pair level, `edgeMargin` the decades by
   * which the p-value lies below that level (an edge when positive). Soft stage (learned scores):
   * [j][m] = p-value of the shift of latent m's mean or variance from environment 0 to j+1 (an
   * ancestor's intervention shifts it); statistic, threshold and margin stay the score statistic's.
   */
  edgePValue?: NDArray;
  /** With `resamples`: n×n, [j][m] = share of the completed bootstrap refits whose graph of this stage holds j → m (soft and hard stages). */
  edgeFrequency?: NDArray;
}

export interface LscaleResult {
  /** The edge rule applied (the option, or its default for these score differences). */
  edgeRule: 'adaptive' | 'absolute' | 'null-level' | 'regression';
  /** d×n orthonormal basis of the observations' support (top-n eigenvectors of the observational covariance). */
  basis: NDArray;
  /** Encoder up to mixing with ancestors; graph up to transitive closure. */
  soft: LscaleStage;
  /** With intervention 'hard': latents up to scaling, the DAG itself. */
  hard?: LscaleStage;
  /** With `resamples`: refits requested and completed (a resample on which the method finds no answer is left out). */
  resamples?: { requested: number; completed: number; seed: number };
  /** With fullRank: the full-rank variant's graph and encoder (order = soft order). */
  fullRank?: LscaleStage & {
    /** Dimension of the subspace each encoder row was taken from (1: determined up to scale; k > 1: any vector of a k-dim subspace fits; 0: soft row kept). */
    intersectionDims: number[];
  };
}

// Ranges and allowed values are checked by the core (the spec of lscale and lscaleTrial); here only
// that each option has the type its spec declares.
function numbersOf(options: LscaleOptions, fn: string) {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${fn}: 'options' must be an object`);
  const numbers: Pick<
    OpNumbers<'lscale'>,
    'tolEdge' | 'tolEigv' | 'tolIntersection' | 'nullMargin' | 'edgeLevel' | 'fullRank' | 'resamples' | 'resampleSeed'
  > = {};
  const strings: Pick<OpStrings<'lscale'>, 'intervention' | 'edgeRule' | 'unmixing' | 'hardGraphFilter'> = {};
  for (const key of ['tolEdge', 'tolEigv', 'tolIntersection', 'nullMargin', 'edgeLevel', 'resamples', 'resampleSeed'] as const) {
    const v = options[key];
    if (v === undefined) continue;
    if (typeof v !== 'number') throw new TypeError(`${fn}: '${key}' must be a number, got ${String(v)}`);
    numbers[key] = v;
  }
  if (options.fullRank !== undefined) numbers.fullRank = Boolean(options.fullRank);
  for (const key of ['intervention', 'edgeRule', 'unmixing', 'hardGraphFilter'] as const) {
    // The core names the allowed values when one is wrong.
    if (options[key] !== undefined) (strings as Record<string, string>)[key] = String(options[key]);
  }
  return { numbers, strings };
}

function dataInputs(data: LscaleData, fn: string) {
  if (typeof data !== 'object' || data === null)
    throw new TypeError(`${fn}: 'data' must be { x, dsx }, { x, scores: 'gaussian' } or { covariances, ... }`);
  const arrays: OpArrays<'lscale'> = {};
  const numbers: OpNumbers<'lscale'> = {};
  const strings: OpStrings<'lscale'> = {};
  const d = data as Record<string, unknown>;
  if (d.scores !== undefined) {
    if (d.scores !== 'gaussian') throw new RangeError(`${fn}: 'scores' must be 'gaussian', got '${String(d.scores)}'`);
    strings.scores = 'gaussian';
    if (d.centred !== undefined) numbers.centred = Boolean(d.centred);
  }
  if (d.covariances !== undefined) {
    checkArray(fn, 'covariances', d.covariances, 3);
    arrays.covariances = d.covariances;
    const [k1, dim] = d.covariances.shape as [number, number, number];
    if (d.scores === undefined) {
      checkArray(fn, 'scoreDiffCovariances', d.scoreDiffCovariances, 3);
      const s = d.scoreDiffCovariances.shape;
      if (s[0] !== k1 - 1 || s[1] !== dim || s[2] !== dim)
        throw new RangeError(
          `${fn}: 'scoreDiffCovariances' must be ${k1 - 1}×${dim}×${dim} for ${k1} environment covariances, got [${s.join(', ')}]`,
        );
      arrays.scoreDiffCovariances = d.scoreDiffCovariances;
    }
    if (d.means !== undefined) {
      checkArray(fn, 'means', d.means, 2);
      arrays.means = d.means;
    }
    if (d.samples !== undefined) numbers.samples = Number(d.samples);
    return { arrays, numbers, strings };
  }
  checkArray(fn, 'x', d.x, 3);
  arrays.x = d.x;
  if (d.scores === undefined) {
    if (d.dsx === undefined) throw new TypeError(`${fn}: missing 'dsx' (n×N×d score differences); or pass scores: 'gaussian'`);
    checkArray(fn, 'dsx', d.dsx, 3);
    if (d.x.shape[0] !== (d.dsx.shape[0] ?? 0) + 1)
      throw new RangeError(
        `${fn}: 'x' has ${d.x.shape[0]} environments and 'dsx' ${d.dsx.shape[0]}: 'x' needs the observational environment first, then one per row of 'dsx'`,
      );
    if (d.x.shape[2] !== d.dsx.shape[2]) throw new RangeError(`${fn}: 'x' has d = ${d.x.shape[2]} columns but 'dsx' has ${d.dsx.shape[2]}`);
    arrays.dsx = d.dsx;
  } else if (d.dsx !== undefined) {
    throw new TypeError(`${fn}: pass either 'dsx' or scores: 'gaussian', not both`);
  }
  return { arrays, numbers, strings };
}

/** Whether `data` holds learned score differences: declared, or returned by a learned estimator. */
function learnedScores(data: LscaleData, fn: string): boolean {
  const d = data as Record<string, unknown>;
  if (d.learned !== undefined && typeof d.learned !== 'boolean')
    throw new TypeError(`${fn}: 'learned' must be true or false, got ${String(d.learned)}`);
  if (d.learned !== undefined) {
    if (d.scores !== undefined)
      throw new TypeError(`${fn}: 'learned' goes with given score differences, not with scores: '${String(d.scores)}'`);
    return d.learned;
  }
  return d.dsx !== undefined && isLearnedScoreDifference(d.dsx as NDArray);
}

// The options of a fit (also taken by lscaleTrial), then the resampling ones (samples only).
const LSCALE_FIT_OPTIONS = optionNames<Omit<LscaleOptions, 'resamples' | 'resampleSeed'>>()([
  'intervention',
  'fullRank',
  'edgeRule',
  'tolEdge',
  'nullMargin',
  'edgeLevel',
  'tolEigv',
  'tolIntersection',
  'unmixing',
  'hardGraphFilter',
]);
const LSCALE_OPTIONS = optionNames<LscaleOptions>()([...LSCALE_FIT_OPTIONS, 'resamples', 'resampleSeed']);

/**
 * The edge rule in force: the one asked for; else, for learned score differences, 'regression'
 * with samples and 'null-level' with moments; else 'adaptive'.
 */
function edgeRuleOf(data: LscaleData, options: LscaleOptions): LscaleResult['edgeRule'] {
  if (options.edgeRule !== undefined) return options.edgeRule;
  if (!learnedScores(data, 'lscale')) return 'adaptive';
  return (data as { x?: unknown }).x !== undefined ? 'regression' : 'null-level';
}

function lscaleInputs(data: LscaleData, options: LscaleOptions): OpIn<'lscale'> {
  const fn = 'lscale';
  checkOptionNames(fn, options, LSCALE_OPTIONS);
  const a = dataInputs(data, fn);
  const o = numbersOf(options, fn);
  const edgeRule = edgeRuleOf(data, options);
  return { arrays: a.arrays, numbers: { ...a.numbers, ...o.numbers }, strings: { ...a.strings, ...o.strings, edgeRule } };
}

function orderOf(a: NDArray | undefined): number[] {
  return a ? Array.from(a.data) : [];
}

function stageOf(out: OpOut<'lscale'>, prefix: 'soft' | 'hard' | 'fullRank'): LscaleStage {
  const a = out.arrays;
  const need = <T>(name: string, value: T | undefined) => present(value, 'lscale', `${prefix}.${name}`);
  const stage: LscaleStage = {
    encoder: need('encoder', a[`${prefix}.encoder`]),
    decoder: need('decoder', a[`${prefix}.decoder`]),
    graph: need('graph', a[`${prefix}.graph`]),
    order: orderOf(a[`${prefix}.order`]),
    latentScoreDiffCov: need('latentScoreDiffCov', a[`${prefix}.latentScoreDiffCov`]),
    rawGraph: need('rawGraph', a[`${prefix}.rawGraph`]),
  };
  if (prefix === 'fullRank') return stage;
  const statistic = a[`${prefix}.edgeStatistic`];
  if (statistic) {
    stage.edgeStatistic = statistic;
    stage.edgeThreshold = need('edgeThreshold', out.numbers[`${prefix}.edgeThreshold`]);
  }
  const margin = a[`${prefix}.edgeMargin`];
  if (margin) {
    stage.edgeMargin = margin;
    stage.nullLevel = need('nullLevel', out.numbers[`${prefix}.nullLevel`]);
  }
  const pValue = prefix === 'hard' ? a['hard.edgePValue'] : prefix === 'soft' ? a['soft.edgePValue'] : undefined;
  if (pValue) stage.edgePValue = pValue;
  const frequency = a[`${prefix}.edgeFrequency`];
  if (frequency) stage.edgeFrequency = frequency;
  return stage;
}

function resultOf(out: OpOut<'lscale'>, edgeRule: LscaleResult['edgeRule'], resampleSeed = 0): LscaleResult {
  const result: LscaleResult = { edgeRule, basis: out.arrays.basis, soft: stageOf(out, 'soft') };
  const requested = out.numbers['resamples.requested'];
  if (requested !== undefined)
    result.resamples = {
      requested,
      completed: present(out.numbers['resamples.completed'], 'lscale', 'resamples.completed'),
      seed: resampleSeed,
    };
  if (out.arrays['hard.encoder']) result.hard = stageOf(out, 'hard');
  if (out.arrays['fullRank.encoder'])
    result.fullRank = { ...stageOf(out, 'fullRank'), intersectionDims: orderOf(out.arrays['fullRank.intersectionDims']) };
  return result;
}

/** LSCALE-I (see `LscaleData`, `LscaleOptions`, docs/lscale.md). */
export const lscale = operation(
  'lscale',
  ([data]: [LscaleData], options: LscaleOptions) => lscaleInputs(data, options),
  // The data and options were checked by lscaleInputs before the call.
  (out, [data], options) => resultOf(out, edgeRuleOf(data, options), options.resampleSeed),
);

/** One simulated LSCALE-I trial computed from latent moments (linear SCM, linear decoder; no N×d arrays). */
export interface LscaleTrialSpec extends Omit<LscaleOptions, 'resamples' | 'resampleSeed'> {
  seed: number;
  n: number;
  d?: number;
  samples: number;
  /** Erdős–Rényi edge probability. Default 0.5. */
  density?: number;
  /** Noise-variance factor of the intervened node. Default 5. */
  factor?: number;
  /** Scale the decoder's columns to max |entry| 1 (LSCALE-I experiments). Default true. */
  scaleDecoder?: boolean;
  /** Relabel the latents by a random permutation. Default false. */
  randomOrder?: boolean;
  /** Environment k intervenes a randomly permuted node. Default false. */
  randomInterventionOrder?: boolean;
  /** 'gaussian' (plug-in, default) or 'exact' scores. */
  estimator?: 'gaussian' | 'exact';
  /**
   * 'samples' (default): draws the N×n normals `simulate` draws for this seed and accumulates their
   * moments (same data as `simulate`); 'wishart': draws the moments from their exact distribution
   * (mean N(0, I/N), scatter Wishart(I, N−1)) with O(n²) draws — same distribution, other numbers.
   */
  sampling?: 'samples' | 'wishart';
}

export interface LscaleTrialStage {
  mcc: number;
  /** SHD against the true DAG. */
  shd: number;
  /** SHD between transitive closures. */
  closureShd: number;
  edges: number;
  /**
   * The paper's effective-mixing loss: spectral norm of the unit-row effective mixing
   * encoder·decoder outside the allowed pattern — the identity for the hard stage (ℓ_scale, Table
   * 6), parents and identity for the soft and full-rank stages (ℓ_pa, Table 7).
   */
  mixingLoss: number;
  graph: NDArray;
  order: number[];
}

export interface LscaleTrialResult {
  /** True DAG in the environments' labelling. */
  graph: NDArray;
  trueEdges: number;
  soft: LscaleTrialStage;
  hard?: LscaleTrialStage;
  fullRank?: LscaleTrialStage;
}

const LSCALE_TRIAL_SPEC = optionNames<LscaleTrialSpec>()([
  ...LSCALE_FIT_OPTIONS,
  'seed',
  'n',
  'd',
  'samples',
  'density',
  'factor',
  'scaleDecoder',
  'randomOrder',
  'randomInterventionOrder',
  'estimator',
  'sampling',
]);

export function lscaleTrial(engine: Engine, spec: LscaleTrialSpec): LscaleTrialResult {
  const fn = 'lscaleTrial';
  if (typeof spec !== 'object' || spec === null) throw new TypeError(`${fn}: 'spec' must be an object`);
  checkOptionNames(fn, spec, LSCALE_TRIAL_SPEC, 'spec');
  const o = numbersOf(spec, fn);
  const numbers: OpIn<'lscaleTrial'>['numbers'] = { ...o.numbers, seed: spec.seed, n: spec.n, samples: spec.samples };
  for (const k of ['d', 'density', 'factor', 'scaleDecoder', 'randomOrder', 'randomInterventionOrder'] as const) {
    const v = spec[k];
    if (v !== undefined) (numbers as Record<string, number | boolean>)[k] = v;
  }
  const strings: OpIn<'lscaleTrial'>['strings'] = { ...o.strings };
  if (spec.estimator !== undefined) strings.estimator = spec.estimator;
  if (spec.sampling !== undefined) strings.sampling = spec.sampling;
  const out = call(engine, fn, { numbers, strings });
  const stage = (p: 'soft' | 'hard' | 'fullRank'): LscaleTrialStage => {
    const need = <T>(name: string, value: T | undefined) => present(value, fn, `${p}.${name}`);
    return {
      mcc: need('mcc', out.numbers[`${p}.mcc`]),
      shd: need('shd', out.numbers[`${p}.shd`]),
      closureShd: need('closureShd', out.numbers[`${p}.closureShd`]),
      edges: need('edges', out.numbers[`${p}.edges`]),
      mixingLoss: need('mixingLoss', out.numbers[`${p}.mixingLoss`]),
      graph: need('graph', out.arrays[`${p}.graph`]),
      order: orderOf(need('order', out.arrays[`${p}.order`])),
    };
  };
  const result: LscaleTrialResult = { graph: out.arrays.graph, trueEdges: out.numbers.trueEdges, soft: stage('soft') };
  if (out.numbers['hard.mcc'] !== undefined) result.hard = stage('hard');
  if (out.numbers['fullRank.mcc'] !== undefined) result.fullRank = stage('fullRank');
  return result;
}
