/**
 * Reads the top-level lists of a stored resource-lists document (RFC 4826 §3) into plain
 * entries: uri, display name and the extra fields (`<xbf:field name="...">`, the item
 * codec's namespace). Entries of nested lists belong to their top-level list; `entry-ref`
 * and `external` point elsewhere and are left out. The stored document has been validated
 * on the way in, so only what a phonebook needs is looked at.
 */
import type { Element } from '@xmldom/xmldom';
import { RESOURCE_LISTS_NS } from '../appusage/resource-lists/index.ts';
import { FIELDS_NS } from '../appusage/resource-lists/items.ts';
import { parseDocument } from '../xcap/xml.ts';

export interface ListEntry {
  readonly uri: string;
  /** `<display-name>`, trimmed; empty when absent. */
  readonly displayName: string;
  /** Extra fields by name, as stored (multi-valued fields read `a, b`). */
  readonly fields: ReadonlyMap<string, string>;
}

export interface EntryList {
  /** The `name` attribute. */
  readonly name: string;
  /** The list's `<display-name>`, else its name. */
  readonly title: string;
  readonly entries: readonly ListEntry[];
}

/** The top-level lists of `body`, in document order. */
export function readLists(body: string): EntryList[] {
  const root = parseDocument(body).documentElement;
  if (!root || root.namespaceURI !== RESOURCE_LISTS_NS || root.localName !== 'resource-lists') return [];
  return children(root, 'list').map((list) => {
    const entries: ListEntry[] = [];
    collect(list, entries);
    const name = list.getAttribute('name') ?? '';
    const title = text(children(list, 'display-name')[0]);
    return { name, title: title === '' ? name : title, entries };
  });
}

function collect(list: Element, out: ListEntry[]): void {
  for (const el of children(list)) {
    if (el.localName === 'list') collect(el, out);
    else if (el.localName === 'entry') out.push(readEntry(el));
  }
}

function readEntry(entry: Element): ListEntry {
  const fields = new Map<string, string>();
  let displayName = '';
  for (let n = entry.firstChild; n; n = n.nextSibling) {
    if (n.nodeType !== 1) continue;
    const el = n as Element;
    if (el.namespaceURI === RESOURCE_LISTS_NS && el.localName === 'display-name') displayName = text(el);
    else if (el.namespaceURI === FIELDS_NS && el.localName === 'field') {
      const name = el.getAttribute('name');
      if (name) fields.set(name, text(el));
    }
  }
  return { uri: entry.getAttribute('uri') ?? '', displayName, fields };
}

/** Resource-lists children of `el` (all of them, or those named `local`). */
function children(el: Element, local?: string): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).namespaceURI === RESOURCE_LISTS_NS && (local === undefined || (n as Element).localName === local)) out.push(n as Element);
  }
  return out;
}

function text(el: Element | undefined): string {
  return (el?.textContent ?? '').trim();
}
