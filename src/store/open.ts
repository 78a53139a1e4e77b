/**
 * The one place that picks a DocumentStore backend from configuration. Backends are
 * imported on demand, so an SQLite setup never loads `pg` and a PostgreSQL one never
 * touches node:sqlite.
 *
 * Errors: a data directory that cannot be created or written, or a malformed URL, is a
 * plain Error saying so (a configuration mistake: retrying will not help); a database
 * server that cannot be reached is StoreUnavailable naming host:port (never the password).
 */
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SqliteDurability } from './sqlite.ts';
import type { DocumentStore } from './types.ts';

export type StoreConfig =
  | { readonly kind: 'sqlite'; readonly dataDir: string; readonly durability?: SqliteDurability }
  | { readonly kind: 'postgres'; readonly url: string };

/** Name of the SQLite file inside `dataDir`. */
export const SQLITE_FILE = 'xcap.sqlite';

/** `openStore(cfg, { create: false })` found no SQLite database where the configuration points. */
export class StoreMissing extends Error {
  readonly path: string;
  constructor(path: string) {
    super(`no store at ${path}`);
    this.path = path;
    this.name = 'StoreMissing';
  }
}

/**
 * Opens the configured store. With `create: false` (commands that only read what a server
 * wrote) a missing SQLite database is StoreMissing instead of a new empty one.
 */
export async function openStore(cfg: StoreConfig, opts: { create?: boolean } = {}): Promise<DocumentStore> {
  if (cfg.kind === 'postgres') {
    const { openPostgresStore } = await import('./postgres.ts');
    return openPostgresStore(cfg.url);
  }
  const dir = resolve(cfg.dataDir);
  if (opts.create === false && !existsSync(join(dir, SQLITE_FILE))) throw new StoreMissing(join(dir, SQLITE_FILE));
  try {
    mkdirSync(dir, { recursive: true });
    // SQLite also writes its -wal and -shm files beside the database, so the directory itself must be writable.
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new Error(`data directory ${dir} cannot be used for the SQLite store: ${(err as Error).message}`, { cause: err });
  }
  const { openSqliteStore } = await import('./sqlite.ts');
  return openSqliteStore(join(dir, SQLITE_FILE), { durability: cfg.durability });
}
