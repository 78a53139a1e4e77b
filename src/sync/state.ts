/**
 * Sync state, kept in the documents' database (through the store's SqlRunner) so a
 * document and the memory of its last sync are backed up and restored together.
 *
 * - `sync_items`: per binding, scope and item, what both sides held after the last sync
 *   (the three-way base, see reconcile.ts).
 * - `sync_scopes`: per binding and scope (one bound document): the document ETag, remote
 *   change token and configuration fingerprint of the last successful run, last run/error
 *   and its summary.
 * - `sync_conflicts`: open conflicts (policy `manual` or an unmergeable clash), with the
 *   operator's resolution once given.
 * - `sync_meta`: small named values (the change-feed cursor, each binding's last tick).
 */
import { randomUUID } from 'node:crypto';
import type { ItemFields } from '../../connectors/types.ts';
import type { SqlRunner, SqlValue } from '../store/types.ts';
import type { ItemState, NextState, Side } from './reconcile.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sync_items (
  binding TEXT NOT NULL, scope TEXT NOT NULL, id TEXT NOT NULL,
  xcap_key TEXT, xcap_hash TEXT, remote_id TEXT, remote_version TEXT, remote_hash TEXT,
  base TEXT NOT NULL, created_on TEXT, synced_at BIGINT NOT NULL,
  PRIMARY KEY (binding, scope, id));
CREATE INDEX IF NOT EXISTS sync_items_remote ON sync_items (binding, scope, remote_id);
CREATE INDEX IF NOT EXISTS sync_items_xcap ON sync_items (binding, scope, xcap_key);
CREATE TABLE IF NOT EXISTS sync_scopes (
  binding TEXT NOT NULL, scope TEXT NOT NULL,
  doc_etag TEXT, remote_token TEXT, last_run_at BIGINT, last_ok_at BIGINT, last_error TEXT, summary TEXT, config_hash TEXT,
  PRIMARY KEY (binding, scope));
CREATE TABLE IF NOT EXISTS sync_conflicts (
  binding TEXT NOT NULL, scope TEXT NOT NULL, item TEXT NOT NULL,
  xcap TEXT NOT NULL, remote TEXT NOT NULL, detected_at BIGINT NOT NULL, resolution TEXT,
  PRIMARY KEY (binding, scope, item));
CREATE TABLE IF NOT EXISTS sync_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

const BATCH = 200;
/**
 * Rows per statement when writing items: each statement is a commit of its own, so a
 * 10,000-entry import commits 5 times instead of 50 (22,000 parameters, below SQLite's
 * 32,766 and PostgreSQL's 65,535).
 */
const WRITE_BATCH = 2000;

export interface ScopeState {
  readonly binding: string;
  readonly scope: string;
  /** ETag of the document after the last successful run. */
  readonly docEtag: string | null;
  /** Connector change token after the last successful run. */
  readonly remoteToken: string | null;
  /**
   * Fingerprint of the binding's and its connector's configuration at the last successful
   * run (`Binding.fingerprint`); `null` before the first one. A run under another
   * configuration reads both sides whole.
   */
  readonly configHash: string | null;
  readonly lastRunAt: number | null;
  readonly lastOkAt: number | null;
  /** Message of the last failed or refused run; `null` after a success. */
  readonly lastError: string | null;
  /** JSON summary of the last run (counts per side). */
  readonly summary: unknown;
}

export interface ConflictRecord {
  readonly binding: string;
  readonly scope: string;
  /** Decision item id (see reconcile.ts `Decision.item`). */
  readonly item: string;
  readonly xcap: ItemFields;
  readonly remote: ItemFields;
  readonly detectedAt: number;
  readonly resolution: Side | null;
}

/** A row to store: an existing id, or `null` for a new item. */
export type ItemUpsert = NextState & { readonly id: string | null };

export class SyncState {
  readonly #sql: SqlRunner;

  constructor(sql: SqlRunner) {
    this.#sql = sql;
  }

  /** Creates the tables if needed, and the columns later versions added to them. */
  static async open(sql: SqlRunner): Promise<SyncState> {
    await sql.exec(SCHEMA);
    await addColumn(sql, 'sync_scopes', 'config_hash TEXT');
    return new SyncState(sql);
  }

