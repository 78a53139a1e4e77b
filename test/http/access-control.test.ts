/**
 * Access control through HTTP: a user reaches only `users/<own xui>/`;
 * the global tree is read-only except for admins; Digest (MD5, SHA-256, qop=auth, expiry,
 * nc replay) and Basic; failures are 401 with a challenge or 403, never a hint of what exists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { basicHeader, digestHeader, parseChallenges, rawRequest, XcapClient } from '../helpers/digest-client.ts';
import { ALICE_RL, contacts, EL_TYPE, enc, RL_TYPE } from './helpers.ts';

const BOB_RL = '/resource-lists/users/sip:bob@example.com/index';

describe('RFC 4825 §5.7 access control over HTTP', () => {
  let gw: TestGateway;
  /** The server's clock: it moves only when a test moves it, so no nonce expires on a slow machine. */
  let clock = Date.now();
  beforeAll(async () => {
    gw = await startTestGateway({ config: { auth: { nonceTtlSeconds: 300 } }, now: () => clock });
    expect((await gw.client().put(ALICE_RL, contacts(), RL_TYPE)).status).toBe(201);
  });
  afterAll(() => gw.stop());

  describe('authorization', () => {
    it("bob gets 403 on alice's documents, existing or not, for every method", async () => {
      const bob = gw.client('bob', 'bob-secret');
      const missing = '/resource-lists/users/sip:alice@example.com/nothing-here';
      const answers: Array<[number, string]> = [];
      for (const path of [ALICE_RL, missing, `${ALICE_RL}/~~/${enc('resource-lists/list[1]')}`]) {
        for (const r of [await bob.get(path), await bob.put(path, contacts(), RL_TYPE), await bob.delete(path)]) {
          answers.push([r.status, r.body]);
        }
      }
      // Same status and same body whether the document exists or not.
      for (const a of answers) expect(a).toEqual([403, answers[0]![1]]);
      expect((await gw.client().get(ALICE_RL)).body).toBe(contacts());
      expect((await gw.client().get(missing)).status).toBe(404);
      // And the other way round.
      expect((await bob.put(BOB_RL, contacts(), RL_TYPE)).status).toBe(201);
      expect((await gw.client().get(BOB_RL)).status).toBe(403);
      expect((await bob.get(BOB_RL)).body).toBe(contacts());
    });

    it('alice reads and writes her own tree (with or without sip:, any host case)', async () => {
      const c = gw.client();
      expect((await c.get('/resource-lists/users/alice@example.com/index')).status).toBe(200);
      expect((await c.get('/resource-lists/users/sip:alice@EXAMPLE.com/index')).status).toBe(200);
      expect((await c.get('/resource-lists/users/alice/index')).status).toBe(200);
    });

    it('the global tree is readable by users and writable by admins only', async () => {
      const doc = '/resource-lists/global/shared';
      const admin = gw.client('admin', 'admin-secret');
      const alice = gw.client();
      expect((await alice.put(doc, contacts(), RL_TYPE)).status).toBe(403);
      expect((await admin.put(doc, contacts(), RL_TYPE)).status).toBe(201);
      expect((await alice.get(doc)).body).toBe(contacts());
      expect((await alice.put(`${doc}/~~/${enc('resource-lists/list[@name="x"]')}`, '<list name="x"/>', EL_TYPE)).status).toBe(403);
      expect((await alice.delete(doc)).status).toBe(403);
      expect((await admin.delete(doc)).status).toBe(200);
      expect((await alice.get(doc)).status).toBe(404);
    });

    it('xcap-caps is readable without credentials; everything else needs them', async () => {
      expect((await rawRequest('GET', `${gw.url}/xcap-caps/global/index`, {})).status).toBe(200);
      const r = await rawRequest('GET', gw.url + ALICE_RL, {});
      expect(r.status).toBe(401);
      expect(r.body).not.toContain('friends');
    });
  });

  describe('authentication', () => {
    it('Digest MD5, SHA-256 and SHA-512-256 with qop=auth, logins "alice" and "alice@example.com"', async () => {
      for (const algorithm of ['MD5', 'SHA-256', 'SHA-512-256'] as const) {
        for (const login of ['alice', 'alice@example.com']) {
          const c = gw.client(login, 'alice-secret', { algorithm });
          const r = await c.get(ALICE_RL);
          expect(r.status, `${algorithm} ${login}`).toBe(200);
          expect(r.body).toBe(contacts());
        }
      }
    });

    it('the challenge offers MD5, then SHA-256 and SHA-512-256 with qop="auth", plus Basic, in the XUI domain as realm', async () => {
      const r = await rawRequest('GET', gw.url + ALICE_RL, {});
      const ch = parseChallenges(r.headers);
      // MD5 first: clients that read only the first challenge (Python urllib, many phones) know only MD5.
      expect(ch.map((c) => c.algorithm)).toEqual(['MD5', 'SHA-256', 'SHA-512-256']);
      for (const c of ch) {
        expect(c.qop).toBe('auth');
        expect(c.realm).toBe('example.com');
      }
      expect(r.headers.get('www-authenticate')).toMatch(/Basic realm="example.com"/);
    });

    it('Basic with "alice" and "alice@example.com"', async () => {
      for (const login of ['alice', 'alice@example.com']) {
        const r = await gw.client(login, 'alice-secret', { mode: 'basic' }).get(ALICE_RL);
        expect(r.status, login).toBe(200);
      }
    });

    it('wrong password and unknown user both get the same 401 with a challenge', async () => {
      const results = [];
      for (const [login, pw, mode] of [
        ['alice', 'wrong', 'digest'],
        ['mallory', 'whatever', 'digest'],
        ['alice', 'wrong', 'basic'],
        ['mallory', 'whatever', 'basic'],
      ] as const) {
        const r = await gw.client(login, pw, { mode }).get(ALICE_RL);
        expect(r.status, `${login} ${mode}`).toBe(401);
        expect(parseChallenges(r.headers).length).toBeGreaterThan(0);
        results.push(r.body);
      }
      expect(new Set(results).size).toBe(1);
    });

    it('a replayed nc is refused with 401 stale=true; a higher nc on the same nonce is accepted', async () => {
      const first = await rawRequest('GET', gw.url + ALICE_RL, {});
      const ch = parseChallenges(first.headers).find((c) => c.algorithm === 'MD5')!;
      const path = new URL(gw.url + ALICE_RL).pathname;
      const creds = { username: 'alice', password: 'alice-secret' };
      const auth1 = digestHeader(ch, creds, 'GET', path, 1, 'abcdef01');
      expect((await rawRequest('GET', gw.url + ALICE_RL, { Authorization: auth1 })).status).toBe(200);
      const replay = await rawRequest('GET', gw.url + ALICE_RL, { Authorization: auth1 });
      expect(replay.status).toBe(401);
      expect(replay.headers.get('www-authenticate')).toMatch(/stale=true/);
      expect(replay.body).not.toContain('friends');
      const next = digestHeader(ch, creds, 'GET', path, 2, 'abcdef02');
      expect((await rawRequest('GET', gw.url + ALICE_RL, { Authorization: next })).status).toBe(200);
    });

    it('an expired nonce gets 401 stale=true and the client recovers with the fresh nonce', async () => {
      const first = await rawRequest('GET', gw.url + ALICE_RL, {});
      const ch = parseChallenges(first.headers).find((c) => c.algorithm === 'SHA-256')!;
      const path = new URL(gw.url + ALICE_RL).pathname;
      const creds = { username: 'alice', password: 'alice-secret' };
      clock += 301_000;
      const late = await rawRequest('GET', gw.url + ALICE_RL, { Authorization: digestHeader(ch, creds, 'GET', path, 1) });
      expect(late.status).toBe(401);
      expect(late.headers.get('www-authenticate')).toMatch(/stale=true/);
      const fresh = parseChallenges(late.headers).find((c) => c.algorithm === 'SHA-256')!;
      expect(fresh.nonce).not.toBe(ch.nonce);
      const ok = await rawRequest('GET', gw.url + ALICE_RL, { Authorization: digestHeader(fresh, creds, 'GET', path, 1) });
      expect(ok.status).toBe(200);
    });

    it('credentials for another realm or a Digest uri that is not the request are refused', async () => {
      const first = await rawRequest('GET', gw.url + ALICE_RL, {});
      const ch = parseChallenges(first.headers).find((c) => c.algorithm === 'MD5')!;
      const creds = { username: 'alice', password: 'alice-secret' };
      const path = new URL(gw.url + ALICE_RL).pathname;
      const otherRealm = digestHeader({ ...ch, realm: 'evil.example' }, creds, 'GET', path, 1);
      expect((await rawRequest('GET', gw.url + ALICE_RL, { Authorization: otherRealm })).status).toBe(401);
      const otherUri = digestHeader(ch, creds, 'GET', '/xcap-root/resource-lists/users/sip:alice@example.com/other', 2);
      const r = await rawRequest('GET', gw.url + ALICE_RL, { Authorization: otherUri });
      expect([400, 401]).toContain(r.status);
    });

    it('a client that never caches nonces (401 round trip on every request) keeps working', async () => {
      for (let i = 0; i < 20; i++) {
        const c = new XcapClient(gw.url, { username: 'alice', password: 'alice-secret' });
        const r = await c.get(ALICE_RL);
        expect(r.status).toBe(200);
      }
      const basic = await rawRequest('GET', gw.url + ALICE_RL, { Authorization: basicHeader({ username: 'alice', password: 'alice-secret' }) });
      expect(basic.status).toBe(200);
    });
  });
});
