/**
 * How long other clients wait while the server processes a hostile body (issue 8 item 7),
 * and what a hostile body costs next to a valid one of the same size (issue 10 item 4).
 * Starts `xcap-bridge serve` on a temp SQLite store, then for each shape sends one PUT of
 * about `server.maxBodyBytes` (1 MiB by default) while a second connection polls
 * `GET /healthz` back to back, and prints the PUT's status and time and the healthz
 * latencies seen meanwhile (max and median). Each shape runs `--rounds` times; the summary
 * gives per shape the median PUT time, its ratio to the valid document's, and the healthz
 * p50 and max over all rounds. `--inline` starts the server with `server.validationThreads: 0`
 * (every body validated on the request thread) for comparison.
 *
 *   npx node bench/hostile.ts [--rounds 3] [--port 18090] [--inline]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { LocalUsers } from '../src/auth/local-users.ts';
import { openStore } from '../src/store/open.ts';
import { RL_NS } from './fixtures.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, port: { type: 'string', default: '18090' }, inline: { type: 'boolean', default: false } } });
const rounds = Number(values.rounds);
const port = Number(values.port);
const dir = mkdtempSync(join(tmpdir(), 'xcapb-hostile-'));
{
  const store = await openStore({ kind: 'sqlite', dataDir: dir });
  await (await LocalUsers.open(store.sql)).add('sip:alice@example.com', 'secret');
  await store.close();
}
const cli = join(import.meta.dirname, '..', 'bin', 'xcap-bridge.js');
const configFile = join(dir, 'bench.yaml');
writeFileSync(configFile, values.inline ? 'server:\n  validationThreads: 0\n' : '{}\n');
// Basic over loopback HTTP: the bench measures the request path, not TLS.
const server = spawn(process.execPath, [cli, 'serve', '--config', configFile, '--port', String(port), '--log-level', 'warn', '--data', dir], { env: { ...process.env, XCAP_BRIDGE_ALLOW_BASIC_OVER_HTTP: 'true' }, stdio: 'inherit' });
const docPath = '/xcap-root/resource-lists/users/sip:alice@example.com/index';
const auth = `Basic ${Buffer.from('alice@example.com:secret').toString('base64')}`;

const MAX = 1024 * 1024 - 256;
/** `unit` repeated to fill about a maximum-size body between `head` and `tail`. */
function fill(head: string, unit: (i: number) => string, tail: string): string {
  let out = head;
  for (let i = 0; out.length + tail.length < MAX; i++) out += unit(i);
  return out + tail;
}
const rl = (inner: string): string => `<resource-lists xmlns="${RL_NS}">${inner}</resource-lists>`;
const shapes: Record<string, () => string> = {
  'valid: many entries': () => fill(`<resource-lists xmlns="${RL_NS}"><list name="x">`, (i) => `<entry uri="sip:u${i}@e"/>`, '</list></resource-lists>'),
  'many attributes': () => fill(`<resource-lists xmlns="${RL_NS}"><list`, (i) => ` a${i}="v"`, '/></resource-lists>'),
  'many namespace declarations': () => fill(`<resource-lists xmlns="${RL_NS}"><list`, (i) => ` xmlns:p${i}="urn:x"`, '/></resource-lists>'),
  'deep nesting': () => rl('<list>'.repeat(MAX / 15) + '</list>'.repeat(MAX / 15)),
  'duplicate siblings': () => fill(`<resource-lists xmlns="${RL_NS}"><list name="x">`, () => '<entry uri="sip:a@e"/>', '</list></resource-lists>'),
  // Refused by the fast path before the repeats (xsi:nil on an element not nillable), and
  // left to libxml2 by it (xsi:type): the §3.4.5 scan names the repeat before libxml2 runs.
  'duplicates after an xsi:nil': () =>
    fill(`<resource-lists xmlns="${RL_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><list name="x" xsi:nil="false">`, () => '<entry uri="sip:a@e"/>', '</list></resource-lists>'),
  'duplicates after an xsi:type': () =>
    fill(`<resource-lists xmlns="${RL_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><list name="x" xsi:type="listType">`, () => '<entry uri="sip:a@e"/>', '</list></resource-lists>'),
  'huge text': () => rl(`<list><display-name>${'x'.repeat(MAX - 200)}</display-name></list>`),
  'many character references': () => rl(`<list><display-name>${'&#x41;'.repeat((MAX - 200) / 6)}</display-name></list>`),
  'long name': () => rl(`<${'n'.repeat(MAX - 200)}/>`),
};

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
function send(method: string, path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Authorization: auth };
    if (body !== undefined) headers['Content-Type'] = 'application/resource-lists+xml';
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: body === undefined ? agent : undefined }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function waitUp(): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      await send('GET', '/healthz');
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('server did not start');
}

/** One hostile PUT with /healthz polled on another connection until it is answered. */
async function round(body: string): Promise<{ status: number; ms: number; healthz: number[] }> {
  const latencies: number[] = [];
  let done = false;
  const poll = (async () => {
    while (!done) {
      const t = performance.now();
      await send('GET', '/healthz');
      latencies.push(performance.now() - t);
    }
  })();
  const t0 = performance.now();
  const status = await send('PUT', docPath, body);
  const ms = performance.now() - t0;
  done = true;
  await poll;
  return { status, ms, healthz: latencies };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

try {
  await waitUp();
  // Not counted: the first large body starts the validation thread.
  await round(shapes['valid: many entries']!());
  console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; validation ${values.inline ? 'inline' : 'on threads'}`);
  console.log('shape'.padEnd(34), 'status', 'PUT ms'.padStart(8), 'healthz max'.padStart(12), 'median'.padStart(8), 'polls'.padStart(6));
  const summary: { name: string; status: number; put: number; healthz: number[] }[] = [];
  for (const [name, make] of Object.entries(shapes)) {
    const body = make();
    const puts: number[] = [];
    const waits: number[] = [];
    let last = 0;
    for (let r = 0; r < rounds; r++) {
      const { status, ms, healthz } = await round(body);
      puts.push(ms);
      waits.push(...healthz);
      last = status;
      console.log(name.padEnd(34), String(status).padStart(6), ms.toFixed(0).padStart(8), Math.max(0, ...healthz).toFixed(1).padStart(12), median(healthz).toFixed(1).padStart(8), String(healthz.length).padStart(6));
    }
    summary.push({ name, status: last, put: median(puts), healthz: waits });
  }
  const valid = summary[0]!.put;
  console.log(`\nmedian of ${rounds} rounds; ratio = PUT time / the valid document's; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('shape'.padEnd(34), 'status', 'PUT ms'.padStart(8), 'ratio'.padStart(7), 'healthz p50'.padStart(12), 'max'.padStart(8));
  for (const row of summary) {
    console.log(
      row.name.padEnd(34),
      String(row.status).padStart(6),
      row.put.toFixed(0).padStart(8),
      `${(row.put / valid).toFixed(2)}x`.padStart(7),
      median(row.healthz).toFixed(1).padStart(12),
      Math.max(0, ...row.healthz).toFixed(1).padStart(8),
    );
  }
} finally {
  agent.destroy();
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
