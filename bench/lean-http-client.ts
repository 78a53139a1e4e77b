/**
 * A minimal keep-alive HTTP/1.1 client over one `node:net` socket, one request at a time, for
 * the soak bench. It exists because the bench shares the machine's cores with `serve`: node's
 * http client (an Agent per connection, an IncomingMessage and a Headers per answer) took
 * about half as much CPU per request as `serve` itself, CPU the server then lacked. This one
 * writes each request as one string and reads only what the bench looks at: the status line,
 * ETag, WWW-Authenticate, X-Request-Id, and what delimits the body (Content-Length, chunked
 * Transfer-Encoding, Connection: close), skipping the body itself.
 */
import { connect, type Socket } from 'node:net';

export interface LeanAnswer {
  status: number;
  etag: string | undefined;
  /** Repeated headers joined by ", ", as node's http does. */
  wwwAuthenticate: string | undefined;
  requestId: string | undefined;
}

export class LeanHttpError extends Error {
  override name = 'LeanHttpError';
}

type State = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'trailers';

/** One keep-alive connection; reopened for the next request when the server closed it. */
export class LeanConnection {
  private socket: Socket | undefined;
  private pending: { resolve: (a: LeanAnswer) => void; reject: (e: Error) => void } | undefined;
  private buf = '';
  private state: State = 'head';
  /** Body bytes (or chunk bytes and their CRLF) still to skip. */
  private remaining = 0;
  private answer: LeanAnswer = { status: 0, etag: undefined, wwwAuthenticate: undefined, requestId: undefined };
  private closeAfter = false;
  readonly port: number;
  readonly host: string;

  constructor(port: number, host = '127.0.0.1') {
    this.port = port;
    this.host = host;
  }

  /** Sends a request (a body gets its Content-Length) and resolves with its answer once read whole. */
  request(method: string, path: string, headers: Record<string, string>, body?: string): Promise<LeanAnswer> {
    if (this.pending) return Promise.reject(new LeanHttpError('a request is already in flight on this connection'));
    const socket = this.socket ?? this.open();
    let head = `${method} ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\n`;
    for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
    if (body !== undefined) head += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      socket.write(`${head}\r\n${body ?? ''}`);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private open(): Socket {
    const socket = connect({ port: this.port, host: this.host, noDelay: true });
    this.socket = socket;
    this.buf = '';
    this.state = 'head';
    socket.on('data', (chunk: Buffer) => {
      this.buf += chunk.toString('latin1');
      try {
        this.parse();
      } catch (err) {
        this.fail(socket, err as Error);
      }
    });
    socket.on('error', (err) => this.fail(socket, err));
    socket.on('close', () => this.fail(socket, new LeanHttpError('connection closed before the answer was read whole')));
    return socket;
  }

  /** Drops `socket` (if still this connection's) and rejects the request in flight, if any. */
  private fail(socket: Socket, err: Error): void {
    if (this.socket !== socket) return;
    this.close();
    const p = this.pending;
    this.pending = undefined;
    p?.reject(err);
  }

  private parse(): void {
    for (;;) {
      if (this.state === 'head') {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        this.readHead(this.buf.slice(0, end));
        this.buf = this.buf.slice(end + 4);
      } else if (this.state === 'body' || this.state === 'chunk-data') {
        if (this.buf.length < this.remaining) {
          this.remaining -= this.buf.length;
          this.buf = '';
          return;
        }
        this.buf = this.buf.slice(this.remaining);
        if (this.state === 'body') this.done();
        else this.state = 'chunk-size';
      } else if (this.state === 'chunk-size') {
        const eol = this.buf.indexOf('\r\n');
        if (eol < 0) return;
        // parseInt stops at a chunk extension (";...").
        const size = Number.parseInt(this.buf.slice(0, eol), 16);
        if (Number.isNaN(size)) throw new LeanHttpError(`bad chunk size line ${JSON.stringify(this.buf.slice(0, eol))}`);
        this.buf = this.buf.slice(eol + 2);
        if (size === 0) this.state = 'trailers';
        else [this.state, this.remaining] = ['chunk-data', size + 2];
      } else {
        // The last chunk's trailer section: none (a bare CRLF) or header lines up to a blank line.
        const end = this.buf.startsWith('\r\n') ? 0 : this.buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        this.buf = this.buf.slice(end === 0 ? 2 : end + 4);
        this.done();
      }
      if (this.state === 'head' && this.buf === '') return;
    }
  }

  private readHead(head: string): void {
    const lines = head.split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] as string)?.[1];
    if (status === undefined) throw new LeanHttpError(`bad status line ${JSON.stringify(lines[0])}`);
    const answer: LeanAnswer = { status: Number(status), etag: undefined, wwwAuthenticate: undefined, requestId: undefined };
    let length: number | undefined;
    let chunked = false;
    this.closeAfter = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const value = line.slice(colon + 1).trim();
      switch (line.slice(0, colon).toLowerCase()) {
        case 'content-length':
          length = Number(value);
          break;
        case 'transfer-encoding':
          chunked = /(^|,)\s*chunked\s*$/i.test(value);
          break;
        case 'etag':
          answer.etag = value;
          break;
        case 'www-authenticate':
          answer.wwwAuthenticate = answer.wwwAuthenticate === undefined ? value : `${answer.wwwAuthenticate}, ${value}`;
          break;
        case 'x-request-id':
          answer.requestId = value;
          break;
        case 'connection':
          this.closeAfter = /(^|,)\s*close\s*(,|$)/i.test(value);
          break;
      }
    }
    // An interim (1xx) answer is followed by the real one.
    if (answer.status < 200) return;
    this.answer = answer;
    // 204 and 304 answers have no body (RFC 9112 §6.3); a body that runs to the close is not kept alive.
    if (answer.status === 204 || answer.status === 304) this.done();
    else if (chunked) this.state = 'chunk-size';
    else if (length !== undefined && Number.isInteger(length) && length >= 0) [this.state, this.remaining] = ['body', length];
    else throw new LeanHttpError('answer without Content-Length or chunked encoding on a keep-alive connection');
  }

  private done(): void {
    this.state = 'head';
    const p = this.pending;
    this.pending = undefined;
    if (this.closeAfter) this.close();
    p?.resolve(this.answer);
  }
}
