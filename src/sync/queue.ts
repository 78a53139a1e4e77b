/**
 * The sync queue on Redis (BullMQ): one queue, two job kinds.
 *
 * - `scope` {binding, scope}: one run of one binding for one document. Added with
 *   deduplication id `binding|scope` and `keepLastIfActive`, so a burst of changes to a
 *   document gives at most one running and one waiting job, and two workers never run
 *   the same binding+scope at once. A Redis lock (token, expiry) also covers runs started
 *   outside the queue (`sync run`).
 * - `tick` {binding}: a binding's schedule fired; fans out to a `scope` job per document.
 *
 * The XCAP change feed (store.subscribe, plus store.changes from a saved cursor for
 * catch-up and for writers in other processes) enqueues `scope` jobs at once; the
 * binding's own writes (origin `sync:<binding>`) are skipped.
 *
 * Connectors that can tell when they changed (`capabilities.watch`: PostgreSQL NOTIFY)
 * wake the `pull` and `both` bindings on them: the collections a wake-up names, folded
 * over `debounceMs`, become the scopes whose collection is one of them (every scope of the
 * binding when it names none), queued like feed runs (same deduplication). The binding's
 * own writes wake it too; that run finds nothing new. The schedule stays the safety net.
 *
 * Redis may lose everything (restarted without persistence, a failover to an empty
 * replica, FLUSHALL): the job schedulers are re-created when the connection comes back
 * and whenever a periodic check finds one missing. An outage is logged once when it
 * starts and once when it ends, whatever the number of reconnect attempts in between.
 */
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Connector } from '../../connectors/types.ts';
import type { DocChange, DocumentStore } from '../store/types.ts';
import { collectionFor, compileBinding, scopeOfDoc, type Binding, type BindingConfig, type Scope } from './binding.ts';
import { DocCache } from './doc-cache.ts';
import { DocumentWriter } from '../xcap/document-writer.ts';
import { isRetryable, RetryableSyncError, runSync, scopesOf, type KnownUsers, type RunReport } from './runner.ts';
import { createRedisConnection, queuePrefix, type RedisConnection, type RedisTarget } from './redis-connection.ts';
import { SyncState } from './state.ts';
import { Progress } from '../cli/progress.ts';

export const QUEUE_NAME = 'sync';
/** sync_meta row holding the seq of the last XCAP change the feed has queued jobs for. */
export const FEED_CURSOR = 'feed-cursor';

export interface StartSyncOptions {
  readonly store: DocumentStore;
  /**
   * Writes bound documents: the DocumentWriter the XCAP service writes with, so sync obeys
   * the same validation. Without it a writer on `store` that validates nothing (tests).
   */
  readonly writer?: DocumentWriter;
  /**
   * Redis URL, a target (URL, or cluster nodes: redis-connection.ts), or a client (the
   * caller keeps ownership of a client it passes).
   */
  readonly redis: string | RedisTarget | RedisConnection;
  /**
   * Key prefix of every queue key; on a cluster it is made a hash tag (`{xcap-bridge}`,
   * see redis-connection.ts `queuePrefix`).
   * @defaultValue `xcap-bridge`
   */
  readonly prefix?: string;
  readonly bindings: readonly BindingConfig[];
  /** Connectors by name, as `createConnectors` built them. */
  readonly connectors: ReadonlyMap<string, Connector>;
  /** Per connector, the options that change what it reads (src/connectors.ts `connectorReadOptions`): part of each binding's fingerprint. */
  readonly connectorOptions?: Readonly<Record<string, unknown>>;
  /** Users a pull binding also runs for before they have a document (scopesOf). */
  readonly users?: KnownUsers;
  readonly logger: Logger;
  /** Process jobs in this process (serve with embedded workers, `worker`). */
  readonly runWorkers: boolean;
  /**
   * Watch the XCAP change feed and the connectors that offer `watch`, and enqueue jobs (serve).
   * @defaultValue `true`
   */
  readonly watchChanges?: boolean;
  /**
   * Jobs run at once by this process's worker.
   * @defaultValue `4`
   */
  readonly concurrency?: number;
  /**
   * Interval of the change-feed poll that catches writes from other processes, in milliseconds.
   * @defaultValue `1000`
   */
  readonly feedPollMs?: number;
  /**
   * Attempts per job before it is marked failed; retries back off exponentially from `backoffMs`.
   * @defaultValue `10`
   */
  readonly attempts?: number;
  /**
   * First retry delay in milliseconds (doubling each attempt).
   * @defaultValue `1000`
   */
  readonly backoffMs?: number;
  /**
   * Delay of runs triggered by an XCAP change, in milliseconds, so a burst of writes to one
   * document folds into one run.
   * @defaultValue `100`
   */
  readonly debounceMs?: number;
  /**
   * How long `stop()` waits for running jobs before closing the worker by force, in milliseconds.
   * @defaultValue `30000`
   */
  readonly drainTimeoutMs?: number;
  /**
   * While Redis is unreachable at start-up, try again every this many milliseconds.
   * @defaultValue `10000`
   */
  readonly reconnectMs?: number;
  /**
   * How often the job schedulers are checked and missing ones re-created, in milliseconds.
   * @defaultValue `30000`
   */
  readonly scheduleCheckMs?: number;
  /**
   * Clock of the ticks recorded for health.ts.
   * @defaultValue `Date.now`
   */
  readonly now?: () => number;
  /** Told about every run this process's worker finished or failed (the metrics count them). */
  readonly onRun?: (event: RunEvent) => void;
}

