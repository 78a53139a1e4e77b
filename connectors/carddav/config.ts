/**
 * Options of one CardDAV connector (`connectors.<name>` with `kind: carddav`), validated at
 * start-up. Every default is stated next to its field. Passwords are never part of the
 * config: they are named by an environment variable or a file and read when a request
 * needs them (credentials.ts).
 */
import { isSupportedCountry } from 'libphonenumber-js';
import { z } from 'zod';
import type { ConnectorCapabilities } from '../types.ts';

/** Where an item's `uri` may come from, in the order tried. */
export const URI_SOURCES = ['impp', 'x-sip', 'tel', 'email'] as const;
export type UriSource = (typeof URI_SOURCES)[number];

/** `property` or `property.type` (a TYPE parameter value the property must carry), e.g. `tel.cell`. */
const fieldSpec = z.string().regex(/^[A-Za-z][A-Za-z0-9-]*(\.[A-Za-z0-9-]+)?$/, 'a vCard property name, optionally .type (e.g. email, tel.cell, org)');

export const carddavMappingSchema = z
  .object({
    /**
     * Where the entry's `uri` comes from, first match wins: `impp` (an IMPP with a sip:
     * or sips: value), `x-sip` (X-SIP, sip: added when missing), `tel` (the first TEL,
     * as `tel:` + E.164), `email` (the first EMAIL, as `mailto:`).
     * @defaultValue `['impp', 'x-sip', 'tel', 'email']`
     */
    uri: z.array(z.enum(URI_SOURCES)).min(1).default([...URI_SOURCES]).describe('Where the entry uri comes from, first match wins: impp (sip:/sips: IMPP), x-sip (X-SIP, sip: added), tel (first TEL as tel: + E.164), email (first EMAIL as mailto:).'),
    /** Country for reading national phone numbers (ISO 3166 alpha-2, e.g. `DE`). */
    defaultCountry: z.string().refine((c) => isSupportedCountry(c), 'unknown country code').optional().describe('Country for reading national phone numbers (ISO 3166 alpha-2, e.g. DE); without it only international numbers are normalized to E.164.'),
    /**
     * Extra item fields: field name → vCard property, optionally with a TYPE it must carry
     * (`tel.cell`). A spec without type takes the first property of that name no typed
     * spec of the same property claims. TEL values are normalized to E.164; structured
     * values (ORG) show their first component.
     * @defaultValue `{ mail: 'email', mobile: 'tel.cell', phone: 'tel', org: 'org', title: 'title' }`
     */
    fields: z.record(z.string(), fieldSpec).default({ mail: 'email', mobile: 'tel.cell', phone: 'tel', org: 'org', title: 'title' }).describe('Extra item fields: field name → vCard property, optionally .type (tel.cell); TEL values in E.164, ORG its first component.'),
  })
  .strict();

const credentialsSchema = z
  .object({
    /**
     * User name sent to the server; `{user}` is the collection's user (scope `users`
     * bindings template it; `{user}@example.com` for mail-address logins). A name
     * without `{user}` is one service account for every address book: it needs delegated
     * access to them and an `addressBook` template (discovery would find its own book).
     * @defaultValue `'{user}'`
     */
    username: z.string().min(1).default('{user}').describe('User name sent to the server; {user} is the collection\'s user ({user}@example.com for mail-address logins); a fixed name is one service account with delegated access to every address book, and then needs addressBook.'),
    /** Environment variable holding the one password (service account, or the same for everyone). */
    passwordEnv: z.string().min(1).optional().describe('Environment variable holding the password (service account).'),
    /** File holding the one password (trailing newline ignored). */
    passwordFile: z.string().min(1).optional().describe('File holding the password (trailing newline ignored).'),
    /** File of `user:password` lines, one per user (the user is the collection's `{user}`). */
    passwordsFile: z.string().min(1).optional().describe('File of user:password lines, one per user ({user} of the collection); read when a request needs it.'),
  })
  .strict()
  .refine((c) => [c.passwordEnv, c.passwordFile, c.passwordsFile].filter((x) => x !== undefined).length === 1, {
    message: 'set exactly one of passwordEnv, passwordFile or passwordsFile',
    path: ['passwordEnv'],
  });

