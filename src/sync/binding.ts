/**
 * Bindings: the `bindings:` section of the config file. A binding ties the items of one
 * list in XCAP documents of one application usage to a collection of a named connector
 * (`connectors:` section, see src/connectors.ts).
 *
 * ```yaml
 * connectors:
 *   corp: { kind: ldap, url: ldap://ldap.example.com, ... }
 * bindings:
 *   - name: directory
 *     auid: resource-lists
 *     target: { scope: users, document: index }
 *     mapping: { kind: resource-lists, list: directory, fields: [mail, mobile] }
 *     connector: corp
 *     collection: ou=people,dc=example,dc=com
 *     direction: pull
 *     schedule: { everyMs: 60000 }
 * ```
 * Every default is written next to its field (`@defaultValue`). Errors carry the path of
 * the bad key (`bindings[0].direction`) through the config loader.
 */
import { z } from 'zod';
import { configFingerprint } from './fingerprint.ts';
import type { DocKey } from '../store/types.ts';
import { resourceListsMapping } from '../appusage/resource-lists/items.ts';
import { elementsMapping } from './mapping/elements.ts';
import type { ItemMapping } from './mapping/element-list.ts';

const resourceListsMappingSchema = z
  .object({
    kind: z.literal('resource-lists'),
    /**
     * `name` of the top-level `<list>` the binding owns inside the document; other lists are never touched.
     * @defaultValue `directory`
     */
    list: z.string().min(1).default('directory').describe('name of the top-level <list> the binding owns inside the document; other lists are never touched.'),
    /**
     * Extra item fields carried in each `<entry>` (as `<xbf:field name="...">`), beyond `uri` and `display-name`.
     * @defaultValue `[]`
     */
    fields: z.array(z.string().regex(/^[A-Za-z][\w.-]*$/, 'field names are letters, digits, _ . -')).default([]).describe('Extra item fields carried in each <entry> (as <xbf:field name="...">), beyond uri and display-name.'),
  })
  .strict();

const elementsMappingSchema = z
  .object({
    /** A list of elements in a custom usage (e.g. device-config speed dials). */
    kind: z.literal('elements').describe('A list of elements in a custom usage (e.g. device-config speed dials).'),
    /** Namespace of the document's elements. */
    namespace: z.string().min(1).describe('Namespace of the document\'s elements.'),
    /** Local name of the root element. */
    root: z.string().min(1).describe('Local name of the root element.'),
    /**
     * Container element below the root holding the items (`name` picks one by its `name` attribute);
     * `null` when the items are children of the root.
     * @defaultValue `null`
     */
    container: z.object({ element: z.string().min(1), name: z.string().optional() }).strict().nullable().default(null).describe('Container element below the root holding the items (name picks one by its name attribute); null when the items are children of the root.'),
    /** Local name of one item element. */
    item: z.string().min(1).describe('Local name of one item element.'),
    /** Field name → `@attribute` or child element local name. */
    fields: z.record(z.string(), z.string().regex(/^@?[A-Za-z_][\w.-]*$/, 'an @attribute or an element name')).describe('Field name → @attribute or child element local name.'),
    /** Field that identifies an item within the list. */
    key: z.string().min(1).describe('Field that identifies an item within the list.'),
  })
  .strict()
  .refine((m) => m.key in m.fields, { message: 'key must be one of the mapped fields', path: ['key'] });

export const mappingSchema = z.discriminatedUnion('kind', [resourceListsMappingSchema, elementsMappingSchema]);

