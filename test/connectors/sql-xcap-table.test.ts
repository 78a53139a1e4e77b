/**
 * xcap-table mode (connectors/sql/xcap-table/connector.ts) through the connector contract
 * suite, on real PostgreSQL (the run's throwaway server) and MariaDB (one started here),
 * in the Kamailio, OpenSIPS and OpenXCAP layouts (each project's published schema). Items
 * are whole documents (the suite's `wholeItems` model: no owned-field cases, ids chosen by
 * the caller); rows are seeded and changed behind the connector's back the way each
 * legacy server writes them.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openSqlDatabase, type SqlDatabase, type SqlEngine } from '../../connectors/sql/database.ts';
import { legacyDialect, LegacyXcapConnector, LegacyXcapTable, parseLegacyItemId, type LegacyDialectName } from '../../connectors/sql/xcap-table/index.ts';
import type { ItemFields, RemoteItem } from '../../connectors/types.ts';
import { connectorContract } from '../conformance/connector.suite.ts';
import { legacySchema, type LegacyProject } from '../fixtures/legacy-sql/schema.ts';
import { resourceLists } from '../fixtures/legacy-sql/documents.ts';
import { startMariaDb, type MariaDbService } from '../services/mariadb.ts';
import { freshSqlDatabase, type FreshDatabase } from '../services/sql-databases.ts';

let maria: MariaDbService;
const opened: FreshDatabase[] = [];
beforeAll(async () => {
  maria = await startMariaDb();
});
afterAll(async () => {
  for (const db of opened) await db.drop();
  await maria?.stop();
});

const PROJECT: Record<LegacyDialectName, LegacyProject> = { kamailio: 'kamailio', opensips: 'opensips', openxcap: 'opensips32' };
/** One database per engine and dialect, made on first use (MariaDB starts in beforeAll). */
const databases = new Map<string, Promise<FreshDatabase>>();
function databaseFor(engine: SqlEngine, dialect: LegacyDialectName): Promise<FreshDatabase> {
  const k = `${engine}/${dialect}`;
  let db = databases.get(k);
  if (db === undefined) {
    db = (async () => {
      const fresh = await freshSqlDatabase(engine, engine === 'postgres' ? inject('services').postgres : maria.url, `xt_${dialect}`);
      opened.push(fresh);
      await fresh.exec(legacySchema(PROJECT[dialect], engine));
      return fresh;
    })();
    databases.set(k, db);
  }
  return db;
}

let users = 0;
let etags = 0;
const sample = (i: number): ItemFields => ({ document: resourceLists(`owner${i}`, [`sip:b${i}@example.com`, `sip:c${i}@example.com`]) });

for (const engine of ['postgres', 'mysql'] as const) {
  for (const dialect of ['kamailio', 'opensips', 'openxcap'] as const) {
    const user = () => `u${process.pid}x${++users}`;
    let current = '';
    connectorContract(
      `sql xcap-table mode, ${engine}, ${dialect}`,
      { write: true, conditionalWrite: true, changeFeed: false, watch: false },
      async () => {
        const db = await databaseFor(engine, dialect);
        const name = user();
        current = name;
        const xui = `sip:${name}@example.com`;
        const database: SqlDatabase = openSqlDatabase(db.url, { poolSize: 2 });
        const connector = new LegacyXcapConnector(new LegacyXcapTable(database, legacyDialect(dialect)));
        const ph = (i: number) => (engine === 'postgres' ? `$${i}` : '?');
        const docUri = (doc: string) => (dialect === 'kamailio' ? `/xcap-root/resource-lists/users/${xui}/${doc}` : doc);
        // The legacy servers' own ETag forms: Kamailio `sr-<time>-<n>`, the others up to 64 characters.
        const etag = () => (dialect === 'kamailio' ? `sr-1700000000-${++etags}` : `legacy${++etags}`.padEnd(32, 'e'));
        const place = (id: string) => {
          const key = parseLegacyItemId(id);
          if (key === undefined) throw new Error(`not an item id: ${id}`);
          return docUri(key.path);
        };
        let seeded = 0;
        return {
          connector,
          collection: `xcap/${xui}`,
          missingCollection: 'no_such_table',
          sample,
          async seed(items) {
            const refs = [];
            for (const f of items) {
              const doc = `seeded-${++seeded}.xml`;
              const e = etag();
              await db.query(
                `INSERT INTO xcap (username, domain, doc, doc_type, etag, source, doc_uri, port) VALUES (${ph(1)}, 'example.com', ${ph(2)}, 4, ${ph(3)}, 0, ${ph(4)}, 0)`,
                [name, Buffer.from(f.document ?? '', 'utf8'), e, docUri(doc)],
              );
              refs.push({ id: `resource-lists/users/${xui}/${doc}`, version: e });
            }
            return refs;
          },
          external: {
            async update(id, fields) {
              await db.query(`UPDATE xcap SET doc = ${ph(1)}, etag = ${ph(2)} WHERE username = ${ph(3)} AND doc_uri = ${ph(4)}`, [Buffer.from(fields.document ?? '', 'utf8'), etag(), name, place(id)]);
            },
            async remove(id) {
              await db.query(`DELETE FROM xcap WHERE username = ${ph(1)} AND doc_uri = ${ph(2)}`, [name, place(id)]);
            },
          },
          cleanup: () => database.close(),
        };
      },
      { wholeItems: { newId: (i) => `resource-lists/users/sip:${current}@example.com/created-${i}.xml` } },
    );

    describe(`sql xcap-table mode, ${engine}, ${dialect}: beyond the contract`, () => {
      it('the table collection holds every user\'s documents; a row of a doc_type the dialect does not define is no item; a write stamps an ETag the column holds', async () => {
        const db = await databaseFor(engine, dialect);
        const database = openSqlDatabase(db.url, { poolSize: 2 });
        try {
          const connector = new LegacyXcapConnector(new LegacyXcapTable(database, legacyDialect(dialect)));
          const a = `sip:${user()}@example.com`;
          const b = `sip:${user()}@example.com`;
          await connector.write(`xcap/${a}`, { id: `resource-lists/users/${a}/index`, fields: sample(1) }, 'absent');
          const ref = await connector.write(`xcap/${b}`, { id: `pres-rules/users/${b}/index`, fields: sample(2) }, 'absent');
          expect(ref.version.length).toBeLessThanOrEqual(dialect === 'kamailio' ? 128 : 64);
          // OpenXCAP files every pres-rules document as index.xml.
          expect(ref.id).toBe(`pres-rules/users/${b}/${dialect === 'openxcap' ? 'index.xml' : 'index'}`);
          const ph = (i: number) => (engine === 'postgres' ? `$${i}` : '?');
          await db.query(`INSERT INTO xcap (username, domain, doc, doc_type, etag, source, doc_uri, port) VALUES (${ph(1)}, 'example.com', ${ph(2)}, 9999, 'x', 0, ${ph(3)}, 0)`, [
            a.slice(4, a.indexOf('@')), Buffer.from('<x/>'), dialect === 'kamailio' ? '/elsewhere/x' : 'odd',
          ]);
          const all: RemoteItem[] = [];
          for await (const item of connector.read('xcap')) all.push(item);
          const ids = all.map((i) => i.id);
          expect(ids).toEqual(expect.arrayContaining([`resource-lists/users/${a}/index`, ref.id]));
          const mine: string[] = [];
          for await (const item of connector.list(`xcap/${a}`)) mine.push(item.id);
          expect(mine).toEqual([`resource-lists/users/${a}/index`]);
        } finally {
          await database.close();
        }
      });
    });
  }
}
