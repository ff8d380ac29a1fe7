import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { packageRoot } from './paths.js';
import {
  abortError,
  checkAsyncOptions,
  errorOf,
  ScorecrlError,
  type AsyncOptions,
  type Engine,
  type EngineInfo,
  type OpInputs,
  type OpOutputs,
} from './engine.js';
import {
  CANCEL_GRACE_MS,
  checkOutputs,
  moduleFailure,
  moduleInstantiator,
  WasmCore,
  type WasmModule,
  type WasmModuleFactory,
} from './wasm-core.js';

export type { WasmModule } from './wasm-core.js';

interface Job {
  id: number;
  op: string;
  inputs: OpInputs;
  onProgress?: AsyncOptions['onProgress'];
  /** Int32Array(1) over shared memory the core polls: 1 = cancel. */
  cancel: SharedArrayBuffer;
  resolve: (value: OpOutputs) => void;
  reject: (error: Error) => void;
  /** The promise was resolved or rejected (the worker may still be busy with the call). */
  settled: boolean;
  timer?: ReturnType<typeof setTimeout>;
  cleanup: () => void;
}

type FromWorker = { id: number } & (
  | { progress: [number, string] }
  | { result: OpOutputs }
  | { error: string; code?: string }
  | { failure: { name: string; message: string; allocating?: number } }
);

/**
 * The WASM backend in Node. Synchronous calls run on the calling thread;
 * asynchronous ones go, one at a time in the order made, to a worker thread
 * running its own instance. Aborting a call (or an onProgress that throws)
 * rejects it at once and sets the flag the core polls; a worker that has not
 * stopped CANCEL_GRACE_MS later is terminated, and the next call starts a
 * fresh one. A call that traps the module gets a ScorecrlError naming the
 * operation and the trap; the broken instance is discarded (on either thread).
 */
export class WasmEngine implements Engine {
  readonly name = 'wasm' as const;
  private worker: Worker | undefined;
  private readonly queue: Job[] = [];
  private running: Job | undefined;
  private nextId = 1;
  private readonly core: WasmCore;
  /** Worker threads started so far (1 + one per worker replaced after an abort or a crash). */
  workerStarts = 0;

  /** `spawn` makes a fresh instance of the module (again after one traps). */
  constructor(spawn: () => WasmModule) {
    this.core = new WasmCore(spawn);
  }

  call(op: string, inputs: OpInputs): OpOutputs {
    return this.core.call(op, inputs);
  }

  release(values: unknown[]): number {
    return this.core.release(values);
  }

  /**
   * Frees what the calling thread's instance keeps for reuse, and stops an
   * idle worker thread: a WebAssembly memory never shrinks, so its heap (as
   * large as its largest call needed) returns to the system only with it.
   * Counts the bytes freed on the calling thread.
   */
  releaseMemory(): number {
    if (this.worker && !this.running && this.queue.length === 0) this.dropWorker();
    return this.core.releaseMemory();
  }

