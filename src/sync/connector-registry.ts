/**
 * ConnectorRegistry: the connector kinds a build knows (connectors/kind.ts), and what the
 * rest of the program does with them: check the `connectors:` and `bindings:` sections
 * together, create the configured connectors, and list each kind's options schema for the
 * configuration reference. It knows no kind itself; the build's list is src/connectors.ts.
 */
import type { ConnectorContext, ConnectorKind } from '../../connectors/kind.ts';
import type { Connector } from '../../connectors/types.ts';
import type { BindingConfig } from './binding.ts';

/** A config problem, with the path of the bad key (`connectors.corp.url`). */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/** The `connectors:` section as loaded: entries by name, each with its `kind`. */
export type RawConnectors = Readonly<Record<string, { readonly kind: string }>>;

export class ConnectorRegistry {
  readonly #kinds = new Map<string, ConnectorKind>();

  constructor(kinds: readonly ConnectorKind[]) {
    for (const k of kinds) {
      if (this.#kinds.has(k.kind)) throw new Error(`connector kind ${k.kind} is registered twice`);
      this.#kinds.set(k.kind, k);
    }
  }

  /** Registered kind names, sorted. */
  kinds(): string[] {
    return [...this.#kinds.keys()].sort();
  }

  /** Every kind, in registration order (for the configuration reference). */
  all(): readonly ConnectorKind[] {
    return [...this.#kinds.values()];
  }

  /**
   * Checks every connector's options, that every binding names a known connector, and
   * that a binding which writes to its connector (`push`, `both`) has one that can write.
   */
  check(connectors: RawConnectors, bindings: readonly BindingConfig[]): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const writable = new Map<string, boolean>();
    for (const [name, raw] of Object.entries(connectors)) {
      const k = this.#kinds.get(raw.kind);
      if (!k) {
        issues.push({ path: `connectors.${name}.kind`, message: `unknown connector kind ${raw.kind} (known: ${this.kinds().join(', ')})` });
        continue;
      }
      const r = k.options.safeParse(raw);
      if (r.success) writable.set(name, k.capabilities(r.data).write);
      else for (const i of r.error.issues) issues.push({ path: ['connectors', name, ...i.path.map(String)].join('.'), message: i.message });
    }
    bindings.forEach((b, i) => {
      if (!(b.connector in connectors)) {
        issues.push({ path: `bindings[${i}].connector`, message: `no connector named ${b.connector} in connectors:` });
      } else if (b.direction !== 'pull' && writable.get(b.connector) === false) {
        const kind = connectors[b.connector]?.kind;
        issues.push({
          path: `bindings[${i}].direction`,
          message: `direction ${b.direction} writes to connector ${b.connector}, which is read-only as configured (kind ${kind}); use direction pull or enable writing in connectors.${b.connector}`,
        });
      }
    });
    return issues;
  }

  /**
   * What the environment lacks for the configured connectors (a secret's variable unset, a
   * file unreadable), each kind asked without connecting. Call after `check`.
   */
  environment(connectors: RawConnectors, env: NodeJS.ProcessEnv): ConfigIssue[] {
    return Object.entries(connectors).flatMap(([name, raw]) => {
      const k = this.#kinds.get(raw.kind);
      if (!k) return [];
      return k.environment(k.options.parse(raw), env).map((i) => ({ path: `connectors.${name}.${i.path}`, message: i.message }));
    });
  }

  /**
   * Per connector, the options that change what it reads (ConnectorKind.readOptions), as
   * the binding fingerprints take them. Call after `check`.
   */
  readOptions(connectors: RawConnectors): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, raw] of Object.entries(connectors)) {
      const k = this.#kinds.get(raw.kind);
      if (!k) continue;
      const options = k.options.parse(raw);
      out[name] = k.readOptions ? k.readOptions(options) : options;
    }
    return out;
  }

  /** Creates every configured connector. Call `check` first. */
  async create(connectors: RawConnectors, ctx: Omit<ConnectorContext, 'name'> = {}): Promise<Map<string, Connector>> {
    const out = new Map<string, Connector>();
    try {
      for (const [name, raw] of Object.entries(connectors)) {
        const k = this.#kinds.get(raw.kind);
        if (!k) throw new Error(`unknown connector kind ${raw.kind}`);
        out.set(name, await k.create(k.options.parse(raw), { name, ...(ctx.logger ? { logger: ctx.logger } : {}) }));
      }
    } catch (err) {
      for (const c of out.values()) await c.close().catch(() => {});
      throw err;
    }
    return out;
  }
}
