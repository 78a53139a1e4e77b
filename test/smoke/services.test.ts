import { describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { freshPostgresDatabase } from '../services/databases.ts';

describe('test services', () => {
  it('PostgreSQL throwaway answers queries in a fresh database', async () => {
    const url = await freshPostgresDatabase(inject('services').postgres, 'smoke');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const r = await c.query('select current_database() as db');
    await c.end();
    expect(r.rows[0].db).toBe(new URL(url).pathname.slice(1));
  });
});
