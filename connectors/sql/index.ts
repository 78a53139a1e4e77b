/**
 * SQL connector (`kind: sql`), table mode: the rows of a contacts-style table on
 * PostgreSQL or MySQL/MariaDB as items (table/connector.ts), with the triggers
 * `xcap-bridge sql install-triggers` installs (table/triggers.ts). The legacy `xcap`
 * table of Kamailio, OpenSIPS and OpenXCAP is xcap-table/ (import, export, mirror).
 */
import { connectorKind } from '../kind.ts';
import { sqlCapabilities, sqlConnectorSchema, sqlEnvironmentIssues, type SqlConnectorConfig } from './config.ts';
import { SqlTableConnector } from './table/connector.ts';

export { SqlTableConnector } from './table/connector.ts';
export { sqlConnectorSchema, type SqlConnectorConfig } from './config.ts';

export const sqlConnectorKind = connectorKind({
  kind: 'sql',
  options: sqlConnectorSchema,
  capabilities: (o: SqlConnectorConfig) => sqlCapabilities(o),
  environment: (o: SqlConnectorConfig, env) => sqlEnvironmentIssues(o, env),
  create: (o: SqlConnectorConfig) => new SqlTableConnector(o),
});
