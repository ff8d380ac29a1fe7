import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, backend } from './helpers/backends.js';
import type { Backend } from '../src/backend.js';
import { fromRows, toRows, type NDArray } from '../src/types.js';

/** Deterministic pseudo-random numbers in [0, 1). */
function stream(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomGraph(n: number, p: number, next: () => number, acyclic: boolean): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i !== j && (!acyclic || i < j) && next() < p ? 1 : 0)));
}

function closure(g: number[][]): number[][] {
  const n = g.length;
  const r = g.map((row) => row.slice());
  for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (r[i]![k] && r[k]![j]) r[i]![j] = 1;
  for (let i = 0; i < n; i++) r[i]![i] = 0;
  return r;
}

function* permutations(n: number): Generator<number[]> {
  // Lexicographic order, as itertools.permutations(range(n)) enumerates them.
  const p = Array.from({ length: n }, (_, i) => i);
  yield p.slice();
  for (;;) {
    let i = n - 2;
    while (i >= 0 && p[i]! > p[i + 1]!) i--;
    if (i < 0) return;
    let j = n - 1;
    while (p[j]! < p[i]!) j--;
    [p[i], p[j]] = [p[j]!, p[i]!];
    p.splice(i + 1, n - i - 1, ...p.slice(i + 1).reverse());
    yield p.slice();
  }
}

/** Brute-force closest DAG: most edges kept, first order in lexicographic enumeration on ties. */
function bruteClosestDag(g: number[][]): { dag: number[][]; order: number[] } {
  const n = g.length;
  let best = -1;
  let bestOrder: number[] = [];
  for (const order of permutations(n)) {
    const pos = new Map(order.map((v, k) => [v, k]));
    let kept = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (g[i]![j] && i !== j && pos.get(i)! < pos.get(j)!) kept++;
    if (kept > best) {
      best = kept;
      bestOrder = order;
    }
  }
  const pos = new Map(bestOrder.map((v, k) => [v, k]));
  return { dag: g.map((row, i) => row.map((v, j) => (v && i !== j && pos.get(i)! < pos.get(j)! ? 1 : 0))), order: bestOrder };
}

const graph = (rows: number[][]): NDArray => fromRows(rows);

