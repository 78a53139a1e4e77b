/**
 * Issue 4 item 6, the engine's own cases end to end: a phone edits its `friends` list over
 * XCAP (HTTP, Digest) on the real gateway, the sync engine runs on real Redis, and a memory
 * connector is the other side (binding `buddies`, direction both, see sync-helpers.ts).
 * Changes flow each way item by item, the user's other lists are never touched, and every
 * read-back checks that the document's ETag changed exactly when the document did. Every
 * case runs against a single Redis and against a 6-node Redis Cluster (issue 10 item 6).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemoryConnector } from '../../connectors/memory/index.ts';
import { ALICE, type TestGateway } from '../helpers/gateway.ts';
import { rawRequest, type XcapClient } from '../helpers/digest-client.ts';
import { AS_ADMIN } from '../http/admin-helpers.ts';
import { EL_TYPE, RL_TYPE } from '../http/helpers.ts';
import {
  ALICE_COLL, ALICE_INDEX, entryPath, entryXml, etagOf, FRIENDS, getDoc, listOf, memoryOf, remoteByUri, remoteIdOf,
  feedCaughtUp, pauseQueue, pendingJobs, queueIdle, queueKeys, rlDoc, startSyncGateway, syncNow, until, type Item,
} from './sync-helpers.ts';
import { describeEachRedis } from '../helpers/redis-variants.ts';

const bob: Item = { uri: 'sip:bob@example.com', 'display-name': 'Bob', mail: 'bob@example.com' };
const carol: Item = { uri: 'sip:carol@example.com', 'display-name': 'Carol' };
const erin: Item = { uri: 'sip:erin@example.com', 'display-name': 'Erin' };
const WORK = [erin];

describeEachRedis((redis) => {
  describe(`issue 4: direction both — XCAP ⇄ memory connector, item by item`, () => {
    let t: TestGateway;
    let alice: XcapClient;
    let mem: MemoryConnector;
    /** The document's ETag as the last step left it. */
    let etag = '';

    const remote = () => remoteByUri(mem, ALICE_COLL);
    /** Reads the document; checks that the `work` list is exactly as alice wrote it. */
    const read = async () => {
      const doc = await getDoc(t);
      expect([...(listOf(doc.body, 'work')?.values() ?? [])]).toEqual(WORK);
      return doc;
    };

    beforeAll(async () => {
      t = await startSyncGateway({ prefix: 'e2e-sync-http', redis: await redis.target() });
      alice = t.client();
      mem = memoryOf(t);
    });
    afterAll(() => t?.stop());

    it('a new document: its friends reach the empty remote collection (event-driven); the document is not rewritten', async () => {
      const res = await alice.put(ALICE_INDEX, rlDoc({ [FRIENDS]: [bob, carol], work: WORK }), RL_TYPE);
      expect(res.status).toBe(201);
      etag = etagOf(res);
      const got = await until(remote, (r) => r.size === 2);
      expect(got).toEqual(new Map([[bob.uri, bob], [carol.uri, carol]]));
      const doc = await read();
      expect(doc.etag).toBe(etag);
      expect([...(listOf(doc.body, FRIENDS)?.values() ?? [])]).toEqual([bob, carol]);
    });

    describe('XCAP → remote', () => {
      const dave: Item = { uri: 'sip:dave@example.com', 'display-name': 'Dave', mail: 'dave@example.com' };
      let daveId = '';

      it('element PUT creating an entry creates the remote item', async () => {
        const res = await alice.put(entryPath(ALICE_INDEX, FRIENDS, dave.uri), entryXml(dave, true), EL_TYPE);
        expect(res.status, res.body).toBe(201);
        expect(etagOf(res)).not.toBe(etag);
        etag = etagOf(res);
        const got = await until(remote, (r) => r.has(dave.uri));
        expect(got.get(dave.uri)).toEqual(dave);
        expect(got.size).toBe(3);
        daveId = remoteIdOf(mem, ALICE_COLL, dave.uri);
        const doc = await read();
        expect(doc.etag).toBe(etag);
        expect(listOf(doc.body, FRIENDS)?.get(dave.uri)).toEqual(dave);
      });

      it('element PUT replacing the entry updates the same remote item', async () => {
        const changed = { ...dave, 'display-name': 'David', mail: 'david@example.com' };
        const res = await alice.put(entryPath(ALICE_INDEX, FRIENDS, dave.uri), entryXml(changed, true), EL_TYPE);
        expect(res.status, res.body).toBe(200);
        expect(etagOf(res)).not.toBe(etag);
        etag = etagOf(res);
        const got = await until(remote, (r) => r.get(dave.uri)?.['display-name'] === 'David');
        expect(got.get(dave.uri)).toEqual(changed);
        expect(remoteIdOf(mem, ALICE_COLL, dave.uri)).toBe(daveId);
        expect(got.size).toBe(3);
        expect((await read()).etag).toBe(etag);
      });

      it('element DELETE of the entry deletes the remote item', async () => {
        const res = await alice.delete(entryPath(ALICE_INDEX, FRIENDS, dave.uri));
        expect(res.status, res.body).toBe(200);
        expect(etagOf(res)).not.toBe(etag);
        etag = etagOf(res);
        const got = await until(remote, (r) => !r.has(dave.uri));
        expect(got).toEqual(new Map([[bob.uri, bob], [carol.uri, carol]]));
        const doc = await read();
        expect(doc.etag).toBe(etag);
        expect([...(listOf(doc.body, FRIENDS)?.keys() ?? [])]).toEqual([bob.uri, carol.uri]);
      });

      it('a whole-document PUT (no If-Match, as Jitsi/Snom send it) creating, changing and removing entries reaches the remote item by item', async () => {
        const frank: Item = { uri: 'sip:frank@example.com', 'display-name': 'Frank' };
        const carol2 = { ...carol, 'display-name': 'Carol C.', mail: 'carol@example.com' };
        const carolId = remoteIdOf(mem, ALICE_COLL, carol.uri);
        const res = await alice.put(ALICE_INDEX, rlDoc({ [FRIENDS]: [carol2, frank], work: WORK }), RL_TYPE);
        expect(res.status, res.body).toBe(200);
        expect(etagOf(res)).not.toBe(etag);
        etag = etagOf(res);
        const got = await until(remote, (r) => r.has(frank.uri) && !r.has(bob.uri) && r.get(carol.uri)?.mail !== undefined);
        expect(got).toEqual(new Map([[carol.uri, carol2], [frank.uri, frank]]));
        expect(remoteIdOf(mem, ALICE_COLL, carol.uri)).toBe(carolId);
        const doc = await read();
        expect(doc.etag).toBe(etag);
        expect([...(listOf(doc.body, FRIENDS)?.values() ?? [])]).toEqual([carol2, frank]);
        // Put the list back for the next cases (bob is a new item again).
        const back = await alice.put(ALICE_INDEX, rlDoc({ [FRIENDS]: [bob, carol], work: WORK }), RL_TYPE);
        expect(back.status).toBe(200);
        etag = etagOf(back);
        expect(await until(remote, (r) => r.size === 2 && r.get(carol.uri)?.mail === undefined)).toEqual(new Map([[bob.uri, bob], [carol.uri, carol]]));
        expect((await read()).etag).toBe(etag);
      });
    });

    describe('remote → XCAP (after a queued run)', () => {
      const grace: Item = { uri: 'sip:grace@example.com', 'display-name': 'Grace', mail: 'grace@example.com' };
      let graceId = '';

      it('an item created in the remote collection appears in the friends list; the ETag changes', async () => {
        graceId = mem.seed(ALICE_COLL, [{ fields: grace }])[0]?.id ?? '';
        await syncNow(t);
        const doc = await read();
        expect(doc.etag).not.toBe(etag);
        etag = doc.etag;
        expect([...(listOf(doc.body, FRIENDS)?.values() ?? [])]).toEqual([bob, carol, grace]);
      });

      it('an item changed in the remote collection changes the entry', async () => {
        const changed = { ...grace, 'display-name': 'Grace H.', mail: 'gh@example.com' };
        mem.seed(ALICE_COLL, [{ id: graceId, fields: changed }]);
        await syncNow(t);
        const doc = await read();
        expect(doc.etag).not.toBe(etag);
        etag = doc.etag;
        expect([...(listOf(doc.body, FRIENDS)?.values() ?? [])]).toEqual([bob, carol, changed]);
      });

      it('an item deleted in the remote collection (one the binding created in XCAP) leaves the list', async () => {
        mem.drop(ALICE_COLL, graceId);
        await syncNow(t);
        const doc = await read();
        expect(doc.etag).not.toBe(etag);
        etag = doc.etag;
        expect([...(listOf(doc.body, FRIENDS)?.values() ?? [])]).toEqual([bob, carol]);
      });

      it('an item the user typed in is not deleted from XCAP because the remote dropped it (deletes: created)', async () => {
        mem.drop(ALICE_COLL, remoteIdOf(mem, ALICE_COLL, carol.uri));
        const s = await syncNow(t);
        expect(s?.lastError).toBeNull();
        const doc = await read();
        expect(doc.etag).toBe(etag);
        expect([...(listOf(doc.body, FRIENDS)?.values() ?? [])]).toEqual([bob, carol]);
        expect([...remote().keys()]).toEqual([bob.uri]);
      });

      it('a repeated run with no change writes nothing: same ETag, no connector write, document untouched', async () => {
        const writes = { write: mem.calls.write, remove: mem.calls.remove };
        const before = await read();
        for (let i = 0; i < 2; i++) {
          const s = await syncNow(t);
          expect(s?.lastError).toBeNull();
        }
        const after = await read();
        expect(after.etag).toBe(before.etag);
        expect(after.body).toBe(before.body);
        expect({ write: mem.calls.write, remove: mem.calls.remove }).toEqual(writes);
      });
    });

    it('a burst of 100 PUTs to one document while its run waits gives exactly one sync run, and the remote ends with the last content', async () => {
      await queueIdle(t);
      const runsBefore = mem.calls.changes;
      // The queue is held so the count does not depend on how fast this machine is: every job
      // the burst causes meets the first one still waiting, and deduplication by job id keeps one.
      const resume = await pauseQueue(t);
      let last: { body: string; etag: string };
      try {
        // Phones that PUT on every keystroke, all at once (Basic: no shared Digest nonce counter).
        const phone = t.client('alice', ALICE.password, { mode: 'basic' });
        const results = await Promise.all(
          Array.from({ length: 100 }, (_, i) => phone.put(ALICE_INDEX, rlDoc({ [FRIENDS]: [{ ...bob, 'display-name': `Bob ${i}` }, carol], work: WORK }), RL_TYPE)),
        );
        expect(results.map((r) => r.status)).toEqual(Array(100).fill(200));
        last = await getDoc(t);
        await feedCaughtUp(t);
        expect(await pendingJobs(t)).toBe(1);
      } finally {
        await resume();
      }
      await queueIdle(t);
      expect(mem.calls.changes - runsBefore).toBe(1);
      const lastBob = listOf(last.body, FRIENDS)?.get(bob.uri);
      expect(lastBob?.['display-name']).toMatch(/^Bob \d+$/);
      expect(remote().get(bob.uri)).toEqual(lastBob);
      etag = (await read()).etag;
      expect(etag).toBe(last.etag);
    });
  });

  describe(`issue 4: a scheduled binding picks up remote changes on its tick`, () => {
    let t: TestGateway;

    beforeAll(async () => {
      t = await startSyncGateway({ prefix: 'e2e-sync-tick', schedule: { everyMs: 1000 }, redis: await redis.target() });
    });
    afterAll(() => t?.stop());

    it('an item created in the remote collection appears in the document without any enqueue', async () => {
      const alice = t.client();
      const res = await alice.put(ALICE_INDEX, rlDoc({ [FRIENDS]: [bob], work: WORK }), RL_TYPE);
      expect(res.status).toBe(201);
      const mem = memoryOf(t);
      await until(() => remoteByUri(mem, ALICE_COLL), (r) => r.has(bob.uri));
      mem.seed(ALICE_COLL, [{ fields: carol }]);
      const body = await until(async () => (await getDoc(t)).body, (b) => listOf(b, FRIENDS)?.has(carol.uri) === true);
      expect([...(listOf(body, FRIENDS)?.values() ?? [])]).toEqual([bob, carol]);
      expect([...(listOf(body, 'work')?.values() ?? [])]).toEqual(WORK);
      const after = await alice.get(ALICE_INDEX);
      expect(etagOf(after)).not.toBe(etagOf(res));
    });

    it('the queue lives where configured, every key under one prefix (a hash tag on a cluster: one slot for BullMQ\'s scripts)', async () => {
      const { keys, prefix } = await queueKeys(t);
      expect(keys.length).toBeGreaterThan(0);
      for (const k of keys) expect(k.startsWith(`${prefix}:`), k).toBe(true);
      expect(prefix.startsWith('{')).toBe(redis.name === 'Redis Cluster');
    });

    it('the queue dashboard (/admin/queues) reads that same queue: the runs so far are there as completed jobs', async () => {
      const api = await rawRequest('GET', `${t.origin}/admin/queues/api/queues`, AS_ADMIN);
      expect(api.status).toBe(200);
      const queues = (JSON.parse(api.body) as { queues: { name: string; counts: { completed: number } }[] }).queues;
      expect(queues.map((q) => q.name)).toEqual(['sync']);
      expect(queues[0]?.counts.completed).toBeGreaterThan(0);
    });

    it('/readyz checks that same Redis: ready, the redis check ok', async () => {
      const res = await rawRequest('GET', `${t.origin}/readyz`, {});
      expect(res.status, res.body).toBe(200);
      expect((JSON.parse(res.body) as { checks: unknown[] }).checks).toEqual([
        { name: 'store', ok: true, reason: null },
        { name: 'redis', ok: true, reason: null },
      ]);
    });
  });
});
