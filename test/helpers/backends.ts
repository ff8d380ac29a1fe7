import { loadBackend } from '../../src/index.js';
import type { Backend } from '../../src/backend.js';
import type { BackendName } from '../../src/backend/engine.js';

/** Every suite that touches the core runs once per backend. */
export const BACKENDS: BackendName[] = ['native', 'wasm'];

export function backend(name: BackendName): Promise<Backend> {
  return loadBackend({ backend: name });
}
