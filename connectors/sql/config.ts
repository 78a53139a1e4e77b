/**
 * Options of one `kind: sql` connector (table mode): a contacts-style table whose rows are
 * items. Every default is stated next to its field. The password is never in the file:
 * `passwordEnv` names the environment variable that holds it.
 */
import { z } from 'zod';
import type { ConnectorCapabilities } from '../types.ts';

const identifier = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*)?$/, 'a table or column name: letters, digits, _ and $ (schema.table allowed)');

export const sqlConnectorSchema = z
  .object({
    kind: z.literal('sql'),
    /** `postgres://user@host/db` or `mysql://user@host/db` (mariadb:// too), without the password. */
    url: z.string().regex(/^(postgres|postgresql|mysql|mariadb):\/\//, 'postgres://, postgresql://, mysql:// or mariadb://').describe('Database URL without the password: postgres://user@host/db or mysql://user@host/db.'),
    /** Environment variable holding the database password. @defaultValue none (trust / no password) */
    passwordEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional().describe('Environment variable holding the database password.'),
    /** The table whose rows are the items. */
    table: identifier.describe('The table whose rows are the items.'),
    /** Primary key column; its value is the item id. @defaultValue `id` */
    key: identifier.default('id').describe('Primary key column (the item id); new rows get the database default (serial, auto-increment).'),
    /**
     * BIGINT column stamped from one counter on every insert and update by the triggers
     * `sql install-triggers` installs; the item version, and how changes are found.
     * @defaultValue `version`
     */
    version: identifier.default('version').describe('BIGINT column the installed triggers stamp on every insert and update (the item version); not used with updatedAt.'),
    /**
     * A timestamp column the table's own writers set on every insert and update, used
     * instead of `version` (no version column, no stamping trigger): changes are the rows
     * at or after the token's time, and the item version is the time plus a digest of the
     * mapped columns, so two changes within one tick of the clock still differ. This
     * connector's writes set it to the database's current time.
     * @defaultValue none (the `version` column)
     */
    updatedAt: identifier.optional().describe('Timestamp column the table\'s writers set on every change, instead of the version column (changes found by time).'),
    /**
     * Column holding the owner of a row (per-user lists): the collection is then
     * `<table>/<owner>` (bindings template it: `contacts/{xui}`). Without it the collection is the table name.
     * @defaultValue none
     */
    owner: identifier.optional().describe('Owner column for per-user lists: collection <table>/<owner>; without it the collection is <table>.'),
    /** Item field → column, e.g. `{ uri: sip_uri, display-name: name, mail: email }`. Only these columns are read or written. */
    columns: z
      .record(z.string().regex(/^[A-Za-z][\w.-]*$/), identifier)
      .refine((c) => 'uri' in c, { message: 'columns must map the uri field' })
      .describe('Item field → column (uri required); only these columns are read or written.'),
    /**
     * Milliseconds between change checks when the database cannot notify (MySQL/MariaDB);
     * on PostgreSQL the triggers' NOTIFY wakes listeners at once.
     * @defaultValue `5000`
     */
    pollMs: z.number().int().min(100).default(5000).describe('Milliseconds between change checks on MySQL/MariaDB (PostgreSQL is woken by NOTIFY).'),
    /**
     * How many counter values before a token's position `changes()` looks again, so a
     * transaction that took its stamp early but committed late is still seen.
     * @defaultValue `1000`
     */
    lookback: z.number().int().min(0).default(1000).describe('Counter values before the token that changes() re-checks (late commits).'),
    /**
     * With `updatedAt`: milliseconds before the token's time that `changes()` looks again,
     * so a writer whose transaction took its time early but committed late is still seen.
     * @defaultValue `10000`
     */
    lookbackMs: z.number().int().min(0).default(10_000).describe('With updatedAt: milliseconds before the token\'s time that changes() re-checks (late commits).'),
  })
  .strict();

export type SqlConnectorConfig = z.output<typeof sqlConnectorSchema>;

/**
 * Every table writes conditionally and has a change feed. Wake-ups: NOTIFY on PostgreSQL;
 * on MySQL/MariaDB the poll of the triggers' counter, which moves on every change only
 * when the triggers stamp versions (with `updatedAt` they stamp deletes alone).
 */
export function sqlCapabilities(o: Pick<SqlConnectorConfig, 'url' | 'updatedAt'>): ConnectorCapabilities {
  return { write: true, conditionalWrite: true, changeFeed: true, watch: /^postgres(ql)?:/.test(o.url) || o.updatedAt === undefined };
}

/** The URL with the password from `passwordEnv` put in. */
export function connectionUrl(o: SqlConnectorConfig, env: NodeJS.ProcessEnv = process.env): string {
  if (o.passwordEnv === undefined) return o.url;
  const u = new URL(o.url);
  u.password = env[o.passwordEnv] ?? '';
  return u.toString();
}

export function sqlEnvironmentIssues(o: SqlConnectorConfig, env: NodeJS.ProcessEnv): { path: string; message: string }[] {
  if (o.passwordEnv !== undefined && !env[o.passwordEnv]) return [{ path: 'passwordEnv', message: `environment variable ${o.passwordEnv} is not set` }];
  return [];
}
