/**
 * The SQL connector in table mode (connectors/sql/table) through the connector contract
 * suite on real PostgreSQL (the run's throwaway server) and MariaDB (one started here),
 * with and without an owner column, plus what only SQL shows: unmapped columns kept,
 * metacharacters stored verbatim, mysql2's matched-rows count, the collection a wake-up names.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openSqlDatabase, type SqlEngine } from '../../connectors/sql/database.ts';
import { sqlConnectorKind, sqlConnectorSchema, SqlTableConnector } from '../../connectors/sql/index.ts';
import { triggerDdl } from '../../connectors/sql/table/triggers.ts';
import { Rejected } from '../../connectors/errors.ts';
import type { ItemFields } from '../../connectors/types.ts';
import { connectorContract, connectorKindContract } from '../conformance/connector.suite.ts';
import { startMariaDb, type MariaDbService } from '../services/mariadb.ts';
import { freshSqlDatabase, type FreshDatabase } from '../services/sql-databases.ts';
import { contactsDdl } from './sql-fixtures.ts';

let maria: MariaDbService;
const dbs = new Map<SqlEngine, FreshDatabase>();
beforeAll(async () => {
  maria = await startMariaDb();
  dbs.set('postgres', await freshSqlDatabase('postgres', inject('services').postgres, 'sqlconn'));
  dbs.set('mysql', await freshSqlDatabase('mysql', maria.url, 'sqlconn'));
});
afterAll(async () => {
  for (const db of dbs.values()) await db.drop();
  await maria?.stop();
});

const COLUMNS = { uri: 'sip_uri', 'display-name': 'name', mail: 'email', mobile: 'phone' };
const FIELD_COLUMNS = Object.entries(COLUMNS);
let tables = 0;

interface Table {
  readonly db: FreshDatabase;
  readonly engine: SqlEngine;
  readonly name: string;
  readonly connector: SqlTableConnector;
  readonly collection: string;
  readonly owner: string | undefined;
  seed(items: readonly ItemFields[], extra?: Record<string, string>): Promise<{ id: string; version: string }[]>;
  ph(i: number): string;
}

/** `updatedAt`: the table has an `updated_at` column of that precision instead of a version (the connector's updatedAt mode). */
async function newTable(engine: SqlEngine, withOwner: boolean, updatedAt?: 'micro' | 'seconds'): Promise<Table> {
  const db = dbs.get(engine)!;
  const name = `contacts_${++tables}`;
  await db.exec([contactsDdl(engine, name, updatedAt), ...triggerDdl(engine, { table: name, key: 'id', ...(updatedAt === undefined && { version: 'version' }), ...(withOwner && { owner: 'owner' }) })]);
  const url = db.url;
  const options = sqlConnectorSchema.parse({ kind: 'sql', url, table: name, columns: COLUMNS, pollMs: 100, ...(withOwner && { owner: 'owner' }), ...(updatedAt && { updatedAt: 'updated_at' }) });
  const connector = new SqlTableConnector(options, openSqlDatabase(url));
  const owner = withOwner ? "sip:alice@example.com'; DROP TABLE x; --" : undefined;
  const ph = (i: number) => (engine === 'postgres' ? `$${i}` : '?');
  return {
    db, engine, name, connector, owner, ph,
    collection: withOwner ? `${name}/${owner}` : name,
    async seed(items, extra = {}) {
      const out = [];
      for (const f of items) {
        const cols = ['owner', ...FIELD_COLUMNS.map(([, c]) => c), ...Object.keys(extra)];
        const vals = [owner ?? null, ...FIELD_COLUMNS.map(([field]) => f[field] ?? null), ...Object.values(extra)];
        await db.query(`INSERT INTO ${name} (${cols.join(', ')}) VALUES (${cols.map((_, i) => ph(i + 1)).join(', ')})`, vals);
        const [r] = await db.query<{ id: unknown; version?: unknown }>(`SELECT * FROM ${name} ORDER BY id DESC LIMIT 1`);
        const id = String(r!.id);
        // With updatedAt the version is the connector's own (time + digest of the mapped columns): ask it.
        if (updatedAt === undefined) out.push({ id, version: String(r!.version) });
        else for await (const item of connector.read(withOwner ? `${name}/${owner}` : name, [id])) out.push({ id, version: item.version });
      }
      return out;
    },
  };
}

const sample = (i: number): ItemFields => ({ uri: `sip:user${i}@example.com`, 'display-name': `User ${i}`, mail: `user${i}@example.com`, mobile: `+49301234${i}` });

