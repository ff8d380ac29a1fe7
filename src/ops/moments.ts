import type { Engine } from '../backend/engine.js';
import type { NDArray } from '../types.js';
import { checkArray } from '../validate.js';
import { call, operation } from './call.js';

/** Centred covariance (1/N) of `x` (N×d) → d×d. */
export const covariance = operation(
  'covariance',
  ([x]: [NDArray]) => {
    checkArray('covariance', 'x', x, 2);
    return { arrays: { x } };
  },
  (out) => out.arrays.covariance,
);

/** Uncentred E[dsx_k dsx_k^T] for each k of `dsx` (K×N×d) → K×d×d. */
export const scoreDiffCovariance = operation(
  'scoreDiffCovariance',
  ([dsx]: [NDArray]) => {
    checkArray('scoreDiffCovariance', 'dsx', dsx, 3);
    return { arrays: { dsx } };
  },
  (out) => out.arrays.covariance,
);

/** All cross moments E[dsx_i dsx_j^T] of `dsx` (K×N×d) → (K·d)×(K·d). */
export const crossScoreDiffCovariance = operation(
  'crossScoreDiffCovariance',
  ([dsx]: [NDArray]) => {
    checkArray('crossScoreDiffCovariance', 'dsx', dsx, 3);
    return { arrays: { dsx } };
  },
  (out) => out.arrays.covariance,
);

/** Eigen-decomposition of a symmetric matrix: ascending eigenvalues, eigenvectors as columns. */
export function symmetricEigen(engine: Engine, a: NDArray): { values: Float64Array; vectors: NDArray } {
  checkArray('symmetricEigen', 'a', a, 2);
  const out = call(engine, 'symmetricEigen', { arrays: { a } }).arrays;
  return { values: out.values.data, vectors: out.vectors };
}
