/**
 * Helpers for the LDAP connector tests: a private `ou` per test on a real slapd, people
 * added behind the connector's back with a separate admin client, bulk loads via ldapadd.
 * Entries the tests add themselves are named `cn=seed<n>` so their uid can change freely.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Attribute, Change, Client, EqualityFilter } from 'ldapts';
import type { ItemFields, ItemRef } from '../../connectors/types.ts';
import { createLdapConnector, type LdapConnectorDeps, type LdapConnectorInput } from '../../connectors/ldap/index.ts';

export interface LdapServer {
  readonly url: string;
  readonly bindDn: string;
  readonly password: string;
  readonly baseDn: string;
}

export const PASSWORD_ENV = 'XCAPB_TEST_LDAP_PASSWORD';

let counter = 0;
const unique = () => `${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

export async function adminClient(server: LdapServer): Promise<Client> {
  const client = new Client({ url: server.url });
  await client.bind(server.bindDn, server.password);
  return client;
}

/** Creates `ou=t-<unique>` under the suffix; `drop()` deletes it with everything below. */
export async function freshOu(server: LdapServer): Promise<{ dn: string; admin: Client; drop(): Promise<void> }> {
  const admin = await adminClient(server);
  const dn = `ou=t-${unique()},${server.baseDn}`;
  await admin.add(dn, { objectClass: 'organizationalUnit', ou: dn.slice(3, dn.indexOf(',')) });
  return {
    dn,
    admin,
    drop: async () => {
      const { searchEntries } = await admin.search(dn, { scope: 'one', attributes: ['1.1'], paged: { pageSize: 1000 } });
      for (const e of searchEntries) await admin.del(e.dn);
      await admin.del(dn);
      await admin.unbind();
    },
  };
}

/** A connector on `ouDn` mapping sip:{uid}@example.com, DE numbers, write-back on. */
export function ldapConnectorFor(server: LdapServer, ouDn: string, extra: Partial<LdapConnectorInput> = {}, deps: LdapConnectorDeps = {}) {
  return createLdapConnector(
    {
      url: server.url,
      bindDn: server.bindDn,
      bindPasswordEnv: PASSWORD_ENV,
      baseDn: ouDn,
      deleteScanIntervalMs: 0,
      mapping: { uri: 'sip:{uid}@{domain}', constants: { domain: 'example.com' }, defaultCountry: 'DE', fields: { mail: 'mail', mobile: 'mobile', title: 'title' } },
      write: { enabled: true, rdnAttribute: 'uid' },
      ...extra,
    },
    { env: { [PASSWORD_ENV]: server.password }, ...deps },
  );
}

/** inetOrgPerson attributes for item fields, written independently of the connector's mapping. */
export function personAttributes(fields: ItemFields): Record<string, string[]> {
  const uid = /^sip:([^@]+)@/.exec(fields.uri ?? '')?.[1];
  const attrs: Record<string, string[]> = { uid: uid ? [uid] : [], displayName: [], mail: [], mobile: [], title: [] };
  if (fields['display-name']) attrs.displayName = [fields['display-name']];
  for (const f of ['mail', 'mobile', 'title'] as const) if (fields[f]) attrs[f] = [fields[f]];
  return attrs;
}

export async function refByDn(admin: Client, dn: string): Promise<ItemRef> {
  const { searchEntries } = await admin.search(dn, { scope: 'base', attributes: ['entryUUID', 'entryCSN'] });
  const e = searchEntries[0];
  return { id: String(e?.entryUUID), version: String(e?.entryCSN) };
}

export async function dnById(admin: Client, base: string, id: string): Promise<string> {
  const { searchEntries } = await admin.search(base, { filter: new EqualityFilter({ attribute: 'entryUUID', value: id }), attributes: ['1.1'] });
  const dn = searchEntries[0]?.dn;
  if (!dn) throw new Error(`no entry ${id}`);
  return dn;
}

/** Adds people as another client would; returns their ids and versions. */
export async function addPeople(admin: Client, ouDn: string, items: readonly ItemFields[]): Promise<ItemRef[]> {
  const refs: ItemRef[] = [];
  for (const fields of items) {
    const cn = `seed${unique()}`;
    const dn = `cn=${cn},${ouDn}`;
    const entry: Record<string, string[]> = { objectClass: ['inetOrgPerson'], cn: [cn], sn: ['Seeded'] };
    for (const [a, v] of Object.entries(personAttributes(fields))) if (v.length > 0) entry[a] = v;
    await admin.add(dn, entry);
    refs.push(await refByDn(admin, dn));
  }
  return refs;
}

export async function updatePerson(admin: Client, ouDn: string, id: string, fields: ItemFields): Promise<void> {
  const dn = await dnById(admin, ouDn, id);
  const changes = Object.entries(personAttributes(fields)).map(
    ([type, values]) => new Change({ operation: 'replace', modification: new Attribute({ type, values }) }),
  );
  await admin.modify(dn, changes);
}

/** LDIF for `count` people `uid=p<i>` under `ouDn`, with national DE phone numbers. */
export function peopleLdif(ouDn: string, count: number, from = 0): string {
  const out: string[] = [];
  for (let i = from; i < from + count; i++) {
    out.push(
      `dn: uid=p${i},${ouDn}`, 'objectClass: inetOrgPerson', `uid: p${i}`, `cn: Person ${i}`, `sn: ${i}`, 'givenName: Person',
      `mail: p${i}@example.com`, `telephoneNumber: 030 ${1000000 + i}`, `title: Title ${i % 50}`, '',
    );
  }
  return out.join('\n');
}

const run = promisify(execFile);

/** One ldapadd over the whole LDIF (the test server's password only). */
export async function ldapadd(server: LdapServer, ldif: string): Promise<void> {
  const child = run('ldapadd', ['-x', '-H', server.url, '-D', server.bindDn, '-w', server.password], { maxBuffer: 64 << 20 });
  child.child.stdin?.end(ldif);
  await child;
}

/** Requests the connector's clients sent, in order, and how many clients it made. */
export interface RequestLog {
  /** `search <scope> <base>` for plain searches, `paged <filter>` for paged ones. */
  requests: string[];
  clients: number;
}

/** A `createClient` for LdapConnectorDeps that records every search into `log`. */
export function recordingClient(log: RequestLog): NonNullable<LdapConnectorDeps['createClient']> {
  return (options) => {
    const client = new Client(options);
    log.clients++;
    const search = client.search.bind(client);
    const paged = client.searchPaginated.bind(client);
    client.search = (base, opts, controls) => {
      log.requests.push(`search ${opts?.scope ?? 'sub'} ${String(base)}`);
      return search(base, opts, controls);
    };
    client.searchPaginated = (base, opts, controls) => {
      log.requests.push(`paged ${String(opts?.filter)}`);
      return paged(base, opts, controls);
    };
    return client;
  };
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
