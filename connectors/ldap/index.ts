/**
 * LDAP connector: an OpenLDAP / 389-DS / Active Directory subtree as a contact collection.
 * `ldapConnectorSchema` validates the connector's options; `createLdapConnector` builds the
 * connector from them (clients and logger injected through `deps`); `ldapConnectorKind` is
 * the entry src/connectors.ts registers (`{ kind: ldap, ... }`).
 */
import { connectorKind } from '../kind.ts';
import { LdapConnector, type LdapConnectorDeps } from './connector.ts';
import { ldapCapabilities, ldapConnectorEntrySchema, ldapEnvironmentIssues, ldapConnectorSchema, ldapReadOptions, type LdapConnectorConfig, type LdapConnectorInput } from './config.ts';

export { LdapConnector, type LdapConnectorDeps } from './connector.ts';
export { ldapConnectorSchema, ldapConnectorEntrySchema, type LdapConnectorConfig, type LdapConnectorInput } from './config.ts';
export { translateLdapError } from './errors.ts';

/** Validates `config` (throws a ZodError naming the bad key) and returns the connector. */
export function createLdapConnector(config: LdapConnectorInput, deps: LdapConnectorDeps = {}): LdapConnector {
  return new LdapConnector(ldapConnectorSchema.parse(config), deps);
}

/** Registry entry for kind `ldap` (options include `kind`; unknown keys are refused). */
export const ldapConnectorKind = connectorKind({
  kind: 'ldap',
  options: ldapConnectorEntrySchema,
  capabilities: (o: LdapConnectorConfig) => ldapCapabilities(o),
  environment: (o: LdapConnectorConfig, env) => ldapEnvironmentIssues(o, env),
  readOptions: (o: LdapConnectorConfig) => ldapReadOptions(o),
  create: (o: LdapConnectorConfig, ctx) => new LdapConnector(o, ctx.logger ? { logger: ctx.logger.child({ connector: ctx.name }) } : {}),
});
