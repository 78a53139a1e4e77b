/**
 * DocumentStore on PostgreSQL, for production with several replicas sharing one database.
 *
 * - Every write is ONE statement (data-modifying CTEs): the conditional document write,
 *   the change row and the NOTIFY commit together in one round trip. The condition sits in
 *   the statement itself (`UPDATE ... WHERE etag = $n`, `INSERT ... ON CONFLICT DO
 *   NOTHING`), so concurrent writers in any process are decided by row locks: one wins.
 * - Change feed: `seq` is a BIGSERIAL, handed out at insert time but visible at commit,
 *   so a fast writer can commit seq 8 while seq 7 is still in flight. `changes()` stops
 *   before such a hole until it is filled, or until it is older than `gapSettleMs` (a
 *   rolled-back or crashed writer leaves a permanent hole), so a reader that advances
 *   its cursor never skips a change.
 * - subscribe(): changes through this instance are delivered right after commit; those
 *   of other processes arrive by LISTEN/NOTIFY on a dedicated connection, which
 *   reconnects quietly and then catches up from the table.
 * - Connection-level failures become StoreUnavailable naming host:port, never the password.
 */
import pg from 'pg';
import { PgListener } from './postgres-listener.ts';
import {
  CHANGE_COLUMNS,
  CHANGES_TABLE,
  ChangeListeners,
  DEFAULT_CHANGES_LIMIT,
  DEFAULT_ORIGIN,
  DOCUMENTS_TABLE,
  PRUNED_TABLE,
  STORE_META_TABLE,
  UNIQUE_TABLE,
  backfilledMark,
  changeFromRow,
  distinct,
  keyFromColumns,
  keyParams,
  newEtag,
  type ChangeRow,
} from './sql-common.ts';
import {
  EtagMismatch,
  StoreUnavailable,
  UniqueValueTaken,
  type DocChange,
  type DocKey,
  type DocumentStore,
  type PrunePolicy,
  type SqlRunner,
  type SqlValue,
  type StoredDoc,
  type WriteExpectation,
  type WriteOptions,
  type WriteResult,
} from './types.ts';

export interface PostgresStoreOptions {
  /**
   * How old (by its `at`, in milliseconds) the change after a hole in `seq` must be
   * before `changes()` gives up waiting for the hole to fill.
   * @defaultValue 10000
   */
  readonly gapSettleMs?: number;
}

const CHANNEL = 'xcap_doc_changes';
/** NOTIFY payloads are limited to 8000 bytes; larger changes are announced by seq only. */
const MAX_INLINE_PAYLOAD = 7900;
/** Key of the advisory lock that serializes schema creation between processes starting together. */
const SCHEMA_LOCK = 4825_0001;
/** Key of the advisory lock that makes one process of several starting together backfill unique values. */
const BACKFILL_LOCK = 4825_0002;
/** Rounds of the read-then-write loop of `put(..., 'any')` before giving up under contention. */
const MAX_WRITE_ROUNDS = 20;

/**
 * Upgrades a change feed made before the owner key was part of its primary key (`seq
 * bigserial PRIMARY KEY`, `xui` in the default collation): the key becomes `(xui, seq)` and
 * `xui` takes the documents' collation, so the feed can be sharded with (colocated with)
 * the documents by owner, as Citus requires of every unique key of a distributed table.
 * Reads by `seq` keep their own index. Idempotent: a feed already keyed so is left alone.
 * The rebuild locks the feed while it runs (seconds for a million rows), once.
 */
