/**
 * Fuzz inputs as JSON, so that every case can be printed, stored and replayed.
 * Plain JSON stands for itself; an object with a "$" key stands for a value
 * JSON cannot hold (NaN, undefined, typed arrays, functions, simulated data).
 * `decode` builds the value in the process that runs the case; `render`
 * writes it as JavaScript for the reproduction printed with a failure.
 */

/**
 * A case's input as stored: JSON, where an object with a "$" key (see below) stands for any value,
 * valid or not, that the fuzzer passes to the library. Left untyped on purpose, as are the values
 * `decode` builds from it: both are whatever a case says.
 * @typedef {any} Encoded
 */

/**
 * Seeded generator (mulberry32): same seed, same cases on every machine.
 * @param {number} seed
 */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (/** @type {number} */ n) => Math.floor(next() * n),
    /**
     * @template T
     * @param {readonly T[]} list
     * @returns {T}
     */
    pick: (list) => list[Math.floor(next() * list.length)],
    normal: () => {
      const u = Math.max(next(), 1e-12);
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
  };
}

/**
 * A stable 32-bit hash of a string, to derive one stream per op from the run's seed.
 * @param {string} text
 */
export function hash(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

// --- constructors used by the case generators -------------------------------------------------

export const NaN_ = { $: 'NaN' };
export const Inf = { $: 'Inf' };
export const NegInf = { $: '-Inf' };
export const Undef = { $: 'undefined' };
export const NegZero = { $: '-0' };

/**
 * An NDArray of `shape` filled by `fill`; `len` overrides the data length, `type` the data's class.
 * @param {Encoded} shape
 * @param {string} [fill]
 * @param {Record<string, Encoded>} [extra]
 */
export function nd(shape, fill = 'randn', extra = {}) {
  return { $: 'nd', shape, fill, ...extra };
}

/**
 * A field of `crl.simulate(config)`: x, dsx, z, graph, x0 (environment 0), pairs/obs (gscalePairs of dsx).
 * @param {Encoded} config
 * @param {string} path
 */
export function sim(config, path) {
  return { $: 'sim', config, path };
}

/**
 * A copy of `base` with fields set (dotted paths; the value Undef deletes).
 * @param {Encoded} base
 * @param {Record<string, Encoded>} set
 */
export function patch(base, set) {
  return { $: 'patch', base, set };
}

// --- building values in the child ------------------------------------------------------------

/**
 * @param {number} n
 * @param {string} fill
 * @param {number} [seed]
 */
function fillArray(n, fill, seed) {
  const r = rng(seed ?? 7);
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    switch (fill) {
      case 'zeros':
        break;
      case 'ones':
        a[i] = 1;
        break;
      case 'nan':
        a[i] = i === n >> 1 ? NaN : r.normal();
        break;
      case 'inf':
        a[i] = i === 0 ? Infinity : r.normal();
        break;
      case 'allnan':
        a[i] = NaN;
        break;
      case 'huge':
        a[i] = (r.next() < 0.5 ? -1 : 1) * 1e300;
        break;
      case 'tiny':
        a[i] = 5e-324 * (1 + r.int(3));
        break;
      case 'int01':
        a[i] = r.int(2);
        break;
      case 'int':
        a[i] = r.int(5) - 2;
        break;
      case 'eye': {
        // Square arrays only: identity, otherwise zeros.
        break;
      }
      default:
        a[i] = r.normal();
    }
  }
  return a;
}

/** @param {number[]} shape */
function sizeOf(shape) {
  return shape.reduce((x, y) => x * y, 1);
}

/**
 * Context of one child process: the loaded backend and memoised simulations,
 * so that many cases share the (small) data sets they are built from.
 * @param {import('../dist/index.js').Backend} crl
 * @param {typeof import('../dist/index.js')} api
 */
