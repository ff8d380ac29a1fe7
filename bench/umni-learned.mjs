// UMNI-CRL with learned score differences beside exact ones (docs/umni-accuracy.md).
//
//   node bench/umni-learned.mjs [--runs 20] [--seed0 2000]
//
// The setting of bench/umni-accuracy.mjs at n = 5: linear Gaussian SCM (density 0.5), linear
// decoder, d = 10, N = 10 000 samples per environment, multi-node design D = I | upper-triangular
// Bernoulli(0.5) with permuted columns, intervened noise variance x 0.25 (soft: mechanism halved;
// hard: removed), kappa = 2, tolEigv = tolCi = 0.05. Each run materialises the samples
// (`simulate`), then runs `umni({ x, dsx })` with the simulation's exact score differences and with
// score differences learned by logistic-quadratic (estimator seed = simulation seed). Estimated
// latents are matched to the true ones by the MCC assignment on the observational samples; the
// graph is compared in that matching (soft: transitive closures; hard: the DAG). A run in which
// UMNI-CRL finds no candidate counts as failed. Prints one JSON object.
import os from 'node:os';
import { loadBackend } from '../dist/index.js';
import { encodeRows } from './common.mjs';

/** @typedef {import('../dist/index.js').NDArray} NDArray */

const args = process.argv.slice(2);
const flag = (/** @type {string} */ name, /** @type {number} */ fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const RUNS = flag('--runs', 20);
const SEED0 = flag('--seed0', 2000);
const n = 5;
const d = 10;
const N = 10_000;
const OPTIONS = { kappa: 2, tolEigv: 0.05, tolCi: 0.05 };

const round = (/** @type {number} */ v, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;
const mean = (/** @type {number[]} */ v) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN);
const se = (/** @type {number[]} */ v) => {
  const m = mean(v);
  return v.length > 1 ? Math.sqrt(v.reduce((a, x) => a + (x - m) ** 2, 0) / (v.length - 1) / v.length) : 0;
};

const crl = await loadBackend({ backend: 'native' });

/**
 * MCC and SHD of an estimated encoder and graph, after matching estimated latents to true ones.
 * @param {NDArray} z0 true observational latents (N×n)
 * @param {NDArray} x x of the simulation (its first N rows are environment 0)
 * @param {NDArray} encoder
 * @param {NDArray} graph estimated graph in the estimate's labels
 * @param {NDArray} truth true graph (node labels)
 * @param {boolean} closures compare transitive closures
 */
function score(z0, x, encoder, graph, truth, closures) {
  const m = crl.meanCorrelationCoefficient(z0, encodeRows(x, encoder, N));
  const relabelled = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) relabelled[i * n + j] = graph.data[m.matching[i] * n + m.matching[j]];
  const g = { data: relabelled, shape: [n, n] };
  const shd = closures ? crl.compareGraphs(crl.transitiveClosure(truth), crl.transitiveClosure(g)).shd : crl.compareGraphs(truth, g).shd;
  return { mcc: m.mcc, shd };
}

const results = {
  machine: { cores: os.cpus().length, model: os.cpus()[0]?.model, loadAverageAtStart: os.loadavg().map((l) => round(l, 2)) },
  setting: {
    n,
    d,
    samples: N,
    ...OPTIONS,
    design: 'multi-node',
    latent: 'linear',
    varianceFactor: 0.25,
    seeds: `${SEED0}-${SEED0 + RUNS - 1}`,
  },
  /** @type {Record<string, object>} */
  cells: {},
};

for (const intervention of /** @type {const} */ (['soft', 'hard'])) {
  /** @type {Record<string, { mcc: number[], shd: number[], failed: number, seconds: number[] }>} */
  const by = { exact: { mcc: [], shd: [], failed: 0, seconds: [] }, 'logistic-quadratic': { mcc: [], shd: [], failed: 0, seconds: [] } };
  for (let run = 0; run < RUNS; run++) {
    const seed = SEED0 + run;
    process.stderr.write(`umni-learned: ${intervention} seed ${seed}\n`);
    const sim = crl.simulate({ n, d, samples: N, seed, latent: 'linear', design: 'multi-node', intervention, scaleDecoder: false });
    const z0 = { data: /** @type {NDArray} */ (sim.z).data.subarray(0, N * n), shape: [N, n] };
    const x = /** @type {NDArray} */ (sim.x);
    for (const scores of /** @type {const} */ (['exact', 'logistic-quadratic'])) {
      const started = process.hrtime.bigint();
      const dsx = scores === 'exact' ? /** @type {NDArray} */ (sim.dsx) : crl.estimateScoreDifferences(x, { method: scores, seed }).dsx;
      try {
        const r = crl.umni({ x, dsx }, { ...OPTIONS, intervention });
        const s = r.hard
          ? score(z0, x, r.hard.encoder, r.hard.graph, sim.graph, false)
          : score(z0, x, r.encoder, r.graphClosure, sim.graph, true);
        by[scores].mcc.push(s.mcc);
        by[scores].shd.push(s.shd);
      } catch (e) {
        if (/** @type {{ code?: string }} */ (e).code !== 'no-solution') throw e;
        by[scores].failed++;
      }
      by[scores].seconds.push(Number(process.hrtime.bigint() - started) / 1e9);
      if (scores !== 'exact') crl.release(dsx);
    }
    crl.release(sim);
  }
  results.cells[intervention] = Object.fromEntries(
    Object.entries(by).map(([k, v]) => [
      k,
      {
        runs: RUNS,
        failed: v.failed,
        mcc: { mean: round(mean(v.mcc), 4), se: round(se(v.mcc), 4) },
        shd: { mean: round(mean(v.shd)), se: round(se(v.shd)) },
        exact: v.shd.filter((s) => s === 0).length,
        secondsPerRun: round(mean(v.seconds), 2),
      },
    ]),
  );
}

console.log(JSON.stringify(results, null, 2));
await crl.close();
