/** openStore(): the one place a backend is chosen, and the errors an operator sees when it cannot be. */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { openStore, SQLITE_FILE } from '../../src/store/open.ts';
import { StoreUnavailable } from '../../src/store/types.ts';
import { freshPostgresDatabase } from '../services/databases.ts';
import { freePort, tempDir } from '../services/process.ts';

const dir = tempDir('open-store');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = { auid: 'resource-lists', xui: 'sip:alice@example.com', path: 'index' };

describe('openStore: sqlite', () => {
  it('creates the data directory and xcap.sqlite in it', async () => {
    const dataDir = join(dir, 'nested', 'data');
    const store = await openStore({ kind: 'sqlite', dataDir });
    await store.put(key, '<a/>', 'absent');
    await store.close();
    expect(existsSync(join(dataDir, SQLITE_FILE))).toBe(true);
    const again = await openStore({ kind: 'sqlite', dataDir });
    expect((await again.get(key))?.body).toBe('<a/>');
    await again.close();
  });

  it('says which data directory cannot be used', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    await expect(openStore({ kind: 'sqlite', dataDir: join(file, 'data') })).rejects.toThrow(
      `data directory ${join(file, 'data')} cannot be used`,
    );
  });
});

describe('openStore: postgres', () => {
  it('opens a store from a URL', async () => {
    const url = await freshPostgresDatabase(inject('services').postgres, 'open');
    const store = await openStore({ kind: 'postgres', url });
    await store.put(key, '<a/>', 'absent');
    expect((await store.get(key))?.body).toBe('<a/>');
    await store.close();
  });

  it('a server that is down gives StoreUnavailable naming host:port, never the password', async () => {
    const port = await freePort();
    const err = await openStore({ kind: 'postgres', url: `postgres://xcap:s3cretPW@127.0.0.1:${port}/xcap` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailable);
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
    expect((err as Error).message).not.toContain('s3cretPW');
  });

  it('a malformed URL is refused without echoing it', async () => {
    const err = await openStore({ kind: 'postgres', url: 'postgres://xcap:s3cret PW@[bad/xcap' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/invalid PostgreSQL URL/);
    expect((err as Error).message).not.toContain('s3cret');
  });
});
