import type { Cell } from './config.js';
import type { TrialMetrics } from './store.js';

/** What a worker receives: one trial. */
export interface TrialTask {
  id: string;
  cell: Cell;
  seed: number;
}

/** What a worker returns. A trial that throws is an outcome with status 'error', not a rejection. */
export interface TrialOutcome {
  status: 'ok' | 'error';
  metrics?: TrialMetrics;
  error?: string;
  /** Wall time of the trial (ms). */
  ms: number;
  /** Backend that ran it ('native', 'wasm', or a test double's name). */
  backend: string;
}

/** Data given to every worker of the pool. */
export interface WorkerData {
  /** Backend choice: 'native', 'wasm' or 'auto' (native, else WASM). */
  backend: 'native' | 'wasm' | 'auto';
}
