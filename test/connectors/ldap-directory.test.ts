/**
 * The LDAP connector over a company-sized directory on a private slapd (a private one, so
 * that counting requests and contextCSN are not disturbed by other test files).
 */
import { Writable } from 'node:stream';
import { Attribute, Change, Client } from 'ldapts';
import { ldapMappingSchema } from '../../connectors/ldap/config.ts';
import { EntryMapper } from '../../connectors/ldap/mapping.ts';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlapd, type SlapdService } from '../services/slapd.ts';
import { guidToBytes, guidToString } from '../../connectors/ldap/item-id.ts';
import type { ChangeSet } from '../../connectors/types.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { bindingSchema, compileBinding } from '../../src/sync/binding.ts';
import { resourceListsMapping } from '../../src/appusage/resource-lists/items.ts';
import { runSync, type RunReport } from '../../src/sync/runner.ts';
import { SyncState } from '../../src/sync/state.ts';
import { adminClient, collect, freshOu, ldapadd, ldapConnectorFor, peopleLdif, recordingClient, refByDn, type RequestLog } from './ldap-fixtures.ts';

let server: SlapdService;
beforeAll(async () => {
  server = await startSlapd();
});
afterAll(async () => {
  await server.stop();
});

function expectChangeSet(cs: ChangeSet | 'token-expired'): ChangeSet {
  if (cs === 'token-expired') throw new Error('unexpected token-expired');
  return cs;
}

describe('10,000-entry directory (paged reads, change detection without syncrepl)', () => {
  const N = 10_000;
  let ouDn: string;
  beforeAll(async () => {
    const ou = await freshOu(server);
    ouDn = ou.dn;
    await ou.admin.unbind();
    await ldapadd(server, peopleLdif(ouDn, N));
  });

  it('reads every entry, paged 1000 at a time, and maps uid/phone/display-name', async () => {
    const connector = ldapConnectorFor(server, ouDn, {
      mapping: { uri: ['sip:{uid}@{domain}'], constants: { domain: 'example.com' }, defaultCountry: 'DE', fields: { mail: 'mail', phone: 'telephoneNumber', title: 'title' } },
    });
    const items = await collect(connector.read(ouDn));
    expect(items).toHaveLength(N);
    expect(new Set(items.map((i) => i.id)).size).toBe(N);
    const p42 = items.find((i) => i.fields.uri === 'sip:p42@example.com');
    expect(p42?.fields).toEqual({ uri: 'sip:p42@example.com', 'display-name': 'Person 42', mail: 'p42@example.com', phone: '+49301000042', title: 'Title 42' });
    const refs = await collect(connector.list(ouDn));
    expect(refs).toHaveLength(N);
    await connector.close();
  });

  it('tel: template gives E.164 numbers from national ones with the default country', async () => {
    const connector = ldapConnectorFor(server, ouDn, { mapping: { uri: 'tel:{telephoneNumber}', defaultCountry: 'DE' } });
    const uris = new Set((await collect(connector.read(ouDn))).map((i) => i.fields.uri));
    expect(uris.size).toBe(N);
    expect(uris.has('tel:+49301000007')).toBe(true);
    await connector.close();
  });

  it('add, modify, rename and delete are reported by changes(); an unchanged directory costs one request', async () => {
    const log: RequestLog = { requests: [], clients: 0 };
    let clock = 0;
    const connector = ldapConnectorFor(server, ouDn, { deleteScanIntervalMs: 60_000 }, { createClient: recordingClient(log), now: () => clock });
    const first = expectChangeSet(await connector.changes!(ouDn));
    expect(first.upserted).toHaveLength(N);

    log.requests = [];
    clock = 1000;
    const idle = expectChangeSet(await connector.changes!(ouDn, first.token));
    expect(idle).toEqual({ token: first.token, upserted: [], deleted: [] });
    expect(log.requests).toEqual([`search base ${server.baseDn}`]);

    const admin = await adminClient(server);
    const byUid = async (uid: string) => refByDn(admin, `uid=${uid},${ouDn}`);
    await admin.add(`uid=new1,${ouDn}`, { objectClass: 'inetOrgPerson', uid: 'new1', cn: 'New One', sn: 'One' });
    const added = await byUid('new1');
    await admin.modify(`uid=p1,${ouDn}`, new Change({ operation: 'replace', modification: new Attribute({ type: 'title', values: ['Boss'] }) }));
    const modified = await byUid('p1');
    await admin.modifyDN(`uid=p2,${ouDn}`, 'uid=p2renamed');
    const renamed = await byUid('p2renamed');
    const gone = await byUid('p3');
    await admin.del(`uid=p3,${ouDn}`);
    await admin.unbind();

    // The delete scan is due a minute after the first read: this run lists too.
    clock = 60_000;
    const next = expectChangeSet(await connector.changes!(ouDn, idle.token));
    const upserted = new Map(next.upserted.map((i) => [i.id, i]));
    expect(upserted.size).toBe(3);
    expect(upserted.get(added.id)?.fields.uri).toBe('sip:new1@example.com');
    expect(upserted.get(modified.id)?.fields.title).toBe('Boss');
    expect(upserted.get(renamed.id)?.fields.uri).toBe('sip:p2renamed@example.com');
    expect(next.deleted).toEqual([gone.id]);

    log.requests = [];
    clock = 61_000;
    const after = expectChangeSet(await connector.changes!(ouDn, next.token));
    expect(after).toEqual({ token: next.token, upserted: [], deleted: [] });
    expect(log.requests).toHaveLength(1);
    await connector.close();
  });

  it('a token from another process (no id set in memory), a delete scan due: the listing comes back as `present`, not a full read', async () => {
    const a = ldapConnectorFor(server, ouDn);
    const first = expectChangeSet(await a.changes!(ouDn));
    await a.close();
    const gone = first.upserted.find((i) => i.fields.uri === 'sip:p4@example.com');
    expect(gone).toBeDefined();
    const admin = await adminClient(server);
    await admin.del(`uid=p4,${ouDn}`);
    await admin.unbind();
    const b = ldapConnectorFor(server, ouDn);
    const next = expectChangeSet(await b.changes!(ouDn, first.token));
    expect(next.upserted).toEqual([]);
    expect(next.deleted).toEqual([]);
    expect(new Set(next.present)).toEqual(new Set(first.upserted.map((i) => i.id).filter((id) => id !== gone?.id)));
    // The new token names b's memory: the next call is an ordinary incremental one.
    const after = expectChangeSet(await b.changes!(ouDn, next.token));
    expect(after.present).toBeUndefined();
    expect(after.deleted).toEqual([]);
    await b.close();
  });
});

