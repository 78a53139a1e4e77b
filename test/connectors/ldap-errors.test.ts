/**
 * What the sync engine sees when the directory misbehaves: bad credentials are Rejected
 * (permanent), a stopped server is Unavailable (retryable), and the same connector works
 * again once the server is back. A private slapd, because these tests stop it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AlreadyExistsError, InvalidCredentialsError, NoSuchObjectError, BusyError, UnknownStatusCodeError } from 'ldapts';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFound, Rejected, Unavailable, VersionMismatch } from '../../connectors/errors.ts';
import { translateLdapError } from '../../connectors/ldap/errors.ts';
import { createLdapConnector } from '../../connectors/ldap/index.ts';
import { startSlapd, type SlapdService } from '../services/slapd.ts';
import { collect, freshOu, ldapConnectorFor, PASSWORD_ENV } from './ldap-fixtures.ts';

let server: SlapdService;
let ouDn: string;
beforeAll(async () => {
  server = await startSlapd();
  const ou = await freshOu(server);
  ouDn = ou.dn;
  await ou.admin.add(`uid=kim,${ouDn}`, { objectClass: 'inetOrgPerson', uid: 'kim', cn: 'Kim', sn: 'K' });
  await ou.admin.unbind();
});
afterAll(async () => {
  await server.stop();
});

function capture(): { logger: Logger; text: () => string } {
  const lines: string[] = [];
  const logger = pino({ level: 'trace' }, new Writable({ write: (c: Buffer, _e, cb) => { lines.push(c.toString()); cb(); } }));
  return { logger, text: () => lines.join('') };
}

describe('bind failures and outages', () => {
  it('a wrong password is Rejected (not retryable), saying so in words, and the password appears nowhere', async () => {
    const log = capture();
    const connector = ldapConnectorFor(server, ouDn, {}, { env: { [PASSWORD_ENV]: 'wrong-password-xyz' }, logger: log.logger });
    const err = await collect(connector.list(ouDn)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Rejected);
    expect((err as Rejected).retryable).toBe(false);
    expect((err as Error).message).toBe(`LDAP bind as ${server.bindDn}: invalid credentials (result code 49)`);
    expect(String((err as Error).message)).not.toContain('wrong-password-xyz');
    expect(log.text()).not.toContain('wrong-password-xyz');
    await connector.close();
  });

  it('a missing password variable is Rejected, naming the variable only', async () => {
    const connector = ldapConnectorFor(server, ouDn, {}, { env: {} });
    await expect(collect(connector.list(ouDn))).rejects.toThrow(new RegExp(`LDAP bind: environment variable ${PASSWORD_ENV}`));
  });

  it('the password can come from a secret file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'xcapb-secret-')), 'ldap-password');
    writeFileSync(file, `${server.password}\n`, { mode: 0o600 });
    const connector = createLdapConnector({
      url: server.url, bindDn: server.bindDn, bindPasswordFile: file, baseDn: ouDn,
      mapping: { constants: { domain: 'example.com' } },
    });
    expect((await collect(connector.read(ouDn))).map((i) => i.fields.uri)).toEqual(['sip:kim@example.com']);
    await connector.close();
  });

  it('a stopped server is Unavailable (retryable); the same connector reconnects when it is back', async () => {
    const connector = ldapConnectorFor(server, ouDn, { connectTimeoutMs: 2000, timeoutMs: 5000 });
    expect(await collect(connector.list(ouDn))).toHaveLength(1);
    await server.halt();
    try {
      const err = await collect(connector.list(ouDn)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Unavailable);
      expect((err as Unavailable).retryable).toBe(true);
      await expect(connector.changes!(ouDn)).rejects.toBeInstanceOf(Unavailable);
    } finally {
      await server.restart();
    }
    expect(await collect(connector.list(ouDn))).toHaveLength(1);
    await connector.close();
  });

  it('a missing base DN is NotFound', async () => {
    const connector = ldapConnectorFor(server, ouDn);
    await expect(collect(connector.list(`ou=nope,${server.baseDn}`))).rejects.toBeInstanceOf(NotFound);
    await connector.close();
  });
});

describe('result codes → connector errors (RFC 4511 Appendix A, RFC 4528)', () => {
  it('maps each class of result code in one place', () => {
    expect(translateLdapError(new InvalidCredentialsError('bad'), 'bind')).toBeInstanceOf(Rejected);
    expect(translateLdapError(new NoSuchObjectError('gone'), 'modify')).toBeInstanceOf(NotFound);
    expect(translateLdapError(new AlreadyExistsError('dup'), 'add')).toBeInstanceOf(VersionMismatch);
    expect(translateLdapError(new UnknownStatusCodeError(122, 'assertion'), 'modify')).toBeInstanceOf(VersionMismatch);
    expect(translateLdapError(new BusyError('busy'), 'search')).toBeInstanceOf(Unavailable);
    expect(translateLdapError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'search')).toBeInstanceOf(Unavailable);
    expect(translateLdapError(Object.assign(new Error('self-signed'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), 'search')).toBeInstanceOf(Rejected);
  });
});
