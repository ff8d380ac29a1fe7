// One error model: the core's failures carry a code (the same on both
// backends, sync and async), every error scorecrl throws is a ScorecrlError
// with `code` and `op`, and the CLI maps codes to exit status in one place.
import { describe, expect, it } from 'vitest';
import { exitStatusOf } from '../src/cli/main.js';
import { ExitCode } from '../src/cli/exit.js';
import { AbortError, ConfigError, DataError, FileError, ScorecrlError, UsageError } from '../src/index.js';
import { BACKENDS, backend } from './helpers/backends.js';
import { rejection, thrown } from './helpers/errors.js';

describe.each(BACKENDS)('error codes on %s', (name) => {
  const x = { data: Float64Array.from({ length: 40 * 3 }, (_, i) => Math.sin(i * 0.7) + (i % 3)), shape: [40, 3] };

  it('invalid input is invalid-argument, naming the op, sync and async alike', async () => {
    const crl = await backend(name);
    const nan = { data: x.data.slice(), shape: x.shape };
    nan.data[4] = NaN;
    for (const error of [thrown(() => crl.covariance(nan)), await rejection(crl.covarianceAsync(nan))]) {
      expect(error).toBeInstanceOf(ScorecrlError);
      expect(error).toMatchObject({ name: 'ScorecrlError', code: 'invalid-argument', op: 'covariance' });
      expect(error.message).toMatch(/^covariance: 'x' contains NaN/);
    }
    // An argument the binding itself cannot read has the same code.
    const raw = thrown(() => crl.engine.call('covariance', { arrays: { x: { data: [1, 2] as never, shape: [2, 1] } } }));
    expect(raw).toMatchObject({ code: 'invalid-argument', op: 'covariance' });
  });

  it('a request past the memory limit is out-of-memory', async () => {
    const crl = await backend(name);
    const config = { n: 2, d: 3, samples: 2 ** 31, seed: 1 };
    expect(thrown(() => crl.simulate(config))).toMatchObject({ code: 'out-of-memory', op: 'simulate' });
    expect(await rejection(crl.simulateAsync(config))).toMatchObject({ code: 'out-of-memory', op: 'simulate' });
  });

  it('valid input on which the method finds no answer is no-solution', async () => {
    const crl = await backend(name);
    const sim = crl.simulate({ n: 3, d: 4, samples: 400, seed: 2, design: 'multi-node' });
    const tiny = { data: sim.dsx!.data.map((v) => v * 1e-9), shape: sim.dsx!.shape };
    const error = thrown(() => crl.umni({ x: sim.x!, dsx: tiny }, { kappa: 1 }));
    expect(error).toMatchObject({ code: 'no-solution', op: 'umni' });
    expect(error.message).toMatch(/no weight vector in \{-1\.\.1\}\^3 isolates a latent/);
  });

  it('an aborted call is an AbortError with code cancelled', async () => {
    const crl = await backend(name);
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(crl.covarianceAsync(x, { signal: controller.signal }));
    expect(error).toBeInstanceOf(AbortError);
    expect(error).toBeInstanceOf(ScorecrlError);
    expect(error).toMatchObject({ name: 'AbortError', code: 'cancelled', op: 'covariance', message: 'covariance: cancelled' });
  });
});

describe('the CLI maps codes to exit status in one place', () => {
  it('what the user gave is 2, a failure on valid input 1, a requested code itself', () => {
    expect(exitStatusOf(new UsageError('bad flag'))).toBe(2);
    expect(exitStatusOf(new DataError('bad data'))).toBe(2);
    expect(exitStatusOf(new ConfigError('bad config'))).toBe(2);
    expect(exitStatusOf(new FileError('cannot write', '/x', 'ENOSPC'))).toBe(2);
    expect(exitStatusOf(new ScorecrlError('simulate: too large', 'simulate', 'invalid-argument'))).toBe(2);
    expect(exitStatusOf(new ScorecrlError('simulate: out of memory', 'simulate', 'out-of-memory'))).toBe(2);
    expect(exitStatusOf(new ScorecrlError('umni: no weight vector', 'umni', 'no-solution'))).toBe(1);
    expect(exitStatusOf(new ScorecrlError('the worker stopped', 'lscale', 'internal'))).toBe(1);
    expect(exitStatusOf(Object.assign(new Error('ENOSPC'), { code: 'ENOSPC', syscall: 'write' }))).toBe(2);
    expect(exitStatusOf(new ExitCode(130))).toBe(130);
    expect(exitStatusOf(new Error('unexpected'))).toBe(1);
  });
});
