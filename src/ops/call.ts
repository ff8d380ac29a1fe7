import { ScorecrlError } from '../errors.js';
import type { AsyncOptions, Engine, OpInputs } from '../backend/engine.js';
import type { OpName, OpTypes } from './generated/op-types.js';

/** Inputs of operation `K`, as its spec in the core declares them (src/ops/generated/op-types.ts). */
export type OpIn<K extends OpName> = OpTypes[K]['inputs'];
/** Outputs of operation `K`; members the spec marks optional may be absent. */
export type OpOut<K extends OpName> = OpTypes[K]['outputs'];

/** Runs core operation `op` on the calling thread, typed by its spec. */
export function call<K extends OpName>(engine: Engine, op: K, inputs: OpIn<K>): OpOut<K> {
  return engine.call(op, inputs as OpInputs) as unknown as OpOut<K>;
}

/** Runs core operation `op` off the event loop, typed by its spec. */
export async function callAsync<K extends OpName>(engine: Engine, op: K, inputs: OpIn<K>, options?: AsyncOptions): Promise<OpOut<K>> {
  return (await engine.callAsync(op, inputs as OpInputs, options)) as unknown as OpOut<K>;
}

/**
 * One operation of the typed API in both forms: `run` on the calling thread and `runAsync` off the
 * event loop. Both take the same arguments, the last an options object; `runAsync` also reads the
 * AsyncOptions (onProgress, signal) from it — one options convention for every asynchronous call.
 */
export function operation<K extends OpName, A extends unknown[], O extends object, R>(
  op: K,
  prepare: (args: A, options: O) => OpIn<K>,
  shape: (out: OpOut<K>, args: A, options: O) => R,
) {
  return {
    run(engine: Engine, args: A, options?: O): R {
      // Only an absent object defaults: anything else reaches prepare, which names what is wrong.
      const own = (options === undefined ? {} : options) as O;
      return shape(call(engine, op, prepare(args, own)), args, own);
    },
    async runAsync(engine: Engine, args: A, options?: O & AsyncOptions): Promise<R> {
      const [own, async] = splitAsyncOptions<O>(options);
      const out = await callAsync(engine, op, prepare(args, own), async);
      return shape(out, args, own);
    },
  };
}

/** Separates the AsyncOptions (onProgress, signal) from an operation's own options. */
export function splitAsyncOptions<O extends object>(options: (O & AsyncOptions) | undefined | null): [O, AsyncOptions] {
  if (options === undefined) return [{} as O, {}];
  // Not an object: left to the operation's own check, which names the argument.
  if (options === null || typeof options !== 'object') return [options as unknown as O, {}];
  const { onProgress, signal, ...own } = options;
  const async: AsyncOptions = {};
  if (onProgress !== undefined) async.onProgress = onProgress;
  if (signal !== undefined) async.signal = signal;
  return [own as unknown as O, async];
}

/**
 * An output the spec marks optional, read where the call's inputs make it present (e.g. the hard
 * stage of a call with intervention 'hard'); its absence is a fault of the core, not of the caller.
 */
export function present<T>(value: T | undefined, op: string, name: string): T {
  if (value === undefined) throw new ScorecrlError(`${op}: the core returned no '${name}'`, op, 'internal');
  return value;
}

/** The named numbers, strings and arrays operation `K` takes. */
export type OpNumbers<K extends OpName> = OpIn<K> extends { numbers?: infer T } ? NonNullable<T> : never;
export type OpStrings<K extends OpName> = OpIn<K> extends { strings?: infer T } ? NonNullable<T> : never;
export type OpArrays<K extends OpName> = OpIn<K> extends { arrays?: infer T } ? NonNullable<T> : never;
