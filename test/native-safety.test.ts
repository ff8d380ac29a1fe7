// The native addon under hostile use: many worker threads at once, inputs of
// asynchronous calls freed or reused under them, workers terminated and the
// process exiting mid-call, zero-length results; and, on both backends, the
// per-call memory limit (sizes past 32 bits, unbounded requests) and
// cancellation of simulate.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import { ScorecrlError } from '../src/backend/engine.js';
import type { WasmEngine } from '../src/backend/wasm.js';
import { BACKENDS, backend } from './helpers/backends.js';
import { rejection, thrown } from './helpers/errors.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const helper = fileURLToPath(new URL('./helpers/native-threads.mjs', import.meta.url));

function runHelper(...args: string[]) {
  const child = spawnSync(process.execPath, [helper, ...args.map(String)], { encoding: 'utf8', timeout: 60_000 });
  return { status: child.status, signal: child.signal, stdout: child.stdout, stderr: child.stderr };
}

/** A 3-column data set and its covariance computed on a private copy. */
function dataset(crl: Backend, rows: number, seed: number) {
  const data = Float64Array.from({ length: rows * 3 }, (_, i) => Math.sin(i * 0.37 + seed) * (1 + (i % 3)));
  const x = { data, shape: [rows, 3] };
  const expected = Array.from(crl.covariance({ data: data.slice(), shape: [rows, 3] }).data);
  return { x, expected };
}

function expectClose(actual: Float64Array, expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  expected.forEach((v, i) => expect(actual[i]).toBeCloseTo(v, 10));
}

