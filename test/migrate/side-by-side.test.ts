/**
 * Side by side (docs/migration.md): phones talk to xcap-bridge while the legacy presence
 * server still reads its own `xcap` table. A phone's PUT and DELETE reach the legacy row;
 * an edit made through the legacy server (its row updated or deleted) reaches XCAP GET;
 * odd XUIs and names are stored verbatim; a legacy database that goes away mid-run is
 * caught up after it returns, with every row whole.
 *
 * Waiting is by condition (the row or the document reaches the expected state), never by
 * a fixed sleep; the time limit of `until` is only a hang guard.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openSqlDatabase, type SqlEngine } from '../../connectors/sql/database.ts';
import { legacyDialect, LegacyXcapTable } from '../../connectors/sql/xcap-table/index.ts';
import { createRegistry } from '../../src/appusage/registry.ts';
import { importLegacyTable } from '../../src/migrate/sql-import.ts';
import { DocumentWriter } from '../../src/xcap/document-writer.ts';
import { legacySchema, type LegacyProject } from '../fixtures/legacy-sql/schema.ts';
import { resourceLists } from '../fixtures/legacy-sql/documents.ts';
import { ADMIN, ALICE, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startMariaDb, type MariaDbService } from '../services/mariadb.ts';
import { freshSqlDatabase, type FreshDatabase } from '../services/sql-databases.ts';
import { insertRows, legacyRows, type Dialect } from './legacy-seed.ts';

let maria: MariaDbService;
beforeAll(async () => {
  maria = await startMariaDb();
});
afterAll(() => maria?.stop());

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const guard = Date.now() + 90_000;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > guard) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const RL = 'application/resource-lists+xml';
const ALICE_RL = '/resource-lists/users/sip:alice@example.com/index';

interface Setup {
  readonly db: FreshDatabase;
  readonly gw: TestGateway;
  readonly engine: SqlEngine;
  readonly dialect: Dialect;
  /** The row's doc and etag by its legacy address. */
  row(where: { docUri: string; docType: number; username?: string }): Promise<{ doc: string; etag: string; source: number; port: number } | undefined>;
  ph(i: number): string;
  close(): Promise<void>;
}

async function setUp(engine: SqlEngine, dialect: Dialect, project: LegacyProject, serverUrl: string): Promise<Setup> {
  const db = await freshSqlDatabase(engine, serverUrl, `sbs_${dialect}`);
  await db.exec(legacySchema(project, engine));
  await insertRows(db, engine, legacyRows(dialect, 'alice').filter((e) => e.invalid === undefined).map((e) => e.row));
  const gw = await startTestGateway({ users: [ALICE, ADMIN], config: { legacy: { url: db.url, dialect, direction: 'both', pollMs: 100 } } });
  const usages = await createRegistry();
  const database = openSqlDatabase(db.url);
  await importLegacyTable({ table: new LegacyXcapTable(database, legacyDialect(dialect)), writer: new DocumentWriter({ store: gw.gateway.store, usages }), usages });
  await database.close();
  const ph = (i: number) => (engine === 'postgres' ? `$${i}` : '?');
  return {
    db, gw, engine, dialect, ph,
    async row(w) {
      const [r] = await db.query<{ doc: Buffer; etag: string; source: number; port: number }>(
        `SELECT doc, etag, source, port FROM xcap WHERE doc_uri = ${ph(1)} AND doc_type = ${ph(2)} AND username = ${ph(3)}`,
        [w.docUri, w.docType, w.username ?? 'alice'],
      );
      return r && { doc: Buffer.from(r.doc).toString('utf8'), etag: r.etag, source: Number(r.source), port: Number(r.port) };
    },
    async close() {
      await gw.stop();
      await db.drop();
    },
  };
}

const docUri = (dialect: Dialect, auid: string, xui: string, name: string) => (dialect === 'kamailio' ? `/xcap-root/${auid}/users/${xui}/${name}` : name);

