/**
 * What `scorecrl fit` reports for every estimated latent of the linear-mixing algorithms
 * (finite-sample, LSCALE-I): how the latent's variance and mean change in the environment that
 * intervenes it, its relatives in the graph, and the table printed for it.
 */
import type { Backend } from '../backend.js';
import type { Environments } from '../io/readers.js';
import type { NDArray } from '../types.js';

export interface LatentSummary {
  latent: string;
  /** The environment that intervenes this latent. */
  environment: string;
  /** Variance of the estimated latent in the observational and in its interventional environment, and their ratio. */
  varianceObservational: number;
  varianceIntervened: number;
  varianceRatio: number;
  /** Mean shift of the estimated latent in its environment, in observational standard deviations. */
  meanShift: number;
  /** Direct causes (LSCALE-I, which identifies the DAG's edges). */
  parents?: string[];
  ancestors: string[];
  descendants: string[];
}

/** Per-environment moments over all rows: centred covariances (K+1)×d×d and means (K+1)×d. */
export interface EnvironmentMoments {
  covariances: NDArray;
  means: NDArray;
}

/** The `environments` of a fit's JSON `input`: each file's label, rows and role (`role(k)` for k ≥ 1; 0 is observational). */
export function describeEnvironments(env: Environments, role: (k: number) => string) {
  return env.labels.map((label, k) => ({ label, rows: env.data[k]!.shape[0], role: k === 0 ? 'observational' : role(k) }));
}

export function environmentMoments(crl: Backend, env: Environments): EnvironmentMoments {
  const d = env.columns.length;
  const K1 = env.data.length;
  const covariances = new Float64Array(K1 * d * d);
  const means = new Float64Array(K1 * d);
  env.data.forEach((a, k) => {
    covariances.set(crl.covariance(a).data, k * d * d);
    const N = a.shape[0]!;
    for (let i = 0; i < N; i++) for (let j = 0; j < d; j++) means[k * d + j] += a.data[i * d + j]!;
    for (let j = 0; j < d; j++) means[k * d + j] /= N;
  });
  return { covariances: { data: covariances, shape: [K1, d, d] }, means: { data: means, shape: [K1, d] } };
}

/** The latent names: z0, z1, ... */
export const latentName = (t: number): string => `z${t}`;

/** A p-value in two significant digits: 0.042, 2.2e-4; below 1e-300 as '<1e-300'. */
export function formatP(p: number): string {
  if (!Number.isFinite(p)) return 'n/a';
  if (p < 1e-300) return '<1e-300';
  return p < 1e-3 ? p.toExponential(1) : p.toPrecision(2);
}

/** The edges of an n×n 0/1 graph (edge i → j at [i][j]) as latent-name pairs, row by row. */
export function graphEdges(graph: NDArray): [string, string][] {
  const n = graph.shape[0]!;
  const edges: [string, string][] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (graph.data[i * n + j] === 1) edges.push([latentName(i), latentName(j)]);
  return edges;
}

/**
 * One summary per latent t (encoder row t; environment t+1 intervenes it): ancestors and
 * descendants from `closure` (n×n 0/1, i→j), parents from `graph` when given.
 */
export function summariseLatents(
  encoder: NDArray,
  moments: EnvironmentMoments,
  labels: string[],
  closure: NDArray,
  graph?: NDArray,
): LatentSummary[] {
  const [n, d] = encoder.shape as [number, number];
  const cov = moments.covariances.data;
  const means = moments.means.data;
  const variance = (k: number, v: Float64Array) => {
    let s = 0;
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) s += v[i]! * cov[k * d * d + i * d + j]! * v[j]!;
    return s;
  };
  const all = Array.from({ length: n }, (_, i) => i);
  const has = (g: NDArray, i: number, j: number) => g.data[i * n + j] === 1;
  return all.map((t) => {
    const row = encoder.data.subarray(t * d, (t + 1) * d);
    const v0 = variance(0, row);
    const vt = variance(t + 1, row);
    let shift = 0;
    for (let j = 0; j < d; j++) shift += row[j]! * (means[(t + 1) * d + j]! - means[j]!);
    return {
      latent: latentName(t),
      environment: labels[t + 1]!,
      varianceObservational: v0,
      varianceIntervened: vt,
      varianceRatio: vt / v0,
      meanShift: shift / Math.sqrt(v0),
      ...(graph ? { parents: all.filter((i) => has(graph, i, t)).map(latentName) } : {}),
      ancestors: all.filter((i) => has(closure, i, t)).map(latentName),
      descendants: all.filter((j) => has(closure, t, j)).map(latentName),
    };
  });
}

/** Prints the per-latent table; the last column lists parents when the summaries have them, else ancestors. */
export function printLatentTable(latents: LatentSummary[]): void {
  const parents = latents.every((l) => l.parents !== undefined);
  const table = [
    ['latent', 'environment', 'var obs', 'var int', 'ratio', 'shift', parents ? 'parents' : 'ancestors'],
    ...latents.map((l) => [
      l.latent,
      l.environment,
      l.varianceObservational.toPrecision(4),
      l.varianceIntervened.toPrecision(4),
      l.varianceRatio.toFixed(3),
      l.meanShift.toFixed(3),
      (parents ? l.parents! : l.ancestors).join(' ') || '-',
    ]),
  ];
  const widths = table[0]!.map((_, j) => Math.max(...table.map((r) => r[j]!.length)));
  for (const r of table)
    console.log(
      r
        .map((c, j) => c.padEnd(widths[j]!))
        .join('  ')
        .trimEnd(),
    );
}
