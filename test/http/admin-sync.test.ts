/**
 * The admin API (src/http/admin.ts): admins only; sync status and conflicts as JSON; a
 * conflict resolved over HTTP is recorded for the next run, as `sync resolve` does, even
 * while sync is off (Redis unreachable).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncState } from '../../src/sync/state.ts';
import { rawRequest } from '../helpers/digest-client.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { freePort } from '../services/process.ts';
import { AS_ADMIN, AS_ALICE, DIRECTORY_BINDING, JSON_TYPE } from './admin-helpers.ts';

// Single Redis only: sync is off (a `redis.url` nothing listens on), no queue is reached.
describe('admin API: sync status and conflicts (sync off: Redis unreachable)', () => {
  let gw: TestGateway;
  let state: SyncState;
  const admin = AS_ADMIN;
  const alice = AS_ALICE;
  const json = JSON_TYPE;

  beforeAll(async () => {
    gw = await startTestGateway({
      config: {
        redis: { url: `redis://127.0.0.1:${await freePort()}` },
        connectors: { mem: { kind: 'memory', collections: ['people'] } },
        bindings: [DIRECTORY_BINDING],
      },
    });
    state = await SyncState.open(gw.gateway.store.sql);
    await state.replaceConflicts('directory', 'sip:alice@example.com', [{ item: 'sip:bob@example.com', xcap: { 'display-name': 'Bob X' }, remote: { 'display-name': 'Bob R' } }], 1);
  });
  afterAll(() => gw.stop());

  it('refuses anonymous (401 with a challenge) and non-admin users (403)', async () => {
    const anon = await rawRequest('GET', `${gw.origin}/admin/sync/status`, {});
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toMatch(/Digest/);
    expect((await rawRequest('GET', `${gw.origin}/admin/sync/status`, alice)).status).toBe(403);
  });

  it('lists open conflicts with both sides, and status counts them', async () => {
    const r = await rawRequest('GET', `${gw.origin}/admin/sync/conflicts`, admin);
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body) as { conflicts: Array<{ item: string; xcap: object; remote: object; resolution: unknown }> };
    expect(body.conflicts).toHaveLength(1);
    expect(body.conflicts[0]).toMatchObject({ item: 'sip:bob@example.com', xcap: { 'display-name': 'Bob X' }, remote: { 'display-name': 'Bob R' }, resolution: null });
    const status = JSON.parse((await rawRequest('GET', `${gw.origin}/admin/sync/status`, admin)).body) as { running: boolean };
    expect(status.running).toBe(false);
  });

  it('resolves a conflict: recorded for the next run (nothing queued while sync is off); unknown conflict 404, bad body 400', async () => {
    const ok = await rawRequest('POST', `${gw.origin}/admin/sync/resolve`, { ...admin, ...json }, JSON.stringify({ binding: 'directory', scope: 'sip:alice@example.com', item: 'sip:bob@example.com', take: 'remote' }));
    expect(ok.status, ok.body).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ resolved: true, queued: false });
    const [c] = await state.listConflicts('directory');
    expect(c?.resolution).toBe('remote');
    const missing = await rawRequest('POST', `${gw.origin}/admin/sync/resolve`, { ...admin, ...json }, JSON.stringify({ binding: 'directory', scope: 'sip:alice@example.com', item: 'nope', take: 'xcap' }));
    expect(missing.status).toBe(404);
    const bad = await rawRequest('POST', `${gw.origin}/admin/sync/resolve`, { ...admin, ...json }, JSON.stringify({ binding: 'directory', take: 'both' }));
    expect(bad.status).toBe(400);
  });

  it('a manual run while sync is off is 503 (JSON), and XCAP keeps serving', async () => {
    const r = await rawRequest('POST', `${gw.origin}/admin/sync/run`, { ...admin, ...json }, JSON.stringify({ binding: 'directory' }));
    expect(r.status).toBe(503);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(JSON.parse(r.body)).toEqual({ error: 'service unavailable' });
    expect((await gw.client().get('/xcap-caps/global/index')).status).toBe(200);
  });
});
