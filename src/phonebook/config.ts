/**
 * The `phonebook` section of the configuration: how the vendor phonebook endpoints read
 * entries (which item fields hold which kind of number, names) and how each phone gets its
 * numbers (per format, overridable per device group). Every key documented here is in the
 * generated docs/configuration.md.
 */
import { isSupportedCountry } from 'libphonenumber-js';
import { z } from 'zod';
import { FORMAT_NAMES } from './format.ts';

const country = z.string().refine((c) => isSupportedCountry(c), 'unknown country code (ISO 3166 alpha-2, e.g. DE)');

const regex = z.string().min(1).refine((s) => {
  try {
    new RegExp(s, 'u');
    return true;
  } catch {
    return false;
  }
}, 'not a valid regular expression');

export const numberStyleSchema = z
  .object({
    /**
     * How a number is written: `e164` (`+493012345678`), or `national` (`03012345678` for a
     * number of `country`; others in the international dialling form from `country`,
     * `0044…`).
     * @defaultValue `e164`
     */
    style: z.enum(['e164', 'national']).default('e164').describe('e164 (+493012345678) or national (030…, other countries with the international prefix from `country`).'),
    /** Country the phones dial from, for `national` (ISO 3166 alpha-2). @defaultValue `phonebook.defaultCountry` */
    country: country.optional().describe('Country the phones dial from, for national (ISO 3166 alpha-2); default phonebook.defaultCountry.'),
    /**
     * Extension rules tried before `style`, first match wins: `match` is a regular
     * expression over the whole E.164 number, `replace` its replacement (`$1` = first group).
     * `{ match: "\\+4930123(\\d{4})", replace: "$1" }` dials colleagues by extension.
     * @defaultValue none
     */
    extensions: z
      .array(z.object({ match: regex.describe('Regular expression over the whole E.164 number.'), replace: z.string().describe('Replacement; $1 is the first group.') }).strict())
      .default([])
      .describe('Extension rules tried first ({match: "\\\\+4930123(\\\\d{4})", replace: "$1"}).'),
  })
  .strict();

export type NumberStyleConfig = z.infer<typeof numberStyleSchema>;

const numberFields = (d: string[], what: string) => z.array(z.string().min(1)).default(d).describe(`Entry fields (<xbf:field name>) holding ${what}; every value of each is used.`);
const nameFields = (d: string[], what: string) => z.array(z.string().min(1)).default(d).describe(`Entry fields (<xbf:field name>) holding ${what}; the first present wins (else split from the display name).`);

export const phonebookSchema = z
  .object({
    /** Serve `/phonebook/...`. @defaultValue `true` */
    enabled: z.boolean().default(true).describe('Serve the vendor phonebooks under /phonebook/.'),
    /**
     * Country for numbers written without a country code (a phone's own list: `030 1234567`)
     * and the default of `numbers.country`. Without it such numbers are served as written.
     * @defaultValue unset
     */
    defaultCountry: country.optional().describe('Country for numbers without a country code (ISO 3166 alpha-2); default of numbers.country.'),
    /**
     * Absolute URL the phones reach this server by (`https://pbx.example.com`), for the
     * next-page and search links inside Cisco, Yealink and Snom pages.
     * @defaultValue `http://<Host of the request>` (`https://` on the HTTPS listener)
     */
    publicUrl: z.string().regex(/^https?:\/\/[^/?#]+$/i, 'must be scheme://host[:port] without a path').optional().describe('scheme://host[:port] for links inside pages; default http(s)://<Host> as requested.'),
    /** Which entry fields hold what (the LDAP connector's `mapping.fields` names them). */
    fields: z
      .object({
        work: numberFields(['telephoneNumber', 'phone', 'work'], 'work numbers'),
        mobile: numberFields(['mobile', 'cell'], 'mobile numbers'),
        home: numberFields(['homePhone', 'home'], 'home numbers'),
        firstName: nameFields(['givenName', 'first-name'], 'the first name'),
        lastName: nameFields(['sn', 'last-name'], 'the last name'),
      })
      .strict()
      .prefault({})
      .describe('Entry fields holding numbers and names.'),
    /** Number style of every format unless `formats` or a device group says otherwise. */
    numbers: numberStyleSchema.prefault({}).describe('Default number style.'),
    /** Number style per format (`cisco: { style: national }`). @defaultValue none */
    formats: z
      .partialRecord(z.enum(FORMAT_NAMES), z.object({ numbers: numberStyleSchema.describe('Number style of this format.') }).strict())
      .default({})
      .describe('Per-format settings: { numbers: ... }.'),
    /**
     * Device groups: phones whose User-Agent matches `userAgent`, or that ask with
     * `?group=<name>`, get this number style in every format.
     * @defaultValue none
     */
    deviceGroups: z
      .record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" and "-" only'), z.object({ userAgent: regex.optional().describe('Regular expression matched against User-Agent.'), numbers: numberStyleSchema.describe('Number style of these phones in every format.') }).strict())
      .default({})
      .describe('Device groups by name: { userAgent?, numbers } (chosen by User-Agent or ?group=name).'),
    /** Largest Yealink XML object in bytes; longer directories are paged. @defaultValue `10000` (Yealink's documented limit) */
    yealinkMaxObjectBytes: z.number().int().min(2000).default(10000).describe('Largest Yealink XML object in bytes (paged above).'),
    /** Entries per Snom minibrowser page. @defaultValue `32` */
    snomPageSize: z.number().int().min(1).max(200).default(32).describe('Entries per Snom minibrowser page.'),
    polycom: z
      .object({
        /** Largest `<MAC>-directory.xml` upload in bytes (413 above). @defaultValue `262144` */
        maxUploadBytes: z.number().int().positive().default(256 * 1024).describe('Largest directory upload in bytes (413 above).'),
        /** Most `<item>`s in an upload (413 above). @defaultValue `1000` */
        maxItems: z.number().int().positive().default(1000).describe('Most items in a directory upload (413 above).'),
        /** List an upload to a `*` URL writes: this list, created when missing. @defaultValue `phone` */
        uploadList: z.string().min(1).default('phone').describe('List an upload to a "*" URL goes to (created when missing).'),
      })
      .strict()
      .prefault({})
      .describe('Polycom directory uploads.'),
  })
  .strict()
  .prefault({})
  .describe('Vendor phonebooks (docs/phonebooks.md).');

export type PhonebookConfig = z.infer<typeof phonebookSchema>;
