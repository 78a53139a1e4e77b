/**
 * What this process knows about the ids of one collection, to report deletes: a delete
 * leaves nothing in the directory to search for, so deletes are found by comparing an
 * id-only listing with the ids callers were given (change-token.ts).
 *
 * - `see()` records every id handed out (full reads, upserts, listings). The set may hold
 *   ids that are gone already; it must never lack one a caller holds.
 * - A delete scan lists the collection; ids known but not listed are confirmed gone by a
 *   search for them (an entry created while the listing ran, or handed out by a
 *   concurrent call, is found there and kept). Confirmed deletes go into a journal under
 *   a new sequence number.
 * - A token names the instance and the journal position it has seen; each caller gets
 *   the journal entries after its own position, so one scan serves every caller of the
 *   collection, whenever each of them runs next.
 * - The journal keeps the newest JOURNAL_LIMIT deleted ids; a token older than that is
 *   not served (the caller re-reads everything).
 */
import { randomUUID } from 'node:crypto';

/** Most deleted ids remembered per collection. */
export const JOURNAL_LIMIT = 100_000;

export class KnownIds {
  /** Names this memory in tokens: a token of another process or an earlier run is not covered by it. */
  readonly instance = randomUUID();
  /** When the last listing (or the first full read) happened, ms since the epoch. */
  listedAt: number;
  readonly #ids = new Set<string>();
  readonly #journal: { seq: number; ids: readonly string[] }[] = [];
  #seq = 0;
  /** Journal entries up to this sequence number were dropped. */
  #floor = 0;
  #journaled = 0;

  constructor(listedAt: number) {
    this.listedAt = listedAt;
  }

  /** Position after the newest journal entry. */
  get seq(): number {
    return this.#seq;
  }

  see(ids: Iterable<string>): void {
    for (const id of ids) this.#ids.add(id);
  }

  /** Known ids that `listed` lacks: the candidates a scan must confirm. */
  missingFrom(listed: ReadonlySet<string>): string[] {
    return [...this.#ids].filter((id) => !listed.has(id));
  }

  /** Records confirmed deletes (no-op for none). */
  deleted(ids: readonly string[]): void {
    if (ids.length === 0) return;
    for (const id of ids) this.#ids.delete(id);
    this.#journal.push({ seq: ++this.#seq, ids });
    this.#journaled += ids.length;
    while (this.#journaled > JOURNAL_LIMIT && this.#journal.length > 1) {
      const dropped = this.#journal.shift() as { seq: number; ids: readonly string[] };
      this.#journaled -= dropped.ids.length;
      this.#floor = dropped.seq;
    }
  }

  /** Ids deleted after position `seq`, or undefined when that part of the journal is gone. */
  since(seq: number): string[] | undefined {
    if (seq < this.#floor || seq > this.#seq) return undefined;
    return this.#journal.filter((e) => e.seq > seq).flatMap((e) => e.ids);
  }
}
