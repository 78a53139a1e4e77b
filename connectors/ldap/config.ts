/**
 * Configuration of one LDAP connector, validated at start-up. Every default is stated
 * next to its field. The bind password is never part of the config: it is named by an
 * environment variable or a secret file and read at connect time only.
 */
import { readFileSync } from 'node:fs';
import { FilterParser } from 'ldapts';
import { isSupportedCountry } from 'libphonenumber-js';
import { z } from 'zod';
import { PERSON_ATTRIBUTES } from './person-attributes.ts';

/** `{name}` placeholders in a uri template. */
export const PLACEHOLDER = /\{([A-Za-z][\w-]*)\}/g;

const ldapFilter = z.string().refine((f) => {
  try {
    FilterParser.parseString(f);
    return true;
  } catch {
    return false;
  }
}, 'not a valid LDAP filter (RFC 4515)');

const uriTemplate = z
  .string()
  .regex(/^[a-z][a-z0-9+.-]*:/i, 'a uri template starts with a scheme, e.g. sip: or tel:')
  .refine((t) => [...t.matchAll(PLACEHOLDER)].length > 0, 'a uri template needs at least one {attribute} placeholder');

export const ldapMappingSchema = z.object({
  /**
   * Templates that make the entry's `uri`; the first whose placeholders are all present
   * wins. Placeholders name LDAP attributes or keys of `constants`. Phone attributes used
   * in a template are normalized to E.164 first.
   * @defaultValue `['sip:{uid}@{domain}']`
   */
  uri: z.union([uriTemplate, z.array(uriTemplate).min(1)]).default(['sip:{uid}@{domain}']).transform((u) => (Array.isArray(u) ? u : [u])),
  /** Fixed template values, e.g. `{ domain: 'example.com' }`. @defaultValue `{}` */
  constants: z.record(z.string(), z.string()).default({}),
  /**
   * Country used to read national phone numbers (ISO 3166 alpha-2, e.g. `DE`). Without it
   * only numbers written in international form can be normalized.
   */
  defaultCountry: z.string().refine((c) => isSupportedCountry(c), 'unknown country code').optional(),
  /** Attributes holding phone numbers (normalized to E.164, duplicates collapsed). @defaultValue telephoneNumber, mobile, homePhone */
  phoneAttributes: z.array(z.string()).default(['telephoneNumber', 'mobile', 'homePhone']),
  /**
   * Extra item fields: field name → LDAP attribute. Multi-valued attributes become one
   * field with distinct values joined by `, `.
   * @defaultValue `{ mail: 'mail', mobile: 'mobile', title: 'title', department: 'departmentNumber' }`
   */
  fields: z.record(z.string(), z.string()).default({ mail: 'mail', mobile: 'mobile', title: 'title', department: 'departmentNumber' }),
});

export const ldapWriteSchema = z.object({
  /** Turns on `write`/`remove` (capabilities.write). @defaultValue `false` */
  enabled: z.boolean().default(false),
  /** DN under which new entries are created; by default the collection's DN. */
  containerDn: z.string().min(1).optional(),
  /** objectClass values of created entries. @defaultValue `['inetOrgPerson']` */
  objectClasses: z.array(z.string()).min(1).default(['inetOrgPerson']),
  /** Attribute that names created entries (`<rdnAttribute>=<value>,<containerDn>`). @defaultValue `'uid'` */
  rdnAttribute: z.string().default('uid'),
});

