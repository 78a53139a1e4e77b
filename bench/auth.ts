/**
 * Cost of authentication on the request path, in µs per operation (in-process, one core):
 * a 401 challenge, a Digest verify (SQLite user table, with and without the lookup cache),
 * and a cached Basic check. Run: `npx node bench/auth.ts`.
 */
import { createHash } from 'node:crypto';
import { createAuthenticator, type Authenticator } from '../src/auth/authenticator.ts';
import { LocalUsers } from '../src/auth/local-users.ts';
import { cachedSource } from '../src/auth/sources.ts';
import { openSqliteStore } from '../src/store/sqlite.ts';
import type { Unauthorized } from '../src/xcap/errors.ts';

const REALM = 'example.com';
const URL_ = '/xcap-root/resource-lists/users/sip:alice@example.com/index';
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

async function time(label: string, n: number, fn: (i: number) => Promise<unknown> | unknown): Promise<void> {
  for (let i = 0; i < Math.min(n, 2000); i++) await fn(i);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  const us = ((performance.now() - t0) * 1000) / n;
  console.log(`${label.padEnd(44)} ${us.toFixed(2).padStart(8)} µs/op`);
}

async function nonce(auth: Authenticator): Promise<string> {
  try {
    await auth.authenticate({ method: 'GET', url: URL_, headers: {} }, REALM);
  } catch (err) {
    const h = (err as Unauthorized).headers['WWW-Authenticate'] as string[];
    return /nonce="([^"]+)"/.exec(h[0] as string)![1] as string;
  }
  throw new Error('no challenge');
}

function digest(n: string, nc: number): string {
  const ha1 = md5(`alice:${REALM}:wonderland`);
  const ha2 = md5(`GET:${URL_}`);
  const ncs = nc.toString(16).padStart(8, '0');
  const resp = md5(`${ha1}:${n}:${ncs}:abc:auth:${ha2}`);
  return `Digest username="alice", realm="${REALM}", nonce="${n}", uri="${URL_}", algorithm=MD5, qop=auth, nc=${ncs}, cnonce="abc", response="${resp}"`;
}

const store = await openSqliteStore(':memory:');
const users = await LocalUsers.open(store.sql);
await users.add('sip:alice@example.com', 'wonderland');
const N = 50_000;

for (const [label, source] of [['sqlite table', users], ['sqlite table + 5 s cache', cachedSource(users)]] as const) {
  const auth = createAuthenticator({ users: source, allowBasic: true, allowBasicOverHttp: true });
  await time('401 challenge (no credentials)', N, async () => {
    try {
      await auth.authenticate({ method: 'GET', url: URL_, headers: {} }, REALM);
    } catch {
      /* expected */
    }
  });
  const n = await nonce(auth);
  const headers = Array.from({ length: N + 2000 }, (_, i) => digest(n, i + 1));
  let k = 0;
  await time(`Digest verify, ${label}`, N, () => auth.authenticate({ method: 'GET', url: URL_, headers: { authorization: headers[k++] } }, REALM));
  const basic = `Basic ${Buffer.from('alice:wonderland').toString('base64')}`;
  await time(`Basic, cached, ${label}`, N, () => auth.authenticate({ method: 'GET', url: URL_, headers: { authorization: basic } }, REALM));
}
await store.close();
