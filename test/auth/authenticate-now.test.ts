/**
 * `authenticateNow`, the poll's way in without a promise: it lets a request in only when
 * its Digest credentials verify against a login already cached; in every other case it
 * says nothing (undefined) and `authenticate` gives the answer a client sees.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, type Authenticator } from '../../src/auth/authenticator.ts';
import { cachedSource, type CachedUsers } from '../../src/auth/sources.ts';
import type { DocumentStore } from '../../src/store/types.ts';
import { challengesOf, digestAuthorization, rejection, sqliteUsers, type DigestAnswer } from './helpers.ts';

const REALM = 'example.com';
const URL_ = '/xcap-root/resource-lists/users/sip:alice@example.com/index';
const ALICE = { xui: 'sip:alice@example.com', admin: false };

let store: DocumentStore;
let users: CachedUsers;
let auth: Authenticator;
let clock = 1_000_000;

beforeAll(async () => {
  const u = await sqliteUsers();
  store = u.store;
  await u.users.add('sip:alice@example.com', 'wonderland');
  users = cachedSource(u.users, { ttlMs: 60_000, now: () => clock });
  auth = createAuthenticator({ users, allowBasic: true, allowBasicOverHttp: true, nonceSecret: Buffer.from('k'), now: () => clock });
});
afterAll(() => store.close());

async function nonce(): Promise<string> {
  return challengesOf(await rejection(auth.authenticate({ method: 'GET', url: URL_, headers: {} }, REALM)))[0]!.params.nonce!;
}
const request = (a: Partial<DigestAnswer> & { nonce: string }) => ({
  method: 'GET',
  url: URL_,
  headers: { authorization: digestAuthorization({ username: 'alice', password: 'wonderland', realm: REALM, method: 'GET', uri: URL_, algorithm: 'MD5', nc: 1, ...a }) },
});

describe('authenticateNow', () => {
  it('lets in a poll whose login is cached, and only then', async () => {
    users.forget();
    const n = await nonce();
    // Not cached yet: authenticate looks the user up.
    expect(auth.authenticateNow(request({ nonce: n, nc: 1 }), REALM)).toBeUndefined();
    await expect(auth.authenticate(request({ nonce: n, nc: 1 }), REALM)).resolves.toEqual(ALICE);
    expect(auth.authenticateNow(request({ nonce: n, nc: 2 }), REALM)).toEqual(ALICE);
    expect(auth.authenticateNow(request({ nonce: n, nc: 3, algorithm: 'SHA-256' }), REALM)).toEqual(ALICE);
  });

  it('says nothing on a replayed nonce count, which authenticate then calls stale', async () => {
    const n = await nonce();
    await auth.authenticate(request({ nonce: n, nc: 1 }), REALM);
    expect(auth.authenticateNow(request({ nonce: n, nc: 1 }), REALM)).toBeUndefined();
    const err = await rejection(auth.authenticate(request({ nonce: n, nc: 1 }), REALM));
    expect(challengesOf(err)[0]!.params.stale).toBe('true');
  });

  it('says nothing on a wrong password, another realm, Basic or no credentials', async () => {
    const n = await nonce();
    await auth.authenticate(request({ nonce: n, nc: 1 }), REALM);
    expect(auth.authenticateNow(request({ nonce: n, nc: 2, password: 'guess' }), REALM)).toBeUndefined();
    expect(auth.authenticateNow(request({ nonce: n, nc: 3 }), 'other.org')).toBeUndefined();
    expect(auth.authenticateNow({ method: 'GET', url: URL_, headers: { authorization: `Basic ${Buffer.from('alice:wonderland').toString('base64')}` } }, REALM)).toBeUndefined();
    expect(auth.authenticateNow({ method: 'GET', url: URL_, headers: {} }, REALM)).toBeUndefined();
    // The refused attempts used up nothing: the right answer with the next count gets in.
    expect(auth.authenticateNow(request({ nonce: n, nc: 2 }), REALM)).toEqual(ALICE);
  });

  it('says nothing once the cached login expired or the cache was told to forget', async () => {
    const n = await nonce();
    await auth.authenticate(request({ nonce: n, nc: 1 }), REALM);
    users.forget();
    expect(auth.authenticateNow(request({ nonce: n, nc: 2 }), REALM)).toBeUndefined();
    await expect(auth.authenticate(request({ nonce: n, nc: 2 }), REALM)).resolves.toEqual(ALICE);
    clock += 61_000;
    const fresh = await nonce();
    expect(auth.authenticateNow(request({ nonce: fresh, nc: 1 }), REALM)).toBeUndefined();
  });
});
