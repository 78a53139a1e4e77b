/**
 * ItemMapping: how the items of one bound list sit inside an XCAP document, and how sync
 * reads and edits them without touching anything else in the document.
 *
 * A bound list is a container element (found below the root by element name and,
 * optionally, a name attribute) whose item children each map to one ItemFields. A field
 * lives in an attribute of the item, in the text of a child element, or in a
 * `<f:field name="...">` element of the project's field namespace (for extras such as
 * phone numbers that the usage's schema lets through as `##other` content).
 *
 * Children of an item that the mapping does not name (client extensions such as Bria's
 * `cp:prop`) are kept on update.
 */
import { DOMParser, XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import type { ItemFields } from '../../../connectors/types.ts';
import type { XcapOp } from '../reconcile.ts';

/** Namespace of `<f:field name="...">` elements carrying extra fields. */
export const FIELDS_NS = 'urn:xcap-bridge:params:xml:ns:fields';
const FIELDS_PREFIX = 'xbf';

export type FieldPlace = { readonly attr: string } | { readonly child: string } | { readonly param: string };

export interface ElementListSpec {
  /** Namespace of root, container and items. */
  readonly namespace: string;
  /** Root element's local name, for a new document. */
  readonly root: string;
  /** Container element (a child of the root), e.g. `list` with `name="directory"`; `null` = the root itself. */
  readonly container: { readonly element: string; readonly nameAttr?: string; readonly name?: string } | null;
  /** Item element's local name (`entry`). */
  readonly item: string;
  /** Field name → where it lives, in document order for new items (child elements first as listed). */
  readonly fields: Readonly<Record<string, FieldPlace>>;
  /** Field that identifies an item within the list. */
  readonly keyField: string;
}

export class SyncDocumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SyncDocumentError';
  }
}

export interface ItemMapping {
  readonly keyField: string;
  /** Field names the mapping carries; other fields of remote items are ignored. */
  readonly fields: readonly string[];
  /** Parses a stored body. Throws `SyncDocumentError` when it is not well-formed. */
  parse(body: string): Document;
  serialize(doc: Document): string;
  /** Body of a new document with an empty bound list. */
  emptyDocument(): string;
  /** The bound list's items by key (first wins on duplicate keys); empty when the list is missing. */
  read(doc: Document): Map<string, ItemFields>;
  /** Applies XCAP-side operations to the bound list, creating the list if needed. */
  apply(doc: Document, ops: readonly XcapOp[]): void;
}