export const bindingSchema = z
  .object({
    /** Unique name, used in job keys, state rows, CLI and logs. */
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'letters, digits, _ and - only').describe('Unique name, used in job keys, state rows, CLI and logs.'),
    /** Application usage of the bound documents. */
    auid: z.string().min(1).describe('Application usage of the bound documents.'),
    target: z
      .object({
        /** `global`: one document under `global/`; `users`: fan-out to every user's document. */
        scope: z.enum(['global', 'users']).describe('global: one document under global/; users: fan-out to every user\'s document.'),
        /**
         * Document path below `global/` or `users/<xui>/`.
         * @defaultValue `index`
         */
        document: z.string().min(1).default('index').describe('Document path below global/ or users/<xui>/.'),
        /**
         * Users to fan out to (scope `users`), besides every XUI that already has a document of
         * this usage and, for a `pull` binding, every user in the user table.
         * @defaultValue `[]`
         */
        users: z.array(z.string().min(1)).default([]).describe('Users to fan out to (scope users), besides every XUI that already has a document of this usage and, for a pull binding, every user in the user table.'),
      })
      .strict(),
    mapping: mappingSchema,
    /** Name of an entry in `connectors:`. */
    connector: z.string().min(1).describe('Name of an entry in connectors:.'),
    /**
     * Remote collection; may use `{xui}`, `{user}` (part before `@`, without `sip:`) and `{domain}` for scope `users`.
     */
    collection: z.string().min(1).describe('Remote collection; may use {xui}, {user} (part before @, without sip:) and {domain} for scope users.'),
    /**
     * `pull`: remote → XCAP (XCAP list is a projection); `push`: XCAP → remote; `both`.
     * @defaultValue `pull`
     */
    direction: z.enum(['pull', 'push', 'both']).default('pull').describe('pull: remote → XCAP (XCAP list is a projection); push: XCAP → remote; both.'),
    /**
     * What happens when both sides changed an item differently (direction `both`).
     * @defaultValue `manual` (record it, change nothing; resolve with `sync resolve`)
     */
    policy: z.enum(['xcap-wins', 'remote-wins', 'newest-wins', 'merge', 'manual']).default('manual').describe('What happens when both sides changed an item differently (direction both).'),
    /** Periodic runs (in addition to XCAP change events). Omit for event-driven only. */
    schedule: z
      .object({
        /** Interval in milliseconds. */
        everyMs: z.number().int().min(1000).optional().describe('Interval in milliseconds.'),
        /** Cron pattern (BullMQ repeat syntax), instead of `everyMs`. */
        cron: z.string().min(1).optional().describe('Cron pattern (BullMQ repeat syntax), instead of everyMs.'),
      })
      .strict()
      .refine((s) => (s.everyMs === undefined) !== (s.cron === undefined), { message: 'give exactly one of everyMs or cron' })
      .optional(),
    /**
     * Run a sync when a bound XCAP document changes.
     * @defaultValue `true`
     */
    onXcapChange: z.boolean().default(true).describe('Run a sync when a bound XCAP document changes.'),
    safety: z
      .object({
        /**
         * Largest share (0..1) of a side's items one run may delete; a bigger plan is refused and reported.
         * @defaultValue `0.2`
         */
        maxDeleteShare: z.number().min(0).max(1).default(0.2).describe('Largest share (0..1) of a side\'s items one run may delete; a bigger plan is refused and reported.'),
        /**
         * Deletes per side and run that always pass the share check (small lists can shrink).
         * @defaultValue `1`
         */
        deleteAllowance: z.number().int().min(0).default(1).describe('Deletes per side and run that always pass the share check (small lists can shrink).'),
        /**
         * `created`: a side only loses items the binding created there; `all`: any bound item.
         * @defaultValue `created`
         */
        deletes: z.enum(['created', 'all']).default('created').describe('created: a side only loses items the binding created there; all: any bound item.'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.mapping.kind === 'resource-lists' && b.auid !== 'resource-lists') {
      ctx.addIssue({ code: 'custom', message: 'mapping kind resource-lists needs auid resource-lists', path: ['mapping', 'kind'] });
    }
    if (b.target.scope === 'global' && /\{(xui|user|domain)\}/.test(b.collection)) {
      ctx.addIssue({ code: 'custom', message: 'per-user placeholders need target.scope users', path: ['collection'] });
    }
  });

/** The `bindings:` section. Names must be unique. */
export const bindingsSchema = z
  .array(bindingSchema)
  .default([])
  .superRefine((bs, ctx) => {
    const seen = new Set<string>();
    bs.forEach((b, i) => {
      if (seen.has(b.name)) ctx.addIssue({ code: 'custom', message: `duplicate binding name ${b.name}`, path: [i, 'name'] });
      seen.add(b.name);
    });
  });

export type BindingConfig = z.infer<typeof bindingSchema>;
export type BindingInput = z.input<typeof bindingSchema>;

/** `global` or the user's XUI: one bound document of a binding. */
export type Scope = string;
export const GLOBAL_SCOPE = 'global';

/** A binding ready to run: config plus its compiled mapping. */
export interface Binding {
  readonly config: BindingConfig;
  readonly mapping: ItemMapping;
  /** The binding's and its connector's configuration as one hash (fingerprint.ts): state built under another is read anew. */
  readonly fingerprint: string;
}

/** `connectorOptions`: what of the binding's connector entry changes what is read (`connectorReadOptions`); part of the fingerprint. */
export function compileBinding(config: BindingConfig, connectorOptions?: unknown): Binding {
  const m = config.mapping;
  const mapping =
    m.kind === 'resource-lists'
      ? resourceListsMapping(m.list, m.fields)
      : elementsMapping({ namespace: m.namespace, root: m.root, container: m.container, item: m.item, fields: m.fields, key: m.key });
  return { config, mapping, fingerprint: configFingerprint(config, connectorOptions ?? null) };
}

/** The document a binding syncs for `scope`. */
export function docKeyFor(b: BindingConfig, scope: Scope): DocKey {
  return { auid: b.auid, xui: b.target.scope === 'global' ? null : scope, path: b.target.document };
}

/** The scope a document belongs to for binding `b`, or `undefined` if the binding does not cover it. */
export function scopeOfDoc(b: BindingConfig, key: DocKey): Scope | undefined {
  if (key.auid !== b.auid || key.path !== b.target.document) return undefined;
  if (b.target.scope === 'global') return key.xui === null ? GLOBAL_SCOPE : undefined;
  return key.xui ?? undefined;
}

/** Expands `{xui}`, `{user}` and `{domain}` in the collection template. */
export function collectionFor(b: BindingConfig, scope: Scope): string {
  if (b.target.scope === 'global') return b.collection;
  const bare = scope.replace(/^sips?:/, '');
  const at = bare.indexOf('@');
  const user = at < 0 ? bare : bare.slice(0, at);
  const domain = at < 0 ? '' : bare.slice(at + 1);
  return b.collection.replaceAll('{xui}', scope).replaceAll('{user}', user).replaceAll('{domain}', domain);
}
