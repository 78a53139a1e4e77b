/**
 * `--dialect auto`: tells Kamailio, OpenSIPS and OpenXCAP tables apart from what they
 * store. Kamailio's doc_uri is a full path (`/xcap-root/...`) and its etag column holds
 * 128 characters (64 in the others); OpenXCAP names every pres-rules document
 * `index.xml`, which OpenSIPS' own XCAP handling does not.
 */
import { sql } from 'kysely';
import type { SqlDatabase } from '../database.ts';
import { translateSqlError } from '../errors.ts';
import type { LegacyDialectName } from './dialects.ts';

export interface Detected {
  readonly dialect: LegacyDialectName;
  /** Why, for the command's output. */
  readonly because: string;
}

export async function detectDialect(database: SqlDatabase, table = 'xcap'): Promise<Detected> {
  const { db } = database;
  try {
    const pathRow = await db.selectFrom(table).select('id').where('doc_uri', 'like', '/%').limit(1).executeTakeFirst();
    if (pathRow !== undefined) return { dialect: 'kamailio', because: 'doc_uri holds full paths' };
    const col = await sql<{ n: number | string | null }>`SELECT character_maximum_length AS n FROM information_schema.columns
      WHERE table_name = ${table} AND column_name = 'etag' AND table_schema = ${database.engine === 'postgres' ? sql`current_schema()` : sql`database()`}`.execute(db);
    const width = Number(col.rows[0]?.n ?? 0);
    if (width >= 128) return { dialect: 'kamailio', because: `the etag column holds ${width} characters` };
    const presRules = await db.selectFrom(table).select('doc_uri').where('doc_type', '=', 2).limit(50).execute();
    if (presRules.some((r) => r.doc_uri === 'index.xml')) return { dialect: 'openxcap', because: 'pres-rules documents are named index.xml' };
    return { dialect: 'opensips', because: `doc_uri holds document names and the etag column ${width || 'unknown'} characters` };
  } catch (err) {
    throw translateSqlError(err, database.target, `inspecting table ${table}`);
  }
}