for (const engine of ['postgres', 'mysql'] as const) {
  for (const [withOwner, updatedAt] of [[false, undefined], [true, undefined], [false, 'micro'], [true, 'micro']] as const) {
    // With updatedAt the table's writers set the time: PostgreSQL's column default does it on insert only.
    const touch = updatedAt !== undefined && engine === 'postgres' ? ', updated_at = clock_timestamp()' : '';
    connectorContract(`sql table mode, ${engine}${withOwner ? ', per owner' : ''}${updatedAt ? ', updated_at column' : ''}`, { write: true, conditionalWrite: true, changeFeed: true, watch: engine === 'postgres' || updatedAt === undefined }, async () => {
      const t = await newTable(engine, withOwner, updatedAt);
      return {
        connector: t.connector,
        collection: t.collection,
        missingCollection: 'no_such_table',
        sample,
        seed: (items) => t.seed(items),
        external: {
          async update(id, fields) {
            await t.db.query(`UPDATE ${t.name} SET ${FIELD_COLUMNS.map(([, c], i) => `${c} = ${t.ph(i + 1)}`).join(', ')}${touch} WHERE id = ${t.ph(FIELD_COLUMNS.length + 1)}`, [
              ...FIELD_COLUMNS.map(([field]) => fields[field] ?? null), id,
            ]);
          },
          async remove(id) {
            await t.db.query(`DELETE FROM ${t.name} WHERE id = ${t.ph(1)}`, [id]);
          },
        },
        cleanup: () => t.connector.close(),
      };
    });
  }

  describe(`sql table mode, ${engine}: beyond the contract`, () => {
    it('a write leaves unmapped columns alone; rewriting equal values at the version still succeeds (matched rows, not changed rows)', async () => {
      const t = await newTable(engine, false);
      try {
        const [a] = await t.seed([sample(1)], { notes: 'kept by the CRM' });
        const same = await t.connector.write(t.collection, { id: a!.id, fields: sample(1) }, { version: a!.version });
        expect(same.version).not.toBe(a!.version);
        const [row] = await t.db.query<{ notes: string; name: string }>(`SELECT notes, name FROM ${t.name} WHERE id = ${t.ph(1)}`, [a!.id]);
        expect(row).toEqual({ notes: 'kept by the CRM', name: 'User 1' });
      } finally {
        await t.connector.close();
      }
    });

    it('updated_at mode: rows that tie in time (whole seconds, one value) are each reported once; an edit within the same second is reported', async () => {
      const t = await newTable(engine, false, 'seconds');
      const at = '2026-12-01 10:00:00';
      const insert = (i: number) => t.db.query(`INSERT INTO ${t.name} (sip_uri, name, updated_at) VALUES (${t.ph(1)}, ${t.ph(2)}, ${t.ph(3)})`, [`sip:tie${i}@example.com`, `Tie ${i}`, at]);
      const uris = (cs: Awaited<ReturnType<SqlTableConnector['changes']>>) => (cs === 'token-expired' ? ['token-expired'] : cs.upserted.map((u) => u.fields.uri).sort());
      try {
        await insert(1);
        const first = await t.connector.changes(t.collection);
        expect(uris(first)).toEqual(['sip:tie1@example.com']);
        if (first === 'token-expired') return;
        // Same second, committed after the token was taken: a '>' on time would miss it.
        await insert(2);
        await insert(3);
        const second = await t.connector.changes(t.collection, first.token);
        expect(uris(second)).toEqual(['sip:tie2@example.com', 'sip:tie3@example.com']);
        if (second === 'token-expired') return;
        expect(uris(await t.connector.changes(t.collection, second.token))).toEqual([]);
        // An edit that leaves the time as it was (the writer set the same second) still shows.
        await t.db.query(`UPDATE ${t.name} SET name = 'Tie one', updated_at = ${t.ph(1)} WHERE sip_uri = 'sip:tie1@example.com'`, [at]);
        const third = await t.connector.changes(t.collection, second.token);
        expect(third !== 'token-expired' && third.upserted.map((u) => u.fields['display-name'])).toEqual(['Tie one']);
      } finally {
        await t.connector.close();
      }
    });

    it("values and owners holding '; DROP TABLE, backticks and quotes are stored verbatim and harm nothing", async () => {
      const t = await newTable(engine, true);
      try {
        const evil = { uri: "sip:x'; DROP TABLE contacts; --@example.com", 'display-name': 'Robert`); DROP TABLE `students`; -- "quoted" \\ back\\slash', mail: "o'hara@example.com" };
        const ref = await t.connector.write(t.collection, { fields: evil }, 'absent');
        const got = [];
        for await (const i of t.connector.read(t.collection, [ref.id])) got.push(i);
        expect(got[0]?.fields).toEqual(evil);
        const [row] = await t.db.query<{ owner: string; name: string }>(`SELECT owner, name FROM ${t.name} WHERE id = ${t.ph(1)}`, [ref.id]);
        expect(row).toEqual({ owner: t.owner, name: evil['display-name'] });
        const [count] = await t.db.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${t.name}`);
        expect(Number(count!.n)).toBe(1);
      } finally {
        await t.connector.close();
      }
    });

    it(engine === 'mysql' ? 'a NUL character in a value is stored verbatim' : 'a NUL character is refused with a clear error (PostgreSQL text cannot hold it), nothing written', async () => {
      const t = await newTable(engine, false);
      try {
        const nul = { uri: 'sip:nul@example.com', 'display-name': 'before\u0000after' };
        if (engine === 'mysql') {
          const ref = await t.connector.write(t.collection, { fields: nul }, 'absent');
          const got = [];
          for await (const i of t.connector.read(t.collection, [ref.id])) got.push(i);
          expect(got[0]?.fields['display-name']).toBe('before\u0000after');
        } else {
          const err = await t.connector.write(t.collection, { fields: nul }, 'absent').then(() => undefined, (e: unknown) => e);
          expect(err).toBeInstanceOf(Rejected);
          expect((err as Error).message).toMatch(/NUL/);
          const [count] = await t.db.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${t.name}`);
          expect(Number(count!.n)).toBe(0);
        }
      } finally {
        await t.connector.close();
      }
    });

    it(`watch names the owner's collection of a changed row, not every collection (${engine === 'postgres' ? 'NOTIFY payload' : 'polling the stamps'})`, async () => {
      const t = await newTable(engine, true);
      const calls: (readonly string[] | undefined)[] = [];
      let woke: () => void = () => {};
      const next = () => new Promise<void>((r) => (woke = r));
      const established = next();
      const stop = t.connector.watch!((c) => {
        calls.push(c);
        woke();
      });
      try {
        await established;
        const before = calls.length;
        await t.seed([sample(1)]);
        while (!calls.slice(before).some((c) => c !== undefined)) await next();
        expect(calls.slice(before).filter((c) => c !== undefined)[0]).toEqual([t.collection]);
      } finally {
        stop();
        await t.connector.close();
      }
    });
  });
}

