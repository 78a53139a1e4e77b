/** Per-test-file databases on the throwaway PostgreSQL, so files run in parallel without sharing tables. */
import pg from 'pg';

let counter = 0;

/** Creates a fresh database and returns its URL. Retries while the server is still starting. */
export async function freshPostgresDatabase(baseUrl: string, label = 'db'): Promise<string> {
  const name = `${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}_${++counter}_${Date.now() % 1e6}`;
  for (let attempt = 0; ; attempt++) {
    const client = new pg.Client({ connectionString: baseUrl });
    try {
      await client.connect();
      await client.query(`CREATE DATABASE "${name}"`);
      await client.end();
      const u = new URL(baseUrl);
      u.pathname = `/${name}`;
      return u.toString();
    } catch (err) {
      await client.end().catch(() => {});
      if (attempt > 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
