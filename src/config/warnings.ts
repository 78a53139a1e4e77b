/**
 * Settings that work but are unsafe in production, each with what to change. `serve` logs
 * one warning per finding at start-up (the Redis eviction policy is checked by the sync
 * engine once it reaches Redis: src/sync/queue.ts).
 */
import type { Config } from './schema.ts';

export interface UnsafeSetting {
  /** The setting, as in docs/configuration.md. */
  readonly key: string;
  readonly message: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function unsafeSettings(config: Config): UnsafeSetting[] {
  const out: UnsafeSetting[] = [];
  const plain = config.server.tls === undefined;
  const publicHost = !LOOPBACK.test(config.server.host);
  if (plain && config.auth.allowBasic && config.auth.allowBasicOverHttp) {
    out.push({ key: 'auth.allowBasicOverHttp', message: 'HTTP Basic is accepted over plain HTTP: passwords cross the network readable unless a TLS proxy in front is the only way in; serve HTTPS (server.tls) or set auth.allowBasicOverHttp: false' });
  }
  if (config.store.kind === 'postgres' && config.auth.nonceSecret === undefined) {
    out.push({ key: 'auth.nonceSecret', message: 'a shared PostgreSQL store suggests several replicas, and without auth.nonceSecret each signs Digest nonces with a key of its own: a client whose next request reaches another replica must log in again; set the same auth.nonceSecret (or XCAP_BRIDGE_NONCE_SECRET) on every replica' });
  }
  if (plain && publicHost) {
    out.push({ key: 'server.host', message: `the admin API, the status page and /metrics listen on ${config.server.host} without TLS: admin credentials cross the network; serve HTTPS (server.tls), put a TLS proxy in front, or listen on 127.0.0.1` });
  }
  return out;
}
