import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, type Authenticator } from '../../src/auth/authenticator.ts';
import { DigestAuth, parseDigestCredentials } from '../../src/auth/digest.ts';
import type { DocumentStore } from '../../src/store/types.ts';
import { challengesOf, digestAuthorization, rejection, sqliteUsers, type DigestAnswer } from './helpers.ts';

const REALM = 'example.com';
const URL_ = '/xcap-root/resource-lists/users/sip:alice@example.com/index';
const SECRET = Buffer.from('a shared secret of the replicas');

let store: DocumentStore;
let auth: Authenticator;
let clock = Date.now();
const now = () => clock;

beforeAll(async () => {
  const u = await sqliteUsers();
  store = u.store;
  await u.users.add('sip:alice@example.com', 'wonderland');
  await u.users.add('sip:root@example.com', 's3cret', { admin: true });
  auth = createAuthenticator({ users: u.users, allowBasic: false, nonceSecret: SECRET, now });
});
afterAll(() => store.close());

/** A fresh challenge's nonce for `realm`. */
async function nonceFor(a: Authenticator = auth, realm = REALM): Promise<string> {
  const [c] = challengesOf(await rejection(a.authenticate({ method: 'GET', url: URL_, headers: {} }, realm)));
  return c!.params.nonce!;
}

function request(answer: Partial<DigestAnswer> & { nonce: string }, url = URL_) {
  const full: DigestAnswer = { username: 'alice', password: 'wonderland', realm: REALM, method: 'GET', uri: url, algorithm: 'MD5', nc: 1, ...answer };
  return { method: full.method, url, headers: { authorization: digestAuthorization(full) } };
}

describe('RFC 7616 §3.3 challenge', () => {
  it('offers SHA-256 then MD5 with qop="auth", one shared nonce, no Basic when Basic is off', async () => {
    const cs = challengesOf(await rejection(auth.authenticate({ method: 'GET', url: URL_, headers: {} }, REALM)));
    expect(cs.map((c) => [c.scheme, c.params.algorithm, c.params.qop, c.params.realm])).toEqual([
      ['Digest', 'SHA-256', 'auth', REALM],
      ['Digest', 'MD5', 'auth', REALM],
    ]);
    expect(cs[0]!.params.nonce).toBe(cs[1]!.params.nonce);
    expect(cs[0]!.params.stale).toBeUndefined();
  });

  it('issues a different nonce on every challenge', async () => {
    expect(await nonceFor()).not.toBe(await nonceFor());
  });
});

