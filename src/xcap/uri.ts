/**
 * XCAP URI parsing (RFC 4825 §6): `{root}/{auid}/{global|users/{xui}}/{doc path}[/~~/{node selector}][?xmlns(p=ns)...]`.
 *
 * The parser takes the raw request target (path + query, as on the request line) and
 * returns its decoded parts. It accepts what deployed clients send:
 * - raw `sip:`, `@`, `:` in XUIs, and raw or percent-encoded `"` `[` `]` `/` `?` in selectors;
 * - a fully percent-encoded selector whose `?` (start of the xmlns() query) is `%3F` (Doubango);
 * - the selector right after `~~` with or without the separating `/`;
 * - a realm suffix on the root, `/xcap-root@example.com/...` (eyeBeam/Bria): an XUI without
 *   a domain then gets that domain.
 *
 * The node selector is percent-decoded as a whole and split into steps later by the
 * selector parser, which knows quoting: a `/` or `?` inside a predicate value is data.
 *
 * Errors: `NotFound` when the path is not under the root or names no tree; `BadRequest`
 * for anything malformed. No other exception escapes (pinned by a property test).
 */
import { BadRequest, NotFound } from './errors.ts';

export interface XcapUri {
  /** The root as the client used it, e.g. `/xcap-root` or `/xcap-root@example.com`. */
  rootPath: string;
  auid: string;
  /** Canonical XUI (`sip:alice@example.com`, `tel:+123`), or null for the global tree. */
  xui: string | null;
  /** Decoded document path below the tree, no leading slash: `index`, `a/b.xml`. */
  docPath: string;
  /** Decoded node selector after `~~` (leading `/` removed), or null if none. */
  selector: string | null;
  /** prefix → namespace URI from the `xmlns(p=ns)` query parts. */
  namespaces: Record<string, string>;
  /** Canonical percent-encoded path of the document (`rootPath/auid/tree/doc`), for `<ancestor>`. */
  documentUri: string;
}

export interface ParseXcapUriOptions {
  /** The XCAP root path this server answers under. @defaultValue '/xcap-root' */
  root: string;
  /** Domain given to an XUI without one when the root carries no realm suffix. */
  defaultDomain?: string;
}

/**
 * Parses a raw request target. See the file header for what is accepted.
 * @throws NotFound when the path is not under `opts.root`, or the tree is neither `global` nor `users`.
 * @throws BadRequest for malformed percent-encoding, NUL bytes, empty or dot segments, a
 *   missing auid/XUI/document, an XUI without a domain, or a malformed xmlns() query.
 */
export function parseXcapUri(rawPathAndQuery: string, opts: ParseXcapUriOptions): XcapUri {
  const root = stripTrailingSlash(opts.root || '/xcap-root');
  const raw = rawPathAndQuery;
  if (!raw.startsWith(root)) throw new NotFound('not under the XCAP root');

  const qmark = raw.indexOf('?');
  const pathEnd = qmark === -1 ? raw.length : qmark;
  let pos = root.length;

  // Realm suffix on the root: `/xcap-root@example.com/...`.
  let realm: string | undefined;
  if (raw.charCodeAt(pos) === 0x40 /* @ */) {
    const end = indexOrEnd(raw, '/', pos, pathEnd);
    realm = decode(raw.slice(pos + 1, end));
    if (realm === '' || realm.includes('/')) throw new BadRequest('empty realm after the XCAP root');
    pos = end;
  }
  const rootPath = raw.slice(0, pos);
  if (pos < pathEnd && raw.charCodeAt(pos) !== 0x2f /* / */) throw new NotFound('not under the XCAP root');

  // Path segments up to the node selector marker (a segment starting with `~~`).
  const segments: string[] = [];
  let selectorRaw: string | null = null;
  let queryRaw: string | null = qmark === -1 ? null : raw.slice(qmark + 1);
  while (pos < pathEnd) {
    const start = pos + 1;
    const end = indexOrEnd(raw, '/', start, pathEnd);
    const marker = selectorMarkerLength(raw, start, end);
    if (marker > 0) {
      // Everything after the marker, query included: a `?` may sit inside a quoted value.
      selectorRaw = raw.slice(start + marker);
      queryRaw = null;
      break;
    }
    segments.push(decodeSegment(raw.slice(start, end)));
    pos = end;
  }

  const auid = segments[0];
  if (auid === undefined || auid === '') throw new BadRequest('missing application usage');
  const tree = segments[1];
  let xui: string | null = null;
  let docStart = 2;
  if (tree === 'users') {
    const rawXui = segments[2];
    if (rawXui === undefined || rawXui === '') throw new BadRequest('missing XUI');
    xui = canonicalXui(rawXui, realm ?? opts.defaultDomain);
    docStart = 3;
  } else if (tree !== 'global') {
    throw tree === undefined || tree === '' ? new BadRequest('missing document tree') : new NotFound('no such tree');
  }
  const docSegments = segments.slice(docStart);
  if (docSegments.length === 0) throw new BadRequest('missing document');
  for (const s of docSegments) {
    if (s === '' || s === '.' || s === '..') throw new BadRequest('empty or dot segment in the document path');
  }

  let selector: string | null = null;
  if (selectorRaw !== null) {
    const decoded = decode(selectorRaw);
    const split = unquotedIndexOf(decoded, 0x3f /* ? */);
    let text = split === -1 ? decoded : decoded.slice(0, split);
    if (split !== -1) queryRaw = decoded.slice(split + 1);
    let i = 0;
    while (text.charCodeAt(i) === 0x2f) i++;
    text = text.slice(i);
    if (text === '') throw new BadRequest('empty node selector');
    selector = text;
  }
  const namespaces = queryRaw === null ? {} : parseXmlnsQuery(selectorRaw === null ? decode(queryRaw) : queryRaw);

  const tail = xui === null ? 'global' : `users/${encodePathSegment(xui)}`;
  const documentUri = `${rootPath}/${encodePathSegment(auid)}/${tail}/${docSegments.map(encodePathSegment).join('/')}`;
  return { rootPath, auid, xui, docPath: docSegments.join('/'), selector, namespaces, documentUri };
}

