/**
 * A server that answers a card's PUT without an ETag (Sabre/Nextcloud do when they
 * rewrote the card) must cost a re-read on the next run, never a conflict nor a second
 * write. The server is Debian's apache2 (mod_auth_digest, mod_headers dropping the ETag
 * of every PUT answer) in front of a real Radicale; the phone is an XCAP client of the
 * real gateway; the requests the server saw are read from apache's access log. The sync
 * case runs against a single Redis and against a 6-node Redis Cluster, each with its own
 * gateway and a new address book behind the same apache and Radicale.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { describeEachRedis, redisSection } from '../helpers/redis-variants.ts';
import { EL_TYPE, RL_TYPE } from '../http/helpers.ts';
import { startApacheDigest, type ApacheDigestService } from '../services/apache-digest.ts';
import { tempDir } from '../services/process.ts';
import { startRadicale, type RadicaleService } from '../services/radicale.ts';
import { mkAddressBookBody } from '../../connectors/carddav/multistatus.ts';
import { adminApi, ALICE_INDEX, BINDING, entryPath, entryXml, FRIENDS, getDoc, listOf, rlDoc, runFinished, syncNow, until, type Item } from './sync-helpers.ts';

const run = promisify(execFile);
const BOOK = '/alice/contacts/';
const PASSWORD = `pw-${randomUUID()}`;
const bob: Item = { uri: 'sip:bob@example.com', 'display-name': 'Bob' };

let radicale: RadicaleService;
let apache: ApacheDigestService;
let secrets: string;

/** Radicale trusts the front's X-Remote-User: requests straight to it act as alice. */
const direct = (method: string, path: string, body?: string) =>
  fetch(new URL(path, radicale.url), { method, headers: { 'X-Remote-User': 'alice', 'Content-Type': 'application/xml', Depth: '1' }, ...(body === undefined ? {} : { body }) });

async function cardTexts(): Promise<string[]> {
  const res = await direct('PROPFIND', BOOK, '<propfind xmlns="DAV:"><prop><getetag/></prop></propfind>');
  const hrefs = [...(await res.text()).matchAll(/<href>([^<]+\.vcf)<\/href>/g)].map((m) => m[1] as string);
  return Promise.all(hrefs.map(async (h) => (await direct('GET', h)).text()));
}

/** Alice's address book, (re)created empty. */
async function newBook(): Promise<void> {
  await direct('DELETE', BOOK);
  expect((await direct('MKCOL', BOOK, mkAddressBookBody())).status).toBe(201);
}

const puts = () => apache.requests().filter((r) => r.startsWith('PUT '));

beforeAll(async () => {
  radicale = await startRadicale({ auth: 'http_x_remote_user' });
  apache = await startApacheDigest({ radicalePort: radicale.port, users: { alice: PASSWORD }, unsetPutEtag: true });
  secrets = join(tempDir('carddav-no-etag'), 'passwords');
  writeFileSync(secrets, `alice:${PASSWORD}\n`);
  await newBook();
});
afterAll(async () => {
  await apache?.stop();
  await radicale?.stop();
});

describe('issue 11: a PUT answered without ETag (apache2 mod_headers in front of Radicale)', () => {
  it('the front answers PUT without ETag (curl --digest), where Radicale itself sends one', async () => {
    const card = 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:probe\r\nFN:Probe\r\nEND:VCARD\r\n';
    const { stdout } = await run('curl', ['-s', '-D', '-', '-o', '/dev/null', '--digest', '-u', `alice:${PASSWORD}`, '-X', 'PUT', '-H', 'Content-Type: text/vcard', '--data-binary', card, `${apache.url}${BOOK}probe.vcf`]);
    expect(stdout).toMatch(/^HTTP\/1\.1 201/m);
    expect(stdout).not.toMatch(/^etag:/im);
    const got = await direct('GET', `${BOOK}probe.vcf`);
    expect(got.headers.get('etag')).toBeTruthy();
    const again = await fetch(new URL(`${BOOK}probe.vcf`, radicale.url), { method: 'PUT', headers: { 'X-Remote-User': 'alice', 'Content-Type': 'text/vcard' }, body: card.replace('Probe', 'Probe 2') });
    expect(again.headers.get('etag')).toBeTruthy();
    expect((await direct('DELETE', `${BOOK}probe.vcf`)).status).toBe(200);
  });

  describeEachRedis((redis) => {
    let t: TestGateway;
    beforeAll(async () => {
      // Each Redis variant starts from an empty address book, as the phone from a new document.
      await newBook();
      t = await startTestGateway({
        config: {
          redis: redisSection(await redis.target(), `e2e-carddav-noetag-${randomUUID()}`),
          connectors: { dav: { kind: 'carddav', url: apache.url, addressBook: '/{user}/contacts/', credentials: { passwordsFile: secrets }, write: { enabled: true } } },
          bindings: [{ name: BINDING, auid: 'resource-lists', target: { scope: 'users', document: 'index' }, mapping: { kind: 'resource-lists', list: FRIENDS }, connector: 'dav', collection: '{user}', direction: 'both', policy: 'manual' }],
        },
      });
    });
    afterAll(() => t?.stop());

    it('a phone\'s new entry and then its edit reach the card; the runs after re-read it: no conflict, no error, no further PUT', async () => {
      const earlier = puts().length;
      const created = await t.client().put(ALICE_INDEX, rlDoc({ [FRIENDS]: [bob] }), RL_TYPE);
      expect(created.status).toBe(201);
      await until(cardTexts, (c) => c.some((x) => x.includes('FN:Bob')));
      expect(puts().slice(earlier)).toHaveLength(1);
      expect(puts().at(-1)).toMatch(/^PUT \/alice\/contacts\/[^/]+\.vcf 201$/);
      await runFinished(t, 0);

      // The stored version matches no ETag: the edit's conditional write re-reads the card first.
      const since = Date.now();
      const edit = await t.client().put(entryPath(ALICE_INDEX, FRIENDS, bob.uri), entryXml({ ...bob, 'display-name': 'Bob (phone)' }, true), EL_TYPE);
      expect(edit.status, edit.body).toBe(200);
      const after = await runFinished(t, since);
      expect(after?.lastError).toBeNull();
      await until(cardTexts, (c) => c.some((x) => x.includes('FN:Bob (phone)')));
      expect(await adminApi(t).conflicts()).toEqual([]);
      const writes = puts().length;
      expect(writes - earlier).toBe(2);

      // Two more runs: the card is read with its real ETag, nothing is written again.
      expect((await syncNow(t))?.lastError).toBeNull();
      expect((await syncNow(t))?.lastError).toBeNull();
      expect(puts()).toHaveLength(writes);
      expect(await adminApi(t).conflicts()).toEqual([]);
      expect(listOf((await getDoc(t)).body, FRIENDS)?.get(bob.uri)).toEqual({ ...bob, 'display-name': 'Bob (phone)' });
    });
  });
});
