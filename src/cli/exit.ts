/** Exit codes of the CLI; `exitStatusOf` in main.ts is the one place errors are mapped to them. */
export const EXIT_OK = 0;
/** The work failed on valid input (the method found no answer, or scorecrl itself failed). */
export const EXIT_FAILURE = 1;
/** Bad usage or input: flags, data, config, paths, sizes past the memory limit. */
export const EXIT_USAGE = 2;
/** The inputs were valid but incomplete: `merge` found trials missing (and was not given --allow-partial). */
export const EXIT_INCOMPLETE = 3;
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;

/** Ends the command with a given exit code (e.g. 130 after SIGINT) and an optional message. */
export class ExitCode extends Error {
  constructor(
    readonly code: number,
    message = '',
  ) {
    super(message);
  }
}
