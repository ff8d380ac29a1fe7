import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../backend/paths.js';
import { type ErrorCode, errorCode, UsageError } from '../errors.js';
import { describeFileError, isFileSystemError } from '../io/files.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, ExitCode } from './exit.js';
import { registerFit } from './fit.js';
import { registerInfo } from './info.js';
import { registerK8s } from './k8s.js';
import { registerMerge } from './merge.js';
import { registerReport } from './report.js';
import { registerSimulate } from './simulate.js';
import { registerSlurm } from './slurm.js';
import { registerSweep } from './sweep.js';

/** Values of --backend (and SCORECRL_BACKEND). */
export const BACKEND_CHOICES = ['native', 'wasm', 'auto'] as const;

/** Exit status by error code: what the user gave (arguments, data, config, paths, sizes) is 2; a failure on valid input 1. */
const EXIT_BY_CODE: Record<ErrorCode, number> = {
  usage: EXIT_USAGE,
  'invalid-config': EXIT_USAGE,
  'invalid-data': EXIT_USAGE,
  file: EXIT_USAGE,
  'invalid-argument': EXIT_USAGE,
  'out-of-memory': EXIT_USAGE,
  unsupported: EXIT_USAGE,
  'no-solution': EXIT_FAILURE,
  internal: EXIT_FAILURE,
  cancelled: EXIT_FAILURE,
};

/** The exit status for an error that ended a command (the only place errors are mapped to exit codes). */
export function exitStatusOf(error: unknown): number {
  if (error instanceof ExitCode) return error.code;
  if (isFileSystemError(error)) return EXIT_USAGE;
  const code = errorCode(error);
  return code === undefined ? EXIT_FAILURE : EXIT_BY_CODE[code];
}

export function buildProgram(): Command {
  const version = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).version as string;
  const program = new Command('scorecrl')
    .description('Score-based causal representation learning: simulate, fit and sweep on a C++/Eigen core')
    .version(version)
    .addOption(
      new Option('--backend <name>', 'core backend (default: SCORECRL_BACKEND or auto)').choices(BACKEND_CHOICES as unknown as string[]),
    )
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
  registerSlurm(program);
  registerK8s(program);
  hintAfterUsageErrors(program, 'scorecrl');
  return program;
}

/** After a usage error each command prints one line naming its help, not the whole help text. */
function hintAfterUsageErrors(command: Command, path: string): void {
  command.showHelpAfterError(`(run '${path} --help' for the usage)`);
  for (const sub of command.commands) hintAfterUsageErrors(sub, `${path} ${sub.name()}`);
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
    // A file-system error that reached here without naming its path in words (e.g. a full disk): name it.
    const message = isFileSystemError(error) ? describeFileError(error) : error instanceof Error ? error.message : String(error);
    if (message) process.stderr.write(`scorecrl: ${message}\n`);
    return exitStatusOf(error);
  }
}
