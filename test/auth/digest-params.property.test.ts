/**
 * The Digest auth-param reader (one pass, no regular expression, as it runs on every poll)
 * against the grammar written as one regular expression: on headers built from names,
 * blanks, commas, quotes and backslashes in every arrangement, both take the same params or
 * both refuse the header.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAuthParams, type DigestParams } from '../../src/auth/digest.ts';

// auth-param: token BWS "=" BWS (token / quoted-string), then a comma or the end; a quote not
// followed by a comma or the end stays inside a quoted value (python3-xcaplib's selectors).
const PARAM = /[ \t]*([A-Za-z0-9!#$%&'*+.^_`|~-]+)[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.|"(?![ \t]*(?:,|$)))*)"|([^\s,"]*))[ \t]*(?:,|$)/y;
const FIELD: Record<string, keyof DigestParams> = { 'username*': 'usernameExt' };
const READ = new Set(['username', 'username*', 'realm', 'nonce', 'uri', 'response', 'algorithm', 'qop', 'nc', 'cnonce', 'userhash']);

/** The params as the grammar reads them, or undefined (a syntax error, or a name given twice in any case). */
function byGrammar(header: string, from: number): DigestParams | undefined {
  const seen = new Set<string>();
  const out: DigestParams = {};
  PARAM.lastIndex = from;
  while (PARAM.lastIndex < header.length) {
    const at = PARAM.lastIndex;
    const m = PARAM.exec(header);
    if (m === null) return /^[ \t]*$/.test(header.slice(at)) ? out : undefined;
    const name = (m[1] as string).toLowerCase();
    if (seen.has(name)) return undefined;
    seen.add(name);
    const value = m[2] === undefined ? (m[3] as string) : m[2].replace(/\\(.)/g, '$1');
    if (READ.has(name)) out[FIELD[name] ?? (name as keyof DigestParams)] = value;
  }
  return out;
}

const pick = <T>(xs: readonly T[]) => fc.constantFrom(...xs);
const name = fc.oneof(pick(['username', 'realm', 'nonce', 'uri', 'response', 'algorithm', 'qop', 'nc', 'cnonce', 'userhash', 'username*', 'Username', 'NONCE', 'opaque', 'x']), fc.stringMatching(/^[a-z*]{1,3}$/));
const blank = pick(['', ' ', '\t', '  ']);
const quoted = fc.array(pick(['a', 'b', '"', ',', ' ', '\\', '[', '@', '=', '\t']), { maxLength: 8 }).map((cs) => `"${cs.join('')}"`);
const token = fc.array(pick(['a', '1', '-', '*', '"', ' ', ',', '\u00a0', '\\']), { maxLength: 5 }).map((cs) => cs.join(''));
/** Mostly right, sometimes wrong: a refusal ends the header early, and most draws should get far. */
const mostly = <T>(right: T, wrong: readonly T[]) => fc.oneof({ arbitrary: fc.constant(right), weight: 12 }, { arbitrary: pick(wrong), weight: 1 });
const param = fc.tuple(blank, name, blank, mostly('=', ['', '==']), blank, fc.oneof(quoted, token), blank).map((p) => p.join(''));
const header = fc.tuple(fc.array(fc.tuple(param, fc.oneof(mostly(', ', [',,', ' ', '']), pick([',', ' ,']))), { maxLength: 6 }), pick(['', ' ', ',', ', ', 'x'])).map(([ps, end]) => `Digest ${ps.map(([p, sep], i) => (i === ps.length - 1 ? p : p + sep)).join('')}${end}`);

describe('Digest auth-params: the one-pass reader takes what the grammar takes', () => {
  it('on headers of every shape', () => {
    let taken = 0;
    fc.assert(
      fc.property(header, (h) => {
        const expected = byGrammar(h, 7);
        if (expected !== undefined && Object.keys(expected).length > 0) taken++;
        expect(parseAuthParams(h, 7), JSON.stringify(h)).toEqual(expected);
      }),
      { numRuns: 20_000, seed: 4826 },
    );
    // The draw reaches headers both readers take with params in them, not only refusals.
    expect(taken).toBeGreaterThan(2000);
  });

  it('on a real client header, with unescaped quotes in the uri', () => {
    const h = 'Digest username="alice", realm="example.com", nonce="n0", uri="/x/~~/list[@name="friends"]", response="ab", qop=auth, nc=00000001, cnonce="c"';
    expect(parseAuthParams(h, 7)).toEqual({ username: 'alice', realm: 'example.com', nonce: 'n0', uri: '/x/~~/list[@name="friends"]', response: 'ab', qop: 'auth', nc: '00000001', cnonce: 'c' });
  });
});
