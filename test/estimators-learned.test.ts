import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import type { LearnedMethodName, LearnedScoreDifferences } from '../src/ops/estimators-learned.js';
import type { NDArray } from '../src/types.js';
import { BACKENDS, backend } from './helpers/backends.js';
import { randomArray, seededRandom } from './helpers/reference.js';

/** sqrt(Σ(a − b)² / Σb²). */
function relRmse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

/** max |a − b| / max(max |b|, floor). */
function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): number {
  let diff = 0;
  let scale = floor;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

/** Parameter count of an MLP with the given layer sizes (weights + biases). */
function paramCount(sizes: number[]): number {
  let count = 0;
  for (let l = 1; l < sizes.length; l++) count += sizes[l]! * sizes[l - 1]! + sizes[l]!;
  return count;
}

function randomParams(count: number, seed: number, scale: number): Float64Array {
  const rand = seededRandom(seed);
  return Float64Array.from({ length: count }, () => scale * (rand() * 2 - 1));
}

/** Central finite differences of f at p, coordinate by coordinate. */
function numericGradient(f: (p: Float64Array) => number, p: Float64Array, h: number): Float64Array {
  const out = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const plus = p.slice();
    const minus = p.slice();
    plus[i]! += h;
    minus[i]! -= h;
    out[i] = (f(plus) - f(minus)) / (2 * h);
  }
  return out;
}

function labels(rows: number, seed: number): NDArray {
  const rand = seededRandom(seed);
  const data = Float64Array.from({ length: rows }, (_, i) => (i < 2 ? i : rand() < 0.5 ? 1 : 0));
  return { data, shape: [rows, 1] };
}

/** Labels (B×1) with a second column of logit offsets. */
function withOffsets(l: NDArray, seed: number): NDArray {
  const rand = seededRandom(seed);
  const rows = l.shape[0]!;
  const data = new Float64Array(rows * 2);
  for (let i = 0; i < rows; i++) {
    data[2 * i] = l.data[i]!;
    data[2 * i + 1] = 2 * rand() - 1;
  }
  return { data, shape: [rows, 2] };
}

