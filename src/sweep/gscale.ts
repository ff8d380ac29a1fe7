/**
 * Sweep trials of GSCALE-I (design two-hard-per-node, nonlinear transform): simulate the cell's
 * data, take exact score differences or estimate them with the cell's estimator, train the
 * autoencoder with the default options and compare with the truth. Transform 'tanh' uses the glm
 * family (spectral start; estimators run on atanh(x)), 'tanh-mlp' the mlp family (random start
 * seeded by the trial's seed; estimators run on x). Edges: the default threshold rule with exact
 * scores; with estimated ones the environments rule on the samples of every environment
 * (`gscaleEnvironmentGraph`, as `scorecrl fit`; `shdScoreRule` keeps the adaptive rule's SHD).
 *
 * The two interventions on a node scale its noise variance by `factor` and `1 / factor`
 * (0.25 and 4 by default). Latent i and graph node i are the node of the i-th intervention pair;
 * the true graph is relabelled accordingly, so `shd` is the SHD of the DAG (hard interventions
 * identify it) without node matching. GSCALE-I has no linear encoder, so `encoderError` is
 * 1 − MCC (MCC with the best one-to-one matching of latents, on the observational samples).
 */
import type { Backend } from '../backend.js';
import { gscalePairs } from '../ops/gscale.js';
import { sliceFirst, type NDArray } from '../types.js';
import { pairNodes, relabelGraph, simulateCell } from './cell-data.js';
import type { Cell } from './config.js';
import type { TrialMetrics } from './store.js';

/** Values with |x| >= 1 − SATURATION count as saturated (the glm family's default clampEpsilon). */
export const SATURATION = 1e-12;

/**
 * y = atanh(x) for data in [-1, 1], saturated values clamped to ±(1 − SATURATION) (throws naming
 * the first value outside). Under x = tanh(y) the score of x is s_y(atanh x) / (1 − x²) plus a
 * term that is the same in every environment, so score differences of y map to those of x by
 * `atanhToX`.
 */
export function atanhData(x: NDArray): NDArray {
  const data = new Float64Array(x.data.length);
  const limit = 1 - SATURATION;
  for (let k = 0; k < data.length; k++) {
    const v = x.data[k]!;
    if (!(Math.abs(v) <= 1)) throw new RangeError(`atanh score space: every value must be in [-1, 1], found ${v} at flat index ${k}`);
    data[k] = Math.atanh(Math.max(-limit, Math.min(limit, v)));
  }
  return { data, shape: x.shape };
}

/**
 * dsx (K×N×d) from score differences of y = atanh(x) at the rows of x0 (N×d): dsy / (1 − x0²);
 * 0 at saturated coordinates (they carry no information, and the glm encoder leaves them out).
 */
export function atanhToX(dsy: NDArray, x0: NDArray): NDArray {
  const block = x0.data.length;
  const limit = 1 - SATURATION;
  const data = new Float64Array(dsy.data.length);
  for (let k = 0; k < data.length; k++) {
    const v = x0.data[k % block]!;
    data[k] = Math.abs(v) >= limit ? 0 : dsy.data[k]! / (1 - v * v);
  }
  return { data, shape: dsy.shape };
}

export function gscaleTrialMetrics(crl: Backend, cell: Cell, seed: number): TrialMetrics {
  const exact = cell.estimator === 'exact';
  const sim = simulateCell(crl, cell, seed, {
    intervention: 'hard',
    varianceFactors: [cell.factor, 1 / cell.factor],
    design: 'two-hard-per-node',
    transform: cell.transform,
  });
  // tanh: the glm family, scores estimated on atanh(x); tanh-mlp: the mlp family, scores on x.
  const glm = cell.transform === 'tanh';
  const x0 = sliceFirst(sim.x!, 0);
  let dsx: NDArray;
  if (exact) dsx = sim.dsx!;
  else if (glm) dsx = atanhToX(crl.estimateScoreDifferences(atanhData(sim.x!), { method: cell.estimator, seed, latents: cell.n }).dsx, x0);
  else dsx = crl.estimateScoreDifferences(sim.x!, { method: cell.estimator, seed, latents: cell.n }).dsx;
  // Estimated scores: the scale-free adaptive edge rule (as `fit`); exact ones: the default threshold.
  const edgeRule = exact ? 'threshold' : 'adaptive';
  const r = crl.gscale({ x: x0, ...gscalePairs(dsx) }, glm ? { edgeRule } : { family: 'mlp', seed, edgeRule });
  const truth = relabelGraph(sim.graph, pairNodes(sim.targets));
  const environments = exact ? undefined : crl.gscaleEnvironmentGraph(r.model, sim.x!).graph;
  const graph = crl.compareGraphs(truth, environments ?? r.graph!);
  const { mcc } = crl.meanCorrelationCoefficient(sliceFirst(sim.z!, 0), r.latents);
  crl.release(sim, dsx);
  return {
    shd: graph.shd,
    precision: graph.precision,
    recall: graph.recall,
    encoderError: 1 - mcc,
    correct: graph.shd === 0,
    mcc,
    iterations: r.iterations,
    converged: r.converged,
    loss: r.loss,
    ...(environments ? { shdScoreRule: crl.compareGraphs(truth, r.graph!).shd } : {}),
  };
}
