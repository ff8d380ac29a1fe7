import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, backend } from './helpers/backends.js';
import { readReferenceCase, referenceCases, type ReferenceCase } from './helpers/fixtures.js';
import type { Backend } from '../src/backend.js';
import { LSCALE_REFERENCE_OPTIONS, type LscaleOptions } from '../src/ops/lscale.js';
import { registerScoreEstimator, scoreEstimators } from '../src/ops/estimators.js';
import type { NDArray } from '../src/types.js';

const CASES = referenceCases('lscale-');
const fixtures = new Map<string, ReferenceCase>(CASES.map((name) => [name, readReferenceCase(name)]));
const fixture = (name: string) => fixtures.get(name)!;

function rows(a: NDArray): number[][] {
  const [r, c] = a.shape as [number, number];
  return Array.from({ length: r }, (_, i) => Array.from(a.data.subarray(i * c, (i + 1) * c)));
}

const dot = (u: number[], v: number[]) => u.reduce((s, x, k) => s + x * v[k]!, 0);
const absCos = (u: number[], v: number[]) => Math.abs(dot(u, v)) / Math.sqrt(dot(u, u) * dot(v, v));

function rowCosines(a: NDArray, b: NDArray): number[] {
  const rb = rows(b);
  return rows(a).map((u, i) => absCos(u, rb[i]!));
}

function bits(a: NDArray): number[] {
  return Array.from(a.data, (v) => (v !== 0 ? 1 : 0));
}

function edgeCount(a: NDArray): number {
  return bits(a).reduce((s, v) => s + v, 0);
}

function scaled(a: NDArray, c: number): NDArray {
  return { data: a.data.map((v) => v * c), shape: [...a.shape] };
}

function options(c: ReferenceCase, extra: LscaleOptions = {}): LscaleOptions {
  return {
    intervention: c.meta.intervention as 'soft' | 'hard',
    fullRank: Boolean(c.meta.fullRankScores),
    tolEdge: c.meta.atolEdge as number,
    tolEigv: c.meta.atolEigv as number,
    ...extra,
  };
}

/** Unit vectors spanning the eigenvectors of a symmetric d×d slice with eigenvalue > tol. */
function columnSpace(b: Backend, a: NDArray, tol: number): number[][] {
  const { values, vectors } = b.symmetricEigen(a);
  const v = rows(vectors);
  const d = values.length;
  const out: number[][] = [];
  for (let k = 0; k < d; k++) if (values[k]! > tol) out.push(v.map((row) => row[k]!));
  return out;
}

/** |projection of u on an orthonormal set| / |u|. */
function inSpan(u: number[], basis: number[][]): number {
  const p = basis.map((q) => dot(u, q));
  return Math.sqrt(dot(p, p) / dot(u, u));
}

function slice(a: NDArray, k: number): NDArray {
  const inner = a.shape.slice(1);
  const size = inner.reduce((x, y) => x * y, 1);
  return { data: a.data.slice(k * size, (k + 1) * size), shape: inner };
}