/**
 * Canonical XUI (RFC 4825 §4: a SIP URI for most usages): `alice@example.com` →
 * `sip:alice@example.com`; `sip:`/`sips:`/`tel:` URIs keep their form; a bare user or a
 * `sip:` URI without a host gets `domain`. Scheme and host are lower-cased (both are
 * case-insensitive in SIP), so one user has one document key. Exported so authentication
 * derives the principal's XUI the same way.
 * @throws BadRequest when there is no domain to give an XUI that needs one.
 */
export function canonicalXui(xui: string, domain?: string): string {
  const colon = xui.indexOf(':');
  const scheme = colon === -1 ? '' : xui.slice(0, colon).toLowerCase();
  if (scheme === 'tel') return 'tel' + xui.slice(colon);
  let rest = scheme === 'sip' || scheme === 'sips' ? xui.slice(colon + 1) : xui;
  const at = rest.lastIndexOf('@');
  if (at === -1) {
    if (domain === undefined || domain === '') throw new BadRequest('XUI has no domain');
    rest = `${rest}@${domain}`;
  }
  const hostAt = rest.lastIndexOf('@') + 1;
  if (hostAt === rest.length) throw new BadRequest('XUI has an empty domain');
  const head = scheme === 'sips' ? 'sips:' : 'sip:';
  return head + rest.slice(0, hostAt) + rest.slice(hostAt).toLowerCase();
}

/** Percent-encodes a path segment: keeps RFC 3986 `pchar` (unreserved, sub-delims, `:`, `@`). */
export function encodePathSegment(s: string): string {
  return encodeKeeping(s, PCHAR);
}

/**
 * Percent-encodes node selector text for a URI: `/` between steps stays, a `/` inside a
 * quoted predicate value becomes `%2F`, and `[ ] " ?` etc. are encoded (they are not pchar).
 */
export function encodeSelector(text: string): string {
  let out = '';
  let from = 0;
  // A step boundary is outside quotes, so the scan can resume right after it.
  for (let slash = unquotedIndexOf(text, 0x2f); slash !== -1; slash = unquotedIndexOf(text, 0x2f, from)) {
    out += encodePathSegment(text.slice(from, slash)) + '/';
    from = slash + 1;
  }
  return out + encodePathSegment(text.slice(from));
}

/** Builds the `?xmlns(p=ns)...` query for `namespaces`, or '' when there are none. */
export function formatXmlnsQuery(namespaces: Record<string, string>): string {
  let q = '';
  for (const [prefix, ns] of Object.entries(namespaces)) {
    q += `xmlns(${prefix}=${encodeKeeping(ns.replace(/[()^]/g, '^$&'), QUERY_CHAR)})`;
  }
  return q === '' ? '' : '?' + q;
}

