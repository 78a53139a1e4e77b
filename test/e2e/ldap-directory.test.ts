/**
 * Issue 5 end to end: a company directory in a real OpenLDAP reaches every user's phone
 * over XCAP through the real gateway (HTTP, Digest), the sync engine on real Redis and the
 * LDAP connector. The directory list is read-only for users (409 constraint-failure, see
 * docs/sync.md); a phone's whole-document PUT with a stale directory keeps the user's edit
 * and never reverts the directory.
 */
import { randomUUID } from 'node:crypto';
import { Attribute, Change, type Client } from 'ldapts';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BindingInput } from '../../src/sync/binding.ts';
import { SyncState, type ScopeState } from '../../src/sync/state.ts';
import { ADMIN, ALICE, BOB, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import type { ClientResponse, XcapClient } from '../helpers/digest-client.ts';
import { enc, EL_TYPE, expectConflict, RL_NS, RL_TYPE } from '../http/helpers.ts';
import { adminClient, freshOu, ldapadd, PASSWORD_ENV, peopleLdif, type LdapServer } from '../connectors/ldap-fixtures.ts';
import { startSlapd, type SlapdService } from '../services/slapd.ts';
import { describeEachRedis, redisSection, type RedisVariant } from '../helpers/redis-variants.ts';

const ALICE_INDEX = `/resource-lists/users/${ALICE.xui}/index`;
const BOB_INDEX = `/resource-lists/users/${BOB.xui}/index`;
const GLOBAL_DIRECTORY = '/resource-lists/global/directory';
const DIRECTORY_SEL = 'resource-lists/list[@name="directory"]';
const BINDING = 'corp-directory';

// The shared slapd and the private ones of this file (test/services/slapd.ts) have the same password.
process.env[PASSWORD_ENV] = inject('services').ldap.password;

type Entry = { 'display-name'?: string; mail?: string };

/** Entries of the top-level list `name` by uri (display-name and the `mail` field), or undefined when the list is missing. */
function listOf(body: string, name: string): Map<string, Entry> | undefined {
  const root = new DOMParser().parseFromString(body, 'text/xml').documentElement as Element;
  const list = kids(root, RL_NS, 'list').find((l) => l.getAttribute('name') === name);
  if (!list) return undefined;
  const out = new Map<string, Entry>();
  for (const e of kids(list, RL_NS, 'entry')) {
    const entry: Entry = {};
    const dn = kids(e, RL_NS, 'display-name')[0]?.textContent;
    if (dn) entry['display-name'] = dn;
    const mail = kids(e).find((f) => f.localName === 'field' && f.getAttribute('name') === 'mail')?.textContent;
    if (mail) entry.mail = mail;
    out.set(e.getAttribute('uri') ?? '', entry);
  }
  return out;
}

function kids(el: Element, ns?: string, local?: string): Element[] {
  return Array.from(el.childNodes).filter(
    (n): n is Element => n.nodeType === 1 && (ns === undefined || (n as Element).namespaceURI === ns) && (local === undefined || (n as Element).localName === local),
  );
}

/** DN of a person whose uid is `uid`, with the characters that matter to filters hex-escaped (RFC 4514 §2.4). */
function personDn(uid: string, ouDn: string): string {
  return `uid=${uid.replace(/[*()\\]/g, (c) => `\\${c.charCodeAt(0).toString(16)}`)},${ouDn}`;
}

function uriOf(uid: string): string {
  return `sip:${uid}@example.com`;
}

/** A resource-lists document with the given lists (uri lists; display names from the uri). */
function doc(lists: Record<string, string[]>): string {
  const body = Object.entries(lists)
    .map(([name, uris]) => `<list name="${name}">${uris.map((u) => `<entry uri="${u}"><display-name>${u.slice(4, u.indexOf('@'))}</display-name></entry>`).join('')}</list>`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="${RL_NS}">${body}</resource-lists>`;
}

/** GETs `path` until `ok(body)` holds (the sync engine works asynchronously); returns the last body. */
async function eventually(client: XcapClient, path: string, ok: (body: string) => boolean, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.get(path);
    if (res.status === 200 && ok(res.body)) return res.body;
    if (Date.now() > deadline) return res.body;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function ldapConnector(server: LdapServer, baseDn: string) {
  return {
    kind: 'ldap',
    url: server.url,
    bindDn: server.bindDn,
    bindPasswordEnv: PASSWORD_ENV,
    baseDn,
    deleteScanIntervalMs: 0,
    connectTimeoutMs: 1000,
    mapping: { uri: 'sip:{uid}@{domain}', constants: { domain: 'example.com' }, defaultCountry: 'DE', fields: { mail: 'mail' } },
  };
}

function directoryBinding(collection: string, target: BindingInput['target']): BindingInput {
  return {
    name: BINDING,
    auid: 'resource-lists',
    target,
    mapping: { kind: 'resource-lists', list: 'directory', fields: ['mail'] },
    connector: 'corp',
    collection,
    direction: 'pull',
  };
}

async function startWith(
  server: LdapServer,
  ouDn: string,
  target: BindingInput['target'],
  change: { connector?: Record<string, unknown>; binding?: Partial<BindingInput>; redis: RedisVariant },
): Promise<TestGateway> {
  return startTestGateway({
    config: {
      redis: redisSection(await change.redis.target(), `e2e-ldap-${randomUUID()}`),
      connectors: { corp: { ...ldapConnector(server, ouDn), ...change.connector } },
      bindings: [{ ...directoryBinding(ouDn, target), ...change.binding }],
    },
  });
}

describeEachRedis((redis) => {
  describe('issue 5: the LDAP directory in every user\'s index (list "directory")', () => {
    const server = inject('services').ldap;
    const N = 200;
    let ou: { dn: string; admin: Client; drop(): Promise<void> };
    let t: TestGateway;
    let alice: XcapClient;
    let bob: XcapClient;
    /** Alice's document as the phone last fetched it (before the LDAP edits). */
    let staleAlice = '';

    beforeAll(async () => {
      ou = await freshOu(server);
      await ldapadd(server, peopleLdif(ou.dn, N));
      t = await startWith(server, ou.dn, { scope: 'users', document: 'index' }, { redis });
      alice = t.client();
      bob = t.client('bob', BOB.password);
    });
    afterAll(async () => {
      await t?.stop();
      await ou?.drop();
    });

    it('every user with a resource-lists document gets the directory next to their own lists', async () => {
      expect((await alice.put(ALICE_INDEX, doc({ friends: [uriOf('bob'), uriOf('carol')] }), RL_TYPE)).status).toBe(201);
      expect((await bob.put(BOB_INDEX, doc({ mates: [uriOf('alice')] }), RL_TYPE)).status).toBe(201);
      await t.gateway.sync!.enqueue(BINDING);

      const body = await eventually(alice, ALICE_INDEX, (b) => listOf(b, 'directory')?.size === N);
      const dir = listOf(body, 'directory');
      expect(dir?.size).toBe(N);
      expect(dir?.get(uriOf('p42'))).toEqual({ 'display-name': 'Person 42', mail: 'p42@example.com' });
      expect([...(listOf(body, 'friends')?.keys() ?? [])]).toEqual([uriOf('bob'), uriOf('carol')]);

      const bobs = await eventually(bob, BOB_INDEX, (b) => listOf(b, 'directory')?.size === N);
      expect(listOf(bobs, 'directory')?.size).toBe(N);
      expect([...(listOf(bobs, 'mates')?.keys() ?? [])]).toEqual([uriOf('alice')]);
      staleAlice = body;
    });

    it('added, modified, renamed and deleted LDAP entries reach the documents after a tick; alice\'s own list is untouched', async () => {
      await ou.admin.add(`uid=newhire,${ou.dn}`, { objectClass: 'inetOrgPerson', uid: 'newhire', cn: 'New Hire', sn: 'Hire', mail: 'newhire@example.com' });
      await ou.admin.modify(`uid=p5,${ou.dn}`, [
        new Change({ operation: 'replace', modification: new Attribute({ type: 'displayName', values: ['Fifth Person'] }) }),
        new Change({ operation: 'replace', modification: new Attribute({ type: 'mail', values: ['fifth@example.com'] }) }),
      ]);
      await ou.admin.modifyDN(`uid=p6,${ou.dn}`, `uid=p6-renamed,${ou.dn}`);
      await ou.admin.del(`uid=p7,${ou.dn}`);
      await t.gateway.sync!.enqueue(BINDING);

      const done = (b: string) => {
        const d = listOf(b, 'directory');
        return d?.has(uriOf('newhire')) === true && !d.has(uriOf('p7')) && !d.has(uriOf('p6')) && d.get(uriOf('p5'))?.['display-name'] === 'Fifth Person';
      };
      for (const [client, path] of [[alice, ALICE_INDEX], [bob, BOB_INDEX]] as const) {
        const body = await eventually(client, path, done);
        const dir = listOf(body, 'directory');
        expect(dir?.size).toBe(N); // +1 added, -1 deleted, rename keeps the count
        expect(dir?.get(uriOf('newhire'))).toEqual({ 'display-name': 'New Hire', mail: 'newhire@example.com' });
        expect(dir?.get(uriOf('p5'))).toEqual({ 'display-name': 'Fifth Person', mail: 'fifth@example.com' });
        expect(dir?.get(uriOf('p6-renamed'))).toEqual({ 'display-name': 'Person 6', mail: 'p6@example.com' });
        expect(dir?.has(uriOf('p6'))).toBe(false);
        expect(dir?.has(uriOf('p7'))).toBe(false);
      }
      const body = (await alice.get(ALICE_INDEX)).body;
      expect([...(listOf(body, 'friends')?.keys() ?? [])]).toEqual([uriOf('bob'), uriOf('carol')]);
    });

    describe('the directory list is read-only for its user (409 constraint-failure naming the binding)', () => {
      const refusals: [string, () => Promise<ClientResponse>][] = [
        ['element PUT of a new entry into the list', () => alice.put(`${ALICE_INDEX}/~~/${enc(`${DIRECTORY_SEL}/entry[@uri="sip:mallory@example.com"]`)}`, '<entry uri="sip:mallory@example.com"/>', EL_TYPE)],
        ['element PUT replacing a directory entry', () => alice.put(`${ALICE_INDEX}/~~/${enc(`${DIRECTORY_SEL}/entry[@uri="${uriOf('p1')}"]`)}`, `<entry uri="${uriOf('p1')}"><display-name>Hacked</display-name></entry>`, EL_TYPE)],
        ['element DELETE of a directory entry', () => alice.delete(`${ALICE_INDEX}/~~/${enc(`${DIRECTORY_SEL}/entry[@uri="${uriOf('p1')}"]`)}`)],
        ['element PUT by position (list[2]/entry[1])', () => alice.put(`${ALICE_INDEX}/~~/${enc('resource-lists/list[2]/entry[1]')}`, `<entry uri="${uriOf('p0')}"><display-name>Hacked</display-name></entry>`, EL_TYPE)],
        ['attribute PUT renaming the list', () => alice.put(`${ALICE_INDEX}/~~/${enc(`${DIRECTORY_SEL}/@name`)}`, 'mine', 'application/xcap-att+xml')],
        ['attribute DELETE inside the list', () => alice.delete(`${ALICE_INDEX}/~~/${enc(`${DIRECTORY_SEL}/entry[@uri="${uriOf('p1')}"]/@uri`)}`)],
        ['element DELETE of the whole list', () => alice.delete(`${ALICE_INDEX}/~~/${enc(DIRECTORY_SEL)}`)],
        ['element PUT replacing the root element', () => alice.put(`${ALICE_INDEX}/~~/resource-lists`, `<resource-lists xmlns="${RL_NS}"><list name="friends"/></resource-lists>`, EL_TYPE)],
        ['attribute PUT turning her own list into a second "directory"', () => alice.put(`${ALICE_INDEX}/~~/${enc('resource-lists/list[1]/@name')}`, 'directory', 'application/xcap-att+xml')],
      ];
      it.each(refusals)('%s', async (_, send) => {
        const before = await alice.get(ALICE_INDEX);
        const res = await send();
        const cond = expectConflict(res, 'constraint-failure');
        expect(cond.getAttribute('phrase')).toContain(`"${BINDING}"`);
        const after = await alice.get(ALICE_INDEX);
        expect(after.headers.get('etag')).toBe(before.headers.get('etag'));
        expect(after.body).toBe(before.body);
      });

      it('element PUT into her own list is accepted and leaves the directory as it was', async () => {
        const before = listOf((await alice.get(ALICE_INDEX)).body, 'directory');
        const res = await alice.put(`${ALICE_INDEX}/~~/${enc('resource-lists/list[@name="friends"]/entry[@uri="sip:dave@example.com"]')}`, '<entry uri="sip:dave@example.com"/>', EL_TYPE);
        expect(res.status).toBe(201);
        const body = (await alice.get(ALICE_INDEX)).body;
        expect([...(listOf(body, 'friends')?.keys() ?? [])]).toEqual([uriOf('bob'), uriOf('carol'), 'sip:dave@example.com']);
        expect(listOf(body, 'directory')).toEqual(before);
        const del = await alice.delete(`${ALICE_INDEX}/~~/${enc('resource-lists/list[@name="friends"]/entry[@uri="sip:dave@example.com"]')}`);
        expect(del.status).toBe(200);
        expect([...(listOf((await alice.get(ALICE_INDEX)).body, 'friends')?.keys() ?? [])]).toEqual([uriOf('bob'), uriOf('carol')]);
      });
    });

    it('a phone\'s whole-document PUT without If-Match carrying a stale directory keeps her edit and does not revert the directory', async () => {
      const current = listOf((await alice.get(ALICE_INDEX)).body, 'directory');
      expect(listOf(staleAlice, 'directory')?.has(uriOf('p7'))).toBe(true); // the copy the phone fetched before the LDAP edits
      // The phone's edit: erin added to friends, everything else as it last fetched it (Jitsi/Snom style).
      const edited = staleAlice.replace('<list name="friends">', '<list name="friends"><entry uri="sip:erin@example.com"><display-name>Erin</display-name></entry>');
      expect(edited).not.toBe(staleAlice);
      const res = await alice.put(ALICE_INDEX, edited, RL_TYPE);
      expect(res.status).toBe(200);
      const body = (await alice.get(ALICE_INDEX)).body;
      expect(res.headers.get('etag')).toBe((await alice.get(ALICE_INDEX)).headers.get('etag'));
      expect([...(listOf(body, 'friends')?.keys() ?? [])]).toEqual(['sip:erin@example.com', uriOf('bob'), uriOf('carol')]);
      expect(listOf(body, 'directory')).toEqual(current);

      // A next tick does not put the stale entries back either.
      await ou.admin.add(`uid=tick,${ou.dn}`, { objectClass: 'inetOrgPerson', uid: 'tick', cn: 'Tick', sn: 'Tick' });
      await t.gateway.sync!.enqueue(BINDING, ALICE.xui);
      const later = await eventually(alice, ALICE_INDEX, (b) => listOf(b, 'directory')?.has(uriOf('tick')) === true);
      const dir = listOf(later, 'directory');
      expect(dir?.has(uriOf('tick'))).toBe(true);
      expect(dir?.has(uriOf('p7'))).toBe(false);
      expect(dir?.get(uriOf('p5'))?.['display-name']).toBe('Fifth Person');
      expect([...(listOf(later, 'friends')?.keys() ?? [])]).toEqual(['sip:erin@example.com', uriOf('bob'), uriOf('carol')]);
    });

    it('a whole-document PUT that leaves the directory out keeps the directory', async () => {
      const before = listOf((await alice.get(ALICE_INDEX)).body, 'directory');
      const res = await alice.put(ALICE_INDEX, doc({ friends: [uriOf('bob')] }), RL_TYPE);
      expect(res.status).toBe(200);
      const body = (await alice.get(ALICE_INDEX)).body;
      expect([...(listOf(body, 'friends')?.keys() ?? [])]).toEqual([uriOf('bob')]);
      expect(listOf(body, 'directory')).toEqual(before);
    });

    it('a new user\'s first document drops a list named "directory" it brings; the next sync run fills the real one', async () => {
      await t.users.add('sip:carol@example.com', 'carol-secret');
      const carol = t.client('carol', 'carol-secret');
      const path = '/resource-lists/users/sip:carol@example.com/index';
      const res = await carol.put(path, doc({ directory: ['sip:fake@example.com'], own: [uriOf('alice')] }), RL_TYPE);
      expect(res.status).toBe(201);
      const first = (await carol.get(path)).body;
      expect(listOf(first, 'directory')).toBeUndefined();
      expect([...(listOf(first, 'own')?.keys() ?? [])]).toEqual([uriOf('alice')]);
      await t.gateway.sync!.enqueue(BINDING, 'sip:carol@example.com');
      const body = await eventually(carol, path, (b) => (listOf(b, 'directory')?.size ?? 0) > N);
      expect(listOf(body, 'directory')?.has('sip:fake@example.com')).toBe(false);
      expect(listOf(body, 'directory')?.has(uriOf('tick'))).toBe(true);
    });

    it('an LDAP entry named `*)(uid=*` is one literal contact: it widens nothing, and her own entry of that name is hers', async () => {
      const hostile = '*)(uid=*';
      await ou.admin.add(personDn(hostile, ou.dn), { objectClass: 'inetOrgPerson', uid: hostile, cn: 'Hostile', sn: 'Hostile' });
      const sizeBefore = listOf((await alice.get(ALICE_INDEX)).body, 'directory')?.size ?? 0;
      await t.gateway.sync!.enqueue(BINDING, ALICE.xui);
      const body = await eventually(alice, ALICE_INDEX, (b) => listOf(b, 'directory')?.has(uriOf(hostile)) === true);
      const dir = listOf(body, 'directory');
      expect(dir?.get(uriOf(hostile))).toEqual({ 'display-name': 'Hostile' });
      expect(dir?.size).toBe(sizeBefore + 1);

      // Her own list may hold that uri; the directory does not change because of it.
      const own = await alice.put(`${ALICE_INDEX}/~~/${enc('resource-lists/list[@name="friends"]/entry[2]')}`, `<entry uri="${uriOf(hostile)}"/>`, EL_TYPE);
      expect(own.status).toBe(201);
      await t.gateway.sync!.enqueue(BINDING, ALICE.xui);
      await ou.admin.del(personDn(hostile, ou.dn));
      await t.gateway.sync!.enqueue(BINDING, ALICE.xui);
      const after = await eventually(alice, ALICE_INDEX, (b) => listOf(b, 'directory')?.has(uriOf(hostile)) === false);
      expect(listOf(after, 'directory')?.size).toBe(sizeBefore);
      expect([...(listOf(after, 'friends')?.keys() ?? [])]).toEqual([uriOf('bob'), uriOf(hostile)]);
    });
  });

  describe('issue 9: write-back (direction both) never destroys what the binding does not map', () => {
    const server = inject('services').ldap;
    let ou: { dn: string; admin: Client; drop(): Promise<void> };
    let t: TestGateway;
    let alice: XcapClient;

    /** Every user attribute of `uid=<uid>` as lists of values. */
    async function attributesOf(uid: string): Promise<Record<string, string[]>> {
      const { searchEntries } = await ou.admin.search(`uid=${uid},${ou.dn}`, { scope: 'base', attributes: ['*'] });
      const { dn: _dn, ...attrs } = searchEntries[0] ?? { dn: '' };
      return Object.fromEntries(Object.entries(attrs).map(([a, v]) => [a, (Array.isArray(v) ? v : [v]).map(String)]));
    }

    beforeAll(async () => {
      ou = await freshOu(server);
      await ldapadd(server, peopleLdif(ou.dn, 5));
      await ou.admin.modify(`uid=p3,${ou.dn}`, [
        new Change({ operation: 'add', modification: new Attribute({ type: 'mobile', values: ['0151 12345678'] }) }),
        new Change({ operation: 'add', modification: new Attribute({ type: 'mail', values: ['person3@example.org'] }) }),
      ]);
      // The connector maps mail, mobile and title; the binding carries none of them (its default `fields: []`).
      t = await startWith(server, ou.dn, { scope: 'users', document: 'index', users: [ALICE.xui] }, {
        connector: { write: { enabled: true }, mapping: { uri: 'sip:{uid}@{domain}', constants: { domain: 'example.com' }, defaultCountry: 'DE', fields: { mail: 'mail', mobile: 'mobile', title: 'title' } } },
        binding: { direction: 'both', policy: 'xcap-wins', mapping: { kind: 'resource-lists', list: 'directory' } },
        redis,
      });
      alice = t.client();
      await t.gateway.sync!.enqueue(BINDING);
    });
    afterAll(async () => {
      await t?.stop();
      await ou?.drop();
    });

    it('a phone\'s display-name edit of one contact changes displayName in LDAP and nothing else of the entry', async () => {
      await eventually(alice, ALICE_INDEX, (b) => listOf(b, 'directory')?.size === 5);
      const before = await attributesOf('p3');
      expect(before.mail).toEqual(['p3@example.com', 'person3@example.org']);
      const sel = enc(`${DIRECTORY_SEL}/entry[@uri="${uriOf('p3')}"]/display-name`);
      const res = await alice.put(`${ALICE_INDEX}/~~/${sel}`, `<display-name xmlns="${RL_NS}">Third Person</display-name>`, EL_TYPE);
      expect(res.status).toBe(200);
      expect(listOf((await alice.get(ALICE_INDEX)).body, 'directory')?.get(uriOf('p3'))?.['display-name']).toBe('Third Person');

      const after = await until(() => attributesOf('p3'), (a) => a.displayName?.[0] === 'Third Person');
      expect(after).toEqual({ ...before, displayName: ['Third Person'] });
    });

    /** Every person of the ou with all its attributes, by uid. */
    async function everyone(): Promise<Map<string, Record<string, string[]>>> {
      const { searchEntries } = await ou.admin.search(ou.dn, { scope: 'one', filter: '(uid=*)', attributes: ['uid'] });
      const uids = searchEntries.map((e) => String(e.uid)).sort();
      return new Map(await Promise.all(uids.map(async (u) => [u, await attributesOf(u)] as const)));
    }

    it('a whole-document PUT that leaves the directory out, then a DELETE of the document: each time the next run puts the directory back, and LDAP loses nothing (issue 9 item 2)', async () => {
      const people = await everyone();
      expect(people.size).toBe(5);
      const directory = listOf((await alice.get(ALICE_INDEX)).body, 'directory');
      expect(directory?.size).toBe(5);
      const mine = `<list name="mine"><entry uri="sip:mum@example.net"><display-name>Mum</display-name></entry></list>`;
      const put = await alice.put(ALICE_INDEX, `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="${RL_NS}">${mine}</resource-lists>`, RL_TYPE);
      expect(put.status, put.body).toBe(200);
      const back = await eventually(alice, ALICE_INDEX, (b) => listOf(b, 'directory')?.size === 5);
      expect(listOf(back, 'directory')).toEqual(directory);
      // A list put back is in the order of its uris, every time (docs/sync.md, Managed lists).
      const order = [...(directory?.keys() ?? [])].sort();
      expect([...(listOf(back, 'directory')?.keys() ?? [])]).toEqual(order);
      expect(listOf(back, 'mine')?.get('sip:mum@example.net')).toEqual({ 'display-name': 'Mum' });
      expect(await everyone()).toEqual(people);

      const del = await alice.delete(ALICE_INDEX);
      expect(del.status, del.body).toBe(200);
      const recreated = await eventually(alice, ALICE_INDEX, (b) => listOf(b, 'directory')?.size === 5);
      expect(listOf(recreated, 'directory')).toEqual(directory);
      expect([...(listOf(recreated, 'directory')?.keys() ?? [])]).toEqual(order);
      expect(await everyone()).toEqual(people);
    });
  });

  describe(`issue 9: a delete in a quiet directory reaches the phones on the scheduled ticks alone`, () => {
    const server = inject('services').ldap;
    let ou: { dn: string; admin: Client; drop(): Promise<void> };
    let t: TestGateway;

    beforeAll(async () => {
      ou = await freshOu(server);
      await ldapadd(server, peopleLdif(ou.dn, 5));
      // Ticks every second; a listing at most every 2 s. Nothing but the schedule runs the binding.
      t = await startWith(server, ou.dn, { scope: 'users', document: 'index', users: [ALICE.xui] }, {
        connector: { deleteScanIntervalMs: 2000 },
        binding: { schedule: { everyMs: 1000 } },
        redis,
      });
    });
    afterAll(async () => {
      await t?.stop();
      await ou?.drop();
    });

    it('the deleted entry leaves the directory list without any other change in LDAP', async () => {
      const alice = t.client();
      const full = await eventually(alice, ALICE_INDEX, (b) => listOf(b, 'directory')?.size === 5);
      expect(listOf(full, 'directory')?.has(uriOf('p2'))).toBe(true);
      await ou.admin.del(`uid=p2,${ou.dn}`);
      const after = await eventually(alice, ALICE_INDEX, (b) => listOf(b, 'directory')?.has(uriOf('p2')) === false);
      expect(listOf(after, 'directory')?.size).toBe(4);
      expect(listOf(after, 'directory')?.has(uriOf('p2'))).toBe(false);
    });
  });

  describe('issue 5: the LDAP server down', () => {
    let slapd: SlapdService;
    let ou: { dn: string; admin: Client; drop(): Promise<void> };
    let t: TestGateway;
    let alice: XcapClient;
    const stateOf = async (): Promise<ScopeState | undefined> => (await SyncState.open(t.gateway.store.sql)).getScope(BINDING, ALICE.xui);

    beforeAll(async () => {
      slapd = await startSlapd();
      ou = await freshOu(slapd);
      await ldapadd(slapd, peopleLdif(ou.dn, 20));
      t = await startWith(slapd, ou.dn, { scope: 'users', document: 'index', users: [ALICE.xui] }, { redis });
      alice = t.client();
    });
    afterAll(async () => {
      await t?.stop();
      await slapd?.stop();
    });

    it('XCAP keeps serving the last good list, the run records the error (sync status), and the next run after recovery catches up', async () => {
      await t.gateway.sync!.enqueue(BINDING);
      const good = await eventually(alice, ALICE_INDEX, (b) => listOf(b, 'directory')?.size === 20);
      expect(listOf(good, 'directory')?.size).toBe(20);
      await ou.admin.unbind();

      await slapd.halt();
      await t.gateway.sync!.enqueue(BINDING, ALICE.xui);
      const failed = await until(stateOf, (s) => s?.lastError != null);
      expect(failed?.lastError).toMatch(/unavailable/i);
      const during = await alice.get(ALICE_INDEX);
      expect(during.status).toBe(200);
      expect(during.body).toBe(good);

      await slapd.restart();
      const admin = await adminClient(slapd);
      await admin.add(`uid=back,${ou.dn}`, { objectClass: 'inetOrgPerson', uid: 'back', cn: 'Back Again', sn: 'Again' });
      await admin.unbind();
      await t.gateway.sync!.enqueue(BINDING, ALICE.xui);
      const after = await eventually(alice, ALICE_INDEX, (b) => listOf(b, 'directory')?.has(uriOf('back')) === true, 40_000);
      expect(listOf(after, 'directory')?.size).toBe(21);
      // A retry of a run that failed during the outage may record its error after the run
      // above; the next run after recovery clears it (sync status no longer shows it).
      expect((await until(stateOf, (s) => s?.lastError === null, 40_000))?.lastError).toBeNull();
    });
  });

  describe('issue 5: a 10,000-entry directory into resource-lists/global/directory', () => {
    const server = inject('services').ldap;
    const N = 10_000;
    let ou: { dn: string; admin: Client; drop(): Promise<void> };
    let t: TestGateway;

    beforeAll(async () => {
      ou = await freshOu(server);
      await ldapadd(server, peopleLdif(ou.dn, N));
      t = await startWith(server, ou.dn, { scope: 'global', document: 'directory' }, { redis });
    });
    afterAll(async () => {
      await t?.stop();
      await ou?.drop();
    });

    /**
     * Queues a run and waits for one that started after the call to have finished: cheap state
     * reads, where polling the 10,000-entry document would take the CPU the run needs.
     */
    async function runToEnd(): Promise<void> {
      const since = Date.now();
      await t.gateway.sync!.enqueue(BINDING, 'global');
      const state = await SyncState.open(t.gateway.store.sql);
      const s = await until(() => state.getScope(BINDING, 'global'), (v) => (v?.lastRunAt ?? 0) >= since, 100_000);
      expect(s?.lastRunAt ?? 0, 'a sync run finished').toBeGreaterThanOrEqual(since);
      expect(s?.lastError ?? null).toBeNull();
    }

    it('the global document lists the whole directory; users read it, only admins may write the global tree, and not the managed list', async () => {
      await runToEnd();
      const alice = t.client();
      const body = (await alice.get(GLOBAL_DIRECTORY)).body;
      const dir = listOf(body, 'directory');
      expect(dir?.size).toBe(N);
      expect(dir?.get(uriOf('p9999'))).toEqual({ 'display-name': 'Person 9999', mail: 'p9999@example.com' });

      expect((await alice.put(`${GLOBAL_DIRECTORY}/~~/${enc(`${DIRECTORY_SEL}/entry[1]`)}`, '<entry uri="sip:x@example.com"/>', EL_TYPE)).status).toBe(403);
      const admin = t.client('admin', ADMIN.password);
      const res = await admin.delete(`${GLOBAL_DIRECTORY}/~~/${enc(`${DIRECTORY_SEL}/entry[@uri="${uriOf('p1')}"]`)}`);
      expect(expectConflict(res, 'constraint-failure').getAttribute('phrase')).toContain(`"${BINDING}"`);
      expect(listOf((await alice.get(GLOBAL_DIRECTORY)).body, 'directory')?.has(uriOf('p1'))).toBe(true);
    });

    it('one modified entry of 10,000 reaches the global document after a tick', async () => {
      await ou.admin.modify(`uid=p1234,${ou.dn}`, [new Change({ operation: 'replace', modification: new Attribute({ type: 'displayName', values: ['Changed Person'] }) })]);
      await runToEnd();
      const dir = listOf((await t.client().get(GLOBAL_DIRECTORY)).body, 'directory');
      expect(dir?.get(uriOf('p1234'))?.['display-name']).toBe('Changed Person');
      expect(dir?.size).toBe(N);
    });
  });
});
