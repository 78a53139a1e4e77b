/**
 * WebDAV multistatus answers (RFC 4918 §13, RFC 6578 §3.2) read with @xmldom/xmldom, and
 * the request bodies this connector sends. Every text node is trimmed: SOGo pads hrefs
 * and ETags with whitespace. Hrefs are returned as absolute paths (a server may answer
 * with full URLs), which is also what multiget must send.
 */
import { DOMParser, type Element } from '@xmldom/xmldom';
import { davError, notXml, type HttpAnswer } from './errors.ts';

export const DAV = 'DAV:';
export const CARDDAV = 'urn:ietf:params:xml:ns:carddav';
export const CALSERVER = 'http://calendarserver.org/ns/';

/** One `<response>`: its href, its own status (deleted members in a sync report), and the properties found (200 propstat). */
export interface DavResponse {
  /** Absolute path, as the server wrote it (percent-encoding kept). */
  readonly href: string;
  /** Status code of a response-level `<status>` (404 for a deleted member, 507 for a truncated sync report). */
  readonly status?: number;
  /** Properties with a 200 propstat, by `namespace local-name`. */
  readonly props: ReadonlyMap<string, Element>;
}

export interface Multistatus {
  /** Where the answer came from (after redirects); hrefs are paths on its host. */
  readonly url: URL;
  readonly responses: readonly DavResponse[];
  /** `<sync-token>` of a sync-collection answer. */
  readonly syncToken?: string;
}

/** Parses a 207 body; throws an Error when it is not a DAV:multistatus document. */
export function parseMultistatus(body: string, base: URL): Multistatus {
  const root = parseXml(body);
  if (root.namespaceURI !== DAV || root.localName !== 'multistatus') throw new Error(`expected DAV:multistatus, got ${root.localName}`);
  const responses: DavResponse[] = [];
  let syncToken: string | undefined;
  for (const child of elements(root)) {
    if (child.namespaceURI !== DAV) continue;
    if (child.localName === 'sync-token') syncToken = text(child);
    if (child.localName !== 'response') continue;
    const hrefEl = first(child, DAV, 'href');
    if (!hrefEl) continue;
    const statusEl = first(child, DAV, 'status');
    const props = new Map<string, Element>();
    for (const ps of elements(child)) {
      if (ps.namespaceURI !== DAV || ps.localName !== 'propstat') continue;
      const code = statusCode(first(ps, DAV, 'status'));
      if (code !== 200) continue;
      const prop = first(ps, DAV, 'prop');
      if (prop) for (const p of elements(prop)) props.set(`${p.namespaceURI ?? ''} ${p.localName}`, p);
    }
    const status = statusEl ? statusCode(statusEl) : undefined;
    responses.push({ href: absolutePath(text(hrefEl), base), ...(status === undefined ? {} : { status }), props });
  }
  return { url: base, responses, ...(syncToken === undefined ? {} : { syncToken }) };
}

/**
 * The multistatus of a 207 answer to `what`. Another status is its connector error
 * (errors.ts); a 2xx that is not DAV XML (an HTML page) is Unavailable.
 */
export function multistatusOf(answer: HttpAnswer & { readonly url: URL }, what: string): Multistatus {
  const name = `${what} on ${answer.url.pathname}`;
  if (answer.status !== 207) throw answer.status >= 200 && answer.status < 300 ? notXml(name, answer) : davError(name, answer);
  try {
    return parseMultistatus(answer.body, answer.url);
  } catch {
    throw notXml(name, answer);
  }
}

/** The document element of an XML body (DAV:error bodies too); throws on anything that is not well-formed XML. */
export function parseXml(body: string): Element {
  const fail = (_level: string, message: string) => {
    throw new Error(message);
  };
  const doc = new DOMParser({ onError: fail }).parseFromString(body, 'text/xml');
  const root = doc.documentElement;
  if (!root) throw new Error('empty XML document');
  return root;
}

