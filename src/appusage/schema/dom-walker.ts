/**
 * Drives an `XmlSink` from an xmldom DOM instead of text: the events `scan` would give for
 * the text that src/xcap/serializer.ts writes for the same DOM, without writing or
 * tokenizing it. Used on the write path, where the modified DOM is at hand anyway.
 *
 * The events must be those of the serialized text, since that text is what is stored and
 * what libxml2 judges. So the walk answers 'unsure' for anything whose text form it cannot
 * vouch for: CDATA, processing instructions (other than a plain XML declaration), entity
 * references and other node kinds, text with CR (its text form is not read back as is),
 * characters outside XML Char, comments that would not be well-formed, names that are not
 * NCNames, prefixes and namespaces that do not agree with the declarations in scope (the
 * serializer would invent declarations), XHTML elements (written the HTML way), and
 * libxml2's size and depth limits. It never answers 'reject' by itself: a failing DOM is
 * for the text path to word.
 */
import type { Attr, Document, Element, Node, ProcessingInstruction } from '@xmldom/xmldom';
import { XML_NS } from './scanner.ts';
import type { Attributes, Verdict, XmlSink } from './scanner.ts';
import { NameSet } from './name-set.ts';
import { isPlainUriReference } from './uri.ts';

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const XHTML_NS = 'http://www.w3.org/1999/xhtml';

// The scanner's limits (scanner.ts), so both paths leave the same documents to libxml2.
const MAX_DEPTH = 200;
const MAX_NAME = 1000;
const MAX_LENGTH = 4 * 1024 * 1024;

/** Anything outside XML Char (lone surrogates included, hence the u flag). */
const NON_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
/** A cheaper first look: anything but plain BMP characters (surrogates, then, get the exact look). */
const UNUSUAL = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD]/;
const BLANK = /^[ \t\n]*$/;
/** NCName, ASCII only: other names are rare in XCAP documents and go to the text path. */
const NCNAME = /^[A-Za-z_][A-Za-z0-9._-]*$/;
/** The XML declaration's data as the scanner accepts it (version 1.0, UTF-8, standalone). */
const XML_DECL = /^version[ \t\n]*=[ \t\n]*(["'])1\.0\1(?:[ \t\n]+encoding[ \t\n]*=[ \t\n]*(["'])[Uu][Tt][Ff]-8\2)?(?:[ \t\n]+standalone[ \t\n]*=[ \t\n]*(["'])(?:yes|no)\3)?[ \t\n]*$/;

class Unsure {}
const UNSURE = new Unsure();
class Stopped {
  readonly verdict: Verdict;
  constructor(verdict: Verdict) {
    this.verdict = verdict;
  }
}

/**
 * Walks `doc` and drives `sink` as `scan(serializeDocument(doc), sink)` would. 'accept' when
 * the walk completed without objection, 'reject' only when the sink rejected, else 'unsure'.
 */
export function walkDocument(doc: Document, sink: XmlSink): Verdict {
  try {
    new Walk(sink).document(doc);
    return 'accept';
  } catch (e) {
    if (e === UNSURE) return 'unsure';
    if (e instanceof Stopped) return e.verdict;
    throw e;
  }
}

/**
 * Drives `sink` over an edited document as `walkDocument` would, except that only `edited`
 * and everything below it is walked in full: on the way down from the root, each ancestor's
 * start tag, text and comments are given as they are, and its other element children as
 * `knownElement`s (their start tags only). Sound only when the document was valid before and
 * nothing outside `edited` changed. 'unsure' when the sink has no `knownElement`, or for
 * anything `walkDocument` would be unsure of in the parts walked. `length` is the length of
 * the document's text (held to the walk's size limit, as a full walk would).
 * `shallow`: only `edited`'s start tag and its own content changed, not what is inside its
 * child elements (an attribute written or removed, a child deleted), so its children are
 * given as `knownElement`s too.
 */
export function walkEdit(doc: Document, edited: Element, length: number, sink: XmlSink, shallow = false): Verdict {
  if (sink.knownElement === undefined || length > MAX_LENGTH) return 'unsure';
  const chain: Element[] = [];
  for (let n: Node | null = edited; n !== null && n.nodeType === 1; n = n.parentNode) chain.push(n as Element);
  if (chain[chain.length - 1]?.parentNode !== doc) return 'unsure';
  chain.reverse();
  try {
    new Walk(sink).document(doc, chain, shallow);
    return 'accept';
  } catch (e) {
    if (e === UNSURE) return 'unsure';
    if (e instanceof Stopped) return e.verdict;
    throw e;
  }
}

