// The dedicated module worker behind src/browser/index.ts: loads the
// WebAssembly core, builds the typed `Backend` over it and runs the methods
// the page asks for, one at a time, so the page's thread never blocks.
// Protocol: src/browser/protocol.ts.
import createScorecrlModule, { type ScorecrlModule } from '../../wasm/dist/scorecrl.mjs';
import { Backend } from '../backend.js';
import { scoreEstimators } from '../ops/estimators.js';
import {
  abortError,
  ScorecrlError,
  type AsyncOptions,
  type Engine,
  type EngineInfo,
  type OpInputs,
  type OpOutputs,
} from '../backend/engine.js';
import { moduleInstantiator, WasmCore, type CallHooks } from '../backend/wasm-core.js';
import type { FromWorker, ToWorker, WireError } from './protocol.js';

/**
 * The WASM core as an `Engine` inside the worker. Calls run synchronously on
 * the worker's thread; the progress and cancellation hooks of the job being
 * run apply to every core call it makes.
 */
export class WorkerEngine implements Engine {
  readonly name = 'wasm' as const;
  hooks: CallHooks = {};
  private readonly core: WasmCore;

  /** `spawn` makes a fresh instance of the module (again after one traps). */
  constructor(spawn: () => ScorecrlModule) {
    this.core = new WasmCore(spawn);
  }

  call(op: string, inputs: OpInputs): OpOutputs {
    if (this.hooks.isCancelled?.()) throw abortError(op);
    return this.core.call(op, inputs, this.hooks);
  }

  release(values: unknown[]): number {
    return this.core.release(values);
  }

  /** Result buffers the page released and transferred back. */
  keepReleased(buffers: ArrayBuffer[]): void {
    this.core.keepReleased(buffers);
  }

  releaseMemory(): number {
    return this.core.releaseMemory();
  }

  async callAsync(op: string, inputs: OpInputs, options: AsyncOptions = {}): Promise<OpOutputs> {
    const { signal, onProgress } = options;
    if (signal?.aborted) throw abortError(op);
    const outer = this.hooks;
    this.hooks = {
      onProgress: (fraction, message) => {
        outer.onProgress?.(fraction, message);
        onProgress?.(fraction, message);
      },
      isCancelled: () => signal?.aborted === true || outer.isCancelled?.() === true,
    };
    try {
      return this.call(op, inputs);
    } finally {
      this.hooks = outer;
    }
  }

  info(): EngineInfo {
    return this.core.info();
  }

  ops(): string[] {
    return this.core.ops();
  }

  async close(): Promise<void> {}
}

/** The methods of `Backend` the page may call: synchronous ones (their *Async twins add nothing here). */
export function backendMethods(): string[] {
  const proto = Backend.prototype as unknown as Record<string, unknown>;
  return Object.getOwnPropertyNames(proto).filter(
    (name) =>
      name !== 'constructor' &&
      name !== 'close' &&
      name !== 'info' &&
      !name.endsWith('Async') &&
      typeof Object.getOwnPropertyDescriptor(proto, name)?.value === 'function',
  );
}

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<ToWorker>) => void): void;
}
const scope = globalThis as unknown as WorkerScope;

function wireError(error: unknown): WireError {
  if (error instanceof Error) {
    const wire: WireError = { name: error.name, message: error.message };
    if (error instanceof ScorecrlError) {
      if (error.op !== undefined) wire.op = error.op;
      wire.code = error.code;
    }
    return wire;
  }
  return { name: 'Error', message: String(error) };
}

/**
 * A result as data the page can receive: plain objects, arrays, typed arrays and primitives.
 * Class instances become plain objects of their own fields; functions, promises and references
 * to the engine (e.g. the `fitted` model of a learned estimator keeps one) are left out, since
 * they only work in the worker.
 */
export function cloneable(value: unknown, engine: Engine, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? undefined : value;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date || value instanceof RegExp) return value;
  if (value === engine || value instanceof Promise || value instanceof Backend || depth > 32) return undefined;
  if (Array.isArray(value)) return value.map((item) => cloneable(item, engine, depth + 1));
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, cloneable(v, engine, depth + 1)]));
  if (value instanceof Set) return new Set([...value].map((v) => cloneable(v, engine, depth + 1)));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const copy = cloneable(item, engine, depth + 1);
    if (copy !== undefined || item === undefined) out[key] = copy;
  }
  return out;
}

