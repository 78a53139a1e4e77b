/**
 * Every parse of client XML goes through here (@xmldom/xmldom 0.9), so the refusals are
 * made once:
 * - bodies must be UTF-8 (RFC 4825 §8.2.2, `not-utf-8`), and say so if they declare an
 *   encoding: a declaration naming another one would contradict the stored bytes;
 * - no DOCTYPE at all: entity declarations are refused without being expanded, so XXE
 *   and entity-expansion bombs never run (CWE-611, CWE-776);
 * - xmldom's lenient recoveries (unquoted attributes, undefined entities, content
 *   outside the root) are errors, not warnings;
 * - characters outside the XML Char production are refused (xmldom lets them through);
 * - the parser's complaint is reworded for people, with the line and column (xml-phrases.ts).
 */
import { createRequire } from 'node:module';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import type { Document, Element, Node } from '@xmldom/xmldom';
import { NotUtf8, NotWellFormed, NotXmlFrag } from './errors.ts';
import { serializeDocument, type SerializeMemo } from './serializer.ts';
import { at, atLine } from './text-position.ts';
import { xmldomPhrase } from './xml-phrases.ts';

export const XML_NS = 'http://www.w3.org/XML/1998/namespace';
export const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/**
 * xmldom 0.9's parser builds a new RegExp from its (long, Unicode) name grammar for every
 * end tag (`grammar.reg`), which was most of a parse's time. The expressions depend only
 * on their parts, which are the grammar's own constants, and none has the g or y flag (no
 * lastIndex state), so one compiled RegExp per combination of parts serves every call.
 */
function memoizeXmldomGrammar(): void {
  const grammar = createRequire(import.meta.url)('@xmldom/xmldom/lib/grammar.js') as { reg?: unknown };
  const reg = grammar.reg;
  if (typeof reg !== 'function') return;
  type Level = Map<unknown, Level> & { regexp?: RegExp };
  const root: Level = new Map();
  grammar.reg = function memoizedReg(this: unknown, ...parts: unknown[]): RegExp {
    let level = root;
    for (const part of parts) {
      let next = level.get(part);
      if (next === undefined) level.set(part, (next = new Map()));
      level = next;
    }
    return (level.regexp ??= (reg as (...p: unknown[]) => RegExp).apply(this, parts));
  };
}
memoizeXmldomGrammar();

const utf8 = new TextDecoder('utf-8', { fatal: true });
const serializer = new XMLSerializer();
// C0 controls other than tab/LF/CR, and U+FFFE/U+FFFF: not XML Chars. (Lone surrogates
// cannot come out of the fatal UTF-8 decoder.)
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const NON_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/**
 * Decodes a request body; a leading BOM is dropped.
 * @throws NotUtf8 on invalid UTF-8, on UTF-16 or UTF-32 without a BOM (NULs around the
 *   first `<`), and on an XML declaration naming any encoding but UTF-8.
 */
export function decodeUtf8(body: Buffer): string {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new NotUtf8(`the body is not valid UTF-8 (first bad byte at offset ${firstBadUtf8Byte(body)})`);
  }
  if (text.charCodeAt(0) === 0 || text.charCodeAt(1) === 0) throw new NotUtf8('the body looks like UTF-16 or UTF-32; XCAP bodies are UTF-8');
  if (text.startsWith('<?xml')) {
    const end = text.indexOf('?>');
    const decl = XML_DECL_ENCODING.exec(text.slice(0, end < 0 ? 512 : Math.min(end, 512)));
    if (decl !== null && decl[2]!.toUpperCase() !== 'UTF-8') {
      throw new NotUtf8(`the XML declaration names the encoding ${decl[2]!.slice(0, 40)}; XCAP bodies are UTF-8`);
    }
  }
  return text;
}
const XML_DECL_ENCODING = /^<\?xml[ \t\r\n][^>]*?\bencoding[ \t\r\n]*=[ \t\r\n]*(["'])(.*?)\1/;

/** Offset of the first byte that breaks UTF-8 (RFC 3629 §4); only called once decoding has failed. */
function firstBadUtf8Byte(b: Buffer): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0; // overlong
      else if (c === 0xed) hi = 0x9f; // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90; // overlong
      else if (c === 0xf4) hi = 0x8f; // past U+10FFFF
    } else return i;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return b.length;
}

