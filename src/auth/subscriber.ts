/**
 * A user source on a legacy `subscriber` table (Kamailio, OpenSIPS, OpenXCAP), so users
 * keep the passwords their phones already have.
 *
 * What the tables keep, per schema preset:
 * - `kamailio`, `opensips` (OpenSIPS up to 3.1): ha1 = MD5(user:domain:pw) for the login
 *   `alice`, ha1b = MD5(user@domain:domain:pw) for the login `alice@example.com`.
 * - `opensips32` (3.2 and later): ha1, ha1_sha256 = SHA-256(user:domain:pw) and
 *   ha1_sha512t256 = SHA-512/256(user:domain:pw): SHA-256 and SHA-512-256 Digest (RFC 7616)
 *   with no password reset.
 * - `openxcap`: OpenXCAP's configurable columns (username, domain, password, ha1).
 * Every column name can be overridden; `passwordColumn` names a plaintext password column
 * where the legacy setup kept one (then any realm and both algorithms work).
 *
 * Realm: a legacy HA1 was computed with realm = the user's SIP domain, so it verifies only
 * when the server challenges with that realm, which is the default when `auth.realm` is
 * unset (the realm is the domain of the XUI in the request URI). A lookup for another
 * realm finds the user only through a plaintext password.
 *
 * The XUI of a row is `sip:<username>@<domain>`. Every lookup is one indexed query on
 * (username, domain), the table's unique key; the caller caches (sources.ts).
 */
import type { SqlDatabase } from '../../connectors/sql/database.ts';
import { translateSqlError } from '../../connectors/sql/errors.ts';
import { computeHa1 } from './hash.ts';
import { parseXui } from './login.ts';
import type { DigestAlgorithm, UserInfo, UserRecord, UserSource } from './types.ts';

export const SUBSCRIBER_SCHEMAS = ['kamailio', 'opensips', 'opensips32', 'openxcap'] as const;
export type SubscriberSchema = (typeof SUBSCRIBER_SCHEMAS)[number];

/** Column names; an absent one is not read. */
export interface SubscriberColumns {
  readonly username: string;
  readonly domain: string;
  /** MD5 HA1 for the login `user` (realm = domain). */
  readonly ha1?: string;
  /** MD5 HA1 for the login `user@domain` (realm = domain). */
  readonly ha1b?: string;
  /** SHA-256 HA1 for the login `user` (realm = domain). */
  readonly ha1Sha256?: string;
  /** SHA-512/256 HA1 for the login `user` (realm = domain). */
  readonly ha1Sha512t256?: string;
  /** Plaintext password. */
  readonly password?: string;
}

const PRESETS: Record<SubscriberSchema, SubscriberColumns> = {
  kamailio: { username: 'username', domain: 'domain', ha1: 'ha1', ha1b: 'ha1b' },
  opensips: { username: 'username', domain: 'domain', ha1: 'ha1', ha1b: 'ha1b' },
  opensips32: { username: 'username', domain: 'domain', ha1: 'ha1', ha1Sha256: 'ha1_sha256', ha1Sha512t256: 'ha1_sha512t256' },
  openxcap: { username: 'username', domain: 'domain', ha1: 'ha1' },
};

export interface SubscriberOptions {
  /** Which project's columns. @defaultValue `kamailio` */
  readonly schema?: SubscriberSchema;
  /** @defaultValue `subscriber` */
  readonly table?: string;
  /** Overrides of the preset's column names. */
  readonly columns?: Partial<SubscriberColumns>;
  /** A plaintext password column, where the legacy setup kept one (`password`). @defaultValue none */
  readonly passwordColumn?: string;
  /** XUIs that are admins. @defaultValue none */
  readonly admins?: readonly string[];
}

/** The columns a configuration reads: the preset, overridden. */
export function subscriberColumns(o: SubscriberOptions): SubscriberColumns {
  const cols = { ...PRESETS[o.schema ?? 'kamailio'], ...o.columns };
  return o.passwordColumn === undefined ? cols : { ...cols, password: o.passwordColumn };
}

type Row = Record<string, string | null | undefined>;

