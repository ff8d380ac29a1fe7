/**
 * How one outcome is classified.
 *
 * API: a thrown ScorecrlError / TypeError / RangeError (AbortError for a
 * cancelled call) whose message names the op or an argument is a "named
 * error"; any other throw (a RuntimeError from the WASM module, "Cannot read
 * properties of undefined") is an "unnamed error". A returned value is a
 * "result" if every array in it is intact (shape matches the data, the data
 * is not detached), else an "invalid result".
 *
 * CLI: exit 0 is a result, exit 2 with a message and no stack trace a named
 * error (and exit 3, merge's "trials are missing", which names them), exit 1
 * with a message a "failed" run (a documented code, but not the one for bad
 * input); a signal, another code, or a stack trace in the output is a crash.
 */

/**
 * A classified outcome, with what the child and the runner add to the records they keep: the CLI's exit and
 * stderr, whether the child attributed a crash or hang itself, the abort latency, the case's time, the
 * outcome it replaced (`before`) and the cases that ran before it in one process (`sequence`).
 * @typedef {{ class: string, detail?: string, note?: string, exit?: number | string | null, stderr?: string,
 *   attributed?: boolean, abortLatencyMs?: number, ms?: number, before?: Outcome, sequence?: string[] }} Outcome
 */
/** @typedef {{ expect?: string, note?: string }} Expectation what a case says of its input */
/** @typedef {import('./lib.mjs').RunResult} RunResult */

const NAMED = new Set(['ScorecrlError', 'TypeError', 'RangeError', 'AbortError']);

/**
 * @param {any} error whatever the call threw
 * @param {string[]} names
 * @param {unknown} [_case]
 * @returns {Outcome}
 */
export function classifyError(error, names, _case) {
  const name = error?.name ?? typeof error;
  const message = String(error?.message ?? error);
  const first = message.split('\n')[0].slice(0, 300);
  const namesIt =
    names.some((n) => n && message.toLowerCase().includes(n.toLowerCase())) ||
    /'[\w.[\]]+'/.test(message) ||
    /^[A-Za-z][\w.]*: /.test(message);
  // The user's own exception (a throwing getter or callback) passing through unchanged is right.
  if (/^fuzz: thrown from/.test(message)) return { class: 'named-error', detail: `the caller's exception passed through: ${first}` };
  if (error instanceof Error && NAMED.has(name) && namesIt) return { class: 'named-error', detail: `${name}: ${first}` };
  return { class: 'unnamed-error', detail: `${name}: ${first}` };
}

/**
 * Problems with the arrays of a result (shape vs data, detached buffers), searched through it.
 * @param {unknown} value
 */
export function resultProblems(value) {
  /** @type {string[]} */
  const problems = [];
  const seen = new Set();
  /**
   * @param {any} v any part of the result
   * @param {string} path
   * @param {number} depth
   */
  const visit = (v, path, depth) => {
    if (v === null || typeof v !== 'object' || seen.has(v) || depth > 6 || problems.length > 3) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      try {
        /** @type {NodeJS.TypedArray} */ (v)[Symbol.iterator]().next();
      } catch {
        problems.push(`${path}: detached array`);
      }
      return;
    }
    if ('data' in v && 'shape' in v && ArrayBuffer.isView(v.data)) {
      const shape = v.shape;
      if (!Array.isArray(shape) || shape.some((/** @type {number} */ s) => !Number.isSafeInteger(s) || s < 0))
        problems.push(`${path}.shape is [${shape}]`);
      else {
        const size = shape.reduce((/** @type {number} */ a, /** @type {number} */ b) => a * b, 1);
        if (size !== v.data.length) problems.push(`${path}: shape [${shape.join(', ')}] (${size} values) but ${v.data.length} values`);
      }
    }
    const entries = Array.isArray(v) ? v.slice(0, 200).entries() : Object.entries(v);
    for (const [k, x] of entries) visit(x, `${path}.${k}`, depth + 1);
  };
  visit(value, 'result', 0);
  return problems;
}

