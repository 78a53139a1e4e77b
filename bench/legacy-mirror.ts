/**
 * Side by side with a legacy XCAP server (issue 12, goal: a phone's PUT reaches the legacy
 * row within 1 s). `xcap-bridge serve` runs as a user starts it (defaults, a child process)
 * with a `legacy:` section pointing at a legacy `xcap` table: Kamailio's on a throwaway
 * PostgreSQL, then OpenSIPS's on a throwaway MariaDB. Each round a phone PUTs alice's
 * resource-lists document with one more entry (Digest), and from its 2xx another client polls
 * the legacy row every 5 ms until it holds that PUT's ETag (the mirror writes the ETag with the
 * document). Prints each side's median, p90 and max over the rounds.
 *
 *   npx node bench/legacy-mirror.ts [--rounds 20]
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { legacySchema, type LegacyProject } from '../test/fixtures/legacy-sql/schema.ts';
import { resourceLists } from '../test/fixtures/legacy-sql/documents.ts';
import { XcapClient } from '../test/helpers/digest-client.ts';
import { startMariaDb } from '../test/services/mariadb.ts';
import { startPostgres } from '../test/services/postgres.ts';
import { freePort, stopChild, tempDir, waitForPort } from '../test/services/process.ts';
import { freshSqlDatabase, type FreshDatabase } from '../test/services/sql-databases.ts';
import { median } from './wrk.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '20' } } });
const ROUNDS = Number(values.rounds);
const BIN = resolve(import.meta.dirname, '..', 'bin/xcap-bridge.js');
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () => loadavg().map((l) => l.toFixed(1)).join(' / ');
const PATH = '/resource-lists/users/sip:alice@example.com/index';

async function side(label: string, db: FreshDatabase, dialect: 'kamailio' | 'opensips', project: LegacyProject, engine: 'postgres' | 'mysql'): Promise<void> {
  await db.exec(legacySchema(project, engine));
  const dir = tempDir('bench-legacy');
  const config = join(dir, 'xcap-bridge.yaml');
  const port = await freePort();
  writeFileSync(config, [`store: { kind: sqlite, dataDir: ${join(dir, 'data')} }`, `server: { port: ${port}, host: 127.0.0.1 }`, `legacy: { url: "${db.url}", dialect: ${dialect} }`, ''].join('\n'));
  await run(process.execPath, [BIN, 'user', 'add', 'sip:alice@example.com', '--password', 'alice-secret', '--config', config]);
  let serve: ChildProcess | undefined = spawn('setpriv', ['--pdeathsig', 'SIGKILL', process.execPath, BIN, 'serve', '--config', config, '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
  try {
    await waitForPort(port, serve, () => '');
    const phone = new XcapClient(`http://127.0.0.1:${port}/xcap-root`, { username: 'alice', password: 'alice-secret' });
    const where = dialect === 'kamailio' ? `doc_uri = '/xcap-root${PATH}'` : `username = 'alice' AND doc_type = 4 AND doc_uri = 'index'`;
    const rowEtag = async () => (await db.query<{ etag: string }>(`SELECT etag FROM xcap WHERE ${where}`))[0]?.etag;
    const times: number[] = [];
    const entries: string[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      entries.push(`sip:friend${i}@example.com`);
      const res = await phone.put(PATH, resourceLists('alice', entries), 'application/resource-lists+xml');
      if (res.status >= 300) throw new Error(`PUT answered ${res.status}: ${res.body}`);
      const t0 = performance.now();
      const etag = res.headers.get('etag')?.slice(1, -1);
      while ((await rowEtag()) !== etag) await sleep(5);
      times.push(performance.now() - t0);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const ms = (v: number) => `${v.toFixed(0)} ms`;
    console.log(`| ${label} | ${ROUNDS} | ${ms(median(times))} | ${ms(sorted[Math.floor(sorted.length * 0.9)] as number)} | ${ms(sorted.at(-1) as number)} | < 1 s: ${(sorted.at(-1) as number) < 1000 ? 'met' : 'not met'} |`);
  } finally {
    if (serve.exitCode === null) {
      const exited = new Promise((r) => serve?.once('exit', r));
      serve.kill('SIGTERM');
      await exited;
    }
    serve = undefined;
    await stopChild(spawn('rm', ['-rf', dir]));
  }
}

console.log(`legacy mirror: a phone's PUT until the legacy row holds it; serve with its defaults; load ${load()}`);
console.log('| legacy table | rounds | median | p90 | max | goal |');
console.log('|---|---|---|---|---|---|');
const postgres = await startPostgres();
try {
  const db = await freshSqlDatabase('postgres', postgres.url, 'bench_legacy_kamailio');
  await side('Kamailio, PostgreSQL', db, 'kamailio', 'kamailio', 'postgres').finally(() => db.drop());
} finally {
  await postgres.stop();
}
const maria = await startMariaDb();
try {
  const db = await freshSqlDatabase('mysql', maria.url, 'bench_legacy_opensips');
  await side('OpenSIPS, MariaDB', db, 'opensips', 'opensips', 'mysql').finally(() => db.drop());
} finally {
  await maria.stop();
}
console.log(`load after ${load()}`);
