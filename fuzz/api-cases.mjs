/**
 * Bad inputs for every public operation of the library: each method of
 * Backend (sync and async), the module's helpers, and the raw engine table
 * (`crl.engine.call`, reachable by any user). Every op has a small valid call;
 * cases replace one part of it by a bad value from the catalogue of its kind,
 * add unknown option names, or interfere with a running async call.
 */
import { hash, nd, NaN_, Inf, NegInf, NegZero, patch, rng, sim, Undef } from './values.mjs';

/** @typedef {import('./values.mjs').Encoded} Encoded */
/** @typedef {Array<string | number>} Path a path into a call's arguments */
/** @typedef {{ path: Path, kind: string, shape?: number[], values?: Encoded[] }} Slot */
/** @typedef {{ options?: Path[], extra?: Encoded[][], asyncExtra?: Encoded[][], async?: boolean }} More */
/** @typedef {{ call: string, args: Encoded[], slots: Slot[], options: Path[], extra: Encoded[][] }} Op */
/**
 * One call: `during` interferes with a running async call whose { onProgress, signal } is argument `asyncArg`.
 * @typedef {{ call: string, args: Encoded[], expect?: 'error', note?: string, during?: string, asyncArg?: number }} ApiCaseSpec
 */
/** @typedef {ApiCaseSpec & { target: 'api', backend: string }} ApiCase */

// --- small valid data ------------------------------------------------------------------------

const S = { n: 2, d: 3, samples: 40, seed: 1 };
const X = sim(S, 'x'); // 3 x 40 x 3
const DSX = sim(S, 'dsx'); // 2 x 40 x 3
const GRAPH = sim(S, 'graph'); // 2 x 2
const ENC = sim(S, 'encoder'); // 2 x 3
const DEC = sim(S, 'decoder'); // 3 x 2
const MN = { n: 2, d: 3, samples: 60, seed: 2, design: 'multi-node' };
const GS = { n: 2, d: 3, samples: 40, seed: 5, design: 'two-hard-per-node', transform: 'tanh' };
const GS_INPUT = { x: sim(GS, 'x0'), dsxPairs: sim(GS, 'pairs'), dsxObs: sim(GS, 'obs') };
const GS_OPTS = { maxIterations: 10, hidden: 4 };
const COV3 = nd([3, 3, 3], 'randn'); // only shapes matter for most error paths
const SQ = nd([3, 3], 'int01', { seed: 3 });
const LEARN_OPTS = { epochs: 2, width: 4 };

// --- catalogues of bad values by kind ------------------------------------------------------

const WRONG_TYPE = [null, Undef, 3, 'x', true, [], {}, { $: 'symbol' }, { $: 'bigint' }, { $: 'fn' }, { $: 'date' }];
const BAD_INT = [
  -1,
  0,
  1.5,
  NaN_,
  Inf,
  NegInf,
  NegZero,
  -(2 ** 31),
  2 ** 31,
  2 ** 32,
  2 ** 53,
  1e300,
  '3',
  true,
  null,
  Undef,
  {},
  [],
  { $: 'bigint' },
];
/** Sizes past every buffer: must stop with a clean limit error. */
const HUGE = [2 ** 30, 2 ** 31, 2 ** 32, 1e9, 1e12, 2 ** 53 - 1, 1e15];
const BAD_REAL = [NaN_, Inf, NegInf, -1, 0, 1e308, -1e308, 5e-324, '0.5', null, true, {}, Undef, NegZero, 2, 1e-300];
const BAD_BOOL = [0, 1, 'true', null, NaN_, {}, 'false', Undef];
const badEnum = (/** @type {string} */ valid) => [
  '',
  valid.toUpperCase(),
  'foo',
  0,
  null,
  [valid],
  `${valid} `,
  '__proto__',
  'constructor',
  'toString',
  Undef,
  {},
];
const UNKNOWN_KEYS = ['epoch', 'foo', 'Seed', 'constructor', '__proto__', 'toString'];

/**
 * Bad NDArrays for an argument whose valid shape is `shape`.
 * @param {number[]} shape
 */
function badArrays(shape) {
  const rank = shape.length;
  const out = [
    ...WRONG_TYPE,
    { $: 'f64', len: 6 },
    nd(shape, 'randn', { noShape: true }),
    nd(shape, 'randn', { noData: true }),
    nd(shape, 'randn', { type: 'f32' }),
    nd(shape, 'randn', { type: 'array' }),
    nd(shape, 'randn', { type: 'i32' }),
    nd(shape, 'randn', { type: 'detached' }),
    nd(shape, 'randn', { type: 'shared' }),
    nd(shape, 'randn', { type: 'view' }),
    nd(shape, 'nan'),
    nd(shape, 'inf'),
    nd(shape, 'allnan'),
    nd(shape, 'huge'),
    nd(shape, 'tiny'),
    nd(shape, 'zeros'),
    nd(shape, 'ones'),
    nd(shape, 'randn', { len: Math.max(0, shape.reduce((a, b) => a * b, 1) - 1) }),
    nd(shape, 'randn', { len: shape.reduce((a, b) => a * b, 1) + 1 }),
    nd(
      shape.map((s, i) => (i === 0 ? -s : s)),
      'randn',
      { len: 4 },
    ),
    nd(
      shape.map((s, i) => (i === rank - 1 ? s + 0.5 : s)),
      'randn',
      { len: 4 },
    ),
    nd(
      shape.map((s, i) => (i === 0 ? NaN_ : s)),
      'randn',
      { len: 4 },
    ),
    nd(
      shape.map((s, i) => (i === 0 ? String(s) : s)),
      'randn',
      { len: shape.reduce((a, b) => a * b, 1) },
    ),
    nd(
      shape.map((s, i) => (i === 0 ? 2 ** 31 : s)),
      'randn',
      { len: 8 },
    ),
    nd(
      shape.map(() => 2 ** 21),
      'randn',
      { len: 8 },
    ),
    nd(
      shape.map(() => 2 ** 32),
      'randn',
      { len: 0 },
    ),
    nd([], 'randn'),
    nd([...shape, 1], 'randn'),
    nd(shape.slice(1), 'randn'),
    { $: 'getterThrows', key: 'data' },
  ];
  // Empty axes, one at a time and all at once.
  for (let i = 0; i < rank; i++)
    out.push(
      nd(
        shape.map((s, j) => (j === i ? 0 : s)),
        'randn',
      ),
    );
  out.push(
    nd(
      shape.map(() => 0),
      'randn',
    ),
  );
  // One more along each axis (mismatch with the other arguments).
  for (let i = 0; i < rank; i++)
    out.push(
      nd(
        shape.map((s, j) => (j === i ? s + 1 : s)),
        'randn',
      ),
    );
  // Single row / column (degenerate statistics).
  for (let i = 0; i < rank; i++)
    out.push(
      nd(
        shape.map((s, j) => (j === i ? 1 : s)),
        'randn',
      ),
    );
  return out;
}

