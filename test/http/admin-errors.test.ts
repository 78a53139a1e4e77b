/**
 * The admin API's edges (src/http/admin.ts): credentials are checked before the body is
 * read; every error is JSON from the one renderer whatever NODE_ENV says (never express's
 * HTML page with a stack trace); unknown bindings, scopes naming no user, wrong content
 * types, oversized bodies and unknown routes are 4xx and queue nothing. Against a single
 * Redis and against a 6-node Redis Cluster (where the queue's keys are hash-tagged).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisTarget } from '../../src/sync/redis-connection.ts';
import { SyncState } from '../../src/sync/state.ts';
import { rawRequest, type ClientResponse } from '../helpers/digest-client.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { describeEachRedis, redisSection } from '../helpers/redis-variants.ts';
import { withQueue } from '../sync/helpers.ts';
import { AS_ADMIN, AS_ALICE, DIRECTORY_BINDING, JSON_TYPE, post } from './admin-helpers.ts';

const SHARED_BINDING = { ...DIRECTORY_BINDING, name: 'shared', target: { scope: 'global', document: 'shared' }, collection: 'shared' } as const;
const NOBODY = 'sip:nobody@example.com';

/** A JSON error: status, JSON content type, `{error}` naming no file, stack or HTML. */
function expectJsonError(r: ClientResponse, status: number): string {
  expect(r.status, r.body).toBe(status);
  expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
  const body = JSON.parse(r.body) as { error: unknown };
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error).toBe('string');
  expect(r.body).not.toMatch(/<html|<pre|\.ts:|\.js:|node_modules|\bat \w/i);
  return body.error as string;
}

