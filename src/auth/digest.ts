/**
 * Server side of HTTP Digest (RFC 7616; RFC 2617 qop=auth; RFC 2069 without qop for old
 * phones): challenges, credential parsing and response verification.
 *
 * Nonces are stateless: `base64url(issued[4] ‖ random[8] ‖ HMAC-SHA256(secret, issued ‖
 * random ‖ realm)[0..16])`, so any replica sharing the secret accepts any other's nonce
 * and a 401 round trip on every request costs no storage. Expired nonces get a
 * `stale=true` challenge, which clients answer without asking the user.
 *
 * Replay: each process remembers, per nonce, the highest `nc` it accepted (bounded map);
 * a response whose nc is not above it is refused with `stale=true`. LIMITATION: the map is
 * per process, so with several replicas a captured qop=auth request can be replayed once on
 * each other replica until the nonce expires (nonceTtlSeconds). The legacy form without
 * qop has no nc at all and is only bounded by nonce expiry. Shared replay state would
 * cost a Redis round trip per request; TLS is the real protection.
 */
import { createHmac, createSecretKey, randomFillSync, timingSafeEqual, type KeyObject } from 'node:crypto';
import { BoundedMap } from '../bounded-map.ts';
import { keptCopy } from '../kept-string.ts';
import { BadRequest } from '../xcap/errors.ts';
import { hashHex, safeEqual } from './hash.ts';
import type { DigestAlgorithm } from './types.ts';

/** Parsed `Authorization: Digest ...` credentials. */
export interface DigestCredentials {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  /** The digest-uri exactly as sent (HA2 is computed over it). */
  readonly uri: string;
  /** Client response, lowercase hex. */
  readonly response: string;
  readonly algorithm: DigestAlgorithm;
  /** `auth`, or undefined for the RFC 2069 form (then nc and cnonce are undefined too). */
  readonly qop: 'auth' | undefined;
  /** Nonce count as a number (from 8 hex digits). */
  readonly nc: number | undefined;
  /** The nc field as sent; the response is computed over the text. */
  readonly ncText: string | undefined;
  readonly cnonce: string | undefined;
}

export interface DigestOptions {
  /** HMAC key for nonces; equal on every replica. */
  readonly secret: Buffer;
  /** Seconds a nonce stays valid. */
  readonly nonceTtlSeconds: number;
  /** Algorithms offered, most preferred first (one challenge each). */
  readonly algorithms: readonly DigestAlgorithm[];
  /**
   * Nonces whose highest nc is remembered. When full, the oldest is forgotten and every nonce
   * issued no later than it is answered `stale` (its nc history is gone, so replay could not
   * be ruled out). @defaultValue 100000
   */
  readonly maxTrackedNonces?: number;
  /** Clock in milliseconds, for tests of expiry. @defaultValue Date.now */
  readonly now?: () => number;
}

/** Outcome of checking a response; `stale` only ever follows a correct response. */
export type DigestVerdict = 'ok' | 'stale' | 'fail';

/** A nonce accepted with qop=auth: its highest nc, and the issue time and realm its MAC proved. */
interface AcceptedNonce {
  nc: number;
  readonly issued: number;
  readonly realm: string;
}

const NONCE_BYTES = 28;
const MAC_BYTES = 16;

export class DigestAuth {
  readonly algorithms: readonly DigestAlgorithm[];
  /** A KeyObject: createHmac with a raw Buffer re-imports the key each time (~7× slower). */
  private readonly secret: KeyObject;
  private readonly ttlMs: number;
  private readonly now: () => number;
  /**
   * nonce → highest accepted nc, in first-use order (a higher nc is written in place), with
   * what its MAC proved when it was first accepted: a phone sends the same nonce on every
   * request, and the HMAC was ~12% of a poll's CPU.
   */
  private readonly highestNc: BoundedMap<string, AcceptedNonce>;
  /** Nonces issued at or before this second may have lost their nc history. */
  private forgottenUpTo = -1;
  /** Random bytes handed out 8 at a time: one RNG call per 512 nonces. */
  private readonly pool = Buffer.alloc(4096);
  private poolAt = this.pool.length;

