import { call } from './call.js';
import type { Engine } from '../backend/engine.js';
import type { NDArray } from '../types.js';
import { checkArray } from '../validate.js';

/**
 * Graphs are n×n NDArrays: entry [i][j] ≠ 0 means the edge i → j (parents of j are column j).
 * Results use 0/1. Orders and matchings are plain arrays of indices.
 */

function square(fn: string, name: string, a: unknown): NDArray {
  checkArray(fn, name, a, 2);
  if (a.shape[0] !== a.shape[1]) throw new RangeError(`${fn}: '${name}' must be square, got [${a.shape.join(', ')}]`);
  return a;
}

function indices(a: NDArray | undefined): number[] {
  return a ? Array.from(a.data) : [];
}

/** Reachability by paths of length ≥ 1 (cycles allowed; the diagonal stays 0). */
export function transitiveClosure(engine: Engine, a: NDArray): NDArray {
  return call(engine, 'transitiveClosure', { arrays: { a: square('transitiveClosure', 'a', a) } }).arrays.graph;
}

/** The minimal subgraph with the same reachability; throws for a cyclic graph. */
export function transitiveReduction(engine: Engine, dag: NDArray): NDArray {
  return call(engine, 'transitiveReduction', { arrays: { a: square('transitiveReduction', 'dag', dag) } }).arrays.graph;
}

/** Whether the graph has no directed cycle (a self loop is a cycle). */
export function isDag(engine: Engine, a: NDArray): boolean {
  return call(engine, 'isDag', { arrays: { a: square('isDag', 'a', a) } }).numbers.isDag === 1;
}

/** Topological order, sources first: repeatedly the lowest-index node with no remaining parents. */
export function topologicalOrder(engine: Engine, dag: NDArray): number[] {
  return indices(call(engine, 'topologicalOrder', { arrays: { dag: square('topologicalOrder', 'dag', dag) } }).arrays.order);
}

/**
 * Closest DAG: the node order keeping the most edges (ties: lexicographically smallest order) and
 * the edges consistent with it. Exact dynamic programming over subsets, n ≤ 20.
 */
export function closestDag(engine: Engine, a: NDArray): { dag: NDArray; order: number[] } {
  const out = call(engine, 'closestDag', { arrays: { a: square('closestDag', 'a', a) } });
  return { dag: out.arrays.dag, order: indices(out.arrays.order) };
}

export interface GraphComparison {
  /** additions + deletions + reversals (a reversed edge counts once). */
  shd: number;
  additions: number;
  deletions: number;
  reversals: number;
  /** TP / (TP + FP) on directed edges; 1 when the estimate has no edges. */
  precision: number;
  /** TP / (TP + FN); 1 when the truth has no edges. */
  recall: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
}

/** Edge-level comparison in the given labelling (no node matching). */
export function compareGraphs(engine: Engine, truth: NDArray, estimate: NDArray): GraphComparison {
  const fn = 'compareGraphs';
  const out = call(engine, fn, { arrays: { truth: square(fn, 'truth', truth), estimate: square(fn, 'estimate', estimate) } });
  const n = out.numbers;
  return {
    shd: n.shd!,
    additions: n.additions!,
    deletions: n.deletions!,
    reversals: n.reversals!,
    precision: n.precision!,
    recall: n.recall!,
    truePositives: n.truePositives!,
    falsePositives: n.falsePositives!,
    falseNegatives: n.falseNegatives!,
  };
}

/**
 * Exact minimum-cost (or, with `maximize`, maximum) assignment of rows to distinct columns
 * (rows ≤ cols). Returns assignment[row] = column and the total.
 */
export function linearSumAssignment(
  engine: Engine,
  cost: NDArray,
  options: { maximize?: boolean } = {},
): { assignment: number[]; total: number } {
  checkArray('linearSumAssignment', 'cost', cost, 2);
  const out = call(engine, 'linearSumAssignment', {
    arrays: { cost },
    numbers: { maximize: Boolean(options.maximize) },
  });
  return { assignment: indices(out.arrays.assignment), total: out.numbers.total };
}

/**
 * MCC: mean |Pearson correlation| between true and estimated latents (N×n each) after the best
 * one-to-one matching. matching[i] = estimated column matched to true latent i.
 */
export function meanCorrelationCoefficient(
  engine: Engine,
  zTrue: NDArray,
  zEstimate: NDArray,
): { mcc: number; matching: number[]; perLatent: Float64Array } {
  const fn = 'meanCorrelationCoefficient';
  checkArray(fn, 'zTrue', zTrue, 2);
  checkArray(fn, 'zEstimate', zEstimate, 2);
  const out = call(engine, fn, { arrays: { zTrue, zEstimate } });
  return { mcc: out.numbers.mcc, matching: indices(out.arrays.matching), perLatent: out.arrays.perLatent.data };
}

