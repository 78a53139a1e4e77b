/**
 * A Polycom phone's directory upload: the phone PUTs its whole `<MAC>-directory.xml` after
 * the user edited contacts on it (the boot-server backup of the local directory). The
 * upload becomes edits of one list the user keeps, written through the DocumentWriter with
 * the ETag it was read at, so it obeys the same validation and conditional-write rules as
 * an XCAP client's write; lists sync bindings manage are never written.
 *
 * How items map to entries (the phone only knows what it was served):
 * - after a `*` download, an item whose `ct` is a number of another list in the document
 *   was served from that list and is left alone (and an entry sharing such a number is
 *   never deleted for want of it);
 * - an item whose `ct` is a number the target list's entry was served with, or whose SIP
 *   address is that entry's uri, is that entry: its display name follows `fn` `ln`, its
 *   `speed-dial` field `sd`;
 * - any other item is a new entry `sip:<ct>@<domain of the user>` (or the SIP address in `ct`);
 * - an entry the phone was served but that no item names any more was deleted on the phone.
 *   Entries the phone never saw (no dialable number, or a duplicate number) stay.
 *
 * Refused with nothing written: a body over `phonebook.polycom.maxUploadBytes` or with more
 * than `maxItems` items (413), not UTF-8 or not well-formed XML or not a `directory`
 * (400), an item without `ct`, a `fn`/`ln` over 40 bytes or a `ct` twice (400), a managed
 * target list (403), and an upload without items while the phone was served contacts (409:
 * an emptied phone must not empty the list).
 */
import type { IncomingMessage } from 'node:http';
import type { Document, Element } from '@xmldom/xmldom';
import { RESOURCE_LISTS_NS } from '../appusage/resource-lists/index.ts';
import { FIELDS_NS } from '../appusage/resource-lists/items.ts';
import { readBody } from '../http/xcap-handler.ts';
import { EtagMismatch, type DocKey } from '../store/types.ts';
import type { DocumentWriter } from '../xcap/document-writer.ts';
import { BadRequest, Forbidden, HttpError, XcapConflict } from '../xcap/errors.ts';
import { serializeDocument } from '../xcap/serializer.ts';
import { decodeUtf8, parseDocument, serialize } from '../xcap/xml.ts';
import { buildBook, SPEED_DIAL } from './book.ts';
import type { PhonebookConfig } from './config.ts';
import { POLYCOM_NAME_BYTES } from './formats/polycom.ts';
import { readLists } from './lists.ts';
import type { NumberStyle } from './numbers.ts';

/** 409: the upload is well-formed but applying it would lose what the phone never meant to delete. */
export class UploadRefused extends HttpError {
  constructor(message: string) {
    super(409, message);
  }
}

export interface UploadOptions {
  readonly key: DocKey;
  /** The list the upload edits. */
  readonly list: string;
  /** The phone was served every list of the document (a `*` URL), not only `list`. */
  readonly everyList: boolean;
  /** Lists sync bindings manage in this document. */
  readonly managed: ReadonlySet<string>;
  /** The number style the phone was served with (to recognise its numbers). */
  readonly style: NumberStyle;
  readonly fields: PhonebookConfig['fields'];
  readonly limits: PhonebookConfig['polycom'];
  readonly writer: DocumentWriter;
}

interface UploadItem {
  readonly fn: string;
  readonly ln: string;
  readonly ct: string;
  readonly sd: string;
}

/** Attempts at the read-modify-write before giving up on a document that keeps changing. */
const ATTEMPTS = 3;

export async function uploadPolycomDirectory(req: IncomingMessage, opts: UploadOptions): Promise<void> {
  if (opts.managed.has(opts.list)) throw new Forbidden(`list "${opts.list}" is managed by a sync binding and read-only for phones`);
  const items = parseUpload(await readBody(req, opts.limits.maxUploadBytes), opts.limits.maxItems);
  for (let attempt = 1; ; attempt++) {
    const stored = await opts.writer.store.get(opts.key);
    const body = applyItems(stored?.body, items, opts);
    if (body === undefined) return;
    try {
      await opts.writer.write({ key: opts.key, body, expect: stored ? { etag: stored.etag } : 'absent', origin: 'phonebook:polycom' });
      return;
    } catch (err) {
      if (!(err instanceof EtagMismatch) || attempt >= ATTEMPTS) throw err;
    }
  }
}

