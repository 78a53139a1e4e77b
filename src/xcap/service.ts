/**
 * XcapService: the RFC 4825 operations (§7, §8) on top of the DocumentStore and the
 * application usages, independent of HTTP. The HTTP layer authenticates, reads the body
 * and renders results and errors; everything between is here.
 *
 * Every write is a read-modify-write guarded by the document ETag. When the client sent
 * no precondition and another writer won the race, the operation is re-run on the fresh
 * document (bounded); with a client precondition the lost race is the client's 412.
 */
import { createHash } from 'node:crypto';
import type { Document, Element } from '@xmldom/xmldom';
import type { Access, AppUsage, Principal, UsageContext } from '../appusage/types.ts';
import { BoundedMap } from '../bounded-map.ts';
import { EtagMismatch, type DocKey, type DocumentStore, type StoredDoc, type WriteExpectation } from '../store/types.ts';
import { DocumentWriter, lazyCandidate, type DocumentWrite } from './document-writer.ts';
import {
  Forbidden,
  MethodNotAllowed,
  NoParent,
  NotFound,
  NotUtf8,
  NotXmlFrag,
  PayloadTooLarge,
  PreconditionFailed,
  ServiceUnavailable,
  UnsupportedMediaType,
} from './errors.ts';
import type { LocalRoots } from './local-roots.ts';
import type { ManagedDocument, ManagedLists } from './managed.ts';
import { parseSelector, type NodeSelector } from './selector/parse.ts';
import { deleteNode, getNode, putAttribute, putElement, type EditableDocument } from './node-ops.ts';
import type { ElementSpan } from './text-spans.ts';
import { isUtf8Charset, parseMediaType } from './media-type.ts';
import { acceptsUntypedDocument } from './untyped-document.ts';
import { decodeUtf8, parseDocument, serialize } from './xml.ts';
import { prescanDocument, prescanXml, type XmlLimits } from './xml-prescan.ts';
import { docCacheKey, StoredBytes, stillCurrent, type CachedVersion, type FollowedEtags } from './read-cache.ts';
import type { XcapUri } from './uri.ts';

export const MIME_ELEMENT = 'application/xcap-el+xml';
export const MIME_ATTRIBUTE = 'application/xcap-att+xml';

/** The subset of request headers the operations look at. */
export interface Conditions {
  ifMatch?: string | undefined;
  ifNoneMatch?: string | undefined;
}

export interface Request {
  readonly uri: XcapUri;
  readonly principal: Principal;
  readonly conditions: Conditions;
  /** Leniency flags of the client profile that matched the request. */
  readonly lenient: ReadonlySet<string>;
  /** The absolute XCAP roots by which this request can name this server. */
  readonly roots: LocalRoots;
}

export interface ReadResult {
  /** A whole stored document comes as the stored bytes. */
  readonly body: string | Buffer;
  readonly contentType: string;
  readonly etag: string;
}

/**
 * A GET whose If-None-Match names the current ETag: 304 without a body. Returned, not
 * thrown: it is how most phone polls end.
 */
export interface NotModifiedResult {
  readonly notModified: true;
  readonly etag: string;
}

export interface WriteOutcome {
  readonly status: 200 | 201;
  readonly etag: string;
}

/** Looks up usages by auid; implemented by src/appusage/registry.ts. */
export interface UsageLookup {
  get(auid: string): AppUsage | undefined;
}

/** Checks a principal's access to a document; throws Forbidden. Implemented by src/auth/. */
export type Authorize = (principal: Principal, key: DocKey, access: Access) => void;

export interface XcapServiceOptions {
  store: DocumentStore;
  usages: UsageLookup;
  authorize: Authorize;
  /**
   * Most parsed documents kept for selector GETs and edits, by document key, the one parsed or
   * written longest ago first out; a document's DOM is kept from the second time it is parsed
   * or written lately on; 0 disables. @defaultValue 256
   */
  domCacheSize?: number;
  /** Lists owned by sync bindings, read-only for clients (src/xcap/managed.ts). */
  managed?: ManagedLists | undefined;
  /** Structural limits on document and element bodies (config `server.maxXml*`), checked before anything is parsed. */
  xmlLimits: XmlLimits;
  /** The writer shared with the sync engine; by default one on `store` and `usages`. */
  writer?: DocumentWriter;
  /** ETags that answer a conditional GET without a query (a store without a change counter). */
  etags?: FollowedEtags | undefined;
  /** Most bytes of stored documents kept for GETs. @defaultValue 32 MiB */
  storedBytes?: number;
}

