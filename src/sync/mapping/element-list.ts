/**
 * ItemMapping: how the items of one bound list sit inside an XCAP document, and how sync
 * reads and edits them without touching anything else in the document.
 *
 * A bound list is a container element (found below the root by element name and,
 * optionally, a name attribute) whose item children each map to one ItemFields. A field
 * lives in an attribute of the item, in the text of a child element, or in an extension
 * element of another namespace told apart by its `name` attribute (for extras such as
 * phone numbers that the usage's schema lets through as `##other` content). Which field
 * lives where is the usage's codec (src/appusage/resource-lists/items.ts for entries).
 *
 * Children of an item that the mapping does not name (client extensions such as Bria's
 * `cp:prop`) are kept on update.
 */
import { DOMParser, type Document, type Element } from '@xmldom/xmldom';
import type { ItemFields } from '../../../connectors/types.ts';
import { serialize } from '../../xcap/xml.ts';
import type { SerializeMemo } from '../../xcap/serializer.ts';
import { ValidItemTexts } from './valid-items.ts';
import type { XcapOp } from '../reconcile.ts';

/** An element `<prefix:element name="{name}">` of `namespace` holding the field's text. */
export interface ExtensionPlace {
  readonly namespace: string;
  /** Prefix declared on the root when the first such element is written. */
  readonly prefix: string;
  readonly element: string;
  readonly name: string;
}

export type FieldPlace = { readonly attr: string } | { readonly child: string } | { readonly extension: ExtensionPlace };

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
  /**
   * The usage's rules on one item depend on that item alone, besides keys being unique
   * in the list (the case of RFC 4826 entries: a list holds any number of them). Then a
   * valid document edited through a BoundList stays valid when the written items are
   * valid on their own and no key collides, so only they need validating (`excerpt`).
   */
  readonly standAloneItems?: boolean;
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
  /** The document as text (the same text xmldom's serializer writes). */
  serialize(doc: Document): string;
  /** Body of a new document with an empty bound list. */
  emptyDocument(): string;
  /**
   * The bound list of `doc` with an index of its items, read once (O(items)); edits
   * through it then cost O(edits), so a parsed document can be kept and edited run after
   * run. The view assumes `doc` is changed only through it.
   */
  open(doc: Document): BoundList;
  /** The bound list's items by key (first wins on duplicate keys); empty when the list is missing. */
  read(doc: Document): Map<string, ItemFields>;
  /** Applies XCAP-side operations to the bound list, creating the list if needed. */
  apply(doc: Document, ops: readonly XcapOp[]): void;
  /** See `ElementListSpec.standAloneItems`. */
  readonly standAloneItems: boolean;
  /** A new document whose bound list holds copies of `items` only (for validating what an edit wrote). */
  excerpt(items: readonly Element[]): Document;
  /** Item texts that passed the usage's validation, shared by every document of the mapping. */
  readonly validItems: ValidItemTexts;
}

/** The bound list of one parsed document, indexed by item key. */
export interface BoundList {
  readonly doc: Document;
  /** The container exists in the document (an absent list reads as no items). */
  readonly present: boolean;
  /** Items by key, as `ItemMapping.read` gives them; kept current by `apply`. */
  readonly items: ReadonlyMap<string, ItemFields>;
  /**
   * The document as text. Item texts are kept from one call to the next (an edit drops
   * the texts of the items it writes), so writing a big list back after a few edits costs
   * the edits, not the list.
   */
  serialize(): string;
  /** Text of an item as the last `serialize()` wrote it, if kept. */
  textOf(item: Element): string | undefined;
  /**
   * What the items' texts depend on besides themselves: the root's and the container's
   * names and attributes (namespace declarations among them). Items of equal text are
   * equally valid in lists of equal context.
   */
  context(): string;
  /**
   * Applies XCAP-side operations, creating the list if needed: deletes first (a key freed
   * in this batch can be taken by a create), then updates (addressed by their key before
   * the batch) and creates (appended) in order. Throws `SyncDocumentError` when the root
   * is not the mapping's. Returns the elements written, and whether every key in the list
   * is still held by one element only.
   */
  apply(ops: readonly XcapOp[]): { readonly written: Element[]; readonly uniqueKeys: boolean };
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

