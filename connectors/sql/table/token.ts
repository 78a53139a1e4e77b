/**
 * The change token of table mode: the highest stamp seen (`v`) plus what was already
 * reported within the last `lookback` stamps, so a transaction that took an early stamp
 * but committed after a later one is still found, and nothing is reported twice.
 * Base64url JSON behind a `sql1.` prefix; anything else is an unknown token.
 */

export interface TableToken {
  /** The highest stamp seen (with `updatedAt`: the latest time, in microseconds). */
  readonly v: number;
  /** id → stamp of rows already reported inside the window (with `updatedAt`: their version, as rows may tie in time). */
  readonly up: Readonly<Record<string, number | string>>;
  /** id → stamp of tombstones already reported inside the window. */
  readonly del: Readonly<Record<string, number>>;
  /** With `updatedAt`: the highest tombstone stamp (tombstones keep the counter; `v` is time). */
  readonly d?: number;
}

const PREFIX = 'sql1.';

export function encodeToken(t: TableToken): string {
  return PREFIX + Buffer.from(JSON.stringify(t)).toString('base64url');
}

export function decodeToken(s: string): TableToken | undefined {
  if (!s.startsWith(PREFIX)) return undefined;
  try {
    const t = JSON.parse(Buffer.from(s.slice(PREFIX.length), 'base64url').toString('utf8')) as TableToken;
    if (typeof t.v !== 'number' || typeof t.up !== 'object' || typeof t.del !== 'object' || t.up === null || t.del === null) return undefined;
    if (t.d !== undefined && typeof t.d !== 'number') return undefined;
    return t;
  } catch {
    return undefined;
  }
}
