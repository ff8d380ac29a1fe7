// LSCALE-I edge rules with learned and exact score differences: the 'regression' rule (default for
// learned scores with samples, hard interventions), the 'null-level' rule, the margins and p-values
// they report, the default switch, and bad options.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, backend } from './helpers/backends.js';
import type { Backend } from '../src/backend.js';
import type { NDArray } from '../src/types.js';
import { isLearnedScoreDifference } from '../src/ops/estimators.js';

function shd(crl: Backend, truth: NDArray, estimate: NDArray): number {
  return crl.compareGraphs(truth, estimate).shd;
}

/** The (n+1)×d×d centred covariances of the environments of x ((n+1)×N×d). */
function stackCovariances(crl: Backend, x: NDArray): NDArray {
  const [K1, N, d] = x.shape as [number, number, number];
  const data = new Float64Array(K1 * d * d);
  for (let k = 0; k < K1; k++)
    data.set(crl.covariance({ data: x.data.subarray(k * N * d, (k + 1) * N * d), shape: [N, d] }).data, k * d * d);
  return { data, shape: [K1, d, d] };
}

/** Whether `order` (oldest first) puts the tail of every edge of `graph` (n×n) before its head. */
function isCausalOrder(order: number[], graph: NDArray): boolean {
  const n = order.length;
  const at = new Map(order.map((v, i) => [v, i]));
  for (let j = 0; j < n; j++) for (let m = 0; m < n; m++) if (graph.data[j * n + m] && at.get(j)! > at.get(m)!) return false;
  return true;
}

