/**
 * Start-up warnings (src/config/warnings.ts): one per unsafe setting, naming the setting and
 * what to change; a safe configuration gets none. `serve` logs them once (the primary with
 * --workers), checked here on a real child process too.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { unsafeSettings } from '../../src/config/warnings.ts';
import { startServe, tempData } from '../http/serve-process.ts';

const config = (raw: Record<string, string>) => loadConfig(undefined, {}, raw);

describe('unsafe settings at start-up', () => {
  it('the defaults: only Basic over plain HTTP; with Basic off, none', () => {
    expect(unsafeSettings(config({})).map((w) => w.key)).toEqual(['auth.allowBasic']);
    const safe = loadConfig(undefined, {}, {});
    safe.auth.allowBasic = false;
    expect(unsafeSettings(safe)).toEqual([]);
  });

  it('Basic over plain HTTP, PostgreSQL without auth.nonceSecret, a public interface: one warning each', () => {
    const c = loadConfig(undefined, { host: '0.0.0.0' }, { DATABASE_URL: 'postgres://x@127.0.0.1/db' });
    const found = unsafeSettings(c);
    expect(found.map((w) => w.key)).toEqual(['auth.allowBasic', 'auth.nonceSecret', 'server.host']);
    expect(found[0]?.message).toMatch(/auth\.allowBasic: false/);
    expect(found[1]?.message).toMatch(/XCAP_BRIDGE_NONCE_SECRET/);
    expect(found[2]?.message).toContain('0.0.0.0');
    const withSecret = loadConfig(undefined, { host: '0.0.0.0' }, { DATABASE_URL: 'postgres://x@127.0.0.1/db', XCAP_BRIDGE_NONCE_SECRET: 'a-long-enough-secret' });
    expect(unsafeSettings(withSecret).map((w) => w.key)).toEqual(['auth.allowBasic', 'server.host']);
  });

  it('serve --workers 2 logs each warning once', async () => {
    const store = tempData();
    const server = await startServe(store, ['--workers', '2']);
    try {
      await server.logged('serving XCAP at', 2);
      expect(server.output().split('\n').filter((l) => l.includes('"setting":"auth.allowBasic"'))).toHaveLength(1);
    } finally {
      expect(await server.stop()).toBe(0);
      store.remove();
    }
  });
});
