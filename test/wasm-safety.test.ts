// The WebAssembly backend in Node under hostile use: bad and throwing
// callbacks, abort and close during a call, traps in the module, sizes past
// 32 bits and out-of-memory. Each case must end in a named error for the call
// concerned, never a crash or a promise left pending, and later calls must
// work and be correct.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import { ScorecrlError, type OpOutputs } from '../src/backend/engine.js';
import type { WasmEngine } from '../src/backend/wasm.js';
import { moduleInstantiator, WasmCore, type WasmModule, type WasmModuleFactory } from '../src/backend/wasm-core.js';
import { backend } from './helpers/backends.js';
import { rejection, thrown } from './helpers/errors.js';

const X = { data: Float64Array.from([1, 2, 3, 4, 5, 7]), shape: [3, 2] };
const COV = [8 / 3, 10 / 3, 10 / 3, 38 / 9];
/** A simulation that takes minutes on WASM (an MLP with a wide hidden layer) with modest memory. */
const SLOW = { n: 4, d: 4, samples: 400_000, seed: 1, latent: 'mlp', mlpHidden: 2048, outputs: { z: false, dsx: false } } as const;

function expectCovariance(data: Float64Array): void {
  expect(data).toHaveLength(4);
  COV.forEach((v, i) => expect(data[i]).toBeCloseTo(v, 12));
}

let crl: Backend;
let engine: WasmEngine;
beforeAll(async () => {
  crl = await backend('wasm');
  engine = crl.engine as WasmEngine;
});

