/**
 * `npm run bench [-- NAME [ARGS...]]`: without a name, lists the benchmarks in this folder
 * with the first line of each one's header; with a name, runs bench/NAME.ts in a child
 * process (same Node) with ARGS and ends with its exit code. `npm run bench -- all` runs
 * every benchmark in turn with its defaults.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** Modules here that are not benchmarks. */
const NOT_BENCHES = new Set(['run', 'fixtures', 'profile-top', 'wrk']);

const benches = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !NOT_BENCHES.has(basename(f, '.ts')))
  .map((f) => basename(f, '.ts'))
  .sort();

/** The first sentence-line of the file's leading doc comment. */
function summary(name: string): string {
  const line = readFileSync(join(here, `${name}.ts`), 'utf8').split('\n').find((l) => /^ \* \S/.test(l));
  return line ? line.slice(3) : '';
}

function run(name: string, args: readonly string[]): number {
  process.stderr.write(`== bench/${name}.ts ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [join(here, `${name}.ts`), ...args], { stdio: 'inherit' });
  return r.status ?? 1;
}

const [name, ...args] = process.argv.slice(2);
if (name === undefined) {
  const width = Math.max(...benches.map((b) => b.length));
  process.stdout.write(`Usage: npm run bench -- <name|all> [options of that benchmark]\n\n`);
  for (const b of benches) process.stdout.write(`  ${b.padEnd(width)}  ${summary(b)}\n`);
  process.stdout.write(`\nWhat each measured and the figures: bench/README.md\n`);
} else if (name === 'all') {
  let failed = 0;
  for (const b of benches) if (run(b, []) !== 0) failed++;
  process.exitCode = failed ? 1 : 0;
} else if (benches.includes(name)) {
  process.exitCode = run(name, args);
} else {
  process.stderr.write(`bench: no benchmark "${name}" (known: ${benches.join(', ')})\n`);
  process.exitCode = 2;
}
