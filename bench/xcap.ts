/**
 * XCAP request-path benchmark (issue 3 item 10). Starts `xcap-bridge serve` as
 * a child process on a temp SQLite store, creates a user and a 100-entry resource-lists
 * document, then drives it with autocannon (Basic auth, keep-alive) and prints req/s,
 * p50 latency and the ratio to each target.
 *
 *   npx node bench/xcap.ts [--seconds 10] [--connections 32] [--workers N] [--store postgres --database-url URL]
 *                          [--only <substring of a case name>] [--cpu-prof DIR]
 *
 * `--cpu-prof DIR` runs the server (and its workers) under `node --cpu-prof`, profiles land in DIR.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { LocalUsers } from '../src/auth/local-users.ts';
import { openStore } from '../src/store/open.ts';
import { resourceLists } from './fixtures.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    port: { type: 'string', default: '18080' },
    store: { type: 'string', default: 'sqlite' },
    'database-url': { type: 'string' },
    workers: { type: 'string', default: '1' },
    only: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const port = Number(values.port);
const dir = mkdtempSync(join(tmpdir(), 'xcapb-bench-'));
const storeArgs = values.store === 'postgres' ? ['--database-url', values['database-url'] ?? ''] : ['--data', dir];
const cli = join(import.meta.dirname, '..', 'bin', 'xcap-bridge.js');

// Phones edit their own documents: USERS users, each with a document, for the spread-out case.
const USERS = 32;
{
  const store = await openStore(values.store === 'postgres' ? { kind: 'postgres', url: values['database-url'] ?? '' } : { kind: 'sqlite', dataDir: dir });
  const users = await LocalUsers.open(store.sql);
  for (let i = 0; i < USERS; i++) await users.add(i === 0 ? 'sip:alice@example.com' : `sip:u${i}@example.com`, 'secret');
  await store.close();
}
const profile = values['cpu-prof'] === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']];
// Basic over loopback HTTP: the bench measures the request path, not TLS.
const server = spawn(process.execPath, [...profile, cli, 'serve', '--port', String(port), '--log-level', 'warn', '--workers', values.workers, ...storeArgs], { env: { ...process.env, XCAP_BRIDGE_ALLOW_BASIC_OVER_HTTP: 'true' }, stdio: 'inherit' });
const root = `http://127.0.0.1:${port}/xcap-root`;
const docPath = '/xcap-root/resource-lists/users/sip:alice@example.com/index';
const auth = `Basic ${Buffer.from('alice@example.com:secret').toString('base64')}`;
const doc = resourceLists(100);

async function waitUp(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${root}/xcap-caps/global/index`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('server did not start');
}

interface Case {
  name: string;
  target: number;
  kamailio: number;
  opts: autocannon.Options;
  expect: number;
}

async function run(c: Case): Promise<string> {
  const result = await autocannon({ connections, duration: seconds, pipelining: 1, ...c.opts });
  const codes = result.statusCodeStats as unknown as Record<string, { count: number }>;
  const ok = codes[String(c.expect)]?.count ?? 0;
  const rps = result.requests.average;
  const bad = Object.entries(codes).filter(([k]) => k !== String(c.expect)).map(([k, v]) => `${k}:${v.count}`).join(' ');
  return `| ${c.name} | ${Math.round(rps)} | ${result.latency.p50} ms | ${(rps / c.target).toFixed(2)}× of ${c.target} | ${(rps / c.kamailio).toFixed(2)}× Kamailio (${c.kamailio}) | ${ok} ok${bad ? `, other: ${bad}` : ''} |`;
}

try {
  await waitUp();
  const login = (i: number) => (i === 0 ? 'alice' : `u${i}`);
  const xui = (i: number) => `sip:${login(i)}@example.com`;
  const authOf = (i: number) => `Basic ${Buffer.from(`${login(i)}@example.com:secret`).toString('base64')}`;
  for (let i = 0; i < USERS; i++) {
    const created = await fetch(`${root}/resource-lists/users/${xui(i)}/index`, {
      method: 'PUT',
      headers: { Authorization: authOf(i), 'Content-Type': 'application/resource-lists+xml' },
      body: doc,
    });
    if (created.status !== 201 && created.status !== 200) throw new Error(`setup PUT failed: ${created.status} ${await created.text()}`);
  }
  const entrySel = '/~~/resource-lists/list%5B@name=%22friends%22%5D/entry%5B@uri=%22sip:user50@example.com%22%5D';
  const entryBody = '<entry uri="sip:user50@example.com"><display-name>Fifty</display-name></entry>';
  const base = `http://127.0.0.1:${port}`;
  let nextPhone = 0;
  const cases: Case[] = [
    { name: 'GET 100-entry document', target: 10000, kamailio: 7000, expect: 200, opts: { url: base + docPath, headers: { Authorization: auth } } },
    { name: 'GET one entry by selector', target: 7000, kamailio: 4900, expect: 200, opts: { url: base + docPath + entrySel, headers: { Authorization: auth } } },
    {
      name: 'PUT whole document (validated)', target: 3600, kamailio: 1800, expect: 200,
      opts: { url: base + docPath, method: 'PUT', body: doc, headers: { Authorization: auth, 'Content-Type': 'application/resource-lists+xml' } },
    },
    {
      name: 'PUT one entry by selector, one document', target: 2500, kamailio: 1800, expect: 200,
      opts: { url: base + docPath + entrySel, method: 'PUT', body: entryBody, headers: { Authorization: auth, 'Content-Type': 'application/xcap-el+xml' } },
    },
    {
      name: `PUT one entry by selector, ${USERS} phones each on its own document`, target: 2500, kamailio: 1800, expect: 200,
      opts: {
        url: base + docPath,
        requests: [
          {
            method: 'PUT',
            body: entryBody,
            // Like phones: each keep-alive connection is one user editing their own document.
            setupRequest: (req: autocannon.Request, context: { n?: number }) => {
              const i = (context.n ??= nextPhone++ % USERS);
              return {
                ...req,
                path: `/xcap-root/resource-lists/users/${xui(i)}/index${entrySel}`,
                headers: { ...req.headers, Authorization: authOf(i), 'Content-Type': 'application/xcap-el+xml' },
              };
            },
          },
        ],
      },
    },
  ];
  const lines = ['| work | req/s | p50 | vs goal | vs Kamailio | responses |', '|---|---|---|---|---|---|'];
  for (const c of cases) if (values.only === undefined || c.name.includes(values.only)) lines.push(await run(c));
  process.stdout.write(`\n${connections} connections, ${seconds} s each, store ${values.store}, ${values.workers} HTTP worker(s), Node ${process.versions.node}\n${lines.join('\n')}\n`);
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
