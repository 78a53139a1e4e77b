/**
 * Vitest global setup: starts every real service the suites need, once per run, in
 * parallel, and hands their URLs to tests via `inject('services')`. Stops them after.
 * A service that fails to start fails the run; no test is silently skipped.
 */
import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres.ts';
import { startRedis } from './redis.ts';
import { startSlapd, type SlapdService } from './slapd.ts';
import type { Service } from './process.ts';

export interface ServiceUrls {
  redis: string;
  postgres: string;
  /** Throwaway slapd; `ou=people,<baseDn>` exists. Tests should work under their own `ou`. */
  ldap: { url: string; bindDn: string; password: string; baseDn: string };
}

declare module 'vitest' {
  export interface ProvidedContext {
    services: ServiceUrls;
  }
}

let running: Service[] = [];

export async function setup(project: TestProject): Promise<void> {
  const started = await Promise.allSettled([startRedis(), startPostgres(), startSlapd()]);
  running = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await teardown();
    throw failed.reason;
  }
  const [redis, postgres, ldap] = running as [Service, Service, SlapdService];
  project.provide('services', {
    redis: redis.url,
    postgres: postgres.url,
    ldap: { url: ldap.url, bindDn: ldap.bindDn, password: ldap.password, baseDn: ldap.baseDn },
  });
}

export async function teardown(): Promise<void> {
  await Promise.all(running.map((s) => s.stop()));
  running = [];
}
