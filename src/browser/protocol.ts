import type { EngineInfo, OpInputs } from '../backend/engine.js';

/**
 * Messages between the page (src/browser/index.ts) and the worker that runs
 * the WebAssembly core (src/browser/worker.ts). Everything here is
 * structured-cloneable; result arrays travel as transferred buffers.
 */
export type ToWorker =
  | {
      type: 'init';
      /** Absolute URL of scorecrl.wasm, or undefined for the copy next to the worker. */
      wasmUrl?: string;
    }
  | {
      type: 'run';
      id: number;
      /** A method of `Backend` (src/backend.ts), called with `args` in the worker. */
      method: string;
      args: unknown[];
      /** Int32Array(1) over shared memory: set to 1 to cancel (cross-origin isolated pages only). */
      cancel?: SharedArrayBuffer;
    }
  | {
      type: 'call';
      id: number;
      /** A raw core operation (`ops()`), for code that speaks the operation table directly. */
      op: string;
      inputs: OpInputs;
      cancel?: SharedArrayBuffer;
    }
  | {
      /** Buffers of results the page released, transferred back for the next results (no reply). */
      type: 'release';
      buffers: ArrayBuffer[];
    };

/** An error as it crosses the worker boundary. */
export interface WireError {
  name: string;
  message: string;
  op?: string;
  /** ScorecrlError's code (and AbortError's, 'cancelled'). */
  code?: string;
}

export type FromWorker =
  | {
      type: 'ready';
      info: EngineInfo;
      ops: string[];
      methods: string[];
      /** Methods `estimateScoreDifferences` accepts. */
      estimators: string[];
    }
  | { type: 'init-error'; error: WireError }
  | { type: 'progress'; id: number; fraction: number; message: string }
  | { type: 'result'; id: number; value: unknown; ms: number }
  | { type: 'error'; id: number; error: WireError };