/** One run of one binding and document, as `onRun` hears of it. */
export interface RunEvent {
  readonly binding: string;
  readonly scope: Scope;
  /** `applied`, `unchanged`, `refused`, or `failed` when the run threw (it may be retried). */
  readonly outcome: RunReport['outcome'] | 'failed';
  readonly seconds: number;
  readonly report?: RunReport;
}

/** Queue figures from BullMQ: `queue.getJobCounts()` and the oldest waiting job. */
export interface QueueStats {
  /** Jobs by state: waiting, active, delayed, prioritized, failed, completed, waiting-children. */
  readonly counts: Readonly<Record<string, number>>;
  /** When the oldest waiting job was added (ms since the epoch); `null` when none waits. */
  readonly oldestWaitingAt: number | null;
}

export interface SyncHandle {
  /** False while Redis is unreachable, at start-up or since the connection was lost (sync off, XCAP unaffected). */
  readonly running: () => boolean;
  /**
   * Queues a run of `binding` for `scope` (every scope when omitted). `full` makes the run
   * read both sides whole instead of their changes (RunOptions.full), as `sync run --full` does.
   */
  enqueue(binding: string, scope?: Scope, opts?: { readonly full?: boolean }): Promise<void>;
  /** Jobs by state and the oldest waiting job; `undefined` while Redis is unreachable. */
  queueStats(): Promise<QueueStats | undefined>;
  /** Stops feed and schedulers' consumers; waits for running jobs (graceful drain). */
  stop(): Promise<void>;
}

type JobData = { binding: string; scope?: Scope; full?: boolean };

export async function startSync(opts: StartSyncOptions): Promise<SyncHandle> {
  const log = opts.logger.child({ component: 'sync' });
  const prefix = queuePrefix(opts.prefix ?? 'xcap-bridge', typeof opts.redis === 'string' ? { url: opts.redis } : opts.redis);
  const bindings = new Map(opts.bindings.map((b) => [b.name, compileBinding(b, opts.connectorOptions?.[b.connector])] as const));
  const state = await SyncState.open(opts.store.sql);
  let engine: Engine | undefined;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let warned = false;

  const tryStart = async (): Promise<void> => {
    try {
      engine = await Engine.start({ ...opts, prefix, bindings, state, log });
      if (warned) log.info('Redis is reachable again: sync is on');
    } catch (err) {
      if (!warned) log.warn({ err: (err as Error).message }, 'Redis is not reachable: sync is off until it is; XCAP keeps serving');
      warned = true;
      if (!stopped) timer = setTimeout(() => void tryStart(), opts.reconnectMs ?? 10000);
    }
  };
  await tryStart();

  return {
    running: () => engine?.connected === true,
    async enqueue(binding, scope, o) {
      if (!engine) throw new RetryableSyncError('sync is off: Redis is not reachable');
      await engine.enqueue(binding, scope, 0, o?.full === true);
    },
    queueStats: async () => (engine?.connected ? await engine.queueStats().catch(() => undefined) : undefined),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await engine?.stop();
    },
  };
}

