/**
 * ConnectorKind: what one connector folder contributes to the build, so the rest of the
 * program can validate, document and create connectors of that kind without knowing it.
 * The build's list of kinds is src/connectors.ts (one line per kind).
 *
 * - `options` is the zod schema of one `connectors.<name>` entry, `kind` included. Its
 *   `.describe()` texts and defaults are what docs/configuration.md shows for the kind
 *   (`check-config --reference`), and its issues carry the key path (`connectors.corp.url`).
 * - `capabilities` says, from the options alone, what the connector will declare once
 *   created (connectors/types.ts `ConnectorCapabilities`). It must not connect: config
 *   checking uses it to refuse a `push`/`both` binding to a read-only connector before
 *   anything runs, and the contract suite checks it against the created connector.
 * - `environment` checks, from the options and this process's environment, what would make
 *   the first connection fail before anything is asked of the remote: a secret the options
 *   name by environment variable or file is there, a file they name can be read. It must
 *   not connect, and its messages never carry a secret. `check-config` reports its issues.
 * - `readOptions` (optional) picks, from parsed options, those that change what is read
 *   (which items, their ids and versions, the fields they carry). A change of these makes
 *   the next run read everything again (the sync state was built under the old ones); a
 *   change of the others (timeouts, pool size, secrets, write-back, scan intervals) does
 *   not. Without it every option counts.
 * - `create` builds the connector from parsed options. It may open connections lazily
 *   (on first use) or eagerly; it never reads anything from the config file itself.
 */
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Connector, ConnectorCapabilities } from './types.ts';

/** What `create` gets besides the options. */
export interface ConnectorContext {
  /** The connector's name in `connectors:`, for logs. */
  readonly name: string;
  readonly logger?: Logger;
}

export interface ConnectorKind<O = unknown> {
  /** The `kind:` value (`ldap`, `memory`, `carddav`, `sql`). */
  readonly kind: string;
  /** Validates a whole `{ kind, ... }` entry; unknown keys should be refused (`.strict()`). */
  readonly options: z.ZodType<O>;
  /** The flags the created connector will declare, known without connecting. */
  capabilities(options: O): ConnectorCapabilities;
  /** Problems of the environment for these options; paths relative to the entry (`bindPasswordEnv`). */
  environment(options: O, env: NodeJS.ProcessEnv): { readonly path: string; readonly message: string }[];
  /** The options that change what is read (see above); all of them when absent. */
  readOptions?(options: O): unknown;
  create(options: O, ctx: ConnectorContext): Promise<Connector> | Connector;
}

/**
 * Types one kind for the registry: the registry holds kinds of different option types and
 * calls each one's `capabilities`/`environment`/`create` only with what its own `options` parsed.
 */
export function connectorKind<O>(kind: ConnectorKind<O>): ConnectorKind {
  return kind as unknown as ConnectorKind;
}
