import { describe, expect, it } from 'vitest';
import { BACKENDS, backend } from './helpers/backends.js';
import type { Backend } from '../src/backend.js';

const MiB = 2 ** 20;
const gc = (globalThis as { gc?: () => void }).gc;

/** Collects garbage and lets finalizers of external (native) buffers run: they run when the event loop turns. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Resident size once garbage and the memory kept for reuse are gone. */
async function residentAfterCleanup(crl: Backend): Promise<number> {
  await settle();
  crl.releaseMemory();
  await settle();
  return process.memoryUsage().rss;
}

function samples(rows: number, cols: number): { data: Float64Array; shape: number[] } {
  const data = new Float64Array(rows * cols);
  let s = 1;
  for (let i = 0; i < data.length; i++) {
    s = (s * 16807) % 2147483647;
    data[i] = s / 2147483647 - 0.5;
  }
  return { data, shape: [rows, cols] };
}

describe.each(BACKENDS)('memory (%s)', (name) => {
  it('1 000 synchronous calls keep the resident size flat', async () => {
    expect(gc, 'vitest runs with --expose-gc').toBeDefined();
    const crl = await backend(name);
    const x = samples(2000, 20); // 320 kB copied into the core on every call
    const config = { n: 3, d: 5, samples: 2000 } as const; // z, x, dsx: 750 kB of results per call
    const round = (seed: number) => {
      const cov = crl.covariance(x);
      const sim = crl.simulate({ ...config, seed });
      return cov.data.byteLength + sim.x!.data.byteLength + sim.dsx!.data.byteLength + sim.z!.data.byteLength;
    };
    // Resident size swings by tens of MB from one cleanup to the next, and once in a while steps up
    // for good (glibc raises its mmap threshold after large frees and then keeps freed blocks in its
    // heaps and per-thread arenas; measured: a single step of up to 180 MB on native, sometime in the
    // first few hundred calls). So each phase is judged by its lowest value over its last 300 calls,
    // and the 1 000 calls are two phases of 500: a leak raises the floor in both, a one-off step in one.
    const floor = async (from: number, calls: number) => {
      const seen: number[] = [];
      let bytes = 0;
      for (let i = 0; i < calls; i++) {
        bytes += round(from + i);
        if (i % 100 === 99 && i >= calls - 300) seen.push(await residentAfterCleanup(crl));
        else if (i % 100 === 99) await settle();
      }
      return { rss: Math.min(...seen), bytes };
    };
    // Warm-up: the allocator, the WASM heap and the reuse pool reach their working size.
    const warm = await floor(0, 500);
    const first = await floor(500, 500);
    const second = await floor(1000, 500);
    const growth = [first.rss - warm.rss, second.rss - first.rss].map((b) => b / MiB);
    // The 1 000 calls moved over 1 GB through the core (inputs and results); a leak of a sixth of
    // it grows each phase past the bound.
    expect(first.bytes + second.bytes + 1000 * x.data.byteLength).toBeGreaterThan(1000 * MiB);
    expect(Math.min(...growth)).toBeLessThan(48);
    expect(growth[0]! + growth[1]!).toBeLessThan(256);
  }, 120_000);

  it('async calls aborted midway give their memory back', async () => {
    expect(gc, 'vitest runs with --expose-gc').toBeDefined();
    const crl = await backend(name);
    const config = { n: 5, d: 10, samples: 100_000 } as const; // 112 MB of results per call
    const abortMidway = async (seed: number) => {
      const controller = new AbortController();
      const call = crl.simulateAsync(
        { ...config, seed },
        {
          signal: controller.signal,
          // Abort once the call is under way (its buffers allocated), not before it starts.
          onProgress: (fraction) => {
            if (fraction > 0.2) controller.abort();
          },
        },
      );
      await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    };
    // Warm-up: the first calls grow the WASM worker's heap and native per-thread allocator arenas to
    // their working size (measured to level off within five calls); a leak keeps growing after that.
    // Each phase is judged by its lowest resident size over its last three calls (see above).
    const floor = async (from: number, calls: number) => {
      const seen: number[] = [];
      for (let seed = from; seed < from + calls; seed++) {
        await abortMidway(seed);
        if (seed >= from + calls - 3) seen.push(await residentAfterCleanup(crl));
      }
      return Math.min(...seen);
    };
    const before = await floor(0, 8);
    const growth = (await floor(8, 6)) - before;
    // Six leaked calls would hold about 670 MB; the bound is half of one call.
    expect(growth / MiB).toBeLessThan(56);
    await crl.close();
  }, 120_000);
});
