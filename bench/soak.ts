/**
 * Soak at size (issue 10): 100,000 users with a document each in PostgreSQL, `serve` with its defaults on it, phones polling.
 *
 * Every user gets a 20-entry resource-lists document (written through the store's API, many
 * at once). `serve` runs as a user starts it (`--database-url` and a port, nothing else: every
 * core, request log to a file). `--connections` keep-alive connections, one request at a time
 * each (bench/lean-http-client.ts: a minimal HTTP/1.1 client over `node:net`, as node's http
 * client took from the shared cores about half of serve's CPU per request), then send
 * `--rate` requests per second in all, each connection at evenly spaced times
 * (phones do not poll in step), each request for a random user (so no login cache keyed by
 * connection helps, as with phones each on its own connection), with Digest (MD5, qop=auth:
 * Basic over plain HTTP is refused by default; each connection is opened and given its nonce
 * before the clock starts, keeps it and counts nc, as a phone does, and takes the new one a
 * 401 brings): 95% `If-None-Match`
 * with the ETag the phone last saw (304), 4% plain GETs of the document, 1% element PUTs of
 * one entry (the phone remembers the new ETag). Printed: req/s reached, latency p50/p90/p99/max
 * of every answer counted from the time its request was due, or sent when that was earlier
 * (so a server that falls behind is charged for the wait), the same by kind, answers by
 * status, the RSS of serve's processes (peak and end) and the CPU they used per 1,000
 * requests, the CPU processes outside the run used meanwhile (the cores are shared: a
 * process of the run that waits for a core adds that wait to every answer it holds), and the
 * load average before and after.
 * Goal: p99 < 10 ms at 5,000 req/s.
 *
 * Before the clock starts, every phone polls once on each HTTP worker (connections told
 * apart by the process in their X-Request-Id), as after phones have polled for a while:
 * the figures are of the steady state, where each process has met every phone. `--cold`
 * skips that (a minute at 5,000 req/s is only ~3 polls a phone: mostly first meetings).
 * The phones then send at the full rate for `--settle` seconds before the clock starts, so
 * that the collection of the warm-up's garbage and the new connections' first requests are
 * not taken for the steady state; answers in that time are not counted.
 *
 *   npx node bench/soak.ts [--users 100000] [--seconds 60] [--rate 5000] [--connections 64]
 *                          [--settle 5] [--cold] [--database-url URL] [--cpu-prof DIR]
 *
 * Without `--database-url` a throwaway PostgreSQL (durable defaults) is started and removed
 * after; with it, users and documents already there are reused (seeding fills what is missing).
 */
import { spawn } from 'node:child_process';
import { openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { LocalUsers } from '../src/auth/local-users.ts';
import { openPostgresStore } from '../src/store/postgres.ts';
import { digestHeader, parseChallenges } from '../test/helpers/digest-client.ts';
import { freePort, tempDir, waitForPort, type Service } from '../test/services/process.ts';
import { startPostgres } from '../test/services/postgres.ts';
import { resourceLists } from './fixtures.ts';
import { LeanConnection, type LeanAnswer } from './lean-http-client.ts';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '60' },
    rate: { type: 'string', default: '5000' },
    connections: { type: 'string', default: '64' },
    settle: { type: 'string', default: '5' },
    'database-url': { type: 'string' },
    'cpu-prof': { type: 'string' },
    cold: { type: 'boolean' },
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
const SETTLE_MS = Number(values.settle) * 1000;
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

type Kind = 'poll' | 'get' | 'put';

/** Milliseconds from the time a request was due to its answer, by kind. */
const latencies: Record<Kind, number[]> = { poll: [], get: [], put: [] };
const percentile = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;

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

/** CPU ticks of every process, by pid, with its command (processes gone meanwhile are skipped). */
function everyProcess(): Map<number, { ticks: number; cmd: string }> {
  const out = new Map<number, { ticks: number; cmd: string }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim() || readFileSync(`/proc/${name}/comm`, 'utf8').trim();
      out.set(Number(name), { ticks: cpuTicks(Number(name)), cmd });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * CPU the processes outside this run (not this bench, serve, or its PostgreSQL) used while
 * sampled: the two cores are shared, and a run whose processes waited for a core measures
 * that wait. `sample()` every second; a process's share counts from its first sample (from
 * zero when it started meanwhile) to its last.
 */
function otherProcesses(): { sample(): void; report(seconds: number): string } {
  const first = everyProcess();
  const last = new Map(first);
  const ours = new Set<number>();
  return {
    sample() {
      for (const p of processTree(process.pid)) ours.add(p);
      for (const [pid, v] of everyProcess()) {
        if (!first.has(pid)) first.set(pid, { ticks: 0, cmd: v.cmd });
        last.set(pid, v);
      }
    },
    report(seconds) {
      const used = [...last]
        .filter(([pid]) => !ours.has(pid))
        .map(([pid, v]) => ({ ms: (v.ticks - (first.get(pid)?.ticks ?? 0)) * 10, cmd: v.cmd }))
        .filter((u) => u.ms > 0)
        .sort((a, b) => b.ms - a.ms);
      const share = (ms: number) => `${((ms / (seconds * 1000 * availableParallelism())) * 100).toFixed(0)}%`;
      const total = used.reduce((s, u) => s + u.ms, 0);
      const top = used.slice(0, 3).map((u) => `${share(u.ms)} ${u.cmd.slice(0, 60)}`).join('; ');
      return `${share(total)} of the ${availableParallelism()} cores${top === '' ? '' : ` (most: ${top})`}`;
    },
  };
}

