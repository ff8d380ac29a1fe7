import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backendInfo, loadBackend } from '../src/index.js';
import { loadNativeEngine } from '../src/backend/native.js';
import { BACKENDS, backend } from './helpers/backends.js';

describe('backend selection', () => {
  const saved = process.env.SCORECRL_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.SCORECRL_BACKEND;
    else process.env.SCORECRL_BACKEND = saved;
  });

  it('auto picks native when it loads', async () => {
    delete process.env.SCORECRL_BACKEND;
    expect((await loadBackend()).name).toBe('native');
  });

  it('SCORECRL_BACKEND and the option force a backend', async () => {
    process.env.SCORECRL_BACKEND = 'wasm';
    expect((await loadBackend()).name).toBe('wasm');
    expect((await loadBackend({ backend: 'native' })).name).toBe('native');
    process.env.SCORECRL_BACKEND = 'native';
    expect((await loadBackend()).name).toBe('native');
    expect((await loadBackend({ backend: 'wasm' })).name).toBe('wasm');
  });

  it('rejects an unknown SCORECRL_BACKEND', async () => {
    process.env.SCORECRL_BACKEND = 'gpu';
    await expect(loadBackend()).rejects.toThrow(/SCORECRL_BACKEND must be 'native', 'wasm' or 'auto', got 'gpu'/);
  });

  it('a native backend that cannot load says why and how to use WASM', () => {
    const empty = mkdtempSync(join(tmpdir(), 'scorecrl-noaddon-'));
    let message = '';
    try {
      loadNativeEngine(empty);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(`${process.platform}-${process.arch}`);
    expect(message).toContain(join(empty, 'build', 'Release', 'scorecrl.node'));
    expect(message).toContain(join(empty, 'prebuilds', `${process.platform}-${process.arch}`));
    expect(message).toMatch(/SCORECRL_BACKEND=wasm/);
    // The fix a consumer can run in their own project.
    expect(message).toMatch(/npm rebuild scorecrl/);
  });

  it.each(BACKENDS)('backendInfo(%s) reports name, version, SIMD, BLAS and threads', async (name) => {
    const info = await backendInfo({ backend: name });
    expect(info.name).toBe(name);
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.simd).toMatch(name === 'wasm' ? /^wasm-simd128$/ : /^(avx2\+fma|avx|sse2|sse4\.2|neon|none|avx512)$/);
    expect(typeof info.blas).toBe('boolean');
    expect(info.threads).toBeGreaterThanOrEqual(1);
    if (name === 'wasm') expect(info.threads).toBe(1);
    expect(info.eigen).toBe('3.4.0');
  });

  it('both backends expose the same operations', async () => {
    const [native, wasm] = await Promise.all(BACKENDS.map(backend));
    expect(native!.engine.ops()).toEqual(wasm!.engine.ops());
  });

  it('setThreads limits native threads and is a no-op for WASM', async () => {
    const native = await backend('native');
    const before = native.info().threads;
    expect(native.setThreads(1)).toBe(1);
    expect(native.info().threads).toBe(1);
    native.setThreads(before);
    const wasm = await backend('wasm');
    expect(wasm.setThreads(4)).toBe(1);
  });
});

describe('native result memory', () => {
  it('a synchronous loop of large results stays bounded, and results past the external budget are intact', async () => {
    const native = await backend('native');
    const config = { n: 10, d: 15, samples: 100_000 } as const; // 340 MB of results per call
    const start = process.memoryUsage().rss;
    let peak = start;
    let last: Float64Array | undefined;
    for (let seed = 0; seed < 12; seed++) {
      last = native.simulate({ ...config, seed }).x!.data;
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    // 12 calls lend 4 GB; without the budget none of it is freed before the loop ends.
    expect(peak - start).toBeLessThan(2.5 * 2 ** 30);
    await new Promise((resolve) => setImmediate(resolve));
    const again = native.simulate({ ...config, seed: 11 }).x!.data;
    expect(Buffer.compare(Buffer.from(again.buffer), Buffer.from(last!.buffer))).toBe(0);
  }, 60_000);

  it('storage of released large results is reused intact, and releaseMemory frees it', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'vitest runs with --expose-gc').toBeDefined();
    const collect = async () => {
      gc!();
      // External buffers' finalizers run when the event loop turns.
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    };
    const native = await backend('native');
    native.releaseMemory();
    const config = { n: 5, d: 10, samples: 50_000 } as const; // x: 26 MB
    const expected = Float64Array.from(native.simulate({ ...config, seed: 3 }).x!.data);
    await collect();
    native.simulate({ ...config, seed: 4 }); // writes into the pooled storage
    await collect();
    const again = native.simulate({ ...config, seed: 3 }).x!.data;
    expect(Buffer.compare(Buffer.from(again.buffer), Buffer.from(expected.buffer))).toBe(0);
    await collect();
    expect(native.releaseMemory()).toBeGreaterThanOrEqual(again.byteLength);
    expect(native.releaseMemory()).toBe(0);
  });
});

const sameBits = (a: Float64Array, b: Float64Array) =>
  a.length === b.length &&
  Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

describe.each(BACKENDS)('release (%s)', (name) => {
  const config = { n: 5, d: 10, samples: 50_000 } as const; // x: 26 MB, z: 12 MB, dsx: 20 MB

  it('detaches the arrays of released results and reuses their memory for the next results, intact', async () => {
    const crl = await backend(name);
    crl.releaseMemory();
    const expected = crl.simulate({ ...config, seed: 3 });
    const copies = { x: Float64Array.from(expected.x!.data), dsx: Float64Array.from(expected.dsx!.data) };
    const first = crl.simulate({ ...config, seed: 3 });
    const bytes = first.x!.data.byteLength + first.z!.data.byteLength + first.dsx!.data.byteLength;
    // Parts of results are searched too; each buffer counts once.
    expect(crl.release(first, [first.x], { nested: first.dsx })).toBeGreaterThanOrEqual(bytes);
    expect(first.x!.data.length).toBe(0);
    expect(first.dsx!.data.length).toBe(0);
    expect(crl.release(first)).toBe(0);
    // The next results of the same sizes are written into the released memory.
    crl.release(crl.simulate({ ...config, seed: 4 }));
    const again = crl.simulate({ ...config, seed: 3 });
    expect(sameBits(again.x!.data, copies.x)).toBe(true);
    expect(sameBits(again.dsx!.data, copies.dsx)).toBe(true);
    // Unreleased results are untouched by later calls.
    expect(sameBits(expected.x!.data, copies.x)).toBe(true);
    crl.release(again);
    expect(crl.releaseMemory()).toBeGreaterThanOrEqual(bytes);
    expect(crl.releaseMemory()).toBe(0);
  });

  it('leaves arrays it did not return alone', async () => {
    const crl = await backend(name);
    const mine = new Float64Array(1 << 18);
    const kept = crl.simulate({ ...config, samples: 10, seed: 1 });
    expect(crl.release({ data: mine }, mine.subarray(4), 'text', 42, null, undefined)).toBe(0);
    expect(mine.length).toBe(1 << 18);
    expect(kept.x!.data.length).toBe(6 * 10 * 10);
  });

  it('async results can be released too', async () => {
    const crl = await backend(name);
    const sim = await crl.simulateAsync({ ...config, seed: 5 });
    const bytes = sim.x!.data.byteLength;
    expect(crl.release(sim)).toBeGreaterThanOrEqual(bytes);
    expect(sim.x!.data.length).toBe(0);
  });
});
