/**
 * A cheap look at a request body before any parser builds anything from it (xmldom's DOM,
 * libxml2's tree): one pass with `indexOf` over tags, quoted values and character
 * references, no allocation per node. It enforces the server's structural limits and the
 * one rule xmldom does not: a character reference must name an XML Char (`&#xD800;`,
 * `&#0;`, `&#xFFFE;` are refused, never replaced). Everything else about well-formedness
 * is the parsers' to judge; where the body is too broken to follow, the scan stops and
 * leaves it to them.
 */
import { ConstraintFailure, NotWellFormed } from './errors.ts';
import type { NotXmlFrag } from './errors.ts';
import { refuseDoctype } from './xml.ts';
import { at } from './text-position.ts';

/** Structural limits on client XML (config `server.maxXmlDepth`, `server.maxXmlAttributes`). */
export interface XmlLimits {
  /** Deepest element nesting accepted; the root element is depth 1. */
  readonly maxDepth: number;
  /** Most attributes (namespace declarations included) on one element. */
  readonly maxAttributes: number;
}

/**
 * Scans `text` (a document or an element body). Exceeding a limit is a
 * constraint-failure, not not-well-formed: the body is well-formed XML, and it is this
 * server, not XML or the application usage's schema, that declines it (RFC 4825 §11.2
 * leaves server constraints beyond schema and uniqueness to constraint-failure). The phrase
 * names the config key so an operator knows what to raise.
 * @param parentDepth for an element body, the depth its parent will have in the document
 *   (the limit is on the document that results, not on the body alone).
 * @throws ConstraintFailure past a limit; `Malformed` (NotWellFormed or NotXmlFrag) for a
 *   character reference to a non-Char.
 */
export function prescanXml(text: string, limits: XmlLimits, Malformed: MalformedClass, parentDepth = 0): void {
  new Prescan(text, limits, Malformed).run(parentDepth);
}

/**
 * The checks a whole document from a client gets before any parser sees it: `prescanXml`
 * and no DOCTYPE (`refuseDoctype`). Same errors as those, NotWellFormed for malformed parts.
 */
export function prescanDocument(text: string, limits: XmlLimits): void {
  prescanXml(text, limits, NotWellFormed);
  refuseDoctype(text);
}

type MalformedClass = typeof NotWellFormed | typeof NotXmlFrag;

class Prescan {
  readonly text: string;
  readonly limits: XmlLimits;
  readonly Malformed: MalformedClass;
  /** Where the next `&#` is at or after the scan position (-1: none left), found once per reference. */
  nextRef = 0;

  constructor(text: string, limits: XmlLimits, Malformed: MalformedClass) {
    this.text = text;
    this.limits = limits;
    this.Malformed = Malformed;
  }

  run(parentDepth: number): void {
    const { text, limits } = this;
    let depth = parentDepth;
    for (let i = 0; i >= 0; ) {
      const lt = text.indexOf('<', i);
      this.charRefs(i, lt < 0 ? text.length : lt);
      if (lt < 0) return;
      const c = text.charCodeAt(lt + 1);
      if (c === 0x21 /* ! */) {
        if (text.startsWith('<!--', lt)) i = after(text, '-->', lt + 4);
        else if (text.startsWith('<![CDATA[', lt)) i = after(text, ']]>', lt + 9);
        else return; // a DOCTYPE or worse: refused by the parsers
      } else if (c === 0x3f /* ? */) {
        i = after(text, '?>', lt + 2);
      } else if (c === 0x2f /* / */) {
        depth--;
        i = after(text, '>', lt + 2);
      } else {
        i = this.startTag(lt);
        if (i < 0) return;
        if (text.charCodeAt(i - 2) !== 0x2f /* / */ && ++depth > limits.maxDepth) {
          throw new ConstraintFailure(
            `the element ${at(text, lt)} would be nested ${depth} deep in the document; this server accepts at most ${limits.maxDepth} (server.maxXmlDepth)`,
          );
        }
      }
    }
  }

  /**
   * The start tag at `lt`: counts its attributes (each `=` outside quotes), checks the
   * references in its values, and returns the index past its `>` (-1 when it never ends).
   */
  startTag(lt: number): number {
    const text = this.text;
    const max = this.limits.maxAttributes;
    let count = 0;
    for (let i = lt + 1; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x3e /* > */) return i + 1;
      if (c === 0x3d /* = */) {
        if (++count > max) {
          throw new ConstraintFailure(
            `the element ${at(text, lt)} has more than ${max} attributes, the most this server accepts (server.maxXmlAttributes)`,
          );
        }
      } else if (c === 0x22 || c === 0x27) {
        const close = text.indexOf(c === 0x22 ? '"' : "'", i + 1);
        if (close < 0) return -1;
        this.charRefs(i + 1, close);
        i = close;
      } else if (c === 0x3c /* < */) return -1;
    }
    return -1;
  }

  /** Every `&#...;` in text[from, to) must name an XML Char; malformed ones are the parser's to word. */
  charRefs(from: number, to: number): void {
    const text = this.text;
    // Searching from `from` each time would rescan the rest of the body per call: quadratic.
    if (this.nextRef >= 0 && this.nextRef < from) this.nextRef = text.indexOf('&#', from);
    for (let amp = this.nextRef; amp >= 0 && amp < to; amp = this.nextRef = text.indexOf('&#', amp + 2)) {
      const hex = text.charCodeAt(amp + 2) === 0x78; /* x */
      const start = amp + (hex ? 3 : 2);
      let cp = 0;
      let k = start;
      for (; k < to; k++) {
        const d = digit(text.charCodeAt(k), hex);
        if (d < 0) break;
        // Leading zeros are allowed; anything past U+10FFFF stays out of range without overflowing.
        cp = Math.min(cp * (hex ? 16 : 10) + d, 0x110000);
      }
      if (k === start || text.charCodeAt(k) !== 0x3b /* ; */ || isXmlChar(cp)) continue;
      const ref = k - amp > 12 ? `${text.slice(amp, amp + 10)}...;` : text.slice(amp, k + 1);
      throw new this.Malformed(`the character reference ${ref} ${at(text, amp)} does not name a character allowed in XML`);
    }
  }
}

/** Index just past the next `marker` at or after `from`, or -1. */
function after(text: string, marker: string, from: number): number {
  const k = text.indexOf(marker, from);
  return k < 0 ? -1 : k + marker.length;
}

function digit(c: number, hex: boolean): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (!hex) return -1;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

/** XML 1.0 Char. */
function isXmlChar(cp: number): boolean {
  if (cp >= 0x20) return cp <= 0xd7ff || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
  return cp === 0x09 || cp === 0x0a || cp === 0x0d;
}
