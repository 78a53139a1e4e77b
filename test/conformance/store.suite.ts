/**
 * The DocumentStore contract (src/store/types.ts), written once and run against every
 * backend: test/store/<backend>.test.ts calls `storeContract(name, newDatabase)` where
 * `newDatabase` makes a fresh, empty database and resolves with its opener (each call of
 * the opener is a new store instance on that same database). Assertions a single backend
 * can make alone live in test/store/<feature>.<backend>.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EtagMismatch, UniqueValueTaken, type DocChange, type DocKey, type DocumentStore, type StoredDoc } from '../../src/store/types.ts';

/** Opens one more store instance on the same database. */
export type OpenStore = () => Promise<DocumentStore>;
/** Makes a fresh, empty database. */
export type NewDatabase = () => Promise<OpenStore>;

const alice: DocKey = { auid: 'resource-lists', xui: 'sip:alice@example.com', path: 'index' };

async function listAll(store: DocumentStore, filter?: { auid?: string; xui?: string | null }): Promise<Array<Omit<StoredDoc, 'body'>>> {
  const out: Array<Omit<StoredDoc, 'body'>> = [];
  for await (const d of store.list(filter)) out.push(d);
  return out;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

/** Byte order of UTF-8 keys, as the store compares them. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export function storeContract(name: string, newDatabase: NewDatabase): void {
  describe(`${name}: DocumentStore contract`, () => {
    const opened: DocumentStore[] = [];
    let reopen: OpenStore = () => Promise.reject(new Error('no database yet'));
    /** A store on a new empty database; closed after the test. */
    const fresh = async () => {
      const open = await newDatabase();
      reopen = async () => {
        const again = await open();
        opened.push(again);
        return again;
      };
      return reopen();
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    describe('get', () => {
      it('resolves undefined for a missing document', async () => {
        const s = await fresh();
        expect(await s.get(alice)).toBeUndefined();
        expect(await s.head(alice)).toBeUndefined();
      });

      it('head gives the ETag and time of what get returns, without the body', async () => {
        const s = await fresh();
        await s.put(alice, '<a/>', 'absent');
        const { etag } = await s.put(alice, '<b/>', 'any');
        const doc = await s.get(alice);
        const head = await s.head(alice);
        expect(head).toEqual({ key: alice, etag, modified: doc?.modified });
        expect(head).not.toHaveProperty('body');
      });
    });

    describe('put', () => {
      it("'absent' creates, then fails with EtagMismatch naming the current ETag", async () => {
        const s = await fresh();
        const r = await s.put(alice, '<a/>', 'absent');
        expect(r.created).toBe(true);
        expect(r.etag).toMatch(/^[^"\s]+$/);
        const err = await rejection(s.put(alice, '<b/>', 'absent'));
        expect(err).toBeInstanceOf(EtagMismatch);
        expect((err as EtagMismatch).current).toBe(r.etag);
        expect(await s.get(alice)).toMatchObject({ key: alice, etag: r.etag, body: '<a/>' });
      });

      it('{etag} with the current ETag replaces and returns a new, different ETag', async () => {
        const s = await fresh();
        const first = await s.put(alice, '<a/>', 'absent');
        const second = await s.put(alice, '<b/>', { etag: first.etag });
        expect(second.created).toBe(false);
        expect(second.etag).not.toBe(first.etag);
        const doc = await s.get(alice);
        expect(doc).toMatchObject({ etag: second.etag, body: '<b/>' });
        expect(typeof doc?.modified).toBe('number');
      });

      it('{etag} with a stale ETag fails with EtagMismatch and writes nothing', async () => {
        const s = await fresh();
        const first = await s.put(alice, '<a/>', 'absent');
        const second = await s.put(alice, '<b/>', { etag: first.etag });
        const err = await rejection(s.put(alice, '<c/>', { etag: first.etag }));
        expect(err).toBeInstanceOf(EtagMismatch);
        expect((err as EtagMismatch).current).toBe(second.etag);
        expect(await s.get(alice)).toMatchObject({ etag: second.etag, body: '<b/>' });
      });

      it('{etag} on a missing document fails with EtagMismatch (current null) and creates nothing', async () => {
        const s = await fresh();
        const err = await rejection(s.put(alice, '<a/>', { etag: 'nope' }));
        expect(err).toBeInstanceOf(EtagMismatch);
        expect((err as EtagMismatch).current).toBeNull();
        expect(await s.get(alice)).toBeUndefined();
      });

      it("'any' creates and replaces", async () => {
        const s = await fresh();
        const a = await s.put(alice, '<a/>', 'any');
        const b = await s.put(alice, '<b/>', 'any');
        expect([a.created, b.created]).toEqual([true, false]);
        expect(b.etag).not.toBe(a.etag);
        expect(await s.get(alice)).toMatchObject({ etag: b.etag, body: '<b/>' });
      });

      it('a given ETag (an import keeping another server\'s) is stored, reported and matched like a fresh one', async () => {
        const s = await fresh();
        const a = await s.put(alice, '<a/>', 'absent', 'import:sql', 'sr-1700000000-7');
        expect(a).toEqual({ etag: 'sr-1700000000-7', created: true });
        expect(await s.get(alice)).toMatchObject({ etag: 'sr-1700000000-7', body: '<a/>' });
        const [change] = await s.changes(0);
        expect(change).toMatchObject({ oldEtag: null, newEtag: 'sr-1700000000-7', origin: 'import:sql' });
        const b = await s.put(alice, '<b/>', { etag: 'sr-1700000000-7' });
        expect(b.etag).not.toBe('sr-1700000000-7');
      });

      it('never reuses an ETag for a key, even after delete and re-create', async () => {
        const s = await fresh();
        const seen = new Set<string>();
        for (let i = 0; i < 5; i++) {
          const r = await s.put(alice, '<same/>', 'any');
          seen.add(r.etag);
          if (i % 2 === 1) await s.delete(alice, 'any');
        }
        expect(seen.size).toBe(5);
      });

      it('20 concurrent writers with the same {etag}: exactly one wins, 19 get EtagMismatch', async () => {
        const s = await fresh();
        const base = await s.put(alice, '<v0/>', 'absent');
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) => s.put(alice, `<v${i + 1}/>`, { etag: base.etag })),
        );
        const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [{ i, etag: r.value.etag }] : []));
        const lost = results.filter((r) => r.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(19);
        for (const r of lost) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(EtagMismatch);
        expect(await s.get(alice)).toMatchObject({ etag: won[0]!.etag, body: `<v${won[0]!.i + 1}/>` });
      });

      it('20 concurrent creators with \'absent\': exactly one wins', async () => {
        const s = await fresh();
        const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => s.put(alice, `<v${i}/>`, 'absent')));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof EtagMismatch)).toHaveLength(19);
      });

      it('returns UTF-8 bodies byte for byte', async () => {
        const s = await fresh();
        const body =
          '\uFEFF<?xml version="1.0" encoding="UTF-8"?>\r\n<list name="Ünïcödé 日本語 עברית">\n' +
          '  <entry uri="sip:😀@example.com"><display-name>e\u0301 𝄞 \u200d\t&amp;</display-name></entry>\n</list>\n';
        await s.put(alice, body, 'absent');
        const doc = await s.get(alice);
        expect(Buffer.from(doc!.body).equals(Buffer.from(body))).toBe(true);
      });

      it('keeps keys with odd characters apart and round-trips them', async () => {
        const s = await fresh();
        const keys: DocKey[] = [
          { auid: 'pres-rules', xui: 'sip:alice@example.com', path: 'index' },
          { auid: 'pres-rules', xui: 'sip:alice@example.com', path: 'pres rules "q" \'s\'.xml' },
          { auid: 'pres-rules', xui: 'tel:+1 (555) 123', path: 'dir/sub/doc.xml' },
          { auid: 'pres-rules', xui: 'sip:jörg@bücher.example', path: 'índex' },
          { auid: 'pres-rules', xui: 'sip:😀@example.com', path: '?;%20#' },
          { auid: 'pres-rules', xui: null, path: 'index' },
          { auid: 'pres-rules', xui: '', path: 'index' },
        ];
        for (const [i, key] of keys.entries()) await s.put(key, `<d n="${i}"/>`, 'absent');
        for (const [i, key] of keys.entries()) expect(await s.get(key)).toMatchObject({ key, body: `<d n="${i}"/>` });
        const listed = await listAll(s, { auid: 'pres-rules' });
        expect(listed.map((d) => d.key)).toHaveLength(keys.length);
        for (const key of keys) expect(listed.map((d) => d.key)).toContainEqual(key);
      });
    });

    describe('delete', () => {
      it('{etag} deletes the document with that ETag', async () => {
        const s = await fresh();
        const r = await s.put(alice, '<a/>', 'absent');
        expect(await s.delete(alice, { etag: r.etag })).toBe(true);
        expect(await s.get(alice)).toBeUndefined();
      });

      it('{etag} with a stale ETag fails with EtagMismatch and keeps the document', async () => {
        const s = await fresh();
        const r = await s.put(alice, '<a/>', 'absent');
        const err = await rejection(s.delete(alice, { etag: 'stale' }));
        expect(err).toBeInstanceOf(EtagMismatch);
        expect((err as EtagMismatch).current).toBe(r.etag);
        expect(await s.get(alice)).toMatchObject({ etag: r.etag });
      });

      it('{etag} on a missing document fails with EtagMismatch (current null)', async () => {
        const s = await fresh();
        const err = await rejection(s.delete(alice, { etag: 'whatever' }));
        expect(err).toBeInstanceOf(EtagMismatch);
        expect((err as EtagMismatch).current).toBeNull();
      });

      it("'any' deletes whatever is there, and resolves false when nothing is", async () => {
        const s = await fresh();
        await s.put(alice, '<a/>', 'absent');
        expect(await s.delete(alice, 'any')).toBe(true);
        expect(await s.delete(alice, 'any')).toBe(false);
        expect(await s.get(alice)).toBeUndefined();
      });
    });

    describe('list', () => {
      const keys: DocKey[] = [
        { auid: 'rls-services', xui: 'sip:bob@example.com', path: 'index' },
        { auid: 'resource-lists', xui: 'sip:bob@example.com', path: 'index' },
        { auid: 'resource-lists', xui: null, path: 'index' },
        { auid: 'resource-lists', xui: 'sip:alice@example.com', path: 'z' },
        { auid: 'resource-lists', xui: 'sip:alice@example.com', path: 'a/b' },
        { auid: 'resource-lists', xui: 'sip:Älice@example.com', path: 'index' },
        { auid: 'pres-rules', xui: null, path: 'index' },
        { auid: 'pres-rules', xui: 'sip:alice@example.com', path: 'index' },
      ];
      // The contract's order: auid, then the global tree before users, then xui, then path, bytewise.
      const ordered = [...keys].sort(
        (a, b) => byteOrder(a.auid, b.auid) || (a.xui === null ? 0 : 1) - (b.xui === null ? 0 : 1) ||
          byteOrder(a.xui ?? '', b.xui ?? '') || byteOrder(a.path, b.path),
      );

      async function filled() {
        const s = await fresh();
        const etags = new Map<string, string>();
        for (const key of keys) etags.set(JSON.stringify(key), (await s.put(key, '<x/>', 'absent')).etag);
        return { s, etags };
      }

      it('lists every document in key order, with ETag and modified time, without bodies', async () => {
        const { s, etags } = await filled();
        const all = await listAll(s);
        expect(all.map((d) => d.key)).toEqual(ordered);
        for (const d of all) {
          expect(d.etag).toBe(etags.get(JSON.stringify(d.key)));
          expect(typeof d.modified).toBe('number');
          expect(d).not.toHaveProperty('body');
        }
      });

      it('narrows by auid, by auid and xui, and to the global tree with xui null', async () => {
        const { s } = await filled();
        expect((await listAll(s, { auid: 'resource-lists' })).map((d) => d.key)).toEqual(ordered.filter((k) => k.auid === 'resource-lists'));
        expect((await listAll(s, { auid: 'resource-lists', xui: 'sip:alice@example.com' })).map((d) => d.key)).toEqual([
          { auid: 'resource-lists', xui: 'sip:alice@example.com', path: 'a/b' },
          { auid: 'resource-lists', xui: 'sip:alice@example.com', path: 'z' },
        ]);
        expect((await listAll(s, { auid: 'resource-lists', xui: null })).map((d) => d.key)).toEqual([
          { auid: 'resource-lists', xui: null, path: 'index' },
        ]);
        expect((await listAll(s, { xui: null })).map((d) => d.key)).toEqual(ordered.filter((k) => k.xui === null));
        expect((await listAll(s, { xui: 'sip:bob@example.com' })).map((d) => d.key)).toEqual(
          ordered.filter((k) => k.xui === 'sip:bob@example.com'),
        );
        expect(await listAll(s, { auid: 'nothing-here' })).toEqual([]);
      });
    });

    describe('change feed', () => {
      it('records create, replace and delete with old/new ETag, origin and growing seq', async () => {
        const s = await fresh();
        expect(await s.lastSeq()).toBe(0);
        expect(await s.changes(0)).toEqual([]);
        const a = await s.put(alice, '<a/>', 'absent', 'xcap');
        const b = await s.put(alice, '<b/>', { etag: a.etag }, 'sync:ldap');
        await s.delete(alice, { etag: b.etag }, 'admin');
        const feed = await s.changes(0);
        expect(feed.map((c) => [c.key, c.oldEtag, c.newEtag, c.origin])).toEqual([
          [alice, null, a.etag, 'xcap'],
          [alice, a.etag, b.etag, 'sync:ldap'],
          [alice, b.etag, null, 'admin'],
        ]);
        expect(feed[0]!.seq).toBeGreaterThan(0);
        expect(feed[1]!.seq).toBeGreaterThan(feed[0]!.seq);
        expect(feed[2]!.seq).toBeGreaterThan(feed[1]!.seq);
        for (const c of feed) expect(typeof c.at).toBe('number');
        expect(await s.lastSeq()).toBe(feed[2]!.seq);
      });

      it('pages with after and limit, oldest first', async () => {
        const s = await fresh();
        for (let i = 0; i < 5; i++) await s.put({ ...alice, path: `doc${i}` }, '<x/>', 'absent');
        const all = await s.changes(0);
        expect(all.map((c) => c.key.path)).toEqual(['doc0', 'doc1', 'doc2', 'doc3', 'doc4']);
        const page1 = await s.changes(0, 2);
        const page2 = await s.changes(page1[1]!.seq, 2);
        const page3 = await s.changes(page2[1]!.seq, 2);
        expect([...page1, ...page2, ...page3]).toEqual(all);
        expect(await s.changes(all[4]!.seq)).toEqual([]);
      });

      it('records nothing for failed writes or deleting nothing', async () => {
        const s = await fresh();
        const a = await s.put(alice, '<a/>', 'absent');
        const before = await s.lastSeq();
        await rejection(s.put(alice, '<b/>', 'absent'));
        await rejection(s.put(alice, '<b/>', { etag: 'stale' }));
        await rejection(s.delete(alice, { etag: 'stale' }));
        await rejection(s.delete({ ...alice, path: 'missing' }, { etag: a.etag }));
        expect(await s.delete({ ...alice, path: 'missing' }, 'any')).toBe(false);
        expect(await s.lastSeq()).toBe(before);
        expect(await s.changes(before)).toEqual([]);
      });

      // An hour ahead: every row is older than any store's settle time for holes.
      const later = () => Date.now() + 3_600_000;

      it('pruneChanges by count keeps the newest rows; lastSeq stays, prunedThrough tells readers what they missed', async () => {
        const s = await fresh();
        for (let i = 0; i < 5; i++) await s.put({ ...alice, path: `doc${i}` }, '<x/>', 'absent');
        const all = await s.changes(0);
        expect(await s.prunedThrough()).toBe(0);
        expect(await s.pruneChanges({ maxCount: 2, batch: 100, now: later() })).toBe(3);
        expect(await s.changes(0)).toEqual(all.slice(3));
        expect(await s.prunedThrough()).toBe(all[2]!.seq);
        expect(await s.lastSeq()).toBe(all[4]!.seq);
        // Nothing more to do: the same policy removes nothing and the position stays.
        expect(await s.pruneChanges({ maxCount: 2, batch: 100, now: later() })).toBe(0);
        expect(await s.prunedThrough()).toBe(all[2]!.seq);
        const next = await s.put({ ...alice, path: 'after' }, '<x/>', 'absent');
        expect((await s.changes(all[4]!.seq)).map((c) => c.newEtag)).toEqual([next.etag]);
      });

      it('pruneChanges by age removes what is older, in batches, and may empty the feed without lowering lastSeq', async () => {
        const s = await fresh();
        for (let i = 0; i < 5; i++) await s.put({ ...alice, path: `doc${i}` }, '<x/>', 'absent');
        const last = await s.lastSeq();
        expect(await s.pruneChanges({ maxAgeMs: 60_000, batch: 100, now: Date.now() - 3_600_000 })).toBe(0);
        expect(await s.pruneChanges({ maxAgeMs: 1, batch: 2, now: later() })).toBe(2);
        expect(await s.pruneChanges({ maxAgeMs: 1, batch: 2, now: later() })).toBe(2);
        expect(await s.pruneChanges({ maxAgeMs: 1, batch: 2, now: later() })).toBe(1);
        expect(await s.changes(0)).toEqual([]);
        expect(await s.prunedThrough()).toBe(last);
        expect(await s.lastSeq()).toBe(last);
        const next = await s.put(alice, '<x/>', 'absent');
        const [c] = await s.changes(last);
        expect(c?.newEtag).toBe(next.etag);
        expect(c!.seq).toBeGreaterThan(last);
      });

      it('pruneChanges leaves rows younger than the limits alone', async () => {
        const s = await fresh();
        for (let i = 0; i < 3; i++) await s.put({ ...alice, path: `doc${i}` }, '<x/>', 'absent');
        expect(await s.pruneChanges({ maxAgeMs: 3_600_000, maxCount: 10, batch: 100, now: Date.now() })).toBe(0);
        expect(await s.changes(0)).toHaveLength(3);
        expect(await s.prunedThrough()).toBe(0);
      });

      it('subscribe() delivers each committed change; unsubscribe stops delivery', async () => {
        const s = await fresh();
        const seen: DocChange[] = [];
        const unsubscribe = s.subscribe((c) => seen.push(c));
        const a = await s.put(alice, '<a/>', 'absent', 'xcap');
        await rejection(s.put(alice, '<a/>', 'absent', 'xcap'));
        await s.delete(alice, 'any', 'xcap');
        await expect.poll(() => seen.length).toBe(2);
        expect(seen).toEqual(await s.changes(0));
        expect(seen[0]).toMatchObject({ key: alice, oldEtag: null, newEtag: a.etag, origin: 'xcap' });
        unsubscribe();
        await s.put(alice, '<b/>', 'absent');
        const marker = await s.put({ ...alice, path: 'marker' }, '<m/>', 'absent');
        // Another subscriber sees the marker, so the first would have too by now.
        const later: DocChange[] = [];
        s.subscribe((c) => later.push(c));
        await s.delete({ ...alice, path: 'marker' }, { etag: marker.etag });
        await expect.poll(() => later.length).toBe(1);
        expect(seen).toHaveLength(2);
      });
    });

    describe('server-wide unique values', () => {
      const rls = (xui: string | null, path = 'index'): DocKey => ({ auid: 'rls-services', xui, path });
      const bob = rls('sip:bob@example.com');
      const carol = rls('sip:carol@example.com');
      const holders = async (s: DocumentStore, ...values: string[]) =>
        Object.fromEntries([...(await s.uniqueHolders('rls-services', values))].map(([v, k]) => [v, k.xui]));

      it('a document holds its values; another document of the auid asking for one gets UniqueValueTaken and writes nothing', async () => {
        const s = await fresh();
        await s.put(bob, '<bob/>', 'absent', 'xcap', undefined, { unique: ['sip:friends@example.com', 'sip:work@example.com'] });
        const before = await s.lastSeq();
        const err = await rejection(s.put(carol, '<carol/>', 'absent', 'xcap', undefined, { unique: ['sip:mine@example.com', 'sip:work@example.com'] }));
        expect(err).toBeInstanceOf(UniqueValueTaken);
        expect((err as UniqueValueTaken).value).toBe('sip:work@example.com');
        expect(await s.get(carol)).toBeUndefined();
        expect(await s.lastSeq()).toBe(before);
        expect(await holders(s, 'sip:friends@example.com', 'sip:work@example.com', 'sip:mine@example.com')).toEqual({
          'sip:friends@example.com': 'sip:bob@example.com',
          'sip:work@example.com': 'sip:bob@example.com',
        });
        // The same value in another application usage is another namespace.
        await s.put({ auid: 'resource-lists', xui: 'sip:carol@example.com', path: 'index' }, '<x/>', 'absent', 'xcap', undefined, { unique: ['sip:work@example.com'] });
      });

      it('a rewrite keeps what it still lists and releases the rest; a failed rewrite keeps the old body and values', async () => {
        const s = await fresh();
        const first = await s.put(bob, '<v1/>', 'absent', 'xcap', undefined, { unique: ['sip:a@example.com', 'sip:b@example.com'] });
        const second = await s.put(bob, '<v2/>', { etag: first.etag }, 'xcap', undefined, { unique: ['sip:b@example.com', 'sip:c@example.com', 'sip:c@example.com'] });
        expect(await holders(s, 'sip:a@example.com', 'sip:b@example.com', 'sip:c@example.com')).toEqual({ 'sip:b@example.com': 'sip:bob@example.com', 'sip:c@example.com': 'sip:bob@example.com' });
        await s.put(carol, '<c/>', 'absent', 'xcap', undefined, { unique: ['sip:a@example.com'] });
        await expect(s.put(bob, '<v3/>', { etag: second.etag }, 'xcap', undefined, { unique: ['sip:a@example.com'] })).rejects.toBeInstanceOf(UniqueValueTaken);
        expect(await s.get(bob)).toMatchObject({ etag: second.etag, body: '<v2/>' });
        expect(await holders(s, 'sip:b@example.com', 'sip:c@example.com')).toEqual({ 'sip:b@example.com': 'sip:bob@example.com', 'sip:c@example.com': 'sip:bob@example.com' });
        // A write that leaves `unique` out leaves the recorded values as they are.
        await s.put(bob, '<v4/>', { etag: second.etag });
        expect(await holders(s, 'sip:b@example.com')).toEqual({ 'sip:b@example.com': 'sip:bob@example.com' });
      });

      it('writes asked for at once end each on its own: a failed one (stale ETag, taken value) undoes itself alone, the others are kept', async () => {
        const s = await fresh();
        const dave = rls('sip:dave@example.com');
        const old = await s.put(bob, '<bob v1/>', 'absent', 'xcap', undefined, { unique: ['sip:taken@example.com'] });
        const carolV1 = await s.put(carol, '<carol v1/>', 'absent', 'xcap', undefined, { unique: ['sip:carol-1@example.com'] });
        const before = await s.lastSeq();
        // Asked in one go, as an HTTP worker's batch reaches the store writer.
        const results = await Promise.allSettled([
          s.put(rls('sip:erin@example.com'), '<erin/>', 'absent', 'xcap'),
          s.put(bob, '<bob stale/>', { etag: 'not-the-etag' }, 'xcap'),
          // Its body is written before its value is found taken: that write must be undone too.
          s.put(carol, '<carol v2/>', { etag: carolV1.etag }, 'xcap', undefined, { unique: ['sip:taken@example.com'] }),
          s.put(dave, '<dave/>', 'absent', 'xcap', undefined, { unique: ['sip:dave@example.com'] }),
        ]);
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
        expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(EtagMismatch);
        expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(UniqueValueTaken);
        expect(await s.get(bob)).toMatchObject({ etag: old.etag, body: '<bob v1/>' });
        expect(await s.get(carol)).toMatchObject({ etag: carolV1.etag, body: '<carol v1/>' });
        expect((await s.get(rls('sip:erin@example.com')))?.body).toBe('<erin/>');
        expect((await s.get(dave))?.body).toBe('<dave/>');
        expect(await holders(s, 'sip:taken@example.com', 'sip:carol-1@example.com', 'sip:dave@example.com')).toEqual({
          'sip:taken@example.com': 'sip:bob@example.com',
          'sip:carol-1@example.com': 'sip:carol@example.com',
          'sip:dave@example.com': 'sip:dave@example.com',
        });
        // Only the kept writes are in the feed (a backend may hold rows back past a rolled-back seq for a while).
        const feed = (await s.changes(before)).map((c) => c.key.xui);
        expect(feed.filter((x) => x !== 'sip:erin@example.com' && x !== 'sip:dave@example.com')).toEqual([]);
      });

      it('delete releases the document\'s values', async () => {
        const s = await fresh();
        const r = await s.put(bob, '<b/>', 'absent', 'xcap', undefined, { unique: ['sip:x@example.com'] });
        await s.delete(bob, { etag: r.etag });
        expect(await holders(s, 'sip:x@example.com')).toEqual({});
        await s.put(carol, '<c/>', 'absent', 'xcap', undefined, { unique: ['sip:x@example.com'] });
        expect(await holders(s, 'sip:x@example.com')).toEqual({ 'sip:x@example.com': 'sip:carol@example.com' });
      });

      it('10 documents asking for one value at once, through two store instances: exactly one gets it', async () => {
        const s = await fresh();
        const other = await reopen();
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) => (i % 2 ? s : other).put(rls(`sip:u${i}@example.com`), `<u${i}/>`, 'absent', 'xcap', undefined, { unique: ['sip:race@example.com'] })),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof UniqueValueTaken)).toHaveLength(9);
        const winner = results.findIndex((r) => r.status === 'fulfilled');
        expect(await holders(s, 'sip:race@example.com')).toEqual({ 'sip:race@example.com': `sip:u${winner}@example.com` });
        expect((await listAll(s, { auid: 'rls-services' })).map((d) => d.key.xui)).toEqual([`sip:u${winner}@example.com`]);
      });

      it('backfillUnique records the values of documents written without them, once per database and auid', async () => {
        const s = await fresh();
        await s.put(bob, 'sip:one@example.com sip:two@example.com', 'absent');
        await s.put(carol, 'sip:two@example.com sip:three@example.com', 'absent');
        await s.put(rls(null), '', 'absent');
        const valuesOf = (body: string) => body.split(' ').filter((v) => v !== '');
        await s.backfillUnique('rls-services', valuesOf);
        // A value two older documents share stays with the first in key order.
        expect(await holders(s, 'sip:one@example.com', 'sip:two@example.com', 'sip:three@example.com')).toEqual({
          'sip:one@example.com': 'sip:bob@example.com',
          'sip:two@example.com': 'sip:bob@example.com',
          'sip:three@example.com': 'sip:carol@example.com',
        });
        // Done for this database: a later document written without values stays unrecorded, also for another instance.
        await s.put(rls('sip:dave@example.com'), 'sip:four@example.com', 'absent');
        await (await reopen()).backfillUnique('rls-services', valuesOf);
        expect(await holders(s, 'sip:four@example.com')).toEqual({});
      });
    });

    describe('sql runner', () => {
      it('a prepared query answers each call with its own values, from every instance and after writes', async () => {
        const s = await fresh();
        await s.sql.exec('CREATE TABLE neighbour_logins (login TEXT PRIMARY KEY, xui TEXT NOT NULL)');
        const find = async (store: DocumentStore, login: string) =>
          (await store.sql.query<{ xui: string }>('SELECT xui FROM neighbour_logins WHERE login = ?', [login], { prepared: true })).map((r) => r.xui);
        await s.sql.run('INSERT INTO neighbour_logins (login, xui) VALUES (?, ?), (?, ?)', ['alice', 'sip:alice@x', 'bob', 'sip:bob@x']);
        expect(await find(s, 'alice')).toEqual(['sip:alice@x']);
        expect(await find(s, 'bob')).toEqual(['sip:bob@x']);
        await s.sql.run('UPDATE neighbour_logins SET xui = ? WHERE login = ?', ['sip:alice@y', 'alice']);
        expect(await find(s, 'alice')).toEqual(['sip:alice@y']);
        expect(await find(await reopen(), 'carol')).toEqual([]);
      });

      it('runs neighbour tables with ? placeholders, including ? inside string literals', async () => {
        const s = await fresh();
        await s.sql.exec('CREATE TABLE neighbour_users (name TEXT PRIMARY KEY, ha1 TEXT NOT NULL, admin INTEGER NOT NULL)');
        expect(await s.sql.run('INSERT INTO neighbour_users (name, ha1, admin) VALUES (?, ?, ?)', ['alice', 'h?1', 1])).toBe(1);
        expect(await s.sql.run('INSERT INTO neighbour_users (name, ha1, admin) VALUES (?, ?, ?)', ["o'brien", 'x', 0])).toBe(1);
        const rows = await s.sql.query<{ name: string; ha1: string }>(
          "SELECT name, ha1 FROM neighbour_users WHERE name <> 'what?' AND admin = ? ORDER BY name",
          [1],
        );
        expect(rows).toEqual([{ name: 'alice', ha1: 'h?1' }]);
        expect(await s.sql.run('UPDATE neighbour_users SET admin = ?', [1])).toBe(2);
        expect(await s.sql.run('DELETE FROM neighbour_users WHERE name = ?', ['nobody'])).toBe(0);
      });
    });

    describe('close', () => {
      it('rejects further calls', async () => {
        const s = await fresh();
        await s.put(alice, '<a/>', 'absent');
        await s.close();
        await expect(s.get(alice)).rejects.toThrow();
        await expect(s.put(alice, '<b/>', 'any')).rejects.toThrow();
        await expect(s.sql.query('SELECT 1')).rejects.toThrow();
      });

      it('keeps what was written for the next opener of the same database', async () => {
        const s = await fresh();
        const r = await s.put(alice, '<kept/>', 'absent');
        const again = await reopen();
        expect(await again.get(alice)).toMatchObject({ etag: r.etag, body: '<kept/>' });
      });
    });
  });
}
