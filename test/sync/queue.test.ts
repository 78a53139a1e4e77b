/**
 * The sync queue end to end on real Redis: XCAP change feed → BullMQ → worker → memory
 * remote, schedules, deduplication, backoff (on a single Redis and on a cluster), and a Redis
 * restart in the middle of a run.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { Unavailable } from '../../connectors/errors.ts';
import { startSync, type SyncHandle } from '../../src/sync/queue.ts';
import type { BindingConfig } from '../../src/sync/binding.ts';
import { freePort, spawnService, stopChild, tempDir, waitForPort } from '../services/process.ts';
import type { RedisTarget } from '../../src/sync/redis-connection.ts';
import { describeEachRedis } from '../helpers/redis-variants.ts';
import { binding, feedCursor, GLOBAL_DOC, listsDoc, pendingJobs, person, remoteContent, syncFixture, xcapEntries, type SyncFixture } from './helpers.ts';

const logger = pino({ level: 'silent' });
let f: SyncFixture;
let handle: SyncHandle | undefined;

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Key prefix of the queue the last `start` made. */
let prefix = '';

function start(bindings: BindingConfig[], redis: RedisTarget) {
  prefix = `t-${randomUUID()}`;
  return startSync({
    store: f.store, redis, prefix, bindings, connectors: new Map([['mem', f.remote]]), logger, runWorkers: true,
    backoffMs: 100, feedPollMs: 200, drainTimeoutMs: 2000,
  });
}

beforeEach(async () => {
  f = await syncFixture();
});
afterEach(async () => {
  await handle?.stop();
  handle = undefined;
  await f.store.close();
});

describeEachRedis((redis) => {
  describe('sync queue (BullMQ on Redis)', () => {
    let target: RedisTarget;
    beforeAll(async () => {
      target = await redis.target();
    });

    it('an XCAP change reaches the remote without a manual trigger; the sync write is not echoed', async () => {
      handle = await start([binding({ direction: 'push' }).config], target);
      await f.store.put(GLOBAL_DOC, listsDoc([person(1)]), 'absent', 'xcap');
      await until(() => remoteContent(f.remote).length === 1, 'push of the new entry');
      expect(remoteContent(f.remote)).toEqual([person(1)]);
    });

    it('a burst of 100 writes to one document during a run gives exactly one more run, and the last content wins', async () => {
      handle = await start([binding({ direction: 'push' }).config], target);
      const hold = f.remote.hold('changes');
      let etag = (await f.store.put(GLOBAL_DOC, listsDoc([]), 'absent', 'xcap')).etag;
      await hold.reached;
      for (let i = 1; i <= 100; i++) etag = (await f.store.put(GLOBAL_DOC, listsDoc([person(1, `Name ${i}`)]), { etag }, 'xcap')).etag;
      // Every write has met the held run in the queue (the feed's cursor passed them) before it ends.
      const last = await f.store.lastSeq();
      await until(async () => (await feedCursor(f.state)) >= last, 'the feed to queue every write');
      hold.release();
      await until(() => remoteContent(f.remote)[0]?.['display-name'] === 'Name 100', 'the last write on the remote');
      await until(async () => (await pendingJobs(prefix, target)) === 0, 'the queue to drain');
      expect(f.remote.calls.changes).toBe(2);
    });

    it('changes pruned from the feed before the engine read them: every watched scope runs, nothing is lost', async () => {
      const b = binding({ direction: 'push' }).config;
      handle = await start([b], target);
      await f.store.put(GLOBAL_DOC, listsDoc([person(1)]), 'absent', 'xcap');
      await until(() => remoteContent(f.remote).length === 1, 'the first push');
      await handle.stop();
      const cursor = await feedCursor(f.state);
      // While sync is down the document changes, and the feed rows of that change are pruned.
      const current = (await f.store.head(GLOBAL_DOC))!.etag;
      await f.store.put(GLOBAL_DOC, listsDoc([person(1), person(2)]), { etag: current }, 'xcap');
      await f.store.pruneChanges({ maxAgeMs: 1, batch: 1000, now: Date.now() + 3_600_000 });
      expect(await f.store.prunedThrough()).toBeGreaterThan(cursor);
      expect(await f.store.changes(cursor)).toEqual([]);
      handle = await start([b], target);
      await until(() => remoteContent(f.remote).length === 2, 'the change pushed after a full pass');
      expect(remoteContent(f.remote)).toEqual([person(1), person(2)]);
      expect(await feedCursor(f.state)).toBe(await f.store.prunedThrough());
    });

    it('a scheduled binding pulls remote changes on its tick', async () => {
      f.remote.seed('people', [{ fields: person(1) }]);
      handle = await start([binding({ schedule: { everyMs: 1000 } }).config], target);
      await until(async () => (await xcapEntries(f.store)).size === 1, 'first tick');
      f.remote.seed('people', [{ fields: person(2) }]);
      await until(async () => (await xcapEntries(f.store)).size === 2, 'next tick');
    });

    it('a remote that errors is retried with backoff until it answers; XCAP is untouched meanwhile', async () => {
      f.remote.failNext('any', new Unavailable('connection refused'), 3);
      handle = await start([binding({ direction: 'push' }).config], target);
      await f.store.put(GLOBAL_DOC, listsDoc([person(1)]), 'absent', 'xcap');
      await until(async () => (await f.state.getScope('dir', 'global'))?.lastError?.includes('unavailable') === true, 'the error in status');
      expect((await xcapEntries(f.store)).size).toBe(1);
      await until(() => remoteContent(f.remote).length === 1, 'success after retries');
      expect((await f.state.getScope('dir', 'global'))?.lastError).toBeNull();
    });
  });
});

describe('sync queue on a Redis of its own', () => {
  it('without a reachable Redis, start-up succeeds with sync off', async () => {
    const port = await freePort();
    handle = await startSync({ store: f.store, redis: `redis://127.0.0.1:${port}`, bindings: [binding().config], connectors: new Map([['mem', f.remote]]), logger, runWorkers: true, reconnectMs: 60000 });
    expect(handle.running()).toBe(false);
    await expect(handle.enqueue('dir', 'global')).rejects.toThrow(/sync is off/);
  });

  it('Redis restarted in the middle of a run: the job resumes and the result is written once', async () => {
    const dir = tempDir('redis-restart');
    const port = await freePort();
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir, '--maxmemory-policy', 'noeviction'];
    let redis = spawnService('redis-server', args);
    await waitForPort(port, redis.child, redis.output);
    try {
      f.remote.seed('people', [{ fields: person(1) }, { fields: person(2) }]);
      const hold = f.remote.hold('changes');
      handle = await start([binding().config], { url: `redis://127.0.0.1:${port}` });
      await handle.enqueue('dir', 'global');
      await hold.reached;
      await stopChild(redis.child);
      redis = spawnService('redis-server', args);
      await waitForPort(port, redis.child, redis.output);
      hold.release();
      await until(async () => (await xcapEntries(f.store)).size === 2, 'the run to finish after the restart', 40000);
      expect([...(await xcapEntries(f.store)).values()]).toEqual([person(1), person(2)]);
      const syncWrites = (await f.store.changes(0)).filter((c) => c.origin === 'sync:dir');
      expect(syncWrites).toHaveLength(1);
    } finally {
      await handle?.stop();
      handle = undefined;
      await stopChild(redis.child, dir);
    }
  });
});
