/**
 * PostgreSQL only: a BIGSERIAL `seq` is taken at insert time but becomes visible at
 * commit, so the feed can show seq n+1 while n is still being committed (SQLite has one
 * writer at a time, so its feed never has such holes). A reader that advanced past n
 * would lose that change for good; changes() must stop before the hole instead. A slow
 * writer is played by a raw transaction inserting a change row by hand.
 */
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { EtagMismatch } from '../../src/store/types.ts';
import { freshPostgresDatabase } from '../services/databases.ts';
import { SHARED_KEY } from './shared-key.ts';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function setup(gapSettleMs?: number) {
  const url = await freshPostgresDatabase(inject('services').postgres, 'gaps');
  const store = await openPostgresStore(url, gapSettleMs === undefined ? {} : { gapSettleMs });
  const slow = new pg.Client({ connectionString: url });
  await slow.connect();
  closers.push(() => store.close(), () => slow.end());
  /** Starts a transaction that holds the next seq without committing it. */
  const beginSlowWrite = async () => {
    await slow.query('BEGIN');
    await slow.query(
      `INSERT INTO xcap_changes (auid, tree, xui, path, old_etag, new_etag, origin, at, writer)
       VALUES ('resource-lists', 0, '', 'slow', NULL, 'slowetag', 'slow', $1, 'other')`,
      [Date.now()],
    );
  };
  return { store, slow, beginSlowWrite };
}

describe('postgres: change feed holes', () => {
  it('stops before a change still being committed, and shows both once it commits', async () => {
    // An hour: however slow the machine, the hole is never old enough to be skipped here.
    const { store, slow, beginSlowWrite } = await setup(3_600_000);
    await beginSlowWrite();
    const fast = await store.put(SHARED_KEY, '<fast/>', 'absent', 'xcap');
    expect(await store.changes(0)).toEqual([]);
    expect(await store.lastSeq()).toBe(2);
    await slow.query('COMMIT');
    expect((await store.changes(0)).map((c) => [c.seq, c.origin, c.newEtag])).toEqual([
      [1, 'slow', 'slowetag'],
      [2, 'xcap', fast.etag],
    ]);
  });

  it('skips a hole left by a rolled-back writer once the change after it is older than gapSettleMs', async () => {
    const { store, slow, beginSlowWrite } = await setup(0);
    await beginSlowWrite();
    await slow.query('ROLLBACK');
    const r = await store.put(SHARED_KEY, '<x/>', 'absent', 'xcap');
    expect((await store.changes(0)).map((c) => [c.seq, c.newEtag])).toEqual([[2, r.etag]]);
  });

  it('failed conditional writes take no seq, so they leave no hole', async () => {
    const { store } = await setup();
    const a = await store.put(SHARED_KEY, '<a/>', 'absent');
    await expect(store.put(SHARED_KEY, '<b/>', 'absent')).rejects.toBeInstanceOf(EtagMismatch);
    await expect(store.put(SHARED_KEY, '<b/>', { etag: 'stale' })).rejects.toBeInstanceOf(EtagMismatch);
    await expect(store.delete(SHARED_KEY, { etag: 'stale' })).rejects.toBeInstanceOf(EtagMismatch);
    await store.delete(SHARED_KEY, { etag: a.etag });
    expect((await store.changes(0)).map((c) => c.seq)).toEqual([1, 2]);
  });
});
