/**
 * The phonebook endpoints (docs/phonebooks.md):
 *
 *   GET  /phonebook/{format}/users/{xui}/{document}/{list}[/{file}]
 *   GET  /phonebook/{format}/global/{document}/{list}[/{file}]
 *   PUT  /phonebook/polycom/users/{xui}/{document}/{list}/{MAC}-directory.xml
 *
 * `{document}` and `{list}` name a resource-lists document and a top-level list in it as
 * in XCAP; `{list}` `*` serves every list as groups. A trailing `{file}` ending in `.xml`
 * is the file name a phone appends to a configured directory (Grandstream's
 * `phonebook.xml`, Polycom's `<MAC>-directory.xml`) and is ignored for those formats.
 *
 * Authenticated like XCAP (Digest or Basic; realm = the XUI's domain, or the deployment's
 * domain for the global tree), or with a device token (`?token=`). Served from the store,
 * never from a connector: the ETag is the document's ETag combined with everything that
 * shapes the answer (format, list, page, search, number style, link base), so a phone's
 * If-None-Match costs one ETag lookup and no parse. Parsed documents and prepared books
 * are kept per document version.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../appusage/types.ts';
import type { DeploymentDomain } from '../auth/deployment-domain.ts';
import { authorize, sameXui } from '../auth/authorize.ts';
import { BoundedMap } from '../bounded-map.ts';
import type { Authenticator } from '../http/xcap-handler.ts';
import { renderError } from '../http/error-handler.ts';
import { requestId } from '../http/request-id.ts';
import { requestLogger, type Logger, type RequestLogOptions } from '../log.ts';
import { docKeyString, type DocKey, type DocumentStore } from '../store/types.ts';
import type { DocumentWriter } from '../xcap/document-writer.ts';
import { Forbidden, MethodNotAllowed, NotFound } from '../xcap/errors.ts';
import type { ManagedLists } from '../xcap/managed.ts';
import { etagMatches } from '../xcap/service.ts';
import { buildBook, searchBook, type BuiltBook } from './book.ts';
import type { PhonebookConfig } from './config.ts';
import { FORMAT_NAMES, type FormatName, type PhonebookFormat } from './format.ts';
import { FORMATS } from './formats/index.ts';
import { readLists, type EntryList } from './lists.ts';
import { NumberStyle } from './numbers.ts';
import { uploadPolycomDirectory } from './polycom-upload.ts';
import type { DeviceTokens } from './tokens.ts';
import { isEncrypted, requestOrigin } from '../http/tls.ts';

/** Path prefix of every phonebook URL. */
export const PHONEBOOK_PREFIX = '/phonebook/';

export interface PhonebookHandlerOptions {
  readonly config: PhonebookConfig;
  readonly store: DocumentStore;
  /** The validating, conditional write path (Polycom uploads). */
  readonly writer: DocumentWriter;
  readonly auth: Authenticator;
  readonly tokens: DeviceTokens;
  /** Fixed realm (`auth.realm`), else the XUI's domain / the deployment's domain. */
  readonly realm: string | undefined;
  readonly domain: DeploymentDomain;
  /** Lists sync bindings own (never written by uploads; `bw` 0 on Polycom). */
  readonly managed: ManagedLists | undefined;
  readonly log: Logger;
  /** Which requests get a line (config `log`), device tokens masked. */
  readonly requestLog: RequestLogOptions;
}

/** One phonebook URL, parsed. */
export interface PhonebookTarget {
  readonly format: PhonebookFormat;
  readonly key: DocKey;
  /** A list name, or `*`. */
  readonly list: string;
  /** The path without the ignored file name, for links. */
  readonly path: string;
}

export type PhonebookHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

const AUID = 'resource-lists';

/** Parsed lists of one document version, the books made from them, and answers made from those. */
interface CachedDoc {
  readonly etag: string;
  readonly lists: readonly EntryList[];
  readonly books: Map<string, BuiltBook>;
  readonly files: Map<string, KeptAnswer>;
}

/** A whole answer body and the headers that go with it, besides ETag and Last-Modified. */
interface KeptAnswer {
  readonly chunks: readonly string[];
  readonly headers: Readonly<Record<string, string>>;
  /** UTF-16 length of the body. */
  readonly size: number;
}

/** Document versions kept parsed, the one read longest ago first out. */
const MAX_CACHED_DOCS = 64;
/** Bodies up to this size (UTF-16 units, ~4 MB) are kept whole; larger ones are rendered for every request, never held. */
const MAX_KEPT_CHARS = 4 * 1024 * 1024;
/** All kept bodies together; past it every kept body is dropped and rebuilt on demand. */
const KEPT_BUDGET_CHARS = 64 * 1024 * 1024;

