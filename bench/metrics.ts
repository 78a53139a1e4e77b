/**
 * Cost of the Prometheus metrics on a GET (issue 13: < 2%): `serve` as a child process
 * with `server.metrics` on and off, interleaved rounds of keep-alive GETs of a 100-entry
 * document (autocannon, Basic auth), the server's CPU time per request read from
 * /proc/PID/stat; plus what one `observeRequest` costs in-process, next to a GET's CPU.
 *
 *   npx node bench/metrics.ts [--seconds 5] [--rounds 3] [--connections 16]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { LocalUsers } from '../src/auth/local-users.ts';
import { Metrics } from '../src/metrics/registry.ts';
import { openStore } from '../src/store/open.ts';
import { resourceLists } from './fixtures.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' }, connections: { type: 'string', default: '16' } } });
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);
const cli = join(import.meta.dirname, '..', 'bin', 'xcap-bridge.js');
const dir = mkdtempSync(join(tmpdir(), 'xcapb-bench-metrics-'));
const DOC = '/xcap-root/resource-lists/users/sip:alice@example.com/index';
const AUTH = `Basic ${Buffer.from('alice:secret').toString('base64')}`;
const TICKS_PER_S = 100; // USER_HZ on Linux

{
  const store = await openStore({ kind: 'sqlite', dataDir: dir });
  await (await LocalUsers.open(store.sql)).add('sip:alice@example.com', 'secret');
  await store.close();
}

function config(metrics: boolean): string {
  const file = join(dir, `metrics-${metrics}.yaml`);
  // Basic over plain HTTP on loopback: the bench measures the request path, not TLS.
  writeFileSync(file, `server: { metrics: ${metrics} }\nauth: { allowBasicOverHttp: true }\nlog: { requests: false }\n`);
  return file;
}

async function start(metrics: boolean, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [cli, 'serve', '--port', String(port), '--data', dir, '--config', config(metrics), '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return child;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('serve did not start');
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S; // utime + stime
}

async function round(metrics: boolean, port: number): Promise<{ rps: number; cpuUs: number }> {
  const child = await start(metrics, port);
  try {
    const put = await fetch(`http://127.0.0.1:${port}${DOC}`, { method: 'PUT', headers: { Authorization: AUTH, 'Content-Type': 'application/resource-lists+xml' }, body: resourceLists(100) });
    if (put.status >= 300) throw new Error(`PUT ${put.status}`);
    const opts = { url: `http://127.0.0.1:${port}${DOC}`, headers: { Authorization: AUTH }, connections, pipelining: 1 };
    await autocannon({ ...opts, duration: 1 }); // warm-up: JIT, caches
    const cpu0 = cpuSeconds(child.pid as number);
    const r = await autocannon({ ...opts, duration: seconds });
    const cpu = cpuSeconds(child.pid as number) - cpu0;
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${r.non2xx} non-2xx, ${r.errors} errors`);
    return { rps: r.requests.average, cpuUs: (cpu * 1e6) / r.requests.total };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const on: { rps: number; cpuUs: number }[] = [];
const off: { rps: number; cpuUs: number }[] = [];
for (let i = 0; i < rounds; i++) {
  // Interleaved, and the order alternates, so drift in the machine's load hits both alike.
  for (const m of i % 2 === 0 ? [true, false] : [false, true]) {
    const r = await round(m, 18400 + i * 2 + (m ? 0 : 1));
    (m ? on : off).push(r);
    console.log(`round ${i + 1} metrics ${m ? 'on ' : 'off'}: ${Math.round(r.rps)} req/s, ${r.cpuUs.toFixed(1)} µs CPU per GET`);
  }
}
const cpuOn = median(on.map((r) => r.cpuUs));
const cpuOff = median(off.map((r) => r.cpuUs));
console.log(`median CPU per GET: on ${cpuOn.toFixed(1)} µs, off ${cpuOff.toFixed(1)} µs, ratio on/off ${(cpuOn / cpuOff).toFixed(3)}`);
console.log(`median req/s: on ${Math.round(median(on.map((r) => r.rps)))}, off ${Math.round(median(off.map((r) => r.rps)))}, ratio on/off ${(median(on.map((r) => r.rps)) / median(off.map((r) => r.rps))).toFixed(3)}`);

// What the request path adds, measured alone: observeRequest over a realistic label mix.
const m = new Metrics({ auids: ['resource-lists', 'pres-rules', 'xcap-caps'], root: '/xcap-root' });
const urls = [DOC, '/xcap-root/pres-rules/users/sip:alice@example.com/index', '/xcap-root/xcap-caps/global/index'];
const N = 2_000_000;
for (let i = 0; i < 200_000; i++) m.observeRequest('GET', urls[i % 3] as string, 200, 0.001);
const t0 = performance.now();
for (let i = 0; i < N; i++) m.observeRequest(i % 7 === 0 ? 'PUT' : 'GET', urls[i % 3] as string, i % 11 === 0 ? 304 : 200, 0.0004 + (i % 100) * 0.00001);
const perCallUs = ((performance.now() - t0) * 1000) / N;
// Against the cheapest GET any round saw: the share is largest there.
const cheapest = Math.min(...on.map((r) => r.cpuUs), ...off.map((r) => r.cpuUs));
console.log(`observeRequest: ${(perCallUs * 1000).toFixed(0)} ns per request = ${((perCallUs / cheapest) * 100).toFixed(2)}% of the cheapest GET's ${cheapest.toFixed(1)} µs CPU (goal < 2%)`);
rmSync(dir, { recursive: true, force: true });
