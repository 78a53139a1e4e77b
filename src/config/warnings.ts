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
  const publicHost = !LOOPBACK.test(config.server.host);
  if (config.auth.allowBasic) {
    out.push({ key: 'auth.allowBasic', message: 'HTTP Basic is accepted over plain HTTP: passwords cross the network readable; put TLS in front (and list it in server.publicRoots) or set auth.allowBasic: false' });
  }
  if (config.store.kind === 'postgres' && config.auth.nonceSecret === undefined) {
    out.push({ key: 'auth.nonceSecret', message: 'a shared PostgreSQL store suggests several replicas, and without auth.nonceSecret each signs Digest nonces with a key of its own: a client whose next request reaches another replica must log in again; set the same auth.nonceSecret (or XCAP_BRIDGE_NONCE_SECRET) on every replica' });
  }
  if (publicHost) {
    out.push({ key: 'server.host', message: `the admin API, the status page and /metrics listen on ${config.server.host} without TLS: admin credentials cross the network; put a TLS proxy in front or listen on 127.0.0.1` });
  }
  return out;
}