/** How often an unconditional write is re-run after losing a race to another process. */
const MAX_ATTEMPTS = 20;

export class XcapService {
  private readonly store: DocumentStore;
  private readonly usages: UsageLookup;
  private readonly authorizeFn: Authorize;
  private readonly managed: ManagedLists | undefined;
  private readonly writer: DocumentWriter;
  private readonly domCache: BoundedMap<string, CachedDom>;
  /**
   * Keys of documents parsed or written lately, kept or not. A DOM is kept only for a key met
   * before: one parsed once and never again (a phone's single edit among many users) would
   * otherwise live just long enough to be copied by the young-generation GC and die old, and
   * those copies of a cache refilled by one-off documents pause every process on the machine.
   */
  private readonly metLately: BoundedMap<string, true>;
  private readonly storedBytes: StoredBytes;
  private readonly etags: FollowedEtags | undefined;
  private readonly xmlLimits: XmlLimits;
  /** Tail of the queue of writes per document key, in this process. */
  private readonly writing = new Map<string, Promise<unknown>>();

  constructor(opts: XcapServiceOptions) {
    this.store = opts.store;
    this.usages = opts.usages;
    this.authorizeFn = opts.authorize;
    this.managed = opts.managed;
    this.writer = opts.writer ?? new DocumentWriter({ store: opts.store, usages: opts.usages });
    const domCacheSize = opts.domCacheSize ?? 256;
    this.domCache = new BoundedMap({ limit: domCacheSize });
    this.metLately = new BoundedMap({ limit: 4 * domCacheSize });
    this.storedBytes = new StoredBytes(opts.store, opts.storedBytes);
    this.etags = opts.etags;
    this.xmlLimits = opts.xmlLimits;
  }

  /** GET of a document, element, attribute or namespace bindings (RFC 4825 §7.3, §7.6, §7.9, §7.10). */
  async get(req: Request): Promise<ReadResult | NotModifiedResult> {
    const { usage, key } = this.resolve(req, 'read');
    this.usageAuthorize(req, usage, key, 'read');
    // Most usages generate nothing: no await for them.
    const making = usage.generated?.(key, this.context(req, key), req.principal);
    const generated = making === undefined ? undefined : await making;
    if (generated === undefined && req.uri.selector === null) {
      const k = docCacheKey(key);
      const { ifNoneMatch, ifMatch } = req.conditions;
      // A poll naming the ETag this process last read: 304 on the change feed's word. Any
      // other ETag (the client's own write, say) or a plain GET asks the store.
      const known = ifNoneMatch !== undefined && ifMatch === undefined ? this.etags?.get(k) : undefined;
      if (known !== undefined && matches(ifNoneMatch as string, known, 'weak')) return { notModified: true, etag: known };
      const mark = this.etags?.mark();
      // The stored bytes as they are: cached by ETag, checked against the store per request.
      const stored = await this.storedBytes.get(key, k);
      if (!stored) throw new NotFound();
      if (mark !== undefined) this.etags?.set(k, stored.etag, mark);
      if (notModified(req.conditions, stored.etag)) return { notModified: true, etag: stored.etag };
      return { body: stored.bytes, contentType: usage.mimeType, etag: stored.etag };
    }
    const cached = generated === undefined ? await this.currentDom(key) : undefined;
    const doc: Pick<StoredDoc, 'etag' | 'body'> | undefined =
      cached !== undefined ? { etag: cached.etag, body: cached.text } : generated === undefined ? await this.store.get(key) : { etag: contentEtag(generated), body: generated };
    if (!doc) throw new NotFound();
    if (notModified(req.conditions, doc.etag)) return { notModified: true, etag: doc.etag };
    if (req.uri.selector === null) return { body: doc.body, contentType: usage.mimeType, etag: doc.etag };
    const sel = this.selector(req, usage);
    const { dom, spans } = cached ?? this.cachedForRead(key, doc);
    const node = getNode({ text: doc.body, dom, spans }, sel);
    return { body: node.body, contentType: node.contentType, etag: doc.etag };
  }

  /**
   * A write through this process has been answered: `etag` is the document's new ETag, null
   * if it was deleted. The ETag kept for conditional GETs follows at once.
   */
  wrote(uri: XcapUri, etag: string | null): void {
    const usage = this.usages.get(uri.auid);
    if (usage && this.etags) this.etags.changed(docCacheKey(keyOf(usage, uri)), etag);
  }

