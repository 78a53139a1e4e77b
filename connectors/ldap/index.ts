/**
 * LDAP connector: an OpenLDAP / 389-DS / Active Directory subtree as a contact collection.
 * `ldapConnectorSchema` validates the binding's connector config; `createLdapConnector`
 * builds the connector from it (clients and logger injected through `deps`).
 */
import { LdapConnector, type LdapConnectorDeps } from './connector.ts';
import { ldapConnectorSchema, type LdapConnectorInput } from './config.ts';

export { LdapConnector, type LdapConnectorDeps } from './connector.ts';
export { ldapConnectorSchema, type LdapConnectorConfig, type LdapConnectorInput } from './config.ts';
export { translateLdapError } from './errors.ts';

/** Validates `config` (throws a ZodError naming the bad key) and returns the connector. */
export function createLdapConnector(config: LdapConnectorInput, deps: LdapConnectorDeps = {}): LdapConnector {
  return new LdapConnector(ldapConnectorSchema.parse(config), deps);
}
