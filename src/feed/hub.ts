/**
 * One reader of the store's change feed per process, fanning each batch out to every
 * listener (the /xcap-diff streams), so a thousand open streams cost one feed read per
 * change, not a thousand.
 *
 * The store is the source: the hub reads `changes()` from its own position whenever the
 * store says something was committed (this process's writes; other processes' through
 * PostgreSQL NOTIFY) and every `pollMs` (other processes on SQLite, which cannot notify).
 * So a stream sees every change whichever process wrote it or serves the stream. In an HTTP
 * worker of `serve --workers`, the primary (which makes every write) says when it
 * committed (`commits`), so a worker does not wait for its next poll.
 *
 * Coalescing happens here, once for every listener: changes read within `coalesceMs` of the
 * first are handed out together when the window closes (after one more read), and a
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
  /** Another source of "something was committed" (an HTTP worker: the primary's word); returns an unsubscribe. */
  readonly commits?: (listener: () => void) => () => void;
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
    const next = this.#chain.then(async () => {
      this.#queued = undefined;
      if (!this.#closed) await this.#readAll();
    }).catch((err: unknown) => this.#o.log.warn({ err: (err as Error).message }, 'change feed read failed; the next poll retries'));
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
    this.#unsubscribe = this.#o.store.subscribe(() => void this.pull());
    this.#unsubscribeCommits = this.#o.commits?.(() => void this.pull());
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
    if (this.#window.length === 0 || this.#cancelWindow) return;
    if (this.#o.coalesceMs === 0) return this.#emit();
    this.#cancelWindow = this.#o.clock.setTimeout(() => {
      // One more read first, so the window's batch holds everything committed by its end.
      void this.pull().finally(() => this.#emit());
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
