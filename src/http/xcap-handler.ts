/**
 * The XCAP request path: a plain node:http handler (no framework on the hot path).
 * URI → authentication → XcapService → response; errors go to the one renderer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../appusage/types.ts';
import type { DeploymentDomain } from '../auth/deployment-domain.ts';
import { requestLogger, type Logger, type RequestLogOptions } from '../log.ts';
import { BadRequest, MethodNotAllowed, PayloadTooLarge } from '../xcap/errors.ts';
import { LocalRoots } from '../xcap/local-roots.ts';
import { parseXcapUri, type XcapUri } from '../xcap/uri.ts';
import type { XcapService, Request as XcapRequest } from '../xcap/service.ts';
import type { ClientProfile } from './client-profiles.ts';
import { renderError } from './error-handler.ts';
import { requestId } from './request-id.ts';
import { localWriter, type XcapWrite, type XcapWriter } from './xcap-writes.ts';
import { isEncrypted, requestOrigin } from './tls.ts';

/** What the handler needs from src/auth. */
export interface Authenticator {
  authenticate(req: AuthRequest, realm: string): Promise<Principal>;
  /** The user when the credentials can be judged without waiting (a cached login); else undefined, and `authenticate` decides. */
  authenticateNow(req: AuthRequest, realm: string): Principal | undefined;
}

type AuthRequest = { method: string; url: string; headers: IncomingMessage['headers']; connection?: object; encrypted?: boolean };

export interface XcapHandlerOptions {
  service: XcapService;
  auth: Authenticator;
  log: Logger;
  root: string;
  /** Absolute XCAP roots clients use besides `http://<Host><root>` (config `server.publicRoots`). */
  publicRoots: readonly string[];
  maxBodyBytes: number;
  /** Fixed realm; when unset, the domain of the XUI in the URI, else the deployment's domain. */
  realm: string | undefined;
  /** Realm of the global tree and domain of XUIs without one. */
  domain: DeploymentDomain;
  /** Tried in order; the first whose pattern matches the User-Agent gives the request its leniency. */
  clients: readonly ClientProfile[];
  /** Which requests get a line (config `log`). */
  requestLog: RequestLogOptions;
  /** Where PUTs and DELETEs go: the primary under `serve` with several processes. @defaultValue `service` in this process */
  writes?: XcapWriter;
}

const NO_FLAGS: ReadonlySet<string> = new Set();
const ALLOW = ['GET', 'PUT', 'DELETE', 'HEAD'];

