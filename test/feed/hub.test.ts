/**
 * The change-feed hub of a process (src/feed/hub.ts) takes a change it is told of (a NOTIFY
 * from another writer, the primary's word in an HTTP worker) without reading the store when
 * it is the next one, and reads the store when a seq is skipped: every change reaches the
 * listener once, in seq order, either way. Reads of the store are counted on a real store
 * (PostgreSQL, and SQLite opened twice as two processes would); timers are a manual clock, so
 * no poll runs unless the test moves time.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { FeedHub } from '../../src/feed/hub.ts';
import { createLogger } from '../../src/log.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { DocChange, DocumentStore } from '../../src/store/types.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { freshPostgresDatabase } from '../services/databases.ts';
import { tempDir } from '../services/process.ts';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const POLL_MS = 100;
const key = (i: number) => ({ auid: 'resource-lists', xui: `sip:u${i}@example.com`, path: 'index' });

/** `store` with its feed reads counted. */
function counted(store: DocumentStore): { store: DocumentStore; reads: () => number } {
  let reads = 0;
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (prop === 'changes' || prop === 'lastSeq') reads++;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, reads: () => reads };
}

/** A hub on `store` whose listener records every change; `until(n)` waits for the n-th. */
async function follow(store: DocumentStore, commits?: ConstructorParameters<typeof FeedHub>[0]['commits']) {
  const clock = new ManualClock();
  const hub = new FeedHub({ store, clock, pollMs: POLL_MS, coalesceMs: 0, log: createLogger('silent'), ...(commits ? { commits } : {}) });
  closers.push(() => hub.close());
  const seen: number[] = [];
  const waiters: Array<{ n: number; done: () => void }> = [];
  await hub.add({
    onAttached() {},
    onChanges(batch) {
      seen.push(...batch.changes.map((c) => c.seq));
      for (const w of waiters.filter((x) => seen.length >= x.n)) w.done();
    },
    onMissed() {
      throw new Error('nothing was pruned');
    },
  });
  const until = (n: number) => (seen.length >= n ? Promise.resolve() : new Promise<void>((done) => waiters.push({ n, done })));
  return { clock, hub, seen, until };
}

describe('change-feed hub: changes told of', () => {
  it('PostgreSQL: another writer\'s 50 changes arrive by NOTIFY, in order, once each, with no read of the store', async () => {
    const url = await freshPostgresDatabase(inject('services').postgres, 'hub');
    const writer = await openPostgresStore(url);
    const follower = counted(await openPostgresStore(url));
    closers.push(() => writer.close(), () => follower.store.close());
    const { seen, until } = await follow(follower.store);
    const before = follower.reads();
    for (let i = 1; i <= 50; i++) await writer.put(key(i), '<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>', 'absent', 'xcap');
    await until(50);
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(follower.reads() - before).toBe(0);
  });

  it('PostgreSQL: a change told of past a seq still being committed is read from the store once that commits; each arrives once, in order', async () => {
    const url = await freshPostgresDatabase(inject('services').postgres, 'hub');
    // An hour: the hole is never old enough to be skipped here.
    const writer = await openPostgresStore(url, { gapSettleMs: 3_600_000 });
    const follower = counted(await openPostgresStore(url, { gapSettleMs: 3_600_000 }));
    const slow = new pg.Client({ connectionString: url });
    await slow.connect();
    closers.push(() => writer.close(), () => follower.store.close(), () => slow.end());
    const { clock, hub, seen, until } = await follow(follower.store);
    // seq 1 held by a transaction that has not committed; seq 2 committed and notified.
    await slow.query('BEGIN');
    await slow.query(
      `INSERT INTO xcap_changes (auid, tree, xui, path, old_etag, new_etag, origin, at, writer)
       VALUES ('resource-lists', 0, '', 'slow', NULL, 'slowetag', 'slow', $1, 'other')`,
      [Date.now()],
    );
    await writer.put(key(2), '<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>', 'absent', 'xcap');
    // Told of seq 2 (its NOTIFY) or not yet, a read now stops before the hole.
    await hub.pull();
    expect(seen).toEqual([]);
    await slow.query('COMMIT');
    // The raw insert notifies nobody: the next poll reads both.
    clock.advance(POLL_MS);
    await until(2);
    await writer.put(key(3), '<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>', 'absent', 'xcap');
    await until(3);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('SQLite, the primary\'s word: changes told out of order and twice are read once from the store; the next one told is taken as it is', async () => {
    const file = join(tempDir('hub'), 'xcap.sqlite');
    const primary = await openSqliteStore(file);
    const worker = counted(await openSqliteStore(file));
    closers.push(() => primary.close(), () => worker.store.close());
    const told: DocChange[] = [];
    primary.subscribe((c) => told.push(c));
    let tell: (changes: readonly DocChange[] | undefined) => void = () => {};
    const { seen, until } = await follow(worker.store, (l) => {
      tell = l;
      return () => {};
    });
    const write = (i: number) => primary.put(key(i), '<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>', 'absent', 'xcap');
    for (let i = 1; i <= 3; i++) await write(i);
    const [c1, c2, c3] = told as [DocChange, DocChange, DocChange];
    tell([c2, c1, c1, c3]);
    await until(3);
    expect(seen).toEqual([1, 2, 3]);
    await write(4);
    const before = worker.reads();
    tell([c3, told[3] as DocChange]);
    await until(4);
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(worker.reads() - before).toBe(0);
  });
});
