// Evaluation of an estimate against the simulated truth (DESIGN.md §6): MCC
// with the best one-to-one matching of latents, SHD in the true labelling, and
// the effective mixing. Only n x n and (d+n) x (d+n) arithmetic happens here;
// the pass over the samples is the core's covariance.

/** Row-major square matrix helpers on plain arrays (n is small: at most a few dozen). */
export type Matrix = number[][];

export function zeros(rows: number, cols: number): Matrix {
  return Array.from({ length: rows }, () => new Array<number>(cols).fill(0));
}

export function matmul(a: Matrix, b: Matrix): Matrix {
  const out = zeros(a.length, b[0]?.length ?? 0);
  for (let i = 0; i < a.length; i++) {
    for (let k = 0; k < b.length; k++) {
      const aik = a[i]![k]!;
      if (aik === 0) continue;
      for (let j = 0; j < out[0]!.length; j++) out[i]![j]! += aik * b[k]![j]!;
    }
  }
  return out;
}

/** Transitive closure (Warshall) of a 0/1 adjacency matrix. */
export function closure(graph: Matrix): Matrix {
  const n = graph.length;
  const c = graph.map((row) => row.map((v) => (v ? 1 : 0)));
  for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) if (c[i]![k]) for (let j = 0; j < n; j++) if (c[k]![j]) c[i]![j] = 1;
  for (let i = 0; i < n; i++) c[i]![i] = 0;
  return c;
}

/**
 * Best one-to-one matching of estimated latents (rows) to true latents
 * (columns) maximising the summed |score|: exact, by dynamic programming
 * over subsets of true latents (O(2^n n^2)).
 */
export function bestMatching(score: Matrix): number[] {
  const n = score.length;
  const size = 1 << n;
  const best = new Float64Array(size).fill(-Infinity);
  const choice = new Int8Array(size).fill(-1);
  best[0] = 0;
  for (let mask = 0; mask < size; mask++) {
    if (best[mask] === -Infinity) continue;
    let row = 0;
    for (let m = mask; m; m &= m - 1) row++;
    if (row >= n) continue;
    for (let col = 0; col < n; col++) {
      if (mask & (1 << col)) continue;
      const next = mask | (1 << col);
      const value = best[mask]! + Math.abs(score[row]![col]!);
      if (value > best[next]!) {
        best[next] = value;
        choice[next] = col;
      }
    }
  }
  const match = new Array<number>(n).fill(-1);
  let mask = size - 1;
  for (let row = n - 1; row >= 0; row--) {
    const col = choice[mask]!;
    match[row] = col;
    mask &= ~(1 << col);
  }
  return match;
}

/** SHD between two graphs on the same labels: per unordered pair, 1 if the edges differ (a reversal counts once). */
export function shd(truth: Matrix, estimate: Matrix): number {
  let count = 0;
  for (let i = 0; i < truth.length; i++) {
    for (let j = i + 1; j < truth.length; j++) {
      if ((truth[i]![j] ? 1 : 0) !== (estimate[i]![j] ? 1 : 0) || (truth[j]![i] ? 1 : 0) !== (estimate[j]![i] ? 1 : 0)) count++;
    }
  }
  return count;
}

export type EdgeStatus = 'correct' | 'missing' | 'extra';

/** Edge-by-edge comparison in the true labelling: status of every edge of either graph. */
export function compareEdges(truth: Matrix, estimate: Matrix): { from: number; to: number; status: EdgeStatus }[] {
  const out: { from: number; to: number; status: EdgeStatus }[] = [];
  for (let i = 0; i < truth.length; i++) {
    for (let j = 0; j < truth.length; j++) {
      const t = truth[i]![j] ? 1 : 0;
      const e = estimate[i]![j] ? 1 : 0;
      if (t && e) out.push({ from: i, to: j, status: 'correct' });
      else if (t) out.push({ from: i, to: j, status: 'missing' });
      else if (e) out.push({ from: i, to: j, status: 'extra' });
    }
  }
  return out;
}

export interface Evaluation {
  /** Mean |correlation| of matched latents. */
  mcc: number;
  /** match[t] = true latent of estimated latent t. */
  match: number[];
  /** |correlation| of each estimated latent with its match, in the true labelling. */
  correlations: number[];
  /** The estimated graph relabelled to the true latents. */
  graph: Matrix;
  /** The true graph as compared (the closure for 'closure' comparisons). */
  truth: Matrix;
  shd: number;
  /** Effective mixing encoder · decoder, rows in the true labelling, unit rows, positive diagonal. */
  mixing: Matrix;
  /** Entries allowed to be nonzero: identity (exact DAG), or ancestors + identity (up to ancestors). */
  allowed: boolean[][];
  /** Entries with |value| >= 0.05 outside `allowed`. */
  incorrectMixing: number;
}

/**
 * Compares an estimate with the truth.
 * @param cov (d+n) x (d+n) covariance of [x | z] on observational samples (row-major)
 * @param encoder n x d estimated encoder (rows are estimated latents)
 * @param decoder d x n true decoder
 * @param truthGraph n x n true DAG; estimated graph n x n in the estimate's labelling
 * @param kind 'dag' compares graphs as they are, 'closure' their transitive closures
 */
export function evaluate(
  cov: Float64Array,
  d: number,
  encoder: Matrix,
  decoder: Matrix,
  truthGraph: Matrix,
  estimatedGraph: Matrix,
  kind: 'dag' | 'closure',
): Evaluation {
  const n = encoder.length;
  const m = d + n;
  const s = (i: number, j: number) => cov[i * m + j]!;
  const sxz: Matrix = Array.from({ length: d }, (_, i) => Array.from({ length: n }, (_, j) => s(i, d + j)));
  const sxx: Matrix = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => s(i, j)));
  const hxz = matmul(encoder, sxz);
  const hxx = matmul(encoder, sxx);
  const corr = zeros(n, n);
  for (let t = 0; t < n; t++) {
    let varHat = 0;
    for (let k = 0; k < d; k++) varHat += hxx[t]![k]! * encoder[t]![k]!;
    for (let j = 0; j < n; j++) corr[t]![j] = hxz[t]![j]! / Math.sqrt(Math.max(varHat * s(d + j, d + j), 1e-300));
  }
  const match = bestMatching(corr);
  const correlations = new Array<number>(n).fill(0);
  for (let t = 0; t < n; t++) correlations[match[t]!] = Math.abs(corr[t]![match[t]!]!);
  const mcc = correlations.reduce((a, b) => a + b, 0) / n;

  const relabelled = zeros(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (estimatedGraph[i]![j]) relabelled[match[i]!]![match[j]!] = 1;
  const truth = kind === 'closure' ? closure(truthGraph) : truthGraph.map((r) => r.map((v) => (v ? 1 : 0)));
  const graph = kind === 'closure' ? closure(relabelled) : relabelled;

  const raw = matmul(encoder, decoder);
  const mixing = zeros(n, n);
  for (let t = 0; t < n; t++) {
    const row = raw[t]!;
    const norm = Math.hypot(...row) || 1;
    const sign = row[match[t]!]! < 0 ? -1 : 1;
    mixing[match[t]!] = row.map((v) => (sign * v) / norm);
  }
  const ancestors = closure(truthGraph);
  const allowed = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => i === j || (kind === 'closure' && ancestors[j]![i] === 1)),
  );
  let incorrectMixing = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (!allowed[i]![j] && Math.abs(mixing[i]![j]!) >= 0.05) incorrectMixing++;
  return { mcc, match, correlations, graph, truth, shd: shd(truth, graph), mixing, allowed, incorrectMixing };
}
