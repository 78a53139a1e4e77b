/**
 * A dedicated PostgreSQL connection that LISTENs on one channel and quietly reconnects,
 * with capped exponential backoff, whenever it drops. Notifications sent while it was
 * down are lost; `onReconnected` lets the owner catch up from its own records.
 */
import type pg from 'pg';

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

export interface ListenerOptions {
  /** Makes a new, unconnected client (same server and database as the store's pool). */
  readonly newClient: () => pg.Client;
  /** A plain identifier (it is not quoted). */
  readonly channel: string;
  readonly onPayload: (payload: string) => void;
  /** Called after a lost connection is back and listening again. */
  readonly onReconnected: () => void;
}

export class PgListener {
  readonly #options: ListenerOptions;
  #client: pg.Client | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #retryMs = FIRST_RETRY_MS;
  #closed = false;

  constructor(options: ListenerOptions) {
    this.#options = options;
  }

  /** Connects and listens; rejects if the first connection fails. */
  start(): Promise<void> {
    return this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = this.#options.newClient();
    // A client that is not (or no longer) the current one may still emit; those events are ignored.
    client.on('error', () => this.#lost(client));
    client.on('end', () => this.#lost(client));
    client.on('notification', (msg) => {
      if (client === this.#client && msg.channel === this.#options.channel && msg.payload !== undefined) {
        this.#options.onPayload(msg.payload);
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.#options.channel}`);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
  }

  #lost(client: pg.Client): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    client.end().catch(() => {});
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connect().then(
        () => {
          this.#retryMs = FIRST_RETRY_MS;
          if (!this.#closed) this.#options.onReconnected();
        },
        () => {
          this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
          this.#scheduleReconnect();
        },
      );
    }, this.#retryMs);
    this.#timer.unref();
  }
}