interface EngineOptions extends Omit<StartSyncOptions, 'bindings'> {
  readonly prefix: string;
  readonly bindings: ReadonlyMap<string, Binding>;
  readonly state: SyncState;
  readonly log: Logger;
}

/** The running parts once Redis answered. */
class Engine {
  readonly #o: EngineOptions;
  readonly #conn: RedisConnection;
  readonly #ownConn: boolean;
  readonly #queue: Queue;
  #worker: Worker | undefined;
  #workerConn: RedisConnection | undefined;
  #unsubscribe: (() => void) | undefined;
  /** Stops of the connector watches. */
  readonly #unwatch: (() => void)[] = [];
  /** Per binding, the collections connector wake-ups named since the last flush (`'all'`: any). */
  readonly #woken = new Map<string, Set<string> | 'all'>();
  #wakeTimer: ReturnType<typeof setTimeout> | undefined;
  #waking: Promise<void> = Promise.resolve();
  #poll: ReturnType<typeof setInterval> | undefined;
  #cursor = 0;
  #draining: Promise<void> = Promise.resolve();
  /** Set from the first sign of a lost connection until it is ready again (see #lost). */
  #down = false;
  #stopping = false;
  #scheduleCheck: ReturnType<typeof setInterval> | undefined;
  #checking: Promise<void> = Promise.resolve();
  /** Listeners put on the connection, taken off on stop (the caller may own it). */
  readonly #connListeners: [string, (arg: Error) => void][] = [];
  /** Bound documents kept parsed between this worker's runs. */
  readonly #docs = new DocCache();
  /** Validates and writes bound documents as the XCAP service does. */
  readonly #writer: DocumentWriter;
  /**
   * Per binding, the documents its last run of every document (a tick, a manual run) queued
   * that this process has not yet run: the progress of that fan-out (an initial sync of
   * thousands of users takes minutes).
   * Runs done by other worker processes are not counted here.
   */
  readonly #waves = new Map<string, { pending: Set<Scope>; progress: Progress }>();

  private constructor(o: EngineOptions, conn: RedisConnection, ownConn: boolean) {
    this.#o = o;
    this.#conn = conn;
    this.#ownConn = ownConn;
    this.#writer = o.writer ?? new DocumentWriter({ store: o.store });
    this.#queue = new Queue(QUEUE_NAME, { connection: conn, prefix: o.prefix });
  }

  static async start(o: EngineOptions): Promise<Engine> {
    const given = o.redis instanceof Redis || o.redis instanceof Cluster ? o.redis : undefined;
    const own = given === undefined;
    const conn = given ?? createRedisConnection(typeof o.redis === 'string' ? { url: o.redis } : (o.redis as RedisTarget), { maxRetriesPerRequest: null, lazyConnect: true, retryStrategy: (n) => Math.min(n * 200, 2000) });
    // Until the engine listens (below), failed connection attempts are the caller's to report.
    const early = (err: Error) => o.log.debug({ err: err.message }, 'redis');
    conn.on('error', early);
    try {
      if (own) await withTimeout(conn.connect(), 3000);
      await withTimeout(conn.ping(), 3000);
    } catch (err) {
      conn.off('error', early);
      if (own) conn.disconnect();
      throw err;
    }
    conn.off('error', early);
    await warnEvictionPolicy(conn, o.log);
    const e = new Engine(o, conn, own);
    e.#followConnection();
    await e.#schedule();
    if (o.runWorkers) e.#startWorker();
    if (o.watchChanges ?? true) {
      await e.#watch();
      e.#watchConnectors();
    }
    e.#scheduleCheck = setInterval(() => void e.#checkSchedules(), o.scheduleCheckMs ?? 30000);
    return e;
  }

  /** Whether Redis answers (false from a lost connection until it is ready again). */
  get connected(): boolean {
    return !this.#down;
  }