  const names = fieldEntries.map(([name]) => name);
  const validItems = new ValidItemTexts();
  const freshTexts = new FreshItemTexts();
  const present = (fields: ItemFields) => presentFields(names, fields);

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
      else v = childEl(el, p.extension.element, p.extension.namespace, p.extension.name)?.textContent;
      if (v) out[name] = v;
    }
    return out;
  }

  /** Writes `fields` into `el` (`fresh`: an element just created, with nothing in it yet). */
  function writeItem(doc: Document, el: Element, fields: ItemFields, fresh: boolean): void {
    for (const [name, p] of fieldEntries) {
      const v = fields[name];
      if ('attr' in p) {
        if (v !== undefined) el.setAttribute(p.attr, v);
        else if (!fresh) el.removeAttribute(p.attr);
        continue;
      }
      if (fresh && v === undefined) continue;
      const existing = fresh ? undefined : 'child' in p ? childEl(el, p.child, ns) : childEl(el, p.extension.element, p.extension.namespace, p.extension.name);
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
        const x = p.extension;
        ensurePrefix(doc, x);
        created = doc.createElementNS(x.namespace, `${x.prefix}:${x.element}`);
        created.setAttribute('name', x.name);
        el.appendChild(created);
      }
      created.textContent = v;
    }
  }

  function ensurePrefix(doc: Document, x: ExtensionPlace): void {
    const root = doc.documentElement;
    if (root && !root.hasAttribute(`xmlns:${x.prefix}`)) root.setAttributeNS('http://www.w3.org/2000/xmlns/', `xmlns:${x.prefix}`, x.namespace);
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
      return serialize(doc);
    },

    emptyDocument() {
      const c = spec.container;
      const inner = c ? `<${c.element}${c.nameAttr ? ` ${c.nameAttr}="${escapeAttr(c.name ?? '')}"` : ''}/>` : '';
      return `<?xml version="1.0" encoding="UTF-8"?>\n<${spec.root} xmlns="${escapeAttr(ns)}">${inner}</${spec.root}>`;
    },

    standAloneItems: spec.standAloneItems ?? false,

    validItems,

    excerpt(items) {
      const doc = this.parse(this.emptyDocument());
      const c = findContainer(doc) ?? doc.documentElement;
      for (const el of items) c?.appendChild(doc.importNode(el, true));
      return doc;
    },

    open(doc) {
      return openList(doc);
    },

    read(doc) {
      return new Map(openList(doc).items);
    },

    apply(doc, ops) {
      openList(doc).apply(ops);
    },
  };

  function openList(doc: Document): BoundList {
    let container = findContainer(doc);
    const byKey = new Map<string, Element>();
    const items = new Map<string, ItemFields>();
    // Duplicate keys make "first wins" depend on document order: such a list is re-read
    // whole after an edit instead of being patched (rare: the usages' schemas forbid them).
    let duplicates = false;
    /** Indexes one item element (`fields`: what it holds, when known); true when its key is already taken (first wins). */
    const indexItem = (el: Element, fields = readItem(el)): boolean => {
      const key = fields[spec.keyField];
      if (key === undefined) return false;
      if (byKey.has(key)) return true;
      byKey.set(key, el);
      items.set(key, fields);
      return false;
    };
    const index = (): void => {
      byKey.clear();
      items.clear();
      duplicates = false;
      if (!container) return;
      for (let n = container.firstChild; n; n = n.nextSibling) {
        if (isEl(n, spec.item) && indexItem(n)) duplicates = true;
      }
    };
    index();
    const memo: SerializeMemo = { text: new WeakMap(), keep: (el) => el.parentNode === container && isEl(el, spec.item) };
    /** Items created by the last apply whose text no other list of the mapping had yet, with their fields' key. */
    let unshared: [Element, string][] = [];
    const contextOf = (): string => {
      const root = doc.documentElement;
      return [root, container].map((el) => (el ? `<${el.tagName}${[...Array(el.attributes.length).keys()].map((i) => ` ${el.attributes.item(i)?.name}="${el.attributes.item(i)?.value}"`).join('')}>` : '')).join('');
    };

    return {
      doc,
      items,
      get present() {
        return container !== undefined;
      },
      serialize() {
        const text = serialize(doc, memo);
        if (unshared.length) {
          const context = contextOf();
          for (const [el, key] of unshared) {
            const t = memo.text.get(el);
            if (t !== undefined) freshTexts.set(context, key, t);
          }
          unshared = [];
        }
        return text;
      },
      textOf(item) {
        return memo.text.get(item);
      },
      context: contextOf,
      apply(ops) {
        let c = container;
        if (!c) {
          const root = doc.documentElement;
          if (!root || !isEl(root, spec.root)) throw new SyncDocumentError(`root element is not {${ns}}${spec.root}`);
          const cs = spec.container as NonNullable<ElementListSpec['container']>;
          c = doc.createElementNS(ns, cs.element);
          if (cs.nameAttr) c.setAttribute(cs.nameAttr, cs.name ?? '');
          root.appendChild(c);
          container = c;
        }
        let reindex = duplicates;
        const written: Element[] = [];
        const fresh: [Element, string][] = [];
        for (const op of ops) {
          if (op.op !== 'delete') continue;
          const el = byKey.get(op.key);
          if (el) {
            c.removeChild(el);
            byKey.delete(op.key);
            items.delete(op.key);
          }
        }
        // Updates address the elements holding their key after the deletes, before any write.
        const targets = ops.map((op) => (op.op === 'update' ? byKey.get(op.key) : undefined));
        ops.forEach((op, i) => {
          if (op.op === 'delete') return;
          const existing = targets[i];
          const el = existing ?? doc.createElementNS(ns, spec.item);
          memo.text.delete(el);
          writeItem(doc, el, op.fields, existing === undefined);
          written.push(el);
          if (op.op === 'update' && existing) {
            if (byKey.get(op.key) === existing) {
              byKey.delete(op.key);
              items.delete(op.key);
            }
          } else {
            c.appendChild(el);
          }
          // A fresh item holds exactly the mapped fields it was given (empty values are not written).
          const fields = existing === undefined ? present(op.fields) : readItem(el);
          if (existing === undefined) fresh.push([el, JSON.stringify(fields)]);
          if (indexItem(el, fields)) reindex = true;
        });
        if (reindex) index();
        // A fresh item's text depends on its fields and the list's context alone: take the
        // text another list of this mapping already made for the same fields (every user's
        // copy of one directory), so serialize() does not walk it again.
        const context = contextOf();
        unshared = [];
        for (const [el, key] of fresh) {
          const t = freshTexts.get(context, key);
          if (t === undefined) unshared.push([el, key]);
          else memo.text.set(el, t);
        }
        return { written, uniqueKeys: !reindex };
      },
    };
  }
}

/**
 * Texts of items created from fields alone, by list context and the fields' JSON, shared by
 * every list of one mapping. Bounded: past `max` texts it starts over.
 */
class FreshItemTexts {
  readonly #byContext = new Map<string, Map<string, string>>();
  readonly #max: number;
  #size = 0;

  constructor(max = 200_000) {
    this.#max = max;
  }

  get(context: string, fields: string): string | undefined {
    return this.#byContext.get(context)?.get(fields);
  }

  set(context: string, fields: string, text: string): void {
    if (this.#size >= this.#max) {
      this.#byContext.clear();
      this.#size = 0;
    }
    let m = this.#byContext.get(context);
    if (!m) this.#byContext.set(context, (m = new Map()));
    if (!m.has(fields)) this.#size++;
    m.set(fields, text);
  }
}

/** The mapped fields that `writeItem` writes, as `readItem` reads them back. */
function presentFields(names: readonly string[], fields: ItemFields): ItemFields {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = fields[n];
    if (v) out[n] = v;
  }
  return out;
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}