class Walk {
  readonly sink: XmlSink;
  readonly attrs: Attributes = { count: 0, ns: [], local: [], value: [] };
  /** Namespace bindings in scope, prefix ('' = default) to URI; '' when unbound. */
  readonly scope = new Map<string, string>();
  /** Undo log: (prefix, previous URI) per declaration made by an open element. */
  readonly undo: string[] = [];
  /** Per open element: the undo log length to restore. */
  readonly marks: number[] = [];
  /** Prefixes declared, and expanded attribute names, of the current element. */
  readonly declared = new NameSet();
  readonly names = new NameSet();
  /** Characters of data seen, against MAX_LENGTH. */
  size = 0;

  constructor(sink: XmlSink) {
    this.sink = sink;
  }

  /** The document; with `chain` (root to edited element), only the edited element's subtree in full (`shallow`: its own content). */
  document(doc: Document, chain?: readonly Element[], shallow = false): void {
    let root = false;
    for (let n = doc.firstChild; n !== null; n = n.nextSibling) {
      switch (n.nodeType) {
        case 1:
          if (root) throw UNSURE;
          root = true;
          if (chain === undefined) this.element(n as Element);
          else this.along(chain, 0, shallow);
          break;
        case 3:
          if (!BLANK.test((n as Node & { data: string }).data)) throw UNSURE;
          break;
        case 7:
          // Only the XML declaration, and only first (it must open the text).
          if (n !== doc.firstChild || (n as ProcessingInstruction).target !== 'xml' || !XML_DECL.test((n as ProcessingInstruction).data)) throw UNSURE;
          break;
        case 8:
          this.checkComment((n as Node & { data: string }).data);
          break;
        default:
          throw UNSURE;
      }
    }
    if (!root) throw UNSURE;
  }

  /** The root element and everything in it, in document order, without recursion. */
  element(root: Element): void {
    const sink = this.sink;
    let n: Node = root;
    for (;;) {
      switch (n.nodeType) {
        case 1:
          this.start(n as Element);
          if (n.firstChild !== null) {
            n = n.firstChild;
            continue;
          }
          this.end();
          break;
        case 3:
          this.text((n as Node & { data: string }).data);
          break;
        case 8:
          this.checkComment((n as Node & { data: string }).data);
          stopOn(sink.comment());
          break;
        default:
          throw UNSURE;
      }
      // Climb out of finished elements, closing them, to the next node in document order.
      while (n !== root && n.nextSibling === null) {
        n = n.parentNode as Node;
        this.end();
      }
      if (n === root) return;
      n = n.nextSibling as Node;
    }
  }

  /**
   * `chain[i]` on the way to the edited element `chain[chain.length - 1]`: that one in full
   * (`shallow`: as an ancestor with no child on the chain); an ancestor with its own tags,
   * text and comments, its child on the chain walked the same way and its other element
   * children as known elements.
   */
  along(chain: readonly Element[], i: number, shallow: boolean): void {
    const el = chain[i] as Element;
    if (i === chain.length - 1 && !shallow) {
      this.element(el);
      return;
    }
    const next = chain[i + 1];
    this.start(el);
    for (let n = el.firstChild; n !== null; n = n.nextSibling) {
      switch (n.nodeType) {
        case 1:
          if (n === next) this.along(chain, i + 1, shallow);
          else this.known(n as Element);
          break;
        case 3:
          this.text((n as Node & { data: string }).data);
          break;
        case 8:
          this.checkComment((n as Node & { data: string }).data);
          stopOn(this.sink.comment());
          break;
        default:
          throw UNSURE;
      }
    }
    this.end();
  }

  /** An unchanged element beside the edit: its expanded name and attributes, unchecked (they passed before). */
  known(el: Element): void {
    const attrs = this.attrs;
    const list = el.attributes;
    let m = 0;
    for (let i = 0; i < list.length; i++) {
      const a = list.item(i) as Attr;
      if (a.prefix === 'xmlns' || a.nodeName === 'xmlns') continue;
      attrs.ns[m] = a.namespaceURI ?? '';
      attrs.local[m] = a.localName ?? a.name;
      attrs.value[m] = a.value;
      m++;
    }
    attrs.count = m;
    stopOn((this.sink.knownElement as NonNullable<XmlSink['knownElement']>).call(this.sink, el.namespaceURI ?? '', el.localName ?? el.tagName, attrs));
  }

  /** Character data of an element walked. */
  text(data: string): void {
    if (data.length === 0) return;
    this.size += data.length;
    // CR is normalized when the text is read back: such text is the text path's.
    if (this.size > MAX_LENGTH || data.includes('\r') || !isChars(data)) throw UNSURE;
    const sink = this.sink;
    stopOn(sink.text(sink.wantsText ? data : null, BLANK.test(data)));
  }

