/**
 * `scorecrl fit --algorithm gscale`: GSCALE-I on data from an observational environment and two
 * hard interventions per latent (environments 1..n intervene z_0..z_{n-1} once, environments
 * n+1..2n intervene them again in the same order). Score differences are estimated with the
 * chosen estimator (on x, or on atanh(x) and mapped back by the chain rule), then the autoencoder
 * is trained with progress on stderr; Ctrl-C cancels the estimation or the training.
 */
import type { Backend } from '../backend.js';
import { writeFileAtomic } from '../io/files.js';
import { gscalePairs } from '../ops/gscale.js';
import { atanhData, atanhToX } from '../sweep/gscale.js';
import { DataError } from '../errors.js';
import { stackEnvironments, type Environments } from '../io/readers.js';
import { toRows, type NDArray } from '../types.js';
import { cancellableBySignals, progressPrinter } from './options.js';
import type { FitFlags } from './fit-flags.js';
import { describeEnvironments, formatP, graphEdges, latentName as name } from './fit-summary.js';

/** The `fit` flags GSCALE-I reads. */
export type GscaleFitFlags = Pick<
  FitFlags,
  | 'estimator'
  | 'scoreSpace'
  | 'family'
  | 'hidden'
  | 'init'
  | 'maxIterations'
  | 'edgeRule'
  | 'edgeThreshold'
  | 'seed'
  | 'progress'
  | 'out'
  | 'json'
>;

/** Checks the environments against GSCALE-I's design (2n interventional environments); throws DataError with the fix. */
export function checkGscaleData(env: Environments, n: number): void {
  const K = env.data.length - 1;
  const d = env.columns.length;
  if (K < 2 || K % 2 !== 0) {
    throw new DataError(
      `algorithm gscale needs the observational environment and two hard interventions per latent (2n environments, ` +
        `the first n intervening z_0..z_{n-1}, the next n the same latents in the same order); got ${K} interventional environment(s)`,
    );
  }
  if (K !== 2 * n) {
    throw new DataError(`${K} interventional environments for ${n} latents; gscale needs exactly 2n = ${2 * n} (use --latents ${K / 2})`);
  }
  if (d < n) throw new DataError(`the data have ${d} columns (${env.columns.join(', ')}), fewer than the ${n} latents`);
  const minRows = Math.max(2 * n + 2, 10);
  env.data.forEach((a, k) => {
    if (a.shape[0]! < minRows) {
      throw new DataError(
        `environment ${env.labels[k]} has ${a.shape[0]} rows; gscale needs at least ${minRows} for ${n} latents (more give better estimates)`,
      );
    }
  });
}

