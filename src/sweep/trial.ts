/** One sweep trial on a backend: the fused core trial (simulate → estimate → algorithm → metrics). */
import type { Backend } from '../backend.js';
import { trial } from '../ops/trial.js';
import type { Cell } from './config.js';
import type { TrialMetrics } from './store.js';
import { umniTrialMetrics } from './umni.js';

export function runTrial(crl: Backend, cell: Cell, seed: number): TrialMetrics {
  const { algorithm, ...rest } = cell;
  if (algorithm === 'umni') return umniTrialMetrics(crl, cell, seed);
  const result = trial(crl.engine, { ...rest, algorithm }, seed);
  return { ...result };
}
