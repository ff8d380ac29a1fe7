/**
 * scorecrl in the browser: the WebAssembly core in a dedicated Web Worker,
 * behind an asynchronous twin of `Backend`. This entry point (the `browser`
 * condition of the package's exports, also `scorecrl/browser`) loads no Node
 * built-ins and no native code.
 *
 * ```ts
 * import { loadBackend } from 'scorecrl';        // bundlers pick the browser build
 * const crl = await loadBackend();              // or loadBackend({ wasmUrl: '/assets/scorecrl.wasm' })
 * const sim = await crl.simulate({ n: 5, d: 20, samples: 5000, seed: 1 });
 * const controller = new AbortController();
 * const fit = await crl.with({ onProgress: (f, msg) => console.log(f, msg), signal: controller.signal })
 *   .umni({ x: sim.x!, dsx: sim.dsx! });
 * await crl.close();
 * ```
 *
 * Every synchronous method of `Backend` is available with the same arguments
 * and a promise of the same result; the worker runs calls one at a time in
 * the order they were made.
 */
import type { Backend } from '../backend.js';
import {
  abortError,
  checkAsyncOptions,
  ScorecrlError,
  type AsyncOptions,
  type EngineInfo,
  type OpInputs,
  type OpOutputs,
} from '../backend/engine.js';
import { collectBuffers } from '../backend/recycler.js';
import type { ErrorCode } from '../errors.js';
import type { FromWorker, ToWorker, WireError } from './protocol.js';

export { AbortError, ScorecrlError } from '../errors.js';
export { ndarray, at, toRows, fromRows, sliceFirst } from '../types.js';
export { gscalePairs } from '../ops/gscale.js';
// Every public type (the same list the Node entry exports).
export type * from '../public-types.js';

type Fn = (...args: never[]) => unknown;
type MethodNames<T> = { [K in keyof T]: T[K] extends Fn ? K : never }[keyof T] & string;

/** Names of the members BrowserBackend defines itself. */
type OwnMembers =
  | 'name'
  | 'info'
  | 'ops'
  | 'methods'
  | 'has'
  | 'scoreEstimators'
  | 'run'
  | 'timed'
  | 'call'
  | 'with'
  | 'workerStarts'
  | 'release'
  | 'close'
  | 'engine';

/** The `Backend` methods a browser backend forwards to its worker. */
export type BackendMethod = Exclude<MethodNames<Backend>, OwnMembers | `${string}Async`>;

/** Arguments and resolved result of a `Backend` method. */
export type MethodArgs<M extends BackendMethod> = Backend[M] extends (...args: infer A) => unknown ? A : never;
export type MethodResult<M extends BackendMethod> = Backend[M] extends (...args: never[]) => infer R ? Awaited<R> : never;

/** `Backend`'s methods, each returning a promise. */
export type AsyncBackendMethods = { [M in BackendMethod]: (...args: MethodArgs<M>) => Promise<MethodResult<M>> };

export interface BrowserLoadOptions {
  /**
   * URL of scorecrl.wasm, for apps that host it themselves (relative URLs
   * resolve against the page). Default: the file shipped in the package
   * (wasm/dist/scorecrl.wasm), found next to the worker module; bundlers such
   * as Vite emit it as an asset.
   */
  wasmUrl?: string | URL;
  /**
   * Starts the worker (default: a module worker from this package's
   * worker.js). For pages that must load workers from a URL of their own.
   */
  createWorker?: () => Worker;
}

/** Options of one call: progress, cancellation, and buffers to hand over instead of copying. */
export interface CallOptions extends AsyncOptions {
  /**
   * ArrayBuffers of the arguments (e.g. `x.data.buffer`) to transfer to the worker rather than
   * copy: faster for large arrays, but they are unusable on the page once the call is sent.
   */
  transfer?: ArrayBuffer[];
}

/** What a finished call reports besides its value. */
export interface Timed<T> {
  value: T;
  /** Time spent in the worker running the call (ms). */
  workerMs: number;
  /** Time from the call to the result on the page, including queueing and transfer (ms). */
  ms: number;
}

interface Job {
  id: number;
  message: Extract<ToWorker, { type: 'run' | 'call' }>;
  label: string;
  options: CallOptions;
  start: number;
  resolve: (value: Timed<unknown>) => void;
  reject: (error: Error) => void;
  /** The promise was resolved or rejected (the worker may still be busy with it). */
  settled: boolean;
  flag?: Int32Array;
  timer?: ReturnType<typeof setTimeout>;
  cleanup: () => void;
}

