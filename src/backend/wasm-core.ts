// One instance of the WASM module as the engines use it: errors become
// exceptions, results are copied into recycled arrays. Shared by the Node
// engine (src/backend/wasm.ts) and the browser worker (src/browser/worker.ts),
// so it imports nothing from Node.
import { errorOf, ScorecrlError, type EngineInfo, type OpInputs, type OpOutputs } from './engine.js';
import { ResultRecycler } from './recycler.js';

/** The Embind module produced by wasm/src/binding.cpp. */
export interface WasmModule {
  call(
    op: string,
    arrays: object,
    numbers: object,
    strings: object,
    onProgress?: (fraction: number, message: string) => void,
    isCancelled?: () => boolean,
    allocate?: (length: number) => Float64Array,
  ): OpOutputs | { error: string; code?: string };
  info(): Omit<EngineInfo, 'name'>;
  ops(): string[];
}

/** The Emscripten factory of wasm/dist/scorecrl.mjs (MODULARIZE). */
export type WasmModuleFactory = (options: object) => Promise<WasmModule>;

/**
 * After an abort, how long the core may take to notice the cancel flag before
 * the worker running it is terminated and replaced (ms). Operations that do
 * not poll the flag (or poll it rarely) are stopped this way.
 */
export const CANCEL_GRACE_MS = 300;

/**
 * Compiles the module once and returns a function that instantiates it
 * synchronously (a fresh memory each time), so an instance left broken by a
 * trap can be replaced inside the call that hit it. Synchronous instantiation
 * of a large module is allowed in Node and in workers, not on a page's thread.
 */
export async function moduleInstantiator(factory: WasmModuleFactory, wasmBinary: ArrayBuffer | ArrayBufferView): Promise<() => WasmModule> {
  const compiled = await WebAssembly.compile(wasmBinary as BufferSource);
  return () => {
    // Emscripten's MODULARIZE output fills in the options object itself; with
    // a synchronous instantiateWasm hook it is ready when the factory returns.
    const module: Record<string, unknown> = {
      instantiateWasm(imports: WebAssembly.Imports, receive: (instance: WebAssembly.Instance) => void) {
        const instance = new WebAssembly.Instance(compiled, imports);
        receive(instance);
        return instance.exports;
      },
    };
    void factory(module).catch(() => undefined);
    if (typeof module.call !== 'function') throw new ScorecrlError('the WebAssembly scorecrl core could not be instantiated');
    return module as unknown as WasmModule;
  };
}

/** Progress and cancellation callbacks the core polls during one call. */
export interface CallHooks {
  onProgress?: (fraction: number, message: string) => void;
  isCancelled?: () => boolean;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/**
 * Throws unless every array of `outputs` holds exactly the values its shape
 * says (a size that overflowed 32 bits in the core would otherwise come back
 * as a large shape over few values).
 */
export function checkOutputs(op: string, outputs: OpOutputs): OpOutputs {
  for (const [name, array] of Object.entries(outputs.arrays)) {
    const shape = array.shape as unknown;
    const valid = Array.isArray(shape) && shape.every((s) => Number.isSafeInteger(s) && s >= 0);
    const count = valid ? (shape as number[]).reduce((a, b) => a * b, 1) : NaN;
    const length = array.data instanceof Float64Array ? array.data.length : NaN;
    if (!(count === length)) {
      throw new ScorecrlError(
        `${op}: the WebAssembly core returned '${name}' with shape [${String(shape)}] but ${plural(length, 'value')}; ` +
          `its size does not fit the 32-bit WebAssembly core: use smaller sizes or the native backend`,
        op,
      );
    }
  }
  return outputs;
}

/**
 * What the engines throw when the module itself failed (a trap such as
 * "memory access out of bounds" or "unreachable", or an array the results
 * could not be copied into) rather than reporting an error.
 */
export function moduleFailure(op: string, error: unknown, allocating?: number): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (allocating !== undefined) {
    return new ScorecrlError(
      `${op}: out of memory copying a result of ${allocating} values (${(allocating * 8) / 2 ** 20} MiB) out of the WebAssembly core (${message}); use smaller sizes or the native backend`,
      op,
      'out-of-memory',
    );
  }
  const kind = error instanceof Error && error.name === 'RuntimeError' ? 'trapped' : 'failed';
  return new ScorecrlError(
    `${op}: the WebAssembly core ${kind} (${message}); its instance was discarded and the next call uses a fresh one`,
    op,
    'internal',
    { cause: error },
  );
}