  /** The cached DOM of `key` when it is still the stored version (only its ETag is read, if anything). */
  private async currentDom(key: DocKey): Promise<CachedDom | undefined> {
    const hit = this.domCache.get(docCacheKey(key));
    return hit !== undefined && (await stillCurrent(this.store, key, hit)) ? hit : undefined;
  }

  /**
   * The largest body a PUT of `req` may carry: `base` (server.maxBodyBytes); for a
   * whole-document PUT of a document with managed lists, `base` plus the stored size of
   * those lists (see managed.ts). Authorization errors surface here, before the body is read.
   */
  async bodyLimit(req: Request, base: number): Promise<number> {
    if (req.uri.selector !== null) return base;
    const { key } = this.resolve(req, 'write');
    const managed = this.managed?.forKey(key);
    if (!managed) return base;
    const current = await this.storedForWrite(key);
    // The parse is the one the PUT itself uses next (cached by ETag).
    return current ? base + managed.sizeOf(this.cachedForRead(key, current).dom) : base;
  }

  /**
   * Whether a whole-document PUT at `uri` is merged with the stored document (it has lists
   * managed by sync bindings, managed.ts), rather than replacing it. False for a URI that
   * names no usage: `put` refuses it.
   */
  mergesWithStored(uri: XcapUri): boolean {
    const usage = this.usages.get(uri.auid);
    if (!usage || !this.managed) return false;
    return this.managed.forKey(keyOf(usage, uri)) !== undefined;
  }

  /** PUT of a document, element or attribute (RFC 4825 §7.2, §7.4, §7.7, §8.2). */
  async put(req: Request, rawBody: Buffer, contentType: string | undefined): Promise<WriteOutcome> {
    const { usage, key } = this.resolve(req, 'write');
    await this.refuseGenerated(req, usage, key);
    this.usageAuthorize(req, usage, key, 'write');
    const text = decodeUtf8(rawBody);
    const sel = req.uri.selector === null ? null : this.selector(req, usage);
    if (sel?.terminal?.kind === 'namespace') throw new MethodNotAllowed(['GET']);
    const expectedType = sel === null ? usage.mimeType : sel.terminal?.kind === 'attribute' ? MIME_ATTRIBUTE : MIME_ELEMENT;
    const { type, charset } = parseMediaType(contentType);
    if (type !== expectedType && !(sel === null && acceptsUntypedDocument(req.lenient, type, text, usage.defaultNamespace, this.xmlLimits))) {
      throw new UnsupportedMediaType(expectedType);
    }
    // The right type with another charset declares the body in that charset (RFC 7303 §3): not UTF-8.
    if (type === expectedType && charset !== undefined && !isUtf8Charset(charset)) {
      throw new NotUtf8(`the Content-Type names the charset ${charset.slice(0, 40)}; XCAP bodies are UTF-8`);
    }
    if (sel === null && usage.maxDocumentBytes !== undefined && rawBody.length > usage.maxDocumentBytes) {
      throw new PayloadTooLarge(usage.maxDocumentBytes);
    }
    // An element body goes where its last step points: its parent is as deep as the other steps.
    if (sel !== null && sel.terminal === null) prescanXml(text, this.xmlLimits, NotXmlFrag, sel.steps.length - 1);
    if (sel === null) {
      // A whole document is checked by the usage from its text (libxml2 does well-formedness
      // and schema in one pass); the DOM is built only if the usage asks for it.
      const managed = this.managed?.forKey(key);
      if (managed) {
        prescanDocument(text, this.xmlLimits);
        return this.putWithManaged(req, key, text, managed);
      }
      // The writer pre-scans it with the validation, on a validation thread when it is large.
      const candidate = lazyCandidate(text);
      if (!isConditional(req.conditions)) {
        // An unconditional whole-document PUT replaces whatever is there: no read, no race.
        const res = await this.writer.write({ ...this.writeOf(req, key, text, 'any', this.xmlLimits), candidate });
        this.forget(key);
        return { status: res.created ? 201 : 200, etag: res.etag };
      }
      return this.retrying(req, key, async (turn) => {
        // Only the ETag: the write replaces the body, conditional on that ETag.
        const current = await this.store.head(key);
        checkWrite(req.conditions, current?.etag);
        const res = await this.writer.write({
          ...this.writeOf(req, key, text, current ? { etag: current.etag } : 'absent', this.xmlLimits),
          candidate,
          onCommit: () => {
            this.forget(key);
            turn.done();
          },
        });
        return { status: current ? 200 : 201, etag: res.etag };
      });
    }
    return this.retrying(req, key, async (turn) => {
      const current = await this.storedForWrite(key);
      checkWrite(req.conditions, current?.etag);
      if (!current) throw new NoParent(rootOf(req.uri));
      const doc = this.takeForWrite(key, current);
      const attribute = sel.terminal?.kind === 'attribute';
      const edit = (): { created: boolean; element: Element } =>
        attribute ? putAttribute(doc, sel, text, req.uri.documentUri) : putElement(doc, sel, text, req.uri.documentUri);
      const managed = this.managed?.forKey(key);
      const done = managed ? managed.guardEdit(doc.dom, sel, edit) : edit();
      // Only the new element (or the start tag of the attribute's element) differs from a
      // document known valid: the usage may judge that part.
      return this.commit(req, key, current.etag, doc, done.created ? 201 : 200, turn, doc.valid ? { element: done.element, shallow: attribute } : undefined);
    });
  }

