/**
 * Vendor phonebooks (issue 15): a 10,000-entry directory as whole files, 304 revalidations and Cisco pages.
 * Starts `xcap-bridge serve` on a temp SQLite store holding a global 10,000-entry
 * directory (work and mobile numbers) and a 100,000-entry one, and Apache httpd serving
 * the same Grandstream file as a static file from a web root (what carddav2fb-style
 * scripts leave behind: the peer). Rounds interleave the two servers; each case prints
 * the median of the rounds and the ratio to the peer where it has one.
 *
 * Cases: a whole Grandstream and Yealink-book file (sequential GETs, latency from request
 * to last byte), 304 answers to If-None-Match (autocannon), Cisco pages (autocannon, a
 * mid-directory page), and the last Cisco page and a whole Grandstream file of the
 * 100,000-entry directory (latency, and the server's peak RSS).
 *
 *   npx node bench/phonebook.ts [--seconds 5] [--connections 16] [--rounds 3] [--port 18095]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { openStore } from '../src/store/open.ts';
import { DeviceTokens } from '../src/phonebook/tokens.ts';
import { LocalUsers } from '../src/auth/local-users.ts';
import { RL_NS } from './fixtures.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
    port: { type: 'string', default: '18095' },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const rounds = Number(values.rounds);
const port = Number(values.port);
const apachePort = port + 1;

const FIELDS = 'urn:xcap-bridge:params:xml:ns:fields';
function directory(n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const mobile = i % 3 === 0 ? `<xbf:field name="mobile">+4917155${String(i).padStart(6, '0')}</xbf:field>` : '';
    out.push(`<entry uri="sip:p${i}@example.com"><display-name>Person ${i}</display-name><xbf:field name="telephoneNumber">+4930${String(1_000_000 + i)}</xbf:field>${mobile}</entry>`);
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="${RL_NS}" xmlns:xbf="${FIELDS}"><list name="directory">${out.join('')}</list></resource-lists>\n`;
}

const dir = mkdtempSync(join(tmpdir(), 'xcapb-phonebook-'));
let token = '';
{
  const store = await openStore({ kind: 'sqlite', dataDir: dir });
  await (await LocalUsers.open(store.sql)).add('sip:alice@example.com', 'secret');
  token = (await (await DeviceTokens.open(store.sql)).add('sip:alice@example.com', 'bench')).token;
  await store.put({ auid: 'resource-lists', xui: null, path: 'directory' }, directory(10_000), 'any');
  await store.put({ auid: 'resource-lists', xui: null, path: 'big' }, directory(100_000), 'any');
  await store.close();
}
const cli = join(import.meta.dirname, '..', 'bin', 'xcap-bridge.js');
const server = spawn(process.execPath, [cli, 'serve', '--port', String(port), '--log-level', 'warn', '--data', dir], { stdio: ['ignore', 'inherit', 'inherit'] });

const pb = (format: string, doc = 'directory', query = '') => `/phonebook/${format}/global/${doc}/directory?token=${token}${query}`;

// The peer: Apache httpd with the same Grandstream file in its web root.
const www = join(dir, 'www');
mkdirSync(www);
const apacheConf = join(dir, 'httpd.conf');
const mods = '/usr/lib/apache2/modules';
writeFileSync(apacheConf, [
  `ServerRoot ${dir}`, `Listen 127.0.0.1:${apachePort}`, `PidFile ${dir}/httpd.pid`, `ErrorLog ${dir}/httpd-error.log`, 'ServerName localhost',
  `LoadModule mpm_event_module ${mods}/mod_mpm_event.so`, `LoadModule authz_core_module ${mods}/mod_authz_core.so`, `LoadModule mime_module ${mods}/mod_mime.so`,
  'TypesConfig /etc/mime.types', 'AddType text/xml .xml', `DocumentRoot ${www}`, `<Directory ${www}>`, '  Require all granted', '</Directory>', 'KeepAlive On', 'MaxKeepAliveRequests 0', '',
].join('\n'));
let apache: ReturnType<typeof spawn> | undefined;

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
function get(p: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined>; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: p, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers, ms: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitUp(p: number, path: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      await get(p, path);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing answers on port ${p}`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** Median latency (ms) of `n` sequential GETs of a whole file. */
async function latency(p: number, path: string, n = 20): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await get(p, path);
    if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
    times.push(r.ms);
  }
  return median(times);
}

