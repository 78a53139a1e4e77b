/**
 * How the CardDAV connector finds and reaches an address book, against real servers:
 * Digest (RFC 7616) against Debian's apache2 mod_auth_digest in front of a Radicale that
 * trusts it (`http_x_remote_user`), discovery from the server URL, per-user passwords from
 * a file, redirects only to allowed hosts, refused credentials never echoed; and the RFC
 * 7616 §3.9.1 example answered to the digit for MD5 and SHA-256 (apache2 offers MD5 only).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CarddavConnector, carddavConnectorSchema } from '../../connectors/carddav/index.ts';
import { DigestSession, parseChallenges } from '../../connectors/carddav/digest.ts';
import { Rejected, Unavailable } from '../../connectors/errors.ts';
import { startApacheDigest, type ApacheDigestService } from '../services/apache-digest.ts';
import { freePort, tempDir } from '../services/process.ts';
import { startRadicale, type RadicaleService } from '../services/radicale.ts';
import { cardText, DavPeer } from './carddav-fixtures.ts';

const PASSWORD = 'alice-digest-secret';
let radicale: RadicaleService;
let apache: ApacheDigestService;
/** The same front with a 2 s nonce lifetime, for the stale-nonce case only. */
let shortNonce: ApacheDigestService;
let passwords: string;

beforeAll(async () => {
  radicale = await startRadicale({ auth: 'http_x_remote_user' });
  const port = await freePort();
  apache = await startApacheDigest({ port, radicalePort: radicale.port, users: { alice: PASSWORD }, redirect: { from: '/moved/', to: `http://127.0.0.2:${port}/alice/contacts/` } });
  shortNonce = await startApacheDigest({ radicalePort: radicale.port, users: { alice: PASSWORD }, nonceLifetimeSeconds: 2 });
  passwords = join(tempDir('carddav-auth'), 'passwords');
  writeFileSync(passwords, `alice:${PASSWORD}\n`);
  // Radicale in this mode takes the user from X-Remote-User: the address book is made as alice would.
  const direct = new DavPeer(radicale.url, 'alice', 'unused');
  const mk = await direct.fetch('MKCOL', '/alice/contacts/', { headers: { 'X-Remote-User': 'alice', 'Content-Type': 'application/xml' }, body: '<mkcol xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><set><prop><resourcetype><collection/><C:addressbook/></resourcetype></prop></set></mkcol>' });
  expect(mk.status).toBe(201);
  const put = await direct.fetch('PUT', '/alice/contacts/anna.vcf', { headers: { 'X-Remote-User': 'alice', 'Content-Type': 'text/vcard' }, body: cardText('anna', { uri: 'sip:anna@example.com', 'display-name': 'Anna' }) });
  expect(put.status).toBe(201);
});
afterAll(async () => {
  await apache?.stop();
  await shortNonce?.stop();
  await radicale?.stop();
});

function connector(extra: Record<string, unknown> = {}, requests: string[] = []): CarddavConnector {
  const options = carddavConnectorSchema.parse({ kind: 'carddav', url: apache.url, credentials: { passwordsFile: passwords }, write: { enabled: true }, ...extra });
  return new CarddavConnector(options, { onRequest: (m, u) => requests.push(`${m} ${u.host}${u.pathname}`) });
}

async function ids(c: CarddavConnector, collection: string): Promise<string[]> {
  const out: string[] = [];
  for await (const r of c.list(collection)) out.push(r.id);
  return out.sort();
}

