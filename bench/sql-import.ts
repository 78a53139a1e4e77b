/**
 * SQL: `import sql` of 100,000 legacy documents (Kamailio table on PostgreSQL), and the table-mode connector's no-change run.
 *
 * Import: a throwaway PostgreSQL holds a Kamailio `xcap` table (the project's schema) with
 * `count` documents (half resource-lists, a third pres-rules, the rest pidf-manipulation,
 * one per user and usage); `xcap-bridge import sql` runs as an operator runs it (child
 * process, SQLite store in a temp dir, stderr not a TTY so it prints a progress line every
 * 5 s) and then again (idempotent: every document unchanged). Goal (issue 12): 100,000
 * documents in under 2 minutes with progress shown.
 *
 * Table mode: a 10,000-row contacts table with the installed triggers, on the same
 * PostgreSQL and on a throwaway MariaDB; after the initial changes(), the median of 20
 * changes() calls on the unchanged table. Goal: a no-change run under 50 ms. Then the same
 * with an `updated_at` column instead of the version (`updatedAt`), row i last changed i
 * seconds before an hour ago (a table edited over time: ten rows inside `lookbackMs` of the
 * newest).
 *
 *   npx node bench/sql-import.ts [count] [--table-only]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openSqlDatabase, type SqlEngine } from '../connectors/sql/database.ts';
import { sqlConnectorSchema, SqlTableConnector } from '../connectors/sql/index.ts';
import { triggerDdl } from '../connectors/sql/table/triggers.ts';
import { legacySchema } from '../test/fixtures/legacy-sql/schema.ts';
import { PIDF, PRES_RULES, resourceLists } from '../test/fixtures/legacy-sql/documents.ts';
import { startMariaDb } from '../test/services/mariadb.ts';
import { startPostgres } from '../test/services/postgres.ts';
import { freshSqlDatabase, type FreshDatabase } from '../test/services/sql-databases.ts';

const tableOnly = process.argv.includes('--table-only');
const count = Number(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 100_000);

async function seedLegacy(db: FreshDatabase): Promise<void> {
  const batch = 1000;
  for (let start = 0; start < count; start += batch) {
    const params: unknown[] = [];
    const tuples: string[] = [];
    for (let i = start; i < Math.min(count, start + batch); i++) {
      const kind = i % 6;
      const [auid, type, body] = kind < 3 ? ['resource-lists', 4, resourceLists(`u${i}`, [`sip:a${i}@example.com`, `sip:b${i}@example.com`, `sip:c${i}@example.com`])] : kind < 5 ? ['pres-rules', 2, PRES_RULES] : ['pidf-manipulation', 16, PIDF];
      const xui = `sip:u${i}@example.com`;
      const n = params.length;
      tuples.push(`($${n + 1}, 'example.com', $${n + 2}, $${n + 3}, $${n + 4}, 0, $${n + 5}, 0)`);
      params.push(`u${i}`, Buffer.from(body), type, `sr-1700000000-${i}`, `/xcap-root/${auid}/users/${xui}/index`);
    }
    await db.query(`INSERT INTO xcap (username, domain, doc, doc_type, etag, source, doc_uri, port) VALUES ${tuples.join(', ')}`, params);
  }
}

function runImport(args: string[]): Promise<{ ms: number; stdout: string; stderr: string; code: number }> {
  return new Promise((done) => {
    const start = performance.now();
    const child = spawn(process.execPath, [resolve('bin/xcap-bridge.js'), 'import', 'sql', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      process.stderr.write(`  | ${b.toString().trimEnd().replaceAll('\n', '\n  | ')}\n`);
    });
    child.on('exit', (code) => done({ ms: performance.now() - start, stdout, stderr, code: code ?? 1 }));
  });
}

async function tableMode(engine: SqlEngine, serverUrl: string, rows: number, timed = false): Promise<{ initial: number; idle: number }> {
  const db = await freshSqlDatabase(engine, serverUrl, 'bench_table');
  try {
    const text = engine === 'postgres' ? 'TEXT' : 'VARCHAR(255)';
    const id = engine === 'postgres' ? 'BIGSERIAL PRIMARY KEY' : 'BIGINT AUTO_INCREMENT PRIMARY KEY';
    const stamp = !timed ? 'version BIGINT NOT NULL DEFAULT 0' : engine === 'postgres' ? 'updated_at TIMESTAMP(6) NOT NULL' : 'updated_at DATETIME(6) NOT NULL';
    await db.exec([`CREATE TABLE contacts (id ${id}, ${stamp}, sip_uri ${text} NOT NULL, name ${text}, email ${text})`, ...triggerDdl(engine, { table: 'contacts', key: 'id', ...(!timed && { version: 'version' }) })]);
    // Row i last changed i seconds before an hour ago: a table edited over time, none of it recent.
    const ago = (i: number) => (engine === 'postgres' ? `now() - interval '${3600 + i} seconds'` : `NOW(6) - INTERVAL ${3600 + i} SECOND`);
    for (let start = 0; start < rows; start += 1000) {
      const vals = Array.from({ length: Math.min(1000, rows - start) }, (_, k) => `('sip:p${start + k}@example.com', 'Person ${start + k}', 'p${start + k}@example.com'${timed ? `, ${ago(start + k)}` : ''})`);
      await db.query(`INSERT INTO contacts (sip_uri, name, email${timed ? ', updated_at' : ''}) VALUES ${vals.join(', ')}`);
    }
    const options = sqlConnectorSchema.parse({ kind: 'sql', url: db.url, table: 'contacts', columns: { uri: 'sip_uri', 'display-name': 'name', mail: 'email' }, ...(timed && { updatedAt: 'updated_at' }) });
    const connector = new SqlTableConnector(options, openSqlDatabase(db.url));
    try {
      const t0 = performance.now();
      const first = await connector.changes('contacts');
      const initial = performance.now() - t0;
      if (first === 'token-expired' || first.upserted.length !== rows) throw new Error('initial changes() did not read every row');
      const idle: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t = performance.now();
        const cs = await connector.changes('contacts', first.token);
        idle.push(performance.now() - t);
        if (cs === 'token-expired' || cs.upserted.length + cs.deleted.length !== 0) throw new Error('an unchanged table reported changes');
      }
      idle.sort((a, b) => a - b);
      return { initial, idle: idle[10]! };
    } finally {
      await connector.close();
    }
  } finally {
    await db.drop();
  }
}

const [pgServer, maria] = await Promise.all([startPostgres(), startMariaDb()]);
const dir = mkdtempSync(join(tmpdir(), 'xcapb-bench-sql-'));
try {
  if (!tableOnly) await importBench();
  for (const [engine, url] of [['postgres', pgServer.url], ['mysql', maria.url]] as const) {
    for (const timed of [false, true]) {
      const r = await tableMode(engine, url, 10_000, timed);
      console.log(`table mode ${engine}${timed ? ' (updated_at column)' : ''}, 10,000 rows: initial changes() ${r.initial.toFixed(0)} ms; no-change run median ${r.idle.toFixed(1)} ms (goal < 50 ms)`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  await Promise.all([pgServer.stop(), maria.stop()]);
}

async function importBench(): Promise<void> {
  const legacy = await freshSqlDatabase('postgres', pgServer.url, 'bench_kamailio');
  await legacy.exec(legacySchema('kamailio', 'postgres'));
  const seedStart = performance.now();
  await seedLegacy(legacy);
  console.log(`seeded ${count} Kamailio rows in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);
  const args = ['--database-url', legacy.url, '--data', join(dir, 'data')];
  const first = await runImport(args);
  const summary = first.stdout.trim().split('\n').pop();
  console.log(`import sql: ${(first.ms / 1000).toFixed(1)} s for ${count} documents (${Math.round(count / (first.ms / 1000))}/s; goal < 120 s) -> ${summary}`);
  const progressLines = first.stderr.split('\n').filter((l) => l.startsWith('import sql:')).length;
  console.log(`progress lines on stderr: ${progressLines}`);
  const again = await runImport(args);
  console.log(`re-run (idempotent): ${(again.ms / 1000).toFixed(1)} s -> ${again.stdout.trim().split('\n').pop()}`);
  await legacy.drop();
}
