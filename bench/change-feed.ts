/**
 * The change feed at size (issue 14 item 5), `serve` as a child process on a SQLite store:
 * 1. SSE: `streams` clients (default 1,000) hold GET /xcap-diff open as alice; `changes`
 *    PUTs of her resource-lists document, one every 100 ms; latency = from the start of the
 *    PUT to the event naming its ETag, on every stream — p50/p99/max (goal p99 < 50 ms);
 * 2. webhooks: `serve` is stopped, `deliveries` changes (default 5,000, spread over
 *    `documents` documents, default one each) are written into the store file by this
 *    process, and `serve` is started again: it POSTs the backlog to a receiver on loopback.
 *    Rate from the first to the last delivery (goal ≥ 1,000/s sustained), with Redis on a
 *    throwaway redis-server. A backlog, so the rate is the delivery path's, not the writer's.
 *    The receiver also checks each document's deliveries arrive in feed order, once each.
 *
 *   npx node bench/change-feed.ts [--streams 1000] [--changes 20] [--deliveries 5000] [--documents N] [--only sse|webhooks] [--workers auto|N] [--concurrency 32]
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { openSqliteStore } from '../src/store/sqlite.ts';
import { freePort, stopChild, tempDir, waitForPort } from '../test/services/process.ts';
import { startRedis } from '../test/services/redis.ts';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '1000' },
    changes: { type: 'string', default: '20' },
    deliveries: { type: 'string', default: '5000' },
    documents: { type: 'string' },
    only: { type: 'string' },
    workers: { type: 'string', default: 'auto' },
    concurrency: { type: 'string', default: '32' },
  },
});
const STREAMS = Number(values.streams);
const CHANGES = Number(values.changes);
const DELIVERIES = Number(values.deliveries);
const DOCUMENTS = Number(values.documents ?? values.deliveries);
const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const BIN = resolve(ROOT, 'bin/xcap-bridge.js');
const PASSWORD = 'alice-secret';
const AUTH = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`;
const DOC = '/xcap-root/resource-lists/users/sip:alice@example.com/index';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] as number;
const body = (n: number) => `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="l"><entry uri="sip:p${n}@example.com"/></list></resource-lists>`;

const dir = tempDir('bench-feed');
const data = join(dir, 'data');
const redis = await startRedis();
const hookPort = await freePort();
let received = 0;
let firstAt = 0;
let lastAt = 0;
/** Per document (its sel), the last webhook-id seen; a lower or equal one is out of order or repeated. */
const lastIdOf = new Map<string, number>();
let disorder = 0;
const receiver = createServer((req, res) => {
  let text = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => (text += c));
  req.on('end', () => {
    const now = performance.now();
    if (received++ === 0) firstAt = now;
    lastAt = now;
    const sel = /sel="([^"]+)"/.exec(text)?.[1] ?? '';
    const id = Number(req.headers['webhook-id']);
    if (id <= (lastIdOf.get(sel) ?? 0)) disorder++;
    lastIdOf.set(sel, id);
    res.writeHead(204).end();
  });
});
await new Promise<void>((r) => receiver.listen(hookPort, '127.0.0.1', () => r()));
const cfg = join(dir, 'xcap-bridge.yaml');
writeFileSync(cfg, [
  `store: { kind: sqlite, dataDir: ${data} }`,
  `redis: { url: "${redis.url}", prefix: bench }`,
  'log: { level: warn, requests: false }',
  'changeFeed:',
  `  delivery: { concurrency: ${Number(values.concurrency)} }`,
  '  webhooks:',
  `    - { name: bench, url: "http://127.0.0.1:${hookPort}/hook", secret: "whsec_${Buffer.alloc(32, 7).toString('base64')}", filter: { auids: [pres-rules] } }`,
  '',
].join('\n'));
await run(process.execPath, [BIN, 'user', 'add', 'sip:alice@example.com', '--password', PASSWORD, '--data', data]);
const port = await freePort();
// Basic over loopback HTTP: the bench measures the feed, not TLS.
async function startServe(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--config', cfg, '--port', String(port), '--workers', String(values.workers)], { env: { ...process.env, XCAP_BRIDGE_ALLOW_BASIC_OVER_HTTP: 'true' }, stdio: ['ignore', 'inherit', 'inherit'] });
  await waitForPort(port, child, () => '');
  return child;
}
async function stopServe(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}
let serve = await startServe();

