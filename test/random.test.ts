import { describe, expect, it } from 'vitest';
import { BACKENDS, backend } from './helpers/backends.js';
import { numpyRngVectors } from './helpers/fixtures.js';

const vectors = numpyRngVectors();

function relative(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
}

describe.each(BACKENDS)('NumPy-compatible generator on %s', (name) => {
  it.each((vectors.cases as any[]).map((c): [number, any] => [c.seed, c]))('seed %d matches numpy.random.default_rng', async (_seed, c) => {
    const crl = await backend(name);
    const [random, normal, integers, permutation, after] = crl.randomDraws(c.seed, [
      { kind: 'random', count: c.random.length },
      { kind: 'standardNormal', count: c.standard_normal.length },
      { kind: 'integers', low: 0, high: 100, count: c.integers_0_100.length },
      { kind: 'permutation', n: c.permutation_10.length },
      { kind: 'random', count: c.random_after.length },
    ]);
    expect(Array.from(random!)).toEqual(c.random);
    normal!.forEach((v, i) => expect(relative(v, c.standard_normal[i])).toBeLessThanOrEqual(1e-15));
    expect(Array.from(integers!)).toEqual(c.integers_0_100);
    expect(Array.from(permutation!)).toEqual(c.permutation_10);
    expect(Array.from(after!)).toEqual(c.random_after);
  });

  it('bulk normals match the stored summary', async () => {
    const crl = await backend(name);
    const b = vectors.bulk;
    const [draws] = crl.randomDraws(b.seed, [{ kind: 'standardNormal', count: b.standard_normal_count }]);
    let sum = 0;
    let sumSq = 0;
    for (const v of draws!) {
      sum += v;
      sumSq += v * v;
    }
    expect(relative(sum / draws!.length, b.mean)).toBeLessThan(1e-10);
    expect(relative(sumSq, b.sum_sq)).toBeLessThan(1e-12);
    const last = Array.from(draws!.subarray(draws!.length - 5));
    last.forEach((v, i) => expect(relative(v, b.last5[i])).toBeLessThanOrEqual(1e-15));
  });

  it('rejects malformed plans', async () => {
    const crl = await backend(name);
    expect(() => crl.randomDraws(-1, [{ kind: 'random', count: 1 }])).toThrow(/'seed' must be a non-negative integer/);
    expect(() => crl.randomDraws(1, [{ kind: 'integers', low: 5, high: 5, count: 1 }])).toThrow(/integers/);
    expect(() => crl.engine.call('randomDraws', { numbers: { seed: 1 }, strings: { plan: 'gamma:3' } })).toThrow(
      /randomDraws: 'plan' step 'gamma:3': unknown draw kind 'gamma'/,
    );
    expect(() => crl.engine.call('randomDraws', { numbers: { seed: 1 }, strings: { plan: 'random:x' } })).toThrow(/'x' is not an integer/);
  });
});
