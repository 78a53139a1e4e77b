/**
 * Combinators over user sources: several sources as one (local table, then htdigest), and
 * a short-lived cache in front of a database-backed source for the request path.
 */
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
  /** How long an answer (found or not) is reused. @defaultValue 5000 */
  readonly ttlMs?: number;
  /** Most cached answers; the oldest go first. @defaultValue 10000 */
  readonly size?: number;
  /** Clock in milliseconds. @defaultValue Date.now */
  readonly now?: () => number;
}

/**
 * Caches `findByLogin` answers, misses included (so known and unknown users cost the same
 * and a flood of bad names cannot hammer the database beyond `size` distinct names per TTL).
 * A user added, removed or given a new password is seen after at most `ttlMs`, and so is a
 * change in `realms` (cached the same way). `find` is not on the request path and is
 * passed through.
 */
export function cachedSource(source: UserSource, opts: CacheOptions = {}): UserSource & { forget(): void } {
  const ttlMs = opts.ttlMs ?? 5000;
  const size = opts.size ?? 10_000;
  const clock = opts.now ?? Date.now;
  const cache = new Map<string, { user: UserRecord | undefined; until: number }>();
  let realms: { value: Promise<readonly string[]>; until: number } | undefined;
  return {
    algorithms: source.algorithms as readonly DigestAlgorithm[],
    /** Drops every cached answer (a user was added, removed or given a new password here). */
    forget() {
      cache.clear();
      realms = undefined;
    },
    find: (xui: string): Promise<UserInfo | undefined> => source.find(xui),
    realms() {
      const now = clock();
      if (realms === undefined || realms.until <= now) {
        const value = source.realms();
        realms = { value, until: now + ttlMs };
        // A failed lookup is not cached: the next request asks again.
        value.catch(() => {
          if (realms?.value === value) realms = undefined;
        });
      }
      return realms.value;
    },
    async findByLogin(username, realm) {
      const key = `${username}\0${realm}`;
      const now = clock();
      const hit = cache.get(key);
      if (hit !== undefined && hit.until > now) return hit.user;
      const user = await source.findByLogin(username, realm);
      cache.delete(key);
      if (cache.size >= size) {
        const oldest = cache.keys().next();
        if (!oldest.done) cache.delete(oldest.value);
      }
      cache.set(key, { user, until: now + ttlMs });
      return user;
    },
  };
}