describe('RFC 7616 §3.4 response, qop=auth', () => {
  it.each(['MD5', 'SHA-256'] as const)('accepts a correct %s response for login "alice"', async (algorithm) => {
    const p = await auth.authenticate(request({ nonce: await nonceFor(), algorithm }), REALM);
    expect(p).toEqual({ xui: 'sip:alice@example.com', admin: false });
  });

  it.each(['MD5', 'SHA-256'] as const)('accepts the login form "alice@example.com" with %s', async (algorithm) => {
    const p = await auth.authenticate(request({ nonce: await nonceFor(), algorithm, username: 'alice@example.com' }), REALM);
    expect(p.xui).toBe('sip:alice@example.com');
  });

  it('reports admins', async () => {
    const p = await auth.authenticate(request({ nonce: await nonceFor(), username: 'root', password: 's3cret' }), REALM);
    expect(p).toEqual({ xui: 'sip:root@example.com', admin: true });
  });

  it('accepts increasing nc on one nonce (clients that cache the nonce)', async () => {
    const nonce = await nonceFor();
    for (const nc of [1, 2, 3, 7]) {
      await expect(auth.authenticate(request({ nonce, nc, cnonce: `c${nc}` }), REALM)).resolves.toMatchObject({ xui: 'sip:alice@example.com' });
    }
  });

  it('refuses a replayed (nonce, nc) pair with a stale challenge', async () => {
    const nonce = await nonceFor();
    const req = request({ nonce, nc: 1 });
    await auth.authenticate(req, REALM);
    const err = await rejection(auth.authenticate(req, REALM));
    expect(err.status).toBe(401);
    expect(challengesOf(err)[0]!.params.stale).toBe('true');
    // and an nc below the highest seen
    await auth.authenticate(request({ nonce, nc: 5 }), REALM);
    expect((await rejection(auth.authenticate(request({ nonce, nc: 4 }), REALM))).status).toBe(401);
  });

  it('answers an expired nonce with stale=true, and the fresh nonce works', async () => {
    const nonce = await nonceFor();
    clock += 301_000;
    try {
      const cs = challengesOf(await rejection(auth.authenticate(request({ nonce }), REALM)));
      expect(cs.every((c) => c.params.stale === 'true')).toBe(true);
      await expect(auth.authenticate(request({ nonce: cs[0]!.params.nonce! }), REALM)).resolves.toMatchObject({ admin: false });
    } finally {
      clock -= 301_000;
    }
  });

  it('refuses a wrong password with a plain (not stale) challenge', async () => {
    const err = await rejection(auth.authenticate(request({ nonce: await nonceFor(), password: 'looking-glass' }), REALM));
    expect(err.status).toBe(401);
    expect(challengesOf(err)[0]!.params.stale).toBeUndefined();
  });

  it('answers an unknown user exactly like a wrong password', async () => {
    const wrong = await rejection(auth.authenticate(request({ nonce: await nonceFor(), password: 'x' }), REALM));
    const unknown = await rejection(auth.authenticate(request({ nonce: await nonceFor(), username: 'mallory' }), REALM));
    expect(unknown.status).toBe(wrong.status);
    expect(unknown.message).toBe(wrong.message);
    const shape = (e: unknown) => challengesOf(e).map((c) => ({ ...c.params, nonce: '' }));
    expect(shape(unknown)).toEqual(shape(wrong));
  });

  it('refuses credentials for another realm, and nonces signed for another realm', async () => {
    expect((await rejection(auth.authenticate(request({ nonce: await nonceFor(), realm: 'other.org' }), REALM))).status).toBe(401);
    const foreign = await nonceFor(auth, 'other.org');
    expect((await rejection(auth.authenticate(request({ nonce: foreign }), REALM))).status).toBe(401);
  });

  it('refuses a nonce already in use in one realm when it comes with another realm', async () => {
    const u = await sqliteUsers();
    await u.users.add('sip:alice@example.com', 'wonderland');
    await u.users.add('sip:alice@other.org', 'wonderland');
    const both = createAuthenticator({ users: u.users, allowBasic: false, nonceSecret: SECRET, now });
    const nonce = await nonceFor(both);
    await expect(both.authenticate(request({ nonce }), REALM)).resolves.toMatchObject({ xui: 'sip:alice@example.com' });
    const err = await rejection(both.authenticate(request({ nonce, nc: 2, realm: 'other.org' }), 'other.org'));
    expect(err.status).toBe(401);
    expect(challengesOf(err)[0]!.params.stale).toBeUndefined();
    await expect(both.authenticate(request({ nonce: await nonceFor(both, 'other.org'), realm: 'other.org' }), 'other.org')).resolves.toMatchObject({ xui: 'sip:alice@other.org' });
    await u.store.close();
  });

  it('refuses a forged nonce without stale, and accepts nonces of another replica with the same secret', async () => {
    const forged = (await nonceFor()).replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    const err = await rejection(auth.authenticate(request({ nonce: forged }), REALM));
    expect(challengesOf(err)[0]!.params.stale).toBeUndefined();
    const u = await sqliteUsers();
    await u.users.add('sip:alice@example.com', 'wonderland');
    const replica = createAuthenticator({ users: u.users, allowBasic: false, nonceSecret: SECRET });
    const stranger = createAuthenticator({ users: u.users, allowBasic: false });
    const nonce = await nonceFor();
    await expect(replica.authenticate(request({ nonce }), REALM)).resolves.toMatchObject({ xui: 'sip:alice@example.com' });
    expect((await rejection(stranger.authenticate(request({ nonce, nc: 2 }), REALM))).status).toBe(401);
    await u.store.close();
  });

  it('refuses a missing or malformed Authorization header with a challenge', async () => {
    for (const authorization of ['Digest', 'Digest username="alice", realm=', 'Bearer abc', 'Digest username="alice"']) {
      const err = await rejection(auth.authenticate({ method: 'GET', url: URL_, headers: { authorization } }, REALM));
      expect(challengesOf(err)).toHaveLength(2);
    }
  });
});

