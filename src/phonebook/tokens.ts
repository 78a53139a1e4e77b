/**
 * Device tokens: for phones that cannot answer a Digest challenge (or should not hold the
 * user's password), a random token in the phonebook URL (`?token=...`) reads that one
 * user's phonebooks, and the global tree every user may read. Tokens are read-only: a
 * Polycom directory upload needs the user's credentials.
 *
 * Table `phonebook_tokens` in the store's database: the SHA-256 of the token (never the
 * token itself), a short id to name it by, the user it belongs to, a label and the creation
 * time. Managed with `xcap-bridge phonebook token add|remove|list`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { SqlRunner } from '../store/types.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS phonebook_tokens (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  xui TEXT NOT NULL,
  label TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS phonebook_tokens_xui ON phonebook_tokens (xui);
`;

export interface TokenInfo {
  readonly id: string;
  readonly xui: string;
  readonly label: string;
  /** Milliseconds since the epoch. */
  readonly created: number;
}

/** Prefix of every token, so one found in a log or a config file is recognisable. */
const PREFIX = 'xbpt_';

function hashOf(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class DeviceTokens {
  readonly #sql: SqlRunner;

  private constructor(sql: SqlRunner) {
    this.#sql = sql;
  }

  /** Creates the table when missing (idempotent). */
  static async open(sql: SqlRunner): Promise<DeviceTokens> {
    await sql.exec(SCHEMA);
    return new DeviceTokens(sql);
  }

  /** A new token for `xui`: resolves with the token (shown once, never stored) and its info. */
  async add(xui: string, label: string, now = Date.now()): Promise<{ token: string; info: TokenInfo }> {
    const token = PREFIX + randomBytes(24).toString('base64url');
    const info: TokenInfo = { id: randomBytes(4).toString('hex'), xui, label, created: now };
    await this.#sql.run('INSERT INTO phonebook_tokens (id, hash, xui, label, created_at) VALUES (?, ?, ?, ?, ?)', [info.id, hashOf(token), xui, label, now]);
    return { token, info };
  }

  /** Removes the token with this id; resolves false when there was none. */
  async remove(id: string): Promise<boolean> {
    return (await this.#sql.run('DELETE FROM phonebook_tokens WHERE id = ?', [id])) > 0;
  }

  /** Tokens (without secrets) of `xui`, or of everyone, oldest first. */
  async list(xui?: string): Promise<TokenInfo[]> {
    const rows = await this.#sql.query<{ id: string; xui: string; label: string; created_at: number | string }>(
      xui === undefined
        ? 'SELECT id, xui, label, created_at FROM phonebook_tokens ORDER BY created_at, id'
        : 'SELECT id, xui, label, created_at FROM phonebook_tokens WHERE xui = ? ORDER BY created_at, id',
      xui === undefined ? [] : [xui],
    );
    return rows.map((r) => ({ id: r.id, xui: r.xui, label: r.label, created: Number(r.created_at) }));
  }

  /** The user a presented token belongs to, or `undefined` for an unknown or revoked one. */
  async find(token: string): Promise<string | undefined> {
    if (!token.startsWith(PREFIX)) return undefined;
    const rows = await this.#sql.query<{ xui: string }>('SELECT xui FROM phonebook_tokens WHERE hash = ?', [hashOf(token)]);
    return rows[0]?.xui;
  }
}
