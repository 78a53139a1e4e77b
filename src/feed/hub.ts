/**
 * One reader of the store's change feed per process, fanning each batch out to every
 * listener (the /xcap-diff streams), so a thousand open streams cost one feed read per
 * change, not a thousand.
 *
 * The store is the source: the hub reads `changes()` from its own position every `pollMs`
 * (other processes on SQLite, which cannot notify, and a NOTIFY that never came) and
 * whenever it is told of a change it cannot take as it is. A change it is told of (this
 * process's writes; other processes' through PostgreSQL NOTIFY; in an HTTP worker of `serve
 * --workers`, the primary's word (`commits`), so a worker does not wait for its next poll)
 * is taken without a query when it is the next one (seq = position + 1) and no read is
 * running; one that skips a seq (another writer still committing, a rolled-back write, a
 * lost notification) makes the hub read the store. So a stream sees every change whichever
 * process wrote it or serves the stream, and a process that follows one writer reads the
 * store only on its polls.
 *
 * Coalescing happens here, once for every listener: changes taken within `coalesceMs` of the
 * first are handed out together when the window closes (after one more read when a change
 * told of is still to be read), and a
 * listener folds them into one event. Listeners with the same filter share the work of
 * rendering it (`FeedBatch.shared`).
 */
import type { Logger } from '../log.ts';
import type { DocChange, DocumentStore } from '../store/types.ts';
import type { FeedClock } from './clock.ts';

/** One coalescing window's changes, handed to every listener. */
export interface FeedBatch {
  /** In seq order. */
  readonly changes: readonly DocChange[];
  /** `make()` once per `key` for this batch, the same value for every listener asking with that key. */
  shared<T>(key: string, make: () => T): T;
}

/** What the hub tells a listener. Calls must not throw and must return quickly. */
export interface FeedListener {
  /** Called once, synchronously inside `add`: every change with seq above `position` will be delivered. */
  onAttached(position: number): void;
  /** The next changes (possibly some at or below the position it attached at). */
  onChanges(batch: FeedBatch): void;
  /** The hub's own position was pruned: changes were missed, the listener must start over. */
  onMissed(): void;
}

export interface FeedHubOptions {
  readonly store: DocumentStore;
  readonly clock: FeedClock;
  /** Milliseconds between polls while anyone listens. */
  readonly pollMs: number;
  /** Changes within this many milliseconds of the first are handed out together. */
  readonly coalesceMs: number;
  /**
   * Another source of "something was committed" (an HTTP worker: the primary's word), with
   * the changes when it has them; returns an unsubscribe.
   */
  readonly commits?: (listener: (changes: readonly DocChange[] | undefined) => void) => () => void;
  readonly log: Logger;
  /** Changes read per query. @defaultValue `500` */
  readonly pageSize?: number;
}

export class FeedHub {
  readonly #o: FeedHubOptions;
  readonly #listeners = new Set<FeedListener>();
  #position = 0;
  /** Clock time when the last read that reached the store's end began (see `syncedAt`). */
  #readThrough: number | undefined;
  #syncedAt: number | undefined;
  #started: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;
  #unsubscribeCommits: (() => void) | undefined;
  /** Changes read in the open coalescing window (none open: empty and no timer). */
  #window: DocChange[] = [];
  #cancelWindow: (() => void) | undefined;
  #cancelPoll: (() => void) | undefined;
  /** Reads run one after another. */
  #chain: Promise<void> = Promise.resolve();
  /** A read queued behind the running one (it will see everything committed before it starts). */
  #queued: Promise<void> | undefined;
  /** Reads queued or running; a change told of is taken as it is only when none is. */
  #reads = 0;
  /** The highest seq told of (a change told of may be ahead of what was read). */
  #told = 0;
  #closed = false;

  constructor(o: FeedHubOptions) {
    this.#o = o;
  }

  /** Every change with seq at or below this has been delivered. */
  get position(): number {
    return this.#position;
  }

  /**
   * Every change committed before this time (the clock's milliseconds) has been handed to
   * the listeners: the start of the last read that reached the end of the feed, once its
   * changes are out of the coalescing window. Undefined before the hub started.
   */
  get syncedAt(): number | undefined {
    return this.#syncedAt;
  }

