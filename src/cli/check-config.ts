/**
 * `xcap-bridge check-config`: validates the config file (every error names its key, e.g.
 * `bindings[0].direction`; connectors and bindings are checked by the loader) and prints
 * the bindings as understood, defaults filled in.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.ts';
import { configReference } from '../config/reference.ts';
import { EXIT_OK, EXIT_USAGE, type Command } from './command.ts';

const HELP = `Usage: xcap-bridge check-config [--config FILE] [--reference]

Validates the configuration and prints the sync bindings it understood. Exit code 2 on
any problem, each reported with the path of the bad key.

Options:
  --config FILE         YAML configuration (default: ./xcap-bridge.yaml if present)
  --reference           print the reference of every key and default (docs/configuration.md)
  -h, --help            show this help
`;

export const checkConfigCommand: Command = {
  name: 'check-config',
  summary: 'validate the config file and print the bindings it defines',
  async run(argv) {
    let values;
    try {
      ({ values } = parseArgs({ args: argv, options: { config: { type: 'string' }, reference: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
    } catch (err) {
      process.stderr.write(`check-config: ${(err as Error).message}\n\n${HELP}`);
      return EXIT_USAGE;
    }
    if (values.help) {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    if (values.reference) {
      process.stdout.write(configReference());
      return EXIT_OK;
    }
    let config;
    try {
      config = loadConfig(values.config);
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`${err.message}\n`);
        return EXIT_USAGE;
      }
      throw err;
    }
    process.stdout.write(`config ${config.file ?? '(defaults only)'} is valid\n`);
    if (config.bindings.length === 0) process.stdout.write('no sync bindings\n');
    for (const b of config.bindings) {
      const where = b.target.scope === 'global' ? `${b.auid}/global/${b.target.document}` : `${b.auid}/users/*/${b.target.document}`;
      const list = b.mapping.kind === 'resource-lists' ? ` list "${b.mapping.list}"` : ` <${b.mapping.item}> elements`;
      const schedule = b.schedule ? (b.schedule.cron ? `cron ${b.schedule.cron}` : `every ${b.schedule.everyMs} ms`) : 'no schedule';
      process.stdout.write(
        `binding ${b.name}: ${where}${list} ${b.direction === 'pull' ? '<-' : b.direction === 'push' ? '->' : '<->'} ${b.connector} (${config.connectors[b.connector]?.kind}) "${b.collection}"; ` +
          `policy ${b.policy}; ${schedule}; on XCAP change ${b.onXcapChange ? 'yes' : 'no'}; deletes ${b.safety.deletes}, max ${b.safety.maxDeleteShare * 100}% per run\n`,
      );
    }
    return EXIT_OK;
  },
};
