/**
 * The LDAP change token, and the id set it vouches for.
 *
 * Without syncrepl (ldapts cannot do RFC 4533) changes are found by polling:
 * - `marker`: the directory's change marker (contextCSN of the suffix, or AD's
 *   highestCommittedUSN) when the token was made. Every add, modify, rename and delete in
 *   the database moves it, so an equal marker means nothing changed: the run costs one
 *   base-scope search.
 * - `since`: the highest value of the delta attribute seen. When the marker moved, entries
 *   changed after it are the upserts. With entryCSN (the default) that is exact: a CSN is
 *   unique per change, so the search asks for `entryCSN >= since` and not `= since`.
 *   With modifyTimestamp the search must use `>= since` (one-second resolution); `edge`
 *   then holds short hashes of id + version of the entries stamped exactly `since`, so
 *   those are not reported again while unchanged. Above EDGE_LIMIT such entries the edge
 *   is dropped and they may be re-reported, which is harmless: the engine compares
 *   versions.
 * - Deletes leave nothing to search for, so they are found by an id-only listing, at most
 *   every `deleteScanIntervalMs`, compared with the ids known when the token was made.
 *   The token carries only a digest of that id set (`ids`: count + XOR of per-id hashes,
 *   updatable one id at a time); the set itself is kept in the connector's memory. When
 *   a listing is due and the memory does not hold the set the token vouches for (another
 *   process, a restart), `changes()` answers `'token-expired'` and the engine falls back
 *   to list + read, which finds the deletes.
 * - `listedAt`: when the last id listing happened (ms since epoch).
 * - `collection`: tokens are not transferable between collections.
 */
import { createHash } from 'node:crypto';

export interface ChangeToken {
  readonly collection: string;
  readonly marker: string;
  readonly since: string;
  readonly edge: readonly string[];
  readonly ids: string;
  readonly listedAt: number;
}

const VERSION = 1;

export function encodeToken(t: ChangeToken): string {
  return Buffer.from(JSON.stringify({ v: VERSION, ...t })).toString('base64url');
}

/** The decoded token, or undefined when it is not one of ours (the caller says token-expired). */
export function decodeToken(token: string): ChangeToken | undefined {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (t.v !== VERSION) return undefined;
    const { collection, marker, since, edge, ids, listedAt } = t;
    if (typeof collection !== 'string' || typeof marker !== 'string' || typeof since !== 'string' || typeof ids !== 'string' || typeof listedAt !== 'number') return undefined;
    if (!Array.isArray(edge) || !edge.every((e) => typeof e === 'string')) return undefined;
    return { collection, marker, since, edge, ids, listedAt };
  } catch {
    return undefined;
  }
}

/** A set of item ids with an order-independent digest kept up to date on every add/delete. */
export class IdSet {
  readonly #ids = new Set<string>();
  #xor = 0n;

  static #hash(id: string): bigint {
    return createHash('md5').update(id).digest().readBigUInt64BE(0);
  }

  constructor(ids: Iterable<string> = []) {
    for (const id of ids) this.add(id);
  }

  add(id: string): void {
    if (this.#ids.has(id)) return;
    this.#ids.add(id);
    this.#xor ^= IdSet.#hash(id);
  }

  delete(id: string): void {
    if (!this.#ids.delete(id)) return;
    this.#xor ^= IdSet.#hash(id);
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  [Symbol.iterator](): IterableIterator<string> {
    return this.#ids.values();
  }

  get digest(): string {
    return `${this.#ids.size}:${this.#xor.toString(16)}`;
  }
}

/** Most entries remembered at the `since` second (see the header). */
export const EDGE_LIMIT = 1000;

function edgeHash(id: string, version: string): string {
  return createHash('md5').update(id).update('\0').update(version).digest('base64url').slice(0, 12);
}

/** The (since, edge) pair of a token being built while a search result streams by. */
export class Watermark {
  readonly #start: string;
  readonly #startEdge: ReadonlySet<string>;
  #since: string;
  #edge: Set<string>;

  constructor(since = '', edge: readonly string[] = []) {
    this.#start = since;
    this.#startEdge = new Set(edge);
    this.#since = since;
    this.#edge = new Set(edge);
  }

  /** True when the entry was already reported, unchanged, under the starting token. */
  reported(timestamp: string, id: string, version: string): boolean {
    return timestamp === this.#start && this.#startEdge.has(edgeHash(id, version));
  }

  /** Moves the watermark past one entry. */
  see(timestamp: string, id: string, version: string): void {
    if (timestamp > this.#since) {
      this.#since = timestamp;
      this.#edge = new Set();
    }
    if (timestamp === this.#since && this.#edge.size <= EDGE_LIMIT) this.#edge.add(edgeHash(id, version));
  }

  get since(): string {
    return this.#since;
  }

  get edge(): string[] {
    return this.#edge.size > EDGE_LIMIT ? [] : [...this.#edge];
  }
}
