/**
 * A throwaway MariaDB server: mariadb-install-db into a temp dir, then mariadbd on a free
 * loopback port with a private socket, binary log and durability off. Root logs in over
 * TCP with no password. Started by the test files that need it (the SQL connector's).
 */
import { execFileSync } from 'node:child_process';
import { chownSync } from 'node:fs';
import { freePort, spawnService, stopChild, tempDir, waitForPort, type Service } from './process.ts';

export interface MariaDbService extends Service {
  /** Starts the same server again on the same port and data after `kill` (outage tests). */
  restart(): Promise<void>;
  /** Kills the server at once, as a crash or a network cut would look to clients. */
  kill(): Promise<void>;
}

export async function startMariaDb(): Promise<MariaDbService> {
  const dir = tempDir('mariadb');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'mysql']).toString()), Number(execFileSync('id', ['-g', 'mysql']).toString()));
  execFileSync('mariadb-install-db', [
    '--no-defaults', `--datadir=${dir}/data`, '--auth-root-authentication-method=normal', '--skip-test-db',
    ...(asRoot ? ['--user=mysql'] : []),
  ], { stdio: 'pipe' });
  const port = await freePort();
  const args = [
    '--no-defaults', `--datadir=${dir}/data`, `--port=${port}`, '--bind-address=127.0.0.1', `--socket=${dir}/sock`,
    `--pid-file=${dir}/pid`, '--skip-log-bin', '--innodb-flush-log-at-trx-commit=0', '--innodb-buffer-pool-size=64M',
    '--max-connections=300', '--skip-name-resolve', ...(asRoot ? ['--user=mysql'] : []),
  ];
  let running = spawnService('/usr/sbin/mariadbd', args);
  await waitForPort(port, running.child, running.output, 60_000);
  return {
    url: `mysql://root@127.0.0.1:${port}/mysql`,
    stop: () => stopChild(running.child, dir),
    async kill() {
      const exited = new Promise((r) => running.child.once('exit', r));
      running.child.kill('SIGKILL');
      await exited;
    },
    async restart() {
      running = spawnService('/usr/sbin/mariadbd', args);
      await waitForPort(port, running.child, running.output, 60_000);
    },
  };
}
