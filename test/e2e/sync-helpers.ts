/**
 * Shared pieces of the sync engine's end-to-end tests (issue 4 item 6): a gateway with one
 * `both` binding of each user's `friends` list to a memory connector collection
 * (`buddies-<user>`), an independent reader of resource-lists entries, XCAP paths, the
 * admin API, and polling with a deadline (the engine works asynchronously).
 */
import { randomUUID } from 'node:crypto';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { expect, inject } from 'vitest';
import type { MemoryConnector } from '../../connectors/memory/index.ts';
import type { ItemFields } from '../../connectors/types.ts';
import type { BindingInput } from '../../src/sync/binding.ts';
import { SyncState, type ConflictRecord, type ScopeState } from '../../src/sync/state.ts';
import { basicHeader, rawRequest, type ClientResponse } from '../helpers/digest-client.ts';
import { ADMIN, ALICE, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { enc, RL_NS } from '../http/helpers.ts';
import { feedCursor, pendingJobs as pendingJobsUnder, withQueue } from '../sync/helpers.ts';
import { redisSection } from '../helpers/redis-variants.ts';
import { Cluster } from 'ioredis';
import { createRedisConnection, queuePrefix, type RedisTarget } from '../../src/sync/redis-connection.ts';

export const BINDING = 'buddies';
export const FRIENDS = 'friends';
export const ALICE_INDEX = `/resource-lists/users/${ALICE.xui}/index`;
/** Alice's bound remote collection (`buddies-{user}`). */
export const ALICE_COLL = 'buddies-alice';
const FIELDS_NS = 'urn:xcap-bridge:params:xml:ns:fields';

/** An entry as both sides carry it: `uri`, `display-name`, `mail`. */
export type Item = ItemFields & { readonly uri: string };

export interface SyncGatewayOptions {
  /** Redis key prefix stem; a random suffix keeps runs apart. */
  readonly prefix: string;
  readonly policy?: BindingInput['policy'];
  readonly schedule?: BindingInput['schedule'];
  readonly safety?: BindingInput['safety'];
  /** Where the queue lives; the run's single Redis by default (see test/helpers/redis-variants.ts). */
  readonly redis?: RedisTarget;
}

/** The real gateway with the `buddies` binding (direction both, users scope, list `friends`, field `mail`). */
export async function startSyncGateway(opts: SyncGatewayOptions): Promise<TestGateway> {
  const binding: BindingInput = {
    name: BINDING,
    auid: 'resource-lists',
    target: { scope: 'users', document: 'index' },
    mapping: { kind: 'resource-lists', list: FRIENDS, fields: ['mail'] },
    connector: 'mem',
    collection: 'buddies-{user}',
    direction: 'both',
    ...(opts.policy ? { policy: opts.policy } : {}),
    ...(opts.schedule ? { schedule: opts.schedule } : {}),
    ...(opts.safety ? { safety: opts.safety } : {}),
  };
  const prefix = `${opts.prefix}-${randomUUID()}`;
  const target = opts.redis ?? { url: inject('services').redis };
  const t = await startTestGateway({
    config: {
      redis: redisSection(target, prefix),
      connectors: { mem: { kind: 'memory', collections: ['buddies-alice', 'buddies-bob'] } },
      bindings: [binding],
    },
  });
  queues.set(t, { prefix, target });
  return t;
}

/** Queue key prefix and Redis of each gateway started here. */
const queues = new WeakMap<TestGateway, { prefix: string; target: RedisTarget }>();

function queueOf(t: TestGateway): { prefix: string; target: RedisTarget } {
  const q = queues.get(t);
  if (!q) throw new Error('not a gateway of startSyncGateway');
  return q;
}

/** Jobs waiting, delayed or running in the gateway's sync queue. */
export function pendingJobs(t: TestGateway): Promise<number> {
  const { prefix, target } = queueOf(t);
  return pendingJobsUnder(prefix, target);
}

/**
 * Waits until the change feed has queued jobs for every XCAP change stored so far (its saved
 * cursor reached the store's last seq): from then on the queue holds every run they cause.
 */
export async function feedCaughtUp(t: TestGateway, timeoutMs = 20_000): Promise<void> {
  const last = await t.gateway.store.lastSeq();
  const state = await SyncState.open(t.gateway.store.sql);
  const cursor = await until(() => feedCursor(state), (c) => c >= last, timeoutMs);
  expect(cursor, 'the change feed caught up').toBeGreaterThanOrEqual(last);
}

/**
 * Waits until every run the XCAP changes so far cause has finished: the feed has queued them
 * all, then the queue has no waiting, delayed or active job (a job queued behind a running one
 * is added in the same Redis step that finishes it, so an empty count is never in between).
 */
export async function queueIdle(t: TestGateway, timeoutMs = 20_000): Promise<void> {
  await feedCaughtUp(t, timeoutMs);
  const left = await until(() => pendingJobs(t), (n) => n === 0, timeoutMs);
  expect(left, 'the sync queue went idle').toBe(0);
}

/** Every Redis key of the gateway's queue, on each master of a cluster, with the hash tag in use. */
export async function queueKeys(t: TestGateway): Promise<{ keys: string[]; prefix: string }> {
  const { prefix, target } = queueOf(t);
  const used = queuePrefix(prefix, target);
  const conn = createRedisConnection(target, { lazyConnect: true });
  try {
    await conn.connect();
    const nodes = conn instanceof Cluster ? conn.nodes('master') : [conn];
    const keys = (await Promise.all(nodes.map((n) => n.keys(`*${prefix}*`)))).flat();
    return { keys, prefix: used };
  } finally {
    conn.disconnect();
  }
}

/** Pauses the gateway's sync queue (no job starts, running ones finish); resolves with the resume. */
export async function pauseQueue(t: TestGateway): Promise<() => Promise<void>> {
  const { prefix, target } = queueOf(t);
  await withQueue(prefix, (queue) => queue.pause(), target);
  return () => withQueue(prefix, (queue) => queue.resume(), target);
}

/** The live memory connector the gateway's sync engine uses. */
export function memoryOf(t: TestGateway): MemoryConnector {
  const c = t.gateway.sync?.connectors.get('mem');
  if (!c) throw new Error('the gateway runs no sync engine with connector mem');
  return c as MemoryConnector;
}

/** Entries of the top-level list `name`, by uri, read with xmldom (not the engine's mapping); undefined when the list is missing. */
export function listOf(body: string, name: string): Map<string, Item> | undefined {
  const root = new DOMParser().parseFromString(body, 'text/xml').documentElement as Element;
  const list = kids(root, RL_NS, 'list').find((l) => l.getAttribute('name') === name);
  if (!list) return undefined;
  const out = new Map<string, Item>();
  for (const e of kids(list, RL_NS, 'entry')) {
    const uri = e.getAttribute('uri') ?? '';
    const item: Record<string, string> & { uri: string } = { uri };
    const dn = kids(e, RL_NS, 'display-name')[0]?.textContent;
    if (dn) item['display-name'] = dn;
    const mail = kids(e, FIELDS_NS, 'field').find((f) => f.getAttribute('name') === 'mail')?.textContent;
    if (mail) item.mail = mail;
    out.set(uri, item);
  }
  return out;
}

function kids(el: Element, ns: string, local: string): Element[] {
  return Array.from(el.childNodes).filter((n): n is Element => n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === local);
}

/** `<entry>` markup of an item (the `mail` field as `<xbf:field>`); `xmlns` adds the namespace declarations an element PUT body needs. */
export function entryXml(item: Item, xmlns = false): string {
  const ns = xmlns ? ` xmlns="${RL_NS}" xmlns:xbf="${FIELDS_NS}"` : '';
  const dn = item['display-name'] === undefined ? '' : `<display-name>${item['display-name']}</display-name>`;
  const mail = item.mail === undefined ? '' : `<xbf:field name="mail">${item.mail}</xbf:field>`;
  return `<entry${ns} uri="${item.uri}">${dn}${mail}</entry>`;
}

/** A whole resource-lists document with the given lists, in order. */
export function rlDoc(lists: Record<string, readonly Item[]>): string {
  const body = Object.entries(lists)
    .map(([name, items]) => `<list name="${name}">${items.map((i) => entryXml(i)).join('')}</list>`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="${RL_NS}" xmlns:xbf="${FIELDS_NS}">${body}</resource-lists>`;
}

/** Path of one entry of `list` in `doc` by its uri (element selector). */
export function entryPath(doc: string, list: string, uri: string): string {
  return `${doc}/~~/${enc(`resource-lists/list[@name="${list}"]/entry[@uri="${uri}"]`)}`;
}

/** Remote content by uri (ids dropped). */
export function remoteByUri(mem: MemoryConnector, collection: string): Map<string, Item> {
  return new Map([...mem.snapshot(collection).values()].map((f) => [f.uri ?? '', { ...f, uri: f.uri ?? '' }] as const));
}

/** Remote id of the item with `uri`. */
export function remoteIdOf(mem: MemoryConnector, collection: string, uri: string): string {
  const hit = [...mem.snapshot(collection)].find(([, f]) => f.uri === uri);
  if (!hit) throw new Error(`no remote item ${uri} in ${collection}`);
  return hit[0];
}

/** Reads until `ok` holds or the deadline passes; returns the last value (the caller asserts on it). */
export async function until<T>(read: () => Promise<T> | T, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The scope's sync state row. */
export async function scopeState(t: TestGateway, scope = ALICE.xui): Promise<ScopeState | undefined> {
  return (await SyncState.open(t.gateway.store.sql)).getScope(BINDING, scope);
}

/** Waits for a run of the scope that started at or after `since` to have finished (its outcome recorded); returns the state row. */
export async function runFinished(t: TestGateway, since: number, scope = ALICE.xui, timeoutMs = 20_000): Promise<ScopeState | undefined> {
  const s = await until(() => scopeState(t, scope), (v) => (v?.lastRunAt ?? 0) >= since, timeoutMs);
  expect(s?.lastRunAt ?? 0, 'a sync run finished').toBeGreaterThanOrEqual(since);
  return s;
}

/** Queues a run of the scope and waits for it to finish. */
export async function syncNow(t: TestGateway, scope = ALICE.xui): Promise<ScopeState | undefined> {
  const since = Date.now();
  await t.gateway.sync?.enqueue(BINDING, scope);
  return runFinished(t, since, scope);
}

/** GET that must succeed; returns body and ETag. */
export async function getDoc(t: TestGateway, path = ALICE_INDEX): Promise<{ body: string; etag: string }> {
  const res = await t.client().get(path);
  expect(res.status, res.body).toBe(200);
  const etag = res.headers.get('etag');
  expect(etag).toBeTruthy();
  return { body: res.body, etag: etag as string };
}

export function etagOf(res: ClientResponse): string {
  const etag = res.headers.get('etag');
  expect(etag, `${res.status} ${res.body}`).toBeTruthy();
  return etag as string;
}

export type AdminScope = ScopeState & { openConflicts: number };

/** The admin API with Basic admin credentials. */
export function adminApi(t: TestGateway) {
  const auth = { Authorization: basicHeader({ username: 'admin', password: ADMIN.password }) };
  const get = async <T>(path: string): Promise<T> => {
    const res = await rawRequest('GET', `${t.origin}${path}`, auth);
    expect(res.status, res.body).toBe(200);
    return JSON.parse(res.body) as T;
  };
  return {
    async status(scope = ALICE.xui): Promise<AdminScope | undefined> {
      const body = await get<{ scopes: AdminScope[] }>('/admin/sync/status');
      return body.scopes.find((s) => s.binding === BINDING && s.scope === scope);
    },
    async conflicts(): Promise<ConflictRecord[]> {
      return (await get<{ conflicts: ConflictRecord[] }>(`/admin/sync/conflicts?binding=${BINDING}`)).conflicts;
    },
    resolve(scope: string, item: string, take: 'xcap' | 'remote'): Promise<ClientResponse> {
      return rawRequest('POST', `${t.origin}/admin/sync/resolve`, { ...auth, 'Content-Type': 'application/json' }, JSON.stringify({ binding: BINDING, scope, item, take }));
    },
  };
}