/** @type {Record<string, () => Encoded[]>} */
const CATALOGUE = {
  int: () => BAD_INT,
  count: () => [...BAD_INT, ...HUGE],
  iter: () => BAD_INT, // iteration counts: huge ones are legitimately long, not bad
  real: () => BAD_REAL,
  bool: () => BAD_BOOL,
  object: () => [...WRONG_TYPE, { $: 'cyclic' }, { $: 'getterThrows', key: 'n' }],
  fn: () => [3, 'x', {}, null, { $: 'throwingFn' }],
  signal: () => [3, 'x', {}, null, true, { $: 'abortedSignal' }],
};

/** @param {Slot} slot */
function valuesFor(slot) {
  if (slot.kind.startsWith('enum:')) return badEnum(slot.kind.slice(5));
  if (slot.kind === 'nd') return badArrays(/** @type {number[]} */ (slot.shape));
  if (slot.kind === 'extra') return /** @type {Encoded[]} */ (slot.values);
  return CATALOGUE[slot.kind]();
}

// --- the operations ------------------------------------------------------------------------

/**
 * Each op: `args` (valid, small), `slots` (where bad values go: a path into args and a kind),
 * `options` (paths of option objects that get unknown names), `extra` (hand-written cases:
 * sizes past every limit, known-dangerous combinations).
 */
/**
 * @param {Path} path
 * @param {string} kind
 * @param {number[]} [shape]
 * @returns {Slot}
 */
const slot = (path, kind, shape) => ({ path, kind, shape });

