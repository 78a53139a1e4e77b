/**
 * `xcap-bridge worker`: runs sync jobs from the Redis queue in this process (several such
 * processes may run; one binding+document is never synced by two at once). Does not
 * watch the XCAP change feed (serve does). Drains running jobs on SIGTERM/SIGINT.
 */
import { listableUsers } from '../auth/index.ts';
import { createRegistry } from '../appusage/registry.ts';
import { DocumentWriter } from '../xcap/document-writer.ts';
import { createLogger } from '../log.ts';
import { openStore } from '../store/open.ts';
import { runObserver } from '../gateway.ts';
import { SyncActivity } from '../sync/activity.ts';
import { connectorReadOptions, createConnectors } from '../connectors.ts';
import { startSync } from '../sync/queue.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, loadCommandConfig, parseCommandArgs, STORE_HELP, STORE_OPTIONS, storeOverrides, type Command } from './command.ts';

const HELP = `Usage: xcap-bridge worker [options]

Runs sync jobs from the Redis queue until SIGTERM/SIGINT, then lets running jobs finish.

Options:
  --config FILE         YAML configuration (default: ./xcap-bridge.yaml if present)
${STORE_HELP}  --concurrency N       jobs run at once (default 4)
  -h, --help            show this help
`;

export const workerCommand: Command = {
  name: 'worker',
  async run(argv) {
    const parsed = parseCommandArgs('worker', HELP, argv, { config: { type: 'string' }, ...STORE_OPTIONS, concurrency: { type: 'string' } });
    if (typeof parsed === 'number') return parsed;
    const { values } = parsed;
    const concurrency = values.concurrency === undefined ? 4 : Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      process.stderr.write(`worker: --concurrency must be a positive integer\n`);
      return EXIT_USAGE;
    }
    const overrides = storeOverrides('worker', values);
    if (typeof overrides === 'number') return overrides;
    const config = loadCommandConfig('worker', values.config, overrides);
    if (typeof config === 'number') return config;
    const log = createLogger(config.log.level);
    const store = await openStore(config.store);
    const usages = await createRegistry({ custom: config.usages.custom, presContentMaxBytes: config.usages.presContentMaxBytes });
    const connectors = await createConnectors(config.connectors, { logger: log });
    const sync = await startSync({ store, writer: new DocumentWriter({ store, usages }), redis: config.redis, prefix: config.redis.prefix, bindings: config.bindings, connectors, connectorOptions: connectorReadOptions(config.connectors), users: await listableUsers(config.auth, store), logger: log, runWorkers: true, watchChanges: false, concurrency, onRun: runObserver(undefined, await SyncActivity.open(store.sql), log) });
    if (!sync.running()) log.warn('worker waits for Redis');
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    log.info('worker stopping: draining running jobs');
    try {
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
