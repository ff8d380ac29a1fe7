/** Helpers shared by the sweep, report, merge, fit and simulate commands. */
import { InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../backend/paths.js';
import { ConfigError } from '../sweep/config.js';
import { parseDecimal } from '../io/numbers.js';
import { UsageError } from '../errors.js';
import { ExitCode } from './exit.js';

/** Runs `fn`, turning input errors (ConfigError, RangeError/TypeError from validation) into UsageError (exit 2). */
export async function asUsage<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/** A comma-separated list of strings. */
export function stringList(value: string): string[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (list.length === 0) throw new InvalidArgumentError('expected a comma-separated list');
  return list;
}

/** A comma-separated list of numbers (1e3 and 10^3.5 forms accepted; 10^x is truncated to an integer). */
export function numberList(value: string): number[] {
  return stringList(value).map((s) => {
    const power = /^10\^([-+]?\d+(?:\.\d+)?)$/.exec(s);
    const v = power ? Math.trunc(10 ** Number(power[1])) : parseDecimal(s);
    if (!Number.isFinite(v)) throw new InvalidArgumentError(`'${s}' is not a number`);
    return v;
  });
}

export function booleanList(value: string): boolean[] {
  return stringList(value).map((s) => {
    if (/^(true|yes|1|on)$/i.test(s)) return true;
    if (/^(false|no|0|off)$/i.test(s)) return false;
    throw new InvalidArgumentError(`'${s}' is not true or false`);
  });
}

export function integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const v = parseDecimal(value);
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      throw new InvalidArgumentError(`${name} must be a whole number in ${min}..${max === Number.MAX_SAFE_INTEGER ? '' : max}`);
    }
    return v;
  };
}

export function positiveNumber(value: string): number {
  const v = parseDecimal(value);
  if (!Number.isFinite(v) || v <= 0) throw new InvalidArgumentError('must be a positive number');
  return v;
}

export function packageVersion(): string {
  return JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).version as string;
}

/** Exit status for a run stopped by a signal (128 + signal number, as shells report it). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 1;
}

/**
 * Runs `work` with an AbortSignal that SIGINT and SIGTERM trigger. When a
 * signal cancels the work, ends with ExitCode 130/143 ("<what> cancelled");
 * other errors pass through.
 */
export async function cancellableBySignals<T>(what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    stoppedBy = signal;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work(controller.signal);
  } catch (error) {
    if (stoppedBy && error instanceof Error && /cancel/i.test(error.message)) {
      throw new ExitCode(signalExitCode(stoppedBy), `${what} cancelled`);
    }
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Progress lines on stderr for a stage of long work, at most one every
 * `seconds` (plus the first and the last); nothing when not enabled.
 */
export function progressPrinter(enabled: boolean, stage: string, seconds = 2): (fraction: number, message?: string) => void {
  let last = -Infinity;
  return (fraction, message) => {
    if (!enabled) return;
    const now = performance.now();
    if (now - last < seconds * 1000 && fraction < 1) return;
    last = now;
    process.stderr.write(`${stage}: ${(100 * fraction).toFixed(0)}%${message ? ` (${message})` : ''}\n`);
  };
}
