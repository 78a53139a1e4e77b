/**
 * What the read path keeps between requests: a document's stored bytes by ETag, so a GET
 * answers with the Buffer it answered with last time (no decode, no re-encode, no body read),
 * and the check that a cached entry is still the stored version: the store's change counter
 * when it has one (no query at all while nothing was written), else the stored ETag (a
 * one-column read instead of the body).
 */
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
  readonly #entries = new Map<string, BytesEntry>();
  #size = 0;

  /** @param maxBytes total size kept; 0 keeps nothing. @defaultValue 32 MiB */
  constructor(store: DocumentStore, maxBytes = 32 * 1024 * 1024) {
    this.#store = store;
    this.#maxBytes = maxBytes;
  }

  /** The stored ETag and bytes of `key`, or undefined when there is no such document. */
  async get(key: DocKey, k: string): Promise<{ readonly etag: string; readonly bytes: Buffer } | undefined> {
    const hit = this.#entries.get(k);
    if (hit !== undefined && (await stillCurrent(this.#store, key, hit))) {
      // Most recently used last, so the first key is the one to drop.
      this.#entries.delete(k);
      this.#entries.set(k, hit);
      return hit;
    }
    const counter = this.#store.changeCounter?.();
    const doc = await this.#store.get(key);
    this.#drop(k);
    if (doc === undefined) return undefined;
    const entry: BytesEntry = { etag: doc.etag, bytes: Buffer.from(doc.body, 'utf8'), checked: counter };
    if (entry.bytes.length <= this.#maxBytes / 8) {
      this.#entries.set(k, entry);
      this.#size += entry.bytes.length;
      for (const oldest of this.#entries.keys()) {
        if (this.#size <= this.#maxBytes) break;
        this.#drop(oldest);
      }
    }
    return entry;
  }

  #drop(k: string): void {
    const e = this.#entries.get(k);
    if (e === undefined) return;
    this.#size -= e.bytes.length;
    this.#entries.delete(k);
  }
}