/** The ArrayBuffers behind the typed arrays of a result, each once, to transfer instead of copying. */
function buffersOf(value: unknown, found = new Set<ArrayBuffer>(), depth = 0): Set<ArrayBuffer> {
  if (depth > 8 || value === null || typeof value !== 'object') return found;
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer) found.add(value.buffer);
    return found;
  }
  for (const item of Array.isArray(value) ? value : Object.values(value)) buffersOf(item, found, depth + 1);
  return found;
}

function send(message: FromWorker, transfer: Transferable[] = []): void {
  try {
    scope.postMessage(message, transfer);
  } catch {
    // A buffer that cannot be detached (e.g. a view of WASM memory): copy instead.
    scope.postMessage(message);
  }
}

let backend: Promise<{ backend: Backend; engine: WorkerEngine }> | undefined;

async function load(wasmUrl?: string) {
  const url = wasmUrl ?? new URL('../../wasm/dist/scorecrl.wasm', import.meta.url).href;
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new ScorecrlError(`could not fetch the WebAssembly core from ${url}: ${(error as Error).message}`);
  }
  if (!response.ok) {
    throw new ScorecrlError(
      `could not fetch the WebAssembly core from ${url}: HTTP ${response.status}; pass loadBackend({ wasmUrl }) with the URL where scorecrl.wasm is served`,
    );
  }
  const wasmBinary = await response.arrayBuffer();
  const engine = new WorkerEngine(await moduleInstantiator(createScorecrlModule, wasmBinary));
  return { backend: new Backend(engine), engine };
}

/** Posts progress at most every 40 ms (and whenever the message text changes). */
function progressPoster(id: number): (fraction: number, message: string) => void {
  let last = -Infinity;
  let lastMessage = '';
  return (fraction, message) => {
    const now = performance.now();
    if (now - last < 40 && message === lastMessage && fraction < 1) return;
    last = now;
    lastMessage = message;
    send({ type: 'progress', id, fraction, message });
  };
}

async function handle(message: ToWorker): Promise<void> {
  if (message.type === 'init') {
    backend = load(message.wasmUrl);
    try {
      const { engine } = await backend;
      send({ type: 'ready', info: engine.info(), ops: engine.ops(), methods: backendMethods(), estimators: scoreEstimators() });
    } catch (error) {
      send({ type: 'init-error', error: wireError(error) });
    }
    return;
  }
  if (message.type === 'release') {
    try {
      if (backend) (await backend).engine.keepReleased(message.buffers);
    } catch {
      // A worker whose core failed to load keeps nothing.
    }
    return;
  }
  const { id } = message;
  try {
    if (!backend) throw new ScorecrlError('the worker got a call before init');
    const { backend: crl, engine } = await backend;
    const flag = message.cancel ? new Int32Array(message.cancel) : undefined;
    engine.hooks = {
      onProgress: progressPoster(id),
      isCancelled: flag ? () => Atomics.load(flag, 0) !== 0 : undefined,
    };
    const start = performance.now();
    let value: unknown;
    try {
      if (message.type === 'call') {
        value = engine.call(message.op, message.inputs);
      } else {
        const method = (crl as unknown as Record<string, unknown>)[message.method];
        if (typeof method !== 'function' || !backendMethods().includes(message.method)) {
          throw new TypeError(`scorecrl: unknown method '${message.method}' (known: ${backendMethods().join(', ')})`);
        }
        value = (method as (...args: unknown[]) => unknown).apply(crl, message.args);
        if (value instanceof Promise) value = await value;
        value = cloneable(value, engine);
      }
    } finally {
      engine.hooks = {};
    }
    send({ type: 'result', id, value, ms: performance.now() - start }, [...buffersOf(value)]);
  } catch (error) {
    send({ type: 'error', id, error: wireError(error) });
  }
}

let queue = Promise.resolve();
scope.addEventListener('message', (event) => {
  queue = queue.then(() => handle(event.data));
});
