/**
 * What the request log costs (issue 10 item 5, goal < 3%): two `serve` processes as a user
 * starts them (defaults, Basic auth, output to a file), one with the default `log.requests:
 * sampled` (`--all`: `all`, one line per request) and one with `log.requests: off`, the same
 * 100-entry document in each. Each case drives both at the same time, each with its own
 * `wrk -t1 -c32 -d5s` started together, so both see the same machine (its speed drifts
 * between runs by more than the log's cost); CPU time per 1,000 requests of each server's
 * process tree from /proc over the same window. Every round starts a new pair (a process's
 * own speed differs from another's by a few percent, either way, for its whole life: one pair
 * for every round measured that, not the log). Prints every round and, per case, the median
 * of the per-round ratios on / off − 1 (CPU and req/s), and the CPU share balanced for which
 * server started first (`balanced`). `--aa` runs both with the log off: the noise floor
 * (~0%). Each case runs 2 s first on each new pair, not counted (warm-up).
 *
 *   npm run bench -- request-log [--rounds 8] [--seconds 5] [--connections 32] [--all] [--aa] [--serve-arg ARG ...]
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, stopChild, tempDir, waitForPort } from '../test/services/process.ts';
import { resourceLists } from './fixtures.ts';
import { fmt, load, median, spawnLogged, tail, wrkBenchOptions, wrkTogether, type Measured, type WrkRun } from './wrk.ts';

const { rounds, seconds, connections, serveArgs, flags } = wrkBenchOptions(8, ['aa', 'all']);
const aa = flags.has('aa');
/** `log.requests` of the server measured; undefined: the default (sampled). */
const measured = aa ? 'off' : flags.has('all') ? 'all' : undefined;

const CLI = join(resolve(import.meta.dirname, '..'), 'bin', 'xcap-bridge.js');
const XUI = 'sip:alice@example.com';
const DOC_PATH = `/xcap-root/resource-lists/users/${XUI}/index`;
const ENTRY_SEL = '/~~/resource-lists/list%5B@name=%22friends%22%5D/entry%5B@uri=%22sip:user50@example.com%22%5D';
const CASES: ReadonlyArray<{ readonly name: string; readonly path: string; readonly put?: { body: string; type: string } }> = [
  { name: 'GET 100-entry document', path: DOC_PATH },
  { name: 'GET one entry by selector', path: DOC_PATH + ENTRY_SEL },
  { name: 'PUT one entry by selector', path: DOC_PATH + ENTRY_SEL, put: { body: '<entry uri="sip:user50@example.com"><display-name>Fifty</display-name></entry>', type: 'application/xcap-el+xml' } },
];
const HEADERS = { Authorization: `Basic ${Buffer.from('alice:secret').toString('base64')}` };

interface Server {
  readonly name: string;
  readonly child: ChildProcess;
  readonly base: string;
  readonly log: string;
}

async function start(dir: string, name: string, requests: string | undefined): Promise<Server> {
  const home = join(dir, name);
  mkdirSync(home);
  execFileSync(process.execPath, [CLI, 'user', 'add', XUI, '--password', 'secret'], { cwd: home, stdio: 'pipe' });
  writeFileSync(join(home, 'xcap-bridge.yaml'), `auth: { allowBasicOverHttp: true }\n${requests === undefined ? '' : `log: { requests: ${requests} }\n`}`);
  const port = await freePort();
  const log = join(home, 'serve.log');
  const child = spawnLogged(process.execPath, [CLI, 'serve', '--port', String(port), ...serveArgs], home, log);
  await waitForPort(port, child, () => tail(log));
  const base = `http://127.0.0.1:${port}`;
  const seed = await fetch(base + DOC_PATH, { method: 'PUT', headers: { ...HEADERS, 'Content-Type': 'application/resource-lists+xml' }, body: resourceLists(100) });
  if (seed.status !== 201) throw new Error(`${name}: seeding answered ${seed.status} ${await seed.text()}`);
  return { name, child, base, log };
}

