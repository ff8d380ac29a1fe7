// What the page can run, adapted to the methods the loaded core provides:
// an algorithm or estimator is offered only when `runner.has(...)` says its
// Backend methods exist. Which algorithms exist, and the design, transform and
// interventions of each, come from the library's list (src/algorithms.ts);
// this module adds how the page runs each one.
import { gscalePairs, type CallOptions, type NDArray, type Timed, type UmniResult } from 'scorecrl';
import { ALGORITHMS as SPECS, type AlgorithmId, type Design, type Intervention, type Transform } from '../../src/algorithms.js';
import { rows, type Matrix } from './matrix.js';

export type { Intervention };

/**
 * The slice of a backend the pipeline uses: a browser backend (calls run in
 * its worker) or, in tests, a Node backend wrapped the same way.
 */
export interface Runner {
  has(method: string): boolean;
  /** The core's operation table. */
  ops(): string[];
  /** Methods `estimateScoreDifferences` accepts. */
  scoreEstimators(): string[];
  timed(method: string, args: unknown[], options?: CallOptions): Promise<Timed<unknown>>;
}

/** An estimate in the algorithm's own labelling of the latents. */
export interface Fit {
  /** n x d linear encoder: ẑ = encoder · x (linear-transform algorithms). */
  encoder?: Matrix;
  /** N x n estimated latents of the observational samples (algorithms with a nonlinear encoder). */
  latents?: NDArray;
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
  /** Backend methods it needs, and the core operations behind them. */
  methods: string[];
  ops: string[];
  /** Simulation design the algorithm's assumptions call for. */
  design: Design;
  /** Transform of the simulation. */
  transform: Transform;
  interventions: readonly Intervention[];
  fit(runner: Runner, data: { x: NDArray; dsx: NDArray }, intervention: Intervention, options: CallOptions): Promise<Timed<Fit>>;
}

export interface Estimator {
  id: string;
  label: string;
  methods: string[];
  ops: string[];
  /** The `estimateScoreDifferences` method it needs registered. */
  scoreMethod?: string;
  /** Analytic score differences from the simulation (no estimation). */
  exact?: boolean;
  estimate?(runner: Runner, x: NDArray, seed: number, options: CallOptions): Promise<Timed<NDArray>>;
}

function mapped<T, U>(t: Timed<T>, f: (value: T) => U): Timed<U> {
  return { ...t, value: f(t.value) };
}

/** How the page runs an algorithm, and how it names it. */
type PageFit = Pick<Algorithm, 'label' | 'fit'>;

/** The algorithms the page runs, by id (the page offers no finite-sample fit). */
const PAGE_FITS: Partial<Record<AlgorithmId, PageFit>> = {
  lscale: {
    label: 'LSCALE-I (linear transform, one intervention per node)',
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
  umni: {
    label: 'UMNI-CRL (linear transform, unknown multi-node interventions)',
    async fit(runner, data, intervention, options) {
      const t = (await runner.timed('umni', [data, { intervention }], options)) as Timed<UmniResult>;
      return mapped(t, (r) =>
        r.hard
          ? { encoder: rows(r.hard.encoder), graph: rows(r.hard.graph), kind: 'dag' as const, note: 'latents up to scaling, exact DAG' }
          : {
              encoder: rows(r.encoder),
              graph: rows(r.graphClosure),
              kind: 'closure' as const,
              note: 'latents up to ancestors, transitive closure',
            },
      );
    },
  },
  gscale: {
    label: 'GSCALE-I (nonlinear transform x = tanh(Tz), two hard interventions per node)',
    async fit(runner, data, _intervention, options) {
      const input = gscaleInputs(data.x, data.dsx);
      const transfer = [input.x.data.buffer, input.dsxPairs.data.buffer, input.dsxObs.data.buffer] as ArrayBuffer[];
      const t = (await runner.timed('gscale', [input], { ...options, transfer })) as Timed<GscaleFit>;
      return mapped(t, (r) => {
        if (!r.graph) throw new Error('gscale returned no graph');
        return {
          latents: r.latents,
          graph: rows(r.graph),
          kind: 'dag' as const,
          note: `latents up to element-wise invertible maps, exact DAG (${r.iterations} iterations${r.converged ? '' : ', not converged'})`,
        };
      });
    },
  },
};

/** The library's algorithms the page runs, with the design, transform and interventions each takes. */
export const ALGORITHMS: Algorithm[] = SPECS.flatMap((spec) => {
  const page = PAGE_FITS[spec.id];
  if (!page) return [];
  return [
    {
      id: spec.id,
      label: page.label,
      methods: [spec.op],
      ops: [spec.op],
      design: spec.design,
      transform: spec.transforms[0]!,
      interventions: spec.interventions,
      fit: page.fit,
    },
  ];
});

/** An estimator of `estimateScoreDifferences` (dsx at the observational samples, learned from x). */
function scoreEstimator(method: string, label: string, op: string): Estimator {
  return {
    id: method,
    label,
    methods: ['estimateScoreDifferences'],
    ops: [op],
    scoreMethod: method,
    async estimate(runner, x, seed, options) {
      const t = await runner.timed('estimateScoreDifferences', [x, method === 'gaussian' ? { method } : { method, seed }], options);
      return mapped(t, (v) => (v as { dsx: NDArray }).dsx);
    },
  };
}

/** The part of GSCALE-I's result the page shows. */
interface GscaleFit {
  latents: NDArray;
  graph?: NDArray;
  iterations: number;
  converged: boolean;
}

/** GSCALE-I's inputs from the 2n score differences of a two-hard-per-node design (environments n+1.. repeat 1..n). */
function gscaleInputs(x: NDArray, dsx: NDArray): { x: NDArray; dsxPairs: NDArray; dsxObs: NDArray } {
  const [, N, d] = dsx.shape as [number, number, number];
  return { x: { data: x.data.slice(0, N * d), shape: [N, d] }, ...gscalePairs(dsx) };
}

export const ESTIMATORS: Estimator[] = [
  scoreEstimator('gaussian', 'Gaussian plug-in (from samples)', 'gaussianScoreDifferences'),
  scoreEstimator('logistic-quadratic', 'logistic regression, quadratic features (learned)', 'learnedScoreDifferences'),
  scoreEstimator('classifier-mlp', 'MLP classifier (learned)', 'learnedScoreDifferences'),
  scoreEstimator('ssm', 'sliced score matching (learned)', 'learnedScoreDifferences'),
  { id: 'exact', label: 'exact (analytic, from the simulation)', methods: ['simulate'], ops: ['simulate'], exact: true },
];

/** The entries whose Backend methods, core operations and (estimators) registered method this build has. */
export function available<T extends { methods: string[]; ops: string[]; scoreMethod?: string }>(runner: Runner, list: T[]): T[] {
  const registered = runner.scoreEstimators();
  const ops = runner.ops();
  return list.filter(
    (item) =>
      item.methods.every((m) => runner.has(m)) &&
      item.ops.every((op) => ops.includes(op)) &&
      (!item.scoreMethod || registered.includes(item.scoreMethod)),
  );
}

/** What the page's simulation and evaluation need from the core besides the algorithms. */
export const REQUIRED_OPS = [
  'simulate',
  'covariance',
  'linearSumAssignment',
  'compareGraphs',
  'transitiveClosure',
  'allowedPattern',
  'effectiveMixingError',
];
