// Worker thread that runs the WASM core off the main event loop in Node
// (used by the WASM backend's callAsync). Plain JS so it loads from src/ and
// dist/ alike. Messages in: { id, op, inputs, cancel: SharedArrayBuffer }.
// Messages out: { id, progress: [fraction, message] } | { id, result } | { id, error }.
import { parentPort } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import createScorecrlModule from './dist/scorecrl.mjs';

const wasmBinary = readFileSync(new URL('./dist/scorecrl.wasm', import.meta.url));
const modulePromise = createScorecrlModule({ wasmBinary });

parentPort.on('message', async ({ id, op, inputs, cancel }) => {
  const module = await modulePromise;
  const flag = new Int32Array(cancel);
  const result = module.call(
    op,
    inputs.arrays ?? {},
    inputs.numbers ?? {},
    inputs.strings ?? {},
    (fraction, message) => parentPort.postMessage({ id, progress: [fraction, message] }),
    () => Atomics.load(flag, 0) !== 0,
    undefined,
  );
  if (result.error !== undefined) {
    parentPort.postMessage({ id, error: result.error });
  } else {
    const transfer = Object.values(result.arrays).map((a) => a.data.buffer);
    parentPort.postMessage({ id, result }, transfer);
  }
});
