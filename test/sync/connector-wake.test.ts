/**
 * Connector wake-ups (connectors/types.ts `watch`) queue sync runs: a row written by
 * another client of a table-mode SQL table reaches the XCAP document with no schedule at
 * all (so nothing but the wake-up can start the run), on real PostgreSQL (NOTIFY) and
 * MariaDB (polling the triggers' counter), through real Redis and BullMQ (a single Redis and
 * a cluster). With an owner column only the owner's document runs.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openSqlDatabase, type SqlEngine } from '../../connectors/sql/database.ts';
import { sqlConnectorSchema, SqlTableConnector } from '../../connectors/sql/index.ts';
import { triggerDdl } from '../../connectors/sql/table/triggers.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { DocKey } from '../../src/store/types.ts';
import { bindingSchema, type BindingInput } from '../../src/sync/binding.ts';
import { startSync, type RunEvent } from '../../src/sync/queue.ts';
import { contactsDdl } from '../connectors/sql-fixtures.ts';
import { startMariaDb, type MariaDbService } from '../services/mariadb.ts';
import { freshSqlDatabase, type FreshDatabase } from '../services/sql-databases.ts';
import { pendingJobs, xcapEntries } from './helpers.ts';
import { describeEachRedis } from '../helpers/redis-variants.ts';

const logger = pino({ level: 'silent' });
let maria: MariaDbService;
const dbs = new Map<SqlEngine, FreshDatabase>();
beforeAll(async () => {
  maria = await startMariaDb();
  dbs.set('postgres', await freshSqlDatabase('postgres', inject('services').postgres, 'wake'));
  dbs.set('mysql', await freshSqlDatabase('mysql', maria.url, 'wake'));
});
afterAll(async () => {
  for (const db of dbs.values()) await db.drop();
  await maria?.stop();
});

/** Waits for a condition; the timeout is a hang guard, not a measurement. */
async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const ALICE = 'sip:alice@example.com';
const BOB = 'sip:bob@example.com';
const docOf = (xui: string | null): DocKey => ({ auid: 'resource-lists', xui, path: 'directory' });
let tables = 0;

describeEachRedis((redis) => {
  for (const engine of ['postgres', 'mysql'] as const) {
    describe(`connector wake-ups queue runs (${engine === 'postgres' ? 'PostgreSQL NOTIFY' : 'MariaDB polling'})`, () => {
      async function setUp(withOwner: boolean) {
        const db = dbs.get(engine)!;
        const table = `wake_${++tables}`;
        await db.exec([contactsDdl(engine, table), ...triggerDdl(engine, { table, key: 'id', version: 'version', ...(withOwner && { owner: 'owner' }) })]);
        const options = sqlConnectorSchema.parse({ kind: 'sql', url: db.url, table, columns: { uri: 'sip_uri', 'display-name': 'name' }, pollMs: 100, ...(withOwner && { owner: 'owner' }) });
        const connector = new SqlTableConnector(options, openSqlDatabase(db.url));
        const store = await openSqliteStore(':memory:');
        const input: BindingInput = {
          name: 'crm', auid: 'resource-lists', mapping: { kind: 'resource-lists', list: 'directory' }, connector: 'crm', direction: 'pull',
          ...(withOwner ? { target: { scope: 'users', document: 'directory', users: [ALICE, BOB] }, collection: `${table}/{xui}` } : { target: { scope: 'global', document: 'directory' }, collection: table }),
        };
        const runs: RunEvent[] = [];
        const prefix = `wake-${randomUUID()}`;
        const target = await redis.target();
        // No schedule: a run can only come from a wake-up (or an XCAP change, and there is none).
        const sync = await startSync({
          store, redis: target, prefix, bindings: [bindingSchema.parse(input)], connectors: new Map([['crm', connector]]),
          logger, runWorkers: true, debounceMs: 50, onRun: (e) => runs.push(e),
        });
        const ph = (i: number) => (engine === 'postgres' ? `$${i}` : '?');
        const insert = (uri: string, name: string, owner: string | null = null) =>
          db.query(`INSERT INTO ${table} (owner, sip_uri, name) VALUES (${ph(1)}, ${ph(2)}, ${ph(3)})`, [owner, uri, name]);
        return {
          store, runs, insert,
          idle: async () => (await pendingJobs(prefix, target)) === 0,
          async stop() {
            await sync.stop();
            await connector.close();
            await store.close();
          },
        };
      }

      it('a row inserted by another client arrives in the XCAP document; a second one too; no schedule exists', async () => {
        const t = await setUp(false);
        try {
          await t.insert('sip:carol@example.com', 'Carol');
          await until(async () => (await xcapEntries(t.store, docOf(null))).has('sip:carol@example.com'), 'the first row in XCAP');
          await t.insert('sip:dave@example.com', 'Dave');
          await until(async () => (await xcapEntries(t.store, docOf(null))).has('sip:dave@example.com'), 'the second row in XCAP');
          expect([...(await xcapEntries(t.store, docOf(null))).values()]).toEqual([
            { uri: 'sip:carol@example.com', 'display-name': 'Carol' },
            { uri: 'sip:dave@example.com', 'display-name': 'Dave' },
          ]);
          expect(t.runs.every((r) => r.scope === 'global' && r.outcome !== 'failed')).toBe(true);
        } finally {
          await t.stop();
        }
      });

      it("with an owner column, a row of alice's runs alice's document only", async () => {
        const t = await setUp(true);
        try {
          // The watch's first call ("look now") runs both users once.
          await until(() => new Set(t.runs.map((r) => r.scope)).size === 2, 'the first run of both users');
          await until(t.idle, 'the queue to drain');
          const bobRuns = t.runs.filter((r) => r.scope === BOB).length;
          await t.insert('sip:erin@example.com', 'Erin', ALICE);
          await until(async () => (await xcapEntries(t.store, docOf(ALICE))).has('sip:erin@example.com'), "alice's new row in XCAP");
          await until(t.idle, 'the queue to drain');
          expect(t.runs.filter((r) => r.scope === BOB)).toHaveLength(bobRuns);
          expect((await xcapEntries(t.store, docOf(BOB))).size).toBe(0);
        } finally {
          await t.stop();
        }
      });
    });
  }
});
