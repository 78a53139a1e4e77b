/**
 * The connector's HTTP client, on Node's fetch: one request at a time as the caller asks,
 * with authentication, a timeout and redirects handled here.
 *
 * - Authentication per server and user: `basic` sends Basic up front; `auto` answers the
 *   first 401's challenge (Digest when offered and answerable, else Basic) and from then
 *   on sends that scheme up front; Digest keeps the nonce and counts nc, and retries once
 *   when the server says the nonce is stale. A second 401 is returned to the caller
 *   (credentials refused → Rejected).
 * - Redirects are followed by hand (at most 5): credentials go only to the configured
 *   server's host and the `redirectHosts` allow-list; a redirect elsewhere is refused.
 * - Every request sends `Accept-Encoding: identity`: a compressing proxy turns strong
 *   ETags weak, and weak ETags make every If-Match fail.
 */
import type { Credentials } from './credentials.ts';
import { DigestSession, isStale, parseChallenges, pickDigest } from './digest.ts';
import { davError, type HttpAnswer } from './errors.ts';
import { Rejected } from '../errors.ts';

export interface DavRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly credentials: Credentials;
  /** Names the request in error messages. */
  readonly what: string;
}

export interface DavAnswer extends HttpAnswer {
  readonly headers: Headers;
  /** Where the answer came from (after redirects). */
  readonly url: URL;
}

export interface DavHttpOptions {
  readonly timeoutMs: number;
  readonly scheme: 'auto' | 'basic' | 'digest';
  /** `host` / `host:port` values credentials may be sent to. */
  readonly allowedHosts: readonly string[];
  /** Counts requests (tests and the bench read it). */
  readonly onRequest?: (method: string, url: URL) => void;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

export class DavHttp {
  readonly #options: DavHttpOptions;
  readonly #allowed: Set<string>;
  /** What each server + user answered to last: `basic`, or the Digest session. */
  readonly #auth = new Map<string, 'basic' | DigestSession>();

  constructor(options: DavHttpOptions) {
    this.#options = options;
    this.#allowed = new Set(options.allowedHosts.map((h) => h.toLowerCase()));
  }

  /** Sends the request; any HTTP status resolves (the caller maps it), network failures and timeouts throw Unavailable. */
  async request(req: DavRequest): Promise<DavAnswer> {
    let url = req.url;
    let method = req.method;
    let body = req.body;
    for (let hop = 0; ; hop++) {
      this.#checkHost(url, req.what);
      const answer = await this.#authenticated({ ...req, method, url, ...(body === undefined ? {} : { body }) });
      if (!REDIRECTS.has(answer.status)) return answer;
      const location = answer.headers.get('location');
      if (location === null || hop >= MAX_REDIRECTS) return answer;
      url = new URL(location, url);
      if (answer.status === 303) {
        method = 'GET';
        body = undefined;
      }
    }
  }

  #checkHost(url: URL, what: string): void {
    if (this.#allowed.has(url.host.toLowerCase()) || this.#allowed.has(url.hostname.toLowerCase())) return;
    throw new Rejected(`CardDAV ${what}: redirected to ${url.host}, which is not the server's host nor in redirectHosts`);
  }

  /**
   * One request with credentials, answering the server's challenge once: a first
   * challenge, a stale nonce, or a cached Digest session the server no longer knows.
   */
  async #authenticated(req: DavRequest): Promise<DavAnswer> {
    const key = `${req.url.origin}\n${req.credentials.username}`;
    let state = this.#auth.get(key) ?? (this.#options.scheme === 'basic' ? 'basic' : undefined);
    let answeredHere = false;
    for (let attempt = 0; ; attempt++) {
      const answer = await this.#send(req, this.#authorization(state, req));
      if (answer.status !== 401 || attempt >= 2) return answer;
      const challenges = parseChallenges(answer.headers.get('www-authenticate') ?? '');
      const digest = this.#options.scheme === 'basic' ? undefined : pickDigest(challenges);
      if (digest && (!answeredHere || isStale(digest))) {
        state = new DigestSession(digest);
      } else if (!digest && state === undefined && this.#options.scheme !== 'digest' && challenges.some((c) => c.scheme === 'basic')) {
        state = 'basic';
      } else {
        return answer;
      }
      answeredHere = true;
      this.#auth.set(key, state);
    }
  }

  #authorization(state: 'basic' | DigestSession | undefined, req: DavRequest): string | undefined {
    const { username, password } = req.credentials;
    if (state === 'basic') return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
    if (state) return state.authorization(req.method, `${req.url.pathname}${req.url.search}`, username, password);
    return undefined;
  }

  async #send(req: DavRequest, authorization: string | undefined): Promise<DavAnswer> {
    const headers: Record<string, string> = { 'Accept-Encoding': 'identity', ...req.headers };
    if (authorization !== undefined) headers.Authorization = authorization;
    this.#options.onRequest?.(req.method, req.url);
    try {
      const signal = AbortSignal.timeout(this.#options.timeoutMs);
      const res = await fetch(req.url, { method: req.method, headers, body: req.body, redirect: 'manual', signal });
      const body = await res.text();
      return { status: res.status, headers: res.headers, contentType: res.headers.get('content-type') ?? '', body, url: req.url };
    } catch (err) {
      throw davError(`${req.what} (${req.method} ${req.url.pathname})`, err);
    }
  }
}
