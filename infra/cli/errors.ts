/** Exit codes of the `saltpipe` command (documented in its --help and the README). */
export const EXIT = {
  /** The command did what was asked (a deploy it followed succeeded). */
  OK: 0,
  /** The operation failed: the master refused it, or the deploy failed. */
  FAILED: 1,
  /** Bad usage, or the stack or its master could not be reached. */
  USAGE: 2,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error that ends the command with `code` and a message saying what to do. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: ExitCode = EXIT.USAGE,
  ) {
    super(message);
  }
}
