// One demo run: simulate → estimate score differences → fit → evaluate. The
// page runs it on a browser backend; tests run the same code on Node backends.
import type { CallOptions, NDArray, Simulation, SimulationConfig, Timed } from 'scorecrl';
import { ALGORITHMS, ESTIMATORS, type Fit, type Intervention, type Runner } from './algorithms.js';
import { evaluateFit, type Evaluation } from './evaluate.js';

export interface Settings {
  n: number;
  d: number;
  samples: number;
  seed: number;
  latent: 'linear' | 'quadratic' | 'mlp';
  intervention: Intervention;
  /** An id of ESTIMATORS. */
  estimator: string;
  /** An id of ALGORITHMS. */
  algorithm: string;
}

export interface Timing {
  stage: string;
  /** Time seen by the caller (page thread), ms. */
  ms: number;
  /** Time spent computing in the worker, ms. */
  workerMs?: number;
}

export interface Outcome {
  /** On a browser backend, `x` and `dsx` were handed to the worker for the fit (their buffers are detached). */
  simulation: Simulation;
  fit: Fit;
  evaluation: Evaluation;
  timings: Timing[];
}

export interface Hooks {
  signal?: AbortSignal;
  /** A stage starts (index of `count`). */
  onStage?: (stage: string, index: number, count: number) => void;
  /** Progress reported by the core within a stage. */
  onProgress?: (stage: string, fraction: number, message: string) => void;
}

/** Whether an array's data is a whole ArrayBuffer of its own (so transferring it detaches nothing else). */
function ownsBuffer(a: NDArray): boolean {
  return a.data.buffer instanceof ArrayBuffer && a.data.byteOffset === 0 && a.data.byteLength === a.data.buffer.byteLength;
}

/** [x0 | z0]: observational samples of both, side by side (N x (d+n)). */
export function joinObservational(x: NDArray, z: NDArray): NDArray {
  const [, N, d] = x.shape as [number, number, number];
  const n = z.shape[2]!;
  const out = new Float64Array(N * (d + n));
  for (let i = 0; i < N; i++) {
    out.set(x.data.subarray(i * d, (i + 1) * d), i * (d + n));
    out.set(z.data.subarray(i * n, (i + 1) * n), i * (d + n) + d);
  }
  return { data: out, shape: [N, d + n] };
}

/**
 * Rough peak of the worker's memory for a run (bytes): the samples of every environment, the
 * score differences, and the copies made while they cross into the WebAssembly heap.
 */
export function workingSetBytes(settings: Settings): number {
  const algorithm = ALGORITHMS.find((a) => a.id === settings.algorithm);
  const K = algorithm?.design === 'two-hard-per-node' ? 2 * settings.n : settings.n;
  const x = (K + 1) * settings.samples * settings.d * 8;
  const dsx = K * settings.samples * settings.d * 8;
  return 2 * (x + dsx);
}

/** WebAssembly memory is capped at 2 GiB; leave room for the rest. */
export const MAX_WORKING_SET = 1.5 * 2 ** 30;

export function stagesOf(settings: Settings): string[] {
  const estimator = ESTIMATORS.find((e) => e.id === settings.estimator);
  return ['simulate', ...(estimator?.exact ? [] : ['estimate']), 'fit', 'evaluate'];
}

export async function runPipeline(runner: Runner, settings: Settings, hooks: Hooks = {}): Promise<Outcome> {
  const { n, d, samples, seed, latent, intervention } = settings;
  const algorithm = ALGORITHMS.find((a) => a.id === settings.algorithm);
  const estimator = ESTIMATORS.find((e) => e.id === settings.estimator);
  if (!algorithm) throw new RangeError(`unknown algorithm '${settings.algorithm}'`);
  if (!estimator) throw new RangeError(`unknown estimator '${settings.estimator}'`);
  if (d < n) throw new RangeError(`observed d (${d}) must be at least n (${n})`);
  const bytes = workingSetBytes(settings);
  if (bytes > MAX_WORKING_SET) {
    throw new RangeError(
      `n=${n}, d=${d}, N=${samples} needs about ${(bytes / 2 ** 30).toFixed(1)} GiB in the worker (WebAssembly memory is limited to 2 GiB): reduce N or d`,
    );
  }
  const stages = stagesOf(settings);
  const timings: Timing[] = [];
  const started = performance.now();
  const stage = (name: string): CallOptions => {
    hooks.onStage?.(name, stages.indexOf(name), stages.length);
    return { signal: hooks.signal, onProgress: (fraction, message) => hooks.onProgress?.(name, fraction, message) };
  };

  const config: SimulationConfig = {
    n,
    d,
    samples,
    seed,
    latent,
    intervention,
    design: algorithm.design,
    transform: algorithm.transform,
    outputs: { z: true, x: true, dsx: estimator.exact === true },
  };
  const sim = (await runner.timed('simulate', [config], stage('simulate'))) as Timed<Simulation>;
  timings.push({ stage: 'simulate', ms: sim.ms, workerMs: sim.workerMs });
  const x = sim.value.x!;

  let dsx = sim.value.dsx;
  if (!estimator.exact) {
    const est = await estimator.estimate!(runner, x, seed, stage('estimate'));
    timings.push({ stage: 'estimate', ms: est.ms, workerMs: est.workerMs });
    dsx = est.value;
  }

  // The fit is the last use of x and dsx on the page (evaluation needs only [x0 | z0]):
  // hand their buffers to the worker instead of copying them.
  const x0z0 = algorithm.transform !== 'linear' ? undefined : joinObservational(x, sim.value.z!);
  const transfer = [x, dsx!].filter(ownsBuffer).map((a) => a.data.buffer as ArrayBuffer);
  const fit = await algorithm.fit(runner, { x, dsx: dsx! }, intervention, { ...stage('fit'), transfer });
  timings.push({ stage: 'fit', ms: fit.ms, workerMs: fit.workerMs });

  const evalOptions = stage('evaluate');
  const evalStart = performance.now();
  const evaluation = await evaluateFit(runner, sim.value, fit.value, x0z0, evalOptions);
  timings.push({ stage: 'evaluate', ms: performance.now() - evalStart, workerMs: evaluation.workerMs });
  timings.push({
    stage: 'total',
    ms: performance.now() - started,
    workerMs: timings.reduce((a, t) => a + (t.workerMs ?? 0), 0),
  });
  return { simulation: sim.value, fit: fit.value, evaluation, timings };
}
