/**
 * Nothing in sync depends on PostgreSQL's NOTIFY reaching this process: on a sharded
 * database (Citus) a write commits on another node, whose NOTIFY never arrives here, and a
 * transaction-pooling proxy drops LISTEN. Such a write is played by a raw insert of the
 * document and its change row, which sends no NOTIFY; the sync engine must find it by
 * polling the change feed (`changeFeed.pollMs`) and push it to the remote.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startSync, type SyncHandle } from '../../src/sync/queue.ts';
import { binding, listsDoc, person, remoteContent, syncFixture, type SyncFixture } from './helpers.ts';
import { describeEachRedis } from '../helpers/redis-variants.ts';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describeEachRedis((redis) => {
  describe('sync on PostgreSQL without NOTIFY', () => {
    it('a change committed with no NOTIFY (as on another node) reaches the remote through the feed poll', async () => {
      const f: SyncFixture = await syncFixture('postgres');
      closers.push(() => f.store.close());
      const handle: SyncHandle = await startSync({
        store: f.store,
        redis: await redis.target(),
        prefix: `t-${randomUUID()}`,
        bindings: [binding({ direction: 'push' }).config],
        connectors: new Map([['mem', f.remote]]),
        logger: pino({ level: 'silent' }),
        runWorkers: true,
        feedPollMs: 200,
        drainTimeoutMs: 2000,
      });
      closers.push(() => handle.stop());

      const other = new pg.Client({ connectionString: await databaseUrl(f) });
      await other.connect();
      closers.push(() => other.end());
      const now = Date.now();
      await other.query('BEGIN');
      await other.query(
        `INSERT INTO xcap_documents (auid, tree, xui, path, etag, body, modified) VALUES ('resource-lists', 0, '', 'directory', 'elsewhere1', $1, $2)`,
        [listsDoc([person(1)]), now],
      );
      await other.query(
        `INSERT INTO xcap_changes (auid, tree, xui, path, old_etag, new_etag, origin, at, writer) VALUES ('resource-lists', 0, '', 'directory', NULL, 'elsewhere1', 'xcap', $1, 'another-node')`,
        [now],
      );
      await other.query('COMMIT');

      await until(() => remoteContent(f.remote).length === 1, 'the push of the entry written without NOTIFY');
      expect(remoteContent(f.remote)).toEqual([person(1)]);
    });
  });

  /** The URL of the fixture's database, read back from PostgreSQL itself. */
  async function databaseUrl(f: SyncFixture): Promise<string> {
    const [row] = await f.store.sql.query<{ db: string }>('SELECT current_database() AS db');
    const u = new URL(inject('services').postgres);
    u.pathname = `/${row?.db ?? ''}`;
    return u.toString();
  }
});