/** Settles when the request's work is done (answered, or failed and rendered), even if the client left. */
export type XcapHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function createXcapHandler(opts: XcapHandlerOptions): XcapHandler {
  const { service, auth, log } = opts;
  const writes = opts.writes ?? localWriter(service, opts);
  const logRequest = requestLogger(log, opts.requestLog);
  const leniencyByAgent = new Map<string, ReadonlySet<string>>();

  function leniency(ua: string | undefined): ReadonlySet<string> {
    if (!ua || opts.clients.length === 0) return NO_FLAGS;
    let flags = leniencyByAgent.get(ua);
    if (!flags) {
      flags = opts.clients.find((c) => c.userAgent.test(ua))?.lenient ?? NO_FLAGS;
      if (leniencyByAgent.size < 1000) leniencyByAgent.set(ua, flags);
    }
    return flags;
  }

  // The roots of the last request: a server's clients nearly all name it by one Host.
  let lastRoots: { readonly host: string | undefined; readonly encrypted: boolean; readonly domain: string | undefined; readonly roots: LocalRoots } | undefined;
  function rootsFor(req: IncomingMessage, domain: string | undefined): LocalRoots {
    const host = req.headers.host;
    const encrypted = isEncrypted(req);
    if (lastRoots !== undefined && lastRoots.host === host && lastRoots.encrypted === encrypted && lastRoots.domain === domain) return lastRoots.roots;
    const roots = LocalRoots.forRequest(opts.publicRoots, requestOrigin(req), opts.root, domain);
    lastRoots = { host, encrypted, domain, roots };
    return roots;
  }

  function realmFor(uri: XcapUri): Promise<string> | string {
    if (opts.realm) return opts.realm;
    const at = uri.xui?.lastIndexOf('@') ?? -1;
    return at >= 0 ? (uri.xui as string).slice(at + 1) : opts.domain.require();
  }

  /** Who is asking: a value, not a promise, for a poll with a cached login (no turn of the microtask queue). */
  function principalOf(method: string, url: string, req: IncomingMessage, uri: XcapUri): Principal | Promise<Principal> {
    if (method === 'GET' && uri.auid === 'xcap-caps' && uri.xui === null) return ANONYMOUS;
    const areq: AuthRequest = { method, url, headers: req.headers, connection: req.socket, encrypted: isEncrypted(req) };
    const as = (realm: string) => auth.authenticateNow(areq, realm) ?? auth.authenticate(areq, realm);
    const realm = realmFor(uri);
    return typeof realm === 'string' ? as(realm) : realm.then(as);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    if (!ALLOW.includes(method)) throw new MethodNotAllowed(ALLOW);
    const url = req.url ?? '/';
    const d = opts.domain.current();
    const defaultDomain = d instanceof Promise ? await d : d;
    const uri = parseXcapUri(url, { root: opts.root, defaultDomain });
    const p = principalOf(method, url, req, uri);
    const principal = p instanceof Promise ? await p : p;
    const conditions = { ifMatch: header(req, 'if-match'), ifNoneMatch: header(req, 'if-none-match') };
    const lenient = leniency(req.headers['user-agent']);
    const xreq: XcapRequest = { uri, principal, conditions, lenient, roots: rootsFor(req, defaultDomain) };
    if (method === 'GET' || method === 'HEAD') {
      const r = await service.get(xreq);
      if ('notModified' in r) {
        res.writeHead(304, { ETag: `"${r.etag}"` });
        res.end();
        return;
      }
      res.writeHead(200, { 'Content-Type': r.contentType, ETag: `"${r.etag}"`, 'Content-Length': typeof r.body === 'string' ? Buffer.byteLength(r.body) : r.body.length });
      res.end(method === 'HEAD' ? undefined : r.body);
      return;
    }
    const write: XcapWrite = { method: method as 'PUT' | 'DELETE', uri, principal, conditions, lenient, origin: requestOrigin(req), defaultDomain };
    const r =
      method === 'PUT'
        ? await writes({ ...write, body: await readBody(req, await service.bodyLimit(xreq, opts.maxBodyBytes)), contentType: req.headers['content-type'] })
        : await writes(write);
    service.wrote(uri, method === 'DELETE' && uri.selector === null ? null : r.etag);
    res.writeHead(r.status, { ETag: `"${r.etag}"`, 'Content-Length': 0 });
    res.end();
  }

  return (req, res) => {
    const started = logRequest ? performance.now() : 0;
    const reqId = requestId(req);
    const answered = handle(req, res).catch((err: unknown) => {
      if (err instanceof PayloadTooLarge) res.setHeader('Connection', 'close');
      renderError(err, res, log, reqId);
    });
    // Once answered (the answer handed to the socket) rather than on 'finish': no listener per
    // request, and a client gone before the end still gets its line.
    if (logRequest === undefined) return answered;
    return answered.then(() => {
      logRequest({ reqId, method: req.method, url: req.url ?? '', status: res.statusCode, ms: Math.round((performance.now() - started) * 100) / 100 });
    });
  };
}

const ANONYMOUS: Principal = { xui: '', admin: false };

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Reads the body up to `limit` bytes; 413 as soon as it is known to be larger. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    const n = Number(declared);
    if (!Number.isSafeInteger(n) || n < 0) return Promise.reject(new BadRequest('bad Content-Length'));
    if (n > limit) {
      req.resume();
      return Promise.reject(new PayloadTooLarge(limit));
    }
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new PayloadTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    let ended = false;
    req.once('end', () => {
      ended = true;
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
    req.once('error', reject);
    // A client that leaves mid-body must not leave the request pending (drain waits for it).
    // 'close' follows every request, so the error (a stack capture) is made only when needed.
    req.once('close', () => {
      if (!ended) reject(new BadRequest('connection closed before the body was complete'));
    });
  });
}
