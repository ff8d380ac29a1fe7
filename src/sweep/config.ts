/**
 * Sweep configuration: a grid of trial settings ("cells") times a number of
 * seeded runs per cell.
 *
 * A config file is JSON:
 *
 * ```json
 * { "seed": 0, "runs": 100,
 *   "grid": { "nd": [[3, 3], [5, 15]], "samples": [1000, 10000],
 *             "estimator": ["gaussian", "exact"], "tolEigv": 0.01 } }
 * ```
 *
 * Every cell field (see `Cell`) may appear in `grid` as one value or a list
 * of values; the cells are the cartesian product of the lists. `(n, d)` pairs
 * come either from `nd` (a list of pairs) or from the product of the lists
 * `n` and `d` (`d` defaults to `n`). Fields left out take the defaults of the
 * default sweep, the NeurIPS 2024 sample-complexity experiment.
 */
import { createHash } from 'node:crypto';
import {
  ALGORITHM_IDS,
  ALGORITHMS,
  algorithmSpec,
  algorithmsWith,
  DESIGNS,
  ESTIMATORS,
  INTERVENTIONS,
  LATENT_MODELS,
  LEARNED_ESTIMATORS,
  listing,
  TRANSFORMS,
  type AlgorithmId,
} from '../algorithms.js';
import { ConfigError } from '../errors.js';
import { DEFAULT_TRIAL } from '../ops/trial.js';

// What each algorithm takes (designs, transforms, estimators, latent models) is in src/algorithms.ts.
export const VARIANCE_CHANGES = ['scale', 'add'] as const;
export const SAMPLINGS = ['samples', 'wishart'] as const;

/** `estimator X runs with algorithms ..., not <algorithm>`: what a sweep of `algorithm` says of estimators it does not take. */
function estimatorRefused(estimators: readonly string[], algorithm: string): string {
  return `estimator ${estimators.join(', ')} runs with algorithms ${listing(algorithmsWith('sweep', estimators), 'and')}, not ${algorithm}`;
}

/** The cell's estimator for the trials that take only 'gaussian' or 'exact' (checkSupported rejects the others first). */
export function plainEstimator(cell: { estimator: string; algorithm: string }): 'gaussian' | 'exact' {
  if (cell.estimator === 'gaussian' || cell.estimator === 'exact') return cell.estimator;
  throw new ConfigError(estimatorRefused([cell.estimator], cell.algorithm));
}

/** One grid point: everything a trial needs except its seed. */
export interface Cell {
  /** Latent dimension. */
  n: number;
  /** Observed dimension (>= n). */
  d: number;
  /** Samples per environment. */
  samples: number;
  /** Latent SCM mechanisms. */
  latent: (typeof LATENT_MODELS)[number];
  /** Edge probability of the Erdős–Rényi DAG. */
  density: number;
  /** Relabel the nodes by a random permutation (random topological order). */
  randomOrder: boolean;
  /** Hard (mechanism removed) or soft (mechanism halved) interventions. */
  intervention: (typeof INTERVENTIONS)[number];
  /** Factor applied to the intervened node's noise variance. */
  factor: number;
  /** How the factor changes the variance: v * factor or v + factor. */
  varianceChange: (typeof VARIANCE_CHANGES)[number];
  /** Intervention design (single-node: environment k intervenes one node). */
  design: (typeof DESIGNS)[number];
  /** Assign environments to nodes in a random order. */
  randomInterventionOrder: boolean;
  /** Mixing transform x = g(z). */
  transform: (typeof TRANSFORMS)[number];
  /** Scale decoder columns to max |entry| 1. */
  scaleDecoder: boolean;
  /** Smallest sigma_min / sigma_max of the decoder's n x n block. */
  conditionFloor: number;
  /** Score-difference estimator: Gaussian plug-in, exact (simulation only), or a learned one (finite-sample, lscale, gscale). */
  estimator: (typeof ESTIMATORS)[number];
  /** Latent moments from N drawn samples, or drawn directly from their exact (Wishart) distribution. */
  sampling: (typeof SAMPLINGS)[number];
  /** CRL algorithm. */
  algorithm: AlgorithmId;
  /** Eigenvalue tolerance of the finite-sample algorithm (ranks). */
  tolEigv: number;
  /** Orthogonality tolerance of the finite-sample algorithm (edges). */
  tolOrth: number;
}

