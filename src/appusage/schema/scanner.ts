/**
 * A strict single-pass XML scanner (no DOM) for the common shape of XCAP documents: an
 * optional XML declaration, elements, attributes, namespace declarations, text with the
 * five predefined entities and character references, comments and whitespace.
 *
 * It checks well-formedness (XML 1.0 5th edition + Namespaces in XML 1.0) for everything it
 * accepts and feeds a sink with namespace-resolved events. Anything outside that shape
 * (DOCTYPE, CDATA, processing instructions, a BOM, an encoding other than UTF-8, XML 1.1,
 * libxml2's depth/size limits) is answered 'unsure' so that the caller asks libxml2.
 */

import { keptCopy } from '../../kept-string.ts';
import { NameSet } from './name-set.ts';
import { isPlainUriReference } from './uri.ts';

/** The scanner's (and the fast validator's) answer. */
export type Verdict = 'accept' | 'reject' | 'unsure';

export const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/** Attributes of one start tag, namespace-resolved; arrays are reused between tags (read them at once). */
export interface Attributes {
  count: number;
  readonly ns: string[];
  readonly local: string[];
  /** Normalized attribute values (XML 1.0 §3.3.3, CDATA normalization). */
  readonly value: string[];
}

/**
 * Receives the document's structure. Each method returns a verdict to stop with, or
 * `undefined` to go on. Events come in document order; `text` only for character data
 * inside the root element.
 */
export interface XmlSink {
  /** Whether `text` should receive decoded values for the current element (else `null`). */
  readonly wantsText: boolean;
  startElement(ns: string, local: string, attrs: Attributes): Verdict | undefined;
  /** Character data; `blank` when it is literal whitespace only (no references). */
  text(value: string | null, blank: boolean): Verdict | undefined;
  /** A comment inside the root element. */
  comment(): Verdict | undefined;
  endElement(): Verdict | undefined;
  /**
   * An element whose content is not walked (walkEdit: an unchanged sibling on the way to an
   * edited element, known valid): its start tag counts as `startElement` would, and it is
   * closed at once, its content and end left to the validation it passed before. A sink
   * without it cannot judge an edit alone.
   */
  knownElement?(ns: string, local: string, attrs: Attributes): Verdict | undefined;
}

// libxml2 refuses documents nested deeper than 256 without XML_PARSE_HUGE, and names
// longer than 50,000 characters; stay well clear of both (and of its text size limits).
const MAX_DEPTH = 200;
const MAX_NAME = 1000;
const MAX_LENGTH = 4 * 1024 * 1024;

class Stop {
  readonly verdict: Verdict;
  constructor(verdict: Verdict) {
    this.verdict = verdict;
  }
}
const REJECT = new Stop('reject');
const UNSURE = new Stop('unsure');

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

/** ASCII name characters: NAME_START may begin a name (NameStartChar without ':'), NAME_MORE only follow. */
const NAME_START = 1;
const NAME_MORE = 2;
const NAME_ASCII = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f) NAME_ASCII[c] = NAME_START;
  else if ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e) NAME_ASCII[c] = NAME_MORE;
}

/** NameStartChar of XML 1.0 5th edition, without ':' (namespaces split on it). */
function isNameStart(c: number): boolean {
  if (c < 0x80) return c >= 0 && NAME_ASCII[c] === NAME_START;
  return (
    (c >= 0xc0 && c <= 0xd6) ||
    (c >= 0xd8 && c <= 0xf6) ||
    (c >= 0xf8 && c <= 0x2ff) ||
    (c >= 0x370 && c <= 0x37d) ||
    (c >= 0x37f && c <= 0x1fff) ||
    (c >= 0x200c && c <= 0x200d) ||
    (c >= 0x2070 && c <= 0x218f) ||
    (c >= 0x2c00 && c <= 0x2fef) ||
    (c >= 0x3001 && c <= 0xd7ff) ||
    (c >= 0xf900 && c <= 0xfdcf) ||
    (c >= 0xfdf0 && c <= 0xfffd) ||
    (c >= 0x10000 && c <= 0xeffff)
  );
}