describe('modifyTimestamp deltas (servers without entryCSN ordering)', () => {
  it('entries stamped in the same second are not re-reported while unchanged; a change is', async () => {
    const ou = await freshOu(server);
    await ldapadd(server, peopleLdif(ou.dn, 5));
    const connector = ldapConnectorFor(server, ou.dn, { deltaAttribute: 'modifyTimestamp' });
    const first = expectChangeSet(await connector.changes!(ou.dn));
    expect(first.upserted).toHaveLength(5);
    // A write elsewhere in the database moves contextCSN without touching this collection.
    const elsewhere = await freshOu(server);
    const idle = expectChangeSet(await connector.changes!(ou.dn, first.token));
    expect(idle.upserted).toEqual([]);
    await ou.admin.modify(`uid=p2,${ou.dn}`, new Change({ operation: 'replace', modification: new Attribute({ type: 'title', values: ['Changed'] }) }));
    const next = expectChangeSet(await connector.changes!(ou.dn, idle.token));
    expect(next.upserted.map((i) => i.fields.title)).toEqual(['Changed']);
    await connector.close();
    await elsewhere.drop();
    await ou.drop();
  });
});

describe('mapping rules on real entries', () => {
  it('display-name falls back to cn, then givenName + sn; phone duplicates collapse; unmappable entries are skipped and logged once, naming the missing placeholder', async () => {
    const ou = await freshOu(server);
    const add = (rdn: string, attrs: Record<string, string | string[]>) => ou.admin.add(`${rdn},${ou.dn}`, { objectClass: ['inetOrgPerson'], ...attrs });
    await add('cn=a', { uid: 'a', cn: 'Alice Cn', sn: 'A', displayName: 'Alice Display' });
    await add('cn=b', { uid: 'b', cn: 'Bob Cn', sn: 'B' });
    await add('uid=c', { uid: 'c', cn: ['c'], sn: 'Cee', givenName: 'Carol' });
    await add('cn=d', { uid: 'd', cn: 'D', sn: 'D', telephoneNumber: ['030 1234567', '+49 30 1234567', '0301234568'] });
    await add('cn=nouid', { cn: 'No Uid', sn: 'X' });

    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, new Writable({ write: (chunk: Buffer, _e, cb) => { lines.push(chunk.toString()); cb(); } }));
    const connector = ldapConnectorFor(server, ou.dn, { mapping: { constants: { domain: 'example.com' }, defaultCountry: 'DE', fields: { phone: 'telephoneNumber' } } }, { logger });
    const byUri = async () => new Map((await collect(connector.read(ou.dn))).map((i) => [i.fields.uri, i.fields]));
    const items = await byUri();
    expect(items.size).toBe(4);
    expect(items.get('sip:a@example.com')?.['display-name']).toBe('Alice Display');
    expect(items.get('sip:b@example.com')?.['display-name']).toBe('Bob Cn');
    expect(items.get('sip:d@example.com')?.phone).toBe('+49301234567, +49301234568');
    expect((await collect(connector.list(ou.dn))).length).toBe(4);
    await byUri();
    expect(connector.skippedEntries).toBe(1);
    expect(lines).toHaveLength(1);
    // The warning names the entry and the placeholder it has no value for.
    expect(JSON.parse(lines[0] as string)).toMatchObject({ skipped: 1, example: `cn=nouid,${ou.dn}`, reason: 'sip:{uid}@{domain} has no value for {uid}' });
    expect(JSON.parse(lines[0] as string).msg).toContain('has no value for {uid}');
    await connector.close();
    await ou.drop();
  });

  it('display-name from givenName + sn when displayName and cn are absent (cn is mandatory in inetOrgPerson, so checked on the mapper)', () => {
    const mapper = new EntryMapper(ldapMappingSchema.parse({ constants: { domain: 'example.com' } }));
    const entry = new Map([['uid', ['c']], ['givenname', ['Carol']], ['sn', ['Cee']]]);
    expect(mapper.toFields(entry)).toEqual({ uri: 'sip:c@example.com', 'display-name': 'Carol Cee' });
  });

  it('Active Directory objectGUID: bytes ↔ the usual string form (first three fields little-endian)', () => {
    const bytes = Buffer.from('ff19966f868b11d0b42d00c04fc964ff', 'hex');
    expect(guidToString(bytes)).toBe('6f9619ff-8b86-d011-b42d-00c04fc964ff');
    expect(guidToBytes('6F9619FF-8B86-D011-B42D-00C04FC964FF')).toEqual(bytes);
    expect(guidToBytes('*)(objectGUID=*')).toBeUndefined();
  });
});

