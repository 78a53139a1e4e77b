/**
 * `xcap-bridge sync` as operators call it (a real child process, real Redis): `run` takes
 * the same per-document Redis lock as the queue's workers, so a run by hand never overlaps a
 * worker's run of the same binding and document (on a single Redis and on a cluster); it
 * still runs when Redis is unreachable.
 * The store is found as `serve` finds it (--config, --data, --database-url) and never
 * created by the commands that only read it; items are shown by uri and display name. On a
 * real slapd, on both kinds of Redis too: a run in a fresh process does not read the directory
 * whole because a delete scan is due, and a document its usage rejects is refused with nothing
 * written.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openStore } from '../../src/store/open.ts';
import { SyncState } from '../../src/sync/state.ts';
import type { Client } from 'ldapts';
import { freshOu, ldapadd, PASSWORD_ENV, peopleLdif } from '../connectors/ldap-fixtures.ts';
import { freshPostgresDatabase } from '../services/databases.ts';
import { createRedisConnection, queuePrefix, type RedisTarget } from '../../src/sync/redis-connection.ts';
import { describeEachRedis, NOWHERE_REDIS, redisYaml } from '../helpers/redis-variants.ts';

const CLI = resolve('bin/xcap-bridge.js');
const dir = mkdtempSync(join(tmpdir(), 'xcapb-synccli-'));
const prefix = `synccli-${process.pid}-${Date.now()}`;
function config(target: RedisTarget): string {
  const file = join(dir, `cfg-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    [
      `store: { kind: sqlite, dataDir: ${join(dir, 'data')} }`,
      redisYaml(target, prefix),
      'connectors:',
      '  mem: { kind: memory, collections: [people] }',
      'bindings:',
      '  - name: dir',
      '    auid: resource-lists',
      '    target: { scope: global, document: directory }',
      '    mapping: { kind: resource-lists, list: directory }',
      '    connector: mem',
      '    collection: people',
      '    direction: pull',
      '',
    ].join('\n'),
  );
  return file;
}

function run(args: string[], cwd = dir): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { cwd }, (err, stdout, stderr) => done({ code: err ? Number(err.code) : 0, stdout, stderr }));
  });
}

/** A config with one push binding of `sip:alice@example.com`'s index to a memory collection. */
function pushConfig(dataDir: string): string {
  const file = join(dir, `push-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, [
    `store: { kind: sqlite, dataDir: ${dataDir} }`,
    'redis: { url: "redis://127.0.0.1:1" }',
    'connectors:',
    '  mem: { kind: memory, collections: [people] }',
    'bindings:',
    '  - { name: book, auid: resource-lists, target: { scope: users, document: index, users: ["sip:alice@example.com"] },',
    '      mapping: { kind: resource-lists, list: friends }, connector: mem, collection: people, direction: push }',
    '',
  ].join('\n'));
  return file;
}

const ALICE_INDEX = { auid: 'resource-lists', xui: 'sip:alice@example.com', path: 'index' };
const BOB = { uri: 'sip:bob@example.com', 'display-name': 'Bob' };

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
});

describeEachRedis((redis) => {
  describe('xcap-bridge sync run (child process)', () => {
    let target: RedisTarget;
    beforeAll(async () => {
      target = await redis.target();
    });

    it('runs a binding and reports what it did', async () => {
      const r = await run(['sync', 'run', 'dir', '--user', 'global', '--config', config(target)]);
      expect(r.stderr).not.toMatch(/unreachable/);
      expect(r.stdout).toMatch(/^dir global: /m);
      expect(r.code).toBe(0);
    });

    it('does not run a document a worker is syncing (the Redis lock is held)', async () => {
      // The key the queue's workers lock with (hash-tagged on a cluster).
      const key = `${queuePrefix(prefix, target)}:sync-lock:dir|global`;
      const redis = createRedisConnection(target, {});
      await redis.set(key, 'a-worker', 'PX', 60_000);
      try {
        const r = await run(['sync', 'run', 'dir', '--user', 'global', '--config', config(target)]);
        expect(r.stdout).toMatch(/dir global: failed: .*being synced elsewhere/);
        expect(r.code).toBe(1);
        expect(await redis.get(key)).toBe('a-worker');
      } finally {
        await redis.del(key);
        redis.disconnect();
      }
    });

    it('runs without the lock, saying so, when Redis is unreachable', async () => {
      // A cluster none of whose nodes answers, on the cluster.
      const r = await run(['sync', 'run', 'dir', '--user', 'global', '--config', config({ url: NOWHERE_REDIS, ...(target.cluster && { cluster: ['127.0.0.1:1'] }) })]);
      expect(r.stderr).toMatch(/Redis unreachable, running without the per-document lock/);
      expect(r.stdout).toMatch(/^dir global: /m);
      expect(r.code).toBe(0);
    });
  });

  describe('xcap-bridge sync run on a real slapd (child processes)', () => {
    const server = inject('services').ldap;
    let ou: { dn: string; admin: Client; drop(): Promise<void> };
    let data: string;
    let redisLine: string;
    let cfg: string;

    beforeAll(async () => {
      redisLine = redisYaml(await redis.target(), `${prefix}-ldap-${randomUUID()}`);
      ou = await freshOu(server);
      await ldapadd(server, peopleLdif(ou.dn, 5));
      data = join(dir, `data-ldap-${Math.random().toString(36).slice(2)}`);
      cfg = ldapConfig();
    });

    /** A config on `data`; every run is due a delete scan (deleteScanIntervalMs 0); alice and bob get the directory. */
    function ldapConfig(connectorExtra = '', fields = '{ mail: mail }'): string {
      const file = join(dir, `ldap-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(file, [
        `store: { kind: sqlite, dataDir: ${data} }`,
        redisLine,
        'connectors:',
        `  corp: { kind: ldap, url: "${server.url}", bindDn: "${server.bindDn}", bindPasswordEnv: ${PASSWORD_ENV}, baseDn: "${ou.dn}", deleteScanIntervalMs: 0,${connectorExtra}`,
        `          mapping: { uri: "sip:{uid}@{domain}", constants: { domain: example.com }, fields: ${fields} } }`,
        'bindings:',
        '  - { name: corp-directory, auid: resource-lists, target: { scope: users, document: index, users: ["sip:alice@example.com", "sip:bob@example.com"] },',
        `      mapping: { kind: resource-lists, list: directory, fields: [mail] }, connector: corp, collection: "${ou.dn}", direction: pull }`,
        '',
      ].join('\n'));
      return file;
    }
    afterAll(async () => {
      await ou?.drop();
    });

    const runWithPassword = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
        execFile(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, [PASSWORD_ENV]: server.password } }, (err, stdout, stderr) => done({ code: err ? Number(err.code) : 0, stdout, stderr }));
      });

    it('a run in a fresh process with a delete scan due lists ids instead of reading the directory whole, and the delete arrives', async () => {
      const first = await runWithPassword(['sync', 'run', 'corp-directory', '--user', 'sip:alice@example.com', '--config', cfg]);
      expect(first.stdout, first.stderr).toMatch(/^corp-directory sip:alice@example\.com: applied \(full read\); xcap \+5 ~0 -0/m);
      // Run under the lock: on the cluster, the nodes reached and not the `url` nothing listens on.
      expect(first.stderr).not.toMatch(/unreachable/);
      await ou.admin.del(`uid=p2,${ou.dn}`);
      const second = await runWithPassword(['sync', 'run', 'corp-directory', '--user', 'sip:alice@example.com', '--config', cfg]);
      expect(second.stdout).toMatch(/^corp-directory sip:alice@example\.com: applied; xcap \+0 ~0 -1/m);
      expect(second.code).toBe(0);
    });

    it('connector options that do not change what is read (page size, pool, timeouts) keep the sync state; a mapping change reads everything again', async () => {
      const tuned = ldapConfig(' pageSize: 2, connections: 2, timeoutMs: 10000, connectTimeoutMs: 2000,');
      const same = await runWithPassword(['sync', 'run', 'corp-directory', '--user', 'sip:alice@example.com', '--config', tuned]);
      expect(same.stdout, same.stderr).toMatch(/^corp-directory sip:alice@example\.com: unchanged; xcap \+0 ~0 -0/m);
      const remapped = ldapConfig(' pageSize: 2,', '{ mail: mail, title: title }');
      const again = await runWithPassword(['sync', 'run', 'corp-directory', '--user', 'sip:alice@example.com', '--config', remapped]);
      expect(again.stdout, again.stderr).toMatch(/^corp-directory sip:alice@example\.com: \w+ \(full read\)/m);
    });

    it('a document its usage rejects is refused with the reason, and nothing is written (document and sync state as they were)', async () => {
      const store = await openStore({ kind: 'sqlite', dataDir: data });
      const key = { auid: 'resource-lists', xui: 'sip:bob@example.com', path: 'index' };
      // Stored past validation (an older version, a restore): an entry without its required uri.
      const invalid = `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="mine"><entry><display-name>No uri</display-name></entry></list></resource-lists>`;
      const { etag } = await store.put(key, invalid, 'absent');
      const state = await SyncState.open(store.sql);
      try {
        const r = await runWithPassword(['sync', 'run', 'corp-directory', '--user', 'sip:bob@example.com', '--config', cfg]);
        expect(r.stdout).toMatch(/^corp-directory sip:bob@example\.com: failed: .*uri/m);
        expect(r.code).toBe(1);
        const after = await store.get(key);
        expect(after?.etag).toBe(etag);
        expect(after?.body).toBe(invalid);
        expect(await state.loadItems('corp-directory', 'sip:bob@example.com')).toEqual([]);
        expect((await state.getScope('corp-directory', 'sip:bob@example.com'))?.lastError).toMatch(/uri/);
      } finally {
        await store.close();
      }
    });
  });
});

