/**
 * What the request log costs (issue 10 item 5, goal < 3%): two `serve` processes as a user
 * starts them (defaults, Basic auth, output to a file), one with `log.requests: true` (the
 * default, one line per request) and one with `log.requests: false`, the same 100-entry
 * document in each, and each case run with `wrk -t1 -c32 -d5s` on one and then the other
 * (the order alternating per round). Prints every round and, per case, the median CPU time
 * per 1,000 requests of each (from /proc: what a loaded machine does not inflate) and of
 * req/s, with the log's share: on / off − 1. Each case runs 2 s on each first, not counted (warm-up).
 *
 *   npm run bench -- request-log [--rounds 5] [--seconds 5] [--connections 32] [--serve-arg ARG ...]
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, stopChild, tempDir, waitForPort } from '../test/services/process.ts';
import { resourceLists } from './fixtures.ts';
import { fmt, load, median, spawnLogged, tail, wrkBenchOptions, wrk, type Measured } from './wrk.ts';

const { rounds, seconds, connections, serveArgs } = wrkBenchOptions(5);

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

async function start(dir: string, name: string, requests: boolean): Promise<Server> {
  const home = join(dir, name);
  mkdirSync(home);
  execFileSync(process.execPath, [CLI, 'user', 'add', XUI, '--password', 'secret'], { cwd: home, stdio: 'pipe' });
  writeFileSync(join(home, 'xcap-bridge.yaml'), `auth: { allowBasicOverHttp: true }\nlog: { requests: ${requests} }\n`);
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
try {
  servers.push(await start(dir, 'log on', true), await start(dir, 'log off', false));
  const [on, off] = servers as [Server, Server];
  process.stdout.write(`request log on vs off: wrk -t1 -c${connections} -d${seconds}s, ${rounds} rounds, Node ${process.versions.node}, serve ${serveArgs.join(' ') || '(defaults)'}\n`);
  // Warm-up, not counted: the first seconds of a process are JIT compilation.
  for (const s of servers) for (const c of CASES) await wrk({ url: s.base + c.path, headers: HEADERS, connections, seconds: 2, put: c.put, dir, pids: [], describe: () => tail(s.log) });
  const cpu = new Map(CASES.map((c) => [c.name, { on: [] as number[], off: [] as number[], rpsOn: [] as number[], rpsOff: [] as number[] }]));
  for (let round = 1; round <= rounds; round++) {
    process.stdout.write(`\nround ${round} (load ${load()})\n| case | on req/s | off req/s | on CPU ms / 1000 req | off CPU ms / 1000 req | non-2xx on/off |\n|---|---|---|---|---|---|\n`);
    for (const c of CASES) {
      const order = round % 2 === 1 ? [on, off] : [off, on];
      const m = new Map<Server, Measured>();
      for (const s of order) {
        m.set(s, await wrk({ url: s.base + c.path, headers: HEADERS, connections, seconds, put: c.put, dir, pids: [s.child.pid as number], describe: () => `${s.name} on ${c.name}:\n${tail(s.log)}` }));
      }
      const a = m.get(on) as Measured;
      const b = m.get(off) as Measured;
      const row = cpu.get(c.name)!;
      row.on.push(a.cpuMsPer1000);
      row.off.push(b.cpuMsPer1000);
      row.rpsOn.push(a.rps);
      row.rpsOff.push(b.rps);
      process.stdout.write(`| ${c.name} | ${fmt(a.rps)} | ${fmt(b.rps)} | ${fmt(a.cpuMsPer1000)} | ${fmt(b.cpuMsPer1000)} | ${a.non2xx + a.errors}/${b.non2xx + b.errors} |\n`);
    }
  }
  process.stdout.write(`\nmedians of ${rounds} rounds (load ${load()})\n| case | CPU ms / 1000 req on | off | log's CPU share | req/s on | off | req/s lost |\n|---|---|---|---|---|---|---|\n`);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  for (const c of CASES) {
    const r = cpu.get(c.name)!;
    const [cOn, cOff, rOn, rOff] = [median(r.on), median(r.off), median(r.rpsOn), median(r.rpsOff)];
    process.stdout.write(`| ${c.name} | ${fmt(cOn)} | ${fmt(cOff)} | ${pct(cOn / cOff - 1)} | ${fmt(rOn)} | ${fmt(rOff)} | ${pct(1 - rOn / rOff)} |\n`);
  }
} finally {
  for (const s of servers) await stopChild(s.child);
  rmSync(dir, { recursive: true, force: true });
}