  /** DELETE of a document, element or attribute (RFC 4825 §7.5, §7.8, §8.3). */
  async delete(req: Request): Promise<WriteOutcome> {
    const { usage, key } = this.resolve(req, 'write');
    await this.refuseGenerated(req, usage, key);
    this.usageAuthorize(req, usage, key, 'write');
    const sel = req.uri.selector === null ? null : this.selector(req, usage);
    if (sel?.terminal?.kind === 'namespace') throw new MethodNotAllowed(['GET']);
    return this.retrying(req, key, async (turn) => {
      const current = await this.storedForWrite(key);
      if (!current) throw new NotFound();
      checkWrite(req.conditions, current.etag);
      if (sel === null) {
        await this.writer.remove(key, { etag: current.etag }, 'xcap');
        // The document is gone: its ETag is the last one it had (RFC 4825 §8.3 wants one in the response).
        return { status: 200, etag: current.etag };
      }
      const doc = this.takeForWrite(key, current);
      const managed = this.managed?.forKey(key);
      const changed = managed ? managed.guardEdit(doc.dom, sel, () => deleteNode(doc, sel)) : deleteNode(doc, sel);
      // Only that element's start tag or list of children differs from a document known valid.
      return this.commit(req, key, current.etag, doc, 200, turn, doc.valid ? { element: changed, shallow: true, removal: true } : undefined);
    });
  }

  /**
   * Whole-document PUT of a document with managed lists: the client's copy of those lists
   * is replaced by the stored one before validation, so a phone that re-sends a stale
   * directory with its own edit keeps its edit and cannot revert the directory. Needs the
   * stored document even without a precondition, so it is a read-modify-write.
   */
  private putWithManaged(req: Request, key: DocKey, text: string, managed: ManagedDocument): Promise<WriteOutcome> {
    return this.retrying(req, key, async (turn) => {
      const current = await this.storedForWrite(key);
      checkWrite(req.conditions, current?.etag);
      const dom = parseDocument(text);
      managed.reproject(dom, current ? this.cachedForRead(key, current).dom : undefined);
      // The managed lists are re-written from the DOM, so the document is too.
      return this.commit(req, key, current?.etag, { text: serialize(dom), dom }, current ? 200 : 201, turn);
    });
  }

  /**
   * Validates and stores a modified document (conditional on `etag`, or on absence when
   * undefined); on success its DOM becomes the cached DOM of the new ETag. `edited`: the
   * one element that differs from a document known valid (CandidateDocument.edited, .shallow).
   */
  private async commit(
    req: Request,
    key: DocKey,
    etag: string | undefined,
    doc: EditableDocument,
    status: 200 | 201,
    turn: Turn,
    edited?: { readonly element: Element; readonly shallow: boolean; readonly removal?: boolean },
  ): Promise<WriteOutcome> {
    const { text, dom } = doc;
    const res = await this.writer.write({
      ...this.writeOf(req, key, text, etag === undefined ? 'absent' : { etag }),
      candidate: { text, dom: () => dom, parsed: dom, ...(edited === undefined ? {} : { edited: edited.element, shallow: edited.shallow, removal: edited.removal === true }) },
      // The next writer of this document may start from this DOM as soon as it is committed;
      // validated without leniency, it is valid for every client.
      onCommit: (r) => {
        this.remember(key, r.etag, dom, text, req.lenient.size === 0);
        turn.done();
      },
    });
    return { status, etag: res.etag };
  }

