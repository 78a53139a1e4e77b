/**
 * `xcap-bridge sync run` as operators call it (a real child process, real Redis): it takes
 * the same per-document Redis lock as the queue's workers, so a run by hand never overlaps a
 * worker's run of the same binding and document; it still runs when Redis is unreachable.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const CLI = resolve('bin/xcap-bridge.js');
const dir = mkdtempSync(join(tmpdir(), 'xcapb-synccli-'));
const prefix = `synccli-${process.pid}-${Date.now()}`;
let redis: Redis;

function config(redisUrl: string): string {
  const file = join(dir, `cfg-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    [
      `store: { kind: sqlite, dataDir: ${join(dir, 'data')} }`,
      `redis: { url: "${redisUrl}", prefix: ${prefix} }`,
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

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { cwd: dir }, (err, stdout, stderr) => done({ code: err ? Number(err.code) : 0, stdout, stderr }));
  });
}

beforeAll(() => {
  redis = new Redis(inject('services').redis);
});
afterAll(async () => {
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe('xcap-bridge sync run (child process)', () => {
  it('runs a binding and reports what it did', async () => {
    const r = await run(['sync', 'run', 'dir', '--user', 'global', '--config', config(inject('services').redis)]);
    expect(r.stderr).not.toMatch(/unreachable/);
    expect(r.stdout).toMatch(/^dir global: /m);
    expect(r.code).toBe(0);
  });

  it('does not run a document a worker is syncing (the Redis lock is held)', async () => {
    const key = `${prefix}:sync-lock:dir|global`;
    await redis.set(key, 'a-worker', 'PX', 60_000);
    try {
      const r = await run(['sync', 'run', 'dir', '--user', 'global', '--config', config(inject('services').redis)]);
      expect(r.stdout).toMatch(/dir global: failed: .*being synced elsewhere/);
      expect(r.code).toBe(1);
      expect(await redis.get(key)).toBe('a-worker');
    } finally {
      await redis.del(key);
    }
  });

  it('runs without the lock, saying so, when Redis is unreachable', async () => {
    const r = await run(['sync', 'run', 'dir', '--user', 'global', '--config', config('redis://127.0.0.1:1')]);
    expect(r.stderr).toMatch(/Redis unreachable, running without the per-document lock/);
    expect(r.stdout).toMatch(/^dir global: /m);
    expect(r.code).toBe(0);
  });
});
