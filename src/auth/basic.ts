/**
 * HTTP Basic (RFC 7617), checked against the same HA1 values Digest uses: the password is
 * hashed as H(login:realm:password) and compared in constant time, so user sources never
 * need (or hold) a password. Only sensible over TLS; the caller decides via `allowBasic`.
 *
 * Successful checks are cached for a few seconds, keyed by a hash of realm and header (so
 * the shared cache holds no password), and per keep-alive connection by the header itself
 * (held only while the connection lives, as the request's own headers are): a
 * client sending the same Basic header on every request of a connection costs a string
 * comparison, one on a new connection a hash and a map lookup. A removed user or changed
 * password therefore takes effect after at most `cacheTtlMs`.
 */
import { hash, randomBytes } from 'node:crypto';
import type { Principal } from '../appusage/types.ts';
import { BoundedMap } from '../bounded-map.ts';
import { computeHa1, safeEqual } from './hash.ts';
import { quote } from './digest.ts';
import { findAccepted, type CachedUsers } from './sources.ts';
import type { DigestAlgorithm, UserSource } from './types.ts';

export interface BasicOptions {
  /** How long a successful check is reused. @defaultValue 10000 */
  readonly cacheTtlMs?: number;
  /** Most cached entries; the one cached longest ago goes first. @defaultValue 10000 */
  readonly cacheSize?: number;
  /** Clock in milliseconds. @defaultValue Date.now */
  readonly now?: () => number;
}

/** The `WWW-Authenticate` value offering Basic in `realm` (UTF-8 per RFC 7617 §2.1). */
export function basicChallenge(realm: string): string {
  return `Basic realm=${quote(realm)}, charset="UTF-8"`;
}

// token68 in base64 (RFC 7617 §2): Buffer.from would silently skip any other character.
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * user-id and password of a Basic `Authorization` value, or undefined when malformed: not
 * base64, not UTF-8 (§2.1), no colon, an empty user-id, or a control character (§2).
 */
export function parseBasicCredentials(header: string): { username: string; password: string } | undefined {
  const token = header.slice(6).trim();
  if (token.length % 4 !== 0 || !BASE64.test(token)) return undefined;
  let decoded: string;
  try {
    decoded = UTF8.decode(Buffer.from(token, 'base64'));
  } catch {
    return undefined;
  }
  // eslint-disable-next-line no-control-regex -- the point is to find them
  if (/[\x00-\x1f\x7f]/.test(decoded)) return undefined;
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export class BasicAuth {
  private readonly users: UserSource & Partial<Pick<CachedUsers, 'refresh'>>;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly cache: BoundedMap<string, { principal: Principal; until: number }>;
  /** The last login per connection; gone with the connection. */
  private readonly byConnection = new WeakMap<object, { header: string; realm: string; principal: Principal; until: number; generation: number }>();
  /** Bumped by `forget`: a connection's login from before is not reused. */
  private generation = 0;
  /** Compared against for unknown users, so they take the same path as a wrong password. */
  private readonly dummy: { md5: string; sha256: string };

  constructor(users: UserSource & Partial<Pick<CachedUsers, 'refresh'>>, opts: BasicOptions = {}) {
    this.users = users;
    this.ttlMs = opts.cacheTtlMs ?? 10_000;
    this.cache = new BoundedMap({ limit: opts.cacheSize ?? 10_000 });
    this.now = opts.now ?? Date.now;
    const rnd = randomBytes(32).toString('hex');
    this.dummy = { md5: rnd.slice(0, 32), sha256: rnd };
  }

  /** Drops every cached check (a user was removed or given a new password). */
  forget(): void {
    this.cache.clear();
    this.generation++;
  }

  /**
   * The principal for a `Basic ...` header value in `realm`, or undefined when the header is
   * malformed, the user is unknown, or the password is wrong (indistinguishable by design).
   */
  async verify(header: string, realm: string, connection?: object): Promise<Principal | undefined> {
    const now = this.now();
    const same = connection === undefined ? undefined : this.byConnection.get(connection);
    if (same !== undefined && same.header === header && same.realm === realm && same.until > now && same.generation === this.generation) return same.principal;
    const key = hash('sha256', `${realm}\0${header}`, 'base64');
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      if (hit.until > now) {
        if (connection !== undefined) this.byConnection.set(connection, { header, realm, ...hit, generation: this.generation });
        return hit.principal;
      }
      this.cache.delete(key);
    }
    const creds = parseBasicCredentials(header);
    if (creds === undefined) return undefined;
    const user = await findAccepted(this.users, creds.username, realm, (u) => {
      // Prefer SHA-256 when the source has it; unknown users compare against the dummy.
      const alg: DigestAlgorithm = u?.ha1.sha256 !== undefined || u?.ha1.md5 === undefined ? 'SHA-256' : 'MD5';
      const stored = alg === 'MD5' ? (u?.ha1.md5 ?? this.dummy.md5) : (u?.ha1.sha256 ?? this.dummy.sha256);
      return safeEqual(computeHa1(alg, creds.username, realm, creds.password), stored) && u !== undefined;
    });
    if (user === undefined) return undefined;
    const principal: Principal = { xui: user.xui, admin: user.admin };
    this.cache.set(key, { principal, until: now + this.ttlMs });
    if (connection !== undefined) this.byConnection.set(connection, { header, realm, principal, until: now + this.ttlMs, generation: this.generation });
    return principal;
  }
}
