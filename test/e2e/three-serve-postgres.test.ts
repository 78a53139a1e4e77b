/**
 * Past one process (docs/scaling.md): three `serve` replicas on one PostgreSQL, as behind a
 * load balancer. Conditional writes stay atomic across them (RFC 4825 §7.11: of 20 If-Match
 * PUTs with one ETag exactly one wins), the change feed holds every change exactly once
 * whichever replica made it, and killing one replica with SIGKILL mid-write loses no write
 * it answered 2xx; with a push binding on every replica (one sync Redis: a single one, then
 * a 6-node Redis Cluster), each change of a document reaches the remote table exactly once.
 * Each replica runs one process (`--workers 1`) so the test stays light; the workers of one
 * replica share its writes through the primary (test/e2e/serve-sigkill).
 */
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { triggerDdl } from '../../connectors/sql/table/triggers.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { tempDir } from '../services/process.ts';
import { freshPostgresDatabase } from '../services/databases.ts';
import { addUser, startServe, type ServeProcess } from '../http/serve-process.ts';
import { ALICE_XUI, RL_TYPE } from '../http/helpers.ts';
import { describeEachRedis, redisYaml } from '../helpers/redis-variants.ts';
import { SseClient } from '../helpers/sse-client.ts';

const auth = `Basic ${Buffer.from('alice:secret').toString('base64')}`;
const doc = (name: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="${name}"/></resource-lists>\n`;
const docUrl = (url: string, path: string) => `${url}/resource-lists/users/${ALICE_XUI}/${path}`;

function put(url: string, path: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(docUrl(url, path), { method: 'PUT', headers: { Authorization: auth, 'Content-Type': RL_TYPE, ...headers }, body });
}

/** A phone's poll: GET with If-None-Match. */
function poll(url: string, path: string, etag: string): Promise<Response> {
  return fetch(docUrl(url, path), { headers: { Authorization: auth, 'If-None-Match': etag } });
}

describe('three serve replicas on one PostgreSQL', () => {
  let databaseUrl: string;
  let replicas: ServeProcess[];
  beforeAll(async () => {
    databaseUrl = await freshPostgresDatabase(inject('services').postgres, 'three');
    await addUser({ databaseUrl }, ALICE_XUI, 'secret');
    await addUser({ databaseUrl }, 'sip:admin@example.com', 'admin-secret', true);
    replicas = await Promise.all([0, 1, 2].map(() => startServe({ databaseUrl }, ['--workers', '1'], { XCAP_BRIDGE_NONCE_SECRET: 'shared-secret-of-the-replicas' })));
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
  });

  it('20 If-Match PUTs of one ETag spread over the three: exactly one wins, 19 get 412', async () => {
    const first = await put(replicas[0]!.url, 'race', doc('start'));
    expect(first.status).toBe(201);
    const etag = first.headers.get('etag') as string;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => put(replicas[i % 3]!.url, 'race', doc(`writer${i}`), { 'If-Match': etag })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 412)).toHaveLength(19);
    const winner = statuses.indexOf(200);
    for (const r of replicas) {
      const got = await fetch(docUrl(r.url, 'race'), { headers: { Authorization: auth } });
      expect(await got.text()).toBe(doc(`writer${winner}`));
    }
  });

  it('every write through any replica is in the change feed exactly once', async () => {
    const store = await openPostgresStore(databaseUrl);
    try {
      const from = await store.lastSeq();
      const answered = await Promise.all(
        Array.from({ length: 60 }, async (_, i) => {
          const r = await put(replicas[i % 3]!.url, `feed${i % 6}`, doc(`v${i}`));
          expect([200, 201]).toContain(r.status);
          return (r.headers.get('etag') as string).slice(1, -1);
        }),
      );
      const feed = await store.changes(from, 1000);
      const etags = feed.map((c) => c.newEtag);
      expect(new Set(feed.map((c) => c.seq)).size).toBe(feed.length);
      expect(etags.sort()).toEqual([...answered].sort());
    } finally {
      await store.close();
    }
  });

  it("a poll at one replica gets another replica's write once its change feed has it (its /xcap-diff stream shows it)", async () => {
    const [a, b] = replicas as [ServeProcess, ServeProcess];
    const e1 = (await put(a.url, 'poll', doc('v1'))).headers.get('etag') as string;
    // The first poll reads the ETag from the database, the second is answered from the kept one.
    expect((await poll(a.url, 'poll', e1)).status).toBe(304);
    expect((await poll(a.url, 'poll', e1)).status).toBe(304);
    const stream = await SseClient.open(`${new URL(a.url).origin}/xcap-diff`, { username: 'alice', password: 'secret' });
    try {
      await expect.poll(() => stream.events.length, { timeout: 60_000 }).toBeGreaterThan(0);
      const e2 = (await put(b.url, 'poll', doc('v2'))).headers.get('etag') as string;
      await expect.poll(() => stream.events.some((e) => e.data.includes(`new-etag="${e2.slice(1, -1)}"`)), { timeout: 60_000 }).toBe(true);
      const after = await poll(a.url, 'poll', e1);
      expect(after.status).toBe(200);
      expect(after.headers.get('etag')).toBe(e2);
      expect(await after.text()).toBe(doc('v2'));
    } finally {
      stream.close();
    }
  });

  it('the writer sees its own write at once on every replica: its new ETag, the new body, its DELETE', async () => {
    const [a, b, c] = replicas as [ServeProcess, ServeProcess, ServeProcess];
    const e1 = (await put(a.url, 'own', doc('v1'))).headers.get('etag') as string;
    for (const r of [a, b, c]) expect((await poll(r.url, 'own', e1)).status).toBe(304);
    const e2 = (await put(b.url, 'own', doc('v2'))).headers.get('etag') as string;
    // No replica waits for its change feed: an ETag other than the kept one, or a plain GET, asks the database.
    for (const r of [a, c]) {
      expect((await poll(r.url, 'own', e2)).status).toBe(304);
      const got = await fetch(docUrl(r.url, 'own'), { headers: { Authorization: auth } });
      expect(got.headers.get('etag')).toBe(e2);
      expect(await got.text()).toBe(doc('v2'));
    }
    // The replica that deleted it answers the next poll 404, whatever ETag it kept.
    expect((await fetch(docUrl(c.url, 'own'), { method: 'DELETE', headers: { Authorization: auth } })).status).toBe(200);
    expect((await poll(c.url, 'own', e2)).status).toBe(404);
  });

  it('one replica killed with SIGKILL while clients write to all three: no write answered 2xx is lost', async () => {
    const WRITERS = 12;
    const acked = new Array<number>(WRITERS).fill(0);
    let total = 0;
    let enough!: () => void;
    const killNow = new Promise<void>((r) => (enough = r));
    const victim = replicas[2] as ServeProcess;
    const writer = async (i: number) => {
      const url = replicas[i % 3]!.url;
      for (let v = 1; v <= 400; v++) {
        let res: Response;
        try {
          res = await put(url, `kill${i}`, doc(`v${v}`));
        } catch {
          return; // its replica is gone
        }
        expect([200, 201]).toContain(res.status);
        acked[i] = v;
        if (++total === 150) enough();
        // Writers on the surviving replicas go on for a while after the kill, then stop.
        if (total >= stopAt) return;
      }
    };
    let stopAt = Infinity;
    const writers = Array.from({ length: WRITERS }, (_, i) => writer(i));
    await killNow;
    victim.proc.kill('SIGKILL');
    stopAt = total + 100;
    await Promise.all(writers);
    for (let i = 0; i < WRITERS; i++) {
      expect(acked[i]).toBeGreaterThan(0);
      const reader = replicas[i % 3 === 2 ? 0 : i % 3]!.url;
      const got = await fetch(docUrl(reader, `kill${i}`), { headers: { Authorization: auth } });
      const stored = Number(/name="v(\d+)"/.exec(await got.text())?.[1]);
      // The answered version, or the next one if it was committed but its answer died with the replica.
      expect([acked[i], (acked[i] as number) + 1]).toContain(stored);
    }
    replicas[2] = await startServe({ databaseUrl }, ['--workers', '1'], { XCAP_BRIDGE_NONCE_SECRET: 'shared-secret-of-the-replicas' });
  });

  // Last: alice's password stays changed.
  it("a password changed through one replica's admin API works at once on the others, which had the old one cached", async () => {
    const basic = (pw: string) => `Basic ${Buffer.from(`alice:${pw}`).toString('base64')}`;
    const get = (url: string, pw: string) => fetch(docUrl(url, 'race'), { headers: { Authorization: basic(pw) } });
    for (const r of replicas) expect((await get(r.url, 'secret')).status).toBe(200);
    const changed = await fetch(`${new URL(replicas[0]!.url).origin}/admin/users/${encodeURIComponent(ALICE_XUI)}/password`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from('admin:admin-secret').toString('base64')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ password: 'secret-2' }),
    });
    expect(changed.status).toBe(204);
    for (const r of replicas) expect((await get(r.url, 'secret-2')).status).toBe(200);
    // The replica that made the change forgets the old password at once (the others within a second: test/auth/user-changes.test.ts).
    expect((await get(replicas[0]!.url, 'secret')).status).toBe(401);
  });
});

describeEachRedis((redis) => {
  describe('three serve replicas on one PostgreSQL and one sync Redis, each running sync', () => {
    const dir = tempDir('three-sync');
    let databaseUrl: string;
    let db: pg.Client;
    let replicas: ServeProcess[] = [];
    beforeAll(async () => {
      databaseUrl = await freshPostgresDatabase(inject('services').postgres, 'three_sync');
      db = new pg.Client({ connectionString: databaseUrl });
      await db.connect();
      // The remote: a contacts table with an owner column, its triggers installed as `sql install-triggers` does.
      await db.query('CREATE TABLE contacts (id BIGSERIAL PRIMARY KEY, version BIGINT NOT NULL DEFAULT 0, owner_xui TEXT NOT NULL, sip_uri TEXT NOT NULL, name TEXT)');
      for (const stmt of triggerDdl('postgres', { table: 'contacts', key: 'id', version: 'version', owner: 'owner_xui' })) await db.query(stmt);
      const config = join(dir, 'xcap-bridge.yaml');
      writeFileSync(config, [
        redisYaml(await redis.target(), `three-${randomUUID()}`),
        'connectors:',
        `  crm: { kind: sql, url: "${databaseUrl}", table: contacts, owner: owner_xui, columns: { uri: sip_uri, display-name: name } }`,
        'bindings:',
        '  - { name: crm, auid: resource-lists, target: { scope: users, document: index }, mapping: { kind: resource-lists, list: friends },',
        '      connector: crm, collection: "contacts/{xui}", direction: push }',
        '',
      ].join('\n'));
      await addUser({ databaseUrl }, ALICE_XUI, 'secret');
      replicas = await Promise.all([0, 1, 2].map(() => startServe({ databaseUrl }, ['--workers', '1', '--config', config], { XCAP_BRIDGE_NONCE_SECRET: 'shared-secret-of-the-replicas' })));
    });
    afterAll(async () => {
      await Promise.all(replicas.map((r) => r.stop()));
      await db?.end();
      rmSync(dir, { recursive: true, force: true });
    });

    const friends = (n: number) =>
      `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="friends">${Array.from({ length: n }, (_, i) => `<entry uri="sip:friend${i}@example.com"><display-name>Friend ${i}</display-name></entry>`).join('')}</list></resource-lists>\n`;
    const rows = async () => (await db.query<{ sip_uri: string; name: string }>('SELECT sip_uri, name FROM contacts WHERE owner_xui = $1 ORDER BY id', [ALICE_XUI])).rows;

    async function until(what: string, check: () => Promise<boolean>): Promise<void> {
      const guard = Date.now() + 90_000;
      while (!(await check())) {
        if (Date.now() > guard) throw new Error(`timed out waiting for ${what}; rows: ${JSON.stringify(await rows())}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    it('30 edits of one document through the three replicas: each entry is one row of the remote, none twice, the last edit there', async () => {
      for (let n = 1; n <= 30; n++) {
        const r = await put(replicas[n % 3]!.url, 'index', friends(n));
        expect([200, 201]).toContain(r.status);
      }
      await until('30 rows', async () => (await rows()).length >= 30);
      // A last edit after the others have been taken: when it is there, every earlier run has ended.
      const renamed = friends(30).replace('>Friend 0<', '>Friend Zero<');
      expect((await put(replicas[1]!.url, 'index', renamed)).status).toBe(200);
      await until('the rename', async () => (await rows()).some((r) => r.name === 'Friend Zero'));
      const got = await rows();
      expect(got).toHaveLength(30);
      expect(new Set(got.map((r) => r.sip_uri)).size).toBe(30);
      expect(got.map((r) => r.sip_uri).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `sip:friend${i}@example.com`).sort());
      // The engine's own record: one item per entry.
      const items = await db.query<{ n: string }>("SELECT COUNT(*) AS n FROM sync_items WHERE binding = 'crm' AND scope = $1", [ALICE_XUI]);
      expect(Number(items.rows[0]?.n)).toBe(30);
    });
  });
});