/** The items of an upload. @throws the 4xx errors of the module comment. */
export function parseUpload(raw: Buffer, maxItems: number): UploadItem[] {
  let doc: Document;
  try {
    doc = parseDocument(decodeUtf8(raw));
  } catch (err) {
    throw new BadRequest(`directory upload: ${err instanceof XcapConflict || err instanceof HttpError ? err.message : 'not well-formed XML'}`);
  }
  const root = doc.documentElement;
  if (!root || root.localName !== 'directory' || root.namespaceURI !== null) throw new BadRequest('directory upload: the root element must be <directory>');
  const out: UploadItem[] = [];
  const cts = new Set<string>();
  for (const list of kids(root, 'item_list')) {
    for (const item of kids(list, 'item')) {
      if (out.length >= maxItems) throw new HttpError(413, `directory upload: more than ${maxItems} items`);
      const get = (name: string) => (kids(item, name)[0]?.textContent ?? '').trim();
      const it = { fn: get('fn'), ln: get('ln'), ct: get('ct'), sd: get('sd') };
      if (it.ct === '') throw new BadRequest(`directory upload: item ${out.length + 1} has no <ct>`);
      if (cts.has(it.ct)) throw new BadRequest(`directory upload: <ct>${it.ct}</ct> appears twice`);
      for (const f of ['fn', 'ln'] as const) {
        if (Buffer.byteLength(it[f]) > POLYCOM_NAME_BYTES) throw new BadRequest(`directory upload: <${f}> of item ${out.length + 1} is longer than ${POLYCOM_NAME_BYTES} bytes`);
      }
      if (it.sd !== '' && !/^[0-9]{1,4}$/.test(it.sd)) throw new BadRequest(`directory upload: <sd> of item ${out.length + 1} is not a number`);
      cts.add(it.ct);
      out.push(it);
    }
  }
  return out;
}

/** The document with the list edited as the upload says, or `undefined` when nothing changes. */
function applyItems(stored: string | undefined, items: readonly UploadItem[], opts: UploadOptions): string | undefined {
  const doc = parseDocument(stored ?? `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="${RESOURCE_LISTS_NS}"/>`);
  const root = doc.documentElement as Element;
  const lists = readLists(stored ?? serialize(doc));
  // What the phone was served: from a `*` URL the other lists too (their numbers are not this
  // list's to edit), and per entry of the list its numbers.
  const others = opts.everyList ? buildBook(lists.filter((l) => l.name !== opts.list), { ...bookOptions(opts), uniqueNumbers: false }).book.contacts : [];
  const fromOthers = new Set(others.flatMap((c) => c.numbers.map((n) => n.dial)));
  let listEl = topLists(root).find((l) => l.getAttribute('name') === opts.list);
  const target = lists.find((l) => l.name === opts.list);
  const entries = listEl ? entryElements(listEl) : [];
  // Entry i of the target list ↔ entries[i]: readLists keeps document order.
  // The phone got the list as a unique-number file: an entry whose numbers were all an
  // earlier entry's was never on it.
  const served = new Map<string, number>();
  const byUri = new Map<string, number>();
  target?.entries.forEach((entry, i) => {
    byUri.set(entry.uri, i);
    const one = buildBook([{ name: opts.list, title: opts.list, entries: [entry] }], { ...bookOptions(opts), uniqueNumbers: false });
    // A number another list also has may have been shown as that list's: never a reason to delete.
    for (const n of one.book.contacts[0]?.numbers ?? []) if (!served.has(n.dial) && !fromOthers.has(n.dial)) served.set(n.dial, i);
  });
  const wasServed = new Set(served.values());
  const mine = items.filter((it) => !fromOthers.has(opts.style.dial(it.ct) ?? it.ct));
  if (mine.length === 0 && wasServed.size > 0) throw new UploadRefused(`directory upload without contacts: refusing to delete the ${wasServed.size} contacts of list "${opts.list}"`);

  const domain = opts.key.xui?.slice(opts.key.xui.lastIndexOf('@') + 1) ?? '';
  let changed = false;
  const kept = new Set<number>();
  if (!listEl) {
    listEl = doc.createElementNS(RESOURCE_LISTS_NS, 'list');
    listEl.setAttribute('name', opts.list);
    root.appendChild(listEl);
  }
  for (const it of mine) {
    const address = sipAddress(it.ct);
    const index = served.get(opts.style.dial(it.ct) ?? '') ?? byUri.get(address ?? `sip:${it.ct}@${domain}`);
    const name = [it.fn, it.ln].filter((s) => s !== '').join(' ');
    if (index !== undefined) {
      kept.add(index);
      changed = setEntry(doc, entries[index] as Element, name, it.sd) || changed;
      continue;
    }
    const entry = doc.createElementNS(RESOURCE_LISTS_NS, 'entry');
    entry.setAttribute('uri', address ?? `sip:${it.ct.replace(/[\s()./-]/g, '')}@${domain}`);
    setEntry(doc, entry, name, it.sd);
    listEl.appendChild(entry);
    changed = true;
  }
  for (const i of wasServed) {
    if (kept.has(i)) continue;
    const gone = entries[i] as Element;
    gone.parentNode?.removeChild(gone);
    changed = true;
  }
  if (!changed && stored !== undefined) return undefined;
  return serializeDocument(doc) ?? serialize(doc);
}

