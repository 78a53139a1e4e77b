/**
 * Soak at size (issue 10): 100,000 users with a document each in PostgreSQL, `serve` with its defaults on it, phones polling.
 *
 * Every user gets a 20-entry resource-lists document (written through the store's API, many
 * at once). `serve` runs as a user starts it (`--database-url` and a port, nothing else: every
 * core, request log to a file). autocannon then sends `--rate` requests per second over
 * `--connections` keep-alive connections, each request for a random user (so no login cache
 * keyed by connection helps, as with phones each on its own connection), with Digest (MD5,
 * qop=auth: Basic over plain HTTP is refused by default; each connection keeps the nonce it
 * was given and counts nc, as a phone does, and takes the new one a 401 brings):
 * 95% `If-None-Match` with the ETag the phone last saw (304), 4% plain GETs of the document,
 * 1% element PUTs of one entry (the phone remembers the new ETag). Printed: req/s reached,
 * latency p50/p90/p99/max, answers by status, the RSS of serve's processes (peak and end)
 * and the CPU they used per 1,000 requests, and the load average before and after.
 * Goal: p99 < 10 ms at 5,000 req/s.
 *
 *   npx node bench/soak.ts [--users 100000] [--seconds 60] [--rate 5000] [--connections 64]
 *                          [--database-url URL] [--cpu-prof DIR]
 *
 * Without `--database-url` a throwaway PostgreSQL (durable defaults) is started and removed
 * after; with it, users and documents already there are reused (seeding fills what is missing).
 */
import { spawn } from 'node:child_process';
import type { IncomingHttpHeaders } from 'node:http';
import { openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { LocalUsers } from '../src/auth/local-users.ts';
import { openPostgresStore } from '../src/store/postgres.ts';
import { digestHeader, parseChallenges } from '../test/helpers/digest-client.ts';
import { freePort, tempDir, waitForPort, type Service } from '../test/services/process.ts';
import { startPostgres } from '../test/services/postgres.ts';
import { resourceLists } from './fixtures.ts';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '60' },
    rate: { type: 'string', default: '5000' },
    connections: { type: 'string', default: '64' },
    'database-url': { type: 'string' },
    'cpu-prof': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(readFileSync(import.meta.filename, 'utf8').split('*/')[0] as string);
  process.exit(0);
}
const USERS = Number(values.users);
const SECONDS = Number(values.seconds);
const RATE = Number(values.rate);
const CONNECTIONS = Number(values.connections);
const PASSWORD = 'secret';
const SEED_CONCURRENCY = 32;
const CLI = join(import.meta.dirname, '..', 'bin', 'xcap-bridge.js');
const ENTRY_SEL = '/~~/resource-lists/list%5B@name=%22friends%22%5D/entry%5B@uri=%22sip:soak@example.com%22%5D';

const xui = (i: number) => `sip:u${i}@example.com`;
const docPath = (i: number) => `/xcap-root/resource-lists/users/${xui(i)}/index`;
const load = () => loadavg().map((l) => l.toFixed(1)).join(' / ');
const log = (s: string) => process.stderr.write(`${s}\n`);

const dir = tempDir('bench-soak');
let pg: Service | undefined;
const url = values['database-url'] ?? (pg = await startPostgres({ durable: true })).url;

type Challenge = ReturnType<typeof parseChallenges>[number];

/**
 * autocannon starts a connection's context over after it has gone through its request list,
 * so the list is this many copies of one request, and each start over takes a nonce no other
 * connection has used (reusing one would repeat its nc).
 */
const REQUEST_LIST = 5000;

/** What one connection keeps between its requests: the user of the request in flight, its Digest nonce and count. */
interface Phone {
  user?: number;
  challenge?: Challenge;
  nc?: number;
}

/** The ETag each phone last saw, by user index. */
const etags: string[] = new Array<string>(USERS);

