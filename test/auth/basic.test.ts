import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, type Authenticator } from '../../src/auth/authenticator.ts';
import type { LocalUsers } from '../../src/auth/local-users.ts';
import type { DocumentStore } from '../../src/store/types.ts';
import { basicAuthorization, challengesOf, rejection, sqliteUsers } from './helpers.ts';

const REALM = 'example.com';
const URL_ = '/xcap-root/resource-lists/users/sip:alice@example.com/index';

let store: DocumentStore;
let users: LocalUsers;
let auth: Authenticator;
let clock = Date.now();

beforeAll(async () => {
  ({ store, users } = await sqliteUsers());
  await users.add('sip:alice@example.com', 'wönderland');
  auth = createAuthenticator({ users, allowBasic: true, allowBasicOverHttp: true, basicCacheTtlMs: 10_000, now: () => clock });
});
afterAll(() => store.close());

const basic = (username: string, password: string) => ({ method: 'GET', url: URL_, headers: { authorization: basicAuthorization(username, password) } });

describe('RFC 7617 Basic', () => {
  it('is offered after the Digest challenges, with charset UTF-8', async () => {
    const cs = challengesOf(await rejection(auth.authenticate({ method: 'GET', url: URL_, headers: {} }, REALM)));
    expect(cs.map((c) => c.scheme)).toEqual(['Digest', 'Digest', 'Basic']);
    expect(cs[2]!.params).toEqual({ realm: REALM, charset: 'UTF-8' });
  });

  it.each(['alice', 'alice@example.com'])('accepts login "%s" with the right UTF-8 password', async (login) => {
    await expect(auth.authenticate(basic(login, 'wönderland'), REALM)).resolves.toEqual({ xui: 'sip:alice@example.com', admin: false });
  });

  it('accepts the scheme name in any case', async () => {
    const req = basic('alice', 'wönderland');
    req.headers.authorization = req.headers.authorization.replace('Basic', 'bAsIc');
    await expect(auth.authenticate(req, REALM)).resolves.toMatchObject({ admin: false });
  });

  it('refuses a wrong password, an unknown user, another realm and a malformed header with the same 401', async () => {
    const cases = [
      basic('alice', 'wonderland'),
      basic('mallory', 'wönderland'),
      basic('sip:alice@example.com', 'wönderland'),
      { method: 'GET', url: URL_, headers: { authorization: 'Basic !!!' } },
    ];
    for (const req of cases) {
      const err = await rejection(auth.authenticate(req, REALM));
      expect(err.status).toBe(401);
      expect(challengesOf(err).map((c) => c.scheme)).toEqual(['Digest', 'Digest', 'Basic']);
    }
    expect((await rejection(auth.authenticate(basic('alice', 'wönderland'), 'other.org'))).status).toBe(401);
  });

  it('keeps accepting a removed user only until the cache entry expires', async () => {
    await users.add('sip:carol@example.com', 'pw-carol');
    await auth.authenticate(basic('carol', 'pw-carol'), REALM);
    await users.remove('sip:carol@example.com');
    await expect(auth.authenticate(basic('carol', 'pw-carol'), REALM)).resolves.toMatchObject({ xui: 'sip:carol@example.com' });
    clock += 10_001;
    expect((await rejection(auth.authenticate(basic('carol', 'pw-carol'), REALM))).status).toBe(401);
  });

  it('without allowBasicOverHttp: accepted and offered on TLS connections only; on plain HTTP refused with the reason', async () => {
    const tlsOnly = createAuthenticator({ users, allowBasic: true });
    await expect(tlsOnly.authenticate({ ...basic('alice', 'wönderland'), encrypted: true }, REALM)).resolves.toMatchObject({ xui: 'sip:alice@example.com' });
    expect(challengesOf(await rejection(tlsOnly.authenticate({ method: 'GET', url: URL_, headers: {}, encrypted: true }, REALM))).map((c) => c.scheme)).toEqual(['Digest', 'Digest', 'Basic']);
    const plain = await rejection(tlsOnly.authenticate(basic('alice', 'wönderland'), REALM));
    expect(plain.status).toBe(401);
    expect(plain.message).toBe('Basic credentials are refused over plain HTTP: use Digest, or HTTPS');
    expect(challengesOf(plain).map((c) => c.scheme)).toEqual(['Digest', 'Digest']);
  });

  it('is refused, and not offered, when allowBasic is false', async () => {
    const digestOnly = createAuthenticator({ users, allowBasic: false });
    const err = await rejection(digestOnly.authenticate(basic('alice', 'wönderland'), REALM));
    expect(challengesOf(err).map((c) => c.scheme)).toEqual(['Digest', 'Digest']);
  });
});
