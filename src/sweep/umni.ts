/**
 * Sweep trials of UMNI-CRL (multi-node design): the fused core trial `umniTrial` on the cell's
 * setting, its metrics in the sweep's form. `shd` is the closure SHD with soft interventions and
 * the SHD of the DAG with hard ones (what each identifies); `encoderError` is the spectral norm of
 * the unit-row effective mixing outside the identifiable pattern (ancestors + identity soft,
 * identity hard). κ = 2, tolCi = 0.05; the cell's tolEigv is UMNI-CRL's eigenvalue threshold
 * (the reference experiment uses 0.05).
 */
import type { Backend } from '../backend.js';
import { plainEstimator, type Cell } from './config.js';
import type { TrialMetrics } from './store.js';

export function umniTrialMetrics(crl: Backend, cell: Cell, seed: number): TrialMetrics {
  const r = crl.umniTrial(
    {
      n: cell.n,
      d: cell.d,
      samples: cell.samples,
      density: cell.density,
      randomOrder: cell.randomOrder,
      intervention: cell.intervention,
      factor: cell.factor,
      scaleDecoder: cell.scaleDecoder,
      scores: plainEstimator(cell),
      tolEigv: cell.tolEigv,
    },
    seed,
  );
  const main = r.hard ?? r.soft;
  const metrics: TrialMetrics = {
    shd: main.shd,
    precision: main.precision,
    recall: main.recall,
    encoderError: main.offPatternNorm,
    correct: main.shd === 0,
    mcc: main.mcc,
    incorrectMixing: main.incorrectMixing,
    incorrectMixingRatio: main.incorrectMixingRatio,
    candidates: r.stats.candidates,
  };
  if (r.hard) {
    metrics.closureShd = r.soft.shd;
    metrics.closureMcc = r.soft.mcc;
  }
  return metrics;
}