/** Opens the store, waiting out a server that accepts connections while still starting up. */
async function openWhenUp(u: string): Promise<Awaited<ReturnType<typeof openPostgresStore>>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await openPostgresStore(u);
    } catch (err) {
      if (attempt > 100) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function seed(): Promise<void> {
  const started = performance.now();
  // Seeding only: commits need not wait for the disk (the soak itself runs on the server's defaults).
  const seedUrl = new URL(url);
  seedUrl.searchParams.set('options', '-c synchronous_commit=off');
  const store = await openWhenUp(seedUrl.toString());
  try {
    const users = await LocalUsers.open(store.sql);
    const known = new Set((await users.list()).map((u) => u.xui));
    const body = resourceLists(20);
    const docs = new Map<string, string>();
    for await (const d of store.list({ auid: 'resource-lists' })) if (d.key.path === 'index' && d.key.xui !== null) docs.set(d.key.xui, d.etag);
    let next = 0;
    let added = 0;
    const worker = async () => {
      for (let i = next++; i < USERS; i = next++) {
        const x = xui(i);
        if (!known.has(x)) await users.add(x, PASSWORD);
        const have = docs.get(x);
        if (have === undefined) {
          etags[i] = (await store.put({ auid: 'resource-lists', xui: x, path: 'index' }, body, 'absent', 'seed')).etag;
          added++;
        } else etags[i] = have;
        if (i % 10_000 === 0) log(`  seeded ${i} of ${USERS}`);
      }
    };
    await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
    log(`seeded ${USERS} users (${added} new documents) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await store.close();
  }
}

/** serve and its worker processes (children found through /proc). */
function processTree(root: number): number[] {
  const out = [root];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (out.includes(ppid)) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
/** utime + stime in clock ticks (100 per second on Linux). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

try {
  await seed();
  const port = await freePort();
  const profile = values['cpu-prof'] === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']];
  const out = openSync(join(dir, 'serve.log'), 'a');
  const serve = spawn(process.execPath, [...profile, CLI, 'serve', '--database-url', url, '--port', String(port)], { stdio: ['ignore', out, out] });
  await waitForPort(port, serve, () => readFileSync(join(dir, 'serve.log'), 'utf8'), 60_000);
  const tree = () => processTree(serve.pid as number);
  // Until every HTTP worker (one per CPU by default) listens: the port opens with the first,
  // and keep-alive connections opened before the others listen would all stay on it.
  const listening = () => readFileSync(join(dir, 'serve.log'), 'utf8').split('serving XCAP at').length - 1;
  for (let tries = 0; listening() < availableParallelism() && tries < 600; tries++) await new Promise((r) => setTimeout(r, 100));

  // Nonces from challenges, before the clock starts: one per connection and per start over of its list.
  const base = `http://127.0.0.1:${port}`;
  const md5 = (headers: Headers): Challenge | undefined => parseChallenges(headers).find((c) => c.algorithm === 'MD5');
  const needed = CONNECTIONS + Math.ceil((RATE * SECONDS) / REQUEST_LIST) * 2;
  const nonces: Challenge[] = [];
  while (nonces.length < needed) nonces.push(...(await Promise.all(Array.from({ length: 16 }, async () => md5((await fetch(base + docPath(0))).headers) as Challenge))));
  let nextNonce = 0;
  /** A header of autocannon's answer, whatever the case the server wrote its name in. */
  const header = (h: IncomingHttpHeaders | undefined, name: string): string | undefined => {
    const v = Object.entries(h ?? {}).find(([k]) => k.toLowerCase() === name)?.[1];
    return v === undefined ? undefined : [v].flat().join(', ');
  };
  const statuses = new Map<number, number>();
  let peakRss = 0;
  const sampler = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, tree().reduce((s, p) => s + rssKiB(p), 0));
    } catch {
      // a worker replaced meanwhile
    }
  }, 1000);
  const cpuBefore = tree().reduce((s, p) => s + cpuTicks(p), 0);
  const loadBefore = load();
  log(`soak: ${SECONDS} s at ${RATE} req/s over ${CONNECTIONS} connections, ${tree().length} serve processes, load ${loadBefore}`);
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: SECONDS,
    overallRate: RATE,
    requests: Array.from({ length: REQUEST_LIST }, () => ({
        setupRequest: (req: autocannon.Request, context: Phone) => {
          const i = Math.floor(Math.random() * USERS);
          context.user = i;
          // Past the prefetched ones, a reused nonce gets a 401 whose fresh nonce is taken below.
          context.challenge ??= nonces[nextNonce++ % nonces.length] as Challenge;
          context.nc = (context.nc ?? 0) + 1;
          const r = Math.random();
          const [method, path] = r < 0.99 ? ['GET', docPath(i)] : ['PUT', docPath(i) + ENTRY_SEL];
          const auth = digestHeader(context.challenge, { username: `u${i}`, password: PASSWORD }, method, path, context.nc);
          if (r < 0.95) return { ...req, method: 'GET', path, headers: { Authorization: auth, 'If-None-Match': `"${etags[i]}"` } };
          if (r < 0.99) return { ...req, method: 'GET', path, headers: { Authorization: auth } };
          const body = `<entry uri="sip:soak@example.com"><display-name>${r}</display-name></entry>`;
          return { ...req, method: 'PUT', path, headers: { Authorization: auth, 'Content-Type': 'application/xcap-el+xml' }, body };
        },
        onResponse: (status: number, _body: string, context: Phone, headers: IncomingHttpHeaders | undefined) => {
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          const etag = header(headers, 'etag');
          if (status < 300 && etag !== undefined && context.user !== undefined) etags[context.user] = etag.replaceAll('"', '');
          const challenge = header(headers, 'www-authenticate');
          if (status === 401 && challenge !== undefined) {
            // Expired or stale: carry on with the nonce the server offers, as a phone does.
            const fresh = md5(new Headers({ 'www-authenticate': challenge }));
            if (fresh) [context.challenge, context.nc] = [fresh, 0];
          }
        },
      })),
  });
  clearInterval(sampler);
  const pids = tree();
  const endRss = pids.reduce((s, p) => s + rssKiB(p), 0);
  const cpuMs = (pids.reduce((s, p) => s + cpuTicks(p), 0) - cpuBefore) * 10;
  const total = result.requests.total;
  const lines = [
    `users ${USERS}, ${SECONDS} s, asked ${RATE} req/s over ${CONNECTIONS} connections; serve: ${pids.length} processes (defaults), PostgreSQL ${values['database-url'] ? 'given' : 'throwaway, durable defaults'}`,
    `load average before ${loadBefore}, after ${load()} (2 cores)`,
    `req/s ${result.requests.average.toFixed(0)} (total ${total}, errors ${result.errors}, timeouts ${result.timeouts})`,
    `latency ms: p50 ${result.latency.p50}, p90 ${result.latency.p90}, p99 ${result.latency.p99}, max ${result.latency.max}`,
    `answers: ${[...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}: ${n}`).join(', ')}`,
    `serve RSS: peak ${(peakRss / 1024).toFixed(0)} MiB, end ${(endRss / 1024).toFixed(0)} MiB (all processes)`,
    `serve CPU: ${((cpuMs / Math.max(1, total)) * 1000).toFixed(0)} ms per 1,000 requests (all processes)`,
    `goal p99 < 10 ms at 5,000 req/s: ${result.latency.p99 < 10 && result.requests.average >= 5000 * 0.98 ? 'met' : 'not met'}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  serve.kill('SIGTERM');
  await new Promise((r) => serve.once('exit', r));
} finally {
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
}
