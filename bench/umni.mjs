// UMNI-CRL speed: n in {5, 6, 7, 8}, d = 10, N = 2000, kappa = 2, exact score
// differences, soft multi-node interventions (the Simulation module's
// multi-node design, unscaled decoder as in the reference experiment), seeds
// 1..5 per n. Times the whole umni() call (moments, search, refinement) in the
// reference's candidate order on native (all threads) and WASM: per data set
// the fastest of 5 repeats (after a warm-up), which is what is least disturbed
// by other work on a shared machine, with the median and the process CPU time
// (all threads) beside it. The data generation is not timed.
//
// The reference (authors' NumPy code) timings are those measured on this
// machine for issue 7: they come from other draws of the same setting, and the
// search time depends on how far the first accepted candidate lies in the
// enumeration, so each is compared with our median and with our slowest seed.
import os from 'node:os';
import { backends, median, round } from './common.mjs';

/** @typedef {import('../dist/index.js').NDArray} NDArray */

/** @type {Record<number, number[]>} */
const REFERENCE_SECONDS = { 5: [0.11], 6: [2.0], 7: [1.1], 8: [106, 231, 134] };
const SEEDS = [1, 2, 3, 4, 5];
const SETTING = { d: 10, samples: 2000, kappa: 2, intervention: 'soft', design: 'multi-node', scores: 'exact' };

const engines = await backends();
const maker = /** @type {import('../dist/index.js').Backend} */ (engines.native ?? engines.wasm); // backends() always loads wasm
/**
 * One data set on one backend.
 * @typedef {{ seconds: number, medianSeconds: number, cpuSeconds: number, candidates: number, fullTests: number }} Timing
 */
/**
 * One backend over the seeds.
 * @typedef {{ medianSeconds: number, maxSeconds: number, microsecondsPerCandidate: number,
 *   speedupVsReference: { median: number, worstCase: number } }} Summary
 */
/**
 * @typedef {{ reference: { seconds: number[] }, seeds: Array<{ seed: number } & Record<string, Timing>>, native?: Summary,
 *   wasm?: Summary }} Row
 */
/** @type {{ machine: object, setting: object, backends: object, perN: Record<number, Row>, targets?: object }} */
const out = {
  machine: { cores: os.cpus().length, model: os.cpus()[0]?.model },
  setting: { ...SETTING, seeds: SEEDS, repeats: 5, order: 'lexicographic' },
  backends: Object.fromEntries(Object.entries(engines).map(([name, crl]) => [name, crl.info()])),
  perN: {},
};

for (const n of [5, 6, 7, 8]) {
  /** @type {Row} */
  const row = { reference: { seconds: REFERENCE_SECONDS[n] }, seeds: [] };
  for (const seed of SEEDS) {
    const sim = maker.simulate({
      n,
      d: SETTING.d,
      samples: SETTING.samples,
      seed,
      design: 'multi-node',
      intervention: 'soft',
      scaleDecoder: false,
      outputs: { z: false },
    });
    // outputs x and dsx are on (only z is off).
    const data = { x: /** @type {NDArray} */ (sim.x), dsx: /** @type {NDArray} */ (sim.dsx) };
    const entry = /** @type {{ seed: number } & Record<string, Timing>} */ ({ seed });
    /** @type {string | undefined} */
    let weights;
    for (const [name, crl] of Object.entries(engines)) {
      const options = { kappa: SETTING.kappa, order: /** @type {const} */ ('lexicographic') };
      let result = crl.umni(data, options);
      const wall = [];
      const cpu = [];
      for (let r = 0; r < 5; r++) {
        const c0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        result = crl.umni(data, options);
        wall.push(Number(process.hrtime.bigint() - t0) / 1e9);
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1e6);
      }
      entry[name] = {
        seconds: round(Math.min(...wall)),
        medianSeconds: round(median(wall)),
        cpuSeconds: round(Math.min(...cpu)),
        candidates: result.stats.candidates,
        fullTests: result.stats.fullTests,
      };
      const w = Array.from(result.weights.data).join(',');
      if (weights !== undefined && w !== weights) throw new Error(`umni bench: backends disagree on n=${n} seed=${seed}`);
      weights = w;
    }
    row.seeds.push(entry);
  }
  for (const name of /** @type {Array<'native' | 'wasm'>} */ (Object.keys(engines))) {
    const secs = row.seeds.map((s) => s[name].seconds);
    const cands = row.seeds.map((s) => s[name].candidates);
    const refMin = Math.min(...REFERENCE_SECONDS[n]);
    const refMedian = median(REFERENCE_SECONDS[n]);
    row[name] = {
      medianSeconds: round(median(secs)),
      maxSeconds: round(Math.max(...secs)),
      microsecondsPerCandidate: round((median(secs) / median(cands)) * 1e6, 3),
      speedupVsReference: {
        median: round(refMedian / median(secs), 3),
        worstCase: round(refMin / Math.max(...secs), 3),
      },
    };
  }
  out.perN[n] = row;
}

const native = out.perN[5].native ? 'native' : null;
// When native is set, every row has a native summary.
const nativeRow = (/** @type {number} */ n) => /** @type {Summary} */ (out.perN[n].native);
out.targets = {
  speedupAtLeast: 50,
  nativeN8UnderSeconds: 1,
  met: native !== null && [5, 6, 7, 8].every((n) => nativeRow(n).speedupVsReference.worstCase >= 50) && nativeRow(8).maxSeconds < 1,
};
for (const crl of Object.values(engines)) await crl.close();
console.log(JSON.stringify(out, null, 2));
