/**
 * The admin API's users, documents, bindings and queue dashboard (src/http/admin/): admins
 * only; a user added over HTTP logs in over XCAP, a reset password replaces the old one, a
 * removed user is locked out; nothing is created for a user that does not exist; bindings
 * show their last and next run; a run with `full: true` reads both sides whole (it repairs
 * sync state a normal run trusts); bull-board answers behind the same credentials.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, type ClientResponse } from '../helpers/digest-client.ts';
import { ALICE, type TestGateway } from '../helpers/gateway.ts';
import { ALICE_COLL, ALICE_INDEX, BINDING, entryXml, memoryOf, queueIdle, rlDoc, startSyncGateway, syncNow } from '../e2e/sync-helpers.ts';
import { AS_ADMIN, AS_ALICE, JSON_TYPE, post } from './admin-helpers.ts';
import { RL_TYPE } from './helpers.ts';

const CAROL = 'sip:carol@example.com';
/** Carol's own document: 404 once she is logged in (she has none), 401 when her credentials fail. */
const CAROL_DOC = `/resource-lists/users/${CAROL}/index`;

function json<T>(r: ClientResponse, status: number): T {
  expect(r.status, r.body).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  return JSON.parse(r.body) as T;
}

describe('admin API: users, documents, bindings, queues', () => {
  let gw: TestGateway;
  const admin = { ...AS_ADMIN, ...JSON_TYPE };
  const list = async () => json<{ users: Array<{ xui: string; admin: boolean }> }>(await rawRequest('GET', `${gw.origin}/admin/users`, AS_ADMIN), 200).users;

  beforeAll(async () => {
    gw = await startSyncGateway({ prefix: 'admin-api' });
  });
  afterAll(() => gw.stop());

  it('admins only: 401 without credentials (before any body is read), 403 for a user', async () => {
    const anon = await post(gw.origin, '/admin/users', JSON_TYPE, '{not json');
    expect(anon.status).toBe(401);
    expect((await post(gw.origin, '/admin/users', { ...AS_ALICE, ...JSON_TYPE }, { xui: CAROL, password: 'x' })).status).toBe(403);
    expect((await rawRequest('GET', `${gw.origin}/admin/users/${ALICE.xui}/documents`, AS_ALICE)).status).toBe(403);
    expect((await list()).map((u) => u.xui)).not.toContain(CAROL);
  });

  it('add a user: 201 with the realm; the user logs in over XCAP; adding again is 409; bad input 400 naming the problem', async () => {
    const added = json<{ xui: string; admin: boolean; realm: string }>(await post(gw.origin, '/admin/users', admin, { xui: CAROL, password: 'carol-secret' }), 201);
    expect(added).toEqual({ xui: CAROL, admin: false, realm: 'example.com' });
    expect(await list()).toContainEqual({ xui: CAROL, admin: false });
    expect((await gw.client('carol', 'carol-secret').get(CAROL_DOC)).status).toBe(404);

    expect(json<{ error: string }>(await post(gw.origin, '/admin/users', admin, { xui: CAROL, password: 'other' }), 409).error).toContain(CAROL);
    expect(json<{ error: string }>(await post(gw.origin, '/admin/users', admin, { xui: 'carol', password: 'p' }), 400).error).toMatch(/not a user XUI/);
    expect(json<{ error: string }>(await post(gw.origin, '/admin/users', admin, { xui: 'sip:dave@example.com', password: '' }), 400).error).toMatch(/password must not be empty/);
    expect(json<{ error: string }>(await post(gw.origin, '/admin/users', admin, { xui: 'sip:dave@example.com' }), 400).error).toMatch(/expected JSON/);
    expect(json<{ error: string }>(await post(gw.origin, '/admin/users', admin, '{"xui": "sip:dave@example.com",'), 400).error).toBe('body is not valid JSON');
    // A second realm without auth.defaultDomain would lock clients out of the global tree... here it is configured:
    expect((await post(gw.origin, '/admin/users', admin, { xui: 'sip:erin@other.example', password: 'e' })).status).toBe(201);
    expect((await list()).map((u) => u.xui)).not.toContain('sip:dave@example.com');
  });

  it('reset a password: the old one stops working, the new one works; an unknown user is 404 and not created', async () => {
    expect((await post(gw.origin, `/admin/users/${CAROL}/password`, admin, { password: 'carol-new' })).status).toBe(204);
    expect((await gw.client('carol', 'carol-secret').get(CAROL_DOC)).status).toBe(401);
    expect((await gw.client('carol', 'carol-new').get(CAROL_DOC)).status).toBe(404);
    const nobody = 'sip:nobody@example.com';
    expect(json<{ error: string }>(await post(gw.origin, `/admin/users/${nobody}/password`, admin, { password: 'x' }), 404).error).toBe(`no user ${nobody}`);
    expect(json<{ error: string }>(await post(gw.origin, `/admin/users/${CAROL}/password`, admin, { password: '' }), 400).error).toMatch(/empty/);
    expect((await list()).map((u) => u.xui)).not.toContain(nobody);
  });

  it("a user's documents: listed with auid, name and ETag; an unknown user is 404", async () => {
    const put = await gw.client().put(ALICE_INDEX, rlDoc({ friends: [] }), RL_TYPE);
    expect(put.status, put.body).toBe(201);
    const docs = json<{ xui: string; documents: Array<{ auid: string; document: string; etag: string }> }>(await rawRequest('GET', `${gw.origin}/admin/users/${ALICE.xui}/documents`, AS_ADMIN), 200);
    expect(docs.xui).toBe(ALICE.xui);
    expect(docs.documents).toContainEqual(expect.objectContaining({ auid: 'resource-lists', document: 'index', etag: put.headers.get('etag')?.replaceAll('"', '') }));
    expect(json<{ error: string }>(await rawRequest('GET', `${gw.origin}/admin/users/sip:nobody@example.com/documents`, AS_ADMIN), 404).error).toBe('no user sip:nobody@example.com');
  });

  it('remove a user: 204, then locked out; removing again is 404; other methods on a known path are 405', async () => {
    expect((await rawRequest('DELETE', `${gw.origin}/admin/users/${CAROL}`, AS_ADMIN)).status).toBe(204);
    expect((await gw.client('carol', 'carol-new').get(CAROL_DOC)).status).toBe(401);
    expect((await rawRequest('DELETE', `${gw.origin}/admin/users/${CAROL}`, AS_ADMIN)).status).toBe(404);
    const wrong = await rawRequest('PUT', `${gw.origin}/admin/users`, AS_ADMIN);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, POST');
  });

  it('bindings: last and next run, lag; a run of an unknown binding or user is 404 and queues nothing', async () => {
    await syncNow(gw);
    const { bindings, running } = json<{ running: boolean; bindings: Array<{ binding: string; lastRunAt: number | null; lastOkAt: number | null; lagSeconds: number | null; documents: number; schedule: string | null; nextRunAt: number | null }> }>(
      await rawRequest('GET', `${gw.origin}/admin/bindings`, AS_ADMIN),
      200,
    );
    expect(running).toBe(true);
    expect(bindings).toHaveLength(1);
    expect(bindings[0]).toMatchObject({ binding: BINDING, documents: 1, schedule: null, nextRunAt: null });
    expect(bindings[0]?.lastOkAt).toBeGreaterThan(0);
    expect(json<{ error: string }>(await post(gw.origin, '/admin/bindings/nope/run', admin, {}), 404).error).toBe('no binding named nope');
    expect(json<{ error: string }>(await post(gw.origin, `/admin/bindings/${BINDING}/run`, admin, { scope: 'sip:nobody@example.com' }), 404).error).toBe('no user sip:nobody@example.com');
    expect(json<{ error: string }>(await post(gw.origin, `/admin/bindings/${BINDING}/run`, admin, { full: 'yes' }), 400).error).toMatch(/full\?: boolean/);
  });

  it('full: true reads both sides whole: a remote item the sync state forgot is found again; a normal run trusts the state', async () => {
    const mem = memoryOf(gw);
    const put = await gw.client().put(ALICE_INDEX, rlDoc({ friends: [{ uri: 'sip:bob@example.com', 'display-name': 'Bob' }] }), RL_TYPE);
    expect(put.status, put.body).toBe(200);
    await queueIdle(gw);
    expect([...mem.snapshot(ALICE_COLL).values()].map((f) => f.uri)).toEqual(['sip:bob@example.com']);
    // A second run takes in the remote's echo of the push: from then on the change token says "nothing new".
    await syncNow(gw);
    // The state drifts: its row for Bob is lost (a restored backup, a hand edit).
    await gw.gateway.store.sql.run('DELETE FROM sync_items WHERE binding = ? AND scope = ?', [BINDING, ALICE.xui]);
    const rows = async () => (await gw.gateway.store.sql.query<{ n: number }>('SELECT COUNT(*) AS n FROM sync_items WHERE binding = ? AND scope = ?', [BINDING, ALICE.xui]))[0]?.n;
    expect(json<{ queued: boolean }>(await post(gw.origin, `/admin/bindings/${BINDING}/run`, admin, { scope: ALICE.xui }), 202).queued).toBe(true);
    await queueIdle(gw);
    expect(Number(await rows())).toBe(0);
    expect(json<{ full: boolean }>(await post(gw.origin, `/admin/bindings/${BINDING}/run`, admin, { scope: ALICE.xui, full: true }), 202).full).toBe(true);
    await queueIdle(gw);
    expect(Number(await rows())).toBe(1);
    // Both sides still hold Bob once: the full read matched him, it did not copy him again.
    expect([...mem.snapshot(ALICE_COLL).values()].map((f) => f.uri)).toEqual(['sip:bob@example.com']);
    expect((await gw.client().get(ALICE_INDEX)).body).toContain(entryXml({ uri: 'sip:bob@example.com', 'display-name': 'Bob' }).slice(0, 30));
  });

  it('the queue dashboard (bull-board) at /admin/queues/ behind the admin credentials', async () => {
    expect((await rawRequest('GET', `${gw.origin}/admin/queues/`, {})).status).toBe(401);
    expect((await rawRequest('GET', `${gw.origin}/admin/queues/`, AS_ALICE)).status).toBe(403);
    const page = await rawRequest('GET', `${gw.origin}/admin/queues/`, AS_ADMIN);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.body).toContain('xcap-bridge sync');
    const api = json<{ queues: Array<{ name: string }> }>(await rawRequest('GET', `${gw.origin}/admin/queues/api/queues`, AS_ADMIN), 200);
    expect(api.queues.map((q) => q.name)).toEqual(['sync']);
  });
});
