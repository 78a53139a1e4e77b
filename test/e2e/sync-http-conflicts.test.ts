/**
 * Issue 4 item 6: one contact changed on both sides since the last sync, under every
 * conflict policy (docs/sync.md "Conflict policies"), end to end: the phone's change is an
 * element PUT over HTTP, the remote change is made in the memory connector, the run is the
 * one the PUT triggers. The outcome is read back over XCAP (with its ETag) and from the
 * connector; `manual` goes through the admin API. Every case runs on a single Redis and on a
 * Redis Cluster (test/helpers/redis-variants.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemoryConnector } from '../../connectors/memory/index.ts';
import { ALICE, type TestGateway } from '../helpers/gateway.ts';
import { EL_TYPE, RL_TYPE } from '../http/helpers.ts';
import {
  adminApi, ALICE_COLL, ALICE_INDEX, entryPath, entryXml, etagOf, FRIENDS, getDoc, listOf, memoryOf, remoteByUri, remoteIdOf,
  rlDoc, runFinished, startSyncGateway, until, type Item, type SyncGatewayOptions,
} from './sync-helpers.ts';
import { describeEachRedis, type RedisVariant } from '../helpers/redis-variants.ts';

const bob: Item = { uri: 'sip:bob@example.com', 'display-name': 'Bob', mail: 'bob@example.com' };
const carol: Item = { uri: 'sip:carol@example.com', 'display-name': 'Carol' };
const WORK: Item[] = [{ uri: 'sip:erin@example.com', 'display-name': 'Erin' }];

/** A gateway whose alice has friends bob + carol, synced to the remote once. */
async function synced(policy: SyncGatewayOptions['policy'], redis: RedisVariant): Promise<{ t: TestGateway; mem: MemoryConnector; bobId: string }> {
  const t = await startSyncGateway({ prefix: `e2e-sync-conflict-${policy}`, policy, redis: await redis.target() });
  const mem = memoryOf(t);
  const res = await t.client().put(ALICE_INDEX, rlDoc({ [FRIENDS]: [bob, carol], work: WORK }), RL_TYPE);
  expect(res.status).toBe(201);
  const r = await until(() => remoteByUri(mem, ALICE_COLL), (m) => m.size === 2);
  expect(r.get(bob.uri)).toEqual(bob);
  await runFinished(t, 0);
  return { t, mem, bobId: remoteIdOf(mem, ALICE_COLL, bob.uri) };
}

/**
 * Changes bob in the remote, then (strictly later) over XCAP; waits for the run the PUT
 * triggers. Returns the PUT's ETag.
 */
async function bothChange(t: TestGateway, mem: MemoryConnector, bobId: string, xcap: Item, remote: Item): Promise<string> {
  mem.seed(ALICE_COLL, [{ id: bobId, fields: remote }]);
  const seeded = Date.now();
  await until(() => Date.now(), (now) => now > seeded); // the XCAP change is the newer one, by the clock
  const since = Date.now();
  const res = await t.client().put(entryPath(ALICE_INDEX, FRIENDS, bob.uri), entryXml(xcap, true), EL_TYPE);
  expect(res.status, res.body).toBe(200);
  const s = await runFinished(t, since);
  expect(s?.lastError).toBeNull();
  return etagOf(res);
}

/** Bob as XCAP shows him; the friends list otherwise unchanged (bob and carol) and the work list untouched. */
async function xcapBob(t: TestGateway): Promise<{ bob: Item | undefined; etag: string }> {
  const doc = await getDoc(t);
  const friends = listOf(doc.body, FRIENDS);
  // A contact that comes back after a delete is appended: compare as a set.
  expect([...(friends?.keys() ?? [])].sort()).toEqual([bob.uri, carol.uri]);
  expect(friends?.get(carol.uri)).toEqual(carol);
  expect([...(listOf(doc.body, 'work')?.values() ?? [])]).toEqual(WORK);
  return { bob: friends?.get(bob.uri), etag: doc.etag };
}

const xcapSide: Item = { ...bob, 'display-name': 'Bob (phone)' };
const remoteSide: Item = { ...bob, 'display-name': 'Bob (remote)' };