export type CellField = keyof Cell;

/** Default values of every cell field: the NeurIPS 2024 sample-complexity experiment. */
export const DEFAULT_CELL: Omit<Cell, 'n' | 'd' | 'samples'> = { ...DEFAULT_TRIAL };

export const DEFAULT_ND: [number, number][] = [
  [3, 3],
  [3, 15],
  [5, 5],
  [5, 15],
  [10, 10],
  [10, 15],
];
/** 10^2.5, 10^3, ..., 10^5, truncated to integers as in the reference experiment. */
export const DEFAULT_SAMPLES = [316, 1000, 3162, 10000, 31622, 100000];
export const DEFAULT_RUNS = 100;
export const DEFAULT_SEED = 0;

/** Order of the fields in a cell (also the order of the grid's loops, outermost first). */
export const CELL_FIELDS: CellField[] = [
  'n',
  'd',
  'samples',
  'latent',
  'density',
  'randomOrder',
  'intervention',
  'factor',
  'varianceChange',
  'design',
  'randomInterventionOrder',
  'transform',
  'scaleDecoder',
  'conditionFloor',
  'estimator',
  'sampling',
  'algorithm',
  'tolEigv',
  'tolOrth',
];

/** A grid: each field a list of values; (n, d) as a list of pairs. */
export interface Grid {
  nd: [number, number][];
  samples: number[];
  fields: { [K in Exclude<CellField, 'n' | 'd' | 'samples'>]: Cell[K][] };
}

export interface SweepConfig {
  /** Sweep seed: every trial's seed derives from it, its cell and its run index. */
  seed: number;
  /** Runs (independent seeded trials) per cell. */
  runs: number;
  grid: Grid;
}

export { ConfigError };

export function defaultConfig(): SweepConfig {
  const fields = Object.fromEntries(Object.entries(DEFAULT_CELL).map(([k, v]) => [k, [v]])) as unknown as Grid['fields'];
  return {
    seed: DEFAULT_SEED,
    runs: DEFAULT_RUNS,
    grid: { nd: DEFAULT_ND.map(([n, d]) => [n, d]), samples: [...DEFAULT_SAMPLES], fields },
  };
}

// ---------------------------------------------------------------------------
// Validation of single values

type Kind = 'int' | 'positive' | 'probability' | 'nonnegative' | 'boolean' | readonly string[];

const FIELD_KINDS: Record<Exclude<CellField, 'n' | 'd'>, Kind> = {
  samples: 'int',
  latent: LATENT_MODELS,
  density: 'probability',
  randomOrder: 'boolean',
  intervention: INTERVENTIONS,
  factor: 'positive',
  varianceChange: VARIANCE_CHANGES,
  design: DESIGNS,
  randomInterventionOrder: 'boolean',
  transform: TRANSFORMS,
  scaleDecoder: 'boolean',
  conditionFloor: 'probability',
  estimator: ESTIMATORS,
  sampling: SAMPLINGS,
  algorithm: ALGORITHM_IDS,
  tolEigv: 'nonnegative',
  tolOrth: 'nonnegative',
};

function checkValue(where: string, kind: Kind, value: unknown): unknown {
  if (Array.isArray(kind)) {
    if (typeof value !== 'string' || !kind.includes(value)) {
      throw new ConfigError(`${where}: '${String(value)}' is not one of ${kind.join(', ')}`);
    }
    return value;
  }
  switch (kind) {
    case 'boolean':
      if (typeof value !== 'boolean') throw new ConfigError(`${where}: expected true or false, got ${JSON.stringify(value)}`);
      return value;
    case 'int':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
        throw new ConfigError(`${where}: expected a positive whole number, got ${JSON.stringify(value)}`);
      }
      return value;
    default: {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new ConfigError(`${where}: expected a number, got ${JSON.stringify(value)}`);
      }
      if (kind === 'positive' && !(value > 0)) throw new ConfigError(`${where}: must be > 0, got ${value}`);
      if (kind === 'nonnegative' && !(value >= 0)) throw new ConfigError(`${where}: must be >= 0, got ${value}`);
      if (kind === 'probability' && !(value >= 0 && value <= 1)) {
        throw new ConfigError(`${where}: must be in [0, 1], got ${value}`);
      }
      return value;
    }
  }
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

