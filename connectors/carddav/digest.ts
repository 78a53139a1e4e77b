/**
 * HTTP authentication challenges and Digest answers (RFC 7616; Basic is RFC 7617).
 *
 * - `parseChallenges` reads a WWW-Authenticate value (several challenges may share one
 *   header, as fetch joins repeated headers with ", ").
 * - `DigestSession` answers one Digest challenge: MD5 or SHA-256 (and their -sess forms),
 *   qop=auth with a fresh cnonce and a counting nc, or the RFC 2069 form when the server
 *   offers no qop. auth-int is not offered by the servers this talks to and is refused.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface Challenge {
  /** Lower-cased scheme: `basic`, `digest`, ... */
  readonly scheme: string;
  /** Parameters by lower-cased name, values unquoted. */
  readonly params: ReadonlyMap<string, string>;
}

/** The challenges of a WWW-Authenticate value, in order. */
export function parseChallenges(header: string): Challenge[] {
  const out: { scheme: string; params: Map<string, string> }[] = [];
  const s = header;
  let i = 0;
  const skip = (chars: RegExp) => {
    while (i < s.length && chars.test(s[i] as string)) i++;
  };
  while (i < s.length) {
    skip(/[\s,]/);
    const start = i;
    skip(/[^\s,=]/);
    const token = s.slice(start, i);
    if (token === '') break;
    skip(/[ \t]/);
    if (s[i] !== '=' || out.length === 0) {
      // A token not followed by "=" starts a new challenge (token68 forms are not used by Basic/Digest challenges).
      out.push({ scheme: token.toLowerCase(), params: new Map() });
      continue;
    }
    i++; // '='
    skip(/[ \t]/);
    let value = '';
    if (s[i] === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\') i++;
        value += s[i] ?? '';
        i++;
      }
      i++; // closing quote
    } else {
      const v = i;
      skip(/[^\s,]/);
      value = s.slice(v, i);
    }
    (out[out.length - 1] as { params: Map<string, string> }).params.set(token.toLowerCase(), value);
  }
  return out;
}

const HASHES: Record<string, string> = { md5: 'md5', 'sha-256': 'sha256' };

/** Whether this client can answer the Digest challenge (a known algorithm, qop auth or none). */
export function answerable(c: Challenge): boolean {
  if (c.scheme !== 'digest' || !c.params.has('nonce')) return false;
  const algorithm = (c.params.get('algorithm') ?? 'MD5').toLowerCase().replace(/-sess$/, '');
  const qop = c.params.get('qop');
  return algorithm in HASHES && (qop === undefined || qop.split(',').some((q) => q.trim().toLowerCase() === 'auth'));
}

/** Prefers SHA-256 over MD5 when the server offers both (RFC 7616 §3.7: the first the client supports, strongest first). */
export function pickDigest(challenges: readonly Challenge[]): Challenge | undefined {
  const usable = challenges.filter(answerable);
  return usable.find((c) => (c.params.get('algorithm') ?? '').toLowerCase().startsWith('sha-256')) ?? usable[0];
}

/** State kept between requests for one server and user: the nonce and its use count. */
export class DigestSession {
  readonly challenge: Challenge;
  #nc = 0;

  constructor(challenge: Challenge) {
    this.challenge = challenge;
  }

  /** The Authorization value for one request; `cnonce` is random unless given (tests of the RFC's examples). */
  authorization(method: string, uri: string, username: string, password: string, cnonce = randomBytes(16).toString('hex')): string {
    const p = this.challenge.params;
    const realm = p.get('realm') ?? '';
    const nonce = p.get('nonce') ?? '';
    const algorithmName = p.get('algorithm') ?? 'MD5';
    const algorithm = algorithmName.toLowerCase();
    const hash = HASHES[algorithm.replace(/-sess$/, '')] ?? 'md5';
    const H = (x: string) => createHash(hash).update(x, 'utf8').digest('hex');
    let ha1 = H(`${username}:${realm}:${password}`);
    if (algorithm.endsWith('-sess')) ha1 = H(`${ha1}:${nonce}:${cnonce}`);
    const ha2 = H(`${method}:${uri}`);
    const qop = p.get('qop') === undefined ? undefined : 'auth';
    const nc = (++this.#nc).toString(16).padStart(8, '0');
    const response = qop ? H(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`) : H(`${ha1}:${nonce}:${ha2}`);
    const parts = [
      `username=${quote(username)}`,
      `realm=${quote(realm)}`,
      `uri=${quote(uri)}`,
      `algorithm=${algorithmName}`,
      `nonce=${quote(nonce)}`,
      ...(qop ? [`nc=${nc}`, `cnonce=${quote(cnonce)}`, `qop=${qop}`] : []),
      `response=${quote(response)}`,
    ];
    const opaque = p.get('opaque');
    if (opaque !== undefined) parts.push(`opaque=${quote(opaque)}`);
    return `Digest ${parts.join(', ')}`;
  }
}

/** The challenge says the nonce expired but the credentials were right (RFC 7616 §3.3 stale=true). */
export function isStale(c: Challenge): boolean {
  return (c.params.get('stale') ?? '').toLowerCase() === 'true';
}

function quote(v: string): string {
  return `"${v.replace(/["\\]/g, '\\$&')}"`;
}
