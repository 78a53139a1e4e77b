/**
 * DocumentStore micro-benchmark: get() and put() of a 10 KB document, on SQLite (a temp
 * file, WAL) and on PostgreSQL (a throwaway server like the tests', or --database-url).
 * Sequential numbers are the per-call cost; "×N in flight" shows what a pool sustains.
 *
 *   npx node bench/store.ts [--ops 20000] [--database-url postgres://...] [--sqlite-only]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openPostgresStore } from '../src/store/postgres.ts';
import { openSqliteStore } from '../src/store/sqlite.ts';
import type { DocKey, DocumentStore } from '../src/store/types.ts';
import { freshPostgresDatabase } from '../test/services/databases.ts';
import { startPostgres } from '../test/services/postgres.ts';

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '20000' },
    'database-url': { type: 'string' },
    'sqlite-only': { type: 'boolean', default: false },
  },
});
const ops = Number(values.ops);
const body = `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="l">${
  '<entry uri="sip:someone@example.com"><display-name>Someone Ünïcode</display-name></entry>'.repeat(120)
}</list></resource-lists>`.slice(0, 10_240);
const key: DocKey = { auid: 'resource-lists', xui: 'sip:alice@example.com', path: 'index' };

function report(label: string, n: number, ms: number): void {
  console.log(`${label.padEnd(44)} ${Math.round((n / ms) * 1000).toString().padStart(8)} ops/s  ${((ms * 1000) / n).toFixed(1).padStart(7)} µs/op`);
}

/** Runs `op` n times with `inFlight` calls outstanding at once. */
async function timed(label: string, n: number, inFlight: number, op: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) await op(next++);
    }),
  );
  report(label, n, performance.now() - t0);
}

async function bench(name: string, store: DocumentStore, n: number, inFlight: number[]): Promise<void> {
  let etag = (await store.put(key, body, 'any')).etag;
  // Warm-up: JIT, statement caches, pool connections.
  for (let i = 0; i < 200; i++) etag = (await store.put(key, body, { etag })).etag;
  await timed(`${name} put({etag}) 10 KB, sequential`, n, 1, async () => {
    etag = (await store.put(key, body, { etag })).etag;
  });
  await timed(`${name} put('any') 10 KB, sequential`, n, 1, () => store.put(key, body, 'any'));
  await timed(`${name} get 10 KB, sequential`, n * 5, 1, () => store.get(key));
  for (const k of inFlight) {
    await timed(`${name} get 10 KB, ×${k} in flight`, n * 5, k, () => store.get(key));
    // Distinct documents, so concurrent writers do not just lose races to each other.
    const keys = Array.from({ length: k }, (_, i) => ({ ...key, path: `doc${i}` }));
    await timed(`${name} put('any') 10 KB, ×${k} in flight`, n, k, (i) => store.put(keys[i % k]!, body, 'any'));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'xcapb-store-bench-'));
try {
  const sqlite = await openSqliteStore(join(dir, 'xcap.sqlite'));
  await bench('sqlite', sqlite, ops, []);
  await sqlite.close();

  if (!values['sqlite-only']) {
    const server = values['database-url'] ? undefined : await startPostgres();
    try {
      const url = values['database-url'] ?? (await freshPostgresDatabase(server!.url, 'bench'));
      const pg = await openPostgresStore(url);
      await bench('postgres', pg, Math.min(ops, 5000), [10]);
      await pg.close();
    } finally {
      await server?.stop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