/**
 * @param {unknown} value
 * @param {Expectation} [c]
 * @returns {Outcome}
 */
export function checkResult(value, c) {
  const problems = resultProblems(value);
  if (problems.length) return { class: 'invalid-result', detail: problems.join('; ') };
  /** @type {Outcome} */
  const r = { class: 'result' };
  if (c?.expect === 'error') r.note = `accepted: ${c.note ?? 'input expected to fail'}`;
  return r;
}

/**
 * Whether two results hold the same numbers (relative 1e-12), arrays compared element by element.
 * @param {unknown} a
 * @param {unknown} b
 */
export function sameResult(a, b) {
  const seen = new Set();
  /**
   * @param {any} x any part of a result
   * @param {any} y
   * @param {number} depth
   * @returns {boolean}
   */
  const eq = (x, y, depth) => {
    if (depth > 6) return true;
    if (ArrayBuffer.isView(x) || ArrayBuffer.isView(y)) {
      // Compared as numbers (the results' arrays are Float64Array or Int32Array).
      const xs = /** @type {Float64Array} */ (x);
      const ys = /** @type {Float64Array} */ (y);
      if (!ArrayBuffer.isView(x) || !ArrayBuffer.isView(y) || xs.length !== ys.length) return false;
      for (let i = 0; i < xs.length; i++) {
        const u = xs[i];
        const v = ys[i];
        if (!(u === v || (Number.isNaN(u) && Number.isNaN(v)) || Math.abs(u - v) <= 1e-12 * Math.max(1, Math.abs(v)))) return false;
      }
      return true;
    }
    if (typeof x === 'function' || typeof y === 'function') return true;
    if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') return x === y || (Number.isNaN(x) && Number.isNaN(y));
    if (seen.has(x)) return true;
    seen.add(x);
    const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
    for (const k of keys) if (!eq(x[k], y[k], depth + 1)) return false;
    return true;
  };
  return eq(a, b, 0);
}

const STACK = /^\s+at .+(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$/m;
/** @type {Set<number | null>} exit codes the CLI documents (null: killed by a signal) */
const DOCUMENTED = new Set([0, 1, 2, 3, 130, 143]);

/**
 * A finished CLI process: exit code / signal and its output.
 * @param {RunResult} run
 * @param {Expectation} [c]
 * @returns {Outcome}
 */
export function classifyCli({ code, signal, stdout, stderr, timedOut, rssKilled }, c) {
  const text = `${stdout}\n${stderr}`;
  const firstError = stderr.split('\n').find((l) => l.trim() && !/^warning: /.test(l)) ?? '';
  if (timedOut) return { class: 'hang', detail: `no exit after ${timedOut} ms` };
  if (rssKilled) return { class: 'crash', detail: `memory: resident size passed the ${rssKilled} MiB cap (no limit error)` };
  if (signal) return { class: 'crash', detail: `killed by ${signal}${firstError ? `: ${firstError.slice(0, 200)}` : ''}` };
  if (STACK.test(text) || /terminate called|Segmentation fault|Aborted \(core dumped\)/.test(text))
    return { class: 'crash', detail: `exit ${code} with a stack trace: ${firstError.slice(0, 200)}` };
  if (!DOCUMENTED.has(code)) return { class: 'crash', detail: `exit ${code} (not a documented code): ${firstError.slice(0, 200)}` };
  if (code === 0) {
    /** @type {Outcome} */
    const r = { class: 'result' };
    if (c?.expect === 'error') r.note = `accepted: ${c.note ?? 'input expected to fail'}`;
    return r;
  }
  if (!firstError.trim()) return { class: 'unnamed-error', detail: `exit ${code} with no message` };
  if (code === 2 || code === 3) return { class: 'named-error', detail: firstError.slice(0, 200) };
  if (code === 1) return { class: 'failed', detail: `exit 1: ${firstError.slice(0, 200)}` };
  return { class: 'crash', detail: `exit ${code} without a signal: ${firstError.slice(0, 200)}` };
}