describe.each(BACKENDS)('lscale (%s)', (name) => {
  let b: Backend;
  beforeAll(async () => {
    b = await backend(name);
  });
  afterAll(async () => {
    await b?.close();
  });

  describe('parity with the reference fixtures (reference options)', () => {
    it.each(CASES)('%s', (caseName) => {
      const c = fixture(caseName);
      const a = c.arrays;
      const r = b.lscale({ x: a.x!, dsx: a.dsx! }, options(c, LSCALE_REFERENCE_OPTIONS));
      expect(bits(r.soft.graph)).toEqual(bits(a['soft.graph']!));
      expect(r.soft.order).toEqual(Array.from(a['soft.order']!.data));
      for (const cos of rowCosines(r.soft.encoder, a['soft.encoder']!)) expect(cos).toBeGreaterThanOrEqual(0.999);
      if (c.meta.intervention === 'hard') {
        expect(r.hard).toBeDefined();
        expect(bits(r.hard!.graph)).toEqual(bits(a['hard.graph']!));
        expect(r.hard!.order).toEqual(Array.from(a['hard.order']!.data));
        for (const cos of rowCosines(r.hard!.encoder, a['hard.encoder']!)) expect(cos).toBeGreaterThanOrEqual(0.999);
      } else {
        expect(r.hard).toBeUndefined();
      }
      if (c.meta.fullRankScores) {
        const f = r.fullRank!;
        expect(bits(f.graph)).toEqual(bits(a['fullrank.graph']!));
        const cos = rowCosines(f.encoder, a['fullrank.encoder']!);
        const refRows = rows(a['fullrank.encoder']!);
        const ourRows = rows(f.encoder);
        // Spaces the full-rank encoder rows come from: col(R_m) ∩ col(R_c) over the children c.
        const R = b.scoreDiffCovariance(a.dsx!);
        const graph = rows(f.graph);
        f.intersectionDims.forEach((dim, m) => {
          if (dim === 1) {
            expect(cos[m], `row ${m}`).toBeGreaterThanOrEqual(0.999);
          } else {
            // A k-dim intersection: any of its vectors fits the data; the reference's pick
            // and ours must both lie in every space of the intersection.
            expect(dim).toBeGreaterThan(1);
            const members = [m, ...graph[m]!.flatMap((v, j) => (v ? [j] : []))];
            for (const i of members) {
              const space = columnSpace(b, slice(R, i), 1e-6);
              expect(inSpan(refRows[m]!, space), `reference row ${m} in col(R_${i})`).toBeGreaterThanOrEqual(0.999);
              expect(inSpan(ourRows[m]!, space), `row ${m} in col(R_${i})`).toBeGreaterThanOrEqual(0.999);
            }
          }
        });
      }
    });
  });

  it('the adaptive rule gives a sparser, more correct hard graph than the absolute rule on Gaussian plug-in scores', () => {
    const c = fixture('lscale-linear-hard-gaussian-n5-d10-s1000');
    const a = c.arrays;
    const absolute = b.lscale({ x: a.x!, dsx: a.dsx! }, options(c, LSCALE_REFERENCE_OPTIONS)).hard!;
    const adaptive = b.lscale({ x: a.x!, dsx: a.dsx! }, { intervention: 'hard' }).hard!;
    const truth = a.graph!;
    const shdAbs = b.compareGraphs(truth, absolute.graph).shd;
    const shdAda = b.compareGraphs(truth, adaptive.graph).shd;
    expect(edgeCount(absolute.graph)).toBe(10); // every pair: the reference's dense estimate
    expect(edgeCount(adaptive.graph)).toBeLessThan(edgeCount(absolute.graph));
    expect(shdAda).toBeLessThan(shdAbs);
  });

  it('the adaptive rule recovers the graphs of the exact-score fixtures at least as well as the absolute rule', () => {
    for (const caseName of CASES.filter((n) => n.includes('-true-'))) {
      const c = fixture(caseName);
      const a = c.arrays;
      const hard = c.meta.intervention === 'hard';
      const truth = hard ? a.graph! : b.transitiveClosure(a.graph!);
      const pick = (o: LscaleOptions) => {
        const r = b.lscale({ x: a.x!, dsx: a.dsx! }, options(c, o));
        return hard ? r.hard!.graph : b.transitiveClosure(r.soft.graph);
      };
      const shdAbs = b.compareGraphs(truth, pick(LSCALE_REFERENCE_OPTIONS)).shd;
      const shdAda = b.compareGraphs(truth, pick({ edgeRule: 'adaptive' })).shd;
      expect(shdAda, caseName).toBeLessThanOrEqual(shdAbs);
    }
  });

  it("with exact scores the hard graph stays inside the soft stage's closure ('auto' filter)", () => {
    // A latent DAG without edges: the soft stage's statistics are exact zeros, so its closure is
    // empty, while the hard stage's carry the error of its unmixing regressions at finite N.
    let unfiltered = 0;
    for (const n of [3, 5]) {
      for (let seed = 0; seed < 4; seed++) {
        const sim = b.simulate({ n, d: n, samples: 20_000, seed, density: 0, varianceFactors: [0.25], scaleDecoder: false });
        const hard = (filter: LscaleOptions['hardGraphFilter']) =>
          b.lscale({ x: sim.x!, dsx: sim.dsx! }, { intervention: 'hard', hardGraphFilter: filter }).hard!.graph;
        expect(edgeCount(hard('auto')), `n=${n} seed=${seed}`).toBe(0);
        expect(edgeCount(hard(undefined))).toBe(0); // 'auto' is the default
        unfiltered += edgeCount(hard('none'));
        b.release(sim);
      }
    }
    // Without the filter the noise passes the adaptive threshold.
    expect(unfiltered).toBeGreaterThan(0);
  });

  it('the adaptive rule is scale-free; the absolute rule is not', () => {
    const c = fixture('lscale-linear-hard-true-n8-d12-s1004');
    const a = c.arrays;
    const base = b.lscale({ x: a.x!, dsx: a.dsx! }, { intervention: 'hard' });
    // x -> 10 x scales every score by 1/10.
    const rescaled = b.lscale({ x: scaled(a.x!, 10), dsx: scaled(a.dsx!, 0.1) }, { intervention: 'hard' });
    expect(bits(rescaled.soft.graph)).toEqual(bits(base.soft.graph));
    expect(bits(rescaled.hard!.graph)).toEqual(bits(base.hard!.graph));
    const abs = (x: NDArray, dsx: NDArray) => b.lscale({ x, dsx }, options(c, LSCALE_REFERENCE_OPTIONS)).hard!.graph;
    expect(edgeCount(abs(scaled(a.x!, 10), scaled(a.dsx!, 0.1)))).toBeLessThan(edgeCount(abs(a.x!, a.dsx!)));
  });

  it('reports the statistic and threshold each rule used', () => {
    const c = fixture('lscale-linear-hard-true-n8-d12-s1004');
    const a = c.arrays;
    const r = b.lscale({ x: a.x!, dsx: a.dsx! }, options(c, LSCALE_REFERENCE_OPTIONS));
    const n = 8;
    const rz = r.soft.latentScoreDiffCov;
    const stat = r.soft.edgeStatistic!;
    for (let j = 0; j < n; j++)
      for (let m = 0; m < n; m++) {
        expect(stat.data[j * n + m]).toBeCloseTo(rz.data[m * n * n + j * n + j]!, 12);
        if (j !== m) expect(r.soft.rawGraph.data[j * n + m]).toBe(stat.data[j * n + m]! >= r.soft.edgeThreshold! ? 1 : 0);
      }
    expect(r.soft.edgeThreshold).toBe(c.meta.atolEdge);
  });

  it('stages are consistent: decoder columns scaled to max |entry| 1, encoder = pinv(decoder), orders topological', () => {
    const c = fixture('lscale-quadratic-hard-true-n5-d8-s1002');
    const a = c.arrays;
    const r = b.lscale({ x: a.x!, dsx: a.dsx! }, { intervention: 'hard', fullRank: true });
    for (const stage of [r.soft, r.hard!, r.fullRank!]) {
      const enc = rows(stage.encoder);
      const dec = rows(stage.decoder);
      const n = enc.length;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          const v = enc[i]!.reduce((s, x, k) => s + x * dec[k]![j]!, 0);
          expect(v).toBeCloseTo(i === j ? 1 : 0, 8);
        }
      const g = rows(stage.graph);
      const pos = new Map(stage.order.map((node, p) => [node, p]));
      g.forEach((row, i) => row.forEach((v, j) => v && expect(pos.get(i)!).toBeLessThan(pos.get(j)!)));
    }
    for (const stage of [r.soft, r.fullRank!]) {
      const dec = rows(stage.decoder);
      for (let j = 0; j < 5; j++) expect(Math.max(...dec.map((row) => Math.abs(row[j]!)))).toBeCloseTo(1, 12);
    }
  });

  it('Gaussian plug-in: moments-only path equals the materialised score differences', () => {
    const c = fixture('lscale-linear-hard-gaussian-n5-d10-s1000');
    const x = c.arrays.x!;
    const est = b.estimateScoreDifferences(x, { method: 'gaussian' });
    expect(est.dsx.shape).toEqual([5, 2000, 10]);
    const viaDsx = b.lscale({ x, dsx: est.dsx }, { intervention: 'hard' });
    const viaMoments = b.lscale({ x, scores: 'gaussian' }, { intervention: 'hard' });
    for (const s of ['soft', 'hard'] as const) {
      expect(bits(viaMoments[s]!.graph)).toEqual(bits(viaDsx[s]!.graph));
      for (const cos of rowCosines(viaMoments[s]!.encoder, viaDsx[s]!.encoder)) expect(cos).toBeGreaterThan(1 - 1e-9);
      const rz1 = viaMoments[s]!.latentScoreDiffCov.data;
      const rz2 = viaDsx[s]!.latentScoreDiffCov.data;
      rz1.forEach((v, i) => expect(v).toBeCloseTo(rz2[i]!, 8));
    }
  });

  it('Gaussian plug-in equals -Σ_k⁻¹(x − μ_k) differences when d = n', () => {
    const c = fixture('lscale-linear-soft-true-n3-d3-s1005');
    const x = c.arrays.x!;
    const [K1, N, d] = x.shape as [number, number, number];
    const est = b.estimateScoreDifferences(x, { method: 'gaussian' });
    // Independent computation: per-environment mean and covariance (1/N), 3×3 inverse.
    const stats = Array.from({ length: K1 }, (_, k) => {
      const mu = [0, 0, 0];
      for (let t = 0; t < N; t++) for (let i = 0; i < d; i++) mu[i]! += x.data[(k * N + t) * d + i]! / N;
      const cov = [0, 1, 2].map(() => [0, 0, 0]);
      for (let t = 0; t < N; t++)
        for (let i = 0; i < d; i++)
          for (let j = 0; j < d; j++)
            cov[i]![j]! += ((x.data[(k * N + t) * d + i]! - mu[i]!) * (x.data[(k * N + t) * d + j]! - mu[j]!)) / N;
      const [[a, bb, cc], [dd, e, f], [g, h, ii]] = cov as [number[], number[], number[]] as any;
      const det = a * (e * ii - f * h) - bb * (dd * ii - f * g) + cc * (dd * h - e * g);
      const inv = [
        [(e * ii - f * h) / det, (cc * h - bb * ii) / det, (bb * f - cc * e) / det],
        [(f * g - dd * ii) / det, (a * ii - cc * g) / det, (cc * dd - a * f) / det],
        [(dd * h - e * g) / det, (bb * g - a * h) / det, (a * e - bb * dd) / det],
      ];
      return { mu, inv };
    });
    const score = (k: number, p: number[]) => stats[k]!.inv.map((row) => -row.reduce((s, v, j) => s + v * (p[j]! - stats[k]!.mu[j]!), 0));
    for (const t of [0, 17, 999]) {
      const p = Array.from(x.data.subarray(t * d, (t + 1) * d));
      for (let m = 1; m < K1; m++) {
        const s0 = score(0, p);
        const sm = score(m, p);
        for (let i = 0; i < d; i++) expect(est.dsx.data[((m - 1) * N + t) * d + i]).toBeCloseTo(s0[i]! - sm[i]!, 8);
      }
    }
    // Evaluating at given points gives the same values there.
    const at = { data: x.data.slice(17 * d, 18 * d), shape: [1, d] };
    const one = b.estimateScoreDifferences(x, { method: 'gaussian', at });
    for (let m = 0; m < K1 - 1; m++)
      for (let i = 0; i < d; i++) expect(one.dsx.data[m * d + i]).toBeCloseTo(est.dsx.data[(m * N + 17) * d + i]!, 12);
  });

  it('moments input gives the same result as samples', () => {
    const c = fixture('lscale-quadratic-hard-true-n5-d8-s1002');
    const { x, dsx } = c.arrays as { x: NDArray; dsx: NDArray };
    const [K1, N, d] = x.shape as [number, number, number];
    const covs = new Float64Array(K1 * d * d);
    for (let k = 0; k < K1; k++)
      covs.set(b.covariance({ data: x.data.subarray(k * N * d, (k + 1) * N * d), shape: [N, d] }).data, k * d * d);
    const R = b.scoreDiffCovariance(dsx);
    const o = options(c);
    const fromSamples = b.lscale({ x, dsx }, o);
    const fromMoments = b.lscale({ covariances: { data: covs, shape: [K1, d, d] }, scoreDiffCovariances: R }, o);
    for (const s of ['soft', 'hard', 'fullRank'] as const) {
      expect(bits(fromMoments[s]!.graph)).toEqual(bits(fromSamples[s]!.graph));
      expect(fromMoments[s]!.order).toEqual(fromSamples[s]!.order);
      for (const cos of rowCosines(fromMoments[s]!.encoder, fromSamples[s]!.encoder)) expect(cos).toBeGreaterThan(1 - 1e-8);
    }
  });

  it('a simulated trial from latent moments matches LSCALE-I on the materialised samples', () => {
    const config = { n: 4, d: 12, samples: 4000, seed: 7, intervention: 'hard' as const, density: 0.5 };
    const sim = b.simulate({ ...config, varianceFactors: 5, randomOrder: false, randomInterventionOrder: false });
    const direct = b.lscale({ x: sim.x!, scores: 'gaussian' }, { intervention: 'hard' });
    const trial = b.lscaleTrial({ ...config, factor: 5, estimator: 'gaussian' });
    expect(bits(trial.hard!.graph)).toEqual(bits(direct.hard!.graph));
    expect(trial.hard!.order).toEqual(direct.hard!.order);
    expect(bits(trial.graph)).toEqual(bits(sim.graph));
    // MCC from moments equals the sample MCC of encoder·x against z (observational samples).
    const n = 4;
    const N = config.samples;
    const enc = rows(direct.hard!.encoder);
    const zHat = new Float64Array(N * n);
    for (let t = 0; t < N; t++)
      for (let i = 0; i < n; i++) zHat[t * n + i] = enc[i]!.reduce((s, v, k) => s + v * sim.x!.data[t * 12 + k]!, 0);
    const z0 = { data: sim.z!.data.slice(0, N * n), shape: [N, n] };
    const mcc = b.meanCorrelationCoefficient(z0, { data: zHat, shape: [N, n] }).mcc;
    expect(trial.hard!.mcc).toBeCloseTo(mcc, 6);
    expect(trial.hard!.shd).toBe(b.compareGraphs(sim.graph, direct.hard!.graph).shd);
    // l_scale: the effective mixing outside the diagonal; l_pa: outside the parents and the diagonal.
    const empty = { data: new Float64Array(n * n), shape: [n, n] };
    const scaleLoss = b.effectiveMixingError(direct.hard!.encoder, sim.transform.decoder, b.allowedPattern(empty, false));
    expect(trial.hard!.mixingLoss).toBeCloseTo(scaleLoss.offPatternSpectralNorm, 6);
    expect(trial.hard!.mixingLoss).toBeGreaterThan(0);
    expect(trial.hard!.mixingLoss).toBeLessThan(Math.sqrt(n));
    const parentsLoss = b.effectiveMixingError(direct.soft.encoder, sim.transform.decoder, b.allowedPattern(sim.graph, false));
    expect(trial.soft.mixingLoss).toBeCloseTo(parentsLoss.offPatternSpectralNorm, 6);
  });

  it('async variants give the same results', async () => {
    const c = fixture('lscale-linear-hard-true-n8-d12-s1004');
    const a = c.arrays;
    const sync = b.lscale({ x: a.x!, dsx: a.dsx! }, { intervention: 'hard' });
    const progress: number[] = [];
    const async = await b.lscaleAsync({ x: a.x!, dsx: a.dsx! }, { intervention: 'hard', onProgress: (f) => progress.push(f) });
    expect(bits(async.hard!.graph)).toEqual(bits(sync.hard!.graph));
    expect(Array.from(async.hard!.encoder.data)).toEqual(Array.from(sync.hard!.encoder.data));
    const est = await b.estimateScoreDifferencesAsync(a.x!, { method: 'gaussian' });
    expect(Array.from(est.dsx.data.subarray(0, 50))).toEqual(
      Array.from(b.estimateScoreDifferences(a.x!, { method: 'gaussian' }).dsx.data.subarray(0, 50)),
    );
    const fs = await b.finiteSampleAsync({ dsx: a.dsx! });
    expect(fs.order).toEqual(b.finiteSample({ dsx: a.dsx! }).order);
  });

  it('other estimators slot in by name', () => {
    const c = fixture('lscale-linear-soft-true-n3-d3-s1005');
    registerScoreEstimator('test-zeros', {
      sync: (_engine, x, options) => ({
        dsx: { data: new Float64Array((x.shape[0]! - 1) * x.shape[1]! * x.shape[2]!), shape: [x.shape[0]! - 1, x.shape[1]!, x.shape[2]!] },
        method: options.method,
      }),
      async: async (engine, x, options) => ({ dsx: x, method: options.method, model: { engine: engine.name } }),
    });
    expect(scoreEstimators()).toContain('test-zeros');
    const out = b.estimateScoreDifferences(c.arrays.x!, { method: 'test-zeros' });
    expect(out.method).toBe('test-zeros');
    expect(out.dsx.shape).toEqual([3, 1000, 3]);
  });

  describe('bad inputs', () => {
    const c = () => fixture('lscale-linear-soft-true-n3-d3-s1005').arrays as { x: NDArray; dsx: NDArray };
    it('inconsistent shapes', () => {
      const { x, dsx } = c();
      const twoEnvs = { data: dsx.data.slice(0, 2 * 1000 * 3), shape: [2, 1000, 3] };
      expect(() => b.lscale({ x, dsx: twoEnvs })).toThrow(/environments.*'dsx' 2/);
      const wide = { data: new Float64Array(3 * 1000 * 4), shape: [3, 1000, 4] };
      expect(() => b.lscale({ x, dsx: wide })).toThrow(/d = 3 columns but 'dsx' has 4/);
      expect(() => b.lscale({ x } as any)).toThrow(/missing 'dsx'/);
      expect(() => b.lscale({ x, dsx: { data: dsx.data, shape: [3, 1000] } })).toThrow(/3 dimensions/);
    });
    it('d < n', () => {
      const x = { data: new Float64Array(4 * 50 * 2).map((_, i) => Math.sin(i * 1.7)), shape: [4, 50, 2] };
      const dsx = { data: new Float64Array(3 * 50 * 2).map((_, i) => Math.cos(i)), shape: [3, 50, 2] };
      expect(() => b.lscale({ x, dsx })).toThrow(/d = 2 observed dimensions is fewer than n = 3/);
    });
    it('N < n + 1', () => {
      const x = { data: new Float64Array(4 * 3 * 5).map((_, i) => Math.sin(i * 1.3)), shape: [4, 3, 5] };
      const dsx = { data: new Float64Array(3 * 3 * 5).map((_, i) => Math.cos(i)), shape: [3, 3, 5] };
      expect(() => b.lscale({ x, dsx })).toThrow(/N = 3 samples .* need N >= n \+ 1 = 4/);
    });
    it('NaN', () => {
      const { x, dsx } = c();
      const bad = { data: dsx.data.slice(), shape: dsx.shape };
      bad.data[5] = NaN;
      expect(() => b.lscale({ x, dsx: bad })).toThrow(/'dsx' contains NaN/);
    });
    it('rank-deficient environments', () => {
      const { x } = c();
      const flat = { data: x.data.slice(), shape: x.shape };
      // Environment 2 varies along one direction only.
      for (let t = 0; t < 1000; t++) for (let i = 0; i < 3; i++) flat.data[(2 * 1000 + t) * 3 + i] = (i + 1) * Math.sin(t);
      expect(() => b.lscale({ x: flat, scores: 'gaussian' })).toThrow(/environment 2's covariance .* singular/);
      const zeros = { data: new Float64Array(c().dsx.data.length), shape: c().dsx.shape };
      zeros.data.set(c().dsx.data.subarray(0, 3000));
      zeros.data.set(c().dsx.data.subarray(6000), 6000);
      expect(() => b.lscale({ x, dsx: zeros })).toThrow(/score differences of environment 2 vanish/);
    });
    it('bad options', () => {
      const { x, dsx } = c();
      expect(() => b.lscale({ x, dsx }, { tolEdge: -1 })).toThrow(/lscale: 'tolEdge' must be >= 0, got -1/);
      expect(() => b.lscale({ x, dsx }, { edgeRule: 'fixed' as any })).toThrow(/'edgeRule' must be one of/);
      expect(() => b.estimateScoreDifferences(x, { method: 'nope' })).toThrow(/unknown method 'nope' \(available: .*gaussian/);
    });
  });
});
