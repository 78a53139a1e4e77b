/**
 * A real Kamailio presence server refreshed by xcap-bridge: sipp (bob) SUBSCRIBEs to alice;
 * alice PUTs pres-rules that block bob over XCAP; the refresh hook calls Kamailio's JSON-RPC
 * (presence.updateWatchers, then presence.refreshWatchers) and Kamailio ends bob's
 * subscription with a NOTIFY. The calls are checked in Kamailio's own log of the requests it
 * received and by its answers, the NOTIFYs in sipp's message trace. All waiting is on
 * protocol events with generous limits, never on time. The hook's calls are BullMQ jobs:
 * every case runs against a single Redis and against a 6-node Redis Cluster.
 *
 * What cannot run here: Kamailio 5.6's xcap_client cannot fetch a document from any HTTP
 * server. Its libcurl header callback returns 0 for every header line but `Etag:`, so
 * libcurl aborts each GET at the status line (CURLE_WRITE_ERROR, logged as "send_http_get():
 * while performing curl option"; the test "xcap_client cannot fetch" below shows it). So
 * the test plays xcap_client's part: before each PUT it stores the document, exactly as
 * xcap-bridge will serve it, in Kamailio's `xcap` table, where presence_xml
 * (integrated_xcap_server=0) looks first. Kamailio reads that table only when told to
 * (the hook), so a NOTIFY after the PUT is the hook's doing.
 */