/** Length of the `~~` marker opening the segment raw[start, end), or 0 if it is not one. */
function selectorMarkerLength(raw: string, start: number, end: number): number {
  if (raw.startsWith('~~', start)) return 2;
  // `~` is unreserved, but some encoders escape it anyway.
  const six = raw.slice(start, Math.min(start + 6, end)).toLowerCase();
  return six === '%7e%7e' ? 6 : 0;
}

/**
 * Parses the XPointer xmlns() scheme parts: `xmlns(p=ns)xmlns(q="ns2")`, separated by
 * nothing, `&` or whitespace. `^` escapes `(`, `)` and `^` inside the namespace; a namespace in
 * double or single quotes (Doubango) is unquoted.
 */
function parseXmlnsQuery(query: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  let i = 0;
  const n = query.length;
  while (i < n) {
    const c = query.charCodeAt(i);
    if (c === 0x26 || c === 0x3f || isSpace(c)) {
      i++;
      continue;
    }
    if (!query.startsWith('xmlns(', i)) throw new BadRequest('query is not a sequence of xmlns() parts');
    i += 6;
    const eq = query.indexOf('=', i);
    if (eq === -1) throw new BadRequest('xmlns() without =');
    const prefix = query.slice(i, eq).trim();
    if (!isNcName(prefix)) throw new BadRequest('xmlns() prefix is not an NCName');
    i = eq + 1;
    let ns = '';
    let closed = false;
    while (i < n) {
      const ch = query[i]!;
      if (ch === '^') {
        const next = query[i + 1];
        if (next !== '(' && next !== ')' && next !== '^') throw new BadRequest('bad ^ escape in xmlns()');
        ns += next;
        i += 2;
      } else if (ch === ')') {
        closed = true;
        i++;
        break;
      } else {
        ns += ch;
        i++;
      }
    }
    if (!closed) throw new BadRequest('unterminated xmlns()');
    ns = ns.trim();
    const q = ns.charCodeAt(0);
    if (ns.length >= 2 && (q === 0x22 || q === 0x27) && ns.charCodeAt(ns.length - 1) === q) ns = ns.slice(1, -1);
    if (ns === '') throw new BadRequest('empty namespace in xmlns()');
    out[prefix] = ns;
  }
  return out;
}

/** First index of `code` at or after `from` (which must be outside quotes) outside single/double quotes, or -1. */
function unquotedIndexOf(s: string, code: number, from = 0): number {
  let quote = 0;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 0x22 || c === 0x27) {
      quote = c;
    } else if (c === code) {
      return i;
    }
  }
  return -1;
}

function decodeSegment(raw: string): string {
  const s = decode(raw);
  if (s.includes('/')) throw new BadRequest('encoded / in a path segment');
  return s;
}

/** Strict percent-decoding to UTF-8 text; refuses NUL. */
function decode(raw: string): string {
  let s = raw;
  if (raw.includes('%')) {
    try {
      s = decodeURIComponent(raw);
    } catch {
      throw new BadRequest('malformed percent-encoding');
    }
  }
  if (s.includes('\0')) throw new BadRequest('NUL in URI');
  return s;
}

function indexOrEnd(s: string, ch: string, from: number, end: number): number {
  const i = s.indexOf(ch, from);
  return i === -1 || i > end ? end : i;
}

function stripTrailingSlash(s: string): string {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

const NC_NAME = /^[A-Z_a-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\u{10000}-\u{EFFFF}][-.0-9A-Z_a-z\u00B7\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u037D\u037F-\u1FFF\u200C-\u200D\u203F-\u2040\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\u{10000}-\u{EFFFF}]*$/u;

/** XML Namespaces NCName (a Name without `:`). One anchored character-class loop: linear. */
export function isNcName(s: string): boolean {
  return NC_NAME.test(s);
}

/** ASCII characters kept unencoded, as a 128-entry table. */
function asciiTable(keep: string): Uint8Array {
  const t = new Uint8Array(128);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  for (const ch of keep) t[ch.charCodeAt(0)] = 1;
  return t;
}
const PCHAR = asciiTable("-._~!$&'()*+,;=:@");
const QUERY_CHAR = asciiTable("-._~!$'()*+,;=:@/?");

function encodeKeeping(s: string, keep: Uint8Array): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 128 && keep[c] === 1) continue;
    let end = i + 1;
    // Keep surrogate pairs together for encodeURIComponent.
    if (c >= 0xd800 && c <= 0xdbff && end < s.length) end++;
    out += s.slice(from, i) + encodeURIComponent(s.slice(i, end));
    from = end;
    i = end - 1;
  }
  return from === 0 ? s : out + s.slice(from);
}
