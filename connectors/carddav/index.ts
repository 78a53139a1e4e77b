/**
 * CardDAV connector: users' address books (Radicale, Nextcloud, SOGo, Baikal, iCloud,
 * Fastmail) as contact collections. `carddavConnectorKind` is the entry src/connectors.ts
 * registers (`{ kind: carddav, ... }`).
 */
import { connectorKind } from '../kind.ts';
import { CarddavConnector } from './connector.ts';
import { carddavCapabilities, carddavConnectorSchema, type CarddavConfig } from './config.ts';
import { credentialIssues } from './credentials.ts';

export { CarddavConnector, type CarddavConnectorDeps } from './connector.ts';
export { carddavConnectorSchema, type CarddavConfig } from './config.ts';

export const carddavConnectorKind = connectorKind({
  kind: 'carddav',
  options: carddavConnectorSchema,
  capabilities: (o: CarddavConfig) => carddavCapabilities(o),
  environment: (o: CarddavConfig, env) => credentialIssues(o.credentials, env),
  create: (o: CarddavConfig, ctx) => new CarddavConnector(o, ctx.logger ? { logger: ctx.logger.child({ connector: ctx.name }) } : {}),
});
