/**
 * The sync engine's Redis: one server (`redis.url`) or a Redis Cluster (`redis.cluster`,
 * an ioredis Cluster started from those nodes, which finds the rest itself).
 *
 * BullMQ's scripts touch several keys of a queue at once, which a cluster allows only
 * when they hash to one slot: on a cluster the key prefix is therefore a hash tag, the
 * configured prefix in braces (`xcap-bridge` → `{xcap-bridge}`); a prefix that already has
 * a `{...}` part is used as it is. The whole queue then lives on one master (and its
 * replica); a cluster buys failover and room for other data, not a faster queue.
 */
import { Cluster, Redis, type ClusterNode, type RedisOptions } from 'ioredis';

/** Where the sync queue lives (the `redis:` config section's connection part). */
export interface RedisTarget {
  /** `redis://` or `rediss://` URL of a single server; ignored when `cluster` has nodes. */
  readonly url: string;
  /** Cluster nodes to start from: `host:port` or `redis://[user:password@]host:port`. */
  readonly cluster?: readonly string[] | undefined;
}

export type RedisConnection = Redis | Cluster;

/** Whether `target` names a cluster. */
export function isCluster(target: RedisTarget | RedisConnection): boolean {
  return target instanceof Cluster || (!(target instanceof Redis) && (target.cluster?.length ?? 0) > 0);
}

/** The key prefix the queue uses on `target`: hash-tagged on a cluster (see above). */
export function queuePrefix(prefix: string, target: RedisTarget | RedisConnection): string {
  return isCluster(target) && !/\{[^}]+\}/.test(prefix) ? `{${prefix}}` : prefix;
}

/**
 * A connection to `target`. `options` are those of each node's connection; `retryStrategy`
 * becomes the cluster's `clusterRetryStrategy` too, and `enableOfflineQueue` is the
 * cluster's (ioredis keeps its own queue for commands sent before the cluster is ready).
 */
export function createRedisConnection(target: RedisTarget, options: RedisOptions): RedisConnection {
  if (!isCluster(target)) return new Redis(target.url, options);
  const nodes = (target.cluster ?? []).map(clusterNode);
  const auth = nodes.find((n) => n.password !== undefined);
  const { lazyConnect, retryStrategy, enableOfflineQueue, ...nodeOptions } = options;
  return new Cluster(
    nodes.map(({ host, port }) => ({ host, port })),
    {
      ...(lazyConnect === undefined ? {} : { lazyConnect }),
      ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
      ...(retryStrategy ? { clusterRetryStrategy: (times: number) => retryStrategy(times) ?? null } : {}),
      redisOptions: { ...nodeOptions, ...(auth ? { username: auth.username, password: auth.password } : {}) },
    },
  );
}

function clusterNode(spec: string): ClusterNode & { host: string; port: number; username?: string; password?: string } {
  const url = new URL(/^rediss?:\/\//.test(spec) ? spec : `redis://${spec}`);
  const port = Number(url.port || 6379);
  return {
    host: url.hostname,
    port,
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
  };
}
