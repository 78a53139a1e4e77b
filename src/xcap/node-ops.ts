/**
 * Element, attribute and namespace operations on a parsed document (RFC 4825 §7.4–§7.10,
 * server rules §8.2). Pure DOM work: no I/O, no validation against the application usage
 * (the caller validates the resulting document and stores it).
 *
 * The PUT and DELETE functions mutate `doc` in place. When they throw, `doc` is as it was.
 *
 * Rules shared by the writers:
 * - A namespace selector (`namespace::*`) is read-only: PUT and DELETE get 405, Allow: GET.
 * - PUT replaces what the selector selects, else inserts. The parent (the selector minus
 *   its last step) must select exactly one element, else `no-parent` carrying the URI of
 *   the closest ancestor that does (or the document URI).
 * - After the change the same selector must select exactly the node that was put, else
 *   `cannot-insert` and nothing changes: this one check covers a body whose name does not
 *   fit the step, a body that changes the attribute the step tests, and positions that
 *   cannot be reached.
 * - After a DELETE the same selector must select nothing, else `cannot-delete` (deleting
 *   `entry[1]` while a second entry exists would make the URI select that one).
 * - A document keeps its one root element: the root can be replaced by a PUT whose body
 *   is selected by the same one-step selector, but a one-step PUT that does not select the
 *   root (it would add a second root) is `cannot-insert`, and a DELETE of the root is
 *   `cannot-delete` (an XML document without a root element does not exist; the client
 *   deletes the document instead).
 */
import type { Document, Element, Node } from '@xmldom/xmldom';
import { CannotDelete, CannotInsert, escapeAttr, MethodNotAllowed, NoParent, NotFound, NotXmlAttValue } from './errors.ts';
import type { NodeSelector, Step } from './selector/parse.ts';
import { nameMatches, passesTests, selectAll, selectElement, selectUnique } from './selector/evaluate.ts';
import { encodeSelector, formatXmlnsQuery } from './uri.ts';
import { attValueToString, inScopeNamespaces, parseElementFragment, serialize, stringToAttValue, XMLNS_NS } from './xml.ts';

export type NodeContentType = 'application/xcap-el+xml' | 'application/xcap-att+xml' | 'application/xcap-ns+xml';

/**
 * GET of a node (RFC 4825 §7.6, §7.9, §7.10).
 * - element: the element serialized, with the namespace declarations it needs added so the
 *   fragment stands alone;
 * - attribute: the value as AttValue text without quotes (`&`, `<`, `"` escaped), which a
 *   PUT of the same body restores;
 * - namespace::*: an empty element with the selected element's qualified name carrying an
 *   xmlns declaration for every namespace in scope there.
 * @throws NotFound when nothing (or more than one element) is selected, or the attribute is absent.
 */
export function getNode(doc: Document, sel: NodeSelector): { body: string; contentType: NodeContentType } {
  const el = selectElement(doc, sel);
  if (el === null) throw new NotFound('the node selector selects no element');
  const t = sel.terminal;
  if (t === null) return { body: serialize(el), contentType: 'application/xcap-el+xml' };
  if (t.kind === 'attribute') {
    const a = el.getAttributeNodeNS(t.ns, t.local);
    if (a === null) throw new NotFound('no such attribute');
    return { body: stringToAttValue(a.value), contentType: 'application/xcap-att+xml' };
  }
  const bindings = inScopeNamespaces(el);
  let body = `<${el.tagName}`;
  for (const [prefix, ns] of Object.entries(bindings)) {
    body += prefix === '' ? ` xmlns="${escapeAttr(ns)}"` : ` xmlns:${prefix}="${escapeAttr(ns)}"`;
  }
  return { body: body + '/>', contentType: 'application/xcap-ns+xml' };
}

/**
 * PUT of an element (RFC 4825 §7.4, §8.2). `body` is the decoded request body.
 * An inserted element goes where the last step says: `[n]` makes it the n-th sibling that
 * passes the step's name test; otherwise it follows the last sibling with its own
 * expanded name, or the last child element when there is none.
 * @returns created: true for an insert (201), false for a replacement (200).
 * @throws MethodNotAllowed for a namespace selector; NoParent; NotXmlFrag; CannotInsert.
 */