describe('native addon from several worker threads', () => {
  // Two threads calling covariance in a loop crashed within seconds (the
  // registry of lent results was shared without a lock).
  it('4 threads running sync and async calls, lending, finalizing and releasing results, for 1.5 s: no crash, correct results', () => {
    const run = runHelper('stress', root, '4', '1500');
    expect(run.stderr).toBe('');
    expect({ status: run.status, signal: run.signal }).toEqual({ status: 0, signal: null });
    expect(JSON.parse(run.stdout).calls).toBeGreaterThan(0);
  });

  it('workers terminated while their sync and async calls run: no crash', () => {
    const run = runHelper('terminate', root, '8');
    expect({ status: run.status, signal: run.signal, stderr: run.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
  });

  // A second Ctrl-C in a sweep (process.exit while workers are inside calls)
  // aborted with "terminate called after throwing an instance of 'Napi::Error'".
  it('process.exit while worker threads are inside native calls exits with its code, never an abort', () => {
    for (let i = 0; i < 6; i++) {
      const run = runHelper('exit', root, String(80 + 30 * i));
      expect({ status: run.status, signal: run.signal, stderr: run.stderr }).toEqual({ status: 7, signal: null, stderr: '' });
    }
  });
});

describe('native async calls own their inputs', () => {
  let crl: Backend;
  beforeAll(async () => {
    crl = await backend('native');
  });

  /**
   * Keeps every thread of libuv's pool busy until `release()`, so that an
   * async call queued meanwhile starts only after the test has freed or
   * reused its input's memory (whatever the timing of the machine).
   */
  function occupyThreadPool() {
    const controller = new AbortController();
    const size = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const slow = { n: 4, d: 4, samples: 2_000_000, seed: 1, latent: 'mlp', mlpHidden: 512, outputs: { z: false, dsx: false } } as const;
    const blockers = Array.from({ length: size }, () => crl.simulateAsync(slow, { signal: controller.signal }).catch(() => undefined));
    return {
      release: async () => {
        controller.abort();
        await Promise.all(blockers);
      },
    };
  }

  it("an input whose buffer is transferred away (and overwritten) during the call: the call uses the caller's values", async () => {
    const { x, expected } = dataset(crl, 200_000, 1);
    const pool = occupyThreadPool();
    const pending = crl.covarianceAsync(x);
    const moved = structuredClone(x.data.buffer, { transfer: [x.data.buffer] });
    new Float64Array(moved).fill(1e6);
    expect(x.data).toHaveLength(0);
    await pool.release();
    expectClose((await pending).data, expected);
  });

  it('an input posted to another thread with transfer during the call', async () => {
    const { x, expected } = dataset(crl, 200_000, 2);
    const pending = crl.covarianceAsync(x);
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(x.data, [x.data.buffer]);
    port1.close();
    port2.close();
    expectClose((await pending).data, expected);
  });

  it('a result used as input, then release() + releaseMemory() during the call: correct result; its memory comes back afterwards', async () => {
    const sim = crl.simulate({ n: 3, d: 3, samples: 300_000, seed: 3 });
    const x0 = { data: sim.x!.data.subarray(0, 300_000 * 3), shape: [300_000, 3] };
    const expected = Array.from(crl.covariance(x0).data);
    const bytes = sim.x!.data.byteLength;
    const pool = occupyThreadPool();
    const pending = crl.covarianceAsync(x0);
    expect(crl.release(sim)).toBeGreaterThanOrEqual(bytes);
    expect(sim.x!.data).toHaveLength(0);
    crl.releaseMemory();
    await pool.release();
    expectClose((await pending).data, expected);
    // The call's pin was the last hold on the storage: it went to the pool then.
    expect(crl.releaseMemory()).toBeGreaterThanOrEqual(bytes);
  });

  it('a result used as input, released, and the next result of the same size made during the call: not reused under it', async () => {
    const config = { n: 3, d: 3, samples: 300_000, seed: 4 };
    const sim = crl.simulate(config);
    const x0 = { data: sim.x!.data.subarray(0, 300_000 * 3), shape: [300_000, 3] };
    const expected = Array.from(crl.covariance(x0).data);
    const head = Array.from(x0.data.subarray(0, 3));
    const pool = occupyThreadPool();
    const pending = crl.covarianceAsync(x0);
    crl.release(sim);
    // Takes storage of the size just released (its z and x are 4 x 300 000 x 3).
    const next = crl.simulate({ ...config, seed: 5 });
    await pool.release();
    expectClose((await pending).data, expected);
    expect(Array.from(next.x!.data.subarray(0, 3))).not.toEqual(head);
  });

  it('the same lent input in several concurrent calls, released while they run', async () => {
    const sim = crl.simulate({ n: 2, d: 3, samples: 100_000, seed: 6 });
    const x0 = { data: sim.x!.data.subarray(0, 100_000 * 3), shape: [100_000, 3] };
    const expected = Array.from(crl.covariance(x0).data);
    const pool = occupyThreadPool();
    const calls = [crl.covarianceAsync(x0), crl.covarianceAsync(x0), crl.covarianceAsync(x0)];
    crl.release(sim);
    crl.simulate({ n: 2, d: 3, samples: 100_000, seed: 7 });
    await pool.release();
    for (const result of await Promise.all(calls)) expectClose(result.data, expected);
  });
});

describe('native zero-length results', () => {
  it('come back as empty arrays that can be read, not detached ones', async () => {
    const crl = await backend('native');
    const [empty, full] = crl.randomDraws(1, [
      { kind: 'random', count: 0 },
      { kind: 'random', count: 3 },
    ]);
    expect([...empty!]).toEqual([]);
    expect(empty!.buffer.byteLength).toBe(0);
    expect(Array.from(empty!.subarray(0))).toEqual([]);
    expect(full).toHaveLength(3);
  });
});

for (const name of BACKENDS) {
  // Native async inputs are copied or pinned; a SharedArrayBuffer cannot be
  // wrapped as an ArrayBuffer and gave "Invalid argument" before.
  it(`${name}: async calls take inputs backed by a SharedArrayBuffer`, async () => {
    const crl = await backend(name);
    const shared = new Float64Array(new SharedArrayBuffer(40 * 3 * 8));
    for (let i = 0; i < shared.length; i++) shared[i] = Math.sin(i * 1.7) + (i % 3);
    const x = { data: shared, shape: [40, 3] };
    const expected = crl.covariance({ data: shared.slice(), shape: [40, 3] });
    expect((await crl.covarianceAsync(x)).data).toEqual(expected.data);
    const offset = { data: new Float64Array(shared.buffer, 8 * 3, 39 * 3), shape: [39, 3] };
    expect((await crl.covarianceAsync(offset)).data).toEqual(crl.covariance({ data: offset.data.slice(), shape: [39, 3] }).data);
  });

  describe(`${name}: per-call memory limit`, () => {
    let crl: Backend;
    beforeAll(async () => {
      crl = await backend(name);
    });
    afterEach(() => {
      crl.engine.call('setMemoryLimit', { numbers: { bytes: 0 } });
    });

    // On WASM, samples = 2^30 trapped ("memory access out of bounds") and 2^31 or
    // 2^32 returned a shape with no values; sizes are now checked before any
    // allocation, in 64-bit arithmetic, against the limit.
    for (const exponent of [30, 31, 32]) {
      it(`simulate with samples = 2^${exponent} is an out-of-memory error from the core, before anything is drawn`, async () => {
        const config = { n: 2, d: 3, samples: 2 ** exponent, seed: 1 };
        const sync = thrown(() => crl.simulate(config));
        expect(sync).toBeInstanceOf(ScorecrlError);
        expect(sync.message).toMatch(
          /^simulate: out of memory: this call needs \d+(\.\d+)? GiB \(z .*x .*dsx .*\), more than the limit of/,
        );
        const async = await rejection(crl.simulateAsync(config));
        expect(async.message).toMatch(/^simulate: out of memory: this call needs/);
        const small = { n: 2, d: 3, samples: 50, seed: 1 };
        expect((await crl.simulateAsync(small)).x).toEqual(crl.simulate(small).x);
      });
    }

    it('Backend.setMemoryLimit applies to asynchronous calls too', async () => {
      const config = { n: 5, d: 20, samples: 20_000, seed: 1 };
      const { bytes, defaultBytes } = crl.setMemoryLimit(16 * 2 ** 20);
      expect(bytes).toBe(16 * 2 ** 20);
      const refused = await rejection(crl.simulateAsync(config));
      expect(refused, refused.message).toMatchObject({ code: 'out-of-memory', op: 'simulate' });
      expect(() => crl.setMemoryLimit(-1)).toThrow(/setMemoryLimit: 'bytes' must be a whole number >= 0/);
      expect(crl.setMemoryLimit(0).bytes).toBe(defaultBytes);
      expect((await crl.simulateAsync(config)).x!.shape).toEqual([6, 20_000, 20]);
    });

    it('setMemoryLimit sets and restores the limit', () => {
      const initial = crl.engine.call('setMemoryLimit', {}).numbers;
      expect(initial.bytes).toBe(initial.defaultBytes);
      if (name === 'wasm') expect(initial.bytes).toBe(2 ** 31);
      expect(crl.engine.call('setMemoryLimit', { numbers: { bytes: 2 ** 20 } }).numbers.bytes).toBe(2 ** 20);
      expect(crl.engine.call('setMemoryLimit', { numbers: { bytes: 0 } }).numbers.bytes).toBe(initial.defaultBytes);
      expect(() => crl.engine.call('setMemoryLimit', { numbers: { bytes: -1 } })).toThrow(/setMemoryLimit: 'bytes' must be/);
    });

    // randomDraws with 100 steps of 1e8 grew to 12 GB on native before failing.
    it('randomDraws whose steps add up past the limit fails up front, naming the op and the limit', () => {
      crl.engine.call('setMemoryLimit', { numbers: { bytes: 64 * 2 ** 20 } });
      const plan = Array.from({ length: 100 }, () => ({ kind: 'standardNormal' as const, count: 1_000_000 }));
      const error = thrown(() => crl.randomDraws(1, plan));
      expect(error).toBeInstanceOf(ScorecrlError);
      expect(error.message).toMatch(
        /^randomDraws: out of memory: this call needs 763 MiB \(draw0 7.63 MiB, .* and 97 more\), more than the limit of 64 MiB per call/,
      );
      // Within the limit it runs.
      expect(crl.randomDraws(1, plan.slice(0, 4)).map((a) => a.length)).toEqual([1e6, 1e6, 1e6, 1e6]);
    });

    it('simulate past a lowered limit, and a d x d decoder too large to draw, are out-of-memory errors', () => {
      crl.engine.call('setMemoryLimit', { numbers: { bytes: 16 * 2 ** 20 } });
      expect(() => crl.simulate({ n: 5, d: 20, samples: 20_000, seed: 1 })).toThrow(
        /^simulate: out of memory: this call needs .* more than the limit of 16 MiB/,
      );
      expect(crl.simulate({ n: 3, d: 5, samples: 1000, seed: 1 }).x!.shape).toEqual([4, 1000, 5]);
      crl.engine.call('setMemoryLimit', { numbers: { bytes: 0 } });
      expect(() => crl.simulate({ n: 2, d: 1_000_000, samples: 2, seed: 1 })).toThrow(
        /^simulate: out of memory: this call needs .*the d x d decoder draw/,
      );
    });

    // Sizes that grow with an option or with d squared, not with the data: each
    // is refused before anything is formed, naming what it would have needed.
    it('moments, transforms, GSCALE-I and the learned estimators check their working memory up front', () => {
      crl.engine.call('setMemoryLimit', { numbers: { bytes: 64 * 2 ** 20 } });
      const wide = { data: new Float64Array(2 * 4000).fill(1).map((v, i) => v + (i % 7)), shape: [2, 4000] };
      expect(() => crl.covariance(wide)).toThrow(/^covariance: out of memory: this call needs 244 MiB \(the d x d covariance/);
      const dsx = { data: new Float64Array(2 * 2 * 3000).fill(0.5), shape: [2, 2, 3000] };
      expect(() => crl.scoreDiffCovariance(dsx)).toThrow(/^scoreDiffCovariance: out of memory: .*the K x d x d moments/);
      expect(() => crl.crossScoreDiffCovariance(dsx)).toThrow(/^crossScoreDiffCovariance: out of memory: .*the \(K d\) x \(K d\) moments/);
      expect(() => crl.simulate({ n: 200, d: 200, samples: 10, seed: 1, latent: 'mlp', mlpHidden: 100_000 })).toThrow(
        /^simulate: out of memory: .*the latent MLP weights/,
      );
      const z = { data: new Float64Array(20_000 * 5).fill(0.1), shape: [20_000, 5] };
      const model = { n: 5, d: 100, samples: 1, seed: 1, transform: 'tanh' } as const;
      expect(() => crl.simulationTransform(model, 'jacobian', z)).toThrow(/^simulationTransform: out of memory: .*the Jacobians/);
      expect(crl.simulationTransform(model, 'forward', z).shape).toEqual([20_000, 100]);
      const sim = crl.simulate({ n: 2, d: 4, samples: 600, seed: 3 });
      expect(() => crl.estimateScoreDifferences(sim.x!, { method: 'ssm', width: 4096, hiddenLayers: 8, epochs: 1 })).toThrow(
        /^estimateScoreDifferences: out of memory: .*the network parameters/,
      );
      const noise = (length: number) => Float64Array.from({ length }, (_, i) => Math.sin(i * 12.9898) * 0.5);
      const input = { x: { data: noise(300 * 4), shape: [300, 4] }, dsxPairs: { data: noise(2 * 300 * 4), shape: [2, 300, 4] } };
      expect(() => crl.gscale(input, { family: 'mlp', hidden: 64, maxIterations: 1e8, historyEvery: 1 })).toThrow(
        /^gscale: out of memory: .*the loss history/,
      );
    });

    // umni with kappa = 50 and n = 5 listed ~5e7 search blocks (3.3 GB on native).
    it('umni with a large kappa keeps its search plan small: it runs under a 64 MiB limit', () => {
      const sim = crl.simulate({ n: 5, d: 5, samples: 300, seed: 1, intervention: 'soft', design: 'multi-node' });
      // 101^5 = 1.05e10 candidates: past the default search bound, so raised explicitly.
      const options = { kappa: 50, maxCandidates: 2e10 };
      // stats count speculative work of the parallel search, which varies run to run.
      const { stats: _, ...reference } = crl.umni({ x: sim.x!, dsx: sim.dsx! }, options);
      crl.engine.call('setMemoryLimit', { numbers: { bytes: 64 * 2 ** 20 } });
      const { stats, ...limited } = crl.umni({ x: sim.x!, dsx: sim.dsx! }, options);
      expect(limited).toEqual(reference);
      expect(stats.candidates).toBeGreaterThan(0);
    });
  });

  describe(`${name}: simulate honours cancellation between blocks`, () => {
    // An MLP with a wide hidden layer: slow per row, modest memory.
    const SLOW = { n: 4, d: 4, samples: 100_000, seed: 1, latent: 'mlp', mlpHidden: 2048, outputs: { z: false, dsx: false } } as const;

    it('an abort at the first progress report rejects with AbortError before the call completes', async () => {
      const crl = await backend(name);
      const starts = name === 'wasm' ? (crl.engine as WasmEngine).workerStarts : 0;
      await crl.covarianceAsync({ data: Float64Array.from([1, 2, 3, 4]), shape: [2, 2] });
      const startsBefore = name === 'wasm' ? (crl.engine as WasmEngine).workerStarts : 0;
      const controller = new AbortController();
      const fractions: number[] = [];
      const error = await rejection(
        crl.simulateAsync(SLOW, {
          signal: controller.signal,
          onProgress: (fraction) => {
            fractions.push(fraction);
            controller.abort();
          },
        }),
      );
      expect(error.name).toBe('AbortError');
      expect(error.message).toBe('simulate: cancelled');
      expect(fractions.length).toBeGreaterThan(0);
      expect(Math.max(...fractions)).toBeLessThan(1);
      if (name === 'wasm') {
        // The core stopped on the flag: its worker was not terminated and replaced.
        expect(starts).toBeLessThanOrEqual(startsBefore);
        expect((crl.engine as WasmEngine).workerStarts).toBe(startsBefore);
      }
      const small = { n: 3, d: 5, samples: 200, seed: 4 };
      expect((await crl.simulateAsync(small)).x).toEqual(crl.simulate(small).x);
    });

    it('an onProgress that throws stops the call, which rejects with what it threw; later calls work', async () => {
      const crl = await backend(name);
      const boom = new Error('boom');
      let calls = 0;
      const error = await rejection(
        crl.simulateAsync(SLOW, {
          onProgress: () => {
            calls++;
            throw boom;
          },
        }),
      );
      expect(error).toBe(boom);
      expect(calls).toBe(1);
      const small = { n: 3, d: 5, samples: 200, seed: 4 };
      expect((await crl.simulateAsync(small)).x).toEqual(crl.simulate(small).x);
    });
  });
}
