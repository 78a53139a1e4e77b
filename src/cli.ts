/**
 * `xcap-bridge <command> ...`: dispatches to the command modules in src/cli/.
 */
import { EXIT_USAGE, type Command } from './cli/command.ts';
import { serveCommand } from './cli/serve.ts';
import { userCommand } from './cli/user.ts';
import { workerCommand } from './cli/worker.ts';
import { syncCommand } from './cli/sync.ts';
import { checkConfigCommand } from './cli/check-config.ts';

const commands: Command[] = [serveCommand, userCommand, workerCommand, syncCommand, checkConfigCommand];

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
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`xcap-bridge: unknown command "${name}"\n\n${usage()}\n`);
    return EXIT_USAGE;
  }
  return cmd.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`xcap-bridge: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
