// The library's public types, in one place: both entries (src/index.ts for
// Node, src/browser/index.ts for the browser) re-export all of them, so the two
// cannot drift. Values (functions, classes, constants) are exported by each
// entry, since the browser entry loads no Node module.
export type { AsyncOptions, BackendName, Engine, EngineInfo, OpInputs, OpOutputs } from './backend/engine.js';
export type { Backend } from './backend.js';
export type { ErrorCode } from './errors.js';
export type { NDArray } from './types.js';
export type { Draw } from './ops/random.js';
export type { UmniData, UmniMoments, UmniOptions, UmniResult, UmniStageMetrics, UmniTrialResult, UmniTrialSpec } from './ops/umni.js';
export type {
  SimulationConfig,
  Simulation,
  SimulationTransform,
  Mechanisms,
  ScoreQuantity,
  ScorePoints,
  LatentModelName,
  InterventionType,
  InterventionDesignName,
  TransformName,
} from './ops/simulate.js';
export type { TrialSpec, TrialResult } from './ops/trial.js';
export type {
  LscaleData,
  LscaleOptions,
  LscaleStage,
  LscaleResult,
  LscaleTrialSpec,
  LscaleTrialResult,
  LscaleTrialStage,
} from './ops/lscale.js';
export type { FiniteSampleData, FiniteSampleOptions, FiniteSampleResult } from './ops/finite-sample.js';
export type { GraphComparison, InterventionalGraphOptions, InterventionalGraphResult, MixingError } from './ops/graph.js';
export type { ScoreDifferenceOptions, ScoreDifferenceResult, GaussianOptions, GaussianResult } from './ops/estimators.js';
export type {
  LearnedMethodName,
  LearnedEstimatorOptions,
  LearnedScoreDifferences,
  LearnedTrainingReport,
} from './ops/estimators-learned.js';
export type { GscaleFamily, GscaleInput, GscaleOptions, GscaleModel, GscaleHistory, GscaleResult } from './ops/gscale.js';
export type { OpName, OpTypes } from './ops/generated/op-types.js';