  callAsync(op: string, inputs: OpInputs, options?: AsyncOptions): Promise<OpOutputs> {
    let signal: AbortSignal | undefined;
    let onProgress: AsyncOptions['onProgress'];
    try {
      ({ signal, onProgress } = checkAsyncOptions(op, options));
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted) return Promise.reject(abortError(op));
    return new Promise<OpOutputs>((resolve, reject) => {
      const job: Job = {
        id: this.nextId++,
        op,
        inputs,
        onProgress,
        cancel: new SharedArrayBuffer(4),
        resolve,
        reject,
        settled: false,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      const onAbort = () => this.stop(job, abortError(op));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(job);
      this.pump();
    });
  }

  /** The instances of the module made on the calling thread so far (1 + one per trap). */
  get instances(): number {
    return this.core.instances;
  }

  info(): EngineInfo {
    return this.core.info();
  }

  ops(): string[] {
    return this.core.ops();
  }

  /**
   * Stops the worker thread. Calls still pending reject with a ScorecrlError;
   * later asynchronous calls start a new worker.
   */
  async close(): Promise<void> {
    for (const job of this.queue.splice(0)) this.settle(job, closedError(job.op));
    const running = this.running;
    if (running) {
      this.settle(running, closedError(running.op));
      this.finish(running);
    }
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  /** Starts the next queued call when the worker is free. */
  private pump(): void {
    while (!this.running && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running = job;
      try {
        // The worker's instance gets the limit set on this thread's (setMemoryLimit).
        this.ensureWorker().postMessage({
          id: job.id,
          op: job.op,
          inputs: job.inputs,
          cancel: job.cancel,
          memoryLimit: this.core.memoryLimit,
        });
      } catch (error) {
        // e.g. inputs that cannot be copied to another thread
        const reason = error instanceof Error ? error.message : String(error);
        this.settle(job, new TypeError(`${job.op}: the inputs could not be sent to the WASM worker (${reason})`));
        this.running = undefined;
      }
    }
    this.updateRef();
  }

  /** Resolves or rejects the caller's promise (once). */
  private settle(job: Job, error: Error | undefined, value?: OpOutputs): void {
    if (job.settled) return;
    job.settled = true;
    job.cleanup();
    if (error) job.reject(error);
    else job.resolve(value!);
  }

  /** The worker is done with the job: the next may start. */
  private finish(job: Job): void {
    if (job.timer !== undefined) clearTimeout(job.timer);
    if (this.running !== job) return;
    this.running = undefined;
    this.pump();
  }

  /** Rejects a call now (abort, or an onProgress that threw) and stops its work. */
  private stop(job: Job, error: Error): void {
    const queued = this.queue.indexOf(job);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.settle(job, error);
      this.updateRef();
      return;
    }
    if (job.settled) return;
    this.settle(job, error);
    if (this.running !== job) return;
    Atomics.store(new Int32Array(job.cancel), 0, 1);
    // The core polls the flag; a call that does not (or not soon) loses its worker.
    job.timer = setTimeout(() => {
      if (this.running !== job) return;
      this.dropWorker();
      this.finish(job);
    }, CANCEL_GRACE_MS);
    job.timer.unref?.();
    this.updateRef();
  }

  /** The process is kept alive while a caller waits for a promise, not for the rest of an aborted call. */
  private updateRef(): void {
    const waiting = this.queue.length > 0 || (this.running !== undefined && !this.running.settled);
    if (waiting) this.worker?.ref();
    else this.worker?.unref();
  }

  private dropWorker(): void {
    const worker = this.worker;
    this.worker = undefined;
    void worker?.terminate();
  }

  private onMessage(worker: Worker, message: FromWorker): void {
    const job = this.running;
    if (worker !== this.worker || !job || message.id !== job.id) return;
    if ('progress' in message) {
      if (job.settled || !job.onProgress) return;
      try {
        job.onProgress(...message.progress);
      } catch (error) {
        this.stop(job, error instanceof Error ? error : new Error(String(error)));
      }
      return;
    }
    if ('result' in message) {
      let error: Error | undefined;
      try {
        checkOutputs(job.op, message.result);
        this.core.adopt(message.result);
      } catch (e) {
        error = e as Error;
      }
      this.settle(job, error, message.result);
    } else if ('error' in message) {
      this.settle(job, errorOf(job.op, message.error, message.code));
    } else {
      const { name, message: text, allocating } = message.failure;
      const cause = new Error(text);
      cause.name = name;
      this.settle(job, moduleFailure(job.op, cause, allocating));
    }
    this.finish(job);
  }

  /** The worker died (crash, out of memory, terminated from outside): the call it ran fails, the queue goes on. */
  private onExit(worker: Worker, reason: string): void {
    if (worker !== this.worker) return;
    this.worker = undefined;
    const job = this.running;
    if (!job) return;
    this.settle(job, new ScorecrlError(`${job.op}: the WASM worker thread stopped (${reason}); the next call starts a new one`, job.op));
    this.finish(job);
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(join(packageRoot, 'wasm', 'node-worker.mjs'));
    this.workerStarts++;
    worker.unref();
    worker.on('message', (message: FromWorker) => this.onMessage(worker, message));
    worker.on('error', (error) => this.onExit(worker, error.message));
    worker.on('messageerror', (error) => {
      // A reply that could not be read: its call cannot finish, so the worker goes.
      if (worker === this.worker) void worker.terminate();
      this.onExit(worker, `a reply could not be read: ${error.message}`);
    });
    worker.on('exit', (code) => this.onExit(worker, `exit code ${code}`));
    this.worker = worker;
    return worker;
  }
}

function closedError(op: string): Error {
  return new ScorecrlError(`${op}: the WASM backend was closed before the call finished`, op);
}

/** Loads the WASM core shipped in wasm/dist. */
export async function loadWasmEngine(): Promise<WasmEngine> {
  const dir = join(packageRoot, 'wasm', 'dist');
  try {
    const wasmBinary = await readFile(join(dir, 'scorecrl.wasm'));
    const { default: create } = (await import(new URL('../../wasm/dist/scorecrl.mjs', import.meta.url).href)) as {
      default: WasmModuleFactory;
    };
    return new WasmEngine(await moduleInstantiator(create, wasmBinary));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ScorecrlError(`the WebAssembly scorecrl core could not be loaded from ${dir}: ${reason}`);
  }
}
