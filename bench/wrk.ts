/**
 * Pieces the side-by-side benchmarks share (not a benchmark): wrk runs with the CPU time the
 * servers' processes used meanwhile (from /proc, which a loaded machine does not inflate
 * the way it does wall-clock rates), servers started with their output in a file, medians.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

/** CPU time (user + system, in clock ticks) of `pid` and every process below it. */
export function treeCpuTicks(pid: number): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the parenthesised command name: state ppid ... utime(14) stime(15).
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    stats.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
  }
  let total = 0;
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop() as number;
    total += stats.get(p)?.ticks ?? 0;
    for (const [child, s] of stats) if (s.ppid === p) todo.push(child);
  }
  return total;
}
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** The pids of every process in the trees below `roots`. */
export function treePids(roots: number[]): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const todo = [...roots];
  while (todo.length > 0) {
    const p = todo.pop() as number;
    out.push(p);
    for (const [child, pp] of parent) if (pp === p) todo.push(child);
  }
  return out;
}

export interface Measured {
  readonly rps: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly cpuMsPer1000: number;
}

export interface WrkRun {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly connections: number;
  readonly seconds: number;
  /** A PUT of `body` with this Content-Type instead of a GET. */
  readonly put?: { readonly body: string; readonly type: string } | undefined;
  /** Where the PUT body and script files go. */
  readonly dir: string;
  /** Root pids whose process trees do the server's work. */
  readonly pids: readonly number[];
  /** What to say when nothing was answered (the server's recent output, say). */
  readonly describe: () => string;
}

/**
 * Installs Debian `packages` unless every path in `present` exists (the dpkg lock is waited
 * for: a test run may be installing too).
 */
export function ensureDebianPackages(packages: string[], present: string[]): void {
  if (present.every((p) => existsSync(p))) return;
  process.stderr.write(`installing ${packages.join(', ')} from Debian\n`);
  const apt = ['-o', 'DPkg::Lock::Timeout=600'];
  execFileSync('apt-get', [...apt, 'update'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', ...apt, '--no-install-recommends', ...packages], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/** One `wrk -t1` run (wrk installed from Debian when missing); throws when not one request was answered. */
export async function wrk(o: WrkRun): Promise<Measured> {
  return (await wrkTogether([o]))[0] as Measured;
}

/**
 * `wrk -t1` runs started at the same moment, each one's CPU time read from /proc at the same
 * two instants (before the first starts, after the last ends), so every server is measured
 * over the same window of the same machine; throws when a run had not one request answered.
 */
export async function wrkTogether(runs: readonly WrkRun[]): Promise<Measured[]> {
  ensureDebianPackages(['wrk'], ['/usr/bin/wrk']);
  const argLists = runs.map(wrkArgs);
  const cpuOf = (o: WrkRun) => o.pids.reduce((s, p) => s + treeCpuTicks(p), 0);
  const cpuBefore = runs.map(cpuOf);
  const results = await Promise.all(argLists.map((args) => runCommand('wrk', args)));
  const cpuAfter = runs.map(cpuOf);
  return runs.map((o, i) => {
    const r = results[i] as Awaited<ReturnType<typeof runCommand>>;
    const out = r.stdout;
    if (r.status !== 0 || !/ [1-9]\d* requests in/.test(out)) throw new Error(`nothing answered: ${o.describe()}\n${r.stderr}${out}`);
    const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
    const requests = num(/(\d+) requests in/);
    const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const ticks = (cpuAfter[i] as number) - (cpuBefore[i] as number);
    return {
      rps: num(/Requests\/sec:\s+([\d.]+)/),
      requests,
      non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
      errors: errs ? errs.slice(1).reduce((s, v) => s + Number(v), 0) : 0,
      cpuMsPer1000: requests > 0 ? ((ticks / TICKS_PER_SECOND) * 1000 * 1000) / requests : 0,
    };
  });
}

/** wrk's arguments for a run, its PUT body and script written to `o.dir`. */
function wrkArgs(o: WrkRun): string[] {
  const args = ['-t1', `-c${o.connections}`, `-d${o.seconds}s`];
  for (const [k, v] of Object.entries(o.headers)) args.push('-H', `${k}: ${v}`);
  if (o.put) {
    const name = o.put.type.replace(/\W+/g, '-');
    const bodyFile = join(o.dir, `put-${name}.body`);
    writeFileSync(bodyFile, o.put.body);
    const script = join(o.dir, `put-${name}.lua`);
    writeFileSync(script, `local f = io.open(${JSON.stringify(bodyFile)}, "rb")\nwrk.method = "PUT"\nwrk.body = f:read("*a")\nf:close()\nwrk.headers["Content-Type"] = ${JSON.stringify(o.put.type)}\n`);
    args.push('-s', script);
  }
  args.push(o.url);
  return args;
}

/** Runs a command to its end without blocking the event loop (the servers' output must keep flowing). */
export function runCommand(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Starts `cmd` in `cwd` with its stdout and stderr appended to `logFile`; it dies with this process. */
export function spawnLogged(cmd: string, args: string[], cwd: string, logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn('setpriv', ['--pdeathsig', 'SIGTERM', cmd, ...args], { cwd, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return child;
}

/** The last 2,000 characters of a file. */
export function tail(file: string): string {
  return readFileSync(file, 'utf8').slice(-2000);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** The machine's 1, 5 and 15 minute load averages. */
export const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/**
 * The options of a side-by-side wrk bench: rounds, seconds and connections per case, extra
 * `serve` arguments, and whether each of the bench's own `flags` was given.
 */
export function wrkBenchOptions(
  defaultRounds: number,
  flags: readonly string[] = [],
): { rounds: number; seconds: number; connections: number; serveArgs: string[]; flags: ReadonlySet<string> } {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: String(defaultRounds) },
      seconds: { type: 'string', default: '5' },
      connections: { type: 'string', default: '32' },
      'serve-arg': { type: 'string', multiple: true, default: [] },
      ...Object.fromEntries(flags.map((f) => [f, { type: 'boolean' as const }])),
    },
  });
  return {
    rounds: Number(values.rounds),
    seconds: Number(values.seconds),
    connections: Number(values.connections),
    serveArgs: values['serve-arg'] ?? [],
    flags: new Set(flags.filter((f) => (values as Record<string, unknown>)[f] === true)),
  };
}
