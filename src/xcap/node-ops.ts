/**
 * Element, attribute and namespace operations on a stored document (RFC 4825 §7.4–§7.10,
 * server rules §8.2, §8.3). No I/O, no validation against the application usage (the
 * caller validates the resulting document and stores it).
 *
 * A document is its stored text and the DOM parsed from it. Selectors are evaluated on the
 * DOM; what is read and written is the text: a GET returns the node's bytes as they are in
 * the document (no namespace declarations added from ancestors, RFC 4825 §8.3), and a PUT
 * or DELETE splices bytes in or out, so GET(PUT(x)) == x and the rest of the document keeps
 * its bytes. Each writer edits the DOM the same way, so the DOM stays the one the new text
 * parses to (what the usage validates and the next request selects on).
 *
 * The PUT and DELETE functions change `doc` (text and DOM) in place. When they throw, `doc`
 * is as it was.
 *
 * Rules shared by the writers:
 * - A namespace selector (`namespace::*`) is read-only: PUT and DELETE get 405, Allow: GET.
 * - PUT replaces what the selector selects, else inserts. The parent (the selector minus
 *   its last step) must select exactly one element, else `no-parent` carrying the URI of
 *   the closest ancestor that does (or the document URI).
 * - After the change the same selector must select exactly the node that was put, else
 *   `cannot-insert` and nothing changes: this one check covers a body whose name does not
 *   fit the step, a body that changes the attribute the step tests, and positions that
 *   cannot be reached (`[0]`, or past the last sibling + 1).
 * - After a DELETE the same selector must select nothing, else `cannot-delete` (deleting
 *   `entry[1]` while a second entry exists would make the URI select that one).
 * - A document keeps its one root element: the root can be replaced by a PUT whose body
 *   is selected by the same one-step selector, but a one-step PUT that does not select the
 *   root (it would add a second root) is `cannot-insert`, and a DELETE of the root is
 *   `cannot-delete` (an XML document without a root element does not exist; the client
 *   deletes the document instead).
 */
import type { Attr, Document, Element, Node } from '@xmldom/xmldom';
import { CannotDelete, CannotInsert, escapeAttr, MethodNotAllowed, NoParent, NotFound, NotXmlAttValue } from './errors.ts';
import type { NodeSelector, Step } from './selector/parse.ts';
import { nameMatches, passesTests, selectAll, selectElement, selectUnique } from './selector/evaluate.ts';
import {
  attributeSpans,
  elementSpan,
  endTagStart,
  fragmentSpan,
  SpanMismatch,
  whitespaceStart,
  type AttributeSpan,
  type ElementSpan,
} from './text-spans.ts';
import { encodeSelector, formatXmlnsQuery } from './uri.ts';
import { attValueToString, inScopeNamespaces, parseElementFragment, XML_NS, XMLNS_NS } from './xml.ts';

export type NodeContentType = 'application/xcap-el+xml' | 'application/xcap-att+xml' | 'application/xcap-ns+xml';

/** A document as stored and the DOM parsed from it; the writers below change both in step. */
export interface EditableDocument {
  /** The document's text, byte for byte as stored. */
  text: string;
  readonly dom: Document;
  /**
   * Element spans found so far, kept by a caller whose document nobody edits (a read
   * cache), so repeated GETs of one node scan the text once. Writers do not use it.
   */
  readonly spans?: WeakMap<Element, ElementSpan>;
}

/**
 * GET of a node (RFC 4825 §7.6, §7.9, §7.10, §8.3).
 * - element: its bytes as they are in the document, from `<` to the end of its end tag;
 *   namespace declarations made by ancestors are not added, so the fragment may use
 *   prefixes it does not declare (and a PUT of it under the same parent restores it);
 * - attribute: the value's bytes between its quotes, an AttValue a PUT of the same body restores;
 * - namespace::*: an empty element with the selected element's qualified name carrying an
 *   xmlns declaration for every namespace in scope there.
 * @throws NotFound when nothing (or more than one element) is selected, or the attribute is absent.
 */