describe('issue 9: a delete reaches the caller within one run after the delete-scan interval, whatever else happens', () => {
  const INTERVAL = 60_000;
  let ou: Awaited<ReturnType<typeof freshOu>>;
  let clock: number;
  const log: RequestLog = { requests: [], clients: 0 };
  /** Id-only listings (the delete scan) among the requests logged. */
  const listings = () => log.requests.filter((r) => r === 'paged (objectClass=inetOrgPerson)').length;
  beforeAll(async () => {
    ou = await freshOu(server);
    await ldapadd(server, peopleLdif(ou.dn, 20));
  });
  afterAll(async () => {
    await ou.drop();
  });

  it('a delete in a quiet directory is reported by the first run at the interval, though the marker has stopped moving', async () => {
    clock = 0;
    const connector = ldapConnectorFor(server, ou.dn, { deleteScanIntervalMs: INTERVAL }, { createClient: recordingClient(log), now: () => clock });
    const first = expectChangeSet(await connector.changes!(ou.dn));
    const gone = await refByDn(ou.admin, `uid=p1,${ou.dn}`);
    await ou.admin.del(`uid=p1,${ou.dn}`);

    // The run right after the delete sees the marker move but no changed entry; no listing is due yet.
    clock = 10_000;
    const moved = expectChangeSet(await connector.changes!(ou.dn, first.token));
    expect(moved.deleted).toEqual([]);
    // Nothing else happens in the directory from here on.
    clock = 30_000;
    log.requests = [];
    expect(await connector.changes!(ou.dn, moved.token)).toEqual({ token: moved.token, upserted: [], deleted: [] });
    expect(listings()).toBe(0);

    clock = INTERVAL;
    const scanned = expectChangeSet(await connector.changes!(ou.dn, moved.token));
    expect(scanned).toMatchObject({ upserted: [], deleted: [gone.id] });
    expect(listings()).toBe(1);

    clock = INTERVAL + 1000;
    log.requests = [];
    expect(await connector.changes!(ou.dn, scanned.token)).toEqual({ token: scanned.token, upserted: [], deleted: [] });
    expect(log.requests).toHaveLength(1);
    await connector.close();
  });

  it('one listing serves every caller of the collection: each token gets the deletes it has not seen', async () => {
    clock = 0;
    const connector = ldapConnectorFor(server, ou.dn, { deleteScanIntervalMs: INTERVAL }, { createClient: recordingClient(log), now: () => clock });
    const a = expectChangeSet(await connector.changes!(ou.dn));
    const b = expectChangeSet(await connector.changes!(ou.dn));
    const gone = await refByDn(ou.admin, `uid=p2,${ou.dn}`);
    await ou.admin.del(`uid=p2,${ou.dn}`);

    clock = INTERVAL;
    log.requests = [];
    const forA = expectChangeSet(await connector.changes!(ou.dn, a.token));
    expect(forA.deleted).toEqual([gone.id]);
    clock = INTERVAL + 5000;
    const forB = expectChangeSet(await connector.changes!(ou.dn, b.token));
    expect(forB.deleted).toEqual([gone.id]);
    expect(listings()).toBe(1);
    // A listing with nothing deleted in between reports nothing to either.
    clock = 2 * INTERVAL;
    expect(expectChangeSet(await connector.changes!(ou.dn, forA.token)).deleted).toEqual([]);
    expect(expectChangeSet(await connector.changes!(ou.dn, forB.token)).deleted).toEqual([]);
    await connector.close();
  });

  it('an entry added and handed out while a listing runs is not taken for deleted', async () => {
    clock = 0;
    let whileListing: (() => Promise<void>) | undefined;
    // Holds the listing's answer until `whileListing` has run: the entry appears after the listing passed it.
    const staged = (options: ConstructorParameters<typeof Client>[0]) => {
      const client = new Client(options);
      const paged = client.searchPaginated.bind(client);
      client.searchPaginated = (base, opts, controls) => {
        const pages = paged(base, opts, controls);
        if (String(opts?.filter) !== '(objectClass=inetOrgPerson)' || opts?.attributes?.includes('displayName') || !whileListing) return pages;
        const hook = whileListing;
        whileListing = undefined;
        return (async function* () {
          yield* pages;
          await hook();
        })();
      };
      return client;
    };
    const connector = ldapConnectorFor(server, ou.dn, { deleteScanIntervalMs: INTERVAL }, { createClient: staged, now: () => clock });
    const first = expectChangeSet(await connector.changes!(ou.dn));
    let handedOut = '';
    whileListing = async () => {
      await ou.admin.add(`uid=late,${ou.dn}`, { objectClass: 'inetOrgPerson', uid: 'late', cn: 'Late Comer', sn: 'Comer' });
      // A new user's first run reads everything, the new entry included, while the listing is still open.
      const full = expectChangeSet(await connector.changes!(ou.dn));
      handedOut = full.upserted.find((i) => i.fields.uri === 'sip:late@example.com')?.id ?? '';
    };
    clock = INTERVAL;
    const next = expectChangeSet(await connector.changes!(ou.dn, first.token));
    expect(handedOut).not.toBe('');
    expect(next.deleted).toEqual([]);
    // The marker this run read predates the entry; the next run reports it.
    clock = INTERVAL + 1000;
    const later = expectChangeSet(await connector.changes!(ou.dn, next.token));
    expect(later.upserted.map((i) => i.id)).toEqual([handedOut]);
    expect(later.deleted).toEqual([]);
    await connector.close();
  });
});