  constructor(opts: DigestOptions) {
    if (opts.algorithms.length === 0) throw new Error('digest: no algorithm to offer');
    this.algorithms = opts.algorithms;
    this.secret = createSecretKey(opts.secret);
    this.ttlMs = opts.nonceTtlSeconds * 1000;
    this.now = opts.now ?? Date.now;
    this.highestNc = new BoundedMap({
      limit: opts.maxTrackedNonces ?? 100_000,
      onEvict: (_nonce, { issued }) => {
        if (issued >= this.cutoff()) this.forgottenUpTo = Math.max(this.forgottenUpTo, issued);
      },
    });
  }

  /** One complete `WWW-Authenticate` value per offered algorithm, sharing a fresh nonce. */
  challenges(realm: string, stale = false): string[] {
    const nonce = this.issueNonce(realm);
    const tail = stale ? ', stale=true' : '';
    const head = `Digest realm=${quote(realm)}, qop="auth", nonce="${nonce}", algorithm=`;
    return this.algorithms.map((a) => head + a + tail);
  }

  /**
   * Checks `creds` against `ha1` (the user's HA1 for creds.algorithm; pass a dummy of the
   * same length for unknown users so both paths cost the same). Throws BadRequest when
   * the digest-uri is not the request-target (RFC 7616 §3.4.6). Records nc on success.
   * The caller has already checked that creds.realm is the expected realm.
   */
  verify(creds: DigestCredentials, method: string, requestTarget: string, ha1: string): DigestVerdict {
    if (!sameTarget(creds.uri, requestTarget)) throw new BadRequest('digest uri does not match the request');
    const kept = creds.qop === undefined ? undefined : this.highestNc.get(creds.nonce);
    // Kept only once its MAC verified, for the realm it was issued in.
    const seen = kept?.realm === creds.realm ? kept : undefined;
    const issued = seen !== undefined ? seen.issued : this.nonceIssued(creds.nonce, creds.realm);
    const ha2 = hashHex(creds.algorithm, `${method}:${creds.uri}`);
    const expected =
      creds.qop === undefined
        ? hashHex(creds.algorithm, `${ha1}:${creds.nonce}:${ha2}`)
        : hashHex(creds.algorithm, `${ha1}:${creds.nonce}:${creds.ncText}:${creds.cnonce}:auth:${ha2}`);
    if (!safeEqual(expected, creds.response) || issued === undefined) return 'fail';
    if (this.now() - issued * 1000 > this.ttlMs) return 'stale';
    if (creds.qop === undefined) return 'ok';
    return this.acceptNc(creds.nonce, creds.realm, issued, creds.nc as number, seen) ? 'ok' : 'stale';
  }

  private issueNonce(realm: string): string {
    const buf = Buffer.allocUnsafe(NONCE_BYTES);
    buf.writeUInt32BE(Math.floor(this.now() / 1000) >>> 0, 0);
    if (this.poolAt >= this.pool.length) {
      randomFillSync(this.pool);
      this.poolAt = 0;
    }
    this.pool.copy(buf, 4, this.poolAt, this.poolAt + 8);
    this.poolAt += 8;
    this.mac(buf.subarray(0, 12), realm).copy(buf, 12, 0, MAC_BYTES);
    return buf.toString('base64url');
  }

  /** Issue time in seconds of a nonce this server signed for `realm`, else undefined. */
  private nonceIssued(nonce: string, realm: string): number | undefined {
    if (nonce.length !== 38) return undefined;
    const buf = Buffer.from(nonce, 'base64url');
    if (buf.length !== NONCE_BYTES) return undefined;
    const mac = this.mac(buf.subarray(0, 12), realm).subarray(0, MAC_BYTES);
    if (!timingSafeEqual(mac, buf.subarray(12))) return undefined;
    return buf.readUInt32BE(0);
  }

  private mac(body: Buffer, realm: string): Buffer {
    return createHmac('sha256', this.secret).update(body).update(realm, 'utf8').digest();
  }