export function getNode(doc: EditableDocument, sel: NodeSelector): { body: string; contentType: NodeContentType } {
  const el = selectElement(doc.dom, sel);
  if (el === null) throw new NotFound('the node selector selects no element');
  const t = sel.terminal;
  if (t === null) {
    const span = readSpan(doc, el);
    return { body: doc.text.slice(span.start, span.end), contentType: 'application/xcap-el+xml' };
  }
  if (t.kind === 'attribute') {
    const a = isDeclaration(t) ? null : el.getAttributeNodeNS(t.ns, t.local);
    if (a === null) throw new NotFound('no such attribute');
    const at = attributeSpan(doc.text, readSpan(doc, el), a);
    return { body: doc.text.slice(at.valueStart, at.valueEnd), contentType: 'application/xcap-att+xml' };
  }
  const bindings = inScopeNamespaces(el);
  let body = `<${el.tagName}`;
  for (const [prefix, ns] of Object.entries(bindings)) {
    body += prefix === '' ? ` xmlns="${escapeAttr(ns)}"` : ` xmlns:${prefix}="${escapeAttr(ns)}"`;
  }
  return { body: body + '/>', contentType: 'application/xcap-ns+xml' };
}

/**
 * PUT of an element (RFC 4825 §7.4, §8.2). `body` is the decoded request body; its
 * element goes into the document byte for byte (the XML declaration, comments and
 * whitespace around it do not), with no whitespace added around it (§8.2.3).
 * An inserted element goes where the last step says: `[n]` makes it the n-th sibling that
 * passes the step's name test; otherwise it follows the last sibling with its own
 * expanded name, or the last child element, or is the parent's last child.
 * @returns created: true for an insert (201), false for a replacement (200); the element now in the document.
 * @throws MethodNotAllowed for a namespace selector; NoParent; NotXmlFrag; CannotInsert.
 */
export function putElement(doc: EditableDocument, sel: NodeSelector, body: string, documentUri: string): { created: boolean; element: Element } {
  refuseNamespaceSelector(sel);
  if (sel.terminal !== null) throw new TypeError('putElement needs an element selector; use putAttribute');
  const { dom, text } = doc;
  const steps = sel.steps;
  const existing = selectElement(dom, sel);

  if (existing !== null) {
    const parent = existing.parentNode!;
    const el = importFragment(dom, body, parent.nodeType === 1 ? (parent as Element) : null);
    // `existing` was the one element selected and nothing else changes, so the selector
    // selects `el` exactly when `el` passes the last step's tests: with the same name
    // (which the tests include) it has `existing`'s position among the named siblings.
    if (!passesTests(el, steps[steps.length - 1]!)) throw new CannotInsert('the node selector would not select the new element');
    const span = elementSpan(text, existing);
    parent.replaceChild(el, existing);
    doc.text = splice(text, span.start, span.end, fragmentText(body));
    return { created: false, element: el };
  }

  if (steps.length === 1) throw new CannotInsert('a document has exactly one root element');
  const parent = selectUnique(dom, steps, steps.length - 1);
  if (parent === null) throw new NoParent(ancestorUri(dom, sel, steps.length - 2, documentUri));
  const el = importFragment(dom, body, parent);
  const place = placement(parent, el, steps[steps.length - 1]!);
  if (place === null) throw new CannotInsert('no position among the siblings makes the node selector select the new element');
  // Where the bytes go, found while text and DOM still agree.
  const write = textInsertion(text, parent, place);
  parent.insertBefore(el, place.before);
  if (selectElement(dom, sel) !== el) {
    parent.removeChild(el);
    throw new CannotInsert('the node selector would not select the new element');
  }
  doc.text = write(fragmentText(body));
  return { created: true, element: el };
}

/**
 * PUT of an attribute (RFC 4825 §7.7, §8.2). `value` is the decoded request body: an
 * AttValue without quotes (references are decoded, literal whitespace becomes spaces),
 * written into the start tag as sent. The quotes around it stay unless the body holds
 * that quote character.
 * @returns created: true if the attribute did not exist; the element that carries it.
 * @throws MethodNotAllowed for a namespace selector; NotXmlAttValue; NoParent when the
 *   element does not exist; CannotInsert when the element would no longer be selected.
 */
