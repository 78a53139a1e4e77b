/**
 * DocumentStore on an embedded SQLite file (node:sqlite), the default backend.
 *
 * - Durability (`durability`, config `store.durability`):
 *   - `power-loss` (default): a write resolves only once the WAL holding it has been
 *     fdatasync'd. Commits run with synchronous=OFF (no fsync inside the event loop) and are
 *     flushed by group commit: one fdatasync on the libuv thread pool covers every write that
 *     committed while the previous one was running, and each caller waits for the flush that
 *     started after its own commit. Change listeners hear of a write after that flush.
 *   - `process-crash`: WAL with synchronous=NORMAL and no flush per write: a resolved write
 *     survives the process dying, not the machine losing power (the last commits before it
 *     may be lost; the file is never corrupted).
 *   A reader on this connection sees a commit before its flush is done (as its writer would).
 * - Checkpoints (copying the WAL back into the database file) run on a thread of their own
 *   (sqlite-checkpointer.ts) with its own connection, every CHECKPOINT_EVERY commits. When the
 *   WAL has grown long, writes pause (asynchronously: the event loop keeps serving) while the
 *   thread catches up, so the next write starts the WAL over instead of growing it. If the
 *   thread cannot run or falls far behind, the checkpoint runs inline.
 * - The writes asked for in one microtask run (an HTTP worker's batch of PUTs) share one
 *   transaction, each in a savepoint of its own: one COMMIT and one copy in the WAL of the
 *   pages they share, and one write's failure undoes that write alone.
 * - Every transaction is `BEGIN IMMEDIATE`, which takes the file's write lock first, so
 *   "read the current ETag, check, write, append the change row" is atomic also against
 *   other processes opening the same file (`user add` while `serve` runs, `serve --workers`).
 * - node:sqlite is synchronous: a call blocks the event loop for its few microseconds,
 *   which is cheaper than any thread hop at this size. SQLite's own busy wait would block
 *   it for milliseconds, so the connection has busy_timeout 0: a write that finds another
 *   process holding the lock waits asynchronously (jittered pauses, writes of this process
 *   in arrival order) and the event loop keeps serving; after BUSY_WAIT_MS it gets
 *   StoreUnavailable. Reads (which WAL rarely makes wait) retry the same way. The runner's
 *   `exec` (multi-statement DDL, not safely repeatable) keeps a blocking busy wait.
 * - subscribe() sees changes made through this instance only (SQLite cannot notify).
 */
