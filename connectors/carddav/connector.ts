/**
 * The CardDAV connector: one address-book collection per binding scope, seen as contacts.
 *
 * - COLLECTION: a user (`alice`), whose address book is `addressBook` with `{user}` filled
 *   in or is found by discovery; or an absolute http(s) URL of an address book.
 * - ID: the card's UID. VERSION: its ETag (quotes kept, `W/` stripped).
 * - The connector keeps, per address book, what it last saw of each card (href, ETag,
 *   UID, text): a listing only fetches cards whose ETag moved, a UID finds its href, and a
 *   delete reported by href is named by UID. Two cards with one UID stop the address book
 *   with an error naming both hrefs; a card that cannot be read (malformed, vCard 2.1, no
 *   UID) is skipped and logged once, and never counts as deleted; a card without any uri
 *   source is skipped the same way.
 * - changes(): RFC 6578 sync-collection from the stored token, following 507 truncation;
 *   a token the server refuses (403/409 valid-sync-token) is `token-expired` (the engine
 *   then reads everything again). With `changeDetection: ctag`: getctag, and a getetag
 *   listing only when it moved; a server that answers sync-collection as an unsupported
 *   report (501, or 403/405/400 with DAV:supported-report) gets the same from then on,
 *   and one without getctag (and sync-token) a getetag listing per run, its digest as ctag;
 *   the stored sync token reading as `token-expired` once. Either way an unchanged
 *   address book costs one request.
 *   A delete the connector cannot name (it has not seen that address book since it
 *   started) also answers `token-expired`.
 * - Writes are conditional on the server: create PUTs to `<UID>.vcf` with If-None-Match: *,
 *   replace and delete send If-Match with the version. A replace edits the card as the
 *   server has it (codec `edit`): only the owned fields' properties change. A PUT answered
 *   without ETag (the server rewrote the card) gives a version that matches nothing: the
 *   next run reads the card again.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ChangeSet, Connector, ConnectorCapabilities, ItemFields, ItemRef, ItemWrite, RemoteItem } from '../types.ts';
import { NotFound, Rejected, VersionMismatch } from '../errors.ts';
import { carddavCapabilities, type CarddavConfig } from './config.ts';
import { credentialsFor, type Credentials } from './credentials.ts';
import { davError } from './errors.ts';
import { DavHttp, type DavAnswer } from './http.ts';
import { CALSERVER, CARDDAV, DAV, errorNames, multigetBody, multistatusOf, prop, propfindBody, propHas, syncCollectionBody, type Multistatus } from './multistatus.ts';
import { CardCodec, serialize } from './vcard.ts';
import { discoverAddressBook } from './discovery.ts';

export interface CarddavConnectorDeps {
  readonly logger?: Logger;
  /** Where password variables are looked up. @defaultValue `process.env` */
  readonly env?: NodeJS.ProcessEnv;
  /** Called before every HTTP request (tests and the bench count them). */
  readonly onRequest?: (method: string, url: URL) => void;
}

/** What the connector last saw of one card. */
interface Card {
  readonly href: string;
  readonly etag: string;
  readonly uid: string;
  readonly text: string;
  readonly fields: ItemFields;
  /** REV, when the card has one. */
  readonly modified?: number;
}

/** One address book as last seen. */
class Book {
  readonly byHref = new Map<string, Card>();
  readonly byUid = new Map<string, Card>();
  /** Cards that could not be read, by href, at the ETag that was read (not fetched again until it moves). */
  readonly unreadable = new Map<string, string>();
  /** UIDs of cards that went away, by href: a change report replayed from an older token names them again. */
  readonly gone = new Map<string, string>();
  /** ctag mode: href → ETag and UID at each of the last getctag values handed out in a token. */
  readonly snapshots = new Map<string, Map<string, { etag: string; uid: string }>>();
  /** A whole listing or initial sync was seen: every card of the address book is known. */
  complete = false;
  /** The server answered sync-collection as an unsupported report: getctag is asked instead. */
  noSyncCollection = false;
  /** The server gives neither getctag nor sync-token for it: each run lists its ETags. */
  noCtag = false;