export function decoder(crl, api) {
  /** @typedef {import('../dist/index.js').NDArray} NDArray */
  /** @type {Map<string, import('../dist/index.js').Simulation>} */
  const sims = new Map();
  /** @param {import('../dist/index.js').SimulationConfig} config */
  const simulate = (config) => {
    const key = JSON.stringify(config);
    if (!sims.has(key)) sims.set(key, crl.simulate(config));
    return /** @type {import('../dist/index.js').Simulation} */ (sims.get(key));
  };
  /** @type {Map<string, unknown>} */
  const fitted = new Map();
  /**
   * @param {string} key
   * @param {() => unknown} make
   */
  const memo = (key, make) => {
    if (!fitted.has(key)) fitted.set(key, make());
    return fitted.get(key);
  };

  /**
   * @param {Encoded} v
   * @returns {Encoded}
   */
  function decode(v) {
    if (Array.isArray(v)) return v.map(decode);
    if (v === null || typeof v !== 'object') return v;
    if (!('$' in v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x)]));
    switch (v.$) {
      case 'NaN':
        return NaN;
      case 'Inf':
        return Infinity;
      case '-Inf':
        return -Infinity;
      case 'undefined':
        return undefined;
      case '-0':
        return -0;
      case 'bigint':
        return BigInt(v.v ?? 3);
      case 'symbol':
        return Symbol('fuzz');
      case 'fn':
        return () => 1;
      case 'throwingFn':
        return () => {
          throw new Error('fuzz: thrown from a callback');
        };
      case 'abortedSignal':
        return AbortSignal.abort();
      case 'date':
        return new Date(0);
      case 'getterThrows':
        return Object.defineProperty({}, v.key ?? 'data', {
          enumerable: true,
          get() {
            throw new Error('fuzz: thrown from a getter');
          },
        });
      case 'cyclic': {
        /** @type {{ n: number, samples: number, seed: number, self?: object }} */
        const o = { n: 2, samples: 10, seed: 0 };
        o.self = o;
        return o;
      }
      case 'f64':
        return fillArray(v.len, v.fill ?? 'randn', v.seed);
      case 'nd': {
        const shape = decode(v.shape);
        const n = v.len ?? (Array.isArray(shape) && shape.every((s) => Number.isSafeInteger(s) && s >= 0) ? sizeOf(shape) : 4);
        /** @type {Float64Array | Float32Array | Int32Array | number[]} */
        let data = fillArray(n, v.fill, v.seed);
        if (v.fill === 'eye' && Array.isArray(shape) && shape.length === 2)
          for (let i = 0; i < Math.min(...shape); i++) data[i * shape[1] + i] = 1;
        if (v.type === 'f32') data = Float32Array.from(data);
        else if (v.type === 'array') data = Array.from(data);
        else if (v.type === 'i32') data = Int32Array.from(data);
        else if (v.type === 'shared') {
          const s = new Float64Array(new SharedArrayBuffer(data.byteLength));
          s.set(data);
          data = s;
        } else if (v.type === 'detached') {
          structuredClone(data.buffer, { transfer: [data.buffer] });
        } else if (v.type === 'view') {
          // A view into the middle of a larger buffer.
          const big = new Float64Array(n + 3);
          big.set(data, 2);
          data = big.subarray(2, 2 + n);
        }
        return v.noShape ? { data } : v.noData ? { shape } : { data, shape };
      }
      case 'sim': {
        // The field the case names, present in the simulation or not: the library sees what it gets.
        const s = /** @type {Encoded} */ (simulate(v.config));
        const p = v.path;
        if (p === 'x0') return api.sliceFirst(s.x, 0);
        if (p === 'pairs' || p === 'obs') {
          const g = api.gscalePairs(s.dsx);
          return p === 'pairs' ? g.dsxPairs : g.dsxObs;
        }
        if (p === 'encoder' || p === 'decoder') return s.transform[p];
        return s[p];
      }
      case 'gscaleModel':
        return memo(`gscale:${v.family ?? 'glm'}`, () => {
          /** @type {import('../dist/index.js').SimulationConfig} */
          const c = { n: 2, d: 3, samples: 40, seed: 5, design: 'two-hard-per-node', transform: 'tanh' };
          const s = simulate(c);
          // Default outputs: x and dsx are present.
          const x = /** @type {NDArray} */ (s.x);
          const g = api.gscalePairs(/** @type {NDArray} */ (s.dsx));
          const r = crl.gscale(
            { x: api.sliceFirst(x, 0), dsxPairs: g.dsxPairs, dsxObs: g.dsxObs },
            { family: v.family ?? 'glm', maxIterations: 5, hidden: 4 },
          );
          return { ...r.model, parameters: Float64Array.from(r.model.parameters) };
        });
      case 'learnedParams':
        return memo(`learned:${v.method}`, () => {
          const s = simulate({ n: 2, d: 3, samples: 60, seed: 6 });
          const r = crl.estimateScoreDifferences(/** @type {NDArray} */ (s.x), {
            method: v.method ?? 'logistic-quadratic',
            epochs: 2,
            width: 4,
          });
          // A learned method's model holds its flat parameters.
          return Float64Array.from(/** @type {Record<string, NDArray>} */ (r.model).params.data);
        });
      case 'patch': {
        const base = decode(v.base);
        /** @type {Encoded} */
        const copy = Array.isArray(base) ? [...base] : { ...base };
        for (const [path, value] of Object.entries(v.set)) {
          const keys = path.split('.');
          let o = copy;
          for (const k of keys.slice(0, -1)) {
            o[k] = Array.isArray(o[k]) ? [...o[k]] : { ...o[k] };
            o = o[k];
          }
          const last = keys[keys.length - 1];
          const x = decode(value);
          if (x === undefined && value && value.$ === 'undefined' && !v.keepUndefined) delete o[last];
          else o[last] = x;
        }
        return copy;
      }
      default:
        throw new Error(`fuzz: unknown value kind ${v.$}`);
    }
  }
  return decode;
}

