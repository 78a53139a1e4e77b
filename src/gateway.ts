/**
 * The composition root: builds store, usages, auth, XCAP service, HTTP server and (when
 * bindings are configured) the sync engine from one validated Config. The only module
 * that knows every part; everything else receives its collaborators.
 */
import type { Config } from './config/schema.ts';
import { requestLogger, type Logger } from './log.ts';
import { createRegistry } from './appusage/registry.ts';
import { managedResourceLists } from './appusage/resource-lists/managed.ts';
import { createAuth, listableUsers } from './auth/index.ts';
import { LocalUsers } from './auth/local-users.ts';
import { mountAdmin } from './http/admin.ts';
import { mountProbes } from './http/probes.ts';
import { createHttpServer } from './http/server.ts';
import { loadTls, type LoadedTls } from './http/tls.ts';
import { workerScrape } from './metrics/cluster.ts';
import { Metrics } from './metrics/registry.ts';
import { reportStoredState } from './metrics/state-source.ts';
import { readBindingStatus } from './sync/binding-status.ts';
import { RedisProbe } from './sync/redis-probe.ts';
import { readHealth, type BindingHealth } from './sync/health.ts';
import { SyncState } from './sync/state.ts';
import { SyncActivity } from './sync/activity.ts';
import { clientProfiles } from './http/client-profiles.ts';
import { createXcapHandler } from './http/xcap-handler.ts';
import { localWriter, workerWrites } from './http/xcap-writes.ts';
import type { Primary } from './http/primary-ipc.ts';
import { openStore } from './store/open.ts';
import type { DocumentStore } from './store/types.ts';
import { startSync, type StartSyncOptions, type SyncHandle } from './sync/queue.ts';
import { connectorReadOptions, createConnectors } from './connectors.ts';
import { DocumentWriter, type StorePut } from './xcap/document-writer.ts';
import { XcapService } from './xcap/service.ts';
import { FollowedEtags } from './xcap/read-cache.ts';
import { realClock, type FeedClock } from './feed/clock.ts';
import { FeedHub } from './feed/hub.ts';
import { startPruner } from './feed/pruner.ts';
import { startFeedHooks, type FeedHooks } from './feed/hooks/engine.ts';
import { startLegacyMirror } from './migrate/start-mirror.ts';
import { LEGACY_CURSOR } from './migrate/config.ts';
import { HookStatusTable } from './feed/hooks/status.ts';
import { createXcapDiffHandler, XCAP_DIFF_PATH } from './http/xcap-diff-handler.ts';
import { createPhonebookHandler } from './phonebook/handler.ts';
import { DeviceTokens } from './phonebook/tokens.ts';
import { ValidationPool } from './xcap/validation-pool.ts';
import type { Connector } from '../connectors/types.ts';

export interface Gateway {
  /** `http://host:port/xcap-root` as bound (port 0 resolved; `https://` with `server.tls`). */
  readonly url: string;
  readonly port: number;
  readonly store: DocumentStore;
  /** The sync engine, when bindings are configured and `sync` is on. */
  readonly sync: ConfiguredSync | undefined;
  /** Whether each binding keeps running: `stale` with its reason (what a readiness check reads). */
  health(): Promise<BindingHealth[]>;
  /**
   * Re-reads the `server.tls` files and puts the certificate in service for new connections;
   * resolves with what was loaded, `undefined` without `server.tls`. Throws `TlsFileError`
   * naming the file when one cannot be used, and the old certificate stays.
   */
  reloadTls(): LoadedTls | undefined;
  /** Drains HTTP, stops sync workers, closes the store. */
  stop(): Promise<void>;
}

