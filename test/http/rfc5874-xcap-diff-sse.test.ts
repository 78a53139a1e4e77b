/**
 * GET /xcap-diff: the change feed as server-sent events carrying RFC 5874 xcap-diff
 * documents, through HTTP on SQLite and PostgreSQL. Time is an injected clock moved by
 * hand (coalescing windows, heartbeats), so nothing here waits on the wall clock to decide.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.ts';
import { ADMIN, ALICE, BOB, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { SseClient, type SseEvent } from '../helpers/sse-client.ts';
import { SHARED_KEY } from '../store/shared-key.ts';
import { children, contacts, RL_TYPE, xml } from './helpers.ts';

const XD_NS = 'urn:ietf:params:xml:ns:xcap-diff';
const ALICE_RL = 'resource-lists/users/sip:alice@example.com/index';
const ALICE_FRIENDS = 'resource-lists/users/sip:alice@example.com/friends';
const BOB_RL = 'resource-lists/users/sip:bob@example.com/index';
const run = promisify(execFile);
const childWriter = fileURLToPath(new URL('../store/child-writer.ts', import.meta.url));

interface DocEntry {
  sel: string;
  previous: string | null;
  next: string | null;
}

/** The `<document>` entries of an event, checked to be an xcap-diff document. */
function entries(e: SseEvent): DocEntry[] {
  const root = xml(e.data);
  expect(root.namespaceURI).toBe(XD_NS);
  expect(root.localName).toBe('xcap-diff');
  return children(root, 'document').map((d) => ({
    sel: d.getAttribute('sel') ?? '',
    previous: d.hasAttribute('previous-etag') ? d.getAttribute('previous-etag') : null,
    next: d.hasAttribute('new-etag') ? d.getAttribute('new-etag') : null,
  }));
}

function etag(h: Headers): string {
  return (h.get('etag') ?? '').replaceAll('"', '');
}

