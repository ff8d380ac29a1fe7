/**
 * `scorecrl fit` for the linear-mixing algorithms with any estimator: LSCALE-I (`--algorithm
 * lscale`, `--intervention soft|hard`) and the finite-sample algorithm with a learned estimator
 * (`--estimator logistic-quadratic|classifier-mlp|ssm`). Environment t+1 intervenes latent z_t.
 * Learned estimators train on the environments stacked to a common row count (the first rows of
 * each, as many as the smallest has), with progress on stderr; Ctrl-C cancels the training.
 * LSCALE-I with the Gaussian plug-in runs on every row's moments.
 */
import type { Backend } from '../backend.js';
import { writeFileAtomic } from '../io/files.js';
import type { LscaleResult, LscaleStage } from '../ops/lscale.js';
import { stackEnvironments, type Environments } from '../io/readers.js';
import { toRows, type NDArray } from '../types.js';
import {
  describeEnvironments,
  formatP,
  graphEdges,
  environmentMoments,
  latentName as name,
  printLatentTable,
  summariseLatents,
  type EnvironmentMoments,
} from './fit-summary.js';
import { cancellableBySignals, progressPrinter } from './options.js';
import type { FitFlags } from './fit-flags.js';

/** The `fit` flags the linear-mixing algorithms read. */
export type LinearFitFlags = Pick<FitFlags, 'estimator' | 'intervention' | 'tolEigv' | 'tolOrth' | 'seed' | 'progress' | 'out' | 'json'> & {
  algorithm: 'finite-sample' | 'lscale';
};

/**
 * Bootstrap refits behind each LSCALE-I edge when the score differences are learned (the share of
 * refits holding the edge is printed beside its margin); about 0.05 s per refit at n = 5, N = 50 000.
 */
const FIT_RESAMPLES = 100;

/** Encoder rows scaled to unit norm, largest |entry| positive. */
function normaliseRows(encoder: NDArray): NDArray {
  const [n, d] = encoder.shape as [number, number];
  const out = new Float64Array(encoder.data);
  for (let t = 0; t < n; t++) {
    const row = out.subarray(t * d, (t + 1) * d);
    let norm = 0;
    let arg = 0;
    for (let j = 0; j < d; j++) {
      norm += row[j]! ** 2;
      if (Math.abs(row[j]!) > Math.abs(row[arg]!)) arg = j;
    }
    const scale = (row[arg]! < 0 ? -1 : 1) / (Math.sqrt(norm) || 1);
    for (let j = 0; j < d; j++) row[j]! *= scale;
  }
  return { data: out, shape: [n, d] };
}

/** The stage's edge threshold in decades above its non-edge level, signed, 2 decimals. */
function thresholdMargin(stage: LscaleStage | undefined): string {
  const t = stage?.edgeThreshold;
  const level = stage?.nullLevel;
  if (t === undefined || level === undefined || !Number.isFinite(t) || !(level > 0)) return 'none';
  const m = Math.log10(t / level);
  return `${m >= 0 ? '+' : ''}${m.toFixed(2)}`;
}

function descending(values: Float64Array): number[] {
  return Array.from(values).sort((a, b) => b - a);
}

interface Estimate {
  /** Latent order, oldest first. */
  order: number[];
  /** n×n 0/1 graph reported (finite-sample: the closure; lscale: the stage's DAG). */
  graph: NDArray;
  encoder: NDArray;
  /** lscale: the stage that was reported and its edge rule. */
  stage?: LscaleStage;
  lscale?: LscaleResult;
  /** K×d eigenvalues of each score-difference covariance (learned estimators). */
  scoreDiffEigenvalues?: number[][];
  rows?: number;
}