export interface GatewayOptions {
  /**
   * Run the sync engine in this process (the queue's workers included). Off in the HTTP
   * workers of `serve --workers N`, where the primary runs it.
   * @defaultValue `true`
   */
  sync?: boolean;
  /** Clock in milliseconds for Digest nonce expiry and the Basic cache (tests of expiry). @defaultValue Date.now */
  now?: () => number;
  /** Timers of the change feed: coalescing windows, heartbeats, polls (tests move it by hand). @defaultValue real time */
  feedClock?: FeedClock;
  /**
   * This process is an HTTP worker of `serve --workers N`: /metrics asks the primary for
   * every process's metrics (src/metrics/cluster.ts) instead of answering its own.
   * @defaultValue `false`
   */
  clusterWorker?: boolean;
  /**
   * In an HTTP worker of `serve`: the primary, which stores every XCAP write (this process
   * validates whole-document PUTs, the primary every other write) and runs sync
   * (the admin API's manual runs go to it). @defaultValue none: this process does both
   */
  primary?: Primary;
}

/**
 * The XCAP service on `store` with the configured usages, auth and validation threads (every
 * process that serves or writes XCAP). `put` is where validated documents are stored
 * (DocumentWriter): `store` by default, the primary's in an HTTP worker of `serve`. The
 * caller closes `pool` when it stops.
 */
export async function createXcapService(config: Config, store: DocumentStore, log: Logger, now?: () => number, put?: StorePut, etags?: FollowedEtags) {
  const registryOptions = { custom: config.usages.custom, presContentMaxBytes: config.usages.presContentMaxBytes };
  const registry = await createRegistry(registryOptions);
  const { validationThreads: threads, validationThreadMinBytes: minChars } = config.server;
  const pool = threads > 0 ? new ValidationPool({ threads, minChars, registry: registryOptions }) : undefined;
  try {
    const auth = await createAuth(config.auth, store, log, now);
    // Lists that pull bindings own are read-only for clients, in every process that serves XCAP.
    const managed = managedResourceLists(config.bindings);
    const xmlLimits = { maxDepth: config.server.maxXmlDepth, maxAttributes: config.server.maxXmlAttributes };
    // One writer for clients and sync: both obey the same validation and conditional write.
    const writer = new DocumentWriter({ store, usages: registry, pool, put });
    const service = new XcapService({ store, usages: registry, authorize: auth.authorize, managed, xmlLimits, writer, etags, storedBytes: config.server.readCache.bytes });
    return { registry, auth, managed, writer, service, pool };
  } catch (err) {
    await pool?.close();
    throw err;
  }
}