export function putElement(doc: Document, sel: NodeSelector, body: string, documentUri: string): { created: boolean } {
  refuseNamespaceSelector(sel);
  if (sel.terminal !== null) throw new TypeError('putElement needs an element selector; use putAttribute');
  const steps = sel.steps;
  const existing = selectElement(doc, sel);

  if (existing !== null) {
    const parent = existing.parentNode!;
    const context = parent.nodeType === 1 ? (parent as Element) : null;
    const el = importFragment(doc, body, context);
    // `existing` was the one element selected and nothing else changes, so the selector
    // selects `el` exactly when `el` passes the last step's tests: with the same name
    // (which the tests include) it has `existing`'s position among the named siblings.
    if (!passesTests(el, steps[steps.length - 1]!)) throw new CannotInsert('the node selector would not select the new element');
    parent.replaceChild(el, existing);
    return { created: false };
  }

  if (steps.length === 1) throw new CannotInsert('a document has exactly one root element');
  const parent = selectUnique(doc, steps, steps.length - 1);
  if (parent === null) throw new NoParent(ancestorUri(doc, sel, steps.length - 2, documentUri));
  const el = importFragment(doc, body, parent);
  const added = insert(parent, el, steps[steps.length - 1]!);
  if (selectElement(doc, sel) !== el) {
    for (const node of added) parent.removeChild(node);
    throw new CannotInsert('the node selector would not select the new element');
  }
  return { created: true };
}

/**
 * PUT of an attribute (RFC 4825 §7.7, §8.2). `value` is the decoded request body: an
 * AttValue without quotes (references are decoded, literal whitespace becomes spaces).
 * @returns created: true if the attribute did not exist.
 * @throws MethodNotAllowed for a namespace selector; NotXmlAttValue; NoParent when the
 *   element does not exist; CannotInsert when the element would no longer be selected.
 */
export function putAttribute(doc: Document, sel: NodeSelector, value: string, documentUri: string): { created: boolean } {
  refuseNamespaceSelector(sel);
  const t = sel.terminal;
  if (t === null || t.kind !== 'attribute') throw new TypeError('putAttribute needs an attribute selector');
  const text = attValueToString(value);
  if (text === null) throw new NotXmlAttValue('the body is not a valid XML attribute value');
  const el = selectElement(doc, sel);
  if (el === null) throw new NoParent(ancestorUri(doc, sel, sel.steps.length - 1, documentUri));

  const old = el.getAttributeNodeNS(t.ns, t.local);
  let undo: () => void;
  if (old !== null) {
    const previous = old.value;
    const qname = old.name;
    el.setAttributeNS(t.ns, qname, text);
    undo = () => el.setAttributeNS(t.ns, qname, previous);
  } else if (t.ns === null) {
    el.setAttribute(t.local, text);
    undo = () => el.removeAttribute(t.local);
  } else {
    const ns = t.ns;
    const { prefix, declare } = attributePrefix(el, ns, t.prefix);
    if (declare) el.setAttributeNS(XMLNS_NS, `xmlns:${prefix}`, ns);
    el.setAttributeNS(ns, `${prefix}:${t.local}`, text);
    undo = () => {
      el.removeAttributeNS(ns, t.local);
      if (declare) el.removeAttributeNS(XMLNS_NS, prefix);
    };
  }
  if (selectElement(doc, sel) !== el) {
    undo();
    throw new CannotInsert('the node selector would not select the attribute after the PUT');
  }
  return { created: old === null };
}

/**
 * DELETE of an element or attribute (RFC 4825 §7.5, §7.8, §8.2). The whitespace text
 * before a deleted element goes with it, so indentation stays tidy.
 * @throws MethodNotAllowed for a namespace selector; NotFound; CannotDelete.
 */