  /** Queues runs; resolves with the scopes queued (every scope of the binding when `scope` is omitted). */
  async enqueue(binding: string, scope?: Scope, delay = 0, full = false): Promise<Scope[]> {
    const b = this.#o.bindings.get(binding);
    if (!b) throw new Error(`no binding named ${binding}`);
    const scopes = scope === undefined ? await scopesOf(this.#o.store, b, this.#o.users) : [scope];
    // Before the jobs exist: the first may finish before the last is queued.
    if (scope === undefined) this.#waves.set(binding, { pending: new Set(scopes), progress: this.#progress(`sync ${binding}`, 'documents', { binding }, scopes.length) });
    for (const s of scopes) {
      // A full run is its own job: folding it into a waiting ordinary run would lose the `full`.
      const id = full ? `${binding}|${s}|full` : `${binding}|${s}`;
      await this.#queue.add('scope', { binding, scope: s, ...(full ? { full } : {}) } satisfies JobData, {
        deduplication: { id, keepLastIfActive: true },
        attempts: this.#o.attempts ?? 10,
        backoff: { type: 'exponential', delay: this.#o.backoffMs ?? 1000 },
        removeOnComplete: 1000,
        removeOnFail: 5000,
        ...(delay > 0 ? { delay } : {}),
      });
    }
    return scopes;
  }

  /** What the queue holds now; rejects when Redis does not answer in time (commands would wait for it). */
  async queueStats(): Promise<QueueStats> {
    const read = async (): Promise<QueueStats> => {
      const counts = await this.#queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed', 'waiting-children');
      const [oldest] = await this.#queue.getJobs(['waiting'], -1, -1);
      return { counts, oldestWaitingAt: oldest?.timestamp ?? null };
    };
    return withTimeout(read(), 2000);
  }

