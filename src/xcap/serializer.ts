/**
 * A lean serializer for whole documents, for the write path (every element or attribute
 * PUT/DELETE serializes the document it changed).
 *
 * It writes exactly what xmldom's XMLSerializer writes for a document in which every
 * element and attribute namespace is declared where it is used, as in any document parsed
 * from text and edited by node-ops (fragments are parsed against, and imported under, the
 * bindings of their parent). xmldom's serializer also repairs documents that break this
 * (it invents declarations and prefixes); for those, and for node kinds a stored XCAP
 * document never has (DOCTYPE, entity references, XHTML elements that xmldom writes the
 * HTML way), `serializeDocument` returns null and the caller uses xmldom's serializer.
 */
import type { Attr, Document, Element, Node, ProcessingInstruction } from '@xmldom/xmldom';

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const XHTML_NS = 'http://www.w3.org/1999/xhtml';

const TEXT_SPECIAL = /[<&>]/;
const ATTR_SPECIAL = /[<>&"\t\n\r]/;

/**
 * Texts of chosen elements kept from one serialization of a document to the next, so a
 * big document edited in a few places is written without walking what did not change.
 * The owner deletes an element's text whenever it changes anything inside the element.
 */
export interface SerializeMemo {
  readonly text: WeakMap<Element, string>;
  /** Whether to keep the text of `el` (its namespace scope must stay as it is while kept). */
  keep(el: Element): boolean;
}

/**
 * The document as text, byte for byte what xmldom's serializer would give, or null when
 * the document needs xmldom's namespace repair or has a node kind handled only there.
 * With `memo`, kept texts stand in for their elements and chosen elements' texts are kept.
 */
export function serializeDocument(doc: Document, memo?: SerializeMemo): string | null {
  // Namespace bindings in scope, as flat (prefix, uri) pairs searched from the end;
  // `marks` holds each open element's scope length, tag and whether its text is kept.
  const scope: string[] = [];
  const marks: Array<number | string | boolean> = [];
  // Output of the elements enclosing a kept element, which collects its own text.
  const outer: string[] = [];
  let out = '';
  let n: Node | null = doc.firstChild;
  while (n !== null) {
    switch (n.nodeType) {
      case 1: {
        const el = n as Element;
        const kept = memo?.text.get(el);
        if (kept !== undefined) {
          out += kept;
          break;
        }
        const mark = scope.length;
        const start = startTag(el, scope);
        if (start === null) return null;
        const keep = memo?.keep(el) === true;
        if (el.firstChild !== null) {
          if (keep) {
            outer.push(out);
            out = '';
          }
          out += `${start}>`;
          marks.push(mark, el.tagName, keep);
          n = el.firstChild;
          continue;
        }
        if (keep) memo?.text.set(el, `${start}/>`);
        out += `${start}/>`;
        scope.length = mark;
        break;
      }
      case 3:
        out += escapeText((n as Node & { data: string }).data);
        break;
      case 4:
        out += `<![CDATA[${(n as Node & { data: string }).data.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
        break;
      case 7:
        out += `<?${(n as ProcessingInstruction).target} ${(n as ProcessingInstruction).data}?>`;
        break;
      case 8:
        out += `<!--${(n as Node & { data: string }).data}-->`;
        break;
      default:
        return null;
    }
    // Climb out of finished elements, closing them, to the next node in document order.
    while (n.nextSibling === null) {
      n = n.parentNode;
      if (n === null || n === doc) return out;
      const keep = marks.pop() as boolean;
      const tag = marks.pop() as string;
      scope.length = marks.pop() as number;
      out += `</${tag}>`;
      if (keep) {
        memo?.text.set(n as Element, out);
        out = (outer.pop() as string) + out;
      }
    }
    n = n.nextSibling;
  }
  return out;
}

/**
 * `<name attrs` of `el` (without the closing `>`), after pushing its declarations onto
 * `scope`; null if xmldom would add a declaration or a prefix, or write it as HTML.
 */
function startTag(el: Element, scope: string[]): string | null {
  const attrs = el.attributes;
  const len = attrs.length;
  for (let i = 0; i < len; i++) {
    const a = attrs.item(i) as Attr;
    if (a.prefix === 'xmlns') scope.push(a.localName as string, a.value);
    else if (a.nodeName === 'xmlns') scope.push('', a.value);
  }
  const ns = el.namespaceURI;
  if (ns === XHTML_NS) return null;
  if (ns && !bound(scope, el.prefix ?? '', ns)) return null;
  let s = `<${el.tagName}`;
  for (let i = 0; i < len; i++) {
    const a = attrs.item(i) as Attr;
    const ans = a.namespaceURI;
    if (ans && ans !== XMLNS_NS && !(ans === XML_NS && a.prefix === 'xml') && !bound(scope, a.prefix ?? '', ans)) return null;
    s += ` ${a.name}="${escapeAttr(a.value)}"`;
  }
  return s;
}

/** Whether the nearest binding of `prefix` in `scope` is `ns`. */
function bound(scope: readonly string[], prefix: string, ns: string): boolean {
  for (let i = scope.length - 2; i >= 0; i -= 2) {
    if (scope[i] === prefix) return scope[i + 1] === ns;
  }
  return false;
}

/**
 * UTF-8 size of `node` as the lean serializer writes it inside its document (start tag with
 * its attributes, content, end tag or `/>`), counted without building the text: what a
 * client that fetched the document got for that node.
 */
export function serializedBytes(node: Node): number {
  switch (node.nodeType) {
    case 1: {
      const el = node as Element;
      const name = Buffer.byteLength(el.tagName);
      let n = 1 + name;
      for (let i = 0; i < el.attributes.length; i++) {
        const a = el.attributes.item(i) as Attr;
        n += 4 + Buffer.byteLength(a.name) + Buffer.byteLength(escapeAttr(a.value));
      }
      if (el.firstChild === null) return n + 2;
      for (let c: Node | null = el.firstChild; c !== null; c = c.nextSibling) n += serializedBytes(c);
      return n + 1 + 3 + name;
    }
    case 3:
      return Buffer.byteLength(escapeText((node as Node & { data: string }).data));
    case 4:
      return 12 + Buffer.byteLength((node as Node & { data: string }).data);
    case 7: {
      const pi = node as ProcessingInstruction;
      return 5 + Buffer.byteLength(pi.target) + Buffer.byteLength(pi.data);
    }
    case 8:
      return 7 + Buffer.byteLength((node as Node & { data: string }).data);
    default:
      return 0;
  }
}

function escapeText(s: string): string {
  return TEXT_SPECIAL.test(s) ? s.replace(/[<&>]/g, (c) => TEXT_ESCAPES[c]!) : s;
}

function escapeAttr(s: string): string {
  return ATTR_SPECIAL.test(s) ? s.replace(/[<>&"\t\n\r]/g, (c) => ATTR_ESCAPES[c]!) : s;
}

const TEXT_ESCAPES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;' };
const ATTR_ESCAPES: Record<string, string> = { ...TEXT_ESCAPES, '"': '&quot;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' };
