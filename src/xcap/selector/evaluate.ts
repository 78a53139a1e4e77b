/**
 * Node selector evaluation on an xmldom DOM (RFC 4825 §6.3), never on text.
 *
 * Semantics are those of the XPath the node selector abbreviates: the first step is
 * tested against the document's root element; each further step against the element
 * children of every element the previous step selected. Within a step, `[n]` picks the
 * n-th child that passes the name test, and only then is the attribute test applied, so
 * `entry[2][@uri="x"]` selects the second entry if (and only if) its uri is "x", not the
 * second entry whose uri is "x". A selector that ends on more than one element selects
 * nothing usable: callers answer 404 (or insert, for PUT).
 */
import type { Document, Element, Node } from '@xmldom/xmldom';
import type { Step } from './parse.ts';
import type { NodeSelector } from './parse.ts';

/** The single element selected by the selector's element steps, or null for none or several. */
export function selectElement(doc: Document, sel: NodeSelector): Element | null {
  return selectUnique(doc, sel.steps, sel.steps.length);
}

/**
 * The single element selected by the first `depth` steps, or null for none or several.
 * `depth` 0 selects nothing (the document is not an element).
 */
export function selectUnique(doc: Document, steps: readonly Step[], depth: number): Element | null {
  const found = selectAll(doc, steps, depth, 2);
  return found.length === 1 ? found[0]! : null;
}

/**
 * The elements selected by the first `depth` steps, in document order, stopping once
 * `limit` are found in the last step (enough to tell "one" from "several").
 */
export function selectAll(doc: Document, steps: readonly Step[], depth: number, limit = Infinity): Element[] {
  const root = doc.documentElement;
  if (root === null || depth === 0) return [];
  let current: Element[] = [];
  const first = steps[0]!;
  if (first.position === undefined || first.position === 1) {
    if (nameMatches(root, first) && attrMatches(root, first)) current.push(root);
  }
  for (let d = 1; d < depth && current.length > 0; d++) {
    const step = steps[d]!;
    const last = d === depth - 1;
    const next: Element[] = [];
    for (const parent of current) {
      matchChildren(parent, step, next, last ? limit : Infinity);
      if (next.length >= limit && last) break;
    }
    current = next;
  }
  return current;
}

/** Whether `el` passes the step's name test (`*` passes every element). */
export function nameMatches(el: Element, step: Step): boolean {
  if (step.local === '*') return true;
  return el.localName === step.local && (el.namespaceURI ?? null) === step.ns;
}

/**
 * Whether `el` passes the step's name and attribute tests; its position is the caller's
 * to know (an element put in place of one with the same name keeps that one's position).
 */
export function passesTests(el: Element, step: Step): boolean {
  return nameMatches(el, step) && attrMatches(el, step);
}

function attrMatches(el: Element, step: Step): boolean {
  const t = step.attr;
  if (t === undefined) return true;
  const a = el.getAttributeNodeNS(t.ns, t.local);
  return a !== null && a.value === t.value;
}

/** Appends to `out` the children of `parent` selected by `step`. */
function matchChildren(parent: Element, step: Step, out: Element[], limit: number): void {
  let seen = 0;
  for (let c: Node | null = parent.firstChild; c !== null; c = c.nextSibling) {
    if (c.nodeType !== 1) continue;
    const el = c as Element;
    if (!nameMatches(el, step)) continue;
    seen++;
    if (step.position !== undefined) {
      if (seen === step.position) {
        if (attrMatches(el, step)) out.push(el);
        return;
      }
      continue;
    }
    if (attrMatches(el, step)) {
      out.push(el);
      if (out.length >= limit) return;
    }
  }
}
