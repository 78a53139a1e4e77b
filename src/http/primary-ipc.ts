/**
 * What the HTTP workers of `serve` (server.workers > 1) ask the primary: the XCAP writes,
 * and the sync engine's manual runs (the admin API), which only the primary runs.
 *
 * Each HTTP worker authenticates, reads and answers. A whole-document PUT is validated in
 * the worker that received it (validation is most of its cost, and the workers have the
 * cores); only the store write of the validated text is sent to the primary (`store-put`),
 * whose store checks its expectation (ETag, absence) and its server-wide unique values
 * atomically as for any writer. Every
 * other write (element and attribute PUTs, DELETEs, documents with managed lists) is sent
 * whole (`xcap-write`) and runs on the primary's XcapService, so writers of one document
 * take turns on one cached DOM (no lost ETag races between processes, no 503 under load).
 * Either way one process writes: the SQLite file has one writing connection, whose group
 * commit serves every worker's writes. Reads stay in the workers.
 *
 * Messages are batched per event-loop turn both ways (`asks`, `turn`): on a loaded
 * machine each message wakes the other process, and that wake-up, not the copy, is what a
 * message costs, so the requests one turn parsed go in one message, and the answers one
 * group commit released come back in one with the word that the primary committed.
 *
 * Errors are rendered where they are rendered for a single process: the primary sends the
 * typed error's status, headers, message and (for a 409) its condition element, and the
 * worker rebuilds an HttpError that error-handler.ts renders the same way.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../log.ts';
import { EtagMismatch, StoreUnavailable, UniqueValueTaken, type DocChange, type DocKey, type DocumentStore, type WriteExpectation, type WriteResult } from '../store/types.ts';
import type { StorePut } from '../xcap/document-writer.ts';
import { HttpError, XcapConflict } from '../xcap/errors.ts';
import { sendToPrimary, sendToWorker } from './worker-channel.ts';
import type { Scope } from '../sync/binding.ts';
import type { SyncHandle } from '../sync/queue.ts';
import type { WriteOutcome } from '../xcap/service.ts';
import type { XcapWrite, XcapWriter } from './xcap-writes.ts';

/** The error of a write, as plain data. */
type WireError =
  | { readonly kind: 'http'; readonly status: number; readonly message: string; readonly headers: Record<string, string | string[]>; readonly conflictXml?: string }
  | { readonly kind: 'unavailable'; readonly message: string }
  /** The store's lost race, which the worker's XcapService turns into a re-run or 412. */
  | { readonly kind: 'etag-mismatch'; readonly current: string | null }
  /** A server-wide unique value another document holds, which the worker's writer turns into its 409. */
  | { readonly kind: 'unique-taken'; readonly value: string }
  | { readonly kind: 'internal' };

/** A validated document for the primary's store (DocumentStore.put's arguments). */
interface StoreWrite {
  readonly key: DocKey;
  readonly body: string;
  readonly expect: WriteExpectation;
  readonly origin: string | undefined;
  readonly etag: string | undefined;
  readonly unique: readonly string[] | undefined;
}

/** Worker → primary: one request (in an `Asks`), answered by an `Answer` with its id. */
type AskBody =
  | { readonly t: 'xcap-write'; readonly write: XcapWrite }
  | { readonly t: 'store-put'; readonly put: StoreWrite }
  | { readonly t: 'sync-enqueue'; readonly binding: string; readonly scope?: Scope };
type Ask = AskBody & { readonly id: number };

/** The asks of one event-loop turn of a worker. */
interface Asks {
  readonly t: 'asks';
  readonly asks: readonly Ask[];
}

/**
 * Primary → one worker, at most once per event-loop turn: the answers to its asks that the
 * turn settled, and, when the primary committed changes in the turn, `commit` with those
 * changes (left out past FEED_COMMIT_CHANGES). A worker's change-feed hub takes them without
 * reading the feed, or reads it at once, instead of at its next poll (SQLite cannot notify
 * across processes). Every worker hears of every commit, in the message that carries its
 * own answers when it has some.
 */
interface Turn {
  readonly t: 'turn';
  readonly answers: readonly Answer[];
  readonly commit?: { readonly changes?: readonly DocChange[] };
}

/** The end of one ask, with its id. */
interface Answer {
  readonly id: number;
  /** A WriteOutcome (xcap-write), a WriteResult (store-put), nothing (sync-enqueue). */
  readonly outcome?: WriteOutcome | WriteResult;
  readonly error?: WireError;
}

/** Past this many changes in one turn (a sync import), workers read them from the feed. */
const FEED_COMMIT_CHANGES = 1000;

