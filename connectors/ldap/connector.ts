/**
 * The LDAP connector (ldapts): a directory subtree seen as a collection of contacts.
 *
 * - COLLECTION: the search base DN; `''` means the configured `baseDn`. Entries below it
 *   (scope `one` or `sub`) matching the configured filter are the items.
 * - ID: entryUUID, or AD's objectGUID in its usual string form (see item-id.ts).
 * - VERSION: the entry's entryCSN (configurable); `mt:<modifyTimestamp>` for entries
 *   without it. Write-back asserts on the same attribute (RFC 4528), so `conditionalWrite`.
 * - Write-back changes only the attributes the owned fields map, and within them only the
 *   values the fields show (mapping.ts `edit`); everything else in the entry stays.
 * - Entries whose uri cannot be built are skipped by list, read and changes alike; they
 *   are counted (`skippedEntries`) and logged once per entry DN.
 * - changes(): see change-token.ts for how the token works. Concurrent calls asking the
 *   same question (same collection, marker and token: every user's copy of one directory
 *   at one tick) share one read, and one delete scan per collection serves them all.
 *
 * Connections come from a small pool (pool.ts): each request, and each paged search until
 * its last page, has one of its own, opened and bound on first use; when the server
 * closes one, its next use reconnects (and a read retries once on a reused connection
 * that turns out dead).
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import {
  AndFilter, Attribute, Change, Client, FilterParser, GreaterThanEqualsFilter, EqualityFilter, NotFilter, OrFilter,
  type ClientOptions, type Entry, type Filter, type SearchOptions,
} from 'ldapts';
import type { Logger } from 'pino';
import type { ChangeSet, Connector, ConnectorCapabilities, ItemRef, ItemWrite, RemoteItem } from '../types.ts';
import { NotFound, Rejected, VersionMismatch } from '../errors.ts';
import { AssertionControl } from './assertion-control.ts';
import { decodeToken, encodeToken, Watermark, type ChangeToken } from './change-token.ts';
import { ldapCapabilities, readBindPassword, type LdapConnectorConfig } from './config.ts';
import { childDn, escapeDnValue, normalizeDn, parseRdn } from './dn.ts';
import { translateLdapError } from './errors.ts';
import { idFilter, idOf } from './item-id.ts';
import { KnownIds } from './known-ids.ts';
import { EntryMapper, type EntryValues } from './mapping.ts';
import { ClientPool, type Lease } from './pool.ts';

export interface LdapConnectorDeps {
  /** Warnings (skipped entries) go here; credentials are never passed to it. */
  readonly logger?: Logger;
  /** Where `bindPasswordEnv` is looked up. @defaultValue `process.env` */
  readonly env?: NodeJS.ProcessEnv;
  /** Makes the ldapts client; tests pass one that counts requests. @defaultValue `new Client(options)` */
  readonly createClient?: (options: ClientOptions) => Client;
  /** Clock for the delete-scan interval, ms since epoch. @defaultValue `Date.now` */
  readonly now?: () => number;
}

/** Ids per search when reading given items (one OR filter each). */
const IDS_PER_SEARCH = 200;
const MODIFY_TIMESTAMP = 'modifyTimestamp';
const FALLBACK_VERSION = 'mt:';

export class LdapConnector implements Connector {
  readonly kind = 'ldap';
  readonly capabilities: ConnectorCapabilities;
  readonly #config: LdapConnectorConfig;
  readonly #deps: LdapConnectorDeps;
  readonly #pool: ClientPool;
  readonly #filter: Filter;
  readonly #mapper: EntryMapper;
  readonly #readAttributes: string[];
  readonly #listAttributes: string[];
  /** Naming context holding contextCSN, per collection DN. */
  readonly #suffixes = new Map<string, string>();
  /** Ids handed out and deletes found, per collection (see known-ids.ts). */
  readonly #known = new Map<string, KnownIds>();
  /** Reads and delete scans under way, by what they answer (see `#once`). */
  readonly #inFlight = new Map<string, Promise<unknown>>();
  readonly #skipped = new Set<string>();
  #newlySkipped: { dn: string; reason: string }[] = [];