function ops() {
  /** @type {Op[]} */
  const list = [];
  /**
   * @param {string} call
   * @param {Encoded[]} args
   * @param {Slot[]} [slots]
   * @param {More} [more]
   */
  const add = (call, args, slots = [], more = {}) => list.push({ call, args, slots, options: more.options ?? [], extra: more.extra ?? [] });

  /**
   * The call and its Async twin.
   * @param {string} name
   * @param {Encoded[]} args
   * @param {Slot[]} slots
   * @param {More} [more]
   */
  const both = (name, args, slots, more) => {
    add(name, args, slots, more);
    const [base, tag] = name.split(':');
    add(tag ? `${base}Async:${tag}` : `${name}Async`, args, slots, { ...more, extra: more?.asyncExtra ?? more?.extra });
  };

  add('info', []);
  add('setThreads', [1], [slot([0], 'extra')], { extra: [[0], [-1], [1e6], [2 ** 31], [NaN_], ['2'], [null]] });
  add('release', [X], [slot([0], 'extra')], {
    extra: [
      [null],
      [3],
      ['x'],
      [{ data: { $: 'f64', len: 3 } }],
      [{ $: 'cyclic' }],
      [nd([2, 2], 'randn', { type: 'detached' })],
      [{ $: 'f64', len: 0 }],
    ],
  });
  add('releaseMemory', []);

  both('covariance', [nd([20, 3])], [slot([0], 'nd', [20, 3])], {
    extra: [
      [nd([1, 3])],
      [nd([0, 0])],
      [nd([2 ** 20, 0], 'randn', { len: 0 })],
      [nd([0, 2 ** 20], 'randn', { len: 0 })],
      [nd([3, 2000000], 'randn')],
    ],
  });
  both('scoreDiffCovariance', [DSX], [slot([0], 'nd', [2, 40, 3])], {
    extra: [[nd([0, 5, 3])], [nd([2 ** 20, 0, 3], 'randn', { len: 0 })], [nd([1, 1, 1500])]],
  });
  both('crossScoreDiffCovariance', [DSX], [slot([0], 'nd', [2, 40, 3])], {
    extra: [[nd([2000, 1, 20])], [nd([200, 1, 1000], 'randn')], [nd([2 ** 16, 0, 2 ** 16], 'randn', { len: 0 })]],
  });
  add('symmetricEigen', [nd([3, 3], 'eye')], [slot([0], 'nd', [3, 3])], {
    extra: [[nd([3, 4])], [nd([1, 1])], [nd([0, 0])], [nd([3, 3], 'nan')]],
  });

  add(
    'randomDraws',
    [
      0,
      [
        { kind: 'random', count: 3 },
        { kind: 'standardNormal', count: 2 },
        { kind: 'integers', low: 0, high: 5, count: 2 },
        { kind: 'permutation', n: 4 },
      ],
    ],
    [
      slot([0], 'int'),
      slot([1], 'object'),
      slot([1, 0, 'count'], 'count'),
      slot([1, 0, 'kind'], 'enum:random'),
      slot([1, 1, 'count'], 'count'),
      slot([1, 2, 'low'], 'int'),
      slot([1, 2, 'high'], 'int'),
      slot([1, 2, 'count'], 'count'),
      slot([1, 3, 'n'], 'count'),
      slot([1, 0], 'object'),
    ],
    {
      extra: [
        [0, []],
        [0, [{ kind: 'integers', low: 5, high: 5, count: 3 }]],
        [0, [{ kind: 'integers', low: 5, high: 0, count: 3 }]],
        [0, [{ kind: 'integers', low: -(2 ** 53) + 1, high: 2 ** 53 - 1, count: 3 }]],
        [0, [{ kind: 'permutation', n: 0 }]],
        [0, [{ kind: 'permutation', n: 2 ** 33 }]],
        [0, [{ kind: 'random', count: 2 ** 40 }]],
        [0, Array.from({ length: 100 }, () => ({ kind: 'random', count: 5e7 }))],
        [0, Array.from({ length: 100 }, () => ({ kind: 'standardNormal', count: 2e7 }))],
        [0, Array.from({ length: 5000 }, () => ({ kind: 'random', count: 1 }))],
        [2 ** 53 - 1, [{ kind: 'random', count: 1 }]],
      ],
    },
  );

  const umniOpts = { kappa: 1 };
  both(
    'umni',
    [{ x: sim(MN, 'x'), dsx: sim(MN, 'dsx') }, umniOpts],
    [
      slot([0], 'object'),
      slot([0, 'x'], 'nd', [3, 60, 3]),
      slot([0, 'dsx'], 'nd', [2, 60, 3]),
      slot([1], 'object'),
      slot([1, 'kappa'], 'count'),
      slot([1, 'intervention'], 'enum:hard'),
      slot([1, 'tolEigv'], 'real'),
      slot([1, 'tolCi'], 'real'),
      slot([1, 'tolUnmix'], 'real'),
      slot([1, 'order'], 'enum:l1'),
      slot([1, 'latents'], 'count'),
      slot([1, 'prefilter'], 'bool'),
    ],
    {
      options: [[1]],
      extra: [
        [{ x: sim({ ...MN, n: 5, d: 5 }, 'x'), dsx: sim({ ...MN, n: 5, d: 5 }, 'dsx') }, { kappa: 50 }],
        [{ x: sim({ ...MN, n: 5, d: 5 }, 'x'), dsx: sim({ ...MN, n: 5, d: 5 }, 'dsx') }, { kappa: 2 ** 31 }],
        [{ x: nd([1, 60, 3]), dsx: nd([0, 60, 3]) }, {}],
        [{ x: nd([21, 30, 21]), dsx: nd([20, 30, 21]) }, { kappa: 1 }],
      ],
    },
  );
  add(
    'umniGaussian',
    [{ covariances: COV3, samples: 100 }, { kappa: 1 }],
    [
      slot([0], 'object'),
      slot([0, 'covariances'], 'nd', [3, 3, 3]),
      slot([0, 'means'], 'nd', [3, 3]),
      slot([0, 'samples'], 'count'),
      slot([1, 'kappa'], 'count'),
      slot([1, 'centred'], 'bool'),
      slot([1, 'intervention'], 'enum:hard'),
    ],
    { options: [[1]], extra: [[{ covariances: nd([6, 6, 6], 'randn'), samples: 10 }, { kappa: 40 }]] },
  );
  add(
    'umniTrial',
    [{ n: 2, samples: 50, kappa: 1 }, 0],
    [
      slot([0], 'object'),
      slot([0, 'n'], 'count'),
      slot([0, 'd'], 'count'),
      slot([0, 'samples'], 'count'),
      slot([0, 'density'], 'real'),
      slot([0, 'factor'], 'real'),
      slot([0, 'targetDensity'], 'real'),
      slot([0, 'kappa'], 'count'),
      slot([0, 'scaleDecoder'], 'bool'),
      slot([0, 'intervention'], 'enum:soft'),
      slot([0, 'scores'], 'enum:gaussian'),
      slot([1], 'int'),
    ],
    {
      options: [[0]],
      extra: [
        [{ n: 5, samples: 100, kappa: 50 }, 0],
        [{ n: 40, samples: 100, kappa: 1 }, 0],
        [{ n: 2, samples: 1e15, kappa: 1 }, 0],
      ],
    },
  );

  const simSlots = [
    slot([0], 'object'),
    slot([0, 'n'], 'count'),
    slot([0, 'd'], 'count'),
    slot([0, 'samples'], 'count'),
    slot([0, 'seed'], 'int'),
    slot([0, 'density'], 'real'),
    slot([0, 'randomOrder'], 'bool'),
    slot([0, 'latent'], 'enum:linear'),
    slot([0, 'mlpHidden'], 'count'),
    slot([0, 'intervention'], 'enum:hard'),
    slot([0, 'softScale'], 'real'),
    slot([0, 'varianceChange'], 'enum:scale'),
    slot([0, 'varianceFactors'], 'extra'),
    slot([0, 'design'], 'enum:single-node'),
    slot([0, 'targetMatrix'], 'enum:identity'),
    slot([0, 'targetDensity'], 'real'),
    slot([0, 'transform'], 'enum:linear'),
    slot([0, 'scaleDecoder'], 'bool'),
    slot([0, 'conditionFloor'], 'real'),
    slot([0, 'transformLayers'], 'count'),
    slot([0, 'outputs'], 'object'),
  ];
  /** @type {Slot} */ (simSlots.find((s) => s.kind === 'extra')).values = [
    [],
    [0],
    [-1],
    [NaN_],
    [1, 2, 3, 4, 5],
    Inf,
    'x',
    [null],
    { length: 2 },
  ];
  const simExtra = [
    [{ n: 2, d: 3, samples: 2 ** 30, seed: 0 }],
    [{ n: 2, d: 3, samples: 2 ** 31, seed: 0 }],
    [{ n: 2, d: 3, samples: 2 ** 32, seed: 0 }],
    [{ n: 20, d: 100000, samples: 1e6, seed: 0 }],
    [{ n: 100000, samples: 1, seed: 0 }],
    [{ n: 3, samples: 10, seed: 0, latent: 'mlp', mlpHidden: 1e9 }],
    [{ n: 3, samples: 10, seed: 0, transform: 'tanh-mlp', transformLayers: 1e7 }],
    [{ n: 2, d: 3, samples: 10, seed: 0, outputs: { z: false, x: false, dsx: false } }],
    [{ n: 2, samples: 10, seed: 0, design: 'multi-node', varianceFactors: [0.5, 2, 3] }],
    [{ n: 2, samples: 10, seed: 0, design: 'two-hard-per-node', varianceFactors: [0.5, 2, 3] }],
    [{ n: 2, samples: 10, seed: 0, conditionFloor: 1 }],
    [{ n: 3, d: 3, samples: 10, seed: 0, latent: 'quadratic', density: 1 }],
  ];
  both('simulate', [{ ...S }], simSlots, {
    options: [[0]],
    extra: simExtra,
    asyncExtra: simExtra,
  });
  const scoreSlots = [
    slot([0], 'object'),
    slot([0, 'n'], 'count'),
    slot([1], 'enum:latentScore'),
    slot([2], 'count'),
    slot([3], 'object'),
    slot([3, 'z'], 'nd', [5, 2]),
  ];
  add('simulationScores', [{ n: 2, d: 3, seed: 1 }, 'latentScore', 1, { z: nd([5, 2]) }], scoreSlots, {
    options: [[0]],
    extra: [
      [{ n: 2, d: 3, seed: 1 }, 'observedScore', 0, { x: nd([5, 3]) }],
      [{ n: 2, d: 3, seed: 1 }, 'observedLogDensity', 0, { x: nd([5, 2]) }],
      [{ n: 2, d: 3, seed: 1 }, 'latentScore', 3, { z: nd([5, 2]) }],
      [{ n: 2, d: 3, seed: 1 }, 'latentScore', 0, { z: nd([5, 2]), x: nd([5, 3]) }],
      [{ n: 2, d: 3, seed: 1, transform: 'tanh' }, 'observedScore', 0, { x: nd([5, 3], 'huge') }],
      [{ n: 2, d: 3, seed: 1, design: 'two-hard-per-node' }, 'latentScoreDifference', 4, { z: nd([5, 2]) }],
    ],
  });
  add(
    'simulationTransform',
    [{ n: 2, d: 3, seed: 1 }, 'forward', nd([5, 2])],
    [slot([0], 'object'), slot([1], 'enum:forward'), slot([2], 'nd', [5, 2])],
    {
      extra: [
        [{ n: 2, d: 3, seed: 1 }, 'inverse', nd([5, 2])],
        [{ n: 2, d: 3, seed: 1, transform: 'tanh' }, 'inverse', nd([5, 3], 'huge')],
        [{ n: 2, d: 3, seed: 1, transform: 'tanh-mlp' }, 'jacobian', nd([5, 3])],
      ],
    },
  );

  add(
    'trial',
    [{ n: 2, d: 3, samples: 50 }, 0],
    [
      slot([0], 'object'),
      slot([0, 'n'], 'count'),
      slot([0, 'd'], 'count'),
      slot([0, 'samples'], 'count'),
      slot([0, 'latent'], 'enum:linear'),
      slot([0, 'density'], 'real'),
      slot([0, 'intervention'], 'enum:hard'),
      slot([0, 'factor'], 'real'),
      slot([0, 'design'], 'enum:single-node'),
      slot([0, 'transform'], 'enum:linear'),
      slot([0, 'estimator'], 'enum:gaussian'),
      slot([0, 'sampling'], 'enum:samples'),
      slot([0, 'algorithm'], 'enum:finite-sample'),
      slot([0, 'tolEigv'], 'real'),
      slot([0, 'randomOrder'], 'bool'),
      slot([1], 'int'),
    ],
    {
      options: [[0]],
      extra: [
        [{ n: 20, d: 100000, samples: 100 }, 0],
        [{ n: 2, d: 3, samples: 1e15, sampling: 'wishart' }, 0],
        [{ n: 2, d: 3, samples: 2 ** 40 }, 0],
        [{ n: 2, d: 3, samples: 50, latent: 'mlp' }, 0],
        [{ n: 2, d: 3, samples: 50, design: 'multi-node' }, 0],
        [{ n: 2, d: 3, samples: 1 }, 0],
      ],
    },
  );

  const lscaleSlots = [
    slot([0], 'object'),
    slot([0, 'x'], 'nd', [3, 40, 3]),
    slot([0, 'dsx'], 'nd', [2, 40, 3]),
    slot([1], 'object'),
    slot([1, 'intervention'], 'enum:hard'),
    slot([1, 'fullRank'], 'bool'),
    slot([1, 'edgeRule'], 'enum:adaptive'),
    slot([1, 'tolEdge'], 'real'),
    slot([1, 'tolEigv'], 'real'),
    slot([1, 'tolIntersection'], 'real'),
    slot([1, 'unmixing'], 'enum:predecessors'),
    slot([1, 'hardGraphFilter'], 'enum:auto'),
  ];
  const lscaleExtra = [
    [
      { x: X, scores: 'gaussian' },
      { intervention: 'hard', fullRank: true },
    ],
    [{ x: X, scores: 'gaussian', dsx: DSX }, {}],
    [{ x: X, scores: 'exact' }, {}],
    [{ covariances: COV3, scoreDiffCovariances: nd([2, 3, 3]) }, { fullRank: true }],
    [{ covariances: COV3, scoreDiffCovariances: nd([3, 3, 3]) }, {}],
    [{ covariances: COV3, scores: 'gaussian', means: nd([3, 3]), samples: -5 }, { intervention: 'hard' }],
    [{ covariances: COV3, scores: 'gaussian', means: nd([2, 7]) }, {}],
    [{ covariances: nd([1, 3, 3]), scores: 'gaussian' }, {}],
    [{ covariances: nd([3, 3, 4]), scores: 'gaussian' }, {}],
    [
      { covariances: nd([22, 21, 21]), scores: 'gaussian' },
      { intervention: 'hard', fullRank: true },
    ],
  ];
  both('lscale', [{ x: X, dsx: DSX }, {}], lscaleSlots, { options: [[1]], extra: lscaleExtra });
  add(
    'lscaleTrial',
    [{ seed: 0, n: 2, d: 3, samples: 100 }],
    [
      slot([0], 'object'),
      slot([0, 'seed'], 'int'),
      slot([0, 'n'], 'count'),
      slot([0, 'd'], 'count'),
      slot([0, 'samples'], 'count'),
      slot([0, 'density'], 'real'),
      slot([0, 'factor'], 'real'),
      slot([0, 'estimator'], 'enum:gaussian'),
      slot([0, 'sampling'], 'enum:samples'),
      slot([0, 'intervention'], 'enum:hard'),
      slot([0, 'scaleDecoder'], 'bool'),
    ],
    {
      options: [[0]],
      extra: [
        [{ seed: 0, n: 30, samples: 100 }],
        [{ seed: 0, n: 2, samples: 1e15, sampling: 'wishart' }],
        [{ seed: 0, n: 2, samples: 2 ** 40 }],
      ],
    },
  );
  both(
    'finiteSample',
    [{ dsx: DSX }, {}],
    [
      slot([0], 'object'),
      slot([0, 'dsx'], 'nd', [2, 40, 3]),
      slot([1], 'object'),
      slot([1, 'tolEigv'], 'real'),
      slot([1, 'tolOrth'], 'real'),
    ],
    {
      options: [[1]],
      extra: [
        [{ rxs: nd([2, 3, 3]) }, {}],
        [{ rxs: nd([2, 3, 4]) }, {}],
        [{ rxs: nd([4, 3, 3]) }, {}],
        [{ x: X, scores: 'gaussian' }, {}],
        [{ x: X }, {}],
        [{ x: X, dsx: DSX }, {}],
        [{ rxs: nd([25, 25, 25]) }, {}],
      ],
    },
  );

  /** @param {string} _method @param {Slot[]} extra */
  const estimatorSlots = (_method, extra) => [
    slot([0], 'nd', [3, 40, 3]),
    slot([1], 'object'),
    slot([1, 'method'], 'enum:gaussian'),
    slot([1, 'at'], 'nd', [5, 3]),
    slot([1, 'latents'], 'count'),
    ...extra,
  ];
  both('estimateScoreDifferences', [X, { method: 'gaussian' }], estimatorSlots('gaussian', [slot([1, 'centred'], 'bool')]), {
    options: [[1]],
    extra: [
      [X, { method: 'nope' }],
      [nd([1, 40, 3]), { method: 'gaussian' }],
      [X, { method: 'gaussian', latents: 50 }],
    ],
  });
  for (const method of ['logistic-quadratic', 'classifier-mlp', 'ssm']) {
    const opts = { method, ...LEARN_OPTS };
    both(
      `estimateScoreDifferences:${method}`,
      [X, opts],
      estimatorSlots(method, [
        slot([1, 'seed'], 'int'),
        slot([1, 'epochs'], 'iter'),
        slot([1, 'width'], 'count'),
        slot([1, 'hiddenLayers'], 'count'),
        slot([1, 'learningRate'], 'real'),
        slot([1, 'schedule'], 'enum:cosine'),
        slot([1, 'validationFraction'], 'real'),
        slot([1, 'batchSize'], 'count'),
        slot([1, 'patience'], 'iter'),
        slot([1, 'weightDecay'], 'real'),
        slot([1, 'projections'], 'count'),
        slot([1, 'quadraticHead'], 'bool'),
        slot([1, 'l2'], 'real'),
        slot([1, 'maxIterations'], 'iter'),
        slot([1, 'tolerance'], 'real'),
      ]),
      {
        options: [[1]],
        extra: [
          [X, { ...opts, width: 1e6, hiddenLayers: 1000 }],
          [X, { ...opts, batchSize: 1e12 }],
          [X, { ...opts, projections: 1e9 }],
          [X, { ...opts, latents: 3 }],
          [nd([3, 2, 3]), opts],
          [nd([3, 40, 40]), opts],
        ],
      },
    );
  }

  for (const name of ['transitiveClosure', 'transitiveReduction', 'isDag', 'topologicalOrder', 'closestDag']) {
    add(name, [GRAPH], [slot([0], 'nd', [2, 2])], {
      extra: [
        [SQ],
        [nd([3, 3], 'ones')],
        [nd([0, 0])],
        [nd([1, 1], 'ones')],
        [nd([25, 25], 'int01')],
        [nd([30, 30], 'int01')],
        [nd([64, 64], 'int01')],
        [nd([3, 3], 'huge')],
        [nd([3, 3], 'int')],
      ],
    });
  }
  add('compareGraphs', [GRAPH, GRAPH], [slot([0], 'nd', [2, 2]), slot([1], 'nd', [2, 2])], {
    extra: [
      [GRAPH, SQ],
      [nd([0, 0]), nd([0, 0])],
    ],
  });
  add('linearSumAssignment', [nd([3, 4]), {}], [slot([0], 'nd', [3, 4]), slot([1], 'object'), slot([1, 'maximize'], 'bool')], {
    extra: [
      [nd([4, 3]), {}],
      [nd([3, 4], 'inf'), {}],
      [nd([0, 4]), {}],
      [nd([300, 300]), {}],
      [nd([3, 4], 'huge'), { maximize: true }],
    ],
  });
  add(
    'meanCorrelationCoefficient',
    [nd([20, 2]), nd([20, 2], 'randn', { seed: 9 })],
    [slot([0], 'nd', [20, 2]), slot([1], 'nd', [20, 2])],
    {
      extra: [
        [nd([20, 2]), nd([20, 3])],
        [nd([20, 2], 'zeros'), nd([20, 2])],
        [nd([1, 2]), nd([1, 2])],
      ],
    },
  );
  add(
    'effectiveMixingError',
    [ENC, DEC, nd([2, 2], 'eye'), 0.05],
    [slot([0], 'nd', [2, 3]), slot([1], 'nd', [3, 2]), slot([2], 'nd', [2, 2]), slot([3], 'real')],
    {
      extra: [
        [ENC, ENC, nd([2, 2], 'eye')],
        [nd([2, 3], 'zeros'), DEC, nd([2, 2], 'eye')],
      ],
    },
  );
  add('allowedPattern', [GRAPH, false], [slot([0], 'nd', [2, 2]), slot([1], 'bool')]);
  add('relativeRmse', [nd([4, 3]), nd([4, 3], 'randn', { seed: 2 })], [slot([0], 'nd', [4, 3]), slot([1], 'nd', [4, 3])], {
    extra: [
      [nd([4, 3]), nd([4, 3], 'zeros')],
      [nd([0, 3]), nd([0, 3])],
    ],
  });

  add('learnedScoreModel', [{ $: 'learnedParams' }], [slot([0], 'extra')], {
    extra: [[nd([6], 'randn')], [{ $: 'f64', len: 3 }], [{ $: 'f64', len: 10, fill: 'ones' }]],
  });
  for (const method of ['logistic-quadratic', 'classifier-mlp', 'ssm']) {
    // evaluate/evaluateAsync of a fitted model, and of a model whose params were damaged.
    add(`model.evaluate:${method}`, [{ $: 'learnedParams', method }, nd([5, 3])], [slot([1], 'nd', [5, 3]), slot([0], 'extra')], {
      async: false,
      extra: [
        [patch({ $: 'learnedParams', method }, { 2: 1e9 }), nd([5, 3])],
        [patch({ $: 'learnedParams', method }, { 3: -1 }), nd([5, 3])],
        [patch({ $: 'learnedParams', method }, { 4: 2 ** 31 }), nd([5, 3])],
        [patch({ $: 'learnedParams', method }, { 5: NaN_ }), nd([5, 3])],
        [patch({ $: 'learnedParams', method }, { 6: 1e12 }), nd([5, 3])],
      ],
    });
    list[list.length - 1].slots[1].values = [nd([6], 'randn'), { $: 'f64', len: 7, fill: 'ones' }, { $: 'f64', len: 0 }];
    add(`model.evaluateAsync:${method}`, [{ $: 'learnedParams', method }, nd([5, 3])], [slot([1], 'nd', [5, 3])], {});
  }
  add(
    'learnedObjective',
    ['logistic-quadratic', { $: 'f64', len: 6 }, nd([8, 2]), nd([8, 1], 'int01')],
    [
      slot([0], 'enum:logistic-quadratic'),
      slot([1], 'extra'),
      slot([2], 'nd', [8, 2]),
      slot([3], 'nd', [8, 1]),
      slot([4], 'object'),
      slot([4, 'width'], 'count'),
      slot([4, 'hiddenLayers'], 'count'),
      slot([4, 'l2'], 'real'),
    ],
    {
      extra: [
        ['classifier-mlp', { $: 'f64', len: 30 }, nd([8, 2]), nd([8, 1], 'int01'), { width: 1e9 }],
        ['ssm', { $: 'f64', len: 30 }, nd([8, 2]), nd([16, 2]), { width: 3, hiddenLayers: 1e6 }],
        ['ssm', { $: 'f64', len: 30 }, nd([8, 2]), nd([16, 2]), { width: 3 }],
      ],
    },
  );
  list[list.length - 1].slots[1].values = [{ $: 'f64', len: 0 }, { $: 'f64', len: 1e6 }, null, nd([6]), { $: 'f64', len: 6, fill: 'nan' }];

  const gscaleSlots = [
    slot([0], 'object'),
    slot([0, 'x'], 'nd', [40, 3]),
    slot([0, 'dsxPairs'], 'nd', [2, 40, 3]),
    slot([0, 'dsxObs'], 'nd', [2, 40, 3]),
    slot([1], 'object'),
    slot([1, 'family'], 'enum:glm'),
    slot([1, 'hidden'], 'count'),
    slot([1, 'targetScale'], 'real'),
    slot([1, 'reconstructionWeight'], 'real'),
    slot([1, 'optimizer'], 'enum:adam'),
    slot([1, 'learningRate'], 'real'),
    slot([1, 'maxIterations'], 'iter'),
    slot([1, 'tolerance'], 'real'),
    slot([1, 'patience'], 'iter'),
    slot([1, 'decays'], 'iter'),
    slot([1, 'init'], 'enum:auto'),
    slot([1, 'seed'], 'int'),
    slot([1, 'clampEpsilon'], 'real'),
    slot([1, 'edgeRule'], 'enum:threshold'),
    slot([1, 'edgeThreshold'], 'real'),
    slot([1, 'historyEvery'], 'count'),
  ];
  const gscaleExtra = [
    [GS_INPUT, { ...GS_OPTS, family: 'mlp', hidden: 1e6 }],
    [GS_INPUT, { ...GS_OPTS, family: 'mlp', hidden: 2 ** 31 }],
    [GS_INPUT, { ...GS_OPTS, family: 'mlp', init: 'spectral' }],
    [GS_INPUT, { ...GS_OPTS, historyEvery: 1, maxIterations: 100 }],
    [{ x: nd([40, 1]), dsxPairs: nd([2, 40, 1]) }, GS_OPTS],
    [{ x: sim(GS, 'x0'), dsxPairs: sim(GS, 'pairs') }, GS_OPTS],
  ];
  both('gscale', [GS_INPUT, GS_OPTS], gscaleSlots, { options: [[1]], extra: gscaleExtra });
  const MODEL = { $: 'gscaleModel' };
  const modelSlot = [
    slot([0], 'object'),
    slot([0, 'family'], 'enum:glm'),
    slot([0, 'n'], 'count'),
    slot([0, 'd'], 'count'),
    slot([0, 'hidden'], 'count'),
    slot([0, 'clampEpsilon'], 'real'),
    slot([0, 'parameters'], 'extra'),
  ];
  const params = [{ $: 'f64', len: 0 }, { $: 'f64', len: 5 }, { $: 'f64', len: 6, fill: 'nan' }, nd([6]), null, [1, 2, 3, 4, 5, 6]];
  const modelOf = (/** @type {Record<string, Encoded>} */ set) => patch(MODEL, set);
  add('gscaleEncode', [MODEL, nd([5, 3], 'randn')], [...modelSlot.map((s) => ({ ...s, values: params })), slot([1], 'nd', [5, 3])], {
    extra: [
      [modelOf({ n: 1e9 }), nd([5, 3])],
      [modelOf({ d: 1e9 }), nd([5, 1e9], 'randn', { len: 5 })],
      [modelOf({ family: 'mlp', hidden: 1e9 }), nd([5, 3])],
      [MODEL, nd([5, 3], 'huge')],
    ],
  });
  add('gscaleDecode', [MODEL, nd([5, 2])], [...modelSlot.map((s) => ({ ...s, values: params })), slot([1], 'nd', [5, 2])], {
    extra: [
      [modelOf({ n: 1e9 }), nd([5, 2])],
      [modelOf({ family: 'mlp', hidden: 3 }), nd([5, 2])],
    ],
  });
  add(
    'gscaleLatentScoreDifferences',
    [MODEL, nd([5, 3]), nd([2, 5, 3])],
    [...modelSlot.map((s) => ({ ...s, values: params })), slot([1], 'nd', [5, 3]), slot([2], 'nd', [2, 5, 3])],
    {
      extra: [[MODEL, nd([5, 3]), nd([2, 6, 3])]],
    },
  );
  add(
    'gscaleLoss',
    [MODEL, { x: sim(GS, 'x0'), dsxPairs: sim(GS, 'pairs') }, {}],
    [
      ...modelSlot.map((s) => ({ ...s, values: params })),
      slot([1], 'object'),
      slot([1, 'x'], 'nd', [40, 3]),
      slot([1, 'dsxPairs'], 'nd', [2, 40, 3]),
      slot([2], 'object'),
      slot([2, 'targetScale'], 'real'),
      slot([2, 'reconstructionWeight'], 'real'),
      slot([2, 'gradient'], 'bool'),
    ],
  );
  for (const o of list)
    for (const s of o.slots)
      if (s.kind === 'extra' && !s.values) s.values = o.extra.map((e) => e[/** @type {number} an argument index */ (s.path[0])]);

  // Module helpers.
  add('module.ndarray', [{ $: 'f64', len: 6 }, [2, 3]], [slot([0], 'object'), slot([1], 'extra')], { async: false });
  list[list.length - 1].slots[1].values = [[2, 4], [-2, -3], [1.5, 4], [NaN_], [], [6], [2 ** 53, 0], null, 'x', [{}], [2 ** 31, 2 ** 31]];
  add('module.toRows', [nd([2, 3])], [slot([0], 'nd', [2, 3])], { async: false });
  add(
    'module.fromRows',
    [
      [
        [1, 2],
        [3, 4],
      ],
    ],
    [slot([0], 'extra')],
    { async: false },
  );
  list[list.length - 1].slots[0].values = [[[1, 2], [3]], [], [[]], null, 3, 'ab', [null], [[1, 'x']], [{ length: 2 ** 31 }]];
  add('module.sliceFirst', [nd([2, 3]), 1], [slot([0], 'nd', [2, 3]), slot([1], 'int')], { async: false });
  add('module.at', [nd([2, 3]), 1, 2], [slot([0], 'nd', [2, 3]), slot([1], 'int'), slot([2], 'int')], { async: false });
  add('module.gscalePairs', [nd([4, 5, 3])], [slot([0], 'nd', [4, 5, 3])], { async: false, extra: [[nd([3, 5, 3])], [nd([0, 5, 3])]] });
  add('module.loadBackend', [{ backend: 'wasm' }], [slot([0], 'object'), slot([0, 'backend'], 'enum:wasm')], { async: true });
  add('module.backendInfo', [{ backend: 'wasm' }], [slot([0], 'object'), slot([0, 'backend'], 'enum:native')], { async: true });
  return list;
}

