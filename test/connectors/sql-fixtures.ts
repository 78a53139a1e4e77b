/** The contacts table the SQL connector's table-mode tests create (before `install-triggers`). */
import type { SqlEngine } from '../../connectors/sql/database.ts';

/**
 * `CREATE TABLE` of a contacts table with an owner, a version and one unmapped column
 * (`notes`). With `updatedAt`, an `updated_at` timestamp column instead of the version, of
 * microsecond or whole-second precision, filled on insert (and on MySQL/MariaDB on update)
 * by the column's default, as a CRM's table often is.
 */
export function contactsDdl(engine: SqlEngine, table: string, updatedAt?: 'micro' | 'seconds'): string {
  const text = engine === 'postgres' ? 'TEXT' : 'VARCHAR(255)';
  const id = engine === 'postgres' ? 'BIGSERIAL PRIMARY KEY' : 'BIGINT AUTO_INCREMENT PRIMARY KEY';
  const tail = engine === 'postgres' ? '' : ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';
  const p = updatedAt === 'seconds' ? 0 : 6;
  const stamp =
    updatedAt === undefined
      ? 'version BIGINT NOT NULL DEFAULT 0'
      : engine === 'postgres'
        ? `updated_at TIMESTAMP(${p}) NOT NULL DEFAULT clock_timestamp()`
        : `updated_at DATETIME(${p}) NOT NULL DEFAULT CURRENT_TIMESTAMP(${p}) ON UPDATE CURRENT_TIMESTAMP(${p})`;
  return `CREATE TABLE ${table} (id ${id}, owner ${text}, ${stamp}, sip_uri ${text} NOT NULL, name ${text}, email ${text}, phone ${text}, notes ${text})${tail}`;
}
