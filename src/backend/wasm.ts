import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { packageRoot } from './paths.js';
import {
  abortError,
  errorOf,
  ScorecrlError,
  type AsyncOptions,
  type Engine,
  type EngineInfo,
  type OpInputs,
  type OpOutputs,
} from './engine.js';
import { WasmCore, type WasmModule } from './wasm-core.js';

export type { WasmModule } from './wasm-core.js';

interface Pending {
  resolve: (value: OpOutputs) => void;
  reject: (error: Error) => void;
  onProgress?: AsyncOptions['onProgress'];
  op: string;
}

export class WasmEngine implements Engine {
  readonly name = 'wasm' as const;
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly core: WasmCore;

  constructor(module: WasmModule) {
    this.core = new WasmCore(module);
  }

  call(op: string, inputs: OpInputs): OpOutputs {
    return this.core.call(op, inputs);
  }

  release(values: unknown[]): number {
    return this.core.release(values);
  }

  releaseMemory(): number {
    return this.core.releaseMemory();
  }

  callAsync(op: string, inputs: OpInputs, options: AsyncOptions = {}): Promise<OpOutputs> {
    const { signal, onProgress } = options;
    if (signal?.aborted) return Promise.reject(abortError(op));
    const worker = this.ensureWorker();
    const id = this.nextId++;
    const cancel = new SharedArrayBuffer(4);
    const abort = () => Atomics.store(new Int32Array(cancel), 0, 1);
    signal?.addEventListener('abort', abort, { once: true });
    return new Promise<OpOutputs>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress, op });
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, op, inputs, cancel });
    }).finally(() => signal?.removeEventListener('abort', abort));
  }

  info(): EngineInfo {
    return this.core.info();
  }

  ops(): string[] {
    return this.core.ops();
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(join(packageRoot, 'wasm', 'node-worker.mjs'));
    worker.unref();
    worker.on('message', (message: { id: number; progress?: [number, string]; result?: OpOutputs; error?: string }) => {
      const entry = this.pending.get(message.id);
      if (!entry) return;
      if (message.progress) {
        entry.onProgress?.(...message.progress);
        return;
      }
      this.pending.delete(message.id);
      if (this.pending.size === 0) worker.unref();
      if (message.error !== undefined) {
        entry.reject(errorOf(entry.op, message.error));
      } else {
        this.core.adopt(message.result!);
        entry.resolve(message.result!);
      }
    });
    worker.on('error', (error) => {
      for (const entry of this.pending.values()) entry.reject(error);
      this.pending.clear();
      this.worker = undefined;
    });
    this.worker = worker;
    return worker;
  }
}

/** Loads the WASM core shipped in wasm/dist. */
export async function loadWasmEngine(): Promise<WasmEngine> {
  const dir = join(packageRoot, 'wasm', 'dist');
  try {
    const wasmBinary = await readFile(join(dir, 'scorecrl.wasm'));
    const { default: create } = (await import(new URL('../../wasm/dist/scorecrl.mjs', import.meta.url).href)) as {
      default: (options: object) => Promise<WasmModule>;
    };
    return new WasmEngine(await create({ wasmBinary }));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ScorecrlError(`the WebAssembly scorecrl core could not be loaded from ${dir}: ${reason}`);
  }
}
