/**
 * Combinators over user sources: several sources as one (local table, then htdigest), and
 * a short-lived cache in front of a database-backed source for the request path.
 */
import { BoundedMap } from '../bounded-map.ts';
import { cacheKey } from '../kept-string.ts';
import type { DigestAlgorithm, UserInfo, UserRecord, UserSource } from './types.ts';

/**
 * Asks each source in order; the first that knows the user answers. Offers only the
 * algorithms every source can serve: a client answering a SHA-256 challenge for a user
 * whose only HA1 is MD5 could not log in.
 */
export function chainSources(sources: readonly UserSource[]): UserSource {
  if (sources.length === 1) return sources[0] as UserSource;
  const algorithms = (['SHA-256', 'MD5', 'SHA-512-256'] as const).filter((a) => sources.every((s) => s.algorithms.includes(a)));
  return {
    algorithms,
    async find(xui) {
      for (const s of sources) {
        const u = await s.find(xui);
        if (u !== undefined) return u;
      }
      return undefined;
    },
    async findByLogin(username, realm) {
      for (const s of sources) {
        const u = await s.findByLogin(username, realm);
        if (u !== undefined) return u;
      }
      return undefined;
    },
    async realms() {
      const all = new Set<string>();
      for (const s of sources) for (const r of await s.realms()) all.add(r);
      return [...all].sort();
    },
  };
}

export interface CacheOptions {
  /** How long a found user is reused. @defaultValue 5000 */
  readonly ttlMs?: number;
  /** Most cached answers; the one looked up longest ago goes first. @defaultValue 10000 */
  readonly size?: number;
  /** Clock in milliseconds. @defaultValue Date.now */
  readonly now?: () => number;
}

/** The key of a (login, realm) pair in a cache of logins. */
export const loginKey = (username: string, realm: string): string => cacheKey(username, realm);

/** How long "no such user" is reused: a user added elsewhere can log in after at most this. */
const MISS_TTL_MS = 5000;
/** A login is asked again of the source (`refresh`) at most this often. */
const REFRESH_MS = 1000;

/** A source behind `cachedSource`. */
export interface CachedUsers extends UserSource {
  /** Drops every cached answer (a user was added, removed or given a new password here). */
  forget(): void;
  /**
   * The source's own answer now, cached in place of the old one; undefined (not asked) when
   * this login was refreshed less than a second ago, so a stream of wrong passwords for one
   * name costs at most one lookup a second.
   */
  refresh(username: string, realm: string): Promise<UserRecord | undefined> | undefined;
  /** The user `findByLogin` would answer with from the cache right now, without asking the source; undefined when none is cached or it has expired (or is "no such user"). */
  cachedLogin(username: string, realm: string): UserRecord | undefined;
}

/**
 * Caches `findByLogin` answers, misses included (so known and unknown users cost the same
 * and a flood of bad names cannot hammer the database beyond `size` distinct names per
 * five seconds). A found user is reused for `ttlMs`, "no such user" for at most 5 s, and so
 * is `realms`. Credentials the cached answer refuses are checked once more against the
 * source (`findAccepted`), so a new password or a new user works at once wherever it was
 * set; a removed user or an old password is refused after at most `ttlMs` (at once in the
 * process that made the change, `forget`). `find` is not on the request path and is passed
 * through.
 */
export function cachedSource(source: UserSource, opts: CacheOptions = {}): CachedUsers {
  const ttlMs = opts.ttlMs ?? 5000;
  const size = opts.size ?? 10_000;
  const clock = opts.now ?? Date.now;
  const cache = new BoundedMap<string, { user: UserRecord | undefined; until: number; refreshed?: number }>({ limit: size });
  let realms: { value: Promise<readonly string[]>; until: number } | undefined;
  const lookUp = async (key: string, username: string, realm: string, refreshed?: number) => {
    const now = clock();
    const user = await source.findByLogin(username, realm);
    cache.set(key, { user, until: now + (user === undefined ? Math.min(ttlMs, MISS_TTL_MS) : ttlMs), ...(refreshed === undefined ? {} : { refreshed }) });
    return user;
  };
  return {
    algorithms: source.algorithms as readonly DigestAlgorithm[],
    forget() {
      cache.clear();
      realms = undefined;
    },
    find: (xui: string): Promise<UserInfo | undefined> => source.find(xui),
    realms() {
      const now = clock();
      if (realms === undefined || realms.until <= now) {
        const value = source.realms();
        realms = { value, until: now + Math.min(ttlMs, MISS_TTL_MS) };
        // A failed lookup is not cached: the next request asks again.
        value.catch(() => {
          if (realms?.value === value) realms = undefined;
        });
      }
      return realms.value;
    },
    async findByLogin(username, realm) {
      const key = loginKey(username, realm);
      const hit = cache.get(key);
      if (hit !== undefined && hit.until > clock()) return hit.user;
      return lookUp(key, username, realm);
    },
    cachedLogin(username, realm) {
      const hit = cache.get(loginKey(username, realm));
      return hit !== undefined && hit.until > clock() ? hit.user : undefined;
    },
    refresh(username, realm) {
      const key = loginKey(username, realm);
      const now = clock();
      const last = cache.get(key)?.refreshed;
      if (last !== undefined && now - last < REFRESH_MS) return undefined;
      return lookUp(key, username, realm, now);
    },
  };
}

/**
 * The user `username` names in `realm` when `accepts` takes them (their HA1s verify the
 * credentials; `undefined` for no such user). Refused on a cached answer, the source is
 * asked again (CachedUsers.refresh): the password or the user may be new since.
 */
export async function findAccepted(
  users: UserSource & Partial<Pick<CachedUsers, 'refresh'>>,
  username: string,
  realm: string,
  accepts: (user: UserRecord | undefined) => boolean,
): Promise<UserRecord | undefined> {
  const user = await users.findByLogin(username, realm);
  if (accepts(user)) return user;
  const fresh = users.refresh?.(username, realm);
  if (fresh === undefined) return undefined;
  const again = await fresh;
  return accepts(again) ? again : undefined;
}
