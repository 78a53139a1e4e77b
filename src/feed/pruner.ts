/**
 * Prunes the store's change feed by age and count (`changeFeed.retention`) every
 * `pruneEverySeconds`, in batches so a long-neglected feed never blocks the event loop
 * for long. Pruning twice is harmless, so any number of processes may run it; readers
 * whose position was pruned read the state whole (sync, the /xcap-diff streams).
 */
import type { Logger } from '../log.ts';
import type { DocumentStore } from '../store/types.ts';
import type { FeedClock } from './clock.ts';
import type { ChangeFeedConfig } from './config.ts';

const BATCH = 5000;

export interface Pruner {
  /** One pass now (also what the timer runs); resolves with the rows removed. */
  pruneNow(): Promise<number>;
  stop(): Promise<void>;
}

export function startPruner(store: DocumentStore, retention: ChangeFeedConfig['retention'], clock: FeedClock, log: Logger): Pruner {
  let cancel: (() => void) | undefined;
  let running: Promise<number> = Promise.resolve(0);
  let stopped = false;

  const pass = async (): Promise<number> => {
    let total = 0;
    for (;;) {
      const n = await store.pruneChanges({ maxAgeMs: retention.maxAgeSeconds * 1000, maxCount: retention.maxCount, batch: BATCH, now: clock.now() });
      total += n;
      if (n < BATCH || stopped) break;
      await new Promise((r) => setImmediate(r));
    }
    if (total > 0) log.debug({ removed: total }, 'change feed pruned');
    return total;
  };
  const pruneNow = () => {
    running = running.then(pass, pass).catch((err: unknown) => {
      log.warn({ err: (err as Error).message }, 'change feed pruning failed; next pass retries');
      return 0;
    });
    return running;
  };
  const schedule = () => {
    if (stopped) return;
    cancel = clock.setTimeout(() => void pruneNow().finally(schedule), retention.pruneEverySeconds * 1000);
  };
  schedule();
  return {
    pruneNow,
    async stop() {
      stopped = true;
      cancel?.();
      await running;
    },
  };
}