describe.each(BACKENDS)('LSCALE-I edge rules (%s)', (name) => {
  let crl: Backend;
  beforeAll(async () => {
    crl = await backend(name);
  });
  afterAll(async () => {
    await crl.close();
  });

  // MLP SCM, hard interventions, n = 4, d = 10, N = 20 000, logistic-quadratic scores: seeds on
  // which the adaptive rule's two-group split misplaces the hard stage's threshold (SHD 3).
  it.each([2, 22])('learned scores, seed %i: the null-level rule recovers the DAG the adaptive rule misses', (seed) => {
    const sim = crl.simulate({ n: 4, d: 10, samples: 20_000, seed, latent: 'mlp', outputs: { dsx: false } });
    const { dsx } = crl.estimateScoreDifferences(sim.x!, { method: 'logistic-quadratic', seed });
    expect(isLearnedScoreDifference(dsx)).toBe(true);
    const byDefault = crl.lscale({ x: sim.x!, dsx }, { intervention: 'hard', edgeRule: 'null-level' });
    expect(byDefault.edgeRule).toBe('null-level');
    expect(shd(crl, sim.graph, byDefault.hard!.graph)).toBe(0);
    const adaptive = crl.lscale({ x: sim.x!, dsx }, { intervention: 'hard', edgeRule: 'adaptive' });
    expect(adaptive.edgeRule).toBe('adaptive');
    expect(shd(crl, sim.graph, adaptive.hard!.graph)).toBeGreaterThan(0);
    // Same latents either way: the rule only decides edges.
    expect(Array.from(adaptive.hard!.encoder.data)).toEqual(Array.from(byDefault.hard!.encoder.data));

    // Margins: decades above the non-edge level; every reported edge stands more than nullMargin above it.
    const hard = byDefault.hard!;
    const n = 4;
    const margin = hard.edgeMargin!.data;
    const statistic = hard.edgeStatistic!.data;
    expect(hard.nullLevel).toBeGreaterThan(0);
    for (let j = 0; j < n; j++)
      for (let m = 0; m < n; m++) {
        const v = margin[j * n + m]!;
        if (j === m) {
          expect(Number.isNaN(v)).toBe(true);
          continue;
        }
        expect(v).toBeCloseTo(Math.log10(statistic[j * n + m]! / hard.nullLevel!), 9);
        if (hard.rawGraph.data[j * n + m]) expect(v).toBeGreaterThan(1.25);
        else expect(v).toBeLessThanOrEqual(1.25 + 1e-12);
      }
    // A smaller margin admits at least the same edges.
    const loose = crl.lscale({ x: sim.x!, dsx }, { intervention: 'hard', edgeRule: 'null-level', nullMargin: 0.5 });
    for (let i = 0; i < n * n; i++) if (hard.rawGraph.data[i]) expect(loose.hard!.rawGraph.data[i]).toBe(1);
    crl.release(sim, dsx);
  });

  it('the default follows the score differences: learned, declared, plug-in, or exact', () => {
    const sim = crl.simulate({ n: 3, d: 6, samples: 4000, seed: 5, latent: 'mlp' });
    const learned = crl.estimateScoreDifferences(sim.x!, { method: 'logistic-quadratic', seed: 1 }).dsx;
    const gaussian = crl.estimateScoreDifferences(sim.x!, { method: 'gaussian' }).dsx;
    expect(isLearnedScoreDifference(gaussian)).toBe(false);
    expect(isLearnedScoreDifference(sim.dsx!)).toBe(false);
    const rule = (data: Parameters<Backend['lscale']>[0], options = {}) => crl.lscale(data, { intervention: 'hard', ...options }).edgeRule;
    expect(rule({ x: sim.x!, dsx: learned })).toBe('regression');
    expect(rule({ x: sim.x!, dsx: learned }, { intervention: 'soft' })).toBe('regression');
    expect(rule({ x: sim.x!, dsx: gaussian })).toBe('adaptive');
    expect(rule({ x: sim.x!, dsx: sim.dsx! })).toBe('adaptive');
    expect(rule({ x: sim.x!, dsx: sim.dsx!, learned: true })).toBe('regression');
    const moments = { covariances: stackCovariances(crl, sim.x!), scoreDiffCovariances: crl.scoreDiffCovariance(learned), learned: true };
    expect(rule(moments)).toBe('null-level');
    expect(() => rule(moments, { edgeRule: 'regression' })).toThrow(
      /edgeRule 'regression' tests shifts between environments and needs their sample count/,
    );
    // With the sample count the soft stage runs on moments; the hard stage's tests need the samples.
    expect(rule({ ...moments, samples: 4000 }, { edgeRule: 'regression', intervention: 'soft' })).toBe('regression');
    expect(() => rule({ ...moments, samples: 4000 }, { edgeRule: 'regression' })).toThrow(
      /edgeRule 'regression' tests edges on the observational samples/,
    );
    expect(rule({ x: sim.x!, dsx: learned, learned: false })).toBe('adaptive');
    expect(rule({ x: sim.x!, dsx: learned }, { edgeRule: 'absolute' })).toBe('absolute');
    expect(rule({ x: sim.x!, scores: 'gaussian' })).toBe('adaptive');
    crl.release(sim, learned, gaussian);
  });

  // MLP SCM, hard interventions, n = 4, d = 10, N = 20 000, nodes labelled in a random order,
  // logistic-quadratic scores: seeds on which the null-level rule misses 4 and 5 edges (its order
  // comes from the soft graph, which learned scores leave empty, so it is the labels' order).
  it.each([4, 12])('learned scores, random labels, seed %i: the regression rule finds a causal order and the DAG', (seed) => {
    const sim = crl.simulate({ n: 4, d: 10, samples: 20_000, seed, latent: 'mlp', randomOrder: true, outputs: { dsx: false } });
    const { dsx } = crl.estimateScoreDifferences(sim.x!, { method: 'logistic-quadratic', seed });
    const r = crl.lscale({ x: sim.x!, dsx }, { intervention: 'hard' });
    expect(r.edgeRule).toBe('regression');
    const hard = r.hard!;
    expect(isCausalOrder(hard.order, sim.graph)).toBe(true);
    expect(shd(crl, sim.graph, hard.graph)).toBe(0);
    expect(
      shd(crl, sim.graph, crl.lscale({ x: sim.x!, dsx }, { intervention: 'hard', edgeRule: 'null-level' }).hard!.graph),
    ).toBeGreaterThanOrEqual(4);
    // p-values for the pairs j before m in the order, NaN elsewhere; an edge iff below 0.01 / 6.
    const n = 4;
    const level = 0.01 / 6;
    expect(hard.edgeThreshold).toBeCloseTo(level, 15);
    const at = new Map(hard.order.map((v, i) => [v, i]));
    const p = hard.edgePValue!.data;
    for (let j = 0; j < n; j++)
      for (let m = 0; m < n; m++) {
        const i = j * n + m;
        if (at.get(j)! >= at.get(m)!) {
          expect(Number.isNaN(p[i])).toBe(true);
          expect(hard.graph.data[i]).toBe(0);
          continue;
        }
        expect(p[i]).toBeGreaterThanOrEqual(0);
        expect(p[i]).toBeLessThanOrEqual(1);
        expect(hard.graph.data[i]).toBe(p[i]! < level ? 1 : 0);
        expect(hard.edgeMargin!.data[i]).toBeCloseTo(Math.log10(level) - Math.log10(Math.max(p[i]!, 1e-300)), 9);
        // The share of m's variance that all of j's terms explain.
        expect(hard.edgeStatistic!.data[i]).toBeGreaterThanOrEqual(0);
        expect(hard.edgeStatistic!.data[i]).toBeLessThan(1);
      }
    // A stricter level keeps a subset of the edges.
    const strict = crl.lscale({ x: sim.x!, dsx }, { intervention: 'hard', edgeLevel: 1e-12 }).hard!;
    for (let i = 0; i < n * n; i++) if (strict.graph.data[i]) expect(hard.graph.data[i]).toBe(1);
    // Same latents as the unmixing in that order would give with any rule: MCC near 1.
    const z0 = { data: sim.z!.data.subarray(0, 20_000 * n), shape: [20_000, n] };
    const zHat = { data: new Float64Array(20_000 * n), shape: [20_000, n] };
    for (let i = 0; i < 20_000; i++)
      for (let k = 0; k < n; k++) {
        let v = 0;
        for (let c = 0; c < 10; c++) v += hard.encoder.data[k * 10 + c]! * sim.x!.data[i * 10 + c]!;
        zHat.data[i * n + k] = v;
      }
    expect(crl.meanCorrelationCoefficient(z0, zHat).mcc).toBeGreaterThan(0.98);
    crl.release(sim, dsx);
  });

  it('regression rule: bootstrap refits and its errors', () => {
    const sim = crl.simulate({ n: 3, d: 6, samples: 4000, seed: 5, latent: 'mlp', outputs: { dsx: false } });
    const { dsx } = crl.estimateScoreDifferences(sim.x!, { method: 'logistic-quadratic', seed: 1 });
    const a = crl.lscale({ x: sim.x!, dsx }, { intervention: 'hard', resamples: 6, resampleSeed: 2 });
    const b = crl.lscale({ x: sim.x!, dsx }, { intervention: 'hard', resamples: 6, resampleSeed: 2 });
    expect(a.edgeRule).toBe('regression');
    expect(a.resamples).toEqual({ requested: 6, completed: 6, seed: 2 });
    const f = Array.from(a.hard!.edgeFrequency!.data);
    expect(Array.from(b.hard!.edgeFrequency!.data)).toEqual(f);
    for (const v of f) {
      expect(v * 6).toBeCloseTo(Math.round(v * 6), 12);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    for (const edgeLevel of [0, 1, -0.5, Number.NaN])
      expect(() => crl.lscale({ x: sim.x!, dsx }, { intervention: 'hard', edgeLevel })).toThrow(/'edgeLevel'/);
    crl.release(sim, dsx);
  });

  // Exact scores leave exact zeros in the soft stage: the null-level rule then decides as today's.
  it.each([
    ['linear', 11],
    ['mlp', 12],
  ] as const)('exact scores (%s SCM): null-level decides exactly as adaptive', (latent, seed) => {
    const sim = crl.simulate({ n: 5, d: 8, samples: 5000, seed, latent });
    const a = crl.lscale({ x: sim.x!, dsx: sim.dsx! }, { intervention: 'hard' });
    const b = crl.lscale({ x: sim.x!, dsx: sim.dsx! }, { intervention: 'hard', edgeRule: 'null-level' });
    expect(a.edgeRule).toBe('adaptive');
    for (const stage of ['soft', 'hard'] as const) {
      expect(Array.from(b[stage]!.graph.data)).toEqual(Array.from(a[stage]!.graph.data));
      expect(b[stage]!.edgeThreshold).toBe(a[stage]!.edgeThreshold);
    }
    expect(shd(crl, sim.graph, a.hard!.graph)).toBe(0);
    crl.release(sim);
  });

  it('the absolute rule has no margins', () => {
    const sim = crl.simulate({ n: 3, d: 5, samples: 2000, seed: 3 });
    const r = crl.lscale({ x: sim.x!, dsx: sim.dsx! }, { intervention: 'hard', edgeRule: 'absolute' });
    expect(Array.from(r.hard!.edgeMargin!.data).every(Number.isNaN)).toBe(true);
    expect(Number.isNaN(r.hard!.nullLevel)).toBe(true);
    crl.release(sim);
  });

  // Bootstrap refits: with exact scores every resample finds the same graphs, so the frequencies are
  // the graphs themselves; with learned ones they are shares in [0, 1], reproducible from the seed.
  it('resampling: edge frequencies of both stages', () => {
    const exact = crl.simulate({ n: 5, d: 8, samples: 5000, seed: 11, latent: 'linear' });
    const r = crl.lscale({ x: exact.x!, dsx: exact.dsx! }, { intervention: 'hard', resamples: 10 });
    expect(r.resamples).toEqual({ requested: 10, completed: 10, seed: 0 });
    for (const stage of ['soft', 'hard'] as const) {
      expect(r[stage]!.edgeFrequency!.shape).toEqual([5, 5]);
      expect(Array.from(r[stage]!.edgeFrequency!.data)).toEqual(Array.from(r[stage]!.graph.data));
    }
    expect(crl.lscale({ x: exact.x!, dsx: exact.dsx! }, { intervention: 'hard' }).resamples).toBeUndefined();
    crl.release(exact);

    const sim = crl.simulate({ n: 3, d: 6, samples: 4000, seed: 5, latent: 'mlp', outputs: { dsx: false } });
    const { dsx } = crl.estimateScoreDifferences(sim.x!, { method: 'logistic-quadratic', seed: 1 });
    const a = crl.lscale({ x: sim.x!, dsx }, { intervention: 'hard', resamples: 8, resampleSeed: 3 });
    const b = crl.lscale({ x: sim.x!, dsx }, { intervention: 'hard', resamples: 8, resampleSeed: 3 });
    expect(a.resamples).toEqual({ requested: 8, completed: 8, seed: 3 });
    const f = Array.from(a.hard!.edgeFrequency!.data);
    expect(Array.from(b.hard!.edgeFrequency!.data)).toEqual(f);
    for (let i = 0; i < 9; i++) {
      expect(f[i]! * 8).toBeCloseTo(Math.round(f[i]! * 8), 12);
      if (i % 4 === 0) expect(f[i]).toBe(0);
    }
    // The soft stage alone resamples too; the fit itself does not change.
    const soft = crl.lscale({ x: sim.x!, dsx }, { resamples: 4 });
    expect(soft.hard).toBeUndefined();
    expect(soft.soft.edgeFrequency!.shape).toEqual([3, 3]);
    expect(Array.from(a.hard!.graph.data)).toEqual(Array.from(crl.lscale({ x: sim.x!, dsx }, { intervention: 'hard' }).hard!.graph.data));
    crl.release(sim, dsx);
  });

  it('bad options are errors naming the option', () => {
    const sim = crl.simulate({ n: 3, d: 5, samples: 500, seed: 4 });
    const data = { x: sim.x!, dsx: sim.dsx! };
    expect(() => crl.lscale(data, { edgeRule: 'test' as never })).toThrow(
      /lscale: 'edgeRule' must be one of 'adaptive', 'absolute', 'null-level', 'regression', got 'test'/,
    );
    expect(() => crl.lscale(data, { nullMargin: -1 })).toThrow(/'nullMargin'/);
    expect(() => crl.lscale(data, { nullMargin: Number.NaN })).toThrow(/'nullMargin'/);
    expect(() => crl.lscale({ ...data, learned: 'yes' as never })).toThrow(/'learned' must be true or false/);
    expect(() => crl.lscale({ x: sim.x!, scores: 'gaussian', learned: true } as never)).toThrow(
      /'learned' goes with given score differences/,
    );
    expect(() => crl.lscaleTrial({ seed: 1, n: 3, samples: 500, edgeRule: 'null-level', nullMargin: Infinity })).toThrow(/'nullMargin'/);
    expect(() => crl.lscale(data, { resamples: -1 })).toThrow(/lscale: 'resamples' must be between 0 and 100000, got -1/);
    expect(() => crl.lscale(data, { resamples: 1.5 })).toThrow(/'resamples'/);
    expect(() => crl.lscale(data, { resamples: 1e6 })).toThrow(/'resamples'/);
    expect(() => crl.lscale(data, { resampleSeed: -2 })).toThrow(/'resampleSeed'/);
    expect(() => crl.lscale({ x: sim.x!, scores: 'gaussian' }, { resamples: 2 })).toThrow(
      /'resamples' needs the samples and their score differences/,
    );
    expect(() => crl.lscaleTrial({ seed: 1, n: 3, samples: 500, resamples: 2 } as never)).toThrow(/resamples/);
    crl.release(sim);
  });
});

// The regression rule is computed by the same core on both backends: on the same score differences
// they agree on the order, the graphs and the p-values.
describe('the regression rule: native and WASM agree', () => {
  it('same order, graphs, p-values and shares on the same data', async () => {
    const [native, wasm] = await Promise.all(BACKENDS.map(backend));
    const sim = native!.simulate({ n: 4, d: 10, samples: 20_000, seed: 4, latent: 'mlp', randomOrder: true, outputs: { dsx: false } });
    const { dsx } = native!.estimateScoreDifferences(sim.x!, { method: 'logistic-quadratic', seed: 4 });
    const data = { x: sim.x!, dsx: { data: dsx.data.slice(), shape: dsx.shape }, learned: true };
    const a = native!.lscale(data, { intervention: 'hard' });
    const b = wasm!.lscale(data, { intervention: 'hard' });
    expect(b.edgeRule).toBe('regression');
    for (const stage of ['soft', 'hard'] as const) {
      expect(b[stage]!.order).toEqual(a[stage]!.order);
      expect(Array.from(b[stage]!.graph.data)).toEqual(Array.from(a[stage]!.graph.data));
      const pa = a[stage]!.edgePValue!.data;
      const pb = b[stage]!.edgePValue!.data;
      for (let i = 0; i < pa.length; i++) {
        if (Number.isNaN(pa[i])) {
          expect(Number.isNaN(pb[i])).toBe(true);
          continue;
        }
        // Compared on the log scale (tiny p-values), to the rounding of two builds.
        expect(Math.log10(Math.max(pb[i]!, 1e-300))).toBeCloseTo(Math.log10(Math.max(pa[i]!, 1e-300)), 4);
      }
    }
    for (let i = 0; i < 16; i++)
      if (!Number.isNaN(a.hard!.edgeStatistic!.data[i]))
        expect(b.hard!.edgeStatistic!.data[i]).toBeCloseTo(a.hard!.edgeStatistic!.data[i]!, 8);
    native!.release(sim, dsx);
    await Promise.all([native!.close(), wasm!.close()]);
  });
});

// `scorecrl fit` with a learned estimator applies the rule and reports each edge's evidence.
describe('scorecrl fit: edge evidence', () => {
  const BIN = fileURLToPath(new URL('../bin/scorecrl.js', import.meta.url));
  const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  it('--estimator logistic-quadratic: regression rule, each edge with its p-value and refit share', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scorecrl-edges-'));
    try {
      const sim = run([
        'simulate',
        '-o',
        dir,
        '--n',
        '4',
        '--d',
        '10',
        '--samples',
        '20000',
        '--seed',
        '2',
        '--latent',
        'mlp',
        '--format',
        'npy',
        '--random-order',
        'false',
        '--factor',
        '5',
      ]);
      expect(sim.status, sim.stderr).toBe(0);
      const files = [0, 1, 2, 3, 4].map((k) => join(dir, `env${k}.npy`));
      const fit = run([
        'fit',
        ...files,
        '--algorithm',
        'lscale',
        '--intervention',
        'hard',
        '--estimator',
        'logistic-quadratic',
        '--json',
        '--no-progress',
      ]);
      expect(fit.status, fit.stderr).toBe(0);
      const r = JSON.parse(fit.stdout);
      expect(r.options.edgeRule).toBe('regression');
      expect(r.edgeEvidence.map((e: { from: string; to: string }) => [e.from, e.to])).toEqual(r.edges);
      expect(r.edges.length).toBeGreaterThan(0);
      expect(r.diagnostics.edgeLevel).toBeCloseTo(0.01 / 6, 15);
      for (const e of r.edgeEvidence) {
        expect(e.statistic).toBeGreaterThan(0);
        expect(e.pValue).toBeLessThan(r.diagnostics.edgeLevel);
        expect(e.margin).toBeGreaterThan(0);
        expect(e.frequency).toBeGreaterThanOrEqual(0);
        expect(e.frequency).toBeLessThanOrEqual(1);
      }
      expect(r.diagnostics.resamples).toEqual({ requested: 100, completed: 100, seed: 0 });
      expect(r.diagnostics.edgeFrequency).toHaveLength(4);
      const text = run([
        'fit',
        ...files,
        '--algorithm',
        'lscale',
        '--intervention',
        'hard',
        '--estimator',
        'logistic-quadratic',
        '--no-progress',
      ]);
      expect(text.stdout).toMatch(/hard interventions, regression edge rule/);
      expect(text.stdout).toMatch(
        /edge evidence \(p-value of the regression test; an edge below 0\.0017 per pair; in brackets the share of 100 bootstrap refits holding the edge\): z\d -> z\d p=(\d\.\de-\d+|0\.00\d+|<1e-300) \(\d+%\)/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
