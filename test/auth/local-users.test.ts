import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAuthenticator } from '../../src/auth/authenticator.ts';
import { EmptyPassword, InvalidXui, LocalUsers, UserExists } from '../../src/auth/local-users.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { DocumentStore } from '../../src/store/types.ts';
import { freshPostgresDatabase } from '../services/databases.ts';
import { basicAuthorization } from './helpers.ts';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const sha512t256 = (s: string) => createHash('sha512-256').update(s).digest('hex');

const dialects: Array<[string, () => Promise<DocumentStore>]> = [
  ['sqlite', () => openSqliteStore(':memory:')],
  ['postgres', async () => openPostgresStore(await freshPostgresDatabase(inject('services').postgres, 'auth_users'))],
];

describe.each(dialects)('local user table on %s', (_name, open) => {
  let store: DocumentStore;
  let users: LocalUsers;
  beforeAll(async () => {
    store = await open();
    users = await LocalUsers.open(store.sql);
    await LocalUsers.open(store.sql); // the table is created idempotently
  });
  afterAll(() => store.close());

  it('stores HA1 for both login forms and every algorithm, never the password', async () => {
    await users.add('sip:alice@example.com', 'wonderland');
    expect(await users.findByLogin('alice', 'example.com')).toEqual({
      xui: 'sip:alice@example.com',
      admin: false,
      ha1: { md5: md5('alice:example.com:wonderland'), sha256: sha256('alice:example.com:wonderland'), sha512t256: sha512t256('alice:example.com:wonderland') },
    });
    expect((await users.findByLogin('alice@example.com', 'example.com'))?.ha1).toEqual({
      md5: md5('alice@example.com:example.com:wonderland'),
      sha256: sha256('alice@example.com:example.com:wonderland'),
      sha512t256: sha512t256('alice@example.com:example.com:wonderland'),
    });
    const rows = await store.sql.query('SELECT * FROM xcap_users');
    expect(JSON.stringify(rows)).not.toContain('wonderland');
  });

  it('finds by XUI, lists in order with the admin flag, and removes', async () => {
    await users.add('sip:zed@example.com', 'pw', { admin: true });
    await users.add('sip:bob@example.org', 'pw');
    expect(await users.find('sip:zed@example.com')).toEqual({ xui: 'sip:zed@example.com', admin: true });
    expect(await users.find('sip:nobody@example.com')).toBeUndefined();
    expect(await users.list()).toEqual([
      { xui: 'sip:alice@example.com', admin: false },
      { xui: 'sip:bob@example.org', admin: false },
      { xui: 'sip:zed@example.com', admin: true },
    ]);
    expect(await users.remove('sip:zed@example.com')).toBe(true);
    expect(await users.remove('sip:zed@example.com')).toBe(false);
    expect(await users.findByLogin('zed', 'example.com')).toBeUndefined();
  });

  it('refuses a duplicate XUI, a non-SIP XUI and an empty password', async () => {
    await expect(users.add('sip:alice@example.com', 'other')).rejects.toBeInstanceOf(UserExists);
    for (const bad of ['alice@example.com', 'sip:alice', 'sip:@example.com', 'tel:+123', 'sip:a:b@example.com']) {
      await expect(users.add(bad, 'pw')).rejects.toBeInstanceOf(InvalidXui);
    }
    await expect(users.add('sip:eve@example.com', '')).rejects.toBeInstanceOf(EmptyPassword);
  });

  it('uses a configured realm, where a user part shared by two domains names nobody', async () => {
    await users.add('sip:kim@a.example', 'pw-a', { realm: 'xcap' });
    expect((await users.findByLogin('kim', 'xcap'))?.xui).toBe('sip:kim@a.example');
    expect(await users.findByLogin('kim', 'a.example')).toBeUndefined();
    await users.add('sip:kim@b.example', 'pw-b', { realm: 'xcap' });
    expect(await users.findByLogin('kim', 'xcap')).toBeUndefined();
    expect((await users.findByLogin('kim@b.example', 'xcap'))?.xui).toBe('sip:kim@b.example');
  });

  it('a table made before the SHA-512/256 columns gains them; SHA-512-256 is offered once no user lacks its HA1', async () => {
    const old = await open();
    try {
      // The table as earlier versions made it, with one user added then.
      await old.sql.exec(`CREATE TABLE xcap_users (xui TEXT PRIMARY KEY, login TEXT NOT NULL, full_login TEXT NOT NULL, realm TEXT NOT NULL, admin INTEGER NOT NULL,
        ha1_md5 TEXT NOT NULL, ha1_sha256 TEXT NOT NULL, full_ha1_md5 TEXT NOT NULL, full_ha1_sha256 TEXT NOT NULL, created_at BIGINT NOT NULL)`);
      await old.sql.run("INSERT INTO xcap_users VALUES ('sip:old@example.com', 'old', 'old@example.com', 'example.com', 0, ?, ?, ?, ?, 0)", [
        md5('old:example.com:pw'), sha256('old:example.com:pw'), md5('old@example.com:example.com:pw'), sha256('old@example.com:example.com:pw'),
      ]);
      const before = await LocalUsers.open(old.sql);
      expect(before.algorithms).toEqual(['SHA-256', 'MD5']);
      expect((await before.findByLogin('old', 'example.com'))?.ha1).toEqual({ md5: md5('old:example.com:pw'), sha256: sha256('old:example.com:pw') });
      expect(await before.setPassword('sip:old@example.com', 'new-pw')).toBe(true);
      const after = await LocalUsers.open(old.sql);
      expect(after.algorithms).toEqual(['SHA-256', 'MD5', 'SHA-512-256']);
      expect((await after.findByLogin('old', 'example.com'))?.ha1.sha512t256).toBe(sha512t256('old:example.com:new-pw'));
    } finally {
      await old.close();
    }
  });

  it('authenticates through the authenticator', async () => {
    const auth = createAuthenticator({ users, allowBasic: true, allowBasicOverHttp: true });
    const req = { method: 'GET', url: '/x', headers: { authorization: basicAuthorization('bob@example.org', 'pw') } };
    await expect(auth.authenticate(req, 'example.org')).resolves.toEqual({ xui: 'sip:bob@example.org', admin: false });
  });
});
