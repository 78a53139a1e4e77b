/** Shared set-up for sync tests: a document store (SQLite, or PostgreSQL for the state tables' other dialect), sync state, a memory remote and bindings. */
import { Queue } from 'bullmq';
import { inject } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { freshPostgresDatabase } from '../services/databases.ts';
import type { DocKey, DocumentStore } from '../../src/store/types.ts';
import { bindingSchema, compileBinding, type Binding, type BindingInput } from '../../src/sync/binding.ts';
import { resourceListsMapping } from '../../src/appusage/resource-lists/items.ts';
import { FEED_CURSOR, QUEUE_NAME } from '../../src/sync/queue.ts';
import { createRedisConnection, queuePrefix, type RedisTarget } from '../../src/sync/redis-connection.ts';
import { SyncState } from '../../src/sync/state.ts';
import { MemoryConnector } from '../../connectors/memory/index.ts';
import type { ItemFields } from '../../connectors/types.ts';

export interface SyncFixture {
  store: DocumentStore;
  state: SyncState;
  remote: MemoryConnector;
}

/** The stores the state tables are checked on (their SQL differs per dialect). */
export const STORES = ['sqlite', 'postgres'] as const;

export async function syncFixture(kind: (typeof STORES)[number] = 'sqlite'): Promise<SyncFixture> {
  const store =
    kind === 'postgres' ? await openPostgresStore(await freshPostgresDatabase(inject('services').postgres, 'sync')) : await openSqliteStore(':memory:');
  const state = await SyncState.open(store.sql);
  const remote = new MemoryConnector({ collections: ['people'] });
  return { store, state, remote };
}

/** The binding the runner cases use: the global `directory` list, field `mail`, collection `people`. */
export const BINDING_INPUT: BindingInput = {
  name: 'dir',
  auid: 'resource-lists',
  target: { scope: 'global', document: 'directory' },
  mapping: { kind: 'resource-lists', list: 'directory', fields: ['mail'] },
  connector: 'mem',
  collection: 'people',
};

export function binding(overrides: Partial<BindingInput> = {}): Binding {
  return compileBinding(bindingSchema.parse({ ...BINDING_INPUT, ...overrides }));
}

export const GLOBAL_DOC: DocKey = { auid: 'resource-lists', xui: null, path: 'directory' };

const lists = resourceListsMapping('directory', ['mail']);

/** Entries of the bound list, by uri. */
export async function xcapEntries(store: DocumentStore, key: DocKey = GLOBAL_DOC): Promise<Map<string, ItemFields>> {
  const d = await store.get(key);
  return d ? lists.read(lists.parse(d.body)) : new Map();
}

/** A resource-lists document with the directory list and, optionally, a user's own list. */
export function listsDoc(entries: ItemFields[], own: string[] = []): string {
  const e = entries.map((f) => `<entry uri="${f.uri}">${f['display-name'] ? `<display-name>${f['display-name']}</display-name>` : ''}</entry>`).join('');
  const o = own.map((u) => `<entry uri="${u}"/>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="friends">${o}</list><list name="directory">${e}</list></resource-lists>`;
}

export function person(i: number, name = `Person ${i}`): ItemFields {
  return { uri: `sip:p${i}@example.com`, 'display-name': name };
}

/** Remote content without ids, sorted by uri. */
export function remoteContent(remote: MemoryConnector, collection = 'people'): ItemFields[] {
  return [...remote.snapshot(collection).values()].sort((a, b) => String(a.uri).localeCompare(String(b.uri)));
}

/**
 * The sync queue under the configured key `prefix` on `target` (the run's Redis by
 * default), as the engine addresses it there (hash-tagged on a cluster); `fn` uses it, then
 * it is closed.
 */
export async function withQueue<T>(prefix: string, fn: (queue: Queue) => Promise<T>, target: RedisTarget = { url: inject('services').redis }): Promise<T> {
  const connection = createRedisConnection(target, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE_NAME, { connection, prefix: queuePrefix(prefix, target) });
  try {
    return await fn(queue);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** Jobs waiting, delayed or running in the sync queue under the Redis key `prefix`. */
export function pendingJobs(prefix: string, target?: RedisTarget): Promise<number> {
  return withQueue(prefix, async (queue) => {
    const c = await queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
    return Object.values(c).reduce((a, b) => a + b, 0);
  }, target);
}

/** Seq of the last XCAP change the change feed has queued jobs for (-1 before its first). */
export async function feedCursor(state: SyncState): Promise<number> {
  return Number((await state.getMeta(FEED_CURSOR)) ?? -1);
}
