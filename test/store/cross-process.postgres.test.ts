/**
 * PostgreSQL only: several processes share one database. SQLite's cross-process story is
 * its file lock (covered by the contract's atomic writes); only PostgreSQL can tell other
 * processes about changes (LISTEN/NOTIFY), and only here do separate connection pools
 * race on row locks. Two pools stand for two processes; a child process is a real one.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { EtagMismatch, type DocChange, type DocumentStore } from '../../src/store/types.ts';
import { freshPostgresDatabase } from '../services/databases.ts';
import { SHARED_KEY } from './shared-key.ts';

const run = promisify(execFile);
const childScript = fileURLToPath(new URL('./child-writer.ts', import.meta.url));

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

async function database(): Promise<{ url: string; open: () => Promise<DocumentStore> }> {
  const url = await freshPostgresDatabase(inject('services').postgres, 'xproc');
  return {
    url,
    open: async () => {
      const s = await openPostgresStore(url);
      opened.push(s);
      return s;
    },
  };
}

async function child(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [childScript, ...args]);
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('postgres: writers in several processes', () => {
  it('two pools racing 20 put({etag}) on the same document: exactly one wins', async () => {
    const db = await database();
    const a = await db.open();
    const b = await db.open();
    const base = await a.put(SHARED_KEY, '<v0/>', 'absent');
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).put(SHARED_KEY, `<v${i}/>`, { etag: base.etag })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(EtagMismatch);
    const { etag } = (won[0] as PromiseFulfilledResult<{ etag: string }>).value;
    expect((await b.get(SHARED_KEY))?.etag).toBe(etag);
    expect(await a.changes(0)).toHaveLength(2);
  });

  it('a child process and this one racing put({etag}): exactly one write wins overall', async () => {
    const db = await database();
    const a = await db.open();
    const base = await a.put(SHARED_KEY, '<v0/>', 'absent');
    const [fromChild, ours] = await Promise.all([
      child('race', db.url, base.etag, '10'),
      Promise.allSettled(Array.from({ length: 10 }, (_, i) => a.put(SHARED_KEY, `<p n="${i}"/>`, { etag: base.etag }))),
    ]);
    const oursWon = ours.filter((r) => r.status === 'fulfilled').length;
    expect((fromChild.won as number) + oursWon).toBe(1);
    expect((fromChild.lost as number) + ours.length - oursWon).toBe(19);
    expect((await a.changes(0)).map((c) => c.oldEtag)).toEqual([null, base.etag]);
  });

  it('several processes creating the schema at once all open the store', async () => {
    const db = await database();
    const stores = await Promise.all(Array.from({ length: 6 }, () => db.open()));
    await stores[0]!.put(SHARED_KEY, '<x/>', 'absent');
    expect((await stores[5]!.get(SHARED_KEY))?.body).toBe('<x/>');
  });
});

describe('postgres: subscribe() sees other processes (LISTEN/NOTIFY)', () => {
  it('a change made through pool A reaches pool B’s subscriber, once', async () => {
    const db = await database();
    const a = await db.open();
    const b = await db.open();
    const seenByB: DocChange[] = [];
    const seenByA: DocChange[] = [];
    b.subscribe((c) => seenByB.push(c));
    a.subscribe((c) => seenByA.push(c));
    const r = await a.put(SHARED_KEY, '<a/>', 'absent', 'xcap');
    await a.delete(SHARED_KEY, { etag: r.etag }, 'sync:ldap');
    await expect.poll(() => seenByB.length).toBe(2);
    const feed = await b.changes(0);
    expect(seenByB).toEqual(feed);
    expect(seenByA).toEqual(feed);
    expect(seenByB.map((c) => c.origin)).toEqual(['xcap', 'sync:ldap']);
  });

  it('a change whose key is too long to fit a NOTIFY payload still arrives in full', async () => {
    const db = await database();
    const a = await db.open();
    const b = await db.open();
    const seen: DocChange[] = [];
    b.subscribe((c) => seen.push(c));
    const key = { ...SHARED_KEY, path: `${'ü'.repeat(5000)}.xml` };
    const r = await a.put(key, '<long/>', 'absent', 'xcap');
    await expect.poll(() => seen.length).toBe(1);
    expect(seen[0]).toMatchObject({ key, oldEtag: null, newEtag: r.etag, origin: 'xcap' });
  });

  it('ignores foreign payloads on its channel and keeps delivering', async () => {
    const db = await database();
    const a = await db.open();
    const b = await db.open();
    const seen: DocChange[] = [];
    b.subscribe((c) => seen.push(c));
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    opened.push({ close: () => admin.end() });
    for (const junk of ['garbage', '12 not-json', '7 {"a":1}', ' ']) await admin.query("SELECT pg_notify('xcap_doc_changes', $1)", [junk]);
    const r = await a.put(SHARED_KEY, '<a/>', 'absent', 'xcap');
    await expect.poll(() => seen.map((c) => c.newEtag)).toEqual([r.etag]);
  });

  it('a change made by a child process reaches this process’s subscriber', async () => {
    const db = await database();
    const b = await db.open();
    const seen: DocChange[] = [];
    b.subscribe((c) => seen.push(c));
    const { etag } = await child('put', db.url, 'child');
    await expect.poll(() => seen.length).toBe(1);
    expect(seen[0]).toMatchObject({ key: SHARED_KEY, oldEtag: null, newEtag: etag, origin: 'child' });
    expect((await b.get(SHARED_KEY))?.body).toBe('<from-child/>');
  });

  it('after its LISTEN connection is killed, the subscriber reconnects and still gets the change', async () => {
    const db = await database();
    const a = await db.open();
    const b = await db.open();
    const seen: DocChange[] = [];
    b.subscribe((c) => seen.push(c));
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    opened.push({ close: () => admin.end() });
    const killed = await admin.query(
      "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'",
    );
    expect(killed.rows).toHaveLength(2); // a's and b's listeners
    // Written while b is still reconnecting: it must come from the catch-up.
    const r = await a.put(SHARED_KEY, '<during-outage/>', 'absent', 'xcap');
    await expect.poll(() => seen.map((c) => c.newEtag), { timeout: 10000 }).toEqual([r.etag]);
    // And live notifications work again on the new connection.
    const r2 = await a.put(SHARED_KEY, '<after/>', { etag: r.etag }, 'xcap');
    await expect.poll(() => seen.map((c) => c.newEtag), { timeout: 10000 }).toEqual([r.etag, r2.etag]);
  });
});
