import { call, present } from './call.js';
import type { Engine } from '../backend/engine.js';

/** One step of a draw plan, executed in order on one generator. */
export type Draw =
  | { kind: 'random'; count: number }
  | { kind: 'standardNormal'; count: number }
  | { kind: 'integers'; low: number; high: number; count: number }
  | { kind: 'permutation'; n: number };

function step(draw: Draw): string {
  if (typeof draw !== 'object' || draw === null) throw new TypeError(`randomDraws: each step of 'plan' must be an object { kind, ... }`);
  const whole = (name: string, v: number) => {
    if (!Number.isSafeInteger(v)) throw new RangeError(`randomDraws: '${name}' must be an integer, got ${v}`);
    return String(v);
  };
  switch (draw.kind) {
    case 'random':
    case 'standardNormal':
      return `${draw.kind}:${whole('count', draw.count)}`;
    case 'integers':
      return `integers:${whole('low', draw.low)}:${whole('high', draw.high)}:${whole('count', draw.count)}`;
    case 'permutation':
      return `permutation:${whole('n', draw.n)}`;
    default:
      throw new RangeError(`randomDraws: unknown draw kind '${(draw as { kind: string }).kind}'`);
  }
}

/**
 * Draws from a generator identical to `numpy.random.default_rng(seed)`
 * (PCG64 + SeedSequence; NumPy's ziggurat for normals), running the steps in
 * order on one stream. Returns one Float64Array per step.
 */
export function randomDraws(engine: Engine, seed: number, plan: Draw[]): Float64Array[] {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`randomDraws: 'seed' must be a non-negative integer`);
  if (!Array.isArray(plan))
    throw new TypeError(`randomDraws: 'plan' must be an array of draw steps, e.g. [{ kind: 'standardNormal', count: 10 }]`);
  if (plan.length === 0) throw new RangeError(`randomDraws: 'plan' must have at least one step`);
  const out = call(engine, 'randomDraws', { numbers: { seed }, strings: { plan: plan.map(step).join(';') } }).arrays;
  return plan.map((_, i) => present(out[`draw${i}`], 'randomDraws', `draw${i}`).data);
}
