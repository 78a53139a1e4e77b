/**
 * Client side of Digest and Basic, written independently of src/auth (straight from
 * RFC 7616 §3.4), plus a local user table on a real SQLite store.
 */
import { createHash } from 'node:crypto';
import { HttpError, type Unauthorized } from '../../src/xcap/errors.ts';
import { LocalUsers } from '../../src/auth/local-users.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { DocumentStore } from '../../src/store/types.ts';

export async function sqliteUsers(): Promise<{ store: DocumentStore; users: LocalUsers }> {
  const store = await openSqliteStore(':memory:');
  return { store, users: await LocalUsers.open(store.sql) };
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Splits one WWW-Authenticate value into scheme and params (quoted or token). */
export function parseChallenge(value: string): Challenge {
  const space = value.indexOf(' ');
  const params: Record<string, string> = {};
  for (const m of value.slice(space + 1).matchAll(/([\w-]+)=(?:"([^"]*)"|([^,\s]+))/g)) {
    params[(m[1] as string).toLowerCase()] = m[2] ?? (m[3] as string);
  }
  return { scheme: value.slice(0, space), params };
}

/** The challenges of a 401, in order. */
export function challengesOf(err: unknown): Challenge[] {
  if (!(err instanceof HttpError) || err.status !== 401) throw new Error(`expected a 401, got ${String(err)}`);
  const h = (err as Unauthorized).headers['WWW-Authenticate'];
  return (Array.isArray(h) ? h : [h as string]).map(parseChallenge);
}

/** Awaits `p` expecting an HttpError, which it returns. */
export async function rejection(p: Promise<unknown>): Promise<HttpError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

function h(alg: string, s: string): string {
  return createHash(alg === 'SHA-256' ? 'sha256' : 'md5').update(s).digest('hex');
}

export interface DigestAnswer {
  username: string;
  password: string;
  realm: string;
  nonce: string;
  method: string;
  uri: string;
  algorithm: 'MD5' | 'SHA-256';
  /** Omitted = the RFC 2069 form. */
  nc?: number;
  cnonce?: string;
}

/** An `Authorization: Digest ...` value as a client computes it. */
export function digestAuthorization(a: DigestAnswer): string {
  const ha1 = h(a.algorithm, `${a.username}:${a.realm}:${a.password}`);
  const ha2 = h(a.algorithm, `${a.method}:${a.uri}`);
  const fields = [`username="${a.username}"`, `realm="${a.realm}"`, `nonce="${a.nonce}"`, `uri="${a.uri.replace(/["\\]/g, '\\$&')}"`, `algorithm=${a.algorithm}`];
  if (a.nc === undefined) {
    fields.push(`response="${h(a.algorithm, `${ha1}:${a.nonce}:${ha2}`)}"`);
  } else {
    const nc = a.nc.toString(16).padStart(8, '0');
    const cnonce = a.cnonce ?? 'f00dcafe';
    fields.push(`qop=auth`, `nc=${nc}`, `cnonce="${cnonce}"`, `response="${h(a.algorithm, `${ha1}:${a.nonce}:${nc}:${cnonce}:auth:${ha2}`)}"`);
  }
  return `Digest ${fields.join(', ')}`;
}

export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}
