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
 *   servers: per user). An item leaves its list only once delivered: at least once. One
 *   worker at a time works a list (a Redis lock per list), in order: a webhook delivery
 *   waits for the one before it to the same document (ordered per document).
 * - **Jobs.** Webhooks: one BullMQ job per endpoint and dispatched batch (up to 500
 *   changes), naming the documents the batch touched; the job drains their outboxes,
 *   `delivery.concurrency` documents at once, over keep-alive connections. A BullMQ job
 *   per delivery cost ~10 Redis round trips each and capped an endpoint near 150/s here.
 *   Presence servers: one job per user, deduplicated and delayed by `coalesceMs`, which
 *   takes every change of the user queued so far (coalesced per user).
 * - **Retries.** A failed delivery or call fails the job; BullMQ retries it with
 *   exponential backoff (`changeFeed.delivery`). The failure is recorded per target
 *   (status.ts) for `sync status` and the admin API. XCAP never waits for any of this.
 * - **Pruned past the cursor.** Webhooks get one full-state delivery (id `full-<position>`),
 *   presence servers a refresh of every user with a relevant document.
 * - **Held for the legacy table.** With `legacy:` the presence server reads a user's
 *   documents from its own `xcap` table, which the legacy mirror writes after the store:
 *   a refresh sent before the row is written would re-read the old document. So the
 *   dispatcher announces changes only up to the position the mirror has written
 *   (`heldUntil`, the `legacy-cursor` meta row), webhooks included (one cursor, one order).
 */
import { Queue, Worker, type Job } from 'bullmq';
import { Cluster } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Logger } from '../../log.ts';
import { docKeyString, type DocChange, type DocumentStore } from '../../store/types.ts';
import { createRedisConnection, queuePrefix, type RedisConnection, type RedisTarget } from '../../sync/redis-connection.ts';
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
/** How long an outbox lock outlives its last renewal (a worker that died releases nothing). */
const OUTBOX_LOCK_MS = 120_000;
/** Webhook items taken from an outbox per Redis round trip. */
const CHUNK = 50;
/**
 * Takes an outbox: its lock and first CHUNK items, or nil when another worker holds it.
 * An empty outbox is not kept locked.
 */
const TAKE_LUA = `if not redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return false end
local items = redis.call('lrange', KEYS[2], 0, ARGV[3] - 1)
if #items == 0 then redis.call('del', KEYS[1]) end
return items`;
/**
 * Drops the ARGV[2] delivered items; then either releases the outbox (ARGV[5] = 'stop') or
 * returns the next items, releasing it when there are none. The release and the emptiness
 * check are one step, so an item appended meanwhile is never left without a worker. Nil
 * when the lock was lost (expired and taken): the new holder delivers, and nothing is trimmed.
 */
const ACK_LUA = `if redis.call('get', KEYS[1]) ~= ARGV[1] then return false end
redis.call('ltrim', KEYS[2], ARGV[2], -1)
if ARGV[5] == 'stop' then redis.call('del', KEYS[1]) return {} end
local items = redis.call('lrange', KEYS[2], 0, ARGV[4] - 1)
if #items == 0 then redis.call('del', KEYS[1]) else redis.call('pexpire', KEYS[1], ARGV[3]) end
return items`;

export interface FeedHooksOptions {
  readonly store: DocumentStore;
  readonly config: ChangeFeedConfig;
  /** Absolute XCAP root written in bodies (asked per body: the port may be known only once listening). */
  readonly xcapRoot: () => string;
  /** The sync queue's Redis (a single server or a cluster). */
  readonly redis: RedisTarget;
  /** The configured key prefix (a hash tag on a cluster, as the sync queue's: every key below is in one slot). */
  readonly prefix: string;
  readonly clock: FeedClock;
  readonly log: Logger;
  /**
   * The feed position through which changes may be announced (their side effects the
   * targets depend on are done: the legacy mirror wrote their rows); every change when absent.
   */
  readonly heldUntil?: () => Promise<number>;
}

export interface FeedHooks {
  stop(): Promise<void>;
}

