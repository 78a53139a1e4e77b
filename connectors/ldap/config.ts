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
import type { ConnectorCapabilities } from '../types.ts';

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
  uri: z.union([uriTemplate, z.array(uriTemplate).min(1)]).default(['sip:{uid}@{domain}']).transform((u) => (Array.isArray(u) ? u : [u])).describe('Template(s) making the entry uri; the first whose placeholders (LDAP attributes or constants) are all present wins; phone attributes are normalized to E.164 first.'),
  /** Fixed template values, e.g. `{ domain: 'example.com' }`. @defaultValue `{}` */
  constants: z.record(z.string(), z.string()).default({}).describe('Fixed template values, e.g. { domain: example.com }.'),
  /**
   * Country used to read national phone numbers (ISO 3166 alpha-2, e.g. `DE`). Without it
   * only numbers written in international form can be normalized.
   */
  defaultCountry: z.string().refine((c) => isSupportedCountry(c), 'unknown country code').optional().describe('Country for reading national phone numbers (ISO 3166 alpha-2, e.g. DE); without it only international numbers are normalized.'),
  /** Attributes holding phone numbers (normalized to E.164, duplicates collapsed). @defaultValue telephoneNumber, mobile, homePhone */
  phoneAttributes: z.array(z.string()).default(['telephoneNumber', 'mobile', 'homePhone']).describe('Attributes holding phone numbers (normalized to E.164, duplicates collapsed).'),
  /**
   * Extra item fields: field name → LDAP attribute. Multi-valued attributes become one
   * field with distinct values joined by `, `.
   * @defaultValue `{ mail: 'mail', mobile: 'mobile', title: 'title', department: 'departmentNumber' }`
   */
  fields: z.record(z.string(), z.string()).default({ mail: 'mail', mobile: 'mobile', title: 'title', department: 'departmentNumber' }).describe('Extra item fields: field name → LDAP attribute; a multi-valued attribute becomes one field, distinct values joined by ", ".'),
});

export const ldapWriteSchema = z.object({
  /** Turns on `write`/`remove` (capabilities.write). @defaultValue `false` */
  enabled: z.boolean().default(false).describe('Turns on write-back (the connector can write; needed by push and both bindings).'),
  /** DN under which new entries are created; by default the collection's DN. */
  containerDn: z.string().min(1).optional().describe('DN under which new entries are created; by default the collection DN.'),
  /** objectClass values of created entries. @defaultValue `['inetOrgPerson']` */
  objectClasses: z.array(z.string()).min(1).default(['inetOrgPerson']).describe('objectClass values of created entries.'),
  /** Attribute that names created entries (`<rdnAttribute>=<value>,<containerDn>`). @defaultValue `'uid'` */
  rdnAttribute: z.string().default('uid').describe('Attribute naming created entries (<rdnAttribute>=<value>,<containerDn>).'),
});