export async function startGateway(config: Config, log: Logger, opts: GatewayOptions = {}): Promise<Gateway> {
  const store = await openStore(config.store);
  let validationPool: ValidationPool | undefined;
  try {
    const feedClock = opts.feedClock ?? realClock;
    const hub = new FeedHub({
      store,
      clock: feedClock,
      pollMs: config.changeFeed.sse.pollMs,
      coalesceMs: config.changeFeed.sse.coalesceMs,
      log,
      ...(opts.primary ? { commits: opts.primary.onCommit } : {}),
    });
    // Where the store has no change counter, the change feed keeps the ETags of polls true.
    const { etags: etagCount, maxStaleMs } = config.server.readCache;
    const etags = store.changeCounter === undefined && etagCount > 0
      ? new FollowedEtags({ size: etagCount, maxStaleMs, clock: feedClock, syncedAt: () => hub.syncedAt })
      : undefined;
    // An HTTP worker of serve validates whole documents itself, and the primary stores them.
    const xcap = await createXcapService(config, store, log, opts.now, opts.primary?.put, etags);
    validationPool = xcap.pool;
    const { registry, auth, managed, writer, service } = xcap;
    // Fails the start when users are in several realms and none is configured for the global tree.
    await auth.domain.require();
    const metrics = config.server.metrics ? new Metrics({ auids: registry.all().map((u) => u.auid), root: config.server.root }) : undefined;
    const activity = await SyncActivity.open(store.sql);
    const sync = opts.sync === false ? undefined : await startConfiguredSync(config, store, writer, log, true, runObserver(metrics, activity, log));
    const syncState = await SyncState.open(store.sql);
    const hookStatus = await HookStatusTable.open(store.sql);
    const health = () => readHealth(syncState, config.bindings);
    // Where sync runs, the change feed is pruned too (HTTP-only workers leave it to that process).
    const pruner = opts.sync === false ? undefined : startPruner(store, config.changeFeed.retention, feedClock, log);
    if (etags) await hub.add(etags);
    const xcapDiff = createXcapDiffHandler({
      store,
      hub,
      auth: auth.authenticator,
      realm: config.auth.realm,
      domain: auth.domain,
      root: config.server.root,
      publicRoots: config.server.publicRoots,
      clock: feedClock,
      heartbeatMs: config.changeFeed.sse.heartbeatSeconds * 1000,
      log,
    });
    const phonebook = config.phonebook.enabled
      ? createPhonebookHandler({
          config: config.phonebook,
          store,
          writer,
          auth: auth.authenticator,
          tokens: await DeviceTokens.open(store.sql),
          realm: config.auth.realm,
          domain: auth.domain,
          managed,
          log,
          requestLog: config.log,
        })
      : undefined;
    const bindingStatus = () => readBindingStatus(syncState, config.bindings);
    if (metrics && !opts.clusterWorker) await reportStoredState(metrics, store, config.bindings, sync);
    const redisProbe = config.bindings.length > 0 ? new RedisProbe(config.redis) : undefined;
    const scrape = metrics && (opts.clusterWorker ? workerScrape(metrics) : () => metrics.text());
    const localUsers = await LocalUsers.open(store.sql);
    const tls = config.server.tls;
    let closeAdmin = async () => {};
    // A request the HTTP parser refused has no handler: its access line is written from here.
    const unparsedLog = requestLogger(log, config.log);
    const http = createHttpServer({
      streams: { path: XCAP_DIFF_PATH, handle: xcapDiff.handle, closeAll: xcapDiff.closeAll },
      root: config.server.root,
      phonebook,
      ...(tls ? { tls: loadTls(tls).options } : {}),
      ...(metrics ? { observe: (method: string, url: string, status: number, seconds: number) => metrics.observeRequest(method, url, status, seconds) } : {}),
      ...(unparsedLog ? { unparsed: (reqId: string, status: number) => unparsedLog({ reqId, method: undefined, url: '', status, ms: 0 }) } : {}),
      admin: (app) => {
        mountProbes(app, { store, redis: redisProbe, bindings: bindingStatus, metrics: metrics && scrape && { contentType: metrics.contentType, text: scrape }, log });
        closeAdmin = mountAdmin(app, {
          auth: auth.authenticator,
          realm: async () => config.auth.realm ?? (await auth.domain.require()),
          state: syncState,
          sync: sync ?? opts.primary?.sync,
          bindings: config.bindings,
          users: auth.users,
          hooks: () => hookStatus.list(),
          bindingStatus,
          localUsers,
          authConfig: config.auth,
          store,
          forgetUsers: () => auth.forgetUsers(),
          activity,
          ...(config.auth.nonceSecret === undefined ? {} : { secret: config.auth.nonceSecret }),
          queueRedis: config.bindings.length > 0 ? { url: config.redis.url, cluster: config.redis.cluster, prefix: config.redis.prefix } : undefined,
          log,
        });
      },
      xcap: createXcapHandler({
        service,
        auth: auth.authenticator,
        log,
        root: config.server.root,
        publicRoots: config.server.publicRoots,
        maxBodyBytes: config.server.maxBodyBytes,
        realm: config.auth.realm,
        domain: auth.domain,
        clients: clientProfiles(config.clients),
        requestLog: config.log,
        writes: opts.primary && workerWrites(localWriter(service, config.server), opts.primary.writes, service),
      }),
    });
    const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
    const scheme = tls ? 'https' : 'http';
    let port = config.server.port;
    const hooks = opts.sync === false ? undefined : await startConfiguredHooks(config, store, log, feedClock, () => `${scheme}://${host}:${port}${config.server.root}`);
    const mirror = opts.sync === false || config.legacy === undefined ? undefined : await startLegacyMirror(config.legacy, writer, registry, log);
    port = await http.listen(config.server.host, config.server.port);
    return {
      url: `${scheme}://${host}:${port}${config.server.root}`,
      port,
      store,
      sync,
      health,
      reloadTls() {
        if (tls === undefined || http.setSecureContext === undefined) return undefined;
        const loaded = loadTls(tls);
        http.setSecureContext(loaded.options);
        return loaded;
      },
      async stop() {
        await http.close(config.server.shutdownGraceSeconds * 1000);
        await hub.close();
        await pruner?.stop();
        await hooks?.stop();
        await mirror?.stop();
        redisProbe?.close();
        await closeAdmin();
        await sync?.stop();
        await auth.close();
        await validationPool?.close();
        await store.close();
      },
    };
  } catch (err) {
    await validationPool?.close();
    await store.close().catch(() => {});
    throw err;
  }
}

