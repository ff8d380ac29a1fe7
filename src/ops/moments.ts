import type { AsyncOptions, Engine } from '../backend/engine.js';
import type { NDArray } from '../types.js';
import { checkArray } from '../validate.js';

export function covariance(engine: Engine, x: NDArray): NDArray {
  checkArray('covariance', 'x', x, 2);
  return engine.call('covariance', { arrays: { x } }).arrays.covariance!;
}

export async function covarianceAsync(engine: Engine, x: NDArray, options?: AsyncOptions): Promise<NDArray> {
  checkArray('covariance', 'x', x, 2);
  return (await engine.callAsync('covariance', { arrays: { x } }, options)).arrays.covariance!;
}

export function scoreDiffCovariance(engine: Engine, dsx: NDArray): NDArray {
  checkArray('scoreDiffCovariance', 'dsx', dsx, 3);
  return engine.call('scoreDiffCovariance', { arrays: { dsx } }).arrays.covariance!;
}

export async function scoreDiffCovarianceAsync(engine: Engine, dsx: NDArray, options?: AsyncOptions): Promise<NDArray> {
  checkArray('scoreDiffCovariance', 'dsx', dsx, 3);
  return (await engine.callAsync('scoreDiffCovariance', { arrays: { dsx } }, options)).arrays.covariance!;
}

export function crossScoreDiffCovariance(engine: Engine, dsx: NDArray): NDArray {
  checkArray('crossScoreDiffCovariance', 'dsx', dsx, 3);
  return engine.call('crossScoreDiffCovariance', { arrays: { dsx } }).arrays.covariance!;
}

export async function crossScoreDiffCovarianceAsync(engine: Engine, dsx: NDArray, options?: AsyncOptions): Promise<NDArray> {
  checkArray('crossScoreDiffCovariance', 'dsx', dsx, 3);
  return (await engine.callAsync('crossScoreDiffCovariance', { arrays: { dsx } }, options)).arrays.covariance!;
}

export function symmetricEigen(engine: Engine, a: NDArray): { values: Float64Array; vectors: NDArray } {
  checkArray('symmetricEigen', 'a', a, 2);
  const out = engine.call('symmetricEigen', { arrays: { a } }).arrays;
  return { values: out.values!.data, vectors: out.vectors! };
}