/** Primary → workers, when one starts and every second: whether its sync engine runs. */
interface SyncRunning {
  readonly t: 'sync-running';
  readonly running: boolean;
}

/** A 409 rebuilt from the primary's answer: renders the same condition element. */
class ForwardedConflict extends XcapConflict {
  readonly tag = 'forwarded';
  readonly #xml: string;
  constructor(message: string, xml: string) {
    super(message);
    this.#xml = xml;
  }
  override detailXml(): string {
    return this.#xml;
  }
}

function toWire(err: unknown): WireError {
  if (err instanceof HttpError) {
    return {
      kind: 'http',
      status: err.status,
      message: err.message,
      headers: { ...err.headers },
      ...(err instanceof XcapConflict ? { conflictXml: err.detailXml() } : {}),
    };
  }
  if (err instanceof StoreUnavailable) return { kind: 'unavailable', message: err.message };
  if (err instanceof EtagMismatch) return { kind: 'etag-mismatch', current: err.current };
  if (err instanceof UniqueValueTaken) return { kind: 'unique-taken', value: err.value };
  return { kind: 'internal' };
}

function fromWire(e: WireError): Error {
  if (e.kind === 'unavailable') return new StoreUnavailable(e.message);
  if (e.kind === 'etag-mismatch') return new EtagMismatch(e.current);
  if (e.kind === 'unique-taken') return new UniqueValueTaken(e.value);
  if (e.kind === 'internal') return new Error('the write failed in the primary process (see its log)');
  if (e.conflictXml !== undefined) return new ForwardedConflict(e.message, e.conflictXml);
  return new HttpError(e.status, e.message, e.headers);
}

/** How often the primary tells the workers whether its sync engine runs (Redis may come and go). */
const SYNC_STATE_EVERY_MS = 1000;

/**
 * In the primary: runs the workers' writes on `writer`, their validated documents on
 * `put` (the primary's store) and their manual sync runs on `sync`, answering each, and
 * tells every worker when `store` committed (Turn). An error that is not a typed one is
 * logged here (the worker only learns "internal"). Returns a function that stops the
 * commit notices and the periodic sync-state messages.
 */
export function serveWorkers(writer: XcapWriter, put: StorePut, store: Pick<DocumentStore, 'subscribe'>, sync: SyncHandle | undefined, log: Logger): () => void {
  const outbox = primaryOutbox();
  cluster.on('message', (worker: Worker, msg: unknown) => {
    const m = msg as Partial<Asks> | null;
    if (m === null || typeof m !== 'object' || m.t !== 'asks' || !Array.isArray(m.asks)) return;
    for (const ask of m.asks) run(worker, ask);
  });
  const run = (worker: Worker, ask: Ask) => {
    let work: Promise<WriteOutcome | WriteResult | undefined>;
    if (ask.t === 'xcap-write') work = writer(ask.write);
    else if (ask.t === 'store-put') {
      const p = ask.put;
      work = put(p.key, p.body, p.expect, p.origin, p.etag, p.unique === undefined ? {} : { unique: p.unique });
    }
    else if (ask.t === 'sync-enqueue') {
      work = sync ? sync.enqueue(ask.binding, ask.scope).then(() => undefined) : Promise.reject(new StoreUnavailable('sync is off'));
    } else return;
    work.then(
      (outcome) => outbox.answer(worker, { id: ask.id, ...(outcome ? { outcome } : {}) }),
      (err: unknown) => {
        const error = toWire(err);
        if (error.kind === 'internal') log.error({ err, ask: ask.t }, 'request from an HTTP worker failed');
        outbox.answer(worker, { id: ask.id, error });
      },
    );
  };
  const unsubscribe = store.subscribe(outbox.committed);
  const tell = (w: Worker) => sendToWorker(w, { t: 'sync-running', running: sync?.running() ?? false } satisfies SyncRunning);
  cluster.on('online', tell);
  const timer = setInterval(() => {
    for (const w of Object.values(cluster.workers ?? {})) if (w) tell(w);
  }, SYNC_STATE_EVERY_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    unsubscribe();
  };
}

/** What the primary has for its workers in this event-loop turn, sent at its end (one Turn per worker). */
function primaryOutbox(): { answer: (to: Worker, a: Answer) => void; committed: (change: DocChange) => void } {
  const post = perTurn<{ readonly to: Worker; readonly answer: Answer } | { readonly change: DocChange }>((items) => {
    const answers = new Map<Worker, Answer[]>();
    const changes: DocChange[] = [];
    for (const item of items) {
      if ('change' in item) changes.push(item.change);
      else {
        const mine = answers.get(item.to);
        if (mine === undefined) answers.set(item.to, [item.answer]);
        else mine.push(item.answer);
      }
    }
    const commit = changes.length === 0 ? undefined : changes.length > FEED_COMMIT_CHANGES ? {} : { changes };
    for (const w of Object.values(cluster.workers ?? {})) {
      if (w === undefined) continue;
      const mine = answers.get(w);
      if (mine !== undefined || commit !== undefined) sendToWorker(w, { t: 'turn', answers: mine ?? [], ...(commit ? { commit } : {}) } satisfies Turn);
    }
  });
  return { answer: (to, answer) => post({ to, answer }), committed: (change) => post({ change }) };
}

