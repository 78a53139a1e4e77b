/**
 * The one entry point the HTTP layer calls: who is asking (Digest or Basic), or a 401 with
 * every challenge the server accepts.
 *
 * Usage (src/http): `const auth = createAuthenticator({ users, allowBasic, ... })`, then per
 * request `const principal = await auth.authenticate(req, realm)` followed by
 * `authorize(principal, key, access)` from authorize.ts. The realm is `auth.realm` when set,
 * else the domain of the XUI in the request URI, else `auth.defaultDomain` (global tree).
 *
 * Unknown users, wrong passwords and malformed credentials all end in the same 401, and an
 * unknown user is checked against a dummy HA1 so the work done is the same. A poll whose
 * Digest credentials verify against a cached login may be let in by `authenticateNow`
 * without a promise; anything else goes through `authenticate`.
 */
import { randomBytes } from 'node:crypto';
import type { Principal } from '../appusage/types.ts';
import { Unauthorized } from '../xcap/errors.ts';
import { BasicAuth, basicChallenge } from './basic.ts';
import { DigestAuth, parseDigestCredentials, type DigestVerdict } from './digest.ts';
import type { DigestAlgorithm, UserSource } from './types.ts';
import { ha1For } from './hash.ts';
import { findAccepted, type CachedUsers } from './sources.ts';

/** The parts of an HTTP request authentication looks at (an express Request fits). */
export interface AuthRequest {
  readonly method: string;
  /** The request-target as received (pass express's `req.originalUrl`, not the router-relative `url`). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The client's connection (any object that lives as long as it), so a keep-alive client's Basic login is remembered on it. */
  readonly connection?: object;
  /** The request came over TLS (this server's HTTPS listener): Basic is accepted then, on plain HTTP only with `allowBasicOverHttp`. */
  readonly encrypted?: boolean;
}

export interface AuthenticatorOptions {
  /** With `refresh` (cachedSource), credentials a cached answer refuses are checked against the source once more. */
  readonly users: UserSource & Partial<Pick<CachedUsers, 'refresh' | 'cachedLogin'>>;
  /** Accept and offer Basic on TLS connections (`encrypted` requests). */
  readonly allowBasic: boolean;
  /**
   * With `allowBasic`, accept and offer Basic on plain-HTTP requests too. Off, such a request
   * is challenged with Digest only, and one that sends Basic is told why it is refused.
   * @defaultValue `false`
   */
  readonly allowBasicOverHttp?: boolean;
  /** Nonce HMAC key, the same on every replica (config `auth.nonceSecret` as bytes). @defaultValue random per process */
  readonly nonceSecret?: Buffer;
  /** @defaultValue 300 */
  readonly nonceTtlSeconds?: number;
  /**
   * Digest algorithms in order of preference (RFC 7616 §3.7: most preferred first); those the
   * user source cannot serve are dropped. @defaultValue `['SHA-256', 'MD5']`
   */
  readonly algorithms?: readonly DigestAlgorithm[];
  /** How long a successful Basic check is reused. @defaultValue 10000 */
  readonly basicCacheTtlMs?: number;
  /** Clock in milliseconds, for tests of expiry. @defaultValue Date.now */
  readonly now?: () => number;
}

export interface Authenticator {
  /**
   * Resolves with the authenticated user. Throws `Unauthorized` (with a Digest challenge per
   * algorithm, plus Basic when allowed on this request's connection; saying so when Basic was
   * sent over plain HTTP without `allowBasicOverHttp`) when credentials are missing, malformed, for another
   * realm, or wrong, or the user is unknown; with `stale=true` when a correct Digest response
   * used an expired or already-counted nonce. Throws `BadRequest` when the Digest uri is not the
   * request-target. Rejects with the user source's error if the user store fails.
   */
  authenticate(req: AuthRequest, realm: string): Promise<Principal>;
  /**
   * The user when the request's Digest credentials verify against a login the user source
   * holds in its cache (`CachedUsers.cachedLogin`), found without waiting for anything;
   * undefined in every other case (no credentials, wrong ones, Basic, a login not cached, a
   * stale nonce), where the caller must `authenticate`, which answers each of them. Never
   * refuses; records the nonce count when it lets the request in. Throws `BadRequest`, as
   * `authenticate` would, when the Digest uri is not the request-target.
   */
  authenticateNow(req: AuthRequest, realm: string): Principal | undefined;
  /** Forgets cached Basic checks, so a removed user or an old password stops working at once. */
  forgetUsers(): void;
}