connectorKindContract(sqlConnectorKind, [
  { kind: 'sql', url: 'postgres://xcap@db.example.com/crm', table: 'contacts', columns: { uri: 'sip_uri' } },
  { kind: 'sql', url: 'mysql://xcap@db.example.com/crm', passwordEnv: 'CRM_DB_PASSWORD', table: 'crm.contacts', key: 'contact_id', version: 'row_version', owner: 'owner_xui', columns: { uri: 'sip_uri', 'display-name': 'name' } },
]);

describe('xcap-bridge sql install-triggers', () => {
  it('--print shows the DDL; without it the triggers are installed and stamp versions of rows other clients write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcapb-sqlcli-'));
    const cli = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
        execFile(process.execPath, [resolve('bin/xcap-bridge.js'), ...args], { cwd: dir }, (err, stdout, stderr) => done({ code: err ? Number(err.code) : 0, stdout, stderr }));
      });
    try {
      for (const engine of ['postgres', 'mysql'] as const) {
        const db = dbs.get(engine)!;
        const table = `cli_contacts_${engine}`;
        await db.exec([contactsDdl(engine, table)]);
        const cfg = join(dir, `${engine}.yaml`);
        writeFileSync(cfg, `connectors:\n  crm:\n    kind: sql\n    url: ${db.url}\n    table: ${table}\n    columns: { uri: sip_uri, display-name: name }\n`);
        const printed = await cli(['sql', 'install-triggers', '--connector', 'crm', '--print', '--config', cfg]);
        expect(printed.code).toBe(0);
        expect(printed.stdout).toContain(`CREATE TRIGGER ${engine === 'postgres' ? `"xb_${table}_stamp"` : `\`xb_${table}_stamp_insert\``}`);
        expect(printed.stdout).toContain(`xb_${table}_tombstones`);
        const installed = await cli(['sql', 'install-triggers', '--connector', 'crm', '--config', cfg]);
        expect(installed.stdout).toContain(`installed the triggers of ${table}`);
        // Twice is safe.
        expect((await cli(['sql', 'install-triggers', '--connector', 'crm', '--config', cfg])).code).toBe(0);
        await db.query(`INSERT INTO ${table} (sip_uri, name) VALUES ('sip:a@example.com', 'A')`);
        await db.query(`DELETE FROM ${table}`);
        const [stamped] = await db.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM xb_${table}_tombstones`);
        expect(Number(stamped!.n)).toBe(1);
      }
      const wrong = await cli(['sql', 'install-triggers', '--connector', 'nope', '--config', join(dir, 'mysql.yaml')]);
      expect([wrong.code, wrong.stderr]).toEqual([2, 'sql install-triggers: connector "nope" is not configured\n']);
      expect((await cli(['sql', '--help'])).stdout).toMatch(/--print/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
