/**
 * Fresh databases for the SQL connector's tests, on the throwaway PostgreSQL of the run
 * (`inject('services').postgres`) or a throwaway MariaDB (test/services/mariadb.ts): one
 * database per test file or case, dropped after.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { SqlEngine } from '../../connectors/sql/database.ts';

let counter = 0;

export interface FreshDatabase {
  readonly url: string;
  /** Runs statements one by one (DDL, seeding), outside the code under test. */
  exec(statements: readonly string[]): Promise<void>;
  /** Runs one statement with parameters (`$1` on PostgreSQL, `?` on MySQL) and returns its rows. */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

/** `serverUrl`: a URL of the server (any database); the fresh one gets its own name. */
export async function freshSqlDatabase(engine: SqlEngine, serverUrl: string, label: string): Promise<FreshDatabase> {
  const name = `${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}_${++counter}_${Date.now() % 1e6}`;
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  if (engine === 'postgres') {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pool.on('error', () => {});
    return {
      url,
      async exec(statements) {
        for (const s of statements) await pool.query(s);
      },
      async query(sql, params = []) {
        return (await pool.query(sql, [...params])).rows;
      },
      async drop() {
        await pool.end();
        const c = new pg.Client({ connectionString: serverUrl });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await c.end();
      },
    };
  }
  const admin = await mysql.createConnection({ uri: serverUrl });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.end();
  const pool = mysql.createPool({ uri: url, connectionLimit: 2, charset: 'utf8mb4' });
  return {
    url,
    async exec(statements) {
      for (const s of statements) await pool.query(s);
    },
    async query(sql, params = []) {
      const [rows] = await pool.query(sql, [...params]);
      return rows as never;
    },
    async drop() {
      await pool.end();
      const c = await mysql.createConnection({ uri: serverUrl });
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}