export function putAttribute(doc: EditableDocument, sel: NodeSelector, value: string, documentUri: string): { created: boolean; element: Element } {
  refuseNamespaceSelector(sel);
  const t = sel.terminal;
  if (t === null || t.kind !== 'attribute') throw new TypeError('putAttribute needs an attribute selector');
  const decoded = attValueToString(value);
  if (decoded === null) throw new NotXmlAttValue('the body is not a valid XML attribute value');
  // Writing a namespace declaration would move the element and its children to another namespace.
  if (isDeclaration(t)) throw new CannotInsert('a namespace declaration (xmlns) is not an attribute and cannot be put');
  const { dom, text } = doc;
  const el = selectElement(dom, sel);
  if (el === null) throw new NoParent(ancestorUri(dom, sel, sel.steps.length - 1, documentUri));

  const span = elementSpan(text, el);
  const old = el.getAttributeNodeNS(t.ns, t.local);
  // The body cannot hold both quote characters (attValueToString refused that).
  const quoteFor = (current: string) => (value.includes('"') ? "'" : value.includes("'") ? '"' : current);
  let newText: string;
  let undo: () => void;
  if (old !== null) {
    const at = attributeSpan(text, span, old);
    const q = quoteFor(at.quote);
    newText = splice(text, at.valueStart - 1, at.valueEnd + 1, q + value + q);
    const previous = old.value;
    const qname = old.name;
    el.setAttributeNS(t.ns, qname, decoded);
    undo = () => el.setAttributeNS(t.ns, qname, previous);
  } else {
    const q = quoteFor('"');
    const at = attributesEnd(text, span, el);
    if (t.ns === null) {
      newText = splice(text, at, at, ` ${t.local}=${q}${value}${q}`);
      el.setAttribute(t.local, decoded);
      undo = () => el.removeAttribute(t.local);
    } else {
      const ns = t.ns;
      const { prefix, declare } = attributePrefix(el, ns, t.prefix);
      const declaration = declare ? ` xmlns:${prefix}="${escapeAttr(ns)}"` : '';
      newText = splice(text, at, at, `${declaration} ${prefix}:${t.local}=${q}${value}${q}`);
      if (declare) el.setAttributeNS(XMLNS_NS, `xmlns:${prefix}`, ns);
      el.setAttributeNS(ns, `${prefix}:${t.local}`, decoded);
      undo = () => {
        el.removeAttributeNS(ns, t.local);
        if (declare) el.removeAttributeNS(XMLNS_NS, prefix);
      };
    }
  }
  if (selectElement(dom, sel) !== el) {
    undo();
    throw new CannotInsert('the node selector would not select the attribute after the PUT');
  }
  doc.text = newText;
  return { created: old === null, element: el };
}

/**
 * DELETE of an element or attribute (RFC 4825 §7.5, §7.8, §8.2). The whitespace before
 * a deleted element, when it is all the text between the element and what precedes it,
 * goes with it, so indentation stays tidy; an attribute goes with the whitespace before it.
 * @returns the element whose start tag (an attribute's DELETE) or children (an element's) changed.
 * @throws MethodNotAllowed for a namespace selector; NotFound; CannotDelete.
 */