export function elementListMapping(spec: ElementListSpec): ItemMapping {
  const ns = spec.namespace;
  const fieldEntries = Object.entries(spec.fields);
  const childOrder = fieldEntries.flatMap(([, p]) => ('child' in p ? [p.child] : []));

  function isEl(n: unknown, local: string, namespace: string | null = ns): n is Element {
    const el = n as Element;
    return el?.nodeType === 1 && el.localName === local && el.namespaceURI === namespace;
  }

  function findContainer(doc: Document): Element | undefined {
    const root = doc.documentElement;
    if (!root || !isEl(root, spec.root)) return undefined;
    const c = spec.container;
    if (!c) return root;
    for (let n = root.firstChild; n; n = n.nextSibling) {
      if (isEl(n, c.element) && (c.nameAttr === undefined || n.getAttribute(c.nameAttr) === c.name)) return n;
    }
    return undefined;
  }

  function childEl(parent: Element, local: string, namespace: string, name?: string): Element | undefined {
    for (let n = parent.firstChild; n; n = n.nextSibling) {
      if (isEl(n, local, namespace) && (name === undefined || n.getAttribute('name') === name)) return n;
    }
    return undefined;
  }

  function readItem(el: Element): ItemFields {
    const out: Record<string, string> = {};
    for (const [name, p] of fieldEntries) {
      let v: string | null | undefined;
      if ('attr' in p) v = el.getAttribute(p.attr);
      else if ('child' in p) v = childEl(el, p.child, ns)?.textContent;
      else v = childEl(el, 'field', FIELDS_NS, p.param)?.textContent;
      if (v) out[name] = v;
    }
    return out;
  }

  function writeItem(doc: Document, el: Element, fields: ItemFields): void {
    for (const [name, p] of fieldEntries) {
      const v = fields[name];
      if ('attr' in p) {
        if (v === undefined) el.removeAttribute(p.attr);
        else el.setAttribute(p.attr, v);
        continue;
      }
      const existing = 'child' in p ? childEl(el, p.child, ns) : childEl(el, 'field', FIELDS_NS, p.param);
      if (v === undefined) {
        if (existing) el.removeChild(existing);
        continue;
      }
      if (existing) {
        existing.textContent = v;
        continue;
      }
      let created: Element;
      if ('child' in p) {
        created = doc.createElementNS(ns, p.child);
        // Schema order: before the first later-listed child or any foreign element.
        const later = childOrder.slice(childOrder.indexOf(p.child) + 1);
        let before: Element | null = null;
        for (let n = el.firstChild; n; n = n.nextSibling) {
          const e = n as Element;
          if (e.nodeType === 1 && (e.namespaceURI !== ns || later.includes(e.localName ?? ''))) {
            before = e;
            break;
          }
        }
        el.insertBefore(created, before);
      } else {
        ensurePrefix(doc);
        created = doc.createElementNS(FIELDS_NS, `${FIELDS_PREFIX}:field`);
        created.setAttribute('name', p.param);
        el.appendChild(created);
      }
      created.textContent = v;
    }
  }

  function ensurePrefix(doc: Document): void {
    const root = doc.documentElement;
    if (root && !root.hasAttribute(`xmlns:${FIELDS_PREFIX}`)) root.setAttributeNS('http://www.w3.org/2000/xmlns/', `xmlns:${FIELDS_PREFIX}`, FIELDS_NS);
  }

  function keyOfEl(el: Element): string | undefined {
    return readItem(el)[spec.keyField];
  }

  return {
    keyField: spec.keyField,
    fields: fieldEntries.map(([name]) => name),

    parse(body) {
      let failed: string | undefined;
      const doc = new DOMParser({
        onError: (level, msg) => {
          if (level !== 'warning') failed ??= msg;
        },
      }).parseFromString(body, 'text/xml');
      if (failed !== undefined || !doc.documentElement) throw new SyncDocumentError(`document is not well-formed: ${failed ?? 'no root element'}`);
      return doc;
    },

    serialize(doc) {
      return new XMLSerializer().serializeToString(doc);
    },

    emptyDocument() {
      const c = spec.container;
      const inner = c ? `<${c.element}${c.nameAttr ? ` ${c.nameAttr}="${escapeAttr(c.name ?? '')}"` : ''}/>` : '';
      return `<?xml version="1.0" encoding="UTF-8"?>\n<${spec.root} xmlns="${escapeAttr(ns)}">${inner}</${spec.root}>`;
    },

    read(doc) {
      const out = new Map<string, ItemFields>();
      const c = findContainer(doc);
      if (!c) return out;
      for (let n = c.firstChild; n; n = n.nextSibling) {
        if (!isEl(n, spec.item)) continue;
        const fields = readItem(n);
        const key = fields[spec.keyField];
        if (key !== undefined && !out.has(key)) out.set(key, fields);
      }
      return out;
    },

    apply(doc, ops) {
      let c = findContainer(doc);
      if (!c) {
        const root = doc.documentElement;
        if (!root || !isEl(root, spec.root)) throw new SyncDocumentError(`root element is not {${ns}}${spec.root}`);
        const cs = spec.container as NonNullable<ElementListSpec['container']>;
        c = doc.createElementNS(ns, cs.element);
        if (cs.nameAttr) c.setAttribute(cs.nameAttr, cs.name ?? '');
        root.appendChild(c);
      }
      const byKey = new Map<string, Element>();
      for (let n = c.firstChild; n; n = n.nextSibling) {
        if (!isEl(n, spec.item)) continue;
        const k = keyOfEl(n);
        if (k !== undefined && !byKey.has(k)) byKey.set(k, n);
      }
      // Deletes first, so a key freed in this run can be taken by a create.
      for (const op of ops) {
        if (op.op !== 'delete') continue;
        const el = byKey.get(op.key);
        if (el) {
          c.removeChild(el);
          byKey.delete(op.key);
        }
      }
      for (const op of ops) {
        if (op.op === 'delete') continue;
        const existing = op.op === 'update' ? byKey.get(op.key) : undefined;
        const el = existing ?? doc.createElementNS(ns, spec.item);
        writeItem(doc, el, op.fields);
        if (!existing) c.appendChild(el);
      }
    },
  };
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}