  put(card: Card): void {
    const old = this.byHref.get(card.href);
    if (old && this.byUid.get(old.uid) === old) this.byUid.delete(old.uid);
    this.byHref.set(card.href, card);
    this.byUid.set(card.uid, card);
    this.unreadable.delete(card.href);
    this.gone.delete(card.href);
  }

  drop(href: string): Card | undefined {
    const old = this.byHref.get(href);
    this.unreadable.delete(href);
    if (!old) return undefined;
    this.byHref.delete(href);
    if (this.byUid.get(old.uid) === old) this.byUid.delete(old.uid);
    this.gone.set(href, old.uid);
    return old;
  }

  /** Remembers the cards under a getctag value (the last few only). */
  snapshot(ctag: string): void {
    this.snapshots.delete(ctag);
    this.snapshots.set(ctag, new Map([...this.byHref].map(([href, c]) => [href, { etag: c.etag, uid: c.uid }])));
    for (const key of this.snapshots.keys()) {
      if (this.snapshots.size <= SNAPSHOTS_KEPT) break;
      this.snapshots.delete(key);
    }
  }
}

/** A collection resolved: the address book's URL and whose credentials reach it. */
interface Target {
  /** The address book as configured (before redirects): names its Book and its tokens. */
  readonly key: string;
  /** Where its requests go: the configured URL, or where the server redirected it (updated when a request is redirected). */
  url: URL;
  readonly credentials: Credentials;
}

/** Version given to a card the server stored without saying its ETag: matches no ETag, so the next write re-reads. */
const UNKNOWN_VERSION = 'unknown-after-write:';
/** getctag snapshots kept per address book (tokens older than that are expired). */
const SNAPSHOTS_KEPT = 4;
/** Rounds of 507 truncation followed before giving up (a server that never finishes). */
const MAX_SYNC_ROUNDS = 1000;

export class CarddavConnector implements Connector {
  readonly kind = 'carddav';
  readonly capabilities: ConnectorCapabilities;
  readonly #config: CarddavConfig;
  readonly #deps: CarddavConnectorDeps;
  readonly #http: DavHttp;
  readonly #codec: CardCodec;
  readonly #books = new Map<string, Book>();
  /** Where redirects moved address books, by configured URL. */
  readonly #moved = new Map<string, URL>();
  /** Discovered address-book URLs by user. */
  readonly #discovered = new Map<string, Promise<URL>>();
  readonly #reported = new Set<string>();

