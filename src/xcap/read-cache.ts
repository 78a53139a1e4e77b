/**
 * What the read path keeps between requests: a document's stored bytes by ETag, so a GET
 * answers with the Buffer it answered with last time (no decode, no re-encode, no body read),
 * and the check that a cached entry is still the stored version: the store's change counter
 * when it has one (no query at all while nothing was written), else the stored ETag (a
 * one-column read instead of the body).
 */
import { BoundedMap } from '../bounded-map.ts';
import { cacheKey } from '../kept-string.ts';
import type { FeedClock } from '../feed/clock.ts';
import type { FeedBatch, FeedListener } from '../feed/hub.ts';
import type { DocKey, DocumentStore } from '../store/types.ts';

/** Something cached for one stored version of a document. */
export interface CachedVersion {
  readonly etag: string;
  /** The store's change counter when this entry was last found current. */
  checked?: string | undefined;
}

/** Whether `entry` is still the stored version of `key`; marks it checked at the current counter. */
export async function stillCurrent(store: DocumentStore, key: DocKey, entry: CachedVersion): Promise<boolean> {
  const counter = store.changeCounter?.();
  if (counter !== undefined && entry.checked === counter) return true;
  const head = await store.head(key);
  if (head?.etag !== entry.etag) return false;
  entry.checked = counter;
  return true;
}

interface BytesEntry extends CachedVersion {
  readonly bytes: Buffer;
}

/** Stored documents as bytes, most recently read first out last, up to `maxBytes` in all. */
export class StoredBytes {
  readonly #store: DocumentStore;
  readonly #maxBytes: number;
  readonly #entries: BoundedMap<string, BytesEntry>;

  /** @param maxBytes total size kept (never more); 0 keeps nothing. @defaultValue 32 MiB */
  constructor(store: DocumentStore, maxBytes = 32 * 1024 * 1024) {
    this.#store = store;
    this.#maxBytes = maxBytes;
    this.#entries = new BoundedMap({ limit: maxBytes, weigh: (e) => e.bytes.length });
  }

  /** The stored ETag and bytes of `key`, or undefined when there is no such document. */
  async get(key: DocKey, k: string): Promise<{ readonly etag: string; readonly bytes: Buffer } | undefined> {
    const hit = this.#entries.get(k);
    if (hit !== undefined && (await stillCurrent(this.#store, key, hit))) {
      // Set again: the one used longest ago is the one to drop.
      this.#entries.set(k, hit);
      return hit;
    }
    const counter = this.#store.changeCounter?.();
    const doc = await this.#store.get(key);
    this.#entries.delete(k);
    if (doc === undefined) return undefined;
    const entry: BytesEntry = { etag: doc.etag, bytes: Buffer.from(doc.body, 'utf8'), checked: counter };
    if (entry.bytes.length <= this.#maxBytes / 8) this.#entries.set(k, entry);
    return entry;
  }
}

/**
 * Document ETags as last read, for a store without a change counter (PostgreSQL): a
 * conditional GET whose ETag is the one kept here is answered 304 without a query. Kept
 * true by the change feed this process follows (FeedHub: NOTIFY and every poll): each
 * change drops its document, and nothing is trusted while the feed has not been read up to
 * date within `maxStaleMs`. So a poll may see another process's change up to `maxStaleMs`
 * late, never later; a write through this process drops its document at once (`changed`).
 */
export class FollowedEtags implements FeedListener {
  readonly #size: number;
  readonly #maxStaleMs: number;
  readonly #clock: FeedClock;
  readonly #syncedAt: () => number | undefined;
  readonly #etags: BoundedMap<string, string>;
  /** Changes seen so far; a read `mark`s it when it begins. */
  #count = 0;
  /** The count and new ETag of the last change of each recently changed document. */
  // Enough to cover the reads in flight; a read older than what is kept is not trusted.
  readonly #changed = new BoundedMap<string, { readonly n: number; readonly etag: string | null | undefined }>({ limit: CHANGES_KEPT, onEvict: (_k, c) => (this.#forgotThrough = c.n) });
  /** Reads that began at or before this count may have missed a change (forgotten, or the feed was missed). */
  #forgotThrough = 0;

  /**
   * @param syncedAt when the feed was last read up to date (FeedHub.syncedAt)
   * @param size most ETags kept, the one read from the store longest ago first out; 0 keeps none
   */
  constructor(opts: { readonly size: number; readonly maxStaleMs: number; readonly clock: FeedClock; readonly syncedAt: () => number | undefined }) {
    this.#size = opts.size;
    this.#maxStaleMs = opts.maxStaleMs;
    this.#clock = opts.clock;
    this.#syncedAt = opts.syncedAt;
    this.#etags = new BoundedMap({ limit: opts.size });
  }

  /** The kept ETag of `k`, while the feed is fresh enough to vouch for it. */
  get(k: string): string | undefined {
    const synced = this.#syncedAt();
    if (synced === undefined || this.#clock.now() - synced > this.#maxStaleMs) return undefined;
    return this.#etags.get(k);
  }

  /** Taken before reading a document from the store, for `set`. */
  mark(): number {
    return this.#count;
  }

  /** Keeps `etag` as `k`'s, read from the store after `mark`, unless a change seen meanwhile made it old. */
  set(k: string, etag: string, mark: number): void {
    if (this.#size === 0 || mark < this.#forgotThrough) return;
    const last = this.#changed.get(k);
    // ETags are never reused for a key: a later change to this very ETag leaves it current.
    if (last !== undefined && last.n > mark && last.etag !== etag) return;
    this.#etags.set(k, etag);
  }

  /** `k` was written (new ETag `etag`, null when deleted, undefined when not known). */
  changed(k: string, etag: string | null | undefined): void {
    const n = ++this.#count;
    if (this.#etags.get(k) !== etag) this.#etags.delete(k);
    this.#changed.set(k, { n, etag });
  }

  onAttached(): void {}

  onChanges(batch: FeedBatch): void {
    for (const c of batch.changes) this.changed(docCacheKey(c.key), c.newEtag);
  }

  /** Changes were missed: nothing kept can be vouched for. */
  onMissed(): void {
    this.#etags.clear();
    this.#changed.clear();
    this.#forgotThrough = ++this.#count;
  }
}

/** Recent changes remembered for the reads in flight (FollowedEtags.set). */
const CHANGES_KEPT = 10_000;

/** The key of a document in the caches of the read path. */
export function docCacheKey(key: DocKey): string {
  return cacheKey(key.auid, key.xui ?? '', key.path);
}
