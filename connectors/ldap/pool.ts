/**
 * Connections to one directory server, at most `size` open at a time, each used by one
 * request at a time. OpenLDAP keeps one paged search per connection: a second paged
 * search on the same connection invalidates the first one's cookie ("paged results
 * cookie is invalid"), so concurrent searches need connections of their own. A paged
 * search holds its connection until its last page; other requests hold one for their
 * round trip. Callers wait in order when all are busy.
 */
import type { Client } from 'ldapts';

/** One connection lent to a caller until `release()`. */
export interface Lease {
  readonly client: Client;
  /** The connection was open before this lease (a failure may be a connection the server dropped). */
  readonly reused: boolean;
  release(): void;
}

export class ClientPool {
  readonly #size: number;
  readonly #create: () => Client;
  /** Connects (StartTLS, bind) a client that is not ready. */
  readonly #open: (client: Client) => Promise<void>;
  readonly #ready: (client: Client) => boolean;
  readonly #idle: Client[] = [];
  readonly #waiting: ((client: Client) => void)[] = [];
  readonly #all: Client[] = [];

  constructor(options: { size: number; create: () => Client; open: (client: Client) => Promise<void>; ready: (client: Client) => boolean }) {
    this.#size = options.size;
    this.#create = options.create;
    this.#open = options.open;
    this.#ready = options.ready;
  }

  /** Connections made so far (at most `size`). */
  get created(): number {
    return this.#all.length;
  }

  /** A ready connection of the caller's own; give it back with `release()`, also after a failure. */
  async lease(): Promise<Lease> {
    const client = await this.#take();
    const reused = this.#ready(client);
    if (!reused) {
      try {
        await this.#open(client);
      } catch (err) {
        this.#give(client);
        throw err;
      }
    }
    let released = false;
    return {
      client,
      reused,
      release: () => {
        if (released) return;
        released = true;
        this.#give(client);
      },
    };
  }

  /** Runs `fn` on a leased connection and gives it back. */
  async use<T>(fn: (lease: Lease) => Promise<T>): Promise<T> {
    const lease = await this.lease();
    try {
      return await fn(lease);
    } finally {
      lease.release();
    }
  }

  /** Unbinds every connection (idle or not); later leases reconnect. */
  async close(): Promise<void> {
    await Promise.all(this.#all.map((c) => c.unbind().catch(() => {})));
  }

  #take(): Promise<Client> {
    const idle = this.#idle.pop();
    if (idle) return Promise.resolve(idle);
    if (this.#all.length < this.#size) {
      const client = this.#create();
      this.#all.push(client);
      return Promise.resolve(client);
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #give(client: Client): void {
    const next = this.#waiting.shift();
    if (next) next(client);
    else this.#idle.push(client);
  }
}
