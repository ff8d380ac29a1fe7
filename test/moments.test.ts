import { afterAll, describe, expect, it } from 'vitest';
import { BACKENDS, backend } from './helpers/backends.js';
import { randomArray, relativeError, tsCovariance, tsScoreDiffCovariance } from './helpers/reference.js';
import type { NDArray } from '../src/types.js';

const results: Record<string, Record<string, Float64Array>> = {};

describe.each(BACKENDS)('moments on %s', (name) => {
  const get = () => backend(name);
  const keep = (key: string, value: Float64Array) => {
    results[key] ??= {};
    results[key][name] = value;
    return value;
  };

  it.each([
    [[1000, 7], 0],
    [[3, 1], 0],
    [[2000, 33], 100],
    [[700, 130], -3],
    [[7, 5], 1],
    [[7, 3], 0],
    [[257, 130], 0],
  ] as const)('covariance of %j (offset %d) matches a plain loop', async (shape, offset) => {
    const crl = await get();
    const x = randomArray([...shape], shape[0] + shape[1], offset);
    const c = crl.covariance(x);
    expect(c.shape).toEqual([shape[1], shape[1]]);
    expect(relativeError(c.data, tsCovariance(x))).toBeLessThan(1e-12);
    keep(`cov${shape}`, c.data);
  });

  it('covariance does not modify the caller buffer', async () => {
    const crl = await get();
    const x = randomArray([500, 9], 5, 3);
    const copy = x.data.slice();
    crl.covariance(x);
    expect(x.data).toEqual(copy);
  });

  it.each([[[3, 500, 6]], [[1, 1, 1]], [[4, 1100, 40]], [[2, 1, 130]], [[3, 7, 5]], [[2, 1, 3]]] as const)(
    'scoreDiffCovariance of %j matches a plain loop',
    async (shape) => {
      const crl = await get();
      const dsx = randomArray([...shape], 11 + shape[2]);
      const r = crl.scoreDiffCovariance(dsx);
      expect(r.shape).toEqual([shape[0], shape[2], shape[2]]);
      expect(relativeError(r.data, tsScoreDiffCovariance(dsx, false))).toBeLessThan(1e-12);
      keep(`sdc${shape}`, r.data);
    },
  );

  it.each([[[3, 700, 5]], [[5, 300, 20]], [[3, 1, 5]]] as const)('crossScoreDiffCovariance of %j matches a plain loop', async (shape) => {
    const crl = await get();
    const dsx = randomArray([...shape], 7 + shape[1]);
    const r = crl.crossScoreDiffCovariance(dsx);
    const width = shape[0] * shape[2];
    expect(r.shape).toEqual([width, width]);
    expect(relativeError(r.data, tsScoreDiffCovariance(dsx, true))).toBeLessThan(1e-12);
    // Its diagonal blocks are the per-environment moments.
    const diag = crl.scoreDiffCovariance(dsx);
    const d = shape[2];
    for (let k = 0; k < shape[0]; k++)
      for (let a = 0; a < d; a++)
        for (let b = 0; b < d; b++) expect(r.data[(k * d + a) * width + k * d + b]).toBeCloseTo(diag.data[(k * d + a) * d + b]!, 12);
    keep(`cross${shape}`, r.data);
  });

  it('symmetricEigen reconstructs the matrix with ascending eigenvalues', async () => {
    const crl = await get();
    const x = randomArray([200, 12], 3);
    const a = crl.covariance(x);
    const { values, vectors } = crl.symmetricEigen(a);
    const d = 12;
    for (let i = 1; i < d; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]!);
    const rebuilt = new Float64Array(d * d);
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++)
        for (let k = 0; k < d; k++) rebuilt[i * d + j]! += vectors.data[i * d + k]! * values[k]! * vectors.data[j * d + k]!;
    expect(relativeError(rebuilt, a.data)).toBeLessThan(1e-12);
    // Orthonormal columns.
    for (let p = 0; p < d; p++)
      for (let q = 0; q < d; q++) {
        let dot = 0;
        for (let i = 0; i < d; i++) dot += vectors.data[i * d + p]! * vectors.data[i * d + q]!;
        expect(dot).toBeCloseTo(p === q ? 1 : 0, 12);
      }
  });

  it('async variants give the same values and report progress', async () => {
    const crl = await get();
    const dsx = randomArray([3, 20_000, 8], 99);
    const fractions: number[] = [];
    const a = await crl.scoreDiffCovarianceAsync(dsx, { onProgress: (f) => fractions.push(f) });
    expect(relativeError(a.data, crl.scoreDiffCovariance(dsx).data)).toBeLessThan(1e-15);
    expect(fractions.length).toBeGreaterThan(0);
    expect(fractions.at(-1)).toBeCloseTo(1, 12);
    const x = randomArray([5000, 10], 98);
    expect(relativeError((await crl.covarianceAsync(x)).data, crl.covariance(x).data)).toBeLessThan(1e-15);
  });

  it('an aborted async call rejects with AbortError', async () => {
    const crl = await get();
    const big = randomArray([8, 100_000, 40], 1);
    const controller = new AbortController();
    const pending = crl.crossScoreDiffCovarianceAsync(big, { signal: controller.signal });
    setTimeout(() => controller.abort(), 2);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    const already = new AbortController();
    already.abort();
    await expect(crl.covarianceAsync(randomArray([10, 2], 1), { signal: already.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  describe('bad input gives an error naming the function and argument', () => {
    const raw = (data: unknown, shape: unknown) => ({ data, shape }) as unknown as NDArray;
    it.each([
      ['wrong typed array', raw(new Float32Array(4), [2, 2]), /covariance: 'x.data' must be a Float64Array/],
      ['plain array', raw([1, 2, 3, 4], [2, 2]), /Float64Array/],
      ['length mismatch', raw(new Float64Array(5), [2, 2]), /covariance: 'x' has shape \[2, 2\] \(4 values\) but 5 values/],
      ['wrong rank', raw(new Float64Array(4), [4]), /covariance: 'x' must have 2 dimensions/],
      ['NaN', raw(new Float64Array([1, NaN, 2, 3]), [2, 2]), /covariance: 'x' contains NaN at flat index 1/],
      ['Inf', raw(new Float64Array([1, 2, Infinity, 3]), [2, 2]), /covariance: 'x' contains Inf/],
      ['zero rows', raw(new Float64Array(0), [0, 3]), /covariance: 'x' has an empty dimension/],
      ['one row', raw(new Float64Array(3), [1, 3]), /covariance: 'x' needs at least 2 samples/],
      ['negative size', raw(new Float64Array(0), [-1, 3]), /non-negative integers/],
      ['not an object', 42 as unknown as NDArray, /covariance: 'x' must be an NDArray/],
    ])('%s', async (_label, x, message) => {
      const crl = await get();
      expect(() => crl.covariance(x)).toThrow(message);
    });

    it('the engine itself rejects what the TS checks would catch', async () => {
      const crl = await get();
      const e = crl.engine;
      const huge = 2 ** 40;
      expect(() => e.call('covariance', { arrays: { x: raw(new Float64Array(4), [huge, huge, huge]) } })).toThrow(
        /covariance: array argument 'x': (the product of shape overflows|shape implies)/,
      );
      expect(() => e.call('covariance', { arrays: { x: raw(new Float32Array(4), [2, 2]) } })).toThrow(
        /covariance: array argument 'x': data must be a Float64Array/,
      );
      expect(() => e.call('covariance', { arrays: { x: raw(new Float64Array(4), [3, 2]) } })).toThrow(
        /shape implies 6 values but data has 4/,
      );
      expect(() => e.call('covariance', {})).toThrow(/covariance: missing array argument 'x'/);
      expect(() => e.call('noSuchOp', {})).toThrow(/noSuchOp: unknown operation/);
      expect(() => e.call('symmetricEigen', { arrays: { a: raw(new Float64Array([1, 2, 3, 4]), [2, 2]) } })).toThrow(
        /symmetricEigen: 'a' must be symmetric/,
      );
      expect(() => e.call('setThreads', { numbers: { threads: 0 } })).toThrow(/'threads' must be between 1 and 64/);
      expect(() => e.call('setThreads', { numbers: { threads: 1.5 } })).toThrow(/'threads' must be a whole number/);
    });
  });
});

describe('backends agree', () => {
  afterAll(async () => {
    for (const name of BACKENDS) await (await backend(name)).close();
  });
  it('native and WASM kernels agree to 1e-12', () => {
    const keys = Object.keys(results);
    expect(keys.length).toBeGreaterThan(5);
    for (const key of keys) {
      const { native, wasm } = results[key]!;
      expect(native, key).toBeDefined();
      expect(wasm, key).toBeDefined();
      expect(relativeError(native!, wasm!), key).toBeLessThan(1e-12);
    }
  });
});
