/**
 * The local user table, kept in the store's own database through its `SqlRunner` (SQLite
 * or PostgreSQL, same SQL). Managed with `xcap-bridge user add|remove|list`.
 *
 * Table `xcap_users`: one row per XUI with its realm and six HA1 values (MD5, SHA-256 and
 * SHA-512/256, for the login `alice` and for `alice@example.com`), never the password.
 * Rows made before the SHA-512/256 columns existed have them empty: SHA-512-256 is then not
 * offered (`algorithms`, fixed at open) until every such user has a new password. The realm is
 * fixed when the user is added: it must be the realm the server challenges with (the XUI's
 * domain unless `auth.realm` is set), so changing `auth.realm` means re-adding users.
 *
 * Every lookup is one indexed query; put a cache in front for the hot path if the database
 * is remote. Every add, password change and removal also gives the store's meta row
 * `users-changed` a new random value (`changes()`), so a cache in any process can tell.
 */
import { randomUUID } from 'node:crypto';
import { STORE_META_TABLE } from '../store/sql-common.ts';
import type { SqlRunner } from '../store/types.ts';
import { computeHa1Pair } from './hash.ts';
import { fullLogin, parseXui } from './login.ts';
import type { DigestAlgorithm, UserInfo, UserRecord, UserSource } from './types.ts';

/** `add` was given something that is not `sip:user@domain` / `sips:user@domain`. */
export class InvalidXui extends Error {
  constructor(xui: string) {
    super(`not a user XUI (expected sip:user@domain): ${xui}`);
    this.name = 'InvalidXui';
  }
}

/** `add` was given an XUI that already has a user. */
export class UserExists extends Error {
  constructor(xui: string) {
    super(`user already exists: ${xui}`);
    this.name = 'UserExists';
  }
}

