/**
 * `xcap-bridge worker`: runs sync jobs from the Redis queue in this process (several such
 * processes may run; one binding+document is never synced by two at once). Does not
 * watch the XCAP change feed (serve does). Drains running jobs on SIGTERM/SIGINT.
 * With `worker.metricsPort` it serves /metrics (the runs it counted), /healthz and /readyz.
 */
import { listableUsers } from '../auth/index.ts';
import { createRegistry } from '../appusage/registry.ts';
import { DocumentWriter } from '../xcap/document-writer.ts';
import { createLogger } from '../log.ts';
import { listenProbes } from '../http/probe-listener.ts';
import { Metrics } from '../metrics/registry.ts';
import { readBindingStatus } from '../sync/binding-status.ts';
import { RedisProbe } from '../sync/redis-probe.ts';
import { SyncState } from '../sync/state.ts';
import { openStore } from '../store/open.ts';
import { runObserver } from '../gateway.ts';
import { SyncActivity } from '../sync/activity.ts';
import { connectorReadOptions, createConnectors } from '../connectors.ts';
import { startSync } from '../sync/queue.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, loadCommandConfig, parseCommandArgs, STORE_OPTIONS, storeOverrides, type Command } from './command.ts';
import { WORKER_HELP } from './help.ts';

export const workerCommand: Command = {
  name: 'worker',
  async run(argv) {
    const parsed = parseCommandArgs('worker', WORKER_HELP, argv, { config: { type: 'string' }, ...STORE_OPTIONS, concurrency: { type: 'string' }, 'metrics-port': { type: 'string' } });
    if (typeof parsed === 'number') return parsed;
    const { values } = parsed;
    const concurrency = values.concurrency === undefined ? 4 : Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      process.stderr.write(`worker: --concurrency must be a positive integer\n`);
      return EXIT_USAGE;
    }
    const flagPort = values['metrics-port'] === undefined ? undefined : Number(values['metrics-port']);
    if (flagPort !== undefined && (!Number.isInteger(flagPort) || flagPort < 0 || flagPort > 65535)) {
      process.stderr.write(`worker: --metrics-port must be an integer from 0 to 65535, got "${values['metrics-port']}"\n`);
      return EXIT_USAGE;
    }
    const overrides = storeOverrides('worker', values);
    if (typeof overrides === 'number') return overrides;
    const config = loadCommandConfig('worker', values.config, overrides);
    if (typeof config === 'number') return config;
    const log = createLogger(config.log.level);
    const store = await openStore(config.store);
    const usages = await createRegistry({ custom: config.usages.custom, presContentMaxBytes: config.usages.presContentMaxBytes });
    const metricsPort = flagPort ?? config.worker.metricsPort;
    // Counts only what this process does: the stored state (documents, lag, queue) is the gateway's scrape, not repeated per worker.
    const metrics = metricsPort === undefined ? undefined : new Metrics({ auids: [], root: config.server.root });
    const redisProbe = metrics && new RedisProbe(config.redis);
    // Before sync starts: a port that is taken fails the command before any job runs.
    let probes: Awaited<ReturnType<typeof listenProbes>> | undefined;
    if (metrics && metricsPort !== undefined) {
      const state = await SyncState.open(store.sql);
      const { metricsHost: host } = config.worker;
      try {
        probes = await listenProbes(host, metricsPort, { store, redis: redisProbe, bindings: () => readBindingStatus(state, config.bindings), metrics: { contentType: metrics.contentType, text: () => metrics.text() }, log });
      } catch (err) {
        log.error({ err: (err as Error).message }, `worker: cannot listen for metrics on ${host}:${metricsPort}: ${(err as Error).message}`);
        redisProbe?.close();
        await store.close();
        return EXIT_FAILURE;
      }
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${probes.port}/metrics`;
      log.info({ url }, `worker metrics at ${url}`);
    }
    const connectors = await createConnectors(config.connectors, { logger: log });
    const sync = await startSync({ store, writer: new DocumentWriter({ store, usages }), redis: config.redis, prefix: config.redis.prefix, bindings: config.bindings, connectors, connectorOptions: connectorReadOptions(config.connectors), users: await listableUsers(config.auth, store), logger: log, runWorkers: true, watchChanges: false, concurrency, onRun: runObserver(metrics, await SyncActivity.open(store.sql), log) });
    if (!sync.running()) log.warn('worker waits for Redis');
    // A SIGHUP sent to every xcap-bridge process (a certificate renewal hook) must not end a
    // worker mid-run by its default action: it has nothing to reload.
    const hangup = () => log.info('SIGHUP: the worker has nothing to reload');
    process.on('SIGHUP', hangup);
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    process.off('SIGHUP', hangup);
    log.info('worker stopping: draining running jobs');
    try {
      await probes?.close();
      redisProbe?.close();
      await sync.stop();
      for (const c of connectors.values()) await c.close();
      await store.close();
      return EXIT_OK;
    } catch (err) {
      log.error({ err: (err as Error).message }, 'worker stop failed');
      return EXIT_FAILURE;
    }
  },
};
