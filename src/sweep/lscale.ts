/**
 * Sweep trials of LSCALE-I (single-node design, linear mixing). With a linear SCM and Gaussian
 * plug-in or exact scores the fused core trial `lscaleTrial` runs on latent moments (no N×d
 * arrays, the data of `scorecrl simulate` for the same seed); other cells (learned estimators,
 * nonlinear latent models, a non-default decoder condition floor or variance change) run
 * materialised (`lscaleMaterialised`). Both report the metrics of `lscaleMetrics`: with soft
 * interventions the closure SHD, with hard ones the SHD of the DAG; `encoderError` = 1 − MCC;
 * `mixingLoss` is the paper's ℓ_scale (hard) or ℓ_pa (soft).
 * The default edge rule is used (adaptive for exact and plug-in scores, regression for learned
 * ones, which come with samples; docs/lscale.md, "Edge rules"); `tolEigv`/`tolOrth` are not used.
 */
import type { Backend } from '../backend.js';
import { fusedTrial, type Cell } from './config.js';
import { lscaleMaterialised, lscaleMetrics } from './materialised.js';
import type { TrialMetrics } from './store.js';

/** The fused LSCALE-I trial of a cell (see `fusedTrial`). */
export function lscaleFusedMetrics(crl: Backend, cell: Cell, seed: number): TrialMetrics {
  if (!fusedTrial(cell))
    throw new Error(`lscale: the fused trial does not cover this cell (latent ${cell.latent}, estimator ${cell.estimator})`);
  const r = crl.lscaleTrial({
    seed,
    n: cell.n,
    d: cell.d,
    samples: cell.samples,
    density: cell.density,
    factor: cell.factor,
    scaleDecoder: cell.scaleDecoder,
    randomOrder: cell.randomOrder,
    randomInterventionOrder: cell.randomInterventionOrder,
    estimator: cell.estimator as 'gaussian' | 'exact',
    sampling: cell.sampling,
    intervention: cell.intervention,
  });
  const soft = { graph: r.soft.graph, mcc: r.soft.mcc, mixingLoss: r.soft.mixingLoss };
  const hard = r.hard ? { graph: r.hard.graph, mcc: r.hard.mcc, mixingLoss: r.hard.mixingLoss } : undefined;
  return lscaleMetrics(crl, r.graph, soft, hard);
}

export function lscaleTrialMetrics(crl: Backend, cell: Cell, seed: number): TrialMetrics {
  return fusedTrial(cell) ? lscaleFusedMetrics(crl, cell, seed) : lscaleMaterialised(crl, cell, seed);
}
