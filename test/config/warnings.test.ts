/**
 * Start-up warnings (src/config/warnings.ts): one per unsafe setting, naming the setting and
 * what to change; a safe configuration gets none. `serve` logs them once (the primary with
 * --workers), checked here on a real child process too, with the sync engine's Redis
 * eviction check against a throwaway Redis of the test's own set to evict.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { unsafeSettings } from '../../src/config/warnings.ts';
import { startServe, tempData } from '../http/serve-process.ts';
import { startRedis } from '../services/redis.ts';

const config = (raw: Record<string, string>) => loadConfig(undefined, {}, raw);
const TLS = { certFile: '/etc/xcap/cert.pem', keyFile: '/etc/xcap/key.pem' };

describe('unsafe settings at start-up', () => {
  it('the defaults (Basic refused over plain HTTP, loopback, SQLite): none', () => {
    expect(unsafeSettings(config({}))).toEqual([]);
  });

  it('Basic allowed over plain HTTP, PostgreSQL without auth.nonceSecret, a public interface without TLS: one warning each', () => {
    const c = loadConfig(undefined, { host: '0.0.0.0' }, { DATABASE_URL: 'postgres://x@127.0.0.1/db', XCAP_BRIDGE_ALLOW_BASIC_OVER_HTTP: 'true' });
    const found = unsafeSettings(c);
    expect(found.map((w) => w.key)).toEqual(['auth.allowBasicOverHttp', 'auth.nonceSecret', 'server.host']);
    expect(found[0]?.message).toMatch(/auth\.allowBasicOverHttp: false/);
    expect(found[1]?.message).toMatch(/XCAP_BRIDGE_NONCE_SECRET/);
    expect(found[2]?.message).toContain('0.0.0.0');
    const withSecret = loadConfig(undefined, { host: '0.0.0.0' }, { DATABASE_URL: 'postgres://x@127.0.0.1/db', XCAP_BRIDGE_NONCE_SECRET: 'a-long-enough-secret' });
    expect(unsafeSettings(withSecret).map((w) => w.key)).toEqual(['server.host']);
  });

  it('with server.tls neither Basic nor a public interface is warned about; Basic off needs no allowBasicOverHttp warning', () => {
    const c = loadConfig(undefined, { host: '0.0.0.0' }, { XCAP_BRIDGE_ALLOW_BASIC_OVER_HTTP: 'true' });
    c.server.tls = TLS;
    expect(unsafeSettings(c)).toEqual([]);
    const off = config({ XCAP_BRIDGE_ALLOW_BASIC_OVER_HTTP: 'true' });
    off.auth.allowBasic = false;
    expect(unsafeSettings(off)).toEqual([]);
  });

  it('XCAP_BRIDGE_ALLOW_BASIC_OVER_HTTP takes true or false; anything else names the key', () => {
    expect(config({ XCAP_BRIDGE_ALLOW_BASIC_OVER_HTTP: 'false' }).auth.allowBasicOverHttp).toBe(false);
    expect(() => config({ XCAP_BRIDGE_ALLOW_BASIC_OVER_HTTP: 'yes' })).toThrow(/auth\.allowBasicOverHttp/);
  });

  it('serve --workers 2 logs each warning once, the Redis eviction policy included', async () => {
    const store = tempData();
    const redis = await startRedis();
    const admin = new Redis(redis.url);
    let server: Awaited<ReturnType<typeof startServe>> | undefined;
    try {
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const cfg = join(store.data, 'cfg.yaml');
      writeFileSync(cfg, [
        `redis: { url: "${redis.url}" }`,
        'connectors:',
        '  mem: { kind: memory, collections: [people] }',
        'bindings:',
        '  - { name: dir, auid: resource-lists, target: { scope: global, document: directory }, mapping: { kind: resource-lists, list: directory },',
        '      connector: mem, collection: people, direction: pull, onXcapChange: false, schedule: { everyMs: 60000 } }',
        '',
      ].join('\n'));
      // startServe allows Basic over plain HTTP (its tests' clients use it): one unsafe setting of the file's own.
      server = await startServe(store, ['--workers', '2', '--config', cfg]);
      await server.logged('serving XCAP at', 2);
      await server.logged('"setting":"redis maxmemory-policy"', 1);
      const lines = server.output().split('\n');
      expect(lines.filter((l) => l.includes('"setting":"auth.allowBasicOverHttp"'))).toHaveLength(1);
      expect(lines.filter((l) => l.includes('"setting":"redis maxmemory-policy"'))).toHaveLength(1);
      expect(lines.filter((l) => l.includes('"setting":')).map((l) => (JSON.parse(l) as { setting: string }).setting).sort()).toEqual(['auth.allowBasicOverHttp', 'redis maxmemory-policy']);
    } finally {
      if (server) expect(await server.stop()).toBe(0);
      admin.disconnect();
      await redis.stop();
      store.remove();
    }
  });
});
