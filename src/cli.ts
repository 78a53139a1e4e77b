/**
 * `xcap-bridge <command> ...`: dispatches to the command modules in src/cli/. Each module is
 * imported only when its command runs; a command's `--help` is printed from src/cli/help.ts,
 * so it and a typo answer without loading the server, the sync engine and their libraries.
 */
import './fast-string-prototype.ts';
import type { Command } from './cli/command.ts';
import { EXIT_USAGE } from './cli/exit-codes.ts';
import * as help from './cli/help.ts';

interface CommandEntry {
  readonly name: string;
  /** One line for the top-level help. */
  readonly summary: string;
  /** What `<command> --help` prints. */
  readonly help: string;
  readonly load: () => Promise<Command>;
}

const commands: readonly CommandEntry[] = [
  { name: 'serve', summary: 'serve XCAP (and run sync bindings) until SIGTERM', help: help.SERVE_HELP, load: async () => (await import('./cli/serve.ts')).serveCommand },
  { name: 'user', summary: 'add, remove or list local users', help: help.USER_HELP, load: async () => (await import('./cli/user.ts')).userCommand },
  { name: 'worker', summary: 'run sync jobs from the Redis queue (scale out beside serve)', help: help.WORKER_HELP, load: async () => (await import('./cli/worker.ts')).workerCommand },
  { name: 'sync', summary: 'run a binding now, show sync status and conflicts, resolve conflicts', help: help.SYNC_HELP, load: async () => (await import('./cli/sync.ts')).syncCommand },
  { name: 'import', summary: 'import sql: copy a legacy XCAP server\'s documents (Kamailio, OpenSIPS, OpenXCAP)', help: help.IMPORT_HELP, load: async () => (await import('./cli/sql-migration.ts')).importCommand },
  { name: 'export', summary: 'export sql: write the documents back into a legacy xcap table (roll-back)', help: help.EXPORT_HELP, load: async () => (await import('./cli/sql-migration.ts')).exportCommand },
  { name: 'phonebook', summary: 'add, remove or list device tokens for the vendor phonebooks', help: help.PHONEBOOK_HELP, load: async () => (await import('./cli/phonebook.ts')).phonebookCommand },
  { name: 'sql', summary: 'sql install-triggers: the triggers a kind: sql connector needs on its table', help: help.SQL_HELP, load: async () => (await import('./cli/sql.ts')).sqlCommand },
  { name: 'check-config', summary: 'validate the config file and print the bindings it defines', help: help.CHECK_CONFIG_HELP, load: async () => (await import('./cli/check-config.ts')).checkConfigCommand },
];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: xcap-bridge <command> [options]',
    '',
    'An XCAP server (RFC 4825) and sync gateway.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `xcap-bridge <command> --help` for the options of a command.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version') {
    process.stdout.write('xcap-bridge 0.1.0\n');
    return 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    process.stderr.write(`xcap-bridge: unknown command "${name}"\n\n${usage()}\n`);
    return EXIT_USAGE;
  }
  if (asksHelp(rest)) {
    process.stdout.write(entry.help);
    return 0;
  }
  return (await entry.load()).run(rest);
}

/** `--help` or `-h` among the arguments before any `--` (the commands' parsers answer those with their help too). */
function asksHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/**
 * A command ends by closing what it opened, and the process then exits by itself (output
 * flushed). Should a connection still hold it (a Redis client left reconnecting, say), an
 * operator's SIGTERM must still end it: it exits, naming what was open.
 */
function exitIfStillHeld(code: number): void {
  setTimeout(() => {
    const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
    process.stderr.write(`xcap-bridge: exiting; still open ${LEFT_OPEN_MS / 1000} s after the command ended: ${open.join(', ')}\n`);
    process.exit(code);
  }, LEFT_OPEN_MS).unref();
}
const LEFT_OPEN_MS = 5000;

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    exitIfStillHeld(code);
  },
  (err: unknown) => {
    process.stderr.write(`xcap-bridge: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
    exitIfStillHeld(1);
  },
);
