/**
 * One sweep trial on a backend: the fused core trial where one covers the cell (simulate →
 * estimate → algorithm → metrics on moments), else the materialised path (simulated arrays,
 * learned or exact score differences, the algorithm on them).
 */
import type { Backend } from '../backend.js';
import { trial } from '../ops/trial.js';
import { fusedTrial, plainEstimator, type Cell } from './config.js';
import type { TrialMetrics } from './store.js';
import { gscaleTrialMetrics } from './gscale.js';
import { lscaleTrialMetrics } from './lscale.js';
import { finiteSampleMaterialised } from './materialised.js';
import { umniTrialMetrics } from './umni.js';

export function runTrial(crl: Backend, cell: Cell, seed: number): TrialMetrics {
  const { algorithm, ...rest } = cell;
  if (algorithm === 'umni') return umniTrialMetrics(crl, cell, seed);
  if (algorithm === 'gscale') return gscaleTrialMetrics(crl, cell, seed);
  if (algorithm === 'lscale') return lscaleTrialMetrics(crl, cell, seed);
  if (!fusedTrial(cell)) return finiteSampleMaterialised(crl, cell, seed);
  const result = trial(crl.engine, { ...rest, estimator: plainEstimator(cell), algorithm }, seed);
  return { ...result };
}
