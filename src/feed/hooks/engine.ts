/**
 * Webhooks and presence-server refresh hooks, fed by the store's change feed and delivered
 * through BullMQ on the sync Redis.
 *
 * - **One dispatcher at a time.** Every process that runs it competes for a Redis lock
 *   (`<prefix>:feed-leader`, renewed while held, expiring if the holder dies); the holder
 *   reads the feed from a cursor kept in the database (`sync_meta` row `hooks-cursor`) and
 *   appends each matching change to an outbox. So hooks fire from exactly one process,
 *   whichever wrote the change, and a new holder resumes where the last one saved.
 * - **Outboxes.** One Redis list per target and group (webhooks: per document; presence
 *   servers: per user) plus one BullMQ job per list, deduplicated by its id, so one job at
 *   a time works a list, in order: a webhook delivery waits for the one before it to the
 *   same document (ordered per document), and a presence server's job takes every change
 *   of the user queued so far (coalesced per user; the job is delayed by `coalesceMs`).
 *   An item leaves its list only once delivered: at least once.
 * - **Retries.** A failed delivery or call fails the job; BullMQ retries it with
 *   exponential backoff (`changeFeed.delivery`). The failure is recorded per target
 *   (status.ts) for `sync status` and the admin API. XCAP never waits for any of this.
 * - **Pruned past the cursor.** Webhooks get one full-state delivery (id `full-<position>`),
 *   presence servers a refresh of every user with a relevant document.
 */
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../log.ts';
import { docKeyString, type DocChange, type DocumentStore } from '../../store/types.ts';
import { SyncState } from '../../sync/state.ts';
import type { FeedClock } from '../clock.ts';
import type { ChangeFeedConfig, PresenceServerConfig, WebhookConfig } from '../config.ts';
import { compileFilter, type CompiledFilter } from '../filter.ts';
import { foldChange, xcapDiffBody, XCAP_DIFF_TYPE, type DiffEntry, type PendingDiff } from '../xcap-diff.ts';
import { jsonRpc, presenceCalls, presenceRelevant } from './presence-calls.ts';
import { signatureHeaders } from './signature.ts';
import { HookStatusTable } from './status.ts';

export const HOOKS_QUEUE = 'feed-hooks';
export const HOOKS_CURSOR = 'hooks-cursor';
const LOCK_TTL_MS = 15_000;
/** Longest a success goes unrecorded (status.ts) while nothing fails. */
const OK_WRITE_MS = 5000;

export interface FeedHooksOptions {
  readonly store: DocumentStore;
  readonly config: ChangeFeedConfig;
  /** Absolute XCAP root written in bodies (asked per body: the port may be known only once listening). */
  readonly xcapRoot: () => string;
  readonly redisUrl: string;
  readonly prefix: string;
  readonly clock: FeedClock;
  readonly log: Logger;
}

export interface FeedHooks {
  stop(): Promise<void>;
}

type JobData = { target: string; group: string };
type Target =
  | { readonly kind: 'webhook'; readonly name: string; readonly filter: CompiledFilter; readonly webhook: WebhookConfig }
  | { readonly kind: 'presence'; readonly name: string; readonly filter: CompiledFilter; readonly server: PresenceServerConfig };
/** A webhook outbox item. */
type Delivery = { id: string; body: string };
/** A presence outbox item. */
type Touch = { key: DiffEntry['key']; previousEtag: string | null; newEtag: string | null; seq: number };

/** Starts dispatcher and workers when webhooks or presence servers are configured; `undefined` otherwise. */
export async function startFeedHooks(o: FeedHooksOptions): Promise<FeedHooks | undefined> {
  const targets: Target[] = [
    ...o.config.webhooks.map((w) => ({ kind: 'webhook' as const, name: w.name, filter: compileFilter(w.filter), webhook: w })),
    ...o.config.presenceServers.map((s) => ({ kind: 'presence' as const, name: s.name, filter: compileFilter(s.filter), server: s })),
  ];
  if (targets.length === 0) return undefined;
  const hooks = new Hooks(o, targets, await HookStatusTable.open(o.store.sql), await SyncState.open(o.store.sql));
  await hooks.start();
  return hooks;
}