export function deleteNode(doc: EditableDocument, sel: NodeSelector): Element {
  refuseNamespaceSelector(sel);
  const { dom, text } = doc;
  const el = selectElement(dom, sel);
  if (el === null) throw new NotFound('the node selector selects no element');
  const t = sel.terminal;
  if (t !== null && t.kind === 'attribute') {
    // An element has at most one attribute per expanded name: once removed, the
    // selector cannot select another, so the cannot-delete check is void here.
    // Removing a namespace declaration would unbind prefixes in use: it is not an attribute here.
    const a = isDeclaration(t) ? null : el.getAttributeNodeNS(t.ns, t.local);
    if (a === null) throw new NotFound('no such attribute');
    const at = attributeSpan(text, elementSpan(text, el), a);
    el.removeAttributeNode(a);
    doc.text = splice(text, whitespaceStart(text, at.start), at.valueEnd + 1, '');
    return el;
  }
  if (el === dom.documentElement) throw new CannotDelete('the root element cannot be deleted; delete the document');
  const span = elementSpan(text, el);
  const parent = el.parentNode as Element;
  const next = el.nextSibling;
  const ws = whitespaceBefore(el);
  const wsStart = whitespaceStart(text, span.start);
  // The DOM's text node before `el` is whitespace only, and it is exactly the raw run of
  // whitespace (not `&#10;` or the tail of other text): remove both, or neither.
  const withWs = ws !== null && normalizeNewlines(text.slice(wsStart, span.start)) === ws.nodeValue;
  parent.removeChild(el);
  if (withWs) parent.removeChild(ws);
  if (selectAll(dom, sel.steps, sel.steps.length, 1).length > 0) {
    parent.insertBefore(el, next);
    if (withWs) parent.insertBefore(ws, el);
    throw new CannotDelete('the node selector would select another element after the DELETE');
  }
  doc.text = splice(text, withWs ? wsStart : span.start, span.end, '');
  return parent;
}

/** Whether an attribute terminal names a namespace declaration, which the node selector's data model has no attribute for. */
function isDeclaration(t: { ns: string | null; local: string }): boolean {
  return t.ns === XMLNS_NS || (t.ns === null && t.local === 'xmlns');
}

/** The span of `el`, from `doc.spans` when it holds it. */
function readSpan(doc: EditableDocument, el: Element): ElementSpan {
  let span = doc.spans?.get(el);
  if (span === undefined) {
    span = elementSpan(doc.text, el);
    doc.spans?.set(el, span);
  }
  return span;
}

function refuseNamespaceSelector(sel: NodeSelector): void {
  if (sel.terminal !== null && sel.terminal.kind === 'namespace') throw new MethodNotAllowed(['GET']);
}

/**
 * URI of the closest existing ancestor for `<no-parent>` (RFC 4825 §11.2): the deepest
 * prefix of at most `maxDepth` steps that selects exactly one element, or the document.
 */
function ancestorUri(doc: Document, sel: NodeSelector, maxDepth: number, documentUri: string): string {
  let best = 0;
  for (let d = 1; d <= maxDepth; d++) {
    const found = selectAll(doc, sel.steps, d, 2);
    if (found.length === 0) break;
    if (found.length === 1) best = d;
  }
  if (best === 0) return documentUri;
  const text = sel.steps
    .slice(0, best)
    .map((s) => s.text)
    .join('/');
  return `${documentUri}/~~/${encodeSelector(text)}${formatXmlnsQuery(sel.namespaces)}`;
}

/**
 * Parses the body against `context`'s bindings (prefixes the fragment does not declare
 * resolve as at its parent) and moves the element into `doc`. Its own declarations stay,
 * as in its bytes.
 */
function importFragment(doc: Document, body: string, context: Element | null): Element {
  const el = parseElementFragment(body, context);
  (el.ownerDocument as Document).removeChild(el);
  adopt(el, doc);
  return el;
}

/**
 * Makes `doc` the owner of `node` and all in it (and of their attributes), as DOM's
 * adoptNode does: the parse's own nodes are moved rather than copied. xmldom's importNode
 * stamps its copies the same way, but copies every node property by property, which cost an
 * element PUT more than parsing the fragment.
 */
function adopt(node: Node, doc: Document): void {
  (node as { ownerDocument: Document | null }).ownerDocument = doc;
  if (node.nodeType === 1) {
    const attrs = (node as Element).attributes;
    for (let i = 0; i < attrs.length; i++) adopt(attrs.item(i) as Attr, doc);
  }
  for (let c = node.firstChild; c !== null; c = c.nextSibling) adopt(c, doc);
}

/** The bytes of the element of a PUT body (parsed already, so well-formed). */
function fragmentText(body: string): string {
  const span = fragmentSpan(body);
  return body.slice(span.start, span.end);
}

/** Where an inserted element goes: before `before` among the parent's children (null: last), next to `ref`. */
interface Placement {
  readonly before: Node | null;
  /** The element it goes after or before, or null when the parent has no element child. */
  readonly ref: Element | null;
  readonly after: boolean;
}

