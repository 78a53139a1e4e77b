/** Starts the legacy mirror from the `legacy:` config (the SQL drivers load only when it is set). */
import type { Logger } from 'pino';
import type { DocumentWriter } from '../xcap/document-writer.ts';
import type { UsageLookup } from '../xcap/service.ts';
import type { LegacyConfig } from './config.ts';

export interface RunningMirror {
  stop(): Promise<void>;
}

export async function startLegacyMirror(cfg: LegacyConfig, writer: DocumentWriter, usages: UsageLookup, log: Logger): Promise<RunningMirror> {
  const [{ openSqlDatabase }, { legacyDialect, LegacyXcapTable }, { LegacyMirror }] = await Promise.all([
    import('../../connectors/sql/database.ts'),
    import('../../connectors/sql/xcap-table/index.ts'),
    import('./legacy-mirror.ts'),
  ]);
  const database = openSqlDatabase(cfg.url, { poolSize: 2 });
  const table = new LegacyXcapTable(database, legacyDialect(cfg.dialect, { xcapRoot: cfg.xcapRoot }), cfg.table);
  const mirror = new LegacyMirror({ table, writer, usages, direction: cfg.direction, pollMs: cfg.pollMs, log: log.child({ component: 'legacy-mirror' }) });
  try {
    await mirror.start();
  } catch (err) {
    await database.close();
    throw err;
  }
  log.info({ table: cfg.table, dialect: cfg.dialect, direction: cfg.direction }, 'legacy xcap table kept in step');
  return {
    async stop() {
      await mirror.stop();
      await database.close();
    },
  };
}