describe.each(BACKENDS)('learned score-difference estimators on %s', (name) => {
  const get = (): Promise<Backend> => backend(name);

  describe('hand-derived gradients agree with finite differences', () => {
    // Networks: n inputs, hidden tanh layers of `width`, linear output (n for ssm, 1 for the classifier).
    it.each([
      ['ssm', 3, 5, 2, 2],
      ['ssm', 2, 4, 1, 3],
      ['ssm', 4, 3, 3, 1],
      ['classifier-mlp', 3, 5, 2, 0],
      ['classifier-mlp', 2, 6, 1, 0],
      ['classifier-mlp', 3, 4, 2, 1], // P = 1 here: labels with a second column of logit offsets
    ] as const)('%s, n=%d, width %d, %d hidden layers', async (method, n, width, hiddenLayers, P) => {
      const crl = await get();
      const B = 6;
      const sizes = [n, ...Array<number>(hiddenLayers).fill(width), method === 'ssm' ? n : 1];
      // Weights of order 1 so that the tanh units leave their linear range.
      const params = randomParams(paramCount(sizes), 11 + n + width, 1.2);
      const y = randomArray([B, n], 5 + hiddenLayers, 0, 1.5);
      const aux = method === 'ssm' ? randomArray([P * B, n], 9 + P, 0, 1) : P === 1 ? withOffsets(labels(B, 3), 4) : labels(B, 3);
      const options = { width, hiddenLayers };
      const { loss, gradient } = crl.learnedObjective(method, params, y, aux, options);
      expect(gradient.length).toBe(params.length);
      expect(Number.isFinite(loss)).toBe(true);
      const numeric = numericGradient((p) => crl.learnedObjective(method, p, y, aux, options).loss, params, 1e-5);
      expect(maxRelErr(gradient, numeric)).toBeLessThan(1e-7);
    });

    it('ssm: the Jacobian-vector term is the directional derivative of the network output', async () => {
      // With one sample and one direction, loss(y, v) − loss(y, 0) = vᵀJ(y)v, and the network
      // output itself follows from losses at v = 0: 0.5|s + e_i|² − 0.5|s|² − 0.5 = s_i, where
      // s + e_i is the same network with output bias i shifted by 1. So the Jacobian term can be
      // compared with vᵀ(s(y + hv) − s(y − hv))/2h without any other access to the network.
      const crl = await get();
      const n = 3;
      const width = 4;
      const sizes = [n, width, width, n];
      const params = randomParams(paramCount(sizes), 21, 1.1);
      const biasOffset = params.length - n; // output bias b_L: the last n parameters
      const zero = { data: new Float64Array(n), shape: [1, n] };
      const opts = { width, hiddenLayers: 2 };
      // 0.5|s(y) + e_i|² − 0.5|s(y)|² = s_i(y) + 0.5: recovers s(y) from losses alone.
      const output = (y: NDArray): number[] => {
        const base = crl.learnedObjective('ssm', params, y, zero, opts).loss;
        return Array.from({ length: n }, (_, i) => {
          const shifted = params.slice();
          shifted[biasOffset + i]! += 1;
          return crl.learnedObjective('ssm', shifted, y, zero, opts).loss - base - 0.5;
        });
      };
      const rand = seededRandom(8);
      for (let trial = 0; trial < 3; trial++) {
        const y = Float64Array.from({ length: n }, () => rand() * 3 - 1.5);
        const v = Float64Array.from({ length: n }, () => rand() * 2 - 1);
        const row = (a: Float64Array) => ({ data: a, shape: [1, n] });
        const vJv =
          crl.learnedObjective('ssm', params, row(y), row(v), opts).loss - crl.learnedObjective('ssm', params, row(y), zero, opts).loss;
        const h = 1e-5;
        const plus = output(row(y.map((yi, i) => yi + h * v[i]!)));
        const minus = output(row(y.map((yi, i) => yi - h * v[i]!)));
        let fd = 0;
        for (let i = 0; i < n; i++) fd += (v[i]! * (plus[i]! - minus[i]!)) / (2 * h);
        expect(Math.abs(vJv - fd)).toBeLessThan(1e-7 * Math.max(1, Math.abs(fd)));
      }
    });

    it('logistic-quadratic: gradient and Hessian of the penalised log-loss', async () => {
      const crl = await get();
      const n = 3;
      const p = 1 + n + (n * (n + 1)) / 2;
      const beta = randomParams(p, 4, 0.7);
      const y = randomArray([40, n], 2, 0, 1.5);
      const aux = labels(40, 6);
      const options = { l2: 0.01 };
      const { gradient, hessian } = crl.learnedObjective('logistic-quadratic', beta, y, aux, options);
      const f = (b: Float64Array) => crl.learnedObjective('logistic-quadratic', b, y, aux, options).loss;
      expect(maxRelErr(gradient, numericGradient(f, beta, 1e-5))).toBeLessThan(1e-7);
      expect(hessian!.shape).toEqual([p, p]);
      for (let j = 0; j < p; j++) {
        const g = (b: Float64Array) => crl.learnedObjective('logistic-quadratic', b, y, aux, options).gradient[j]!;
        const column = numericGradient(g, beta, 1e-5);
        const exact = Array.from({ length: p }, (_, i) => hessian!.data[i * p + j]!);
        expect(maxRelErr(exact, column)).toBeLessThan(1e-6);
      }
    });
  });

  describe('recovery of exact score differences on Gaussian data (linear SCM, n=3, d=5, N=2500)', () => {
    const simulation = async () => (await get()).simulate({ n: 3, d: 5, samples: 2500, seed: 17 });

    // Measured (both backends): classifier-mlp 0.146 (5 epochs), ssm 0.404 (6 epochs).
    it('logistic-quadratic is within 1.5x of the Gaussian plug-in and below 0.15', async () => {
      const crl = await get();
      const sim = await simulation();
      const fit = crl.estimateScoreDifferences(sim.x!, { method: 'logistic-quadratic' }) as LearnedScoreDifferences;
      const gauss = crl.estimateScoreDifferences(sim.x!, { method: 'gaussian' });
      expect(fit.dsx.shape).toEqual(sim.dsx!.shape);
      const errLogistic = relRmse(fit.dsx.data, sim.dsx!.data);
      const errGaussian = relRmse(gauss.dsx.data, sim.dsx!.data);
      expect(errLogistic).toBeLessThan(0.15);
      expect(errLogistic).toBeLessThan(1.5 * errGaussian);
      // Newton converged: a few iterations per environment.
      for (const it of fit.report.iterations) expect(it).toBeLessThanOrEqual(10);
    });

    it.each([
      ['classifier-mlp', 5, 0.22],
      ['ssm', 6, 0.55],
    ] as const)('%s (%d epochs) recovers dsx to relative RMSE < %d', async (method, epochs, tolerance) => {
      const crl = await get();
      const sim = await simulation();
      const fit = crl.estimateScoreDifferences(sim.x!, { method, seed: 1, epochs }) as LearnedScoreDifferences;
      const err = relRmse(fit.dsx.data, sim.dsx!.data);
      expect(err).toBeLessThan(tolerance);
      // A null model (dsx = 0) has relative RMSE 1; the fit carries real signal.
      expect(fit.report.iterations.length).toBe(method === 'ssm' ? 4 : 3);
    });
  });

  describe('determinism and the fitted model', () => {
    const small = async () => (await get()).simulate({ n: 2, d: 4, samples: 600, seed: 3, latent: 'quadratic' });

    it.each(['logistic-quadratic', 'classifier-mlp', 'ssm'] as const)(
      '%s: same seed, same result; the model evaluates to the same dsx',
      async (method: LearnedMethodName) => {
        const crl = await get();
        const sim = await small();
        const options = { method, seed: 5, epochs: 3 };
        const a = crl.estimateScoreDifferences(sim.x!, options) as LearnedScoreDifferences;
        const b = crl.estimateScoreDifferences(sim.x!, options) as LearnedScoreDifferences;
        expect(Array.from(a.dsx.data)).toEqual(Array.from(b.dsx.data));
        expect(Array.from(a.model.params.data)).toEqual(Array.from(b.model.params.data));
        // Evaluating the model (also rebuilt from its parameters) at the observational samples.
        const x0 = { data: sim.x!.data.subarray(0, 600 * 4), shape: [600, 4] };
        const rebuilt = crl.learnedScoreModel(a.model.params);
        expect(rebuilt.method).toBe(method);
        expect([rebuilt.K, rebuilt.n, rebuilt.d]).toEqual([2, 2, 4]);
        expect(maxRelErr(rebuilt.evaluate(x0).data, a.dsx.data)).toBeLessThan(1e-12);
        // `at` evaluates the fit at given points.
        const at = randomArray([7, 4], 12);
        const atFit = crl.estimateScoreDifferences(sim.x!, { ...options, at }) as LearnedScoreDifferences;
        expect(atFit.dsx.shape).toEqual([2, 7, 4]);
        expect(maxRelErr(atFit.dsx.data, a.fitted.evaluate(at).data)).toBeLessThan(1e-12);
        if (method !== 'logistic-quadratic') {
          const other = crl.estimateScoreDifferences(sim.x!, { ...options, seed: 6 }) as LearnedScoreDifferences;
          expect(maxRelErr(other.dsx.data, a.dsx.data)).toBeGreaterThan(1e-6);
        }
      },
    );

    it('the thread count does not change the result', async () => {
      const crl = await get();
      if (name === 'wasm') return; // single-threaded
      const sim = await small();
      const before = crl.setThreads(1);
      const one = crl.estimateScoreDifferences(sim.x!, { method: 'ssm', seed: 2, epochs: 2 });
      crl.setThreads(2);
      const two = crl.estimateScoreDifferences(sim.x!, { method: 'ssm', seed: 2, epochs: 2 });
      crl.setThreads(before);
      expect(Array.from(one.dsx.data)).toEqual(Array.from(two.dsx.data));
    });

    it('async: progress reaches 1 and the result equals the synchronous one', async () => {
      const crl = await get();
      const sim = await small();
      const fractions: number[] = [];
      const options = { method: 'classifier-mlp', seed: 4, epochs: 3 } as const;
      const a = await crl.estimateScoreDifferencesAsync(sim.x!, { ...options, onProgress: (f) => fractions.push(f) });
      const b = crl.estimateScoreDifferences(sim.x!, options);
      expect(Array.from(a.dsx.data)).toEqual(Array.from(b.dsx.data));
      expect(fractions.length).toBeGreaterThan(2);
      expect(fractions.at(-1)).toBeCloseTo(1, 12);
      for (let i = 1; i < fractions.length; i++) expect(fractions[i]).toBeGreaterThanOrEqual(fractions[i - 1]!);
    });

    it('an aborted fit rejects with AbortError', async () => {
      const crl = await get();
      const sim = crl.simulate({ n: 3, d: 3, samples: 20_000, seed: 1 });
      const controller = new AbortController();
      const pending = crl.estimateScoreDifferencesAsync(sim.x!, { method: 'ssm', epochs: 200, signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    });
  });

  describe('bad input gives a clear error', () => {
    const x = randomArray([3, 50, 4], 1);
    it.each([
      [
        'NaN in x',
        { method: 'ssm' },
        () => {
          const bad = randomArray([3, 50, 4], 1);
          bad.data[17] = NaN;
          return bad;
        },
        /'x' contains NaN at flat index 17/,
      ],
      [
        'too few samples for the quadratic features',
        { method: 'logistic-quadratic', latents: 4 },
        () => randomArray([3, 20, 4], 2),
        /too few samples for logistic-quadratic: N = 20 per environment, need at least 30 \(twice the 15 quadratic features of dimension 4\)/,
      ],
      [
        'too few samples for the dimension',
        { method: 'ssm', latents: 4 },
        () => randomArray([3, 4, 4], 2),
        /too few samples: N = 4 per environment, need more than dimension n = 4/,
      ],
      ['latents above d', { method: 'classifier-mlp', latents: 5 }, () => x, /'dimension' \(5\) cannot exceed d = 4/],
      [
        'rank-deficient observations',
        { method: 'ssm', latents: 3 },
        () => {
          const flat = randomArray([3, 50, 4], 1);
          for (let t = 0; t < 150; t++) {
            flat.data[t * 4 + 2] = 0;
            flat.data[t * 4 + 3] = 0;
          }
          return flat;
        },
        /observational covariance has rank 2 < dimension 3/,
      ],
      ['unknown method', { method: 'kde' }, () => x, /unknown method 'kde'/],
      ['bad validation fraction', { method: 'ssm', validationFraction: 0.95 }, () => x, /'validationFraction' must be in \[0, 0.9\]/],
      ['fractional epochs', { method: 'ssm', epochs: 2.5 }, () => x, /'epochs' must be a whole number/],
      ['non-numeric option', { method: 'ssm', width: '64' }, () => x, /'width' must be a finite number/],
      ['one environment', { method: 'ssm' }, () => randomArray([1, 50, 4], 1), /needs the observational environment and at least one/],
    ] as const)('%s', async (_label, options, data, message) => {
      const crl = await get();
      expect(() => crl.estimateScoreDifferences(data(), options as never)).toThrow(message);
    });

    it('evaluate checks the width of the points and the parameters', async () => {
      const crl = await get();
      const fit = crl.estimateScoreDifferences(x, { method: 'logistic-quadratic', latents: 2 }) as LearnedScoreDifferences;
      expect(() => fit.fitted.evaluate(randomArray([5, 3], 1))).toThrow(/'x' has 3 columns but the model was fitted on d = 4/);
      const broken = fit.model.params.data.slice(0, -1);
      expect(() => crl.learnedScoreModel(broken).evaluate(randomArray([5, 4], 1))).toThrow(/does not match its header/);
      expect(() => crl.learnedScoreModel(new Float64Array(3))).toThrow(/must be the Float64Array of a fitted model/);
    });
  });
});
