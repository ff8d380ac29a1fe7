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
export { AbortError, ConfigError, DataError, FileError, ScorecrlError, UsageError } from './errors.js';
export { ndarray, at, toRows, fromRows, sliceFirst } from './types.js';
export { LSCALE_REFERENCE_OPTIONS } from './ops/lscale.js';
export { registerScoreEstimator, scoreEstimators, isLearnedScoreDifference } from './ops/estimators.js';
export { LearnedScoreModel, LEARNED_METHODS } from './ops/estimators-learned.js';
export { gscalePairs } from './ops/gscale.js';
// Every public type (the same list the browser entry exports).
export type * from './public-types.js';
