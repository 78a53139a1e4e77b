/**
 * Issue 15 end to end: the company directory from a real OpenLDAP (pulled by the sync
 * engine on real Redis into every user's index and into a global document) and a user's
 * own list, served as Yealink, Grandstream, Polycom, Snom and Cisco phonebooks by the real
 * gateway over HTTP. Every body is parsed strictly and checked against the vendor's
 * structure (test/phonebook/vendor-structure.ts). The directory's pull goes through the
 * sync queue: every case runs against a single Redis and against a 6-node Redis Cluster.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ALICE, BOB, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { describeEachRedis, redisSection } from '../helpers/redis-variants.ts';
import { rawRequest, type XcapClient } from '../helpers/digest-client.ts';
import { RL_NS, RL_TYPE } from '../http/helpers.ts';
import { freshOu, ldapadd, PASSWORD_ENV } from '../connectors/ldap-fixtures.ts';
import { kids, rowsOf, strictRoot, type Row } from '../phonebook/vendor-structure.ts';
import { FORMAT_NAMES } from '../../src/phonebook/format.ts';
import type { BindingInput } from '../../src/sync/binding.ts';
import { DeviceTokens } from '../../src/phonebook/tokens.ts';

process.env[PASSWORD_ENV] = inject('services').ldap.password;

/** People p0..p(N-1): work number +49301234xxxx, every third a mobile; plus four special ones. */
const N = 120;
const pad = (i: number, n: number) => String(i).padStart(n, '0');
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const JUERGEN = 'Jürgen Ölmann & <Co>';
const ANNA = 'Анна Петрова';

function ldif(ou: string): string {
  const out: string[] = [];
  for (let i = 0; i < N; i++) {
    out.push(`dn: uid=p${i},${ou}`, 'objectClass: inetOrgPerson', `uid: p${i}`, `cn: Person ${pad(i, 3)}`, `sn: ${pad(i, 3)}`, `telephoneNumber: 030 1234${pad(i, 4)}`);
    if (i % 3 === 0) out.push(`mobile: 0171 55${pad(i, 5)}`);
    out.push('');
  }
  out.push(`dn: uid=juergen,${ou}`, 'objectClass: inetOrgPerson', 'uid: juergen', `cn:: ${b64(JUERGEN)}`, `displayName:: ${b64(JUERGEN)}`, 'sn: Olmann', 'telephoneNumber: +49 89 1234567', '');
  out.push(`dn: uid=anna,${ou}`, 'objectClass: inetOrgPerson', 'uid: anna', `cn:: ${b64(ANNA)}`, `sn:: ${b64('Петрова')}`, 'telephoneNumber: +7 495 1234567', '');
  out.push(`dn: uid=nophone,${ou}`, 'objectClass: inetOrgPerson', 'uid: nophone', 'cn: No Phone', 'sn: Phone', '');
  // Same work number as p0, nothing else: a duplicate for Snom and Polycom.
  out.push(`dn: uid=dupe,${ou}`, 'objectClass: inetOrgPerson', 'uid: dupe', 'cn: Dupe Person', 'sn: Person', 'telephoneNumber: 030 12340000', '');
  return out.join('\n');
}

const DIRECTORY_SIZE = N + 4;
const ALICE_PB = (format: string, list = 'directory') => `/phonebook/${format}/users/${ALICE.xui}/index/${list}`;
const ALICE_INDEX = `/resource-lists/users/${ALICE.xui}/index`;

const OWN_LIST = `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="${RL_NS}">
  <list name="friends">
    <entry uri="sip:+4930555000@example.com"><display-name>Bob Builder</display-name></entry>
    <entry uri="sip:carol@example.com"><display-name>Carol</display-name></entry>
    <entry uri="tel:+4930555001"><display-name>Dave Diver</display-name></entry>
  </list>
</resource-lists>
`;

function connector(ou: string) {
  const ldap = inject('services').ldap;
  return {
    kind: 'ldap',
    url: ldap.url,
    bindDn: ldap.bindDn,
    bindPasswordEnv: PASSWORD_ENV,
    baseDn: ou,
    deleteScanIntervalMs: 0,
    connectTimeoutMs: 1000,
    mapping: { uri: 'sip:{uid}@{domain}', constants: { domain: 'example.com' }, defaultCountry: 'DE', fields: { telephoneNumber: 'telephoneNumber', mobile: 'mobile' } },
  };
}