/** After a cooperative cancel, how long the core may take to notice before its worker is replaced (ms). */
const CANCEL_GRACE_MS = 500;

/** The options of one call, checked before it is queued (a bad callback would otherwise fail later, uncaught). */
function checkOptions(label: string, options: CallOptions): void {
  checkAsyncOptions(label, options);
  const { transfer } = options;
  if (transfer !== undefined && !(Array.isArray(transfer) && transfer.every((b) => b instanceof ArrayBuffer))) {
    throw new TypeError(`${label}: option 'transfer' must be an array of ArrayBuffers (e.g. [x.data.buffer])`);
  }
}

interface Ready {
  info: EngineInfo;
  ops: string[];
  methods: string[];
  estimators: string[];
}

function fromWire(error: WireError): Error {
  if (error.name === 'AbortError') return abortError(error.op ?? 'call');
  if (error.name === 'ScorecrlError')
    return new ScorecrlError(error.message, error.op, (error.code as ErrorCode | undefined) ?? 'internal');
  const Kind = error.name === 'TypeError' ? TypeError : error.name === 'RangeError' ? RangeError : Error;
  const out = new Kind(error.message);
  if (Kind === Error && error.name !== 'Error') out.name = error.name;
  return out;
}

/** Whether shared memory is available: cross-origin isolated pages cancel calls cooperatively. */
function sharedMemory(): boolean {
  return typeof SharedArrayBuffer === 'function' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

/**
 * One worker and its queue. Calls go to the worker one at a time. Aborting a
 * call rejects its promise at once. If it is running, a cross-origin isolated
 * page sets a shared flag the core polls, and the worker carries on with the
 * next call (it is replaced if the core has not stopped after
 * CANCEL_GRACE_MS); elsewhere the worker is terminated and a fresh one starts.
 */
class Connection {
  private worker: Worker | undefined;
  private ready: Promise<Ready> | undefined;
  private readonly queue: Job[] = [];
  private running: Job | undefined;
  private nextId = 1;
  private closed = false;
  /** How many workers were started (1 + restarts after cancellation or a crash). */
  starts = 0;
  /** Buffers of the results the worker sent, which release() may give back to it. */
  private readonly fromWorker = new WeakSet<ArrayBuffer>();

  constructor(
    private readonly wasmUrl: string | undefined,
    private readonly createWorker: () => Worker,
  ) {}

  start(): Promise<Ready> {
    if (this.ready) return this.ready;
    const worker = this.createWorker();
    this.worker = worker;
    this.starts++;
    this.ready = new Promise<Ready>((resolve, reject) => {
      worker.addEventListener('message', (event: MessageEvent<FromWorker>) => {
        const message = event.data;
        if (message.type === 'ready') {
          resolve({ info: message.info, ops: message.ops, methods: message.methods, estimators: message.estimators });
        } else if (message.type === 'init-error') {
          reject(fromWire(message.error));
        } else {
          this.onMessage(worker, message);
        }
      });
      worker.addEventListener('error', (event: ErrorEvent) => {
        const error = new ScorecrlError(`the scorecrl worker failed: ${event.message || 'could not start it (is worker.js served?)'}`);
        reject(error);
        this.onCrash(worker, error);
      });
    });
    this.ready.catch(() => undefined);
    worker.postMessage({ type: 'init', wasmUrl: this.wasmUrl } satisfies ToWorker);
    return this.ready;
  }

  submit(message: Job['message'], label: string, options: CallOptions): Promise<Timed<unknown>> {
    if (this.closed) return Promise.reject(new ScorecrlError('this scorecrl backend was closed'));
    try {
      checkOptions(label, options);
    } catch (error) {
      return Promise.reject(error);
    }
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortError(label));
    return new Promise<Timed<unknown>>((resolve, reject) => {
      const job: Job = {
        id: message.id,
        message,
        label,
        options,
        start: performance.now(),
        resolve,
        reject,
        settled: false,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      const onAbort = () => this.abort(job, abortError(label));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(job);
      this.pump();
    });
  }

  id(): number {
    return this.nextId++;
  }

  /**
   * Transfers the worker's result buffers found in `values` back to it (leaving them detached
   * here), where the next results are written into them; returns their bytes.
   */
  giveBack(values: unknown[]): number {
    const buffers = [...collectBuffers(values)].filter((b) => this.fromWorker.has(b) && b.byteLength > 0);
    if (buffers.length === 0) return 0;
    const bytes = buffers.reduce((sum, b) => sum + b.byteLength, 0);
    for (const buffer of buffers) this.fromWorker.delete(buffer);
    if (this.worker) this.worker.postMessage({ type: 'release', buffers } satisfies ToWorker, buffers);
    else for (const buffer of buffers) structuredClone(buffer, { transfer: [buffer] }); // detach all the same
    return bytes;
  }

  private pump(): void {
    if (this.running || this.queue.length === 0 || this.closed) return;
    const job = this.queue.shift()!;
    this.running = job;
    const post = () => {
      if (this.running !== job || !this.worker) return;
      if (sharedMemory()) {
        const cancel = new SharedArrayBuffer(4);
        job.flag = new Int32Array(cancel);
        job.message.cancel = cancel;
      }
      try {
        this.worker.postMessage(job.message, job.options.transfer ?? []);
      } catch (error) {
        // e.g. a function among the arguments (DataCloneError): the call fails, the queue goes on.
        const reason = error instanceof Error ? error.message : String(error);
        this.settle(job, new TypeError(`${job.label}: the arguments could not be sent to the worker (${reason})`));
        this.release(job);
      }
    };
    this.start().then(post, (error: Error) => {
      this.settle(job, error);
      this.release(job);
    });
  }

  /** Resolves or rejects the caller's promise (once). */
  private settle(job: Job, error: Error | undefined, value?: Timed<unknown>): void {
    if (job.settled) return;
    job.settled = true;
    job.cleanup();
    if (error) job.reject(error);
    else job.resolve(value!);
  }

  /** The worker is done with the job: the next one may start. */
  private release(job: Job): void {
    if (job.timer !== undefined) clearTimeout(job.timer);
    if (this.running !== job) return;
    this.running = undefined;
    this.pump();
  }

  private onMessage(worker: Worker, message: FromWorker): void {
    const job = this.running;
    if (worker !== this.worker || !job || !('id' in message) || message.id !== job.id) return;
    if (message.type === 'progress') {
      if (job.settled || !job.options.onProgress) return;
      try {
        job.options.onProgress(message.fraction, message.message);
      } catch (error) {
        // The call rejects with what onProgress threw and its work stops, as on abort.
        this.abort(job, error instanceof Error ? error : new Error(String(error)));
      }
    } else if (message.type === 'result') {
      for (const buffer of collectBuffers([message.value])) this.fromWorker.add(buffer);
      this.settle(job, undefined, { value: message.value, workerMs: message.ms, ms: performance.now() - job.start });
      this.release(job);
    } else if (message.type === 'error') {
      // A trap in the core (e.g. out of memory) leaves the module unusable: start afresh.
      if (message.error.name === 'RuntimeError') this.restart();
      this.settle(job, fromWire(message.error));
      this.release(job);
    }
  }

  private onCrash(worker: Worker, error: Error): void {
    if (worker !== this.worker) return;
    this.restart();
    const job = this.running;
    if (job) {
      this.settle(job, error);
      this.release(job);
    }
  }

  /** Rejects a call now with `error` (abort, or an onProgress that threw) and stops its work. */
  private abort(job: Job, error: Error): void {
    const queued = this.queue.indexOf(job);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.settle(job, error);
      return;
    }
    if (this.running !== job || job.settled) return;
    this.settle(job, error);
    if (job.flag) {
      // The core notices the flag and the worker answers; if it does not soon, replace the worker.
      Atomics.store(job.flag, 0, 1);
      job.timer = setTimeout(() => {
        if (this.running !== job) return;
        this.restart();
        this.release(job);
      }, CANCEL_GRACE_MS);
      return;
    }
    this.restart();
    this.release(job);
  }

  /** Drops the current worker; the next call starts a new one. */
  private restart(): void {
    this.worker?.terminate();
    this.worker = undefined;
    this.ready = undefined;
  }

  close(): void {
    this.closed = true;
    const error = new ScorecrlError('this scorecrl backend was closed');
    for (const job of this.queue.splice(0)) this.settle(job, error);
    const running = this.running;
    if (running) {
      this.settle(running, error);
      this.release(running);
    }
    this.restart();
  }
}

