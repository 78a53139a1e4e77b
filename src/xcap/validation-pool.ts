/**
 * Validation of large whole documents on worker threads, so that one maximum-size PUT,
 * hostile or valid, does not hold the event loop for the hundreds of milliseconds its
 * validation takes: `/healthz` and every other client are answered meanwhile.
 *
 * Each thread (src/xcap/validation-worker.ts) builds the same usage registry as the server
 * (standard usages and the configured custom ones) and runs `AppUsage.validate` on the
 * text exactly as the main thread would, so the verdict is the same; an HTTP error raised
 * there is rebuilt here with its status, condition, phrase and fields. What a usage reads
 * of the store (`UsageContext.store`) is asked of the main thread. Bodies shorter than
 * `minChars` stay inline: a thread hop (copying the text, two messages) costs more than
 * validating a few kilobytes.
 *
 * Threads start on first use. Each runs one job at a time; jobs wait in one FIFO queue. A thread that dies (a
 * crash, or out of memory under `resourceLimits`) fails only the job it was running, with
 * InternalError; the next job starts a fresh thread.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { RegistryOptions } from '../appusage/registry.ts';
import type { CandidateDocument, DocumentReader, UsageContext } from '../appusage/types.ts';
import type { DocKey } from '../store/types.ts';
import type { XmlLimits } from './xml-prescan.ts';
import { HttpError, InternalError, NoParent, UniquenessFailure, XCAP_CONFLICTS, XcapConflict, type UniquenessField } from './errors.ts';

export interface ValidationPoolOptions {
  /** Worker threads (at least 1). */
  readonly threads: number;
  /** Shortest text (UTF-16 code units) validated on a thread; shorter ones stay inline. */
  readonly minChars: number;
  /** The registry the server built, rebuilt in each thread (plain data). */
  readonly registry: RegistryOptions;
  /** Heap limits of each thread; Node's defaults when absent. */
  readonly resourceLimits?: ResourceLimits;
}

/** A validation job, as the thread receives it. */
export interface ValidateMessage {
  readonly type: 'validate';
  readonly auid: string;
  readonly text: string;
  readonly key: DocKey;
  readonly lenient: readonly string[];
  readonly rootUri: string;
  readonly roots: { readonly roots: readonly string[]; readonly defaultDomain: string | undefined };
  /** Pre-scan `text` (`prescanDocument`) with these limits first. */
  readonly prescan: XmlLimits | undefined;
}

/** A store read the thread asks of the main thread, and its answer. */
export interface ReadMessage {
  readonly type: 'read';
  readonly rid: number;
  readonly op: 'get' | 'head' | 'list';
  readonly arg: unknown;
}
export interface ReadResultMessage {
  readonly type: 'read-result';
  readonly rid: number;
  readonly value?: unknown;
  readonly error?: string;
}

/** The end of a job: no error, or the error the usage raised, as plain data. */
export interface DoneMessage {
  readonly type: 'done';
  readonly error?: TransferredError;
}

export type TransferredError =
  | { readonly kind: 'conflict'; readonly tag: string; readonly phrase: string | undefined; readonly fields?: UniquenessField[]; readonly ancestor?: string | undefined }
  | { readonly kind: 'http'; readonly status: number; readonly message: string; readonly headers: Record<string, string | string[]> }
  | { readonly kind: 'other'; readonly message: string };

interface Job {
  readonly message: ValidateMessage;
  readonly store: DocumentReader;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

interface Slot {
  worker: Worker | undefined;
  job: Job | undefined;
}

export class ValidationPool {
  readonly #opts: ValidationPoolOptions;
  readonly #slots: Slot[];
  readonly #queue: Job[] = [];
  #closed = false;

  constructor(opts: ValidationPoolOptions) {
    if (!(opts.threads >= 1)) throw new Error('a validation pool needs at least one thread');
    this.#opts = opts;
    // Threads start with the first job that needs one: a server that never sees a large
    // body never pays for compiling the schemas again (the first one waits for it).
    this.#slots = Array.from({ length: opts.threads }, () => ({ worker: undefined, job: undefined }));
  }

  /** Whether `candidate` is validated on a thread: a text of at least `minChars` with no DOM at hand. */
  takes(candidate: CandidateDocument): boolean {
    return !this.#closed && candidate.parsed === undefined && candidate.text.length >= this.#opts.minChars;
  }