export function createPhonebookHandler(opts: PhonebookHandlerOptions): PhonebookHandler {
  const { config, store, log } = opts;
  const baseStyle = (format: FormatName) => config.formats[format]?.numbers ?? config.numbers;
  const formatStyles = new Map(FORMAT_NAMES.map((f) => [f, new NumberStyle(baseStyle(f), config.defaultCountry)] as const));
  const groups = Object.entries(config.deviceGroups).map(([name, g]) => ({
    name,
    userAgent: g.userAgent === undefined ? undefined : new RegExp(g.userAgent, 'u'),
    style: new NumberStyle(g.numbers, config.defaultCountry),
  }));
  let keptChars = 0;
  const keptCharsOf = (doc: CachedDoc) => [...doc.files.values()].reduce((n, f) => n + f.size, 0);
  const docs = new BoundedMap<string, CachedDoc>({ limit: MAX_CACHED_DOCS, onEvict: (_k, doc) => (keptChars -= keptCharsOf(doc)) });
  const settings = JSON.stringify([config.yealinkMaxObjectBytes, config.snomPageSize, config.fields]);

  function styleFor(format: FormatName, group: string | undefined, ua: string | undefined): { style: NumberStyle; group: string | undefined } {
    if (group !== undefined) {
      const g = groups.find((x) => x.name === group);
      if (!g) throw new NotFound(`no device group "${group}"`);
      return { style: g.style, group };
    }
    const byAgent = ua === undefined ? undefined : groups.find((x) => x.userAgent?.test(ua));
    return { style: byAgent?.style ?? (formatStyles.get(format) as NumberStyle), group: undefined };
  }

  async function principalFor(req: IncomingMessage, key: DocKey, token: string | undefined, access: 'read' | 'write'): Promise<Principal> {
    if (token !== undefined) {
      const owner = await opts.tokens.find(token);
      if (owner !== undefined) {
        if (access === 'write') throw new Forbidden('device tokens are read-only: upload with the user\'s credentials');
        if (key.xui !== null && !sameXui(owner, key.xui)) throw new Forbidden('this device token is for another user\'s phonebooks');
        return { xui: owner, admin: false };
      }
      // An unknown or revoked token: the credentials decide (a 401 challenge without them).
    }
    const realm = opts.realm ?? (key.xui !== null && key.xui.includes('@') ? key.xui.slice(key.xui.lastIndexOf('@') + 1) : await opts.domain.require());
    const principal = await opts.auth.authenticate({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, encrypted: isEncrypted(req) }, realm);
    authorize(principal, key, access);
    return principal;
  }

  /** The lists of the document version `etag` (just read by `head`), parsed once per version. */
  async function listsOf(key: DocKey, etag: string, modified: number): Promise<{ doc: CachedDoc; modified: number } | undefined> {
    const k = docKeyString(key);
    const cached = docs.get(k);
    if (cached?.etag === etag) return { doc: cached, modified };
    // Changed since it was cached: read the body (it may have moved on again; its own ETag counts).
    const stored = await store.get(key);
    if (!stored) return undefined;
    const doc: CachedDoc = { etag: stored.etag, lists: readLists(stored.body), books: new Map(), files: new Map() };
    if (cached) keptChars -= keptCharsOf(cached);
    docs.set(k, doc);
    return { doc, modified: stored.modified };
  }

  function managedNames(key: DocKey): ReadonlySet<string> {
    return new Set(opts.managed?.forKey(key)?.containers.map((c) => c.name) ?? []);
  }

  function bookOf(doc: CachedDoc, t: PhonebookTarget, style: NumberStyle): BuiltBook {
    const id = `${t.list}\u0000${style.fingerprint}\u0000${t.format.uniqueNumbers}`;
    let built = doc.books.get(id);
    if (built) return built;
    const lists = t.list === '*' ? doc.lists : doc.lists.filter((l) => l.name === t.list);
    const managed = managedNames(t.key);
    built = buildBook(lists, {
      fields: config.fields,
      style,
      uniqueNumbers: t.format.uniqueNumbers,
      managed: (name) => managed.has(name),
      title: t.list === '*' ? t.key.path : (lists[0]?.title ?? t.list),
    });
    doc.books.set(id, built);
    return built;
  }

  async function get(req: IncomingMessage, res: ServerResponse, t: PhonebookTarget, query: URLSearchParams): Promise<void> {
    const token = query.get('token') ?? undefined;
    await principalFor(req, t.key, token, 'read');
    const { style, group } = styleFor(t.format.name, query.get('group') ?? undefined, req.headers['user-agent']);
    const pageParam = query.get('page');
    const page = pageParam === null ? 1 : /^[1-9][0-9]{0,8}$/.test(pageParam) ? Number(pageParam) : 0;
    if (page === 0) throw new NotFound(`no page "${pageParam}"`);
    const q = t.format.search ? (query.get('q') ?? undefined) : undefined;
    const base = config.publicUrl ?? requestOrigin(req) ?? 'http://localhost';
    const head = await store.head(t.key);
    if (!head) throw new NotFound(`no phonebook: ${t.key.xui === null ? 'global' : `user ${t.key.xui} has no`} resource-lists document "${t.key.path}"`);
    const etag = phonebookEtag(head.etag, [t.format.name, t.list, page, q ?? '', style.fingerprint, base, t.path, settings, group ?? '', token ?? '']);
    const lastModified = new Date(head.modified).toUTCString();
    const inm = req.headers['if-none-match'];
    if (inm !== undefined && etagMatches(inm, etag, 'weak')) {
      // The phones' steady state: answered without an exception (its stack) or a body.
      res.writeHead(304, { ETag: `"${etag}"`, 'Last-Modified': lastModified, 'Cache-Control': 'no-cache' });
      res.end();
      return;
    }
    const loaded = await listsOf(t.key, head.etag, head.modified);
    if (!loaded) throw new NotFound(`no resource-lists document "${t.key.path}"`);
    if (t.list !== '*' && !loaded.doc.lists.some((l) => l.name === t.list)) throw new NotFound(`no list "${t.list}" in document "${t.key.path}"`);
    // The document may have changed since the head: the ETag names what is served.
    const servedEtag = loaded.doc.etag === head.etag ? etag : phonebookEtag(loaded.doc.etag, [t.format.name, t.list, page, q ?? '', style.fingerprint, base, t.path, settings, group ?? '', token ?? '']);
    const common = { 'Content-Type': t.format.contentType, ETag: `"${servedEtag}"`, 'Last-Modified': new Date(loaded.modified).toUTCString(), 'Cache-Control': 'no-cache' };
    // Answers are kept per document version; one whose links name this device's URL is kept per URL.
    const plainKey = `${t.format.name}\u0000${t.list}\u0000${style.fingerprint}\u0000${page}\u0000${q ?? ''}`;
    const linkKey = `${plainKey}\u0000${base}${t.path}\u0000${token ?? ''}\u0000${group ?? ''}`;
    const hit = loaded.doc.files.get(plainKey) ?? loaded.doc.files.get(linkKey);
    if (hit) {
      await send(req, res, { ...common, ...hit.headers }, hit.chunks);
      return;
    }
    const built = bookOf(loaded.doc, t, style);
    const book = q === undefined ? built.book : searchBook(built.book, q);
    const keep: Record<string, string> = {};
    if (token !== undefined) keep.token = token;
    if (group !== undefined) keep.group = group;
    let linked = false;
    const rendered = t.format.render({
      book,
      page,
      query: q,
      link: (params, format) => {
        linked = true;
        const path = format === undefined ? t.path : t.path.replace(/^\/phonebook\/[^/]+\//, `/phonebook/${format}/`);
        const query = new URLSearchParams({ ...keep, ...params }).toString();
        return query === '' ? `${base}${path}` : `${base}${path}?${query}`;
      },
      yealinkMaxObjectBytes: config.yealinkMaxObjectBytes,
      snomPageSize: config.snomPageSize,
    });
    if (!rendered) throw new NotFound(`no page ${page}`);
    const extra: Record<string, string> = {
      'X-Phonebook-Contacts': String(book.contacts.length),
      'X-Phonebook-Undialable': String(built.undialable),
      'X-Phonebook-Duplicates': String(built.duplicates),
      ...rendered.headers,
    };
    const kept: string[] = [];
    let size = 0;
    let complete = false;
    function* keeping(): Generator<string> {
      for (const chunk of rendered!.chunks) {
        size += chunk.length;
        if (size <= MAX_KEPT_CHARS) kept.push(chunk);
        yield chunk;
      }
      complete = true;
    }
    await send(req, res, { ...common, ...extra }, keeping());
    if (complete && size <= MAX_KEPT_CHARS) remember(loaded.doc, linked ? linkKey : plainKey, { chunks: kept, headers: extra, size });
  }

  /** Keeps an answer with its document version, within the overall budget. */
  function remember(doc: CachedDoc, key: string, file: KeptAnswer): void {
    if (keptChars + file.size > KEPT_BUDGET_CHARS) {
      for (const d of docs.values()) d.files.clear();
      keptChars = 0;
    }
    doc.files.set(key, file);
    keptChars += file.size;
  }

  async function put(req: IncomingMessage, res: ServerResponse, t: PhonebookTarget, query: URLSearchParams): Promise<void> {
    if (t.format.name !== 'polycom') throw new MethodNotAllowed(['GET', 'HEAD']);
    if (t.key.xui === null) throw new Forbidden('the global directory is read-only for phones');
    await principalFor(req, t.key, query.get('token') ?? undefined, 'write');
    const { style } = styleFor('polycom', query.get('group') ?? undefined, req.headers['user-agent']);
    await uploadPolycomDirectory(req, {
      key: t.key,
      list: t.list === '*' ? config.polycom.uploadList : t.list,
      everyList: t.list === '*',
      managed: managedNames(t.key),
      style,
      fields: config.fields,
      limits: config.polycom,
      writer: opts.writer,
    });
    res.writeHead(204);
    res.end();
  }

  const logRequest = requestLogger(log, opts.requestLog);
  return async (req, res) => {
    if (logRequest) {
      const started = performance.now();
      res.once('finish', () => {
        const url = (req.url ?? '').replace(/([?&]token=)[^&]*/g, '$1…');
        logRequest({ reqId: requestId(req), method: req.method, url, status: res.statusCode, ms: Math.round((performance.now() - started) * 100) / 100 });
      });
    }
    try {
      const url = new URL(req.url ?? '/', 'http://phonebook.invalid');
      const t = parseTarget(url.pathname, await opts.domain.current());
      const method = req.method ?? 'GET';
      if (method === 'GET' || method === 'HEAD') await get(req, res, t, url.searchParams);
      else if (method === 'PUT') await put(req, res, t, url.searchParams);
      else throw new MethodNotAllowed(t.format.name === 'polycom' ? ['GET', 'HEAD', 'PUT'] : ['GET', 'HEAD']);
    } catch (err) {
      renderError(err, res, log, requestId(req), 'text');
    }
  };
}

/** Parses a phonebook path. @throws NotFound naming what is unknown. */
export function parseTarget(pathname: string, defaultDomain: string | undefined): PhonebookTarget {
  let segs: string[];
  try {
    segs = pathname.slice(PHONEBOOK_PREFIX.length).split('/').map((s) => decodeURIComponent(s));
  } catch {
    throw new NotFound('not a phonebook URL (bad percent-encoding)');
  }
  const [formatName, scope, ...rest] = segs;
  const format = FORMATS.get(formatName as FormatName);
  if (!format) throw new NotFound(`unknown phonebook format "${formatName ?? ''}" (known: ${FORMAT_NAMES.join(', ')})`);
  let path = pathname;
  if ((format.name === 'grandstream' || format.name === 'polycom') && rest.length > 0 && /\.xml$/i.test(rest.at(-1) as string)) {
    rest.pop();
    path = pathname.slice(0, pathname.lastIndexOf('/'));
  }
  let xui: string | null;
  if (scope === 'users') {
    const raw = rest.shift();
    if (raw === undefined || raw === '') throw new NotFound('no user in the phonebook URL');
    xui = raw.includes('@') || defaultDomain === undefined ? raw : `${raw}@${defaultDomain}`;
  } else if (scope === 'global') xui = null;
  else throw new NotFound('a phonebook URL continues with users/{xui}/ or global/');
  const list = rest.pop();
  const document = rest.join('/');
  if (list === undefined || list === '' || document === '') throw new NotFound('a phonebook URL ends with {document}/{list} (list "*" for every list)');
  return { format, key: { auid: AUID, xui, path: document }, list, path };
}

function phonebookEtag(docEtag: string, parts: readonly (string | number)[]): string {
  return `${docEtag}.${createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 16)}`;
}

/** Writes the head and the chunks, waiting for the socket when it is full; one chunk gets a Content-Length. */
async function send(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>, chunks: Iterable<string>): Promise<void> {
  const it = chunks[Symbol.iterator]();
  const first = it.next();
  const second = first.done ? first : it.next();
  if (second.done) {
    const body = first.done ? '' : first.value;
    res.writeHead(200, { ...headers, 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  res.writeHead(200, headers);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const pending = [first.value as string, second.value];
  for (;;) {
    const chunk = pending.shift() ?? (() => {
      const n = it.next();
      return n.done ? undefined : n.value;
    })();
    if (chunk === undefined) break;
    if (res.destroyed) return;
    if (!res.write(chunk)) await drained(res);
  }
  res.end();
}

/** Resolves when `res` can take more, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