async function rate(p: number, path: string, headers: Record<string, string>, expect: number): Promise<number> {
  const result = await autocannon({ url: `http://127.0.0.1:${p}${path}`, connections, duration: seconds, headers });
  const codes = result.statusCodeStats as unknown as Record<string, { count: number }>;
  const other = Object.keys(codes).filter((k) => k !== String(expect));
  if (other.length > 0) throw new Error(`${path}: statuses ${other.join(', ')}`);
  return result.requests.average;
}

function rssKb(pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

try {
  await waitUp(port, '/healthz');
  const file = await get(port, pb('grandstream'));
  writeFileSync(join(www, 'phonebook.xml'), file.body);
  apache = spawn('/usr/sbin/apache2', ['-f', apacheConf, '-DFOREGROUND'], { stdio: 'inherit' });
  await waitUp(apachePort, '/phonebook.xml');
  const etag = String(file.headers.etag);
  const apacheEtag = String((await get(apachePort, '/phonebook.xml')).headers.etag);
  const cold = (await get(port, pb('yealink-book'))).ms;

  const rows = new Map<string, { ours: number[]; peer: number[]; unit: string }>();
  const add = (name: string, unit: string, ours: number, peer?: number) => {
    const row = rows.get(name) ?? { ours: [], peer: [], unit };
    row.ours.push(ours);
    if (peer !== undefined) row.peer.push(peer);
    rows.set(name, row);
  };
  for (let r = 0; r < rounds; r++) {
    add('10,000 entries, whole Grandstream file (ms)', 'ms', await latency(port, pb('grandstream')), await latency(apachePort, '/phonebook.xml'));
    add('10,000 entries, whole Yealink book (ms)', 'ms', await latency(port, pb('yealink-book')));
    add('304 Not Modified (req/s)', 'req/s', await rate(port, pb('grandstream'), { 'If-None-Match': etag }, 304), await rate(apachePort, '/phonebook.xml', { 'If-None-Match': apacheEtag }, 304));
    add('Cisco page 100 of 10,000 entries (req/s)', 'req/s', await rate(port, pb('cisco', 'directory', '&page=100'), {}, 200));
    add('Yealink page 50 (req/s)', 'req/s', await rate(port, pb('yealink', 'directory', '&page=50'), {}, 200));
  }
  const bigCisco = await get(port, pb('cisco', 'big', '&page=1'));
  const pages = Number(/Page 1 of (\d+)/.exec(bigCisco.body)?.[1] ?? 0);
  const lastPage = await latency(port, pb('cisco', 'big', `&page=${pages}`), 10);
  const bigFile = await get(port, pb('grandstream', 'big'));
  const bigFileMs = await latency(port, pb('grandstream', 'big'), 5);

  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`load ${load}; ${rounds} rounds interleaved with Apache httpd (static file), ${connections} connections, ${seconds} s per rate`);
  console.log('| case | xcap-bridge (median) | Apache static file | ratio |');
  console.log('|---|---|---|---|');
  for (const [name, row] of rows) {
    const ours = median(row.ours);
    const peer = row.peer.length > 0 ? median(row.peer) : undefined;
    const ratio = peer === undefined ? '—' : row.unit === 'ms' ? `${(peer / ours).toFixed(2)}× (speed)` : `${(ours / peer).toFixed(2)}×`;
    console.log(`| ${name} | ${ours.toFixed(row.unit === 'ms' ? 1 : 0)} | ${peer === undefined ? '—' : peer.toFixed(row.unit === 'ms' ? 1 : 0)} | ${ratio} |`);
  }
  console.log(`| first Yealink book after start (parse + build, ms) | ${cold.toFixed(1)} | — | — |`);
  console.log(`| 100,000 entries: last Cisco page (${pages}) (ms) | ${lastPage.toFixed(1)} | — | — |`);
  console.log(`| 100,000 entries: whole Grandstream file, ${(Buffer.byteLength(bigFile.body) / 1e6).toFixed(1)} MB, chunked=${bigFile.headers['transfer-encoding'] === 'chunked'} (ms) | ${bigFileMs.toFixed(1)} | — | — |`);
  console.log(`server peak RSS ${Math.round(rssKb(server.pid as number) / 1024)} MB`);
} finally {
  agent.destroy();
  apache?.kill('SIGTERM');
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  if (apache) spawnSync('sleep', ['0.5']);
  rmSync(dir, { recursive: true, force: true });
}
