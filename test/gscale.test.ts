import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import { gscalePairs, type GscaleModel } from '../src/ops/gscale.js';
import type { Simulation } from '../src/ops/simulate.js';
import { sliceFirst, type NDArray } from '../src/types.js';
import { BACKENDS, backend } from './helpers/backends.js';

/** Deterministic numbers in [-1, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 4294967296) * 2 - 1;
  };
}

function randomArray(shape: number[], seed: number, scale = 1): NDArray {
  const next = lcg(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return { data: Float64Array.from({ length: size }, () => scale * next()), shape };
}

/** |Pearson correlation| of column a of p with column b of q (both N×k). */
function absCorrelation(p: NDArray, a: number, q: NDArray, b: number): number {
  const N = p.shape[0]!;
  const kp = p.shape[1]!;
  const kq = q.shape[1]!;
  let mp = 0;
  let mq = 0;
  for (let t = 0; t < N; t++) {
    mp += p.data[t * kp + a]! / N;
    mq += q.data[t * kq + b]! / N;
  }
  let spq = 0;
  let spp = 0;
  let sqq = 0;
  for (let t = 0; t < N; t++) {
    const u = p.data[t * kp + a]! - mp;
    const v = q.data[t * kq + b]! - mq;
    spq += u * v;
    spp += u * u;
    sqq += v * v;
  }
  return Math.abs(spq) / Math.sqrt(spp * sqq);
}

/** Node intervened by pair i of a two-hard-per-node simulation (targets n×K, column i). */
function pairNodes(sim: Simulation): number[] {
  const [n, K] = sim.targets.shape as [number, number];
  return Array.from({ length: n }, (_, i) => {
    for (let node = 0; node < n; node++) if (sim.targets.data[node * K + i] === 1) return node;
    throw new Error(`pair ${i} has no target`);
  });
}

/** The true graph in the pairs' labelling: edge a -> b iff node(a) -> node(b). */
function relabelledGraph(sim: Simulation): number[] {
  const nodes = pairNodes(sim);
  const n = nodes.length;
  const out: number[] = [];
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) out.push(sim.graph.data[nodes[a]! * n + nodes[b]!]!);
  return out;
}

/** Mean over latents of |corr(ẑ_i, z_node(i))|, in the pairs' labelling (no matching). */
function labelledMcc(sim: Simulation, latents: NDArray): number {
  const z0 = sliceFirst(sim.z!, 0);
  const nodes = pairNodes(sim);
  return nodes.reduce((s, node, i) => s + absCorrelation(latents, i, z0, node), 0) / nodes.length;
}

/** A two-node tanh-MLP problem (d = 4, two hard interventions per node). */
function tanhMlpSim(crl: Backend, samples: number, seed: number): Simulation {
  return crl.simulate({ n: 2, d: 4, samples, seed, latent: 'quadratic', design: 'two-hard-per-node', transform: 'tanh-mlp' });
}

function gscaleData(sim: Simulation) {
  return { x: sliceFirst(sim.x!, 0), ...gscalePairs(sim.dsx!) };
}

// A small tanh-MLP problem that the direction term solves in a few seconds.
const MLP_ITERATIONS = 3000;
const MLP_MCC = 0.95;
const SIM = { n: 3, d: 12, samples: 200, latent: 'quadratic', design: 'two-hard-per-node', transform: 'tanh' } as const;
const latentsByBackend: Record<string, Float64Array> = {};

