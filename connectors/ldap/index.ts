/**
 * LDAP connector: an OpenLDAP / 389-DS / Active Directory subtree as a contact collection.
 * `ldapConnectorSchema` validates the connector's options; `createLdapConnector` builds the
 * connector from them (clients and logger injected through `deps`); `ldapConnectorFactory`
 * has the shape src/sync/connectors.ts `registerConnector()` takes (`{ kind: ldap, ... }`).
 */
import type { Logger } from 'pino';
import { LdapConnector, type LdapConnectorDeps } from './connector.ts';
import { ldapConnectorEntrySchema, ldapConnectorSchema, type LdapConnectorInput } from './config.ts';

export { LdapConnector, type LdapConnectorDeps } from './connector.ts';
export { ldapConnectorSchema, ldapConnectorEntrySchema, type LdapConnectorConfig, type LdapConnectorInput } from './config.ts';
export { translateLdapError } from './errors.ts';

/** Validates `config` (throws a ZodError naming the bad key) and returns the connector. */
export function createLdapConnector(config: LdapConnectorInput, deps: LdapConnectorDeps = {}): LdapConnector {
  return new LdapConnector(ldapConnectorSchema.parse(config), deps);
}

/** Registry entry for kind `ldap` (options include `kind`; unknown keys are refused). */
export const ldapConnectorFactory = {
  kind: 'ldap',
  options: ldapConnectorEntrySchema,
  create: (options: ReturnType<typeof ldapConnectorEntrySchema.parse>, ctx: { readonly name: string; readonly logger?: Logger }): LdapConnector =>
    new LdapConnector(options, ctx.logger ? { logger: ctx.logger.child({ connector: ctx.name }) } : {}),
};
