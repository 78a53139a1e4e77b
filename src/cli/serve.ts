/**
 * `xcap-bridge serve`: runs the XCAP server (and, when bindings and Redis are there, the
 * sync engine) until SIGTERM/SIGINT, then drains in-flight requests and exits 0.
 */
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { createRegistry } from '../appusage/registry.ts';
import { DocumentWriter } from '../xcap/document-writer.ts';
import type { Config } from '../config/schema.ts';
import { runObserver, startConfiguredHooks, startConfiguredSync, startGateway } from '../gateway.ts';
import { createLogger, type Logger } from '../log.ts';
import { serveClusterMetrics } from '../metrics/cluster.ts';
import { Metrics } from '../metrics/registry.ts';
import { reportStoredState } from '../metrics/state-source.ts';
import { openStore } from '../store/open.ts';
import { SyncActivity } from '../sync/activity.ts';
import { realClock } from '../feed/clock.ts';
import { startPruner } from '../feed/pruner.ts';
import { EXIT_OK, EXIT_USAGE, loadCommandConfig, parseCommandArgs, STORE_HELP, STORE_OPTIONS, storeOverrides, type Command } from './command.ts';

const HELP = `Usage: xcap-bridge serve [options]

Serves XCAP at http://HOST:PORT<root> (root /xcap-root by default).

Options:
  --config FILE         YAML configuration (default: ./xcap-bridge.yaml if present)
  --host H              address to listen on (default 127.0.0.1)
  --port N              TCP port (default 8080; 0 picks a free one)
${STORE_HELP}  --redis-url URL       Redis for the sync queue (default redis://127.0.0.1:6379; or REDIS_URL)
  --log-level LEVEL     fatal|error|warn|info|debug|trace|silent (default info)
  --workers N           HTTP worker processes sharing the port (default 1: one process
                        does everything; with N > 1 the primary runs the sync engine)
  -h, --help            show this help
`;

export const serveCommand: Command = {
  name: 'serve',
  async run(argv) {
    const parsed = parseCommandArgs('serve', HELP, argv, {
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
    const workers = values.workers === undefined ? 1 : Number(values.workers);
    if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
      process.stderr.write(`serve: --workers must be an integer from 1 to 64, got "${values.workers}"\n`);
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
    const log = createLogger(config.log.level);
    if (workers > 1 && cluster.isPrimary) return runPrimary(config, log, workers);
    const gateway = await startGateway(config, log, { sync: !cluster.isWorker, clusterWorker: cluster.isWorker });
    log.info({ url: gateway.url }, `serving XCAP at ${gateway.url}`);
    const signal = await stopSignal();
    log.info({ signal }, 'shutting down: draining in-flight requests');
    await gateway.stop();
    log.info('stopped');
    // A worker's IPC channel to the primary would keep it alive after the drain.
    cluster.worker?.disconnect();
    return EXIT_OK;
  },
};

function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

/**
 * `--workers N`: the primary forks N HTTP workers (they share the listening socket),
 * runs the sync engine itself (workers' writes reach it through the store's change feed),
 * replaces a worker that dies, and on SIGTERM drains the workers before exiting.
 */
async function runPrimary(config: Config, log: Logger, workers: number): Promise<number> {
  const store = await openStore(config.store);
  const usages = await createRegistry({ custom: config.usages.custom, presContentMaxBytes: config.usages.presContentMaxBytes });
  // The primary's metrics: the sync engine's counts and the stored state; a worker's scrape adds every worker's.
  const metrics = config.server.metrics ? new Metrics({ auids: usages.all().map((u) => u.auid), root: config.server.root }) : undefined;
  const sync = await startConfiguredSync(config, store, new DocumentWriter({ store, usages }), log, true, runObserver(metrics, await SyncActivity.open(store.sql), log));
  if (metrics) await reportStoredState(metrics, store, config.bindings, sync);
  const stopMetrics = metrics ? serveClusterMetrics(metrics) : () => {};
  const pruner = startPruner(store, config.changeFeed.retention, realClock, log);
  const hooks = await startConfiguredHooks(config, store, log, realClock, () => `http://${config.server.host}:${config.server.port}${config.server.root}`);
  // Each worker would otherwise sign nonces with a key of its own, and a client whose next
  // connection lands on another worker could never log in. The key goes to the workers only
  // (in their environment, read as auth.nonceSecret), never to disk or the log.
  const env = config.auth.nonceSecret === undefined ? { XCAP_BRIDGE_NONCE_SECRET: randomBytes(32).toString('hex') } : {};
  if (config.auth.nonceSecret === undefined) log.info('auth.nonceSecret unset: the HTTP workers share a nonce secret made at start-up');
  let stopping = false;
  cluster.on('exit', (worker, code, sig) => {
    if (stopping) return;
    log.error({ worker: worker.process.pid, code, signal: sig }, 'HTTP worker died; starting another');
    cluster.fork(env);
  });
  for (let i = 0; i < workers; i++) cluster.fork(env);
  const signal = await stopSignal();
  stopping = true;
  log.info({ signal, workers }, 'shutting down: draining HTTP workers');
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
  await pruner.stop();
  await hooks?.stop();
  stopMetrics();
  await sync?.stop();
  await store.close();
  log.info('stopped');
  return EXIT_OK;
}
