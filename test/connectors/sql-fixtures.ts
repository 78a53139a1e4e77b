/** The contacts table the SQL connector's table-mode tests create (before `install-triggers`). */
import type { SqlEngine } from '../../connectors/sql/database.ts';

/** `CREATE TABLE` of a contacts table with an owner, a version and one unmapped column (`notes`). */
export function contactsDdl(engine: SqlEngine, table: string): string {
  const text = engine === 'postgres' ? 'TEXT' : 'VARCHAR(255)';
  const id = engine === 'postgres' ? 'BIGSERIAL PRIMARY KEY' : 'BIGINT AUTO_INCREMENT PRIMARY KEY';
  const tail = engine === 'postgres' ? '' : ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';
  return `CREATE TABLE ${table} (id ${id}, owner ${text}, version BIGINT NOT NULL DEFAULT 0, sip_uri ${text} NOT NULL, name ${text}, email ${text}, phone ${text}, notes ${text})${tail}`;
}