class Hooks implements FeedHooks {
  readonly #o: FeedHooksOptions;
  readonly #targets: ReadonlyMap<string, Target>;
  readonly #status: HookStatusTable;
  readonly #meta: SyncState;
  readonly #conn: Redis;
  readonly #queue: Queue;
  #worker: Worker<JobData> | undefined;
  readonly #token = randomUUID();
  #leader = false;
  #cursor = 0;
  #chain: Promise<void> = Promise.resolve();
  #queued = false;
  #cancelPoll: (() => void) | undefined;
  #unsubscribe: (() => void) | undefined;
  #lastRenew = 0;
  #stopped = false;
  #rpcId = 0;
  #warned = false;
  /** Targets whose last recorded attempt in this process failed. */
  readonly #failing = new Set<string>();
  /** When this process last recorded a success per target. */
  readonly #okWritten = new Map<string, number>();

  constructor(o: FeedHooksOptions, targets: Target[], status: HookStatusTable, meta: SyncState) {
    this.#o = o;
    this.#targets = new Map(targets.map((t) => [t.name, t]));
    this.#status = status;
    this.#meta = meta;
    this.#conn = new Redis(o.redisUrl, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 200, 2000) });
    this.#conn.on('error', (err: Error) => this.#warnOnce(err));
    this.#queue = new Queue(HOOKS_QUEUE, { connection: this.#conn, prefix: o.prefix });
    this.#queue.on('error', (err: Error) => this.#warnOnce(err));
  }

  async start(): Promise<void> {
    // The position to start from is fixed now, before any request is served, so the first change is not skipped.
    if ((await this.#meta.getMeta(HOOKS_CURSOR)) === undefined) await this.#meta.setMeta(HOOKS_CURSOR, String(await this.#o.store.lastSeq()));
    const worker = new Worker<JobData>(HOOKS_QUEUE, (job) => this.#process(job), {
      connection: this.#conn.duplicate(),
      prefix: this.#o.prefix,
      concurrency: this.#o.config.delivery.concurrency,
    });
    worker.on('error', (err) => this.#warnOnce(err));
    this.#worker = worker;
    this.#unsubscribe = this.#o.store.subscribe(() => this.#dispatchSoon());
    this.#poll();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancelPoll?.();
    this.#unsubscribe?.();
    await this.#chain;
    await this.#worker?.close();
    if (this.#leader) {
      await this.#conn.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end", 1, this.#lockKey, this.#token).catch(() => {});
    }
    await this.#queue.close();
    this.#conn.disconnect();
  }

  #warnOnce(err: Error): void {
    if (this.#warned) return;
    this.#warned = true;
    this.#o.log.warn({ err: err.message }, 'Redis unreachable: webhooks and presence hooks wait until it is back; XCAP keeps serving');
  }

  get #lockKey(): string {
    return `${this.#o.prefix}:feed-leader`;
  }

  #outboxKey(target: string, group: string): string {
    return `${this.#o.prefix}:feed-outbox:${target}|${group}`;
  }

