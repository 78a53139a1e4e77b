/**
 * LDAP write-back on the shared slapd: real entries, the read-then-write race caught by the
 * RFC 4528 assertion control, and RFC 4514/4515 escaping of hostile names.
 */
import { Attribute, Change, Client } from 'ldapts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { AssertionControl } from '../../connectors/ldap/assertion-control.ts';
import { translateLdapError } from '../../connectors/ldap/errors.ts';
import { VersionMismatch } from '../../connectors/errors.ts';
import { EqualityFilter } from 'ldapts';
import { addPeople, collect, dnById, freshOu, ldapConnectorFor, refByDn } from './ldap-fixtures.ts';

const server = inject('services').ldap;
let ou: Awaited<ReturnType<typeof freshOu>>;
beforeEach(async () => {
  ou = await freshOu(server);
});
afterEach(async () => {
  await ou.drop();
});

describe('write-back (create / modify / delete under the container DN)', () => {
  it('creates a real inetOrgPerson entry named by uid with the mapped attributes', async () => {
    const connector = ldapConnectorFor(server, ou.dn);
    const ref = await connector.write(ou.dn, { fields: { uri: 'sip:carol@example.com', 'display-name': 'Carol King', mail: 'carol@example.com', mobile: '0151 12345678' } }, 'absent');
    const { searchEntries } = await ou.admin.search(`uid=carol,${ou.dn}`, { scope: 'base', attributes: ['*', 'entryUUID', 'entryCSN'] });
    const e = searchEntries[0];
    expect(e?.entryUUID).toBe(ref.id);
    expect(e?.entryCSN).toBe(ref.version);
    expect(e).toMatchObject({ uid: 'carol', displayName: 'Carol King', cn: 'Carol King', sn: 'King', mail: 'carol@example.com', mobile: '0151 12345678' });
    expect(e?.objectClass).toContain('inetOrgPerson');
    await connector.close();
  });

  it('a changed uri renames the entry; removing deletes it', async () => {
    const connector = ldapConnectorFor(server, ou.dn);
    const ref = await connector.write(ou.dn, { fields: { uri: 'sip:dave@example.com', 'display-name': 'Dave' } }, 'absent');
    const next = await connector.write(ou.dn, { id: ref.id, fields: { uri: 'sip:david@example.com', 'display-name': 'David' } }, { version: ref.version });
    expect(await dnById(ou.admin, ou.dn, ref.id)).toBe(`uid=david,${ou.dn}`);
    const [read] = await collect(connector.read(ou.dn, [ref.id]));
    expect(read).toEqual({ id: ref.id, version: next.version, fields: { uri: 'sip:david@example.com', 'display-name': 'David' } });
    await connector.remove(ou.dn, ref.id, next);
    expect(await collect(connector.list(ou.dn))).toEqual([]);
    await connector.close();
  });

  it('without write.enabled the connector says so and writes nothing', async () => {
    const connector = ldapConnectorFor(server, ou.dn, { write: undefined });
    expect(connector.capabilities.write).toBe(false);
    await expect(connector.write(ou.dn, { fields: { uri: 'sip:x@example.com' } }, 'absent')).rejects.toMatchObject({ code: 'rejected' });
    expect(await collect(connector.list(ou.dn))).toEqual([]);
    await connector.close();
  });
});

