// Shared helpers for the benchmark scripts: each bench/*.mjs prints one JSON
// object on stdout; `npm run bench` runs them all.
import { loadBackend } from '../dist/index.js';

/** @typedef {import('../dist/index.js').Backend} Backend */
/** @typedef {import('../dist/index.js').NDArray} NDArray */

/**
 * ẑ = x · encoderᵀ (N×n) for the first N rows of x (rows of d values) and an encoder (n×d).
 * @param {NDArray} x
 * @param {NDArray} encoder
 * @param {number} N
 */
export function encodeRows(x, encoder, N) {
  const [n, d] = /** @type {[number, number]} */ (encoder.shape);
  const out = new Float64Array(N * n);
  for (let i = 0; i < N; i++)
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += encoder.data[k * d + j] * x.data[i * d + j];
      out[i * n + k] = s;
    }
  return { data: out, shape: [N, n] };
}

/**
 * The data of the paper's GSCALE-I Table 9: quadratic latent SCM (Erdős–Rényi 0.5, random order),
 * two hard interventions per node (noise variance x0.25 and x4), x = tanh(T z) (or another
 * transform) with T's columns scaled to max |entry| 1; z and x simulated, dsx when `exact`.
 * @param {Backend} crl
 * @param {{ n: number, d: number, samples: number, seed: number, transform?: import('../dist/index.js').TransformName,
 *   exact?: boolean }} setting
 */
export function simulateTable9(crl, { n, d, samples, seed, transform = 'tanh', exact = true }) {
  return crl.simulate({
    n,
    d,
    samples,
    seed,
    latent: 'quadratic',
    density: 0.5,
    randomOrder: true,
    design: 'two-hard-per-node',
    intervention: 'hard',
    varianceFactors: [0.25, 4],
    transform,
    scaleDecoder: true,
    outputs: { z: true, x: true, dsx: exact },
  });
}

/**
 * The true DAG in GSCALE-I's pair labels: latent i is the node that the i-th pair of
 * environments intervenes (targets n×K, the first n columns one per pair).
 * @param {{ graph: NDArray, targets: NDArray }} sim
 */
export function truthInPairLabels(sim) {
  const [n, K] = /** @type {[number, number]} */ (sim.targets.shape);
  const nodes = Array.from({ length: n }, (_, i) => {
    for (let k = 0; k < n; k++) if (sim.targets.data[k * K + i] === 1) return k;
    throw new Error(`pair ${i} has no target`);
  });
  const data = new Float64Array(n * n);
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) data[a * n + b] = sim.graph.data[nodes[a] * n + nodes[b]];
  return { data, shape: [n, n] };
}

/** @param {Iterable<number>} values */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One turn of the event loop: lets Node run the finalizers of released native results. */
export const turn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs fn `repeats` times after `warmup` calls, turning the event loop between
 * calls (untimed) as an application does; returns the median in seconds and all samples.
 * @param {() => unknown} fn
 * @param {{ repeats?: number, warmup?: number }} [options]
 */
export async function time(fn, { repeats = 5, warmup = 1 } = {}) {
  for (let i = 0; i < warmup; i++) {
    await fn();
    await turn();
  }
  /** @type {number[]} */
  const samples = [];
  for (let i = 0; i < repeats; i++) {
    const start = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1e9);
    await turn();
  }
  return { median: median(samples), samples };
}

/** Both backends (WASM only when native is unavailable). */
export async function backends() {
  /** @type {{ native?: Backend, wasm?: Backend }} */
  const out = {};
  try {
    out.native = await loadBackend({ backend: 'native' });
  } catch (error) {
    console.error(`native backend unavailable: ${/** @type {Error} */ (error).message.split('\n')[0]}`);
  }
  out.wasm = await loadBackend({ backend: 'wasm' });
  return out;
}

/** @param {number} x */
export function round(x, digits = 4) {
  return Number(x.toPrecision(digits));
}

/**
 * Uniform(-1, 1) samples from a seeded generator (mulberry32), so runs are comparable.
 * @param {number} size
 */
export function randomData(size, seed = 1) {
  let a = seed >>> 0;
  const data = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    data[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return data;
}
