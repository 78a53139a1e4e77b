/**
 * DocumentStore: where XCAP documents live, for every application usage.
 *
 * Why this interface exists: the XCAP core and the sync engine must not know whether
 * documents sit in the embedded SQLite file or in PostgreSQL. Both implementations pass
 * one contract suite (`test/conformance/store.suite.ts`).
 *
 * Terminology
 * - DOCUMENT KEY: (auid, xui, path). `xui` is `null` for the global tree. `path` is the
 *   document path below the tree, without leading slash (`index`, `dir/doc.xml`), as
 *   decoded from the URI. Keys compare byte for byte.
 * - ETAG: an opaque token (no quotes; the HTTP layer adds them) that changes on every
 *   successful write and is never reused for the same key. It is the ETag of exactly the
 *   `body` stored with it.
 * - BODY: the document as UTF-8 text, returned byte for byte as stored.
 * - CHANGE: one row of the change feed, written in the same transaction as the write it
 *   describes; `seq` grows strictly per store (across processes sharing a database).
 *
 * Deliberately not here: XML parsing, validation, authorization (the core does those),
 * and connection setup (factories in `sqlite.ts` / `postgres.ts` take injected clients
 * or paths).
 */

/** Identifies one document. */
export interface DocKey {
  readonly auid: string;
  /** The XUI for `users/<xui>/...`, `null` for `global/...`. */
  readonly xui: string | null;
  readonly path: string;
}

export interface StoredDoc {
  readonly key: DocKey;
  readonly etag: string;
  readonly body: string;
  /** Time of the last write, milliseconds since the epoch. */
  readonly modified: number;
}

/** Precondition for a write. */
export type WriteExpectation =
  /** Only if the document does not exist. */
  | 'absent'
  /** Whatever is there (create or replace). */
  | 'any'
  /** Only if the current ETag is this one. */
  | { readonly etag: string };

export interface WriteResult {
  readonly etag: string;
  /** True if the document did not exist before. */
  readonly created: boolean;
}

/** Options of a `put`. */
export interface WriteOptions {
  /**
   * Called once, when the write is committed: readers and the next conditional write see it
   * from then on, though it may not be durable yet (the promise `put` returns resolves once it
   * is). Lets a caller that makes writers of one document take turns start the next one
   * without waiting for the flush to disk, so that turns share one flush.
   */
  readonly onCommit?: (result: WriteResult) => void;
  /**
   * Values of the new body that no other document of the same application usage (auid) may
   * hold, server-wide (RFC 4826 §4.4.5: rls-services service URIs). The store keeps them with
   * the document in a table of its own, in the write's transaction: they replace the values
   * the document held, and if another document of the auid holds one of them, nothing is
   * written and `UniqueValueTaken` is thrown. Left out, the document's recorded values stay
   * as they are. `delete` releases a document's values.
   */
  readonly unique?: readonly string[];
}

/** One entry of the change feed. `oldEtag` is null on create, `newEtag` null on delete. */
export interface DocChange {
  readonly seq: number;
  readonly key: DocKey;
  readonly oldEtag: string | null;
  readonly newEtag: string | null;
  /** Free-form origin tag given by the writer (e.g. `xcap`, `sync:<binding>`), so sync can skip its own echoes. */
  readonly origin: string;
  readonly at: number;
}

/** What `pruneChanges` removes. */
export interface PrunePolicy {
  /** Remove rows older than this, in milliseconds. */
  readonly maxAgeMs?: number;
  /** Keep at most this many of the newest rows. */
  readonly maxCount?: number;
  /** Most rows removed by one call. */
  readonly batch: number;
  /** Milliseconds since the epoch that ages are measured from. */
  readonly now: number;
}

/** Raised by `put`/`delete` when the expectation does not hold. Nothing was written. */
export class EtagMismatch extends Error {
  readonly current: string | null;
  constructor(current: string | null) {
    super(current === null ? 'document does not exist' : 'document has changed');
    this.name = 'EtagMismatch';
    this.current = current;
  }
}

/** Raised by `put` when another document of the auid holds one of its `unique` values. Nothing was written. */
export class UniqueValueTaken extends Error {
  readonly value: string;
  constructor(value: string) {
    super(`${value} is held by another document`);
    this.name = 'UniqueValueTaken';
    this.value = value;
  }
}

/** Raised when the database cannot be reached or fails; the request may be retried. */
export class StoreUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailable';
  }
}

/**
 * Narrow SQL role shared by the store's neighbours (user table, sync state) so they keep
 * their tables in the same database without importing a driver. Placeholders are `?`
 * in every dialect; the implementation rewrites them for PostgreSQL.
 */
export interface SqlRunner {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Runs a statement that returns rows. `prepared`: the statement is one of the caller's
   * fixed set (values only as placeholders) and names its result columns (no `*`, which a
   * later ALTER TABLE would change under a kept plan), so each connection may parse and
   * plan it once (PostgreSQL: a named statement; for a per-request lookup that parsing and
   * planning is most of the server's work).
   */
  query<R extends Record<string, unknown>>(sql: string, params?: readonly SqlValue[], opts?: { readonly prepared?: boolean }): Promise<R[]>;
  /** Runs a statement; resolves with the number of rows changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /**
   * Runs DDL (several statements allowed, no parameters). Concurrent calls from several
   * processes are serialized (PostgreSQL: an advisory lock), so `CREATE ... IF NOT EXISTS`
   * from processes starting together cannot collide.
   */
  exec(sql: string): Promise<void>;
}

export type SqlValue = string | number | bigint | null | Uint8Array | boolean;

export interface DocumentStore {
  /** Dialect and runner for neighbouring tables in the same database. */
  readonly sql: SqlRunner;