/** Raw engine calls: what reaches the core when the typed layer is bypassed. */
const RAW_ARRAYS = [
  'x',
  'dsx',
  'a',
  'dag',
  'covariances',
  'means',
  'z',
  'cost',
  'truth',
  'estimate',
  'encoder',
  'decoder',
  'allowed',
  'graph',
  'model',
  'params',
  'y',
  'aux',
  'parameters',
  'dsxPairs',
  'rxs',
  'zTrue',
  'zEstimate',
  'scoreDiffCovariances',
  'varianceFactors',
  'at',
];
const RAW_NUMBERS = [
  'n',
  'd',
  'samples',
  'seed',
  'threads',
  'kappa',
  'latents',
  'hidden',
  'environment',
  'dimension',
  'epochs',
  'width',
  'hiddenLayers',
  'batchSize',
  'maxIterations',
  'mlpHidden',
  'transformLayers',
  'clampEpsilon',
  'K',
];
const RAW_STRINGS = {
  plan: ['random:3', 'random:-1', 'random:x', 'integers:5:0:3', 'permutation:99999999999', ''],
  method: ['ssm', 'foo'],
  family: ['glm', 'mlp', 'x'],
  quantity: ['latentScore', 'x'],
  map: ['forward', 'x'],
  scores: ['gaussian', 'x'],
  intervention: ['hard', 'x'],
  latent: ['linear', 'x'],
};

