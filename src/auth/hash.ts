/**
 * The hash H of RFC 7616 §3.4 and the comparisons built on it. One place, so Digest,
 * Basic and the user sources agree on encoding (UTF-8 in, lowercase hex out).
 */
import { hash } from 'node:crypto';
import type { DigestAlgorithm, UserRecord } from './types.ts';

/** Node's name for each Digest algorithm. */
const NODE_HASH: Record<DigestAlgorithm, string> = { MD5: 'md5', 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256' };

/** H(data) as lowercase hex. */
export function hashHex(algorithm: DigestAlgorithm, data: string): string {
  // One-shot: no Hash object per call (two of these per Digest request).
  return hash(NODE_HASH[algorithm], data, 'hex');
}

/** HA1 = H(login ":" realm ":" password) (RFC 7616 §3.4.2, non-session algorithms). */
export function computeHa1(algorithm: DigestAlgorithm, login: string, realm: string, password: string): string {
  return hashHex(algorithm, `${login}:${realm}:${password}`);
}

/** The HA1 a user record holds for `algorithm`, if any. */
export function ha1For(ha1: UserRecord['ha1'], algorithm: DigestAlgorithm): string | undefined {
  return algorithm === 'MD5' ? ha1.md5 : algorithm === 'SHA-256' ? ha1.sha256 : ha1.sha512t256;
}

/** Every HA1 value of one login form. */
export function computeHa1Pair(login: string, realm: string, password: string): { md5: string; sha256: string; sha512t256: string } {
  return { md5: computeHa1('MD5', login, realm, password), sha256: computeHa1('SHA-256', login, realm, password), sha512t256: computeHa1('SHA-512-256', login, realm, password) };
}

/**
 * Constant-time equality of two ASCII strings (hex digests). Unequal lengths return false
 * at once: the length of a digest is public (it follows from the algorithm).
 */
export function safeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  // Every character is looked at whatever differs: no early exit to time.
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
