/**
 * SQL table mode on PostgreSQL: one changed row visible over XCAP after its NOTIFY (issue 12,
 * goal < 2 s). A throwaway PostgreSQL holds a `contacts` table of `rows` rows with the
 * installed triggers; `xcap-bridge serve` runs as a child process with a pull binding of
 * that table into alice's `index` and **no schedule**, so only the NOTIFY can start a run.
 * Each round updates one row's name from another client (the NOTIFY goes out at commit)
 * and a phone polls its document over HTTP (Digest) every 20 ms until the new name is
 * there. 10 rounds, median and max from the UPDATE's commit.
 *
 *   npx node bench/sql-notify.ts [rows]      (default 1000)
 */
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { triggerDdl } from '../connectors/sql/table/triggers.ts';
import { XcapClient } from '../test/helpers/digest-client.ts';
import { freePort, stopChild, tempDir } from '../test/services/process.ts';
import { startPostgres } from '../test/services/postgres.ts';
import { startRedis } from '../test/services/redis.ts';
import { freshSqlDatabase } from '../test/services/sql-databases.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const BIN = resolve(ROOT, 'bin/xcap-bridge.js');
const rows = Number(process.argv[2] ?? 1000);
const ROUNDS = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const postgres = await startPostgres();
const redis = await startRedis();
const data = tempDir('bench-notify');
let serve: ReturnType<typeof spawn> | undefined;
const db = await freshSqlDatabase('postgres', postgres.url, 'bench_notify');
try {
  await db.exec([
    'CREATE TABLE contacts (id BIGSERIAL PRIMARY KEY, version BIGINT NOT NULL DEFAULT 0, sip_uri TEXT NOT NULL, name TEXT)',
    ...triggerDdl('postgres', { table: 'contacts', key: 'id', version: 'version' }),
  ]);
  for (let start = 0; start < rows; start += 1000) {
    const vals = Array.from({ length: Math.min(1000, rows - start) }, (_, k) => `('sip:p${start + k}@example.com', 'Person ${start + k}')`);
    await db.query(`INSERT INTO contacts (sip_uri, name) VALUES ${vals.join(', ')}`);
  }
  const config = join(data, 'xcap-bridge.yaml');
  writeFileSync(config, [
    `store: { kind: sqlite, dataDir: ${data} }`,
    `redis: { url: "${redis.url}" }`,
    'connectors:',
    `  crm: { kind: sql, url: "${db.url}", table: contacts, columns: { uri: sip_uri, display-name: name } }`,
    'bindings:',
    '  - { name: crm, auid: resource-lists, target: { scope: users, document: index }, mapping: { kind: resource-lists, list: directory }, connector: crm, collection: contacts, direction: pull }',
    '',
  ].join('\n'));
  await run(process.execPath, [BIN, 'user', 'add', 'sip:alice@example.com', '--password', 'alice-secret', '--config', config]);
  const port = await freePort();
  serve = spawn('setpriv', ['--pdeathsig', 'SIGKILL', process.execPath, BIN, 'serve', '--config', config, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const phone = new XcapClient(`http://127.0.0.1:${port}/xcap-root`, { username: 'alice', password: 'alice-secret' });
  const path = '/resource-lists/users/sip:alice@example.com/index';
  const body = async () => (await phone.get(path).catch(() => undefined))?.body ?? '';
  // The watch's first call ("look now") imports the table.
  let t0 = performance.now();
  while (!(await body()).includes(`Person ${rows - 1}<`)) await sleep(100);
  console.log(`initial import of ${rows} rows visible ${(performance.now() - t0).toFixed(0)} ms after serve started (process start included)`);
  const visible: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const name = `Renamed ${i}`;
    await db.query(`UPDATE contacts SET name = $1 WHERE id = $2`, [name, 1 + ((i * 7919) % rows)]);
    t0 = performance.now();
    while (!(await body()).includes(`>${name}<`)) await sleep(20);
    visible.push(performance.now() - t0);
    await sleep(300); // the next round starts from a quiet queue
  }
  console.log(`one changed row visible over XCAP after its NOTIFY: median ${median(visible).toFixed(0)} ms, max ${Math.max(...visible).toFixed(0)} ms (${ROUNDS} rounds: ${visible.map((v) => v.toFixed(0)).join(', ')}); goal < 2000 ms`);
} finally {
  if (serve && serve.exitCode === null) {
    const exited = new Promise((r) => serve?.once('exit', r));
    serve.kill('SIGTERM');
    await exited;
  }
  await db.drop();
  await redis.stop();
  await postgres.stop();
  await stopChild(spawn('rm', ['-rf', data]));
}
