import { Option, type Command } from 'commander';
import { checkOutputFile, writeFileAtomic } from '../io/files.js';
import { loadBackend } from '../backend/load.js';
import { fitFiniteSample } from '../ops/finite-sample.js';
import { checkGscaleData, fitGscale, GSCALE_FIT_ESTIMATORS } from './fit-gscale.js';
import { fitLinear } from './fit-linear.js';
import { environmentMoments, latentName as name, printLatentTable, summariseLatents } from './fit-summary.js';
import { fitUmni } from './fit-umni.js';
import { loadEnvironments, type Environments } from '../io/readers.js';
import type { NDArray } from '../types.js';
import { backendOption } from './info.js';
import { DataError, UsageError } from '../errors.js';
import { integer, positiveNumber } from './options.js';

export interface FitFlags {
  latents?: number;
  estimator: string;
  algorithm: string;
  tolEigv: number;
  tolOrth: number;
  /** --algorithm umni */
  intervention: 'soft' | 'hard';
  kappa: number;
  maxCandidates?: number;
  tolCi: number;
  order: 'l1' | 'lexicographic';
  /** --algorithm gscale */
  scoreSpace?: 'x' | 'atanh';
  family: 'glm' | 'mlp';
  hidden: number;
  maxIterations?: number;
  edgeRule: 'threshold' | 'adaptive';
  edgeThreshold?: number;
  seed: number;
  progress: boolean;
  envColumn?: string;
  observational?: string;
  out?: string;
  json?: boolean;
}

/** Checks the data against what the algorithm needs; throws DataError with the fix. */
export function checkData(env: Environments, n: number): void {
  const K = env.data.length - 1;
  const d = env.columns.length;
  if (K < 1) {
    throw new DataError(`only one environment (${env.labels[0]}); give the observational environment and one interventional environment per latent`);
  }
  if (K < n) {
    throw new DataError(
      `fewer environments than latents: ${K} interventional environment(s) (${env.labels.slice(1).join(', ')}) for ${n} latents; ` +
        `the algorithm needs one single-node intervention per latent (lower --latents or add environments)`,
    );
  }
  if (K > n) {
    throw new DataError(`${K} interventional environments for ${n} latents; the finite-sample algorithm needs exactly one per latent (use --latents ${K})`);
  }
  if (d < n) throw new DataError(`the data have ${d} columns (${env.columns.join(', ')}), fewer than the ${n} latents`);
  const minRows = Math.max(n + 2, 3);
  env.data.forEach((a, k) => {
    if (a.shape[0]! < minRows) {
      throw new DataError(`environment ${env.labels[k]} has ${a.shape[0]} rows; at least ${minRows} are needed for ${n} latents (more give better estimates)`);
    }
  });
}