describeEachRedis((redis) => {
  describe.each(['development', 'production'])('admin API errors with NODE_ENV=%s', (nodeEnv) => {
    let gw: TestGateway;
    let target: RedisTarget;
    let prefix: string;
    let savedEnv: string | undefined;

    beforeAll(async () => {
      // Express reads NODE_ENV when the app is made: its HTML error page shows stacks outside production.
      savedEnv = process.env.NODE_ENV;
      process.env.NODE_ENV = nodeEnv;
      target = await redis.target();
      prefix = `admin-errors-${randomUUID()}`;
      gw = await startTestGateway({
        config: {
          redis: redisSection(target, prefix),
          connectors: { mem: { kind: 'memory', collections: ['people', 'shared'] } },
          bindings: [DIRECTORY_BINDING, SHARED_BINDING],
        },
      });
    });
    afterAll(async () => {
      process.env.NODE_ENV = savedEnv;
      await gw?.stop();
    });

    /** Every job the gateway's queue holds or has finished, as `binding|scope`. */
    async function jobs(): Promise<string[]> {
      const all = await withQueue(prefix, (queue) => queue.getJobs(['waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed']), target);
      return all.map((j) => `${String(j.data.binding)}|${String(j.data.scope)}`);
    }

    describe('credentials come first', () => {
      it('malformed JSON from nobody is 401 and from a non-admin 403, not 400', async () => {
        const anon = await post(gw.origin, '/admin/sync/run', JSON_TYPE, '{"binding": ');
        expectJsonError(anon, 401);
        expect(anon.headers.get('www-authenticate')).toMatch(/^Digest /);
        expectJsonError(await post(gw.origin, '/admin/sync/run', { ...AS_ALICE, ...JSON_TYPE }, '{"binding": '), 403);
      });

      it('an oversized body from nobody is 401, not 413', async () => {
        expectJsonError(await post(gw.origin, '/admin/sync/resolve', JSON_TYPE, `{"binding": "${'x'.repeat(64 * 1024)}"}`), 401);
      });

      it('unknown routes under /admin are 401 without credentials, so nothing about them shows', async () => {
        expectJsonError(await rawRequest('GET', `${gw.origin}/admin/secret`, {}), 401);
      });
    });

    describe('bodies', () => {
      it('malformed JSON is 400 with a phrase of ours', async () => {
        const error = expectJsonError(await post(gw.origin, '/admin/sync/run', { ...AS_ADMIN, ...JSON_TYPE }, '{"binding": '), 400);
        expect(error).toBe('body is not valid JSON');
      });

      it.each([['an array', '["directory"]'], ['a string', '"directory"'], ['null', 'null']])('JSON that is %s is 400', async (_what, body) => {
        expectJsonError(await post(gw.origin, '/admin/sync/run', { ...AS_ADMIN, ...JSON_TYPE }, body), 400);
      });

      it('a Content-Type other than application/json, or none, is 415', async () => {
        const body = JSON.stringify({ binding: 'directory' });
        expectJsonError(await post(gw.origin, '/admin/sync/run', { ...AS_ADMIN, 'Content-Type': 'text/plain' }, body), 415);
        expectJsonError(await post(gw.origin, '/admin/sync/run', { ...AS_ADMIN, 'Content-Type': 'application/x-www-form-urlencoded' }, 'binding=directory'), 415);
        expectJsonError(await post(gw.origin, '/admin/sync/run', AS_ADMIN, body), 415);
        expectJsonError(await post(gw.origin, '/admin/sync/run', { ...AS_ADMIN, 'Content-Type': 'application/json; charset=latin1' }, body), 415);
        expect(await jobs()).toEqual([]);
      });

      it('a body over 16 KiB is 413', async () => {
        const r = await post(gw.origin, '/admin/sync/resolve', { ...AS_ADMIN, ...JSON_TYPE }, { binding: 'directory', scope: 'x'.repeat(20 * 1024), item: 'i', take: 'xcap' });
        expectJsonError(r, 413);
      });
    });

    describe('bindings and scopes', () => {
      it('an unknown binding is 404 for run, resolve and the conflict list', async () => {
        expectJsonError(await post(gw.origin, '/admin/sync/run', { ...AS_ADMIN, ...JSON_TYPE }, { binding: 'nope' }), 404);
        expectJsonError(await post(gw.origin, '/admin/sync/run', { ...AS_ADMIN, ...JSON_TYPE }, { binding: 'nope', scope: 'sip:alice@example.com' }), 404);
        expectJsonError(await post(gw.origin, '/admin/sync/resolve', { ...AS_ADMIN, ...JSON_TYPE }, { binding: 'nope', scope: 'global', item: 'i', take: 'xcap' }), 404);
        expectJsonError(await rawRequest('GET', `${gw.origin}/admin/sync/conflicts?binding=nope`, AS_ADMIN), 404);
        expect(await jobs()).toEqual([]);
      });

      it('a scope naming no user is 404 and creates nothing: no job, no state, no document', async () => {
        const error = expectJsonError(await post(gw.origin, '/admin/sync/run', { ...AS_ADMIN, ...JSON_TYPE }, { binding: 'directory', scope: NOBODY }), 404);
        expect(error).toContain(NOBODY);
        expectJsonError(await post(gw.origin, '/admin/sync/resolve', { ...AS_ADMIN, ...JSON_TYPE }, { binding: 'directory', scope: NOBODY, item: 'i', take: 'xcap' }), 404);
        expect(await jobs()).toEqual([]);
        const state = await SyncState.open(gw.gateway.store.sql);
        expect((await state.listScopes()).filter((s) => s.scope === NOBODY)).toEqual([]);
        const doc = await gw.client('admin', 'admin-secret').get(`/resource-lists/users/${NOBODY}/index`);
        expect(doc.status).toBe(404);
      });

      it('a scope that does not fit the binding is 404: "global" of a users binding, a user of a global one', async () => {
        expectJsonError(await post(gw.origin, '/admin/sync/run', { ...AS_ADMIN, ...JSON_TYPE }, { binding: 'directory', scope: 'global' }), 404);
        expectJsonError(await post(gw.origin, '/admin/sync/run', { ...AS_ADMIN, ...JSON_TYPE }, { binding: 'shared', scope: 'sip:alice@example.com' }), 404);
        expect(await jobs()).toEqual([]);
      });

      it('an existing user and the global scope are queued (202)', async () => {
        expect((await post(gw.origin, '/admin/sync/run', { ...AS_ADMIN, ...JSON_TYPE }, { binding: 'directory', scope: 'sip:alice@example.com' })).status).toBe(202);
        expect((await post(gw.origin, '/admin/sync/run', { ...AS_ADMIN, ...JSON_TYPE }, { binding: 'shared', scope: 'global' })).status).toBe(202);
        expect((await jobs()).sort()).toEqual(['directory|sip:alice@example.com', 'shared|global']);
      });
    });

    describe('routes', () => {
      it('an unknown path under /admin is 404; a known one with another method is 405 with Allow', async () => {
        expectJsonError(await rawRequest('GET', `${gw.origin}/admin/secret`, AS_ADMIN), 404);
        // /admin itself is the status page now (src/http/admin/status-page.ts).
        expect((await rawRequest('GET', `${gw.origin}/admin`, AS_ADMIN)).headers.get('content-type')).toBe('text/html; charset=utf-8');
        const wrong = await rawRequest('GET', `${gw.origin}/admin/sync/run`, AS_ADMIN);
        expectJsonError(wrong, 405);
        expect(wrong.headers.get('allow')).toBe('POST');
        const del = await rawRequest('DELETE', `${gw.origin}/admin/sync/status?x=1`, AS_ADMIN);
        expectJsonError(del, 405);
        expect(del.headers.get('allow')).toBe('GET');
      });
    });
  });
});