const carddavFields = z
  .object({
    /** Server base URL (`https://dav.example.com`); relative address-book templates resolve against it, discovery starts from it. */
    url: z.url({ protocol: /^https?$/ }).describe('Server base URL (https://dav.example.com); relative addressBook templates resolve against it, discovery starts from it.'),
    /**
     * A user's address-book collection URL, `{user}` replaced by the binding's collection
     * (`/{user}/contacts/`). Without it, each user's address book is discovered
     * (RFC 6764 `/.well-known/carddav`, current-user-principal, addressbook-home-set).
     * A binding collection that is itself an absolute http(s) URL is used as is.
     */
    addressBook: z.string().min(1).optional().describe('A user\'s address-book URL, {user} replaced by the binding collection (/{user}/contacts/); without it the address book is discovered (/.well-known/carddav, principal, addressbook-home-set). An absolute http(s) collection is used as is.'),
    credentials: credentialsSchema.describe('Who the connector authenticates as (Basic, or Digest when the server asks for it).'),
    /**
     * Authentication scheme: `auto` answers the server's challenge (Digest RFC 7616 MD5
     * or SHA-256, else Basic); `basic` sends Basic up front (saves one round trip).
     * @defaultValue `'auto'`
     */
    auth: z.enum(['auto', 'basic', 'digest']).default('auto').describe('auto: answer the server\'s challenge (Digest MD5/SHA-256, else Basic); basic: send Basic up front; digest: Digest only.'),
    /**
     * Hosts (`host` or `host:port`) that redirects may lead to with credentials re-sent
     * (iCloud moves clients to partition hosts). The `url`'s own host is always allowed.
     * @defaultValue `[]`
     */
    redirectHosts: z.array(z.string().min(1)).default([]).describe('Hosts (host or host:port) a redirect may lead to with credentials re-sent (besides url\'s host); others are refused.'),
    /** Per-request timeout in milliseconds. @defaultValue `30000` */
    timeoutMs: z.number().int().positive().default(30_000).describe('Per-request timeout in milliseconds.'),
    /** Cards per addressbook-multiget REPORT (servers limit it; 100 is safe everywhere). @defaultValue `100` */
    multigetBatch: z.number().int().min(1).max(100).default(100).describe('Cards per addressbook-multiget REPORT (at most 100).'),
    /**
     * Change detection: `sync-collection` (RFC 6578, a stored token; an address book
     * whose server answers it as an unsupported report, 501 or DAV:supported-report, is
     * asked by getctag from then on) or `ctag` (getctag, then a getetag listing, always).
     * @defaultValue `'sync-collection'`
     */
    changeDetection: z.enum(['sync-collection', 'ctag']).default('sync-collection').describe('sync-collection (RFC 6578 token; falls back to ctag by itself where the server answers it with 501 or DAV:supported-report) or ctag (getctag, then a getetag listing).'),
    mapping: carddavMappingSchema.prefault({}).describe('How a vCard becomes an item (uri, display-name, extra fields).'),
    write: z
      .object({
        /** Turns on `write`/`remove`. @defaultValue `false` */
        enabled: z.boolean().default(false).describe('Turns on write-back (needed by push and both bindings).'),
        /** vCard version of cards the connector creates; edited cards keep theirs. @defaultValue `'3.0'` */
        version: z.enum(['3.0', '4.0']).default('3.0').describe('vCard version of created cards (edited cards keep theirs).'),
      })
      .strict()
      .optional()
      .describe('Write-back; off (read-only connector) when absent.'),
  })
  .strict();

/** The connector's options as an entry of `connectors:` (`{ kind: carddav, ... }`). */
export const carddavConnectorSchema = carddavFields.extend({ kind: z.literal('carddav') }).strict();

export type CarddavConfig = z.output<typeof carddavConnectorSchema>;
export type CarddavMapping = CarddavConfig['mapping'];
export type CarddavCredentials = CarddavConfig['credentials'];

/** Writes only when `write.enabled`; If-Match / If-None-Match make writes conditional on the server; both detection modes feed changes(). */
export function carddavCapabilities(config: Pick<CarddavConfig, 'write'>): ConnectorCapabilities {
  return { write: config.write?.enabled ?? false, conditionalWrite: true, changeFeed: true, watch: false };
}