  constructor(config: LdapConnectorConfig, deps: LdapConnectorDeps = {}) {
    this.#config = config;
    this.#deps = deps;
    this.capabilities = ldapCapabilities(config);
    this.#filter = FilterParser.parseString(config.filter);
    this.#mapper = new EntryMapper(config.mapping);
    const base = [config.idAttribute, config.versionAttribute, MODIFY_TIMESTAMP, config.deltaAttribute];
    this.#readAttributes = [...new Set([...base, ...this.#mapper.readAttributes])];
    this.#listAttributes = [...new Set([...base, ...this.#mapper.uriAttributes])];
    const secure = config.url.startsWith('ldaps:');
    const options: ClientOptions = { url: config.url, timeout: config.timeoutMs, connectTimeout: config.connectTimeoutMs };
    if (secure) options.tlsOptions = this.#tlsOptions();
    const create = deps.createClient ?? ((o: ClientOptions) => new Client(o));
    this.#pool = new ClientPool({ size: config.connections, create: () => create(options), open: (c) => this.#connect(c), ready: (c) => this.#ready(c) });
  }

  /** Entries skipped so far because their uri could not be built (distinct DNs). */
  get skippedEntries(): number {
    return this.#skipped.size;
  }

  // ---- Reading ---------------------------------------------------------------------

