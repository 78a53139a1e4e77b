/**
 * Import from and export to the legacy `xcap` tables of Kamailio, OpenSIPS and OpenXCAP,
 * on real PostgreSQL (the run's throwaway server) and MariaDB (one started here), with
 * the tables created from each project's published schema (version rows included).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openSqlDatabase, type SqlEngine } from '../../connectors/sql/database.ts';
import { detectDialect, legacyDialect, LegacyXcapTable } from '../../connectors/sql/xcap-table/index.ts';
import { createRegistry, type UsageRegistry } from '../../src/appusage/registry.ts';
import { exportToLegacyTable, importLegacyTable, type RowReport } from '../../src/migrate/sql-import.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { DocumentStore } from '../../src/store/types.ts';
import { DocumentWriter } from '../../src/xcap/document-writer.ts';
import { legacySchema, type LegacyProject } from '../fixtures/legacy-sql/schema.ts';
import { startMariaDb, type MariaDbService } from '../services/mariadb.ts';
import { freshSqlDatabase, type FreshDatabase } from '../services/sql-databases.ts';
import { insertRows, legacyRows, type Dialect } from './legacy-seed.ts';

const ENGINES: SqlEngine[] = ['postgres', 'mysql'];
const DIALECTS: [Dialect, LegacyProject][] = [['kamailio', 'kamailio'], ['opensips', 'opensips'], ['openxcap', 'opensips32']];

let maria: MariaDbService;
let usages: UsageRegistry;
beforeAll(async () => {
  [maria, usages] = await Promise.all([startMariaDb(), createRegistry()]);
});
afterAll(() => maria?.stop());

const serverUrl = (engine: SqlEngine) => (engine === 'postgres' ? inject('services').postgres : maria.url);

async function withLegacy<T>(engine: SqlEngine, project: LegacyProject, fn: (db: FreshDatabase) => Promise<T>): Promise<T> {
  const db = await freshSqlDatabase(engine, serverUrl(engine), `legacy_${project}`);
  try {
    await db.exec(legacySchema(project, engine));
    return await fn(db);
  } finally {
    await db.drop();
  }
}

async function withStore<T>(fn: (store: DocumentStore) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'xcapb-import-'));
  const store = await openSqliteStore(join(dir, 'xcap.sqlite'));
  try {
    return await fn(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const engine of ENGINES) {
  for (const [dialect, project] of DIALECTS) {
    describe(`${engine}, ${dialect}: import sql`, () => {
      it('brings every valid document over under its legacy ETag, reports the others with a reason, and a re-run changes nothing', async () => {
        await withLegacy(engine, project, async (db) => {
          const expected = [...legacyRows(dialect, 'alice'), ...legacyRows(dialect, 'bob')];
          await insertRows(db, engine, expected.map((e) => e.row));
          const version = await db.query<{ table_version: number }>("SELECT table_version FROM version WHERE table_name = 'xcap'");
          expect(Number(version[0]?.table_version)).toBe(4);
          const database = openSqlDatabase(db.url);
          try {
            expect((await detectDialect(database)).dialect).toBe(dialect);
            const table = new LegacyXcapTable(database, legacyDialect(dialect));
            await withStore(async (store) => {
              const writer = new DocumentWriter({ store, usages });
              const reports: RowReport[] = [];
              const summary = await importLegacyTable({ table, writer, usages, onRow: (r) => reports.push(r) });
              const valid = expected.filter((e) => e.invalid === undefined);
              expect(summary).toEqual({ total: expected.length, imported: valid.length, unchanged: 0, kept: 0, invalid: expected.length - valid.length });
              for (const e of valid) {
                const doc = await store.get(e.key!);
                expect(doc?.body).toBe(e.body);
                expect(doc?.etag).toBe(e.row.etag);
              }
              const invalid = reports.filter((r) => r.outcome === 'invalid');
              for (const e of expected.filter((x) => x.invalid !== undefined)) {
                expect(invalid.some((r) => r.reason?.includes(e.invalid!)), `a report naming ${e.invalid}: ${JSON.stringify(invalid)}`).toBe(true);
                if (e.key) expect(await store.get(e.key)).toBeUndefined();
              }

              const seq = await store.lastSeq();
              const again = await importLegacyTable({ table, writer, usages });
              expect(again).toEqual({ ...summary, imported: 0, unchanged: valid.length });
              expect(await store.lastSeq()).toBe(seq);

              const lenient = await importLegacyTable({ table, writer, usages, lenient: true });
              expect(lenient.imported).toBe(expected.filter((e) => e.lenient).length);
              for (const e of expected.filter((x) => x.lenient)) expect((await store.get(e.key!))?.etag).toBe(e.row.etag);
            });
          } finally {
            await database.close();
          }
        });
      });

      it('a dry run validates and writes nothing; a document changed here since is kept unless --replace', async () => {
        await withLegacy(engine, project, async (db) => {
          const [rl] = legacyRows(dialect, 'alice');
          await insertRows(db, engine, [rl!.row]);
          const database = openSqlDatabase(db.url);
          try {
            const table = new LegacyXcapTable(database, legacyDialect(dialect));
            await withStore(async (store) => {
              const writer = new DocumentWriter({ store, usages });
              expect((await importLegacyTable({ table, writer, usages, dryRun: true })).imported).toBe(1);
              expect(await store.lastSeq()).toBe(0);
              await importLegacyTable({ table, writer, usages });
              const edited = rl!.body!.replace('Buddy 0', 'Buddy Zero');
              await store.put(rl!.key!, edited, 'any', 'xcap');
              const reports: RowReport[] = [];
              expect((await importLegacyTable({ table, writer, usages, onRow: (r) => reports.push(r) })).kept).toBe(1);
              expect(reports[0]?.reason).toMatch(/--replace/);
              expect((await store.get(rl!.key!))?.body).toBe(edited);
              expect((await importLegacyTable({ table, writer, usages, replace: true })).imported).toBe(1);
              expect(await store.get(rl!.key!)).toMatchObject({ body: rl!.body, etag: rl!.row.etag });
            });
          } finally {
            await database.close();
          }
        });
      });

      it('export writes every document back in the dialect (doc bytes, source = port = 0, the ETag), updating rows in place', async () => {
        await withLegacy(engine, project, async (db) => {
          const expected = legacyRows(dialect, 'alice').filter((e) => e.invalid === undefined);
          const database = openSqlDatabase(db.url);
          try {
            const table = new LegacyXcapTable(database, legacyDialect(dialect));
            await withStore(async (store) => {
              const etags = new Map<string, string>();
              for (const e of expected) etags.set(`${e.row.docUri} ${e.row.docType}`, (await store.put(e.key!, e.body!, 'absent')).etag);
              await store.put({ auid: 'resource-lists', xui: null, path: 'index' }, '<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>', 'absent');
              expect(await exportToLegacyTable({ table, store })).toEqual({ written: expected.length, skipped: 1 });
              // Updating in place: a second export leaves one row per document.
              await exportToLegacyTable({ table, store });
              const rows = await db.query<{ username: string; domain: string; doc: Buffer; doc_type: number; etag: string; source: number; port: number; doc_uri: string }>(
                'SELECT username, domain, doc, doc_type, etag, source, port, doc_uri FROM xcap ORDER BY id',
              );
              expect(rows).toHaveLength(expected.length);
              for (const e of expected) {
                const r = rows.find((x) => x.doc_uri === e.row.docUri && Number(x.doc_type) === e.row.docType);
                expect(r, `row ${e.row.docUri}`).toBeDefined();
                expect(Buffer.isBuffer(r!.doc)).toBe(true);
                expect(Buffer.from(r!.doc).toString('utf8')).toBe(e.body);
                expect([r!.username, r!.domain, Number(r!.source), Number(r!.port)]).toEqual(['alice', 'example.com', 0, 0]);
                expect(r!.etag).toBe(etags.get(`${e.row.docUri} ${e.row.docType}`));
              }
            });
          } finally {
            await database.close();
          }
        });
      });
    });
  }
}
