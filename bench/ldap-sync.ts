/**
 * LDAP → XCAP through the whole gateway (issue 5 §8, issue 9 §4): throwaway slapd and Redis,
 * the in-process gateway with a SQLite store, one pull binding of the directory into every
 * user's `resource-lists/users/<xui>/index` (`--users N`, default 3; `--users 0` binds
 * `resource-lists/global/directory` instead). For each directory size:
 * 1. initial import: from enqueueing the binding (one tick) to every user's run having
 *    written its document (checked complete over HTTP afterwards), `--rounds R` times on a
 *    fresh gateway — target 10,000 < 5 s, 100,000 < 60 s, every round;
 * 2. an unchanged run (runSync on the same store and state; one contextCSN read) —
 *    target < 50 ms; and the id-only listing a delete scan makes (`deleteScanIntervalMs`);
 * 3. one changed LDAP entry visible over XCAP on every user's phone (GET of its
 *    display-name) after a tick (the tick = enqueueing the binding, as the job scheduler
 *    does) — target < 2 s, every time.
 * Failed sync jobs (a retry each, e.g. "paged results cookie is invalid") are counted.
 *
 *   npx node bench/ldap-sync.ts [count ...] [--users N] [--rounds R]      (default: 10000 100000, 3 users, 3 rounds)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { Attribute, Change } from 'ldapts';
import { pino, type Logger } from 'pino';
import { LocalUsers } from '../src/auth/local-users.ts';
import { configSchema } from '../src/config/schema.ts';
import { startGateway } from '../src/gateway.ts';
import { compileBinding, GLOBAL_SCOPE } from '../src/sync/binding.ts';
import { connectorReadOptions, createConnectors } from '../src/connectors.ts';
import { runSync } from '../src/sync/runner.ts';
import { SyncState } from '../src/sync/state.ts';
import { freshOu, ldapadd, PASSWORD_ENV, peopleLdif } from '../test/connectors/ldap-fixtures.ts';
import { XcapClient } from '../test/helpers/digest-client.ts';
import { startRedis } from '../test/services/redis.ts';
import { startSlapd } from '../test/services/slapd.ts';

const { values, positionals } = parseArgs({ options: { users: { type: 'string', default: '3' }, rounds: { type: 'string', default: '3' } }, allowPositionals: true });
const counts = positionals.map(Number);
if (counts.length === 0) counts.push(10_000, 100_000);
const userCount = Number(values.users);
const rounds = Number(values.rounds);
const TARGET_IMPORT_MS: Record<number, number> = { 10_000: 5000, 100_000: 60_000 };
const TARGET_UNCHANGED_MS = 50;
const TARGET_VISIBLE_MS = 2000;
const BINDING = 'bench-directory';
const users = Array.from({ length: userCount }, (_, i) => ({ xui: `sip:u${i + 1}@example.com`, login: `u${i + 1}`, password: `u${i + 1}-secret` }));
const scopes = userCount === 0 ? [GLOBAL_SCOPE] : users.map((u) => u.xui);
const docPath = (scope: string) => (scope === GLOBAL_SCOPE ? '/resource-lists/global/directory' : `/resource-lists/users/${scope}/index`);

function line(label: string, ms: number, target: number | undefined): void {
  const ratio = target === undefined ? '' : `  target ${target} ms, ratio ${(ms / target).toFixed(3)} (${ms <= target ? 'met' : 'MISSED'})`;
  console.log(`  ${label.padEnd(52)} ${ms.toFixed(1).padStart(9)} ms${ratio}`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A silent logger that counts the queue's "sync job failed" warnings (each one is a retry). */
function countingLogger(): { logger: Logger; failures: string[] } {
  const failures: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) {
        if (l.includes('"sync job failed"')) failures.push((JSON.parse(l) as { err?: string }).err ?? l);
      }
      cb();
    },
  });
  return { logger: pino({ level: 'warn' }, sink), failures };
}

