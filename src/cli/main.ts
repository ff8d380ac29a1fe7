import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../backend/paths.js';
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

export function buildProgram(): Command {
  const version = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).version as string;
  const program = new Command('scorecrl')
    .description('Score-based causal representation learning: simulate, fit and sweep on a C++/Eigen core')
    .version(version)
    .option('--backend <name>', "core backend: 'native', 'wasm' or 'auto' (default: SCORECRL_BACKEND or auto)")
    .showHelpAfterError()
    .exitOverride();
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
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`scorecrl: ${message}\n`);
    return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  }
}