  /** Every row of a scope, ordered by id. */
  async loadItems(binding: string, scope: string): Promise<ItemState[]> {
    const rows = await this.#sql.query<Record<string, SqlValue>>(`SELECT ${ITEM_COLUMNS} FROM sync_items WHERE binding = ? AND scope = ?`, [binding, scope]);
    return sortById(rows.map(itemFromRow));
  }

  /**
   * The rows of a scope linked to any of `remoteIds` or `xcapKeys`, ordered by id (the
   * order `loadItems` gives them in): what a run needs when it knows which items changed.
   */
  async loadItemsFor(binding: string, scope: string, remoteIds: readonly string[], xcapKeys: readonly string[]): Promise<ItemState[]> {
    const byId = new Map<string, ItemState>();
    for (const [column, values] of [['remote_id', remoteIds], ['xcap_key', xcapKeys]] as const) {
      for (let i = 0; i < values.length; i += BATCH) {
        const chunk = values.slice(i, i + BATCH);
        const rows = await this.#sql.query<Record<string, SqlValue>>(
          `SELECT ${ITEM_COLUMNS} FROM sync_items WHERE binding = ? AND scope = ? AND ${column} IN (${chunk.map(() => '?').join(',')})`,
          [binding, scope, ...chunk],
        );
        for (const r of rows) byId.set(String(r.id), itemFromRow(r));
      }
    }
    return sortById([...byId.values()]);
  }

  /** Remote ids of a scope's rows. */
  async remoteIds(binding: string, scope: string): Promise<string[]> {
    const rows = await this.#sql.query<{ remote_id: SqlValue }>('SELECT remote_id FROM sync_items WHERE binding = ? AND scope = ? AND remote_id IS NOT NULL', [binding, scope]);
    return rows.map((r) => String(r.remote_id));
  }

  /** How many rows of a scope hold a complete remote side (id, version and hash). */
  async countRemoteItems(binding: string, scope: string): Promise<number> {
    const [r] = await this.#sql.query<{ n: SqlValue }>(
      'SELECT COUNT(*) AS n FROM sync_items WHERE binding = ? AND scope = ? AND remote_id IS NOT NULL AND remote_version IS NOT NULL AND remote_hash IS NOT NULL',
      [binding, scope],
    );
    return Number(r?.n ?? 0);
  }

  /** Whether a scope has an open conflict (resolved or not). */
  async hasConflicts(binding: string, scope: string): Promise<boolean> {
    return (await this.#sql.query('SELECT 1 FROM sync_conflicts WHERE binding = ? AND scope = ? LIMIT 1', [binding, scope])).length > 0;
  }

  /** Stores rows (new ones get an id) and drops rows by id, in batches. */
  async writeItems(binding: string, scope: string, upserts: readonly ItemUpsert[], drops: readonly string[], at: number): Promise<void> {
    for (let i = 0; i < upserts.length; i += WRITE_BATCH) {
      const chunk = upserts.slice(i, i + WRITE_BATCH);
      const params: SqlValue[] = [];
      for (const u of chunk) {
        params.push(binding, scope, u.id ?? randomUUID(), u.xcapKey, u.xcapHash, u.remoteId, u.remoteVersion, u.remoteHash, JSON.stringify(u.base), u.createdOn, at);
      }
      await this.#sql.run(
        `INSERT INTO sync_items (binding, scope, id, xcap_key, xcap_hash, remote_id, remote_version, remote_hash, base, created_on, synced_at) VALUES ${chunk.map(() => '(?,?,?,?,?,?,?,?,?,?,?)').join(',')}
         ON CONFLICT (binding, scope, id) DO UPDATE SET xcap_key = excluded.xcap_key, xcap_hash = excluded.xcap_hash, remote_id = excluded.remote_id,
           remote_version = excluded.remote_version, remote_hash = excluded.remote_hash, base = excluded.base, created_on = excluded.created_on, synced_at = excluded.synced_at`,
        params,
      );
    }
    for (let i = 0; i < drops.length; i += WRITE_BATCH) {
      const chunk = drops.slice(i, i + WRITE_BATCH);
      await this.#sql.run(`DELETE FROM sync_items WHERE binding = ? AND scope = ? AND id IN (${chunk.map(() => '?').join(',')})`, [binding, scope, ...chunk]);
    }
  }

  async getScope(binding: string, scope: string): Promise<ScopeState | undefined> {
    const [r] = await this.#sql.query<Record<string, SqlValue>>('SELECT * FROM sync_scopes WHERE binding = ? AND scope = ?', [binding, scope]);
    return r ? scopeFromRow(r) : undefined;
  }

  /** All scopes, optionally of one binding, ordered by binding and scope. */
  async listScopes(binding?: string): Promise<ScopeState[]> {
    const rows = binding === undefined
      ? await this.#sql.query<Record<string, SqlValue>>('SELECT * FROM sync_scopes ORDER BY binding, scope')
      : await this.#sql.query<Record<string, SqlValue>>('SELECT * FROM sync_scopes WHERE binding = ? ORDER BY scope', [binding]);
    return rows.map(scopeFromRow);
  }

  /** Records a run's outcome. A success sets ETag, token and summary and clears the error. */
  async recordRun(
    binding: string,
    scope: string,
    at: number,
    outcome: { ok: true; docEtag: string | null; remoteToken: string | null; configHash: string; summary: unknown } | { ok: false; error: string; summary?: unknown },
  ): Promise<void> {
    const prev = await this.getScope(binding, scope);
    const row = outcome.ok
      ? [outcome.docEtag, outcome.remoteToken, at, at, null, JSON.stringify(outcome.summary), outcome.configHash]
      : [prev?.docEtag ?? null, prev?.remoteToken ?? null, at, prev?.lastOkAt ?? null, outcome.error, JSON.stringify(outcome.summary ?? prev?.summary ?? null), prev?.configHash ?? null];
    await this.#sql.run(
      `INSERT INTO sync_scopes (binding, scope, doc_etag, remote_token, last_run_at, last_ok_at, last_error, summary, config_hash) VALUES (?,?,?,?,?,?,?,?,?)
       ON CONFLICT (binding, scope) DO UPDATE SET doc_etag = excluded.doc_etag, remote_token = excluded.remote_token, last_run_at = excluded.last_run_at,
         last_ok_at = excluded.last_ok_at, last_error = excluded.last_error, summary = excluded.summary, config_hash = excluded.config_hash`,
      [binding, scope, ...(row as SqlValue[])],
    );
  }

  /** Replaces a scope's open conflicts with `current` (resolved or vanished ones go away). */
  async replaceConflicts(binding: string, scope: string, current: readonly { item: string; xcap: ItemFields; remote: ItemFields }[], at: number): Promise<void> {
    const before = new Map((await this.listConflicts(binding, scope)).map((c) => [c.item, c]));
    await this.#sql.run('DELETE FROM sync_conflicts WHERE binding = ? AND scope = ?', [binding, scope]);
    for (const c of current) {
      const keep = before.get(c.item);
      const sameContent = keep && JSON.stringify(keep.xcap) === JSON.stringify(c.xcap) && JSON.stringify(keep.remote) === JSON.stringify(c.remote);
      await this.#sql.run('INSERT INTO sync_conflicts (binding, scope, item, xcap, remote, detected_at, resolution) VALUES (?,?,?,?,?,?,NULL)', [
        binding, scope, c.item, JSON.stringify(c.xcap), JSON.stringify(c.remote), sameContent ? keep.detectedAt : at,
      ]);
    }
  }

  async listConflicts(binding?: string, scope?: string): Promise<ConflictRecord[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (binding !== undefined) {
      where.push('binding = ?');
      params.push(binding);
    }
    if (scope !== undefined) {
      where.push('scope = ?');
      params.push(scope);
    }
    const rows = await this.#sql.query<Record<string, SqlValue>>(
      `SELECT * FROM sync_conflicts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY binding, scope, item`,
      params,
    );
    return rows.map((r) => ({
      binding: String(r.binding),
      scope: String(r.scope),
      item: String(r.item),
      xcap: JSON.parse(String(r.xcap)) as ItemFields,
      remote: JSON.parse(String(r.remote)) as ItemFields,
      detectedAt: Number(r.detected_at),
      resolution: r.resolution as Side | null,
    }));
  }

  /** Records the operator's choice; the next run of the scope applies it. Resolves false if no such conflict. */
  async resolveConflict(binding: string, scope: string, item: string, take: Side): Promise<boolean> {
    return (await this.#sql.run('UPDATE sync_conflicts SET resolution = ? WHERE binding = ? AND scope = ? AND item = ?', [take, binding, scope, item])) > 0;
  }

  async resolutions(binding: string, scope: string): Promise<Map<string, Side>> {
    const rows = await this.#sql.query<{ item: string; resolution: Side }>(
      'SELECT item, resolution FROM sync_conflicts WHERE binding = ? AND scope = ? AND resolution IS NOT NULL',
      [binding, scope],
    );
    return new Map(rows.map((r) => [r.item, r.resolution]));
  }

  /**
   * Records that `binding`'s schedule fired at `at` (see health.ts). With `ifAbsent` (a
   * scheduler being created) only when no tick is recorded yet.
   */
  async recordTick(binding: string, at: number, ifAbsent = false): Promise<void> {
    await this.#sql.run(
      `INSERT INTO sync_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO ${ifAbsent ? 'NOTHING' : 'UPDATE SET value = excluded.value'}`,
      [TICK + binding, String(at)],
    );
  }

  /** Last recorded tick per binding, milliseconds since the epoch. */
  async ticks(): Promise<Map<string, number>> {
    const rows = await this.#sql.query<{ name: string; value: string }>('SELECT name, value FROM sync_meta WHERE name LIKE ?', [`${TICK}%`]);
    return new Map(rows.map((r) => [r.name.slice(TICK.length), Number(r.value)]));
  }

  async getMeta(name: string): Promise<string | undefined> {
    const [r] = await this.#sql.query<{ value: string }>('SELECT value FROM sync_meta WHERE name = ?', [name]);
    return r?.value;
  }

  async setMeta(name: string, value: string): Promise<void> {
    await this.#sql.run('INSERT INTO sync_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [name, value]);
  }
}