const CHANGES_KEY_MIGRATION = `DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = '${CHANGES_TABLE}'::regclass AND contype = 'p' AND cardinality(conkey) = 1) THEN
    ALTER TABLE ${CHANGES_TABLE} DROP CONSTRAINT ${CHANGES_TABLE}_pkey;
    ALTER TABLE ${CHANGES_TABLE} ALTER COLUMN xui TYPE text COLLATE "C";
    ALTER TABLE ${CHANGES_TABLE} ADD PRIMARY KEY (xui, seq);
  END IF;
END $$;`;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ${DOCUMENTS_TABLE} (
  auid text COLLATE "C" NOT NULL, tree smallint NOT NULL, xui text COLLATE "C" NOT NULL, path text COLLATE "C" NOT NULL,
  etag text NOT NULL, body text NOT NULL, modified bigint NOT NULL,
  PRIMARY KEY (auid, tree, xui, path)
);
CREATE TABLE IF NOT EXISTS ${CHANGES_TABLE} (
  seq bigserial NOT NULL,
  auid text NOT NULL, tree smallint NOT NULL, xui text COLLATE "C" NOT NULL, path text NOT NULL,
  old_etag text, new_etag text, origin text NOT NULL, at bigint NOT NULL, writer text NOT NULL,
  PRIMARY KEY (xui, seq)
);
${CHANGES_KEY_MIGRATION}
CREATE INDEX IF NOT EXISTS ${CHANGES_TABLE}_seq ON ${CHANGES_TABLE} (seq);
CREATE TABLE IF NOT EXISTS ${PRUNED_TABLE} (id smallint PRIMARY KEY CHECK (id = 1), through bigint NOT NULL);
CREATE TABLE IF NOT EXISTS ${UNIQUE_TABLE} (
  auid text COLLATE "C" NOT NULL, value text COLLATE "C" NOT NULL, tree smallint NOT NULL, xui text COLLATE "C" NOT NULL, path text COLLATE "C" NOT NULL,
  PRIMARY KEY (auid, value)
);
CREATE INDEX IF NOT EXISTS ${UNIQUE_TABLE}_doc ON ${UNIQUE_TABLE} (auid, tree, xui, path);
CREATE TABLE IF NOT EXISTS ${STORE_META_TABLE} (name text PRIMARY KEY, value text NOT NULL);`;

/** SQL expression: the highest pruned seq, 0 when none. */
const PRUNED_THROUGH = `COALESCE((SELECT through FROM ${PRUNED_TABLE} WHERE id = 1), 0)`;

/**
 * One pruning step. $1 rows to keep (by count), $2 the age bound (rows written before it go),
 * $3 the settle bound (nothing at or after it goes: a hole below may still fill), $4 batch.
 */
const PRUNE_SQL = `WITH b AS (
  SELECT LEAST(
    GREATEST(
      COALESCE((SELECT seq FROM ${CHANGES_TABLE} ORDER BY seq DESC OFFSET $1 LIMIT 1), 0),
      COALESCE((SELECT MAX(seq) FROM ${CHANGES_TABLE} WHERE at < $2), 0)),
    COALESCE((SELECT MAX(seq) FROM ${CHANGES_TABLE} WHERE at < $3), 0),
    COALESCE((SELECT seq FROM ${CHANGES_TABLE} ORDER BY seq OFFSET $4 - 1 LIMIT 1), 9223372036854775807)) AS upto
),
d AS (DELETE FROM ${CHANGES_TABLE} WHERE seq <= (SELECT upto FROM b) RETURNING 1),
u AS (
  INSERT INTO ${PRUNED_TABLE} (id, through) SELECT 1, upto FROM b WHERE upto > 0
  ON CONFLICT (id) DO UPDATE SET through = GREATEST(${PRUNED_TABLE}.through, EXCLUDED.through)
)
SELECT count(*) AS n FROM d`;

const KEY_WHERE = 'auid = $1 AND tree = $2 AND xui = $3 AND path = $4';

/**
 * The tail shared by every write: `d` (the document statement) returns `old_etag` and
 * `new_etag` when it changed a row; this appends the change row and sends the NOTIFY.
 * Parameters $1..$4 are the key, then $5 origin, $6 at, $7 writer.
 */
const CHANGE_TAIL = `,
c AS (
  INSERT INTO ${CHANGES_TABLE} (auid, tree, xui, path, old_etag, new_etag, origin, at, writer)
  SELECT $1::text, $2::smallint, $3::text, $4::text, d.old_etag, d.new_etag, $5::text, $6::bigint, $7::text FROM d
  RETURNING ${CHANGE_COLUMNS}, writer
)
SELECT c.seq, c.old_etag, pg_notify('${CHANNEL}', c.seq || ' ' ||
  CASE WHEN octet_length(n.j) < ${MAX_INLINE_PAYLOAD} THEN n.j ELSE json_build_array(c.writer)::text END)