describe('carddav: Digest, discovery, credentials, redirects', () => {
  it('discovers alice\'s address book through the Digest front (well-known, principal, home set) and reads and writes it', async () => {
    const requests: string[] = [];
    const c = connector({}, requests);
    expect(await ids(c, 'alice')).toEqual(['anna']);
    const paths = requests.map((r) => r.replace(/^\w+ [^/]+/, ''));
    expect(paths.slice(0, 2)).toEqual(['/.well-known/carddav', '/.well-known/carddav']); // the challenge, then the Digest answer
    expect(paths).toContain('/alice/contacts/');
    const made = await c.write('alice', { fields: { uri: 'sip:bob@example.com', 'display-name': 'Bob' } }, 'absent');
    expect(await ids(c, 'alice')).toEqual(['anna', made.id].sort());
    await c.remove('alice', made.id, { version: made.version });
    await c.close();
  });

  it('after the first challenge every request carries Digest up front; an expired nonce (stale=true) costs one retry', async () => {
    const requests: string[] = [];
    const c = connector({ addressBook: '/{user}/contacts/' }, requests);
    await ids(c, 'alice');
    requests.length = 0;
    await ids(c, 'alice');
    expect(requests).toHaveLength(1);
    await c.close();
    const short: string[] = [];
    const s = connector({ url: shortNonce.url, addressBook: '/{user}/contacts/' }, short);
    expect(await ids(s, 'alice')).toEqual(['anna']);
    // After the 2 s nonce lifetime the cached nonce is answered with stale=true.
    await new Promise((r) => setTimeout(r, 3500));
    short.length = 0;
    expect(await ids(s, 'alice')).toEqual(['anna']);
    expect(short).toHaveLength(2);
    await s.close();
  });

  it('a wrong password is Rejected after one answer to the challenge, and no message carries a password', async () => {
    const wrong = join(tempDir('carddav-auth'), 'passwords');
    writeFileSync(wrong, 'alice:not-the-password\n');
    const requests: string[] = [];
    const c = connector({ addressBook: '/{user}/contacts/', credentials: { passwordsFile: wrong } }, requests);
    const err = await ids(c, 'alice').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Rejected);
    expect(String(err)).toMatch(/HTTP 401/);
    expect(String(err)).not.toContain('not-the-password');
    expect(requests).toHaveLength(2);
    const missing = await ids(connector({ addressBook: '/{user}/contacts/' }), 'bob').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Rejected);
    expect(String(missing)).toContain('has no line for user "bob"');
    expect(String(missing)).not.toContain(PASSWORD);
    await c.close();
  });

  it('a redirect to another host is refused unless the host is in redirectHosts; then credentials follow it', async () => {
    const moved = `${apache.url}/moved/`;
    // One service account for an address book given by URL.
    const single = join(tempDir('carddav-auth'), 'password');
    writeFileSync(single, `${PASSWORD}\n`);
    const credentials = { username: 'alice', passwordFile: single };
    const refused = await ids(connector({ credentials }), moved).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Rejected);
    expect(String(refused)).toContain(`redirected to ${new URL(apache.otherUrl).host}`);
    const requests: string[] = [];
    const c = connector({ credentials, redirectHosts: [new URL(apache.otherUrl).host] }, requests);
    expect(await ids(c, moved)).toEqual(['anna']);
    expect(requests.some((r) => r.startsWith(`PROPFIND ${new URL(apache.otherUrl).host}/alice/contacts/`))).toBe(true);
    await c.close();
  });

  it('the front answering with its own HTML error page (Radicale behind it stopped) is Unavailable, never an empty address book', async () => {
    const c = connector({ addressBook: '/{user}/contacts/' });
    expect(await ids(c, 'alice')).toEqual(['anna']);
    await radicale.halt();
    try {
      const err = await ids(c, 'alice').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Unavailable);
      expect(String(err)).toMatch(/HTTP 50[23]/);
      await expect(c.changes('alice')).rejects.toBeInstanceOf(Unavailable);
    } finally {
      await radicale.start();
    }
    expect(await ids(c, 'alice')).toEqual(['anna']);
    await c.close();
  });

  it('answers the RFC 7616 §3.9.1 example challenge with the RFC\'s response, MD5 and SHA-256', () => {
    const challenge = (alg: string) =>
      parseChallenges(`Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${alg}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`)[0]!;
    const answer = (alg: string) => new DigestSession(challenge(alg)).authorization('GET', '/dir/index.html', 'Mufasa', 'Circle of Life', 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ');
    expect(answer('MD5')).toContain('response="8ca523f5e9506fed4657c9700eebdbec"');
    expect(answer('SHA-256')).toContain('response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"');
    expect(answer('SHA-256')).toContain('nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth');
  });
});
