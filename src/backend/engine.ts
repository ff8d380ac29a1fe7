import { AbortError, errorOf, ScorecrlError } from '../errors.js';
import type { NDArray } from '../types.js';

/** Named inputs of a core operation. */
export interface OpInputs {
  arrays?: Record<string, NDArray>;
  numbers?: Record<string, number | boolean>;
  strings?: Record<string, string>;
}

/** Named outputs of a core operation. */
export interface OpOutputs {
  arrays: Record<string, NDArray>;
  numbers: Record<string, number>;
  strings: Record<string, string>;
}

export interface AsyncOptions {
  /**
   * Called with the fraction done (0..1) and a short message. If it throws,
   * the call is cancelled and rejects with the error it threw.
   */
  onProgress?: (fraction: number, message: string) => void;
  /** Aborting rejects the call with an AbortError once the core notices. */
  signal?: AbortSignal;
}

export type BackendName = 'native' | 'wasm';

export interface EngineInfo {
  name: BackendName;
  version: string;
  /** Instruction set the dense kernels use: 'avx2+fma', 'sse2', 'wasm-simd128', ... */
  simd: string;
  /** Whether Eigen was built on OpenBLAS. */
  blas: boolean;
  /** Threads one call may use. */
  threads: number;
  eigen: string;
}

/**
 * What every backend implements: the core's operation table. The typed API
 * (`Backend`) is written once on top of this interface.
 */
export interface Engine {
  readonly name: BackendName;
  /** Runs an operation on the calling thread. */
  call(op: string, inputs: OpInputs): OpOutputs;
  /** Runs an operation off the event loop (a native thread, or a worker for WASM). */
  callAsync(op: string, inputs: OpInputs, options?: AsyncOptions): Promise<OpOutputs>;
  info(): EngineInfo;
  ops(): string[];
  /**
   * Detaches the result arrays found in `values` (results or parts of them)
   * and takes their memory back for the next large result; returns the bytes
   * taken back. Arrays this engine did not make are left alone.
   */
  release(values: unknown[]): number;
  /** Frees the memory kept for reuse (from released results); returns the bytes freed. */
  releaseMemory(): number;
  /** Releases worker threads, if any; calls still pending on them reject with a ScorecrlError. */
  close(): Promise<void>;
}

export { errorOf, ScorecrlError };

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value).slice(0, 40)}`;
}

/**
 * Checks the options of an asynchronous call before it starts, so that a bad
 * callback is a TypeError naming the option rather than a failure later on
 * another stack (where nothing could catch it).
 */
export function checkAsyncOptions(op: string, options: unknown): AsyncOptions {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object')
    throw new TypeError(`${op}: options must be an object ({ onProgress, signal }), got ${describe(options)}`);
  const { onProgress, signal } = options as Record<string, unknown>;
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new TypeError(`${op}: option 'onProgress' must be a function (fraction, message) => void, got ${describe(onProgress)}`);
  }
  if (
    signal !== undefined &&
    (signal === null ||
      typeof signal !== 'object' ||
      typeof (signal as AbortSignal).aborted !== 'boolean' ||
      typeof (signal as AbortSignal).addEventListener !== 'function')
  ) {
    throw new TypeError(`${op}: option 'signal' must be an AbortSignal (new AbortController().signal), got ${describe(signal)}`);
  }
  return options as AsyncOptions;
}

export function abortError(op: string): Error {
  return new AbortError(op);
}
