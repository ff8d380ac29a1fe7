/**
 * `scorecrl fit` with its defaults: the finite-sample algorithm with Gaussian plug-in scores, on
 * the per-environment moments of the data (`fitFiniteSample`: environment t+1 intervenes latent
 * z_t). With a learned estimator the finite-sample algorithm runs through fit-linear.ts.
 */
import type { Backend } from '../backend.js';
import { writeFileAtomic } from '../io/files.js';
import type { Environments } from '../io/readers.js';
import { fitFiniteSample } from '../ops/finite-sample.js';
import type { FitFlags } from './fit-flags.js';
import {
  describeEnvironments,
  environmentMoments,
  graphEdges,
  latentName as name,
  printLatentTable,
  summariseLatents,
} from './fit-summary.js';

/** The `fit` flags the plug-in finite-sample fit reads. */
export type FiniteSampleFitFlags = Pick<FitFlags, 'estimator' | 'algorithm' | 'tolEigv' | 'tolOrth' | 'out' | 'json'>;

export function fitFiniteSamplePlugIn(crl: Backend, env: Environments, files: string[], flags: FiniteSampleFitFlags, n: number): void {
  const d = env.columns.length;
  const K = n;
  const moments = environmentMoments(crl, env);
  const fit = fitFiniteSample(crl.engine, moments.covariances, moments.means, n, { tolEigv: flags.tolEigv, tolOrth: flags.tolOrth });
  const graph = (i: number, j: number) => fit.graph.data[i * n + j] === 1;
  const encoderRow = (t: number) => fit.encoder.data.subarray(t * d, (t + 1) * d);
  const edges = graphEdges(fit.graph);
  const latents = summariseLatents(fit.encoder, moments, env.labels, fit.graph);
  const eig = Array.from(fit.supportEigenvalues);
  const total = eig.reduce((a, b) => a + Math.max(b, 0), 0);
  const explained = eig.slice(0, n).reduce((a, b) => a + Math.max(b, 0), 0) / total;
  const result = {
    input: {
      files,
      columns: env.columns,
      environments: describeEnvironments(env, (k) => `intervenes ${name(k - 1)}`),
    },
    options: { latents: n, estimator: flags.estimator, algorithm: flags.algorithm, tolEigv: flags.tolEigv, tolOrth: flags.tolOrth },
    latents: latents.map((l) => l.latent),
    order: fit.order.map(name),
    graph: Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (graph(i, j) ? 1 : 0))),
    edges,
    encoder: Array.from({ length: n }, (_, t) => Array.from(encoderRow(t))),
    perLatent: latents,
    diagnostics: {
      supportEigenvalues: eig,
      supportExplainedVariance: explained,
      scoreDiffEigenvalues: Array.from({ length: K }, (_, m) => Array.from(fit.scoreDiffEigenvalues.data.subarray(m * d, (m + 1) * d))),
      backend: crl.name,
    },
  };
  if (flags.out) writeFileAtomic(flags.out, `${JSON.stringify(result, null, 2)}\n`);
  if (flags.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const rows = env.data.map((a) => a.shape[0]);
  console.log(
    `fit: ${env.data.length} environments (observational ${env.labels[0]}, ${rows[0]} rows; ${K} interventional, ` +
      `${Math.min(...rows.slice(1))}-${Math.max(...rows.slice(1))} rows), ${d} columns, ${n} latents`,
  );
  console.log(
    `estimator ${flags.estimator} (plug-in), algorithm ${flags.algorithm} (tolEigv ${flags.tolEigv}, tolOrth ${flags.tolOrth}), backend ${crl.name}`,
  );
  console.log(`support: the top ${n} of ${d} eigenvalues hold ${(100 * explained).toFixed(2)}% of the observational variance`);
  console.log(`causal order: ${result.order.join(', ')}`);
  console.log(
    `graph (transitive closure, ${edges.length} edges): ${edges.length ? edges.map(([a, b]) => `${a} -> ${b}`).join(', ') : '(none)'}`,
  );
  console.log('');
  printLatentTable(latents);
  if (flags.out) console.log(`\nwrote ${flags.out} (encoder ${n}x${d}, graph, order, diagnostics)`);
}
