/**
 * Whether the sync queue's Redis answers, for a readiness check in any process (the HTTP
 * workers of `serve --workers N` do not run the sync engine but still answer /readyz).
 * One connection of its own, opened on first use, that never queues commands: a probe must
 * answer at once, not when Redis comes back. On a cluster (`redis.cluster`) it connects to
 * the cluster, as the queue does, and asks one of its nodes.
 */
import { safeUrl } from '../log.ts';
import { createRedisConnection, isCluster, type RedisConnection, type RedisTarget } from './redis-connection.ts';

/** Milliseconds a probe waits for the connection or for PONG. */
const WAIT_MS = 1000;

export class RedisProbe {
  readonly #target: RedisTarget;
  #conn: RedisConnection | undefined;
  #lastError: string | undefined;

  constructor(target: RedisTarget) {
    this.#target = target;
  }

  /** `null` when Redis answered PING, else why not (without the URL's password). */
  async check(): Promise<string | null> {
    const conn = this.#connection();
    try {
      if (conn.status !== 'ready') await waitReady(conn);
      await within(conn.ping(), 'no PONG');
      return null;
    } catch (err) {
      return `${this.#where()} does not answer: ${this.#lastError ?? (err as Error).message}`;
    }
  }

  close(): void {
    this.#conn?.disconnect();
    this.#conn = undefined;
  }

  /** The target as a probe names it, without passwords. */
  #where(): string {
    const t = this.#target;
    return isCluster(t) ? `Redis Cluster at ${(t.cluster ?? []).map((n) => (/^rediss?:\/\//.test(n) ? safeUrl(n) : n)).join(', ')}` : `Redis at ${safeUrl(t.url)}`;
  }

  #connection(): RedisConnection {
    if (this.#conn) return this.#conn;
    const conn = createRedisConnection(this.#target, { enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: WAIT_MS, retryStrategy: () => WAIT_MS });
    conn.on('error', (err: Error) => (this.#lastError = err.message));
    conn.on('ready', () => (this.#lastError = undefined));
    this.#conn = conn;
    return conn;
  }
}

function waitReady(conn: RedisConnection): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const ready = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      conn.off('ready', ready);
      reject(new Error(`not connected within ${WAIT_MS} ms`));
    }, WAIT_MS);
    conn.once('ready', ready);
  });
}

function within<T>(p: Promise<T>, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} within ${WAIT_MS} ms`)), WAIT_MS);
    p.then((v) => (clearTimeout(t), resolve(v)), (e: unknown) => (clearTimeout(t), reject(e)));
  });
}
