/**
 * What the SQL document stores (sqlite.ts, postgres.ts) share: the table layout, how a
 * DocKey maps to columns, how ETags are made, and the fan-out to subscribers.
 *
 * Table layout (same columns in both dialects):
 * - `xcap_documents (auid, tree, xui, path, etag, body, modified)`, primary key
 *   `(auid, tree, xui, path)`. `tree` is 0 for the global tree (then `xui` is '') and 1
 *   for `users/<xui>`: SQL unique keys treat NULLs as distinct, so the global tree gets
 *   its own column instead of a NULL xui. Ordering by the key lists global documents first.
 * - `xcap_changes (seq, auid, tree, xui, path, old_etag, new_etag, origin, at, writer)`,
 *   `writer` being the id of the store instance that wrote the row (PostgreSQL uses it to
 *   tell its own changes from other processes'). SQLite keys it by `seq`; PostgreSQL by
 *   `(xui, seq)` with an index on `seq`, so it can be sharded by owner (docs/scaling.md).
 * - `xcap_changes_pruned (id, through)`: one row, the highest seq pruning has removed
 *   (readers below it missed changes; `lastSeq()` never goes below it).
 * - `xcap_unique_values` and `xcap_store_meta`: see UNIQUE_TABLE and STORE_META_TABLE.
 */
import { randomUUID } from 'node:crypto';
import type { DocChange, DocKey } from './types.ts';

export const DOCUMENTS_TABLE = 'xcap_documents';
/**
 * `(auid, value, tree, xui, path)`, primary key `(auid, value)`: the server-wide unique
 * values each document holds (WriteOptions.unique). Kept apart from the documents so the
 * uniqueness holds across owners, whichever shard their documents live on.
 */
export const UNIQUE_TABLE = 'xcap_unique_values';
/** `(name, value)`: the store's own small named values (which auids' unique values were backfilled). */
export const STORE_META_TABLE = 'xcap_store_meta';
/** The STORE_META_TABLE row saying the unique values of an auid's older documents were recorded. */
export const backfilledMark = (auid: string): string => `unique-backfilled:${auid}`;
export const CHANGES_TABLE = 'xcap_changes';
/** One row (`id = 1`): `through`, the highest seq pruning removed. */
export const PRUNED_TABLE = 'xcap_changes_pruned';

/** Default page size of `changes()`. */
export const DEFAULT_CHANGES_LIMIT = 1000;

/** The origin recorded when a writer gives none. */
export const DEFAULT_ORIGIN = '';

/** A fresh ETag: 32 hex digits, random, so never reused (randomUUID is the cheapest CSPRNG call in Node). */
export function newEtag(): string {
  return randomUUID().replaceAll('-', '');
}

/** Column values `(auid, tree, xui, path)` for a key. */
export function keyParams(key: DocKey): [string, number, string, string] {
  return key.xui === null ? [key.auid, 0, '', key.path] : [key.auid, 1, key.xui, key.path];
}

/** The inverse of `keyParams`. */
export function keyFromColumns(auid: string, tree: number, xui: string, path: string): DocKey {
  return { auid, xui: Number(tree) === 0 ? null : xui, path };
}

/** A change row as both drivers return it (PostgreSQL returns BIGINT as string). */
export interface ChangeRow {
  seq: number | string;
  auid: string;
  tree: number;
  xui: string;
  path: string;
  old_etag: string | null;
  new_etag: string | null;
  origin: string;
  at: number | string;
}

export const CHANGE_COLUMNS = 'seq, auid, tree, xui, path, old_etag, new_etag, origin, at';

export function changeFromRow(r: ChangeRow): DocChange {
  return {
    seq: Number(r.seq),
    key: keyFromColumns(r.auid, r.tree, r.xui, r.path),
    oldEtag: r.old_etag,
    newEtag: r.new_etag,
    origin: r.origin,
    at: Number(r.at),
  };
}

/**
 * The subscribers of one store instance. A listener that throws (which the contract
 * forbids) must not turn a committed write into a failed one, so its error is reported
 * as a process warning instead of propagating.
 */
export class ChangeListeners {
  readonly #listeners = new Set<(change: DocChange) => void>();

  get size(): number {
    return this.#listeners.size;
  }

  add(listener: (change: DocChange) => void): () => void {
    // Wrap so the same function subscribed twice gets two independent subscriptions.
    const entry = (change: DocChange) => listener(change);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  emit(change: DocChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (err) {
        process.emitWarning(`document store listener threw: ${String(err)}`);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}

/** `values` without repeats, in first-seen order. */
export function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}
