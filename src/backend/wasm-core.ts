// One instance of the WASM module as the engines use it: errors become
// exceptions, results are copied into recycled arrays. Shared by the Node
// engine (src/backend/wasm.ts) and the browser worker (src/browser/worker.ts),
// so it imports nothing from Node.
import { errorOf, type EngineInfo, type OpInputs, type OpOutputs } from './engine.js';
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
  ): OpOutputs | { error: string };
  info(): Omit<EngineInfo, 'name'>;
  ops(): string[];
}

/** Progress and cancellation callbacks the core polls during one call. */
export interface CallHooks {
  onProgress?: (fraction: number, message: string) => void;
  isCancelled?: () => boolean;
}

export class WasmCore {
  private readonly recycler = new ResultRecycler();

  constructor(private readonly module: WasmModule) {}

  call(op: string, inputs: OpInputs, hooks: CallHooks = {}): OpOutputs {
    const { arrays = {}, numbers = {}, strings = {} } = inputs;
    const result = this.module.call(op, arrays, numbers, strings, hooks.onProgress, hooks.isCancelled, this.recycler.allocate);
    if ('error' in result) throw errorOf(op, result.error);
    return result;
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
    return this.recycler.clear() + this.call('releaseBuffers', {}).numbers.bytes!;
  }

  info(): EngineInfo {
    return { name: 'wasm', ...this.module.info() };
  }

  ops(): string[] {
    return this.module.ops();
  }
}
