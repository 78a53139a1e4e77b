/**
 * Webhooks (changeFeed.webhooks): every change POSTed to a real receiver on loopback,
 * signed per Standard Webhooks 1.0 and checked with the recipe docs/change-feed.md gives
 * receivers (openssl), delivered through BullMQ on the real Redis: in order per document,
 * at least once, retried with backoff while the receiver fails; failures show in the admin
 * API and in `sync status`. Every case runs on a single Redis and on a Redis Cluster
 * (test/helpers/redis-variants.ts).
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/digest-client.ts';
import { ALICE, BOB, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { AS_ADMIN } from '../http/admin-helpers.ts';
import { children, contacts, RL_TYPE, xml } from '../http/helpers.ts';
import { startServe, tempData } from '../http/serve-process.ts';
import { describeEachRedis, redisSection, redisYaml } from '../helpers/redis-variants.ts';

const run = promisify(execFile);
const ALICE_RL = '/resource-lists/users/sip:alice@example.com/index';
const BOB_RL = '/resource-lists/users/sip:bob@example.com/index';
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A webhook receiver: records every request; answers 500 while `failing` is above 0
 * (counting down), and to deliveries whose body contains `failing.only` if that is set.
 */
async function receiver(): Promise<{ url: string; got: Received[]; failing: { n: number; only?: string }; server: Server }> {
  const got: Received[] = [];
  const failing: { n: number; only?: string } = { n: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (failing.n > 0 && (failing.only === undefined || body.includes(failing.only))) {
        failing.n--;
        res.writeHead(500).end();
        return;
      }
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  return { url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/hook`, got, failing, server };
}

/** The receiver's check from docs/change-feed.md, run as written there (bash + openssl). */
async function verifiedByRecipe(r: Received, dir: string): Promise<boolean> {
  const file = join(dir, `body-${randomUUID()}.xml`);
  writeFileSync(file, r.body);
  const script = [
    'ID="$1"; TS="$2"; SECRET="$3"; BODY="$4"; SIG="$5"',
    'KEY=$(printf %s "${SECRET#whsec_}" | base64 -d | xxd -p -c 256)',
    'EXPECTED=$( { printf %s.%s. "$ID" "$TS"; cat "$BODY"; } | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KEY" -binary | base64 -w0)',
    'NOW=$(date +%s); [ $((NOW - TS)) -le 300 ] && [ $((TS - NOW)) -le 300 ] || exit 1',
    'for s in $SIG; do [ "$s" = "v1,$EXPECTED" ] && exit 0; done; exit 1',
  ].join('\n');
  const h = r.headers;
  try {
    await run('bash', ['-c', script, 'verify', String(h['webhook-id']), String(h['webhook-timestamp']), SECRET, file, String(h['webhook-signature'])]);
    return true;
  } catch {
    return false;
  }
}

function documents(body: string): Array<{ sel: string; previous: string | null; next: string | null }> {
  return children(xml(body), 'document').map((d) => ({
    sel: d.getAttribute('sel') ?? '',
    previous: d.hasAttribute('previous-etag') ? d.getAttribute('previous-etag') : null,
    next: d.hasAttribute('new-etag') ? d.getAttribute('new-etag') : null,
  }));
}

const etag = (h: Headers) => (h.get('etag') ?? '').replaceAll('"', '');

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describeEachRedis((redis) => {
  describe('webhooks: Standard Webhooks 1.0 over BullMQ', () => {
    let gw: TestGateway;
    let rcv: Awaited<ReturnType<typeof receiver>>;
    afterEach(async () => {
      await gw.stop();
      rcv.server.close();
    });

    async function start(filter: Record<string, unknown> = {}) {
      rcv = await receiver();
      gw = await startTestGateway({
        config: {
          redis: redisSection(await redis.target(), `wh-${randomUUID()}`),
          changeFeed: { webhooks: [{ name: 'hook', url: rcv.url, secret: SECRET, filter }], delivery: { backoffMs: 50, attempts: 30 } },
        },
      });
    }

    it('each change arrives signed, in order, with webhook-id = change id and its ETags; the documented check accepts it', async () => {
      await start();
      const alice = gw.client('alice', ALICE.password);
      const created = await alice.put(ALICE_RL, contacts(), RL_TYPE);
      const replaced = await alice.put(ALICE_RL, contacts().replace('Bob', 'Robert'), RL_TYPE);
      const deleted = await alice.delete(ALICE_RL);
      expect(deleted.status).toBe(200);
      await until(() => rcv.got.length >= 3, 'three deliveries');
      const sel = 'resource-lists/users/sip:alice@example.com/index';
      expect(rcv.got.map((r) => documents(r.body))).toEqual([
        [{ sel, previous: null, next: etag(created.headers) }],
        [{ sel, previous: etag(created.headers), next: etag(replaced.headers) }],
        [{ sel, previous: etag(replaced.headers), next: null }],
      ]);
      const feed = await gw.gateway.store.changes(0);
      expect(rcv.got.map((r) => r.headers['webhook-id'])).toEqual(feed.map((c) => String(c.seq)));
      for (const r of rcv.got) {
        expect(r.headers['content-type']).toBe('application/xcap-diff+xml');
        expect(await verifiedByRecipe(r, gw.dataDir)).toBe(true);
      }
      // A body changed in transit fails the same check.
      expect(await verifiedByRecipe({ ...rcv.got[0]!, body: rcv.got[0]!.body.replace('index', 'other') }, gw.dataDir)).toBe(false);
    });

    it('a failing receiver is retried with backoff; later changes to the document wait behind; failures show in the admin API and sync status', async () => {
      await start();
      rcv.failing.n = 1_000_000;
      const alice = gw.client('alice', ALICE.password);
      const etags: string[] = [];
      for (const name of ['A', 'B', 'C']) etags.push(etag((await alice.put(ALICE_RL, contacts().replace('Bob', name), RL_TYPE)).headers));
      const status = async () => {
        const r = await rawRequest('GET', `${gw.origin}/admin/sync/status`, AS_ADMIN);
        return (JSON.parse(r.body) as { hooks: Array<{ target: string; failures: number; lastError: string | null }> }).hooks;
      };
      await until(async () => ((await status())[0]?.failures ?? 0) >= 2, 'two failed attempts in the status');
      expect((await status())[0]).toMatchObject({ target: 'hook' });
      expect((await status())[0]!.lastError).toMatch(/answered 500/);
      const cfg = join(gw.dataDir, 'status.yaml');
      writeFileSync(cfg, `store: { kind: sqlite, dataDir: ${gw.dataDir} }\nchangeFeed:\n  webhooks:\n    - { name: hook, url: "${rcv.url}", secret: "${SECRET}" }\n`);
      const cli = await run(process.execPath, [resolve('bin/xcap-bridge.js'), 'sync', 'status', '--config', cfg]);
      expect(cli.stdout).toMatch(/webhook hook: FAILING \(\d+ failed attempts.*answered 500/);
      expect(rcv.got).toEqual([]);
      rcv.failing.n = 0;
      await until(() => rcv.got.length >= 3, 'the three deliveries once the receiver answers');
      expect(rcv.got.map((r) => documents(r.body)[0]!.next)).toEqual(etags);
      await until(async () => (await status())[0]?.failures === 0, 'the status back to ok');
    });

    it('an endpoint hears only what its filter covers', async () => {
      await start({ users: ['sip:bob@example.com'] });
      await gw.client('alice', ALICE.password).put(ALICE_RL, contacts(), RL_TYPE);
      const b = await gw.client('bob', BOB.password).put(BOB_RL, contacts(), RL_TYPE);
      await until(() => rcv.got.length >= 1, 'bob\'s delivery');
      // Alice's change came first in the feed; had it matched it would have been delivered by now too.
      await gw.client('bob', BOB.password).delete(BOB_RL);
      await until(() => rcv.got.length >= 2, 'bob\'s delete');
      expect(rcv.got.map((r) => documents(r.body)[0]!.sel)).toEqual(['resource-lists/users/sip:bob@example.com/index', 'resource-lists/users/sip:bob@example.com/index']);
      expect(documents(rcv.got[0]!.body)[0]!.next).toBe(etag(b.headers));
    });

    it('many documents at once: each change delivered once, in feed order per document; a failing document is retried alone, the others are not sent again', async () => {
      await start();
      const failingDoc = 'resource-lists/users/sip:u3@example.com/index';
      rcv.failing.only = `sel="${failingDoc}"`;
      rcv.failing.n = 5;
      const { store } = gw.gateway;
      const users = 40;
      // Three rounds over 40 documents, written as fast as the store takes them: the
      // dispatcher sees them in few batches, each batch one job over many documents.
      for (let round = 0; round < 3; round++) {
        await Promise.all(Array.from({ length: users }, (_, u) =>
          store.put({ auid: 'resource-lists', xui: `sip:u${u}@example.com`, path: 'index' }, `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="r${round}"/></resource-lists>`, 'any', 'test')));
      }
      const feed = await store.changes(0);
      expect(feed).toHaveLength(users * 3);
      await until(() => rcv.got.length >= feed.length, `${feed.length} deliveries (got ${rcv.got.length})`);
      const ids = rcv.got.map((r) => String(r.headers['webhook-id']));
      // Once each: no delivery repeated, the failing document's retries included.
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort()).toEqual(feed.map((c) => String(c.seq)).sort());
      expect(rcv.failing.n).toBe(0);
      // Per document, the feed's order and its ETag chain.
      const bySel = new Map<string, Array<{ id: number; previous: string | null; next: string | null }>>();
      for (const r of rcv.got) {
        const [d] = documents(r.body);
        const list = bySel.get(d!.sel) ?? [];
        list.push({ id: Number(r.headers['webhook-id']), previous: d!.previous, next: d!.next });
        bySel.set(d!.sel, list);
      }
      expect(bySel.size).toBe(users);
      for (const [sel, got] of bySel) {
        const expected = feed.filter((c) => `${c.key.auid}/users/${c.key.xui}/${c.key.path}` === sel).map((c) => ({ id: c.seq, previous: c.oldEtag, next: c.newEtag }));
        expect(got, sel).toEqual(expected);
      }
    });

    it('a receiver that is down (connection refused) gets every change once it listens again, in order', async () => {
      await start();
      const port = Number(new URL(rcv.url).port);
      await new Promise<void>((r) => rcv.server.close(() => r()));
      const alice = gw.client('alice', ALICE.password);
      const etags: string[] = [];
      for (const name of ['A', 'B', 'C']) etags.push(etag((await alice.put(ALICE_RL, contacts().replace('Bob', name), RL_TYPE)).headers));
      const status = async () => {
        const r = await rawRequest('GET', `${gw.origin}/admin/sync/status`, AS_ADMIN);
        return (JSON.parse(r.body) as { hooks: Array<{ target: string; failures: number; lastError: string | null }> }).hooks[0];
      };
      await until(async () => ((await status())?.failures ?? 0) >= 1, 'a failed attempt in the status');
      expect((await status())?.lastError).toMatch(/unreachable/);
      await new Promise<void>((r) => rcv.server.listen(port, '127.0.0.1', () => r()));
      await until(() => rcv.got.length >= 3, 'the three deliveries once the receiver listens');
      expect(rcv.got.map((r) => documents(r.body)[0]!.next)).toEqual(etags);
      expect(rcv.got).toHaveLength(3);
    });
  });

  describe('serve with a webhook configured', () => {
    it('exits 0 on SIGTERM with one process and with workers: the hooks leave no Redis connection open', async () => {
      const rcv = await receiver();
      const store = tempData();
      const cfg = join(store.data, 'hooks.yaml');
      writeFileSync(cfg, [
        redisYaml(await redis.target(), `wh-${randomUUID()}`),
        'changeFeed:',
        `  webhooks: [{ name: hook, url: "${rcv.url}", secret: "${SECRET}" }]`,
        '',
      ].join('\n'));
      for (const workers of ['1', '2']) {
        const serve = await startServe(store, ['--workers', workers, '--config', cfg]);
        await serve.logged('serving XCAP at', Number(workers));
        expect(await serve.stop()).toBe(0);
      }
      store.remove();
      rcv.server.close();
    });
  });
});
