/**
 * One SQL database reached by URL, PostgreSQL (`postgres://`, `postgresql://`, through pg)
 * or MySQL/MariaDB (`mysql://`, `mariadb://`, through mysql2), as a kysely instance.
 *
 * Why kysely: table and column names come from the operator's configuration, so every
 * identifier is quoted by the query builder (`"` on PostgreSQL, backticks on MySQL), and
 * the two upsert syntaxes (`ON CONFLICT` / `ON DUPLICATE KEY UPDATE`) are one call each.
 * Values are always parameters. Trigger DDL and LISTEN stay raw SQL (see triggers.ts).
 *
 * mysql2 connects with CLIENT_FOUND_ROWS by default: an UPDATE reports the rows its WHERE
 * matched, not the rows whose values changed. The conditional writes rely on that
 * (`UPDATE ... WHERE version = ?` that rewrites equal values still counts as a match).
 */
import { Kysely, MysqlDialect, PostgresDialect } from 'kysely';
import mysql from 'mysql2';
import pg from 'pg';

export type SqlEngine = 'postgres' | 'mysql';

/** Rows are loosely typed: the tables and columns are the operator's. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDb = Kysely<any>;

export interface SqlDatabase {
  readonly engine: SqlEngine;
  readonly db: AnyDb;
  /** `host:port/database` for messages; never the password. */
  readonly target: string;
  /** The pg pool (PostgreSQL only), for LISTEN connections with the same settings. */
  readonly pgPool?: pg.Pool;
  close(): Promise<void>;
}

/** The engine a URL names; a plain Error naming the scheme when it is neither. */
export function engineOf(url: string): SqlEngine {
  let scheme: string;
  try {
    scheme = new URL(url).protocol;
  } catch {
    throw new Error('database URL is not a URL (expected postgres://... or mysql://...)');
  }
  if (scheme === 'postgres:' || scheme === 'postgresql:') return 'postgres';
  if (scheme === 'mysql:' || scheme === 'mariadb:') return 'mysql';
  throw new Error(`database URL scheme ${scheme} is not supported (postgres://, postgresql://, mysql://, mariadb://)`);
}

/** `host:port/database` of a URL, without credentials. */
export function describeUrl(url: string): string {
  const u = new URL(url);
  const port = u.port || (engineOf(url) === 'postgres' ? '5432' : '3306');
  return `${u.hostname}:${port}${u.pathname}`;
}

export interface OpenOptions {
  /** Most pooled connections. @defaultValue 4 */
  readonly poolSize?: number;
  /** Milliseconds to wait for a connection before the query fails. @defaultValue 10000 */
  readonly connectTimeoutMs?: number;
}

/** Opens a pool lazily: nothing connects until the first query. */
export function openSqlDatabase(url: string, opts: OpenOptions = {}): SqlDatabase {
  const engine = engineOf(url);
  const target = describeUrl(url);
  const poolSize = opts.poolSize ?? 4;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  if (engine === 'postgres') {
    const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: connectTimeoutMs });
    // An idle pooled connection that drops emits 'error' on the pool; unhandled, it would end the process.
    pool.on('error', () => {});
    const db: AnyDb = new Kysely({ dialect: new PostgresDialect({ pool }) });
    return { engine, db, target, pgPool: pool, close: () => db.destroy() };
  }
  const u = new URL(url);
  if (u.protocol === 'mariadb:') u.protocol = 'mysql:';
  const pool = mysql.createPool({
    uri: u.toString(),
    connectionLimit: poolSize,
    connectTimeout: connectTimeoutMs,
    charset: 'utf8mb4',
    // Legacy ids are INT/BIGINT; keep them exact.
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  pool.on('error', () => {});
  const db: AnyDb = new Kysely({ dialect: new MysqlDialect({ pool }) });
  return { engine, db, target, close: () => db.destroy() };
}