FROM c, LATERAL (SELECT json_build_array(c.writer, c.auid, c.tree, c.xui, c.path, c.old_etag, c.new_etag, c.origin, c.at)::text AS j) n`;

/** $8 etag, $9 body. */
const INSERT_SQL = `WITH d AS (
  INSERT INTO ${DOCUMENTS_TABLE} (auid, tree, xui, path, etag, body, modified) VALUES ($1, $2, $3, $4, $8, $9, $6)
  ON CONFLICT DO NOTHING RETURNING NULL::text AS old_etag, etag AS new_etag
)${CHANGE_TAIL}`;

/** $8 new etag, $9 body, $10 expected etag. */
const REPLACE_SQL = `WITH d AS (
  UPDATE ${DOCUMENTS_TABLE} SET etag = $8, body = $9, modified = $6 WHERE ${KEY_WHERE} AND etag = $10
  RETURNING $10::text AS old_etag, etag AS new_etag
)${CHANGE_TAIL}`;

/** $8 expected etag, or NULL for any. The document's unique values go with it. */
const DELETE_SQL = `WITH d AS (
  DELETE FROM ${DOCUMENTS_TABLE} WHERE ${KEY_WHERE} AND ($8::text IS NULL OR etag = $8)
  RETURNING etag AS old_etag, NULL::text AS new_etag
),
u AS (DELETE FROM ${UNIQUE_TABLE} WHERE ${KEY_WHERE} AND EXISTS (SELECT 1 FROM d))${CHANGE_TAIL}`;

/** The document's unique values not among $5 are released. $1..$4 the key. */
const RELEASE_UNIQUE_SQL = `DELETE FROM ${UNIQUE_TABLE} WHERE ${KEY_WHERE} AND NOT (value = ANY($5::text[]))`;

/**
 * The document takes the values $5 (distinct): returns those it holds now, newly or already;
 * a value another document holds is left with it and not returned. A row another writer is
 * inserting makes this wait for that writer's commit, so two documents never both get a value.
 */
const HOLD_UNIQUE_SQL = `INSERT INTO ${UNIQUE_TABLE} AS u (auid, value, tree, xui, path) SELECT $1, v, $2, $3, $4 FROM unnest($5::text[]) AS v
ON CONFLICT (auid, value) DO UPDATE SET tree = EXCLUDED.tree WHERE u.tree = EXCLUDED.tree AND u.xui = EXCLUDED.xui AND u.path = EXCLUDED.path
RETURNING value`;

/**
 * Opens the store on `poolOrUrl`, creating its tables if missing. A pool passed in stays
 * the caller's: `close()` does not end it, and the caller should handle its `error`
 * events. A URL gets a pool of our own, ended by `close()`. One more connection (not
 * from the pool) is held for LISTEN.
 */
export async function openPostgresStore(poolOrUrl: pg.Pool | string, options: PostgresStoreOptions = {}): Promise<DocumentStore> {
  const owned = typeof poolOrUrl === 'string';
  const pool = owned ? new pg.Pool({ connectionString: checkedUrl(poolOrUrl) }) : poolOrUrl;
  // An idle pooled connection that drops emits 'error' on the pool; unhandled, it would end the process.
  if (owned) pool.on('error', () => {});
  const store = new PostgresStore(pool, owned, options.gapSettleMs ?? 10_000);
  try {
    await store.init();
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  return store;
}

type Key4 = [string, number, string, string];
/** NOTIFY payload after the seq: writer, then (unless too long) the change's columns. */
type NotifyFields = [string, string?, number?, string?, string?, (string | null)?, (string | null)?, string?, number?];

class PostgresStore implements DocumentStore {
  readonly sql: SqlRunner;
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #gapSettleMs: number;
  readonly #target: string;
  readonly #writer = newEtag();
  readonly #listeners = new ChangeListeners();
  readonly #listener: PgListener;
  /** Highest seq seen from other writers' notifications, where a catch-up after a reconnect starts. */
  #seen = 0;
  #closed = false;

  constructor(pool: pg.Pool, ownsPool: boolean, gapSettleMs: number) {
    this.#pool = pool;
    this.#ownsPool = ownsPool;
    this.#gapSettleMs = gapSettleMs;
    this.#target = describeTarget(pool.options);
    this.#listener = new PgListener({
      newClient: () => new pg.Client(pool.options),
      channel: CHANNEL,
      onPayload: (payload) => this.#notified(payload),
      onReconnected: () => void this.#catchUp(),
    });
    const query = (sql: string, params?: readonly SqlValue[]) => this.#query(sql, params);
    const prepared = (sql: string, params?: readonly SqlValue[]) => this.#prepared(sql, params);
    this.sql = {
      dialect: 'postgres',
      async query<R extends Record<string, unknown>>(sql: string, params: readonly SqlValue[] = [], opts: { readonly prepared?: boolean } = {}) {
        const text = toPostgresPlaceholders(sql);
        return (await (opts.prepared ? prepared(text, params) : query(text, params))).rows as R[];
      },
      async run(sql: string, params: readonly SqlValue[] = []) {
        return (await query(toPostgresPlaceholders(sql), params)).rowCount ?? 0;
      },
      // DDL of neighbouring tables (users, sync state) takes the schema lock too: two
      // processes starting together would otherwise collide inside CREATE ... IF NOT EXISTS.
      exec: (sql: string) => this.#underSchemaLock(sql),
    };
  }

  #underSchemaLock(sql: string): Promise<void> {
    return this.#transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      await client.query(sql);
    });
  }

  /** Runs `fn` in a transaction on one pooled connection: committed if it resolves, rolled back if it throws. */
  async #transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#guard(() => this.#pool.connect());
    try {
      return await this.#guard(async () => {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      });
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /** Creates the schema (once, even with several processes starting together) and starts listening. */
  async init(): Promise<void> {
    const enc = await this.#guard(() => this.#pool.query<{ server_encoding: string }>('SHOW server_encoding'));
    const encoding = enc.rows[0]?.server_encoding;
    if (encoding !== 'UTF8' && encoding !== 'SQL_ASCII') {
      throw new Error(`PostgreSQL database at ${this.#target} uses encoding ${encoding}; the document store needs UTF8`);
    }
    await this.#underSchemaLock(SCHEMA);
    await this.#guard(() => this.#listener.start());
    this.#seen = await this.lastSeq();
  }

  async get(key: DocKey): Promise<StoredDoc | undefined> {
    const r = await this.#prepared(`SELECT etag, body, modified FROM ${DOCUMENTS_TABLE} WHERE ${KEY_WHERE}`, keyParams(key));
    const row = r.rows[0] as { etag: string; body: string; modified: string } | undefined;
    return row && { key, etag: row.etag, body: row.body, modified: Number(row.modified) };
  }

  async head(key: DocKey): Promise<Omit<StoredDoc, 'body'> | undefined> {
    const r = await this.#prepared(`SELECT etag, modified FROM ${DOCUMENTS_TABLE} WHERE ${KEY_WHERE}`, keyParams(key));
    const row = r.rows[0] as { etag: string; modified: string } | undefined;
    return row && { key, etag: row.etag, modified: Number(row.modified) };
  }

  async put(key: DocKey, body: string, expect: WriteExpectation, origin = DEFAULT_ORIGIN, etag = newEtag(), opts: WriteOptions = {}): Promise<WriteResult> {
    const k = keyParams(key);
    const now = Date.now();
    for (let round = 0; round < MAX_WRITE_ROUNDS; round++) {
      const expected = expect === 'any' ? await this.#currentEtag(k) : expect === 'absent' ? null : expect.etag;
      const change =
        expected === null
          ? await this.#write(key, INSERT_SQL, [...k, origin, now, this.#writer, etag, body], etag, opts.unique)
          : await this.#write(key, REPLACE_SQL, [...k, origin, now, this.#writer, etag, body, expected], etag, opts.unique);
      if (change) {
        const result = { etag, created: expected === null };
        // A PostgreSQL commit is durable when it returns.
        opts.onCommit?.(result);
        return result;
      }
      if (expect === 'any') continue; // lost a race with another writer: read again
      const current = await this.#currentEtag(k);
      // 'absent' met a row that is gone again by now: try once more rather than report "does not exist".
      if (expect === 'absent' && current === null) continue;
      throw new EtagMismatch(current);
    }
    throw new StoreUnavailable(`gave up writing ${key.auid}/${key.path} after ${MAX_WRITE_ROUNDS} lost races`);
  }

  async delete(key: DocKey, expect: 'any' | { readonly etag: string }, origin = DEFAULT_ORIGIN): Promise<boolean> {
    const k = keyParams(key);
    const now = Date.now();
    const expected = expect === 'any' ? null : expect.etag;
    if (await this.#write(key, DELETE_SQL, [...k, origin, now, this.#writer, expected], null)) return true;
    if (expect === 'any') return false;
    throw new EtagMismatch(await this.#currentEtag(k));
  }

  async *list(filter: { auid?: string; xui?: string | null } = {}): AsyncIterable<Omit<StoredDoc, 'body'>> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.auid !== undefined) {
      params.push(filter.auid);
      where.push(`auid = $${params.length}`);
    }
    if (filter.xui === null) where.push('tree = 0');
    else if (filter.xui !== undefined) {
      params.push(filter.xui);
      where.push(`tree = 1 AND xui = $${params.length}`);
    }
    const r = await this.#query(
      `SELECT auid, tree, xui, path, etag, modified FROM ${DOCUMENTS_TABLE}` +
        (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
        ' ORDER BY auid, tree, xui, path',
      params,
    );
    for (const row of r.rows as Array<{ auid: string; tree: number; xui: string; path: string; etag: string; modified: string }>) {
      yield { key: keyFromColumns(row.auid, row.tree, row.xui, row.path), etag: row.etag, modified: Number(row.modified) };
    }
  }

  async changes(after: number, limit = DEFAULT_CHANGES_LIMIT): Promise<DocChange[]> {
    const r = await this.#prepared(
      `SELECT ${CHANGE_COLUMNS}, ${PRUNED_THROUGH} AS pruned FROM ${CHANGES_TABLE} WHERE seq > $1 ORDER BY seq LIMIT $2`,
      [after, limit],
    );
    const settled = Date.now() - this.#gapSettleMs;
    const out: DocChange[] = [];
    const rows = r.rows as Array<ChangeRow & { pruned: string }>;
    // Below the pruned position nothing can fill in any more: a reader behind it is not waiting for a hole.
    let next = Math.max(after, Number(rows[0]?.pruned ?? 0)) + 1;
    for (const row of rows) {
      const change = changeFromRow(row);
      // A hole before a recent change may be a writer still committing: stop before it.
      if (change.seq !== next && change.at > settled) break;
      out.push(change);
      next = change.seq + 1;
    }
    return out;
  }

  async uniqueHolders(auid: string, values: readonly string[]): Promise<Map<string, DocKey>> {
    const r = await this.#prepared(`SELECT value, tree, xui, path FROM ${UNIQUE_TABLE} WHERE auid = $1 AND value = ANY($2::text[])`, [auid, values as unknown as SqlValue]);
    const rows = r.rows as Array<{ value: string; tree: number; xui: string; path: string }>;
    return new Map(rows.map((row) => [row.value, keyFromColumns(auid, row.tree, row.xui, row.path)]));
  }

  async backfillUnique(auid: string, valuesOf: (body: string) => readonly string[]): Promise<void> {
    const marked = `SELECT 1 FROM ${STORE_META_TABLE} WHERE name = $1`;
    // Once done, one read and no lock.
    if ((await this.#prepared(marked, [backfilledMark(auid)])).rowCount) return;
    await this.#transaction(async (client) => {
      // Processes starting together: one backfills, the others wait here and then find the mark.
      await client.query('SELECT pg_advisory_xact_lock($1)', [BACKFILL_LOCK]);
      if ((await client.query(marked, [backfilledMark(auid)])).rowCount) return;
      const docs = await client.query<{ tree: number; xui: string; path: string; body: string }>(
        `SELECT tree, xui, path, body FROM ${DOCUMENTS_TABLE} WHERE auid = $1 ORDER BY tree, xui, path`,
        [auid],
      );
      for (const d of docs.rows) {
        const values = distinct(valuesOf(d.body));
        if (values.length > 0) await client.query(HOLD_UNIQUE_SQL, [auid, d.tree, d.xui, d.path, values]);
      }
      await client.query(`INSERT INTO ${STORE_META_TABLE} (name, value) VALUES ($1, $2)`, [backfilledMark(auid), String(Date.now())]);
    });
  }

  async lastSeq(): Promise<number> {
    const r = await this.#prepared(`SELECT GREATEST(COALESCE((SELECT MAX(seq) FROM ${CHANGES_TABLE}), 0), ${PRUNED_THROUGH}) AS seq`);
    return Number((r.rows[0] as { seq: string }).seq);
  }

  async pruneChanges(policy: PrunePolicy): Promise<number> {
    const r = await this.#prepared(PRUNE_SQL, [
      policy.maxCount ?? Number.MAX_SAFE_INTEGER,
      policy.maxAgeMs === undefined ? Number.MIN_SAFE_INTEGER : policy.now - policy.maxAgeMs,
      policy.now - this.#gapSettleMs,
      policy.batch,
    ]);
    return Number((r.rows[0] as { n: string }).n);
  }

  async prunedThrough(): Promise<number> {
    const r = await this.#prepared(`SELECT ${PRUNED_THROUGH} AS seq`);
    return Number((r.rows[0] as { seq: string }).seq);
  }

  subscribe(listener: (change: DocChange) => void): () => void {
    return this.#listeners.add(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    await this.#listener.close();
    if (this.#ownsPool) await this.#pool.end();
  }

  async #currentEtag(k: Key4): Promise<string | null> {
    const r = await this.#prepared(`SELECT etag FROM ${DOCUMENTS_TABLE} WHERE ${KEY_WHERE}`, k);
    return (r.rows[0] as { etag: string } | undefined)?.etag ?? null;
  }

  /**
   * Runs one write statement; resolves with its change (told to subscribers) or undefined if
   * the condition failed. With `unique`, the statement and the document's unique values
   * (WriteOptions.unique) are one transaction, rolled back with UniqueValueTaken.
   */
  async #write(
    key: DocKey, sql: string, params: [...Key4, string, number, string, ...SqlValue[]], newEtag: string | null, unique?: readonly string[],
  ): Promise<DocChange | undefined> {
    const r = unique === undefined ? await this.#prepared(sql, params) : await this.#writeHolding(sql, params, distinct(unique));
    const row = r?.rows[0] as { seq: string; old_etag: string | null } | undefined;
    if (!row) return undefined;
    const change: DocChange = { seq: Number(row.seq), key, oldEtag: row.old_etag, newEtag, origin: params[4], at: params[5] };
    this.#listeners.emit(change);
    return change;
  }

  /** The write statement, then the document's unique values, in one transaction; undefined if the statement's condition failed. */
  #writeHolding(sql: string, params: [...Key4, ...SqlValue[]], values: string[]): Promise<pg.QueryResult | undefined> {
    const key = params.slice(0, 4) as Key4;
    return this.#transaction(async (client) => {
      const r = await client.query(named(sql, params));
      if (r.rows.length === 0) return undefined; // nothing written: the commit is empty
      await client.query(named(RELEASE_UNIQUE_SQL, [...key, values as unknown as SqlValue]));
      const held = new Set((await client.query<{ value: string }>(named(HOLD_UNIQUE_SQL, [...key, values as unknown as SqlValue]))).rows.map((row) => row.value));
      const taken = values.find((v) => !held.has(v));
      if (taken !== undefined) throw new UniqueValueTaken(taken);
      return r;
    });
  }

  /** A NOTIFY payload: `<seq> <json array>`; our own writes were delivered already. */
  #notified(payload: string): void {
    const space = payload.indexOf(' ');
    const seq = Number(payload.slice(0, space));
    let fields: NotifyFields;
    try {
      fields = JSON.parse(payload.slice(space + 1)) as NotifyFields;
    } catch {
      return; // Not ours: anyone may NOTIFY on the channel.
    }
    if (!Number.isSafeInteger(seq) || !Array.isArray(fields) || fields[0] === this.#writer) return;
    this.#seen = Math.max(this.#seen, seq);
    if (this.#listeners.size === 0) return;
    if (fields.length === 1) {
      void this.#deliverFromTable(`seq = $1`, [seq]);
      return;
    }
    const [, auid, tree, xui, path, oldEtag, newEtag, origin, at] = fields;
    this.#listeners.emit({
      seq, key: keyFromColumns(auid!, tree!, xui!, path!), oldEtag: oldEtag ?? null, newEtag: newEtag ?? null, origin: origin!, at: at!,
    });
  }

  /** After a reconnect: deliver other writers' changes committed while nobody was listening. */
  async #catchUp(): Promise<void> {
    await this.#deliverFromTable('seq > $1', [this.#seen]);
  }

  async #deliverFromTable(where: string, params: SqlValue[]): Promise<void> {
    try {
      const r = await this.#query(
        `SELECT ${CHANGE_COLUMNS} FROM ${CHANGES_TABLE} WHERE ${where} AND writer <> $${params.length + 1} ORDER BY seq`,
        [...params, this.#writer],
      );
      for (const row of r.rows as ChangeRow[]) {
        const change = changeFromRow(row);
        this.#seen = Math.max(this.#seen, change.seq);
        this.#listeners.emit(change);
      }
    } catch {
      // Best effort: a store that cannot be read now will catch up after the next reconnect.
    }
  }

  #query(sql: string, params?: readonly SqlValue[]): Promise<pg.QueryResult> {
    if (this.#closed) return Promise.reject(new StoreUnavailable('document store is closed'));
    return this.#guard(() => this.#pool.query(sql, params as unknown[] | undefined));
  }

  /** Like #query, for the store's own fixed statements: named, so each connection parses and plans them once. */
  #prepared(sql: string, params?: readonly SqlValue[]): Promise<pg.QueryResult> {
    if (this.#closed) return Promise.reject(new StoreUnavailable('document store is closed'));
    const config = named(sql, params);
    return this.#guard(() => this.#pool.query(config));
  }

  /** Turns connection-level failures into StoreUnavailable; statement errors pass unchanged. */
  async #guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StoreUnavailable || !isConnectionFailure(err)) throw err;
      throw new StoreUnavailable(`PostgreSQL at ${this.#target} is unavailable: ${(err as Error).message}`, { cause: err });
    }
  }
}