/** A property's trimmed text, or undefined when it was not returned. */
export function prop(r: DavResponse, ns: string, local: string): string | undefined {
  const el = r.props.get(`${ns} ${local}`);
  return el ? text(el) : undefined;
}

/** Whether the property holds a child element `ns:local` (resourcetype's `addressbook`). */
export function propHas(r: DavResponse, ns: string, local: string, childNs: string, childLocal: string): boolean {
  const el = r.props.get(`${ns} ${local}`);
  return el !== undefined && first(el, childNs, childLocal) !== undefined;
}

/** The trimmed text of the `DAV:href` children of a property (current-user-principal, addressbook-home-set). */
export function propHrefs(r: DavResponse, ns: string, local: string, base: URL): string[] {
  const el = r.props.get(`${ns} ${local}`);
  if (!el) return [];
  return elements(el).filter((c) => c.namespaceURI === DAV && c.localName === 'href').map((h) => absolutePath(text(h), base));
}

/** Whether an XML error body (RFC 4918 §16) names the precondition `ns:local` (`DAV: valid-sync-token`). */
export function errorNames(body: string, ns: string, local: string): boolean {
  try {
    const root = parseXml(body);
    return root.localName === 'error' && first(root, ns, local) !== undefined;
  } catch {
    return false;
  }
}

export function absolutePath(href: string, base: URL): string {
  return new URL(href, base).pathname;
}

function elements(el: Element): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) out.push(n as Element);
  return out;
}

function first(el: Element, ns: string, local: string): Element | undefined {
  return elements(el).find((c) => c.namespaceURI === ns && c.localName === local);
}

function text(el: Element): string {
  return (el.textContent ?? '').trim();
}

function statusCode(el: Element | undefined): number | undefined {
  const m = el ? /^HTTP\/[\d.]+\s+(\d{3})/.exec(text(el)) : null;
  return m ? Number(m[1]) : undefined;
}

// ---- Request bodies ---------------------------------------------------------------

const HEAD = '<?xml version="1.0" encoding="utf-8"?>';

/** PROPFIND for the listed properties, given as `[namespace, local-name]`. */
export function propfindBody(props: readonly (readonly [string, string])[]): string {
  const prefixes = new Map([[DAV, 'd'], [CARDDAV, 'c'], [CALSERVER, 'cs']]);
  const decl = [...prefixes].map(([ns, p]) => `xmlns:${p}="${ns}"`).join(' ');
  const inner = props.map(([ns, l]) => `<${prefixes.get(ns) ?? 'd'}:${l}/>`).join('');
  return `${HEAD}<d:propfind ${decl}><d:prop>${inner}</d:prop></d:propfind>`;
}

/** RFC 6578 sync-collection, level 1, asking for ETags; no token = the initial sync. */
export function syncCollectionBody(token: string | undefined): string {
  const t = token === undefined ? '<d:sync-token/>' : `<d:sync-token>${escapeXml(token)}</d:sync-token>`;
  return `${HEAD}<d:sync-collection xmlns:d="DAV:">${t}<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`;
}

/** RFC 6352 §8.7 addressbook-multiget of the given absolute paths. */
export function multigetBody(hrefs: readonly string[]): string {
  const list = hrefs.map((h) => `<d:href>${escapeXml(h)}</d:href>`).join('');
  return `${HEAD}<c:addressbook-multiget xmlns:d="DAV:" xmlns:c="${CARDDAV}"><d:prop><d:getetag/><c:address-data/></d:prop>${list}</c:addressbook-multiget>`;
}

/** RFC 5689 extended MKCOL of an address book (used by tests and the bench to make one). */
export function mkAddressBookBody(): string {
  return `${HEAD}<d:mkcol xmlns:d="DAV:" xmlns:c="${CARDDAV}"><d:set><d:prop><d:resourcetype><d:collection/><c:addressbook/></d:resourcetype></d:prop></d:set></d:mkcol>`;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