  /**
   * Runs `prescanDocument(text, prescan)` when `prescan` is given, then
   * `usages.get(auid).validate` on `text`, in a thread: resolves when valid, rejects with what they raised.
   */
  validate(auid: string, text: string, ctx: UsageContext, prescan?: XmlLimits): Promise<void> {
    const message: ValidateMessage = {
      type: 'validate',
      auid,
      text,
      key: ctx.key,
      lenient: [...ctx.lenient],
      rootUri: ctx.rootUri,
      roots: ctx.roots.spec(),
      prescan,
    };
    return new Promise((resolve, reject) => {
      this.#queue.push({ message, store: ctx.store, resolve, reject });
      this.#dispatch();
    });
  }

  /** Stops the threads; queued and running jobs fail with InternalError. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(new InternalError('the validation pool is closed'));
    await Promise.all(this.#slots.map((s) => s.worker?.terminate()));
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (this.#queue.length === 0 || this.#closed) return;
      if (slot.job !== undefined) continue;
      slot.job = this.#queue.shift() as Job;
      const worker = slot.worker ?? this.#spawn(slot);
      // A job keeps the process alive until it is answered; an idle thread does not.
      worker.ref();
      worker.postMessage(slot.job.message);
    }
  }

  #spawn(slot: Slot): Worker {
    const worker = new Worker(new URL('./validation-worker.ts', import.meta.url), {
      workerData: { registry: this.#opts.registry },
      ...(this.#opts.resourceLimits === undefined ? {} : { resourceLimits: this.#opts.resourceLimits }),
    });
    worker.unref();
    slot.worker = worker;
    let failure = 'it exited';
    worker.on('message', (msg: DoneMessage | ReadMessage) => {
      const job = slot.job;
      if (job === undefined) return;
      if (msg.type === 'read') {
        void answerRead(worker, job.store, msg);
        return;
      }
      slot.job = undefined;
      worker.unref();
      if (msg.error === undefined) job.resolve();
      else job.reject(rebuildError(msg.error));
      this.#dispatch();
    });
    worker.on('error', (err) => {
      failure = err.message;
    });
    worker.on('exit', () => {
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      const job = slot.job;
      slot.job = undefined;
      job?.reject(new InternalError(`the validation thread stopped while validating a ${job.message.text.length}-character ${job.message.auid} document: ${failure}`));
      this.#dispatch();
    });
    return worker;
  }
}

async function answerRead(worker: Worker, store: DocumentReader, msg: ReadMessage): Promise<void> {
  let reply: ReadResultMessage;
  try {
    let value: unknown;
    if (msg.op === 'list') {
      const all: unknown[] = [];
      for await (const meta of store.list(msg.arg as Parameters<DocumentReader['list']>[0])) all.push(meta);
      value = all;
    } else {
      value = await store[msg.op](msg.arg as DocKey);
    }
    reply = { type: 'read-result', rid: msg.rid, value };
  } catch (err) {
    reply = { type: 'read-result', rid: msg.rid, error: err instanceof Error ? err.message : String(err) };
  }
  worker.postMessage(reply);
}

/** `err` as plain data for postMessage (the thread's side of `rebuildError`). */
export function transferError(err: unknown): TransferredError {
  if (err instanceof XcapConflict) {
    return {
      kind: 'conflict',
      tag: err.tag,
      phrase: err.phrase,
      ...(err instanceof UniquenessFailure ? { fields: err.fields } : {}),
      ...(err instanceof NoParent ? { ancestor: err.ancestor } : {}),
    };
  }
  if (err instanceof HttpError) return { kind: 'http', status: err.status, message: err.message, headers: { ...err.headers } };
  return { kind: 'other', message: err instanceof Error ? err.message : String(err) };
}

/** Every 409 condition class by its element name (each is constructible without arguments). */
const BY_TAG = new Map(XCAP_CONFLICTS.map((C) => [new (C as new () => XcapConflict)().tag, C as new (phrase?: string) => XcapConflict]));

/** The error a thread raised, as the main thread would have raised it. */
export function rebuildError(e: TransferredError): Error {
  if (e.kind === 'other') return new Error(e.message);
  if (e.kind === 'http') return new HttpError(e.status, e.message, e.headers);
  if (e.tag === 'uniqueness-failure') return new UniquenessFailure(e.fields ?? [], e.phrase);
  if (e.tag === 'no-parent') return new NoParent(e.ancestor, e.phrase);
  const Conflict = BY_TAG.get(e.tag);
  return Conflict === undefined ? new Error(`unknown XCAP condition ${e.tag}`) : new Conflict(e.phrase);
}
