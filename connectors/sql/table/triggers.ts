/**
 * The DDL `xcap-bridge sql install-triggers` runs (or prints with `--print`) for a table
 * in table mode:
 *
 * - a counter (PostgreSQL: a SEQUENCE; MySQL/MariaDB: a one-row table bumped with
 *   LAST_INSERT_ID(v + 1), which works on both) that stamps the `version` column on every
 *   INSERT and UPDATE, whoever writes: versions grow across the table, so "changed since"
 *   is `version > token` (not with an `updatedAt` column, which the table's writers set);
 * - a tombstone table filled on DELETE with the key, the owner and a stamp from the same
 *   counter, so deletes are found without listing the table;
 * - on PostgreSQL, a NOTIFY on channel `xcap_bridge_sql` so listeners wake at once, with the
 *   changed collection as payload: without an owner column the table, once per statement;
 *   with one `<table>/<owner>` for each row's old and new owner (PostgreSQL folds equal
 *   notifications of one transaction into one), or the bare table when the owner is NULL or
 *   too long for a payload (a NOTIFY that failed would fail the writer's statement).
 *
 * Re-running is safe: everything is created if missing or replaced.
 */
import type { SqlEngine } from '../database.ts';
import { counterName, NOTIFY_CHANNEL, quoteId, tombstoneTable, triggerName } from './names.ts';

export interface TriggerTarget {
  readonly table: string;
  readonly key: string;
  /** The version column to stamp; none when the table's writers keep an `updatedAt` column (only deletes are stamped then). */
  readonly version?: string;
  readonly owner?: string;
}

/** The statements, in order, one per element. */
export function triggerDdl(engine: SqlEngine, t: TriggerTarget): string[] {
  const q = (n: string) => quoteId(engine, n);
  const table = q(t.table);
  const tomb = q(tombstoneTable(t.table));
  const counter = q(counterName(t.table));
  const ownerOld = t.owner === undefined ? 'NULL' : `OLD.${q(t.owner)}`;
  if (engine === 'postgres') {
    const stampFn = q(triggerName(t.table, 'stamp_fn'));
    const tombFn = q(triggerName(t.table, 'tombstone_fn'));
    const notifyFn = q(triggerName(t.table, 'notify_fn'));
    const lit = `'${t.table.replaceAll("'", "''")}'`;
    const seqLit = `'${counterName(t.table).replaceAll("'", "''")}'`;
    return [
      `CREATE SEQUENCE IF NOT EXISTS ${counter}`,
      `CREATE TABLE IF NOT EXISTS ${tomb} (stamp BIGINT NOT NULL, item_key TEXT NOT NULL, owner TEXT)`,
      `CREATE INDEX IF NOT EXISTS ${q(triggerName(t.table, 'tombstones_stamp'))} ON ${tomb} (stamp)`,
      `CREATE OR REPLACE FUNCTION ${tombFn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO ${tomb} (stamp, item_key, owner) VALUES (nextval(${seqLit}), OLD.${q(t.key)}::text, ${ownerOld}::text); RETURN OLD; END $$`,
      t.owner === undefined
        ? `CREATE OR REPLACE FUNCTION ${notifyFn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('${NOTIFY_CHANNEL}', ${lit}); RETURN NULL; END $$`
        : `CREATE OR REPLACE FUNCTION ${notifyFn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ` +
          `IF TG_OP <> 'INSERT' THEN PERFORM pg_notify('${NOTIFY_CHANNEL}', ${ownerPayload(lit, `OLD.${q(t.owner)}`)}); END IF; ` +
          `IF TG_OP <> 'DELETE' THEN PERFORM pg_notify('${NOTIFY_CHANNEL}', ${ownerPayload(lit, `NEW.${q(t.owner)}`)}); END IF; RETURN NULL; END $$`,
      ...(t.version === undefined
        ? []
        : [
            `CREATE OR REPLACE FUNCTION ${stampFn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.${q(t.version)} := nextval(${seqLit}); RETURN NEW; END $$`,
            `DROP TRIGGER IF EXISTS ${q(triggerName(t.table, 'stamp'))} ON ${table}`,
            `CREATE TRIGGER ${q(triggerName(t.table, 'stamp'))} BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${stampFn}()`,
          ]),
      `DROP TRIGGER IF EXISTS ${q(triggerName(t.table, 'tombstone'))} ON ${table}`,
      `CREATE TRIGGER ${q(triggerName(t.table, 'tombstone'))} AFTER DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${tombFn}()`,
      `DROP TRIGGER IF EXISTS ${q(triggerName(t.table, 'notify'))} ON ${table}`,
      `CREATE TRIGGER ${q(triggerName(t.table, 'notify'))} AFTER INSERT OR UPDATE OR DELETE ON ${table} FOR EACH ${t.owner === undefined ? 'STATEMENT' : 'ROW'} EXECUTE FUNCTION ${notifyFn}()`,
    ];
  }
  const bump = `UPDATE ${counter} SET v = LAST_INSERT_ID(v + 1) WHERE id = 1`;
  const out = [
    `CREATE TABLE IF NOT EXISTS ${counter} (id TINYINT PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB`,
    `INSERT IGNORE INTO ${counter} (id, v) VALUES (1, 0)`,
    `CREATE TABLE IF NOT EXISTS ${tomb} (stamp BIGINT NOT NULL, item_key VARCHAR(255) NOT NULL, owner VARCHAR(255), KEY (stamp)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  ];
  for (const [what, when] of t.version === undefined ? [] : ([['stamp_insert', 'BEFORE INSERT'], ['stamp_update', 'BEFORE UPDATE']] as const)) {
    out.push(`DROP TRIGGER IF EXISTS ${q(triggerName(t.table, what))}`);
    out.push(`CREATE TRIGGER ${q(triggerName(t.table, what))} ${when} ON ${table} FOR EACH ROW BEGIN ${bump}; SET NEW.${q(t.version as string)} = LAST_INSERT_ID(); END`);
  }
  out.push(`DROP TRIGGER IF EXISTS ${q(triggerName(t.table, 'tombstone'))}`);
  out.push(
    `CREATE TRIGGER ${q(triggerName(t.table, 'tombstone'))} AFTER DELETE ON ${table} FOR EACH ROW BEGIN ${bump}; ` +
      `INSERT INTO ${tomb} (stamp, item_key, owner) VALUES (LAST_INSERT_ID(), OLD.${q(t.key)}, ${ownerOld}); END`,
  );
  return out;
}

/** `<table>/<owner>`, or the bare table (any collection) for a NULL owner or one too long for a NOTIFY payload (8000 bytes). */
function ownerPayload(tableLiteral: string, owner: string): string {
  return `CASE WHEN ${owner} IS NULL OR octet_length(${owner}::text) > 7000 THEN ${tableLiteral} ELSE ${tableLiteral} || '/' || ${owner}::text END`;
}
