/**
 * Strings that a long-lived cache keeps, as one flat string each.
 *
 * V8 builds `a + b` (and a template literal) as a rope: a small object that points at both
 * parts. It builds `s.slice(i, j)` of 13 characters or more as a view that keeps all of `s`
 * alive. A login cache keyed by `${username}\0${realm}`, with the username sliced from the
 * Authorization header, therefore kept that whole header and three heap objects per user,
 * all marked by every full collection (in a 100,000-entry simulation one took 30–46 ms with
 * such keys, 20–24 ms with flat ones).
 */

/** The parts joined by NUL: one flat string, which holds none of the strings it came from. */
export function cacheKey(...parts: string[]): string {
  // Array.prototype.join writes the parts into one new string (unlike +); a lone part
  // would come back as it is.
  return parts.length === 1 ? keptCopy(parts[0] as string) : parts.join('\0');
}

/** A flat copy of `s` that does not keep the string `s` may be a slice of. */
export function keptCopy(s: string): string {
  // The only copy of a lone string JavaScript has: join, slice, concat, normalize and
  // toLowerCase all give back `s` itself when nothing changes.
  return s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string);
}