export async function fitGscale(crl: Backend, env: Environments, files: string[], flags: GscaleFitFlags, n: number): Promise<void> {
  const d = env.columns.length;
  const { x, rows } = stackEnvironments(env);
  const block = rows * d;
  const x0: NDArray = { data: x.data.slice(0, block), shape: [rows, d] };
  const scoreSpace = flags.scoreSpace ?? (flags.family === 'glm' ? 'atanh' : 'x');
  if (scoreSpace === 'atanh') {
    const bad = x.data.findIndex((v) => !(Math.abs(v) <= 1));
    if (bad >= 0) {
      throw new DataError(
        `--score-space atanh needs every value in [-1, 1] (the glm model x = tanh(U z)); found ${x.data[bad]} ` +
          `in environment ${env.labels[Math.floor(bad / block)]}; use --score-space x (or rescale the data)`,
      );
    }
  }
  const progress = (stage: string) => progressPrinter(flags.progress, stage);
  // Learned score differences carry an error the score statistic cannot see past: the graph then
  // comes from the samples of every environment (docs/gscale.md#graphs-from-the-environments).
  const edgeRule = flags.edgeRule ?? (flags.estimator === 'gaussian' ? 'adaptive' : 'environments');
  const started = performance.now();
  const { r } = await cancellableBySignals('fit', async (signal) => {
    const input = scoreSpace === 'atanh' ? atanhData(x) : x;
    const estimate = await crl.estimateScoreDifferencesAsync(input, {
      method: flags.estimator,
      seed: flags.seed,
      latents: n,
      onProgress: progress(`estimating score differences (${flags.estimator})`),
      signal,
    });
    const dsx = scoreSpace === 'atanh' ? atanhToX(estimate.dsx, x0) : estimate.dsx;
    const r = await crl.gscaleAsync(
      { x: x0, ...gscalePairs(dsx) },
      {
        family: flags.family,
        hidden: flags.hidden,
        init: flags.init,
        seed: flags.seed,
        edgeRule: edgeRule === 'environments' ? 'adaptive' : edgeRule,
        ...(flags.edgeThreshold !== undefined ? { edgeThreshold: flags.edgeThreshold } : {}),
        ...(flags.maxIterations !== undefined ? { maxIterations: flags.maxIterations } : {}),
        onProgress: progress(`training (${flags.family})`),
        signal,
      },
    );
    return { dsx, r };
  });
  const environments = edgeRule === 'environments' ? crl.gscaleEnvironmentGraph(r.model, x) : undefined;
  const seconds = (performance.now() - started) / 1000;
  const graph = environments ? environments.graph : r.graph!;
  const order = environments ? environments.order : r.order!;
  const edges = graphEdges(graph);
  // The environments rule's evidence per edge: its test's p-value and the share of the child's variance.
  const evidence: { from: string; to: string; pValue: number; share: number }[] = [];
  if (environments)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        if (graph.data[i * n + j] === 1)
          evidence.push({
            from: name(i),
            to: name(j),
            pValue: environments.pValue.data[i * n + j]!,
            share: environments.share.data[i * n + j]!,
          });
  const D = toRows(r.D);
  const latents = Array.from({ length: n }, (_, t) => ({
    latent: name(t),
    environments: [env.labels[t + 1]!, env.labels[n + t + 1]!],
    targetDiagonal: D[t]![t]!,
    largestOffDiagonal: Math.max(0, ...D[t]!.filter((_, j) => j !== t)),
    parents: Array.from({ length: n }, (_, i) => i)
      .filter((i) => graph.data[i * n + t] === 1)
      .map(name),
  }));
  const result = {
    input: {
      files,
      columns: env.columns,
      rowsUsed: rows,
      environments: describeEnvironments(env, (k) => `${k <= n ? 'first' : 'second'} hard intervention on ${name((k - 1) % n)}`),
    },
    options: {
      latents: n,
      estimator: flags.estimator,
      scoreSpace,
      algorithm: 'gscale',
      family: flags.family,
      hidden: flags.family === 'mlp' ? flags.hidden : undefined,
      init: r.init,
      edgeRule,
      threshold: environments ? environments.level : r.threshold,
      seed: flags.seed,
    },
    latents: latents.map((l) => l.latent),
    note: 'latent z_t is the latent intervened by the t-th pair of environments, identified up to an invertible map of its own',
    order: order.map(name),
    graph: toRows(graph),
    edges,
    ...(environments
      ? {
          edgeEvidence: evidence,
          edgePValue: toRows(environments.pValue),
        }
      : {}),
    perLatent: latents,
    D,
    Dobs: toRows(r.Dobs!),
    statistic: toRows(r.statistic!),
    training: {
      iterations: r.iterations,
      converged: r.converged,
      loss: r.loss,
      scoreTerm: r.scoreTerm,
      reconstruction: r.reconstruction,
      init: r.init,
      learningRate: r.learningRate,
      history: r.history,
      seconds,
    },
    model: { ...r.model, parameters: Array.from(r.model.parameters) },
    latentValues: toRows(r.latents),
    diagnostics: { backend: crl.name },
  };
  if (flags.out) writeFileAtomic(flags.out, `${JSON.stringify(result)}\n`);
  if (flags.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const counts = env.data.map((a) => a.shape[0]!);
  console.log(
    `fit: ${env.data.length} environments (observational ${env.labels[0]}; ${n} pairs of hard interventions), ${d} columns, ${n} latents, ` +
      `${rows} rows per environment${Math.max(...counts) > rows ? ' (the first rows of the larger ones)' : ''}`,
  );
  console.log(
    `estimator ${flags.estimator} on ${scoreSpace === 'atanh' ? 'atanh(x)' : 'x'}, algorithm gscale (${flags.family}${flags.family === 'mlp' ? `, hidden ${flags.hidden}` : ''}, ` +
      `${r.init} start), backend ${crl.name}`,
  );
  console.log(
    `training: ${r.iterations} iterations, ${r.converged ? 'converged' : 'stopped at maxIterations'}, loss ${r.loss.toPrecision(4)} ` +
      `(score term ${r.scoreTerm.toPrecision(4)}, reconstruction ${r.reconstruction.toPrecision(4)}), ${seconds.toFixed(1)} s`,
  );
  console.log(`causal order: ${result.order.join(', ')}`);
  if (environments) {
    console.log(
      `graph (${edges.length} edges, environments rule: tests on ${rows} rows of each environment, an edge below p = ${formatP(environments.level)} per pair): ` +
        (evidence.length ? evidence.map((e) => `${e.from} -> ${e.to} p=${formatP(e.pValue)}`).join(', ') : '(none)'),
    );
  } else {
    console.log(
      `graph (${edges.length} edges, ${edgeRule} rule, threshold ${r.threshold!.toPrecision(3)}): ${edges.length ? edges.map(([a, b]) => `${a} -> ${b}`).join(', ') : '(none)'}`,
    );
  }
  console.log('');
  const table = [
    ['latent', 'environments', 'D[t][t]', 'max off', 'parents'],
    ...latents.map((l) => [
      l.latent,
      l.environments.join(' + '),
      l.targetDiagonal.toPrecision(4),
      l.largestOffDiagonal.toPrecision(3),
      l.parents.join(' ') || '-',
    ]),
  ];
  const widths = table[0]!.map((_, j) => Math.max(...table.map((row) => row[j]!.length)));
  for (const row of table)
    console.log(
      row
        .map((c, j) => c.padEnd(widths[j]!))
        .join('  ')
        .trimEnd(),
    );
  if (flags.out)
    console.log(
      `\nwrote ${flags.out} (model ${r.model.family} with ${r.model.parameters.length} parameters, latents ${rows}x${n}, graph, D, history)`,
    );
}