function checkList(where: string, kind: Kind, value: unknown): unknown[] {
  const list = asList(value);
  if (list.length === 0) throw new ConfigError(`${where}: the list is empty`);
  const seen = new Set<string>();
  return list.map((v, i) => {
    const checked = checkValue(`${where}[${i}]`, kind, v);
    const key = JSON.stringify(checked);
    if (seen.has(key)) throw new ConfigError(`${where}: ${key} appears twice`);
    seen.add(key);
    return checked;
  });
}

function checkDims(where: string, n: unknown, d: unknown): [number, number] {
  for (const [name, v] of [
    ['n', n],
    ['d', d],
  ] as const) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      throw new ConfigError(`${where}: ${name} must be a positive whole number, got ${JSON.stringify(v)}`);
    }
  }
  if ((d as number) < (n as number)) throw new ConfigError(`${where}: d (${d}) must be >= n (${n})`);
  if ((n as number) > 20) throw new ConfigError(`${where}: n = ${n} is too large (at most 20 latents)`);
  return [n as number, d as number];
}

/** Parses "3x15" or "3" (d = n). */
export function parseNd(text: string): [number, number] {
  const m = /^\s*(\d+)\s*(?:[x×,:]\s*(\d+))?\s*$/.exec(text);
  if (!m) throw new ConfigError(`--nd: '${text}' is not a pair like 3x15`);
  const n = Number(m[1]);
  return checkDims(`--nd ${text}`, n, m[2] === undefined ? n : Number(m[2]));
}

// ---------------------------------------------------------------------------
// Building a config from a JSON object and from flags

// '$schema': an editor's pointer to a JSON Schema for the file; like name and description, it does not change the sweep.
const TOP_LEVEL = new Set(['seed', 'runs', 'grid', 'name', 'description', '$schema']);