/** One request on `conn` (a PUT when it has a body). */
const poll = (conn: LeanConnection, path: string, headers: Record<string, string>, body?: string) => conn.request(body === undefined ? 'GET' : 'PUT', path, headers, body);
/** The MD5 Digest challenge an answer offers, if any. */
const md5Challenge = (a: LeanAnswer) => parseChallenges(new Headers({ 'www-authenticate': a.wwwAuthenticate ?? '' })).find((c) => c.algorithm === 'MD5');

/**
 * Every user polls once (If-None-Match, Digest) on each HTTP worker, over `perWorker`
 * keep-alive connections of each; a connection's worker is the pid prefix of its X-Request-Id.
 */
async function warmUp(port: number, workers: number, perWorker: number): Promise<void> {
  const started = performance.now();
  const byWorker = new Map<string, { conn: LeanConnection; challenge: Challenge; nc: number }[]>();
  const full = () => byWorker.size >= workers && [...byWorker.values()].every((c) => c.length >= perWorker);
  const spare: LeanConnection[] = [];
  for (let tries = 0; !full() && tries < 50 * workers * perWorker; tries++) {
    const conn = new LeanConnection(port);
    // xcap-caps needs no login, so its answer carries the X-Request-Id; the 401 brings a nonce.
    const caps = await poll(conn, '/xcap-root/xcap-caps/global/index', {});
    const worker = (caps.requestId ?? '').split('-')[0] as string;
    const r = await poll(conn, docPath(0), {});
    const conns = byWorker.get(worker) ?? [];
    byWorker.set(worker, conns);
    const challenge = md5Challenge(r);
    if (conns.length < perWorker && challenge) conns.push({ conn, challenge, nc: 0 });
    else spare.push(conn);
  }
  for (const c of spare) c.close();
  let polls = 0;
  await Promise.all(
    [...byWorker.values()].map(async (conns) => {
      let next = 0;
      await Promise.all(
        conns.map(async (c) => {
          for (let i = next++; i < USERS; i = next++) {
            for (let attempt = 0; attempt < 2; attempt++) {
              const path = docPath(i);
              const auth = digestHeader(c.challenge, { username: `u${i}`, password: PASSWORD }, 'GET', path, ++c.nc);
              const r = await poll(c.conn, path, { Authorization: auth, 'If-None-Match': `"${etags[i]}"` });
              polls++;
              const fresh = r.status === 401 ? md5Challenge(r) : undefined;
              if (fresh === undefined) break;
              [c.challenge, c.nc] = [fresh, 0];
            }
          }
          c.conn.close();
        }),
      );
    }),
  );
  log(`warm-up: every user polled once on each of ${byWorker.size} HTTP workers (${polls} polls) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
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

  if (!values.cold) await warmUp(port, availableParallelism(), 8);

  const statuses = new Map<number, number>();
  let peakRss = 0;
  const others = otherProcesses();
  const sampler = setInterval(() => {
    others.sample();
    try {
      peakRss = Math.max(peakRss, tree().reduce((s, p) => s + rssKiB(p), 0));
    } catch {
      // a worker replaced meanwhile
    }
  }, 1000);
  const cpuBefore = new Map(tree().map((p) => [p, cpuTicks(p)]));
  const loadBefore = load();
  log(`soak: ${SECONDS} s at ${RATE} req/s over ${CONNECTIONS} connections, ${tree().length} serve processes, load ${loadBefore}`);
  // Each connection (a phone's, one request at a time) sends at evenly spaced times,
  // CONNECTIONS / RATE apart, from a random offset: RATE requests a second in all, spread over
  // the second. A request's latency counts from the time it was due, so an answer that comes
  // late delays the next request's start and that wait counts too (no coordinated omission).
  const clientCpu = process.cpuUsage();
  // The client shares the cores: how late its own event loop ran is part of every latency.
  const clientLag = monitorEventLoopDelay({ resolution: 1 });
  clientLag.enable();
  const interval = (1000 * CONNECTIONS) / RATE;
  // Before the clock, as the phones have: each connection open, with the nonce its first 401 brought.
  const phones = await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      const conn = new LeanConnection(port);
      return { conn, challenge: md5Challenge(await poll(conn, docPath(0), {})) };
    }),
  );
  const start = performance.now() + 100;
  // The clock starts after the settling time; every answer before it is counted only for CPU.
  const t0 = start + SETTLE_MS;
  const end = t0 + SECONDS * 1000;
  let errors = 0;
  let settling = 0;
  let lastAnswer = 0;
  await Promise.all(
    phones.map(async (phone) => {
      const { conn } = phone;
      let { challenge } = phone;
      let nc = 0;
      const offset = Math.random() * interval;
      for (let k = 0; ; k++) {
        const due = start + offset + k * interval;
        if (due >= end) break;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const i = Math.floor(Math.random() * USERS);
        const r = Math.random();
        const kind: Kind = r < 0.95 ? 'poll' : r < 0.99 ? 'get' : 'put';
        const path = kind === 'put' ? docPath(i) + ENTRY_SEL : docPath(i);
        const headers: Record<string, string> = {};
        if (challenge) headers.Authorization = digestHeader(challenge, { username: `u${i}`, password: PASSWORD }, kind === 'put' ? 'PUT' : 'GET', path, ++nc);
        if (kind === 'poll') headers['If-None-Match'] = `"${etags[i]}"`;
        const body = kind === 'put' ? `<entry uri="sip:soak@example.com"><display-name>${r}</display-name></entry>` : undefined;
        if (body !== undefined) headers['Content-Type'] = 'application/xcap-el+xml';
        let answer: LeanAnswer;
        // A timer may fire a little early: then the answer's latency counts from the send.
        const from = Math.min(due, performance.now());
        try {
          answer = await poll(conn, path, headers, body);
        } catch {
          errors++;
          continue;
        }
        lastAnswer = performance.now();
        if (due < t0) settling++;
        else {
          latencies[kind].push(lastAnswer - from);
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        }
        const { etag } = answer;
        if (answer.status < 300 && etag !== undefined) etags[i] = etag.replaceAll('"', '');
        if (answer.status === 401) {
          // A nonce gone stale: carry on with the one offered, as a phone does.
          const fresh = md5Challenge(answer);
          if (fresh) [challenge, nc] = [fresh, 0];
        }
      }
      conn.close();
    }),
  );
  clearInterval(sampler);
  others.sample();
  clientLag.disable();
  const clientUsage = process.cpuUsage(clientCpu);
  const pids = tree();
  const endRss = pids.reduce((s, p) => s + rssKiB(p), 0);
  // Each process's share (the primary first, then the HTTP workers), from its first sample.
  const perProcess = pids.map((p) => (cpuTicks(p) - (cpuBefore.get(p) ?? 0)) * 10);
  const cpuMs = perProcess.reduce((s, ms) => s + ms, 0);
  const all = Object.values(latencies).flat().sort((a, b) => a - b);
  const total = all.length;
  // CPU counts from before the settling time: per answer of that whole time.
  const answeredAll = Math.max(1, total + settling);
  // Over the time the answers took: a server that falls behind answers past the end.
  const reached = total / (Math.max(end, lastAnswer) - t0) * 1000;
  const ms = (xs: number[], p: number) => percentile(xs, p).toFixed(1);
  const lines = [
    `users ${USERS}, ${SECONDS} s (after ${SETTLE_MS / 1000} s at the same rate not counted), asked ${RATE} req/s evenly over ${CONNECTIONS} connections, ${values.cold ? 'cold (no warm-up)' : 'after every user polled once on each HTTP worker'}; serve: ${pids.length} processes (defaults), PostgreSQL ${values['database-url'] ? 'given' : 'throwaway, durable defaults'}`,
    `load average before ${loadBefore}, after ${load()} (2 cores)`,
    `req/s ${reached.toFixed(0)} (answered ${total}, connection errors ${errors})`,
    `latency ms, every answer, from when the request was due: p50 ${ms(all, 50)}, p90 ${ms(all, 90)}, p99 ${ms(all, 99)}, max ${(all.at(-1) ?? NaN).toFixed(1)}`,
    `by kind: ${(Object.entries(latencies) as [Kind, number[]][])
      .map(([k, xs]) => (xs.sort((a, b) => a - b), `${k} ${xs.length}: p50 ${ms(xs, 50)}, p99 ${ms(xs, 99)}`))
      .join('; ')}`,
    `answers: ${[...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}: ${n}`).join(', ')}`,
    `other processes meanwhile (outside this bench, serve and its PostgreSQL): ${others.report((performance.now() - start) / 1000)}`,
    `serve RSS: peak ${(peakRss / 1024).toFixed(0)} MiB, end ${(endRss / 1024).toFixed(0)} MiB (all processes)`,
    `serve CPU: ${((cpuMs / answeredAll) * 1000).toFixed(0)} ms per 1,000 requests (all processes; by process, primary first: ${perProcess.map((ms) => ((ms / answeredAll) * 1000).toFixed(0)).join(', ')})`,
    `this client: CPU ${(((clientUsage.user + clientUsage.system) / 1000 / answeredAll) * 1000).toFixed(0)} ms per 1,000 requests, its event loop late by p50 ${(clientLag.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(clientLag.percentile(99) / 1e6).toFixed(1)} ms, max ${(clientLag.max / 1e6).toFixed(1)} ms`,
    `goal p99 < 10 ms at 5,000 req/s: ${percentile(all, 99) < 10 && reached >= 5000 * 0.98 ? 'met' : 'not met'}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  serve.kill('SIGTERM');
  await new Promise((r) => serve.once('exit', r));
} finally {
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
}
