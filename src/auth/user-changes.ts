/**
 * Notices user changes other processes made (the `user` CLI, another process's admin API)
 * without waiting for cached logins to expire: the local user table's change mark
 * (`LocalUsers.changes`) is read at most once every `everyMs`, and a new mark forgets every
 * cached login and Basic check. A request that finds the check due waits for that one
 * indexed read, so a removed user or an old password is refused by every process within
 * `everyMs` of the change.
 */
export interface UserChangesOptions {
  /** The change mark, new after every change. */
  readonly mark: () => Promise<string | undefined>;
  /** Drops what the caches hold. */
  readonly forget: () => void;
  /** @defaultValue 1000 */
  readonly everyMs?: number;
  /** Clock in milliseconds. @defaultValue Date.now */
  readonly now?: () => number;
}

/** Returns the check: undefined when none is due, else a promise settled once the mark is read. */
export function watchUserChanges(opts: UserChangesOptions): () => Promise<void> | undefined {
  const everyMs = opts.everyMs ?? 1000;
  const clock = opts.now ?? Date.now;
  let last: string | undefined;
  let nextAt = Number.NEGATIVE_INFINITY;
  let reading: Promise<void> | undefined;
  const read = async () => {
    try {
      const mark = await opts.mark();
      if (mark !== last) opts.forget();
      last = mark;
    } catch {
      // The database does not answer: the lookups that miss the caches will say so; what
      // the caches hold keeps serving until the next check.
    } finally {
      reading = undefined;
    }
  };
  return () => {
    if (reading !== undefined) return reading;
    const now = clock();
    if (now < nextAt) return undefined;
    nextAt = now + everyMs;
    reading = read();
    return reading;
  };
}