function checkSeed(where: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ConfigError(`${where}: the seed must be a non-negative whole number, got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkRuns(where: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > 1_000_000) {
    throw new ConfigError(`${where}: runs must be a whole number in 1..1000000, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Applies grid entries (from a file's "grid" object or from flags) on top of `config`. */
export function applyGrid(config: SweepConfig, grid: Record<string, unknown>, where: string): SweepConfig {
  const next: SweepConfig = structuredClone(config);
  const has = (k: string) => Object.hasOwn(grid, k) && grid[k] !== undefined;
  for (const key of Object.keys(grid)) {
    if (grid[key] === undefined) continue;
    if (key !== 'nd' && key !== 'n' && key !== 'd' && !(key in FIELD_KINDS)) {
      throw new ConfigError(`${where}: unknown grid field '${key}' (known: nd, n, d, ${Object.keys(FIELD_KINDS).join(', ')})`);
    }
  }
  if (has('nd') && (has('n') || has('d'))) {
    throw new ConfigError(`${where}: give either 'nd' (a list of [n, d] pairs) or 'n'/'d', not both`);
  }
  if (has('nd')) {
    const list = grid.nd;
    if (!Array.isArray(list) || list.length === 0) throw new ConfigError(`${where}.nd: expected a non-empty list of [n, d] pairs`);
    const pairs = list.map((p, i) => {
      if (typeof p === 'string') return parseNd(p);
      if (!Array.isArray(p) || p.length !== 2) throw new ConfigError(`${where}.nd[${i}]: expected [n, d], got ${JSON.stringify(p)}`);
      return checkDims(`${where}.nd[${i}]`, p[0], p[1]);
    });
    const keys = pairs.map((p) => p.join('x'));
    const dup = keys.find((k, i) => keys.indexOf(k) !== i);
    if (dup) throw new ConfigError(`${where}.nd: ${dup} appears twice`);
    next.grid.nd = pairs;
  } else if (has('n') || has('d')) {
    const ns = has('n') ? checkList(`${where}.n`, 'int', grid.n) : [...new Set(next.grid.nd.map(([n]) => n))];
    const ds = has('d') ? checkList(`${where}.d`, 'int', grid.d) : undefined;
    const pairs: [number, number][] = [];
    for (const n of ns as number[]) {
      for (const d of (ds ?? [n]) as number[]) pairs.push(checkDims(`${where} (n=${n}, d=${d})`, n, d));
    }
    next.grid.nd = pairs;
  }
  if (has('samples')) {
    const list = checkList(`${where}.samples`, 'int', grid.samples) as number[];
    for (const N of list) {
      if (N < 2) throw new ConfigError(`${where}.samples: each environment needs at least 2 samples, got ${N}`);
      if (N > 100_000_000) throw new ConfigError(`${where}.samples: ${N} is too many (at most 1e8)`);
    }
    next.grid.samples = list;
  }
  for (const [key, kind] of Object.entries(FIELD_KINDS)) {
    if (key === 'samples' || !has(key)) continue;
    (next.grid.fields as Record<string, unknown[]>)[key] = checkList(`${where}.${key}`, kind, grid[key]);
  }
  return next;
}

/** A config from a parsed JSON file (fields left out take the defaults). */
export function configFromJson(json: unknown, where = 'config'): SweepConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(`${where}: expected a JSON object with 'seed', 'runs' and 'grid'`);
  }
  const obj = json as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!TOP_LEVEL.has(key)) throw new ConfigError(`${where}: unknown field '${key}' (known: ${[...TOP_LEVEL].join(', ')})`);
  }
  if (obj.$schema !== undefined && typeof obj.$schema !== 'string') {
    throw new ConfigError(`${where}.$schema: expected a string (a JSON Schema's URL or path), got ${JSON.stringify(obj.$schema)}`);
  }
  let config = defaultConfig();
  if (obj.seed !== undefined) config.seed = checkSeed(`${where}.seed`, obj.seed);
  if (obj.runs !== undefined) config.runs = checkRuns(`${where}.runs`, obj.runs);
  if (obj.grid !== undefined) {
    if (typeof obj.grid !== 'object' || obj.grid === null || Array.isArray(obj.grid)) {
      throw new ConfigError(`${where}.grid: expected an object of field -> value or list of values`);
    }
    config = applyGrid(config, obj.grid as Record<string, unknown>, `${where}.grid`);
  }
  return config;
}

/** Overrides of seed and runs from flags. */
export function applyTopLevel(config: SweepConfig, seed?: unknown, runs?: unknown): SweepConfig {
  const next = structuredClone(config);
  if (seed !== undefined) next.seed = checkSeed('--seed', seed);
  if (runs !== undefined) next.runs = checkRuns('--runs', runs);
  return next;
}

/** The config as a plain JSON object (the form written to result files; `configFromJson` reads it back). */
export function configToJson(config: SweepConfig): { seed: number; runs: number; grid: Record<string, unknown> } {
  const grid: Record<string, unknown> = { nd: config.grid.nd, samples: config.grid.samples };
  for (const field of CELL_FIELDS) {
    if (field === 'n' || field === 'd' || field === 'samples') continue;
    grid[field] = config.grid.fields[field as keyof Grid['fields']];
  }
  return { seed: config.seed, runs: config.runs, grid };
}

// ---------------------------------------------------------------------------
// Cells, keys, seeds, plan

