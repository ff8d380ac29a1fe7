/**
 * The errors scorecrl throws, in one place. Each has a `code` saying what kind
 * of failure it is; the core's codes are the same on the native and the WASM
 * backend. Argument errors found before the core runs stay `TypeError` /
 * `RangeError` (their message names the function and the argument).
 *
 * | code               | class           | meaning                                                        |
 * |--------------------|-----------------|----------------------------------------------------------------|
 * | `invalid-argument` | ScorecrlError   | the core cannot use the input as given (shape, value, NaN/Inf) |
 * | `out-of-memory`    | ScorecrlError   | past the per-call memory limit, or the system refused          |
 * | `unsupported`      | ScorecrlError   | a configuration the operation does not handle                  |
 * | `no-solution`      | ScorecrlError   | valid input on which the method found no answer                |
 * | `internal`         | ScorecrlError   | a failure of scorecrl itself (a backend that stopped, a trap)  |
 * | `cancelled`        | AbortError      | an `...Async` call aborted through its signal                  |
 * | `invalid-data`     | DataError       | a data file that cannot be read as data (CLI, readers)         |
 * | `invalid-config`   | ConfigError     | a sweep config or flag value that is not valid                 |
 * | `usage`            | UsageError      | a command used wrongly                                         |
 * | `file`             | FileError       | a file-system problem with a path the user gave                |
 */

/** What kind of failure an error is. */
export type ErrorCode =
  | 'invalid-argument'
  | 'out-of-memory'
  | 'unsupported'
  | 'no-solution'
  | 'internal'
  | 'cancelled'
  | 'invalid-data'
  | 'invalid-config'
  | 'usage'
  | 'file';

/** The codes the core (either backend) reports. */
export const CORE_ERROR_CODES: readonly ErrorCode[] = [
  'invalid-argument',
  'out-of-memory',
  'unsupported',
  'no-solution',
  'internal',
  'cancelled',
];

/** An error from scorecrl: `code` says what kind, `op` which core operation (when one was running). */
export class ScorecrlError extends Error {
  readonly code: ErrorCode;
  readonly op: string | undefined;
  constructor(message: string, op?: string, code: ErrorCode = 'internal', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ScorecrlError';
    this.op = op;
    this.code = code;
  }
}

/** An `...Async` call cancelled through its `signal` (name 'AbortError', as the DOM's). */
export class AbortError extends ScorecrlError {
  constructor(op: string) {
    super(`${op}: cancelled`, op, 'cancelled');
    this.name = 'AbortError';
  }
}

/** A problem with the user's data (the CLI exits with code 2). */
export class DataError extends ScorecrlError {
  constructor(message: string) {
    super(message, undefined, 'invalid-data');
    this.name = 'DataError';
  }
}

/** A bad config or flag (the CLI exits with code 2). */
export class ConfigError extends ScorecrlError {
  constructor(message: string) {
    super(message, undefined, 'invalid-config');
    this.name = 'ConfigError';
  }
}

/** A command used wrongly (the CLI exits with code 2). */
export class UsageError extends ScorecrlError {
  constructor(message: string) {
    super(message, undefined, 'usage');
    this.name = 'UsageError';
  }
}

/** A file-system problem with a path the user gave (the CLI exits with code 2); `systemCode` is Node's (ENOENT, ...). */
export class FileError extends ScorecrlError {
  constructor(
    message: string,
    readonly path: string,
    readonly systemCode?: string,
  ) {
    super(message, undefined, 'file');
    this.name = 'FileError';
  }
}

/** A core failure as the Error the engines throw: an AbortError when the call was cancelled. */
export function errorOf(op: string, message: string, code: string | undefined): Error {
  const known = (CORE_ERROR_CODES as readonly string[]).includes(code ?? '') ? (code as ErrorCode) : 'internal';
  return known === 'cancelled' ? new AbortError(op) : new ScorecrlError(message, op, known);
}

/** The error's code when it is one of scorecrl's, else undefined. */
export function errorCode(error: unknown): ErrorCode | undefined {
  return error instanceof ScorecrlError ? error.code : undefined;
}