  /** Declarations, names and attributes of `el` checked, then its start event. */
  start(el: Element): void {
    if (this.marks.length >= MAX_DEPTH) throw UNSURE;
    const scope = this.scope;
    this.marks.push(this.undo.length);
    const list = el.attributes;
    const len = list.length;
    this.declared.clear();
    for (let i = 0; i < len; i++) {
      const a = list.item(i) as Attr;
      if (a.prefix === 'xmlns') this.declare(a, a.localName);
      else if (a.nodeName === 'xmlns') this.declare(a, '');
    }
    const ns = el.namespaceURI ?? '';
    const prefix = el.prefix ?? '';
    const local = checkName(el.localName);
    if (ns === XHTML_NS || prefix === 'xml' || prefix === 'xmlns' || (prefix !== '' && ns === '')) throw UNSURE;
    if (el.tagName !== (prefix === '' ? local : `${checkName(prefix)}:${local}`)) throw UNSURE;
    if ((scope.get(prefix) ?? '') !== ns) throw UNSURE;
    const attrs = this.attrs;
    let m = 0;
    this.names.clear();
    for (let i = 0; i < len; i++) {
      const a = list.item(i) as Attr;
      if (a.prefix === 'xmlns' || a.nodeName === 'xmlns') continue;
      const ans = a.namespaceURI ?? '';
      const aprefix = a.prefix ?? '';
      const alocal = checkName(a.localName);
      if (a.name !== (aprefix === '' ? alocal : `${checkName(aprefix)}:${alocal}`)) throw UNSURE;
      if (aprefix === '') {
        if (ans !== '') throw UNSURE;
      } else if (aprefix === 'xml') {
        if (ans !== XML_NS) throw UNSURE;
      } else if (aprefix === 'xmlns' || ans === '' || ans === XML_NS || scope.get(aprefix) !== ans) throw UNSURE;
      // Two attributes with one name (or one expanded name) would not be well-formed.
      if (!this.names.add(ans === '' ? alocal : `${ans} ${alocal}`)) throw UNSURE;
      const value = a.value;
      this.size += value.length;
      if (!isChars(value)) throw UNSURE;
      attrs.ns[m] = ans;
      attrs.local[m] = alocal;
      attrs.value[m] = value;
      m++;
    }
    attrs.count = m;
    if (this.size > MAX_LENGTH) throw UNSURE;
    stopOn(this.sink.startElement(ns, local, attrs));
  }

  end(): void {
    const mark = this.marks.pop() as number;
    const undo = this.undo;
    while (undo.length > mark) {
      const previous = undo.pop() as string;
      const prefix = undo.pop() as string;
      if (previous === '') this.scope.delete(prefix);
      else this.scope.set(prefix, previous);
    }
    stopOn(this.sink.endElement());
  }

  /** A namespace declaration as the scanner accepts it (scanner.ts `declare`). */
  declare(a: Attr, prefix: string | null): void {
    const uri = a.value;
    if (prefix === null || prefix === 'xmlns' || prefix === 'xml' || uri === XMLNS_NS || uri === XML_NS) throw UNSURE;
    if (a.name !== (prefix === '' ? 'xmlns' : `xmlns:${checkName(prefix)}`) || (prefix !== '' && uri === '')) throw UNSURE;
    if (!isPlainUriReference(uri) || !isChars(uri)) throw UNSURE;
    // One prefix declared twice on one element would not be well-formed.
    if (!this.declared.add(prefix)) throw UNSURE;
    this.undo.push(prefix, this.scope.get(prefix) ?? '');
    this.scope.set(prefix, uri);
  }

  /** `<!--data-->` must be a well-formed comment. */
  checkComment(data: string): void {
    this.size += data.length;
    if (data.includes('--') || data.endsWith('-') || !isChars(data)) throw UNSURE;
  }
}

/** Names found to be NCNames; a document repeats a handful of names (bounded like the scanner's). */
const NAMES = new Set<string>();
const MAX_NAMES = 512;

function checkName(name: string | null | undefined): string {
  if (typeof name !== 'string') throw UNSURE;
  if (NAMES.has(name)) return name;
  if (name.length > MAX_NAME || !NCNAME.test(name)) throw UNSURE;
  if (NAMES.size < MAX_NAMES) NAMES.add(name);
  return name;
}

/** Whether every code point of `s` is an XML Char. */
function isChars(s: string): boolean {
  return !UNUSUAL.test(s) || !NON_CHAR.test(s);
}

function stopOn(v: Verdict | undefined): void {
  if (v !== undefined) throw v === 'unsure' ? UNSURE : new Stopped(v);
}