/**
 * @param {ReturnType<typeof rng>} r
 * @param {string[]} opNames
 * @param {number} count
 */
function rawCases(r, opNames, count) {
  /** @type {ApiCaseSpec[]} */
  const out = [];
  for (const op of opNames) {
    for (let k = 0; k < count; k++) {
      /** @type {Record<string, Encoded>} */
      const arrays = {};
      /** @type {Record<string, Encoded>} */
      const numbers = {};
      /** @type {Record<string, string>} */
      const strings = {};
      const na = r.int(4);
      for (let i = 0; i < na; i++) {
        const rank = r.int(4);
        const shape = Array.from({ length: rank }, () => r.pick([0, 1, 2, 3, 5, 40]));
        arrays[r.pick(RAW_ARRAYS)] = nd(shape, r.pick(['randn', 'randn', 'nan', 'zeros', 'int01']));
      }
      const nn = r.int(4);
      for (let i = 0; i < nn; i++) numbers[r.pick(RAW_NUMBERS)] = r.pick([-1, 0, 1, 2, 3, 1.5, NaN_, Inf, 2 ** 31, 1e15, true]);
      if (r.next() < 0.5) {
        const key = r.pick(/** @type {Array<keyof typeof RAW_STRINGS>} */ (Object.keys(RAW_STRINGS)));
        strings[key] = r.pick(RAW_STRINGS[key]);
      }
      out.push({ call: 'engine.call', args: [op, { arrays, numbers, strings }] });
    }
    out.push({ call: 'engine.call', args: [op, {}] });
    out.push({ call: 'engine.call', args: [op, { arrays: null, numbers: 'x', strings: 3 }] });
  }
  out.push({ call: 'engine.call', args: ['noSuchOp', {}] });
  out.push({ call: 'engine.call', args: [3, {}] });
  out.push({ call: 'engine.call', args: ['covariance', { arrays: { x: { data: [1, 2], shape: [1, 2] } } }] });
  out.push({ call: 'engine.call', args: ['covariance', { arrays: { x: { data: { $: 'f64', len: 4 }, shape: [2, 2, 0, 5] } } }] });
  return out;
}

