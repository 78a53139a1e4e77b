/** A throwaway redis-server on a free port, nothing persisted, noeviction as production needs. */
import { freePort, spawnService, stopChild, waitForPort, type Service } from './process.ts';

export async function startRedis(): Promise<Service> {
  const port = await freePort();
  const { child, output } = spawnService('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--maxmemory-policy', 'noeviction',
  ]);
  await waitForPort(port, child, output);
  return { url: `redis://127.0.0.1:${port}`, stop: () => stopChild(child) };
}
