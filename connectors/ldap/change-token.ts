/**
 * The LDAP change token.
 *
 * Without syncrepl (ldapts cannot do RFC 4533) changes are found by polling:
 * - `marker`: the directory's change marker (contextCSN of the suffix, or AD's
 *   highestCommittedUSN) when the token was made. Every add, modify and rename in the
 *   database moves it, so an equal marker means no entry changed: the run costs one
 *   base-scope search (plus, when one is due, the listing below).
 * - `since`: the highest value of the delta attribute seen. When the marker moved, entries
 *   changed after it are the upserts. With entryCSN (the default) that is exact: a CSN is
 *   unique per change, so the search asks for `entryCSN >= since` and not `= since`.
 *   With modifyTimestamp the search must use `>= since` (one-second resolution); `edge`
 *   then holds short hashes of id + version of the entries stamped exactly `since`, so
 *   those are not reported again while unchanged. Above EDGE_LIMIT such entries the edge
 *   is dropped and they may be re-reported, which is harmless: the engine compares
 *   versions.
 * - Deletes leave nothing to search for and may not move the marker at all, so they are
 *   found apart from it: an id-only listing at least every `deleteScanIntervalMs`,
 *   whether or not the marker moved, compared with the ids this process handed out
 *   (known-ids.ts). `instance` names that memory and `scan` the position in its delete
 *   journal the token has seen; each run gets the deletes after its own position. A token
 *   of another instance (another process, a restart, a `sync run` by hand) is served
 *   without deletes until a listing is due by its `listedAt`; then the listing's ids go
 *   back as the ChangeSet's `present`, the caller compares them with the ids it holds, and
 *   the new token names this process's memory (no full read).
 * - `listedAt`: when the listing the token has seen happened (ms since epoch).
 * - `collection`: tokens are not transferable between collections.
 */
import { createHash } from 'node:crypto';

export interface ChangeToken {
  readonly collection: string;
  readonly marker: string;
  readonly since: string;
  readonly edge: readonly string[];
  readonly instance: string;
  readonly scan: number;
  readonly listedAt: number;
}

const VERSION = 2;

export function encodeToken(t: ChangeToken): string {
  return Buffer.from(JSON.stringify({ v: VERSION, ...t })).toString('base64url');
}

/** The decoded token, or undefined when it is not one of ours (the caller says token-expired). */
export function decodeToken(token: string): ChangeToken | undefined {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (t.v !== VERSION) return undefined;
    const { collection, marker, since, edge, instance, scan, listedAt } = t;
    if (typeof collection !== 'string' || typeof marker !== 'string' || typeof since !== 'string' || typeof instance !== 'string') return undefined;
    if (typeof scan !== 'number' || typeof listedAt !== 'number') return undefined;
    if (!Array.isArray(edge) || !edge.every((e) => typeof e === 'string')) return undefined;
    return { collection, marker, since, edge, instance, scan, listedAt };
  } catch {
    return undefined;
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