/** Collects items and hands them to `flush` at the end of the current event-loop turn (after its I/O callbacks). */
function perTurn<T>(flush: (items: T[]) => void): (item: T) => void {
  let pending: T[] = [];
  const flushAll = () => {
    const items = pending;
    pending = [];
    flush(items);
  };
  return (item) => {
    if (pending.length === 0) setImmediate(flushAll);
    pending.push(item);
  };
}

/** In an HTTP worker: the primary's services, reached over the IPC channel. */
export interface Primary {
  /** Sends each write to the primary and waits for its answer. */
  readonly writes: XcapWriter;
  /**
   * Stores a document this worker validated, in the primary's store. `onCommit` runs when
   * the answer comes, so after the write is durable (the primary does not report the commit apart).
   */
  readonly put: StorePut;
  /** The primary's sync engine as the admin API sees it; undefined without bindings. */
  readonly sync: SyncHandle | undefined;
  /** Calls `listener` whenever the primary says it committed changes (with them, unless too many); returns an unsubscribe. */
  readonly onCommit: (listener: (changes: readonly DocChange[] | undefined) => void) => () => void;
}

export function connectToPrimary(hasBindings: boolean): Primary {
  const waiting = new Map<number, { resolve: (o: WriteOutcome | WriteResult | undefined) => void; reject: (e: Error) => void }>();
  let next = 0;
  let syncRunning = false;
  const commitListeners = new Set<(changes: readonly DocChange[] | undefined) => void>();
  process.on('message', (msg: unknown) => {
    const m = msg as Partial<Turn | SyncRunning> | null;
    if (m === null || typeof m !== 'object') return;
    if (m.t === 'sync-running') {
      syncRunning = (m as SyncRunning).running;
      return;
    }
    if (m.t !== 'turn') return;
    const turn = m as Turn;
    // The commit first: a writer answered here may read its own change from the feed next.
    if (turn.commit !== undefined) for (const l of commitListeners) l(turn.commit.changes);
    for (const a of turn.answers) {
      const w = waiting.get(a.id);
      if (w === undefined) continue;
      waiting.delete(a.id);
      if (a.error !== undefined) w.reject(fromWire(a.error));
      else w.resolve(a.outcome);
    }
  });
  process.on('disconnect', () => {
    for (const w of waiting.values()) w.reject(new StoreUnavailable('the primary process is gone'));
    waiting.clear();
  });
  const gone = (ids: readonly number[]) => {
    for (const id of ids) {
      const w = waiting.get(id);
      if (w === undefined) continue;
      waiting.delete(id);
      w.reject(new StoreUnavailable('the primary process is gone'));
    }
  };
  // The primary exiting under us closes the channel: fail these requests, do not crash.
  const post = perTurn<Ask>((asks) => sendToPrimary({ t: 'asks', asks } satisfies Asks, () => gone(asks.map((a) => a.id))));
  const ask = (a: AskBody) =>
    new Promise<WriteOutcome | WriteResult | undefined>((resolve, reject) => {
      if (!process.connected || process.send === undefined) {
        reject(new StoreUnavailable('the primary process is gone'));
        return;
      }
      const id = ++next;
      waiting.set(id, { resolve, reject });
      post({ ...a, id });
    });
  return {
    writes: async (write) => (await ask({ t: 'xcap-write', write })) as WriteOutcome,
    put: async (key, body, expect, origin, etag, opts) => {
      const result = (await ask({ t: 'store-put', put: { key, body, expect, origin, etag, unique: opts?.unique } })) as WriteResult;
      opts?.onCommit?.(result);
      return result;
    },
    onCommit: (listener) => {
      commitListeners.add(listener);
      return () => commitListeners.delete(listener);
    },
    sync: hasBindings
      ? {
          running: () => syncRunning,
          enqueue: async (binding, scope) => {
            await ask(scope === undefined ? { t: 'sync-enqueue', binding } : { t: 'sync-enqueue', binding, scope });
          },
          // The queue is the primary's: its counts are in the primary's metrics, not asked here.
          queueStats: async () => undefined,
          // The engine is the primary's, stopped by the primary.
          stop: async () => {},
        }
      : undefined,
  };
}
