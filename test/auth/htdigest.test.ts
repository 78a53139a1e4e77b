import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/auth/authenticator.ts';
import { HtdigestUsers } from '../../src/auth/htdigest.ts';
import { basicAuthorization, challengesOf, rejection } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'xcapb-htdigest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A line as Apache's `htdigest` tool writes it. */
const line = (user: string, realm: string, pw: string) => `${user}:${realm}:${createHash('md5').update(`${user}:${realm}:${pw}`).digest('hex')}`;

describe('htdigest user source', () => {
  const file = join(dir, 'users.htdigest');
  writeFileSync(file, [line('alice', 'example.com', 'pw1'), line('bob@example.org', 'example.com', 'pw2'), '# comment', 'garbage', ''].join('\n'));

  it('maps both user column forms to XUIs and serves MD5 HA1 only', async () => {
    const src = await HtdigestUsers.open(file, { admins: ['sip:bob@example.org'], checkIntervalMs: 0 });
    expect(src.algorithms).toEqual(['MD5']);
    expect(await src.find('sip:alice@example.com')).toEqual({ xui: 'sip:alice@example.com', admin: false });
    expect(await src.find('sip:bob@example.org')).toEqual({ xui: 'sip:bob@example.org', admin: true });
    const alice = await src.findByLogin('alice', 'example.com');
    expect(alice?.ha1).toEqual({ md5: line('alice', 'example.com', 'pw1').split(':')[2] });
    // HA1 covers the login form and realm, so nothing else matches
    expect(await src.findByLogin('alice@example.com', 'example.com')).toBeUndefined();
    expect(await src.findByLogin('alice', 'example.org')).toBeUndefined();
  });

  it('offers only MD5 Digest and authenticates Basic against it', async () => {
    const auth = createAuthenticator({ users: await HtdigestUsers.open(file), allowBasic: true, allowBasicOverHttp: true });
    const cs = challengesOf(await rejection(auth.authenticate({ method: 'GET', url: '/x', headers: {} }, 'example.com')));
    expect(cs.map((c) => `${c.scheme} ${c.params.algorithm ?? ''}`.trim())).toEqual(['Digest MD5', 'Basic']);
    const req = { method: 'GET', url: '/x', headers: { authorization: basicAuthorization('alice', 'pw1') } };
    await expect(auth.authenticate(req, 'example.com')).resolves.toEqual({ xui: 'sip:alice@example.com', admin: false });
  });

  it('re-reads the file when it changes', async () => {
    const f = join(dir, 'changing.htdigest');
    writeFileSync(f, line('alice', 'example.com', 'old') + '\n');
    const src = await HtdigestUsers.open(f, { checkIntervalMs: 0 });
    const before = await src.findByLogin('alice', 'example.com');
    writeFileSync(f, line('alice', 'example.com', 'new') + '\n' + line('carol', 'example.com', 'pw') + '\n');
    utimesSync(f, new Date(), new Date(Date.now() + 5000)); // a distinct mtime even on coarse clocks
    const after = await src.findByLogin('alice', 'example.com');
    expect(after?.ha1.md5).not.toBe(before?.ha1.md5);
    expect(after?.ha1.md5).toBe(line('alice', 'example.com', 'new').split(':')[2]);
    expect(await src.find('sip:carol@example.com')).toEqual({ xui: 'sip:carol@example.com', admin: false });
  });

  it('keeps the last content when the file disappears', async () => {
    const f = join(dir, 'vanishing.htdigest');
    writeFileSync(f, line('dave', 'example.com', 'pw') + '\n');
    const src = await HtdigestUsers.open(f, { checkIntervalMs: 0 });
    rmSync(f);
    expect(await src.find('sip:dave@example.com')).toEqual({ xui: 'sip:dave@example.com', admin: false });
  });

  it('refuses to open a missing file', async () => {
    await expect(HtdigestUsers.open(join(dir, 'nope'))).rejects.toThrow();
  });
});
