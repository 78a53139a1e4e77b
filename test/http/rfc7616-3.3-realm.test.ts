/**
 * RFC 7616 §3.3 realm, as real clients need it, against `serve` with no realm configured:
 * clients register their password for realm = their SIP domain, so the global tree
 * (rls-services global/index, xcap-caps, the admin API) challenges with the deployment's
 * domain, the one realm all users share, and an XUI without a domain gets that domain.
 * Users in two realms without `auth.defaultDomain`: serve refuses to start and says why;
 * with it, the configured domain is the global tree's realm.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalUsers } from '../../src/auth/local-users.ts';
import { openStore } from '../../src/store/open.ts';
import { parseChallenges, rawRequest, XcapClient } from '../helpers/digest-client.ts';
import { addUser, startServe, tempData, type ServeProcess } from './serve-process.ts';
import { contacts, RL_TYPE } from './helpers.ts';

/** The realms of the Digest challenges of an unauthenticated request. */
async function realms(url: string, method = 'GET'): Promise<string[]> {
  const r = await rawRequest(method, url, {});
  expect(r.status).toBe(401);
  return [...new Set(parseChallenges(r.headers).map((c) => c.realm))];
}

describe('one domain, nothing configured', () => {
  let server: ServeProcess;
  let store: { data: string; remove: () => void };
  beforeAll(async () => {
    store = tempData();
    await addUser(store, 'sip:alice@example.com', 'alice-secret');
    await addUser(store, 'sip:root@example.com', 'root-secret', true);
    server = await startServe(store);
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
    store.remove();
  });

  it('the global tree and the admin API challenge with the users\' domain, and its users log in there', async () => {
    expect(await realms(`${server.url}/rls-services/global/index`)).toEqual(['example.com']);
    expect(await realms(`${server.url}/xcap-caps/global/index`, 'HEAD')).toEqual(['example.com']);
    expect(await realms(`${server.url}/resource-lists/global/index`)).toEqual(['example.com']);
    const origin = server.url.slice(0, server.url.indexOf('/', 'http://'.length));
    expect(await realms(`${origin}/admin/sync/status`)).toEqual(['example.com']);
    const alice = new XcapClient(server.url, { username: 'alice', password: 'alice-secret' });
    expect((await alice.get('/rls-services/global/index')).status).toBe(200);
    const root = new XcapClient(origin, { username: 'root', password: 'root-secret' });
    expect((await root.get('/admin/sync/status')).status).toBe(200);
  });

  it('an XUI written without a domain is the user of that domain', async () => {
    const alice = new XcapClient(server.url, { username: 'alice@example.com', password: 'alice-secret' });
    expect((await alice.put('/resource-lists/users/alice/index', contacts(), RL_TYPE)).status).toBe(201);
    expect((await alice.get('/resource-lists/users/sip:alice@example.com/index')).body).toBe(contacts());
  });
});

describe('two domains', () => {
  let store: { data: string; remove: () => void };
  beforeAll(async () => {
    store = tempData();
    await addUser(store, 'sip:alice@example.com', 'alice-secret');
    // A second domain written by another tool on the same store (user add refuses it without auth.defaultDomain).
    const s = await openStore({ kind: 'sqlite', dataDir: store.data });
    try {
      await (await LocalUsers.open(s.sql)).add('sip:olga@example.org', 'olga-secret');
    } finally {
      await s.close();
    }
  });
  afterAll(() => store.remove());

  it('without auth.defaultDomain, serve refuses to start and names the realms and the key', async () => {
    const err = await startServe(store).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('auth.defaultDomain');
    expect((err as Error).message).toContain('example.com, example.org');
  });

  it('with auth.defaultDomain, the global tree challenges with it and both domains\' users use their own', async () => {
    const cfg = join(store.data, 'xcap-bridge.yaml');
    writeFileSync(cfg, 'auth:\n  defaultDomain: example.org\n');
    const server = await startServe(store, ['--config', cfg]);
    try {
      expect(await realms(`${server.url}/rls-services/global/index`)).toEqual(['example.org']);
      expect(await realms(`${server.url}/resource-lists/users/sip:alice@example.com/index`)).toEqual(['example.com']);
      const olga = new XcapClient(server.url, { username: 'olga', password: 'olga-secret' });
      expect((await olga.get('/rls-services/global/index')).status).toBe(200);
      expect((await olga.put('/resource-lists/users/olga/index', contacts(), RL_TYPE)).status).toBe(201);
      expect((await olga.get('/resource-lists/users/sip:olga@example.org/index')).body).toBe(contacts());
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