export class SubscriberUsers implements UserSource {
  readonly algorithms: readonly DigestAlgorithm[];
  readonly #database: SqlDatabase;
  readonly #table: string;
  readonly #cols: SubscriberColumns;
  readonly #admins: ReadonlySet<string>;

  constructor(database: SqlDatabase, o: SubscriberOptions = {}) {
    this.#database = database;
    this.#table = o.table ?? 'subscriber';
    this.#cols = subscriberColumns(o);
    this.#admins = new Set(o.admins ?? []);
    const password = this.#cols.password !== undefined;
    this.algorithms = [
      'MD5',
      ...(this.#cols.ha1Sha256 !== undefined || password ? (['SHA-256'] as const) : []),
      ...(this.#cols.ha1Sha512t256 !== undefined || password ? (['SHA-512-256'] as const) : []),
    ];
  }

  async #run<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      throw translateSqlError(err, this.#database.target, `reading table ${this.#table}`);
    }
  }

  async #row(username: string, domain: string): Promise<Row | undefined> {
    const c = this.#cols;
    const wanted = [c.ha1, c.ha1b, c.ha1Sha256, c.ha1Sha512t256, c.password].filter((x): x is string => x !== undefined);
    return this.#run(() =>
      this.#database.db.selectFrom(this.#table).select([c.username, ...wanted]).where(c.username, '=', username).where(c.domain, '=', domain).limit(1).executeTakeFirst() as Promise<Row | undefined>,
    );
  }

  async find(xui: string): Promise<UserInfo | undefined> {
    const parts = parseXui(xui);
    if (parts === undefined || parts.scheme !== 'sip') return undefined;
    const row = await this.#row(parts.user, parts.domain);
    return row === undefined ? undefined : { xui, admin: this.#admins.has(xui) };
  }

  async findByLogin(username: string, realm: string): Promise<UserRecord | undefined> {
    const at = username.lastIndexOf('@');
    const full = at > 0;
    const user = full ? username.slice(0, at) : username;
    const domain = full ? username.slice(at + 1) : realm;
    if (user === '' || domain === '') return undefined;
    const row = await this.#row(user, domain);
    if (row === undefined) return undefined;
    const c = this.#cols;
    const col = (name: string | undefined) => {
      const v = name === undefined ? undefined : row[name];
      return typeof v === 'string' && v.trim() !== '' ? v.trim().toLowerCase() : undefined;
    };
    // CHAR columns (OpenSIPS) come back padded with spaces on PostgreSQL.
    const password = c.password === undefined ? undefined : row[c.password]?.trimEnd() || undefined;
    const fromPassword = (alg: DigestAlgorithm) => (password ? computeHa1(alg, username, realm, password) : undefined);
    // The stored HA1s were made with realm = domain; for any other realm only a password helps.
    const legacy = realm === domain;
    const md5 = (legacy ? col(full ? c.ha1b : c.ha1) : undefined) ?? fromPassword('MD5');
    const sha256 = (legacy && !full ? col(c.ha1Sha256) : undefined) ?? fromPassword('SHA-256');
    const sha512t256 = (legacy && !full ? col(c.ha1Sha512t256) : undefined) ?? fromPassword('SHA-512-256');
    if (md5 === undefined && sha256 === undefined && sha512t256 === undefined) return undefined;
    const xui = `sip:${user}@${domain}`;
    return { xui, admin: this.#admins.has(xui), ha1: { ...(md5 && { md5 }), ...(sha256 && { sha256 }), ...(sha512t256 && { sha512t256 }) } };
  }

  async realms(): Promise<readonly string[]> {
    const c = this.#cols;
    const r = await this.#run(() =>
      this.#database.db.selectFrom(this.#table).select((eb) => [eb.fn.min(c.domain).as('lo'), eb.fn.max(c.domain).as('hi')]).executeTakeFirst() as Promise<{ lo: string | null; hi: string | null } | undefined>,
    );
    if (r?.lo == null || r.hi == null) return [];
    const [lo, hi] = [r.lo.trimEnd(), r.hi.trimEnd()]; // CHAR padding on PostgreSQL
    return lo === hi ? [lo] : [lo, hi];
  }

  close(): Promise<void> {
    return this.#database.close();
  }
}