import { spawn } from 'node:child_process';
import pg from 'pg';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { rawRequest } from '../helpers/digest-client.ts';
import { ADMIN, ALICE, BOB, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { AS_ADMIN } from '../http/admin-helpers.ts';
import { contacts, CP_NS, PR_NS, RL_TYPE, RLS_TYPE, services } from '../http/helpers.ts';
import { startKamailio, type StartedKamailio } from '../services/kamailio.ts';
import { freePort, tempDir } from '../services/process.ts';
import { describeEachRedis, redisSection } from '../helpers/redis-variants.ts';

const SCENARIO = fileURLToPath(new URL('./sipp/bob-subscribes-to-alice.xml', import.meta.url));
const RULES = '/pres-rules/users/sip:alice@example.com/index';
const POLICY = 'application/auth-policy+xml';
const KAMAILIO_USER = { xui: 'sip:kamailio@example.com', password: 'kamailio-secret', admin: true };

function rules(handling: 'allow' | 'block'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns:cr="${CP_NS}" xmlns:pr="${PR_NS}">
  <cr:rule id="bob">
    <cr:conditions><cr:identity><cr:one id="sip:bob@example.com"/></cr:identity></cr:conditions>
    <cr:actions><pr:sub-handling>${handling}</pr:sub-handling></cr:actions>
    <cr:transformations><pr:provide-services><pr:all-services/></pr:provide-services><pr:provide-all-attributes/></cr:transformations>
  </cr:rule>
</cr:ruleset>
`;
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stores alice's pres-rules in Kamailio's `xcap` table as xcap_client would after a GET (doc_type 2 = pres-rules). */
async function storeInXcapTable(dbUrl: string, xcapPort: number, body: string): Promise<void> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    const uri = `127.0.0.1/xcap-root${RULES}`;
    await c.query('DELETE FROM xcap WHERE doc_uri = $1', [uri]);
    await c.query("INSERT INTO xcap (username, domain, doc, doc_type, etag, source, doc_uri, port) VALUES ('alice', 'example.com', $1, 2, $2, 4, $3, $4)", [
      Buffer.from(body), randomUUID(), uri, xcapPort,
    ]);
  } finally {
    await c.end();
  }
}

/**
 * bob as sipp, SUBSCRIBEd to alice's presence through Kamailio (the scenario waits for the
 * NOTIFY that ends the subscription): its exit code, the NOTIFYs in its trace so far, the end
 * of its output.
 */
async function subscribeBob(kam: StartedKamailio, dir: string): Promise<{ exited: Promise<number | null>; notifies: () => string[]; output: () => string }> {
  const trace = join(dir, 'bob.msg');
  const sipp = spawn('setpriv', ['--pdeathsig', 'SIGKILL', 'sipp', `127.0.0.1:${kam.sipPort}`, '-sf', SCENARIO, '-m', '1', '-i', '127.0.0.1', '-p', String(await freePort()),
    '-trace_msg', '-message_file', trace, '-timeout', '300s', '-nostdin'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (b: Buffer) => (output = (output + b.toString()).slice(-4000));
  sipp.stdout.on('data', keep);
  sipp.stderr.on('data', keep);
  const exited = new Promise<number | null>((r) => sipp.once('exit', (code) => r(code)));
  return { exited, notifies: () => notifies(existsSync(trace) ? readFileSync(trace, 'utf8') : ''), output: () => output };
}

/** The NOTIFY requests in sipp's message trace, each as its header block. */
function notifies(trace: string): string[] {
  return trace.split(/\n(?=NOTIFY sip:)/).filter((m) => m.startsWith('NOTIFY sip:')).map((m) => m.split(/\r?\n\r?\n/)[0] ?? '');
}

describeEachRedis((redis) => {
  describe('Kamailio presence server refreshed by xcap-bridge (JSON-RPC over xhttp)', () => {
    let gw: TestGateway;
    let kam: StartedKamailio;
    const ports = { sip: 0, http: 0 };

    beforeAll(async () => {
      ports.sip = await freePort();
      ports.http = await freePort();
      gw = await startTestGateway({
        users: [ALICE, BOB, ADMIN, KAMAILIO_USER],
        config: {
          redis: redisSection(await redis.target(), `kam-${randomUUID()}`),
          changeFeed: { presenceServers: [{ name: 'kamailio', kind: 'kamailio', url: `http://127.0.0.1:${ports.http}/RPC`, coalesceMs: 50 }], delivery: { backoffMs: 200 } },
        },
      });
      kam = await startKamailio({
        postgres: inject('services').postgres,
        ports,
        xcap: { host: '127.0.0.1', root: '/xcap-root', port: gw.gateway.port, login: 'kamailio', password: KAMAILIO_USER.password },
      });
    });
    afterAll(async () => {
      await gw?.stop();
      await kam?.stop();
    });

    it('a pres-rules PUT that blocks bob ends his live subscription: NOTIFY with Subscription-State terminated', async () => {
      const alice = gw.client('alice', ALICE.password);
      await storeInXcapTable(kam.dbUrl, gw.gateway.port, rules('allow'));
      expect((await alice.put(RULES, rules('allow'), POLICY)).status).toBe(201);
      const bob = await subscribeBob(kam, tempDir('sipp'));
      // Kamailio read the rules (allow) and let bob in.
      await until(() => bob.notifies().length >= 1, `the first NOTIFY (sipp: ${bob.output()}; kamailio: ${kam.log().slice(-2000)})`);
      expect(bob.notifies()[0], kam.log().slice(-6000)).toMatch(/Subscription-State: active/i);
      await storeInXcapTable(kam.dbUrl, gw.gateway.port, rules('block'));
      expect((await alice.put(RULES, rules('block'), POLICY)).status).toBe(200);
      const code = await bob.exited;
      expect(code, `sipp: ${bob.output()}`).toBe(0);
      const second = bob.notifies()[1];
      expect(second).toMatch(/Subscription-State: terminated/i);
      // What Kamailio received, from its own log of each JSON-RPC request, in order.
      const log = kam.log();
      const update = log.indexOf('"method":"presence.updateWatchers","params":["sip:alice@example.com","presence"]');
      const refresh = log.indexOf('"method":"presence.refreshWatchers","params":["sip:alice@example.com","presence",0]');
      expect(update, log.slice(-3000)).toBeGreaterThan(-1);
      expect(refresh).toBeGreaterThan(update);
      // Kamailio answered without an error: the hook's status is ok.
      const status = JSON.parse((await rawRequest('GET', `${gw.origin}/admin/sync/status`, AS_ADMIN)).body) as { hooks: Array<{ target: string; failures: number; lastOkAt: number | null }> };
      expect(status.hooks.find((h) => h.target === 'kamailio')).toMatchObject({ failures: 0 });
    });

    it('a pidf-manipulation PUT reaches Kamailio as presence.refreshWatchers type 2 with the document\'s URI and name', async () => {
      // What Kamailio 5.6 then does with it is its own: with watchers it fetches the document
      // through xcap_client, which cannot fetch over HTTP (see the test at the end).
      const alice = gw.client('alice', ALICE.password);
      const path = '/pidf-manipulation/users/sip:alice@example.com/index';
      const call = `"method":"presence.refreshWatchers","params":["sip:alice@example.com","presence",2,"${gw.origin}/xcap-root${path}","index"]`;
      const pidf = '<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="desk"><status><basic>open</basic></status></tuple></presence>';
      expect((await alice.put(path, pidf, 'application/pidf+xml')).status).toBe(201);
      await until(() => kam.log().includes(call), `presence.refreshWatchers type 2 in Kamailio's log (${kam.log().slice(-2000)})`);
    });

    it('a resource-lists PUT and an rls-services PUT each reach Kamailio\'s rls module as rls.update_subs, answered without an error', async () => {
      const alice = gw.client('alice', ALICE.password);
      const call = '"method":"rls.update_subs","params":["sip:alice@example.com","presence"]';
      const calls = () => kam.log().split(call).length - 1;
      const hook = async () => {
        const body = JSON.parse((await rawRequest('GET', `${gw.origin}/admin/sync/status`, AS_ADMIN)).body) as { hooks: Array<{ target: string; failures: number; lastOkAt: number | null }> };
        return body.hooks.find((h) => h.target === 'kamailio');
      };
      expect((await alice.put('/resource-lists/users/sip:alice@example.com/index', contacts(), RL_TYPE)).status).toBe(201);
      await until(() => calls() >= 1, `rls.update_subs in Kamailio's log (${kam.log().slice(-2000)})`);
      expect((await alice.put('/rls-services/users/sip:alice@example.com/index', services(['sip:alice-friends@example.com', '<list><rl:entry uri="sip:bob@example.com"/></list>']), RLS_TYPE)).status).toBe(201);
      await until(() => calls() >= 2, 'the second rls.update_subs in Kamailio\'s log');
      // jsonRpc fails the job on a JSON-RPC error (an unloaded module answers "Method Not Found"):
      // a status without failures after both calls is Kamailio's rls module answering them.
      await until(async () => (await hook())?.lastOkAt !== null && (await hook())?.failures === 0, 'the hook status ok', 60_000);
      expect(kam.log()).not.toMatch(/rls[^\n]*ERROR/);
    });

    it('Kamailio down: XCAP keeps serving, the call is retried with backoff and reaches Kamailio once it is back', async () => {
      await kam.stop();
      const alice = gw.client('alice', ALICE.password);
      expect((await alice.put(RULES, rules('allow'), POLICY)).status).toBe(200);
      expect((await alice.get(RULES)).status).toBe(200);
      const hook = async () => {
        const body = JSON.parse((await rawRequest('GET', `${gw.origin}/admin/sync/status`, AS_ADMIN)).body) as { hooks: Array<{ target: string; failures: number; lastError: string | null }> };
        return body.hooks.find((h) => h.target === 'kamailio');
      };
      await until(async () => ((await hook())?.failures ?? 0) >= 2, 'failed attempts in the status');
      expect((await hook())?.lastError).toMatch(/unreachable/);
      kam = await startKamailio({ postgres: inject('services').postgres, ports, dbUrl: kam.dbUrl, xcap: { host: '127.0.0.1', root: '/xcap-root', port: gw.gateway.port, login: 'kamailio', password: KAMAILIO_USER.password } });
      await until(() => kam.log().includes('"method":"presence.updateWatchers","params":["sip:alice@example.com","presence"]'), 'the retried call in the restarted Kamailio\'s log');
      await until(async () => (await hook())?.failures === 0, 'the status back to ok');
    });

    // Last: the hook's calls for carol fail (Kamailio cannot fetch) and are retried for a while,
    // which would show in the hook status the tests above read.
    it('xcap_client cannot fetch: Kamailio 5.6 aborts its own GET of a document xcap-bridge serves (why the table is fed by hand above)', async () => {
      const other = '/pres-rules/users/sip:carol@example.com/index';
      await gw.users.add('sip:carol@example.com', 'carol-secret');
      expect((await gw.client('carol', 'carol-secret').put(other, rules('allow'), POLICY)).status).toBe(201);
      const before = (kam.log().match(/send_http_get\(\): while performing curl option/g) ?? []).length;
      const r = await fetch(kam.rpcUrl, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', method: 'presence.updateWatchers', params: ['sip:carol@example.com', 'presence'], id: 1 }) });
      expect(((await r.json()) as { error?: { message: string } }).error?.message).toBe('Processing error');
      await until(() => (kam.log().match(/send_http_get\(\): while performing curl option/g) ?? []).length > before, 'the failed fetch in the log');
    });
  });

  /**
   * Side by side with a legacy Kamailio (docs/migration.md): presence_xml with
   * integrated_xcap_server=1 reads pres-rules from its own `xcap` table, which the legacy
   * mirror writes after each store change. The refresh must reach Kamailio after the row is
   * written: here the row is locked by another transaction when alice PUTs the blocking rules,
   * so the mirror's write waits; a refresh sent meanwhile would make Kamailio re-read the old
   * (allowing) rules and NOTIFY bob as active. Only once the lock goes is the row written and
   * Kamailio refreshed, so the NOTIFY after the PUT is the terminating one.
   */
  describe('legacy Kamailio fed by the mirror, refreshed after the legacy row is written', () => {
    it('pres-rules PUT → mirror writes the xcap row (held by a lock) → refresh after it → bob terminated, no NOTIFY from the old rules; a legacy edit refreshes too', async () => {
      const kam = await startKamailio({ postgres: inject('services').postgres });
      const gw = await startTestGateway({
        users: [ALICE, BOB, ADMIN],
        config: {
          redis: redisSection(await redis.target(), `kaml-${randomUUID()}`),
          legacy: { url: kam.dbUrl, dialect: 'kamailio', direction: 'both', pollMs: 100 },
          changeFeed: { presenceServers: [{ name: 'kamailio', kind: 'kamailio', url: kam.rpcUrl, coalesceMs: 0 }], delivery: { backoffMs: 200 } },
        },
      });
      const db = new pg.Client({ connectionString: kam.dbUrl });
      await db.connect();
      const docUri = `/xcap-root${RULES}`;
      const row = async () => (await db.query<{ doc: Buffer }>('SELECT doc FROM xcap WHERE doc_uri = $1', [docUri])).rows[0]?.doc.toString('utf8');
      const dir = tempDir('sipp-legacy');
      try {
        const alice = gw.client('alice', ALICE.password);
        expect((await alice.put(RULES, rules('allow'), POLICY)).status).toBe(201);
        await until(async () => (await row()) === rules('allow'), 'the mirror to write the allowing rules');
        const bob = await subscribeBob(kam, dir);
        await until(() => bob.notifies().length >= 1, `the first NOTIFY (sipp: ${bob.output()}; kamailio: ${kam.log().slice(-2000)})`);
        expect(bob.notifies()[0], kam.log().slice(-4000)).toMatch(/Subscription-State: active/i);
        // Another client holds the row: the mirror's write of the next PUT waits for it.
        const locker = new pg.Client({ connectionString: kam.dbUrl });
        await locker.connect();
        await locker.query('BEGIN');
        await locker.query('SELECT 1 FROM xcap WHERE doc_uri = $1 FOR UPDATE', [docUri]);
        expect((await alice.put(RULES, rules('block'), POLICY)).status).toBe(200);
        await until(async () => (await db.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")).rows[0]?.n !== '0', 'the mirror to wait for the lock');
        await locker.query('COMMIT');
        await locker.end();
        expect(await bob.exited, `sipp: ${bob.output()}`).toBe(0);
        expect(await row()).toBe(rules('block'));
        expect(bob.notifies()).toHaveLength(2);
        expect(bob.notifies()[1]).toMatch(/Subscription-State: terminated/i);
        const update = '"method":"presence.updateWatchers","params":["sip:alice@example.com","presence"]';
        const updates = () => kam.log().split(update).length - 1;
        expect(updates()).toBeGreaterThan(0);
        // An edit made through the legacy server comes back to XCAP and refreshes Kamailio too.
        const before = updates();
        await db.query("UPDATE xcap SET doc = $1, etag = 'sr-legacy-edit' WHERE doc_uri = $2", [Buffer.from(rules('allow')), docUri]);
        await until(async () => (await alice.get(RULES)).body === rules('allow'), 'the legacy edit over XCAP');
        await until(() => updates() > before, 'the refresh after the legacy edit');
      } finally {
        await db.end();
        await gw.stop();
        await kam.stop();
      }
    });
  });
});
