/**
 * A throwaway Radicale (Debian's 3.1.x) for the CardDAV tests: htpasswd auth with plain
 * passwords (users added while it runs: Radicale reads the file on every login), storage
 * in a temp dir with fsync off, connection limit raised above its default of 8 so
 * concurrent tests do not queue. `auth = http_x_remote_user` mode serves a Digest front
 * (test/services/apache-digest.ts) that authenticates and passes the user on.
 *
 * Started by the test files that need it (beforeAll), not by the global setup: only the
 * CardDAV tests use it.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, spawnService, stopChild, tempDir, waitForPort, type Service } from './process.ts';

export interface RadicaleService extends Service {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  /** The storage folder (`filesystem_folder`): the bench copies a seeded one in. */
  readonly collections: string;
  /** Adds a user with a plain-text password (htpasswd mode). */
  addUser(user: string, password: string): void;
  /**
   * Writes a card file straight into the storage of the collection at `path` (`/user/book/`),
   * for cards Radicale's own PUT refuses but other servers serve (no FN, vCard 2.1, a
   * second card with a known UID). Radicale reads it like any other.
   */
  writeStored(path: string, file: string, text: string): void;
  /** CPU seconds the Radicale process used so far (user + system, from /proc): the bench's split of a run. */
  cpuSeconds(): number;
  /** Freezes the process (SIGSTOP): connections are accepted by the kernel and never answered, until `thaw()`. */
  freeze(): void;
  thaw(): void;
  /** Stops Radicale, keeping its data, until `start()`. */
  halt(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
}

export interface RadicaleOptions {
  /** `htpasswd` (Basic auth, default) or `http_x_remote_user` (trust a front's X-Remote-User). */
  readonly auth?: 'htpasswd' | 'http_x_remote_user';
  /**
   * Radicale's `from_file` rights (the file's text: sections of `user`, `collection`,
   * `permissions`), e.g. a service account with access to every user's address book.
   * @defaultValue `owner_only`
   */
  readonly rights?: string;
}

/**
 * Radicale's own command refuses internal options (`_filesystem_fsync`) in a config file;
 * its API takes them as privileged settings. Same server, started the way its command does.
 */
const LAUNCHER = [
  'import sys',
  'from radicale import config, log, server',
  'log.setup()',
  'c = config.load([(sys.argv[1], False)])',
  "c.update({'storage': {'_filesystem_fsync': 'False'}}, 'tests', privileged=True)",
  "log.set_level(c.get('logging', 'level'))",
  'server.serve(c)',
].join('\n');

export async function startRadicale(opts: RadicaleOptions = {}): Promise<RadicaleService> {
  const dir = tempDir('radicale');
  mkdirSync(`${dir}/collections`);
  const users = `${dir}/users`;
  writeFileSync(users, '');
  const port = await freePort();
  const auth =
    opts.auth === 'http_x_remote_user'
      ? ['type = http_x_remote_user']
      : ['type = htpasswd', `htpasswd_filename = ${users}`, 'htpasswd_encryption = plain', 'delay = 0'];
  if (opts.rights !== undefined) writeFileSync(`${dir}/rights`, opts.rights);
  writeFileSync(
    `${dir}/config`,
    [
      '[server]',
      `hosts = 127.0.0.1:${port}`,
      'max_connections = 64',
      '[auth]',
      ...auth,
      '[rights]',
      ...(opts.rights === undefined ? ['type = owner_only'] : ['type = from_file', `file = ${dir}/rights`]),
      '[storage]',
      `filesystem_folder = ${dir}/collections`,
      '[web]',
      'type = none',
      '[logging]',
      'level = warning',
      '',
    ].join('\n'),
  );
  let child: Awaited<ReturnType<typeof launch>> | undefined;
  async function launch() {
    const s = spawnService('/usr/bin/python3', ['-c', LAUNCHER, `${dir}/config`]);
    await waitForPort(port, s.child, s.output);
    return s.child;
  }
  child = await launch();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    collections: `${dir}/collections`,
    addUser: (user, password) => appendFileSync(users, `${user}:${password}\n`),
    writeStored: (path, file, text) => writeFileSync(join(dir, 'collections', 'collection-root', ...path.split('/').filter(Boolean), file), text),
    stop: () => stopChild(child!, dir),
    cpuSeconds: () => {
      // Fields 14 and 15 of /proc/<pid>/stat, after the parenthesised command name.
      const fields = readFileSync(`/proc/${child!.pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    freeze: () => void child?.kill('SIGSTOP'),
    thaw: () => void child?.kill('SIGCONT'),
    halt: async () => {
      await stopChild(child!);
    },
    start: async () => {
      child = await launch();
    },
  };
}
