import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, backend } from './helpers/backends.js';
import { readReferenceCase, referenceCases, type ReferenceCase } from './helpers/fixtures.js';
import type { Backend } from '../src/backend.js';
import type { NDArray } from '../src/types.js';

const CASES = referenceCases('finite-');
const fixtures = new Map<string, ReferenceCase>(CASES.map((name) => [name, readReferenceCase(name)]));
const fixture = (name: string) => fixtures.get(name)!;

function rows(a: NDArray): number[][] {
  const [r, c] = a.shape as [number, number];
  return Array.from({ length: r }, (_, i) => Array.from(a.data.subarray(i * c, (i + 1) * c)));
}
const dot = (u: number[], v: number[]) => u.reduce((s, x, k) => s + x * v[k]!, 0);
const bits = (a: NDArray) => Array.from(a.data, (v) => (v !== 0 ? 1 : 0));

/** A deterministic pseudo-random stream (tests must not depend on Math.random). */
function stream(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

describe.each(BACKENDS)('finiteSample (%s)', (name) => {
  let b: Backend;
  beforeAll(async () => {
    b = await backend(name);
  });
  afterAll(async () => {
    await b?.close();
  });

  it.each(CASES)('matches the reference on %s', (caseName) => {
    const c = fixture(caseName);
    const a = c.arrays;
    const r = b.finiteSample({ rxs: a.rxs! }, { tolEigv: c.meta.atolEigv, tolOrth: c.meta.atolOrth });
    expect(r.order).toEqual(Array.from(a['expected.order']!.data));
    expect(bits(r.graphClosure)).toEqual(bits(a['expected.graphClosure']!));
    const ref = rows(a['expected.encoder']!);
    rows(r.encoder).forEach((u, i) => {
      const v = ref[i]!;
      expect(Math.abs(dot(u, v)) / Math.sqrt(dot(u, u) * dot(v, v))).toBeGreaterThanOrEqual(0.999);
      expect(Math.sqrt(dot(u, u))).toBeCloseTo(1, 12);
    });
    // The estimate is a transitive closure consistent with the order.
    expect(bits(b.transitiveClosure(r.graphClosure))).toEqual(bits(r.graphClosure));
    const pos = new Map(r.order.map((node, p) => [node, p]));
    rows(r.graphClosure).forEach((row, i) => row.forEach((v, j) => v && expect(pos.get(i)!).toBeLessThan(pos.get(j)!)));
  });

  it('dsx input equals its second moments as rxs', () => {
    // Score differences built so that R_m = E[dsx dsx^T] has a known nested structure.
    const n = 3;
    const d = 5;
    const N = 400;
    const next = stream(11);
    const enc = Array.from({ length: n }, () => Array.from({ length: d }, () => 10 * next()));
    const dsx = new Float64Array(n * N * d);
    // Environment m changes latents {0..m} (a chain 0 -> 1 -> 2 in closure).
    for (let m = 0; m < n; m++)
      for (let t = 0; t < N; t++) {
        const w = Array.from({ length: m + 1 }, next);
        for (let k = 0; k < d; k++) dsx[(m * N + t) * d + k] = w.reduce((s, c, i) => s + c * enc[i]![k]!, 0);
      }
    const data = { data: dsx, shape: [n, N, d] };
    const fromDsx = b.finiteSample({ dsx: data });
    const fromRxs = b.finiteSample({ rxs: b.scoreDiffCovariance(data) });
    expect(fromDsx.order).toEqual(fromRxs.order);
    expect(bits(fromDsx.graphClosure)).toEqual(bits(fromRxs.graphClosure));
    expect(Array.from(fromDsx.encoder.data)).toEqual(Array.from(fromRxs.encoder.data).map((v) => expect.closeTo(v, 10)));
    // Exact nested column spaces: the chain's closure and order are recovered.
    expect(fromDsx.order).toEqual([0, 1, 2]);
    expect(bits(fromDsx.graphClosure)).toEqual([0, 1, 1, 0, 0, 1, 0, 0, 0]);
  });

  it('Gaussian plug-in from samples equals the plug-in score differences as dsx', () => {
    const c = readReferenceCase('lscale-linear-soft-gaussian-n5-d10-s1001');
    const x = c.arrays.x!;
    const fromX = b.finiteSample({ x, scores: 'gaussian' });
    const dsx = b.estimateScoreDifferences(x, { method: 'gaussian' }).dsx;
    const fromDsx = b.finiteSample({ dsx });
    expect(fromX.order).toEqual(fromDsx.order);
    expect(bits(fromX.graphClosure)).toEqual(bits(fromDsx.graphClosure));
    const u = rows(fromX.encoder);
    rows(fromDsx.encoder).forEach((v, i) => expect(Math.abs(dot(u[i]!, v))).toBeCloseTo(1, 8));
  });

  it('tolerances change the decisions as documented', () => {
    const c = fixture('finite-n5-d15-s1051');
    // tolOrth = 0: no approximate orthogonality passes (estimated moments), so no edges.
    const none = b.finiteSample({ rxs: c.arrays.rxs! }, { tolEigv: 0.01, tolOrth: 0 });
    expect(bits(none.graphClosure).every((v) => v === 0)).toBe(true);
    // tolOrth >= 1 accepts every test: the closure of the order (a complete DAG).
    const all = b.finiteSample({ rxs: c.arrays.rxs! }, { tolEigv: 0.01, tolOrth: 1.5 });
    expect(bits(all.graphClosure).reduce<number>((s, v) => s + v, 0)).toBe(10);
  });

  it('rejects bad inputs with clear errors', () => {
    const c = fixture('finite-n3-d3-s1050');
    const rxs = c.arrays.rxs!;
    expect(() => b.finiteSample({ rxs }, { tolOrth: -1 })).toThrow(/'tolOrth' must be a finite number >= 0/);
    expect(() => b.finiteSample({ rxs, dsx: rxs } as any)).toThrow(/exactly one of/);
    expect(() => b.finiteSample({ x: rxs } as any)).toThrow(/scores: 'gaussian'/);
    const wide = { data: new Float64Array(4 * 3 * 3), shape: [4, 3, 3] };
    for (let k = 0; k < 4; k++) for (let i = 0; i < 3; i++) wide.data[k * 9 + i * 4] = 1;
    expect(() => b.finiteSample({ rxs: wide })).toThrow(/n = 4 environments exceed d = 3/);
    const asym = { data: rxs.data.slice(), shape: rxs.shape };
    asym.data[1] += 1;
    expect(() => b.finiteSample({ rxs: asym })).toThrow(/not symmetric/);
    const nan = { data: rxs.data.slice(), shape: rxs.shape };
    nan.data[0] = NaN;
    expect(() => b.finiteSample({ rxs: nan })).toThrow(/'rxs' contains NaN/);
  });
});
