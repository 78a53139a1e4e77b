/**
 * LDAP → XCAP through the whole gateway (issue 5 §8), on a throwaway slapd and Redis and
 * the in-process gateway with a SQLite store, one pull binding into
 * `resource-lists/global/directory`. For each directory size:
 * 1. initial import: from enqueueing the binding to the run having written the document
 *    (checked complete over HTTP afterwards) — target 10,000 < 5 s, 100,000 < 60 s;
 * 2. an unchanged run (runSync on the same store and state; one contextCSN read) —
 *    target < 50 ms;
 * 3. one changed LDAP entry visible over XCAP (GET of its display-name) after a tick
 *    (the tick = enqueueing the binding, as the job scheduler does) — target < 2 s.
 *
 *   npx node bench/ldap-sync.ts [count ...]      (default: 10000 100000)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change } from 'ldapts';
import { LocalUsers } from '../src/auth/local-users.ts';
import { configSchema } from '../src/config/schema.ts';
import { startGateway } from '../src/gateway.ts';
import { createLogger } from '../src/log.ts';
import { compileBinding } from '../src/sync/binding.ts';
import { createConnectors } from '../src/connectors.ts';
import { runSync } from '../src/sync/runner.ts';
import { SyncState } from '../src/sync/state.ts';
import { freshOu, ldapadd, PASSWORD_ENV, peopleLdif } from '../test/connectors/ldap-fixtures.ts';
import { XcapClient } from '../test/helpers/digest-client.ts';
import { startRedis } from '../test/services/redis.ts';
import { startSlapd } from '../test/services/slapd.ts';

const counts = process.argv.slice(2).map(Number);
if (counts.length === 0) counts.push(10_000, 100_000);
const TARGET_IMPORT_MS: Record<number, number> = { 10_000: 5000, 100_000: 60_000 };
const TARGET_UNCHANGED_MS = 50;
const TARGET_VISIBLE_MS = 2000;
const BINDING = 'bench-directory';
const DOC = '/resource-lists/global/directory';

function line(label: string, ms: number, target: number | undefined): void {
  const ratio = target === undefined ? '' : `  target ${target} ms, ratio ${(ms / target).toFixed(3)} (${ms <= target ? 'met' : 'MISSED'})`;
  console.log(`  ${label.padEnd(44)} ${ms.toFixed(1).padStart(9)} ms${ratio}`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const [slapd, redis] = await Promise.all([startSlapd(), startRedis()]);
process.env[PASSWORD_ENV] = slapd.password;
try {
  for (const count of counts) {
    console.log(`directory of ${count} entries`);
    const ou = await freshOu(slapd);
    let started = performance.now();
    await ldapadd(slapd, peopleLdif(ou.dn, count));
    line('ldapadd (set-up, not a target)', performance.now() - started, undefined);

    const dir = mkdtempSync(join(tmpdir(), 'xcapb-bench-'));
    const config = configSchema.parse({
      server: { host: '127.0.0.1', port: 0 },
      store: { kind: 'sqlite', dataDir: dir },
      log: { level: 'silent' },
      auth: { defaultDomain: 'example.com' },
      redis: { url: redis.url, prefix: `bench-${count}-${Date.now()}` },
      connectors: {
        corp: {
          kind: 'ldap', url: slapd.url, bindDn: slapd.bindDn, bindPasswordEnv: PASSWORD_ENV, baseDn: ou.dn,
          mapping: { uri: 'sip:{uid}@{domain}', constants: { domain: 'example.com' }, defaultCountry: 'DE', fields: { mail: 'mail' } },
        },
      },
      bindings: [{
        name: BINDING, auid: 'resource-lists', target: { scope: 'global', document: 'directory' },
        mapping: { kind: 'resource-lists', list: 'directory', fields: ['mail'] }, connector: 'corp', collection: ou.dn, direction: 'pull',
      }],
    });
    const gw = await startGateway(config, createLogger('silent'));
    const users = await LocalUsers.open(gw.store.sql);
    await users.add('sip:alice@example.com', 'alice-secret');
    const alice = new XcapClient(gw.url, { username: 'alice', password: 'alice-secret' });
    const state = await SyncState.open(gw.store.sql);
    try {
      // 1. Initial import.
      started = performance.now();
      await gw.sync!.enqueue(BINDING);
      for (;;) {
        const s = await state.getScope(BINDING, 'global');
        if (s?.lastOkAt != null) break;
        if (s?.lastError) throw new Error(`sync failed: ${s.lastError}`);
        await sleep(5);
      }
      line('initial import into XCAP', performance.now() - started, TARGET_IMPORT_MS[count]);
      const res = await alice.get(DOC);
      const entries = res.body.split('<entry ').length - 1;
      if (res.status !== 200 || entries !== count) throw new Error(`GET ${DOC}: ${res.status}, ${entries} entries, expected ${count}`);
      console.log(`  GET ${DOC}: ${entries} entries, ${(res.body.length / 1e6).toFixed(1)} MB`);

      // 2. Unchanged runs, outside the queue (the worker is idle: nothing is enqueued).
      const connectors = await createConnectors(config.connectors);
      const connector = connectors.get('corp')!;
      const binding = compileBinding(config.bindings[0]!);
      const times: number[] = [];
      for (let i = 0; i < 11; i++) {
        started = performance.now();
        const report = await runSync({ store: gw.store, state, connector }, binding, 'global');
        times.push(performance.now() - started);
        if (report.outcome !== 'unchanged') throw new Error(`expected an unchanged run, got ${report.outcome}`);
      }
      await connector.close();
      line('unchanged run (median of 11)', median(times), TARGET_UNCHANGED_MS);

      // 3. One changed entry, visible over XCAP after a tick.
      const visible: number[] = [];
      for (let i = 0; i < 5; i++) {
        const uid = `p${(i * 7919) % count}`;
        const name = `Changed ${i}`;
        await ou.admin.modify(`uid=${uid},${ou.dn}`, [new Change({ operation: 'replace', modification: new Attribute({ type: 'displayName', values: [name] }) })]);
        const path = `${DOC}/~~/resource-lists/list%5B@name=%22directory%22%5D/entry%5B@uri=%22sip:${uid}@example.com%22%5D/display-name`;
        started = performance.now();
        await gw.sync!.enqueue(BINDING);
        for (;;) {
          const r = await alice.get(path);
          if (r.status === 200 && r.body.includes(name)) break;
          if (performance.now() - started > 30_000) throw new Error(`change of ${uid} not visible after 30 s`);
          await sleep(2);
        }
        visible.push(performance.now() - started);
      }
      line(`changed entry visible (median of 5, max ${Math.max(...visible).toFixed(0)} ms)`, median(visible), TARGET_VISIBLE_MS);
    } finally {
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
      await ou.drop();
    }
  }
} finally {
  await Promise.all([slapd.stop(), redis.stop()]);
}
