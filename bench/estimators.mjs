// Learned score-difference estimators (docs/estimators.md): speed and accuracy.
//
//   node bench/estimators.mjs [speed] [accuracy] [lscale]     (all three by default)
//
// speed     native (and WASM for the small cases):
//           - ssm: networks trained on N = 50 000 five-dimensional samples for 20
//             epochs (two environments, so two networks; with one thread the time per
//             network is half the total) — target <= 15 s per network, native;
//           - logistic-quadratic: all K = 5 environments of an n = 5, d = 100,
//             N = 50 000 problem, dsx (K x N x d) included — target <= 0.5 s native.
// accuracy  relative RMSE sqrt(sum |dsx_est - dsx|^2 / sum |dsx|^2) of the estimated
//           against the exact score differences at the observational samples; hard
//           single-node interventions (variance x5), n = 5, d = 100, linear decoder;
//           linear SCM: every method; quadratic and MLP SCMs: gaussian (for scale),
//           classifier-mlp and ssm; N in {5 000, 50 000}; SCORECRL_BENCH_SEEDS seeds
//           (default 2) per cell.
// lscale    end to end: LSCALE-I, hard interventions, MLP SCM, n = 5, d = 100,
//           N = 50 000, scores learned by SCORECRL_BENCH_LSCALE_METHODS (default
//           ssm), SCORECRL_BENCH_RUNS runs (default 20); MCC of the hard-stage latents
//           (observational samples) and SHD of the hard-stage graph, with the
//           module's default scale-free edge rule.
// Prints one JSON object.
import os from 'node:os';
import { loadBackend } from '../dist/index.js';
import { median, round } from './common.mjs';

/** @typedef {import('../dist/index.js').NDArray} NDArray */
/** @typedef {import('../dist/index.js').Backend} Backend */
/** @typedef {import('../dist/index.js').LatentModelName} LatentModelName */
/** @typedef {{ latent: string, samples: number, method: string, relativeRmse: number, perSeed: number[], seconds: number }} AccuracyRow */

const wanted = new Set(process.argv.slice(2));
const run = (/** @type {string} */ part) => wanted.size === 0 || wanted.has(part);
const seeds = Number(process.env.SCORECRL_BENCH_SEEDS ?? 2);
const runs = Number(process.env.SCORECRL_BENCH_RUNS ?? 20);
const lscaleMethods = (process.env.SCORECRL_BENCH_LSCALE_METHODS ?? 'ssm').split(',');

const native = await loadBackend({ backend: 'native' });
/** @type {{ machine: object, backend: object, speed?: object, accuracy?: object, lscale?: object }} */
const results = {
  machine: { cores: os.cpus().length, model: os.cpus()[0]?.model, loadAverageAtStart: os.loadavg().map((l) => round(l, 3)) },
  backend: native.info(),
};
const progress = (/** @type {string} */ text) => process.stderr.write(`estimators: ${text}\n`);

/**
 * Wall seconds and CPU seconds (user + system, all threads of this process) of fn().
 * @template T
 * @param {() => T} fn
 */
