/**
 * scorecrl: score-based causal representation learning on a C++/Eigen core,
 * served by a native N-API addon or a WebAssembly build of the same core.
 *
 * ```ts
 * import { loadBackend } from 'scorecrl';
 * const crl = await loadBackend();
 * ```
 */
export { loadBackend, backendInfo, nativeLoadError, type LoadOptions } from './backend/load.js';
export { Backend } from './backend.js';
export { AbortError, ConfigError, DataError, FileError, ScorecrlError, UsageError, type ErrorCode } from './errors.js';
export type {
  AsyncOptions,
  BackendName,
  Engine,
  EngineInfo,
  OpInputs,
  OpOutputs,
} from './backend/engine.js';
export { ndarray, at, toRows, fromRows, sliceFirst, type NDArray } from './types.js';
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
export {
  LSCALE_REFERENCE_OPTIONS,
  type LscaleData,
  type LscaleOptions,
  type LscaleStage,
  type LscaleResult,
  type LscaleTrialSpec,
  type LscaleTrialResult,
  type LscaleTrialStage,
} from './ops/lscale.js';
export type { FiniteSampleData, FiniteSampleOptions, FiniteSampleResult } from './ops/finite-sample.js';
export type { GraphComparison, MixingError } from './ops/graph.js';
export {
  registerScoreEstimator,
  scoreEstimators,
  isLearnedScoreDifference,
  type ScoreDifferenceOptions,
  type ScoreDifferenceResult,
  type GaussianOptions,
  type GaussianResult,
} from './ops/estimators.js';
export {
  LearnedScoreModel,
  LEARNED_METHODS,
  type LearnedMethodName,
  type LearnedEstimatorOptions,
  type LearnedScoreDifferences,
  type LearnedTrainingReport,
} from './ops/estimators-learned.js';
export {
  gscalePairs,
  type GscaleFamily,
  type GscaleInput,
  type GscaleOptions,
  type GscaleModel,
  type GscaleHistory,
  type GscaleResult,
} from './ops/gscale.js';