describe('RFC 7616 §3.4.6 digest-uri', () => {
  it('refuses a uri that is not the request-target with 400', async () => {
    const req = request({ nonce: await nonceFor(), uri: '/xcap-root/resource-lists/users/sip:bob@example.com/index' });
    expect((await rejection(auth.authenticate(req, REALM))).status).toBe(400);
  });

  it('accepts the same target encoded differently or in absolute form', async () => {
    const raw = '/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list[@name="friends"]';
    const encoded = '/xcap-root/resource-lists/users/sip%3Aalice%40example.com/index/~~/resource-lists/list%5B@name=%22friends%22%5D';
    await expect(auth.authenticate(request({ nonce: await nonceFor(), uri: encoded }, raw), REALM)).resolves.toMatchObject({ admin: false });
    await expect(auth.authenticate(request({ nonce: await nonceFor(), uri: raw }, encoded), REALM)).resolves.toMatchObject({ admin: false });
    await expect(auth.authenticate(request({ nonce: await nonceFor(), uri: `http://xcap.example.com:8080${raw}` }, raw), REALM))
      .resolves.toMatchObject({ admin: false });
  });

  it('accepts a uri with unescaped quotes inside the quoted value (python3-xcaplib)', async () => {
    const raw = '/xcap-root/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list[@name="friends"]';
    const req = request({ nonce: await nonceFor() }, raw);
    req.headers.authorization = req.headers.authorization.replace('\\"friends\\"', '"friends"');
    expect(req.headers.authorization).toContain('[@name="friends"]"');
    await expect(auth.authenticate(req, REALM)).resolves.toMatchObject({ xui: 'sip:alice@example.com' });
  });
});

describe('RFC 2069 response without qop (old phones)', () => {
  it.each(['MD5', 'SHA-256'] as const)('accepts a correct %s response and refuses a wrong one', async (algorithm) => {
    await expect(auth.authenticate(request({ nonce: await nonceFor(), algorithm, nc: undefined }), REALM)).resolves.toMatchObject({ admin: false });
    const err = await rejection(auth.authenticate(request({ nonce: await nonceFor(), algorithm, nc: undefined, password: 'no' }), REALM));
    expect(err.status).toBe(401);
  });

  it('answers an expired nonce with stale=true', async () => {
    const nonce = await nonceFor();
    clock += 400_000;
    try {
      const err = await rejection(auth.authenticate(request({ nonce, nc: undefined }), REALM));
      expect(challengesOf(err)[0]!.params.stale).toBe('true');
    } finally {
      clock -= 400_000;
    }
  });
});

describe('nc replay memory is bounded', () => {
  it('forgets the oldest nonce when full and then answers it stale instead of accepting a replay', () => {
    let t = 1_000_000_000_000;
    const d = new DigestAuth({ secret: SECRET, nonceTtlSeconds: 300, algorithms: ['MD5'], maxTrackedNonces: 2, now: () => t });
    const ha1 = createHash('md5').update(`alice:${REALM}:wonderland`).digest('hex');
    const nonceOf = () => /nonce="([^"]+)"/.exec(d.challenges(REALM)[0]!)![1]!;
    const check = (nonce: string, nc: number) =>
      d.verify(parseDigestCredentials(request({ nonce, nc }).headers.authorization)!, 'GET', URL_, ha1);
    const first = nonceOf();
    expect(check(first, 1)).toBe('ok');
    t += 1000;
    const second = nonceOf();
    expect(check(second, 1)).toBe('ok');
    t += 1000;
    const third = nonceOf();
    expect(check(third, 1)).toBe('ok'); // evicts `first`
    expect(check(first, 2)).toBe('stale');
    expect(check(second, 2)).toBe('ok');
    expect(check(second, 2)).toBe('stale');
  });
});