  /** True and remembered if nc is above every nc accepted for this nonce before (`seen`: its entry). */
  private acceptNc(nonce: string, realm: string, issued: number, nc: number, seen: AcceptedNonce | undefined): boolean {
    if (seen !== undefined) {
      if (nc <= seen.nc) return false;
      seen.nc = nc;
      return true;
    }
    if (issued <= this.forgottenUpTo) return false;
    // Expired nonces from the head; when still full, `set` drops the oldest (onEvict).
    const cutoff = this.cutoff();
    for (let oldest = this.highestNc.oldestKey(); oldest !== undefined && (this.highestNc.get(oldest) as AcceptedNonce).issued < cutoff; oldest = this.highestNc.oldestKey()) this.highestNc.delete(oldest);
    // Both came sliced from the Authorization header: kept as they are, they would keep it.
    this.highestNc.set(keptCopy(nonce), { nc, issued, realm: keptCopy(realm) });
    return true;
  }

  /** Nonces issued before this second have expired. */
  private cutoff(): number {
    return Math.floor((this.now() - this.ttlMs) / 1000);
  }
}

/**
 * Parses an `Authorization` value starting with `Digest ` (scheme matched case-insensitively
 * by the caller). Returns undefined when required fields are missing, empty or malformed, a
 * parameter is given twice, the algorithm is not MD5/SHA-256/SHA-512-256, qop is other than `auth`, or
 * `userhash=true` (never offered).
 */
export function parseDigestCredentials(header: string): DigestCredentials | undefined {
  const f = parseAuthParams(header, 7);
  if (f === undefined) return undefined;
  const ext = f.usernameExt;
  // RFC 7616 §3.4: username and username* never together (which one would be meant?).
  if (ext !== undefined && f.username !== undefined) return undefined;
  const username = ext === undefined ? f.username : decodeExtValue(ext);
  const { realm, nonce, uri, response } = f;
  if (!username || !realm || !nonce || !uri || !response) return undefined;
  if (f.userhash !== undefined && f.userhash.toLowerCase() !== 'false') return undefined;
  const alg = f.algorithm === undefined ? 'MD5' : f.algorithm.toUpperCase();
  if (alg !== 'MD5' && alg !== 'SHA-256' && alg !== 'SHA-512-256') return undefined;
  const algorithm = alg as DigestAlgorithm;
  if (f.qop === undefined) {
    if (f.nc !== undefined || f.cnonce !== undefined) return undefined;
    return { username, realm, nonce, uri, response: response.toLowerCase(), algorithm, qop: undefined, nc: undefined, ncText: undefined, cnonce: undefined };
  }
  if (f.qop.toLowerCase() !== 'auth' || f.cnonce === undefined || f.nc === undefined || !/^[0-9a-fA-F]{8}$/.test(f.nc)) return undefined;
  const nc = parseInt(f.nc, 16);
  if (nc === 0) return undefined;
  return { username, realm, nonce, uri, response: response.toLowerCase(), algorithm, qop: 'auth', nc, ncText: f.nc, cnonce: f.cnonce };
}

/** The auth-params a Digest response is read from (`usernameExt`: `username*`). */
export interface DigestParams {
  username?: string;
  usernameExt?: string;
  realm?: string;
  nonce?: string;
  uri?: string;
  response?: string;
  algorithm?: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
  userhash?: string;
}

const NAMES = new Map<string, keyof DigestParams>([
  ['username', 'username'],
  ['username*', 'usernameExt'],
  ['realm', 'realm'],
  ['nonce', 'nonce'],
  ['uri', 'uri'],
  ['response', 'response'],
  ['algorithm', 'algorithm'],
  ['qop', 'qop'],
  ['nc', 'nc'],
  ['cnonce', 'cnonce'],
  ['userhash', 'userhash'],
]);

/** RFC 9110 tchar, by char code. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;
/** What ends a token value: white space (as `\s` has it, in the Latin-1 range headers are read in), a comma or a quote. */
const ENDS_TOKEN = new Uint8Array(256);
for (const c of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x2c, 0x22]) ENDS_TOKEN[c] = 1;
const SP = 0x20;
const HTAB = 0x09;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