/**
 * Rewrites `?` placeholders to `$1, $2, ...`, leaving `'...'` literals and `"..."`
 * identifiers alone. Not understood (so keep `?` out of them): comments, dollar-quoted
 * strings, E'' strings with backslash-escaped quotes, and the jsonb `?` operators.
 */
export function toPostgresPlaceholders(sql: string): string {
  let cached = placeholderCache.get(sql);
  if (cached !== undefined) return cached;
  let out = '';
  let n = 0;
  let quote: string | undefined;
  for (const ch of sql) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined; // a doubled quote just closes and reopens
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else out += ch === '?' ? `$${++n}` : ch;
  }
  cached = out;
  // Neighbours use a fixed set of statements; the bound only guards against SQL built with inline values.
  if (placeholderCache.size >= 1000) placeholderCache.clear();
  placeholderCache.set(sql, cached);
  return cached;
}

const placeholderCache = new Map<string, string>();
/** Statement names of the store's own SQL and its neighbours' prepared queries (fixed, small sets). */
const statementNames = new Map<string, string>();

/** A fixed statement, named so that each connection parses and plans it once. */
function named(sql: string, params?: readonly SqlValue[]): pg.QueryConfig {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `xcap_store_${statementNames.size}`;
    statementNames.set(sql, name);
  }
  return { name, text: sql, values: params as unknown[] | undefined };
}