  /**
   * A token that changes whenever any document of the store may have changed, by any
   * connection or process; two equal tokens mean nothing was written in between. Cheap and
   * synchronous, so a cache of what was read can be checked per request without a query.
   * Absent where the database cannot tell (PostgreSQL: callers read the ETag instead).
   */
  readonly changeCounter?: () => string;

  /** Resolves with the document or `undefined`. Never throws for a missing document. */
  get(key: DocKey): Promise<StoredDoc | undefined>;

  /**
   * Like `get` without the body: the current ETag and modification time, or `undefined`.
   * For callers that only need to know whether a (possibly large) document changed.
   */
  head(key: DocKey): Promise<Omit<StoredDoc, 'body'> | undefined>;

  /**
   * Writes `body` under `key` if `expect` holds, atomically with the change-feed row.
   * Resolves with the new ETag. Throws `EtagMismatch` (and writes nothing) if `expect`
   * does not hold: `'absent'` and the document exists, `{etag}` and the document is missing
   * or has another ETag. Two concurrent writers with the same `{etag}`: exactly one wins,
   * also across processes sharing a database.
   *
   * `etag` (optional) is stored instead of a fresh one: an import from another XCAP server
   * keeps that server's ETags so clients' cached ETags still match. The caller answers for
   * it never being reused for the key (an ETag the other server issued, or this store's).
   */
  put(key: DocKey, body: string, expect: WriteExpectation, origin?: string, etag?: string, opts?: WriteOptions): Promise<WriteResult>;

  /**
   * Deletes the document if `expect` holds (`'absent'` is not allowed here). Resolves true
   * if a document was deleted, false if there was none and `expect` was `'any'`.
   * Throws `EtagMismatch` if `{etag}` does not match or the document is missing.
   */
  delete(key: DocKey, expect: 'any' | { readonly etag: string }, origin?: string): Promise<boolean>;

  /**
   * Lists documents (key + ETag + modified, no bodies), ordered by auid, xui, path.
   * `auid` / `xui` narrow the listing; `xui: null` means the global tree only.
   */
  list(filter?: { auid?: string; xui?: string | null }): AsyncIterable<Omit<StoredDoc, 'body'>>;

  /**
   * Change feed: up to `limit` changes with `seq > after`, oldest first. `after = 0`
   * starts at the beginning of what is kept.
   */
  changes(after: number, limit?: number): Promise<DocChange[]>;

  /** Which of `values` documents of `auid` hold as unique values (WriteOptions.unique), with the holder. */
  uniqueHolders(auid: string, values: readonly string[]): Promise<Map<string, DocKey>>;

  /**
   * Records the unique values of the documents of `auid` that were written before the store
   * kept them (a database made by an older version): `valuesOf` is called with each one's
   * body. Runs once per database and auid, also with several processes starting together;
   * later calls read nothing. A value two of those documents share (an older version let a
   * race through) stays with the first in key order; the next write of the others is refused
   * while they still hold it.
   */
  backfillUnique(auid: string, valuesOf: (body: string) => readonly string[]): Promise<void>;

  /** The highest `seq` written so far (0 when none), pruned rows included. */
  lastSeq(): Promise<number>;

  /**
   * Removes old change-feed rows: those written before `now - maxAgeMs` and all but the
   * newest `maxCount` (either limit may be left out), at most `batch` rows per call (the
   * caller repeats while the answer equals `batch`). Resolves with the number removed.
   * Never removes a row younger than the store's settle time for holes in `seq` (see
   * postgres.ts), so a writer still committing cannot end up below the pruned position.
   */
  pruneChanges(policy: PrunePolicy): Promise<number>;

  /**
   * The highest `seq` pruning has removed (0 if none ever was). A reader whose cursor is
   * below it has missed changes and must read the state whole. Ask after `changes()`, not
   * before: a prune between the two then makes the reader read whole once too often,
   * never once too few.
   */
  prunedThrough(): Promise<number>;

  /**
   * Calls `listener` after each change committed through this store instance and, where
   * the database can notify (PostgreSQL LISTEN/NOTIFY), for changes made by other
   * processes too. Returns an unsubscribe function. Listeners must not throw. A wake-up
   * only: a notification may never come (another Citus node, a pooling proxy), so readers
   * of the feed also poll `changes()` at a bounded interval.
   */
  subscribe(listener: (change: DocChange) => void): () => void;

  /** Releases connections. Further calls reject. */
  close(): Promise<void>;
}

/** Canonical string form of a key: `auid/global/path` or `auid/users/xui/path`. */
export function docKeyString(key: DocKey): string {
  return key.xui === null ? `${key.auid}/global/${key.path}` : `${key.auid}/users/${key.xui}/${key.path}`;
}
