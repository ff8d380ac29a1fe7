import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../backend/paths.js';
import { ConfigError } from '../sweep/config.js';
import { describeFileError, FileError, isFileSystemError } from '../sweep/files.js';
import { DataError } from '../sweep/readers.js';
import { registerFit } from './fit.js';
import { registerInfo } from './info.js';
import { registerMerge } from './merge.js';
import { registerReport } from './report.js';
import { registerSimulate } from './simulate.js';
import { registerSweep } from './sweep.js';

/** Exit codes: 0 success, 1 the work failed, 2 bad usage or input. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** An error in what the user asked for (exit code 2). */
export class UsageError extends Error {}

/** Ends the command with a given exit code (e.g. 130 after SIGINT) and an optional message. */
export class ExitCode extends Error {
  constructor(
    readonly code: number,
    message = '',
  ) {
    super(message);
  }
}

/** Values of --backend (and SCORECRL_BACKEND). */
export const BACKEND_CHOICES = ['native', 'wasm', 'auto'] as const;

/** Errors in what the user gave (arguments, data, config, paths): exit code 2. */
function isUsageError(error: unknown): boolean {
  return error instanceof UsageError || error instanceof ConfigError || error instanceof DataError || error instanceof FileError;
}

export function buildProgram(): Command {
  const version = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).version as string;
  const program = new Command('scorecrl')
    .description('Score-based causal representation learning: simulate, fit and sweep on a C++/Eigen core')
    .version(version)
    .addOption(
      new Option('--backend <name>', 'core backend (default: SCORECRL_BACKEND or auto)').choices(BACKEND_CHOICES as unknown as string[]),
    )
    .showHelpAfterError()
    .exitOverride()
    .hook('preAction', () => {
      // An unknown SCORECRL_BACKEND is a usage error before any work, like an unknown --backend.
      const env = process.env.SCORECRL_BACKEND?.trim();
      if (program.opts().backend === undefined && env && !(BACKEND_CHOICES as readonly string[]).includes(env)) {
        throw new UsageError(`SCORECRL_BACKEND must be one of ${BACKEND_CHOICES.join(', ')}, got '${env}'`);
      }
    });
  registerInfo(program);
  registerSweep(program);
  registerReport(program);
  registerMerge(program);
  registerFit(program);
  registerSimulate(program);
  return program;
}

/** Runs the CLI and returns the exit code (errors go to stderr). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit with code 0; parse errors were already printed.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (error instanceof ExitCode) {
      if (error.message) process.stderr.write(`scorecrl: ${error.message}\n`);
      return error.code;
    }
    // A file-system error that reached here without naming its path in words (e.g. a full disk): name it.
    if (isFileSystemError(error)) {
      process.stderr.write(`scorecrl: ${describeFileError(error)}\n`);
      return EXIT_USAGE;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`scorecrl: ${message}\n`);
    return isUsageError(error) ? EXIT_USAGE : EXIT_FAILURE;
  }
}
