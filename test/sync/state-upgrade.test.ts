/**
 * A database whose sync tables an older version created: opening the sync state adds the
 * columns added since (CREATE TABLE IF NOT EXISTS leaves a table as it is), keeps the rows,
 * and the first run afterwards reads both sides whole (no configuration fingerprint yet).
 */
import { describe, expect, it } from 'vitest';
import { runSync } from '../../src/sync/runner.ts';
import { SyncState } from '../../src/sync/state.ts';
import { binding, person, STORES, syncFixture, xcapEntries } from './helpers.ts';

describe.each(STORES)('%s store: sync state from an older version', (kind) => {
  it('gains config_hash, keeps its rows, and the next run is a full read', async () => {
    const f = await syncFixture(kind);
    try {
      f.remote.seed('people', [{ fields: person(1) }]);
      const bnd = binding();
      await runSync({ store: f.store, state: f.state, connector: f.remote }, bnd, 'global');
      // Back to the table as the previous version created it (everything but config_hash).
      await f.store.sql.exec(`
        ALTER TABLE sync_scopes RENAME TO new_scopes;
        CREATE TABLE sync_scopes (
          binding TEXT NOT NULL, scope TEXT NOT NULL,
          doc_etag TEXT, remote_token TEXT, last_run_at BIGINT, last_ok_at BIGINT, last_error TEXT, summary TEXT,
          PRIMARY KEY (binding, scope));
        INSERT INTO sync_scopes SELECT binding, scope, doc_etag, remote_token, last_run_at, last_ok_at, last_error, summary FROM new_scopes;
        DROP TABLE new_scopes;`);
      const reopened = await SyncState.open(f.store.sql);
      expect(await reopened.getScope('dir', 'global')).toMatchObject({ remoteToken: expect.any(String), configHash: null });
      const again = await runSync({ store: f.store, state: reopened, connector: f.remote }, bnd, 'global');
      expect(again).toMatchObject({ outcome: 'applied', fullRead: true, xcap: { create: 0, update: 0, delete: 0 } });
      expect((await reopened.getScope('dir', 'global'))?.configHash).toBe(bnd.fingerprint);
      expect([...(await xcapEntries(f.store)).values()]).toEqual([person(1)]);
      // Opening again finds the column there.
      await SyncState.open(f.store.sql);
    } finally {
      await f.store.close();
    }
  });
});
