/**
 * The composition root: builds store, usages, auth, XCAP service, HTTP server and (when
 * bindings are configured) the sync engine from one validated Config. The only module
 * that knows every part; everything else receives its collaborators.
 */
import type { Config } from './config/schema.ts';
import type { Logger } from './log.ts';
import { createRegistry } from './appusage/registry.ts';
import { createAuth } from './auth/index.ts';
import { createHttpServer } from './http/server.ts';
import { createXcapHandler, type ClientProfile } from './http/xcap-handler.ts';
import { openStore } from './store/open.ts';
import type { DocumentStore } from './store/types.ts';
import { XcapService } from './xcap/service.ts';

export interface Gateway {
  /** `http://host:port/xcap-root` as bound (port 0 resolved). */
  readonly url: string;
  readonly port: number;
  readonly store: DocumentStore;
  /** Drains HTTP, stops sync workers, closes the store. */
  stop(): Promise<void>;
}

export async function startGateway(config: Config, log: Logger): Promise<Gateway> {
  const store = await openStore(config.store);
  try {
    const registry = await createRegistry({
      custom: config.usages.custom,
      presContentMaxBytes: config.usages.presContentMaxBytes,
    });
    const auth = await createAuth(config.auth, store, log);
    const service = new XcapService({ store, usages: registry, authorize: auth.authorize });
    const clients: ClientProfile[] = Object.entries(config.clients).map(([name, c]) => ({
      name,
      userAgent: new RegExp(c.userAgent),
      lenient: new Set(c.lenient),
    }));
    const http = createHttpServer({
      root: config.server.root,
      xcap: createXcapHandler({
        service,
        auth: auth.authenticator,
        log,
        root: config.server.root,
        maxBodyBytes: config.server.maxBodyBytes,
        realm: config.auth.realm,
        defaultDomain: config.auth.defaultDomain,
        clients,
        logRequests: config.log.requests,
      }),
    });
    const port = await http.listen(config.server.host, config.server.port);
    const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
    return {
      url: `http://${host}:${port}${config.server.root}`,
      port,
      store,
      async stop() {
        await http.close(config.server.shutdownGraceSeconds * 1000);
        await auth.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
}
