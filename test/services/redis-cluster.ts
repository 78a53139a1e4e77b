/**
 * A throwaway Redis Cluster: six Debian redis-server nodes on loopback (three masters, one
 * replica each), nothing persisted, noeviction as production needs, joined by
 * `redis-cli --cluster create`. Each node's cluster bus listens on its port + 10000.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, spawnService, stopChild, tempDir, waitForPort } from './process.ts';

const run = promisify(execFile);

export interface RedisClusterService {
  /** `host:port` of every node, masters and replicas (what `redis.cluster` takes). */
  readonly nodes: readonly string[];
  stop(): Promise<void>;
}

/** A port whose cluster bus port (+10000) is free too. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p + 10000 > 65535 || taken.has(p) || taken.has(p + 10000)) continue;
    taken.add(p);
    taken.add(p + 10000);
    return p;
  }
}

export async function startRedisCluster(size = 6): Promise<RedisClusterService> {
  const dir = tempDir('redis-cluster');
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < size; i++) ports.push(await clusterPort(taken));
  const children = ports.map((port) =>
    spawnService('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction',
      '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '5000', '--dir', dir,
    ]),
  );
  const stop = async () => {
    await Promise.all(children.map((c) => stopChild(c.child)));
    await stopChild(children[0]!.child, dir);
  };
  try {
    await Promise.all(children.map((c, i) => waitForPort(ports[i]!, c.child, c.output)));
    const nodes = ports.map((p) => `127.0.0.1:${p}`);
    await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '1', '--cluster-yes'], { timeout: 60_000 });
    // `create` returns once the slots are assigned; every node must see the cluster as ok before clients use it.
    const deadline = Date.now() + 60_000;
    for (const p of ports) {
      for (;;) {
        const { stdout } = await run('redis-cli', ['-p', String(p), 'cluster', 'info']);
        if (/cluster_state:ok/.test(stdout)) break;
        if (Date.now() > deadline) throw new Error(`redis cluster node ${p} not ok: ${stdout}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return { nodes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