export function createAuthenticator(opts: AuthenticatorOptions): Authenticator {
  const { users, allowBasic } = opts;
  const basicOverHttp = opts.allowBasicOverHttp ?? false;
  const algorithms = (opts.algorithms ?? ['SHA-256', 'MD5']).filter((a) => users.algorithms.includes(a));
  const digest = new DigestAuth({
    secret: opts.nonceSecret ?? randomBytes(32),
    nonceTtlSeconds: opts.nonceTtlSeconds ?? 300,
    algorithms,
    now: opts.now,
  });
  const basic = allowBasic ? new BasicAuth(users, { cacheTtlMs: opts.basicCacheTtlMs, now: opts.now }) : undefined;
  const dummy = randomBytes(32).toString('hex');
  const dummyHa1: Record<DigestAlgorithm, string> = { MD5: dummy.slice(0, 32), 'SHA-256': dummy, 'SHA-512-256': dummy };

  function refuse(realm: string, withBasic: boolean, stale = false, reason?: string): Unauthorized {
    const challenges = digest.challenges(realm, stale);
    if (withBasic) challenges.push(basicChallenge(realm));
    return new Unauthorized(challenges, reason);
  }

  /** The Digest credentials `header` carries when they are for `realm` and an algorithm offered. */
  function digestCredentials(header: string, realm: string) {
    const creds = parseDigestCredentials(header);
    return creds === undefined || creds.realm !== realm || !algorithms.includes(creds.algorithm) ? undefined : creds;
  }

  async function viaDigest(req: AuthRequest, header: string, realm: string, withBasic: boolean): Promise<Principal> {
    const creds = digestCredentials(header, realm);
    if (creds === undefined) throw refuse(realm, withBasic);
    let verdict = 'fail' as DigestVerdict;
    const user = await findAccepted(users, creds.username, realm, (u) => {
      const ha1 = u === undefined ? undefined : ha1For(u.ha1, creds.algorithm);
      verdict = digest.verify(creds, req.method, req.url, ha1 ?? dummyHa1[creds.algorithm]);
      return verdict !== 'fail' && ha1 !== undefined;
    });
    if (user === undefined) throw refuse(realm, withBasic);
    if (verdict === 'stale') throw refuse(realm, withBasic, true);
    return { xui: user.xui, admin: user.admin };
  }

  return {
    async authenticate(req, realm) {
      const raw = req.headers.authorization;
      const header = Array.isArray(raw) ? raw[0] : raw;
      const withBasic = basic !== undefined && (basicOverHttp || req.encrypted === true);
      if (header === undefined) throw refuse(realm, withBasic);
      const scheme = schemeOf(header);
      if (scheme === 'digest') return viaDigest(req, header, realm, withBasic);
      if (scheme === 'basic') {
        // Said only when Basic is otherwise on: the password has crossed the network in the clear, and the client should know why it failed.
        if (basic !== undefined && !withBasic) throw refuse(realm, false, false, 'Basic credentials are refused over plain HTTP: use Digest, or HTTPS');
        const principal = await basic?.verify(header, realm, req.connection);
        if (principal !== undefined) return principal;
      }
      throw refuse(realm, withBasic);
    },
    authenticateNow(req, realm) {
      const raw = req.headers.authorization;
      const header = Array.isArray(raw) ? raw[0] : raw;
      if (header === undefined || schemeOf(header) !== 'digest') return undefined;
      const creds = digestCredentials(header, realm);
      if (creds === undefined) return undefined;
      const user = users.cachedLogin?.(creds.username, realm);
      const ha1 = user === undefined ? undefined : ha1For(user.ha1, creds.algorithm);
      // The dummy HA1 for a login not cached: the same work as for one that is.
      const verdict = digest.verify(creds, req.method, req.url, ha1 ?? dummyHa1[creds.algorithm]);
      return verdict === 'ok' && user !== undefined && ha1 !== undefined ? { xui: user.xui, admin: user.admin } : undefined;
    },
    forgetUsers() {
      basic?.forget();
    },
  };
}

/** The scheme of an Authorization value (its first word, in any case) when it is Digest or Basic. */
function schemeOf(header: string): 'digest' | 'basic' | undefined {
  const space = header.indexOf(' ');
  const scheme = space < 0 ? header : header.slice(0, space);
  if (scheme.length === 6 && scheme.toLowerCase() === 'digest') return 'digest';
  if (scheme.length === 5 && scheme.toLowerCase() === 'basic') return 'basic';
  return undefined;
}
