/**
 * `xcap-bridge check-config`: validates the config file (every error names its key, e.g.
 * `bindings[0].direction`; connectors and bindings are checked by the loader), then what
 * the connectors need from this environment (secrets' variables, readable files), and
 * prints the bindings as understood, defaults filled in.
 */
import { connectorRegistry } from '../connectors.ts';
import { configReference } from '../config/reference.ts';
import { EXIT_OK, EXIT_USAGE, loadCommandConfig, parseCommandArgs, type Command } from './command.ts';
import { CHECK_CONFIG_HELP } from './help.ts';

export const checkConfigCommand: Command = {
  name: 'check-config',
  async run(argv) {
    const parsed = parseCommandArgs('check-config', CHECK_CONFIG_HELP, argv, { config: { type: 'string' }, reference: { type: 'boolean' } });
    if (typeof parsed === 'number') return parsed;
    const { values } = parsed;
    if (values.reference) {
      process.stdout.write(configReference());
      return EXIT_OK;
    }
    const config = loadCommandConfig('check-config', values.config);
    if (typeof config === 'number') return config;
    // A valid file can still fail its first run: a secret not set here, a file not readable.
    const missing = connectorRegistry.environment(config.connectors, process.env);
    if (missing.length) {
      const where = config.file ? `${config.file}: ` : '';
      process.stderr.write(`check-config: invalid configuration:\n${missing.map((i) => `${where}${i.path}: ${i.message}`).join('\n')}\n`);
      return EXIT_USAGE;
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
