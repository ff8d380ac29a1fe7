// A stand-in for the sweep worker (src/sweep/worker.ts) in tests of the
// sweep machinery: metrics are a deterministic function of the trial's seed
// and cell, a trial whose seed is divisible by 7 throws, and FAKE_TRIAL_DELAY_MS
// slows every trial down.
import { createHash } from 'node:crypto';

export function fakeMetrics(task) {
  const h = createHash('sha256').update(`${task.seed}|${task.cell.samples}`).digest();
  const shd = h[0] % 4;
  return {
    shd,
    precision: h[1] / 255,
    recall: h[2] / 255,
    encoderError: h[3] / 2550,
    correct: shd === 0,
  };
}

export default async function run(task) {
  const delay = Number(process.env.FAKE_TRIAL_DELAY_MS ?? 0);
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  if (task.seed % 7 === 0) return { status: 'error', error: `fake failure for seed ${task.seed}`, ms: 0, backend: 'fake' };
  return { status: 'ok', metrics: fakeMetrics(task), ms: 0, backend: 'fake' };
}