/**
 * The WebAssembly backend in a Web Worker. Every synchronous `Backend` method
 * (`simulate`, `umni`, `covariance`, ...) is a method here returning a
 * promise; `with({ onProgress, signal })` gives a view whose calls report
 * progress and can be cancelled. Get one from `loadBackend()`.
 */
export interface BrowserBackend extends AsyncBackendMethods {}
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the async methods are installed on the prototype from one list below
export class BrowserBackend {
  readonly name = 'wasm' as const;

  /** @internal use loadBackend() */
  constructor(
    private readonly connection: Connection,
    private readonly ready: Ready,
    private readonly defaults: AsyncOptions = {},
  ) {
    for (const method of ready.methods) {
      if (method in this) continue;
      Object.defineProperty(this, method, {
        value: (...args: unknown[]) => this.run(method as BackendMethod, args as never),
        enumerable: false,
      });
    }
  }

  /** Version, SIMD level and threads of the WebAssembly core. */
  info(): EngineInfo {
    return { ...this.ready.info };
  }

  /** The core's operation table (names usable with `call`). */
  ops(): string[] {
    return [...this.ready.ops];
  }

  /** The `Backend` methods this build provides. */
  methods(): BackendMethod[] {
    return [...this.ready.methods] as BackendMethod[];
  }