/**
 * Starts webhooks and presence-server hooks (`changeFeed.webhooks`, `.presenceServers`) on
 * the sync Redis; `undefined` when none are configured. `localRoot` is the root this
 * process serves, written in bodies unless `changeFeed.xcapRoot` or a public root is set.
 */
export function startConfiguredHooks(config: Config, store: DocumentStore, log: Logger, clock: FeedClock, localRoot: () => string): Promise<FeedHooks | undefined> {
  const fixed = config.changeFeed.xcapRoot ?? config.server.publicRoots[0];
  const held = config.legacy === undefined ? undefined : SyncState.open(store.sql);
  return startFeedHooks({
    store,
    ...(held && { heldUntil: async () => Number((await (await held).getMeta(LEGACY_CURSOR)) ?? 0) }),
    config: config.changeFeed,
    xcapRoot: fixed === undefined ? localRoot : () => fixed,
    redis: config.redis,
    prefix: config.redis.prefix,
    clock,
    log,
  });
}

/** What a process that runs sync jobs does with each run: count it (metrics) and chart it (activity). */
export function runObserver(metrics: Metrics | undefined, activity: SyncActivity, log: Logger): NonNullable<StartSyncOptions['onRun']> {
  return (e) => {
    metrics?.observeRun(e);
    activity.record(e).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'sync activity not recorded'));
  };
}

/** The running sync engine with the connectors it owns; `stop` drains it and closes them. */
export interface ConfiguredSync extends SyncHandle {
  readonly connectors: ReadonlyMap<string, Connector>;
}

/** Starts the sync engine when bindings are configured; `undefined` otherwise. */
export async function startConfiguredSync(
  config: Config,
  store: DocumentStore,
  writer: DocumentWriter,
  log: Logger,
  runWorkers = true,
  onRun?: StartSyncOptions['onRun'],
): Promise<ConfiguredSync | undefined> {
  if (config.bindings.length === 0) return undefined;
  const connectors = await createConnectors(config.connectors, { logger: log });
  const handle = await startSync({
    store,
    writer,
    redis: config.redis,
    prefix: config.redis.prefix,
    bindings: config.bindings,
    connectors,
    connectorOptions: connectorReadOptions(config.connectors),
    users: await listableUsers(config.auth, store),
    logger: log,
    runWorkers,
    feedPollMs: config.changeFeed.pollMs,
    onRun,
  });
  return {
    running: () => handle.running(),
    enqueue: (binding, scope, o) => handle.enqueue(binding, scope, o),
    queueStats: () => handle.queueStats(),
    connectors,
    async stop() {
      await handle.stop();
      // Open connections (LDAP) would keep the process alive after SIGTERM.
      for (const c of connectors.values()) await c.close();
    },
  };
}