describe.each(BACKENDS)('gscale on %s', (name) => {
  const get = () => backend(name);

  describe('gradient of the loss (hand-derived) vs central finite differences', () => {
    const N = 30;
    const d = 7;
    const n = 3;
    const x = randomArray([N, d], 11, 0.9);
    // Saturated coordinates: glm fits those rows on their other coordinates.
    x.data[3 * d + 1] = 1 - 1e-14;
    x.data[3 * d + 4] = -1;
    x.data[8 * d + 0] = 1;
    const dsxPairs = randomArray([n, N, d], 12, 2);

    it.each([
      ['glm', 0, 'mean-abs'],
      ['glm', 0, 'direction'],
      ['mlp', 5, 'mean-abs'],
      ['mlp', 5, 'direction'],
    ] as const)('%s family (hidden %i), %s score term', async (family, hidden, scoreLoss) => {
      const crl = await get();
      const count = family === 'glm' ? d * n : 5 * d + 5 + 25 + 5 + n * 5 + n + 5 * n + 5 + 25 + 5 + d * 5 + d;
      const parameters = randomArray([count], family === 'glm' ? 5 : 6, 0.8).data;
      const model: GscaleModel = { family, n, d, hidden, clampEpsilon: 1e-12, parameters };
      const options = { targetScale: 0.7, reconstructionWeight: 0.6, scoreLoss };
      const at = crl.gscaleLoss(model, { x, dsxPairs }, options);
      expect(at.gradient!.length).toBe(count);
      expect(at.loss).toBeCloseTo(at.scoreTerm + 0.6 * at.reconstruction, 12);
      const h = 1e-6;
      let worst = 0;
      let scale = 0;
      for (let k = 0; k < count; k++) {
        const plus = parameters.slice();
        const minus = parameters.slice();
        plus[k]! += h;
        minus[k]! -= h;
        const lp = crl.gscaleLoss({ ...model, parameters: plus }, { x, dsxPairs }, { ...options, gradient: false }).loss;
        const lm = crl.gscaleLoss({ ...model, parameters: minus }, { x, dsxPairs }, { ...options, gradient: false }).loss;
        worst = Math.max(worst, Math.abs((lp - lm) / (2 * h) - at.gradient![k]!));
        scale = Math.max(scale, Math.abs(at.gradient![k]!));
      }
      expect(scale).toBeGreaterThan(0.05);
      expect(worst / scale).toBeLessThan(1e-6);
    });
  });

  it('D at the true glm decoder: zero off the diagonal, E|dsz_i| of the simulation on it', async () => {
    const crl = await get();
    const config = { ...SIM, seed: 4 };
    const sim = crl.simulate(config);
    const data = gscaleData(sim);
    const model: GscaleModel = { family: 'glm', n: 3, d: 12, hidden: 0, clampEpsilon: 1e-12, parameters: sim.transform.decoder.data };
    const { D } = crl.gscaleLoss(model, data, { gradient: false });
    // Independent value of the diagonal: the exact latent score differences
    // s_first - s_second of each pair, at the observational latents.
    const nodes = pairNodes(sim);
    const z0 = sliceFirst(sim.z!, 0);
    for (let i = 0; i < 3; i++) {
      const first = crl.simulationScores(config, 'latentScoreDifference', i + 1, { z: z0 });
      const second = crl.simulationScores(config, 'latentScoreDifference', i + 4, { z: z0 });
      let mean = 0;
      for (let t = 0; t < 200; t++) mean += Math.abs(second.data[t * 3 + nodes[i]!]! - first.data[t * 3 + nodes[i]!]!) / 200;
      expect(D.data[i * 3 + i]!).toBeCloseTo(mean, 8);
      for (let j = 0; j < 3; j++) if (i !== j) expect(D.data[i * 3 + j]!).toBeLessThan(1e-9 * mean);
    }
  });

  it('recovers latents and graph on n = 3 (spectral start, default options)', async () => {
    const crl = await get();
    for (const seed of [1, 2]) {
      const sim = crl.simulate({ ...SIM, seed });
      const r = crl.gscale(gscaleData(sim));
      expect(r.init).toBe('spectral');
      expect(r.converged).toBe(true);
      expect(r.latents.shape).toEqual([200, 3]);
      expect(labelledMcc(sim, r.latents)).toBeGreaterThan(0.999);
      expect(Array.from(r.graph!.data)).toEqual(relabelledGraph(sim));
      // D ≈ I (targetScale 1).
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(Math.abs(r.D.data[i * 3 + j]! - (i === j ? 1 : 0))).toBeLessThan(1e-3);
      if (seed === 1) latentsByBackend[name] = r.latents.data;
    }
  });

  it('recovers latents and graph on n = 3 from a random start (training alone)', async () => {
    const crl = await get();
    const sim = crl.simulate({ ...SIM, seed: 3 });
    const r = crl.gscale(gscaleData(sim), { init: 'random', seed: 1, maxIterations: 6000, historyEvery: 100 });
    expect(r.init).toBe('random');
    expect(labelledMcc(sim, r.latents)).toBeGreaterThan(0.99);
    expect(Array.from(r.graph!.data)).toEqual(relabelledGraph(sim));
    const h = r.history;
    expect(h.iteration[0]).toBe(0);
    expect(h.loss[h.loss.length - 1]!).toBeLessThan(0.05 * h.loss[0]!);
    expect(r.loss).toBeCloseTo(h.loss[h.loss.length - 1]!, 12);
    expect(r.loss).toBeCloseTo(r.scoreTerm + r.reconstruction, 12);
  });

  it('transform-agnostic path: warm-up, realignment and restarts reach the DAG from random and linear starts', async () => {
    const crl = await get();
    const sim = crl.simulate({ ...SIM, seed: 4 });
    const data = gscaleData(sim);
    for (const options of [
      { init: 'random', seed: 3 },
      { init: 'linear' },
      { init: 'random', seed: 5, restarts: 2, restartIterations: 100 },
    ] as const) {
      const r = crl.gscale(data, { ...options, maxIterations: 3000, historyEvery: 100 });
      expect(r.init).toBe(options.init);
      expect(r.learningRate).toBe(1e-3);
      expect(labelledMcc(sim, r.latents)).toBeGreaterThan(0.999);
      expect(Array.from(r.graph!.data)).toEqual(relabelledGraph(sim));
      expect(r.scoreTerm).toBeLessThan(0.05);
      // The history starts with the warm-up: reconstruction only, score term off.
      expect(r.history.loss[0]).toBeCloseTo(r.history.reconstruction[0]!, 12);
    }
    // Without warm-up and realignment a random start trains the full loss from the draw.
    const plain = crl.gscale(data, { init: 'random', seed: 3, warmupIterations: 0, realign: false, maxIterations: 50 });
    expect(plain.learningRate).toBe(2e-2);
    expect(plain.history.loss[0]).toBeGreaterThan(plain.history.reconstruction[0]! + 1e-6);
    expect(() => crl.gscale(data, { realign: 1 as never })).toThrow(/'realign' must be true or false/);
    expect(() => crl.gscale(data, { restarts: -1 })).toThrow(/'restarts' must be an integer >= 0/);
  });

  it('encode / decode: the trained glm inverts the data and maps latents back', async () => {
    const crl = await get();
    const sim = crl.simulate({ ...SIM, seed: 1 });
    const data = gscaleData(sim);
    const r = crl.gscale(data, { edgeRule: 'adaptive' });
    const z = r.encode(data.x);
    expect(Array.from(z.data)).toEqual(Array.from(r.latents.data));
    expect(Array.from(crl.gscaleEncode(r.model, data.x).data)).toEqual(Array.from(z.data));
    const back = r.decode(z);
    let err = 0;
    for (let k = 0; k < back.data.length; k++) err = Math.max(err, Math.abs(back.data[k]! - data.x.data[k]!));
    expect(err).toBeLessThan(1e-8);
    // The latent score differences of the pairs are (close to) one-hot per pair.
    const dsz = crl.gscaleLatentScoreDifferences(r.model, data.x, data.dsxPairs);
    expect(dsz.shape).toEqual([3, 200, 3]);
    for (let i = 0; i < 3; i++) {
      let on = 0;
      let off = 0;
      for (let t = 0; t < 200; t++)
        for (let j = 0; j < 3; j++) {
          const v = Math.abs(dsz.data[(i * 200 + t) * 3 + j]!) / 200;
          if (i === j) on += v;
          else off += v;
        }
      expect(on).toBeCloseTo(r.D.data[i * 3 + i]!, 10);
      expect(off).toBeLessThan(1e-3);
    }
    // The adaptive rule finds the same graph.
    expect(Array.from(r.graph!.data)).toEqual(relabelledGraph(sim));
  });

  it('mlp family: training lowers the loss and encode/decode have the documented shapes', async () => {
    const crl = await get();
    const sim = tanhMlpSim(crl, 150, 5);
    const data = gscaleData(sim);
    const r = crl.gscale(data, { family: 'mlp', hidden: 8, maxIterations: 400, seed: 2 });
    expect(r.init).toBe('random');
    expect(r.model.parameters.length).toBe(8 * 4 + 8 + 64 + 8 + 2 * 8 + 2 + 8 * 2 + 8 + 64 + 8 + 4 * 8 + 4);
    expect(r.loss).toBeLessThan(0.5 * r.history.loss[0]!);
    expect(r.decode(r.latents).shape).toEqual([150, 4]);
    expect(r.encode(data.x).shape).toEqual([150, 2]);
  });

  it('mlp family with the direction term recovers the latents of a tanh-MLP transform', async () => {
    const crl = await get();
    const sim = tanhMlpSim(crl, 200, 7);
    const data = gscaleData(sim);
    const r = crl.gscale(data, { family: 'mlp', hidden: 16, maxIterations: MLP_ITERATIONS, seed: 1 });
    expect(labelledMcc(sim, r.latents)).toBeGreaterThan(MLP_MCC);
  });

  it('mlp minibatches: seeded, and a batch of all rows is the full batch', async () => {
    const crl = await get();
    const sim = tanhMlpSim(crl, 120, 5);
    const data = gscaleData(sim);
    const options = { family: 'mlp', hidden: 6, maxIterations: 60, seed: 3, patience: 1000, retries: 0 } as const;
    const batched = crl.gscale(data, { ...options, batchSize: 32 });
    expect(crl.gscale(data, { ...options, batchSize: 32 }).model.parameters).toEqual(batched.model.parameters);
    const full = crl.gscale(data, { ...options, batchSize: 0 });
    expect(crl.gscale(data, { ...options, batchSize: 500 }).model.parameters).toEqual(full.model.parameters);
    expect(batched.model.parameters).not.toEqual(full.model.parameters);
    expect(batched.iterations).toBe(60);
    // Each recorded loss is over all rows (once per pass: 4 iterations of 32 rows cover 120).
    expect(batched.loss).toBeLessThan(batched.history.loss[0]!);
    expect(() => crl.gscale(data, { ...options, batchSize: 1 })).toThrow(/'batchSize' must be 0 \(all rows\) or at least 2/);
  });

  it('retries: a run above retryScore trains again from the next seed and keeps the lower loss', async () => {
    const crl = await get();
    const sim = tanhMlpSim(crl, 100, 5);
    const data = gscaleData(sim);
    const options = { family: 'mlp', hidden: 6, maxIterations: 20, patience: 1000, retries: 0 } as const;
    const first = crl.gscale(data, { ...options, seed: 3 });
    const second = crl.gscale(data, { ...options, seed: 4 });
    const retried = crl.gscale(data, { ...options, seed: 3, retries: 1, retryScore: 0 });
    expect(retried.iterations).toBe(40);
    expect(retried.loss).toBe(Math.min(first.loss, second.loss));
    // Below the threshold nothing is retried.
    expect(crl.gscale(data, { ...options, seed: 3, retries: 1, retryScore: 1e9 }).iterations).toBe(20);
    expect(() => crl.gscale(data, { ...options, retryScore: -1 })).toThrow(/'retryScore' must be a number >= 0/);
  });

  it('reports progress and can be cancelled', async () => {
    const crl = await get();
    const sim = crl.simulate({ ...SIM, seed: 1 });
    const data = gscaleData(sim);
    const fractions: number[] = [];
    const done = await crl.gscaleAsync(data, {
      init: 'random',
      maxIterations: 300,
      warmupIterations: 100,
      patience: 1000,
      onProgress: (f) => fractions.push(f),
    });
    // Progress covers the warm-up and the main phase: 400 iterations in all.
    expect(done.iterations).toBe(400);
    for (let k = 1; k < fractions.length; k++) expect(fractions[k]!).toBeGreaterThanOrEqual(fractions[k - 1]!);
    expect(fractions.length).toBeGreaterThan(5);
    expect(fractions[fractions.length - 1]).toBe(1);
    const controller = new AbortController();
    const pending = crl.gscaleAsync(
      data,
      { init: 'random', maxIterations: 10_000_000, patience: 100_000_000 },
      {
        signal: controller.signal,
        onProgress: (f) => {
          if (f > 0) controller.abort();
        },
      },
    );
    await expect(pending).rejects.toThrow(/cancelled/);
  });

  it('rejects bad inputs with messages naming the argument', async () => {
    const crl = await get();
    const x = randomArray([20, 5], 1, 0.5);
    const dsxPairs = randomArray([2, 20, 5], 2);
    expect(() => crl.gscale({ x, dsxPairs: randomArray([2, 19, 5], 2) })).toThrow(/'dsxPairs' must be n×N×d/);
    expect(() => crl.gscale({ x: randomArray([20, 2], 1), dsxPairs: randomArray([3, 20, 2], 2) })).toThrow(/d >= n/);
    expect(() => crl.gscale({ x, dsxPairs, dsxObs: randomArray([3, 20, 5], 3) })).toThrow(/'dsxObs' must have the shape/);
    expect(() => crl.gscale({ x, dsxPairs }, { family: 'mlp', init: 'spectral' })).toThrow(/needs the glm family/);
    expect(() => crl.gscale({ x, dsxPairs }, { family: 'cnn' as never })).toThrow(/'family' must be one of/);
    expect(() => crl.gscale({ x, dsxPairs }, { targetScale: 0 })).toThrow(/'targetScale' must be a positive number/);
    expect(() => crl.gscale({ x, dsxPairs }, { learningrate: 1 } as never)).toThrow(/unknown option 'learningrate'/);
    const bad = { data: x.data.slice(), shape: x.shape };
    bad.data[7] = Number.NaN;
    expect(() => crl.gscale({ x: bad, dsxPairs })).toThrow(/'x' contains NaN/);
    const model: GscaleModel = { family: 'glm', n: 2, d: 5, hidden: 0, clampEpsilon: 1e-12, parameters: new Float64Array(9) };
    expect(() => crl.gscaleEncode(model, x)).toThrow(/'parameters' must hold 10 values/);
    expect(() => crl.gscaleDecode({ ...model, parameters: new Float64Array(10) }, randomArray([4, 3], 1))).toThrow(/'z' must have n = 2/);
    expect(() => crl.gscaleEncode({ ...model, parameters: new Float64Array(10) }, randomArray([4, 3], 1))).toThrow(
      /'x' must have d = 5 columns, got 3/,
    );
    expect(() => crl.gscaleEncode({ ...model, parameters: new Float64Array(10) }, x)).toThrow(/rank-deficient/);
  });
});

describe('gscale backends agree', () => {
  it('native and WASM latents match (same deterministic spectral start)', () => {
    const a = latentsByBackend.native;
    const b = latentsByBackend.wasm;
    expect(a && b).toBeTruthy();
    let err = 0;
    let scale = 0;
    for (let k = 0; k < a!.length; k++) {
      err = Math.max(err, Math.abs(a![k]! - b![k]!));
      scale = Math.max(scale, Math.abs(a![k]!));
    }
    expect(err / scale).toBeLessThan(1e-6);
  });
});