describe('write-back changes only what the owned fields map (the rest of the entry stays as it was)', () => {
  /** Every user attribute of the entry at `dn`, each as a list of values in the server's order. */
  async function attributesAt(dn: string): Promise<Record<string, string[]>> {
    const { searchEntries } = await ou.admin.search(dn, { scope: 'base', attributes: ['*'] });
    const { dn: _dn, ...attrs } = searchEntries[0] ?? { dn };
    return Object.fromEntries(Object.entries(attrs).map(([a, v]) => [a, (Array.isArray(v) ? v : [v]).map(String)]));
  }

  /** Adds `attrs` as an inetOrgPerson named `rdn` and returns its DN and ref. */
  async function person(rdn: string, attrs: Record<string, string[]>): Promise<{ dn: string; ref: { id: string; version: string } }> {
    const dn = `${rdn},${ou.dn}`;
    await ou.admin.add(dn, { objectClass: ['inetOrgPerson'], ...attrs });
    return { dn, ref: await refByDn(ou.admin, dn) };
  }

  it('single-valued: a display-name edit of a binding that maps no extra field leaves mail, mobile, title and unmapped attributes alone', async () => {
    const connector = ldapConnectorFor(server, ou.dn);
    const { dn, ref } = await person('cn=alice', {
      uid: ['alice'], cn: ['alice'], sn: ['Smith'], displayName: ['Alice'], mail: ['alice@example.com'],
      mobile: ['0151 12345678'], title: ['Engineer'], telephoneNumber: ['030 1234567'], description: ['not mapped'],
    });
    const before = await attributesAt(dn);
    const next = await connector.write(ou.dn, { id: ref.id, fields: { uri: 'sip:alice@example.com', 'display-name': 'Alice Cooper' }, owned: ['uri', 'display-name'] }, ref);
    expect(await attributesAt(dn)).toEqual({ ...before, displayName: ['Alice Cooper'] });

    // A binding that owns title and mobile: the changed title is replaced, the unchanged mobile keeps its national spelling.
    const fields = { uri: 'sip:alice@example.com', 'display-name': 'Alice Cooper', title: 'Boss', mobile: '+4915112345678' };
    await connector.write(ou.dn, { id: ref.id, fields, owned: ['uri', 'display-name', 'title', 'mobile'] }, next);
    expect(await attributesAt(dn)).toEqual({ ...before, displayName: ['Alice Cooper'], title: ['Boss'] });
    await connector.close();
  });

  it('multi-valued: other values of an attribute whose first value alone is mapped are kept; a listed field changes only the values it drops or adds', async () => {
    const connector = ldapConnectorFor(server, ou.dn);
    const { dn, ref } = await person('cn=bea', {
      uid: ['bea', 'bsmith'], cn: ['bea', 'Beatrice'], sn: ['Smith'], displayName: ['Bea'], mail: ['bea@example.com', 'b.smith@example.com'],
    });
    const before = await attributesAt(dn);
    const [read] = await collect(connector.read(ou.dn, [ref.id]));
    expect(read?.fields).toEqual({ uri: 'sip:bea@example.com', 'display-name': 'Bea', mail: 'bea@example.com, b.smith@example.com' });

    let at = await connector.write(ou.dn, { id: ref.id, fields: { ...read!.fields, 'display-name': 'Beatrice Smith' }, owned: ['uri', 'display-name', 'mail'] }, ref);
    expect(await attributesAt(dn)).toEqual({ ...before, displayName: ['Beatrice Smith'] });

    at = await connector.write(ou.dn, { id: ref.id, fields: { uri: 'sip:bea@example.com', mail: 'b.smith@example.com, bea@corp.example.com' }, owned: ['uri', 'mail'] }, at);
    expect(await attributesAt(dn)).toEqual({ ...before, displayName: ['Beatrice Smith'], mail: ['b.smith@example.com', 'bea@corp.example.com'] });

    // A new uri replaces the first uid (the one it shows) and keeps the second.
    at = await connector.write(ou.dn, { id: ref.id, fields: { uri: 'sip:beatrice@example.com' }, owned: ['uri'] }, at);
    const after = await attributesAt(dn);
    expect(after.uid).toEqual(['beatrice', 'bsmith']);
    expect(after.cn).toEqual(['bea', 'Beatrice']);
    const [back] = await collect(connector.read(ou.dn, [ref.id]));
    expect(back).toEqual({ id: ref.id, version: at.version, fields: { uri: 'sip:beatrice@example.com', 'display-name': 'Beatrice Smith', mail: 'b.smith@example.com, bea@corp.example.com' } });
    await connector.close();
  });

  it('multi-valued naming attribute: a new uri renames uid=<old> to uid=<new> and keeps the other uid values', async () => {
    const connector = ldapConnectorFor(server, ou.dn);
    const { ref } = await person('uid=cleo', { uid: ['cleo', 'cjones'], cn: ['Cleo Jones'], sn: ['Jones'], title: ['Chief'] });
    await connector.write(ou.dn, { id: ref.id, fields: { uri: 'sip:cleopatra@example.com' }, owned: ['uri'] }, ref);
    const dn = await dnById(ou.admin, ou.dn, ref.id);
    expect(dn).toBe(`uid=cleopatra,${ou.dn}`);
    const after = await attributesAt(dn);
    expect(after.uid).toEqual(['cleopatra', 'cjones']);
    expect(after.title).toEqual(['Chief']);
    await connector.close();
  });

  it('absent: a mapped attribute the entry lacks is added when its field gets a value and stays absent otherwise; a name that came from cn adds displayName and keeps cn', async () => {
    const connector = ldapConnectorFor(server, ou.dn);
    const { dn, ref } = await person('cn=dan', { uid: ['dan'], cn: ['Dan Brown'], sn: ['Brown'] });
    const before = await attributesAt(dn);
    const owned = ['uri', 'display-name', 'mail', 'mobile', 'title'];
    // Unchanged content, every field owned: nothing to write, the entry keeps its version.
    const same = await connector.write(ou.dn, { id: ref.id, fields: { uri: 'sip:dan@example.com', 'display-name': 'Dan Brown' }, owned }, ref);
    expect(same).toEqual(ref);
    expect(await attributesAt(dn)).toEqual(before);

    await connector.write(ou.dn, { id: ref.id, fields: { uri: 'sip:dan@example.com', 'display-name': 'Daniel Brown', title: 'Author' }, owned }, ref);
    expect(await attributesAt(dn)).toEqual({ ...before, displayName: ['Daniel Brown'], title: ['Author'] });
    await connector.close();
  });
});

