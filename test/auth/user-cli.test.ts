import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createAuthenticator } from '../../src/auth/authenticator.ts';
import { LocalUsers } from '../../src/auth/local-users.ts';
import { openStore } from '../../src/store/open.ts';
import { freshPostgresDatabase } from '../services/databases.ts';
import { basicAuthorization } from './helpers.ts';

const SCRIPT = resolve('src/cli/user.ts');
const dir = mkdtempSync(join(tmpdir(), 'xcapb-usercli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node src/cli/user.ts ...args` in an empty directory (no config file, no DATABASE_URL). */
function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base = { ...process.env };
  delete base.DATABASE_URL;
  delete base.XCAP_BRIDGE_DATABASE_URL;
  delete base.XCAP_BRIDGE_PASSWORD;
  delete base.XCAP_BRIDGE_REALM;
  return new Promise((done) => {
    execFile(process.execPath, [SCRIPT, ...args], { cwd: dir, env: { ...base, ...env } }, (err, stdout, stderr) => {
      done({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

describe('xcap-bridge user (child process)', () => {
  const data = join(dir, 'data');
  const store = ['--data', data];

  it('prints usage for --help and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: xcap-bridge user <subcommand>/);
    expect(r.stdout).toContain('--password-file');
  });

  it('adds users from a password file and the environment, and lists them', async () => {
    const pwFile = join(dir, 'pw');
    writeFileSync(pwFile, 'file-secret\n');
    const a = await run(['add', 'sip:alice@example.com', '--password-file', pwFile, ...store]);
    expect(a).toMatchObject({ code: 0, stderr: '' });
    expect(a.stdout).toContain('added sip:alice@example.com');
    const b = await run(['add', 'sip:root@example.com', '--admin', ...store], { XCAP_BRIDGE_PASSWORD: 'env-secret' });
    expect(b.code).toBe(0);
    const l = await run(['list', ...store]);
    expect(l).toMatchObject({ code: 0, stdout: 'sip:alice@example.com\nsip:root@example.com\tadmin\n' });
    for (const r of [a, b, l]) expect(r.stdout + r.stderr).not.toMatch(/file-secret|env-secret/);

    const s = await openStore({ kind: 'sqlite', dataDir: data });
    try {
      const auth = createAuthenticator({ users: await LocalUsers.open(s.sql), allowBasic: true, allowBasicOverHttp: true });
      const req = (u: string, p: string) => ({ method: 'GET', url: '/', headers: { authorization: basicAuthorization(u, p) } });
      await expect(auth.authenticate(req('alice', 'file-secret'), 'example.com')).resolves.toEqual({ xui: 'sip:alice@example.com', admin: false });
      await expect(auth.authenticate(req('root@example.com', 'env-secret'), 'example.com')).resolves.toEqual({ xui: 'sip:root@example.com', admin: true });
    } finally {
      await s.close();
    }
  });

  it('refuses an existing user with exit 1, without printing the password', async () => {
    const r = await run(['add', 'sip:alice@example.com', '--password', 'pw-visible', ...store]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('already exists');
    expect(r.stdout + r.stderr).not.toContain('pw-visible');
  });

  it.each([
    [['add', 'alice@example.com', '--password', 'x'], 'not a user XUI'],
    [['add', 'sip:bob@example.com'], 'missing password'],
    [['add', 'sip:bob@example.com', '--password', ''], 'must not be empty'],
    [['add', 'sip:bob@example.com', '--password', 'x', '--password-file', '/nonexistent'], 'not both'],
    [['add', 'sip:bob@example.com', '--password-file', '/nonexistent/pw'], 'cannot read password file'],
    [['remove'], 'exactly one <xui>'],
    [['list', '--admin'], 'options of add'],
    [['frobnicate'], 'unknown subcommand'],
    [[], 'missing subcommand'],
    [['list', '--bogus'], 'bogus'],
  ])('exits 2 with a clear message for %j', async (args, message) => {
    const r = await run([...args, ...store]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('removes a user (exit 0), then reports no such user (exit 1)', async () => {
    expect((await run(['remove', 'sip:root@example.com', ...store])).code).toBe(0);
    const again = await run(['remove', 'sip:root@example.com', ...store]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no such user');
    expect((await run(['list', ...store])).stdout).toBe('sip:alice@example.com\n');
  });

  it('refuses a user in a second realm (exit 2), naming auth.defaultDomain and the realm there is', async () => {
    const r = await run(['add', 'sip:carol@example.org', '--password', 'carol-pw', ...store]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('auth.defaultDomain');
    expect(r.stderr).toContain('example.com');
    expect((await run(['list', ...store])).stdout).toBe('sip:alice@example.com\n');
  });

  it('adds a user in a second realm once auth.defaultDomain names the global tree\'s realm', async () => {
    const cfg = join(dir, 'two-domains.yaml');
    writeFileSync(cfg, 'auth:\n  defaultDomain: example.com\n');
    const ok = await run(['add', 'sip:carol@example.org', '--password', 'carol-pw', '--config', cfg, ...store]);
    expect(ok).toMatchObject({ code: 0, stdout: 'added sip:carol@example.org, realm "example.org"\n' });
    expect((await run(['remove', 'sip:carol@example.org', ...store])).code).toBe(0);
  });

  it('works against PostgreSQL with --database-url, with a custom --realm', async () => {
    const url = await freshPostgresDatabase(inject('services').postgres, 'usercli');
    expect((await run(['add', 'sip:pat@example.net', '--password', 'pg-pw', '--realm', 'xcap', '--database-url', url])).code).toBe(0);
    const l = await run(['list', '--database-url', url]);
    expect(l).toMatchObject({ code: 0, stdout: 'sip:pat@example.net\n' });
    const s = await openStore({ kind: 'postgres', url });
    try {
      const users = await LocalUsers.open(s.sql);
      expect((await users.findByLogin('pat', 'xcap'))?.xui).toBe('sip:pat@example.net');
      expect(await users.findByLogin('pat', 'example.net')).toBeUndefined();
    } finally {
      await s.close();
    }
  });
});
