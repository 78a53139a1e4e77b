/**
 * Starts the real gateway in-process on a free port with a private store (SQLite in a temp
 * dir, or a fresh database on the throwaway PostgreSQL), adds users, and hands out clients.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { LocalUsers } from '../../src/auth/local-users.ts';
import { configSchema, type ConfigInput } from '../../src/config/schema.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import type { FeedClock } from '../../src/feed/clock.ts';
import { createLogger } from '../../src/log.ts';
import { freshPostgresDatabase } from '../services/databases.ts';
import { XcapClient } from './digest-client.ts';

export interface TestUser {
  xui: string;
  password: string;
  admin?: boolean;
}

export interface TestGateway {
  readonly gateway: Gateway;
  /** `http://127.0.0.1:PORT/xcap-root` */
  readonly url: string;
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  readonly users: LocalUsers;
  /** The SQLite data directory (also for a CLI child process reading the same store); unused with PostgreSQL. */
  readonly dataDir: string;
  /** The PostgreSQL URL of the store, when it is PostgreSQL (for child processes writing beside the server). */
  readonly databaseUrl: string | undefined;
  /** A Digest (default) or Basic client for `login` (e.g. `alice`) with `password`. */
  client(login?: string, password?: string, opts?: { mode?: 'digest' | 'basic'; algorithm?: 'MD5' | 'SHA-256' | 'SHA-512-256' }): XcapClient;
  stop(): Promise<void>;
}

export const ALICE: TestUser = { xui: 'sip:alice@example.com', password: 'alice-secret' };
export const BOB: TestUser = { xui: 'sip:bob@example.com', password: 'bob-secret' };
export const ADMIN: TestUser = { xui: 'sip:admin@example.com', password: 'admin-secret', admin: true };

export async function startTestGateway(
  opts: { store?: 'sqlite' | 'postgres'; config?: Omit<ConfigInput, 'store'>; users?: TestUser[]; now?: () => number; feedClock?: FeedClock } = {},
): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'xcapb-gw-'));
  const store =
    opts.store === 'postgres'
      ? { kind: 'postgres' as const, url: await freshPostgresDatabase(inject('services').postgres, 'gw') }
      : { kind: 'sqlite' as const, dataDir: dir };
  const input = opts.config ?? {};
  const config = configSchema.parse({
    ...input,
    server: { ...input.server, host: '127.0.0.1', port: 0 },
    store,
    log: { level: 'silent', ...input.log },
    // The tests' clients send Basic over loopback HTTP; test/http/basic-over-http.test.ts checks the default.
    auth: { defaultDomain: 'example.com', allowBasicOverHttp: true, ...input.auth },
  });
  const gateway = await startGateway(config, createLogger('silent'), { now: opts.now, feedClock: opts.feedClock });
  const users = await LocalUsers.open(gateway.store.sql);
  for (const u of opts.users ?? [ALICE, BOB, ADMIN]) await users.add(u.xui, u.password, { admin: u.admin });
  const origin = new URL(gateway.url).origin;
  return {
    gateway,
    url: gateway.url,
    origin,
    users,
    dataDir: dir,
    databaseUrl: store.kind === 'postgres' ? store.url : undefined,
    client(login = 'alice', password = ALICE.password, copts = {}) {
      return new XcapClient(gateway.url, { username: login, password }, copts);
    },
    async stop() {
      await gateway.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
