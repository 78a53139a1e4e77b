/** A throwaway redis-server on a free port, nothing persisted, noeviction as production needs. */
import { freePort, spawnService, stopChild, waitForPort, type Service } from './process.ts';

export interface RedisService extends Service {
  /**
   * Stops the server and starts a new, empty one on the same port: what a restart without
   * persistence or a failover to an empty replica looks like to clients.
   */
  restartEmpty(): Promise<void>;
}

export async function startRedis(): Promise<RedisService> {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'];
  const spawnReady = async () => {
    const s = spawnService('redis-server', args);
    await waitForPort(port, s.child, s.output);
    return s.child;
  };
  let child = await spawnReady();
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => stopChild(child),
    async restartEmpty() {
      await stopChild(child);
      child = await spawnReady();
    },
  };
}