describeEachRedis((redis) => {
  describe.each([
    { policy: 'xcap-wins', winner: xcapSide },
    { policy: 'remote-wins', winner: remoteSide },
    { policy: 'newest-wins', winner: xcapSide },
  ] as const)('issue 4 conflict policy $policy: both sides changed the same contact', ({ policy, winner }) => {
    let t: TestGateway;
    let mem: MemoryConnector;
    let bobId = '';

    beforeAll(async () => {
      ({ t, mem, bobId } = await synced(policy, redis));
    });
    afterAll(() => t?.stop());

    it(`both sides end with ${winner === xcapSide ? "the phone's" : "the remote's"} version; no conflict is left open`, async () => {
      const putEtag = await bothChange(t, mem, bobId, xcapSide, remoteSide);
      const got = await xcapBob(t);
      expect(got.bob).toEqual(winner);
      // The document is rewritten only when the remote's version won.
      if (winner === xcapSide) expect(got.etag).toBe(putEtag);
      else expect(got.etag).not.toBe(putEtag);
      expect(remoteByUri(mem, ALICE_COLL).get(bob.uri)).toEqual(winner);
      expect(remoteIdOf(mem, ALICE_COLL, bob.uri)).toBe(bobId);
      expect(await adminApi(t).conflicts()).toEqual([]);
      expect((await adminApi(t).status())?.openConflicts).toBe(0);
    });
  });

  describe('issue 4 conflict policy newest-wins: the remote change is the newer one', () => {
    let t: TestGateway;
    let mem: MemoryConnector;
    let bobId = '';

    beforeAll(async () => {
      ({ t, mem, bobId } = await synced('newest-wins', redis));
    });
    afterAll(() => t?.stop());

    it('a remote change made after the phone\'s PUT (while the run waits on the remote) wins on both sides', async () => {
      const held = mem.hold('changes');
      const since = Date.now();
      const res = await t.client().put(entryPath(ALICE_INDEX, FRIENDS, bob.uri), entryXml(xcapSide, true), EL_TYPE);
      expect(res.status).toBe(200);
      await held.reached;
      const putAt = Date.now();
      await until(() => Date.now(), (now) => now > putAt);
      mem.seed(ALICE_COLL, [{ id: bobId, fields: remoteSide }]);
      held.release();
      expect((await runFinished(t, since))?.lastError).toBeNull();
      const got = await xcapBob(t);
      expect(got.bob).toEqual(remoteSide);
      expect(got.etag).not.toBe(etagOf(res));
      expect(remoteByUri(mem, ALICE_COLL).get(bob.uri)).toEqual(remoteSide);
    });
  });

  describe('issue 4 conflict policy merge', () => {
    let t: TestGateway;
    let mem: MemoryConnector;
    let bobId = '';

    beforeAll(async () => {
      ({ t, mem, bobId } = await synced('merge', redis));
    });
    afterAll(() => t?.stop());

    it('the phone changed the name, the remote the mail: both sides get both changes', async () => {
      const merged: Item = { ...bob, 'display-name': 'Robert', mail: 'robert@example.com' };
      const putEtag = await bothChange(t, mem, bobId, { ...bob, 'display-name': 'Robert' }, { ...bob, mail: 'robert@example.com' });
      const got = await xcapBob(t);
      expect(got.bob).toEqual(merged);
      expect(got.etag).not.toBe(putEtag);
      expect(remoteByUri(mem, ALICE_COLL).get(bob.uri)).toEqual(merged);
      expect(await adminApi(t).conflicts()).toEqual([]);
    });

    it('both changed the same field differently: nothing is written, the conflict is recorded', async () => {
      const before = remoteByUri(mem, ALICE_COLL).get(bob.uri) as Item;
      const phone = { ...before, 'display-name': 'Rob (phone)' };
      const remote = { ...before, 'display-name': 'Rob (remote)' };
      const putEtag = await bothChange(t, mem, bobId, phone, remote);
      const got = await xcapBob(t);
      expect(got.bob).toEqual(phone);
      expect(got.etag).toBe(putEtag);
      expect(remoteByUri(mem, ALICE_COLL).get(bob.uri)).toEqual(remote);
      const open = await adminApi(t).conflicts();
      expect(open).toHaveLength(1);
      expect(open[0]).toMatchObject({ scope: ALICE.xui, xcap: phone, remote, resolution: null });
    });
  });

  describe('issue 4 conflict policy manual: recorded, shown and resolved through the admin API', () => {
    let t: TestGateway;
    let mem: MemoryConnector;
    let bobId = '';

    beforeAll(async () => {
      ({ t, mem, bobId } = await synced('manual', redis));
    });
    afterAll(() => t?.stop());

    it('both sides keep their version; /admin/sync/conflicts lists both and /admin/sync/status counts it', async () => {
      const putEtag = await bothChange(t, mem, bobId, xcapSide, remoteSide);
      const got = await xcapBob(t);
      expect(got.bob).toEqual(xcapSide);
      expect(got.etag).toBe(putEtag);
      expect(remoteByUri(mem, ALICE_COLL).get(bob.uri)).toEqual(remoteSide);
      const open = await adminApi(t).conflicts();
      expect(open).toHaveLength(1);
      expect(open[0]).toMatchObject({ binding: 'buddies', scope: ALICE.xui, xcap: xcapSide, remote: remoteSide, resolution: null });
      const status = await adminApi(t).status();
      expect(status?.openConflicts).toBe(1);
      expect(status?.lastError).toBeNull();
    });

    it('a repeat run leaves both sides and the open conflict as they are', async () => {
      const before = await xcapBob(t);
      const writes = mem.calls.write;
      const since = Date.now();
      await t.gateway.sync?.enqueue('buddies', ALICE.xui);
      await runFinished(t, since);
      const after = await xcapBob(t);
      expect(after).toEqual(before);
      expect(mem.calls.write).toBe(writes);
      expect(await adminApi(t).conflicts()).toHaveLength(1);
    });

    it('resolve take=xcap over the admin API: the queued run writes the phone\'s version to the remote and closes the conflict', async () => {
      const [open] = await adminApi(t).conflicts();
      const before = await xcapBob(t);
      const since = Date.now();
      const res = await adminApi(t).resolve(ALICE.xui, open?.item ?? '', 'xcap');
      expect(res.status, res.body).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ resolved: true, queued: true });
      await runFinished(t, since);
      const remote = await until(() => remoteByUri(mem, ALICE_COLL).get(bob.uri), (b) => b?.['display-name'] === xcapSide['display-name']);
      expect(remote).toEqual(xcapSide);
      expect(await xcapBob(t)).toEqual(before);
      expect(await adminApi(t).conflicts()).toEqual([]);
      expect((await adminApi(t).status())?.openConflicts).toBe(0);
    });

    it('a second conflict resolved take=remote: the phone\'s document gets the remote version (new ETag)', async () => {
      const phone = { ...bob, 'display-name': 'Bobby (phone)' };
      const remote = { ...bob, 'display-name': 'Bobby (remote)' };
      const putEtag = await bothChange(t, mem, bobId, phone, remote);
      const [open] = await until(() => adminApi(t).conflicts(), (c) => c.length === 1);
      expect(open).toMatchObject({ xcap: phone, remote });
      const since = Date.now();
      expect((await adminApi(t).resolve(ALICE.xui, open?.item ?? '', 'remote')).status).toBe(200);
      await runFinished(t, since);
      const got = await xcapBob(t);
      expect(got.bob).toEqual(remote);
      expect(got.etag).not.toBe(putEtag);
      expect(remoteByUri(mem, ALICE_COLL).get(bob.uri)).toEqual(remote);
      expect(await adminApi(t).conflicts()).toEqual([]);
    });
  });

  describe('issue 4: a delete on one side against an edit on the other (any policy: the edit wins)', () => {
    let t: TestGateway;
    let mem: MemoryConnector;
    let bobId = '';

    beforeAll(async () => {
      ({ t, mem, bobId } = await synced('manual', redis));
    });
    afterAll(() => t?.stop());

    it('the phone deletes bob while the remote edits him: bob comes back to the phone with the edit', async () => {
      const edited = { ...bob, 'display-name': 'Bob (edited)' };
      mem.seed(ALICE_COLL, [{ id: bobId, fields: edited }]);
      const since = Date.now();
      const del = await t.client().delete(entryPath(ALICE_INDEX, FRIENDS, bob.uri));
      expect(del.status, del.body).toBe(200);
      expect((await runFinished(t, since))?.lastError).toBeNull();
      const got = await xcapBob(t);
      expect(got.bob).toEqual(edited);
      expect(got.etag).not.toBe(etagOf(del));
      expect(remoteByUri(mem, ALICE_COLL).get(bob.uri)).toEqual(edited);
      expect(await adminApi(t).conflicts()).toEqual([]);
    });

    it('the remote deletes bob while the phone edits him: the remote gets him back with the edit', async () => {
      const edited = { ...bob, 'display-name': 'Bob (phone edit)' };
      mem.drop(ALICE_COLL, bobId);
      const since = Date.now();
      const put = await t.client().put(entryPath(ALICE_INDEX, FRIENDS, bob.uri), entryXml(edited, true), EL_TYPE);
      expect(put.status, put.body).toBe(200);
      expect((await runFinished(t, since))?.lastError).toBeNull();
      const got = await xcapBob(t);
      expect(got.bob).toEqual(edited);
      expect(got.etag).toBe(etagOf(put));
      expect(remoteByUri(mem, ALICE_COLL).get(bob.uri)).toEqual(edited);
      expect(remoteIdOf(mem, ALICE_COLL, bob.uri)).not.toBe(bobId);
    });
  });
});