async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Follows a paged format from page 1 to the end (`next` gives the next page's URL or undefined). */
async function allPages(client: XcapClient, origin: string, path: string, format: string, next: (res: { headers: Headers; body: string }) => string | undefined) {
  const pages: { body: string; rows: Row[]; bytes: number }[] = [];
  let url: string | undefined = path;
  while (url !== undefined && pages.length < 100) {
    const res = await client.get(url);
    expect(res.status).toBe(200);
    pages.push({ body: res.body, rows: rowsOf(format, res.body), bytes: Buffer.byteLength(res.body) });
    const n = next(res);
    url = n === undefined ? undefined : n.slice(origin.length);
  }
  return pages;
}

describeEachRedis((redis) => {
  describe('issue 15: vendor phonebooks from the store (directory fed by slapd)', () => {
    let ou: { dn: string; admin: Client; drop(): Promise<void> };
    let t: TestGateway;
    let alice: XcapClient;
    let bob: XcapClient;
    let xcapAlice: XcapClient;

    beforeAll(async () => {
      ou = await freshOu(inject('services').ldap);
      await ldapadd(inject('services').ldap, ldif(ou.dn));
      const binding: Omit<BindingInput, 'name' | 'target'> = { auid: 'resource-lists', mapping: { kind: 'resource-lists', list: 'directory', fields: ['telephoneNumber', 'mobile'] }, connector: 'corp', collection: ou.dn, direction: 'pull' };
      t = await startTestGateway({
        config: {
          redis: redisSection(await redis.target(), `e2e-pb-${randomUUID()}`),
          connectors: { corp: connector(ou.dn) },
          bindings: [
            { ...binding, name: 'corp-users', target: { scope: 'users', document: 'index' } },
            { ...binding, name: 'corp-global', target: { scope: 'global', document: 'directory' } },
          ],
          phonebook: {
            defaultCountry: 'DE',
            formats: { cisco: { numbers: { style: 'national' } } },
            deviceGroups: {
              berlin: { numbers: { style: 'national', extensions: [{ match: '\\+49301234(\\d{4})', replace: '$1' }] } },
              desk: { userAgent: '^Yealink SIP-T54W', numbers: { style: 'national' } },
            },
          },
        },
      });
      xcapAlice = t.client();
      expect((await xcapAlice.put(ALICE_INDEX, OWN_LIST, RL_TYPE)).status).toBe(201);
      await t.gateway.sync!.enqueue('corp-users');
      await t.gateway.sync!.enqueue('corp-global');
      alice = new (xcapAlice.constructor as typeof XcapClient)(t.origin, { username: 'alice', password: ALICE.password });
      bob = new (xcapAlice.constructor as typeof XcapClient)(t.origin, { username: 'bob', password: BOB.password });
      const count = (body: string) => (body.match(/<entry /g) ?? []).length;
      const own = await eventually(() => xcapAlice.get(ALICE_INDEX), (r) => count(r.body) === DIRECTORY_SIZE + 3);
      expect(count(own.body)).toBe(DIRECTORY_SIZE + 3);
      const global = await eventually(() => xcapAlice.get('/resource-lists/global/directory'), (r) => r.status === 200 && count(r.body) === DIRECTORY_SIZE);
      expect(count(global.body)).toBe(DIRECTORY_SIZE);
    });
    afterAll(async () => {
      await t?.stop();
      await ou?.drop();
    });

    describe('every format parses strictly and has its vendor structure', () => {
      it.each(FORMAT_NAMES.filter((f) => f !== 'cisco-search'))('%s: the directory, names and numbers as stored, UTF-8 text', async (format) => {
        const res = await alice.get(ALICE_PB(format));
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('text/xml; charset=utf-8');
        const rows = rowsOf(format, res.body);
        expect(rows.length).toBeGreaterThan(0);
        const numbers = rows.flatMap((r) => r.numbers);
        // E.164 by default (cisco is configured national below).
        if (format !== 'cisco') {
          expect(numbers).toContain('+4930123400' + '05');
          expect(numbers.every((n) => /^\+\d+$/.test(n))).toBe(true);
        }
        // A non-Latin name and XML specials arrive as text (escaped on the wire, not as references).
        if (format === 'yealink' || format === 'grandstream' || format === 'snom' || format === 'polycom' || format === 'yealink-book' || format === 'snom-v2') {
          if (format !== 'yealink') {
            expect(res.body).toContain('Петрова');
            expect(rows.some((r) => r.name.includes('Петрова'))).toBe(true);
          }
          expect(res.body).not.toContain('&#');
        }
        expect(Number(res.headers.get('x-phonebook-undialable'))).toBe(1); // nophone
      });

      it('grandstream: groups from lists ("*"), Cell and Work phones, the escaped name intact', async () => {
        const res = await alice.get(ALICE_PB('grandstream', '*'));
        expect(res.status).toBe(200);
        const root = strictRoot(res.body);
        expect(kids(root, 'pbgroup').map((g) => kids(g, 'name')[0]?.textContent)).toEqual(['friends', 'directory']); // document order: alice wrote friends before the first sync
        const rows = rowsOf('grandstream', res.body);
        expect(rows).toHaveLength(DIRECTORY_SIZE - 1 + 2); // nophone and carol have no number
        expect(rows.find((r) => r.name === 'Bob Builder')?.numbers).toEqual(['+4930555000']);
        const juergen = kids(root, 'Contact').find((c) => kids(c, 'Phone')[0]?.textContent?.includes('+49891234567'));
        expect(kids(juergen!, 'LastName')[0]?.textContent).toBe('<Co>');
        expect(kids(juergen!, 'FirstName')[0]?.textContent).toBe('Jürgen Ölmann &');
        expect(res.body).toContain('<FirstName>Jürgen Ölmann &amp;</FirstName><LastName>&lt;Co&gt;</LastName>');
        const p0 = kids(root, 'Contact').find((c) => kids(c, 'LastName')[0]?.textContent === '000');
        expect(kids(p0!, 'Phone').map((p) => p.getAttribute('type'))).toEqual(['Work', 'Cell']);
        expect(Number(res.headers.get('x-phonebook-undialable'))).toBe(2);
      });

      it('yealink-book: a Menu per list, Unit Phone1..3', async () => {
        const root = strictRoot((await alice.get(ALICE_PB('yealink-book', '*'))).body);
        expect(kids(root, 'Menu').map((m) => m.getAttribute('Name'))).toEqual(['friends', 'directory']); // document order: alice wrote friends before the first sync
        const p3 = kids(kids(root, 'Menu')[1]!, 'Unit').find((u) => u.getAttribute('Name') === 'Person 003');
        expect([p3?.getAttribute('Phone1'), p3?.getAttribute('Phone2'), p3?.getAttribute('Phone3')]).toEqual(['+4930123400' + '03', '+491715500003', '']);
      });

      it('polycom: bw 1 for the user\'s own list, 0 for the managed directory', async () => {
        const root = strictRoot((await alice.get(ALICE_PB('polycom', '*'))).body);
        const items = kids(kids(root, 'item_list')[0]!, 'item');
        const bw = (ct: string) => kids(items.find((i) => kids(i, 'ct')[0]?.textContent === ct)!, 'bw')[0]?.textContent;
        expect(bw('+4930555000')).toBe('1');
        expect(bw('+4930123400' + '01')).toBe('0');
      });

      it('cisco-search: the input form sends q to the cisco directory of the same list', async () => {
        const res = await alice.get(ALICE_PB('cisco-search'));
        rowsOf('cisco-search', res.body);
        const url = kids(strictRoot(res.body), 'URL')[0]?.textContent ?? '';
        expect(url).toBe(`${t.origin}${ALICE_PB('cisco')}`);
      });
    });

    describe('duplicates and undialable entries', () => {
      it.each(['snom', 'snom-v2', 'polycom'])('%s: one number, one contact; the duplicate is left out and counted', async (format) => {
        const res = await alice.get(ALICE_PB(format));
        const rows = rowsOf(format, res.body); // asserts numbers unique per file
        expect(rows.filter((r) => r.numbers.includes('+493012340000')).map((r) => r.name)).toEqual(['Person 000']);
        expect(rows.some((r) => r.name.startsWith('Dupe'))).toBe(false);
        expect(res.headers.get('x-phonebook-duplicates')).toBe('1');
        expect(res.headers.get('x-phonebook-undialable')).toBe('1');
      });

      it('yealink (numbers need not be unique): the duplicate stays', async () => {
        const pages = await allPages(alice, t.origin, ALICE_PB('yealink'), 'yealink', (r) => nextYealink(r.body));
        const rows = pages.flatMap((p) => p.rows);
        expect(rows.filter((r) => r.numbers.includes('+493012340000')).map((r) => r.name)).toEqual(['Person 000', 'Dupe Person']);
      });
    });

    describe('paging', () => {
      it('yealink: every page within the 10,000-byte object limit, linked by MenuItem, each contact once', async () => {
        const pages = await allPages(alice, t.origin, ALICE_PB('yealink'), 'yealink', (r) => nextYealink(r.body));
        expect(pages.length).toBeGreaterThan(1);
        for (const p of pages) expect(p.bytes).toBeLessThanOrEqual(10_000);
        const names = pages.flatMap((p) => p.rows.map((r) => r.name));
        expect(names).toHaveLength(DIRECTORY_SIZE - 1);
        expect(new Set(names).size).toBe(names.length);
        expect(nextYealink(pages.at(-1)!.body)).toBeUndefined();
      });

      it('cisco: at most 32 entries a page, the next page in the Refresh header, every number once', async () => {
        const pages = await allPages(alice, t.origin, ALICE_PB('cisco'), 'cisco', (r) => refreshUrl(r.headers));
        const rows = pages.flatMap((p) => p.rows);
        const expected = N + Math.ceil(N / 3) + 3; // work numbers, mobiles, juergen, anna, dupe
        expect(rows).toHaveLength(expected);
        expect(pages.length).toBeGreaterThanOrEqual(Math.ceil(expected / 32));
        for (const p of pages.slice(0, -1)) expect(p.rows.length).toBeGreaterThan(28); // whole contacts only
        expect(rows.find((r) => r.name === 'Person 003 (mobile)')?.numbers).toEqual(['017155000' + '03']);
      });

      it('snom-browser: pages linked by a SoftKeyItem', async () => {
        const pages = await allPages(alice, t.origin, ALICE_PB('snom-browser'), 'snom-browser', (r) => {
          const key = kids(strictRoot(r.body), 'SoftKeyItem')[0];
          return key ? (kids(key, 'URL')[0]?.textContent ?? undefined) : undefined;
        });
        expect(pages.length).toBeGreaterThan(1);
        expect(pages.flatMap((p) => p.rows)).toHaveLength(N + Math.ceil(N / 3) + 3);
      });

      it('a page past the end is 404 with a plain message', async () => {
        const res = await alice.get(`${ALICE_PB('cisco')}?page=99`);
        expect(res.status).toBe(404);
        expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
        expect(res.body).toBe('no page 99\n');
      });
    });

    describe('search (?q=)', () => {
      it('cisco: by name prefix, diacritics and case ignored; by number prefix', async () => {
        const byName = rowsOf('cisco', (await alice.get(`${ALICE_PB('cisco')}?q=jurg`)).body);
        expect(byName.map((r) => r.name)).toEqual(['Jürgen Ölmann & <Co>']);
        const cyrillic = rowsOf('cisco', (await alice.get(`${ALICE_PB('cisco')}?q=${encodeURIComponent('петр')}`)).body);
        expect(cyrillic.map((r) => r.name)).toEqual([ANNA]);
        // A contact found by one number is shown with all its numbers.
        const byNumber = rowsOf('cisco', (await alice.get(`${ALICE_PB('cisco')}?q=0301234001`)).body);
        expect(byNumber.filter((r) => !r.name.endsWith('(mobile)')).map((r) => r.numbers[0])).toEqual(Array.from({ length: 10 }, (_, i) => `0301234001${i}`));
        expect(byNumber.filter((r) => r.name.endsWith('(mobile)')).map((r) => r.name)).toEqual(['Person 012 (mobile)', 'Person 015 (mobile)', 'Person 018 (mobile)']);
      });

      it('yealink and snom-browser: the same search, pages of results', async () => {
        const y = rowsOf('yealink', (await alice.get(`${ALICE_PB('yealink')}?q=person%2001`)).body);
        expect(y.map((r) => r.name)).toEqual(Array.from({ length: 10 }, (_, i) => `Person 01${i}`));
        const s = rowsOf('snom-browser', (await alice.get(`${ALICE_PB('snom-browser')}?q=%2B493012340011`)).body);
        expect(s).toEqual([{ name: 'Person 011', numbers: ['+49301234' + '0011'] }]);
      });

      it('a file format ignores q (the phone stores the whole file)', async () => {
        expect(rowsOf('grandstream', (await alice.get(`${ALICE_PB('grandstream')}?q=zzz`)).body)).toHaveLength(DIRECTORY_SIZE - 1);
      });
    });

    describe('numbers as each phone dials them', () => {
      it('cisco is configured national: 030…, foreign numbers with the international prefix', async () => {
        const rows = rowsOf('cisco', (await alice.get(`${ALICE_PB('cisco')}?q=${encodeURIComponent('анна')}`)).body);
        expect(rows[0]?.numbers).toEqual(['0074951234567']);
        const p5 = rowsOf('cisco', (await alice.get(`${ALICE_PB('cisco')}?q=Person%20005`)).body);
        expect(p5[0]?.numbers).toEqual(['0301234' + '0005']);
      });

      it('device group by ?group=: the extension rule first, national for the rest', async () => {
        const rows = rowsOf('grandstream', (await alice.get(`${ALICE_PB('grandstream', '*')}?group=berlin`)).body);
        expect(rows.find((r) => r.name === 'Person 007')?.numbers).toEqual(['0007']);
        expect(rows.find((r) => r.name === 'Person 006')?.numbers).toEqual(['0006', '01715500006']);
        expect(rows.find((r) => r.name === 'Bob Builder')?.numbers).toEqual(['030555000']);
        expect(rows.find((r) => r.name.startsWith('Jürgen'))?.numbers).toEqual(['0891234567']);
      });

      it('device group by User-Agent', async () => {
        const res = await alice.get(ALICE_PB('yealink-book'), { 'User-Agent': 'Yealink SIP-T54W 96.86.0.70' });
        const rows = rowsOf('yealink-book', res.body);
        expect(rows.find((r) => r.name === 'Person 009')?.numbers).toEqual(['0301234' + '0009', '017155000' + '09']);
      });

      it('an unknown device group is 404', async () => {
        const res = await alice.get(`${ALICE_PB('yealink')}?group=nope`);
        expect([res.status, res.body]).toEqual([404, 'no device group "nope"\n']);
      });
    });

    describe('caching', () => {
      it('ETag and Last-Modified; If-None-Match answers 304; the ETag differs per format and settings', async () => {
        const first = await alice.get(ALICE_PB('grandstream'));
        const etag = first.headers.get('etag') ?? '';
        expect(etag).toMatch(/^"[^"]+"$/);
        expect(new Date(first.headers.get('last-modified') ?? '').getTime()).toBeGreaterThan(0);
        const again = await alice.get(ALICE_PB('grandstream'), { 'If-None-Match': etag });
        expect([again.status, again.body, again.headers.get('etag')]).toEqual([304, '', etag]);
        expect((await alice.get(ALICE_PB('grandstream'), { 'If-None-Match': `W/${etag}` })).status).toBe(304);
        const others = [ALICE_PB('yealink-book'), `${ALICE_PB('grandstream')}?group=berlin`, ALICE_PB('grandstream', '*')];
        for (const path of others) expect((await alice.get(path)).headers.get('etag')).not.toBe(etag);
      });

      it('an XCAP edit of the document changes the ETag: the old one gets the new file', async () => {
        const before = await alice.get(ALICE_PB('snom-v2', 'friends'));
        const etag = before.headers.get('etag') ?? '';
        const sel = `${ALICE_INDEX}/~~/resource-lists/list%5B@name=%22friends%22%5D/entry%5B@uri=%22tel:+4930555002%22%5D`;
        expect((await xcapAlice.put(sel, '<entry uri="tel:+4930555002"><display-name>Eve Edit</display-name></entry>', 'application/xcap-el+xml')).status).toBe(201);
        const after = await alice.get(ALICE_PB('snom-v2', 'friends'), { 'If-None-Match': etag });
        expect(after.status).toBe(200);
        expect(after.headers.get('etag')).not.toBe(etag);
        expect(rowsOf('snom-v2', after.body).map((r) => r.name)).toContain('Eve Edit');
        expect((await xcapAlice.delete(sel)).status).toBe(200);
      });
    });

    describe('authentication, tokens and bad input', () => {
      it('without credentials: 401 with a Digest challenge in the user\'s domain', async () => {
        const res = await rawRequest('GET', `${t.origin}${ALICE_PB('yealink')}`, {});
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toContain('realm="example.com"');
      });

      it('another user\'s phonebook is 403; the global directory is readable by every user', async () => {
        expect((await bob.get(ALICE_PB('yealink'))).status).toBe(403);
        const global = await bob.get('/phonebook/grandstream/global/directory/directory');
        expect(global.status).toBe(200);
        expect(rowsOf('grandstream', global.body)).toHaveLength(DIRECTORY_SIZE - 1);
      });

      it('unknown format, user document, list → 404 with a plain message', async () => {
        const cases: [string, string][] = [
          [`/phonebook/aastra/users/${ALICE.xui}/index/directory`, 'unknown phonebook format "aastra"'],
          [`/phonebook/yealink/users/${ALICE.xui}/index/nosuchlist`, 'no list "nosuchlist" in document "index"'],
          [`/phonebook/yealink/users/${ALICE.xui}/nosuchdoc/directory`, 'no phonebook: user sip:alice@example.com has no resource-lists document "nosuchdoc"'],
          [`/phonebook/yealink/users/${ALICE.xui}/index`, 'a phonebook URL ends with {document}/{list}'],
        ];
        for (const [path, message] of cases) {
          const res = await alice.get(path);
          expect(res.status, path).toBe(404);
          expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
          expect(res.body).toContain(message);
        }
        const ghost = await (new (xcapAlice.constructor as typeof XcapClient)(t.origin, { username: 'admin', password: 'admin-secret' })).get('/phonebook/yealink/users/sip:ghost@example.com/index/directory');
        expect([ghost.status, ghost.body]).toEqual([404, 'no phonebook: user sip:ghost@example.com has no resource-lists document "index"\n']);
      });

      it('device tokens (CLI): read the owner\'s phonebooks and the global tree, 403 for another user, read-only, revoked → 401', async () => {
        const cli = tokenCli(t);
        const token = (await cli('add', ALICE.xui, '--label', 'Yealink room 4')).stdout.trim();
        expect(token).toMatch(/^xbpt_/);
        const listed = (await cli('list')).stdout;
        expect(listed).toContain(`${ALICE.xui}\t`);
        expect(listed).toContain('Yealink room 4');
        expect(listed).not.toContain(token);
        const id = listed.split('\t')[0] as string;

        const anonymous = (path: string, method = 'GET', body?: string) => rawRequest(method, `${t.origin}${path}`, {}, body);
        const own = await anonymous(`${ALICE_PB('yealink')}?token=${token}`);
        expect(own.status).toBe(200);
        // Links inside pages keep the token.
        expect(nextYealink(own.body)).toContain(`token=${token}`);
        expect((await anonymous(`/phonebook/cisco/global/directory/directory?token=${token}`)).status).toBe(200);
        const other = await anonymous(`/phonebook/yealink/users/${BOB.xui}/index/directory?token=${token}`);
        expect([other.status, other.body]).toEqual([403, 'this device token is for another user\'s phonebooks\n']);
        const upload = await anonymous(`${ALICE_PB('polycom', 'friends')}/0004f2000001-directory.xml?token=${token}`, 'PUT', '<directory><item_list/></directory>');
        expect(upload.status).toBe(403);

        expect((await cli('remove', id)).code).toBe(0);
        expect((await anonymous(`${ALICE_PB('yealink')}?token=${token}`)).status).toBe(401);
        const tokens = await DeviceTokens.open(t.gateway.store.sql);
        expect(await tokens.list()).toEqual([]);
      });

      it('phonebook token --help, and bad usage exits 2', async () => {
        const cli = tokenCli(t);
        const help = await cli('--help');
        expect(help.code).toBe(0);
        expect(help.stdout).toContain('token add <xui>');
        expect((await cli('add', 'alice')).code).toBe(2);
        expect((await cli('frobnicate')).code).toBe(2);
      });
    });

    describe('Polycom two-way: the phone\'s directory upload becomes XCAP edits of the user\'s own list', () => {
      const FRIENDS = ALICE_PB('polycom', 'friends');
      const FILE = `${FRIENDS}/0004f2abcdef-directory.xml`;

      it('upload → XCAP GET shows the edit → download shows it back; the directory list is untouched', async () => {
        const served = await alice.get(FILE);
        expect(served.status).toBe(200);
        expect(rowsOf('polycom', served.body).map((r) => r.numbers[0])).toEqual(['+4930555000', '+4930555001']);
        const directoryBefore = listXml((await xcapAlice.get(ALICE_INDEX)).body, 'directory');
        // On the phone: Bob renamed with a speed dial, Dave deleted, Frank added.
        const edited = served.body
          .replace('<ln>Builder</ln><fn>Bob</fn>', '<ln>Baumeister</ln><fn>Bob</fn>')
          .replace(/<item><ln>Diver<\/ln>.*?<\/item>\n/, '')
          .replace('<sd/>', '<sd>3</sd>')
          .replace('</item_list>', '<item><ln>Franke</ln><fn>Frank</fn><ct>+4930555099</ct><sd/><bw>1</bw><rt>1</rt></item>\n</item_list>');
        expect(edited).not.toContain('Diver');
        const put = await alice.put(FILE, edited, 'text/xml');
        expect(put.status).toBe(204);

        const doc = (await xcapAlice.get(ALICE_INDEX)).body;
        const friends = listXml(doc, 'friends');
        expect(friends).toContain('<entry uri="sip:+4930555000@example.com"><display-name>Bob Baumeister</display-name>');
        expect(friends).toContain('>3</xbf:field>');
        expect(friends).toContain('<entry uri="sip:+4930555099@example.com"><display-name>Frank Franke</display-name></entry>');
        expect(friends).not.toContain('Dave');
        expect(friends).toContain('sip:carol@example.com'); // never served (no number): kept
        expect(listXml(doc, 'directory')).toBe(directoryBefore);

        const back = rowsOf('polycom', (await alice.get(FILE)).body);
        expect(back).toEqual([{ name: 'Bob Baumeister', numbers: ['+4930555000'] }, { name: 'Frank Franke', numbers: ['+4930555099'] }]);
        const root = strictRoot((await alice.get(FILE)).body);
        expect(kids(kids(kids(root, 'item_list')[0]!, 'item')[0]!, 'sd')[0]?.textContent).toBe('3');
      });

      it('the same upload again writes nothing (the ETag stays)', async () => {
        const served = (await alice.get(FILE)).body;
        const etag = (await xcapAlice.get(ALICE_INDEX)).headers.get('etag');
        expect((await alice.put(FILE, served, 'text/xml')).status).toBe(204);
        expect((await xcapAlice.get(ALICE_INDEX)).headers.get('etag')).toBe(etag);
      });

      it('a "*" upload skips what came from the directory and writes the configured list', async () => {
        const all = `${ALICE_PB('polycom', '*')}/0004f2abcdef-directory.xml`;
        const served = (await alice.get(all)).body;
        const edited = served.replace('</item_list>', '<item><ln>Star</ln><fn>Sam</fn><ct>+4930555077</ct></item>\n</item_list>');
        expect((await alice.put(all, edited, 'text/xml')).status).toBe(204);
        const doc = (await xcapAlice.get(ALICE_INDEX)).body;
        expect(listXml(doc, 'phone')).toBe(`<list name="phone"><entry uri="sip:+4930555077@example.com"><display-name>Sam Star</display-name></entry></list>`);
        expect(listXml(doc, 'friends')).toContain('Bob Baumeister');
      });

      it('a number the directory also has: editable through its own list\'s URL, never deleted by a "*" upload', async () => {
        const sel = (list: string, uri: string) => `${ALICE_INDEX}/~~/resource-lists/list%5B@name=%22${list}%22%5D/entry%5B@uri=%22${uri}%22%5D`;
        const shared = 'sip:+493012340002@example.com';
        expect((await xcapAlice.put(sel('friends', shared), `<entry uri="${shared}"><display-name>Pat Two</display-name></entry>`, 'application/xcap-el+xml')).status).toBe(201);
        const served = (await alice.get(FILE)).body;
        expect(served).toContain('<ct>+493012340002</ct>');
        expect((await alice.put(FILE, served.replace('<ln>Two</ln><fn>Pat</fn>', '<ln>Zwei</ln><fn>Pat</fn>'), 'text/xml')).status).toBe(204);
        expect(listXml((await xcapAlice.get(ALICE_INDEX)).body, 'friends')).toContain(`<entry uri="${shared}"><display-name>Pat Zwei</display-name></entry>`);

        // In the "*" file the directory (earlier in the document than "phone") shows the number.
        const phoneShared = 'sip:+493012340003@example.com';
        expect((await xcapAlice.put(sel('phone', phoneShared), `<entry uri="${phoneShared}"><display-name>Tri Three</display-name></entry>`, 'application/xcap-el+xml')).status).toBe(201);
        const all = `${ALICE_PB('polycom', '*')}/0004f2abcdef-directory.xml`;
        const star = (await alice.get(all)).body;
        expect(star).not.toContain('Three');
        expect((await alice.put(all, star, 'text/xml')).status).toBe(204);
        const phone = listXml((await xcapAlice.get(ALICE_INDEX)).body, 'phone');
        expect(phone).toContain('Sam Star');
        expect(phone).toContain('Tri Three');
      });

      it('bad uploads are 4xx and write nothing', async () => {
        const before = await xcapAlice.get(ALICE_INDEX);
        const big = `<directory><item_list>${'<item><ln>x</ln><fn>y</fn><ct>1</ct></item>'.repeat(1)}${'<!-- pad -->'.repeat(30_000)}</item_list></directory>`;
        const many = `<directory><item_list>${Array.from({ length: 1001 }, (_, i) => `<item><ln>n</ln><fn>f</fn><ct>${1000 + i}</ct></item>`).join('')}</item_list></directory>`;
        const cases: [string, string, number, string][] = [
          ['not XML', '<directory><item_list>', 400, 'directory upload:'],
          ['a DOCTYPE', '<!DOCTYPE directory [<!ENTITY x "y">]><directory/>', 400, 'directory upload:'],
          ['another root', '<tbook/>', 400, 'the root element must be <directory>'],
          ['an item without ct', '<directory><item_list><item><fn>A</fn></item></item_list></directory>', 400, 'has no <ct>'],
          ['a ct twice', '<directory><item_list><item><ct>1</ct></item><item><ct>1</ct></item></item_list></directory>', 400, 'appears twice'],
          ['an over-long fn', `<directory><item_list><item><fn>${'x'.repeat(41)}</fn><ct>1</ct></item></item_list></directory>`, 400, 'longer than 40 bytes'],
          ['an empty directory', '<directory><item_list/></directory>', 409, 'refusing to delete'],
          ['too many items', many, 413, 'more than 1000 items'],
          ['too many bytes', big, 413, 'exceeds 262144 bytes'],
        ];
        for (const [what, body, status, message] of cases) {
          const res = await alice.put(FILE, body, 'text/xml');
          expect([what, res.status]).toEqual([what, status]);
          expect(res.body).toContain(message);
        }
        expect((await alice.put(`${ALICE_PB('polycom', 'directory')}/0004f2abcdef-directory.xml`, '<directory><item_list><item><ct>1</ct></item></item_list></directory>', 'text/xml')).status).toBe(403);
        expect((await alice.put(`${ALICE_PB('yealink', 'friends')}`, '<x/>', 'text/xml')).status).toBe(405);
        const after = await xcapAlice.get(ALICE_INDEX);
        expect(after.headers.get('etag')).toBe(before.headers.get('etag'));
      });
    });
  });
});

/** The next-page link of a Yealink page. */
function nextYealink(body: string): string | undefined {
  const item = kids(strictRoot(body), 'MenuItem')[0];
  return item ? (kids(item, 'URL')[0]?.textContent ?? undefined) : undefined;
}

function refreshUrl(headers: Headers): string | undefined {
  const v = headers.get('refresh');
  return v === null ? undefined : v.slice(v.indexOf('url=') + 4);
}

/** The serialized top-level list `name` of a resource-lists document as served. */
function listXml(body: string, name: string): string {
  const start = body.indexOf(`<list name="${name}">`);
  if (start < 0) return '';
  return body.slice(start, body.indexOf('</list>', start) + '</list>'.length);
}

const run = promisify(execFile);

/** Runs `xcap-bridge phonebook token ...` as a child process on the gateway's SQLite store. */
function tokenCli(t: TestGateway) {
  return async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, ['src/cli.ts', 'phonebook', 'token', ...args, '--data', t.dataDir], { cwd: join(import.meta.dirname, '..', '..') });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };
}