  /** A client's write of `body` at `key`, for the shared DocumentWriter (`prescan`: a body as the client sent it). */
  private writeOf(req: Request, key: DocKey, body: string, expect: WriteExpectation, prescan?: XmlLimits): DocumentWrite {
    return { key, body, expect, origin: 'xcap', lenient: req.lenient, rootUri: rootOf(req.uri), roots: req.roots, ...(prescan ? { prescan } : {}) };
  }

  /** Maps the URI to its usage and stored key, and checks the default access (own tree; global read-only). */
  private resolve(req: Request, access: Access): { usage: AppUsage; key: DocKey } {
    const { uri } = req;
    const usage = this.usages.get(uri.auid);
    if (!usage) throw new NotFound(`no application usage ${uri.auid}`);
    if (uri.xui === null ? !usage.scopes.global : !usage.scopes.users) throw new NotFound();
    const key = keyOf(usage, uri);
    this.authorizeFn(req.principal, key, access);
    return { usage, key };
  }

  /**
   * The usage's own refusals. Writes check them after `refuseGenerated`, so a write to a
   * generated document is 405 + Allow (RFC 4825 §8.2.5) rather than a read-only 403.
   */
  private usageAuthorize(req: Request, usage: AppUsage, key: DocKey, access: Access): void {
    if (usage.authorize && !usage.authorize(req.principal, key, access)) throw new Forbidden();
  }

  private async refuseGenerated(req: Request, usage: AppUsage, key: DocKey): Promise<void> {
    if (usage.generated && (await usage.generated(key, this.context(req, key), req.principal)) !== undefined) {
      throw new MethodNotAllowed(['GET']);
    }
  }

  private selector(req: Request, usage: AppUsage): NodeSelector {
    return parseSelector(req.uri.selector as string, req.uri.namespaces, usage.defaultNamespace);
  }

  private context(req: Request, key: DocKey): UsageContext {
    return { key, store: this.store, lenient: req.lenient, rootUri: rootOf(req.uri), roots: req.roots };
  }

  /** Parsed DOM for read-only use, with its span memo, cached by key and ETag. Callers must not mutate it. */
  private cachedForRead(key: DocKey, doc: Pick<StoredDoc, 'etag' | 'body'>): CachedDom {
    const hit = this.domCache.get(docCacheKey(key));
    if (hit && hit.etag === doc.etag) return hit;
    return this.remember(key, doc.etag, parseDocument(doc.body), doc.body);
  }

  /**
   * `doc` with a DOM the caller may mutate: the cached one is taken out of the cache (a
   * copy would cost more than a parse), so a failed write leaves no altered DOM behind.
   */
  /**
   * The stored version a read-modify-write starts from. When the cached DOM is still the
   * stored version only its ETag is read (the cache holds its text): the write is
   * conditional on that ETag, so a version that changed meanwhile costs a retry, never a loss.
   */
  private async storedForWrite(key: DocKey): Promise<Pick<StoredDoc, 'etag' | 'body'> | undefined> {
    const hit = await this.currentDom(key);
    return hit !== undefined ? { etag: hit.etag, body: hit.text } : this.store.get(key);
  }

  private takeForWrite(key: DocKey, doc: Pick<StoredDoc, 'etag' | 'body'>): EditableDocument & { readonly valid: boolean } {
    const k = docCacheKey(key);
    const hit = this.domCache.get(k);
    this.domCache.delete(k);
    return hit && hit.etag === doc.etag ? { text: doc.body, dom: hit.dom, valid: hit.valid } : { text: doc.body, dom: parseDocument(doc.body), valid: false };
  }

  private forget(key: DocKey): void {
    this.domCache.delete(docCacheKey(key));
  }

  /**
   * `dom` (of `text`) as the DOM of `etag`, with an empty span memo (a written DOM's old spans
   * are void), cached when its key was met lately; `valid` when this process validated it
   * without leniency.
   */
  private remember(key: DocKey, etag: string, dom: Document, text: string, valid = false): CachedDom {
    const entry: CachedDom = { etag, dom, text, spans: new WeakMap(), valid };
    const k = docCacheKey(key);
    if (this.metLately.get(k) !== undefined) this.domCache.set(k, entry);
    this.metLately.set(k, true);
    return entry;
  }