const ldapConnectorFields = z
  .object({
    /** `ldap://host:port` or `ldaps://host:port`. */
    url: z.string().regex(/^ldaps?:\/\/[^/]+\/?$/, 'expected ldap://host[:port] or ldaps://host[:port]').describe('ldap://host:port or ldaps://host:port.'),
    /** Upgrade an ldap:// connection with StartTLS before binding. @defaultValue `false` */
    startTls: z.boolean().default(false).describe('Upgrade an ldap:// connection with StartTLS before binding.'),
    /** TLS settings for ldaps:// and StartTLS. */
    tls: z
      .object({
        /** PEM file with the CA(s) to trust instead of the system store. */
        caFile: z.string().optional().describe('PEM file with the CA(s) to trust instead of the system store.'),
        /** Verify the server certificate. Turning it off is for tests only. @defaultValue `true` */
        rejectUnauthorized: z.boolean().default(true).describe('Verify the server certificate (off is for tests only).'),
      })
      .optional()
      .describe('TLS settings for ldaps:// and StartTLS.'),
    /** DN to bind as; anonymous when absent. */
    bindDn: z.string().optional().describe('DN to bind as; anonymous when absent.'),
    /** Name of the environment variable holding the bind password. */
    bindPasswordEnv: z.string().optional().describe('Name of the environment variable holding the bind password.'),
    /** Path of a file holding the bind password (trailing newline ignored). */
    bindPasswordFile: z.string().optional().describe('File holding the bind password (trailing newline ignored).'),
    /** Search base; also the collection used when a binding names none. */
    baseDn: z.string().min(1).describe('Search base; also the collection used when a binding names none.'),
    /** Search scope below the collection DN. @defaultValue `'sub'` */
    scope: z.enum(['one', 'sub']).default('sub').describe('Search scope below the collection DN.'),
    /** Which entries are contacts. @defaultValue `'(objectClass=inetOrgPerson)'` */
    filter: ldapFilter.default('(objectClass=inetOrgPerson)').describe('Which entries are contacts (RFC 4515 filter).'),
    /** Entries per page of a paged search (RFC 2696). @defaultValue `1000` */
    pageSize: z.number().int().min(1).max(100_000).default(1000).describe('Entries per page of a paged search (RFC 2696).'),
    /** Per-operation timeout in milliseconds. @defaultValue `30000` */
    timeoutMs: z.number().int().positive().default(30_000).describe('Per-operation timeout in milliseconds.'),
    /** TCP connect timeout in milliseconds. @defaultValue `5000` */
    connectTimeoutMs: z.number().int().positive().default(5000).describe('TCP connect timeout in milliseconds.'),
    /** Stable item id: `entryUUID` (OpenLDAP, 389-DS) or `objectGUID` (Active Directory). @defaultValue `'entryUUID'` */
    idAttribute: z.enum(['entryUUID', 'objectGUID']).default('entryUUID').describe('Stable item id: entryUUID (OpenLDAP, 389-DS) or objectGUID (Active Directory).'),
    /**
     * Item version attribute; entries lacking it fall back to `modifyTimestamp`. Write-back
     * asserts on whichever was used. @defaultValue `'entryCSN'`
     */
    versionAttribute: z.string().default('entryCSN').describe('Item version attribute (modifyTimestamp where missing); write-back asserts on it.'),
    /**
     * Attribute whose ordering finds entries changed since the last run. `entryCSN`
     * (OpenLDAP) is unique per change, so "strictly after the last one seen" is exact;
     * `modifyTimestamp` (any server, e.g. Active Directory) has one-second resolution and
     * relies on the token's edge set (change-token.ts). @defaultValue `'entryCSN'`
     */
    deltaAttribute: z.enum(['entryCSN', 'modifyTimestamp']).default('entryCSN').describe('Attribute whose ordering finds entries changed since the last run (modifyTimestamp for servers without entryCSN).'),
    /**
     * Directory-wide change marker read before every incremental run: `contextCSN` on the
     * database suffix (OpenLDAP with syncprov) or `highestCommittedUSN` on the root DSE
     * (Active Directory). @defaultValue `'contextCSN'`
     */
    changeMarker: z.enum(['contextCSN', 'highestCommittedUSN']).default('contextCSN').describe('Directory-wide change marker read first on every incremental run: contextCSN (OpenLDAP syncprov) or highestCommittedUSN (Active Directory).'),
    /** Entry carrying contextCSN; by default the naming context (root DSE) that contains baseDn. */
    suffixDn: z.string().optional().describe('Entry carrying contextCSN; by default the naming context containing baseDn.'),
    /**
     * Time between two id-only listings that find deleted entries, in milliseconds: the
     * first run at least this long after the last listing lists again, whether or not
     * anything else changed (a delete need not move the change marker). A delete reaches
     * the documents within one scheduled run after this interval. An id-only listing of
     * 10,000 entries costs the server well under a second. 0 = on every run.
     * @defaultValue `60000` (1 minute)
     */
    deleteScanIntervalMs: z.number().int().min(0).default(60_000).describe('Time between two id-only listings that find deleted entries, in ms, whether or not anything else changed; a delete reaches the documents within one scheduled run after it. 0 = every run.'),
    /**
     * Connections to the server at most. OpenLDAP keeps one paged search per connection,
     * so each concurrent search (several users' runs, a delete scan) takes one of its own
     * until its last page; requests wait for a free one beyond this. @defaultValue `4`
     */
    connections: z.number().int().min(1).max(64).default(4).describe('Connections to the server at most; each concurrent paged search takes one of its own (OpenLDAP keeps one per connection).'),
    mapping: ldapMappingSchema.prefault({}).describe('How an entry becomes an item (uri, display-name, extra fields).'),
    /** Write-back; off when absent. */
    write: ldapWriteSchema.optional().describe('Write-back; off (read-only connector) when absent.'),
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

/** What a connector with these options declares: it writes only when `write.enabled`. */
export function ldapCapabilities(config: Pick<LdapConnectorConfig, 'write'>): ConnectorCapabilities {
  return { write: config.write?.enabled ?? false, conditionalWrite: true, changeFeed: true, watch: false };
}

/**
 * The options that change what the connector reads: the server and identity (another
 * server or bind DN may see other entries), which entries, their ids, versions and change
 * order, and the mapping. Timeouts, page size, pool size, the delete-scan interval,
 * secrets, TLS trust and write-back do not change what is read, so changing them keeps
 * the sync state (ConnectorKind.readOptions).
 */
export function ldapReadOptions(c: LdapConnectorConfig): unknown {
  const { url, bindDn, baseDn, scope, filter, idAttribute, versionAttribute, deltaAttribute, changeMarker, suffixDn, mapping } = c;
  return { url, bindDn, baseDn, scope, filter, idAttribute, versionAttribute, deltaAttribute, changeMarker, suffixDn, mapping };
}

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

/**
 * What can be checked before connecting (`check-config`): the bind password's variable is
 * set and not empty, and the password and CA files can be read. Keys are relative to the
 * connector's options (`bindPasswordEnv`, `tls.caFile`); messages never carry a secret.
 */
export function ldapEnvironmentIssues(config: LdapConnectorConfig, env: NodeJS.ProcessEnv): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const key = config.bindPasswordEnv !== undefined ? 'bindPasswordEnv' : 'bindPasswordFile';
  try {
    if (readBindPassword(config, env) === '') issues.push({ path: key, message: `the LDAP bind password (${config.bindPasswordEnv ?? config.bindPasswordFile}) is empty` });
  } catch (err) {
    issues.push({ path: key, message: (err as Error).message });
  }
  const ca = config.tls?.caFile;
  if (ca !== undefined) {
    try {
      readFileSync(ca);
    } catch (err) {
      issues.push({ path: 'tls.caFile', message: `cannot read the CA file: ${(err as Error).message}` });
    }
  }
  return issues;
}
