import type { NDArray } from './types.js';

/**
 * Checks an NDArray argument before it reaches the core, so that errors name
 * the public function and argument. The core re-checks (shape, NaN/Inf).
 */
export function checkArray(fn: string, name: string, a: unknown, rank?: number): asserts a is NDArray {
  if (typeof a !== 'object' || a === null || !('data' in a) || !('shape' in a)) {
    throw new TypeError(`${fn}: '${name}' must be an NDArray { data: Float64Array, shape: number[] }`);
  }
  const { data, shape } = a as NDArray;
  if (!(data instanceof Float64Array)) {
    throw new TypeError(`${fn}: '${name}.data' must be a Float64Array (use Float64Array.from(...) to convert)`);
  }
  if (!Array.isArray(shape) || shape.some((s) => !Number.isSafeInteger(s) || s < 0)) {
    throw new TypeError(`${fn}: '${name}.shape' must be an array of non-negative integers`);
  }
  if (rank !== undefined && shape.length !== rank) {
    throw new RangeError(`${fn}: '${name}' must have ${rank} dimensions, got shape [${shape.join(', ')}]`);
  }
  const size = shape.reduce((x, y) => x * y, 1);
  if (size !== data.length) {
    throw new RangeError(`${fn}: '${name}' has shape [${shape.join(', ')}] (${size} values) but ${data.length} values`);
  }
}

/** Checks that two arrays agree on one axis each. */
export function checkSameSize(fn: string, a: [string, NDArray, number], b: [string, NDArray, number]): void {
  const [nameA, arrA, axisA] = a;
  const [nameB, arrB, axisB] = b;
  if (arrA.shape[axisA] !== arrB.shape[axisB]) {
    throw new RangeError(
      `${fn}: '${nameA}' axis ${axisA} (${arrA.shape[axisA]}) must equal '${nameB}' axis ${axisB} (${arrB.shape[axisB]})`,
    );
  }
}

/**
 * The option names of an options type, listed once for run-time checks: the
 * compiler rejects a list that misses a key of `T` or names one it lacks.
 *
 * ```ts
 * const NAMES = optionNames<FiniteSampleOptions>()(['tolEigv', 'tolOrth']);
 * ```
 */
export function optionNames<T>() {
  return <const K extends readonly (keyof T & string)[]>(
    names: K & ([Exclude<keyof T, K[number]>] extends [never] ? unknown : { missing: Exclude<keyof T, K[number]> }),
  ): K => names;
}

/**
 * Checks that `options` is an object (or undefined) whose keys are all in
 * `known`: a misspelt option is an error naming it, never silently ignored.
 */
export function checkOptionNames(fn: string, options: unknown, known: readonly string[], what = 'options'): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(
      `${fn}: '${what}' must be an object, got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new RangeError(`${fn}: unknown option '${key}' (known: ${known.join(', ')})`);
  }
}
