/**
 * Issue 4 item 6, the engine under stress, end to end over HTTP with the memory connector:
 * a phone's PUT landing in the middle of a sync run (no lost update), a remote that fails
 * (XCAP keeps serving, the error shows in /admin/sync/status, backoff recovers) and the
 * mass-delete guard (an emptied remote never wipes the phone's list).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemoryConnector } from '../../connectors/memory/index.ts';
import { Unavailable } from '../../connectors/errors.ts';
import { ALICE, type TestGateway } from '../helpers/gateway.ts';
import { EL_TYPE, RL_TYPE } from '../http/helpers.ts';
import {
  adminApi, ALICE_COLL, ALICE_INDEX, entryPath, entryXml, etagOf, FRIENDS, getDoc, listOf, memoryOf, queueIdle, remoteByUri,
  remoteIdOf, rlDoc, runFinished, startSyncGateway, syncNow, until, type Item,
} from './sync-helpers.ts';
import { describeEachRedis } from '../helpers/redis-variants.ts';

const bob: Item = { uri: 'sip:bob@example.com', 'display-name': 'Bob', mail: 'bob@example.com' };
const carol: Item = { uri: 'sip:carol@example.com', 'display-name': 'Carol' };
const WORK: Item[] = [{ uri: 'sip:erin@example.com', 'display-name': 'Erin' }];

const friendsOf = async (t: TestGateway) => listOf((await getDoc(t)).body, FRIENDS);

describeEachRedis((redis) => {
  describe('issue 4: an XCAP PUT during a sync run is never lost', () => {
    let t: TestGateway;
    let mem: MemoryConnector;

    beforeAll(async () => {
      t = await startSyncGateway({ prefix: 'e2e-sync-race', redis: await redis.target() });
      mem = memoryOf(t);
      expect((await t.client().put(ALICE_INDEX, rlDoc({ [FRIENDS]: [bob, carol], work: WORK }), RL_TYPE)).status).toBe(201);
      await until(() => remoteByUri(mem, ALICE_COLL), (r) => r.size === 2);
      await queueIdle(t);
    });
    afterAll(() => t?.stop());

    it('run paused before reading the remote, PUT, release: the run\'s document write loses the ETag race, the retry keeps both changes', async () => {
      const carol2 = { ...carol, 'display-name': 'Carol (remote)' };
      const bob2 = { ...bob, 'display-name': 'Bob (phone)' };
      const held = mem.hold('changes');
      mem.seed(ALICE_COLL, [{ id: remoteIdOf(mem, ALICE_COLL, carol.uri), fields: carol2 }]);
      await t.gateway.sync?.enqueue('buddies', ALICE.xui);
      await held.reached;
      // The run has read the document; the phone changes it now.
      const res = await t.client().put(entryPath(ALICE_INDEX, FRIENDS, bob.uri), entryXml(bob2, true), EL_TYPE);
      expect(res.status, res.body).toBe(200);
      held.release();

      const friends = await until(() => friendsOf(t), (f) => f?.get(carol.uri)?.['display-name'] === carol2['display-name']);
      expect([...(friends?.values() ?? [])]).toEqual([bob2, carol2]);
      const remote = await until(() => remoteByUri(mem, ALICE_COLL), (r) => r.get(bob.uri)?.['display-name'] === bob2['display-name']);
      expect(remote).toEqual(new Map([[bob.uri, bob2], [carol.uri, carol2]]));
      await queueIdle(t);
      const doc = await getDoc(t);
      expect(doc.etag).not.toBe(etagOf(res));
      expect([...(listOf(doc.body, FRIENDS)?.values() ?? [])]).toEqual([bob2, carol2]);
      expect([...(listOf(doc.body, 'work')?.values() ?? [])]).toEqual(WORK);
      expect((await adminApi(t).status())?.lastError).toBeNull();
    });

    it('run paused in a remote write, PUT of another entry, release: the next run pushes the second change too', async () => {
      const bob3 = { ...bob, 'display-name': 'Bob 3' };
      const carol3 = { ...carol, 'display-name': 'Carol 3' };
      const held = mem.hold('write');
      expect((await t.client().put(entryPath(ALICE_INDEX, FRIENDS, bob.uri), entryXml(bob3, true), EL_TYPE)).status).toBe(200);
      await held.reached;
      const res = await t.client().put(entryPath(ALICE_INDEX, FRIENDS, carol.uri), entryXml(carol3, true), EL_TYPE);
      expect(res.status, res.body).toBe(200);
      held.release();

      const remote = await until(() => remoteByUri(mem, ALICE_COLL), (r) => r.get(carol.uri)?.['display-name'] === carol3['display-name']);
      expect(remote).toEqual(new Map([[bob.uri, bob3], [carol.uri, carol3]]));
      await queueIdle(t);
      const doc = await getDoc(t);
      expect(doc.etag).toBe(etagOf(res)); // sync had nothing to write back
      expect([...(listOf(doc.body, FRIENDS)?.values() ?? [])]).toEqual([bob3, carol3]);
    });
  });

  describe('issue 4: a remote that fails', () => {
    let t: TestGateway;
    let mem: MemoryConnector;

    beforeAll(async () => {
      t = await startSyncGateway({ prefix: 'e2e-sync-down', redis: await redis.target() });
      mem = memoryOf(t);
      expect((await t.client().put(ALICE_INDEX, rlDoc({ [FRIENDS]: [bob], work: WORK }), RL_TYPE)).status).toBe(201);
      await until(() => remoteByUri(mem, ALICE_COLL), (r) => r.size === 1);
      await queueIdle(t);
    });
    afterAll(() => t?.stop());

    it('XCAP keeps serving GET and PUT while runs fail; /admin/sync/status shows the error; the job recovers by backoff and catches up', async () => {
      const admin = adminApi(t);
      const alice = t.client();
      const callsBefore = mem.calls.changes;
      mem.failNext('changes', new Unavailable('buddies store is down'), 3);
      await t.gateway.sync?.enqueue('buddies', ALICE.xui);
      const failing = await until(() => admin.status(), (s) => s?.lastError != null);
      expect(failing?.lastError).toMatch(/unavailable: buddies store is down/);

      const get = await alice.get(ALICE_INDEX);
      expect(get.status).toBe(200);
      const dave: Item = { uri: 'sip:dave@example.com', 'display-name': 'Dave' };
      const put = await alice.put(entryPath(ALICE_INDEX, FRIENDS, dave.uri), entryXml(dave, true), EL_TYPE);
      expect(put.status, put.body).toBe(201);
      expect((await getDoc(t)).etag).toBe(etagOf(put));
      expect((await admin.status())?.lastError, 'the remote was still failing during the PUT').toMatch(/unavailable/);

      const recovered = await until(() => admin.status(), (s) => s?.lastError === null, 30_000);
      expect(recovered?.lastError).toBeNull();
      expect(recovered?.lastOkAt).toBeGreaterThanOrEqual(failing?.lastRunAt ?? Infinity);
      const remote = await until(() => remoteByUri(mem, ALICE_COLL), (r) => r.has(dave.uri));
      expect(remote).toEqual(new Map([[bob.uri, bob], [dave.uri, dave]]));
      // Three failed attempts, then the run that succeeded.
      expect(mem.calls.changes - callsBefore).toBeGreaterThanOrEqual(4);
      expect((await getDoc(t)).etag).toBe(etagOf(put));
    });
  });

  describe('issue 4: the mass-delete guard (docs/sync.md "Safety limits")', () => {
    let t: TestGateway;
    let mem: MemoryConnector;
    const people: Item[] = Array.from({ length: 5 }, (_, i) => ({ uri: `sip:p${i}@example.com`, 'display-name': `Person ${i}` }));
    let etag = '';

    beforeAll(async () => {
      t = await startSyncGateway({ prefix: 'e2e-sync-guard', redis: await redis.target() });
      mem = memoryOf(t);
    });
    afterAll(() => t?.stop());

    it('contacts that exist only in the remote fill the phone\'s empty friends list', async () => {
      mem.seed(ALICE_COLL, people.map((fields) => ({ fields })));
      const res = await t.client().put(ALICE_INDEX, rlDoc({ [FRIENDS]: [], work: WORK }), RL_TYPE);
      expect(res.status).toBe(201);
      const friends = await until(() => friendsOf(t), (f) => f?.size === 5);
      expect([...(friends?.values() ?? [])]).toEqual(people);
      await queueIdle(t);
      etag = (await getDoc(t)).etag;
      expect(etag).not.toBe(etagOf(res));
    });

    it('three of five deleted in the remote: the plan is refused, the list stays, status shows the refusal', async () => {
      for (const p of people.slice(0, 3)) mem.drop(ALICE_COLL, remoteIdOf(mem, ALICE_COLL, p.uri));
      const s = await syncNow(t);
      expect(s?.lastError).toMatch(/refused: the plan deletes 3 of 5 items on the xcap side/);
      const doc = await getDoc(t);
      expect(doc.etag).toBe(etag);
      expect([...(listOf(doc.body, FRIENDS)?.values() ?? [])]).toEqual(people);
      expect((await adminApi(t).status())?.lastError).toBe(s?.lastError);
    });

    it('the remote collection emptied: refused again, the phone\'s list and its other lists untouched; XCAP stays writable', async () => {
      for (const p of people.slice(3)) mem.drop(ALICE_COLL, remoteIdOf(mem, ALICE_COLL, p.uri));
      expect(mem.snapshot(ALICE_COLL).size).toBe(0);
      const s = await syncNow(t);
      expect(s?.lastError).toMatch(/refused: the remote side is empty and the plan would delete all 5 items on the xcap side/);
      const status = await adminApi(t).status();
      expect(status?.lastError).toBe(s?.lastError);
      const doc = await getDoc(t);
      expect(doc.etag).toBe(etag);
      expect([...(listOf(doc.body, FRIENDS)?.values() ?? [])]).toEqual(people);
      expect([...(listOf(doc.body, 'work')?.values() ?? [])]).toEqual(WORK);
      expect(mem.snapshot(ALICE_COLL).size).toBe(0);

      const since = Date.now();
      const put = await t.client().put(entryPath(ALICE_INDEX, 'work', 'sip:zoe@example.com'), '<entry uri="sip:zoe@example.com"/>', EL_TYPE);
      expect(put.status, put.body).toBe(201);
      // The run this write triggers is refused too: still nothing deleted.
      const after = await runFinished(t, since);
      expect(after?.lastError).toMatch(/refused/);
      expect([...(listOf((await getDoc(t)).body, FRIENDS)?.values() ?? [])]).toEqual(people);
    });
  });
});
