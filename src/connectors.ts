/**
 * The connector kinds of this build: the one list a new connector kind is added to (its
 * folder under connectors/ exports a ConnectorKind, connectors/kind.ts). Part of the
 * composition root: config loading checks `connectors:` and `bindings:` against it,
 * `check-config --reference` documents every kind's options from it, and the gateway and
 * the sync commands create their connectors through it. Nothing under src/sync registers
 * a kind.
 */
import type { ConnectorContext } from '../connectors/kind.ts';
import type { Connector } from '../connectors/types.ts';
import { carddavConnectorKind } from '../connectors/carddav/index.ts';
import { ldapConnectorKind } from '../connectors/ldap/index.ts';
import { memoryConnectorKind } from '../connectors/memory/kind.ts';
import { sqlConnectorKind } from '../connectors/sql/index.ts';
import type { BindingConfig } from './sync/binding.ts';
import { ConnectorRegistry, type ConfigIssue, type RawConnectors } from './sync/connector-registry.ts';

export const connectorRegistry = new ConnectorRegistry([
  memoryConnectorKind,
  ldapConnectorKind,
  carddavConnectorKind,
  sqlConnectorKind,
]);

/** Checks the `connectors:` and `bindings:` sections together (see ConnectorRegistry.check). */
export function checkSyncConfig(connectors: RawConnectors, bindings: readonly BindingConfig[]): ConfigIssue[] {
  return connectorRegistry.check(connectors, bindings);
}

/** Per connector, the options that change what it reads (what binding fingerprints cover). */
export function connectorReadOptions(connectors: RawConnectors): Record<string, unknown> {
  return connectorRegistry.readOptions(connectors);
}

/** Creates every configured connector. */
export function createConnectors(connectors: RawConnectors, ctx: Omit<ConnectorContext, 'name'> = {}): Promise<Map<string, Connector>> {
  return connectorRegistry.create(connectors, ctx);
}