/** Node socket errors, pg's own connection errors (no SQLSTATE), and server states that mean "try later". */
function isConnectionFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return /connect|terminat|timeout|not queryable|after calling end/i.test(err.message);
  if (/^E[A-Z_]+$/.test(code)) return true;
  return code.startsWith('08') || code.startsWith('53') || code === '57P01' || code === '57P02' || code === '57P03';
}

/** `host:port/database` for messages; never the user or password. */
function describeTarget(options: pg.PoolConfig): string {
  let host = options.host;
  let port: string | number | undefined = options.port;
  let database = options.database;
  if (options.connectionString) {
    try {
      const u = new URL(options.connectionString);
      host ??= decodeURIComponent(u.hostname) || u.searchParams.get('host') || undefined;
      port ??= u.port || undefined;
      database ??= decodeURIComponent(u.pathname.slice(1)) || undefined;
    } catch {
      // checkedUrl() vetted our own URLs; an injected pool's odd string just gives a vaguer message.
    }
  }
  return `${host ?? 'localhost'}:${port ?? 5432}${database ? `/${database}` : ''}`;
}

function checkedUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('invalid PostgreSQL URL (expected postgres://user:password@host:port/database)');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new Error(`invalid PostgreSQL URL: scheme ${u.protocol} (expected postgres:// or postgresql://)`);
  }
  return url;
}
