/**
 * The deployment's domain (realm of the global tree) from the users on a real SQLite user
 * table and an htdigest file: configured wins; else the one realm all users share;
 * `localhost` without users; several realms are ambiguous. Realms are cached like logins.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmbiguousDomain, DeploymentDomain } from '../../src/auth/deployment-domain.ts';
import { HtdigestUsers } from '../../src/auth/htdigest.ts';
import type { LocalUsers } from '../../src/auth/local-users.ts';
import { cachedSource, chainSources } from '../../src/auth/sources.ts';
import type { DocumentStore } from '../../src/store/types.ts';
import { sqliteUsers } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'xcapb-domain-'));
let store: DocumentStore;
let users: LocalUsers;
beforeAll(async () => {
  ({ store, users } = await sqliteUsers());
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('DeploymentDomain', () => {
  it('is localhost without users, then the one realm they share, then ambiguous once a second appears', async () => {
    const domain = new DeploymentDomain(undefined, users);
    expect(await domain.current()).toBe('localhost');
    await users.add('sip:alice@example.com', 'pw');
    await users.add('sip:bob@example.com', 'pw');
    expect(await domain.current()).toBe('example.com');
    expect(await domain.require()).toBe('example.com');
    await users.add('sip:carol@example.org', 'pw');
    expect(await users.realms()).toEqual(['example.com', 'example.org']);
    expect(await domain.current()).toBeUndefined();
    const err = await domain.require().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AmbiguousDomain);
    expect((err as Error).message).toContain('auth.defaultDomain');
    expect((err as AmbiguousDomain).realms).toEqual(['example.com', 'example.org']);
    // Configured, it is the answer whatever the users.
    expect(await new DeploymentDomain('example.org', users).require()).toBe('example.org');
    await users.remove('sip:carol@example.org');
  });

  it('counts the realms of an htdigest file too (local table, then file)', async () => {
    const file = join(dir, 'h');
    const ha1 = createHash('md5').update('dan:example.net:pw').digest('hex');
    writeFileSync(file, `dan:example.net:${ha1}\n`);
    const chain = chainSources([users, await HtdigestUsers.open(file)]);
    expect(await chain.realms()).toEqual(['example.com', 'example.net']);
    expect(await new DeploymentDomain(undefined, chain).current()).toBeUndefined();
  });

  it('behind the request-path cache, a new realm is seen once the TTL has passed', async () => {
    let t = 0;
    const domain = new DeploymentDomain(undefined, cachedSource(users, { ttlMs: 5000, now: () => t }));
    expect(await domain.current()).toBe('example.com');
    await users.add('sip:erin@example.org', 'pw');
    t = 4999;
    expect(await domain.current()).toBe('example.com');
    t = 5000;
    expect(await domain.current()).toBeUndefined();
    await users.remove('sip:erin@example.org');
  });
});
