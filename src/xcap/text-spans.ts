/**
 * Where an element, or an attribute of it, lies in the text of its document, so node
 * operations read and write the stored bytes themselves (RFC 4825 §8.3: an element is
 * returned as it is in the document, with no namespace declarations added; §8.2: a PUT
 * or DELETE changes only what it addresses, so the rest keeps its bytes: whitespace,
 * CRLFs, quote characters, references, empty-element tags).
 *
 * The text is one the DOM was parsed from (src/xcap/xml.ts refused anything not
 * well-formed and any DOCTYPE), so this is a scan, not a parser: it finds markup by its
 * first characters and skips over the rest. Elements are found by their position among
 * element siblings, which the DOM gives. Every step moves forward through the text:
 * finding an element costs the text before its end, whatever the input.
 */
import type { Element, Node } from '@xmldom/xmldom';

/** An element's extent: `[start, end)`, with its start tag `[start, tagEnd)`. */
export interface ElementSpan {
  /** Index of the `<` opening the start tag. */
  readonly start: number;
  /** Index just after the start tag's `>`. */
  readonly tagEnd: number;
  /** Index just after the element: after its end tag, or `tagEnd` for an empty-element tag. */
  readonly end: number;
  /** Written as an empty-element tag (`<a/>`). */
  readonly empty: boolean;
}

/** An attribute in a start tag: `name="value"` is `[start, valueEnd + 1)`. */
export interface AttributeSpan {
  /** The qualified name as written. */
  readonly name: string;
  readonly start: number;
  /** Index of the value's first character (just after the opening quote). */
  readonly valueStart: number;
  /** Index of the closing quote. */
  readonly valueEnd: number;
  readonly quote: '"' | "'";
}

/** Thrown when a text does not hold the element the DOM says it does: a bug, never client input. */
export class SpanMismatch extends Error {
  constructor(what: string) {
    super(`document text and DOM disagree: ${what}`);
  }
}

/** The span of `el` in `text`, the text its document was parsed from. */
export function elementSpan(text: string, el: Element): ElementSpan {
  // Position of each ancestor among its element siblings, root first.
  const path: number[] = [];
  for (let n: Node = el; n.parentNode !== null && n.parentNode.nodeType === 1; n = n.parentNode) {
    let k = 0;
    for (let s = n.previousSibling; s !== null; s = s.previousSibling) if (s.nodeType === 1) k++;
    path.push(k);
  }
  const scan = new Scan(text);
  let start = scan.firstElement(0);
  for (let level = path.length - 1; level >= 0; level--) start = scan.childElement(start, path[level]!);
  return scan.spanAt(start);
}

/** The span of the one element of an element PUT body (declaration, comments and whitespace around it excluded). */
export function fragmentSpan(body: string): ElementSpan {
  const scan = new Scan(body);
  return scan.spanAt(scan.firstElement(0));
}

/** The attributes of the start tag of `span`, in document order. */
export function attributeSpans(text: string, span: ElementSpan): AttributeSpan[] {
  const out: AttributeSpan[] = [];
  let i = span.start + 1;
  while (!isTagDelimiter(text.charCodeAt(i))) i++; // the element name
  for (;;) {
    while (isSpace(text.charCodeAt(i))) i++;
    const c = text.charCodeAt(i);
    if (c === 0x3e /* > */ || c === 0x2f /* / */) return out;
    const start = i;
    const eq = indexAfter(text, '=', i) - 1;
    let q = eq + 1;
    while (isSpace(text.charCodeAt(q))) q++;
    const quote = text[q] === "'" ? "'" : '"';
    const valueEnd = indexAfter(text, quote, q + 1) - 1;
    out.push({ name: text.slice(start, eq).trimEnd(), start, valueStart: q + 1, valueEnd, quote });
    i = valueEnd + 1;
  }
}

/** Index of the `</` of the end tag of a non-empty element. */
export function endTagStart(text: string, span: ElementSpan): number {
  return text.lastIndexOf('</', span.end - 1);
}

/** Index where the run of XML whitespace that ends at `at` begins. */
export function whitespaceStart(text: string, at: number): number {
  let i = at;
  while (i > 0 && isSpace(text.charCodeAt(i - 1))) i--;
  return i;
}

