import { Backend } from '../backend.js';
import { ScorecrlError, type BackendName, type EngineInfo } from './engine.js';
import { loadNativeEngine } from './native.js';
import { loadWasmEngine } from './wasm.js';

export interface LoadOptions {
  /**
   * 'native' or 'wasm' forces one backend; 'auto' (default) picks native when
   * it loads, else WASM. The SCORECRL_BACKEND environment variable overrides
   * 'auto'.
   */
  backend?: BackendName | 'auto';
}

const loaded = new Map<BackendName, Promise<Backend>>();
/** Why the native backend did not load when 'auto' fell back to WASM. */
let nativeFailure: Error | undefined;

function requested(options: LoadOptions): BackendName | 'auto' {
  const choice = options.backend ?? 'auto';
  if (choice !== 'auto') return choice;
  const env = process.env.SCORECRL_BACKEND?.trim();
  if (!env || env === 'auto') return 'auto';
  if (env !== 'native' && env !== 'wasm') {
    throw new ScorecrlError(`SCORECRL_BACKEND must be 'native', 'wasm' or 'auto', got '${env}'`, undefined, 'invalid-argument');
  }
  return env;
}

function load(name: BackendName): Promise<Backend> {
  let promise = loaded.get(name);
  if (!promise) {
    promise =
      name === 'native'
        ? Promise.resolve().then(() => new Backend(loadNativeEngine()))
        : loadWasmEngine().then((engine) => new Backend(engine));
    promise.catch(() => loaded.delete(name));
    loaded.set(name, promise);
  }
  return promise;
}

/**
 * Loads a backend (cached: each kind loads once per process).
 *
 * ```ts
 * const crl = await loadBackend();            // native if it loads, else WASM
 * const wasm = await loadBackend({ backend: 'wasm' });
 * ```
 */
export async function loadBackend(options: LoadOptions = {}): Promise<Backend> {
  const choice = requested(options);
  if (choice !== 'auto') return load(choice);
  try {
    const native = await load('native');
    nativeFailure = undefined;
    return native;
  } catch (error) {
    nativeFailure = error instanceof Error ? error : new Error(String(error));
    return load('wasm');
  }
}

/**
 * The error that kept the native backend from loading the last time
 * `loadBackend()` fell back to WASM (undefined when it loaded, or was not tried).
 */
export function nativeLoadError(): Error | undefined {
  return nativeFailure;
}

/** Name, version, SIMD level, BLAS use and threads of the backend `loadBackend(options)` gives. */
export async function backendInfo(options: LoadOptions = {}): Promise<EngineInfo> {
  return (await loadBackend(options)).info();
}
