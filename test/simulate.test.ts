import { describe, expect, it } from 'vitest';
import type { SimulationConfig, Simulation, ScoreQuantity } from '../src/ops/simulate.js';
import { sliceFirst, type NDArray } from '../src/types.js';
import { BACKENDS, backend } from './helpers/backends.js';
import { readReferenceCase, referenceCases } from './helpers/fixtures.js';

/** max |a - b| / max |b| over all entries. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

function matrix(rows: number, cols: number, fill: (i: number, j: number) => number): NDArray {
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = fill(i, j);
  return { data, shape: [rows, cols] };
}

function rowOf(a: NDArray, i: number): Float64Array {
  const cols = a.shape[a.shape.length - 1]!;
  return a.data.subarray(i * cols, (i + 1) * cols);
}

/** Small deterministic pseudo-random numbers in [-1, 1) for directions and offsets. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 4294967296) * 2 - 1;
  };
}

const LSCALE = referenceCases('lscale-');
const UMNI = referenceCases('umni-');

describe.each(BACKENDS)('simulate on %s', (name) => {
  const crl = () => backend(name);

  describe('reference-compatible draws', () => {
    it.each(LSCALE)('%s: z, x, decoder, graph (and exact dsx) equal the fixture', async (caseName) => {
      const ref = readReferenceCase(caseName);
      const m = ref.meta;
      const sim = (await crl()).simulate({
        n: m.n,
        d: m.d,
        samples: m.samples,
        seed: m.seed,
        latent: m.latent,
        intervention: m.intervention,
        varianceFactors: m.varianceChange,
      });
      expect(sim.z!.shape).toEqual(ref.arrays.z!.shape);
      expect(sim.x!.shape).toEqual(ref.arrays.x!.shape);
      expect(relErr(sim.z!.data, ref.arrays.z!.data)).toBeLessThan(1e-10);
      expect(relErr(sim.x!.data, ref.arrays.x!.data)).toBeLessThan(1e-10);
      expect(relErr(sim.transform.decoder.data, ref.arrays.decoder!.data)).toBeLessThan(1e-10);
      expect(Array.from(sim.graph.data)).toEqual(Array.from(ref.arrays.graph!.data));
      if (m.scores === 'true') {
        // Exact score differences: pins down how hard/soft interventions change mechanisms and variances.
        expect(relErr(sim.dsx!.data, ref.arrays.dsx!.data)).toBeLessThan(1e-10);
      }
    });

    it.each(referenceCases('finite-'))('%s: decoder and DAG equal the fixture', async (caseName) => {
      const ref = readReferenceCase(caseName);
      const m = ref.meta;
      const sim = (await crl()).simulate({ n: m.n, d: m.d, samples: 1, seed: m.seed, outputs: { z: false, x: false, dsx: false } });
      expect(relErr(sim.transform.decoder.data, ref.arrays.decoder!.data)).toBeLessThan(1e-10);
      expect(Array.from(sim.graph.data)).toEqual(Array.from(ref.arrays.graph!.data));
    });

    it.each(UMNI)('%s: multi-node design (D, draws, exact dsx) equals the fixture', async (caseName) => {
      const ref = readReferenceCase(caseName);
      const m = ref.meta;
      const sim = (await crl()).simulate({
        n: m.n,
        d: m.d,
        samples: m.samples,
        seed: m.seed,
        design: 'multi-node',
        intervention: m.hard ? 'hard' : 'soft',
      });
      expect(Array.from(sim.targets.data)).toEqual(Array.from(ref.arrays.interventionTargets!.data));
      expect(Array.from(sim.graph.data)).toEqual(Array.from(ref.arrays.graph!.data));
      expect(relErr(sim.z!.data, ref.arrays.z!.data)).toBeLessThan(1e-10);
      expect(relErr(sim.x!.data, ref.arrays.x!.data)).toBeLessThan(1e-10);
      expect(relErr(sim.dsx!.data, ref.arrays.dsx!.data)).toBeLessThan(1e-10);
    });
  });

  describe('exact scores against central finite differences of the log-density', () => {
    const combos: [string, string, string][] = [];
    for (const latent of ['linear', 'quadratic', 'mlp'])
      for (const intervention of ['hard', 'soft'])
        for (const transform of ['linear', 'tanh', 'tanh-mlp']) combos.push([latent, intervention, transform]);

    it.each(combos)('%s SCM, %s interventions, %s transform', async (latent, intervention, transform) => {
      const b = await crl();
      const n = 3;
      const d = 5;
      const config: SimulationConfig = {
        n,
        d,
        samples: 6,
        seed: 11,
        density: 0.9,
        latent: latent as SimulationConfig['latent'],
        intervention: intervention as SimulationConfig['intervention'],
        transform: transform as SimulationConfig['transform'],
      };
      const sim = b.simulate(config);
      const z0 = sliceFirst(sim.z!, 0);
      const N = z0.shape[0]!;
      const h = 1e-5;
      const rand = lcg(5);

      for (const env of [0, 1, sim.K]) {
        // Latent: every coordinate.
        const sz = b.simulationScores(config, 'latentScore', env, { z: z0 });
        const plus = matrix(N * n, n, (r, j) => z0.data[Math.floor(r / n) * n + j]! + (r % n === j ? h : 0));
        const minus = matrix(N * n, n, (r, j) => z0.data[Math.floor(r / n) * n + j]! - (r % n === j ? h : 0));
        const lp = b.simulationScores(config, 'latentLogDensity', env, { z: plus }).data;
        const lm = b.simulationScores(config, 'latentLogDensity', env, { z: minus }).data;
        const fd = Float64Array.from({ length: N * n }, (_, r) => (lp[r]! - lm[r]!) / (2 * h));
        expect(relErr(fd, sz.data)).toBeLessThan(1e-6);

        // Observed: along tangent directions J u of the data manifold,
        // d/dt log p_x(g(z + t u)) = s_x . J u.
        const sx = b.simulationScores(config, 'observedScore', env, { z: z0 });
        const jac = b.simulationTransform(config, 'jacobian', z0);
        const u = matrix(N, n, () => rand());
        const zp = matrix(N, n, (t, j) => z0.data[t * n + j]! + h * u.data[t * n + j]!);
        const zm = matrix(N, n, (t, j) => z0.data[t * n + j]! - h * u.data[t * n + j]!);
        const xp = b.simulationScores(config, 'observedLogDensity', env, { z: zp }).data;
        const xm = b.simulationScores(config, 'observedLogDensity', env, { z: zm }).data;
        const fdDir = new Float64Array(N);
        const exact = new Float64Array(N);
        for (let t = 0; t < N; t++) {
          fdDir[t] = (xp[t]! - xm[t]!) / (2 * h);
          for (let k = 0; k < d; k++) {
            let ju = 0;
            for (let j = 0; j < n; j++) ju += jac.data[(t * d + k) * n + j]! * u.data[t * n + j]!;
            exact[t]! += sx.data[t * d + k]! * ju;
          }
        }
        expect(relErr(fdDir, exact)).toBeLessThan(1e-6);
      }

      // dsx at the observational samples = s_0 - s_m of the observed scores.
      const s0 = b.simulationScores(config, 'observedScore', 0, { z: z0 });
      for (let m = 1; m <= sim.K; m++) {
        const sm = b.simulationScores(config, 'observedScore', m, { z: z0 });
        const diff = s0.data.map((v, i) => v - sm.data[i]!);
        expect(relErr(sliceFirst(sim.dsx!, m - 1).data, diff)).toBeLessThan(1e-9);
        const direct = b.simulationScores(config, 'observedScoreDifference', m, { z: z0 });
        expect(relErr(direct.data, sliceFirst(sim.dsx!, m - 1).data)).toBeLessThan(1e-12);
      }
    });

    // With d = n and one tanh layer the image is all of (-1, 1)^n, so x can be
    // perturbed freely (deeper tanh stacks map onto a proper subset of it).
    it.each(['tanh', 'tanh-mlp'])('%s transform (one layer) with d = n: scores are gradients in x', async (transform) => {
      const b = await crl();
      const n = 3;
      const config: SimulationConfig = {
        n,
        samples: 5,
        seed: 3,
        latent: 'quadratic',
        transform: transform as 'tanh',
        transformLayers: 1,
      };
      const sim = b.simulate(config);
      const x0 = sliceFirst(sim.x!, 0);
      const N = x0.shape[0]!;
      const h = 1e-6;
      for (const env of [0, 2]) {
        const sx = b.simulationScores(config, 'observedScore', env, { x: x0 });
        const shift = (sign: number) => matrix(N * n, n, (r, j) => x0.data[Math.floor(r / n) * n + j]! + (r % n === j ? sign * h : 0));
        const lp = b.simulationScores(config, 'observedLogDensity', env, { x: shift(1) }).data;
        const lm = b.simulationScores(config, 'observedLogDensity', env, { x: shift(-1) }).data;
        const fd = Float64Array.from({ length: N * n }, (_, r) => (lp[r]! - lm[r]!) / (2 * h));
        expect(relErr(fd, sx.data)).toBeLessThan(1e-6);
      }
    });

    it('the Jacobian and the inverse agree with the forward map', async () => {
      const b = await crl();
      for (const transform of ['linear', 'tanh', 'tanh-mlp'] as const) {
        const config: SimulationConfig = { n: 3, d: 6, samples: 4, seed: 9, transform, transformLayers: 3 };
        const sim = b.simulate(config);
        const z0 = sliceFirst(sim.z!, 0);
        const x = b.simulationTransform(config, 'forward', z0);
        expect(relErr(x.data, sliceFirst(sim.x!, 0).data)).toBeLessThan(1e-14);
        // atanh near +-1 amplifies rounding by 1/(1 - x^2): a loose but still discriminating bound.
        expect(relErr(b.simulationTransform(config, 'inverse', x).data, z0.data)).toBeLessThan(1e-6);
        const jac = b.simulationTransform(config, 'jacobian', z0);
        const h = 1e-6;
        for (let j = 0; j < 3; j++) {
          const xp = b.simulationTransform(
            config,
            'forward',
            matrix(4, 3, (t, k) => z0.data[t * 3 + k]! + (k === j ? h : 0)),
          );
          const xm = b.simulationTransform(
            config,
            'forward',
            matrix(4, 3, (t, k) => z0.data[t * 3 + k]! - (k === j ? h : 0)),
          );
          const fd = Float64Array.from({ length: 4 * 6 }, (_, i) => (xp.data[i]! - xm.data[i]!) / (2 * h));
          const col = Float64Array.from({ length: 4 * 6 }, (_, i) => jac.data[i * 3 + j]!);
          expect(relErr(fd, col)).toBeLessThan(1e-7);
        }
      }
    });
  });

  it('linear SCM: sample covariance matches the implied covariance within 4 standard errors', async () => {
    const b = await crl();
    const n = 5;
    const N = 20000;
    for (const config of [
      { n, samples: N, seed: 21, intervention: 'hard', varianceFactors: 0.25 },
      { n, samples: N, seed: 22, intervention: 'soft', randomOrder: true, density: 0.8 },
    ] as SimulationConfig[]) {
      const sim = b.simulate({ ...config, outputs: { x: false, dsx: false } });
      const w = (sim.mechanisms as { weights: NDArray }).weights;
      for (let e = 0; e <= sim.K; e++) {
        // z^T = (sqrt(v) e)^T (I - W_c)^{-1}, W_c(i, j) = c_j W(i, j): Sigma = Y^T V Y.
        const c = rowOf(sim.mechanismScale, e);
        const v = rowOf(sim.noiseVariance, e);
        const wc = matrix(n, n, (i, j) => w.data[i * n + j]! * c[j]!);
        let y = matrix(n, n, (i, j) => (i === j ? 1 : 0));
        let power = y;
        for (let k = 1; k < n; k++) {
          power = matrix(n, n, (i, j) => {
            let s = 0;
            for (let l = 0; l < n; l++) s += power.data[i * n + l]! * wc.data[l * n + j]!;
            return s;
          });
          const acc = y;
          y = matrix(n, n, (i, j) => acc.data[i * n + j]! + power.data[i * n + j]!);
        }
        const sigma = matrix(n, n, (i, j) => {
          let s = 0;
          for (let l = 0; l < n; l++) s += y.data[l * n + i]! * v[l]! * y.data[l * n + j]!;
          return s;
        });
        const sample = b.covariance(sliceFirst(sim.z!, e));
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            const s = sigma.data[i * n + j]!;
            const se = Math.sqrt((sigma.data[i * n + i]! * sigma.data[j * n + j]! + s * s) / N);
            expect(Math.abs(sample.data[i * n + j]! - s)).toBeLessThan(4 * se);
          }
      }
    }
  });

  it('intervention designs: targets, mechanism factors and variances', async () => {
    const b = await crl();
    const n = 4;
    const two = b.simulate({ n, samples: 10, seed: 4, design: 'two-hard-per-node', randomInterventionOrder: true });
    expect(two.K).toBe(2 * n);
    expect(Array.from(two.varianceFactors)).toEqual([...Array(n).fill(0.25), ...Array(n).fill(4)]);
    const first = two.interventions.slice(1, n + 1).map((t) => t[0]);
    expect(two.interventions.slice(n + 1).map((t) => t[0])).toEqual(first);
    expect([...first].sort()).toEqual([0, 1, 2, 3]);
    for (let m = 1; m <= 2 * n; m++) {
      const i = two.interventions[m]![0]!;
      expect(rowOf(two.mechanismScale, m)[i]).toBe(0);
      expect(rowOf(two.noiseVariance, m)[i]).toBeCloseTo(two.variances[i]! * (m <= n ? 0.25 : 4), 14);
    }

    const multi = b.simulate({ n: 6, samples: 10, seed: 8, design: 'multi-node', intervention: 'soft', softScale: 0.3 });
    expect(multi.K).toBe(6);
    // D has full rank: some column order makes it unit upper triangular.
    const cols = Array.from({ length: 6 }, (_, j) => multi.interventions[j + 1]!);
    expect(cols.every((t) => t.length >= 1)).toBe(true);
    const lastNode = cols.map((t) => Math.max(...t)).sort();
    expect(lastNode).toEqual([0, 1, 2, 3, 4, 5]);
    for (let m = 1; m <= 6; m++)
      for (const i of multi.interventions[m]!) {
        expect(rowOf(multi.mechanismScale, m)[i]).toBe(0.3);
        expect(rowOf(multi.noiseVariance, m)[i]).toBeCloseTo(multi.variances[i]! * 0.25, 14);
      }

    const added = b.simulate({ n: 3, samples: 5, seed: 2, varianceChange: 'add', varianceFactors: [1, 2, 3] });
    for (let m = 1; m <= 3; m++) expect(rowOf(added.noiseVariance, m)[m - 1]).toBeCloseTo(added.variances[m - 1]! + m, 14);

    // Relabelled order: the graph is a DAG whose topological order is `order`.
    const relabelled = b.simulate({ n: 7, samples: 3, seed: 5, randomOrder: true, density: 0.7 });
    const position = new Map(relabelled.order.map((node, k) => [node, k]));
    for (let i = 0; i < 7; i++)
      for (let j = 0; j < 7; j++) if (relabelled.graph.data[i * 7 + j]) expect(position.get(i)!).toBeLessThan(position.get(j)!);
    expect([...relabelled.order].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('unscaled decoder is Q R with orthonormal Q', async () => {
    const b = await crl();
    const sim = b.simulate({ n: 3, d: 8, samples: 2, seed: 6, scaleDecoder: false });
    const scaled = b.simulate({ n: 3, d: 8, samples: 2, seed: 6 });
    const g = sim.transform.decoder;
    // Column j of the scaled decoder is column j of G divided by its max |entry|.
    for (let j = 0; j < 3; j++) {
      let m = 0;
      for (let i = 0; i < 8; i++) m = Math.max(m, Math.abs(g.data[i * 3 + j]!));
      for (let i = 0; i < 8; i++) expect(scaled.transform.decoder.data[i * 3 + j]).toBeCloseTo(g.data[i * 3 + j]! / m, 14);
    }
    // encoder = pinv(decoder): encoder * decoder = I.
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let k = 0; k < 8; k++) s += sim.transform.encoder.data[i * 8 + k]! * g.data[k * 3 + j]!;
        expect(s).toBeCloseTo(i === j ? 1 : 0, 12);
      }
  });

  it('skipped outputs change nothing else', async () => {
    const b = await crl();
    const config: SimulationConfig = { n: 4, d: 6, samples: 1500, seed: 13, latent: 'quadratic' };
    const full = b.simulate(config);
    const dsxOnly = b.simulate({ ...config, outputs: { z: false, x: false } });
    expect(dsxOnly.z).toBeUndefined();
    expect(dsxOnly.x).toBeUndefined();
    expect(Array.from(dsxOnly.dsx!.data)).toEqual(Array.from(full.dsx!.data));
    const xOnly = b.simulate({ ...config, outputs: { z: false, dsx: false } });
    expect(xOnly.dsx).toBeUndefined();
    expect(Array.from(xOnly.x!.data)).toEqual(Array.from(full.x!.data));
  });

  it('simulateAsync reports progress and gives the same result', async () => {
    const b = await crl();
    const config: SimulationConfig = { n: 3, d: 4, samples: 3000, seed: 1, latent: 'mlp', transform: 'tanh' };
    const fractions: number[] = [];
    const sim = await b.simulateAsync(config, { onProgress: (f) => fractions.push(f) });
    expect(Array.from(sim.dsx!.data)).toEqual(Array.from(b.simulate(config).dsx!.data));
    expect(fractions.length).toBeGreaterThan(0);
    expect(Math.max(...fractions)).toBeLessThanOrEqual(1);
  });

  it('rejects invalid configs with clear errors', async () => {
    const b = await crl();
    const base: SimulationConfig = { n: 3, samples: 10, seed: 1 };
    const bad: [Partial<SimulationConfig> & Record<string, unknown>, RegExp][] = [
      [{ n: 0 }, /'n' must be at least 1, got 0/],
      [{ n: 4, d: 3 }, /'d' must be at least n = 4/],
      [{ samples: 0 }, /'samples' must be at least 1, got 0/],
      [{ density: 1.5 }, /'density' must be in \[0, 1\], got 1.5/],
      [{ density: -0.1 }, /'density' must be in \[0, 1\]/],
      [{ varianceFactors: 0 }, /variance factors must be positive/],
      [{ varianceFactors: [1, -2, 3] }, /'varianceFactors\[1\]' is -2/],
      [{ latent: 'cubic' as never }, /'latent' must be one of 'linear', 'quadratic', 'mlp', got 'cubic'/],
      [{ intervention: 'partial' as never }, /'intervention' must be one of 'hard', 'soft'/],
      [{ design: 'pairs' as never }, /'design' must be one of/],
      [{ transform: 'relu' as never }, /'transform' must be one of 'linear', 'tanh', 'tanh-mlp'/],
      [{ sample: 5 }, /unknown config field 'sample'/],
    ];
    for (const [change, message] of bad) expect(() => b.simulate({ ...base, ...change } as SimulationConfig)).toThrow(message);
    expect(() => b.simulate({ ...base, design: 'two-hard-per-node', intervention: 'soft' })).toThrow(
      /two-hard-per-node' uses hard interventions/,
    );
    expect(() => b.simulate({ ...base, varianceFactors: [1, 2] })).toThrow(/one per environment \(K = 3\)/);

    // The core checks too (engine calls bypass the TypeScript validation).
    const core =
      (numbers: Record<string, number>, strings: Record<string, string> = {}, arrays = {}) =>
      () =>
        b.engine.call('simulate', { numbers: { n: 3, samples: 10, seed: 1, ...numbers }, strings, arrays });
    expect(core({ n: 0 })).toThrow(/simulate: 'n' must be between 1/);
    expect(core({ d: 2 })).toThrow(/simulate: 'd' must be at least n = 3/);
    expect(core({ samples: 0 })).toThrow(/simulate: 'samples' must be between 1/);
    expect(core({ density: 2 })).toThrow(/simulate: 'density' must be in \[0, 1\], got 2/);
    expect(core({}, {}, { varianceFactors: { data: Float64Array.of(-1), shape: [1] } })).toThrow(
      /simulate: variance factors must be positive and finite/,
    );
    expect(core({}, { latent: 'cubic' })).toThrow(/simulate: 'latent' must be one of 'linear', 'quadratic', 'mlp', got 'cubic'/);
    expect(core({}, { transform: 'relu' })).toThrow(/'transform' must be one of/);
    expect(() => b.simulationScores(base, 'latentScore' as ScoreQuantity, 4, { z: { data: new Float64Array(3), shape: [1, 3] } })).toThrow(
      /'environment' must be between 0 and 3/,
    );
  });
});

describe('both backends', () => {
  const configs: SimulationConfig[] = [];
  for (const latent of ['linear', 'quadratic', 'mlp'] as const)
    for (const transform of ['linear', 'tanh', 'tanh-mlp'] as const)
      configs.push({ n: 4, d: 7, samples: 700, seed: 31, latent, transform, randomOrder: true });
  configs.push({ n: 5, d: 6, samples: 500, seed: 32, design: 'multi-node', intervention: 'soft' });
  configs.push({ n: 3, d: 5, samples: 500, seed: 33, design: 'two-hard-per-node', transform: 'tanh', latent: 'quadratic' });
  configs.push({ n: 4, samples: 500, seed: 34, randomInterventionOrder: true, varianceChange: 'add', scaleDecoder: false });

  it.each(configs.map((c) => [`${c.latent ?? 'linear'}/${c.transform ?? 'linear'}/${c.design ?? 'single-node'}`, c]))(
    '%s: same structure, values within 1e-12',
    async (_label, config) => {
      const [native, wasm] = [await backend('native'), await backend('wasm')];
      const a: Simulation = native.simulate(config as SimulationConfig);
      const b: Simulation = wasm.simulate(config as SimulationConfig);
      expect(Array.from(a.graph.data)).toEqual(Array.from(b.graph.data));
      expect(Array.from(a.targets.data)).toEqual(Array.from(b.targets.data));
      expect(a.order).toEqual(b.order);
      for (const key of ['z', 'x', 'dsx'] as const) expect(relErr(a[key]!.data, b[key]!.data)).toBeLessThan(1e-12);
      expect(relErr(a.transform.decoder.data, b.transform.decoder.data)).toBeLessThan(1e-12);
      expect(relErr(a.variances, b.variances)).toBe(0);
    },
  );

  it('native results do not depend on the thread count', async () => {
    const native = await backend('native');
    const config: SimulationConfig = { n: 6, d: 9, samples: 5000, seed: 40, latent: 'quadratic' };
    const before = native.info().threads;
    native.setThreads(1);
    try {
      const one = native.simulate(config);
      native.setThreads(2);
      const two = native.simulate(config);
      for (const key of ['z', 'x', 'dsx'] as const) expect(Array.from(two[key]!.data)).toEqual(Array.from(one[key]!.data));
    } finally {
      native.setThreads(before);
    }
  });
});
