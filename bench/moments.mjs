// covariance (N=50 000, d=100) and scoreDiffCovariance (K=10, N=50 000, d=100)
// on native, WASM and a plain TypeScript loop. Flops: N·d² for a covariance and
// K·N·d² for scoreDiffCovariance (a symmetric product fills half of each d×d
// result at 2 flops per multiply-add).
import { backends, randomData, round, time } from './common.mjs';

const N = 50_000;
const d = 100;
const K = 10;

/**
 * @param {Float64Array} x
 * @param {number} n
 * @param {number} dim
 */
function plainCovariance(x, n, dim) {
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += x[i * dim + j] / n;
  const out = new Float64Array(dim * dim);
  const row = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) row[j] = x[i * dim + j] - mean[j];
    for (let a = 0; a < dim; a++) {
      const va = row[a];
      for (let b = 0; b <= a; b++) out[a * dim + b] += va * row[b];
    }
  }
  return out;
}

/**
 * @param {Float64Array} dsx
 * @param {number} k
 * @param {number} n
 * @param {number} dim
 */
function plainSecondMoments(dsx, k, n, dim) {
  const out = new Float64Array(k * dim * dim);
  for (let e = 0; e < k; e++) {
    for (let i = 0; i < n; i++) {
      const base = (e * n + i) * dim;
      for (let a = 0; a < dim; a++) {
        const va = dsx[base + a];
        for (let b = 0; b <= a; b++) out[(e * dim + a) * dim + b] += va * dsx[base + b];
      }
    }
  }
  return out;
}

const x = { data: randomData(N * d, 1), shape: [N, d] };
const dsx = { data: randomData(K * N * d, 2), shape: [K, N, d] };
const covFlops = N * d * d;
const sdcFlops = K * N * d * d;
const engines = await backends();
/** @typedef {{ seconds: number, gflops: number, simd?: string, threads?: number, note?: string }} Row */
/** @typedef {Record<string, Row> & { ratios: Record<string, number> }} Kernel rows keyed by backend (and plainTs); ratios set below */
/** @type {{ machine: object, covariance: Kernel, scoreDiffCovariance: Kernel, targets?: object }} */
const results = {
  machine: { cores: (await import('node:os')).cpus().length },
  covariance: /** @type {Kernel} */ ({}),
  scoreDiffCovariance: /** @type {Kernel} */ ({}),
};

for (const [name, crl] of Object.entries(engines)) {
  const info = crl.info();
  const cov = await time(() => crl.covariance(x), { repeats: 7 });
  const sdc = await time(() => crl.scoreDiffCovariance(dsx), { repeats: 5 });
  results.covariance[name] = {
    seconds: round(cov.median),
    gflops: round(covFlops / cov.median / 1e9),
    simd: info.simd,
    threads: info.threads,
  };
  results.scoreDiffCovariance[name] = {
    seconds: round(sdc.median),
    gflops: round(sdcFlops / sdc.median / 1e9),
    simd: info.simd,
    threads: info.threads,
  };
}

// The plain loop is timed on one environment and scaled by K (it is linear in K).
const plainCov = await time(() => plainCovariance(x.data, N, d), { repeats: 3, warmup: 1 });
const plainOne = await time(() => plainSecondMoments(dsx.data, 1, N, d), { repeats: 3, warmup: 1 });
results.covariance.plainTs = { seconds: round(plainCov.median), gflops: round(covFlops / plainCov.median / 1e9) };
results.scoreDiffCovariance.plainTs = {
  seconds: round(plainOne.median * K),
  gflops: round(sdcFlops / (plainOne.median * K) / 1e9),
  note: 'timed on K=1 and scaled by K',
};

for (const kernel of /** @type {const} */ (['covariance', 'scoreDiffCovariance'])) {
  const r = results[kernel];
  r.ratios = {};
  if (r.native) {
    r.ratios.wasmOverNative = round(r.wasm.seconds / r.native.seconds, 3);
    r.ratios.plainTsOverNative = round(r.plainTs.seconds / r.native.seconds, 3);
  }
  r.ratios.plainTsOverWasm = round(r.plainTs.seconds / r.wasm.seconds, 3);
}
results.targets = {
  nativeGflopsAtLeast: 20,
  wasmWithinTimesNative: 4,
  met:
    !!results.scoreDiffCovariance.native &&
    results.scoreDiffCovariance.native.gflops >= 20 &&
    results.covariance.native.gflops >= 20 &&
    results.scoreDiffCovariance.ratios.wasmOverNative <= 4 &&
    results.covariance.ratios.wasmOverNative <= 4,
};
for (const crl of Object.values(engines)) await crl.close();
console.log(JSON.stringify(results, null, 2));
