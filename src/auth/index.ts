/**
 * Builds authentication from the validated `auth` config: the local user table in the
 * store's database, plus an htdigest file when configured, behind a short cache; the
 * Digest/Basic authenticator; and the default authorization.
 */
import type { Config } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { DocumentStore } from '../store/types.ts';
import { createAuthenticator, type Authenticator } from './authenticator.ts';
import { DeploymentDomain, NO_USERS_DOMAIN } from './deployment-domain.ts';
import { authorize } from './authorize.ts';
import { HtdigestUsers } from './htdigest.ts';
import { LocalUsers } from './local-users.ts';
import { cachedSource, chainSources } from './sources.ts';
import { watchUserChanges } from './user-changes.ts';
import type { UserSource } from './types.ts';

export interface Auth {
  readonly authenticator: Authenticator;
  readonly authorize: typeof authorize;
  /** Every user source as one, for lookups by XUI (the admin API's scopes). */
  readonly users: UserSource;
  /** Realm of the global tree and domain of XUIs without one. */
  readonly domain: DeploymentDomain;
  /**
   * Forgets cached logins and lookups in this process, after a user was added, removed or
   * given a new password here (other processes notice a change of the local user table
   * within a second: user-changes.ts; of an htdigest file or the subscriber table, after at
   * most `auth.loginCacheSeconds`).
   */
  forgetUsers(): void;
  /** Releases the connections of sources that hold their own (the legacy subscriber table). */
  close(): Promise<void>;
}

/**
 * Every user the configured sources can list: the local user table and the htdigest
 * file's users. A pull binding runs for each of them before their phone writes a document
 * (the sync engine's KnownUsers).
 */
export async function listableUsers(cfg: Config['auth'], store: DocumentStore): Promise<{ list(): Promise<readonly { readonly xui: string }[]> }> {
  const sources: { list(): Promise<readonly { readonly xui: string }[]> }[] = [await LocalUsers.open(store.sql)];
  if (cfg.htdigestFile !== undefined) sources.push(await HtdigestUsers.open(cfg.htdigestFile));
  return { list: async () => (await Promise.all(sources.map((s) => s.list()))).flat() };
}

/** `now`: clock in milliseconds for nonce expiry and the Basic cache (tests). @defaultValue Date.now */
export async function createAuth(cfg: Config['auth'], store: DocumentStore, log: Logger, now?: () => number): Promise<Auth> {
  const users = await LocalUsers.open(store.sql);
  const sources: UserSource[] = [users];
  if (cfg.htdigestFile !== undefined) {
    sources.push(await HtdigestUsers.open(cfg.htdigestFile));
    log.info({ file: cfg.htdigestFile }, 'htdigest users enabled: Digest offers MD5 only');
  }
  const closers: (() => Promise<void>)[] = [];
  if (cfg.subscriber !== undefined) {
    // Loaded on demand: a setup without a legacy table never loads the SQL drivers.
    const [{ openSqlDatabase }, { SubscriberUsers }] = await Promise.all([import('../../connectors/sql/database.ts'), import('./subscriber.ts')]);
    const subscriber = new SubscriberUsers(openSqlDatabase(cfg.subscriber.url), { ...cfg.subscriber, columns: stripUndefined(cfg.subscriber.columns) });
    sources.push(subscriber);
    closers.push(() => subscriber.close());
    log.info({ table: cfg.subscriber.table, schema: cfg.subscriber.schema }, `legacy subscriber users enabled: Digest offers ${subscriber.algorithms.join(', ')}`);
    if (cfg.realm !== undefined && cfg.subscriber.passwordColumn === undefined) {
      log.warn({ realm: cfg.realm }, 'auth.realm is set: legacy subscriber HA1s were made with realm = the user\'s SIP domain and will not verify');
    }
  }
  if (cfg.nonceSecret === undefined) log.info('auth.nonceSecret unset: nonces are valid on this process only');
  const all = chainSources(sources);
  const cached = cachedSource(all, { ttlMs: cfg.loginCacheSeconds * 1000, size: cfg.loginCacheSize, ...(now ? { now } : {}) });
  // A configured realm is every user's realm, not a domain: the users cannot tell one then.
  const domain = new DeploymentDomain(cfg.defaultDomain ?? (cfg.realm === undefined ? undefined : NO_USERS_DOMAIN), cached);
  const checked = createAuthenticator({
    users: cached,
    allowBasic: cfg.allowBasic,
    allowBasicOverHttp: cfg.allowBasicOverHttp,
    nonceSecret: cfg.nonceSecret === undefined ? undefined : Buffer.from(cfg.nonceSecret, 'utf8'),
    nonceTtlSeconds: cfg.nonceTtlSeconds,
    // MD5 first: clients that read only the first WWW-Authenticate (Python's urllib, many
    // phones) know only MD5 and fail on a SHA-256 challenge; SHA-256 clients still find theirs.
    // SHA-512-256 only where the source keeps its HA1 (OpenSIPS 3.2 ha1_sha512t256, a password).
    algorithms: ['MD5', 'SHA-256', 'SHA-512-256'],
    now,
  });
  const forget = () => {
    cached.forget();
    checked.forgetUsers();
  };
  const userChanges = watchUserChanges({ mark: () => users.changes(), forget, ...(now ? { now } : {}) });
  const authenticator: Authenticator = {
    async authenticate(req, realm) {
      // Almost always nothing is due: no await, no turn of the microtask queue.
      const due = userChanges();
      if (due !== undefined) await due;
      return checked.authenticate(req, realm);
    },
    // Only when no user-change check is due: `authenticate` waits for that one.
    authenticateNow: (req, realm) => (userChanges() === undefined ? checked.authenticateNow(req, realm) : undefined),
    forgetUsers: forget,
  };
  return {
    authenticator,
    authorize,
    users: all,
    domain,
    forgetUsers: forget,
    close: async () => {
      await Promise.all(closers.map((c) => c()));
    },
  };
}

/** Zod leaves optional keys present as undefined; the source reads absent ones as "preset". */
function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