  /**
   * Runs a read-modify-write. Writers of one document in this process take turns (so they
   * never race each other); a turn ends when its write is committed (the next writer need
   * not wait for the flush to disk, so consecutive turns share one) or has failed. A race
   * lost to another process is re-run unless the client made the write conditional.
   */
  private retrying(req: Request, key: DocKey, attempt: (turn: Turn) => Promise<WriteOutcome>): Promise<WriteOutcome> {
    const k = docCacheKey(key);
    let done = () => {};
    const committed = new Promise<void>((r) => (done = r));
    const turn: Turn = { done };
    const run = async (): Promise<WriteOutcome> => {
      for (let i = 1; ; i++) {
        try {
          return await attempt(turn);
        } catch (err) {
          if (!(err instanceof EtagMismatch)) throw err;
          if (isConditional(req.conditions)) throw new PreconditionFailed('the document changed during the request');
          // The client asked for no precondition, so 412 would be wrong: busy, try again.
          if (i >= MAX_ATTEMPTS) throw new ServiceUnavailable('the document is being changed by other writers; retry');
          // Random, growing pause: processes hammering one document stop colliding in lock step.
          await new Promise((r) => setTimeout(r, Math.random() * i));
        }
      }
    };
    const previous = this.writing.get(k);
    const mine = previous ? previous.then(run, run) : run();
    const tail = Promise.race([committed, mine.then(noop, noop)]);
    this.writing.set(k, tail);
    void tail.then(() => {
      if (this.writing.get(k) === tail) this.writing.delete(k);
    });
    return mine;
  }
}

/** One writer's turn on a document: `done` lets the next writer start. */
interface Turn {
  done(): void;
}

const noop = () => {};

/** A parsed document of one ETag, never mutated while cached, its text, and the element spans found in it. */
interface CachedDom extends CachedVersion {
  readonly dom: Document;
  readonly text: string;
  readonly spans: WeakMap<Element, ElementSpan>;
  /**
   * The document passed its usage's validation with no leniency flags when this process
   * wrote it (a stored document read back may predate the rules, or have been imported leniently).
   */
  readonly valid: boolean;
}

/** The stored document `uri` names (the usage may map aliases of a path to one). */
function keyOf(usage: AppUsage, uri: XcapUri): DocKey {
  return { auid: usage.auid, xui: uri.xui, path: usage.canonicalPath ? usage.canonicalPath(uri.docPath) : uri.docPath };
}


/** The XCAP root URI as the client addressed it. */
function rootOf(uri: XcapUri): string {
  return uri.rootPath;
}

/** ETag of generated content: a digest, so it changes exactly when the content does. */
function contentEtag(body: string): string {
  return createHash('sha1').update(body).digest('base64url');
}

/**
 * Whether an If-Match / If-None-Match value matches the current ETag: `*` (bare or quoted,
 * as some phones send it) or a list of entity tags. If-Match compares strongly, so a weak
 * tag `W/"x"` never matches; If-None-Match compares weakly, so `W/"x"` matches `x`
 * (RFC 7232 §2.3.2, §3.1, §3.2).
 */
function matches(header: string, etag: string | undefined, comparison: 'strong' | 'weak'): boolean {
  const h = header.trim();
  if (h === '*' || h === '"*"') return etag !== undefined;
  if (etag === undefined) return false;
  for (const part of h.split(',')) {
    let t = part.trim();
    if (t.startsWith('W/')) {
      if (comparison === 'strong') continue;
      t = t.slice(2);
    }
    if ((t.startsWith('"') ? t.slice(1, -1) : t) === etag) return true;
  }
  return false;
}

export { matches as etagMatches };

function isConditional(c: Conditions): boolean {
  return c.ifMatch !== undefined || c.ifNoneMatch !== undefined;
}

/** Whether a read of `etag` under `c` is answered 304; throws PreconditionFailed when If-Match fails. */
function notModified(c: Conditions, etag: string): boolean {
  if (c.ifMatch !== undefined && !matches(c.ifMatch, etag, 'strong')) throw new PreconditionFailed();
  return c.ifNoneMatch !== undefined && matches(c.ifNoneMatch, etag, 'weak');
}

function checkWrite(c: Conditions, etag: string | undefined): void {
  if (c.ifMatch !== undefined && !matches(c.ifMatch, etag, 'strong')) throw new PreconditionFailed();
  if (c.ifNoneMatch !== undefined && matches(c.ifNoneMatch, etag, 'weak')) throw new PreconditionFailed();
}