/** Presence: one user. Webhooks: the documents one dispatched batch touched. */
type JobData = { target: string; group: string } | { target: string; groups: string[] };
/** The Redis connection with the outbox scripts defined on it (both keys of a script share the prefix's slot). */
type OutboxRedis = RedisConnection & {
  feedTake(lock: string, outbox: string, token: string, ttl: number, chunk: number): Promise<string[] | null>;
  feedAck(lock: string, outbox: string, token: string, delivered: number, ttl: number, chunk: number, next: 'more' | 'stop'): Promise<string[] | null>;
};
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
  readonly #conn: OutboxRedis;
  readonly #queue: Queue;
  /** Keep-alive connections per webhook, at most `delivery.concurrency` each. */
  readonly #agents = new Map<string, HttpAgent>();
  #worker: Worker<JobData> | undefined;
  /** The worker's connection: BullMQ leaves a connection it was given open, so stop() closes it. */
  #workerConn: RedisConnection | undefined;
  readonly #token = randomUUID();
  /** Prefix of every key and of the BullMQ queue: `queuePrefix` of the configured one. */
  readonly #prefix: string;
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
    this.#prefix = queuePrefix(o.prefix, o.redis);
    this.#conn = createRedisConnection(o.redis, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 200, 2000) }) as OutboxRedis;
    this.#conn.defineCommand('feedTake', { numberOfKeys: 2, lua: TAKE_LUA });
    this.#conn.defineCommand('feedAck', { numberOfKeys: 2, lua: ACK_LUA });
    for (const t of targets) {
      if (t.kind !== 'webhook') continue;
      const agentOptions = { keepAlive: true, maxSockets: o.config.delivery.concurrency };
      this.#agents.set(t.name, /^https:/i.test(t.webhook.url) ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions));
    }
    this.#conn.on('error', (err: Error) => this.#warnOnce(err));
    this.#queue = new Queue(HOOKS_QUEUE, { connection: this.#conn, prefix: this.#prefix });
    this.#queue.on('error', (err: Error) => this.#warnOnce(err));
  }

  async start(): Promise<void> {
    // The position to start from is fixed now, before any request is served, so the first change is not skipped.
    if ((await this.#meta.getMeta(HOOKS_CURSOR)) === undefined) await this.#meta.setMeta(HOOKS_CURSOR, String(await this.#o.store.lastSeq()));
    this.#workerConn = this.#conn instanceof Cluster ? this.#conn.duplicate() : this.#conn.duplicate();
    const worker = new Worker<JobData>(HOOKS_QUEUE, (job) => this.#process(job), {
      connection: this.#workerConn,
      prefix: this.#prefix,
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
    this.#workerConn?.disconnect();
    if (this.#leader) {
      await this.#release(this.#lockKey, this.#token);
    }
    await this.#queue.close();
    this.#conn.disconnect();
    for (const a of this.#agents.values()) a.destroy();
  }

  /** Deletes lock `key` if `token` still holds it; Redis being away is ignored (the lock expires). */
  async #release(key: string, token: string): Promise<void> {
    await this.#conn.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end", 1, key, token).catch(() => {});
  }

  #warnOnce(err: Error): void {
    if (this.#warned) return;
    this.#warned = true;
    this.#o.log.warn({ err: err.message }, 'Redis unreachable: webhooks and presence hooks wait until it is back; XCAP keeps serving');
  }

  get #lockKey(): string {
    return `${this.#prefix}:feed-leader`;
  }

  #outboxKey(target: string, group: string): string {
    return `${this.#prefix}:feed-outbox:${target}|${group}`;
  }

  #lockKeyOf(target: string, group: string): string {
    return `${this.#prefix}:feed-lock:${target}|${group}`;
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
      const ready = this.#o.heldUntil === undefined ? Infinity : await this.#o.heldUntil();
      const fresh = changes.filter((c) => c.seq > this.#cursor && c.seq <= ready);
      // Held changes are looked at again on the next poll (every POLL_MS), once the mirror moved on.
      if (fresh.length === 0) return;
      // Sent without waiting one by one: the commands still leave in order on one connection,
      // so each outbox keeps the feed's order.
      const touched = new Map<string, Set<string>>();
      await Promise.all(fresh.flatMap((c) => this.#route(c, touched)));
      await Promise.all([...touched].map(([target, groups]) => this.#addBatch(target, [...groups])));
      this.#cursor = (fresh.at(-1) as DocChange).seq;
      await this.#meta.setMeta(HOOKS_CURSOR, String(this.#cursor));
      if (changes.length < 500 || fresh.length < changes.length) return;
    }
  }

  /**
   * The outbox appends `c` makes, one per target its filter covers. Webhook outboxes get
   * their job per batch (`#addBatch`): their groups are collected in `touched`.
   */
  #route(c: DocChange, touched: Map<string, Set<string>>): Promise<unknown>[] {
    const pushes: Promise<unknown>[] = [];
    for (const t of this.#targets.values()) {
      if (!t.filter.matches(c.key)) continue;
      if (t.kind === 'webhook') {
        const item: Delivery = { id: String(c.seq), body: xcapDiffBody(this.#o.xcapRoot(), [{ key: c.key, previousEtag: c.oldEtag, newEtag: c.newEtag }]) };
        const group = docKeyString(c.key);
        pushes.push(this.#conn.rpush(this.#outboxKey(t.name, group), JSON.stringify(item)));
        let groups = touched.get(t.name);
        if (!groups) touched.set(t.name, (groups = new Set()));
        groups.add(group);
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
        await this.#conn.rpush(this.#outboxKey(t.name, FULL_STATE), JSON.stringify({ id: `full-${position}`, body: xcapDiffBody(this.#o.xcapRoot(), mine) } satisfies Delivery));
        await this.#addBatch(t.name, [FULL_STATE]);
        continue;
      }
      for (const d of mine) {
        if (d.key.xui === null || !presenceRelevant(d.key.auid)) continue;
        await this.#push(t, d.key.xui, JSON.stringify({ ...d, seq: position } satisfies Touch), t.server.coalesceMs);
      }
    }
  }

  /** Appends to a presence outbox and schedules its user's (deduplicated, delayed) job. */
  async #push(t: Target, group: string, item: string, delay: number): Promise<void> {
    await this.#conn.rpush(this.#outboxKey(t.name, group), item);
    await this.#queue.add(t.kind, { target: t.name, group } satisfies JobData, {
      ...this.#retries(),
      deduplication: { id: `${t.name}|${group}`, keepLastIfActive: true },
      ...(delay > 0 ? { delay } : {}),
    });
  }

  /** One job delivering the outboxes of `groups` (already appended to) to webhook `target`. */
  async #addBatch(target: string, groups: string[]): Promise<void> {
    await this.#queue.add('webhook', { target, groups } satisfies JobData, this.#retries());
  }

  #retries() {
    const { attempts, backoffMs } = this.#o.config.delivery;
    return { attempts, backoff: { type: 'exponential', delay: backoffMs }, removeOnComplete: true, removeOnFail: 1000 };
  }

  async #process(job: Job<JobData>): Promise<void> {
    const t = this.#targets.get(job.data.target);
    if (!t) return; // A target no longer configured: its outbox is left alone.
    const kind = t.kind === 'webhook' ? 'webhook' : t.server.kind;
    try {
      if (t.kind === 'webhook') await this.#deliverBatch(t.webhook, job);
      else await this.#refreshPresence(t.server, (job.data as { group: string }).group);
      await this.#recordOk(t.name, kind);
    } catch (err) {
      if (err instanceof OutboxBusy) throw err;
      this.#failing.add(t.name);
      await this.#status.failed(t.name, kind, Date.now(), (err as Error).message).catch(() => {});
      throw err;
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

  /**
   * Drains the outboxes of the job's documents, `delivery.concurrency` at once. Those not
   * drained (a failed delivery, or another worker holding the outbox) stay in the job for
   * its retry, and only they: a retry does not repeat what was delivered.
   */
  async #deliverBatch(w: WebhookConfig, job: Job<JobData>): Promise<void> {
    // A job queued by a version that made one job per document names one group.
    const groups = 'groups' in job.data ? job.data.groups : [job.data.group];
    const left: string[] = [];
    let failure: Error | undefined;
    let next = 0;
    const lane = async () => {
      while (next < groups.length) {
        const group = groups[next++] as string;
        try {
          if (await this.#drainOutbox(w, group)) continue;
        } catch (err) {
          failure ??= err as Error;
        }
        left.push(group);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#o.config.delivery.concurrency, groups.length) }, lane));
    if (left.length === 0) return;
    await job.updateData({ target: w.name, groups: left });
    throw failure ?? new OutboxBusy(`${w.name}: ${left.length} document(s) being delivered by another worker`);
  }

  /**
   * Delivers one document's outbox in order; an item leaves only once the endpoint took it.
   * False when another worker holds the outbox: it delivers what is queued unless it fails,
   * in which case its own job retries.
   */
  async #drainOutbox(w: WebhookConfig, group: string): Promise<boolean> {
    const lock = this.#lockKeyOf(w.name, group);
    const key = this.#outboxKey(w.name, group);
    const token = randomUUID();
    const agent = this.#agents.get(w.name) as HttpAgent;
    let items = await this.#conn.feedTake(lock, key, token, OUTBOX_LOCK_MS, CHUNK);
    if (items === null) return false;
    while (items !== null && items.length > 0) {
      let delivered = 0;
      try {
        for (const raw of items) {
          await postWebhook(w, agent, JSON.parse(raw) as Delivery);
          delivered++;
        }
      } catch (err) {
        await this.#conn.feedAck(lock, key, token, delivered, OUTBOX_LOCK_MS, CHUNK, 'stop').catch(() => null);
        throw err;
      }
      items = await this.#conn.feedAck(lock, key, token, delivered, OUTBOX_LOCK_MS, CHUNK, 'more');
    }
    return true;
  }

  /** Calls the server once for every change of `user` queued so far; they leave the outbox only once all calls succeeded. */
  async #refreshPresence(s: PresenceServerConfig, user: string): Promise<void> {
    // One worker per outbox at a time, whatever BullMQ does with retried and replaced jobs:
    // two would call for the same items and then drop them twice.
    const lock = this.#lockKeyOf(s.name, user);
    const token = randomUUID();
    if ((await this.#conn.set(lock, token, 'PX', OUTBOX_LOCK_MS, 'NX')) !== 'OK') throw new Error(`${s.name} ${user} is being delivered by another worker`);
    try {
      await this.#callPresence(s, user);
    } finally {
      await this.#release(lock, token);
    }
  }

  async #callPresence(s: PresenceServerConfig, user: string): Promise<void> {
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

/** The group of a webhook's full-state delivery (not a document key: those have no `*`). */
const FULL_STATE = '*full-state*';

/** Another worker holds the outbox: retried, but not a failure of the endpoint. */
class OutboxBusy extends Error {
  override readonly name = 'OutboxBusy';
}

/**
 * One signed POST over the webhook's keep-alive agent; anything but 2xx, or no answer
 * within `timeoutMs`, is a failure (the job retries). node:http with an agent of our own
 * rather than fetch: the agent bounds the connections per endpoint (`maxSockets`) and
 * keeps them open between deliveries.
 */
function postWebhook(w: WebhookConfig, agent: HttpAgent, item: Delivery): Promise<void> {
  const body = Buffer.from(item.body);
  const headers = { 'Content-Type': XCAP_DIFF_TYPE, 'Content-Length': String(body.length), ...signatureHeaders(w.secret, item.id, Math.floor(Date.now() / 1000), item.body) };
  const send = /^https:/i.test(w.url) ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(w.url, { method: 'POST', headers, agent, timeout: w.timeoutMs }, (res) => {
      res.resume();
      res.once('error', (err) => reject(new Error(`webhook ${w.name}: ${w.url} broke off its answer (${err.message})`)));
      res.once('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status <= 299) resolve();
        else reject(new Error(`webhook ${w.name}: ${w.url} answered ${status}`));
      });
    });
    req.once('timeout', () => req.destroy(new Error(`no answer within ${w.timeoutMs} ms`)));
    req.once('error', (err) => reject(new Error(`webhook ${w.name}: ${w.url} unreachable (${err.message})`, { cause: err })));
    req.end(body);
  });
}