async function estimate(crl: Backend, env: Environments, flags: LinearFitFlags, n: number, m: EnvironmentMoments): Promise<Estimate> {
  const options = { intervention: flags.intervention };
  if (flags.estimator === 'gaussian') {
    const r = crl.lscale({ covariances: m.covariances, means: m.means, scores: 'gaussian' }, options);
    const stage = r.hard ?? r.soft;
    return { order: stage.order, graph: stage.graph, encoder: stage.encoder, stage, lscale: r };
  }
  const { x, rows } = stackEnvironments(env);
  // Data the estimator cannot train on (too few rows, ...) is a core 'invalid-argument': exit 2.
  const dsx: NDArray = (
    await cancellableBySignals('fit', (signal) =>
      crl.estimateScoreDifferencesAsync(x, {
        method: flags.estimator,
        seed: flags.seed,
        latents: n,
        onProgress: progressPrinter(flags.progress, `estimating score differences (${flags.estimator})`),
        signal,
      }),
    )
  ).dsx;
  const d = env.columns.length;
  const R = crl.scoreDiffCovariance(dsx);
  const scoreDiffEigenvalues = Array.from({ length: n }, (_, k) =>
    descending(crl.symmetricEigen({ data: R.data.slice(k * d * d, (k + 1) * d * d), shape: [d, d] }).values),
  );
  if (flags.algorithm === 'lscale') {
    const r = crl.lscale({ x, dsx }, { ...options, resamples: FIT_RESAMPLES, resampleSeed: flags.seed });
    const stage = r.hard ?? r.soft;
    return { order: stage.order, graph: stage.graph, encoder: stage.encoder, stage, lscale: r, scoreDiffEigenvalues, rows };
  }
  const fit = crl.finiteSample({ dsx }, { tolEigv: flags.tolEigv, tolOrth: flags.tolOrth });
  return { order: fit.order, graph: fit.graphClosure, encoder: fit.encoder, scoreDiffEigenvalues, rows };
}

