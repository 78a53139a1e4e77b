import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HtdigestUsers } from '../../src/auth/htdigest.ts';
import type { LocalUsers } from '../../src/auth/local-users.ts';
import { cachedSource, chainSources } from '../../src/auth/sources.ts';
import type { DocumentStore } from '../../src/store/types.ts';
import { sqliteUsers } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'xcapb-sources-'));
let store: DocumentStore;
let users: LocalUsers;
let htdigest: HtdigestUsers;

beforeAll(async () => {
  ({ store, users } = await sqliteUsers());
  await users.add('sip:alice@example.com', 'local-pw');
  const file = join(dir, 'h');
  const ha1 = (u: string, pw: string) => createHash('md5').update(`${u}:example.com:${pw}`).digest('hex');
  writeFileSync(file, `alice:example.com:${ha1('alice', 'file-pw')}\nbob:example.com:${ha1('bob', 'bob-pw')}\n`);
  htdigest = await HtdigestUsers.open(file);
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('user source chain (local table, then htdigest)', () => {
  it('answers from the first source that knows the login, and offers only algorithms all sources serve', async () => {
    const chain = chainSources([users, htdigest]);
    expect(chain.algorithms).toEqual(['MD5']);
    expect((await chain.findByLogin('alice', 'example.com'))?.ha1.sha256).toBeDefined(); // the local row
    expect((await chain.findByLogin('bob', 'example.com'))?.xui).toBe('sip:bob@example.com');
    expect(await chain.find('sip:bob@example.com')).toEqual({ xui: 'sip:bob@example.com', admin: false });
    expect(await chain.findByLogin('carol', 'example.com')).toBeUndefined();
  });
});

describe('user lookup cache', () => {
  it('reuses answers, misses included, until the TTL passes', async () => {
    let t = 0;
    const cached = cachedSource(users, { ttlMs: 5000, now: () => t });
    expect(await cached.findByLogin('dora', 'example.com')).toBeUndefined();
    await users.add('sip:dora@example.com', 'pw');
    expect(await cached.findByLogin('dora', 'example.com')).toBeUndefined();
    t += 5001;
    expect((await cached.findByLogin('dora', 'example.com'))?.xui).toBe('sip:dora@example.com');
    await users.remove('sip:dora@example.com');
    expect((await cached.findByLogin('dora', 'example.com'))?.xui).toBe('sip:dora@example.com');
    t += 5001;
    expect(await cached.findByLogin('dora', 'example.com')).toBeUndefined();
  });
});