/** Async interference: aborts, a throwing or non-function progress callback, close() and freed inputs during the call. */
/** @param {Op[]} list */
function interferenceCases(list) {
  /** @type {ApiCaseSpec[]} */
  const out = [];
  for (const o of list.filter((o) => isAsync(o.call) && !o.call.startsWith('module.'))) {
    const asyncArg = asyncIndexOf(o.call);
    const withAsync = (/** @type {Record<string, Encoded>} */ opts) => {
      const args = JSON.parse(JSON.stringify(o.args));
      args[asyncArg] = { ...(args[asyncArg] ?? {}), ...opts };
      return args;
    };
    out.push({ call: o.call, args: withAsync({ signal: { $: 'abortedSignal' } }), expect: 'error', note: 'aborted before the call' });
    out.push({ call: o.call, args: withAsync({ onProgress: { $: 'throwingFn' } }), note: 'onProgress throws' });
    out.push({ call: o.call, args: withAsync({ onProgress: 5 }), note: 'onProgress is not a function' });
    out.push({ call: o.call, args: withAsync({ signal: {} }), note: 'signal is not an AbortSignal' });
    out.push({ call: o.call, args: withAsync({ signal: 'x' }), note: 'signal is not an AbortSignal' });
    for (const during of ['abort', 'close', 'detach', 'release']) out.push({ call: o.call, args: withAsync({}), during, asyncArg });
  }
  // Long calls aborted early: the call must settle with an AbortError.
  for (const [call, args] of /** @type {Array<[string, Encoded[]]>} */ ([
    ['simulateAsync', [{ n: 5, d: 10, samples: 300000, seed: 0 }]],
    ['covarianceAsync', [nd([400000, 20])]],
    [
      'umniAsync',
      [{ x: sim({ ...MN, n: 4, d: 4, samples: 2000 }, 'x'), dsx: sim({ ...MN, n: 4, d: 4, samples: 2000 }, 'dsx') }, { kappa: 3 }],
    ],
    ['gscaleAsync', [GS_INPUT, { maxIterations: 200000 }]],
    ['estimateScoreDifferencesAsync:ssm', [X, { method: 'ssm', epochs: 100000 }]],
  ])) {
    const asyncArg = asyncIndexOf(call);
    out.push({ call, args, during: 'abort', asyncArg, note: 'long call aborted after 20 ms' });
    out.push({ call, args, during: 'close', asyncArg, note: 'close() during a long call' });
  }
  // Inputs that are the backend's own results, released (and their memory reused) during the call.
  const big = { n: 5, d: 10, samples: 50000, seed: 3 };
  out.push({ call: 'covarianceAsync', args: [sim(big, 'x0')], during: 'release', asyncArg: 1 });
  out.push({ call: 'covarianceAsync', args: [sim(big, 'x0')], during: 'detach', asyncArg: 1 });
  out.push({ call: 'scoreDiffCovarianceAsync', args: [sim(big, 'dsx')], during: 'release', asyncArg: 1 });
  out.push({ call: 'scoreDiffCovarianceAsync', args: [sim(big, 'dsx')], during: 'detach', asyncArg: 1 });
  return out;
}

