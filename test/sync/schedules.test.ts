/**
 * Scheduled sync survives Redis losing its data (job schedulers are re-created
 * when Redis comes back without them), on throwaway Redis servers of these tests' own
 * (FLUSHALL and restarts would hurt the shared one). The schedules tick once a minute, so
 * any run seen after the loss comes from a re-created scheduler's first tick, not from
 * the old one; nothing waits on a clock, only on what the engine does (generous timeouts).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { QUEUE_NAME, startSync, type SyncHandle } from '../../src/sync/queue.ts';
import { SyncState } from '../../src/sync/state.ts';
import { basicHeader, rawRequest } from '../helpers/digest-client.ts';
import { ADMIN, startTestGateway } from '../helpers/gateway.ts';
import { freePort, tempDir } from '../services/process.ts';
import { startRedis, type RedisService } from '../services/redis.ts';
import { binding, person, syncFixture, xcapEntries, type SyncFixture } from './helpers.ts';

const MINUTE = { everyMs: 60_000 };
let redis: RedisService;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

async function until(check: () => Promise<boolean> | boolean, what: string | (() => string), timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A pino logger whose lines land in `lines` (parsed). */
function capturingLogger(lines: Record<string, unknown>[]) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level: 'info' }, sink);
}

async function schedulerIds(prefix: string): Promise<string[]> {
  const q = new Queue(QUEUE_NAME, { connection: { url: redis.url }, prefix });
  try {
    return (await q.getJobSchedulers()).map((s) => s.key);
  } finally {
    await q.close();
  }
}

describe('job schedulers come back after Redis lost its data', () => {
  let f: SyncFixture;
  let handle: SyncHandle | undefined;
  const lines: Record<string, unknown>[] = [];
  const runs = () => lines.filter((l) => l.msg === 'sync run').length;

  beforeEach(async () => {
    f = await syncFixture();
    lines.length = 0;
  });
  afterEach(async () => {
    await handle?.stop();
    handle = undefined;
    await f.store.close();
  });

  function start(prefix: string) {
    return startSync({
      store: f.store, redis: redis.url, prefix, bindings: [binding({ schedule: MINUTE, onXcapChange: false }).config],
      connectors: new Map([['mem', f.remote]]), logger: capturingLogger(lines), runWorkers: true, drainTimeoutMs: 2000,
      // The periodic check is what finds a FLUSHALL (the connection never drops); fast here.
      scheduleCheckMs: 100,
    });
  }

  it('FLUSHALL: the missing scheduler is re-created and the binding runs again on its own', async () => {
    const prefix = `flush-${randomUUID()}`;
    handle = await start(prefix);
    await until(() => runs() === 1, 'the first tick');
    f.remote.seed('people', [{ fields: person(1) }]);
    const admin = new Redis(redis.url);
    await admin.flushall();
    admin.disconnect();
    await until(() => runs() === 2, 'a run from the re-created scheduler');
    expect(await schedulerIds(prefix)).toEqual(['tick:dir']);
    expect([...(await xcapEntries(f.store)).values()]).toEqual([person(1)]);
    expect(lines.filter((l) => String(l.msg).startsWith('job schedulers were missing'))).toHaveLength(1);
  });

  it('Redis restarted empty: the scheduler is re-created on reconnect and the binding runs again', async () => {
    const prefix = `restart-${randomUUID()}`;
    handle = await start(prefix);
    await until(() => runs() === 1, 'the first tick');
    f.remote.seed('people', [{ fields: person(2) }]);
    await redis.restartEmpty();
    await until(() => runs() === 2, 'a run after the restart', 40000);
    expect(handle.running()).toBe(true);
    expect(await schedulerIds(prefix)).toEqual(['tick:dir']);
    expect([...(await xcapEntries(f.store)).values()]).toEqual([person(2)]);
  });
});