  constructor(config: CarddavConfig, deps: CarddavConnectorDeps = {}) {
    this.#config = config;
    this.#deps = deps;
    this.capabilities = carddavCapabilities(config);
    this.#codec = new CardCodec(config.mapping);
    const base = new URL(config.url);
    this.#http = new DavHttp({
      timeoutMs: config.timeoutMs,
      scheme: config.auth,
      allowedHosts: [base.host, ...config.redirectHosts],
      ...(deps.onRequest ? { onRequest: deps.onRequest } : {}),
    });
  }

  /** Cards skipped so far (unreadable, or no uri source), distinct hrefs. */
  get skippedCards(): number {
    return this.#reported.size;
  }

  // ---- Reading ---------------------------------------------------------------------

  async *list(collection: string): AsyncIterable<ItemRef> {
    const t = await this.#target(collection);
    const book = await this.#refresh(t);
    for (const card of this.#usable(t, book)) yield { id: card.uid, version: card.etag };
  }

  async *read(collection: string, ids?: readonly string[]): AsyncIterable<RemoteItem> {
    const t = await this.#target(collection);
    const book = await this.#refresh(t);
    const wanted = ids === undefined ? undefined : new Set(ids);
    for (const card of this.#usable(t, book)) {
      if (!wanted || wanted.has(card.uid)) yield item(card);
    }
  }

  async changes(collection: string, token?: string): Promise<ChangeSet | 'token-expired'> {
    const t = await this.#target(collection);
    const decoded = token === undefined ? undefined : decodeToken(token);
    if (token !== undefined && decoded?.u !== t.key) return 'token-expired';
    if (this.#config.changeDetection === 'sync-collection' && !this.#book(t.key).noSyncCollection) {
      const got = await this.#syncChanges(t, decoded?.s);
      if (got !== 'unsupported') return got;
    }
    // A token of the other mode says nothing about what changed since.
    if (decoded !== undefined && decoded.c === undefined) return 'token-expired';
    return this.#ctagChanges(t, decoded?.c);
  }

  /**
   * RFC 6578: what moved since the server's token; every card when there is none.
   * `unsupported` when the server does not do sync-collection on this address book (it
   * is then asked by getctag from now on).
   */
  async #syncChanges(t: Target, since: string | undefined): Promise<ChangeSet | 'token-expired' | 'unsupported'> {
    const book = this.#book(t.key);
    const report = await this.#syncReport(t, since);
    if (report === 'expired') return 'token-expired';
    if (report === 'unsupported') {
      book.noSyncCollection = true;
      this.#deps.logger?.warn({ collection: t.url.pathname }, `CardDAV: ${t.url.pathname} does not support sync-collection; using getctag and a getetag listing for it`);
      return 'unsupported';
    }
    const token = encodeToken({ u: t.key, s: report.token });
    if (since === undefined) {
      // The initial report lists every member: what the book holds beyond them is gone.
      for (const href of [...book.byHref.keys()]) if (!report.changed.has(href)) book.drop(href);
      await this.#fetch(t, book, report.changed);
      book.complete = true;
      return { token, upserted: this.#usable(t, book).map(item), deleted: [] };
    }
    // A delete of a card never seen (created and removed between two runs) concerns no item; one the book cannot name does.
    const unknownDelete = [...report.deleted].some((href) => !book.byHref.has(href) && !book.gone.has(href) && !book.unreadable.has(href));
    if (unknownDelete && !book.complete) return 'token-expired';
    const gone = new Set<string>();
    for (const href of report.deleted) {
      const uid = book.drop(href)?.uid ?? book.gone.get(href);
      if (uid !== undefined) gone.add(uid);
    }
    await this.#fetch(t, book, report.changed);
    // Every card the report names, fetched now or already known at that ETag (a report replayed from an older token).
    const upserted = [...report.changed].flatMap(([href, etag]) => {
      const card = book.byHref.get(href);
      return card && card.etag === etag ? [card] : [];
    });
    for (const card of book.byUid.values()) gone.delete(card.uid);
    return { token, upserted: upserted.filter((c) => this.#hasUri(t, c)).map(item), deleted: [...gone] };
  }

  /** getctag first; a getetag listing only when it moved. */
  async #ctagChanges(t: Target, since: string | undefined): Promise<ChangeSet | 'token-expired'> {
    const book = this.#book(t.key);
    let ctag: string | undefined;
    if (!book.noCtag) {
      const ms = await this.#propfind(t, t.url, '0', [[CALSERVER, 'getctag'], [DAV, 'sync-token']], 'getctag');
      const self = ms.responses[0];
      ctag = self ? (prop(self, CALSERVER, 'getctag') ?? prop(self, DAV, 'sync-token')) : undefined;
      if (ctag === undefined) {
        book.noCtag = true;
        this.#deps.logger?.warn({ collection: t.url.pathname }, `CardDAV: ${t.url.pathname} has neither getctag nor sync-token; each run lists its ETags instead`);
      }
    }
    // Without one, the getetag listing is the question and a digest of it stands in for the ctag.
    const listed = ctag === undefined;
    if (listed) ctag = `listing:${listingDigest(await this.#refresh(t))}`;
    const token = encodeToken({ u: t.key, c: ctag as string });
    if (since !== undefined && since === ctag && book.snapshots.has(ctag)) return { token, upserted: [], deleted: [] };
    const before = since === undefined ? undefined : book.snapshots.get(since);
    if (since !== undefined && before === undefined) return 'token-expired';
    if (!listed) await this.#refresh(t);
    book.snapshot(ctag as string);
    const upserted = this.#usable(t, book).filter((c) => before?.get(c.href)?.etag !== c.etag).map(item);
    const deleted = before === undefined ? [] : [...new Set([...before.values()].map((c) => c.uid))].filter((uid) => !book.byUid.has(uid));
    return { token, upserted, deleted };
  }

  // ---- Writing ---------------------------------------------------------------------

  async write(collection: string, w: ItemWrite, expect: 'absent' | { readonly version: string }): Promise<ItemRef> {
    const version = this.#writeVersion();
    const t = await this.#target(collection);
    const book = this.#book(t.key);
    if (expect === 'absent') {
      const uid = w.id ?? randomUUID();
      const href = `${t.url.pathname}${encodeURIComponent(uid)}.vcf`;
      const text = this.#codec.create(uid, w.fields, version);
      const answer = await this.#put(t, href, text, { 'If-None-Match': '*' }, 'create');
      return this.#stored(book, href, uid, text, answer);
    }
    if (w.id === undefined) throw new Rejected('CardDAV write: replacing a card needs its UID');
    const card = await this.#find(t, w.id);
    const current = card.etag === expect.version ? card : await this.#get(t, card.href);
    if (current.etag !== expect.version) throw new VersionMismatch(`CardDAV write: ${w.id} is at another version than expected`);
    const parsed = this.#codec.parse(current.text);
    if ('skip' in parsed) throw new Rejected(`CardDAV write: cannot edit ${card.href}: ${parsed.skip}`);
    if (!this.#codec.edit(parsed.card, w.fields, w.owned ?? Object.keys(w.fields))) return { id: w.id, version: current.etag };
    const text = serialize(parsed.card);
    const answer = await this.#put(t, card.href, text, { 'If-Match': expect.version }, 'update');
    return this.#stored(book, card.href, w.id, text, answer);
  }

  async remove(collection: string, id: string, expect: { readonly version: string }): Promise<void> {
    this.#writeVersion();
    const t = await this.#target(collection);
    const card = await this.#find(t, id);
    const answer = await this.#send(t, 'DELETE', new URL(card.href, t.url), { 'If-Match': expect.version }, undefined, 'delete');
    if (answer.status === 412) throw await this.#mismatchOrGone(t, card.href, 'delete');
    if (answer.status < 200 || answer.status >= 300) throw davError(`delete ${card.href}`, answer);
    this.#book(t.key).drop(card.href);
  }

  async close(): Promise<void> {
    this.#books.clear();
  }

  // ---- Internals -------------------------------------------------------------------

  #writeVersion(): '3.0' | '4.0' {
    const w = this.#config.write;
    if (!w?.enabled) throw new Rejected('CardDAV write-back is not enabled for this connector (write.enabled)');
    return w.version;
  }

  async #target(collection: string): Promise<Target> {
    const env = this.#deps.env ?? process.env;
    const absolute = /^https?:\/\//i.test(collection);
    const user = absolute ? undefined : collection;
    let credentials: Credentials;
    try {
      credentials = credentialsFor(this.#config.credentials, user, env);
    } catch (err) {
      throw new Rejected(`CardDAV: ${(err as Error).message}`);
    }
    let url: URL;
    if (absolute) url = new URL(collection);
    else if (this.#config.addressBook !== undefined) url = new URL(this.#config.addressBook.replaceAll('{user}', encodeURIComponent(collection)), this.#config.url);
    else if (!this.#config.credentials.username.includes('{user}')) {
      // Discovery asks who is logged in: for a service account that is its own principal, the same book for every user.
      throw new Rejected(`CardDAV: the user name ${JSON.stringify(this.#config.credentials.username)} is one account for every address book, so set addressBook (a URL template with {user}); discovery would find that account's own address book for every user`);
    } else url = await this.#discover(collection, credentials);
    if (!url.pathname.endsWith('/')) url = new URL(`${url.pathname}/${url.search}`, url);
    return { key: url.href, url: this.#moved.get(url.href) ?? url, credentials };
  }

  #discover(user: string, credentials: Credentials): Promise<URL> {
    let p = this.#discovered.get(user);
    if (!p) {
      p = discoverAddressBook((method, url, headers, body, what) => this.#send({ url, credentials }, method, url, headers, body, what), new URL(this.#config.url));
      // A failed discovery is tried again next time.
      p.catch(() => this.#discovered.delete(user));
      this.#discovered.set(user, p);
    }
    return p;
  }

  #book(key: string): Book {
    let b = this.#books.get(key);
    if (!b) {
      b = new Book();
      this.#books.set(key, b);
    }
    return b;
  }

  /** Cards with a uri, in href order; cards without one are reported once. */
  #usable(t: Target, book: Book): Card[] {
    return [...book.byHref.values()].filter((c) => this.#hasUri(t, c));
  }

  #hasUri(t: Target, card: Card): boolean {
    if (card.fields.uri !== undefined) return true;
    this.#skip(t, card.href, card.etag, `no ${this.#config.mapping.uri.join(', ')} to make the entry uri from`);
    return false;
  }

  /** A getetag listing; cards whose ETag moved are fetched; the book then holds exactly the listed cards. */
  async #refresh(t: Target): Promise<Book> {
    const book = this.#book(t.key);
    const ms = await this.#propfind(t, t.url, '1', [[DAV, 'getetag'], [DAV, 'resourcetype']], 'listing');
    const listed = new Map<string, string>();
    for (const r of ms.responses) {
      if (samePath(r.href, ms.url.pathname) || propHas(r, DAV, 'resourcetype', DAV, 'collection')) continue;
      const etag = prop(r, DAV, 'getetag');
      if (etag !== undefined) listed.set(r.href, stripWeak(etag));
    }
    if (!ms.responses.some((r) => samePath(r.href, ms.url.pathname))) {
      throw new NotFound(`CardDAV listing: ${t.url.pathname} did not answer for itself`);
    }
    for (const href of [...book.byHref.keys(), ...book.unreadable.keys()]) if (!listed.has(href)) book.drop(href);
    await this.#fetch(t, book, listed);
    book.complete = true;
    return book;
  }

  /** Multigets the cards whose ETag differs from what the book holds; returns the cards read. */
  async #fetch(t: Target, book: Book, etags: ReadonlyMap<string, string>): Promise<Card[]> {
    const stale = [...etags].filter(([href, etag]) => book.byHref.get(href)?.etag !== etag && book.unreadable.get(href) !== etag).map(([href]) => href);
    const read: Card[] = [];
    for (let i = 0; i < stale.length; i += this.#config.multigetBatch) {
      const hrefs = stale.slice(i, i + this.#config.multigetBatch);
      const answer = await this.#send(t, 'REPORT', t.url, { Depth: '1', 'Content-Type': 'application/xml; charset=utf-8' }, multigetBody(hrefs), 'addressbook-multiget');
      const ms = multistatusOf(answer, 'addressbook-multiget');
      for (const r of ms.responses) {
        const etag = prop(r, DAV, 'getetag');
        const text = prop(r, CARDDAV, 'address-data');
        if (etag === undefined || text === undefined) continue;
        const card = this.#ingest(t, book, r.href, stripWeak(etag), text);
        if (card) read.push(card);
      }
    }
    return read;
  }

  /** Puts one card into the book; an unreadable one is recorded and reported; a second card with a known UID stops the address book. */
  #ingest(t: Target, book: Book, href: string, etag: string, text: string): Card | undefined {
    const parsed = this.#codec.parse(text);
    if ('skip' in parsed) {
      book.unreadable.set(href, etag);
      this.#skip(t, href, etag, parsed.skip);
      return undefined;
    }
    const other = book.byUid.get(parsed.uid);
    if (other && other.href !== href) {
      throw new Rejected(`CardDAV: two cards in ${t.url.pathname} have UID ${JSON.stringify(parsed.uid)}: ${other.href} and ${href}; remove or change one of them`);
    }
    const card: Card = this.#card(href, etag, parsed.uid, text, parsed.card);
    book.put(card);
    return card;
  }

  #card(href: string, etag: string, uid: string, text: string, parsed: Parameters<CardCodec['fields']>[0]): Card {
    const modified = this.#codec.modified(parsed);
    return { href, etag, uid, text, fields: this.#codec.fields(parsed), ...(modified === undefined ? {} : { modified }) };
  }

  #skip(t: Target, href: string, etag: string, reason: string): void {
    const key = `${href}\n${etag}`;
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    this.#deps.logger?.warn({ collection: t.url.pathname, href, reason }, `CardDAV card skipped: ${href}: ${reason}`);
  }

  /**
   * sync-collection from `token`, following 507 truncation; `expired` when the server
   * refuses the token; `unsupported` when it does not know the report (501, or a
   * supported-report error: RFC 3253 §3.6).
   */
  async #syncReport(t: Target, token: string | undefined): Promise<{ token: string; changed: Map<string, string>; deleted: Set<string> } | 'expired' | 'unsupported'> {
    const changed = new Map<string, string>();
    const deleted = new Set<string>();
    let current = token;
    for (let round = 0; round < MAX_SYNC_ROUNDS; round++) {
      const answer = await this.#send(t, 'REPORT', t.url, { Depth: '0', 'Content-Type': 'application/xml; charset=utf-8' }, syncCollectionBody(current), 'sync-collection');
      if ((answer.status === 403 || answer.status === 409 || answer.status === 400) && current !== undefined && errorNames(answer.body, DAV, 'valid-sync-token')) return 'expired';
      if (round === 0 && (answer.status === 501 || ((answer.status === 403 || answer.status === 405 || answer.status === 400) && errorNames(answer.body, DAV, 'supported-report')))) return 'unsupported';
      const ms = multistatusOf(answer, 'sync-collection');
      let truncated = false;
      for (const r of ms.responses) {
        if (samePath(r.href, ms.url.pathname)) {
          truncated ||= r.status === 507;
          continue;
        }
        if (r.href.endsWith('/')) continue;
        const etag = prop(r, DAV, 'getetag');
        if (r.status === 404 || etag === undefined) {
          changed.delete(r.href);
          deleted.add(r.href);
        } else {
          deleted.delete(r.href);
          changed.set(r.href, stripWeak(etag));
        }
      }
      if (ms.syncToken === undefined) throw new Rejected(`CardDAV sync-collection on ${t.url.pathname}: the answer has no sync-token`);
      if (!truncated) return { token: ms.syncToken, changed, deleted };
      current = ms.syncToken;
    }
    throw davError(`sync-collection on ${t.url.pathname}`, new Error(`still truncated after ${MAX_SYNC_ROUNDS} rounds`));
  }

  async #propfind(t: Target, url: URL, depth: '0' | '1', props: readonly (readonly [string, string])[], what: string): Promise<Multistatus> {
    const answer = await this.#send(t, 'PROPFIND', url, { Depth: depth, 'Content-Type': 'application/xml; charset=utf-8' }, propfindBody(props), what);
    return multistatusOf(answer, what);
  }

  /** One request; a redirect of the address book itself moves it for this and later requests (hrefs are paths on the new host). */
  async #send(t: Pick<Target, 'url' | 'credentials'> & { key?: string }, method: string, url: URL, headers: Record<string, string>, body: string | undefined, what: string): Promise<DavAnswer> {
    const answer = await this.#http.request({ method, url, headers, ...(body === undefined ? {} : { body }), credentials: t.credentials, what });
    if (t.key !== undefined && url.href === t.url.href && answer.url.href !== url.href) {
      t.url = answer.url;
      this.#moved.set(t.key, answer.url);
    }
    return answer;
  }

  async #put(t: Target, href: string, text: string, condition: Record<string, string>, what: string): Promise<DavAnswer> {
    const answer = await this.#send(t, 'PUT', new URL(href, t.url), { 'Content-Type': 'text/vcard; charset=utf-8', ...condition }, text, what);
    if (answer.status === 412) throw what === 'create' ? new VersionMismatch(`CardDAV create: ${href} exists already`) : await this.#mismatchOrGone(t, href, what);
    if (answer.status < 200 || answer.status >= 300) throw davError(`${what} ${href}`, answer);
    return answer;
  }

  /** After a 412: NotFound when the card is gone, else VersionMismatch. */
  async #mismatchOrGone(t: Target, href: string, what: string): Promise<Error> {
    try {
      await this.#get(t, href);
    } catch (err) {
      if (err instanceof NotFound) return new NotFound(`CardDAV ${what}: ${href} is gone`);
      throw err;
    }
    return new VersionMismatch(`CardDAV ${what}: ${href} changed since it was read`);
  }

  /** Records what a successful PUT stored; the version is its ETag, or one that matches nothing when the server gave none. */
  #stored(book: Book, href: string, uid: string, text: string, answer: DavAnswer): ItemRef {
    const etag = answer.headers.get('etag');
    if (etag === null) {
      book.drop(href);
      return { id: uid, version: `${UNKNOWN_VERSION}${randomUUID()}` };
    }
    const parsed = this.#codec.parse(text);
    const version = stripWeak(etag);
    if (!('skip' in parsed)) book.put(this.#card(href, version, uid, text, parsed.card));
    return { id: uid, version };
  }

  /** The card with this UID: from the book, else after a fresh listing; NotFound when there is none. */
  async #find(t: Target, uid: string): Promise<Card> {
    const known = this.#book(t.key).byUid.get(uid);
    if (known) return known;
    const book = await this.#refresh(t);
    const card = book.byUid.get(uid);
    if (!card) throw new NotFound(`CardDAV: no card with UID ${JSON.stringify(uid)} in ${t.url.pathname}`);
    return card;
  }

  /** GETs one card as the server has it now (Accept-Encoding: identity keeps its ETag strong). */
  async #get(t: Target, href: string): Promise<Pick<Card, 'etag' | 'text'>> {
    const answer = await this.#send(t, 'GET', new URL(href, t.url), { Accept: 'text/vcard' }, undefined, 'get');
    if (answer.status !== 200) throw davError(`get ${href}`, answer);
    const etag = answer.headers.get('etag');
    return { etag: etag === null ? '' : stripWeak(etag), text: answer.body };
  }
}