export class WasmCore {
  private readonly recycler = new ResultRecycler();
  private module: WasmModule | undefined;
  /** Instances made so far (1 + one per failure that discarded one). */
  instances = 0;
  /** The limit last set with 'setMemoryLimit' (bytes, 0: the default); every new instance gets it too. */
  memoryLimit = 0;

  /** `spawn` makes a fresh instance; it is called again after an instance fails. */
  constructor(private readonly spawn: () => WasmModule) {
    this.instance();
  }

  private instance(op?: string): WasmModule {
    if (!this.module) {
      try {
        this.module = this.spawn();
      } catch (error) {
        // e.g. no memory left for a new instance's heap
        const reason = error instanceof Error ? error.message : String(error);
        throw new ScorecrlError(`${op ? `${op}: ` : ''}the WebAssembly core could not be instantiated (${reason})`, op);
      }
      this.instances++;
      if (this.memoryLimit > 0) this.module.call('setMemoryLimit', {}, { bytes: this.memoryLimit }, {}, undefined, undefined, undefined);
    }
    return this.module;
  }

  call(op: string, inputs: OpInputs, hooks: CallHooks = {}): OpOutputs {
    const { arrays = {}, numbers = {}, strings = {} } = inputs;
    const module = this.instance(op);
    // A throw out of module.call unwinds the core's frames without its
    // cleanup; only a hook's own error or a failed allocation is told apart.
    let hookError: { error: unknown } | undefined;
    let allocating: number | undefined;
    const watch = <A extends unknown[], R>(fn: ((...args: A) => R) | undefined) =>
      fn &&
      ((...args: A): R => {
        try {
          return fn(...args);
        } catch (error) {
          hookError = { error };
          throw error;
        }
      });
    const onProgress = watch(hooks.onProgress);
    const isCancelled = watch(hooks.isCancelled);
    const allocate = (length: number): Float64Array => {
      allocating = length;
      const array = this.recycler.allocate(length);
      allocating = undefined;
      return array;
    };
    let result: OpOutputs | { error: string; code?: string };
    try {
      result = module.call(op, arrays, numbers, strings, onProgress, isCancelled, allocate);
    } catch (error) {
      // Whatever threw, the instance may be left inconsistent: drop it (its memory goes with it).
      this.module = undefined;
      if (hookError) throw hookError.error;
      throw moduleFailure(op, error, allocating);
    }
    if ('error' in result) throw errorOf(op, result.error, result.code);
    if (op === 'setMemoryLimit') this.memoryLimit = result.numbers.bytes === result.numbers.defaultBytes ? 0 : result.numbers.bytes!;
    try {
      return checkOutputs(op, result);
    } catch (error) {
      // A size that overflowed may have written where it should not have.
      this.module = undefined;
      throw error;
    }
  }

  /** Makes the arrays of results computed elsewhere (a worker's, transferred here) releasable. */
  adopt(outputs: OpOutputs): void {
    this.recycler.adopt(Object.values(outputs.arrays).map((a) => a.data));
  }

  release(values: unknown[]): number {
    return this.recycler.release(values);
  }

  /** Keeps result buffers released elsewhere and transferred here, for the next results. */
  keepReleased(buffers: ArrayBuffer[]): void {
    this.recycler.keepReleased(buffers);
  }

  releaseMemory(): number {
    const kept = this.recycler.clear();
    // A discarded instance's memory is already gone.
    return kept + (this.module ? this.call('releaseBuffers', {}).numbers.bytes! : 0);
  }

  info(): EngineInfo {
    return { name: 'wasm', ...this.instance().info() };
  }

  ops(): string[] {
    return this.instance().ops();
  }
}
