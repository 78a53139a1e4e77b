/**
 * Small DOM walks shared by the usages' semantic checks (xmldom documents, namespace-aware).
 */
import type { Document, Element, Node } from '@xmldom/xmldom';

const ELEMENT_NODE = 1;

/** Child elements of `parent` in namespace `ns`, optionally with local name `name`, in document order. */
export function childElements(parent: Node, ns: string, name?: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n !== null; n = n.nextSibling) {
    if (n.nodeType !== ELEMENT_NODE) continue;
    const el = n as Element;
    if (el.namespaceURI === ns && (name === undefined || el.localName === name)) out.push(el);
  }
  return out;
}

/** The document element, which the XCAP core guarantees exists for a parsed document. */
export function rootElement(doc: Document): Element {
  const root = doc.documentElement;
  if (root === null) throw new Error('document has no root element');
  return root;
}

/** Text content of the first child element `name` in `ns`, trimmed, or undefined. */
export function childText(parent: Node, ns: string, name: string): string | undefined {
  const el = childElements(parent, ns, name)[0];
  return el === undefined ? undefined : (el.textContent ?? '').trim();
}
