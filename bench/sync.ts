/**
 * Sync benchmarks (issue 4 §7), printing each result's ratio to its target:
 * 1. reconcile() of 100,000 items with 10 changes (target < 1 s), state and snapshots
 *    prepared beforehand, as the runner hands them over;
 * 2. hashing 100,000 items' fields (the runner's cost besides reconcile);
 * 3. an XCAP change reaching the remote through Redis with an idle worker (target p95 <
 *    200 ms), on a throwaway redis-server and a SQLite store in memory;
 * 4. a no-change run over 1,000 bound collections with a change-token connector: remote
 *    requests per collection (target 1).
 *
 *   npx node bench/sync.ts [--items 100000] [--changes 10] [--latency-runs 50]
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { MemoryConnector } from '../connectors/memory/index.ts';
import type { ItemFields } from '../connectors/types.ts';
import { openSqliteStore } from '../src/store/sqlite.ts';
import { bindingSchema, compileBinding } from '../src/sync/binding.ts';
import { hashFields } from '../src/sync/hash.ts';
import { startSync } from '../src/sync/queue.ts';
import { reconcile, type ItemState, type RemoteSnapshot, type XcapSnapshot } from '../src/sync/reconcile.ts';
import { runSync } from '../src/sync/runner.ts';
import { SyncState } from '../src/sync/state.ts';
import { startRedis } from '../test/services/redis.ts';

const { values } = parseArgs({ options: { items: { type: 'string', default: '100000' }, changes: { type: 'string', default: '10' }, 'latency-runs': { type: 'string', default: '50' } } });
const N = Number(values.items);
const CHANGES = Number(values.changes);

function line(label: string, value: string, target: string, ratio: number): void {
  console.log(`${label.padEnd(52)} ${value.padStart(12)}   target ${target.padEnd(10)} ${ratio <= 1 ? 'OK ' : 'MISS'} (${ratio.toFixed(2)}× of target)`);
}

// 1 + 2: reconcile
const fields = (i: number, name = `Person ${i}`): ItemFields => ({ uri: `sip:p${i}@example.com`, 'display-name': name, mail: `p${i}@example.com` });
let t0 = performance.now();
const base = Array.from({ length: N }, (_, i) => fields(i));
const hashes = base.map(hashFields);
const hashMs = performance.now() - t0;
const state: ItemState[] = base.map((f, i) => ({ id: `s${i}`, xcapKey: f.uri!, xcapHash: hashes[i]!, remoteId: `r${i}`, remoteVersion: 'v1', remoteHash: hashes[i]!, base: f, createdOn: 'xcap' }));
const xcap = new Map<string, XcapSnapshot>(base.map((f, i) => [f.uri!, { key: f.uri!, fields: f, hash: hashes[i]! }]));
const remote = new Map<string, RemoteSnapshot>(base.map((f, i) => [`r${i}`, { id: `r${i}`, version: 'v1', fields: f, hash: hashes[i]! }]));
for (let c = 0; c < CHANGES; c++) {
  const i = Math.floor((c * N) / CHANGES);
  const f = fields(i, `Changed ${c}`);
  remote.set(`r${i}`, { id: `r${i}`, version: 'v2', fields: f, hash: hashFields(f) });
}
t0 = performance.now();
const plan = reconcile({ xcap, remote, state, options: { direction: 'both', policy: 'manual', deletes: 'created', keyField: 'uri', xcapModified: 0, hash: hashFields } });
const recMs = performance.now() - t0;
if (plan.decisions.length !== CHANGES) throw new Error(`expected ${CHANGES} decisions, got ${plan.decisions.length}`);
line(`reconcile ${N} items, ${CHANGES} changes`, `${recMs.toFixed(0)} ms`, '< 1000 ms', recMs / 1000);
console.log(`${`(hashing ${N} items' fields, done by the runner)`.padEnd(52)} ${`${hashMs.toFixed(0)} ms`.padStart(12)}`);

// 3: XCAP change → remote latency through Redis
const redis = await startRedis();
const store = await openSqliteStore(':memory:');
const mem = new MemoryConnector({ collections: ['people'] });
const binding = bindingSchema.parse({ name: 'b', auid: 'resource-lists', target: { scope: 'global', document: 'd' }, mapping: { kind: 'resource-lists', list: 'directory' }, connector: 'm', collection: 'people', direction: 'push' });
const sync = await startSync({ store, redis: redis.url, prefix: `bench-${process.pid}`, bindings: [binding], connectors: new Map([['m', mem]]), logger: pino({ level: 'silent' }), runWorkers: true, debounceMs: 0 });
const key = { auid: 'resource-lists', xui: null, path: 'd' };
const doc = (name: string) => `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="directory"><entry uri="sip:x@example.com"><display-name>${name}</display-name></entry></list></resource-lists>`;
let etag: string | undefined;
const lat: number[] = [];
for (let r = 0; r < Number(values['latency-runs']); r++) {
  const name = `n${r}`;
  const start = performance.now();
  etag = (await store.put(key, doc(name), etag ? { etag } : 'absent', 'xcap')).etag;
  while ([...mem.snapshot('people').values()][0]?.['display-name'] !== name) await new Promise((res) => setImmediate(res));
  lat.push(performance.now() - start);
  await new Promise((res) => setTimeout(res, 20)); // idle worker between changes
}
await sync.stop();
lat.sort((a, b) => a - b);
const p95 = lat[Math.floor(lat.length * 0.95)] ?? 0;
line('XCAP change → remote, p95 (idle worker, debounce 0)', `${p95.toFixed(1)} ms`, '< 200 ms', p95 / 200);
await redis.stop();

// 4: no-change run over 1,000 collections
const syncState = await SyncState.open(store.sql);
const multi = compileBinding(bindingSchema.parse({ name: 'u', auid: 'resource-lists', target: { scope: 'users', document: 'index' }, mapping: { kind: 'resource-lists', list: 'directory' }, connector: 'm', collection: 'c-{user}' }));
const users = Array.from({ length: 1000 }, (_, i) => `sip:u${i}@example.com`);
for (let i = 0; i < users.length; i++) mem.seed(`c-u${i}`, [{ fields: fields(i) }]);
for (const u of users) await runSync({ store, state: syncState, connector: mem }, multi, u);
const before = Object.values(mem.calls).reduce((a, b) => a + b, 0);
t0 = performance.now();
for (const u of users) await runSync({ store, state: syncState, connector: mem }, multi, u);
const noChangeMs = performance.now() - t0;
const perCollection = (Object.values(mem.calls).reduce((a, b) => a + b, 0) - before) / users.length;
line('no-change run, 1,000 collections: requests each', perCollection.toFixed(2), '1', perCollection);
console.log(`${'(no-change run, 1,000 collections: time)'.padEnd(52)} ${`${noChangeMs.toFixed(0)} ms`.padStart(12)}`);
await store.close();
