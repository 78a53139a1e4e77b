/**
 * The HTTP server: XCAP requests go straight to the XCAP handler; everything else
 * (health, metrics, admin API) goes to a small express app. Tracks in-flight requests
 * so shutdown can drain them.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { SecureContextOptions } from 'node:tls';
import express from 'express';
import { requestNamer } from './request-id.ts';

export interface HttpServer {
  readonly server: Server | HttpsServer;
  /**
   * Puts a new certificate in service on the HTTPS listener: connections made from now on
   * get it, open ones keep theirs. Undefined on a plain-HTTP listener.
   */
  readonly setSecureContext: ((options: SecureContextOptions) => void) | undefined;
  /** Listens; resolves with the bound port. */
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting, waits for in-flight requests up to `graceMs`, then closes the rest. */
  close(graceMs: number): Promise<void>;
}

export interface HttpServerOptions {
  root: string;
  xcap: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** The vendor phonebooks under `/phonebook/` (src/phonebook), when enabled. */
  phonebook?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** Routes on the admin app (probes, metrics, sync admin). */
  admin?: (app: express.Express) => void;
  /** Long-lived event streams at `path` (GET /xcap-diff): not drained on shutdown but ended first. */
  streams?: { readonly path: string; handle(req: IncomingMessage, res: ServerResponse): void; closeAll(): void };
  /** Told about every answered request (method, URL, status, seconds since it arrived): the metrics. Streams are not. */
  observe?: (method: string, url: string, status: number, seconds: number) => void;
  /** Certificate and key (src/http/tls.ts): the listener speaks HTTPS. @defaultValue plain HTTP */
  tls?: SecureContextOptions;
  /** Told about each request refused before it could be parsed (its id, the status answered): the access log. */
  unparsed?: (reqId: string, status: number) => void;
}

export function createHttpServer(opts: HttpServerOptions): HttpServer {
  const app = express();
  app.disable('x-powered-by');
  opts.admin?.(app);
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('not found\n');
  });

  let inFlight = 0;
  let drained: (() => void) | undefined;
  const prefix = opts.root;
  const observe = opts.observe;
  const leave = () => {
    inFlight--;
    if (inFlight === 0) drained?.();
  };
  const done = (req: IncomingMessage, res: ServerResponse, started: number) => {
    leave();
    observe?.(req.method ?? '', req.url ?? '', res.statusCode, (performance.now() - started) / 1000);
  };
  const { name, fresh } = requestNamer();
  const handle: RequestListener = (req, res) => {
    inFlight++;
    name(req, res);
    const started = observe ? performance.now() : 0;
    if (authorizationCount(req.rawHeaders) > 1) delete req.headers.authorization;
    const url = req.url ?? '';
    // The root may carry a realm suffix (`/xcap-root@example.com/...`).
    const c = url.charCodeAt(prefix.length);
    // XCAP work counts until it has finished, not until the client hangs up: a write queued
    // behind others must still find the store open during a drain.
    if (url.startsWith(prefix) && (c === 47 /* / */ || c === 64 /* @ */ || Number.isNaN(c))) void opts.xcap(req, res).finally(() => done(req, res, started));
    else if (opts.streams && isPath(url, opts.streams.path)) {
      leave();
      opts.streams.handle(req, res);
    } else if (opts.phonebook !== undefined && url.startsWith('/phonebook/')) void opts.phonebook(req, res).finally(() => done(req, res, started));
    else {
      res.once('close', () => done(req, res, started));
      app(req, res);
    }
  };
  const tls = opts.tls;
  const https = tls === undefined ? undefined : createHttpsServer(tls, handle);
  const server = https ?? createServer(handle);
  server.keepAliveTimeout = 65_000;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // Nothing is written into a reset connection or into an answer already under way (Node's rule too).
    const answering = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || answering?.headersSent) return void socket.destroy();
    const status = UNPARSED_STATUS[err.code ?? ''] ?? 400;
    const id = fresh();
    const text = `${status === 400 ? 'malformed HTTP request' : (STATUS_CODES[status] ?? 'bad request').toLowerCase()}\n`;
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${text.length}\r\nX-Request-Id: ${id}\r\n\r\n${text}`);
    opts.unparsed?.(id, status);
  });

  return {
    server,
    setSecureContext: https && ((options) => https.setSecureContext(options)),
    listen: (host, port) => listenOn(server, host, port),
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      opts.streams?.closeAll();
      server.closeIdleConnections();
      if (inFlight > 0) {
        await Promise.race([new Promise<void>((r) => (drained = r)), new Promise((r) => setTimeout(r, graceMs))]);
      }
      server.closeAllConnections();
      await closed;
    },
  };
}

/** What a request the HTTP parser refused is answered, by Node's error code (else 400). */
const UNPARSED_STATUS: Readonly<Record<string, number>> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
};

/** Listens on `host`:`port`; resolves with the bound port (0 resolved), rejects when the address is taken. */
export function listenOn(server: Server | HttpsServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

/** `url` is `path` itself, with or without a query. */
function isPath(url: string, path: string): boolean {
  return url.startsWith(path) && (url.length === path.length || url.charCodeAt(path.length) === 63 /* ? */);
}

/**
 * Authorization header lines in a request. Node keeps the first of several; a proxy in front
 * may have read another, so a request with two counts as one without credentials (401).
 */
function authorizationCount(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 13 && name.toLowerCase() === 'authorization') n++;
  }
  return n;
}
