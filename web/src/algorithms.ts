// What the page can run, adapted to the methods the loaded core provides:
// an algorithm or estimator is offered only when `runner.has(...)` says its
// Backend methods exist.
import type { CallOptions, NDArray, Timed, UmniResult } from 'scorecrl';
import { rows, type Matrix } from './evaluate.js';

export type Intervention = 'hard' | 'soft';

/**
 * The slice of a backend the pipeline uses: a browser backend (calls run in
 * its worker) or, in tests, a Node backend wrapped the same way.
 */
export interface Runner {
  has(method: string): boolean;
  /** Methods `estimateScoreDifferences` accepts. */
  scoreEstimators(): string[];
  timed(method: string, args: unknown[], options?: CallOptions): Promise<Timed<unknown>>;
}

/** An estimate in the algorithm's own labelling of the latents. */
export interface Fit {
  /** n x d encoder: ẑ = encoder · x. */
  encoder: Matrix;
  /** n x n 0/1 graph (edge i → j at [i][j]). */
  graph: Matrix;
  /** 'dag': the exact DAG is claimed; 'closure': the graph up to ancestors (transitive closure). */
  kind: 'dag' | 'closure';
  /** What the result identifies. */
  note: string;
}

export interface Algorithm {
  id: string;
  label: string;
  /** Backend methods it needs. */
  methods: string[];
  /** Simulation design the algorithm's assumptions call for. */
  design: 'single-node' | 'multi-node' | 'two-hard-per-node';
  /** Transform of the simulation (default 'linear'). */
  transform?: 'linear' | 'tanh' | 'tanh-mlp';
  interventions: Intervention[];
  fit(runner: Runner, data: { x: NDArray; dsx: NDArray }, intervention: Intervention, options: CallOptions): Promise<Timed<Fit>>;
}

export interface Estimator {
  id: string;
  label: string;
  methods: string[];
  /** The `estimateScoreDifferences` method it needs registered. */
  scoreMethod?: string;
  /** Analytic score differences from the simulation (no estimation). */
  exact?: boolean;
  estimate?(runner: Runner, x: NDArray, seed: number, options: CallOptions): Promise<Timed<NDArray>>;
}

function mapped<T, U>(t: Timed<T>, f: (value: T) => U): Timed<U> {
  return { ...t, value: f(t.value) };
}

export const ALGORITHMS: Algorithm[] = [
  {
    id: 'lscale',
    label: 'LSCALE-I (linear transform, one intervention per node)',
    methods: ['lscale'],
    design: 'single-node',
    interventions: ['hard', 'soft'],
    async fit(runner, data, intervention, options) {
      const t = await runner.timed('lscale', [data, { intervention }], options);
      return mapped(t, (value) => {
        const r = value as Record<string, { encoder: NDArray; graph: NDArray } | undefined>;
        const stage = intervention === 'hard' ? (r.hard ?? r.soft) : r.soft;
        if (!stage) throw new Error('lscale returned no stage result');
        return {
          encoder: rows(stage.encoder),
          graph: rows(stage.graph),
          kind: intervention === 'hard' && r.hard ? 'dag' : 'closure',
          note: intervention === 'hard' ? 'latents up to scaling, exact DAG' : 'latents up to ancestors, transitive closure',
        };
      });
    },
  },
  {
    id: 'umni',
    label: 'UMNI-CRL (linear transform, unknown multi-node interventions)',
    methods: ['umni'],
    design: 'multi-node',
    interventions: ['hard', 'soft'],
    async fit(runner, data, intervention, options) {
      const t = (await runner.timed('umni', [data, { intervention }], options)) as Timed<UmniResult>;
      return mapped(t, (r) =>
        r.hard
          ? { encoder: rows(r.hard.encoder), graph: rows(r.hard.graph), kind: 'dag' as const, note: 'latents up to scaling, exact DAG' }
          : { encoder: rows(r.encoder), graph: rows(r.graphClosure), kind: 'closure' as const, note: 'latents up to ancestors, transitive closure' },
      );
    },
  },
];

/** An estimator of `estimateScoreDifferences` (dsx at the observational samples, learned from x). */
function scoreEstimator(method: string, label: string): Estimator {
  return {
    id: method,
    label,
    methods: ['estimateScoreDifferences'],
    scoreMethod: method,
    async estimate(runner, x, seed, options) {
      const t = await runner.timed('estimateScoreDifferences', [x, method === 'gaussian' ? { method } : { method, seed }], options);
      return mapped(t, (v) => (v as { dsx: NDArray }).dsx);
    },
  };
}

export const ESTIMATORS: Estimator[] = [
  scoreEstimator('gaussian', 'Gaussian plug-in (from samples)'),
  scoreEstimator('logistic-quadratic', 'logistic regression, quadratic features (learned)'),
  scoreEstimator('classifier-mlp', 'MLP classifier (learned)'),
  scoreEstimator('ssm', 'sliced score matching (learned)'),
  { id: 'exact', label: 'exact (analytic, from the simulation)', methods: ['simulate'], exact: true },
];

export function available<T extends { methods: string[]; scoreMethod?: string }>(runner: Runner, list: T[]): T[] {
  const registered = runner.scoreEstimators();
  return list.filter(
    (item) => item.methods.every((m) => runner.has(m)) && (!item.scoreMethod || registered.includes(item.scoreMethod)),
  );
}
