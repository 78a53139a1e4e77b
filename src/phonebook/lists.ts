/**
 * Reads the top-level lists of a stored resource-lists document (RFC 4826 §3) into plain
 * entries: uri, display name and the extra fields (`<xbf:field name="...">`, the item
 * codec's namespace). Entries of nested lists belong to their top-level list; `entry-ref`
 * and `external` point elsewhere and are left out. The stored document has been validated
 * on the way in, so only what a phonebook needs is looked at.
 *
 * Read with the validator's single-pass scanner (no DOM: a 10,000-entry directory is read in
 * a fraction of a DOM parse's time and memory, and a 100,000-entry one without a DOM's
 * hundreds of megabytes); documents outside its shape (CDATA, a processing instruction)
 * are read from a DOM.
 */
import type { Element } from '@xmldom/xmldom';
import { RESOURCE_LISTS_NS } from '../appusage/resource-lists/index.ts';
import { FIELDS_NS } from '../appusage/resource-lists/items.ts';
import { scan, type Attributes, type XmlSink } from '../appusage/schema/scanner.ts';
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
  const sink = new ListSink();
  return scan(body, sink, Number.MAX_SAFE_INTEGER) === 'accept' ? sink.lists : readListsFromDom(body);
}

/** What the scanner is inside of. */
type In = 'other' | 'root' | 'list' | 'entry' | 'list-name' | 'entry-name' | 'field';

/** Collects lists from scanner events: a stack of what each open element is. */
class ListSink implements XmlSink {
  readonly lists: EntryList[] = [];
  readonly #stack: In[] = [];
  #list: { name: string; title: string; entries: ListEntry[] } | undefined;
  #entry: { uri: string; displayName: string; fields: Map<string, string> } | undefined;
  #field = '';
  #text = '';

  get wantsText(): boolean {
    const top = this.#stack.at(-1);
    return top === 'list-name' || top === 'entry-name' || top === 'field';
  }

  startElement(ns: string, local: string, attrs: Attributes): undefined {
    const parent = this.#stack.at(-1);
    let kind: In = 'other';
    if (parent === undefined) kind = ns === RESOURCE_LISTS_NS && local === 'resource-lists' ? 'root' : 'other';
    else if (parent === 'root' || parent === 'list') {
      if (ns === RESOURCE_LISTS_NS && local === 'list') {
        kind = 'list';
        if (parent === 'root') {
          this.#list = { name: attr(attrs, 'name'), title: '', entries: [] };
          this.lists.push(this.#list);
        }
      } else if (parent === 'list' && ns === RESOURCE_LISTS_NS && local === 'entry') {
        kind = 'entry';
        this.#entry = { uri: attr(attrs, 'uri'), displayName: '', fields: new Map() };
        this.#list?.entries.push(this.#entry);
      } else if (parent === 'list' && this.#stack.length === 2 && ns === RESOURCE_LISTS_NS && local === 'display-name') kind = 'list-name';
    } else if (parent === 'entry') {
      if (ns === RESOURCE_LISTS_NS && local === 'display-name') kind = 'entry-name';
      else if (ns === FIELDS_NS && local === 'field') {
        kind = 'field';
        this.#field = attr(attrs, 'name');
      }
    }
    if (kind === 'list-name' || kind === 'entry-name' || kind === 'field') this.#text = '';
    this.#stack.push(kind);
    return undefined;
  }

  text(value: string | null): undefined {
    if (value !== null) this.#text += value;
    return undefined;
  }

  comment(): undefined {
    return undefined;
  }

  endElement(): undefined {
    const kind = this.#stack.pop();
    const text = this.#text.trim();
    if (kind === 'list-name' && this.#list) this.#list.title = text;
    else if (kind === 'entry-name' && this.#entry) this.#entry.displayName = text;
    else if (kind === 'field' && this.#entry && this.#field !== '') this.#entry.fields.set(this.#field, text);
    else if (kind === 'list' && this.#stack.length === 1 && this.#list) {
      if (this.#list.title === '') this.#list.title = this.#list.name;
    }
    return undefined;
  }
}

function attr(attrs: Attributes, local: string): string {
  for (let i = 0; i < attrs.count; i++) if (attrs.local[i] === local && attrs.ns[i] === '') return attrs.value[i] as string;
  return '';
}

function readListsFromDom(body: string): EntryList[] {
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
