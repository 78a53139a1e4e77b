/**
 * `xcap-bridge serve`: runs the XCAP server (and, when bindings and Redis are there, the
 * sync engine) until SIGTERM/SIGINT, then drains in-flight requests and exits 0.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Config } from '../config/schema.ts';
import { unsafeSettings } from '../config/warnings.ts';
import { createXcapService, runObserver, startConfiguredHooks, startConfiguredSync, startGateway, type Gateway } from '../gateway.ts';
import { connectToPrimary, serveWorkers } from '../http/primary-ipc.ts';
import { localWriter } from '../http/xcap-writes.ts';
import { loadTls, TlsFileError, type LoadedTls } from '../http/tls.ts';
import { createLogger, type Logger } from '../log.ts';
import { serveClusterMetrics } from '../metrics/cluster.ts';
import { Metrics } from '../metrics/registry.ts';
import { reportStoredState } from '../metrics/state-source.ts';
import { openStore } from '../store/open.ts';
import { SyncActivity } from '../sync/activity.ts';
import { realClock } from '../feed/clock.ts';
import { startPruner } from '../feed/pruner.ts';
import { startLegacyMirror } from '../migrate/start-mirror.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, loadCommandConfig, parseCommandArgs, STORE_OPTIONS, storeOverrides, type Command } from './command.ts';
import { SERVE_HELP } from './help.ts';

export const serveCommand: Command = {
  name: 'serve',
  async run(argv) {
    const parsed = parseCommandArgs('serve', SERVE_HELP, argv, {
      config: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      ...STORE_OPTIONS,
      'redis-url': { type: 'string' },
      'log-level': { type: 'string' },
      workers: { type: 'string' },
    });
    if (typeof parsed === 'number') return parsed;
    const { values } = parsed;
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
      process.stderr.write(`serve: --port must be an integer from 0 to 65535, got "${values.port}"\n`);
      return EXIT_USAGE;
    }
    const store = storeOverrides('serve', values);
    if (typeof store === 'number') return store;
    const flagWorkers = values.workers === undefined || values.workers === 'auto' ? values.workers : Number(values.workers);
    if (typeof flagWorkers === 'number' && (!Number.isInteger(flagWorkers) || flagWorkers < 1 || flagWorkers > 64)) {
      process.stderr.write(`serve: --workers must be auto or an integer from 1 to 64, got "${values.workers}"\n`);
      return EXIT_USAGE;
    }
    const config = loadCommandConfig('serve', values.config, {
      host: values.host,
      port,
      ...store,
      redisUrl: values['redis-url'],
      logLevel: values['log-level'],
    });
    if (typeof config === 'number') return config;
    if (config.server.tls) {
      try {
        loadTls(config.server.tls);
      } catch (err) {
        if (!(err instanceof TlsFileError)) throw err;
        process.stderr.write(`serve: server.tls: ${err.message}\n`);
        return EXIT_USAGE;
      }
    }
    const log = createLogger(config.log.level, { flushMs: config.log.flushMs });
    const setting = flagWorkers ?? config.server.workers;
    const workers = setting === 'auto' ? availableParallelism() : setting;
    // Once per server: the primary speaks for its workers.
    if (!cluster.isWorker) for (const w of unsafeSettings(config)) log.warn({ setting: w.key }, w.message);
    if (workers > 1 && cluster.isPrimary) return runPrimary(config, log, workers);
    // SIGHUP's default action ends the process; until the listener runs there is nothing to
    // reload (it reads the files as it starts).
    let onHangup = () => {};
    const hangup = () => onHangup();
    process.on('SIGHUP', hangup);
    const primary = cluster.isWorker ? connectToPrimary(config.bindings.length > 0) : undefined;
    const gateway = await startGateway(config, log, { sync: primary === undefined, clusterWorker: cluster.isWorker, primary });
    onHangup = () => reloadCertificate(gateway, log);
    log.info({ url: gateway.url }, `serving XCAP at ${gateway.url}`);
    const signal = await stopSignal();
    process.off('SIGHUP', hangup);
    log.info({ signal }, 'shutting down: draining in-flight requests');
    try {
      await gateway.stop();
    } finally {
      // A worker's IPC channel to the primary would keep it alive after the drain (or a
      // failed stop), and the primary waits for every worker to exit.
      cluster.worker?.disconnect();
    }
    log.info('stopped');
    return EXIT_OK;
  },
};

/**
 * What a SIGHUP did, logged: `reload` re-reads the `server.tls` files (`undefined`: none are
 * configured) and `done` logs the certificate put in service; a file that cannot be used is
 * one error naming it, and the certificate in service stays.
 */
function onHangup(log: Logger, reload: () => LoadedTls | undefined, done: (loaded: LoadedTls) => void): void {
  try {
    const loaded = reload();
    if (loaded === undefined) log.info('SIGHUP: server.tls is not set, no certificate to reload');
    else done(loaded);
  } catch (err) {
    if (!(err instanceof TlsFileError)) throw err;
    log.error({ file: err.file, err: err.message }, `SIGHUP: TLS certificate not reloaded, the previous one stays in service: ${err.message}`);
  }
}

/** SIGHUP in a process that listens: new connections get the new certificate. */
function reloadCertificate(gateway: Gateway, log: Logger): void {
  onHangup(log, () => gateway.reloadTls(), (l) => log.info({ serial: l.serial, validTo: l.validTo }, 'SIGHUP: TLS certificate reloaded; new connections use it'));
}

