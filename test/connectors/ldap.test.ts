/**
 * The connector contract suite against the LDAP connector on the run's shared slapd. Each
 * test gets its own `ou`, so concurrent writers elsewhere in the database only move
 * contextCSN (which the connector must shrug off).
 */
import { inject } from 'vitest';
import { connectorContract, connectorKindContract } from '../conformance/connector.suite.ts';
import { ldapConnectorKind } from '../../connectors/ldap/index.ts';
import type { ItemFields } from '../../connectors/types.ts';
import { addPeople, dnById, freshOu, ldapConnectorFor, updatePerson } from './ldap-fixtures.ts';

const server = inject('services').ldap;

function sample(i: number): ItemFields {
  return {
    uri: `sip:user${i}@example.com`,
    'display-name': `User ${i}`,
    mail: `user${i}@example.com`,
    mobile: `+49151${String(10000000 + i)}`,
    title: `Engineer ${i}`,
  };
}

connectorContract('ldap', { write: true, conditionalWrite: true, changeFeed: true, watch: false }, async () => {
  const ou = await freshOu(server);
  const connector = ldapConnectorFor(server, ou.dn);
  return {
    connector,
    collection: ou.dn,
    missingCollection: `ou=missing-${Date.now()},${server.baseDn}`,
    sample,
    seed: (items) => addPeople(ou.admin, ou.dn, items),
    external: {
      update: (id, fields) => updatePerson(ou.admin, ou.dn, id, fields),
      remove: async (id) => ou.admin.del(await dnById(ou.admin, ou.dn, id)),
    },
    cleanup: async () => {
      await connector.close();
      await ou.drop();
    },
  };
});

// Nothing listens on port 1: the kind must answer and create without reaching the directory.
const offline = { kind: 'ldap', url: 'ldap://127.0.0.1:1', baseDn: 'dc=example,dc=com', mapping: { constants: { domain: 'example.com' } } };
connectorKindContract(ldapConnectorKind, [offline, { ...offline, write: { enabled: false } }, { ...offline, write: { enabled: true } }]);