/** JSON with the cell's fields in CELL_FIELDS order: the cell's identity. */
export function canonicalCell(cell: Cell): string {
  return JSON.stringify(Object.fromEntries(CELL_FIELDS.map((f) => [f, cell[f]])));
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A short stable key of a cell (16 hex digits of the SHA-256 of its canonical JSON). */
export function cellKey(cell: Cell): string {
  return sha256(canonicalCell(cell)).slice(0, 16);
}

/**
 * The seed of run `run` of `cell` in a sweep seeded `sweepSeed`: 52 bits of
 * SHA-256 over the three. It depends on nothing else (not the grid's other
 * cells, the order of execution, the worker count or the shard), so the same
 * trial gives the same result in any sweep that contains it.
 */
export function trialSeed(sweepSeed: number, cell: Cell, run: number): number {
  return parseInt(sha256(`scorecrl-trial|${sweepSeed}|${canonicalCell(cell)}|${run}`).slice(0, 13), 16);
}

/** All cells of the grid, outermost loop (n, d), then samples, then the other fields in CELL_FIELDS order. */
export function expandCells(config: SweepConfig): Cell[] {
  let partial: Partial<Cell>[] = [];
  for (const [n, d] of config.grid.nd) for (const samples of config.grid.samples) partial.push({ n, d, samples });
  for (const field of CELL_FIELDS) {
    if (field === 'n' || field === 'd' || field === 'samples') continue;
    const values = config.grid.fields[field as keyof Grid['fields']] as unknown[];
    partial = partial.flatMap((p) => values.map((v) => ({ ...p, [field]: v })));
  }
  return partial as Cell[];
}

/** One trial of the plan. */
export interface Trial {
  /** `<cellKey>/<run>`: unique within a sweep. */
  id: string;
  /** Position in the plan (cells in grid order, runs inside). */
  index: number;
  cell: Cell;
  cellKey: string;
  run: number;
  seed: number;
}

/** Trials of the sweep (cells times runs). */
export function countTrials(config: SweepConfig, shard?: Shard): number {
  return shardSize(expandCells(config).length * config.runs, shard);
}

/** How many of `total` plan positions shard k/N holds (positions k-1, k-1+N, ...). */
export function shardSize(total: number, shard: Shard | undefined): number {
  if (!shard || shard.count <= 1) return total;
  return total >= shard.index ? Math.floor((total - shard.index) / shard.count) + 1 : 0;
}

/**
 * Every trial of the sweep in plan order, or only those of `shard` (only
 * those are built: a shard of a huge sweep costs its own size, not the sweep's).
 */
export function planTrials(config: SweepConfig, shard?: Shard): Trial[] {
  const trials: Trial[] = [];
  const count = shard && shard.count > 1 ? shard.count : 1;
  const first = count > 1 ? shard!.index - 1 : 0;
  let index = 0;
  for (const cell of expandCells(config)) {
    const key = cellKey(cell);
    // The first plan position at or after `index` that belongs to the shard.
    let run = (((first - index) % count) + count) % count;
    index += run;
    for (; run < config.runs; run += count, index += count) {
      trials.push({ id: `${key}/${run}`, index, cell, cellKey: key, run, seed: trialSeed(config.seed, cell, run) });
    }
    index -= run - config.runs; // back to the cell's end
  }
  return trials;
}

/** Identity of a sweep: SHA-256 over its seed, runs and cells (16 hex digits). Shards of one sweep share it. */
export function sweepId(config: SweepConfig): string {
  const cells = expandCells(config).map(canonicalCell);
  return sha256(JSON.stringify({ seed: config.seed, runs: config.runs, cells })).slice(0, 16);
}

/** Fields that take more than one value in the grid (n and d count if the pairs differ). */
export function varyingFields(config: SweepConfig): CellField[] {
  const out: CellField[] = [];
  if (new Set(config.grid.nd.map(([n]) => n)).size > 1) out.push('n');
  if (new Set(config.grid.nd.map(([, d]) => d)).size > 1) out.push('d');
  if (config.grid.samples.length > 1) out.push('samples');
  for (const field of CELL_FIELDS) {
    if (field === 'n' || field === 'd' || field === 'samples') continue;
    if ((config.grid.fields[field as keyof Grid['fields']] as unknown[]).length > 1) out.push(field);
  }
  return out;
}

/** The algorithms that can share a sweep (GSCALE-I's cells go in a sweep of their own: `checkGscale`). */
const SHARING = ALGORITHMS.filter((a) => a.id !== 'gscale');

/** Values of each field the trials of finite-sample, lscale and umni run (others are rejected before a sweep starts). */
export const SUPPORTED: Partial<Record<CellField, readonly unknown[]>> = {
  transform: [...new Set(SHARING.flatMap((a) => a.transforms))],
  design: [...new Set(SHARING.map((a) => a.design))],
};

/**
 * True if a finite-sample or lscale cell runs in a fused core trial (latent moments only, no N×d
 * arrays): a linear SCM with Gaussian plug-in or exact scores (lscale: also the default condition
 * floor and variance change). Other cells run materialised: simulated arrays, the estimator
 * trained on them, the algorithm on the score differences; far slower per trial.
 */
export function fusedTrial(cell: Cell): boolean {
  if (cell.latent !== 'linear' || (cell.estimator !== 'gaussian' && cell.estimator !== 'exact')) return false;
  if (cell.algorithm === 'lscale') return cell.conditionFloor === DEFAULT_CELL.conditionFloor && cell.varianceChange === 'scale';
  return true;
}

/** Throws ConfigError if a grid value is not supported by the trial yet. */
export function checkSupported(config: SweepConfig): void {
  const { algorithm, design, sampling, estimator, latent } = config.grid.fields;
  if (algorithm.includes('gscale')) {
    checkGscale(config);
    return;
  }
  for (const a of algorithm) {
    const spec = algorithmSpec(a);
    const refused = estimator.filter((e) => !spec.sweep.estimators.includes(e));
    if (refused.length > 0) {
      throw new ConfigError(`${estimatorRefused(refused, a)} (${spec.title} takes ${listing(spec.sweep.estimators, 'or')})`);
    }
  }
  // LSCALE-I takes any latent model (nonlinear ones run materialised); finite-sample and umni the linear SCM.
  const restricted = algorithm.filter((a) => latent.some((l) => !algorithmSpec(a).sweep.latents.includes(l)));
  if (restricted.length > 0) {
    const supported = LATENT_MODELS.filter((l) => restricted.every((a) => algorithmSpec(a).sweep.latents.includes(l)));
    const others = LATENT_MODELS.filter((l) => !supported.includes(l));
    const takers = ALGORITHMS.filter((a) => others.every((l) => a.sweep.latents.includes(l))).map((a) => a.id);
    throw new ConfigError(
      `latent = ${latent.filter((l) => !supported.includes(l)).join(', ')} is not supported by the sweep's trial yet with algorithm ${restricted.join(', ')} ` +
        `(supported: ${supported.join(', ')}; ${listing(takers, 'and')} take ${others.join(', ')})`,
    );
  }
  for (const [field, allowed] of Object.entries(SUPPORTED)) {
    const values = config.grid.fields[field as keyof Grid['fields']] as unknown[];
    const bad = values.filter((v) => !allowed!.includes(v));
    if (bad.length > 0) {
      throw new ConfigError(
        `${field} = ${bad.map(String).join(', ')} is not supported by the sweep's trial yet (supported: ${allowed!.join(', ')})`,
      );
    }
  }
  // Each algorithm runs on its own design (UMNI-CRL multi-node, from sampled moments; finite-sample and LSCALE-I single-node).
  for (const a of algorithm) {
    const needs = algorithmSpec(a).design;
    const bad = design.filter((d) => d !== needs);
    if (bad.length > 0) {
      throw new ConfigError(`algorithm ${a} runs on design ${needs}, not ${bad.join(', ')} (sweep them separately)`);
    }
  }
  if (sampling.includes('wishart')) {
    const drawing = algorithm.find((a) => !algorithmSpec(a).sweep.wishart);
    if (drawing) throw new ConfigError(`algorithm ${drawing} draws the samples (sampling 'samples'), not 'wishart'`);
    const materialised = expandCells(config).find((c) => c.sampling === 'wishart' && !fusedTrial(c));
    if (materialised) {
      throw new ConfigError(
        `sampling 'wishart' draws the latent moments of the fused trials; the cell with algorithm ${materialised.algorithm}, ` +
          `estimator ${materialised.estimator}, latent ${materialised.latent}` +
          (materialised.algorithm === 'lscale'
            ? `, conditionFloor ${materialised.conditionFloor}, varianceChange ${materialised.varianceChange}`
            : '') +
          ` simulates its samples (use sampling 'samples')`,
      );
    }
  }
}

/**
 * GSCALE-I cells: two hard interventions per node and a nonlinear transform (the glm family
 * learns x = tanh(U z); 'tanh-mlp' data are fitted with the mlp family). Other algorithms go in
 * a separate sweep.
 */
function checkGscale(config: SweepConfig): void {
  const { algorithm, design, sampling, transform, intervention } = config.grid.fields;
  const gscale = algorithmSpec('gscale');
  const others = algorithm.filter((a) => a !== 'gscale');
  if (others.length > 0) {
    throw new ConfigError(`algorithm gscale runs on design ${gscale.design}, ${others.join(', ')} do not (sweep them separately)`);
  }
  const badDesign = design.filter((d) => d !== gscale.design);
  if (badDesign.length > 0) {
    throw new ConfigError(
      `algorithm gscale needs design ${gscale.design} (two hard interventions per node), not ${badDesign.join(', ')}; ` +
        `add "design": "${gscale.design}" (--design ${gscale.design})`,
    );
  }
  const badTransform = transform.filter((t) => !gscale.transforms.includes(t));
  if (badTransform.length > 0) {
    throw new ConfigError(
      `algorithm gscale needs a nonlinear transform (${listing(gscale.transforms, 'or')}), not ${badTransform.join(', ')}; ` +
        `add "transform": "${gscale.transforms[0]}" (--transform ${gscale.transforms[0]}), or use lscale/finite-sample for linear mixing`,
    );
  }
  const badIntervention = intervention.filter((i) => !gscale.interventions.includes(i));
  if (badIntervention.length > 0) {
    const needs = gscale.interventions.join(', ');
    throw new ConfigError(`algorithm gscale needs ${needs} interventions (intervention '${needs}'), not ${badIntervention.join(', ')}`);
  }
  if (sampling.includes('wishart') && !gscale.sweep.wishart) {
    throw new ConfigError(`algorithm gscale draws the samples (sampling 'samples'), not 'wishart'`);
  }
  if (config.grid.fields.factor.includes(1)) {
    throw new ConfigError(`algorithm gscale: factor 1 makes the two interventions on a node equal (they use factor and 1/factor)`);
  }
}

/** Rough relative cost of a trial (for scheduling longest first and for a cost-weighted ETA). */
export function trialCost(cell: Cell): number {
  const envs = cell.design === 'two-hard-per-node' ? 2 * cell.n + 1 : cell.n + 1;
  const perSample = cell.transform === 'linear' && cell.latent === 'linear' ? 1 : 20 * cell.d;
  const sampling = cell.sampling === 'wishart' ? envs * cell.n * cell.n * 10 : cell.samples * envs * cell.n * perSample;
  const algorithm = 40 * cell.n * cell.n * cell.d * cell.d * cell.d;
  // Materialised trials form the (n+1)×N×d observations; learned estimators train on them.
  const linearFamily = cell.algorithm === 'finite-sample' || cell.algorithm === 'lscale';
  const arrays = linearFamily && !fusedTrial(cell) ? 4 * cell.samples * envs * cell.d : 0;
  const training = (LEARNED_ESTIMATORS as readonly string[]).includes(cell.estimator) ? 200 * cell.samples * envs * cell.d : 0;
  return sampling + algorithm + arrays + training + 20_000;
}

// ---------------------------------------------------------------------------
// Shards

export interface Shard {
  /** 1-based index. */
  index: number;
  count: number;
}

/** Parses "k/N" (1 <= k <= N). */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new ConfigError(`--shard: '${text}' is not of the form k/N (e.g. 2/8)`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new ConfigError(`--shard ${text}: N must be at least 1`);
  if (index < 1 || index > count) {
    throw new ConfigError(`--shard ${text}: k must be in 1..${count} (shards are numbered from 1)`);
  }
  return { index, count };
}

/** The trials of shard k/N: every N-th trial of the plan, starting at the (k-1)-th. */
export function shardTrials(trials: Trial[], shard: Shard | undefined): Trial[] {
  if (!shard || shard.count === 1) return trials;
  return trials.filter((t) => t.index % shard.count === shard.index - 1);
}