  /** Whether this build provides a `Backend` method (for pages that adapt to what the core offers). */
  has(method: string): method is BackendMethod {
    return this.ready.methods.includes(method);
  }

  /** The `method` names `estimateScoreDifferences` accepts in this build ('gaussian', ...). */
  scoreEstimators(): string[] {
    return [...this.ready.estimators];
  }

  /** Calls `Backend[method](...args)` in the worker. */
  run<M extends BackendMethod>(method: M, args: MethodArgs<M>, options?: CallOptions): Promise<MethodResult<M>> {
    return this.timed(method, args, options).then((t) => t.value);
  }

  /** `run`, with the time spent in the worker and in all. */
  timed<M extends BackendMethod>(method: M, args: MethodArgs<M>, options?: CallOptions): Promise<Timed<MethodResult<M>>> {
    const id = this.connection.id();
    return this.connection.submit({ type: 'run', id, method, args: [...(args as unknown[])] }, method, {
      ...this.defaults,
      ...options,
    }) as Promise<Timed<MethodResult<M>>>;
  }

  /** Runs a raw core operation (see `ops()`), as `Engine.callAsync` does. */
  call(op: string, inputs: OpInputs, options?: CallOptions): Promise<OpOutputs> {
    const id = this.connection.id();
    return this.connection.submit({ type: 'call', id, op, inputs }, op, { ...this.defaults, ...options }).then((t) => t.value as OpOutputs);
  }

  /** A view of this backend (same worker) whose calls use these progress / cancellation options. */
  with(options: AsyncOptions): BrowserBackend {
    checkAsyncOptions('with', options);
    return new BrowserBackend(this.connection, this.ready, { ...this.defaults, ...options });
  }

  /** Workers started so far (1, plus one per cancellation that had to stop a worker). */
  get workerStarts(): number {
    return this.connection.starts;
  }

  /**
   * Hands results you are done with back to the worker (their arrays are detached here: length
   * 0), so that the next large results are written into that memory instead of fresh pages;
   * returns the bytes handed back. As `Backend.release`, but synchronous.
   */
  release(...values: unknown[]): number {
    return this.connection.giveBack(values);
  }

  /** Stops the worker; pending calls reject. */
  async close(): Promise<void> {
    this.connection.close();
  }
}

function defaultWorker(): Worker {
  return new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'scorecrl' });
}

/**
 * Starts a worker running the WebAssembly core and resolves once it is ready.
 * Each call starts its own worker (calls on one backend run one at a time;
 * several backends run in parallel); `close()` stops it.
 */
export async function loadBackend(options: BrowserLoadOptions = {}): Promise<BrowserBackend> {
  const base = typeof location === 'object' ? location.href : undefined;
  const wasmUrl = options.wasmUrl === undefined ? undefined : new URL(String(options.wasmUrl), base).href;
  const connection = new Connection(wasmUrl, options.createWorker ?? defaultWorker);
  try {
    return new BrowserBackend(connection, await connection.start());
  } catch (error) {
    connection.close();
    throw error;
  }
}

/** Name, version and SIMD level of the WebAssembly core (starts and stops a worker). */
export async function backendInfo(options: BrowserLoadOptions = {}): Promise<EngineInfo> {
  const crl = await loadBackend(options);
  try {
    return crl.info();
  } finally {
    await crl.close();
  }
}