const [slapd, redis] = await Promise.all([startSlapd(), startRedis()]);
process.env[PASSWORD_ENV] = slapd.password;
console.log(`${userCount === 0 ? 'global document' : `${userCount} users`}, ${rounds} import rounds`);
try {
  for (const count of counts) {
    console.log(`directory of ${count} entries`);
    const ou = await freshOu(slapd);
    let started = performance.now();
    await ldapadd(slapd, peopleLdif(ou.dn, count));
    line('ldapadd (set-up, not a target)', performance.now() - started, undefined);

    const imports: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const last = round === rounds;
      const dir = mkdtempSync(join(tmpdir(), 'xcapb-bench-'));
      const config = configSchema.parse({
        server: { host: '127.0.0.1', port: 0 },
        store: { kind: 'sqlite', dataDir: dir },
        log: { level: 'warn' },
        auth: { defaultDomain: 'example.com' },
        redis: { url: redis.url, prefix: `bench-${count}-${round}-${Date.now()}` },
        connectors: {
          corp: {
            kind: 'ldap', url: slapd.url, bindDn: slapd.bindDn, bindPasswordEnv: PASSWORD_ENV, baseDn: ou.dn,
            mapping: { uri: 'sip:{uid}@{domain}', constants: { domain: 'example.com' }, defaultCountry: 'DE', fields: { mail: 'mail' } },
          },
        },
        bindings: [{
          name: BINDING, auid: 'resource-lists',
          target: userCount === 0 ? { scope: 'global', document: 'directory' } : { scope: 'users', document: 'index', users: users.map((u) => u.xui) },
          mapping: { kind: 'resource-lists', list: 'directory', fields: ['mail'] }, connector: 'corp', collection: ou.dn, direction: 'pull',
        }],
      });
      const { logger, failures } = countingLogger();
      const gw = await startGateway(config, logger);
      const local = await LocalUsers.open(gw.store.sql);
      for (const u of users) await local.add(u.xui, u.password);
      if (userCount === 0) await local.add('sip:alice@example.com', 'alice-secret');
      const phones = userCount === 0
        ? [new XcapClient(gw.url, { username: 'alice', password: 'alice-secret' })]
        : users.map((u) => new XcapClient(gw.url, { username: u.login, password: u.password }));
      const state = await SyncState.open(gw.store.sql);
      try {
        // 1. Initial import: one tick fans out to every scope.
        started = performance.now();
        await gw.sync!.enqueue(BINDING);
        for (const scope of scopes) {
          for (;;) {
            const s = await state.getScope(BINDING, scope);
            if (s?.lastOkAt != null) break;
            if (performance.now() - started > 300_000) throw new Error(`${scope} not imported after 300 s: ${s?.lastError ?? 'no run yet'}`);
            await sleep(5);
          }
        }
        const took = performance.now() - started;
        imports.push(took);
        line(`initial import, round ${round} (${failures.length} failed runs)`, took, TARGET_IMPORT_MS[count]);
        for (const [i, scope] of scopes.entries()) {
          const res = await (phones[i] as XcapClient).get(docPath(scope));
          const entries = res.body.split('<entry ').length - 1;
          if (res.status !== 200 || entries !== count) throw new Error(`GET ${docPath(scope)}: ${res.status}, ${entries} entries, expected ${count}`);
          if (i === 0 && last) console.log(`  GET ${docPath(scope)}: ${entries} entries, ${(res.body.length / 1e6).toFixed(1)} MB`);
        }
        if (!last) continue;

        // 2. Unchanged runs, outside the queue (the worker is idle: nothing is enqueued).
        const connectors = await createConnectors(config.connectors);
        const connector = connectors.get('corp')!;
        // Compiled as the gateway compiles it: the connector's read options are part of the fingerprint.
        const binding = compileBinding(config.bindings[0]!, connectorReadOptions(config.connectors).corp);
        const times: number[] = [];
        for (let i = 0; i < 11; i++) {
          started = performance.now();
          const report = await runSync({ store: gw.store, state, connector }, binding, scopes[0] as string);
          times.push(performance.now() - started);
          if (report.outcome !== 'unchanged') throw new Error(`expected an unchanged run, got ${report.outcome}`);
        }
        line('unchanged run of one scope (median of 11)', median(times), TARGET_UNCHANGED_MS);
        const listings: number[] = [];
        for (let i = 0; i < 3; i++) {
          started = performance.now();
          let ids = 0;
          for await (const _ of connector.list(ou.dn)) ids++;
          listings.push(performance.now() - started);
          if (ids !== count) throw new Error(`listing gave ${ids} ids, expected ${count}`);
        }
        await connector.close();
        line('delete scan: id-only listing (median of 3)', median(listings), undefined);

        // 3. One changed entry, visible over XCAP on every phone after a tick.
        const visible: number[] = [];
        const failedBefore = failures.length;
        for (let i = 0; i < 5; i++) {
          const uid = `p${(i * 7919) % count}`;
          const name = `Changed ${i}`;
          await ou.admin.modify(`uid=${uid},${ou.dn}`, [new Change({ operation: 'replace', modification: new Attribute({ type: 'displayName', values: [name] }) })]);
          started = performance.now();
          await gw.sync!.enqueue(BINDING);
          await Promise.all(scopes.map(async (scope, p) => {
            const path = `${docPath(scope)}/~~/resource-lists/list%5B@name=%22directory%22%5D/entry%5B@uri=%22sip:${uid}@example.com%22%5D/display-name`;
            for (;;) {
              const r = await (phones[p] as XcapClient).get(path);
              if (r.status === 200 && r.body.includes(name)) return;
              if (performance.now() - started > 30_000) throw new Error(`change of ${uid} not visible on ${scope} after 30 s`);
              // Each poll of a changed document parses it anew: poll gently, the phones share the gateway's one thread.
              await sleep(10);
            }
          }));
          visible.push(performance.now() - started);
        }
        line(`changed entry on every phone (median of 5, max ${Math.max(...visible).toFixed(0)} ms, ${failures.length - failedBefore} failed runs)`, median(visible), TARGET_VISIBLE_MS);
      } finally {
        await gw.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }
    line(`initial import, worst of ${rounds} rounds`, Math.max(...imports), TARGET_IMPORT_MS[count]);
    await ou.drop();
  }
} finally {
  await Promise.all([slapd.stop(), redis.stop()]);
}
