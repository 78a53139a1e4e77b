/**
 * DocCache: bound documents kept parsed between sync runs of one process, so a run whose
 * change touches a few items of a big document edits the kept DOM instead of parsing,
 * indexing and hashing the whole document again (the XCAP service keeps DOMs for the
 * request path the same way).
 *
 * An entry belongs to one binding and scope and is valid for exactly one document ETag.
 * `take` removes the entry it returns: the runner edits the DOM in place, so an entry is
 * put back only with the ETag of the body written from it (or the unchanged ETag when the
 * run wrote nothing). A failed run therefore never leaves an edited DOM behind. The queue
 * runs one binding + scope at a time, so entries are never shared by two runs.
 */
import type { BoundList } from './mapping/element-list.ts';

export interface CachedList {
  /** ETag of the stored body the list was parsed from or written as. */
  readonly etag: string;
  readonly list: BoundList;
  /** Length of that body, as a proxy for the DOM's size. */
  readonly chars: number;
  /** The body passed the usage's validation (sync wrote it), so an edit may validate only what it wrote. */
  readonly valid: boolean;
}

export class DocCache {
  readonly #entries = new Map<string, CachedList>();
  readonly #maxChars: number;
  #chars = 0;

  /**
   * @param maxChars Budget over the cached bodies' lengths; the least recently used
   * entries go first. A DOM costs roughly ten times its text in memory.
   */
  constructor(maxChars = 32_000_000) {
    this.#maxChars = maxChars;
  }

  /** Removes and returns the entry of `binding` + `scope` if it was made for `etag`; a stale entry is dropped. */
  take(binding: string, scope: string, etag: string): CachedList | undefined {
    const k = cacheKey(binding, scope);
    const hit = this.#entries.get(k);
    if (!hit) return undefined;
    this.#entries.delete(k);
    this.#chars -= hit.chars;
    return hit.etag === etag ? hit : undefined;
  }

  /** Keeps `list` as the parsed form of the body with `etag` (a body longer than the budget is not kept). */
  put(binding: string, scope: string, entry: CachedList): void {
    const k = cacheKey(binding, scope);
    const old = this.#entries.get(k);
    if (old) {
      this.#entries.delete(k);
      this.#chars -= old.chars;
    }
    if (entry.chars > this.#maxChars) return;
    for (const [key, e] of this.#entries) {
      if (this.#chars + entry.chars <= this.#maxChars) break;
      this.#entries.delete(key);
      this.#chars -= e.chars;
    }
    this.#entries.set(k, entry);
    this.#chars += entry.chars;
  }
}

function cacheKey(binding: string, scope: string): string {
  return `${binding}\u0000${scope}`;
}