/** sync_meta name prefix of a binding's last tick. */
const TICK = 'tick:';

const ITEM_COLUMNS = 'id, xcap_key, xcap_hash, remote_id, remote_version, remote_hash, base, created_on';

function itemFromRow(r: Record<string, SqlValue>): ItemState {
  return {
    id: String(r.id),
    xcapKey: r.xcap_key as string | null,
    xcapHash: r.xcap_hash as string | null,
    remoteId: r.remote_id as string | null,
    remoteVersion: r.remote_version as string | null,
    remoteHash: r.remote_hash as string | null,
    base: JSON.parse(String(r.base)) as ItemFields,
    createdOn: r.created_on as Side | null,
  };
}

/** Code-unit order, the same in every dialect (SQL collations differ). */
function sortById(items: ItemState[]): ItemState[] {
  return items.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function scopeFromRow(r: Record<string, SqlValue>): ScopeState {
  const num = (v: SqlValue | undefined) => (v === null || v === undefined ? null : Number(v));
  return {
    binding: String(r.binding),
    scope: String(r.scope),
    docEtag: (r.doc_etag ?? null) as string | null,
    remoteToken: (r.remote_token ?? null) as string | null,
    configHash: (r.config_hash ?? null) as string | null,
    lastRunAt: num(r.last_run_at),
    lastOkAt: num(r.last_ok_at),
    lastError: (r.last_error ?? null) as string | null,
    summary: r.summary ? (JSON.parse(String(r.summary)) as unknown) : null,
  };
}

/**
 * Adds a column to a table created by an older version (CREATE TABLE IF NOT EXISTS leaves
 * it as it was). PostgreSQL says IF NOT EXISTS itself; on SQLite the column list is read
 * first, and a process that lost the race to add it finds it there.
 */
async function addColumn(sql: SqlRunner, table: string, column: string): Promise<void> {
  const name = column.split(' ')[0] as string;
  if (sql.dialect === 'postgres') return sql.exec(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${column}`);
  const has = async () => (await sql.query<{ name: string }>(`PRAGMA table_info(${table})`)).some((c) => c.name === name);
  if (await has()) return;
  try {
    await sql.exec(`ALTER TABLE ${table} ADD COLUMN ${column}`);
  } catch (err) {
    if (!(await has())) throw err;
  }
}