export async function fitLinear(crl: Backend, env: Environments, files: string[], flags: LinearFitFlags, n: number): Promise<void> {
  const d = env.columns.length;
  const K = n;
  const m = environmentMoments(crl, env);
  const started = performance.now();
  const e = await estimate(crl, env, flags, n, m);
  const seconds = (performance.now() - started) / 1000;
  const lscale = flags.algorithm === 'lscale';
  const hard = lscale && flags.intervention === 'hard';
  const encoder = normaliseRows(e.encoder);
  const closure = lscale ? crl.transitiveClosure(e.graph) : e.graph;
  const has = (g: NDArray, i: number, j: number) => g.data[i * n + j] === 1;
  const edges = graphEdges(e.graph);
  // LSCALE-I: each reported edge's statistic, its margin above the non-edge level (decades) and,
  // with learned scores, the share of bootstrap refits that hold it.
  // The 'regression' rule's evidence is each edge test's p-value.
  const evidence: { from: string; to: string; statistic: number; margin: number; pValue?: number; frequency?: number }[] = [];
  const frequency = e.stage?.edgeFrequency;
  const pValues = e.stage?.edgePValue;
  if (lscale && e.stage?.edgeStatistic && e.stage.edgeMargin)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        if (has(e.graph, i, j))
          evidence.push({
            from: name(i),
            to: name(j),
            statistic: e.stage.edgeStatistic.data[i * n + j]!,
            margin: e.stage.edgeMargin.data[i * n + j]!,
            ...(pValues ? { pValue: pValues.data[i * n + j]! } : {}),
            ...(frequency ? { frequency: frequency.data[i * n + j]! } : {}),
          });
  const rule = e.lscale?.edgeRule ?? 'adaptive';
  const cov = m.covariances.data;
  const latents = summariseLatents(encoder, m, env.labels, closure, lscale ? e.graph : undefined);
  const support = descending(crl.symmetricEigen({ data: cov.slice(0, d * d), shape: [d, d] }).values);
  const total = support.reduce((a, b) => a + Math.max(b, 0), 0);
  const explained = support.slice(0, n).reduce((a, b) => a + Math.max(b, 0), 0) / total;
  const graphKind = !lscale ? 'transitive closure' : hard ? 'DAG' : 'DAG, identified up to transitive closure';
  const result = {
    input: {
      files,
      columns: env.columns,
      ...(e.rows !== undefined ? { rowsUsedForScores: e.rows } : {}),
      environments: describeEnvironments(env, (k) => `intervenes ${name(k - 1)}`),
    },
    options: {
      latents: n,
      estimator: flags.estimator,
      algorithm: flags.algorithm,
      ...(lscale ? { intervention: flags.intervention, edgeRule: rule } : { tolEigv: flags.tolEigv, tolOrth: flags.tolOrth }),
      ...(flags.estimator !== 'gaussian' ? { seed: flags.seed } : {}),
    },
    latents: latents.map((l) => l.latent),
    note: lscale
      ? hard
        ? 'hard interventions: latents up to scaling and the DAG'
        : 'soft interventions: latents up to mixing with their ancestors, the graph up to transitive closure'
      : 'latents up to mixing with their ancestors; the graph is the transitive closure',
    order: e.order.map(name),
    graph: toRows(e.graph),
    graphKind,
    edges,
    ...(lscale ? { edgeEvidence: evidence } : {}),
    encoder: toRows(encoder),
    perLatent: latents,
    diagnostics: {
      supportEigenvalues: support,
      supportExplainedVariance: explained,
      ...(e.scoreDiffEigenvalues ? { scoreDiffEigenvalues: e.scoreDiffEigenvalues } : {}),
      ...(e.stage?.edgeStatistic ? { edgeStatistic: toRows(e.stage.edgeStatistic), edgeThreshold: e.stage.edgeThreshold } : {}),
      ...(e.stage?.edgeMargin ? { edgeMargin: toRows(e.stage.edgeMargin), nullLevel: e.stage.nullLevel } : {}),
      ...(pValues ? { edgePValue: toRows(pValues), edgeLevel: e.stage?.edgeThreshold } : {}),
      ...(frequency && e.lscale?.resamples ? { edgeFrequency: toRows(frequency), resamples: e.lscale.resamples } : {}),
      ...(e.lscale && hard ? { softGraph: toRows(e.lscale.soft.graph), softOrder: e.lscale.soft.order.map(name) } : {}),
      seconds,
      backend: crl.name,
    },
  };
  if (flags.out) writeFileAtomic(flags.out, `${JSON.stringify(result, null, 2)}\n`);
  if (flags.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const rows = env.data.map((a) => a.shape[0]!);
  console.log(
    `fit: ${env.data.length} environments (observational ${env.labels[0]}, ${rows[0]} rows; ${K} interventional, ` +
      `${Math.min(...rows.slice(1))}-${Math.max(...rows.slice(1))} rows), ${d} columns, ${n} latents`,
  );
  const learned = flags.estimator !== 'gaussian';
  console.log(
    `estimator ${flags.estimator} (${learned ? `learned on ${e.rows} rows per environment, seed ${flags.seed}, ${seconds.toFixed(1)} s` : 'plug-in'}), ` +
      `algorithm ${flags.algorithm} (${lscale ? `${flags.intervention} interventions, ${rule} edge rule` : `tolEigv ${flags.tolEigv}, tolOrth ${flags.tolOrth}`}), backend ${crl.name}`,
  );
  console.log(`support: the top ${n} of ${d} eigenvalues hold ${(100 * explained).toFixed(2)}% of the observational variance`);
  console.log(`causal order: ${result.order.join(', ')}`);
  console.log(`graph (${graphKind}, ${edges.length} edges): ${edges.length ? edges.map(([a, b]) => `${a} -> ${b}`).join(', ') : '(none)'}`);
  if (evidence.length) {
    const refits = e.lscale?.resamples;
    const share = (v: (typeof evidence)[number]) =>
      v.frequency === undefined || !Number.isFinite(v.frequency) ? '' : ` (${Math.round(100 * v.frequency)}%)`;
    const refitsNote = refits ? `; in brackets the share of ${refits.completed} bootstrap refits holding the edge` : '';
    const signed = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(2)}`;
    if (pValues && hard)
      console.log(
        `edge evidence (p-value of the regression test; an edge below ${formatP(e.stage?.edgeThreshold ?? Number.NaN)} per pair` +
          `${refitsNote}): ` +
          evidence.map((v) => `${v.from} -> ${v.to} p=${formatP(v.pValue ?? Number.NaN)}${share(v)}`).join(', '),
      );
    else if (pValues)
      console.log(
        `edge evidence (p-value of the shift of the effect's distribution in the cause's environment, then the score margin in decades${refitsNote}): ` +
          evidence.map((v) => `${v.from} -> ${v.to} p=${formatP(v.pValue ?? Number.NaN)} ${signed(v.margin)}${share(v)}`).join(', '),
      );
    else
      console.log(
        `edge evidence (decades above the non-edge level; threshold ${thresholdMargin(e.stage)}${refitsNote}): ` +
          evidence.map((v) => `${v.from} -> ${v.to} ${signed(v.margin)}${share(v)}`).join(', '),
      );
  }
  console.log('');
  printLatentTable(latents);
  if (flags.out) console.log(`\nwrote ${flags.out} (encoder ${n}x${d}, graph, order, diagnostics)`);
}
