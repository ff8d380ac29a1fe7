/**
 * Runs a batch of API cases (JSON on stdin) on one backend (argv[2]) and
 * reports each on fd 3 as JSON lines: {"i":k,"start":1} before the call, then
 * {"i":k,"class":...,"detail":...} after it. The lines are written
 * synchronously, so when this process dies the last started case is known.
 * argv[3]: per-case timeout for async calls in ms.
 */
import { writeSync, readFileSync } from 'node:fs';
import { isAsync } from './api-cases.mjs';
import { decoder } from './values.mjs';
import { classifyError, checkResult, sameResult } from './classify.mjs';

/** @typedef {import('./api-cases.mjs').ApiCase} ApiCase */
/** @typedef {import('./classify.mjs').Outcome} Outcome */
/** @typedef {(...args: any[]) => unknown} Callable a function the fuzzer calls with whatever arguments a case holds */

/** @type {typeof import('../dist/index.js')} */
const api = await import(new URL('../dist/index.js', import.meta.url).href);
const backendName = /** @type {'native' | 'wasm'} */ (process.argv[2]);
const timeoutMs = Number(process.argv[3] ?? 20000);
/** @type {ApiCase[]} */
const cases = JSON.parse(readFileSync(0, 'utf8'));

let current = -1;
const report = (/** @type {object} */ record) => writeSync(3, `${JSON.stringify(record)}\n`);

// An exception escaping to the event loop (e.g. from a callback the library calls) ends a real
// program: count it as a crash of the case that was running.
for (const event of ['uncaughtException', 'unhandledRejection']) {
  process.on(event, (/** @type {any} whatever was thrown */ error) => {
    report({
      i: current,
      class: 'crash',
      attributed: true,
      detail: `${event}: ${error?.name ?? ''}: ${String(error?.message ?? error).split('\n')[0]}`,
    });
    process.exit(70);
  });
}

const crl = await api.loadBackend({ backend: backendName });
const HEALTH = { data: Float64Array.of(1, 2, 3, 5, 4, 4), shape: [3, 2] };
const healthy = Array.from(crl.covariance(HEALTH).data);
const shared = decoder(crl, api);

/**
 * The function a call name stands for.
 * @param {string} call
 * @returns {Callable}
 */
function target(call) {
  const base = call.split(':')[0];
  if (base === 'engine.call') return (...a) => /** @type {Callable} */ (crl.engine.call)(...a);
  if (base.startsWith('module.')) return /** @type {Record<string, any>} */ (api)[base.slice(7)];
  if (base === 'model.evaluate') return (params, x) => crl.learnedScoreModel(params).evaluate(x);
  if (base === 'model.evaluateAsync') return (params, x, o) => crl.learnedScoreModel(params).evaluateAsync(x, o);
  const fn = /** @type {Record<string, any>} */ (crl)[base];
  if (typeof fn !== 'function') throw new Error(`fuzz: no method ${base}`);
  return fn.bind(crl);
}

/**
 * Float64Arrays reachable from a value (inputs to detach or release during a call).
 * @param {unknown} value
 * @param {Set<Float64Array>} [out]
 */
function arraysIn(value, out = new Set(), depth = 0) {
  if (value instanceof Float64Array) out.add(value);
  else if (value && typeof value === 'object' && depth < 4 && !(value instanceof AbortSignal))
    for (const v of Object.values(value)) arraysIn(v, out, depth + 1);
  return out;
}

/** @param {number} ms */
function timeout(ms) {
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  /** @type {Promise<{ timedOut: true }>} */
  const promise = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ timedOut: true }), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * @param {ApiCase} c
 * @returns {Promise<Outcome>}
 */