for (const store of ['sqlite', 'postgres'] as const) {
  describe(`${store}: GET /xcap-diff (RFC 5874 over server-sent events)`, () => {
    let gw: TestGateway;
    let clock: ManualClock;
    const open: SseClient[] = [];
    const coalesceMs = 50;

    async function start() {
      clock = new ManualClock();
      gw = await startTestGateway({ store, feedClock: clock, config: { changeFeed: { sse: { coalesceMs, heartbeatSeconds: 30 } } } });
    }
    afterEach(async () => {
      for (const c of open.splice(0)) c.close();
      await gw.stop();
    });

    async function stream(user: { xui: string; password: string }, query = '', headers: Record<string, string> = {}): Promise<SseClient> {
      const login = user.xui.slice(4, user.xui.indexOf('@'));
      const c = await SseClient.open(`${gw.origin}/xcap-diff${query}`, { username: login, password: user.password }, headers);
      open.push(c);
      return c;
    }

    /** Waits for event number `n` (1-based), moving the clock past coalescing windows meanwhile. */
    async function nth(c: SseClient, n: number): Promise<SseEvent> {
      const deadline = Date.now() + 60_000;
      while (c.events.length < n) {
        if (Date.now() > deadline) throw new Error(`event ${n} never came (got ${c.events.length})`);
        clock.advance(coalesceMs);
        await new Promise((r) => setTimeout(r, 10));
      }
      return c.events[n - 1] as SseEvent;
    }

    const alice = () => gw.client('alice', ALICE.password);
    const bob = () => gw.client('bob', BOB.password);

    it('the first event is the full state of what the user may see; another user\'s documents are never in it', async () => {
      await start();
      const a = await alice().put(`/${ALICE_RL}`, contacts(), RL_TYPE);
      await alice().put(`/${ALICE_FRIENDS}`, contacts(), RL_TYPE);
      await bob().put(`/${BOB_RL}`, contacts(), RL_TYPE);
      const c = await stream(ALICE);
      expect(c.status).toBe(200);
      const first = entries(await nth(c, 1));
      expect(first.map((d) => d.sel).sort()).toEqual([ALICE_FRIENDS, ALICE_RL]);
      expect(first.find((d) => d.sel === ALICE_RL)).toEqual({ sel: ALICE_RL, previous: null, next: etag(a.headers) });
      const admin = await stream(ADMIN);
      expect(entries(await nth(admin, 1)).map((d) => d.sel).sort()).toEqual([ALICE_FRIENDS, ALICE_RL, BOB_RL]);
      const one = await stream(ADMIN, `?sel=${encodeURIComponent(BOB_RL)}`);
      expect(entries(await nth(one, 1)).map((d) => d.sel)).toEqual([BOB_RL]);
      const byAuid = await stream(ADMIN, '?auid=pres-rules');
      expect(entries(await nth(byAuid, 1))).toEqual([]);
    });

    it('a user cannot follow another user\'s documents (403); without credentials 401', async () => {
      await start();
      expect((await stream(ALICE, '?user=sip:bob@example.com')).status).toBe(403);
      expect((await stream(ALICE, `?sel=${encodeURIComponent(BOB_RL)}`)).status).toBe(403);
      const anon = await SseClient.open(`${gw.origin}/xcap-diff`, undefined);
      open.push(anon);
      expect(anon.status).toBe(401);
      expect((await stream(ALICE, '?sel=nonsense')).status).toBe(400);
    });

    it('create, replace and delete each arrive with their ETags as the RFC writes them', async () => {
      await start();
      const c = await stream(ALICE);
      expect(entries(await nth(c, 1))).toEqual([]);
      const created = await alice().put(`/${ALICE_RL}`, contacts(), RL_TYPE);
      expect(entries(await nth(c, 2))).toEqual([{ sel: ALICE_RL, previous: null, next: etag(created.headers) }]);
      const replaced = await alice().put(`/${ALICE_RL}`, contacts().replace('Bob', 'Robert'), RL_TYPE);
      expect(entries(await nth(c, 3))).toEqual([{ sel: ALICE_RL, previous: etag(created.headers), next: etag(replaced.headers) }]);
      // Bob's change is not Alice's business: her next event is her own delete.
      await bob().put(`/${BOB_RL}`, contacts(), RL_TYPE);
      expect((await alice().delete(`/${ALICE_RL}`)).status).toBe(200);
      expect(entries(await nth(c, 4))).toEqual([{ sel: ALICE_RL, previous: etag(replaced.headers), next: null }]);
      expect(Number(c.events[3]!.id)).toBeGreaterThan(Number(c.events[2]!.id));
    });

    it('changes to one document within the window are one event: first previous-etag, last new-etag', async () => {
      await start();
      const first = await alice().put(`/${ALICE_RL}`, contacts(), RL_TYPE);
      const c = await stream(ALICE);
      await nth(c, 1);
      let last = first;
      for (const name of ['B1', 'B2', 'B3']) last = await alice().put(`/${ALICE_RL}`, contacts().replace('Bob', name), RL_TYPE);
      expect(entries(await nth(c, 2))).toEqual([{ sel: ALICE_RL, previous: etag(first.headers), next: etag(last.headers) }]);
      // Nothing else was pending.
      clock.advance(coalesceMs * 10);
      await alice().put(`/${ALICE_FRIENDS}`, contacts(), RL_TYPE);
      expect(entries(await nth(c, 3)).map((d) => d.sel)).toEqual([ALICE_FRIENDS]);
    });

    it('a write the full state already shows is not announced again (another process wrote it just before the stream opened)', async () => {
      await start();
      const early = await stream(ALICE);
      await nth(early, 1);
      // Another process writes; this process's feed reader has not read it yet when the next stream opens.
      const other = await openStore(store === 'postgres' ? { kind: 'postgres', url: gw.databaseUrl! } : { kind: 'sqlite', dataDir: gw.dataDir });
      const written = await other.put(SHARED_KEY, contacts(), 'any', 'test').finally(() => other.close());
      const c = await stream(ALICE);
      expect(entries(await nth(c, 1))).toEqual([{ sel: ALICE_RL, previous: null, next: written.etag }]);
      const f = await alice().put(`/${ALICE_FRIENDS}`, contacts(), RL_TYPE);
      expect(entries(await nth(c, 2))).toEqual([{ sel: ALICE_FRIENDS, previous: null, next: etag(f.headers) }]);
      // The stream that opened before the write is told of it.
      await nth(early, 2);
      while (!early.events.slice(1).flatMap(entries).some((d) => d.sel === ALICE_FRIENDS)) await nth(early, early.events.length + 1);
      expect(early.events.slice(1).flatMap(entries).find((d) => d.sel === ALICE_RL)).toEqual({ sel: ALICE_RL, previous: null, next: written.etag });
    });

    it('one window, many streams: streams with the same filter get the same event, each stream only what its filter covers', async () => {
      await start();
      const a1 = await stream(ALICE);
      const a2 = await stream(ALICE, '?user=sip:alice@example.com');
      const all = await stream(ADMIN);
      const rules = await stream(ADMIN, '?auid=pres-rules');
      for (const c of [a1, a2, all, rules]) await nth(c, 1);
      // Both writes land in one window: the clock does not move until nth() below.
      const mine = await alice().put(`/${ALICE_RL}`, contacts(), RL_TYPE);
      const bobs = await bob().put(`/${BOB_RL}`, contacts(), RL_TYPE);
      const second = await nth(a1, 2);
      expect(entries(second)).toEqual([{ sel: ALICE_RL, previous: null, next: etag(mine.headers) }]);
      expect(await nth(a2, 2)).toEqual(second);
      expect(entries(await nth(all, 2))).toEqual([
        { sel: ALICE_RL, previous: null, next: etag(mine.headers) },
        { sel: BOB_RL, previous: null, next: etag(bobs.headers) },
      ]);
      expect(Number(all.events[1]!.id)).toBe(Number(second.id));
      // Nothing of pres-rules changed: that stream's next event is the next pres-rules change.
      const rulesDoc = 'pres-rules/users/sip:alice@example.com/index';
      const policy = `<?xml version="1.0" encoding="UTF-8"?>\n<cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy"/>\n`;
      const r = await alice().put(`/${rulesDoc}`, policy, 'application/auth-policy+xml');
      expect(r.status).toBe(201);
      expect(entries(await nth(rules, 2))).toEqual([{ sel: rulesDoc, previous: null, next: etag(r.headers) }]);
    });

    it('Last-Event-ID resumes after the last event seen, without full state and without missing a change', async () => {
      await start();
      const c = await stream(ALICE);
      // Full state first: a change made before it was taken would be in it, not after it.
      await nth(c, 1);
      const created = await alice().put(`/${ALICE_RL}`, contacts(), RL_TYPE);
      const seen = await nth(c, 2);
      c.close();
      const r1 = await alice().put(`/${ALICE_RL}`, contacts().replace('Bob', 'X'), RL_TYPE);
      const f = await alice().put(`/${ALICE_FRIENDS}`, contacts(), RL_TYPE);
      const again = await stream(ALICE, '', { 'Last-Event-ID': seen.id! });
      const resumed = entries(await nth(again, 1));
      expect(resumed).toEqual([
        { sel: ALICE_RL, previous: etag(created.headers), next: etag(r1.headers) },
        { sel: ALICE_FRIENDS, previous: null, next: etag(f.headers) },
      ]);
    });

    it('a Last-Event-ID the feed no longer holds gets full state again', async () => {
      await start();
      const c = await stream(ALICE);
      await nth(c, 1);
      await alice().put(`/${ALICE_RL}`, contacts(), RL_TYPE);
      const seen = await nth(c, 2);
      c.close();
      const r1 = await alice().put(`/${ALICE_RL}`, contacts().replace('Bob', 'X'), RL_TYPE);
      await gw.gateway.store.pruneChanges({ maxAgeMs: 1, batch: 1000, now: Date.now() + 3_600_000 });
      const again = await stream(ALICE, '', { 'Last-Event-ID': seen.id! });
      expect(entries(await nth(again, 1))).toEqual([{ sel: ALICE_RL, previous: null, next: etag(r1.headers) }]);
    });

    it('an idle stream gets heartbeat comments as the clock moves', async () => {
      await start();
      const c = await stream(ALICE);
      await nth(c, 1);
      const before = c.comments.filter((x) => x === 'heartbeat').length;
      clock.advance(30_000);
      await expect.poll(() => c.comments.filter((x) => x === 'heartbeat').length, { timeout: 30_000 }).toBe(before + 1);
    });

    it('a client that stops reading does not hold up another, and gets every change once it reads again', async () => {
      await start();
      const slow = await stream(ADMIN);
      const fast = await stream(ADMIN);
      await nth(slow, 1);
      await nth(fast, 1);
      slow.pause();
      // Long paths make each event big, so the paused client's socket fills and the server must hold back.
      const n = 1500;
      const pad = 'p'.repeat(300);
      const etags = new Map<string, string>();
      for (let i = 0; i < n; i++) {
        const key = { auid: 'resource-lists', xui: 'sip:alice@example.com', path: `${pad}${i}` };
        etags.set(`resource-lists/users/sip:alice@example.com/${key.path}`, (await gw.gateway.store.put(key, '<x/>', 'any', 'test')).etag);
      }
      const lastOf = (c: SseClient) => {
        const m = new Map<string, string | null>();
        for (const e of c.events.slice(1)) for (const d of entries(e)) m.set(d.sel, d.next);
        return m;
      };
      const deadline = Date.now() + 90_000;
      while (lastOf(fast).size < n) {
        if (Date.now() > deadline) throw new Error(`fast client saw ${lastOf(fast).size} of ${n}`);
        clock.advance(coalesceMs);
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(lastOf(fast)).toEqual(etags);
      slow.resume();
      while (lastOf(slow).size < n) {
        if (Date.now() > deadline) throw new Error(`slow client saw ${lastOf(slow).size} of ${n}`);
        clock.advance(coalesceMs);
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(lastOf(slow)).toEqual(etags);
    });

    if (store === 'postgres') {
      it('a change written by another process reaches the stream (PostgreSQL NOTIFY)', async () => {
        await start();
        const c = await stream(ADMIN, `?auid=${SHARED_KEY.auid}`);
        await nth(c, 1);
        const { stdout } = await run(process.execPath, [childWriter, 'put', gw.databaseUrl!, 'child']);
        const written = (JSON.parse(stdout) as { etag: string }).etag;
        const got = entries(await nth(c, 2));
        expect(got.map((d) => d.next)).toEqual([written]);
      });
    }
  });
}
