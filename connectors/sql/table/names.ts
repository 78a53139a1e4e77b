/**
 * Names of what `sql install-triggers` creates beside a table `t` (all with the `xb_`
 * prefix so a DBA sees whose they are), and identifier quoting for that raw DDL (kysely
 * quotes everything else). Identifiers are validated by the config schema already;
 * quoting doubles the quote character anyway.
 */
import type { SqlEngine } from '../database.ts';

export function quoteId(engine: SqlEngine, name: string): string {
  const q = engine === 'postgres' ? '"' : '`';
  return name
    .split('.')
    .map((part) => q + part.replaceAll(q, q + q) + q)
    .join('.');
}

/** The unqualified table name, for derived names. */
const bare = (table: string) => table.slice(table.lastIndexOf('.') + 1);

export const tombstoneTable = (table: string) => `xb_${bare(table)}_tombstones`;
export const counterName = (table: string) => `xb_${bare(table)}_stamp`;
export const triggerName = (table: string, what: string) => `xb_${bare(table)}_${what}`;
/** PostgreSQL NOTIFY channel of every table's changes; the payload is the table name. */
export const NOTIFY_CHANNEL = 'xcap_bridge_sql';
