/**
 * Application usages declared in configuration, so a device-configuration schema can be
 * served without code: the XSD gives validity, the config gives everything else.
 */
import { ConstraintFailure } from '../xcap/errors.ts';
import { schemaAcceptedEdit } from './common/edit.ts';
import { loadSchema } from './schema.ts';
import type { AppUsage } from './types.ts';

export interface CustomUsageConfig {
  /** Application unique id, e.g. `com.example.phone-config`. */
  readonly auid: string;
  /** The documents' namespace (the XSD's targetNamespace); the default for selectors. */
  readonly namespace: string;
  /** MIME type of whole documents. */
  readonly mimeType: string;
  /** Path of the main .xsd file. */
  readonly xsd: string;
  /** Other project .xsd files the main one imports. */
  readonly imports?: readonly string[];
  readonly scopes: { readonly global: boolean; readonly users: boolean };
  /** If set, only these document names may be written. */
  readonly documentNames?: readonly string[];
}

/** Builds the usage. Throws a plain `Error` naming the auid and the key `xsd` when the schema does not load. */
export function createCustomUsage(cfg: CustomUsageConfig): AppUsage {
  let schema;
  try {
    schema = loadSchema(cfg.xsd, cfg.imports ? { imports: cfg.imports } : {});
  } catch (err) {
    throw new Error(`custom usage ${cfg.auid}: xsd: ${(err as Error).message}`, { cause: err });
  }
  const names = cfg.documentNames ? new Set(cfg.documentNames) : undefined;
  return {
    auid: cfg.auid,
    mimeType: cfg.mimeType,
    defaultNamespace: cfg.namespace,
    namespaces: [cfg.namespace],
    scopes: { global: cfg.scopes.global, users: cfg.scopes.users },
    validate(doc, ctx) {
      if (names !== undefined && !names.has(ctx.key.path)) {
        throw new ConstraintFailure(`document name ${ctx.key.path} is not one of ${[...names].join(', ')}`);
      }
      // The schema is all there is to judge, and an edit is judged from the part it changed.
      if (schemaAcceptedEdit(schema, doc) !== undefined) return;
      schema.validate(doc.text);
    },
  };
}
