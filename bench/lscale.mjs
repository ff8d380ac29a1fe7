// LSCALE-I end to end: one trial = simulate + Gaussian plug-in scores +
// LSCALE-I (soft and hard stages), linear SCM, n = 5 latents, d = 100
// observations, N = 50 000 samples per environment (6 environments). The
// reference NumPy code takes 1.4 s per trial on the project's 2-core machine;
// the target is <= 70 ms on native and WASM within 4x of native.
//
// Two paths, same data (the generator stream of `simulate` with this seed):
//   fused         lscaleTrial: the latents' second moments are accumulated as
//                 they are drawn; observed covariances are G C_z G^T; the
//                 plug-in score-difference covariances follow from them. No
//                 N x d array exists.
//   fusedWishart  the same with the moments drawn from their exact distribution
//                 (Wishart scatter, Gaussian mean: O(n^2) draws per environment).
//   materialised  simulate (x only, 240 MB) -> lscale({ x, scores: 'gaussian' }):
//                 one pass over each environment (the observational d x d
//                 covariance for the support, x B (N x n) for the others); dsx is
//                 never formed.
// Also timed: LSCALE-I alone on precomputed d x d moments, and the step from
// simulated x to the result.
import { backends, round, time } from './common.mjs';

/** @typedef {import('../dist/index.js').NDArray} NDArray */
/** @typedef {Record<string, Record<string, number>>} Table per backend name, its timings */
/**
 * @typedef {{ secondsPerTrial: number, minSecondsPerTrial: number, speedupVsReference: number, hardShd: number, hardMcc: number,
 *   simd: string, threads: number }} FusedRow
 */

const config = { n: 5, d: 100, samples: 50_000, seed: 11, intervention: /** @type {const} */ ('hard'), varianceFactors: 5, density: 0.5 };
const referenceSeconds = 1.4;
const engines = await backends();
const os = await import('node:os');
/**
 * @type {{ machine: object, config: object, reference: object, fused: Record<string, FusedRow>, fusedWishart: Table,
 *   materialised: Table, lscaleOnX: Table, lscaleOnMoments: Table, wasmOverNative?: Table[string] }}
 */
const results = {
  // Timings share the machine with whatever else runs: loadAverage says how busy it was.
  machine: { cores: os.cpus().length, loadAverage: os.loadavg().map((v) => round(v, 3)) },
  config: { ...config, environments: config.n + 1, xMegabytes: round(((config.n + 1) * config.samples * config.d * 8) / 1e6) },
  reference: { secondsPerTrial: referenceSeconds },
  fused: {},
  fusedWishart: {},
  materialised: {},
  lscaleOnX: {},
  lscaleOnMoments: {},
};

for (const [name, crl] of Object.entries(engines)) {
  const info = crl.info();
  const spec = {
    seed: config.seed,
    n: config.n,
    d: config.d,
    samples: config.samples,
    intervention: /** @type {const} */ ('hard'),
    density: 0.5,
    factor: 5,
  };
  const fused = await time(() => crl.lscaleTrial(spec), { repeats: 9, warmup: 2 });
  const wishart = await time(() => crl.lscaleTrial({ ...spec, sampling: /** @type {const} */ ('wishart') }), { repeats: 21, warmup: 3 });
  const materialised = await time(
    async () => {
      const sim = crl.simulate({ ...config, outputs: { z: false, dsx: false } });
      crl.lscale({ x: /** @type {NDArray} */ (sim.x), scores: 'gaussian' }, { intervention: 'hard' });
      // Native results live outside the JS heap until their finalizers run on the event loop.
      await new Promise((resolve) => setImmediate(resolve));
    },
    { repeats: 5, warmup: 1 },
  );
  const sim = crl.simulate({ ...config, outputs: { z: false, dsx: false } });
  const x = /** @type {NDArray} */ (sim.x);
  const onX = await time(() => crl.lscale({ x, scores: 'gaussian' }, { intervention: 'hard' }), { repeats: 7, warmup: 1 });
  // d x d moments of the same data.
  const { n, d, samples: N } = config;
  const covariances = new Float64Array((n + 1) * d * d);
  const means = new Float64Array((n + 1) * d);
  for (let k = 0; k <= n; k++) {
    const env = { data: x.data.subarray(k * N * d, (k + 1) * N * d), shape: [N, d] };
    covariances.set(crl.covariance(env).data, k * d * d);
    for (let t = 0; t < N; t++) for (let i = 0; i < d; i++) means[k * d + i] += env.data[t * d + i] / N;
  }
  const momentsData = {
    covariances: { data: covariances, shape: [n + 1, d, d] },
    means: { data: means, shape: [n + 1, d] },
    scores: /** @type {const} */ ('gaussian'),
  };
  const onMoments = await time(() => crl.lscale(momentsData, { intervention: 'hard' }), { repeats: 21, warmup: 3 });
  const check = crl.lscaleTrial(spec);
  const hard = /** @type {NonNullable<typeof check.hard>} */ (check.hard); // intervention 'hard'
  results.fused[name] = {
    secondsPerTrial: round(fused.median),
    minSecondsPerTrial: round(Math.min(...fused.samples)),
    speedupVsReference: round(referenceSeconds / fused.median, 3),
    hardShd: hard.shd,
    hardMcc: round(hard.mcc, 6),
    simd: info.simd,
    threads: info.threads,
  };
  results.fusedWishart[name] = {
    secondsPerTrial: round(wishart.median),
    minSecondsPerTrial: round(Math.min(...wishart.samples)),
    speedupVsReference: round(referenceSeconds / wishart.median, 3),
  };
  results.materialised[name] = {
    secondsPerTrial: round(materialised.median),
    speedupVsReference: round(referenceSeconds / materialised.median, 3),
  };
  results.lscaleOnX[name] = { seconds: round(onX.median) };
  results.lscaleOnMoments[name] = { seconds: round(onMoments.median), minSeconds: round(Math.min(...onMoments.samples)) };
}
if (results.fused.native && results.fused.wasm) {
  results.wasmOverNative = {
    fused: round(results.fused.wasm.secondsPerTrial / results.fused.native.secondsPerTrial, 3),
    fusedWishart: round(results.fusedWishart.wasm.secondsPerTrial / results.fusedWishart.native.secondsPerTrial, 3),
    materialised: round(results.materialised.wasm.secondsPerTrial / results.materialised.native.secondsPerTrial, 3),
  };
}
for (const crl of Object.values(engines)) await crl.close();
console.log(JSON.stringify(results, null, 2));