/** Whether a call name is an async method ('covarianceAsync', 'estimateScoreDifferencesAsync:ssm'). */
/** @param {string} call */
export function isAsync(call) {
  return call.split(':')[0].endsWith('Async');
}

/** Index of the argument that holds { onProgress, signal } for an async call. */
/** @param {string} call */
export function asyncIndexOf(call) {
  const base = call.split(':')[0];
  if (base === 'gscaleAsync' || base === 'model.evaluateAsync') return 2;
  return 1;
}

/**
 * All API cases for one backend. `perSlot`: bad values tried per slot (all when Infinity);
 * `raw`: random raw engine calls per op.
 * @param {{ seed: number, backend: string, perSlot: number, raw: number, opNames: string[] }} options
 * @returns {ApiCase[]}
 */
export function apiCases({ seed, backend, perSlot, raw, opNames }) {
  /** @type {ApiCaseSpec[]} */
  const cases = [];
  const list = ops();
  for (const o of list) {
    const r = rng(hash(`${seed}:${backend}:${o.call}`));
    cases.push({ call: o.call, args: o.args, note: 'valid' });
    for (const s of o.slots) {
      const values = s.values ?? valuesFor(s);
      const chosen = perSlot >= values.length ? values : Array.from({ length: perSlot }, () => r.pick(values));
      for (const v of new Set(chosen.map((x) => JSON.stringify(x))))
        cases.push({ call: o.call, args: setAt(o.args, s.path, JSON.parse(v)) });
    }
    for (const path of o.options) {
      const keys = perSlot >= UNKNOWN_KEYS.length ? UNKNOWN_KEYS : [r.pick(UNKNOWN_KEYS)];
      for (const key of keys)
        cases.push({ call: o.call, args: setAt(o.args, [...path, key], 1), expect: 'error', note: `unknown option '${key}'` });
    }
    for (const e of o.extra) cases.push({ call: o.call, args: e });
    // Missing and extra arguments.
    if (o.args.length > 0) cases.push({ call: o.call, args: o.args.slice(0, -1) });
    cases.push({ call: o.call, args: [...o.args, { $: 'cyclic' }, 7] });
  }
  cases.push(...interferenceCases(list));
  cases.push(...rawCases(rng(hash(`${seed}:${backend}:raw`)), opNames, raw));
  return cases.map((c) => ({ target: 'api', backend, ...c }));
}

