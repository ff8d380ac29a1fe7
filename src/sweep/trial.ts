/** One sweep trial on a backend: the fused core trial (simulate → estimate → algorithm → metrics). */
import type { Backend } from '../backend.js';
import { trial } from '../ops/trial.js';
import type { Cell } from './config.js';
import type { TrialMetrics } from './store.js';

export function runTrial(crl: Backend, cell: Cell, seed: number): TrialMetrics {
  const result = trial(crl.engine, cell, seed);
  return { ...result };
}