describe('issue 9: concurrent runs on one directory (OpenLDAP keeps one paged search per connection)', () => {
  const N = 2000;
  let ou: Awaited<ReturnType<typeof freshOu>>;
  beforeAll(async () => {
    ou = await freshOu(server);
    await ldapadd(server, peopleLdif(ou.dn, N));
  });
  afterAll(async () => {
    await ou.drop();
  });

  it('paged searches running at the same time each get a connection of their own, up to `connections`; none fails with "cookie is invalid"', async () => {
    const log: RequestLog = { requests: [], clients: 0 };
    const connector = ldapConnectorFor(server, ou.dn, { pageSize: 100 }, { createClient: recordingClient(log) });
    const three = await Promise.allSettled([collect(connector.list(ou.dn)), collect(connector.read(ou.dn)), collect(connector.list(ou.dn))]);
    expect(three.map((r) => (r.status === 'fulfilled' ? r.value.length : String(r.reason)))).toEqual([N, N, N]);
    expect(log.clients).toBe(3);
    const six = await Promise.allSettled(Array.from({ length: 6 }, () => collect(connector.list(ou.dn))));
    expect(six.map((r) => (r.status === 'fulfilled' ? r.value.length : String(r.reason)))).toEqual(Array(6).fill(N));
    expect(log.clients).toBe(4);
    await connector.close();
  });

  it('three users\' scopes run at once over one connector: every run applies on its first attempt, and the import reads the directory once', async () => {
    const store = await openSqliteStore(':memory:');
    const state = await SyncState.open(store.sql);
    const users = ['sip:u1@example.com', 'sip:u2@example.com', 'sip:u3@example.com'];
    const binding = compileBinding(bindingSchema.parse({
      name: 'dir', auid: 'resource-lists', target: { scope: 'users', document: 'index', users },
      mapping: { kind: 'resource-lists', list: 'directory', fields: ['mail'] }, connector: 'corp', collection: ou.dn,
    }));
    const log: RequestLog = { requests: [], clients: 0 };
    const connector = ldapConnectorFor(server, ou.dn, { pageSize: 100 }, { createClient: recordingClient(log) });
    const runAll = () => Promise.allSettled(users.map((u) => runSync({ store, state, connector }, binding, u)));
    const outcomes = (rs: PromiseSettledResult<RunReport>[]) => rs.map((r) => (r.status === 'fulfilled' ? `${r.value.outcome} +${r.value.xcap.create} ~${r.value.xcap.update}` : String(r.reason)));

    expect(outcomes(await runAll())).toEqual(users.map(() => `applied +${N} ~0`));
    expect(log.requests.filter((r) => r.startsWith('paged'))).toHaveLength(1);
    const lists = resourceListsMapping('directory', ['mail']);
    for (const xui of users) {
      const doc = await store.get({ auid: 'resource-lists', xui, path: 'index' });
      expect(lists.read(lists.parse(doc?.body ?? '')).size).toBe(N);
    }

    await ou.admin.modify(`uid=p10,${ou.dn}`, new Change({ operation: 'replace', modification: new Attribute({ type: 'displayName', values: ['Tenth'] }) }));
    log.requests = [];
    expect(outcomes(await runAll())).toEqual(users.map(() => 'applied +0 ~1'));
    expect(log.requests.filter((r) => r.startsWith('paged')).length).toBeLessThanOrEqual(users.length);
    for (const xui of users) {
      const doc = await store.get({ auid: 'resource-lists', xui, path: 'index' });
      expect(lists.read(lists.parse(doc?.body ?? '')).get('sip:p10@example.com')?.['display-name']).toBe('Tenth');
    }
    await connector.close();
    await store.close();
  });
});
