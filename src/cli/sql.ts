/**
 * `xcap-bridge sql install-triggers --connector NAME [--print]`: installs (or prints, for
 * a DBA to run) the triggers a `kind: sql` connector needs on its table: the version
 * stamp, the tombstones of deleted rows and, on PostgreSQL, the NOTIFY wake-up
 * (connectors/sql/table/triggers.ts).
 */
import { openSqlDatabase, engineOf } from '../../connectors/sql/database.ts';
import { connectionUrl, sqlConnectorSchema } from '../../connectors/sql/config.ts';
import { triggerDdl } from '../../connectors/sql/table/triggers.ts';
import { translateSqlError } from '../../connectors/sql/errors.ts';
import { sql } from 'kysely';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, loadCommandConfig, parseCommandArgs, type Command } from './command.ts';
import { SQL_HELP } from './help.ts';

export const sqlCommand: Command = {
  name: 'sql',
  async run(argv) {
    const parsed = parseCommandArgs('sql', SQL_HELP, argv, { connector: { type: 'string' }, print: { type: 'boolean' }, config: { type: 'string' } }, true);
    if (typeof parsed === 'number') return parsed;
    const { values, positionals } = parsed;
    if (positionals.length !== 1 || positionals[0] !== 'install-triggers') {
      process.stderr.write(`sql: the subcommand is install-triggers\n\n${SQL_HELP}`);
      return EXIT_USAGE;
    }
    if (values.connector === undefined) {
      process.stderr.write(`sql install-triggers: missing --connector NAME\n`);
      return EXIT_USAGE;
    }
    const config = loadCommandConfig('sql install-triggers', values.config);
    if (typeof config === 'number') return config;
    const entry = config.connectors[values.connector];
    const options = sqlConnectorSchema.safeParse(entry);
    if (!options.success) {
      process.stderr.write(`sql install-triggers: connector "${values.connector}" is ${entry === undefined ? 'not configured' : 'not of kind sql'}\n`);
      return EXIT_USAGE;
    }
    const o = options.data;
    const ddl = triggerDdl(engineOf(o.url), { table: o.table, key: o.key, ...(o.updatedAt === undefined && { version: o.version }), ...(o.owner !== undefined && { owner: o.owner }) });
    if (values.print) {
      process.stdout.write(ddl.map((s) => `${s};\n`).join(''));
      return EXIT_OK;
    }
    const database = openSqlDatabase(connectionUrl(o), { poolSize: 1 });
    try {
      for (const statement of ddl) await sql.raw(statement).execute(database.db);
      process.stdout.write(`installed the triggers of ${o.table} (${ddl.length} statements)\n`);
      return EXIT_OK;
    } catch (err) {
      process.stderr.write(`sql install-triggers: ${translateSqlError(err, database.target, `installing triggers on table ${o.table}`).message}\n`);
      return EXIT_FAILURE;
    } finally {
      await database.close();
    }
  },
};