  /** Adds a listener (starting the hub on first use); it learns its starting position through `onAttached`. */
  async add(listener: FeedListener): Promise<void> {
    this.#started ??= this.#start();
    await this.#started;
    listener.onAttached(this.#position);
    this.#listeners.add(listener);
    this.#schedulePoll();
  }

  remove(listener: FeedListener): void {
    this.#listeners.delete(listener);
  }

  /**
   * Reads everything committed so far and delivers it; resolves once delivered. Calls
   * made while a read runs share one read after it.
   */
  pull(): Promise<void> {
    if (this.#queued) return this.#queued;
    this.#reads++;
    const next = this.#chain.then(async () => {
      this.#queued = undefined;
      if (!this.#closed) await this.#readAll();
    }).catch((err: unknown) => this.#o.log.warn({ err: (err as Error).message }, 'change feed read failed; the next poll retries'))
      .finally(() => this.#reads--);
    this.#queued = next;
    this.#chain = next;
    return next;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe?.();
    this.#unsubscribeCommits?.();
    this.#cancelPoll?.();
    this.#cancelWindow?.();
    this.#listeners.clear();
    await this.#chain;
  }

  async #start(): Promise<void> {
    const started = this.#o.clock.now();
    this.#position = await this.#o.store.lastSeq();
    this.#readThrough = this.#syncedAt = started;
    this.#unsubscribe = this.#o.store.subscribe((change) => this.#toldOf(change));
    this.#unsubscribeCommits = this.#o.commits?.((changes) => {
      if (changes === undefined) void this.pull();
      else for (const c of changes) this.#toldOf(c);
    });
  }

  /** A change committed: the next one is taken as it is; past one (heard twice) is dropped; else the store is read. */
  #toldOf(change: DocChange): void {
    if (this.#closed) return;
    this.#told = Math.max(this.#told, change.seq);
    if (change.seq <= this.#position) return;
    if (this.#reads > 0 || change.seq !== this.#position + 1) {
      void this.pull();
      return;
    }
    this.#position = change.seq;
    this.#window.push(change);
    // One told of earlier, past a seq that was missing then, is read now.
    if (this.#told > this.#position) void this.pull();
    this.#openWindow();
  }

  #schedulePoll(): void {
    if (this.#cancelPoll || this.#closed) return;
    this.#cancelPoll = this.#o.clock.setTimeout(() => {
      this.#cancelPoll = undefined;
      if (this.#listeners.size === 0) return;
      void this.pull().finally(() => this.#schedulePoll());
    }, this.#o.pollMs);
  }

  async #readAll(): Promise<void> {
    const limit = this.#o.pageSize ?? 500;
    const started = this.#o.clock.now();
    // Committed when this read began: reaching it, the read has seen all of that (a hole, a
    // writer still committing below it, stops `changes()` short of it).
    const last = await this.#o.store.lastSeq();
    for (;;) {
      const batch = await this.#o.store.changes(this.#position, limit);
      if (batch.length > 0 && (batch[0] as DocChange).seq !== this.#position + 1) {
        // A jump: a hole PostgreSQL gave up on, or rows pruned before this hub read them.
        const pruned = await this.#o.store.prunedThrough();
        if (pruned > this.#position) {
          this.#position = pruned;
          // Full state at the new position covers what the window held.
          this.#window = [];
          for (const l of [...this.#listeners]) l.onMissed();
        }
      }
      if (batch.length > 0) {
        this.#position = Math.max(this.#position, (batch.at(-1) as DocChange).seq);
        this.#window.push(...batch);
      }
      if (batch.length < limit) break;
    }
    if (this.#position >= last) this.#readThrough = started;
    if (this.#window.length === 0) this.#syncedAt = this.#readThrough;
    this.#openWindow();
  }

  /** Hands out the window's changes now (coalesceMs 0) or when the window closes; nothing when it is empty or open. */
  #openWindow(): void {
    if (this.#window.length === 0 || this.#cancelWindow) return;
    if (this.#o.coalesceMs === 0) return this.#emit();
    this.#cancelWindow = this.#o.clock.setTimeout(() => {
      // Changes told of but not taken (a seq skipped) are read first, so the batch holds them.
      if (this.#told > this.#position) void this.pull().finally(() => this.#emit());
      else this.#emit();
    }, this.#o.coalesceMs);
  }

  #emit(): void {
    this.#cancelWindow = undefined;
    const changes = this.#window;
    this.#window = [];
    if (changes.length === 0 || this.#closed) return;
    const memo = new Map<string, unknown>();
    const batch: FeedBatch = {
      changes,
      shared<T>(key: string, make: () => T): T {
        if (!memo.has(key)) memo.set(key, make());
        return memo.get(key) as T;
      },
    };
    for (const l of [...this.#listeners]) l.onChanges(batch);
    this.#syncedAt = this.#readThrough;
  }
}