/**
 * Refuses any document type declaration before a parser sees the text, for paths that
 * hand the text to libxml2 without xmldom (XXE and entity bombs never reach a parser).
 * A `<!DOCTYPE` inside a comment or CDATA is refused too: no XCAP document needs one.
 * @throws NotWellFormed
 */
export function refuseDoctype(text: string): void {
  const k = text.indexOf('<!DOCTYPE');
  if (k >= 0) throw new NotWellFormed(`DOCTYPE is not accepted (${at(text, k)})`);
}

/**
 * Parses a whole document: exactly one root element, optionally preceded by the XML
 * declaration and surrounded by comments, processing instructions and whitespace.
 * @throws NotWellFormed for anything else, including any DOCTYPE.
 */
export function parseDocument(text: string): Document {
  const doc = parse(text, undefined, NotWellFormed);
  if (doc.doctype) refuseDoctype(text);
  return doc;
}

/**
 * Parses the body of an element PUT (application/xcap-el+xml): exactly one element, with
 * optional XML declaration, comments and whitespace around it (RFC 4825 §7.4 asks for
 * one element; the extras are what clients send and carry no data).
 *
 * A fragment is written against the document it goes into: prefixes (and the default
 * namespace) not declared in the fragment resolve as in scope at `context`, the element
 * that will be its parent (the same bindings a GET of the element would have shown). So
 * `<entry uri="..."/>` put under a resource-lists `<list>` is a resource-lists entry.
 * The element returned belongs to a scratch document; import it before inserting.
 * @throws NotXmlFrag when the body is not one well-formed element, or has a DOCTYPE.
 */
export function parseElementFragment(text: string, context: Element | null): Element {
  const doc = parse(text, context === null ? undefined : inScopeNamespaces(context), NotXmlFrag);
  if (doc.doctype) throw new NotXmlFrag(`DOCTYPE is not accepted (${at(text, Math.max(0, text.indexOf('<!DOCTYPE')))})`);
  return doc.documentElement!;
}

/**
 * Serializes a node; a detached element gets the namespace declarations it needs.
 * Documents take the lean path (serializer.ts) unless they need xmldom's namespace repair.
 */
export function serialize(node: Node, memo?: SerializeMemo): string {
  return (node.nodeType === 9 ? serializeDocument(node as Document, memo) : null) ?? serializer.serializeToString(node);
}

/**
 * Whether `text` is a valid attribute value for an attribute PUT (RFC 4825 §8.2.2,
 * `not-xml-att-value`): the AttValue production without its quotes, i.e. no `<`, every
 * `&` starting a predefined entity or character reference, only XML characters, and not
 * both quote characters raw (no quoting could enclose it).
 */
export function isValidAttValue(text: string): boolean {
  if (text.includes('"') && text.includes("'")) return false;
  return decodeReferences(text) !== null;
}

/**
 * The value an AttValue body stands for: references decoded and literal whitespace
 * normalized to spaces, as an XML parser would (XML 1.0 §3.3.3). Null if not valid per
 * `isValidAttValue`.
 */
export function attValueToString(text: string): string | null {
  if (text.includes('"') && text.includes("'")) return null;
  return normalizeAttValue(text);
}

/**
 * AttValue content (quotes excluded) to the value it stands for: literal whitespace
 * becomes a space, then references are decoded (XML 1.0 §3.3.3). Null if not valid.
 * Shared by attribute PUT bodies and node selector attribute tests, so both read a value
 * the way the XML parser read the document.
 */
export function normalizeAttValue(text: string): string | null {
  return decodeReferences(text.replace(/\r\n|[\t\n\r]/g, ' '));
}