function isNameChar(c: number): boolean {
  if (c < 0x80) return c >= 0 && NAME_ASCII[c] !== 0;
  return isNameStart(c) || c === 0xb7 || (c >= 0x300 && c <= 0x36f) || c === 0x203f || c === 0x2040;
}

/** XML 1.0 Char, for a code point. */
function isXmlChar(c: number): boolean {
  if (c >= 0x20) return c <= 0xd7ff || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
  return c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * Names seen before, by length: the same string object comes back for the same name, so
 * the validator compares names by identity (and no new string is made) in the usual case.
 * Bounded; compiled schemas put their own names here first. A kept name is a copy, never a
 * slice that would keep the client's whole document alive.
 */
const NAMES: string[][] = [];
const MAX_INTERNED_LENGTH = 48;
const MAX_PER_LENGTH = 24;

/** The canonical string for `name` (schemas call this for every name they compare). */
export function intern(name: string): string {
  return internSlice(name, 0, name.length);
}

function internSlice(s: string, start: number, end: number): string {
  const len = end - start;
  const bucket = NAMES[len];
  if (bucket !== undefined) {
    // First and last characters tell most names of one length apart without a call.
    const first = s.charCodeAt(start);
    const last = s.charCodeAt(end - 1);
    for (let k = 0; k < bucket.length; k++) {
      const n = bucket[k] as string;
      if (n.charCodeAt(0) === first && n.charCodeAt(len - 1) === last && s.startsWith(n, start)) return n;
    }
  }
  const n = s.slice(start, end);
  if (len <= MAX_INTERNED_LENGTH && (bucket === undefined || bucket.length < MAX_PER_LENGTH)) {
    const kept = keptCopy(n);
    if (bucket === undefined) NAMES[len] = [kept];
    else bucket.push(kept);
    return kept;
  }
  return n;
}

/**
 * Namespace names the compiled schemas use, one string object each: a declaration in a
 * document binds its prefix to that object, so namespaces compare by identity too. Only
 * schemas add here (a document's own namespaces stay its own).
 */
const NAMESPACES = new Map<string, string>([['', ''], [XML_NS, XML_NS]]);

/** The canonical string for the namespace name `uri` (schemas call this for every namespace they compare). */
export function internNamespace(uri: string): string {
  const known = NAMESPACES.get(uri);
  if (known !== undefined) return known;
  const kept = keptCopy(uri);
  NAMESPACES.set(kept, kept);
  return kept;
}

const PREDEFINED: ReadonlyMap<string, string> = new Map([
  ['lt', '<'],
  ['gt', '>'],
  ['amp', '&'],
  ['quot', '"'],
  ['apos', "'"],
]);

/**
 * Scans `text` and drives `sink`. Returns 'accept' when the document is well-formed and
 * the sink never objected, 'reject' when it is certainly not well-formed (or the sink
 * rejected), 'unsure' when it uses something this scanner leaves to libxml2.
 * `maxLength` (UTF-16 units) is libxml2's text-size comfort zone by default; a reader of
 * already stored documents that never asks libxml2 may pass a larger one.
 */
export function scan(text: string, sink: XmlSink, maxLength = MAX_LENGTH): Verdict {
  if (text.length > maxLength) return 'unsure';
  try {
    return new Scan(text, sink).document();
  } catch (e) {
    if (e instanceof Stop) return e.verdict;
    throw e;
  }
}

class Scan {
  readonly s: string;
  readonly sink: XmlSink;
  pos = 0;
  /** Open elements' qualified names. */
  readonly open: string[] = [];
  /** Undo log of namespace bindings: [prefix, previous uri or undefined] per declaration, with a count per element. */
  readonly bindings = new Map<string, string>([['xml', XML_NS]]);
  defaultNs = '';
  readonly undo: Array<string | undefined> = [];
  readonly undoCount: number[] = [];
  readonly attrs: Attributes = { count: 0, ns: [], local: [], value: [] };
  /** Prefix of each attribute of the current tag ('' for none), resolved once the tag's declarations are in. */
  readonly rawPrefix: string[] = [];
  /** Qualified names, then expanded names of prefixed attributes, of the current tag. */
  readonly names = new NameSet();
  readonly expanded = new NameSet();

  constructor(s: string, sink: XmlSink) {
    this.s = s;
    this.sink = sink;
  }

  document(): Verdict {
    const s = this.s;
    if (s.startsWith('<?xml') && isSpace(s.charCodeAt(5))) this.xmlDecl();
    this.misc();
    if (s.charCodeAt(this.pos) !== 0x3c) throw this.pos === 0 && s.charCodeAt(0) === 0xfeff ? UNSURE : REJECT;
    if (s.charCodeAt(this.pos + 1) === 0x3f || s.charCodeAt(this.pos + 1) === 0x21) throw UNSURE;
    this.element();
    this.misc();
    if (this.pos !== s.length) throw this.pos < s.length && s.charCodeAt(this.pos) === 0x3c ? this.markupVerdict() : REJECT;
    return 'accept';
  }

  /** What to answer for unexpected markup outside the root: PIs, DOCTYPE go to libxml2. */
  markupVerdict(): Stop {
    const c = this.s.charCodeAt(this.pos + 1);
    return c === 0x3f || c === 0x21 ? UNSURE : REJECT;
  }

  /** `<?xml version="1.0" (encoding="UTF-8")? (standalone="yes|no")? ?>` and nothing fancier. */
  xmlDecl(): void {
    this.pos = 5;
    this.skipSpace();
    if (!this.s.startsWith('version', this.pos)) throw UNSURE;
    this.pos += 7;
    if (this.declValue() !== '1.0') throw UNSURE;
    let spaced = this.skipSpace();
    if (spaced && this.s.startsWith('encoding', this.pos)) {
      this.pos += 8;
      if (this.declValue().toLowerCase() !== 'utf-8') throw UNSURE;
      spaced = this.skipSpace();
    }
    if (spaced && this.s.startsWith('standalone', this.pos)) {
      this.pos += 10;
      const v = this.declValue();
      if (v !== 'yes' && v !== 'no') throw UNSURE;
      this.skipSpace();
    }
    if (!this.s.startsWith('?>', this.pos)) throw UNSURE;
    this.pos += 2;
  }

  declValue(): string {
    this.skipSpace();
    if (this.s.charCodeAt(this.pos) !== 0x3d) throw UNSURE;
    this.pos++;
    this.skipSpace();
    const q = this.s.charCodeAt(this.pos);
    if (q !== 0x22 && q !== 0x27) throw UNSURE;
    const end = this.s.indexOf(q === 0x22 ? '"' : "'", this.pos + 1);
    if (end < 0) throw UNSURE;
    const v = this.s.slice(this.pos + 1, end);
    this.pos = end + 1;
    return v;
  }

  skipSpace(): boolean {
    const start = this.pos;
    while (isSpace(this.s.charCodeAt(this.pos))) this.pos++;
    return this.pos > start;
  }

  /** Whitespace and comments outside the root element. */
  misc(): void {
    for (;;) {
      this.skipSpace();
      if (this.s.startsWith('<!--', this.pos)) this.commentBody();
      else return;
    }
  }

  /** At `<!--`: skips the comment, checking its characters and the `--` rule. */
  commentBody(): void {
    const s = this.s;
    const start = this.pos + 4;
    const dd = s.indexOf('--', start);
    if (dd < 0 || s.charCodeAt(dd + 2) !== 0x3e) throw REJECT;
    this.checkChars(start, dd);
    this.pos = dd + 3;
  }

  /** Every code point in [from, to) is an XML Char (surrogates paired). */
  checkChars(from: number, to: number): void {
    const s = this.s;
    for (let i = from; i < to; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x20 && c < 0xd800) continue;
      i = this.checkOddChar(c, i);
    }
  }

  /** For a char outside the plain range at `i`: throws if illegal, returns the index of its last code unit. */
  checkOddChar(c: number, i: number): number {
    if (c < 0x20) {
      if (c === 0x09 || c === 0x0a || c === 0x0d) return i;
      throw REJECT;
    }
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = this.s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) return i + 1;
      throw REJECT;
    }
    if ((c >= 0xdc00 && c <= 0xdfff) || c === 0xfffe || c === 0xffff) throw REJECT;
    return i;
  }

  /** A Name without ':' at pos (NCName); returns its end. */
  ncNameEnd(at: number): number {
    const s = this.s;
    let i = at;
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      if (NAME_ASCII[c] !== NAME_START) throw REJECT;
      i++;
    } else {
      c = s.codePointAt(i) ?? -1;
      if (!isNameStart(c)) throw REJECT;
      i += c > 0xffff ? 2 : 1;
    }
    for (;;) {
      c = s.charCodeAt(i);
      if (c < 0x80) {
        if (NAME_ASCII[c] === 0) break;
        i++;
      } else {
        c = s.codePointAt(i) ?? -1;
        if (!isNameChar(c)) break;
        i += c > 0xffff ? 2 : 1;
      }
    }
    if (i - at > MAX_NAME) throw UNSURE;
    return i;
  }

  /** A QName at pos: returns its end; `colon` is set to the colon's index or -1. */
  colon = -1;
  qNameEnd(at: number): number {
    let end = this.ncNameEnd(at);
    this.colon = -1;
    if (this.s.charCodeAt(end) === 0x3a) {
      this.colon = end;
      end = this.ncNameEnd(end + 1);
      // A second colon is a Name but not a QName.
      if (this.s.charCodeAt(end) === 0x3a) throw REJECT;
    }
    return end;
  }

  /** The root element and everything in it, iteratively. */
  element(): void {
    const s = this.s;
    const sink = this.sink;
    this.startTag();
    let textStart = this.pos;
    while (this.open.length > 0) {
      const lt = s.indexOf('<', this.pos);
      if (lt < 0) throw REJECT;
      if (lt > textStart) this.text(textStart, lt);
      this.pos = lt;
      const c = s.charCodeAt(lt + 1);
      if (c === 0x2f) this.endTag();
      else if (c === 0x21) {
        if (!s.startsWith('<!--', lt)) throw UNSURE; // CDATA or a stray declaration
        this.commentBody();
        stopOn(sink.comment());
      } else if (c === 0x3f) throw UNSURE;
      else this.startTag();
      textStart = this.pos;
    }
  }

  /** Character data in [from, to): legal chars, references, no `]]>`. */
  text(from: number, to: number): void {
    const s = this.s;
    const want = this.sink.wantsText;
    let blank = true;
    let out = '';
    let chunk = from;
    for (let i = from; i < to; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x3e && c < 0xd800) {
        blank = false;
        continue;
      }
      if (c === 0x20 || c === 0x0a || c === 0x09) continue;
      if (c === 0x0d) {
        // Line ends are normalized to LF before anyone sees the text (XML 1.0 §2.11).
        if (want) out += s.slice(chunk, i) + (s.charCodeAt(i + 1) === 0x0a ? '' : '\n');
        chunk = i + 1;
        continue;
      }
      blank = false;
      if (c === 0x26) {
        if (want) out += s.slice(chunk, i);
        const ref = this.reference(i, to);
        if (want) out += ref;
        i = this.pos - 1;
        chunk = this.pos;
      } else if (c === 0x3e) {
        if (i >= from + 2 && s.charCodeAt(i - 1) === 0x5d && s.charCodeAt(i - 2) === 0x5d) throw REJECT;
      } else if (c < 0x20 || c >= 0xd800) i = this.checkOddChar(c, i);
    }
    stopOn(this.sink.text(want ? out + s.slice(chunk, to) : null, blank));
  }

  /** At `&` (index i, reference must end before `limit`): returns the replacement text, pos after `;`. */
  reference(i: number, limit: number): string {
    const s = this.s;
    const semi = s.indexOf(';', i + 1);
    if (semi < 0 || semi >= limit || semi - i > 12) throw REJECT;
    if (s.charCodeAt(i + 1) === 0x23) {
      const hex = s.charCodeAt(i + 2) === 0x78;
      const digits = s.slice(i + (hex ? 3 : 2), semi);
      if (digits.length === 0 || digits.length > 8 || !(hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits)) throw REJECT;
      const cp = parseInt(digits, hex ? 16 : 10);
      if (!isXmlChar(cp)) throw REJECT;
      this.pos = semi + 1;
      return String.fromCodePoint(cp);
    }
    const rep = PREDEFINED.get(s.slice(i + 1, semi));
    if (rep === undefined) throw REJECT;
    this.pos = semi + 1;
    return rep;
  }

  startTag(): void {
    const s = this.s;
    const nameStart = this.pos + 1;
    const nameEnd = this.qNameEnd(nameStart);
    const elColon = this.colon;
    const qname = internSlice(s, nameStart, nameEnd);
    this.pos = nameEnd;
    const attrs = this.attrs;
    let n = 0;
    let declared = 0;
    let prefixed = false;
    this.names.clear();
    for (;;) {
      const spaced = this.skipSpace();
      const c = s.charCodeAt(this.pos);
      if (c === 0x3e || c === 0x2f) break;
      if (!spaced) throw REJECT;
      const aStart = this.pos;
      const aEnd = this.qNameEnd(aStart);
      const aColon = this.colon;
      const aName = internSlice(s, aStart, aEnd);
      this.pos = aEnd;
      this.skipSpace();
      if (s.charCodeAt(this.pos) !== 0x3d) throw REJECT;
      this.pos++;
      this.skipSpace();
      const value = this.attValue();
      if (!this.names.add(aName)) throw REJECT;
      const prefix = aColon < 0 ? '' : internSlice(s, aStart, aColon);
      const local = aColon < 0 ? aName : internSlice(s, aColon + 1, aEnd);
      if (aName === 'xmlns' || prefix === 'xmlns') {
        // References or normalized whitespace in a namespace name are left to libxml2.
        if (!this.plain) throw UNSURE;
        this.declare(prefix === '' ? '' : local, value);
        declared++;
        continue;
      }
      // Unprefixed attributes are in no namespace; prefixed ones wait for every declaration of the tag.
      if (prefix !== '') prefixed = true;
      this.rawPrefix[n] = prefix;
      attrs.ns[n] = '';
      attrs.local[n] = local;
      attrs.value[n] = value;
      n++;
    }
    this.undoCount.push(declared);
    const ns = elColon < 0 ? this.defaultNs : this.resolve(internSlice(s, nameStart, elColon));
    const local = elColon < 0 ? qname : internSlice(s, elColon + 1, nameEnd);
    if (prefixed) {
      this.expanded.clear();
      for (let k = 0; k < n; k++) {
        const prefix = this.rawPrefix[k] as string;
        if (prefix === '') continue;
        const ans = this.resolve(prefix);
        // Same expanded name through two prefixes (Namespaces in XML §6.3); unprefixed names
        // are told apart by the qualified-name check already.
        if (!this.expanded.add(`${ans} ${attrs.local[k] as string}`)) throw REJECT;
        attrs.ns[k] = ans;
      }
    }
    attrs.count = n;
    if (s.charCodeAt(this.pos) === 0x2f) {
      if (s.charCodeAt(this.pos + 1) !== 0x3e) throw REJECT;
      this.pos += 2;
      stopOn(this.sink.startElement(ns, local, attrs));
      stopOn(this.sink.endElement());
      this.popBindings();
      return;
    }
    this.pos++;
    if (this.open.length >= MAX_DEPTH) throw UNSURE;
    this.open.push(qname);
    stopOn(this.sink.startElement(ns, local, attrs));
  }

  /** Whether the last attribute value was taken literally (no reference, no whitespace to normalize). */
  plain = true;

  /** A quoted attribute value at pos, normalized; pos after the closing quote. */
  attValue(): string {
    const s = this.s;
    const q = s.charCodeAt(this.pos);
    if (q !== 0x22 && q !== 0x27) throw REJECT;
    const start = this.pos + 1;
    const end = s.indexOf(q === 0x22 ? '"' : "'", start);
    if (end < 0) throw REJECT;
    let plain = true;
    for (let i = start; i < end; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x20 && c < 0xd800 && c !== 0x26 && c !== 0x3c) continue;
      if (c === 0x3c) throw REJECT;
      if (c === 0x26 || c < 0x20) plain = false;
      if (c !== 0x26) i = this.checkOddChar(c, i);
    }
    this.pos = end + 1;
    this.plain = plain;
    if (plain) return s.slice(start, end);
    let out = '';
    for (let i = start; i < end; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x26) {
        out += this.reference(i, end);
        i = this.pos - 1;
      } else if (c === 0x0d) {
        if (s.charCodeAt(i + 1) !== 0x0a) out += ' ';
      } else if (c === 0x09 || c === 0x0a) out += ' ';
      else out += s[i];
    }
    this.pos = end + 1;
    return out;
  }

  /** Binds a prefix ('' = default) for the element being opened, per Namespaces in XML §3. */
  declare(prefix: string, uri: string): void {
    if (prefix === 'xmlns' || prefix === 'xml' || uri === XMLNS_NS || uri === XML_NS) throw UNSURE;
    // Undeclaring a prefix is XML 1.1 only.
    if (prefix !== '' && uri === '') throw REJECT;
    // libxml2 refuses namespace names it cannot parse as URIs.
    if (!isPlainUriReference(uri)) throw UNSURE;
    uri = NAMESPACES.get(uri) ?? uri;
    if (prefix === '') {
      this.undo.push('', this.defaultNs);
      this.defaultNs = uri;
    } else {
      this.undo.push(prefix, this.bindings.get(prefix));
      this.bindings.set(prefix, uri);
    }
  }

  resolve(prefix: string): string {
    if (prefix === 'xmlns') throw REJECT;
    const uri = this.bindings.get(prefix);
    if (uri === undefined) throw REJECT;
    return uri;
  }

  popBindings(): void {
    const n = this.undoCount.pop() ?? 0;
    for (let k = 0; k < n; k++) {
      const previous = this.undo.pop();
      const prefix = this.undo.pop() as string;
      if (prefix === '') this.defaultNs = previous as string;
      else if (previous === undefined) this.bindings.delete(prefix);
      else this.bindings.set(prefix, previous);
    }
  }

  endTag(): void {
    const s = this.s;
    const qname = this.open.pop() as string;
    const start = this.pos + 2;
    if (!s.startsWith(qname, start)) throw REJECT;
    this.pos = start + qname.length;
    this.skipSpace();
    if (s.charCodeAt(this.pos) !== 0x3e) throw REJECT;
    this.pos++;
    stopOn(this.sink.endElement());
    this.popBindings();
  }
}

function stopOn(v: Verdict | undefined): void {
  if (v !== undefined) throw v === 'reject' ? REJECT : v === 'unsure' ? UNSURE : new Stop(v);
}