export function registerFit(program: Command): void {
  program
    .command('fit')
    .description('fit a CRL algorithm to your data: environments from CSV (header row) or .npy files; prints a summary and writes JSON')
    .argument('<files...>', 'one file per environment (the first observational), or one file with an environment column')
    .option('-n, --latents <n>', 'number of latent variables (default: the number of interventional environments)', integer('--latents', 1, 20))
    .addOption(
      new Option('--estimator <name>', 'score-difference estimator (gscale: default logistic-quadratic; umni: gaussian only; learned ones train on the data)')
        .choices([...GSCALE_FIT_ESTIMATORS])
        .default('gaussian'),
    )
    .addOption(new Option('--algorithm <name>', 'CRL algorithm').choices(['finite-sample', 'lscale', 'umni', 'gscale']).default('finite-sample'))
    .option('--tol-eigv <x>', 'eigenvalue tolerance (ranks; umni: default 0.05)', positiveNumber, 1e-2)
    .option('--tol-orth <x>', 'orthogonality tolerance (edges)', positiveNumber, 1e-1)
    .addOption(new Option('--intervention <type>', 'lscale, umni: soft or hard interventions').choices(['soft', 'hard']).default('soft'))
    .option('--kappa <k>', 'umni: integer weights range over -k..k', integer('--kappa', 1, 10), 2)
    .option('--max-candidates <m>', 'umni: largest search (2k+1)^n allowed (default 1e7)', integer('--max-candidates', 1, 1e12))
    .option('--tol-ci <x>', 'umni (hard): level of the Fisher z-tests', positiveNumber, 0.05)
    .addOption(new Option('--order <order>', 'umni: candidate order').choices(['l1', 'lexicographic']).default('l1'))
    .addOption(
      new Option('--score-space <space>', 'gscale: estimate scores of x, or of atanh(x) mapped back (default: atanh for glm, x for mlp)').choices([
        'x',
        'atanh',
      ]),
    )
    .addOption(new Option('--family <family>', 'gscale: autoencoder, glm x = tanh(U z) or mlp').choices(['glm', 'mlp']).default('glm'))
    .option('--hidden <h>', 'gscale (mlp): hidden width', integer('--hidden', 1, 4096), 32)
    .option('--max-iterations <k>', 'gscale: training iterations at most (default 20000)', integer('--max-iterations', 0))
    .addOption(new Option('--edge-rule <rule>', 'gscale: edge rule (adaptive: scale-free, data-driven)').choices(['threshold', 'adaptive']).default('adaptive'))
    .option('--edge-threshold <x>', 'gscale: threshold of the threshold rule (default 0.02)', positiveNumber)
    .option('--seed <s>', 'seed of a learned estimator (gscale: also of a random start)', integer('--seed', 0), 0)
    .option('--no-progress', 'no progress lines on stderr while a learned estimator or gscale trains')
    .option('--env-column <name>', 'column holding the environment label (CSV: name; .npy: 0-based index), for a single file')
    .option('--observational <label>', 'label of the observational environment in --env-column (default: the smallest)')
    .option('-o, --out <file>', 'write the result as JSON here')
    .option('--json', 'print the JSON result instead of the summary')
    .addHelpText(
      'after',
      `
Environment t+1 is taken to intervene on latent z_t (single-node interventions,
one per latent). The estimator fits a Gaussian to each environment on the
n-dimensional support of the observational data; the finite-sample algorithm
returns a causal order, the transitive closure of the latent graph, and an
encoder (z_hat = encoder · x).

With --algorithm lscale (LSCALE-I) the environments are the same; with
--intervention soft it returns the latents up to mixing with their ancestors
and the graph up to transitive closure, with --intervention hard the latents up
to scaling and the DAG (adaptive, scale-free edge rule).

--estimator logistic-quadratic, classifier-mlp or ssm (finite-sample, lscale)
learns the score differences from the data (the first rows of each environment,
as many as the smallest has; --seed; progress on stderr, Ctrl-C cancels)
instead of the Gaussian plug-in.

With --algorithm umni the interventional environments may each intervene an
unknown set of latents (unknown multi-node interventions, one environment per
latent, the target sets linearly independent); UMNI-CRL returns the latents in
an estimated causal order, the transitive closure of their graph and an encoder
up to ancestors, and with --intervention hard the DAG and the latents up to scale.

With --algorithm gscale (GSCALE-I, nonlinear invertible mixing) give 2n
interventional environments: the first n intervene z_0..z_{n-1} (hard), the
next n intervene the same latents again, in the same order, with a different
change. Score differences are estimated (--estimator, default
logistic-quadratic), an autoencoder is trained (progress on stderr, Ctrl-C
cancels), and the latents (up to a per-latent invertible map) and the DAG are
returned.

Examples:
  scorecrl fit obs.csv int0.csv int1.csv int2.csv -o fit.json
  scorecrl fit obs.csv e1.csv e2.csv e3.csv --algorithm umni --intervention hard
  scorecrl fit obs.csv int0.csv int1.csv int2.csv --algorithm lscale --intervention hard
  scorecrl fit obs.csv int0.csv int1.csv int2.csv --estimator logistic-quadratic -o fit.json
  scorecrl fit obs.csv a0.csv a1.csv b0.csv b1.csv --algorithm gscale -o fit.json
  scorecrl fit all.csv --env-column env --observational obs
  scorecrl fit data/env*.npy --latents 3`,
    )
    .action(async (files: string[], flags: FitFlags, command: Command) => {
      // A bad -o fails now, not after the fit.
      if (flags.out) checkOutputFile(flags.out);
      const gscale = flags.algorithm === 'gscale';
      const estimator = gscale && command.getOptionValueSource('estimator') === 'default' ? 'logistic-quadratic' : flags.estimator;
      if (flags.algorithm === 'umni' && estimator !== 'gaussian') {
        throw new UsageError(`--estimator ${estimator} runs with --algorithm finite-sample, lscale or gscale (umni takes gaussian)`);
      }
      // DataError and ConfigError end the command with exit 2 (main.ts maps codes to exit status).
      const env = loadEnvironments(files, { environmentColumn: flags.envColumn, observational: flags.observational });
      if (gscale) checkGscaleData(env, flags.latents ?? Math.floor((env.data.length - 1) / 2));
      else checkData(env, flags.latents ?? env.data.length - 1);
      if (gscale) {
        const crl = await loadBackend({ backend: backendOption(program) });
        await fitGscale(crl, env, files, { ...flags, estimator }, flags.latents ?? (env.data.length - 1) / 2);
        return;
      }
      const n = flags.latents ?? env.data.length - 1;
      const d = env.columns.length;
      const K = n;
      const crl = await loadBackend({ backend: backendOption(program) });
      if (flags.algorithm === 'lscale' || (flags.algorithm === 'finite-sample' && estimator !== 'gaussian')) {
        const algorithm = flags.algorithm as 'finite-sample' | 'lscale';
        await fitLinear(crl, env, files, { ...flags, estimator, algorithm }, n);
        return;
      }
      const moments = environmentMoments(crl, env);
      if (flags.algorithm === 'umni') {
        const tolEigv = command.getOptionValueSource('tolEigv') === 'default' ? 0.05 : flags.tolEigv;
        fitUmni(crl, env, files, { ...flags, tolEigv }, moments, n);
        return;
      }
      const fit = fitFiniteSample(crl.engine, moments.covariances, moments.means, n, { tolEigv: flags.tolEigv, tolOrth: flags.tolOrth });
      const graph = (i: number, j: number) => fit.graph.data[i * n + j] === 1;
      const encoderRow = (t: number) => fit.encoder.data.subarray(t * d, (t + 1) * d);
      const edges: [string, string][] = [];
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (graph(i, j)) edges.push([name(i), name(j)]);
      const latents = summariseLatents(fit.encoder, moments, env.labels, fit.graph);
      const eig = Array.from(fit.supportEigenvalues);
      const total = eig.reduce((a, b) => a + Math.max(b, 0), 0);
      const explained = eig.slice(0, n).reduce((a, b) => a + Math.max(b, 0), 0) / total;
      const result = {
        input: {
          files,
          columns: env.columns,
          environments: env.labels.map((label, k) => ({ label, rows: env.data[k]!.shape[0], role: k === 0 ? 'observational' : `intervenes ${name(k - 1)}` })),
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
      if (flags.out) writeFileAtomic(flags.out, JSON.stringify(result, null, 2) + '\n');
      if (flags.json) {
        console.log(JSON.stringify(result, null, 2));
        return;
      }
      const rows = env.data.map((a) => a.shape[0]);
      console.log(
        `fit: ${env.data.length} environments (observational ${env.labels[0]}, ${rows[0]} rows; ${K} interventional, ` +
          `${Math.min(...rows.slice(1))}-${Math.max(...rows.slice(1))} rows), ${d} columns, ${n} latents`,
      );
      console.log(`estimator ${flags.estimator} (plug-in), algorithm ${flags.algorithm} (tolEigv ${flags.tolEigv}, tolOrth ${flags.tolOrth}), backend ${crl.name}`);
      console.log(`support: the top ${n} of ${d} eigenvalues hold ${(100 * explained).toFixed(2)}% of the observational variance`);
      console.log(`causal order: ${result.order.join(', ')}`);
      console.log(`graph (transitive closure, ${edges.length} edges): ${edges.length ? edges.map(([a, b]) => `${a} -> ${b}`).join(', ') : '(none)'}`);
      console.log('');
      printLatentTable(latents);
      if (flags.out) console.log(`\nwrote ${flags.out} (encoder ${n}x${d}, graph, order, diagnostics)`);
    });
}