const dir = tempDir('request-log');
const servers: Server[] = [];
const names = aa ? ['A', 'B'] : [`log ${measured ?? 'sampled (default)'}`, 'log off'];
try {
  const pair = aa ? 'A/A (both log off)' : `request log ${measured ?? 'sampled (default)'} vs off`;
  process.stdout.write(`${pair}, both at once: wrk -t1 -c${connections} -d${seconds}s each, ${rounds} rounds (a new pair each), Node ${process.versions.node}, serve ${serveArgs.join(' ') || '(defaults)'}\n`);
  const run = (s: Server, c: (typeof CASES)[number], secs: number): WrkRun => ({
    url: s.base + c.path,
    headers: HEADERS,
    connections,
    seconds: secs,
    put: c.put,
    dir,
    pids: [s.child.pid as number],
    describe: () => `${s.name} on ${c.name}:\n${tail(s.log)}`,
  });
  const ratios = new Map(CASES.map((c) => [c.name, { cpu: [] as number[], rps: [] as number[] }]));
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  for (let round = 1; round <= rounds; round++) {
    // Which of the two starts first, and whose wrk first, alternates from round to round.
    const first = round % 2 === 1;
    const startOn = () => start(dir, `${names[0]} ${round}`, measured);
    const startOff = () => start(dir, `${names[1]} ${round}`, 'off');
    let a: Server, b: Server;
    if (first) [a, b] = [await startOn(), await startOff()];
    else [b, a] = [await startOff(), await startOn()];
    servers.push(a, b);
    const both = (c: (typeof CASES)[number], secs: number) => (first ? wrkTogether([run(a, c, secs), run(b, c, secs)]) : wrkTogether([run(b, c, secs), run(a, c, secs)]).then((m) => m.reverse()));
    // Warm-up, not counted: the first seconds of a process are JIT compilation.
    for (const c of CASES) await both(c, 2);
    process.stdout.write(`\nround ${round} (load ${load()})\n| case | ${names[0]} req/s | ${names[1]} req/s | ${names[0]} CPU ms / 1000 req | ${names[1]} CPU ms / 1000 req | CPU share | non-2xx ${names[0]}/${names[1]} |\n|---|---|---|---|---|---|---|\n`);
    for (const c of CASES) {
      const [x, y] = (await both(c, seconds)) as [Measured, Measured];
      const r = ratios.get(c.name)!;
      r.cpu.push(x.cpuMsPer1000 / y.cpuMsPer1000 - 1);
      r.rps.push(1 - x.rps / y.rps);
      process.stdout.write(`| ${c.name} | ${fmt(x.rps)} | ${fmt(y.rps)} | ${fmt(x.cpuMsPer1000)} | ${fmt(y.cpuMsPer1000)} | ${pct(r.cpu.at(-1) as number)} | ${x.non2xx + x.errors}/${y.non2xx + y.errors} |\n`);
    }
    for (const s of servers.splice(-2)) await stopChild(s.child);
  }
  process.stdout.write(`\nmedians of ${rounds} per-round ratios (load ${load()})\n| case | CPU share (${names[0]} / ${names[1]} − 1) | order-balanced | per round | req/s lost |\n|---|---|---|---|---|\n`);
  for (const c of CASES) {
    const r = ratios.get(c.name)!;
    process.stdout.write(`| ${c.name} | ${pct(median(r.cpu))} | ${pct(balanced(r.cpu))} | ${r.cpu.map(pct).join(', ')} | ${pct(median(r.rps))} |\n`);
  }
} finally {
  for (const s of servers) await stopChild(s.child);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * The mean of the median of the odd rounds and that of the even ones: the server started
 * first (odd rounds: the first of `names`) was 10–14% dearer per request than the other,
 * whichever code it ran (2026-12-04, bench/README.md), so with an odd number of rounds the
 * plain median leans to the side that started first more often.
 */
function balanced(perRound: readonly number[]): number {
  const odd = perRound.filter((_, i) => i % 2 === 0);
  const even = perRound.filter((_, i) => i % 2 === 1);
  return even.length === 0 ? median(odd) : (median(odd) + median(even)) / 2;
}
