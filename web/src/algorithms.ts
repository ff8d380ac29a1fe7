// What the page can run, adapted to the methods the loaded core provides:
// an algorithm or estimator appears in the form only when `crl.has(...)` says
// its Backend methods exist.
import type { AsyncOptions, BrowserBackend, NDArray, Timed } from 'scorecrl';
import type { Matrix } from './evaluate.js';

export type Intervention = 'hard' | 'soft';

export function rows(a: NDArray): Matrix {
  const [r, c] = a.shape as [number, number];
  return Array.from({ length: r }, (_, i) => Array.from(a.data.subarray(i * c, (i + 1) * c)));
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
  /** Simulation settings the algorithm's assumptions call for. */
  design: 'single-node' | 'multi-node' | 'two-hard-per-node';
  interventions: Intervention[];
  fit(crl: BrowserBackend, data: { x: NDArray; dsx: NDArray }, intervention: Intervention, options: AsyncOptions): Promise<Timed<Fit>>;
}

export interface Estimator {
  id: string;
  label: string;
  methods: string[];
  /** Analytic score differences from the simulation (no estimation). */
  exact?: boolean;
  estimate?(crl: BrowserBackend, x: NDArray, options: AsyncOptions): Promise<Timed<NDArray>>;
}

/** Calls a Backend method by name (for methods whose typings vary across core versions). */
function call(crl: BrowserBackend, method: string, args: unknown[], options: AsyncOptions): Promise<Timed<unknown>> {
  return (crl.timed as (m: string, a: unknown[], o: AsyncOptions) => Promise<Timed<unknown>>)(method, args, options);
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
    async fit(crl, data, intervention, options) {
      const t = await call(crl, 'lscale', [data, { intervention }], options);
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
    async fit(crl, data, intervention, options) {
      const t = await crl.timed('umni', [data, { intervention }], options);
      return mapped(t, (r) =>
        r.hard
          ? { encoder: rows(r.hard.encoder), graph: rows(r.hard.graph), kind: 'dag' as const, note: 'latents up to scaling, exact DAG' }
          : { encoder: rows(r.encoder), graph: rows(r.graphClosure), kind: 'closure' as const, note: 'latents up to ancestors, transitive closure' },
      );
    },
  },
];

export const ESTIMATORS: Estimator[] = [
  {
    id: 'gaussian',
    label: 'Gaussian plug-in (estimated from samples)',
    methods: ['estimateScoreDifferences'],
    async estimate(crl, x, options) {
      const t = await call(crl, 'estimateScoreDifferences', [x, { method: 'gaussian' }], options);
      return mapped(t, (v) => ((v as { dsx?: NDArray }).dsx ?? (v as NDArray)));
    },
  },
  { id: 'exact', label: 'exact (analytic, from the simulation)', methods: ['simulate'], exact: true },
];

export function available<T extends { methods: string[] }>(crl: BrowserBackend, list: T[]): T[] {
  return list.filter((item) => item.methods.every((m) => crl.has(m)));
}