function bookOptions(opts: UploadOptions) {
  return { fields: opts.fields, style: opts.style, managed: (n: string) => opts.managed.has(n), title: '' };
}

/** `sip:alice@example.com` for a `ct` that is a SIP address (with or without the scheme). */
function sipAddress(ct: string): string | undefined {
  if (/^sips?:/i.test(ct)) return ct;
  return ct.includes('@') ? `sip:${ct}` : undefined;
}

/** Gives `entry` this display name and speed-dial field; whether anything changed. */
function setEntry(doc: Document, entry: Element, name: string, sd: string): boolean {
  let changed = false;
  const dn = entryChildren(entry).find((c) => c.namespaceURI === RESOURCE_LISTS_NS && c.localName === 'display-name');
  if (name !== '' && dn?.textContent !== name) {
    const el = doc.createElementNS(RESOURCE_LISTS_NS, 'display-name');
    el.appendChild(doc.createTextNode(name));
    if (dn) entry.replaceChild(el, dn);
    else entry.insertBefore(el, entry.firstChild);
    changed = true;
  }
  const field = entryChildren(entry).find((c) => c.namespaceURI === FIELDS_NS && c.localName === 'field' && c.getAttribute('name') === SPEED_DIAL);
  if ((field?.textContent ?? '') !== sd) {
    if (field) entry.removeChild(field);
    if (sd !== '') {
      const el = doc.createElementNS(FIELDS_NS, 'xbf:field');
      el.setAttributeNS('http://www.w3.org/2000/xmlns/', 'xmlns:xbf', FIELDS_NS);
      el.setAttribute('name', SPEED_DIAL);
      el.appendChild(doc.createTextNode(sd));
      entry.appendChild(el);
    }
    changed = true;
  }
  return changed;
}

function kids(el: Element, local: string): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) if (n.nodeType === 1 && (n as Element).localName === local) out.push(n as Element);
  return out;
}

function entryChildren(el: Element): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) out.push(n as Element);
  return out;
}

function topLists(root: Element): Element[] {
  return entryChildren(root).filter((c) => c.namespaceURI === RESOURCE_LISTS_NS && c.localName === 'list');
}

/** The list's entries in document order, nested lists included (as readLists reads them). */
function entryElements(list: Element): Element[] {
  const out: Element[] = [];
  for (const c of entryChildren(list)) {
    if (c.namespaceURI !== RESOURCE_LISTS_NS) continue;
    if (c.localName === 'list') out.push(...entryElements(c));
    else if (c.localName === 'entry') out.push(c);
  }
  return out;
}
