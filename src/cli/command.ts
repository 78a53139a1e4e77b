/** The shape of every subcommand; `src/cli.ts` dispatches on `name`. */
export interface Command {
  readonly name: string;
  /** One line for the top-level help. */
  readonly summary: string;
  /** Runs with the arguments after the command name; resolves with the exit code. */
  run(argv: string[]): Promise<number>;
}

/** Exit codes shared by all commands. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
/** Bad usage or bad configuration. */
export const EXIT_USAGE = 2;
