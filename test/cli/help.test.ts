/**
 * `xcap-bridge <command> --help` prints the command's help without loading the command: no
 * module of the server, the sync engine or a database driver, no package at all. Every
 * command the top-level help lists is tried; the modules the process loads are reported by
 * a load hook given to Node before the CLI.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'src', 'cli.ts');
/** Writes `loaded <url>` to stderr for every module the process loads after it. */
const REPORT_LOADS = `data:text/javascript,${encodeURIComponent(
  "import { registerHooks } from 'node:module'; registerHooks({ load(url, context, next) { process.stderr.write('loaded ' + url + '\\n'); return next(url, context); } });",
)}`;
/** What printing a command's help may load. */
const HELP_MODULES = ['src/cli.ts', 'src/fast-string-prototype.ts', 'src/cli/exit-codes.ts', 'src/cli/help.ts'];

function run(args: string[]): { status: number | null; stdout: string; loaded: string[] } {
  const r = spawnSync(process.execPath, ['--import', REPORT_LOADS, CLI, ...args], { cwd: ROOT, encoding: 'utf8' });
  const loaded = [...r.stderr.matchAll(/^loaded (\S+)$/gm)]
    .map((m) => m[1] as string)
    .filter((url) => !url.startsWith('node:'))
    .map((url) => (url.startsWith(`file://${ROOT}/`) ? url.slice(`file://${ROOT}/`.length) : url));
  return { status: r.status, stdout: r.stdout, loaded };
}

const commands = [...run(['--help']).stdout.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1] as string);

describe('<command> --help', () => {
  it('the top-level help lists the commands', () => {
    expect(commands).toEqual(expect.arrayContaining(['serve', 'user', 'worker', 'sync', 'check-config']));
  });

  it.each(commands)('%s --help prints its usage and loads nothing of the command', (name) => {
    const r = run([name, '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: xcap-bridge ${name}\\b`));
    expect(r.loaded.filter((m) => !HELP_MODULES.includes(m))).toEqual([]);
  });

  it('a subcommand\'s --help too (user add --help), and -h', () => {
    for (const args of [['user', 'add', '--help'], ['serve', '-h']]) {
      const r = run(args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: xcap-bridge ${args[0]}\\b`));
      expect(r.loaded.filter((m) => !HELP_MODULES.includes(m))).toEqual([]);
    }
  });
});
