/**
 * A small HTTP client for the tests that speaks Digest (RFC 7616, qop=auth, MD5 or
 * SHA-256) and Basic the way phones do: it answers the server's challenge and re-uses the
 * nonce with an increasing nc. Written independently of src/auth so the two check each other.
 */
import { hash, randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type Agent } from 'node:https';

export interface Credentials {
  username: string;
  password: string;
}

export interface ClientResponse {
  status: number;
  headers: Headers;
  body: string;
}

/**
 * One raw HTTP/1.1 exchange; `url`'s path is sent byte for byte (no URL normalisation, unlike
 * fetch). An `https:` URL is fetched over TLS trusting `tls.ca` (and through `tls.agent`, to
 * keep a connection alive across calls).
 */
export function rawRequest(method: string, url: string, headers: Record<string, string>, body?: string | Buffer, tls?: { ca: string | Buffer; agent?: Agent }): Promise<ClientResponse> {
  const u = new URL(url);
  const path = url.slice(url.indexOf('/', u.protocol.length + 2));
  return new Promise((resolve, reject) => {
    const options = { host: u.hostname, port: u.port, method, path, headers: body === undefined ? headers : { ...headers, 'Content-Length': String(Buffer.byteLength(body)) } };
    const onResponse = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (Array.isArray(v)) for (const x of v) h.append(k, x);
          else if (v !== undefined) h.set(k, v);
        }
        resolve({ status: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks).toString('utf8') });
      });
    };
    const req = u.protocol === 'https:' ? httpsRequest({ ...options, ca: tls?.ca, agent: tls?.agent }, onResponse) : httpRequest(options, onResponse);
    req.on('error', reject);
    req.end(body);
  });
}

interface Challenge {
  realm: string;
  nonce: string;
  opaque?: string;
  qop?: string;
  algorithm: string;
}

/** Splits a WWW-Authenticate header list into its Digest challenges' parameters. */
export function parseChallenges(headers: Headers): Challenge[] {
  const raw = headers.get('www-authenticate') ?? '';
  const out: Challenge[] = [];
  for (const part of raw.split(/,\s*(?=Digest\s|Basic\s)/i)) {
    if (!/^Digest\s/i.test(part)) continue;
    const params: Record<string, string> = {};
    for (const m of part.slice(7).matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]+))/g)) params[(m[1] as string).toLowerCase()] = m[2] ?? m[3] ?? '';
    out.push({ realm: params.realm ?? '', nonce: params.nonce ?? '', opaque: params.opaque, qop: params.qop, algorithm: params.algorithm ?? 'MD5' });
  }
  return out;
}

/** RFC 7616 §3.3 algorithm names → node's hash names (SHA-512-256 is SHA-512/256). */
const NODE_HASH: Record<string, string> = { MD5: 'md5', 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256' };
const H = (alg: string, s: string) => hash(NODE_HASH[alg.toUpperCase()] ?? 'md5', s, 'hex');

export function digestHeader(ch: Challenge, creds: Credentials, method: string, uri: string, nc: number, cnonce = randomBytes(8).toString('hex')): string {
  const ha1 = H(ch.algorithm, `${creds.username}:${ch.realm}:${creds.password}`);
  const ha2 = H(ch.algorithm, `${method}:${uri}`);
  const ncs = nc.toString(16).padStart(8, '0');
  const qop = ch.qop?.split(',').map((s) => s.trim()).includes('auth') ? 'auth' : undefined;
  const response = qop ? H(ch.algorithm, `${ha1}:${ch.nonce}:${ncs}:${cnonce}:${qop}:${ha2}`) : H(ch.algorithm, `${ha1}:${ch.nonce}:${ha2}`);
  let h = `Digest username="${creds.username}", realm="${ch.realm}", nonce="${ch.nonce}", uri="${uri}", algorithm=${ch.algorithm}, response="${response}"`;
  if (qop) h += `, qop=${qop}, nc=${ncs}, cnonce="${cnonce}"`;
  if (ch.opaque !== undefined) h += `, opaque="${ch.opaque}"`;
  return h;
}

export function basicHeader(creds: Credentials): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
}

/** A client bound to a base URL; Digest by default, caching the nonce like a phone. */
export class XcapClient {
  private challenge: Challenge | undefined;
  private nc = 0;
  readonly base: string;
  readonly creds: Credentials | undefined;
  readonly mode: 'digest' | 'basic';
  readonly algorithm: string;

  constructor(base: string, creds?: Credentials, opts: { mode?: 'digest' | 'basic'; algorithm?: 'MD5' | 'SHA-256' | 'SHA-512-256' } = {}) {
    this.base = base;
    this.creds = creds;
    this.mode = opts.mode ?? 'digest';
    this.algorithm = opts.algorithm ?? 'MD5';
  }

  /** `path` is appended to the base URL as given (no re-encoding), so tests control the exact bytes. */
  async request(method: string, path: string, opts: { body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<ClientResponse> {
    const url = this.base + path;
    const send = async (auth?: string) => {
      const headers: Record<string, string> = { ...opts.headers };
      if (auth) headers.Authorization = auth;
      return rawRequest(method, url, headers, opts.body);
    };
    if (!this.creds) return send();
    if (this.mode === 'basic') return send(basicHeader(this.creds));
    const requestUri = url.slice(url.indexOf('/', url.indexOf('//') + 2));
    if (this.challenge) {
      const r = await send(digestHeader(this.challenge, this.creds, method, requestUri, ++this.nc));
      if (r.status !== 401) return r;
    }
    const first = await send();
    if (first.status !== 401) return first;
    const ch = parseChallenges(first.headers).find((c) => c.algorithm.toUpperCase() === this.algorithm) ?? parseChallenges(first.headers)[0];
    if (!ch) return first;
    this.challenge = ch;
    this.nc = 0;
    return send(digestHeader(ch, this.creds, method, requestUri, ++this.nc));
  }

  get(path: string, headers?: Record<string, string>) {
    return this.request('GET', path, { headers });
  }
  put(path: string, body: string | Buffer, contentType: string, headers: Record<string, string> = {}) {
    return this.request('PUT', path, { body, headers: { 'Content-Type': contentType, ...headers } });
  }
  delete(path: string, headers?: Record<string, string>) {
    return this.request('DELETE', path, { headers });
  }
}