describe('RFC 4528 assertion control: the entry changed between read and write', () => {
  it('a modification landing between the lookup and the modify fails with VersionMismatch and is kept', async () => {
    const [ref] = await addPeople(ou.admin, ou.dn, [{ uri: 'sip:erin@example.com', 'display-name': 'Erin' }]);
    const other = new Client({ url: server.url });
    await other.bind(server.bindDn, server.password);
    // The race, staged on the real server: just before our modify reaches slapd, another client changes the entry.
    const racing = (options: ConstructorParameters<typeof Client>[0]) => {
      const client = new Client(options);
      const modify = client.modify.bind(client);
      client.modify = async (dn, changes, controls) => {
        await other.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'displayName', values: ['Erin (changed elsewhere)'] }) }));
        return modify(dn, changes, controls);
      };
      return client;
    };
    const connector = ldapConnectorFor(server, ou.dn, {}, { createClient: racing });
    const err = await connector.write(ou.dn, { id: ref!.id, fields: { uri: 'sip:erin@example.com', 'display-name': 'Erin Ours' } }, { version: ref!.version }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VersionMismatch);
    const [now] = await collect(ldapConnectorFor(server, ou.dn).read(ou.dn, [ref!.id]));
    expect(now?.fields['display-name']).toBe('Erin (changed elsewhere)');
    await connector.close();
    await other.unbind();
  });

  it('slapd answers 122 assertionFailed for a stale entryCSN, translated to VersionMismatch', async () => {
    const [ref] = await addPeople(ou.admin, ou.dn, [{ uri: 'sip:fay@example.com' }]);
    const dn = await dnById(ou.admin, ou.dn, ref!.id);
    await ou.admin.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'title', values: ['x'] }) }));
    const stale = new AssertionControl(new EqualityFilter({ attribute: 'entryCSN', value: ref!.version }));
    const err = await ou.admin.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'title', values: ['y'] }) }), stale).catch((e: unknown) => e);
    expect((err as { code?: number }).code).toBe(122);
    expect(translateLdapError(err, 'modify')).toBeInstanceOf(VersionMismatch);
  });
});

describe('RFC 4514 / RFC 4515 escaping of hostile names', () => {
  /** Name → the uri the directory yields for uid=<name> (characters a SIP user part may not carry are %-escaped). */
  const hostile: [string, string][] = [
    ['*)(uid=*', 'sip:*)(uid=*@example.com'],
    ['a,b+c;d=e', 'sip:a,b+c;d=e@example.com'],
    ['#hash', 'sip:%23hash@example.com'],
    ['\\back', 'sip:%5Cback@example.com'],
  ];

  it('entries named with filter and DN metacharacters are created, read back exactly, changed and removed without touching others', async () => {
    const bystanders = await addPeople(ou.admin, ou.dn, [{ uri: 'sip:gina@example.com' }, { uri: 'sip:hank@example.com' }]);
    const connector = ldapConnectorFor(server, ou.dn);
    for (const [name, uri] of hostile) {
      const ref = await connector.write(ou.dn, { fields: { uri, 'display-name': name } }, 'absent');
      const [read] = await collect(connector.read(ou.dn, [ref.id]));
      expect(read?.fields).toEqual({ uri, 'display-name': name });
      const next = await connector.write(ou.dn, { id: ref.id, fields: { uri, 'display-name': `${name}!` } }, ref);
      expect(await dnById(ou.admin, ou.dn, ref.id)).toMatch(/^uid=.+,ou=/);
      const { searchEntries } = await ou.admin.search(ou.dn, { filter: new EqualityFilter({ attribute: 'uid', value: name }), attributes: ['uid'] });
      expect(searchEntries.map((e) => e.uid)).toEqual([name]);
      await connector.remove(ou.dn, ref.id, next);
    }
    const left = await collect(connector.list(ou.dn));
    expect(left.map((r) => r.id).sort()).toEqual(bystanders.map((r) => r.id).sort());
    await connector.close();
  });

  it('an id of `*)(uid=*` matches nothing instead of widening the search', async () => {
    await addPeople(ou.admin, ou.dn, [{ uri: 'sip:ivan@example.com' }, { uri: 'sip:jane@example.com' }]);
    const connector = ldapConnectorFor(server, ou.dn);
    expect(await collect(connector.read(ou.dn, ['*)(uid=*', '*']))).toEqual([]);
    await expect(connector.remove(ou.dn, '*)(uid=*', { version: '*' })).rejects.toMatchObject({ code: 'not-found' });
    expect(await collect(connector.list(ou.dn))).toHaveLength(2);
    await connector.close();
  });
});