// --- JavaScript for a reproduction ---------------------------------------------------------------

/**
 * The value as a JavaScript expression (helpers nd/sim are defined in the printed preamble).
 * @param {Encoded} v
 * @returns {string}
 */
export function render(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(render).join(', ')}]`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v !== 'object') return String(v);
  if (!('$' in v)) {
    const entries = Object.entries(v).map(([k, x]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${render(x)}`);
    return `{ ${entries.join(', ')} }`;
  }
  switch (v.$) {
    case 'NaN':
      return 'NaN';
    case 'Inf':
      return 'Infinity';
    case '-Inf':
      return '-Infinity';
    case 'undefined':
      return 'undefined';
    case '-0':
      return '-0';
    case 'bigint':
      return `${v.v ?? 3}n`;
    case 'symbol':
      return "Symbol('fuzz')";
    case 'fn':
      return '() => 1';
    case 'throwingFn':
      return "() => { throw new Error('thrown from a callback'); }";
    case 'abortedSignal':
      return 'AbortSignal.abort()';
    case 'date':
      return 'new Date(0)';
    case 'getterThrows':
      return `Object.defineProperty({}, ${JSON.stringify(v.key ?? 'data')}, { enumerable: true, get() { throw new Error('getter'); } })`;
    case 'cyclic':
      return '(() => { const o = { n: 2, samples: 10, seed: 0 }; o.self = o; return o; })()';
    case 'f64':
      return `fill(${v.len}, ${JSON.stringify(v.fill ?? 'randn')})`;
    case 'nd': {
      const opts = Object.entries(v)
        .filter(([k]) => !['$', 'shape', 'fill'].includes(k))
        .map(([k, x]) => `${k}: ${render(x)}`);
      return `nd(${render(v.shape)}, ${JSON.stringify(v.fill)}${opts.length ? `, { ${opts.join(', ')} }` : ''})`;
    }
    case 'sim':
      return `sim(${render(v.config)}, ${JSON.stringify(v.path)})`;
    case 'gscaleModel':
      return `gscaleModel(${JSON.stringify(v.family ?? 'glm')})`;
    case 'learnedParams':
      return `learnedParams(${JSON.stringify(v.method ?? 'logistic-quadratic')})`;
    case 'patch':
      return `patch(${render(v.base)}, ${render(v.set)})`;
    default:
      return JSON.stringify(v);
  }
}