/**
 * SIGHUP to the primary (where operators and systemd send it): checks the files once, so a
 * bad one is reported once and the workers keep their certificate, then tells every worker
 * that listens. One still starting has no SIGHUP handler yet (the signal would end it) and
 * reads the files as it starts.
 */
function forwardHangup(config: Config, log: Logger, listening: ReadonlySet<number>): void {
  const tls = config.server.tls;
  onHangup(log, () => tls && loadTls(tls), (l) => {
    const all = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && listening.has(w.id) && !w.isDead());
    for (const w of all) w.process.kill('SIGHUP');
    log.info({ workers: all.length, serial: l.serial }, 'SIGHUP: the HTTP workers re-read the TLS certificate');
  });
}

function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

/**
 * Several HTTP workers: the primary forks them (they share the listening socket), does every
 * XCAP write they receive (primary-ipc.ts) and runs the sync engine, replaces a worker that
 * dies, and on SIGTERM drains the workers (whose requests may still be waiting for its
 * writes) before it stops itself.
 */
async function runPrimary(config: Config, log: Logger, workers: number): Promise<number> {
  // Before anything slow: SIGHUP's default action would end the primary and its workers.
  const listening = new Set<number>();
  const hangup = () => forwardHangup(config, log, listening);
  process.on('SIGHUP', hangup);
  // Each worker would otherwise sign nonces with a key of its own, and a client whose next
  // connection lands on another worker could never log in. The key goes to the workers only
  // (in their environment, read as auth.nonceSecret), never to disk or the log.
  const nonceSecret = config.auth.nonceSecret ?? randomBytes(32).toString('hex');
  const env = config.auth.nonceSecret === undefined ? { XCAP_BRIDGE_NONCE_SECRET: nonceSecret } : {};
  if (config.auth.nonceSecret === undefined) log.info('auth.nonceSecret unset: the HTTP workers share a nonce secret made at start-up');
  const store = await openStore(config.store);
  let xcap: Awaited<ReturnType<typeof createXcapService>> | undefined;
  try {
    xcap = await createXcapService({ ...config, auth: { ...config.auth, nonceSecret } }, store, log);
    // The workers' own start-up check, made once here so a bad set-up fails before any fork.
    await xcap.auth.domain.require();
  } catch (err) {
    await xcap?.pool?.close();
    await store.close();
    throw err;
  }
  // The primary's metrics: the sync engine's counts and the stored state; a worker's scrape adds every worker's.
  const metrics = config.server.metrics ? new Metrics({ auids: xcap.registry.all().map((u) => u.auid), root: config.server.root }) : undefined;
  const sync = await startConfiguredSync(config, store, xcap.writer, log, true, runObserver(metrics, await SyncActivity.open(store.sql), log));
  if (metrics) await reportStoredState(metrics, store, config.bindings, sync);
  const stopMetrics = metrics ? serveClusterMetrics(metrics) : () => {};
  const pruner = startPruner(store, config.changeFeed.retention, realClock, log);
  const hooks = await startConfiguredHooks(config, store, log, realClock, () => `${config.server.tls ? 'https' : 'http'}://${config.server.host}:${config.server.port}${config.server.root}`);
  // The workers run no mirror (they start without sync): the primary keeps the legacy table fed.
  const mirror = config.legacy === undefined ? undefined : await startLegacyMirror(config.legacy, xcap.writer, xcap.registry, log);
  const stopTelling = serveWorkers(localWriter(xcap.service, config.server), (...args) => store.put(...args), store, sync, log);
  // Writes carry their bodies as bytes: the structured clone sends them without JSON.
  cluster.setupPrimary({ serialization: 'advanced' });
  let stopping = false;
  cluster.on('listening', (worker) => {
    listening.add(worker.id);
    // Once, when the first ones all listen (replacements make the set larger): from here SIGHUP reaches every worker.
    if (listening.size === workers) log.info({ workers }, 'primary: every HTTP worker listens');
  });
  // A worker that dies before it listened failed to start: starting another would fail the same way.
  let failedStart: (reason: string) => void = () => {};
  const startFailure = new Promise<string>((resolve) => (failedStart = resolve));
  cluster.on('exit', (worker, code, sig) => {
    if (stopping) return;
    if (!listening.has(worker.id)) {
      failedStart(`an HTTP worker exited with ${code ?? sig} before it listened`);
      return;
    }
    log.error({ worker: worker.process.pid, code, signal: sig }, 'HTTP worker died; starting another');
    cluster.fork(env);
  });
  for (let i = 0; i < workers; i++) cluster.fork(env);
  log.info({ workers }, `primary: ${workers} HTTP workers; XCAP writes and sync run here`);
  const ended = await Promise.race([stopSignal().then((signal) => ({ signal })), startFailure.then((failure) => ({ failure }))]);
  stopping = true;
  process.off('SIGHUP', hangup);
  if ('failure' in ended) log.error(`${ended.failure}; stopping`);
  else log.info({ signal: ended.signal, workers }, 'shutting down: draining HTTP workers');
  const all = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
  await Promise.all(
    all.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.isDead()) return resolve();
          w.once('exit', () => resolve());
          w.process.kill('SIGTERM');
        }),
    ),
  );
  stopTelling();
  await pruner.stop();
  await hooks?.stop();
  await mirror?.stop();
  stopMetrics();
  await sync?.stop();
  await xcap.pool?.close();
  await store.close();
  log.info('stopped');
  return 'failure' in ended ? EXIT_FAILURE : EXIT_OK;
}
