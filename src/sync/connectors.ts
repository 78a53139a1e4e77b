/**
 * The `connectors:` section: remote stores by name, each `{ kind, ...options }`. A
 * connector kind registers a factory here (its own zod schema for the options and a
 * `create`); bindings refer to connectors by name.
 *
 * ```ts
 * registerConnector({ kind: 'ldap', options: ldapOptionsSchema, create: (o, ctx) => openLdapConnector(o, ctx) });
 * ```
 * `memory` is built in (for demos and tests: its content lives in the process).
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Connector } from '../../connectors/types.ts';
import { MemoryConnector } from '../../connectors/memory/index.ts';
import { ldapConnectorFactory } from '../../connectors/ldap/index.ts';
import type { BindingConfig } from './binding.ts';

export interface ConnectorFactory<O> {
  readonly kind: string;
  /** Validates the connector's options (the whole `{ kind, ... }` object). */
  readonly options: z.ZodType<O>;
  create(options: O, ctx: { readonly name: string; readonly logger?: Logger }): Promise<Connector> | Connector;
}

/** A config problem, with the path of the bad key (`connectors.corp.url`). */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

// The map holds factories of different option types; each is only called with what its own schema parsed.
const factories = new Map<string, ConnectorFactory<unknown>>();

export function registerConnector<O>(factory: ConnectorFactory<O>): void {
  factories.set(factory.kind, factory as ConnectorFactory<unknown>);
}

export function connectorKinds(): string[] {
  return [...factories.keys()].sort();
}

registerConnector({
  kind: 'memory',
  options: z
    .object({
      kind: z.literal('memory'),
      /**
       * Collections that exist from the start.
       * @defaultValue `[]`
       */
      collections: z.array(z.string().min(1)).default([]),
    })
    .strict(),
  create: (o) => new MemoryConnector({ collections: o.collections }),
});

registerConnector(ldapConnectorFactory);

type RawConnectors = Readonly<Record<string, { readonly kind: string }>>;

/** Checks every connector's options and that every binding names a known connector. */
export function checkSyncConfig(connectors: RawConnectors, bindings: readonly BindingConfig[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [name, raw] of Object.entries(connectors)) {
    const f = factories.get(raw.kind);
    if (!f) {
      issues.push({ path: `connectors.${name}.kind`, message: `unknown connector kind ${raw.kind} (known: ${connectorKinds().join(', ')})` });
      continue;
    }
    const r = f.options.safeParse(raw);
    if (!r.success) for (const i of r.error.issues) issues.push({ path: ['connectors', name, ...i.path.map(String)].join('.'), message: i.message });
  }
  bindings.forEach((b, i) => {
    if (!(b.connector in connectors)) issues.push({ path: `bindings[${i}].connector`, message: `no connector named ${b.connector} in connectors:` });
  });
  return issues;
}

/** Creates every configured connector. Call `checkSyncConfig` first. */
export async function createConnectors(connectors: RawConnectors, ctx: { logger?: Logger } = {}): Promise<Map<string, Connector>> {
  const out = new Map<string, Connector>();
  for (const [name, raw] of Object.entries(connectors)) {
    const f = factories.get(raw.kind);
    if (!f) throw new Error(`unknown connector kind ${raw.kind}`);
    out.set(name, await f.create(f.options.parse(raw), { name, ...(ctx.logger ? { logger: ctx.logger } : {}) }));
  }
  return out;
}