/**
 * The auth-params after `from` (names matched in any case), or undefined on a syntax error or
 * a parameter given twice, read or not: picking one copy would let a proxy and this server
 * read different credentials out of one header. Each param is `name = token` or
 * `name = "quoted"`, then a comma or the end. A `"` not followed by a comma or the end stays
 * in a quoted value: python3-xcaplib sends selectors like uri="...[@name="friends"]" with the
 * quotes unescaped. One pass over the header, no regular expression: this runs on every poll.
 */
export function parseAuthParams(header: string, from: number): DigestParams | undefined {
  const out: DigestParams = {};
  let others: Set<string> | undefined;
  const n = header.length;
  const blank = (i: number) => {
    while (i < n && (header.charCodeAt(i) === SP || header.charCodeAt(i) === HTAB)) i++;
    return i;
  };
  // Whether the param ends at `i`: blanks, then a comma or the end.
  const endsAt = (i: number) => {
    const j = blank(i);
    return j === n || header.charCodeAt(j) === COMMA;
  };
  let at = from;
  while (at < n) {
    let i = blank(at);
    const nameStart = i;
    while (i < n && header.charCodeAt(i) < 128 && TCHAR[header.charCodeAt(i)] === 1) i++;
    if (i === nameStart) return blank(at) === n ? out : undefined;
    const name = header.slice(nameStart, i).toLowerCase();
    i = blank(i);
    if (header.charCodeAt(i) !== 0x3d) return undefined;
    i = blank(i + 1);
    let value: string;
    if (header.charCodeAt(i) === QUOTE) {
      let escaped = false;
      let j = i + 1;
      for (;;) {
        if (j >= n) return undefined;
        const c = header.charCodeAt(j);
        if (c === BACKSLASH) {
          if (j + 1 >= n) return undefined;
          escaped = true;
          j += 2;
        } else if (c === QUOTE && endsAt(j + 1)) break;
        else j++;
      }
      value = header.slice(i + 1, j);
      if (escaped) value = value.replace(/\\(.)/g, '$1');
      i = j + 1;
    } else {
      const start = i;
      while (i < n && !ENDS_TOKEN[header.charCodeAt(i)]) i++;
      if (!endsAt(i)) return undefined;
      value = header.slice(start, i);
    }
    i = blank(i);
    // Past the comma, if any: a trailing comma leaves nothing, which the loop then ends on.
    at = i < n ? i + 1 : i;
    const key = NAMES.get(name);
    if (key !== undefined) {
      if (out[key] !== undefined) return undefined;
      out[key] = value;
    } else {
      others ??= new Set();
      if (others.has(name)) return undefined;
      others.add(name);
    }
  }
  return out;
}

/** RFC 8187 ext-value `UTF-8''%c3%a4lice` (as RFC 7616 §3.4.4 uses for username*). */
function decodeExtValue(v: string): string | undefined {
  const m = /^UTF-8'[^']*'(.*)$/i.exec(v);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1] as string);
  } catch {
    return undefined;
  }
}

/** A quoted-string (RFC 9110 §5.6.4). */
export function quote(s: string): string {
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * Whether the digest-uri names the request-target. Clients differ in percent-encoding
 * (`sip:` vs `sip%3A`, raw or encoded `[`, `"`), and some send the absolute form, so
 * both sides are compared as decoded path-and-query.
 */
export function sameTarget(digestUri: string, requestTarget: string): boolean {
  if (digestUri === requestTarget) return true;
  return decodeTarget(digestUri) === decodeTarget(requestTarget);
}

function decodeTarget(t: string): string {
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(t);
  const path = scheme ? t.slice(scheme[0].length) || '/' : t;
  try {
    return decodeURIComponent(path);
  } catch {
    // A lone `%` that is not an escape: decode what can be decoded.
    return path.replace(/(?:%[0-9a-fA-F]{2})+/g, (s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  }
}