/** `add` was given an empty password. */
export class EmptyPassword extends Error {
  constructor() {
    super('password must not be empty');
    this.name = 'EmptyPassword';
  }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS xcap_users (
  xui TEXT PRIMARY KEY,
  login TEXT NOT NULL,
  full_login TEXT NOT NULL,
  realm TEXT NOT NULL,
  admin INTEGER NOT NULL,
  ha1_md5 TEXT NOT NULL,
  ha1_sha256 TEXT NOT NULL,
  full_ha1_md5 TEXT NOT NULL,
  full_ha1_sha256 TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  ha1_sha512t256 TEXT NOT NULL DEFAULT '',
  full_ha1_sha512t256 TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS xcap_users_login ON xcap_users (login, realm);
CREATE INDEX IF NOT EXISTS xcap_users_full_login ON xcap_users (full_login, realm);
CREATE INDEX IF NOT EXISTS xcap_users_realm ON xcap_users (realm);
`;

interface LoginRow extends Record<string, unknown> {
  xui: string;
  admin: number | string;
  md5: string;
  sha256: string;
  sha512t256: string;
}

/** The SHA-512/256 columns, added to tables made before them. */
const SHA512T256_COLUMNS = ['ha1_sha512t256', 'full_ha1_sha512t256'];

export class LocalUsers implements UserSource {
  readonly algorithms: readonly DigestAlgorithm[];
  private readonly sql: SqlRunner;

  private constructor(sql: SqlRunner, algorithms: readonly DigestAlgorithm[]) {
    this.sql = sql;
    this.algorithms = algorithms;
  }

  /**
   * Creates the table if missing and adds the SHA-512/256 columns to an older one
   * (idempotent), and returns the source.
   */
  static async open(sql: SqlRunner): Promise<LocalUsers> {
    await sql.exec(SCHEMA);
    if (sql.dialect === 'postgres') {
      await sql.exec(SHA512T256_COLUMNS.map((c) => `ALTER TABLE xcap_users ADD COLUMN IF NOT EXISTS ${c} TEXT NOT NULL DEFAULT ''`).join(';\n'));
    } else {
      const have = new Set((await sql.query<{ name: string }>('SELECT name FROM pragma_table_info(\'xcap_users\')')).map((r) => r.name));
      const missing = SHA512T256_COLUMNS.filter((c) => !have.has(c));
      if (missing.length > 0) await sql.exec(missing.map((c) => `ALTER TABLE xcap_users ADD COLUMN ${c} TEXT NOT NULL DEFAULT ''`).join(';\n'));
    }
    const [lacking] = await sql.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM xcap_users WHERE ha1_sha512t256 = ''");
    return new LocalUsers(sql, Number(lacking?.n ?? 0) === 0 ? ['SHA-256', 'MD5', 'SHA-512-256'] : ['SHA-256', 'MD5']);
  }

  /**
   * Adds a user. `realm` defaults to the XUI's domain. Throws `InvalidXui`, `EmptyPassword`,
   * or `UserExists` (also when another process added the same XUI concurrently).
   */
  async add(xui: string, password: string, opts: { admin?: boolean; realm?: string } = {}): Promise<void> {
    const parts = parseXui(xui);
    if (parts === undefined) throw new InvalidXui(xui);
    if (password === '') throw new EmptyPassword();
    const realm = opts.realm ?? parts.domain;
    const full = fullLogin(parts);
    const short = computeHa1Pair(parts.user, realm, password);
    const long = computeHa1Pair(full, realm, password);
    const inserted = await this.sql.run(
      `INSERT INTO xcap_users (xui, login, full_login, realm, admin, ha1_md5, ha1_sha256, ha1_sha512t256, full_ha1_md5, full_ha1_sha256, full_ha1_sha512t256, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (xui) DO NOTHING`,
      [xui, parts.user, full, realm, opts.admin ? 1 : 0, short.md5, short.sha256, short.sha512t256, long.md5, long.sha256, long.sha512t256, Date.now()],
    );
    if (inserted === 0) throw new UserExists(xui);
    await this.changed();
  }

  /**
   * Replaces a user's password, keeping their realm and admin flag. Resolves false when
   * there is no such user (nobody is created). Throws `EmptyPassword`.
   */
  async setPassword(xui: string, password: string): Promise<boolean> {
    if (password === '') throw new EmptyPassword();
    const [row] = await this.sql.query<{ login: string; full_login: string; realm: string }>('SELECT login, full_login, realm FROM xcap_users WHERE xui = ?', [xui]);
    if (row === undefined) return false;
    const short = computeHa1Pair(row.login, row.realm, password);
    const long = computeHa1Pair(row.full_login, row.realm, password);
    const n = await this.sql.run(
      'UPDATE xcap_users SET ha1_md5 = ?, ha1_sha256 = ?, ha1_sha512t256 = ?, full_ha1_md5 = ?, full_ha1_sha256 = ?, full_ha1_sha512t256 = ? WHERE xui = ?',
      [short.md5, short.sha256, short.sha512t256, long.md5, long.sha256, long.sha512t256, xui],
    );
    if (n === 0) return false;
    await this.changed();
    return true;
  }

  /** Deletes the user; resolves false when there was none. */
  async remove(xui: string): Promise<boolean> {
    if ((await this.sql.run('DELETE FROM xcap_users WHERE xui = ?', [xui])) === 0) return false;
    await this.changed();
    return true;
  }

  /**
   * A value that is new after every change of the table made through this class, by any
   * process; undefined before the first one.
   */
  async changes(): Promise<string | undefined> {
    const [row] = await this.sql.query<{ value: string }>(`SELECT value FROM ${STORE_META_TABLE} WHERE name = 'users-changed'`, [], { prepared: true });
    return row?.value;
  }

  /**
   * Marks a change, after it is made: whoever reads the new mark finds the change. A process
   * that dies in between leaves it unmarked (other processes' caches then expire as before).
   */
  private async changed(): Promise<void> {
    const mark = randomUUID();
    await this.sql.run(`INSERT INTO ${STORE_META_TABLE} (name, value) VALUES ('users-changed', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, [mark]);
  }

  /** Every user, ordered by XUI. */
  async list(): Promise<UserInfo[]> {
    const rows = await this.sql.query<{ xui: string; admin: number | string }>('SELECT xui, admin FROM xcap_users ORDER BY xui');
    return rows.map((r) => ({ xui: r.xui, admin: Number(r.admin) === 1 }));
  }

  /** How many users there are. */
  async count(): Promise<number> {
    const [row] = await this.sql.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM xcap_users');
    return Number(row?.n ?? 0);
  }

  async find(xui: string): Promise<UserInfo | undefined> {
    const [row] = await this.sql.query<{ xui: string; admin: number | string }>('SELECT xui, admin FROM xcap_users WHERE xui = ?', [xui]);
    return row === undefined ? undefined : { xui: row.xui, admin: Number(row.admin) === 1 };
  }

  /** The smallest and largest realm (two index probes, whatever the number of users). */
  async realms(): Promise<readonly string[]> {
    const [row] = await this.sql.query<{ lo: string | null; hi: string | null }>('SELECT MIN(realm) AS lo, MAX(realm) AS hi FROM xcap_users');
    if (row?.lo == null || row.hi == null) return [];
    return row.lo === row.hi ? [row.lo] : [row.lo, row.hi];
  }

  async findByLogin(username: string, realm: string): Promise<UserRecord | undefined> {
    // `alice@example.com` is the full form; `alice` the user part, which two domains sharing
    // one configured realm could both have: then it names nobody (LIMIT 2 to see that).
    const sql = username.includes('@')
      ? 'SELECT xui, admin, full_ha1_md5 AS md5, full_ha1_sha256 AS sha256, full_ha1_sha512t256 AS sha512t256 FROM xcap_users WHERE full_login = ? AND realm = ? LIMIT 2'
      : 'SELECT xui, admin, ha1_md5 AS md5, ha1_sha256 AS sha256, ha1_sha512t256 AS sha512t256 FROM xcap_users WHERE login = ? AND realm = ? LIMIT 2';
    // Every request whose login is not in the authenticators' caches comes here.
    const rows = await this.sql.query<LoginRow>(sql, [username, realm], { prepared: true });
    const row = rows[0];
    if (row === undefined || rows.length > 1) return undefined;
    return { xui: row.xui, admin: Number(row.admin) === 1, ha1: { md5: row.md5, sha256: row.sha256, ...(row.sha512t256 !== '' && { sha512t256: row.sha512t256 }) } };
  }
}
