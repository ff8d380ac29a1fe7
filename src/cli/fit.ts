import { Option, type Command } from 'commander';
import {
  ALGORITHM_IDS,
  algorithmSpec,
  algorithmsWith,
  DEFAULT_ALGORITHM,
  DEFAULT_ESTIMATOR,
  FINITE_SAMPLE_TOLERANCES,
  listing,
  type AlgorithmId,
} from '../algorithms.js';
import type { Backend } from '../backend.js';
import { loadBackend } from '../backend/load.js';
import { DataError, UsageError } from '../errors.js';
import { checkOutputFile } from '../io/files.js';
import { loadEnvironments, type Environments } from '../io/readers.js';
import type { FitFlags } from './fit-flags.js';
import { fitFiniteSamplePlugIn } from './fit-finite-sample.js';
import { checkGscaleData, fitGscale } from './fit-gscale.js';
import { fitLinear } from './fit-linear.js';
import { environmentMoments } from './fit-summary.js';
import { fitUmni } from './fit-umni.js';
import { backendOption } from './info.js';
import { integer, positiveNumber } from './options.js';

/** Checks the data against what the algorithm needs; throws DataError with the fix. */
export function checkData(env: Environments, n: number): void {
  const K = env.data.length - 1;
  const d = env.columns.length;
  if (K < 1) {
    throw new DataError(
      `only one environment (${env.labels[0]}); give the observational environment and one interventional environment per latent`,
    );
  }
  if (K < n) {
    throw new DataError(
      `fewer environments than latents: ${K} interventional environment(s) (${env.labels.slice(1).join(', ')}) for ${n} latents; ` +
        `the algorithm needs one single-node intervention per latent (lower --latents or add environments)`,
    );
  }
  if (K > n) {
    throw new DataError(
      `${K} interventional environments for ${n} latents; the finite-sample algorithm needs exactly one per latent (use --latents ${K})`,
    );
  }
  if (d < n) throw new DataError(`the data have ${d} columns (${env.columns.join(', ')}), fewer than the ${n} latents`);
  const minRows = Math.max(n + 2, 3);
  env.data.forEach((a, k) => {
    if (a.shape[0]! < minRows) {
      throw new DataError(
        `environment ${env.labels[k]} has ${a.shape[0]} rows; at least ${minRows} are needed for ${n} latents (more give better estimates)`,
      );
    }
  });
}

/** How `fit` runs one algorithm: its latent count by default, its data check, and the fit itself. */
interface FitMethod {
  /** Latents when --latents is not given. */
  latents(env: Environments): number;
  /** Throws DataError (with the fix) when the environments do not suit the algorithm. */
  check(env: Environments, n: number): void;
  run(crl: Backend, env: Environments, files: string[], flags: FitFlags, n: number): Promise<void> | void;
}

/** One interventional environment per latent. */
const perEnvironment = (env: Environments) => env.data.length - 1;

/** The fit of each algorithm of src/algorithms.ts. */
const FITS: Record<AlgorithmId, FitMethod> = {
  'finite-sample': {
    latents: perEnvironment,
    check: checkData,
    run: (crl, env, files, flags, n) =>
      flags.estimator === 'gaussian'
        ? fitFiniteSamplePlugIn(crl, env, files, flags, n)
        : fitLinear(crl, env, files, { ...flags, algorithm: 'finite-sample' }, n),
  },
  lscale: {
    latents: perEnvironment,
    check: checkData,
    run: (crl, env, files, flags, n) => fitLinear(crl, env, files, { ...flags, algorithm: 'lscale' }, n),
  },
  umni: {
    latents: perEnvironment,
    check: checkData,
    run: (crl, env, files, flags, n) => fitUmni(crl, env, files, flags, environmentMoments(crl, env), n),
  },
  gscale: {
    // Two hard interventions per latent.
    latents: (env) => Math.floor((env.data.length - 1) / 2),
    check: checkGscaleData,
    run: fitGscale,
  },
};

/** Every estimator `fit` runs some algorithm with. */
const FIT_ESTIMATORS = [...new Set(ALGORITHM_IDS.flatMap((id) => algorithmSpec(id).fit.estimators))];