describe('WASM async options', () => {
  it('an onProgress that is not a function is a TypeError naming the option, before the call starts', async () => {
    for (const bad of [3, 'progress', {}, null]) {
      const error = await rejection(crl.covarianceAsync(X, { onProgress: bad as never }));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(/covariance: option 'onProgress' must be a function/);
    }
    const sim = await rejection(crl.simulateAsync({ n: 2, d: 3, samples: 10, seed: 1 }, { onProgress: 1 as never }));
    expect(sim.message).toMatch(/simulate: option 'onProgress' must be a function/);
    expectCovariance((await crl.covarianceAsync(X)).data);
  });

  it('a signal that is not an AbortSignal is a TypeError naming the option', async () => {
    const error = await rejection(crl.covarianceAsync(X, { signal: { aborted: 'no' } as never }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/covariance: option 'signal' must be an AbortSignal/);
  });

  it('an onProgress that throws rejects its call with that error; the process and the backend carry on', async () => {
    const sim = crl.simulate({ n: 5, d: 20, samples: 5000, seed: 1 });
    const boom = new Error('boom');
    let calls = 0;
    const error = await rejection(
      crl.umniAsync(
        { x: sim.x!, dsx: sim.dsx! },
        {
          onProgress: () => {
            calls++;
            throw boom;
          },
        },
      ),
    );
    expect(error).toBe(boom);
    // Reported once: the call stops at its first throw.
    expect(calls).toBe(1);
    // A thrown non-Error becomes an Error carrying it.
    const text = await rejection(
      crl.umniAsync(
        { x: sim.x!, dsx: sim.dsx! },
        {
          onProgress: () => {
            throw 'not an error';
          },
        },
      ),
    );
    expect(text.message).toBe('not an error');
    expectCovariance((await crl.covarianceAsync(X)).data);
    const fit = await crl.umniAsync({ x: sim.x!, dsx: sim.dsx! });
    expect(fit).toEqual(crl.umni({ x: sim.x!, dsx: sim.dsx! }));
  });
});

describe('WASM abort', () => {
  it('an aborted simulateAsync rejects with AbortError at once, whether or not the core polls the flag', async () => {
    await crl.covarianceAsync(X); // the worker is up
    const controller = new AbortController();
    const call = crl.simulateAsync(SLOW, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort();
    const error = await rejection(call);
    expect(error.name).toBe('AbortError');
    expect(error.message).toMatch(/simulate: cancelled/);
    // The next call runs once the core has stopped or its worker was replaced.
    expectCovariance((await crl.covarianceAsync(X)).data);
    const small = { n: 3, d: 5, samples: 200, seed: 4 };
    expect((await crl.simulateAsync(small)).x).toEqual(crl.simulate(small).x);
  }, 30_000);

  it('a queued call that is aborted never runs, the running one is unaffected until aborted', async () => {
    const slow = new AbortController();
    const running = rejection(crl.simulateAsync(SLOW, { signal: slow.signal }));
    const queued = new AbortController();
    const second = rejection(crl.covarianceAsync(X, { signal: queued.signal }));
    const third = crl.covarianceAsync(X);
    queued.abort();
    expect((await second).name).toBe('AbortError');
    slow.abort();
    expect((await running).name).toBe('AbortError');
    expectCovariance((await third).data);
  }, 30_000);

  it('an already aborted signal rejects without running', async () => {
    const error = await rejection(crl.simulateAsync(SLOW, { signal: AbortSignal.abort() }));
    expect(error.name).toBe('AbortError');
  });
});

describe('WASM close', () => {
  it('close() during a call rejects the running and the queued calls with a clear error; later calls work', async () => {
    const running = rejection(crl.simulateAsync(SLOW));
    const queued = rejection(crl.covarianceAsync(X));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await engine.close();
    for (const [call, op] of [
      [running, 'simulate'],
      [queued, 'covariance'],
    ] as const) {
      const error = await call;
      expect(error).toBeInstanceOf(ScorecrlError);
      expect(error.message).toMatch(new RegExp(`^${op}: the WASM backend was closed before the call finished`));
    }
    expectCovariance((await crl.covarianceAsync(X)).data);
    expectCovariance(crl.covariance(X).data);
  }, 30_000);

  it('a worker that dies during a call fails that call only; the queue goes on in a new worker', async () => {
    const running = rejection(crl.simulateAsync(SLOW));
    const queued = crl.covarianceAsync(X);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const starts = engine.workerStarts;
    await (engine as unknown as { worker: Worker }).worker.terminate();
    const error = await running;
    expect(error).toBeInstanceOf(ScorecrlError);
    expect(error.message).toMatch(/^simulate: the WASM worker thread stopped/);
    expectCovariance((await queued).data);
    expect(engine.workerStarts).toBe(starts + 1);
  }, 30_000);
});

describe('WASM worker hygiene', () => {
  it('inputs that cannot be sent to the worker fail their call with a TypeError; the queue goes on', async () => {
    const bad = { x: { ...X, note: () => 'a function' } };
    const error = await rejection(engine.callAsync('covariance', { arrays: bad as never }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/^covariance: the inputs could not be sent to the WASM worker/);
    expectCovariance((await crl.covarianceAsync(X)).data);
  });

  it('releaseMemory() stops an idle worker (its heap cannot shrink); the next call starts a fresh one', async () => {
    await crl.simulateAsync({ n: 5, d: 20, samples: 20_000, seed: 1 });
    const starts = engine.workerStarts;
    crl.releaseMemory();
    expectCovariance((await crl.covarianceAsync(X)).data);
    expect(engine.workerStarts).toBe(starts + 1);
  });
});

describe('WASM traps, 32-bit sizes and out of memory', () => {
  // simulate with samples = 2^30 (n=2, d=3) overflowed a size in the core and trapped
  // ("memory access out of bounds"), after which every call failed; 2^31 and 2^32 returned
  // x of shape [3, 2^31, 3] with no values. Each must be a named error, and the backend must
  // stay usable, on both threads.
  for (const exponent of [30, 31, 32]) {
    it(`simulate with samples = 2^${exponent} is a ScorecrlError naming simulate; later calls work`, async () => {
      const config = { n: 2, d: 3, samples: 2 ** exponent, seed: 1 };
      const sync = thrown(() => crl.simulate(config));
      expect(sync).toBeInstanceOf(ScorecrlError);
      expect(sync.message).toMatch(/^simulate: /);
      expectCovariance(crl.covariance(X).data);
      const async = await rejection(crl.simulateAsync(config));
      expect(async).toBeInstanceOf(ScorecrlError);
      expect(async.message).toMatch(/^simulate: /);
      expectCovariance((await crl.covarianceAsync(X)).data);
      const small = { n: 3, d: 5, samples: 100, seed: 2 };
      expect((await crl.simulateAsync(small)).x).toEqual(crl.simulate(small).x);
    }, 30_000);
  }

  it('a request past the 2 GiB heap is an out-of-memory error naming the op, on both threads', async () => {
    const config = { n: 2, d: 3, samples: 2 ** 26, seed: 1 };
    expect(() => crl.simulate(config)).toThrow(/^simulate: out of memory/);
    expectCovariance(crl.covariance(X).data);
    await expect(crl.simulateAsync(config)).rejects.toThrow(/^simulate: out of memory/);
    expectCovariance((await crl.covarianceAsync(X)).data);
  }, 30_000);
});

describe('WasmCore: a failing instance is replaced', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  let spawnReal: () => WasmModule;
  beforeAll(async () => {
    const { default: create } = (await import('../wasm/dist/scorecrl.mjs' as string)) as { default: WasmModuleFactory };
    spawnReal = await moduleInstantiator(create, readFileSync(`${root}/wasm/dist/scorecrl.wasm`));
  });

  it('a real trap (an instance whose memory was overwritten) is a ScorecrlError; the next call gets a fresh instance', () => {
    let spawned = 0;
    const core = new WasmCore(() => {
      const module = spawnReal();
      if (spawned++ === 0) (module as unknown as { HEAPU8: Uint8Array }).HEAPU8.fill(0xff);
      return module;
    });
    const error = thrown(() => core.call('covariance', { arrays: { x: X } }));
    expect(error).toBeInstanceOf(ScorecrlError);
    expect(error.message).toMatch(/^covariance: the WebAssembly core trapped \(.+\); its instance was discarded/);
    expect((error as { cause?: Error }).cause?.name).toBe('RuntimeError');
    expectCovariance(core.call('covariance', { arrays: { x: X } }).arrays.covariance!.data);
    expect(core.instances).toBe(2);
  });

  /** A stand-in module whose call does what `behave` says, then answers normally. */
  function fake(behave: (allocate: (length: number) => Float64Array, hooks: { onProgress?: (f: number, m: string) => void }) => OpOutputs) {
    let spawned = 0;
    const core = new WasmCore(() => {
      spawned++;
      const first = spawned === 1;
      return {
        call: (_op, _a, _n, _s, onProgress, _c, allocate) =>
          first
            ? behave(allocate!, { onProgress })
            : { arrays: { y: { data: allocate!(2).fill(1), shape: [2] } }, numbers: {}, strings: {} },
        info: () => ({ version: '0', simd: 'none', blas: false, threads: 1, eigen: '3.4.0' }),
        ops: () => ['op'],
      };
    });
    return { core, spawned: () => spawned };
  }

  it('unreachable: named error, then a fresh instance', () => {
    const { core, spawned } = fake(() => {
      throw new WebAssembly.RuntimeError('unreachable');
    });
    expect(() => core.call('lscale', {})).toThrow(/^lscale: the WebAssembly core trapped \(unreachable\)/);
    expect(core.call('lscale', {}).arrays.y!.data).toEqual(Float64Array.from([1, 1]));
    expect(spawned()).toBe(2);
  });

  it('a result whose shape does not match its data is refused and its instance dropped', () => {
    const { core, spawned } = fake(() => ({
      arrays: { x: { data: new Float64Array(0), shape: [3, 2 ** 31, 3] } },
      numbers: {},
      strings: {},
    }));
    const error = thrown(() => core.call('simulate', {}));
    expect(error).toBeInstanceOf(ScorecrlError);
    expect(error.message).toMatch(/^simulate: the WebAssembly core returned 'x' with shape \[3,2147483648,3\] but 0 values/);
    core.call('simulate', {});
    expect(spawned()).toBe(2);
  });

  it('a result array that cannot be allocated is an out-of-memory error naming the op', () => {
    const { core } = fake((allocate) => {
      allocate(2 ** 40);
      throw new Error('unreached');
    });
    expect(() => core.call('simulate', {})).toThrow(/^simulate: out of memory copying a result of 1099511627776 values/);
    expect(core.call('simulate', {}).arrays.y!.data).toHaveLength(2);
  });

  it('an instance that cannot be made (no memory for its heap) is a named error; a later call tries again', () => {
    let spawned = 0;
    const good: WasmModule = {
      call: () => {
        throw new WebAssembly.RuntimeError('unreachable');
      },
      info: () => ({ version: '0', simd: 'none', blas: false, threads: 1, eigen: '3.4.0' }),
      ops: () => [],
    };
    const core = new WasmCore(() => {
      if (++spawned === 2) throw new RangeError('WebAssembly.Instance(): Out of memory: Cannot allocate Wasm memory for new instance');
      return good;
    });
    expect(() => core.call('covariance', {})).toThrow(/^covariance: the WebAssembly core trapped/);
    expect(() => core.call('covariance', {})).toThrow(/^covariance: the WebAssembly core could not be instantiated \(.*Out of memory/);
    expect(() => core.call('covariance', {})).toThrow(/trapped/);
    expect(spawned).toBe(3);
  });

  it("a hook's own error comes back as it was thrown", () => {
    const boom = new Error('boom');
    const { core } = fake((_allocate, { onProgress }) => {
      onProgress!(0.5, 'half');
      throw new Error('unreached');
    });
    const error = thrown(() =>
      core.call(
        'umni',
        {},
        {
          onProgress: () => {
            throw boom;
          },
        },
      ),
    );
    expect(error).toBe(boom);
  });
});
