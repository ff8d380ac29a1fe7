/** The options of `scorecrl fit`, as commander parses them (src/cli/fit.ts); each algorithm's fit reads its own part. */
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
  /** gscale's start; default 'auto' (spectral for glm, random for mlp) */
  init: 'auto' | 'spectral' | 'random' | 'linear';
  maxIterations?: number;
  /** gscale's graph rule; undefined: 'environments' with a learned estimator, else 'adaptive' */
  edgeRule?: 'threshold' | 'adaptive' | 'environments';
  edgeThreshold?: number;
  seed: number;
  progress: boolean;
  envColumn?: string;
  observational?: string;
  out?: string;
  json?: boolean;
}