function put(n: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const payload = body(n);
    const r = request({ host: '127.0.0.1', port, path: DOC, method: 'PUT', headers: { Authorization: AUTH, 'Content-Type': 'application/resource-lists+xml', 'Content-Length': Buffer.byteLength(payload) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.headers.etag ?? '').replaceAll('"', '')));
    });
    r.on('error', reject);
    r.end(payload);
  });
}

// 1. SSE latency with STREAMS open streams.
await put(0);
if (values.only !== 'webhooks') await sse();

async function sse(): Promise<void> {
const arrivals: Array<Map<string, number>> = [];
let open = 0;
for (let i = 0; i < STREAMS; i++) {
  const seen = new Map<string, number>();
  arrivals.push(seen);
  const r = request({ host: '127.0.0.1', port, path: '/xcap-diff', headers: { Authorization: AUTH, Accept: 'text/event-stream' }, agent: false }, (res) => {
    open++;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      const now = performance.now();
      for (const m of chunk.matchAll(/new-etag="([0-9a-f]+)"/g)) if (!seen.has(m[1] as string)) seen.set(m[1] as string, now);
    });
  });
  r.end();
  if (i % 100 === 99) await sleep(50);
}
while (open < STREAMS) await sleep(20);
await sleep(500);
const latencies: number[] = [];
/** Per change: the PUT's round trip, and the first stream's latency (what the rest add is fan-out and this process's reading). */
const putTimes: number[] = [];
const firsts: number[] = [];
for (let n = 1; n <= CHANGES; n++) {
  const t0 = performance.now();
  const etag = await put(n);
  putTimes.push(performance.now() - t0);
  const deadline = Date.now() + 10_000;
  while (arrivals.some((a) => !a.has(etag)) && Date.now() < deadline) await sleep(2);
  let first = Infinity;
  for (const a of arrivals) {
    const at = a.get(etag);
    if (at === undefined) throw new Error(`a stream never saw change ${n}`);
    latencies.push(at - t0);
    first = Math.min(first, at - t0);
  }
  firsts.push(first);
  await sleep(100);
}
const p99 = pct(latencies, 99);
console.log(`  PUT round trip p50 ${pct(putTimes, 50).toFixed(1)} ms; first stream to see a change p50 ${pct(firsts, 50).toFixed(1)} ms, max ${Math.max(...firsts).toFixed(1)} ms`);
console.log(`SSE, ${STREAMS} streams, ${CHANGES} changes (PUT start → event): p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms   goal p99 < 50 ms ${p99 < 50 ? 'OK' : 'MISS'} (${(p99 / 50).toFixed(2)}× of goal)`);
}

// 2. Webhook deliveries per second, from a backlog written while serve was down.
if (values.only !== 'sse') {
  await stopServe(serve);
  console.error('serve stopped; writing the backlog');
  const store = await openSqliteStore(join(data, 'xcap.sqlite'));
  for (let i = 0; i < DELIVERIES; i++) await store.put({ auid: 'pres-rules', xui: `sip:u${i % DOCUMENTS}@example.com`, path: 'index' }, `<x n="${i}"/>`, 'any', 'bench');
  await store.close();
  serve = await startServe();
  console.error('serve started again; waiting for the deliveries');
  const deadline = Date.now() + 300_000;
  while (received < DELIVERIES && Date.now() < deadline) await sleep(50);
  const rate = (received - 1) / ((lastAt - firstAt) / 1000);
  console.log(`webhooks, ${received} of ${DELIVERIES} (${DOCUMENTS} documents) delivered to a loopback receiver: ${rate.toFixed(0)} deliveries/s (first to last), ${disorder} out of order or repeated   goal ≥ 1000/s ${rate >= 1000 ? 'OK' : 'MISS'} (${(rate / 1000).toFixed(2)}× of goal)`);
  process.exitCode = received === DELIVERIES && disorder === 0 ? 0 : 1;
}

await stopServe(serve);
receiver.close();
await redis.stop();
await stopChild(serve, dir);
process.exit();
