/**
 * PostgreSQL only: processes starting together on a fresh database all create their
 * tables at once (documents, users, sync state). `CREATE TABLE IF NOT EXISTS` is not safe
 * against itself there (it can fail on the catalog's unique index), so every DDL goes
 * through `sql.exec`, which serializes on an advisory lock. Found by two `serve` processes
 * starting together (test/http/serve-processes.test.ts).
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { LocalUsers } from '../../src/auth/local-users.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import type { DocumentStore } from '../../src/store/types.ts';
import { SyncState } from '../../src/sync/state.ts';
import { freshPostgresDatabase } from '../services/databases.ts';

const opened: DocumentStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

describe('PostgreSQL: neighbouring tables created by processes starting together', () => {
  it('eight pools opening store, users and sync state at once all succeed', async () => {
    const url = await freshPostgresDatabase(inject('services').postgres, 'ddlrace');
    const starts = Array.from({ length: 8 }, async (_, i) => {
      const store = await openPostgresStore(url);
      opened.push(store);
      const users = await LocalUsers.open(store.sql);
      await SyncState.open(store.sql);
      await users.add(`sip:u${i}@example.com`, 'pw');
    });
    await Promise.all(starts);
    const [first] = opened;
    const listed = await (await LocalUsers.open(first!.sql)).list();
    expect(listed.map((u) => u.xui).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `sip:u${i}@example.com`).sort());
  });
});
