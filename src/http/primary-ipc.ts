/**
 * What the HTTP workers of `serve` (server.workers > 1) ask the primary: every XCAP write,
 * and the sync engine's manual runs (the admin API), which only the primary runs.
 *
 * Each HTTP worker authenticates, reads and answers; every PUT and DELETE it receives is
 * sent over the cluster IPC channel to the primary, which runs it on its own XcapService. So
 * one process writes: writers of one document take turns on one cached DOM (no lost ETag
 * races between processes, no 503 under load), and the SQLite file has one writing
 * connection, whose group commit serves every worker's writes. Reads stay in the workers.
 *
 * Errors are rendered where they are rendered for a single process: the primary sends the
 * typed error's status, headers, message and (for a 409) its condition element, and the
 * worker rebuilds an HttpError that error-handler.ts renders the same way.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../log.ts';
import { StoreUnavailable } from '../store/types.ts';
import { HttpError, XcapConflict } from '../xcap/errors.ts';
import { sendToWorker } from './worker-channel.ts';
import type { Scope } from '../sync/binding.ts';
import type { SyncHandle } from '../sync/queue.ts';
import type { WriteOutcome } from '../xcap/service.ts';
import type { XcapWrite, XcapWriter } from './xcap-writes.ts';

/** The error of a write, as plain data. */
type WireError =
  | { readonly kind: 'http'; readonly status: number; readonly message: string; readonly headers: Record<string, string | string[]>; readonly conflictXml?: string }
  | { readonly kind: 'unavailable'; readonly message: string }
  | { readonly kind: 'internal' };

/** Worker → primary: one request, answered by an `Answer` with its id. */
type AskBody =
  | { readonly t: 'xcap-write'; readonly write: XcapWrite }
  | { readonly t: 'sync-enqueue'; readonly binding: string; readonly scope?: Scope };
type Ask = AskBody & { readonly id: number };

interface Answer {
  readonly t: 'answer';
  readonly id: number;
  readonly outcome?: WriteOutcome;
  readonly error?: WireError;
}

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
  return { kind: 'internal' };
}

function fromWire(e: WireError): Error {
  if (e.kind === 'unavailable') return new StoreUnavailable(e.message);
  if (e.kind === 'internal') return new Error('the write failed in the primary process (see its log)');
  if (e.conflictXml !== undefined) return new ForwardedConflict(e.message, e.conflictXml);
  return new HttpError(e.status, e.message, e.headers);
}

/** How often the primary tells the workers whether its sync engine runs (Redis may come and go). */
const SYNC_STATE_EVERY_MS = 1000;

/**
 * In the primary: runs the workers' writes on `writer` and their manual sync runs on
 * `sync`, answering each. An error that is not a typed one is logged here (the worker only
 * learns "internal"). Returns a function that stops the periodic sync-state messages.
 */
export function serveWorkers(writer: XcapWriter, sync: SyncHandle | undefined, log: Logger): () => void {
  cluster.on('message', (worker: Worker, msg: unknown) => {
    const m = msg as Partial<Ask> | null;
    if (m === null || typeof m !== 'object' || typeof m.id !== 'number') return;
    const ask = m as Ask;
    let work: Promise<WriteOutcome | undefined>;
    if (ask.t === 'xcap-write') work = writer(ask.write);
    else if (ask.t === 'sync-enqueue') {
      work = sync ? sync.enqueue(ask.binding, ask.scope).then(() => undefined) : Promise.reject(new StoreUnavailable('sync is off'));
    } else return;
    work.then(
      (outcome) => send(worker, { t: 'answer', id: ask.id, ...(outcome ? { outcome } : {}) }),
      (err: unknown) => {
        const error = toWire(err);
        if (error.kind === 'internal') log.error({ err, ask: ask.t }, 'request from an HTTP worker failed');
        send(worker, { t: 'answer', id: ask.id, error });
      },
    );
  });
  const tell = (w: Worker) => send(w, { t: 'sync-running', running: sync?.running() ?? false });
  cluster.on('online', tell);
  const timer = setInterval(() => {
    for (const w of Object.values(cluster.workers ?? {})) if (w) tell(w);
  }, SYNC_STATE_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}

function send(worker: Worker, msg: Answer | SyncRunning): void {
  sendToWorker(worker, msg);
}

/** In an HTTP worker: the primary's services, reached over the IPC channel. */
export interface Primary {
  /** Sends each write to the primary and waits for its answer. */
  readonly writes: XcapWriter;
  /** The primary's sync engine as the admin API sees it; undefined without bindings. */
  readonly sync: SyncHandle | undefined;
}

export function connectToPrimary(hasBindings: boolean): Primary {
  const waiting = new Map<number, { resolve: (o: WriteOutcome | undefined) => void; reject: (e: Error) => void }>();
  let next = 0;
  let syncRunning = false;
  process.on('message', (msg: unknown) => {
    const m = msg as Partial<Answer | SyncRunning> | null;
    if (m === null || typeof m !== 'object') return;
    if (m.t === 'sync-running') {
      syncRunning = (m as SyncRunning).running;
      return;
    }
    if (m.t !== 'answer') return;
    const a = m as Answer;
    const w = waiting.get(a.id);
    if (w === undefined) return;
    waiting.delete(a.id);
    if (a.error !== undefined) w.reject(fromWire(a.error));
    else w.resolve(a.outcome);
  });
  process.on('disconnect', () => {
    for (const w of waiting.values()) w.reject(new StoreUnavailable('the primary process is gone'));
    waiting.clear();
  });
  const ask = (a: AskBody) =>
    new Promise<WriteOutcome | undefined>((resolve, reject) => {
      if (!process.connected || process.send === undefined) {
        reject(new StoreUnavailable('the primary process is gone'));
        return;
      }
      const id = ++next;
      waiting.set(id, { resolve, reject });
      // The primary exiting under us closes the channel: fail this request, do not crash.
      process.send({ ...a, id }, undefined, undefined, (err: Error | null) => {
        if (err && waiting.delete(id)) reject(new StoreUnavailable('the primary process is gone'));
      });
    });
  return {
    writes: async (write) => (await ask({ t: 'xcap-write', write })) as WriteOutcome,
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