for (const [engine, dialect, project] of [['postgres', 'kamailio', 'kamailio'], ['mysql', 'openxcap', 'opensips32'], ['postgres', 'opensips', 'opensips'], ['mysql', 'kamailio', 'kamailio']] as const) {
  describe(`side by side: ${engine}, ${dialect}`, () => {
    it('a phone\'s PUT and DELETE reach the legacy row; the legacy server\'s update and delete reach XCAP GET', async () => {
      const s = await setUp(engine, dialect, project, engine === 'postgres' ? inject('services').postgres : maria.url);
      try {
        const alice = s.gw.client();
        const where = { docUri: docUri(dialect, 'resource-lists', ALICE.xui, 'index'), docType: 4 };
        const edited = resourceLists('alice', ['sip:dave@example.com']);
        const put = await alice.put(ALICE_RL, edited, RL);
        expect(put.status).toBe(200);
        const etag = put.headers.get('etag')!.slice(1, -1);
        const row = await until('the legacy row to hold the PUT', async () => {
          const r = await s.row(where);
          return r?.etag === etag ? r : undefined;
        });
        expect(row).toEqual({ doc: edited, etag, source: 0, port: 0 });

        // pres-rules through the phone: OpenXCAP's row is index.xml whatever the phone calls it.
        const rules = (await alice.get('/pres-rules/users/sip:alice@example.com/index')).body.replace('allow-friends', 'allow-colleagues');
        const prPut = await alice.put('/pres-rules/users/sip:alice@example.com/pres-rules', rules, 'application/auth-policy+xml');
        expect(prPut.status).toBe(200);
        const prWhere = { docUri: dialect === 'kamailio' ? docUri(dialect, 'pres-rules', ALICE.xui, 'index') : dialect === 'openxcap' ? 'index.xml' : 'index', docType: 2 };
        await until('the pres-rules row', async () => ((await s.row(prWhere))?.doc.includes('allow-colleagues') ? true : undefined));

        // The legacy server (its own XCAP or a provisioning script) edits the row.
        const legacyDoc = resourceLists('alice', ['sip:erin@example.com']);
        await s.db.query(`UPDATE xcap SET doc = ${s.ph(1)}, etag = ${s.ph(2)} WHERE doc_uri = ${s.ph(3)} AND doc_type = 4`, [Buffer.from(legacyDoc), 'sr-legacy-edit-1', where.docUri]);
        const got = await until('XCAP to serve the legacy edit', async () => {
          const r = await alice.get(ALICE_RL);
          return r.headers.get('etag') === '"sr-legacy-edit-1"' ? r : undefined;
        });
        expect(got.body).toBe(legacyDoc);

        // A phone delete removes the row; a legacy delete removes the document.
        expect((await alice.delete(ALICE_RL)).status).toBe(200);
        await until('the row to go', async () => ((await s.row(where)) === undefined ? true : undefined));
        const pidf = '/pidf-manipulation/users/sip:alice@example.com/index';
        expect((await alice.get(pidf)).status).toBe(200);
        await s.db.query(`DELETE FROM xcap WHERE doc_type = 16`);
        await until('the pidf document to go', async () => ((await alice.get(pidf)).status === 404 ? true : undefined));
        expect((await alice.get('/pres-rules/users/sip:alice@example.com/index')).status).toBe(200);
      } finally {
        await s.close();
      }
    });
  });
}

describe('side by side: odd names and a database that goes away', () => {
  it("XUIs and document names holding '; DROP TABLE, backticks and quotes are stored verbatim in the legacy row", async () => {
    const s = await setUp('mysql', 'kamailio', 'kamailio', maria.url);
    try {
      const admin = s.gw.client('admin', ADMIN.password);
      const xui = "sip:o'brien`x\"y;DROP_TABLE_xcap@example.com";
      const name = "list'; DROP TABLE xcap; --";
      const path = `/resource-lists/users/${encodeURIComponent(xui)}/${encodeURIComponent(name)}`;
      const body = resourceLists('odd', ['sip:bob@example.com']);
      const put = await admin.put(path, body, RL);
      expect(put.status).toBe(201);
      const row = await until('the odd row', () => s.row({ docUri: `/xcap-root/resource-lists/users/${xui}/${name}`, docType: 4, username: "o'brien`x\"y;DROP_TABLE_xcap" }));
      expect(row.doc).toBe(body);
      const [n] = await s.db.query<{ n: unknown }>('SELECT COUNT(*) AS n FROM xcap');
      expect(Number(n!.n)).toBeGreaterThan(1);
      expect((await admin.get(path)).body).toBe(body);
    } finally {
      await s.close();
    }
  });

  it('a legacy database that goes away mid-run: XCAP keeps serving, changes are written once it returns, every row whole', async () => {
    const own = await startMariaDb();
    const s = await setUp('mysql', 'opensips', 'opensips', own.url);
    try {
      const alice = s.gw.client();
      const where = { docUri: 'index', docType: 4 };
      await own.kill();
      let last = '';
      let etag = '';
      for (const buddy of ['sip:f1@example.com', 'sip:f2@example.com', 'sip:f3@example.com']) {
        last = resourceLists('alice', [buddy]);
        const put = await alice.put(ALICE_RL, last, RL);
        expect(put.status).toBe(200); // the phone is served while the legacy table is away
        etag = put.headers.get('etag')!.slice(1, -1);
      }
      await own.restart();
      const row = await until('the last change to arrive', async () => {
        const r = await s.row(where);
        return r?.etag === etag ? r : undefined;
      });
      expect(row.doc).toBe(last);
      const rows = await s.db.query<{ doc: Buffer }>(`SELECT doc FROM xcap WHERE doc_type = 4 AND doc_uri = 'index'`);
      expect(rows).toHaveLength(1);
    } finally {
      await s.close();
      await own.stop();
    }
  });
});
