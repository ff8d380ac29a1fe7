/**
 * The CRL algorithms scorecrl runs, and what each one takes: the intervention design, mixing
 * transforms and intervention types of its data, the score-difference estimators it runs with
 * (on given data with `scorecrl fit`, and in sweep trials), the latent models its sweep trials
 * simulate, and its defaults. One list, read by the sweep's validation (src/sweep/config.ts),
 * `scorecrl fit` (src/cli/fit.ts) and the demo page (web/src/algorithms.ts).
 *
 * Plain data with no Node or browser API: the demo page bundles this module.
 */
import type { InterventionDesignName, InterventionType, LatentModelName, TransformName } from './ops/simulate.js';

/** Latent SCM mechanisms of simulated data. */
export const LATENT_MODELS = ['linear', 'quadratic', 'mlp'] as const satisfies readonly LatentModelName[];
/** Hard (mechanism removed) or soft (mechanism scaled) interventions. */
export const INTERVENTIONS = ['hard', 'soft'] as const satisfies readonly InterventionType[];
/** Which nodes each environment intervenes (docs/simulation.md). */
export const DESIGNS = ['single-node', 'two-hard-per-node', 'multi-node'] as const satisfies readonly InterventionDesignName[];
/** Mixing x = g(z). */
export const TRANSFORMS = ['linear', 'tanh', 'tanh-mlp'] as const satisfies readonly TransformName[];
/** Score-difference estimators: Gaussian plug-in, exact (simulations only), and the learned ones. */
export const ESTIMATORS = ['gaussian', 'exact', 'logistic-quadratic', 'classifier-mlp', 'ssm'] as const;
/** Estimators learned from the samples (trained per data set, far slower than the plug-in). */
export const LEARNED_ESTIMATORS = ['logistic-quadratic', 'classifier-mlp', 'ssm'] as const;

export type LatentModel = (typeof LATENT_MODELS)[number];
export type Intervention = (typeof INTERVENTIONS)[number];
export type Design = (typeof DESIGNS)[number];
export type Transform = (typeof TRANSFORMS)[number];
export type Estimator = (typeof ESTIMATORS)[number];

/** Every algorithm, in the order lists of them are shown. */
export const ALGORITHM_IDS = ['finite-sample', 'lscale', 'umni', 'gscale'] as const;
export type AlgorithmId = (typeof ALGORITHM_IDS)[number];

/** The estimator every algorithm runs with unless its spec says otherwise: the Gaussian plug-in. */
export const DEFAULT_ESTIMATOR: Estimator = 'gaussian';

/** The algorithm `scorecrl fit` and a sweep run when none is named. */
export const DEFAULT_ALGORITHM: AlgorithmId = 'finite-sample';

export interface AlgorithmSpec {
  id: AlgorithmId;
  /** Its name in the literature. */
  title: string;
  /** The core operation (and `Backend` method) that runs it on data. */
  op: 'finiteSample' | 'lscale' | 'umni' | 'gscale';
  /** The intervention design its data follow. */
  design: Design;
  /** Mixing transforms it inverts; the first is the one simulated for it where none is chosen. */
  transforms: readonly Transform[];
  /** Intervention types it handles. */
  interventions: readonly Intervention[];
  /** `scorecrl fit` on given data. */
  fit: {
    /** Estimators it runs with (`exact` needs a simulation). */
    estimators: readonly Estimator[];
    /** Its own values of `fit` options (by option name) that differ from the command's defaults; used where the option is not given. */
    defaults: { estimator?: Estimator; tolEigv?: number };
  };
  /** Sweep trials on simulated data. */
  sweep: {
    estimators: readonly Estimator[];
    latents: readonly LatentModel[];
    /** Whether its trials can draw the latent moments from their exact (Wishart) distribution. */
    wishart: boolean;
  };
}

/** Defaults of the finite-sample algorithm's tolerances (the reference experiment's). */
export const FINITE_SAMPLE_TOLERANCES = { tolEigv: 1e-2, tolOrth: 1e-1 } as const;

const SPECS: { [K in AlgorithmId]: AlgorithmSpec & { id: K } } = {
  'finite-sample': {
    id: 'finite-sample',
    title: 'the finite-sample algorithm',
    op: 'finiteSample',
    design: 'single-node',
    transforms: ['linear'],
    interventions: INTERVENTIONS,
    fit: { estimators: [...LEARNED_ESTIMATORS, 'gaussian'], defaults: {} },
    sweep: { estimators: ESTIMATORS, latents: ['linear'], wishart: true },
  },
  lscale: {
    id: 'lscale',
    title: 'LSCALE-I',
    op: 'lscale',
    design: 'single-node',
    transforms: ['linear'],
    interventions: INTERVENTIONS,
    fit: { estimators: [...LEARNED_ESTIMATORS, 'gaussian'], defaults: {} },
    // Nonlinear latent models run materialised (simulated arrays), which cannot use Wishart moments.
    sweep: { estimators: ESTIMATORS, latents: LATENT_MODELS, wishart: true },
  },
  umni: {
    id: 'umni',
    title: 'UMNI-CRL',
    op: 'umni',
    design: 'multi-node',
    transforms: ['linear'],
    interventions: INTERVENTIONS,
    // `fit` runs it on the data's moments (Gaussian plug-in); its sweep trial is the fused core trial.
    fit: { estimators: ['gaussian'], defaults: { tolEigv: 0.05 } },
    sweep: { estimators: ['gaussian', 'exact'], latents: ['linear'], wishart: false },
  },
  gscale: {
    id: 'gscale',
    title: 'GSCALE-I',
    op: 'gscale',
    design: 'two-hard-per-node',
    transforms: ['tanh', 'tanh-mlp'],
    interventions: ['hard'],
    fit: { estimators: [...LEARNED_ESTIMATORS, 'gaussian'], defaults: { estimator: 'logistic-quadratic' } },
    sweep: { estimators: ESTIMATORS, latents: LATENT_MODELS, wishart: false },
  },
};

/** Every algorithm's spec, in the order of `ALGORITHM_IDS`. */
export const ALGORITHMS: readonly AlgorithmSpec[] = ALGORITHM_IDS.map((id) => SPECS[id]);

/** The spec of `id` (an `AlgorithmId`, checked by the caller). */
export function algorithmSpec<K extends AlgorithmId>(id: K): AlgorithmSpec & { id: K } {
  return SPECS[id];
}

/** 'a', 'a or b', 'a, b or c' (with `and`: 'a, b and c'). */
export function listing(items: readonly string[], conjunction: 'and' | 'or'): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1]}`;
}

/** The algorithms that run with every one of `estimators`, in `scope` ('fit' or 'sweep'). */
export function algorithmsWith(scope: 'fit' | 'sweep', estimators: readonly string[]): AlgorithmId[] {
  return ALGORITHMS.filter((a) => estimators.every((e) => (a[scope].estimators as readonly string[]).includes(e))).map((a) => a.id);
}