async function runCase(c) {
  // Cases that release or detach their inputs must not share memoised data with later cases.
  const decode = c.during === 'release' || c.during === 'detach' || c.call === 'release' ? decoder(crl, api) : shared;
  const args = decode(c.args);
  const fn = target(c.call);
  const base = c.call.split(':')[0];
  const names = [base.replace(/^(module|model|engine)\./, '').replace(/Async$/, ''), c.call.split(':')[1] ?? ''];
  if (!isAsync(c.call) && !base.startsWith('module.load') && !base.startsWith('module.backendInfo')) {
    try {
      return checkResult(fn(...args), c);
    } catch (error) {
      return classifyError(error, names, c);
    }
  }
  // Async: the expected result (for interference that must not change it) comes from the sync op.
  /** @type {unknown} */
  let expected;
  if (c.during === 'detach' || c.during === 'release') {
    const syncArgs = decode(c.args);
    try {
      expected = target(c.call.replace('Async', ''))(...syncArgs.slice(0, c.asyncArg));
    } catch {
      expected = undefined;
    }
  }
  const controller = new AbortController();
  if (c.during) {
    const at = /** @type {number} set with every `during` */ (c.asyncArg);
    args[at] = { ...(args[at] ?? {}) };
    if (c.during === 'abort') args[at].signal = controller.signal;
  }
  let promise;
  try {
    promise = Promise.resolve(fn(...args));
  } catch (error) {
    return classifyError(error, names, c);
  }
  let abortedAt;
  if (c.during === 'abort') {
    setTimeout(() => {
      abortedAt = performance.now();
      controller.abort();
    }, 20);
  } else if (c.during === 'close') {
    crl.close().catch(() => {});
  } else if (c.during === 'detach') {
    for (const a of arraysIn(args))
      if (a.buffer.byteLength > 0 && !(a.buffer instanceof SharedArrayBuffer)) structuredClone(a.buffer, { transfer: [a.buffer] });
  } else if (c.during === 'release') {
    crl.release(...arraysIn(args));
    crl.releaseMemory();
    // New results may take the memory the inputs had.
    for (let k = 0; k < 3; k++) crl.simulate({ n: 5, d: 10, samples: 50000, seed: 100 + k });
  }
  const t = timeout(timeoutMs);
  const settled = promise.then(
    (value) => ({ value }),
    (error) => ({ error }),
  );
  /** @type {{ timedOut?: true, value?: unknown, error?: unknown }} */
  const outcome = await Promise.race([settled, t.promise]);
  t.cancel();
  if (outcome.timedOut)
    return {
      class: 'hang',
      attributed: true,
      detail: `promise not settled after ${timeoutMs} ms${c.during ? ` (${c.during} during the call)` : ''}`,
    };
  const latency = abortedAt !== undefined ? performance.now() - abortedAt : undefined;
  if ('error' in outcome) {
    const r = classifyError(outcome.error, names, c);
    if (latency !== undefined) r.abortLatencyMs = Math.round(latency);
    return r;
  }
  const r = checkResult(outcome.value, c);
  if (latency !== undefined) {
    r.abortLatencyMs = Math.round(latency);
    r.note = 'abort ignored: the call returned a result';
  }
  if (expected !== undefined && r.class === 'result' && !sameResult(outcome.value, expected)) {
    return { class: 'invalid-result', detail: `result differs from the same call without ${c.during} during it` };
  }
  return r;
}

for (const [i, c] of cases.entries()) {
  current = i;
  report({ i, start: 1 });
  /** @type {Outcome} */
  let record;
  const t0 = performance.now();
  try {
    record = await runCase(c);
    record.ms = Math.round(performance.now() - t0);
  } catch (caught) {
    // The harness itself failed to build the case (e.g. a simulation for its data failed).
    const error = /** @type {any} whatever was thrown */ (caught);
    record = { class: 'skipped', detail: `could not build the case: ${error?.message}` };
  }
  // The backend must still work after any input.
  try {
    const h = Array.from(crl.covariance(HEALTH).data);
    if (h.some((v, k) => v !== healthy[k]))
      record = { class: 'crash', detail: `backend gives wrong results after this input (covariance ${h})`, before: record };
  } catch (caught) {
    const error = /** @type {any} whatever was thrown */ (caught);
    record = {
      class: 'crash',
      detail: `backend unusable after this input: ${String(error?.message ?? error).split('\n')[0]}`,
      before: record,
    };
  }
  report({ i, ...record });
  if (record.class === 'hang' || record.class === 'crash') process.exit(0);
}
process.exit(0);