/**
 * A deep copy of args with the value at path set.
 * @param {Encoded[]} args
 * @param {Path} path
 * @param {Encoded} value
 * @returns {Encoded[]}
 */
function setAt(args, path, value) {
  const copy = JSON.parse(JSON.stringify(args));
  let o = copy;
  for (const k of path.slice(0, -1)) {
    if (o[k] === null || typeof o[k] !== 'object') o[k] = {};
    else if ('$' in o[k] && o[k].$ !== 'patch') return copy; // a generated value: leave it
    o = o[k];
  }
  // An own property even for '__proto__' (an assignment would set the prototype, or do nothing).
  Object.defineProperty(o, path[path.length - 1], { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** The engine's operation names (the same on both backends). */
export const ENGINE_OPS = [
  'allowedPattern',
  'closestDag',
  'compareGraphs',
  'covariance',
  'crossScoreDiffCovariance',
  'effectiveMixingError',
  'evaluateLearnedScoreDifferences',
  'finiteSample',
  'fitFiniteSample',
  'gaussianScoreDifferences',
  'gscale',
  'gscaleDecode',
  'gscaleEncode',
  'gscaleLatentScoreDifferences',
  'gscaleLoss',
  'isDag',
  'learnedObjective',
  'learnedScoreDifferences',
  'linearSumAssignment',
  'lscale',
  'lscaleTrial',
  'meanCorrelationCoefficient',
  'randomDraws',
  'relativeRmse',
  'releaseBuffers',
  'scoreDiffCovariance',
  'setThreads',
  'simulate',
  'simulationScores',
  'simulationTransform',
  'symmetricEigen',
  'topologicalOrder',
  'transitiveClosure',
  'transitiveReduction',
  'trial',
  'trialCovariances',
  'umni',
  'umniGaussian',
  'umniTrial',
];