  async *list(collection: string): AsyncIterable<ItemRef> {
    const base = this.#base(collection);
    for await (const entry of this.#search('list', base, this.#filter, this.#listAttributes)) {
      const ref = this.#ref(entry);
      const values = this.#values(entry);
      if (ref && this.#mapper.uri(values) !== undefined) yield ref;
      else this.#skip(entry.dn, ref ? this.#mapper.unfilled(values) : this.#unidentified());
    }
    this.#reportSkips(base);
  }

  async *read(collection: string, ids?: readonly string[]): AsyncIterable<RemoteItem> {
    const base = this.#base(collection);
    if (ids === undefined) {
      for await (const entry of this.#search('read', base, this.#filter, this.#readAttributes)) {
        const item = this.#item(entry);
        if (item) yield item;
      }
    } else {
      for (let i = 0; i < ids.length; i += IDS_PER_SEARCH) {
        const filters = ids.slice(i, i + IDS_PER_SEARCH).flatMap((id) => idFilter(this.#config.idAttribute, id) ?? []);
        if (filters.length === 0) continue;
        const filter = new AndFilter({ filters: [this.#filter, new OrFilter({ filters })] });
        for await (const entry of this.#search('read', base, filter, this.#readAttributes)) {
          const item = this.#item(entry);
          if (item) yield item;
        }
      }
    }
    this.#reportSkips(base);
  }

  async changes(collection: string, token?: string): Promise<ChangeSet | 'token-expired'> {
    const base = this.#base(collection);
    const key = normalizeDn(base);
    const t = token === undefined ? undefined : decodeToken(token);
    if (token !== undefined && (!t || t.collection !== key)) return 'token-expired';
    // Marker first: whatever changes during the reads below moves it, so the next run looks again.
    const marker = await this.#marker(base);
    // Every user's copy of one directory asks the same question at the same tick: one read answers them all.
    return this.#once(`changes\n${key}\n${marker}\n${token ?? ''}`, () =>
      t === undefined ? this.#fullRead(base, key, marker) : this.#changesSince(base, key, marker, t, token as string),
    );
  }

  /** Every item, and a token naming this process's memory of the collection's ids. */
  async #fullRead(base: string, key: string, marker: string): Promise<ChangeSet> {
    let known = this.#known.get(key);
    if (!known) {
      // The first full read is the first listing.
      known = new KnownIds(this.#now());
      this.#known.set(key, known);
    }
    // Deletes found from here on may concern items this read returns: the caller gets them next time.
    const scan = known.seq;
    const mark = new Watermark();
    const upserted: RemoteItem[] = [];
    for await (const entry of this.#search('read', base, this.#filter, this.#readAttributes)) {
      const item = this.#item(entry);
      if (!item) continue;
      mark.see(this.#deltaOf(entry), item.id, item.version);
      upserted.push(item);
    }
    known.see(upserted.map((i) => i.id));
    this.#reportSkips(base);
    return { token: encodeToken({ collection: key, marker, since: mark.since, edge: mark.edge, instance: known.instance, scan, listedAt: known.listedAt }), upserted, deleted: [] };
  }

  async #changesSince(base: string, key: string, marker: string, t: ChangeToken, token: string): Promise<ChangeSet | 'token-expired'> {
    const now = this.#now();
    const due = (listedAt: number) => now - listedAt >= this.#config.deleteScanIntervalMs;
    const known = this.#known.get(key);
    if (known?.instance !== t.instance) {
      // Not this memory's token: the deletes it has not seen are unknown here. Served
      // without them until a listing is due; then the listing goes back whole (`present`)
      // for the caller to compare with the ids it holds.
      if (!due(t.listedAt)) {
        if (marker === t.marker) return { token, upserted: [], deleted: [] };
        const { upserted, mark } = await this.#upsertsSince(base, t);
        return { token: encodeToken({ ...t, marker, since: mark.since, edge: mark.edge }), upserted, deleted: [] };
      }
      let memory = known;
      if (!memory) this.#known.set(key, (memory = new KnownIds(now)));
      // Listing first: an entry created after it is among the upserts, so it is not taken for deleted.
      const present = await this.#scan(base, key, memory, now);
      const { upserted, mark } = marker === t.marker ? { upserted: [], mark: undefined } : await this.#upsertsSince(base, t);
      memory.see(upserted.map((i) => i.id));
      return {
        token: encodeToken({ collection: key, marker, since: mark?.since ?? t.since, edge: mark?.edge ?? t.edge, instance: memory.instance, scan: memory.seq, listedAt: memory.listedAt }),
        upserted,
        deleted: [],
        present: [...present],
      };
    }

    // The listing runs on its own clock, whether or not the marker moved: a delete need not move it.
    if (due(known.listedAt)) await this.#scan(base, key, known, now);
    const { upserted, mark } = marker === t.marker ? { upserted: [], mark: undefined } : await this.#upsertsSince(base, t);
    known.see(upserted.map((i) => i.id));
    const deleted = known.since(t.scan);
    if (deleted === undefined) return 'token-expired';
    if (deleted.length === 0 && upserted.length === 0 && marker === t.marker && known.listedAt === t.listedAt) return { token, upserted: [], deleted: [] };
    const gone = new Set(deleted);
    return {
      token: encodeToken({ collection: key, marker, since: mark?.since ?? t.since, edge: mark?.edge ?? t.edge, instance: known.instance, scan: known.seq, listedAt: known.listedAt }),
      upserted: gone.size === 0 ? upserted : upserted.filter((i) => !gone.has(i.id)),
      deleted,
    };
  }

  /** Entries changed after the token's watermark. */
  async #upsertsSince(base: string, t: ChangeToken): Promise<{ upserted: RemoteItem[]; mark: Watermark }> {
    const filter = t.since === '' ? this.#filter : new AndFilter({ filters: [this.#filter, this.#after(t.since)] });
    const upserted: RemoteItem[] = [];
    const mark = new Watermark(t.since, t.edge);
    for await (const entry of this.#search('changes', base, filter, this.#readAttributes)) {
      const item = this.#item(entry);
      if (!item) continue;
      const ts = this.#deltaOf(entry);
      if (mark.reported(ts, item.id, item.version)) continue;
      mark.see(ts, item.id, item.version);
      upserted.push(item);
    }
    this.#reportSkips(base);
    return { upserted, mark };
  }

  /**
   * The delete scan: an id-only listing; known ids it lacks are searched for once more
   * (an entry created or handed out while the listing ran is found there), and those
   * still missing go into the delete journal. One scan at a time per collection. Resolves
   * with the ids listed.
   */
  #scan(base: string, key: string, known: KnownIds, now: number): Promise<ReadonlySet<string>> {
    return this.#once(`scan\n${key}`, async () => {
      const listed = new Set<string>();
      for await (const ref of this.list(base)) listed.add(ref.id);
      const missing = known.missingFrom(listed);
      const found = new Set<string>();
      if (missing.length > 0) for await (const item of this.read(base, missing)) found.add(item.id);
      known.see(listed);
      known.deleted(missing.filter((id) => !found.has(id)));
      known.listedAt = now;
      return listed;
    });
  }

  /** The promise of whoever is already computing `key`, or a new one: concurrent askers share one answer. */
  #once<T>(key: string, make: () => Promise<T>): Promise<T> {
    const running = this.#inFlight.get(key);
    if (running) return running as Promise<T>;
    const p = make().finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, p);
    return p;
  }

  #now(): number {
    return (this.#deps.now ?? Date.now)();
  }

  // ---- Writing ---------------------------------------------------------------------

  async write(collection: string, item: ItemWrite, expect: 'absent' | { readonly version: string }): Promise<ItemRef> {
    const w = this.#writeConfig();
    const mapped = <T>(make: () => T): T => {
      try {
        return make();
      } catch (err) {
        throw new Rejected(`LDAP write: ${(err as Error).message}`);
      }
    };
    if (expect === 'absent') {
      // The server assigns entryUUID; a client-chosen id cannot be honoured.
      const attrs = mapped(() => this.#mapper.newEntry(item.fields));
      const name = Object.entries(attrs).find(([a]) => a.toLowerCase() === w.rdnAttribute.toLowerCase())?.[1][0];
      if (name === undefined) throw new Rejected(`LDAP write: the item gives no value for the naming attribute ${w.rdnAttribute}`);
      const dn = childDn(w.rdnAttribute, name, w.containerDn ?? this.#base(collection));
      await this.#run('add', (c) => c.add(dn, { objectClass: w.objectClasses, ...attrs }), false);
      return this.#refAt(dn);
    }

    if (item.id === undefined) throw new Rejected('LDAP write: replacing an item needs its id');
    const current = await this.#find(this.#base(collection), item.id, this.#readAttributes);
    if (current.version !== expect.version) throw new VersionMismatch(`LDAP write: ${item.id} is at another version than expected`);
    const edit = mapped(() => this.#mapper.edit(current.values, item.fields, item.owned ?? Object.keys(item.fields)));
    if (Object.keys(edit).length === 0) return { id: item.id, version: current.version };
    const rdn = parseRdn(current.dn);
    const naming = rdn ? Object.keys(edit).find((a) => a.toLowerCase() === rdn.attribute.toLowerCase()) : undefined;
    // The naming value must stay in the entry until the rename below replaces it.
    const renameTo = rdn && naming !== undefined && !edit[naming]?.includes(rdn.value) ? edit[naming]?.[0] : undefined;
    const changes = Object.entries(edit).map(([type, values]) => {
      const keep = type === naming && renameTo !== undefined && rdn ? [...values, rdn.value] : values;
      return new Change({ operation: 'replace', modification: new Attribute({ type, values: keep }) });
    });
    const assertion = new AssertionControl(this.#versionFilter(expect.version));
    await this.#run('modify', (c) => c.modify(current.dn, changes, assertion), false);
    let dn = current.dn;
    if (rdn && renameTo !== undefined) {
      const newRdn = `${rdn.attribute}=${escapeDnValue(renameTo)}`;
      await this.#run('rename', (c) => c.modifyDN(current.dn, newRdn), false);
      dn = `${newRdn}${current.dn.slice(rdn.length)}`;
    }
    return this.#refAt(dn);
  }

  async remove(collection: string, id: string, expect: { readonly version: string }): Promise<void> {
    this.#writeConfig();
    const current = await this.#find(this.#base(collection), id);
    // Cheap early answer; the assertion below still closes the race window.
    if (current.version !== expect.version) throw new VersionMismatch(`LDAP delete: ${id} is at another version than expected`);
    const assertion = new AssertionControl(this.#versionFilter(expect.version));
    await this.#run('delete', (c) => c.del(current.dn, assertion), false);
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }

  // ---- Internals -------------------------------------------------------------------

  #base(collection: string): string {
    return collection === '' ? this.#config.baseDn : collection;
  }

  #writeConfig(): NonNullable<LdapConnectorConfig['write']> {
    const w = this.#config.write;
    if (!w?.enabled) throw new Rejected('LDAP write-back is not enabled for this connector (write.enabled)');
    return w;
  }

  #tlsOptions(): ConnectionOptions {
    const tls = this.#config.tls;
    const host = new URL(this.#config.url).hostname;
    return {
      host,
      servername: /^[\d.]+$|:/.test(host) ? undefined : host,
      rejectUnauthorized: tls?.rejectUnauthorized ?? true,
      ca: tls?.caFile === undefined ? undefined : readFileSync(tls.caFile),
    };
  }

  #ready(client: Client): boolean {
    return client.isConnected && (this.#config.bindDn === undefined || client.isBound);
  }

  /** Upgrades and binds a pooled client that is not ready. */
  async #connect(client: Client): Promise<void> {
    let password: string | undefined;
    try {
      password = readBindPassword(this.#config, this.#deps.env ?? process.env);
    } catch (err) {
      throw new Rejected(`LDAP bind: ${(err as Error).message}`);
    }
    if (this.#config.startTls && !client.isConnected) await client.startTLS(this.#tlsOptions());
    const dn = this.#config.bindDn;
    if (dn === undefined) return;
    try {
      await client.bind(dn, password);
    } catch (err) {
      throw translateLdapError(err, `bind as ${dn}`);
    }
  }

  /**
   * Runs one request on a pooled connection, translating errors. An idempotent request
   * that fails for a connection reason on a reused connection is tried once more (the
   * server may have closed it while idle; the next lease reconnects).
   */
  async #run<T>(what: string, fn: (client: Client) => Promise<T>, idempotent = true): Promise<T> {
    let stale = false;
    try {
      return await this.#pool.use(async (lease) => {
        try {
          return await fn(lease.client);
        } catch (err) {
          stale = lease.reused && idempotent && typeof (err as { code?: unknown }).code !== 'number';
          throw err;
        }
      });
    } catch (err) {
      const error = translateLdapError(err, what);
      if (!(stale && error.code === 'unavailable')) throw error;
    }
    try {
      return await this.#pool.use((lease) => fn(lease.client));
    } catch (err) {
      throw translateLdapError(err, what);
    }
  }

  /** Paged search (RFC 2696, `pageSize` a page), one entry at a time, on a connection of its own until the last page. */
  async *#search(what: string, base: string, filter: Filter, attributes: string[]): AsyncGenerator<Entry> {
    const options: SearchOptions = {
      scope: this.#config.scope,
      filter,
      attributes,
      paged: { pageSize: this.#config.pageSize },
      explicitBufferAttributes: this.#config.idAttribute === 'objectGUID' ? ['objectGUID'] : [],
    };
    let lease: Lease;
    try {
      lease = await this.#pool.lease();
    } catch (err) {
      throw translateLdapError(err, what);
    }
    try {
      const pages = lease.client.searchPaginated(base, options);
      for (;;) {
        let page: IteratorResult<{ searchEntries: Entry[] }>;
        try {
          page = await pages.next();
        } catch (err) {
          throw translateLdapError(err, what);
        }
        if (page.done) return;
        yield* page.value.searchEntries;
      }
    } finally {
      lease.release();
    }
  }

  /** Reads the directory's change marker: one base-scope search (plus, once, the root DSE). */
  async #marker(base: string): Promise<string> {
    if (this.#config.changeMarker === 'highestCommittedUSN') {
      return this.#readMarker('', 'highestCommittedUSN');
    }
    const suffix = this.#config.suffixDn ?? (await this.#suffixOf(base));
    return this.#readMarker(suffix, 'contextCSN');
  }

  async #readMarker(dn: string, attribute: string): Promise<string> {
    const { searchEntries } = await this.#run('change marker', (c) => c.search(dn, { scope: 'base', attributes: [attribute] }));
    const values = searchEntries[0] ? this.#values(searchEntries[0]).get(attribute.toLowerCase()) : undefined;
    if (!values || values.length === 0) throw new Rejected(`LDAP: ${attribute} missing on "${dn}" (is the syncprov overlay on?)`);
    return [...values].sort().join(';');
  }

  async #suffixOf(base: string): Promise<string> {
    const key = normalizeDn(base);
    const cached = this.#suffixes.get(key);
    if (cached !== undefined) return cached;
    const { searchEntries } = await this.#run('root DSE', (c) => c.search('', { scope: 'base', attributes: ['namingContexts'] }));
    const contexts = searchEntries[0] ? (this.#values(searchEntries[0]).get('namingcontexts') ?? []) : [];
    const suffix = contexts
      .filter((nc) => key === normalizeDn(nc) || key.endsWith(`,${normalizeDn(nc)}`))
      .sort((a, b) => b.length - a.length)[0];
    if (suffix === undefined) throw new NotFound(`LDAP: no naming context of the server contains "${base}"`);
    this.#suffixes.set(key, suffix);
    return suffix;
  }

  /** The entry with this id in the collection (DN, version and the `attributes` asked for), else NotFound. */
  async #find(base: string, id: string, attributes: readonly string[] = []): Promise<{ dn: string; version: string; values: EntryValues }> {
    const byId = idFilter(this.#config.idAttribute, id);
    if (byId) {
      const filter = new AndFilter({ filters: [this.#filter, byId] });
      const wanted = [...new Set([this.#config.versionAttribute, MODIFY_TIMESTAMP, ...attributes])];
      const { searchEntries } = await this.#run('find', (c) => c.search(base, { scope: this.#config.scope, filter, attributes: wanted }));
      const entry = searchEntries[0];
      const version = entry ? this.#version(entry) : undefined;
      if (entry && version !== undefined) return { dn: entry.dn, version, values: this.#values(entry) };
    }
    throw new NotFound(`LDAP: no entry with ${this.#config.idAttribute} ${JSON.stringify(id)} in "${base}"`);
  }

  /** Id and version of the entry at `dn`, read right after a write. */
  async #refAt(dn: string): Promise<ItemRef> {
    const attributes = [this.#config.idAttribute, this.#config.versionAttribute, MODIFY_TIMESTAMP];
    const explicitBufferAttributes = this.#config.idAttribute === 'objectGUID' ? ['objectGUID'] : [];
    const { searchEntries } = await this.#run('read back', (c) => c.search(dn, { scope: 'base', attributes, explicitBufferAttributes }));
    const ref = searchEntries[0] ? this.#ref(searchEntries[0]) : undefined;
    if (!ref) throw new NotFound(`LDAP: entry "${dn}" vanished right after it was written`);
    return ref;
  }

  /** Entries changed after `since`: strictly after for entryCSN (unique per change), at or after for timestamps. */
  #after(since: string): Filter {
    const attribute = this.#config.deltaAttribute;
    const atOrAfter = new GreaterThanEqualsFilter({ attribute, value: since });
    if (attribute !== 'entryCSN') return atOrAfter;
    return new AndFilter({ filters: [atOrAfter, new NotFilter({ filter: new EqualityFilter({ attribute, value: since }) })] });
  }

  /** The entry's delta attribute value (CSN or GeneralizedTime, both compare as text), '' when absent. */
  #deltaOf(entry: Entry): string {
    return this.#raw(entry, this.#config.deltaAttribute)?.toString() ?? '';
  }

  #versionFilter(version: string): Filter {
    return version.startsWith(FALLBACK_VERSION)
      ? new EqualityFilter({ attribute: MODIFY_TIMESTAMP, value: version.slice(FALLBACK_VERSION.length) })
      : new EqualityFilter({ attribute: this.#config.versionAttribute, value: version });
  }

  #values(entry: Entry): EntryValues {
    const out = new Map<string, string[]>();
    for (const [name, raw] of Object.entries(entry)) {
      if (name === 'dn') continue;
      const list = Array.isArray(raw) ? raw : [raw];
      out.set(name.toLowerCase(), list.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v)));
    }
    return out;
  }

  #raw(entry: Entry, attribute: string): Buffer | string | undefined {
    const lower = attribute.toLowerCase();
    for (const [name, raw] of Object.entries(entry)) {
      if (name.toLowerCase() === lower) return Array.isArray(raw) ? raw[0] : raw;
    }
    return undefined;
  }

  #version(entry: Entry): string | undefined {
    const v = this.#raw(entry, this.#config.versionAttribute);
    if (v !== undefined) return v.toString();
    const mt = this.#raw(entry, MODIFY_TIMESTAMP);
    return mt === undefined ? undefined : `${FALLBACK_VERSION}${mt.toString()}`;
  }

  #ref(entry: Entry): ItemRef | undefined {
    const id = idOf(this.#config.idAttribute, this.#raw(entry, this.#config.idAttribute));
    const version = this.#version(entry);
    return id === undefined || version === undefined ? undefined : { id, version };
  }

  #item(entry: Entry): RemoteItem | undefined {
    const ref = this.#ref(entry);
    const values = this.#values(entry);
    const fields = ref ? this.#mapper.toFields(values) : undefined;
    if (ref && fields) return { ...ref, fields };
    this.#skip(entry.dn, ref ? this.#mapper.unfilled(values) : this.#unidentified());
    return undefined;
  }

  #unidentified(): string {
    return `no ${this.#config.idAttribute}, or neither ${this.#config.versionAttribute} nor ${MODIFY_TIMESTAMP}`;
  }

  #skip(dn: string, reason: string): void {
    if (this.#skipped.has(dn)) return;
    this.#skipped.add(dn);
    this.#newlySkipped.push({ dn, reason });
  }

  /** One warning per pass for entries not seen skipped before, naming what the first one lacks. */
  #reportSkips(base: string): void {
    const first = this.#newlySkipped[0];
    if (first === undefined) return;
    this.#deps.logger?.warn(
      { collection: base, skipped: this.#newlySkipped.length, totalSkipped: this.#skipped.size, example: first.dn, reason: first.reason },
      `LDAP entries skipped, e.g. ${first.dn}: ${first.reason}`,
    );
    this.#newlySkipped = [];
  }
}