describe('a Redis outage as `serve` logs it (child process)', () => {
  const dir = tempDir('outage');
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('one JSON line when sync goes off, one when it is back, none per reconnect attempt; then it runs again', async () => {
    const cfg = join(dir, 'cfg.yaml');
    writeFileSync(cfg, [
      `store: { kind: sqlite, dataDir: ${join(dir, 'data')} }`,
      `server: { port: ${await freePort()} }`,
      `redis: { url: "${redis.url}", prefix: outage-${randomUUID()} }`,
      'connectors:',
      '  mem: { kind: memory, collections: [people] }',
      'bindings:',
      '  - { name: dir, auid: resource-lists, target: { scope: global, document: directory }, mapping: { kind: resource-lists, list: directory },',
      '      connector: mem, collection: people, direction: pull, onXcapChange: false, schedule: { everyMs: 60000 } }',
      '',
    ].join('\n'));
    let out = '';
    // At debug: the run after the restart finds nothing new, and unchanged runs log at debug.
    child = spawn(process.execPath, [resolve('bin/xcap-bridge.js'), 'serve', '--config', cfg, '--log-level', 'debug'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    const count = (msg: string) => out.split('\n').filter((l) => l.includes(`"msg":"${msg}`)).length;
    let exited = false;
    child.once('exit', () => (exited = true));
    // On a timeout, what serve logged says where it stood.
    const waiting = (what: string) => () => `${what}; serve's output:\n${out.slice(-6000)}`;
    await until(() => count('sync run') === 1, waiting('the first tick'));
    await redis.restartEmpty();
    await until(() => count('Redis is reachable again') === 1, waiting('sync back on'), 40000);
    await until(() => count('sync run') === 2, waiting('a run from the re-created scheduler'));
    child.kill('SIGTERM');
    await until(() => exited, waiting('serve to exit after SIGTERM'), 40000);
    const lines = out.split('\n').filter((l) => l !== '');
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    expect(count('Redis connection lost')).toBe(1);
    expect(count('Redis is reachable again')).toBe(1);
  }, 180_000);
});

describe('sync status names a binding that stopped running (stale)', () => {
  it('after two missed intervals `sync status` says stale and why; a tick clears it', async () => {
    const d = tempDir('stale');
    try {
      const cfg = join(d, 'cfg.yaml');
      writeFileSync(cfg, [
        `store: { kind: sqlite, dataDir: ${join(d, 'data')} }`,
        'connectors:',
        '  mem: { kind: memory, collections: [people] }',
        'bindings:',
        '  - { name: dir, auid: resource-lists, target: { scope: global, document: directory }, mapping: { kind: resource-lists, list: directory },',
        '      connector: mem, collection: people, direction: pull, schedule: { everyMs: 60000 } }',
        '',
      ].join('\n'));
      const cli = (args: string[]) =>
        new Promise<{ code: number; stdout: string }>((done) =>
          execFile(process.execPath, [resolve('bin/xcap-bridge.js'), ...args], { cwd: d }, (err, stdout) => done({ code: err ? Number(err.code) : 0, stdout })),
        );
      expect((await cli(['sync', 'run', 'dir', '--config', cfg])).code).toBe(0);
      // The run and the last tick were three minutes ago: write them back in time in the state.
      const store = await openSqliteStore(join(d, 'data', 'xcap.sqlite'));
      const state = await SyncState.open(store.sql);
      const past = Date.now() - 180_000;
      await state.recordTick('dir', past);
      await store.sql.run('UPDATE sync_scopes SET last_run_at = ?, last_ok_at = ?', [past, past]);
      let r = await cli(['sync', 'status', '--config', cfg]);
      expect(r.stdout).toMatch(/^binding dir: STALE: no scheduled tick for 2 intervals \(last \d+ s ago, schedule every 60000 ms\)/m);
      expect(r.stdout).toMatch(/^dir global: .*STALE: last successful sync \d+ s ago/m);
      await state.recordTick('dir', Date.now());
      await store.sql.run('UPDATE sync_scopes SET last_ok_at = ?', [Date.now()]);
      await store.close();
      r = await cli(['sync', 'status', '--config', cfg]);
      expect(r.stdout).toMatch(/^binding dir: ok/m);
      expect(r.stdout).not.toMatch(/STALE/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  }, 60_000);
});

// Single Redis only: sync is off (a `redis.url` nothing listens on); the flag comes from the sync state.
describe('GET /admin/sync/status carries the stale flag a readiness check reads', () => {
  it('stale with the reason after two missed intervals, per binding and per document', async () => {
    const gw = await startTestGateway({
      config: {
        redis: { url: `redis://127.0.0.1:${await freePort()}` },
        connectors: { mem: { kind: 'memory', collections: ['people'] } },
        bindings: [{ name: 'dir', auid: 'resource-lists', target: { scope: 'global', document: 'directory' }, mapping: { kind: 'resource-lists', list: 'directory' }, connector: 'mem', collection: 'people', schedule: MINUTE }],
      },
    });
    try {
      const state = await SyncState.open(gw.gateway.store.sql);
      const past = Date.now() - 300_000;
      await state.recordTick('dir', past);
      await state.recordRun('dir', 'global', past, { ok: true, docEtag: null, remoteToken: null, configHash: '', summary: null });
      const admin = { Authorization: basicHeader({ username: 'admin', password: ADMIN.password }) };
      const body = JSON.parse((await rawRequest('GET', `${gw.origin}/admin/sync/status`, admin)).body) as {
        running: boolean; stale: boolean; bindings: { binding: string; stale: boolean; reason: string }[]; scopes: { scope: string; stale: boolean; staleReason: string }[];
      };
      expect(body.running).toBe(false);
      expect(body.stale).toBe(true);
      expect(body.bindings).toMatchObject([{ binding: 'dir', stale: true, reason: expect.stringMatching(/^no scheduled tick for 2 intervals/) }]);
      expect(body.scopes).toMatchObject([{ scope: 'global', stale: true, staleReason: expect.stringMatching(/^last successful sync \d+ s ago/) }]);
      expect((await gw.gateway.health())[0]?.stale).toBe(true);
    } finally {
      await gw.stop();
    }
  });
});