const ldapConnectorFields = z
  .object({
    /** `ldap://host:port` or `ldaps://host:port`. */
    url: z.string().regex(/^ldaps?:\/\/[^/]+\/?$/, 'expected ldap://host[:port] or ldaps://host[:port]'),
    /** Upgrade an ldap:// connection with StartTLS before binding. @defaultValue `false` */
    startTls: z.boolean().default(false),
    /** TLS settings for ldaps:// and StartTLS. */
    tls: z
      .object({
        /** PEM file with the CA(s) to trust instead of the system store. */
        caFile: z.string().optional(),
        /** Verify the server certificate. Turning it off is for tests only. @defaultValue `true` */
        rejectUnauthorized: z.boolean().default(true),
      })
      .optional(),
    /** DN to bind as; anonymous when absent. */
    bindDn: z.string().optional(),
    /** Name of the environment variable holding the bind password. */
    bindPasswordEnv: z.string().optional(),
    /** Path of a file holding the bind password (trailing newline ignored). */
    bindPasswordFile: z.string().optional(),
    /** Search base; also the collection used when a binding names none. */
    baseDn: z.string().min(1),
    /** Search scope below the collection DN. @defaultValue `'sub'` */
    scope: z.enum(['one', 'sub']).default('sub'),
    /** Which entries are contacts. @defaultValue `'(objectClass=inetOrgPerson)'` */
    filter: ldapFilter.default('(objectClass=inetOrgPerson)'),
    /** Entries per page of a paged search (RFC 2696). @defaultValue `1000` */
    pageSize: z.number().int().min(1).max(100_000).default(1000),
    /** Per-operation timeout in milliseconds. @defaultValue `30000` */
    timeoutMs: z.number().int().positive().default(30_000),
    /** TCP connect timeout in milliseconds. @defaultValue `5000` */
    connectTimeoutMs: z.number().int().positive().default(5000),
    /** Stable item id: `entryUUID` (OpenLDAP, 389-DS) or `objectGUID` (Active Directory). @defaultValue `'entryUUID'` */
    idAttribute: z.enum(['entryUUID', 'objectGUID']).default('entryUUID'),
    /**
     * Item version attribute; entries lacking it fall back to `modifyTimestamp`. Write-back
     * asserts on whichever was used. @defaultValue `'entryCSN'`
     */
    versionAttribute: z.string().default('entryCSN'),
    /**
     * Attribute whose ordering finds entries changed since the last run. `entryCSN`
     * (OpenLDAP) is unique per change, so "strictly after the last one seen" is exact;
     * `modifyTimestamp` (any server, e.g. Active Directory) has one-second resolution and
     * relies on the token's edge set (change-token.ts). @defaultValue `'entryCSN'`
     */
    deltaAttribute: z.enum(['entryCSN', 'modifyTimestamp']).default('entryCSN'),
    /**
     * Directory-wide change marker read before every incremental run: `contextCSN` on the
     * database suffix (OpenLDAP with syncprov) or `highestCommittedUSN` on the root DSE
     * (Active Directory). @defaultValue `'contextCSN'`
     */
    changeMarker: z.enum(['contextCSN', 'highestCommittedUSN']).default('contextCSN'),
    /** Entry carrying contextCSN; by default the naming context (root DSE) that contains baseDn. */
    suffixDn: z.string().optional(),
    /**
     * Time between two id-only listings that find deleted entries, in milliseconds: the
     * first run at least this long after the last listing lists again, whether or not
     * anything else changed (a delete need not move the change marker). A delete reaches
     * the documents within one scheduled run after this interval. An id-only listing of
     * 10,000 entries costs the server well under a second. 0 = on every run.
     * @defaultValue `60000` (1 minute)
     */
    deleteScanIntervalMs: z.number().int().min(0).default(60_000),
    /**
     * Connections to the server at most. OpenLDAP keeps one paged search per connection,
     * so each concurrent search (several users' runs, a delete scan) takes one of its own
     * until its last page; requests wait for a free one beyond this. @defaultValue `4`
     */
    connections: z.number().int().min(1).max(64).default(4),
    mapping: ldapMappingSchema.prefault({}),
    /** Write-back; off when absent. */
    write: ldapWriteSchema.optional(),
  })
  .strict();

function checkLdapConnector(c: z.output<typeof ldapConnectorFields>, ctx: z.RefinementCtx): void {
  if (c.bindDn !== undefined && (c.bindPasswordEnv === undefined) === (c.bindPasswordFile === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['bindPasswordEnv'], message: 'with bindDn, set exactly one of bindPasswordEnv or bindPasswordFile' });
  }
  if (c.startTls && c.url.startsWith('ldaps:')) {
    ctx.addIssue({ code: 'custom', path: ['startTls'], message: 'startTls is for ldap:// URLs; ldaps:// is TLS already' });
  }
  const m = c.mapping;
  const known = new Set([...PERSON_ATTRIBUTES, ...[...Object.values(m.fields), ...m.phoneAttributes].map((a) => a.toLowerCase())]);
  m.uri.forEach((template, i) => {
    for (const [, name] of template.matchAll(PLACEHOLDER)) {
      if (name === undefined || name in m.constants || known.has(name.toLowerCase())) continue;
      ctx.addIssue({
        code: 'custom',
        path: ['mapping', 'uri', i],
        message:
          `placeholder {${name}} in ${JSON.stringify(template)} is neither a key of mapping.constants nor an LDAP attribute the mapping knows ` +
          `(a standard person attribute, a mapping.fields value or a mapping.phoneAttributes entry): ` +
          `add mapping.constants.${name} (e.g. constants: { ${name}: example.com }), or map the attribute in mapping.fields`,
      });
    }
  });
}

/** The connector's options, unknown keys refused (a typo must not silently fall back to a default). */
export const ldapConnectorSchema = ldapConnectorFields.superRefine(checkLdapConnector);

/** The same options as an entry of the config's `connectors:` section: `{ kind: ldap, ... }`. */
export const ldapConnectorEntrySchema = ldapConnectorFields.extend({ kind: z.literal('ldap') }).strict().superRefine(checkLdapConnector);

/** Config as written in the file. */
export type LdapConnectorInput = z.input<typeof ldapConnectorSchema>;
/** Config after validation, defaults filled in. */
export type LdapConnectorConfig = z.output<typeof ldapConnectorSchema>;
export type LdapMapping = LdapConnectorConfig['mapping'];

/**
 * Reads the bind password named by the config. Throws an Error naming the variable or
 * file (never the value) when it is missing.
 */
export function readBindPassword(config: LdapConnectorConfig, env: NodeJS.ProcessEnv): string | undefined {
  if (config.bindPasswordEnv !== undefined) {
    const value = env[config.bindPasswordEnv];
    if (value === undefined) throw new Error(`environment variable ${config.bindPasswordEnv} (LDAP bind password) is not set`);
    return value;
  }
  if (config.bindPasswordFile !== undefined) {
    try {
      return readFileSync(config.bindPasswordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new Error(`cannot read the LDAP bind password file: ${(err as Error).message}`, { cause: err });
    }
  }
  return undefined;
}