describe.each(BACKENDS)('graph utilities and metrics (%s)', (name) => {
  let b: Backend;
  beforeAll(async () => {
    b = await backend(name);
  });
  afterAll(async () => {
    await b?.close();
  });

  it('transitive closure and reduction agree with independent computations', () => {
    const next = stream(3);
    for (let trial = 0; trial < 20; trial++) {
      const n = 2 + (trial % 6);
      const g = randomGraph(n, 0.4, next, true);
      const tc = closure(g);
      expect(toRows(b.transitiveClosure(graph(g)))).toEqual(tc);
      // Reduction: keep i -> j unless a path of length >= 2 exists.
      const two = g.map((row, i) => row.map((_, j) => (g[i]!.some((v, k) => v && tc[k]![j]) ? 1 : 0)));
      const tr = g.map((row, i) => row.map((v, j) => (v && !two[i]![j] ? 1 : 0)));
      expect(toRows(b.transitiveReduction(graph(g)))).toEqual(tr);
      expect(toRows(b.transitiveClosure(b.transitiveReduction(graph(g))))).toEqual(tc);
      expect(b.isDag(graph(g))).toBe(true);
    }
    // Cycles: closure allowed, reduction and topological order refuse.
    const cyclic = graph([
      [0, 1, 0],
      [0, 0, 1],
      [1, 0, 0],
    ]);
    expect(b.isDag(cyclic)).toBe(false);
    expect(toRows(b.transitiveClosure(cyclic))).toEqual([
      [0, 1, 1],
      [1, 0, 1],
      [1, 1, 0],
    ]);
    expect(() => b.transitiveReduction(cyclic)).toThrow(/transitiveReduction.*cycle|acyclic/);
    expect(() => b.topologicalOrder(cyclic)).toThrow(/topologicalOrder/);
  });

  it('topological order takes the lowest-index node without remaining parents', () => {
    const g = [
      [0, 0, 0, 1],
      [0, 0, 1, 0],
      [0, 0, 0, 0],
      [0, 0, 1, 0],
    ];
    expect(b.topologicalOrder(graph(g))).toEqual([0, 1, 3, 2]);
    const next = stream(5);
    for (let trial = 0; trial < 10; trial++) {
      const n = 6;
      // Relabelled random DAG.
      const perm = Array.from({ length: n }, (_, i) => i).sort(() => next() - 0.5);
      const base = randomGraph(n, 0.5, next, true);
      const h = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => base[perm.indexOf(i)]![perm.indexOf(j)]!));
      const order = b.topologicalOrder(graph(h));
      const remaining = new Set(order);
      for (const v of order) {
        const free = [...remaining].filter((u) => ![...remaining].some((w) => h[w]![u]));
        expect(v).toBe(Math.min(...free));
        remaining.delete(v);
      }
    }
  });

  it('closestDag equals brute-force enumeration with the lexicographic tie-break', () => {
    const next = stream(9);
    for (let trial = 0; trial < 25; trial++) {
      const n = 2 + (trial % 5);
      const g = randomGraph(n, 0.5, next, false);
      const expected = bruteClosestDag(g);
      const got = b.closestDag(graph(g));
      expect(got.order).toEqual(expected.order);
      expect(toRows(got.dag)).toEqual(expected.dag);
    }
  });

  it('compareGraphs counts a reversal once; precision and recall on directed edges', () => {
    const truth = graph([
      [0, 1, 1],
      [0, 0, 1],
      [0, 0, 0],
    ]);
    const estimate = graph([
      [0, 0, 1],
      [1, 0, 0],
      [0, 1, 0],
    ]);
    // 0->1 reversed, 1->2 reversed, 0->2 kept.
    expect(b.compareGraphs(truth, estimate)).toEqual({
      shd: 2,
      additions: 0,
      deletions: 0,
      reversals: 2,
      precision: 1 / 3,
      recall: 1 / 3,
      truePositives: 1,
      falsePositives: 2,
      falseNegatives: 2,
    });
    const empty = graph([
      [0, 0],
      [0, 0],
    ]);
    const one = graph([
      [0, 1],
      [0, 0],
    ]);
    expect(b.compareGraphs(empty, one)).toMatchObject({ shd: 1, additions: 1, precision: 0, recall: 1 });
    expect(b.compareGraphs(one, empty)).toMatchObject({ shd: 1, deletions: 1, precision: 1, recall: 0 });
    expect(() => b.compareGraphs(one, graph([[0]]))).toThrow(/compareGraphs/);
  });

  it('linearSumAssignment is optimal (brute force) for minimisation and maximisation', () => {
    const next = stream(21);
    for (let trial = 0; trial < 15; trial++) {
      const r = 1 + (trial % 4);
      const c = r + (trial % 2);
      const cost = Array.from({ length: r }, () => Array.from({ length: c }, () => Math.round(next() * 20) / 2));
      for (const maximize of [false, true]) {
        let best = maximize ? -Infinity : Infinity;
        for (const perm of permutations(c)) {
          const total = cost.reduce((s, row, i) => s + row[perm[i]!]!, 0);
          best = maximize ? Math.max(best, total) : Math.min(best, total);
        }
        const got = b.linearSumAssignment(fromRows(cost), { maximize });
        expect(new Set(got.assignment).size).toBe(r);
        expect(got.total).toBeCloseTo(best, 12);
        expect(got.assignment.reduce((s, col, i) => s + cost[i]![col]!, 0)).toBeCloseTo(best, 12);
      }
    }
    expect(() => b.linearSumAssignment(fromRows([[1], [2]]))).toThrow(/rows <= cols/);
  });

  it('MCC matches Pearson correlations and the best matching computed here', () => {
    const next = stream(33);
    const N = 200;
    const n = 3;
    const z = Array.from({ length: N }, () => Array.from({ length: n }, () => next() - 0.5));
    // Estimate: permuted, scaled, sign-flipped, slightly mixed latents.
    const zh = z.map((row) => [-2 * row[2]! + 0.1 * row[0]!, 0.5 * row[0]!, 3 * row[1]! + 0.3 * row[2]!]);
    const corr = (i: number, j: number) => {
      const a = z.map((r) => r[i]!);
      const c = zh.map((r) => r[j]!);
      const ma = a.reduce((s, v) => s + v, 0) / N;
      const mc = c.reduce((s, v) => s + v, 0) / N;
      let sab = 0;
      let saa = 0;
      let scc = 0;
      for (let t = 0; t < N; t++) {
        sab += (a[t]! - ma) * (c[t]! - mc);
        saa += (a[t]! - ma) ** 2;
        scc += (c[t]! - mc) ** 2;
      }
      return Math.abs(sab) / Math.sqrt(saa * scc);
    };
    let best = -1;
    let bestPerm: number[] = [];
    for (const perm of permutations(n)) {
      const total = perm.reduce((s, j, i) => s + corr(i, j), 0);
      if (total > best) {
        best = total;
        bestPerm = perm;
      }
    }
    const got = b.meanCorrelationCoefficient(fromRows(z), fromRows(zh));
    expect(got.matching).toEqual(bestPerm);
    expect(got.mcc).toBeCloseTo(best / n, 12);
    got.perLatent.forEach((v, i) => expect(v).toBeCloseTo(corr(i, bestPerm[i]!), 12));
  });

  it('effective mixing error against an allowed pattern', () => {
    // encoder * decoder = E; latent 1 mixes latent 0 (allowed only if 0 is its parent).
    const decoder = fromRows([
      [1, 0],
      [0, 1],
      [0, 0],
    ]);
    const encoder = fromRows([
      [2, 0, 5],
      [0.3, 1, 0],
    ]);
    const parentOf1 = graph([
      [0, 1],
      [0, 0],
    ]);
    const allowedSoft = b.allowedPattern(parentOf1, false);
    expect(toRows(allowedSoft)).toEqual([
      [1, 0],
      [1, 1],
    ]);
    const identity = b.allowedPattern(
      graph([
        [0, 0],
        [0, 0],
      ]),
      false,
    );
    const soft = b.effectiveMixingError(encoder, decoder, allowedSoft);
    expect(soft.incorrectCount).toBe(0);
    const hard = b.effectiveMixingError(encoder, decoder, identity);
    expect(hard.incorrectCount).toBe(1);
    expect(hard.incorrectRatio).toBeCloseTo(0.5, 12);
    const e10 = 0.3 / Math.hypot(0.3, 1);
    expect(toRows(hard.effective)[1]![0]).toBeCloseTo(e10, 12);
    expect(hard.offPatternSpectralNorm).toBeCloseTo(e10, 12);
    // A threshold above the entry clears it.
    expect(b.effectiveMixingError(encoder, decoder, identity, 0.5).incorrectCount).toBe(0);
    const chain = graph([
      [0, 1, 0],
      [0, 0, 1],
      [0, 0, 0],
    ]);
    expect(toRows(b.allowedPattern(chain, true))).toEqual([
      [1, 0, 0],
      [1, 1, 0],
      [1, 1, 1],
    ]);
  });

  it('relative RMSE over arrays of any rank', () => {
    const truth = { data: Float64Array.from([1, 2, 3, 4, 5, 6]), shape: [1, 2, 3] };
    const estimate = { data: Float64Array.from([1, 2, 3, 4, 5, 7]), shape: [1, 2, 3] };
    expect(b.relativeRmse(estimate, truth)).toBeCloseTo(Math.sqrt(1 / 91), 12);
    expect(() => b.relativeRmse(estimate, { data: truth.data, shape: [6] })).toThrow(/differ in shape/);
    expect(() => b.relativeRmse(estimate, { data: new Float64Array(6), shape: [1, 2, 3] })).toThrow(/relativeRmse/);
  });

  it('rejects non-square graphs and non-finite values', () => {
    expect(() => b.transitiveClosure(fromRows([[0, 1]]))).toThrow(/must be square/);
    expect(() => b.closestDag({ data: Float64Array.from([0, NaN, 0, 0]), shape: [2, 2] })).toThrow(/NaN/);
    const big = { data: new Float64Array(21 * 21), shape: [21, 21] };
    expect(() => b.closestDag(big)).toThrow(/closestDag/);
  });
});