/** A digest of what a getetag listing showed (cards and unreadable ones, by href and ETag). */
function listingDigest(book: Book): string {
  const lines = [...[...book.byHref.values()].map((c) => `${c.href} ${c.etag}`), ...[...book.unreadable].map(([href, etag]) => `${href} ${etag}`)].sort();
  return createHash('sha256').update(lines.join('\n')).digest('base64url');
}

function item(card: Card): RemoteItem {
  return { id: card.uid, version: card.etag, fields: card.fields, ...(card.modified === undefined ? {} : { modified: card.modified }) };
}

/** A weak ETag (`W/"x"`, what a compressing proxy makes of a strong one) compared as the strong one. */
function stripWeak(etag: string): string {
  return etag.trim().replace(/^W\//, '');
}

function samePath(a: string, b: string): boolean {
  const norm = (p: string) => {
    let d: string;
    try {
      d = decodeURIComponent(p);
    } catch {
      d = p;
    }
    return d.endsWith('/') ? d : `${d}/`;
  };
  return norm(a) === norm(b);
}

interface TokenData {
  /** The address book's URL. */
  readonly u: string;
  /** The server's sync-token (sync-collection mode). */
  readonly s?: string;
  /** The getctag seen (ctag mode). */
  readonly c?: string;
}

function encodeToken(t: TokenData): string {
  return `cd1.${Buffer.from(JSON.stringify(t), 'utf8').toString('base64url')}`;
}

function decodeToken(token: string): TokenData | undefined {
  if (!token.startsWith('cd1.')) return undefined;
  try {
    const t = JSON.parse(Buffer.from(token.slice(4), 'base64url').toString('utf8')) as TokenData;
    return typeof t.u === 'string' ? t : undefined;
  } catch {
    return undefined;
  }
}