/** Escapes an attribute value as an AttValue body (inverse of `attValueToString`). */
export function stringToAttValue(value: string): string {
  return value.replace(/[&<"\t\n\r]/g, (c) => ATT_ESCAPES[c]!);
}
const ATT_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '"': '&quot;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Decodes the predefined entities and character references of AttValue content (quotes
 * excluded). Null if it contains `<`, a `&` that starts no valid reference, or a
 * non-XML character (raw or referenced).
 */
export function decodeReferences(text: string): string | null {
  if (text.includes('<') || NON_XML_CHAR.test(text)) return null;
  let amp = text.indexOf('&');
  if (amp === -1) return text;
  let out = '';
  let from = 0;
  while (amp !== -1) {
    const semi = text.indexOf(';', amp);
    // Longest reference is `&#x10FFFF;` / `&#1114111;`: bound the look-ahead.
    if (semi === -1 || semi - amp > 10) return null;
    const ref = text.slice(amp + 1, semi);
    let ch: string | undefined;
    if (ref.startsWith('#x')) ch = fromCodePoint(ref.slice(2), /^[0-9a-fA-F]+$/, 16);
    else if (ref.startsWith('#')) ch = fromCodePoint(ref.slice(1), /^[0-9]+$/, 10);
    else ch = Object.hasOwn(PREDEFINED, ref) ? PREDEFINED[ref] : undefined;
    if (ch === undefined) return null;
    out += text.slice(from, amp) + ch;
    from = semi + 1;
    amp = text.indexOf('&', from);
  }
  return out + text.slice(from);
}

function fromCodePoint(digits: string, shape: RegExp, radix: number): string | undefined {
  if (!shape.test(digits)) return undefined;
  const cp = parseInt(digits, radix);
  const isChar =
    cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
  return isChar ? String.fromCodePoint(cp) : undefined;
}

/**
 * The namespace bindings in scope at `el` (prefix → URI, '' for the default namespace),
 * from the xmlns attributes of `el` and its ancestors, nearest first. An undeclaration
 * (`xmlns=""`) removes the default namespace. `xml` is left out (always bound).
 */
export function inScopeNamespaces(el: Element): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  const seen = new Set<string>();
  for (let cur: Node | null = el; cur !== null && cur.nodeType === 1; cur = cur.parentNode) {
    const attrs = (cur as Element).attributes;
    for (let i = 0; i < attrs.length; i++) {
      const a = attrs.item(i)!;
      if (a.namespaceURI !== XMLNS_NS) continue;
      const prefix = a.prefix === 'xmlns' ? a.localName! : '';
      if (seen.has(prefix)) continue;
      seen.add(prefix);
      if (a.value !== '') out[prefix] = a.value;
    }
  }
  return out;
}

type ErrorClass = typeof NotWellFormed | typeof NotXmlFrag;

function parse(text: string, xmlns: Record<string, string> | undefined, Err: ErrorClass): Document {
  const bad = NON_XML_CHAR.exec(text);
  if (bad !== null) {
    const code = bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw new Err(`the character U+${code} ${at(text, bad.index)} is not allowed in XML`);
  }
  let complaint: string | undefined;
  try {
    const onError = stopOnError((m) => (complaint = m));
    return new DOMParser({ locator: false, xmlns, onError }).parseFromString(text, 'text/xml');
  } catch (e) {
    throw new Err(wordParseError(text, xmlns, complaint ?? (e instanceof Error ? e.message : '')));
  }
}

/** xmldom's onError: any complaint but the harmless U+FFFD warning stops the parse. */
function stopOnError(record: (message: string) => void): (level: string, message: string) => void {
  return (level, message) => {
    // U+FFFD is a legal character; xmldom only warns that it may be a decoding artefact.
    if (level === 'warning' && message.startsWith('Unicode replacement')) return;
    record(message);
    throw new Error(message);
  };
}

/**
 * The phrase for a body xmldom refused: its complaint reworded, and where. The position
 * comes from parsing again with xmldom's locator, which the successful parses (the usual
 * case) do not pay for.
 */
function wordParseError(text: string, xmlns: Record<string, string> | undefined, complaint: string): string {
  let where: { lineNumber?: number; columnNumber?: number } | undefined;
  try {
    new DOMParser({ locator: true, xmlns, onError: stopOnError(() => undefined) }).parseFromString(text, 'text/xml');
  } catch (e) {
    // xmldom's ParseError carries the locator of the tag it stopped in.
    where = (e as { locator?: typeof where }).locator;
  }
  const phrase = xmldomPhrase(complaint);
  return where?.lineNumber ? `${phrase} (${atLine(where.lineNumber, where.columnNumber ?? 0)})` : phrase;
}
