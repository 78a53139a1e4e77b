/**
 * The scrape-time gauges' source: the documents' database (documents, users, sync state)
 * and the sync queue. Added once per process that reports them (see registry.ts).
 */
import { LocalUsers } from '../auth/local-users.ts';
import { DOCUMENTS_TABLE } from '../store/sql-common.ts';
import type { DocumentStore } from '../store/types.ts';
import type { BindingConfig } from '../sync/binding.ts';
import { readBindingStatus } from '../sync/binding-status.ts';
import type { SyncHandle } from '../sync/queue.ts';
import { SyncState } from '../sync/state.ts';
import type { Metrics } from './registry.ts';

/** Makes `metrics` report what `store` holds and what `sync`'s queue holds at each scrape. */
export async function reportStoredState(metrics: Metrics, store: DocumentStore, bindings: readonly BindingConfig[], sync: Pick<SyncHandle, 'queueStats'> | undefined): Promise<void> {
  const [users, state] = await Promise.all([LocalUsers.open(store.sql), SyncState.open(store.sql)]);
  metrics.addState({
    async documents() {
      const rows = await store.sql.query<{ auid: string; n: number | string }>(`SELECT auid, COUNT(*) AS n FROM ${DOCUMENTS_TABLE} GROUP BY auid`);
      return new Map(rows.map((r) => [r.auid, Number(r.n)]));
    },
    users: () => users.count(),
    bindings: () => readBindingStatus(state, bindings),
    queue: async () => sync?.queueStats(),
  });
}