import { closeSync, constants, fdatasync, openSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { DatabaseSync, StatementSync, SQLInputValue } from 'node:sqlite';
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

/** How long a call waits for another process's lock before StoreUnavailable, in milliseconds. */
const BUSY_WAIT_MS = 5000;

/** Writes between two requests to the checkpoint thread. */
const CHECKPOINT_EVERY = 200;
/** WAL length (frames) past which writes pause for the thread to catch up, so the WAL starts over. */
const WAL_RESTART_FRAMES = 4000;
/** Writes without a checkpoint answer after which the checkpoint runs inline (the thread is stuck or gone). */
const INLINE_AFTER = CHECKPOINT_EVERY * 5;

/** What a resolved write has survived: see the module comment. */
export type SqliteDurability = 'power-loss' | 'process-crash';

export interface SqliteStoreOptions {
  /** @defaultValue `'power-loss'` (`':memory:'` has no file and no durability) */
  readonly durability?: SqliteDurability;
  /**
   * Flushes the WAL file's data to disk. Tests inject a counting wrapper to see one flush
   * cover a batch of writes. @defaultValue fs.fdatasync on the libuv thread pool
   */
  readonly datasync?: (fd: number) => Promise<void>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ${DOCUMENTS_TABLE} (
  auid TEXT NOT NULL, tree INTEGER NOT NULL, xui TEXT NOT NULL, path TEXT NOT NULL,
  etag TEXT NOT NULL, body TEXT NOT NULL, modified INTEGER NOT NULL,
  PRIMARY KEY (auid, tree, xui, path)
);
CREATE TABLE IF NOT EXISTS ${CHANGES_TABLE} (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  auid TEXT NOT NULL, tree INTEGER NOT NULL, xui TEXT NOT NULL, path TEXT NOT NULL,
  old_etag TEXT, new_etag TEXT, origin TEXT NOT NULL, at INTEGER NOT NULL, writer TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ${PRUNED_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), through INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ${UNIQUE_TABLE} (
  auid TEXT NOT NULL, value TEXT NOT NULL, tree INTEGER NOT NULL, xui TEXT NOT NULL, path TEXT NOT NULL,
  PRIMARY KEY (auid, value)
);
CREATE INDEX IF NOT EXISTS ${UNIQUE_TABLE}_doc ON ${UNIQUE_TABLE} (auid, tree, xui, path);
CREATE TABLE IF NOT EXISTS ${STORE_META_TABLE} (name TEXT PRIMARY KEY, value TEXT NOT NULL);`;

const KEY_WHERE = 'auid = ? AND tree = ? AND xui = ? AND path = ?';
/** A unique value for a document unless another one holds it (then nothing changes). */
const HOLD_UNIQUE_SQL = `INSERT INTO ${UNIQUE_TABLE} (auid, value, tree, xui, path) VALUES (?, ?, ?, ?, ?) ON CONFLICT (auid, value) DO NOTHING`;
/** SQL expression: the highest pruned seq, 0 when none. */
const PRUNED_THROUGH = `COALESCE((SELECT through FROM ${PRUNED_TABLE} WHERE id = 1), 0)`;

/** ignoreBOM: a leading U+FEFF is part of the stored body and must come back. */
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Opens (creating if needed) the store in the SQLite file at `path`, or in memory for
 * `':memory:'`. The directory must exist.
 */
export async function openSqliteStore(path: string, opts: SqliteStoreOptions = {}): Promise<DocumentStore> {
  // Imported here so that merely loading this module never touches node:sqlite.
  const { DatabaseSync } = await import('node:sqlite');
  const onDisk = path !== ':memory:';
  const durability = onDisk ? (opts.durability ?? 'power-loss') : 'process-crash';
  let db: DatabaseSync;
  let walFd: number | undefined;
  try {
    db = new DatabaseSync(path);
    // Opening waits like exec: switching to WAL and creating tables may meet another process's lock.
    blockingOnBusy(db, () => {
      db.exec('PRAGMA journal_mode = WAL');
      db.exec(`PRAGMA synchronous = ${durability === 'power-loss' ? 'OFF' : 'NORMAL'}`);
      // Checkpoints are the checkpoint thread's (see the module comment).
      if (onDisk) db.exec('PRAGMA wal_autocheckpoint = 0');
      db.exec(`BEGIN IMMEDIATE; ${SCHEMA} COMMIT;`);
    });
    // The WAL stays while this connection is open (SQLite deletes it with the last one).
    if (durability === 'power-loss') walFd = openSync(`${path}-wal`, constants.O_RDONLY | constants.O_CREAT);
  } catch (err) {
    throw new StoreUnavailable(`cannot open SQLite database ${path}: ${describe(err)}`, { cause: err });
  }
  return new SqliteStore(db, { path: onDisk ? path : undefined, durability, walFd, datasync: opts.datasync ?? datasyncFd });
}

function datasyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

/** A commit waiting for the flush that makes it durable. */
interface FlushWaiter {
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

class SqliteStore implements DocumentStore {
  readonly sql: SqlRunner;
  readonly #db: DatabaseSync;
  /** The file, for the checkpoint thread; undefined in memory. */
  readonly #path: string | undefined;
  readonly #durability: SqliteDurability;
  readonly #walFd: number | undefined;
  readonly #datasync: (fd: number) => Promise<void>;
  /** Commits since the last flush started, waiting for the next one. */
  #flushWaiters: FlushWaiter[] = [];
  /** The flush in progress. */
  #flushing: Promise<void> | undefined;
  #checkpointer: Worker | undefined;
  /** The checkpoint thread failed: checkpoints run inline. */
  #checkpointerFailed = false;
  #checkpointInFlight = false;
  #writesSinceCheckpoint = 0;
  /** Commits through this connection (half of changeCounter). */
  #commits = 0;
  /** While set, writes wait: the checkpoint thread is catching up so that the WAL can start over. */
  #gate: { readonly opened: Promise<void>; readonly open: () => void } | undefined;
  readonly #listeners = new ChangeListeners();
  readonly #statements = new Map<string, StatementSync>();
  readonly #writer = newEtag();
  readonly #lockWaiters: LockWaiter[] = [];
  /** Writes asked for in this microtask run, not yet tried (#commitTurn). */
  #turn: TurnWrite[] = [];
  /** Settles when the writes waiting for the lock are done. */
  #draining: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(
    db: DatabaseSync,
    opts: { path: string | undefined; durability: SqliteDurability; walFd: number | undefined; datasync: (fd: number) => Promise<void> },
  ) {
    this.#db = db;
    this.#path = opts.path;
    this.#durability = opts.durability;
    this.#walFd = opts.walFd;
    this.#datasync = opts.datasync;
    const prepare = (sql: string) => this.#prepare(sql);
    const read = <T>(fn: () => T) => this.#read(fn);
    const guard = <T>(fn: () => T) => this.#guard(fn);
    const durable = () => this.#durable();
    this.sql = {
      dialect: 'sqlite',
      query<R extends Record<string, unknown>>(sql: string, params: readonly SqlValue[] = []) {
        return read(() => prepare(sql).all(...(params as SQLInputValue[])) as R[]);
      },
      // One statement that found the lock taken did nothing, so it is safe to run again.
      async run(sql: string, params: readonly SqlValue[] = []) {
        const changed = await read(() => Number(prepare(sql).run(...(params as SQLInputValue[])).changes));
        if (changed > 0) await durable();
        return changed;
      },
      async exec(sql: string) {
        guard(() => blockingOnBusy(db, () => db.exec(sql)));
        await durable();
      },
    };
  }

  /** PRAGMA data_version moves on other connections' commits; this connection's are counted here. */
  changeCounter(): string {
    const row = this.#guard(() => this.#prepare('PRAGMA data_version').get()) as { data_version: number };
    return `${row.data_version}:${this.#commits}`;
  }

  async get(key: DocKey): Promise<StoredDoc | undefined> {
    // The body comes out as bytes: TextDecoder turns non-ASCII UTF-8 into a string ~3× faster than node:sqlite does.
    const row = (await this.#read(() =>
      this.#prepare(`SELECT etag, CAST(body AS BLOB) AS body, modified FROM ${DOCUMENTS_TABLE} WHERE ${KEY_WHERE}`).get(...keyParams(key)),
    )) as { etag: string; body: Uint8Array; modified: number } | undefined;
    return row && { key, etag: row.etag, body: utf8.decode(row.body), modified: row.modified };
  }

  async head(key: DocKey): Promise<Omit<StoredDoc, 'body'> | undefined> {
    const row = (await this.#read(() =>
      this.#prepare(`SELECT etag, modified FROM ${DOCUMENTS_TABLE} WHERE ${KEY_WHERE}`).get(...keyParams(key)),
    )) as { etag: string; modified: number } | undefined;
    return row && { key, etag: row.etag, modified: row.modified };
  }

  async put(key: DocKey, body: string, expect: WriteExpectation, origin = DEFAULT_ORIGIN, etag = newEtag(), opts: WriteOptions = {}): Promise<WriteResult> {
    const k = keyParams(key);
    const now = Date.now();
    const onCommit = opts.onCommit && ((c: DocChange) => opts.onCommit?.({ etag, created: c.oldEtag === null }));
    const change = await this.#write(onCommit, () => {
      const current = this.#currentEtag(k);
      if (expect === 'absent' ? current !== null : expect !== 'any' && expect.etag !== current) {
        throw new EtagMismatch(current);
      }
      if (current === null) {
        this.#prepare(`INSERT INTO ${DOCUMENTS_TABLE} (auid, tree, xui, path, etag, body, modified) VALUES (?, ?, ?, ?, ?, ?, ?)`)
          .run(...k, etag, body, now);
      } else {
        this.#prepare(`UPDATE ${DOCUMENTS_TABLE} SET etag = ?, body = ?, modified = ? WHERE ${KEY_WHERE}`).run(etag, body, now, ...k);
      }
      if (opts.unique !== undefined) this.#holdUnique(k, opts.unique);
      return this.#appendChange(key, k, current, etag, origin, now);
    });
    return { etag, created: change.oldEtag === null };
  }

  async delete(key: DocKey, expect: 'any' | { readonly etag: string }, origin = DEFAULT_ORIGIN): Promise<boolean> {
    const k = keyParams(key);
    const change = await this.#write(undefined, () => {
      const current = this.#currentEtag(k);
      if (expect !== 'any' && expect.etag !== current) throw new EtagMismatch(current);
      if (current === null) return undefined;
      this.#prepare(`DELETE FROM ${DOCUMENTS_TABLE} WHERE ${KEY_WHERE}`).run(...k);
      this.#prepare(`DELETE FROM ${UNIQUE_TABLE} WHERE ${KEY_WHERE}`).run(...k);
      return this.#appendChange(key, k, current, null, origin, Date.now());
    });
    return change !== undefined;
  }

  async *list(filter: { auid?: string; xui?: string | null } = {}): AsyncIterable<Omit<StoredDoc, 'body'>> {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (filter.auid !== undefined) {
      where.push('auid = ?');
      params.push(filter.auid);
    }
    if (filter.xui === null) where.push('tree = 0');
    else if (filter.xui !== undefined) {
      where.push('tree = 1 AND xui = ?');
      params.push(filter.xui);
    }
    const sql =
      `SELECT auid, tree, xui, path, etag, modified FROM ${DOCUMENTS_TABLE}` +
      (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
      ' ORDER BY auid, tree, xui, path';
    // Read the whole listing first (no bodies, so small): a cursor kept open across
    // yields would interleave with writes on the same connection.
    const rows = (await this.#read(() => this.#prepare(sql).all(...params))) as unknown as Array<{
      auid: string; tree: number; xui: string; path: string; etag: string; modified: number;
    }>;
    for (const r of rows) yield { key: keyFromColumns(r.auid, r.tree, r.xui, r.path), etag: r.etag, modified: r.modified };
  }

  async changes(after: number, limit = DEFAULT_CHANGES_LIMIT): Promise<DocChange[]> {
    const rows = (await this.#read(() =>
      this.#prepare(`SELECT ${CHANGE_COLUMNS} FROM ${CHANGES_TABLE} WHERE seq > ? ORDER BY seq LIMIT ?`).all(after, limit),
    )) as unknown as ChangeRow[];
    return rows.map(changeFromRow);
  }

  async uniqueHolders(auid: string, values: readonly string[]): Promise<Map<string, DocKey>> {
    const rows = (await this.#read(() =>
      this.#prepare(`SELECT value, tree, xui, path FROM ${UNIQUE_TABLE} WHERE auid = ? AND value IN (SELECT j.value FROM json_each(?) AS j)`)
        .all(auid, JSON.stringify(values)),
    )) as unknown as Array<{ value: string; tree: number; xui: string; path: string }>;
    return new Map(rows.map((r) => [r.value, keyFromColumns(auid, r.tree, r.xui, r.path)]));
  }

  async backfillUnique(auid: string, valuesOf: (body: string) => readonly string[]): Promise<void> {
    const marked = () => this.#prepare(`SELECT 1 FROM ${STORE_META_TABLE} WHERE name = ?`).get(backfilledMark(auid)) !== undefined;
    // Once done, a read: processes that only read (serve's HTTP workers) take no write lock for it.
    if (await this.#read(marked)) return;
    // In one write transaction: a second process waits for the file lock, then finds the mark.
    await this.#write(undefined, () => {
      if (marked()) return undefined;
      const docs = this.#prepare(`SELECT tree, xui, path, body FROM ${DOCUMENTS_TABLE} WHERE auid = ? ORDER BY tree, xui, path`).all(auid) as unknown as Array<{
        tree: number; xui: string; path: string; body: string;
      }>;
      const insert = this.#prepare(HOLD_UNIQUE_SQL);
      for (const d of docs) {
        for (const value of distinct(valuesOf(d.body))) insert.run(auid, value, d.tree, d.xui, d.path);
      }
      this.#prepare(`INSERT INTO ${STORE_META_TABLE} (name, value) VALUES (?, ?)`).run(backfilledMark(auid), String(Date.now()));
      return undefined;
    });
    await this.#durable();
  }

  async lastSeq(): Promise<number> {
    const row = (await this.#read(() =>
      this.#prepare(`SELECT MAX(COALESCE((SELECT MAX(seq) FROM ${CHANGES_TABLE}), 0), ${PRUNED_THROUGH}) AS seq`).get(),
    )) as { seq: number };
    return row.seq;
  }

  async pruneChanges(policy: PrunePolicy): Promise<number> {
    let removed = 0;
    // One writer at a time (the file lock): no seq can be in flight, so no settle time is needed.
    await this.#write(undefined, () => {
      const bound = (sql: string, ...params: SQLInputValue[]) => Number((this.#prepare(sql).get(...params) as { s: number | null } | undefined)?.s ?? 0);
      let upTo = 0;
      if (policy.maxCount !== undefined) upTo = bound(`SELECT seq AS s FROM ${CHANGES_TABLE} ORDER BY seq DESC LIMIT 1 OFFSET ?`, policy.maxCount);
      if (policy.maxAgeMs !== undefined) upTo = Math.max(upTo, bound(`SELECT MAX(seq) AS s FROM ${CHANGES_TABLE} WHERE at < ?`, policy.now - policy.maxAgeMs));
      if (upTo === 0) return undefined;
      const batchEnd = bound(`SELECT seq AS s FROM ${CHANGES_TABLE} ORDER BY seq LIMIT 1 OFFSET ?`, policy.batch - 1);
      if (batchEnd > 0) upTo = Math.min(upTo, batchEnd);
      removed = Number(this.#prepare(`DELETE FROM ${CHANGES_TABLE} WHERE seq <= ?`).run(upTo).changes);
      this.#prepare(`INSERT INTO ${PRUNED_TABLE} (id, through) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET through = MAX(through, excluded.through)`).run(upTo);
      return undefined;
    });
    return removed;
  }

  async prunedThrough(): Promise<number> {
    const row = (await this.#read(() => this.#prepare(`SELECT ${PRUNED_THROUGH} AS seq`).get())) as { seq: number };
    return row.seq;
  }

  subscribe(listener: (change: DocChange) => void): () => void {
    return this.#listeners.add(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // Writes already waiting for another process's lock are finished (or time out) first,
    // then their flush.
    this.#gate?.open();
    this.#commitTurn();
    await this.#draining;
    await this.#flushing;
    this.#closed = true;
    await this.#checkpointer?.terminate();
    this.#listeners.clear();
    this.#statements.clear();
    // The last connection to close checkpoints and deletes the WAL: with NORMAL it syncs the
    // database file first, so what the WAL held is on disk before the WAL is gone.
    if (this.#durability === 'power-loss') this.#db.exec('PRAGMA synchronous = NORMAL');
    this.#db.close();
    if (this.#walFd !== undefined) closeSync(this.#walFd);
  }

  #prepare(sql: string): StatementSync {
    let stmt = this.#statements.get(sql);
    if (stmt === undefined) {
      stmt = this.#db.prepare(sql);
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  /** Inside a write: the document at `k` holds exactly `values` (WriteOptions.unique), or UniqueValueTaken. */
  #holdUnique(k: [string, number, string, string], values: readonly string[]): void {
    this.#prepare(`DELETE FROM ${UNIQUE_TABLE} WHERE ${KEY_WHERE}`).run(...k);
    const insert = this.#prepare(HOLD_UNIQUE_SQL);
    for (const value of distinct(values)) {
      if (Number(insert.run(k[0], value, k[1], k[2], k[3]).changes) === 0) throw new UniqueValueTaken(value);
    }
  }

  #currentEtag(k: [string, number, string, string]): string | null {
    const row = this.#prepare(`SELECT etag FROM ${DOCUMENTS_TABLE} WHERE ${KEY_WHERE}`).get(...k) as { etag: string } | undefined;
    return row === undefined ? null : row.etag;
  }

  #appendChange(
    key: DocKey, k: [string, number, string, string], oldEtag: string | null, newEtag: string | null, origin: string, at: number,
  ): DocChange {
    const row = this.#prepare(
      `INSERT INTO ${CHANGES_TABLE} (auid, tree, xui, path, old_etag, new_etag, origin, at, writer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
    ).get(...k, oldEtag, newEtag, origin, at, this.#writer) as { seq: number };
    return { seq: row.seq, key, oldEtag, newEtag, origin, at };
  }

  /**
   * Runs `fn` in a write transaction; calls `onCommit` once committed; once durable (see the
   * module comment), tells subscribers about the change and resolves. While another process holds the write lock,
   * or the checkpoint gate is closed, this process's writes wait in arrival order.
   */
  async #write<T extends DocChange | undefined>(onCommit: ((change: DocChange) => void) | undefined, fn: () => T): Promise<T> {
    const change = await this.#commit(fn);
    if (change !== undefined) {
      onCommit?.(change);
      await this.#durable();
      this.#listeners.emit(change);
    }
    return change;
  }

  /** Queues `fn` for this microtask run's transaction (#commitTurn); resolves once it committed. */
  #commit<T extends DocChange | undefined>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#turn.push({ run: fn, resolve: resolve as (v: unknown) => void, reject });
      if (this.#turn.length === 1) queueMicrotask(() => this.#commitTurn());
    });
  }

  /**
   * The writes asked for since the last microtask run (an HTTP worker's batch of PUTs, say)
   * in one transaction when the lock is free: one COMMIT, and the pages they share (the
   * change feed's, the tables' inner pages) go to the WAL once. Otherwise each waits in line.
   */
  #commitTurn(): void {
    const writes = this.#turn;
    if (writes.length === 0) return;
    this.#turn = [];
    if (this.#lockWaiters.length === 0 && this.#gate === undefined) {
      let outcomes: Outcome[] | typeof BUSY;
      try {
        outcomes = this.#tryWriteAll(writes);
      } catch (err) {
        for (const w of writes) w.reject(err);
        return;
      }
      if (outcomes !== BUSY) {
        for (let i = 0; i < writes.length; i++) {
          const o = outcomes[i] as Outcome;
          if (o.ok) writes[i]?.resolve(o.value);
          else writes[i]?.reject(o.error);
        }
        return;
      }
    }
    const since = Date.now();
    const idle = this.#lockWaiters.length === 0;
    for (const w of writes) this.#lockWaiters.push({ ...w, since });
    if (idle) this.#draining = this.#drainLockWaiters();
  }

  /**
   * One transaction for `writes`, each in a savepoint of its own so that one write's failure
   * (a lost ETag race, a taken unique value) undoes that write alone; BUSY if another process
   * holds the lock. Throws when the transaction itself fails: then none of them is committed.
   */
  #tryWriteAll(writes: readonly TurnWrite[]): Outcome[] | typeof BUSY {
    if (writes.length === 1) {
      const w = writes[0] as TurnWrite;
      try {
        const done = this.#tryWrite(w.run);
        return done === BUSY ? BUSY : [{ ok: true, value: done }];
      } catch (error) {
        return [{ ok: false, error }];
      }
    }
    const outcomes = this.#transaction(() => {
      const done: Outcome[] = [];
      for (const w of writes) {
        this.#prepare('SAVEPOINT one_write').run();
        try {
          done.push({ ok: true, value: w.run() });
        } catch (error) {
          this.#prepare('ROLLBACK TO one_write').run();
          done.push({ ok: false, error: this.#translate(error) });
        }
        this.#prepare('RELEASE one_write').run();
      }
      return done;
    });
    if (outcomes !== BUSY) {
      const changed = outcomes.filter((o) => o.ok && o.value !== undefined).length;
      if (changed > 0) this.#afterCommit(changed);
    }
    return outcomes;
  }

  /**
   * Resolves once everything committed so far is on disk: joins the next flush (one
   * fdatasync of the WAL for every commit that arrived while the previous one ran).
   */
  #durable(): Promise<void> {
    if (this.#walFd === undefined) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#flushWaiters.push({ resolve, reject });
      if (this.#flushing === undefined) this.#flush();
    });
  }

  #flush(): void {
    const batch = this.#flushWaiters;
    this.#flushWaiters = [];
    this.#flushing = this.#datasync(this.#walFd as number).then(
      () => {
        for (const w of batch) w.resolve();
      },
      (err: unknown) => {
        // The commit is in the file but may not be on disk: the caller must not take it as saved.
        const failure = new StoreUnavailable(`SQLite: flushing the WAL to disk failed: ${describe(err)}`, { cause: err });
        for (const w of batch) w.reject(failure);
      },
    ).finally(() => {
      this.#flushing = undefined;
      if (this.#flushWaiters.length > 0) this.#flush();
    });
  }

  /**
   * After each commit of `writes` writes: asks the checkpoint thread to run every
   * CHECKPOINT_EVERY writes (the WAL grows with each write, however they were grouped).
   */
  #afterCommit(writes = 1): void {
    this.#commits++;
    if (this.#path === undefined) return;
    this.#writesSinceCheckpoint += writes;
    if (this.#checkpointerFailed || this.#writesSinceCheckpoint >= INLINE_AFTER) {
      if (this.#writesSinceCheckpoint >= CHECKPOINT_EVERY) this.#inlineCheckpoint();
    } else if (!this.#checkpointInFlight && this.#writesSinceCheckpoint >= CHECKPOINT_EVERY) {
      this.#requestCheckpoint();
    }
  }

  #requestCheckpoint(): void {
    this.#checkpointInFlight = true;
    this.#writesSinceCheckpoint = 0;
    this.#checkpointer ??= this.#startCheckpointer(this.#path as string);
    this.#checkpointer.postMessage(0);
  }

  #startCheckpointer(path: string): Worker {
    const worker = new Worker(new URL('./sqlite-checkpointer.ts', import.meta.url), { workerData: { path } });
    // Never what keeps a process alive (a CLI command ends when its work does).
    worker.unref();
    worker.on('message', (r: { busy: number; log: number; checkpointed: number } | { error: string }) => this.#checkpointed(r));
    const fail = () => {
      this.#checkpointerFailed = true;
      this.#checkpointInFlight = false;
      this.#checkpointer = undefined;
      this.#gate?.open();
    };
    worker.on('error', fail);
    worker.on('exit', () => {
      if (!this.#closed) fail();
    });
    return worker;
  }

  /**
   * The thread's answer. A long WAL closes the gate and asks again: with no write in
   * between, the thread copies the rest, and the next write starts the WAL over.
   */
  #checkpointed(r: { busy: number; log: number; checkpointed: number } | { error: string }): void {
    this.#checkpointInFlight = false;
    if (this.#closed) return;
    if (this.#gate !== undefined) {
      this.#gate.open();
      return;
    }
    if ('error' in r) {
      this.#inlineCheckpoint();
      return;
    }
    if (r.busy === 0 && r.log >= WAL_RESTART_FRAMES) {
      let open = () => {};
      const opened = new Promise<void>((resolve) => (open = resolve));
      this.#gate = {
        opened,
        open: () => {
          this.#gate = undefined;
          open();
        },
      };
      this.#requestCheckpoint();
    }
  }

  /** The fallback: a checkpoint on this connection, syncing like the thread's (NORMAL). */
  #inlineCheckpoint(): void {
    this.#writesSinceCheckpoint = 0;
    const off = this.#durability === 'power-loss';
    try {
      if (off) this.#db.exec('PRAGMA synchronous = NORMAL');
      this.#prepare('PRAGMA wal_checkpoint(PASSIVE)').get();
    } catch {
      // A checkpoint that cannot run now (another process's lock) runs at a later commit.
    } finally {
      if (off) this.#db.exec('PRAGMA synchronous = OFF');
    }
  }

  /** Retries the head waiter until it gets the lock (or times out), then the next. */
  async #drainLockWaiters(): Promise<void> {
    let attempt = 1;
    while (this.#lockWaiters.length > 0) {
      if (this.#gate !== undefined) {
        await this.#gate.opened;
        attempt = 1;
      } else await busyPause(attempt++);
      const head = this.#lockWaiters[0]!;
      try {
        const done = this.#tryWrite(head.run);
        if (done === BUSY) {
          if (Date.now() - head.since < BUSY_WAIT_MS) continue;
          throw new StoreUnavailable('SQLite: database is locked by another process');
        }
        head.resolve(done);
      } catch (err) {
        head.reject(err);
      }
      this.#lockWaiters.shift();
      attempt = 1;
    }
  }

  /** One attempt at a write transaction: the change, or BUSY if another process holds the lock. */
  #tryWrite<T extends DocChange | undefined>(fn: () => T): T | typeof BUSY {
    const change = this.#transaction(fn);
    if (change !== BUSY && change !== undefined) this.#afterCommit();
    return change;
  }

  /** `body` in a write transaction, committed if it returns, rolled back if it throws; BUSY if another process holds the lock. */
  #transaction<T>(body: () => T): T | typeof BUSY {
    return this.#guard(() => {
      try {
        this.#prepare('BEGIN IMMEDIATE').run();
      } catch (err) {
        if (isBusy(err) && !this.#closed) return BUSY;
        throw err;
      }
      try {
        const result = body();
        this.#prepare('COMMIT').run();
        return result;
      } catch (err) {
        if (this.#db.isTransaction) this.#prepare('ROLLBACK').run();
        throw err;
      }
    });
  }

  /** Runs a read-only call (or one statement), retrying asynchronously while the file is locked. */
  async #read<T>(fn: () => T): Promise<T> {
    const since = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return fn();
      } catch (err) {
        if (!isBusy(err) || this.#closed || Date.now() - since >= BUSY_WAIT_MS) throw this.#translate(err);
      }
      await busyPause(attempt);
    }
  }

  /** Runs a database call, turning driver failures the caller may retry into StoreUnavailable. */
  #guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw this.#translate(err);
    }
  }

  #translate(err: unknown): unknown {
    if (this.#closed) return new StoreUnavailable('document store is closed', { cause: err });
    return isTransient(err) ? new StoreUnavailable(`SQLite: ${describe(err)}`, { cause: err }) : err;
  }
}

/** What a write attempt returns when another process holds the lock. */
const BUSY = Symbol('busy');

/** A write asked for, with its caller's promise. */
interface TurnWrite {
  readonly run: () => DocChange | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/** A write waiting for the lock. */
interface LockWaiter extends TurnWrite {
  /** When it started waiting (Date.now()). */
  readonly since: number;
}

/** How one write of a transaction ended: its change, or its own error. */
type Outcome = { readonly ok: true; readonly value: DocChange | undefined } | { readonly ok: false; readonly error: unknown };

/**
 * The pause before retry number `attempt`: the other process holds the lock for tens of
 * microseconds, so first just let the event loop turn, then random pauses (up to 10 ms) so
 * processes do not collide in lock step.
 */
function busyPause(attempt: number): Promise<void> {
  if (attempt <= 2) return new Promise((r) => setImmediate(r));
  return new Promise((r) => setTimeout(r, Math.random() * Math.min(attempt, 10)));
}

/** Runs `fn` with SQLite's blocking busy wait, for calls that cannot simply be retried. */
function blockingOnBusy<T>(db: DatabaseSync, fn: () => T): T {
  db.exec(`PRAGMA busy_timeout = ${BUSY_WAIT_MS}`);
  try {
    return fn();
  } finally {
    db.exec('PRAGMA busy_timeout = 0');
  }
}

function isBusy(err: unknown): boolean {
  const code = (err as { errcode?: unknown }).errcode;
  return typeof code === 'number' && (code & 0xff) === 5;
}

/** BUSY, LOCKED, IOERR, FULL, CANTOPEN: conditions of the file, not of the statement. */
const TRANSIENT_CODES = new Set([5, 6, 10, 13, 14]);

function isTransient(err: unknown): boolean {
  const code = (err as { errcode?: unknown }).errcode;
  return typeof code === 'number' && TRANSIENT_CODES.has(code & 0xff);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
