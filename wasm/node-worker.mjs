// Worker thread that runs the WASM core off the main event loop in Node
// (used by the WASM backend's callAsync), one call at a time. Plain JS so it
// loads from src/ and dist/ alike.
// Messages in: { id, op, inputs, cancel: SharedArrayBuffer, memoryLimit } (memoryLimit:
//   the per-call limit set on the calling thread, bytes, 0 for the default).
// Messages out: { id, progress: [fraction, message] } | { id, result } | { id, error, code }
//   (an error the core reported, with its code) | { id, failure: { name, message, allocating? } }
//   (the module threw: a trap, or a result array that could not be allocated;
//   that instance is dropped and the next call gets a fresh one).
import { parentPort } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import createScorecrlModule from './dist/scorecrl.mjs';

const compiled = new WebAssembly.Module(readFileSync(new URL('./dist/scorecrl.wasm', import.meta.url)));

// Synchronous instantiation (see moduleInstantiator in src/backend/wasm-core.ts).
function instantiate() {
  const module = {
    instantiateWasm(imports, receive) {
      const instance = new WebAssembly.Instance(compiled, imports);
      receive(instance);
      return instance.exports;
    },
  };
  createScorecrlModule(module).catch(() => undefined);
  return module;
}

let module;
// The memory limit the current instance has (0: its default).
let limit = 0;

parentPort.on('message', ({ id, op, inputs, cancel, memoryLimit = 0 }) => {
  const flag = new Int32Array(cancel);
  if (Atomics.load(flag, 0) !== 0) {
    parentPort.postMessage({ id, error: `${op}: cancelled`, code: 'cancelled' });
    return;
  }
  let allocating;
  let result;
  try {
    if (!module) {
      module = instantiate();
      limit = 0;
    }
    if (memoryLimit !== limit) {
      module.call('setMemoryLimit', {}, { bytes: memoryLimit }, {}, undefined, undefined, undefined);
      limit = memoryLimit;
    }
    result = module.call(
      op,
      inputs.arrays ?? {},
      inputs.numbers ?? {},
      inputs.strings ?? {},
      (fraction, message) => parentPort.postMessage({ id, progress: [fraction, message] }),
      () => Atomics.load(flag, 0) !== 0,
      (length) => {
        allocating = length;
        const array = new Float64Array(length);
        allocating = undefined;
        return array;
      },
    );
  } catch (error) {
    module = undefined;
    const failure = { name: error?.name ?? 'Error', message: error?.message ?? String(error) };
    if (allocating !== undefined) failure.allocating = allocating;
    parentPort.postMessage({ id, failure });
    return;
  }
  if (result.error !== undefined) {
    parentPort.postMessage({ id, error: result.error, code: result.code });
  } else {
    // A result whose shape does not match its data had a size overflow in the
    // core (the caller rejects it); do not trust that instance further.
    const sizes = Object.values(result.arrays).map((a) => [a.shape.reduce((x, y) => x * y, 1), a.data.length]);
    if (sizes.some(([count, length]) => count !== length)) module = undefined;
    const transfer = Object.values(result.arrays).map((a) => a.data.buffer);
    parentPort.postMessage({ id, result }, transfer);
  }
});
