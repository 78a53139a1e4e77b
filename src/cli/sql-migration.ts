/**
 * `xcap-bridge import sql` and `xcap-bridge export sql`: move documents from a legacy
 * XCAP server's `xcap` table (Kamailio, OpenSIPS, OpenXCAP; PostgreSQL or MySQL/MariaDB)
 * into this server's store, and back for a roll-back (src/migrate/sql-import.ts).
 *
 * `--database-url` is the legacy database here; this server's own store comes from the
 * config file, `--data` or `--store-url`.
 */
import { createRegistry } from '../appusage/registry.ts';
import { openSqlDatabase } from '../../connectors/sql/database.ts';
import { ConnectorError } from '../../connectors/errors.ts';
import { detectDialect, LEGACY_DIALECTS, legacyDialect, LegacyXcapTable, type LegacyDialectName } from '../../connectors/sql/xcap-table/index.ts';
import { exportToLegacyTable, importLegacyTable } from '../migrate/sql-import.ts';
import { openStore } from '../store/open.ts';
import { DocumentWriter } from '../xcap/document-writer.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, loadCommandConfig, parseCommandArgs, type Command } from './command.ts';
import { EXPORT_HELP, IMPORT_HELP } from './help.ts';
import { Progress } from './progress.ts';

const OPTIONS = {
  'database-url': { type: 'string' },
  dialect: { type: 'string' },
  table: { type: 'string' },
  'xcap-root': { type: 'string' },
  config: { type: 'string' },
  data: { type: 'string' },
  'store-url': { type: 'string' },
} as const;

type Values = { [K in keyof typeof OPTIONS]?: string };

interface Legacy {
  readonly table: LegacyXcapTable;
  readonly detected?: string;
  close(): Promise<void>;
}

/** Opens the legacy table; a usage problem is written and returned as exit code 2. */
async function openLegacy(name: string, values: Values, allowAuto: boolean): Promise<Legacy | number> {
  const url = values['database-url'] ?? process.env.LEGACY_DATABASE_URL;
  if (url === undefined) {
    process.stderr.write(`${name}: missing --database-url (the legacy server's database)\n`);
    return EXIT_USAGE;
  }
  const dialectArg = values.dialect ?? (allowAuto ? 'auto' : undefined);
  if (dialectArg === undefined || (dialectArg !== 'auto' && !(LEGACY_DIALECTS as readonly string[]).includes(dialectArg)) || (dialectArg === 'auto' && !allowAuto)) {
    process.stderr.write(`${name}: --dialect must be ${LEGACY_DIALECTS.join(', ')}${allowAuto ? ' or auto' : ''}\n`);
    return EXIT_USAGE;
  }
  let database;
  try {
    database = openSqlDatabase(url, { poolSize: 2 });
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  const tableName = values.table ?? 'xcap';
  try {
    let dialectName = dialectArg as LegacyDialectName | 'auto';
    let detected: string | undefined;
    if (dialectName === 'auto') {
      const d = await detectDialect(database, tableName);
      dialectName = d.dialect;
      detected = `dialect ${d.dialect} (${d.because})`;
    }
    const dialect = legacyDialect(dialectName, { xcapRoot: values['xcap-root'] });
    return { table: new LegacyXcapTable(database, dialect, tableName), detected, close: () => database.close() };
  } catch (err) {
    await database.close();
    throw err;
  }
}

async function withStoreAndLegacy(
  name: string,
  help: string,
  argv: string[],
  extra: Record<string, { type: 'boolean' }>,
  allowAuto: boolean,
  body: (legacy: Legacy, values: Values & Record<string, string | boolean | undefined>, config: Exclude<ReturnType<typeof loadCommandConfig>, number>) => Promise<number>,
): Promise<number> {
  const parsed = parseCommandArgs(name, help, argv, { ...OPTIONS, ...extra }, true);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  if (positionals.length !== 1 || positionals[0] !== 'sql') {
    process.stderr.write(`${name}: the source is "sql" (${name} sql --database-url URL ...)\n\n${help}`);
    return EXIT_USAGE;
  }
  const config = loadCommandConfig(name, values.config as string | undefined, { dataDir: values.data as string | undefined, databaseUrl: values['store-url'] as string | undefined });
  if (typeof config === 'number') return config;
  try {
    const legacy = await openLegacy(name, values as Values, allowAuto);
    if (typeof legacy === 'number') return legacy;
    try {
      return await body(legacy, values as Values & Record<string, string | boolean | undefined>, config);
    } finally {
      await legacy.close();
    }
  } catch (err) {
    process.stderr.write(`${name}: ${err instanceof ConnectorError ? err.message : (err as Error).message}\n`);
    return EXIT_FAILURE;
  }
}

export const importCommand: Command = {
  name: 'import',
  run: (argv) =>
    withStoreAndLegacy('import sql', IMPORT_HELP, argv, { 'dry-run': { type: 'boolean' }, lenient: { type: 'boolean' }, replace: { type: 'boolean' } }, true, async (legacy, values, config) => {
      if (legacy.detected !== undefined) process.stdout.write(`${legacy.detected}\n`);
      const store = await openStore(config.store);
      try {
        const usages = await createRegistry({ custom: config.usages.custom, presContentMaxBytes: config.usages.presContentMaxBytes });
        const writer = new DocumentWriter({ store, usages });
        const total = await legacy.table.count();
        const bar = new Progress({ label: values['dry-run'] === true ? 'import sql (dry run)' : 'import sql', unit: 'documents', total });
        const summary = await importLegacyTable({
          table: legacy.table,
          writer,
          usages,
          dryRun: values['dry-run'] === true,
          lenient: values.lenient === true,
          replace: values.replace === true,
          onRow(report, done) {
            if (report.outcome === 'invalid' || report.outcome === 'kept') {
              bar.clear();
              process.stdout.write(`${report.outcome} ${report.row}: ${report.reason ?? ''}\n`);
            }
            bar.set(done);
          },
        });
        bar.finish();
        const verb = values['dry-run'] === true ? 'would import' : 'imported';
        process.stdout.write(`${summary.total} documents: ${verb} ${summary.imported}, unchanged ${summary.unchanged}, kept ${summary.kept}, invalid ${summary.invalid}\n`);
        return summary.invalid + summary.kept === 0 ? EXIT_OK : EXIT_FAILURE;
      } finally {
        await store.close();
      }
    }),
};

export const exportCommand: Command = {
  name: 'export',
  run: (argv) =>
    withStoreAndLegacy('export sql', EXPORT_HELP, argv, {}, false, async (legacy, _values, config) => {
      const store = await openStore(config.store, { create: false });
      try {
        const bar = new Progress({ label: 'export sql', unit: 'documents' });
        const summary = await exportToLegacyTable({ table: legacy.table, store, onDoc: (done) => bar.set(done) });
        bar.finish();
        process.stdout.write(`wrote ${summary.written} documents to ${legacy.table.table} (${legacy.table.dialect.name}); ${summary.skipped} not stored by ${legacy.table.dialect.name}\n`);
        return EXIT_OK;
      } finally {
        await store.close();
      }
    }),
};