describe('xcap-bridge sync: finding the store, naming items (child process)', () => {
  it('status, conflicts and resolve never create a store: no config and no ./data says so (exit 2)', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'xcapb-synccli-empty-'));
    try {
      for (const sub of ['status', 'conflicts']) {
        const r = await run(['sync', sub], empty);
        expect(r.stderr).toMatch(new RegExp(`^sync ${sub}: no store at .*xcap\\.sqlite and no configuration file .*give --config FILE, --data DIR or --database-url URL`));
        expect(r.code).toBe(2);
      }
      expect(existsSync(join(empty, 'data'))).toBe(false);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  }, 60_000);

  it('--data points sync at the SQLite store serve uses', async () => {
    const data = join(dir, 'data-flag');
    await (await openStore({ kind: 'sqlite', dataDir: data })).close();
    const sqlite = await run(['sync', 'status', '--data', data]);
    expect(sqlite.stdout).toMatch(/no sync bindings configured \(no configuration file/);
    expect(sqlite.stdout).toMatch(/no sync runs recorded yet/);
    expect(sqlite.code).toBe(0);
  }, 60_000);

  it('--database-url points sync at a PostgreSQL store; a bad --store is bad usage (sync and worker)', async () => {
    const url = await freshPostgresDatabase(inject('services').postgres, 'synccli');
    const pgStore = await openStore({ kind: 'postgres', url });
    await (await SyncState.open(pgStore.sql)).recordRun('book', 'sip:alice@example.com', Date.now(), { ok: false, error: 'seen in postgres' });
    await pgStore.close();
    const pg = await run(['sync', 'status', '--database-url', url]);
    expect(pg.stdout).toMatch(/^book sip:alice@example\.com: .*error: seen in postgres/m);
    expect(pg.code).toBe(0);
    for (const cmd of ['sync status', 'worker']) expect((await run([...cmd.split(' '), '--store', 'mysql'])).code).toBe(2);
  }, 60_000);

  it('dry run names items by uri and display name, not by internal ids', async () => {
    const data = join(dir, 'data-dry');
    const store = await openStore({ kind: 'sqlite', dataDir: data });
    await store.put(ALICE_INDEX, `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="friends"><entry uri="${BOB.uri}"><display-name>Bob</display-name></entry></list></resource-lists>`, 'absent');
    await store.close();
    const r = await run(['sync', 'run', 'book', '--dry-run', '--config', pushConfig(data)]);
    expect(r.stdout).toMatch(/^ {2}sip:bob@example\.com "Bob": .* -> remote create$/m);
    expect(r.code).toBe(0);
  });

  it('conflicts shows uri and display name; resolve takes the uri', async () => {
    const data = join(dir, 'data-conflict');
    const store = await openStore({ kind: 'sqlite', dataDir: data });
    const state = await SyncState.open(store.sql);
    const id = '0b9c3c5e-5a6f-4f0e-9d55-2f2a4c1e7a10';
    await state.replaceConflicts('book', 'sip:alice@example.com', [{ item: id, xcap: BOB, remote: { ...BOB, 'display-name': 'Robert' } }], Date.now());
    const cfg = pushConfig(data);
    const list = await run(['sync', 'conflicts', '--config', cfg]);
    expect(list.stdout).toMatch(/^book sip:alice@example\.com sip:bob@example\.com "Bob"$/m);
    expect(list.stdout).toMatch(/settle: xcap-bridge sync resolve book sip:alice@example\.com sip:bob@example\.com --take xcap\|remote/);
    expect(list.stdout).not.toContain(id);
    const resolved = await run(['sync', 'resolve', 'book', 'sip:alice@example.com', 'sip:bob@example.com', '--take', 'remote', '--config', cfg]);
    expect(resolved.stdout).toMatch(/^resolved: sip:bob@example\.com "Bob" takes the remote side/);
    expect(resolved.code).toBe(0);
    expect((await state.listConflicts('book'))[0]?.resolution).toBe('remote');
    const none = await run(['sync', 'resolve', 'book', 'sip:alice@example.com', 'sip:carol@example.com', '--take', 'xcap', '--config', cfg]);
    expect(none.stderr).toMatch(/no open conflict for sip:carol@example\.com/);
    expect(none.code).toBe(1);
    await store.close();
  }, 60_000);
});
