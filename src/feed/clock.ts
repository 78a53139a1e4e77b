/**
 * The timers of the change feed (coalescing windows, heartbeats, polls, retries), behind
 * one small interface so tests move time by hand instead of waiting for it.
 */

export interface FeedClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds; the returned function cancels it. */
  setTimeout(fn: () => void, ms: number): () => void;
}

/** Real time. Its timers do not keep the process alive. */
export const realClock: FeedClock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};
