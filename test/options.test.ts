// Options and arguments the API must refuse by name rather than ignore or
// misread: misspelt option names, malformed draw plans, shapes that do not
// describe their data.
import { describe, expect, it } from 'vitest';
import { at, ndarray, sliceFirst } from '../src/index.js';
import { BACKENDS, backend } from './helpers/backends.js';

describe.each(BACKENDS)('option names on %s', (name) => {
  it('a misspelt option is an error naming it and the known ones, for every algorithm and trial', async () => {
    const crl = await backend(name);
    const sim = crl.simulate({ n: 3, d: 4, samples: 200, seed: 3 });
    const data = { x: sim.x!, dsx: sim.dsx! };
    const cases: [string, () => unknown][] = [
      ['lscale', () => crl.lscale(data, { intervention: 'hard', tolEdges: 0.1 } as never)],
      ['finiteSample', () => crl.finiteSample({ dsx: sim.dsx! }, { tolOrthogonal: 0.1 } as never)],
      ['umni', () => crl.umni(data, { kapa: 2 } as never)],
      ['umniTrial', () => crl.umniTrial({ n: 3, samples: 200, kapa: 2 } as never, 1)],
      ['lscaleTrial', () => crl.lscaleTrial({ seed: 1, n: 3, samples: 200, sample: 10 } as never)],
      ['trial', () => crl.trial({ n: 3, d: 3, samples: 200, tolOrthogonal: 0.1 } as never, 1)],
      ['gscale', () => crl.gscale({ x: sim.x!, dsxPairs: sim.dsx!, dsxObs: sim.dsx! } as never, { iterations: 3 } as never)],
    ];
    for (const [op, call] of cases) {
      expect(call, op).toThrow(new RegExp(`^${op}: unknown option '\\w+' \\(known: `));
    }
  });

  it('options that are not an object are a TypeError', async () => {
    const crl = await backend(name);
    const sim = crl.simulate({ n: 3, d: 4, samples: 200, seed: 3 });
    expect(() => crl.umni({ x: sim.x!, dsx: sim.dsx! }, 5 as never)).toThrow(TypeError);
    expect(() => crl.finiteSample({ dsx: sim.dsx! }, [] as never)).toThrow(/'options' must be an object, got an array/);
  });

  it('randomDraws refuses a plan that is not an array of steps', async () => {
    const crl = await backend(name);
    expect(() => crl.randomDraws(0, {} as never)).toThrow(/randomDraws: 'plan' must be an array/);
    expect(() => crl.randomDraws(0, [null] as never)).toThrow(/randomDraws: each step of 'plan' must be an object/);
    expect(crl.randomDraws(0, [{ kind: 'random', count: 3 }])[0]).toHaveLength(3);
  });
});

describe('array helpers', () => {
  it('ndarray refuses negative or fractional sizes even when their product matches the data', () => {
    expect(() => ndarray(new Float64Array(6), [-2, -3])).toThrow(/non-negative integers/);
    expect(() => ndarray(new Float64Array(3), [1.5, 2])).toThrow(/non-negative integers/);
    expect(ndarray(new Float64Array(6), [2, 3]).shape).toEqual([2, 3]);
  });

  it('sliceFirst needs an index inside the first axis', () => {
    const a = ndarray(Float64Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
    expect(() => sliceFirst(a, undefined as never)).toThrow(/index must be an integer in \[0, 3\)/);
    expect(() => sliceFirst(a, 3)).toThrow(RangeError);
    expect(() => sliceFirst(ndarray(new Float64Array(3), [3]), 0)).toThrow(/rank >= 2/);
    expect(Array.from(sliceFirst(a, 1).data)).toEqual([3, 4]);
  });

  it('at reads inside a 2-d array only, and names a bad index', () => {
    const a = ndarray(Float64Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
    expect(at(a, 2, 1)).toBe(6);
    expect(() => at(a, 1n as never, 0)).toThrow(/at: row index 1 is not an integer in \[0, 3\)/);
    expect(() => at(a, 0, 2)).toThrow(/at: column index 2 is not an integer in \[0, 2\)/);
    expect(() => at(a, -1, 0)).toThrow(RangeError);
    expect(() => at(ndarray(new Float64Array(3), [3]), 0, 0)).toThrow(/'a' must be a 2-d NDArray/);
  });
});