export function registerFit(program: Command): void {
  program
    .command('fit')
    .description('fit a CRL algorithm to your data: environments from CSV (header row) or .npy files; prints a summary and writes JSON')
    .argument('<files...>', 'one file per environment (the first observational), or one file with an environment column')
    .option(
      '-n, --latents <n>',
      'number of latent variables (default: the number of interventional environments)',
      integer('--latents', 1, 20),
    )
    .addOption(
      new Option(
        '--estimator <name>',
        `score-difference estimator (gscale: default ${algorithmSpec('gscale').fit.defaults.estimator}; ` +
          `umni: ${listing(algorithmSpec('umni').fit.estimators, 'or')} only; learned ones train on the data)`,
      )
        .choices(FIT_ESTIMATORS)
        .default(DEFAULT_ESTIMATOR),
    )
    .addOption(new Option('--algorithm <name>', 'CRL algorithm').choices(ALGORITHM_IDS).default(DEFAULT_ALGORITHM))
    .option(
      '--tol-eigv <x>',
      `eigenvalue tolerance (ranks; umni: default ${algorithmSpec('umni').fit.defaults.tolEigv})`,
      positiveNumber,
      FINITE_SAMPLE_TOLERANCES.tolEigv,
    )
    .option('--tol-orth <x>', 'orthogonality tolerance (edges)', positiveNumber, FINITE_SAMPLE_TOLERANCES.tolOrth)
    .addOption(new Option('--intervention <type>', 'lscale, umni: soft or hard interventions').choices(['soft', 'hard']).default('soft'))
    .option('--kappa <k>', 'umni: integer weights range over -k..k', integer('--kappa', 1, 10), 2)
    .option('--max-candidates <m>', 'umni: largest search (2k+1)^n allowed (default 1e7)', integer('--max-candidates', 1, 1e12))
    .option('--tol-ci <x>', 'umni (hard): level of the Fisher z-tests', positiveNumber, 0.05)
    .addOption(new Option('--order <order>', 'umni: candidate order').choices(['l1', 'lexicographic']).default('l1'))
    .addOption(
      new Option(
        '--score-space <space>',
        'gscale: estimate scores of x, or of atanh(x) mapped back (default: atanh for glm, x for mlp)',
      ).choices(['x', 'atanh']),
    )
    .addOption(new Option('--family <family>', 'gscale: autoencoder, glm x = tanh(U z) or mlp').choices(['glm', 'mlp']).default('glm'))
    .option('--hidden <h>', 'gscale (mlp): hidden width', integer('--hidden', 1, 4096), 32)
    .addOption(
      new Option(
        '--init <start>',
        'gscale: start of training (auto: spectral for glm, which solves x = tanh(Uz) in closed form; random and linear use nothing of tanh)',
      )
        .choices(['auto', 'spectral', 'random', 'linear'])
        .default('auto'),
    )
    .option('--max-iterations <k>', 'gscale: training iterations at most (default 20000)', integer('--max-iterations', 0))
    .addOption(
      new Option(
        '--edge-rule <rule>',
        'gscale: edge rule (environments: tests on the samples of every environment, the default with a learned estimator; ' +
          'adaptive: scale-free threshold on the score statistic, the default otherwise; threshold)',
      ).choices(['threshold', 'adaptive', 'environments']),
    )
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
    .action(async (files: string[], options: FitFlags, command: Command) => {
      // A bad -o fails now, not after the fit.
      if (options.out) checkOutputFile(options.out);
      const algorithm = options.algorithm as AlgorithmId;
      const spec = algorithmSpec(algorithm);
      // The algorithm's own defaults stand in for the command's where the option was not given.
      const flags: FitFlags = { ...options };
      for (const [key, value] of Object.entries(spec.fit.defaults)) {
        if (command.getOptionValueSource(key) === 'default') (flags as unknown as Record<string, unknown>)[key] = value;
      }
      if (!(spec.fit.estimators as readonly string[]).includes(flags.estimator)) {
        throw new UsageError(
          `--estimator ${flags.estimator} runs with --algorithm ${listing(algorithmsWith('fit', [flags.estimator]), 'or')} ` +
            `(${algorithm} takes ${listing(spec.fit.estimators, 'or')})`,
        );
      }
      if (algorithm === 'gscale' && flags.init === 'spectral' && flags.family === 'mlp')
        throw new UsageError('--init spectral needs --family glm (it solves x = tanh(Uz)); use --init random or linear with mlp');
      // DataError and ConfigError end the command with exit 2 (main.ts maps codes to exit status).
      const env = loadEnvironments(files, { environmentColumn: flags.envColumn, observational: flags.observational });
      const method = FITS[algorithm];
      const n = flags.latents ?? method.latents(env);
      method.check(env, n);
      const crl = await loadBackend({ backend: backendOption(program) });
      await method.run(crl, env, files, flags, n);
    });
}