export interface MixingError {
  /** Entries of the effective mixing outside the allowed pattern with |value| ≥ threshold. */
  incorrectCount: number;
  /** incorrectCount / number of entries outside the pattern. */
  incorrectRatio: number;
  /** Largest singular value of the effective mixing with allowed entries zeroed. */
  offPatternSpectralNorm: number;
  /** n×n: encoder·decoder, rows sign-fixed (diagonal positive) and unit-normalised. */
  effective: NDArray;
}

/**
 * Effective mixing E = encoder (n×d) · decoder (d×n, the true decoder) judged against an allowed
 * pattern (n×n, see `allowedPattern`), in the given labelling.
 */
export function effectiveMixingError(engine: Engine, encoder: NDArray, decoder: NDArray, allowed: NDArray, threshold = 0.05): MixingError {
  const fn = 'effectiveMixingError';
  checkArray(fn, 'encoder', encoder, 2);
  checkArray(fn, 'decoder', decoder, 2);
  square(fn, 'allowed', allowed);
  const out = call(engine, fn, { arrays: { encoder, decoder, allowed }, numbers: { threshold } });
  return {
    incorrectCount: out.numbers.incorrectCount,
    incorrectRatio: out.numbers.incorrectRatio,
    offPatternSpectralNorm: out.numbers.offPatternSpectralNorm,
    effective: out.arrays.effective,
  };
}

/**
 * Allowed mixing pattern for a latent graph: [i][j] = 1 iff i = j, or j is a parent of i
 * (`includeAncestors`: an ancestor). For hard interventions pass an empty graph (identity).
 */
export function allowedPattern(engine: Engine, graph: NDArray, includeAncestors = false): NDArray {
  return call(engine, 'allowedPattern', {
    arrays: { graph: square('allowedPattern', 'graph', graph) },
    numbers: { includeAncestors },
  }).arrays.allowed;
}

export interface InterventionalGraphOptions {
  /** Family-wise level of the edge tests over the n(n−1)/2 pairs, in (0, 1). Default 0.01. */
  edgeLevel?: number;
  /** Share of a latent's variance above which a significant linear dependence is an edge. Default 0.03. */
  linearShareFloor?: number;
}

export interface InterventionalGraphResult {
  /** Causal order from how each environment shifts the latents, oldest first. */
  order: number[];
  /** n×n 0/1 DAG, [j][m] = edge j → m (only forward in `order`). */
  graph: NDArray;
  /** n×n p-value of the test that decided j → m (NaN where not tested: j not before m). */
  pValue: NDArray;
  /** n×n share of m's variance that all of j's terms explain beyond the latents before m. */
  share: NDArray;
  /** n×n decades of the p-value below the per-pair level (an edge when positive). */
  margin: NDArray;
  /** n×n linear unmixing W applied before the tests (unmixed latents = W · latents). */
  unmixing: NDArray;
  /** The per-pair level: edgeLevel / (n(n−1)/2). */
  level: number;
}

/**
 * The DAG over latents that are already identified (up to per-coordinate maps, with some residual
 * mixing — e.g. GSCALE-I's), from samples of every environment: `latents` ((K+1)×M×n, the
 * observational environment first) and `targets` (n×K, 1 where environment k+1 — a hard
 * intervention — targets latent i; one or two per latent). The causal order comes from how each
 * environment shifts the latents, a linear unmixing in that order removes residual mixing (with two
 * interventions of different strength on a latent, in both directions), and an F-test per pair on
 * the observational latents decides each edge (docs/gscale.md#graphs-from-the-environments).
 */
export function interventionalGraph(
  engine: Engine,
  latents: NDArray,
  targets: NDArray,
  options: InterventionalGraphOptions = {},
): InterventionalGraphResult {
  const fn = 'interventionalGraph';
  checkArray(fn, 'latents', latents, 3);
  checkArray(fn, 'targets', targets, 2);
  const numbers: { edgeLevel?: number; linearShareFloor?: number } = {};
  for (const key of ['edgeLevel', 'linearShareFloor'] as const) {
    const v = options[key];
    if (v === undefined) continue;
    if (typeof v !== 'number') throw new TypeError(`${fn}: '${key}' must be a number, got ${String(v)}`);
    numbers[key] = v;
  }
  const out = call(engine, fn, { arrays: { latents, targets }, numbers });
  return {
    order: indices(out.arrays.order),
    graph: out.arrays.graph,
    pValue: out.arrays.pValue,
    share: out.arrays.share,
    margin: out.arrays.margin,
    unmixing: out.arrays.unmixing,
    level: out.numbers.level,
  };
}

/** sqrt(Σ(estimate − truth)² / Σ truth²) over all entries (e.g. score differences). */
export function relativeRmse(engine: Engine, estimate: NDArray, truth: NDArray): number {
  const fn = 'relativeRmse';
  checkArray(fn, 'estimate', estimate);
  checkArray(fn, 'truth', truth);
  if (estimate.shape.join(',') !== truth.shape.join(','))
    throw new RangeError(`${fn}: 'estimate' [${estimate.shape.join(', ')}] and 'truth' [${truth.shape.join(', ')}] differ in shape`);
  return call(engine, fn, { arrays: { estimate, truth } }).numbers.rmse;
}
