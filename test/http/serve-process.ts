/**
 * Runs `xcap-bridge serve --port 0` as a child process (the real CLI, as an operator starts
 * it) and reads the URL from its 'serving XCAP at ...' log line. Users are added with the
 * real `user add` command first.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const BIN = resolve(import.meta.dirname, '../../bin/xcap-bridge.js');
const run = promisify(execFile);

export interface ServeProcess {
  readonly proc: ChildProcess;
  /** `http://127.0.0.1:PORT/xcap-root` (`https://` with server.tls) */
  readonly url: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves once the output holds `times` lines containing `text` (e.g. every worker's URL line). */
  logged(text: string, times: number): Promise<void>;
  /** Sends SIGTERM (unless already sent) and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Where a serve process keeps its data: a fresh SQLite directory, or a PostgreSQL URL. */
export type StoreArgs = { data: string } | { databaseUrl: string };

export function storeArgs(s: StoreArgs): string[] {
  return 'data' in s ? ['--data', s.data] : ['--database-url', s.databaseUrl];
}

/** A temp directory for a SQLite store, and its remover. */
export function tempData(): { data: string; remove: () => void } {
  const data = mkdtempSync(join(tmpdir(), 'xcapb-serve-'));
  return { data, remove: () => rmSync(data, { recursive: true, force: true }) };
}

/** `xcap-bridge user add <xui> --password <pw> [--admin] [extra...]` on that store. */
export async function addUser(store: StoreArgs, xui: string, password: string, admin = false, extra: string[] = []): Promise<void> {
  await run(process.execPath, [BIN, 'user', 'add', xui, '--password', password, ...(admin ? ['--admin'] : []), ...storeArgs(store), ...extra]);
}

/** A child's stdout and stderr as one text, and a wait for lines in it. */
export interface OutputWatch {
  output(): string;
  /** Resolves once the output holds `times` lines containing `text`. */
  logged(text: string, times?: number): Promise<void>;
}

/** Collects `proc`'s output from now on; `onData` is called after each chunk. */
export function watchOutput(proc: ChildProcess, onData: (out: string) => void = () => {}): OutputWatch {
  let out = '';
  const waiters = new Set<() => void>();
  const take = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    for (const w of waiters) w();
    onData(out);
  };
  proc.stdout?.on('data', take);
  proc.stderr?.on('data', take);
  return {
    output: () => out,
    logged(text, times = 1) {
      return new Promise((done) => {
        const check = () => {
          if (out.split('\n').filter((l) => l.includes(text)).length < times) return;
          waiters.delete(check);
          done();
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/**
 * Starts `serve` on a free port; resolves once it logs its URL (so keep the log level at info).
 * Basic over plain HTTP is allowed (the tests' clients send it on loopback) unless `env` sets
 * XCAP_BRIDGE_ALLOW_BASIC_OVER_HTTP.
 */
export function startServe(store: StoreArgs, extra: string[] = [], env: Record<string, string> = {}): Promise<ServeProcess> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', '0', ...storeArgs(store), ...extra], {
    env: { ...process.env, XCAP_BRIDGE_ALLOW_BASIC_OVER_HTTP: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A test whose set-up failed half-way never calls stop(): the server must not outlive the run.
  const orphanGuard = () => proc.kill('SIGKILL');
  process.once('exit', orphanGuard);
  const exited = new Promise<number | null>((r) =>
    proc.once('exit', (code) => {
      process.off('exit', orphanGuard);
      r(code);
    }),
  );
  return new Promise((resolveStart, reject) => {
    const watch = watchOutput(proc, (out) => {
      const m = /serving XCAP at (https?:\/\/\S+?)["\s]/.exec(out);
      if (m) {
        resolveStart({
          proc,
          url: m[1] as string,
          output: watch.output,
          logged: watch.logged,
          async stop() {
            // Once only: a second SIGTERM during the drain would kill the process outright.
            if (!proc.killed && proc.exitCode === null) proc.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code} before listening:\n${watch.output()}`)));
  });
}