/**
 * One forward scan of a text. Markup is found with indexOf; so are the quotes that may
 * hide a `>` in a start tag, whose next positions are kept: searches for a quote character
 * the text rarely holds would otherwise run to the end of the text for every tag.
 */
class Scan {
  private readonly text: string;
  /** Next `"` / `'` at or after the last position asked for; -1 when there is none. */
  private dq = -2;
  private sq = -2;

  constructor(text: string) {
    this.text = text;
  }

  /** The span of the element whose start tag opens at `start`. */
  spanAt(start: number): ElementSpan {
    const tagEnd = this.startTagEnd(start);
    const empty = this.text.charCodeAt(tagEnd - 2) === 0x2f; /* / */
    return { start, tagEnd, end: empty ? tagEnd : this.contentEnd(tagEnd), empty };
  }

  /** Index of the first start tag at or after `from`, skipping comments, PIs and the XML declaration. */
  firstElement(from: number): number {
    let i = from;
    for (;;) {
      const lt = indexAfter(this.text, '<', i) - 1;
      const c = this.text.charCodeAt(lt + 1);
      if (c === 0x21 /* ! */ || c === 0x3f /* ? */) i = markupEnd(this.text, lt);
      else if (c === 0x2f /* / */) throw new SpanMismatch('an end tag where an element was expected');
      else return lt;
    }
  }

  /** Index of the start tag of the `index`-th (0-based) element child of the element starting at `parent`. */
  childElement(parent: number, index: number): number {
    const tagEnd = this.startTagEnd(parent);
    if (this.text.charCodeAt(tagEnd - 2) === 0x2f) throw new SpanMismatch('an empty element has no children');
    let i = tagEnd;
    for (let k = 0; ; k++) {
      const start = this.firstElement(i);
      if (k === index) return start;
      i = this.spanAt(start).end;
    }
  }

  /** Index just after the end tag closing content that starts at `from` (one element deep). */
  private contentEnd(from: number): number {
    const text = this.text;
    let depth = 1;
    let i = from;
    for (;;) {
      const lt = indexAfter(text, '<', i) - 1;
      const c = text.charCodeAt(lt + 1);
      if (c === 0x2f /* / */) {
        i = indexAfter(text, '>', lt);
        if (--depth === 0) return i;
      } else if (c === 0x21 || c === 0x3f) {
        i = markupEnd(text, lt);
      } else {
        i = this.startTagEnd(lt);
        if (text.charCodeAt(i - 2) !== 0x2f) depth++;
      }
    }
  }

  /** Index just after the `>` of the start tag opening at `lt`; quoted values may hold `>`. */
  private startTagEnd(lt: number): number {
    const text = this.text;
    let i = lt + 1;
    for (;;) {
      const gt = indexAfter(text, '>', i) - 1;
      const q = this.nextQuote(i);
      if (q === -1 || q > gt) return gt + 1;
      i = indexAfter(text, text[q]!, q + 1);
    }
  }

  /** Index of the next quote character at or after `from`, or -1. A scan only moves forward, so `from` only grows. */
  private nextQuote(from: number): number {
    if (this.dq !== -1 && this.dq < from) this.dq = this.text.indexOf('"', from);
    if (this.sq !== -1 && this.sq < from) this.sq = this.text.indexOf("'", from);
    if (this.dq === -1) return this.sq;
    if (this.sq === -1) return this.dq;
    return Math.min(this.dq, this.sq);
  }
}

/** Index just after the comment, CDATA section or processing instruction opening at `lt`. */
function markupEnd(text: string, lt: number): number {
  if (text.startsWith('<!--', lt)) return indexAfter(text, '-->', lt + 4);
  if (text.startsWith('<![CDATA[', lt)) return indexAfter(text, ']]>', lt + 9);
  if (text.startsWith('<?', lt)) return indexAfter(text, '?>', lt + 2);
  throw new SpanMismatch('markup that a stored document cannot hold');
}

/** Index just after the next `token` at or after `from`. */
function indexAfter(text: string, token: string, from: number): number {
  const at = text.indexOf(token, from);
  if (at === -1) throw new SpanMismatch(`no ${token} where one was expected`);
  return at + token.length;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isTagDelimiter(c: number): boolean {
  return isSpace(c) || c === 0x2f || c === 0x3e || Number.isNaN(c);
}
