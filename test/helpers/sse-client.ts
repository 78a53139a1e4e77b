/**
 * A server-sent events client for GET /xcap-diff: logs in with Digest (one 401 round
 * trip, as phones do), then parses the stream as it arrives. `pause()` stops reading the
 * socket, which is how a slow client looks to the server.
 */
import { request, type IncomingMessage, type ClientRequest } from 'node:http';
import { digestHeader, parseChallenges, rawRequest, type Credentials } from './digest-client.ts';

export interface SseEvent {
  readonly id: string | undefined;
  readonly data: string;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  status = 0;
  #res: IncomingMessage | undefined;
  #req: ClientRequest | undefined;
  #buffer = '';
  #ended = false;

  /** Opens `url` (absolute) as `creds`; resolves once the response headers are in. */
  static async open(url: string, creds: Credentials | undefined, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient();
    let auth: string | undefined;
    if (creds) {
      const first = await rawRequest('GET', url, headers);
      if (first.status !== 401) {
        c.status = first.status;
        return c;
      }
      const ch = parseChallenges(first.headers)[0];
      if (!ch) throw new Error('no challenge');
      const u = new URL(url);
      auth = digestHeader(ch, creds, 'GET', u.pathname + u.search, 1);
    }
    await c.#connect(url, { ...headers, ...(auth ? { Authorization: auth } : {}) });
    return c;
  }

  #connect(url: string, headers: Record<string, string>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#req = request(url, { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
        this.#res = res;
        this.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => this.#parse(chunk));
        res.on('end', () => (this.#ended = true));
        res.on('error', () => (this.#ended = true));
        resolve();
      });
      this.#req.on('error', reject);
      this.#req.end();
    });
  }

  get ended(): boolean {
    return this.#ended;
  }

  #parse(chunk: string): void {
    this.#buffer += chunk;
    for (let end = this.#buffer.indexOf('\n\n'); end !== -1; end = this.#buffer.indexOf('\n\n')) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
        else if (line.startsWith('id: ')) id = line.slice(4);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length) this.events.push({ id, data: data.join('\n') });
    }
  }

  pause(): void {
    this.#res?.pause();
  }

  resume(): void {
    this.#res?.resume();
  }

  close(): void {
    this.#req?.destroy();
    this.#res?.destroy();
  }
}