  /** Progress of long work as log lines every few seconds (short work logs nothing). */
  #progress(label: string, unit: string, fields: Record<string, string>, total?: number): Progress {
    return new Progress({ label, unit, ...(total === undefined ? {} : { total }), now: this.#o.now, line: (text, s) => this.#o.log.info({ ...fields, done: s.done, total: s.total, rate: Math.round(s.rate * 10) / 10, etaSeconds: s.etaSeconds === null ? null : Math.round(s.etaSeconds) }, text) });
  }

  /** Counts a finished run toward its binding's current fan-out (the first tick after start is the initial sync). */
  #ranInWave(binding: string, scope: Scope): void {
    const wave = this.#waves.get(binding);
    if (!wave?.pending.delete(scope)) return;
    wave.progress.add();
    if (wave.pending.size === 0) {
      wave.progress.finish();
      this.#waves.delete(binding);
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#scheduleCheck) clearInterval(this.#scheduleCheck);
    this.#unsubscribe?.();
    if (this.#poll) clearInterval(this.#poll);
    for (const stop of this.#unwatch) stop();
    clearTimeout(this.#wakeTimer);
    // One deadline for the whole stop: commands wait while Redis is away (maxRetriesPerRequest
    // null), and after a Redis restart BullMQ's close has been seen never to settle.
    const deadline = Date.now() + (this.#o.drainTimeoutMs ?? 30000);
    const until = <T>(p: Promise<T>) => Promise.race([p.then(() => true, () => true), sleep(Math.max(0, deadline - Date.now())).then(() => false)]);
    await until(Promise.all([this.#checking, this.#draining, this.#waking]));
    for (const [event, fn] of this.#connListeners) this.#conn.off(event, fn);
    // Graceful first (running jobs finish); what is still open at the deadline is cut.
    const closed = (this.#worker === undefined || (await until(this.#worker.close()))) && (await until(this.#queue.close()));
    if (!closed) this.#o.log.warn('sync did not drain in time; closing its Redis connections by force');
    this.#workerConn?.disconnect();
    if (!closed) {
      this.#worker?.close(true).catch(() => {});
      this.#queue.disconnect().catch(() => {});
    }
    if (this.#ownConn) await Promise.race([this.#conn.quit().catch(() => {}), sleep(1000)]).finally(() => this.#conn.disconnect());
  }

  /**
   * Every 'error' of the connection, queue and worker comes here. The first sign of a
   * lost connection is logged once and turns sync off; the rest of the outage (ioredis
   * retries and BullMQ re-reports each attempt) goes to debug. Other errors: one line each.
   */
  #lost(err: Error): void {
    if (this.#stopping) return;
    if (this.#down) {
      this.#o.log.debug({ err: err.message }, 'redis still unreachable');
      return;
    }
    if (this.#conn.status === 'ready' && !isConnectionError(err)) {
      this.#o.log.error({ err: err.message }, 'sync queue error');
      return;
    }
    this.#down = true;
    this.#o.log.warn({ err: err.message }, 'Redis connection lost: sync is off until it is back; XCAP keeps serving');
  }

  /** Listens for the outage and the return of the connection (the schedulers may be gone then). */
  #followConnection(): void {
    const on = (event: string, fn: (arg: Error) => void) => {
      this.#conn.on(event, fn);
      this.#connListeners.push([event, fn]);
    };
    on('error', (err: Error) => this.#lost(err));
    on('close', () => this.#lost(new Error('connection closed')));
    on('ready', () => {
      if (!this.#down || this.#stopping) return;
      this.#down = false;
      this.#o.log.info('Redis is reachable again: sync is on');
      void this.#checkSchedules();
    });
    this.#queue.on('error', (err: Error) => this.#lost(err));
  }

  /** Job schedulers: one per scheduled binding, id `tick:<binding>`. */
  #wantedSchedulers(): Map<string, { binding: string; schedule: NonNullable<BindingConfig['schedule']> }> {
    const wanted = new Map<string, { binding: string; schedule: NonNullable<BindingConfig['schedule']> }>();
    for (const [name, b] of this.#o.bindings) if (b.config.schedule) wanted.set(`tick:${name}`, { binding: name, schedule: b.config.schedule });
    return wanted;
  }

  /** Creates (or updates) the job scheduler `id`: the one place schedulers are made. */
  async #upsertScheduler(id: string, binding: string, s: NonNullable<BindingConfig['schedule']>): Promise<void> {
    await this.#queue.upsertJobScheduler(id, s.cron ? { pattern: s.cron } : { every: s.everyMs as number }, { name: 'tick', data: { binding } satisfies JobData });
    await this.#o.state.recordTick(binding, (this.#o.now ?? Date.now)(), true);
  }

  /** At start: every scheduler as configured now; those of bindings no longer configured removed. */
  async #schedule(): Promise<void> {
    const wanted = this.#wantedSchedulers();
    for (const [id, w] of wanted) await this.#upsertScheduler(id, w.binding, w.schedule);
    for (const js of await this.#queue.getJobSchedulers()) {
      if (js.key && !wanted.has(js.key)) await this.#queue.removeJobScheduler(js.key);
    }
  }

  /**
   * Re-creates the schedulers Redis no longer has. Only missing ones: upserting an
   * existing scheduler would move its next tick. One check at a time.
   */
  #checkSchedules(): Promise<void> {
    this.#checking = this.#checking.then(async () => {
      if (this.#down || this.#stopping) return;
      try {
        const present = new Set((await this.#queue.getJobSchedulers()).map((js) => js.key));
        const missing = [...this.#wantedSchedulers()].filter(([id]) => !present.has(id));
        for (const [id, w] of missing) await this.#upsertScheduler(id, w.binding, w.schedule);
        if (missing.length) this.#o.log.warn({ bindings: missing.map(([, w]) => w.binding) }, 'job schedulers were missing (Redis lost its data?): re-created');
      } catch (err) {
        this.#lost(err as Error);
      }
    });
    return this.#checking;
  }

  #startWorker(): void {
    // The worker blocks on its own connection (BRPOPLPUSH-style waits).
    const conn: RedisConnection = this.#conn instanceof Cluster ? this.#conn.duplicate() : this.#conn.duplicate();
    this.#workerConn = conn;
    const worker = new Worker<JobData>(QUEUE_NAME, (job) => this.#process(job), {
      connection: conn,
      prefix: this.#o.prefix,
      concurrency: this.#o.concurrency ?? 4,
    });
    worker.on('failed', (job, err) => this.#o.log.warn({ binding: job?.data.binding, scope: job?.data.scope, attempt: job?.attemptsMade, err: err.message }, 'sync job failed'));
    worker.on('error', (err) => this.#lost(err));
    this.#worker = worker;
  }

  async #process(job: Job<JobData>): Promise<RunReport | number> {
    const { binding, scope } = job.data;
    const b = this.#o.bindings.get(binding);
    if (!b) throw new UnrecoverableError(`binding ${binding} is no longer configured`);
    if (job.name === 'tick' || scope === undefined) {
      if (job.name === 'tick') await this.#o.state.recordTick(binding, (this.#o.now ?? Date.now)());
      await this.enqueue(binding);
      return 0;
    }
    const connector = this.#o.connectors.get(b.config.connector);
    if (!connector) throw new UnrecoverableError(`connector ${b.config.connector} is not configured`);
    const started = performance.now();
    const told = (outcome: RunEvent['outcome'], report?: RunReport) =>
      this.#o.onRun?.({ binding, scope, outcome, seconds: (performance.now() - started) / 1000, ...(report ? { report } : {}) });
    try {
      const writes = this.#progress(`sync ${binding} ${scope}`, 'remote writes', { binding, scope });
      const report = await withScopeLock(this.#conn, this.#o.prefix, binding, scope, () =>
        runSync({ store: this.#o.store, state: this.#o.state, connector, docs: this.#docs, writer: this.#writer }, b, scope, { full: job.data.full === true, onProgress: (done, total) => writes.set(done, total) }),
      );
      writes.finish();
      // A tick runs every document of the binding: quiet ones would be a line per user per tick.
      const level = report.outcome === 'unchanged' ? 'debug' : 'info';
      this.#o.log[level]({ binding, scope, outcome: report.outcome, ...(report.fullRead ? { fullRead: true } : {}), xcap: report.xcap, remote: report.remote, conflicts: report.conflicts, refused: report.refused }, 'sync run');
      this.#ranInWave(binding, scope);
      told(report.outcome, report);
      return report;
    } catch (err) {
      told('failed');
      if (isRetryable(err)) throw err;
      this.#ranInWave(binding, scope);
      throw new UnrecoverableError(err instanceof Error ? err.message : String(err));
    }
  }

  /** Change feed: catch up from the saved cursor, then follow live changes and poll for other processes. */
  async #watch(): Promise<void> {
    const saved = await this.#o.state.getMeta(FEED_CURSOR);
    this.#cursor = saved === undefined ? await this.#o.store.lastSeq() : Number(saved);
    await this.#drain();
    this.#unsubscribe = this.#o.store.subscribe(() => void this.#drainSoon());
    this.#poll = setInterval(() => void this.#drainSoon(), this.#o.feedPollMs ?? 1000);
  }

  /** One watch per connector that offers it and has bindings reading from it. */
  #watchConnectors(): void {
    for (const [name, connector] of this.#o.connectors) {
      if (!connector.capabilities.watch || !connector.watch) continue;
      const reading = [...this.#o.bindings.values()].filter((b) => b.config.connector === name && b.config.direction !== 'push').map((b) => b.config.name);
      if (reading.length === 0) continue;
      this.#unwatch.push(connector.watch((collections) => this.#woke(reading, collections)));
    }
  }

  /** Notes a wake-up; the runs are queued once `debounceMs` has passed since the first one. */
  #woke(bindings: readonly string[], collections: readonly string[] | undefined): void {
    if (this.#stopping) return;
    for (const name of bindings) {
      const had = this.#woken.get(name);
      if (had === 'all') continue;
      if (collections === undefined) this.#woken.set(name, 'all');
      else this.#woken.set(name, new Set([...(had ?? []), ...collections]));
    }
    this.#wakeTimer ??= setTimeout(() => {
      this.#wakeTimer = undefined;
      this.#waking = this.#waking.then(() => this.#enqueueWoken()).catch((err: unknown) => this.#o.log.warn({ err: (err as Error).message }, 'queueing runs for a connector wake-up'));
    }, this.#o.debounceMs ?? 100);
  }

  async #enqueueWoken(): Promise<void> {
    const woken = [...this.#woken];
    this.#woken.clear();
    for (const [name, collections] of woken) {
      const b = this.#o.bindings.get(name);
      if (b === undefined || this.#stopping) continue;
      const scopes = await scopesOf(this.#o.store, b, this.#o.users);
      for (const s of scopes) if (collections === 'all' || collections.has(collectionFor(b.config, s))) await this.enqueue(name, s);
    }
  }

  #drainSoon(): Promise<void> {
    this.#draining = this.#draining.then(() => this.#drain()).catch((err: unknown) => this.#o.log.warn({ err: (err as Error).message }, 'change feed'));
    return this.#draining;
  }

  async #drain(): Promise<void> {
    for (;;) {
      const changes = await this.#o.store.changes(this.#cursor, 500);
      const pruned = await this.#o.store.prunedThrough();
      if (pruned > this.#cursor) {
        // Changes this engine never saw were pruned: which documents they touched is
        // unknown, so every watched binding runs for every scope (each run compares ETags).
        this.#o.log.warn({ cursor: this.#cursor, prunedThrough: pruned }, 'change feed pruned past the sync cursor: running every binding that follows XCAP changes');
        for (const [name, b] of this.#o.bindings) if (b.config.onXcapChange) await this.enqueue(name, undefined, this.#o.debounceMs ?? 100);
        this.#cursor = pruned;
        if (changes.length === 0) await this.#o.state.setMeta(FEED_CURSOR, String(this.#cursor));
      }
      if (changes.length === 0) return;
      for (const c of changes) await this.#onChange(c);
      this.#cursor = Math.max(this.#cursor, (changes.at(-1) as DocChange).seq);
      await this.#o.state.setMeta(FEED_CURSOR, String(this.#cursor));
    }
  }

  async #onChange(c: DocChange): Promise<void> {
    for (const [name, b] of this.#o.bindings) {
      if (!b.config.onXcapChange || c.origin === `sync:${name}`) continue;
      const scope = scopeOfDoc(b.config, c.key);
      if (scope !== undefined) await this.enqueue(name, scope, this.#o.debounceMs ?? 100);
    }
  }
}

/**
 * Runs `fn` holding the Redis lock of one binding+scope; a held lock is a retryable
 * error (the job backs off). The lock expires on its own if the process dies.
 */
export async function withScopeLock<T>(conn: RedisConnection, prefix: string, binding: string, scope: Scope, fn: () => Promise<T>, ttlMs = 120_000): Promise<T> {
  const key = `${prefix}:sync-lock:${binding}|${scope}`;
  const token = randomUUID();
  if ((await conn.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') throw new RetryableSyncError(`${binding} ${scope} is being synced elsewhere`);
  const renew = setInterval(() => void conn.pexpire(key, ttlMs).catch(() => {}), ttlMs / 3);
  try {
    return await fn();
  } finally {
    clearInterval(renew);
    // Delete only our own lock (it may have expired and been taken by another run).
    await conn.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end", 1, key, token).catch(() => {});
  }
}

async function warnEvictionPolicy(conn: RedisConnection, log: Logger): Promise<void> {
  try {
    const res = (await conn.config('GET', 'maxmemory-policy')) as string[];
    const policy = res[1];
    if (policy !== undefined && policy !== 'noeviction') {
      log.warn({ setting: 'redis maxmemory-policy', policy }, 'Redis maxmemory-policy is not noeviction: queued sync jobs may be evicted; set maxmemory-policy noeviction');
    }
  } catch {
    // CONFIG may be disabled (managed Redis); nothing to check then.
  }
}

/** Errors of the socket itself (as opposed to a command Redis answered with an error). */
function isConnectionError(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  return (typeof code === 'string' && /^E[A-Z]+$/.test(code)) || /connection is closed|connect ETIMEDOUT|Stream isn't writeable/i.test(err.message);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then((v) => (clearTimeout(t), resolve(v)), (e: unknown) => (clearTimeout(t), reject(e)));
  });
}
