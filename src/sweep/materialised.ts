/**
 * Materialised sweep trials of the linear-mixing algorithms (finite-sample, LSCALE-I): the cell's
 * data are simulated as arrays for the trial's seed (exactly those of `scorecrl simulate` with the
 * same settings and seed), score differences are the exact ones or estimated by the cell's
 * estimator (trained on the simulated samples, seeded by the trial's seed), and the algorithm runs
 * on { dsx }. The fused core trials (`trial`, `lscaleTrial`) reach the same metrics from moments
 * alone; this path is taken when they cannot (see `fusedTrial`): learned estimators, and for
 * LSCALE-I nonlinear latent models or a non-default condition floor or variance change. It forms
 * (n+1)×N×d arrays and trains the estimator, so it is far slower per trial.
 */
import type { Backend } from '../backend.js';
import { sliceFirst, type NDArray } from '../types.js';
import { cellScoreDifferences, interventionNodes, relabelGraph, simulateCell } from './cell-data.js';
import type { Cell } from './config.js';
import type { TrialMetrics } from './store.js';

/**
 * Finite-sample trial on materialised data, with the metrics of the fused `trial`: the estimate
 * (latent t = environment t+1) is put in the true labelling; `shd` counts false positives plus
 * false negatives between transitive closures; `encoderError` is the spectral norm of the
 * unit-row effective mixing outside parents + identity, `incorrectMixing` its entries ≥ 0.05.
 */
export function finiteSampleMaterialised(crl: Backend, cell: Cell, seed: number): TrialMetrics {
  const sim = simulateCell(crl, cell, seed);
  const dsx = cellScoreDifferences(crl, cell, sim, seed);
  const fit = crl.finiteSample({ dsx }, { tolEigv: cell.tolEigv, tolOrth: cell.tolOrth });
  const n = cell.n;
  const d = cell.d;
  const node = interventionNodes(sim);
  const graph = new Float64Array(n * n);
  const encoder = new Float64Array(n * d);
  for (let a = 0; a < n; a++) {
    encoder.set(fit.encoder.data.subarray(a * d, (a + 1) * d), node[a]! * d);
    for (let b = 0; b < n; b++) graph[node[a]! * n + node[b]!] = fit.graphClosure.data[a * n + b]!;
  }
  const estimate = crl.transitiveClosure({ data: graph, shape: [n, n] });
  const truth = crl.transitiveClosure(sim.graph);
  const cmp = crl.compareGraphs(truth, estimate);
  const mixing = crl.effectiveMixingError(
    { data: encoder, shape: [n, d] },
    sim.transform.decoder,
    crl.allowedPattern(sim.graph, false),
    0.05,
  );
  const shd = cmp.falsePositives + cmp.falseNegatives;
  // The next trial's arrays are written into this one's memory.
  crl.release(sim, dsx);
  return {
    shd,
    precision: cmp.precision,
    recall: cmp.recall,
    encoderError: mixing.offPatternSpectralNorm,
    correct: shd === 0,
    trueEdges: count(truth),
    estimatedEdges: count(estimate),
    incorrectMixing: mixing.incorrectCount,
  };
}

function count(a: NDArray): number {
  let s = 0;
  for (const v of a.data) s += v;
  return s;
}

/** The stage LSCALE-I identifies with the cell's interventions, as graph and MCC. */
export interface LscaleStageScores {
  /** n×n 0/1 estimated graph (latent m = environment m+1). */
  graph: NDArray;
  mcc: number;
  /** ℓ_scale (hard stage) or ℓ_pa (soft stage): see `LscaleTrialStage.mixingLoss`. */
  mixingLoss: number;
}

/**
 * Sweep metrics of an LSCALE-I trial from the true graph and each stage's graph (all in the
 * environments' labelling) and MCCs. Soft interventions identify the graph up to transitive
 * closure: `shd` is the closure SHD and precision/recall are on closure edges. Hard ones identify
 * the DAG: `shd` is its SHD, and the soft stage's closure SHD and MCC are kept as `closureShd`,
 * `closureMcc`. `encoderError` is 1 − MCC of the reported stage.
 */
