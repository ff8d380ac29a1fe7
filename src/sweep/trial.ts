/** One sweep trial on a backend: the fused core trial (simulate → estimate → algorithm → metrics). */
import type { Backend } from '../backend.js';
import { trial } from '../ops/trial.js';
import { plainEstimator, type Cell } from './config.js';
import type { TrialMetrics } from './store.js';
import { gscaleTrialMetrics } from './gscale.js';
import { umniTrialMetrics } from './umni.js';

export function runTrial(crl: Backend, cell: Cell, seed: number): TrialMetrics {
  const { algorithm, ...rest } = cell;
  if (algorithm === 'umni') return umniTrialMetrics(crl, cell, seed);
  if (algorithm === 'gscale') return gscaleTrialMetrics(crl, cell, seed);
  const result = trial(crl.engine, { ...rest, estimator: plainEstimator(cell), algorithm }, seed);
  return { ...result };
}
