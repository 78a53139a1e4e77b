import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { ConfigError, loadConfig, type ConfigOverrides } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { EXIT_OK, EXIT_USAGE } from './exit-codes.ts';

export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.ts';

/** The shape of every subcommand; `src/cli.ts` lists them (name, summary) and loads one on use. */
export interface Command {
  readonly name: string;
  /** Runs with the arguments after the command name; resolves with the exit code. */
  run(argv: string[]): Promise<number>;
}

/** Values parseArgs yields for `options` (string or boolean per option, possibly absent). */
type ParsedValues<O extends ParseArgsOptionsConfig> = {
  [K in keyof O]?: O[K] extends { type: 'boolean' } ? boolean : string;
};

/**
 * Parses a command's arguments the same way for every command: `--help` prints `help` and
 * ends with 0; an unknown or malformed option prints the error and `help` and ends with 2.
 * Returns the parsed values, or the exit code to end with.
 */
export function parseCommandArgs<O extends ParseArgsOptionsConfig>(
  name: string,
  help: string,
  argv: string[],
  options: O,
  allowPositionals = false,
): { values: ParsedValues<O>; positionals: string[] } | number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).message}\n\n${help}`);
    return EXIT_USAGE;
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(help);
    return EXIT_OK;
  }
  return { values: parsed.values as ParsedValues<O>, positionals: parsed.positionals };
}

/** The store options of the commands that open the documents' database (parseArgs spec). */
export const STORE_OPTIONS = {
  data: { type: 'string' },
  store: { type: 'string' },
  'database-url': { type: 'string' },
} as const satisfies ParseArgsOptionsConfig;

/** Config overrides from STORE_OPTIONS values; a bad `--store` is printed as `name: ...` and becomes exit code 2. */
export function storeOverrides(name: string, values: { data?: string | undefined; store?: string | undefined; 'database-url'?: string | undefined }): ConfigOverrides | number {
  if (values.store !== undefined && values.store !== 'sqlite' && values.store !== 'postgres') {
    process.stderr.write(`${name}: --store must be sqlite or postgres, got "${values.store}"\n`);
    return EXIT_USAGE;
  }
  return { dataDir: values.data, store: values.store, databaseUrl: values['database-url'] };
}

/** Loads the configuration; a ConfigError is printed as `name: ...` and becomes exit code 2. */
export function loadCommandConfig(name: string, file: string | undefined, overrides?: ConfigOverrides): (Config & { file: string | undefined }) | number {
  try {
    return loadConfig(file, overrides);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${name}: invalid configuration:\n${err.message}\n`);
    return EXIT_USAGE;
  }
}