export function lscaleMetrics(crl: Backend, truth: NDArray, soft: LscaleStageScores, hard: LscaleStageScores | undefined): TrialMetrics {
  const truthClosure = crl.transitiveClosure(truth);
  const softClosure = crl.transitiveClosure(soft.graph);
  const softCmp = crl.compareGraphs(truthClosure, softClosure);
  const main = hard ? crl.compareGraphs(truth, hard.graph) : softCmp;
  const mcc = hard ? hard.mcc : soft.mcc;
  const metrics: TrialMetrics = {
    shd: main.shd,
    precision: main.precision,
    recall: main.recall,
    encoderError: 1 - mcc,
    correct: main.shd === 0,
    mcc,
    mixingLoss: (hard ?? soft).mixingLoss,
    // Edges of the compared graphs: closures (soft) or the DAGs (hard).
    trueEdges: count(hard ? truth : truthClosure),
    estimatedEdges: count(hard ? hard.graph : softClosure),
  };
  if (hard) {
    metrics.closureShd = softCmp.shd;
    metrics.closureMcc = soft.mcc;
  }
  return metrics;
}

/** ẑ = x0 · encoderᵀ (N×n) for x0 N×d and encoder n×d. */
function encode(x0: NDArray, encoder: NDArray): NDArray {
  const [N, d] = x0.shape as [number, number];
  const n = encoder.shape[0]!;
  const out = new Float64Array(N * n);
  for (let i = 0; i < N; i++) {
    const row = i * d;
    for (let t = 0; t < n; t++) {
      let s = 0;
      const e = t * d;
      for (let j = 0; j < d; j++) s += x0.data[row + j]! * encoder.data[e + j]!;
      out[i * n + t] = s;
    }
  }
  return { data: out, shape: [N, n] };
}

/**
 * LSCALE-I trial on materialised data: lscale({ x, dsx }) (Gaussian plug-in: { x, scores }) with
 * the cell's intervention type and the default edge rule ('regression' when the scores are learned);
 * MCC on the observational samples; metrics as `lscaleMetrics`.
 */
export function lscaleMaterialised(crl: Backend, cell: Cell, seed: number): TrialMetrics {
  const sim = simulateCell(crl, cell, seed);
  const options = { intervention: cell.intervention };
  const dsx = cell.estimator === 'gaussian' ? undefined : cellScoreDifferences(crl, cell, sim, seed);
  const r = dsx ? crl.lscale({ x: sim.x!, dsx }, options) : crl.lscale({ x: sim.x!, scores: 'gaussian' }, options);
  const truth = relabelGraph(sim.graph, interventionNodes(sim));
  const x0 = sliceFirst(sim.x!, 0);
  const z0 = sliceFirst(sim.z!, 0);
  const mcc = (encoder: NDArray) => crl.meanCorrelationCoefficient(z0, encode(x0, encoder)).mcc;
  // The true decoder's columns in the environments' labelling (latent m = node of environment m+1).
  const node = interventionNodes(sim);
  const [d, n] = sim.transform.decoder.shape as [number, number];
  const decoder = { data: new Float64Array(d * n), shape: [d, n] };
  for (let i = 0; i < d; i++) for (let m = 0; m < n; m++) decoder.data[i * n + m] = sim.transform.decoder.data[i * n + node[m]!]!;
  const mixingLoss = (encoder: NDArray, allowed: NDArray) => crl.effectiveMixingError(encoder, decoder, allowed).offPatternSpectralNorm;
  const soft = { graph: r.soft.graph, mcc: mcc(r.soft.encoder), mixingLoss: mixingLoss(r.soft.encoder, crl.allowedPattern(truth, false)) };
  const hard = r.hard
    ? {
        graph: r.hard.graph,
        mcc: mcc(r.hard.encoder),
        mixingLoss: mixingLoss(r.hard.encoder, crl.allowedPattern({ data: new Float64Array(n * n), shape: [n, n] }, false)),
      }
    : undefined;
  crl.release(sim, dsx);
  return lscaleMetrics(crl, truth, soft, hard);
}