  #poll(): void {
    if (this.#stopped) return;
    this.#cancelPoll = this.#o.clock.setTimeout(() => {
      this.#dispatchSoon();
      void this.#chain.finally(() => this.#poll());
    }, this.#o.config.pollMs);
  }

  #dispatchSoon(): void {
    if (this.#queued || this.#stopped) return;
    this.#queued = true;
    this.#chain = this.#chain
      .then(async () => {
        this.#queued = false;
        if (await this.#holdLock()) await this.#dispatch();
      })
      .catch((err: unknown) => this.#o.log.warn({ err: (err as Error).message }, 'hook dispatcher: will retry'));
  }

  /** Takes or renews the dispatcher lock; true while this process holds it. */
  async #holdLock(): Promise<boolean> {
    const now = this.#o.clock.now();
    if (this.#leader && now - this.#lastRenew < LOCK_TTL_MS / 3) return true;
    if (this.#leader) {
      const kept = await this.#conn.eval(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end",
        1, this.#lockKey, this.#token, LOCK_TTL_MS,
      );
      this.#leader = kept === 1;
    } else {
      this.#leader = (await this.#conn.set(this.#lockKey, this.#token, 'PX', LOCK_TTL_MS, 'NX')) === 'OK';
      if (this.#leader) this.#cursor = Number((await this.#meta.getMeta(HOOKS_CURSOR)) ?? 0);
    }
    if (this.#leader) this.#lastRenew = now;
    return this.#leader;
  }

  async #dispatch(): Promise<void> {
    for (;;) {
      const changes = await this.#o.store.changes(this.#cursor, 500);
      const pruned = await this.#o.store.prunedThrough();
      if (pruned > this.#cursor) {
        this.#o.log.warn({ cursor: this.#cursor, prunedThrough: pruned }, 'change feed pruned past the hook cursor: sending full state');
        await this.#fullState(pruned);
        this.#cursor = pruned;
        await this.#meta.setMeta(HOOKS_CURSOR, String(this.#cursor));
      }
      const fresh = changes.filter((c) => c.seq > this.#cursor);
      if (fresh.length === 0) return;
      // Sent without waiting one by one: the commands still leave in order on one connection,
      // so each outbox keeps the feed's order.
      await Promise.all(fresh.flatMap((c) => this.#route(c)));
      this.#cursor = (fresh.at(-1) as DocChange).seq;
      await this.#meta.setMeta(HOOKS_CURSOR, String(this.#cursor));
      if (changes.length < 500) return;
    }
  }

  /** The outbox appends `c` makes, one per target its filter covers. */
  #route(c: DocChange): Promise<void>[] {
    const pushes: Promise<void>[] = [];
    for (const t of this.#targets.values()) {
      if (!t.filter.matches(c.key)) continue;
      if (t.kind === 'webhook') {
        const item: Delivery = { id: String(c.seq), body: xcapDiffBody(this.#o.xcapRoot(), [{ key: c.key, previousEtag: c.oldEtag, newEtag: c.newEtag }]) };
        pushes.push(this.#push(t, docKeyString(c.key), JSON.stringify(item), 0));
      } else if (c.key.xui !== null && presenceRelevant(c.key.auid)) {
        const item: Touch = { key: c.key, previousEtag: c.oldEtag, newEtag: c.newEtag, seq: c.seq };
        pushes.push(this.#push(t, c.key.xui, JSON.stringify(item), t.server.coalesceMs));
      }
    }
    return pushes;
  }

  async #fullState(position: number): Promise<void> {
    const docs: DiffEntry[] = [];
    for await (const d of this.#o.store.list()) docs.push({ key: d.key, previousEtag: null, newEtag: d.etag });
    for (const t of this.#targets.values()) {
      const mine = docs.filter((d) => t.filter.matches(d.key));
      if (t.kind === 'webhook') {
        await this.#push(t, '*full-state*', JSON.stringify({ id: `full-${position}`, body: xcapDiffBody(this.#o.xcapRoot(), mine) } satisfies Delivery), 0);
        continue;
      }
      for (const d of mine) {
        if (d.key.xui === null || !presenceRelevant(d.key.auid)) continue;
        await this.#push(t, d.key.xui, JSON.stringify({ ...d, seq: position } satisfies Touch), t.server.coalesceMs);
      }
    }
  }

  async #push(t: Target, group: string, item: string, delay: number): Promise<void> {
    await this.#conn.rpush(this.#outboxKey(t.name, group), item);
    const { attempts, backoffMs } = this.#o.config.delivery;
    await this.#queue.add(t.kind, { target: t.name, group } satisfies JobData, {
      deduplication: { id: `${t.name}|${group}`, keepLastIfActive: true },
      attempts,
      backoff: { type: 'exponential', delay: backoffMs },
      removeOnComplete: true,
      removeOnFail: 1000,
      ...(delay > 0 ? { delay } : {}),
    });
  }

  async #process(job: Job<JobData>): Promise<void> {
    const t = this.#targets.get(job.data.target);
    if (!t) return; // A target no longer configured: its outbox is left alone.
    const kind = t.kind === 'webhook' ? 'webhook' : t.server.kind;
    // One worker per outbox at a time, whatever BullMQ does with retried and replaced jobs:
    // two would deliver the same head item and then drop two.
    const lock = `${this.#o.prefix}:feed-lock:${t.name}|${job.data.group}`;
    const token = randomUUID();
    if ((await this.#conn.set(lock, token, 'PX', 120_000, 'NX')) !== 'OK') throw new Error(`${t.name} ${job.data.group} is being delivered by another worker`);
    try {
      if (t.kind === 'webhook') await this.#deliverWebhooks(t.webhook, job.data.group);
      else await this.#refreshPresence(t.server, job.data.group);
      await this.#recordOk(t.name, kind);
    } catch (err) {
      this.#failing.add(t.name);
      await this.#status.failed(t.name, kind, Date.now(), (err as Error).message).catch(() => {});
      throw err;
    } finally {
      await this.#conn.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end", 1, lock, token).catch(() => {});
    }
  }

  /**
   * A success is written when it ends a failure, else at most every OK_WRITE_MS per target:
   * a database write per delivery would cost more than the delivery.
   */
  async #recordOk(target: string, kind: 'webhook' | 'kamailio' | 'opensips'): Promise<void> {
    const now = Date.now();
    if (!this.#failing.has(target) && now - (this.#okWritten.get(target) ?? 0) < OK_WRITE_MS) return;
    this.#failing.delete(target);
    this.#okWritten.set(target, now);
    await this.#status.ok(target, kind, now);
  }

  /** Delivers the document's outbox in order; an item leaves only once the endpoint took it. */
  async #deliverWebhooks(w: WebhookConfig, group: string): Promise<void> {
    const key = this.#outboxKey(w.name, group);
    for (;;) {
      const items = await this.#conn.lrange(key, 0, 49);
      if (items.length === 0) return;
      for (const raw of items) {
        const item = JSON.parse(raw) as Delivery;
        await postWebhook(w, item);
        await this.#conn.lpop(key);
      }
    }
  }

  /** Calls the server once for every change of `user` queued so far; they leave the outbox only once all calls succeeded. */
  async #refreshPresence(s: PresenceServerConfig, user: string): Promise<void> {
    const key = this.#outboxKey(s.name, user);
    const items = await this.#conn.lrange(key, 0, -1);
    if (items.length === 0) return;
    const folded: PendingDiff = new Map();
    for (const raw of items) {
      const t = JSON.parse(raw) as Touch;
      foldChange(folded, { seq: t.seq, key: t.key, oldEtag: t.previousEtag, newEtag: t.newEtag, origin: '', at: 0 });
    }
    for (const call of presenceCalls(s, user, [...folded.values()], this.#o.xcapRoot())) {
      await jsonRpc(s.url, call, ++this.#rpcId, s.timeoutMs);
    }
    await this.#conn.ltrim(key, items.length, -1);
  }
}

/** One signed POST; anything but 2xx is a failure (the job retries). */
async function postWebhook(w: WebhookConfig, item: Delivery): Promise<void> {
  const headers = { 'Content-Type': XCAP_DIFF_TYPE, ...signatureHeaders(w.secret, item.id, Math.floor(Date.now() / 1000), item.body) };
  let res: Response;
  try {
    res = await fetch(w.url, { method: 'POST', headers, body: item.body, signal: AbortSignal.timeout(w.timeoutMs) });
  } catch (err) {
    throw new Error(`webhook ${w.name}: ${w.url} unreachable (${(err as Error).message})`, { cause: err });
  }
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status > 299) throw new Error(`webhook ${w.name}: ${w.url} answered ${res.status}`);
}
