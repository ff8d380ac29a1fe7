// Graphs over identified latents from the samples of every environment: interventionalGraph and
// GSCALE-I's gscaleEnvironmentGraph (docs/gscale.md#graphs-from-the-environments), on both backends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, backend } from './helpers/backends.js';
import type { Backend } from '../src/backend.js';
import { gscalePairs } from '../src/index.js';
import type { NDArray } from '../src/types.js';

/** The true DAG in GSCALE-I's pair labels (pair i = the node its environments intervene). */
function truthInPairLabels(sim: { graph: NDArray; targets: NDArray }, n: number): NDArray {
  const K = sim.targets.shape[1]!;
  const node = Array.from({ length: n }, (_, i) => {
    for (let k = 0; k < n; k++) if (sim.targets.data[k * K + i] === 1) return k;
    throw new Error(`pair ${i} has no target`);
  });
  const data = new Float64Array(n * n);
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) data[a * n + b] = sim.graph.data[node[a]! * n + node[b]!]!;
  return { data, shape: [n, n] };
}

describe.each(BACKENDS)('interventionalGraph (%s)', (name) => {
  let crl: Backend;
  beforeAll(async () => {
    crl = await backend(name);
  });
  afterAll(async () => {
    await crl.close();
  });

  it('GSCALE-I: the environments give the DAG, its order and each edge test', () => {
    const n = 3;
    const d = 10;
    const M = 4000;
    const sim = crl.simulate({
      n,
      d,
      samples: M,
      seed: 5,
      latent: 'quadratic',
      randomOrder: true,
      design: 'two-hard-per-node',
      intervention: 'hard',
      varianceFactors: [0.25, 4],
      transform: 'tanh',
      outputs: { z: true, x: true, dsx: true },
    });
    const points = 300;
    const x0 = { data: sim.x!.data.slice(0, points * d), shape: [points, d] };
    const dsx = sim.dsx!;
    const K = dsx.shape[0]!;
    const pick = { data: new Float64Array(K * points * d), shape: [K, points, d] };
    for (let k = 0; k < K; k++) pick.data.set(dsx.data.subarray(k * M * d, k * M * d + points * d), k * points * d);
    const r = crl.gscale({ x: x0, ...gscalePairs(pick) });
    const truth = truthInPairLabels(sim, n);
    const g = crl.gscaleEnvironmentGraph(r.model, sim.x!);
    expect(crl.compareGraphs(truth, g.graph).shd).toBe(0);
    expect(g.level).toBeCloseTo(0.01 / 3, 15);
    const at = new Map(g.order.map((v, i) => [v, i]));
    for (let j = 0; j < n; j++)
      for (let m = 0; m < n; m++) {
        const p = g.pValue.data[j * n + m]!;
        if (at.get(j)! >= at.get(m)!) {
          expect(Number.isNaN(p)).toBe(true);
          expect(g.graph.data[j * n + m]).toBe(0);
        } else {
          expect(g.graph.data[j * n + m]).toBe(p < g.level ? 1 : 0);
          expect(g.margin.data[j * n + m]).toBeCloseTo(Math.log10(g.level) - Math.log10(Math.max(p, 1e-300)), 9);
        }
      }
    expect(g.unmixing.shape).toEqual([n, n]);
    crl.release(sim);
  });

  it('bad inputs are errors naming the argument', () => {
    const latents = { data: new Float64Array(4 * 10 * 3).map((_, i) => Math.sin(i * 1.7)), shape: [4, 10, 3] };
    expect(() => crl.interventionalGraph(latents, { data: new Float64Array(6), shape: [3, 2] })).toThrow(/'targets' must be n x K = 3 x 3/);
    const targets = { data: Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]), shape: [3, 3] };
    expect(() => crl.interventionalGraph(latents, targets, { edgeLevel: 0 })).toThrow(/'edgeLevel'/);
    expect(() => crl.interventionalGraph(latents, targets, { edgeLevel: '0.1' as never })).toThrow(/'edgeLevel' must be a number/);
    expect(() => crl.interventionalGraph(latents, { data: new Float64Array(9), shape: [3, 3] })).toThrow(
      /latent 0 has no intervening environment/,
    );
    const model = { family: 'glm' as const, n: 2, d: 4, hidden: 0, clampEpsilon: 1e-12, parameters: new Float64Array(8).fill(0.1) };
    expect(() => crl.gscaleEnvironmentGraph(model, { data: new Float64Array(3 * 5 * 4), shape: [3, 5, 4] })).toThrow(
      /two hard interventions per latent, 2n \+ 1 = 5 environments, got 3/,
    );
  });
});