function seconds(fn) {
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const value = fn();
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { value, seconds: wall, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/**
 * @param {Float64Array} estimate
 * @param {Float64Array} truth
 */
function relRmse(estimate, truth) {
  let num = 0;
  let den = 0;
  for (let i = 0; i < truth.length; i++) {
    num += (estimate[i] - truth[i]) ** 2;
    den += truth[i] ** 2;
  }
  return Math.sqrt(num / den);
}

const mean = (/** @type {number[]} */ values) => values.reduce((a, b) => a + b, 0) / values.length;

if (run('speed')) {
  /** @type {{ ssm?: object, logisticQuadratic?: object, small?: Record<string, number | Record<string, number>> }} */
  const speed = {};
  // ssm: two environments of N = 50 000 five-dimensional samples.
  const five = native.simulate({ n: 5, d: 5, samples: 50_000, seed: 11, outputs: { z: false, dsx: false } });
  const twoEnvironments = { data: /** @type {NDArray} */ (five.x).data.subarray(0, 2 * 50_000 * 5), shape: [2, 50_000, 5] };
  /** @type {Record<string, number | boolean | Record<string, number>>} */
  const ssm = { networks: 2, samples: 50_000, dimension: 5, epochs: 20, targetSecondsPerNetwork: 15 };
  for (const threads of [1, 2]) {
    const previous = native.setThreads(threads);
    progress(`ssm speed, ${threads} thread(s)`);
    const t = seconds(() => native.estimateScoreDifferences(twoEnvironments, { method: 'ssm', epochs: 20, seed: 1, patience: 1000 }));
    native.setThreads(previous);
    ssm[`threads${threads}`] = {
      seconds: round(t.seconds),
      cpuSeconds: round(t.cpuSeconds),
      secondsPerNetwork: round(t.seconds / (threads === 1 ? 2 : 1)),
      cpuSecondsPerNetwork: round(t.cpuSeconds / 2),
    };
  }
  ssm.met = /** @type {Record<string, number>} */ (ssm.threads1).secondsPerNetwork <= 15;
  speed.ssm = ssm;

  // logistic-quadratic on an n = 5, d = 100, N = 50 000 problem (K = 5).
  const big = native.simulate({ n: 5, d: 100, samples: 50_000, seed: 12, outputs: { z: false, dsx: false } });
  const bigX = /** @type {NDArray} */ (big.x);
  progress('logistic-quadratic speed');
  const samples = [];
  const cpu = [];
  for (let i = 0; i < 5; i++) {
    const t = seconds(() => native.estimateScoreDifferences(bigX, { method: 'logistic-quadratic' }));
    samples.push(t.seconds);
    cpu.push(t.cpuSeconds);
  }
  const gaussian = [];
  for (let i = 0; i < 3; i++) gaussian.push(seconds(() => native.estimateScoreDifferences(bigX, { method: 'gaussian' })).seconds);
  speed.logisticQuadratic = {
    n: 5,
    d: 100,
    samples: 50_000,
    environments: 6,
    seconds: round(median(samples)),
    all: samples.map((s) => round(s)),
    cpuSeconds: round(median(cpu)),
    gaussianSeconds: round(median(gaussian)),
    targetSeconds: 0.5,
    met: median(samples) <= 0.5,
  };

  // WASM on a small problem, for the ratio.
  const wasm = await loadBackend({ backend: 'wasm' });
  const small = native.simulate({ n: 3, d: 10, samples: 5_000, seed: 13, outputs: { z: false, dsx: false } });
  const smallX = /** @type {NDArray} */ (small.x);
  speed.small = { n: 3, d: 10, samples: 5_000, epochs: 10 };
  for (const [name, crl] of /** @type {Array<[string, Backend]>} */ ([
    ['native', native],
    ['wasm', wasm],
  ])) {
    /** @type {Record<string, number>} seconds per method */
    const perMethod = {};
    speed.small[name] = perMethod;
    for (const method of ['logistic-quadratic', 'classifier-mlp', 'ssm']) {
      progress(`small ${method} on ${name}`);
      perMethod[method] = round(seconds(() => crl.estimateScoreDifferences(smallX, { method, epochs: 10, seed: 1 })).seconds);
    }
  }
  await wasm.close();
  results.speed = speed;
}

if (run('accuracy')) {
  /** @type {AccuracyRow[]} */
  const table = [];
  /** @type {Array<[LatentModelName, string[]]>} */
  const cells = [
    ['linear', ['gaussian', 'logistic-quadratic', 'classifier-mlp', 'ssm']],
    ['quadratic', ['gaussian', 'classifier-mlp', 'ssm']],
    ['mlp', ['gaussian', 'classifier-mlp', 'ssm']],
  ];
  for (const [latent, methods] of cells) {
    for (const samples of [5_000, 50_000]) {
      /** @type {Record<string, number[]>} */
      const errors = Object.fromEntries(methods.map((m) => [m, []]));
      /** @type {Record<string, number[]>} */
      const times = Object.fromEntries(methods.map((m) => [m, []]));
      for (let s = 0; s < seeds; s++) {
        const sim = native.simulate({ n: 5, d: 100, samples, seed: 100 + s, latent, outputs: { z: false } });
        const simX = /** @type {NDArray} */ (sim.x);
        const simDsx = /** @type {NDArray} */ (sim.dsx);
        for (const method of methods) {
          progress(`accuracy ${latent} N=${samples} seed ${s} ${method}`);
          const t = seconds(() => native.estimateScoreDifferences(simX, { method, seed: s }));
          errors[method].push(relRmse(t.value.dsx.data, simDsx.data));
          times[method].push(t.seconds);
        }
      }
      for (const method of methods) {
        table.push({
          latent,
          samples,
          method,
          relativeRmse: round(mean(errors[method])),
          perSeed: errors[method].map((e) => round(e)),
          seconds: round(mean(times[method])),
        });
      }
    }
  }
  /** @type {Record<number, number>} */
  const ratio = {};
  for (const samples of [5_000, 50_000]) {
    // Both methods are in the linear cells above.
    const cell = (/** @type {string} */ m) =>
      /** @type {AccuracyRow} */ (table.find((r) => r.latent === 'linear' && r.samples === samples && r.method === m));
    ratio[samples] = round(cell('logistic-quadratic').relativeRmse / cell('gaussian').relativeRmse, 3);
  }
  results.accuracy = {
    setting: { n: 5, d: 100, intervention: 'hard', varianceFactor: 5, seeds, defaults: 'epochs 20, width 64, 2 hidden layers' },
    table,
    logisticOverGaussian: ratio,
    logisticWithin1_5x: Object.values(ratio).every((r) => r <= 1.5),
  };
}

if (run('lscale')) {
  /** @type {Record<string, object>} */
  const out = {};
  for (const method of lscaleMethods) {
    /** @type {number[]} */
    const mccs = [];
    const shds = [];
    const fitSeconds = [];
    for (let r = 0; r < runs; r++) {
      progress(`lscale ${method} run ${r + 1}/${runs}`);
      const sim = native.simulate({ n: 5, d: 100, samples: 50_000, seed: 1000 + r, latent: 'mlp', outputs: { dsx: false } });
      const simX = /** @type {NDArray} */ (sim.x);
      const t = seconds(() => native.estimateScoreDifferences(simX, { method, seed: r }));
      fitSeconds.push(t.seconds);
      const result = native.lscale({ x: simX, dsx: t.value.dsx }, { intervention: 'hard' });
      const hard = /** @type {NonNullable<typeof result.hard>} */ (result.hard); // intervention 'hard'
      // Estimated latents on the observational samples: ẑ = encoder · x.
      const N = 50_000;
      const d = 100;
      const n = 5;
      const enc = hard.encoder.data;
      const zHat = new Float64Array(N * n);
      for (let i = 0; i < N; i++)
        for (let k = 0; k < n; k++) {
          let sum = 0;
          for (let j = 0; j < d; j++) sum += enc[k * d + j] * simX.data[i * d + j];
          zHat[i * n + k] = sum;
        }
      const z0 = { data: /** @type {NDArray} */ (sim.z).data.subarray(0, N * n), shape: [N, n] };
      mccs.push(native.meanCorrelationCoefficient(z0, { data: zHat, shape: [N, n] }).mcc);
      shds.push(native.compareGraphs(sim.graph, hard.graph).shd);
    }
    out[method] = {
      runs,
      mcc: round(mean(mccs)),
      shd: round(mean(shds)),
      correctGraphRate: round(shds.filter((s) => s === 0).length / runs),
      perRun: { mcc: mccs.map((m) => round(m)), shd: shds },
      fitSeconds: round(mean(fitSeconds)),
      target: { mccAtLeast: 0.94, shdAtMost: 4.3 },
      met: mean(mccs) >= 0.94 && mean(shds) <= 4.3,
    };
  }
  results.lscale = { setting: { n: 5, d: 100, samples: 50_000, latent: 'mlp', intervention: 'hard', edgeRule: 'adaptive' }, ...out };
}

console.log(JSON.stringify(results, null, 2));
await native.close();