/** Where `el` goes under `parent` as `last` directs; null when no place makes it selected. */
function placement(parent: Element, el: Element, last: Step): Placement | null {
  if (last.position !== undefined) {
    if (last.position < 1) return null;
    const matching: Element[] = [];
    for (let c: Node | null = parent.firstChild; c !== null && matching.length < last.position; c = c.nextSibling) {
      if (c.nodeType === 1 && nameMatches(c as Element, last)) matching.push(c as Element);
    }
    if (last.position === 1 && matching.length > 0) return { before: matching[0]!, ref: matching[0]!, after: false };
    if (last.position > 1) {
      // Fewer than n-1 siblings: no place makes it the n-th.
      const prev = matching[last.position - 2];
      return prev === undefined ? null : { before: prev.nextSibling, ref: prev, after: true };
    }
  }
  let sameName: Element | null = null;
  let lastElement: Element | null = null;
  for (let c: Node | null = parent.firstChild; c !== null; c = c.nextSibling) {
    if (c.nodeType !== 1) continue;
    lastElement = c as Element;
    if (lastElement.localName === el.localName && lastElement.namespaceURI === el.namespaceURI) sameName = lastElement;
  }
  const ref = sameName ?? lastElement;
  return ref !== null ? { before: ref.nextSibling, ref, after: true } : { before: null, ref: null, after: true };
}

/** The text edit that puts an element's bytes where `place` puts it in the DOM. */
function textInsertion(text: string, parent: Element, place: Placement): (fragment: string) => string {
  if (place.ref !== null) {
    const span = elementSpan(text, place.ref);
    const at = place.after ? span.end : span.start;
    return (fragment) => splice(text, at, at, fragment);
  }
  const span = elementSpan(text, parent);
  if (!span.empty) {
    const at = endTagStart(text, span);
    return (fragment) => splice(text, at, at, fragment);
  }
  // `<list name="l"/>` becomes `<list name="l">…</list>`.
  return (fragment) => splice(text, span.tagEnd - 2, span.tagEnd, `>${fragment}</${parent.tagName}>`);
}

/** The span of attribute `a` of the element at `span`. */
function attributeSpan(text: string, span: ElementSpan, a: Attr): AttributeSpan {
  const found = attributeSpans(text, span).find((s) => s.name === a.name);
  if (found === undefined) throw new SpanMismatch(`attribute ${a.name} is not in the start tag`);
  return found;
}

/** Index just after the last attribute of the start tag at `span` (after the name when it has none). */
function attributesEnd(text: string, span: ElementSpan, el: Element): number {
  const attrs = attributeSpans(text, span);
  const last = attrs[attrs.length - 1];
  return last === undefined ? span.start + 1 + el.tagName.length : last.valueEnd + 1;
}

function splice(text: string, from: number, to: number, insert: string): string {
  return text.slice(0, from) + insert + text.slice(to);
}

/** The whitespace-only text node right before `el`, if any. */
function whitespaceBefore(el: Element): Node | null {
  const prev = el.previousSibling;
  if (prev === null || prev.nodeType !== 3) return null;
  return /^[ \t\r\n]+$/.test(prev.nodeValue ?? '') ? prev : null;
}

/** Line ends as the XML parser reports them (XML 1.0 §2.11). */
function normalizeNewlines(s: string): string {
  return s.replace(/\r\n?/g, '\n');
}

/**
 * The prefix for a new attribute in `ns` on `el`: one already bound to `ns` in scope, else
 * the selector's prefix if it is free there, else a fresh one; `declare` says whether an
 * xmlns declaration must be added (never for `xml`, which is always bound).
 */
function attributePrefix(el: Element, ns: string, wanted: string | null): { prefix: string; declare: boolean } {
  if (ns === XML_NS) return { prefix: 'xml', declare: false };
  const inScope = inScopeNamespaces(el);
  for (const [p, uri] of Object.entries(inScope)) {
    if (p !== '' && uri === ns) return { prefix: p, declare: false };
  }
  let prefix = wanted ?? 'ns';
  for (let k = 1; Object.hasOwn(inScope, prefix); k++) prefix = `ns${k}`;
  return { prefix, declare: true };
}