export function deleteNode(doc: Document, sel: NodeSelector): void {
  refuseNamespaceSelector(sel);
  const el = selectElement(doc, sel);
  if (el === null) throw new NotFound('the node selector selects no element');
  const t = sel.terminal;
  if (t !== null && t.kind === 'attribute') {
    // An element has at most one attribute per expanded name: once removed, the
    // selector cannot select another, so the cannot-delete check is void here.
    const a = el.getAttributeNodeNS(t.ns, t.local);
    if (a === null) throw new NotFound('no such attribute');
    el.removeAttributeNode(a);
    return;
  }
  if (el === doc.documentElement) throw new CannotDelete('the root element cannot be deleted; delete the document');
  const parent = el.parentNode!;
  const next = el.nextSibling;
  const ws = whitespaceBefore(el);
  parent.removeChild(el);
  if (ws !== null) parent.removeChild(ws);
  if (selectAll(doc, sel.steps, sel.steps.length, 1).length > 0) {
    parent.insertBefore(el, next);
    if (ws !== null) parent.insertBefore(ws, el);
    throw new CannotDelete('the node selector would select another element after the DELETE');
  }
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

/** Parses the body against `context`'s bindings and imports it, dropping declarations `context` already makes. */
function importFragment(doc: Document, body: string, context: Element | null): Element {
  const el = doc.importNode(parseElementFragment(body, context), true);
  if (context === null) return el;
  const inScope = inScopeNamespaces(context);
  const attrs = el.attributes;
  for (let i = attrs.length - 1; i >= 0; i--) {
    const a = attrs.item(i)!;
    if (a.namespaceURI !== XMLNS_NS) continue;
    const prefix = a.prefix === 'xmlns' ? a.localName! : '';
    if (inScope[prefix] === a.value) el.removeAttributeNode(a);
  }
  return el;
}

/** Inserts `el` under `parent` as `last` directs; returns the nodes added (for undo). */
function insert(parent: Element, el: Element, last: Step): Node[] {
  if (last.position !== undefined) {
    const matching: Element[] = [];
    for (let c: Node | null = parent.firstChild; c !== null && matching.length < last.position; c = c.nextSibling) {
      if (c.nodeType === 1 && nameMatches(c as Element, last)) matching.push(c as Element);
    }
    if (last.position === 1 && matching.length > 0) return insertBefore(parent, el, matching[0]!);
    if (last.position > 1) {
      const before = matching[last.position - 2];
      // Fewer than n-1 siblings: no place makes it the n-th. The caller's check reports it.
      return before === undefined ? [] : insertAfter(parent, el, before);
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
  if (ref !== null) return insertAfter(parent, el, ref);
  parent.appendChild(el);
  return [el];
}

/** Inserts `el` after `ref`, indented like `ref`. */
function insertAfter(parent: Element, el: Element, ref: Element): Node[] {
  const next = ref.nextSibling;
  const ws = whitespaceBefore(ref);
  const added: Node[] = [];
  if (ws !== null) added.push(parent.insertBefore(ws.cloneNode(false), next));
  added.push(parent.insertBefore(el, next));
  return added;
}

/** Inserts `el` before `ref`, indented like `ref`. */
function insertBefore(parent: Element, el: Element, ref: Element): Node[] {
  const ws = whitespaceBefore(ref);
  const added: Node[] = [parent.insertBefore(el, ref)];
  if (ws !== null) added.push(parent.insertBefore(ws.cloneNode(false), ref));
  return added;
}

/** The whitespace-only text node right before `el`, if any. */
function whitespaceBefore(el: Element): Node | null {
  const prev = el.previousSibling;
  if (prev === null || prev.nodeType !== 3) return null;
  return /^[ \t\r\n]+$/.test(prev.nodeValue ?? '') ? prev : null;
}

/**
 * The prefix for a new attribute in `ns` on `el`: one already bound to `ns` in scope, else
 * the selector's prefix if it is free there, else a fresh one; `declare` says whether an
 * xmlns declaration must be added.
 */
function attributePrefix(el: Element, ns: string, wanted: string | null): { prefix: string; declare: boolean } {
  const inScope = inScopeNamespaces(el);
  for (const [p, uri] of Object.entries(inScope)) {
    if (p !== '' && uri === ns) return { prefix: p, declare: false };
  }
  let prefix = wanted ?? 'ns';
  for (let k = 1; Object.hasOwn(inScope, prefix); k++) prefix = `ns${k}`;
  return { prefix, declare: true };
}
