/**
 * The sync queue on a single Redis and on a 6-node Redis Cluster (issue 10 item 6), side by side, interleaved:
 * 1. an XCAP change reaching the remote through the queue (push binding, memory connector,
 *    idle worker, debounce 0): p50 and p95 of `--changes` changes;
 * 2. a tick fanned out to `--users` documents (one scope job each) until every run is done.
 * Each round runs both on a fresh queue; the ratio is cluster / single (above 1: slower).
 *
 *   npx node bench/redis-cluster.ts [--rounds 3] [--changes 100] [--users 500]
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { MemoryConnector } from '../connectors/memory/index.ts';
import { openSqliteStore } from '../src/store/sqlite.ts';
import { bindingSchema } from '../src/sync/binding.ts';
import { startSync } from '../src/sync/queue.ts';
import type { RedisTarget } from '../src/sync/redis-connection.ts';
import { SyncState } from '../src/sync/state.ts';
import { startRedisCluster } from '../test/services/redis-cluster.ts';
import { startRedis } from '../test/services/redis.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, changes: { type: 'string', default: '100' }, users: { type: 'string', default: '500' } } });
const ROUNDS = Number(values.rounds);
const CHANGES = Number(values.changes);
const USERS = Number(values.users);
const quiet = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const at = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] as number;
const median = (xs: number[]) => at(xs, 0.5);
const doc = (name: string) => `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="directory"><entry uri="sip:x@example.com"><display-name>${name}</display-name></entry></list></resource-lists>`;

/** Change → remote latencies in ms. */
async function latency(redis: RedisTarget, round: number): Promise<number[]> {
  const store = await openSqliteStore(':memory:');
  const mem = new MemoryConnector({ collections: ['people'] });
  const binding = bindingSchema.parse({ name: 'b', auid: 'resource-lists', target: { scope: 'global', document: 'd' }, mapping: { kind: 'resource-lists', list: 'directory' }, connector: 'm', collection: 'people', direction: 'push' });
  const sync = await startSync({ store, redis, prefix: `bench-lat-${process.pid}-${round}`, bindings: [binding], connectors: new Map([['m', mem]]), logger: quiet, runWorkers: true, debounceMs: 0 });
  const key = { auid: 'resource-lists', xui: null, path: 'd' };
  let etag: string | undefined;
  const out: number[] = [];
  try {
    for (let r = 0; r < CHANGES; r++) {
      const name = `n${r}`;
      const start = performance.now();
      etag = (await store.put(key, doc(name), etag ? { etag } : 'absent', 'xcap')).etag;
      while ([...mem.snapshot('people').values()][0]?.['display-name'] !== name) await new Promise((res) => setImmediate(res));
      out.push(performance.now() - start);
      await sleep(10);
    }
  } finally {
    await sync.stop();
    await store.close();
  }
  return out;
}

/** ms from a tick of a pull binding over USERS documents until every document's run is recorded. */
async function fanOut(redis: RedisTarget, round: number): Promise<number> {
  const store = await openSqliteStore(':memory:');
  const mem = new MemoryConnector({ collections: ['people'] });
  mem.seed('people', [{ fields: { uri: 'sip:p@example.com', 'display-name': 'P' } }]);
  const users = Array.from({ length: USERS }, (_, i) => `sip:u${i}@example.com`);
  const binding = bindingSchema.parse({ name: 'dir', auid: 'resource-lists', target: { scope: 'users', document: 'index', users }, mapping: { kind: 'resource-lists', list: 'directory' }, connector: 'm', collection: 'people', direction: 'pull' });
  const sync = await startSync({ store, redis, prefix: `bench-fan-${process.pid}-${round}`, bindings: [binding], connectors: new Map([['m', mem]]), logger: quiet, runWorkers: true, watchChanges: false, concurrency: 8 });
  const state = await SyncState.open(store.sql);
  try {
    const start = performance.now();
    await sync.enqueue('dir');
    while ((await state.listScopes('dir')).filter((s) => s.lastOkAt !== null).length < USERS) await sleep(5);
    return performance.now() - start;
  } finally {
    await sync.stop();
    await store.close();
  }
}

const single = await startRedis();
const cluster = await startRedisCluster();
const targets: [string, RedisTarget][] = [
  ['single', { url: single.url }],
  ['cluster', { url: single.url, cluster: cluster.nodes }],
];
const results = new Map<string, { p50: number[]; p95: number[]; fan: number[] }>(targets.map(([n]) => [n, { p50: [], p95: [], fan: [] }]));
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, target] of targets) {
      const lat = await latency(target, round);
      const fan = await fanOut(target, round);
      const r = results.get(name)!;
      r.p50.push(at(lat, 0.5));
      r.p95.push(at(lat, 0.95));
      r.fan.push(fan);
      console.log(`round ${round} ${name.padEnd(7)}  change → remote p50 ${at(lat, 0.5).toFixed(1)} ms, p95 ${at(lat, 0.95).toFixed(1)} ms; tick over ${USERS} documents ${fan.toFixed(0)} ms`);
    }
  }
  const s = results.get('single')!;
  const c = results.get('cluster')!;
  console.log(`median of ${ROUNDS} rounds, cluster / single: change → remote p50 ${(median(c.p50) / median(s.p50)).toFixed(2)}x (${median(c.p50).toFixed(1)} vs ${median(s.p50).toFixed(1)} ms), p95 ${(median(c.p95) / median(s.p95)).toFixed(2)}x; tick over ${USERS} documents ${(median(c.fan) / median(s.fan)).toFixed(2)}x (${median(c.fan).toFixed(0)} vs ${median(s.fan).toFixed(0)} ms)`);
} finally {
  await cluster.stop();
  await single.stop();
}
