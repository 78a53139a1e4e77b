/**
 * A throwaway PostgreSQL cluster: initdb into a temp dir owned by the `postgres` user
 * (initdb refuses root), fsync off, trust auth on 127.0.0.1 and a private socket dir.
 * `durable: true` keeps PostgreSQL's own defaults (fsync, synchronous commit), for
 * benchmarks against a peer whose commit must survive a power loss.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import { freePort, spawnService, stopChild, tempDir, waitForPort, type Service } from './process.ts';

function pgBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const p = `${root}/${v}/bin/${name}`;
    if (existsSync(p)) return p;
  }
  throw new Error(`PostgreSQL binaries not found under ${root} (apt-get install postgresql)`);
}

export async function startPostgres(opts: { durable?: boolean } = {}): Promise<Service> {
  const dir = tempDir('pg');
  const user = process.getuid?.() === 0 ? 'postgres' : undefined;
  if (user) chownSync(dir, Number(execFileSync('id', ['-u', user]).toString()), Number(execFileSync('id', ['-g', user]).toString()));
  const initdbArgs = ['-D', `${dir}/data`, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'];
  if (user) execFileSync('setpriv', [`--reuid=${user}`, `--regid=${user}`, '--clear-groups', pgBin('initdb'), ...initdbArgs], { stdio: 'pipe' });
  else execFileSync(pgBin('initdb'), initdbArgs, { stdio: 'pipe' });
  const port = await freePort();
  const unsafe = opts.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
  const { child, output } = spawnService(
    pgBin('postgres'),
    ['-D', `${dir}/data`, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', ...unsafe, '-c', 'max_connections=200'],
    user ? { user } : {},
  );
  await waitForPort(port, child, output);
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop: () => stopChild(child, dir) };
}
