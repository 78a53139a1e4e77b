/**
 * Every test that goes through the sync queue (BullMQ) runs against both kinds of Redis
 * the `redis:` section supports: the run's single Redis and a 6-node Redis Cluster (three
 * masters, one replica each; test/services/redis-cluster.ts). A file wraps those tests in
 * one `describeEachRedis`: the cluster starts when its first test asks for it and stops
 * after the file's cluster cases, one cluster per file.
 */
import { afterAll, describe, inject } from 'vitest';
import type { RedisTarget } from '../../src/sync/redis-connection.ts';
import { startRedisCluster, type RedisClusterService } from '../services/redis-cluster.ts';

/** One Redis the sync tests run against: a name for `describe` and its target. */
export interface RedisVariant {
  readonly name: string;
  /** Where the queue lives; a cluster is started on the first call. */
  target(): Promise<RedisTarget>;
}

/**
 * The cluster variant's `url`: a loopback port nothing listens on (port 1 needs root), so
 * any connection made from `redis.url` while `redis.cluster` is set fails instead of
 * quietly using the single Redis.
 */
export const NOWHERE_REDIS = 'redis://127.0.0.1:1';

let cluster: Promise<RedisClusterService> | undefined;

export const REDIS_VARIANTS: readonly RedisVariant[] = [
  { name: 'single Redis', target: async () => ({ url: inject('services').redis }) },
  { name: 'Redis Cluster', target: async () => ({ url: NOWHERE_REDIS, cluster: (await (cluster ??= startRedisCluster())).nodes }) },
];

/** Stops the file's Redis Cluster if one was started. */
async function stopRedisCluster(): Promise<void> {
  const started = cluster;
  cluster = undefined;
  await (await started)?.stop();
}

/** `body`'s tests once per Redis variant, under a `describe` named after it. */
export function describeEachRedis(body: (redis: RedisVariant) => void): void {
  describe.each(REDIS_VARIANTS)('$name', (redis) => {
    afterAll(stopRedisCluster);
    body(redis);
  });
}

/** The config's `redis:` section for `target` with key prefix `prefix`. */
export function redisSection(target: RedisTarget, prefix: string): { url: string; prefix: string; cluster?: string[] } {
  return { url: target.url, prefix, ...(target.cluster ? { cluster: [...target.cluster] } : {}) };
}

/** The same section as a line of a child process's YAML config (JSON is YAML's flow style). */
export function redisYaml(target: RedisTarget, prefix: string): string {
  return `redis: ${JSON.stringify(redisSection(target, prefix))}`;
}

/** The environment variables that point a child process's config at `target` (docs/configuration.md). */
export function redisEnvironment(target: RedisTarget): Record<string, string> {
  return { REDIS_URL: target.url, ...(target.cluster ? { XCAP_BRIDGE_REDIS_CLUSTER: target.cluster.join(',') } : {}) };
}
