/**
 * `scorecrl fit --algorithm umni`: UMNI-CRL with Gaussian plug-in scores on the per-environment
 * moments of the data (unknown multi-node interventions: each interventional environment may
 * intervene any set of latents, the sets forming an invertible target matrix).
 */
import type { Backend } from '../backend.js';
import { writeFileAtomic } from '../io/files.js';
import type { Environments } from '../io/readers.js';
import { toRows, type NDArray } from '../types.js';
import type { FitFlags } from './fit-flags.js';
import { describeEnvironments, graphEdges, latentName as name } from './fit-summary.js';

/** The `fit` flags UMNI-CRL reads. */
export type UmniFitFlags = Pick<
  FitFlags,
  'intervention' | 'kappa' | 'maxCandidates' | 'tolEigv' | 'tolCi' | 'order' | 'estimator' | 'out' | 'json'
>;

export function fitUmni(
  crl: Backend,
  env: Environments,
  files: string[],
  flags: UmniFitFlags,
  moments: { covariances: NDArray; means: NDArray },
  n: number,
): void {
  const d = env.columns.length;
  const r = crl.umniGaussian(
    { covariances: moments.covariances, means: moments.means, samples: env.data[0]!.shape[0]! },
    {
      kappa: flags.kappa,
      maxCandidates: flags.maxCandidates,
      tolEigv: flags.tolEigv,
      tolCi: flags.tolCi,
      intervention: flags.intervention,
      order: flags.order,
    },
  );
  const weights = toRows(r.weights);
  const combination = (t: number) =>
    weights
      .map((row, m) => [row[t]!, env.labels[m + 1]!] as const)
      .filter(([w]) => w !== 0)
      .map(([w, label]) => `${w > 0 ? '+' : '-'}${Math.abs(w) === 1 ? '' : Math.abs(w)}${label}`)
      .join(' ');
  const result = {
    input: {
      files,
      columns: env.columns,
      environments: describeEnvironments(env, () => 'interventional (targets unknown)'),
    },
    options: {
      latents: n,
      estimator: flags.estimator,
      algorithm: 'umni',
      intervention: flags.intervention,
      kappa: flags.kappa,
      tolEigv: flags.tolEigv,
      tolCi: flags.tolCi,
      order: flags.order,
    },
    latents: Array.from({ length: n }, (_, t) => name(t)),
    note: 'latents are numbered in the estimated causal order; with soft interventions each is identified up to mixing with its ancestors',
    graphClosure: toRows(r.graphClosure),
    edges: graphEdges(r.graphClosure),
    encoder: toRows(r.encoder),
    weights,
    environmentCombinations: Array.from({ length: n }, (_, t) => ({ latent: name(t), combination: combination(t) })),
    hard: r.hard ? { graph: toRows(r.hard.graph), edges: graphEdges(r.hard.graph), encoder: toRows(r.hard.encoder) } : undefined,
    diagnostics: { candidates: r.stats.candidates, fullTests: r.stats.fullTests, backend: crl.name },
  };
  if (flags.out) writeFileAtomic(flags.out, `${JSON.stringify(result, null, 2)}\n`);
  if (flags.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log(`fit: ${env.data.length} environments (observational ${env.labels[0]}), ${d} columns, ${n} latents`);
  console.log(
    `estimator ${flags.estimator} (plug-in), algorithm umni (${flags.intervention}, kappa ${flags.kappa}, tolEigv ${flags.tolEigv}` +
      `${flags.intervention === 'hard' ? `, tolCi ${flags.tolCi}` : ''}, ${flags.order} order), backend ${crl.name}`,
  );
  console.log(`latents in causal order: ${result.latents.join(', ')}`);
  const list = (e: [string, string][]) => (e.length ? e.map(([a, b]) => `${a} -> ${b}`).join(', ') : '(none)');
  console.log(`graph (transitive closure, ${result.edges.length} edges): ${list(result.edges)}`);
  if (result.hard) console.log(`graph (hard interventions, ${result.hard.edges.length} edges): ${list(result.hard.edges)}`);
  console.log('');
  console.log('score-difference combinations acting on one latent (and its ancestors):');
  for (const c of result.environmentCombinations) console.log(`  ${c.latent}: ${c.combination}`);
  if (flags.out) console.log(`\nwrote ${flags.out} (encoder ${n}x${d}, graph, weights${r.hard ? ', hard-stage encoder and graph' : ''})`);
}
