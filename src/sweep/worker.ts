/**
 * The sweep's worker module (run by piscina in a worker thread): loads a
 * backend once (native, or WASM when native is unavailable), limits it to one
 * thread (the pool provides the parallelism) and runs trials.
 */
import { workerData } from 'node:worker_threads';
import type { Backend } from '../backend.js';
import { loadBackend } from '../backend/load.js';
import type { TrialOutcome, TrialTask, WorkerData } from './task.js';
import { runTrial } from './trial.js';

let backend: Promise<Backend> | undefined;

function getBackend(): Promise<Backend> {
  backend ??= (async () => {
    const data = (workerData ?? {}) as Partial<WorkerData>;
    const crl = await loadBackend({ backend: data.backend ?? 'auto' });
    crl.setThreads(1);
    return crl;
  })();
  return backend;
}

/** Runs one trial. Rejects only if the backend cannot be loaded; a failing trial resolves with status 'error'. */
export default async function runTask(task: TrialTask): Promise<TrialOutcome> {
  const crl = await getBackend();
  const started = performance.now();
  try {
    const metrics = runTrial(crl, task.cell, task.seed);
    return { status: 'ok', metrics, ms: performance.now() - started, backend: crl.name };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { status: 'error', error: message, ms: performance.now() - started, backend: crl.name };
  }
}
