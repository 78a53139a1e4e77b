/**
 * `xcap-bridge serve`: runs the XCAP server (and, when bindings and Redis are there, the
 * sync engine) until SIGTERM/SIGINT, then drains in-flight requests and exits 0.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.ts';
import { startGateway } from '../gateway.ts';
import { createLogger } from '../log.ts';
import { EXIT_OK, EXIT_USAGE, type Command } from './command.ts';

const HELP = `Usage: xcap-bridge serve [options]

Serves XCAP at http://HOST:PORT<root> (root /xcap-root by default).

Options:
  --config FILE         YAML configuration (default: ./xcap-bridge.yaml if present)
  --host H              address to listen on (default 127.0.0.1)
  --port N              TCP port (default 8080; 0 picks a free one)
  --data DIR            SQLite store directory (default ./data)
  --store KIND          sqlite | postgres (default sqlite)
  --database-url URL    PostgreSQL URL (implies --store postgres; or DATABASE_URL)
  --redis-url URL       Redis for the sync queue (default redis://127.0.0.1:6379; or REDIS_URL)
  --log-level LEVEL     fatal|error|warn|info|debug|trace|silent (default info)
  -h, --help            show this help
`;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve XCAP (and run sync bindings) until SIGTERM',
  async run(argv) {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          config: { type: 'string' },
          host: { type: 'string' },
          port: { type: 'string' },
          data: { type: 'string' },
          store: { type: 'string' },
          'database-url': { type: 'string' },
          'redis-url': { type: 'string' },
          'log-level': { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
      }));
    } catch (err) {
      process.stderr.write(`serve: ${(err as Error).message}\n\n${HELP}`);
      return EXIT_USAGE;
    }
    if (values.help) {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
      process.stderr.write(`serve: --port must be an integer from 0 to 65535, got "${values.port}"\n`);
      return EXIT_USAGE;
    }
    if (values.store !== undefined && values.store !== 'sqlite' && values.store !== 'postgres') {
      process.stderr.write(`serve: --store must be sqlite or postgres, got "${values.store}"\n`);
      return EXIT_USAGE;
    }
    let config;
    try {
      config = loadConfig(values.config, {
        host: values.host,
        port,
        dataDir: values.data,
        store: values.store as 'sqlite' | 'postgres' | undefined,
        databaseUrl: values['database-url'],
        redisUrl: values['redis-url'],
        logLevel: values['log-level'],
      });
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`serve: invalid configuration:\n${err.message}\n`);
        return EXIT_USAGE;
      }
      throw err;
    }
    const log = createLogger(config.log.level);
    const gateway = await startGateway(config, log);
    log.info({ url: gateway.url }, `serving XCAP at ${gateway.url}`);
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info({ signal }, 'shutting down: draining in-flight requests');
        resolve();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    await gateway.stop();
    log.info('stopped');
    return EXIT_OK;
  },
};
