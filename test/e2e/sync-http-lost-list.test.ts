/**
 * Issue 9 item 2, end to end over HTTP: a bound list removed from its document without
 * deleting its entries (whole-document PUT without it, the list renamed, moved below
 * another list, the document DELETEd) is put back by the next sync run, as the state
 * remembers it plus what changed on the remote; the remote loses nothing, the user's own
 * content stays as sent, and later remote changes still arrive (the binding does not go
 * quiet with "applied" and nothing to do). Binding `buddies`, direction both, memory
 * connector (sync-helpers.ts); the same rule against slapd is in ldap-directory.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemoryConnector } from '../../connectors/memory/index.ts';
import type { XcapClient } from '../helpers/digest-client.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { RL_NS, RL_TYPE } from '../http/helpers.ts';
import { ALICE_COLL, ALICE_INDEX, entryXml, FRIENDS, getDoc, listOf, memoryOf, queueIdle, remoteByUri, remoteIdOf, rlDoc, startSyncGateway, until, type Item } from './sync-helpers.ts';
import { describeEachRedis } from '../helpers/redis-variants.ts';

const bob: Item = { uri: 'sip:bob@example.com', 'display-name': 'Bob', mail: 'bob@example.com' };
const carol: Item = { uri: 'sip:carol@example.com', 'display-name': 'Carol' };
const erin: Item = { uri: 'sip:erin@example.com', 'display-name': 'Erin' };

describeEachRedis((redis) => {
  describe('issue 9: a bound list removed on the XCAP side is put back, never read as every entry deleted (direction both)', () => {
    let t: TestGateway;
    let alice: XcapClient;
    let mem: MemoryConnector;
    let ids: Map<string, string>;
    const remote = () => remoteByUri(mem, ALICE_COLL);
    const friends = async () => listOf((await getDoc(t)).body, FRIENDS);

    beforeAll(async () => {
      t = await startSyncGateway({ prefix: 'e2e-sync-lost-list', redis: await redis.target() });
      alice = t.client();
      mem = memoryOf(t);
      expect((await alice.put(ALICE_INDEX, rlDoc({ [FRIENDS]: [bob, carol], work: [erin] }), RL_TYPE)).status).toBe(201);
      await until(remote, (r) => r.size === 2);
      await queueIdle(t);
      ids = new Map([bob, carol].map((i) => [i.uri, remoteIdOf(mem, ALICE_COLL, i.uri)]));
    });
    afterAll(() => t?.stop());

    /** The remote holds bob and carol under their first ids, unchanged. */
    const remoteIntact = () => {
      expect(remote()).toEqual(new Map([[bob.uri, bob], [carol.uri, carol]]));
      for (const [uri, id] of ids) expect(remoteIdOf(mem, ALICE_COLL, uri)).toBe(id);
    };

    it('a whole-document PUT without the list: the next run puts the list back with its entries; the remote keeps every item', async () => {
      const res = await alice.put(ALICE_INDEX, rlDoc({ work: [erin] }), RL_TYPE);
      expect(res.status, res.body).toBe(200);
      await queueIdle(t);
      expect(await friends()).toEqual(new Map([[bob.uri, bob], [carol.uri, carol]]));
      expect(listOf((await getDoc(t)).body, 'work')).toEqual(new Map([[erin.uri, erin]]));
      remoteIntact();
    });

    it('after that, a remote change still reaches the list (the binding did not go quiet)', async () => {
      mem.seed(ALICE_COLL, [{ id: ids.get(carol.uri) as string, fields: { ...carol, 'display-name': 'Carol C.' } }]);
      await t.gateway.sync?.enqueue('buddies', 'sip:alice@example.com');
      const got = await until(friends, (l) => l?.get(carol.uri)?.['display-name'] === 'Carol C.');
      expect(got?.get(carol.uri)).toEqual({ ...carol, 'display-name': 'Carol C.' });
      mem.seed(ALICE_COLL, [{ id: ids.get(carol.uri) as string, fields: carol }]);
      await t.gateway.sync?.enqueue('buddies', 'sip:alice@example.com');
      await until(friends, (l) => l?.get(carol.uri)?.['display-name'] === 'Carol');
      await queueIdle(t);
    });

    it('the list renamed: the bound list comes back, the renamed copy is the user\'s and stays as sent', async () => {
      const res = await alice.put(ALICE_INDEX, rlDoc({ pals: [bob, carol], work: [erin] }), RL_TYPE);
      expect(res.status, res.body).toBe(200);
      await queueIdle(t);
      const body = (await getDoc(t)).body;
      expect(listOf(body, FRIENDS)).toEqual(new Map([[bob.uri, bob], [carol.uri, carol]]));
      expect(listOf(body, 'pals')).toEqual(new Map([[bob.uri, bob], [carol.uri, carol]]));
      remoteIntact();
    });

    it('the list moved below another list: the bound top-level list comes back, the nested copy is left alone', async () => {
      const nested = `<list name="${FRIENDS}">${entryXml(bob)}${entryXml(carol)}</list>`;
      const doc = `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="${RL_NS}" xmlns:xbf="urn:xcap-bridge:params:xml:ns:fields"><list name="work">${entryXml(erin)}${nested}</list></resource-lists>`;
      const res = await alice.put(ALICE_INDEX, doc, RL_TYPE);
      expect(res.status, res.body).toBe(200);
      await queueIdle(t);
      const body = (await getDoc(t)).body;
      expect(listOf(body, FRIENDS)).toEqual(new Map([[bob.uri, bob], [carol.uri, carol]]));
      expect(body).toContain(`<list name="work">${entryXml(erin)}${nested}</list>`);
      remoteIntact();
    });

    it('the document DELETEd: the next run re-creates it with the bound list; the remote keeps every item', async () => {
      const res = await alice.delete(ALICE_INDEX);
      expect(res.status, res.body).toBe(200);
      await queueIdle(t);
      const body = (await getDoc(t)).body;
      expect(listOf(body, FRIENDS)).toEqual(new Map([[bob.uri, bob], [carol.uri, carol]]));
      expect(listOf(body, 'work')).toBeUndefined();
      remoteIntact();
    });

    it('entries removed from a list that is still there are deletes, as before (one entry: within the guard\'s allowance)', async () => {
      const res = await alice.put(ALICE_INDEX, rlDoc({ [FRIENDS]: [bob] }), RL_TYPE);
      expect(res.status, res.body).toBe(200);
      await queueIdle(t);
      expect(await friends()).toEqual(new Map([[bob.uri, bob]]));
      // The binding created carol on the remote (the first PUT pushed her), so it may delete her there.
      expect(await until(remote, (r) => !r.has(carol.uri))).toEqual(new Map([[bob.uri, bob]]));
    });
  });
});
