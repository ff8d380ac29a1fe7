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
    expect((await backend('wasm')).releaseMemory()).toBe(0);
  });
});
