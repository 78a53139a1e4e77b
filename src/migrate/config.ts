/**
 * The `legacy:` section: a legacy XCAP server's `xcap` table kept in step while both run
 * (src/migrate/legacy-mirror.ts, docs/migration.md).
 */
import { z } from 'zod';
import { LEGACY_DIALECTS } from '../../connectors/sql/xcap-table/dialects.ts';

export const legacySchema = z
  .object({
    /** `postgres://...` or `mysql://...` (mariadb:// too) of the legacy server's database; `${VAR}` references the environment. */
    url: z.string().regex(/^(postgres|postgresql|mysql|mariadb):\/\//, 'postgres://, postgresql://, mysql:// or mariadb://').describe('The legacy server\'s database: postgres://... or mysql://...'),
    /** Whose table layout: `kamailio`, `opensips` or `openxcap`. */
    dialect: z.enum(LEGACY_DIALECTS).describe('kamailio | opensips | openxcap'),
    /** @defaultValue `xcap` */
    table: z.string().min(1).default('xcap').describe('The legacy table.'),
    /** Kamailio's `xcap_root`, the start of every doc_uri. @defaultValue `/xcap-root` */
    xcapRoot: z.string().startsWith('/').default('/xcap-root').describe('Kamailio\'s xcap_root (start of every doc_uri).'),
    /**
     * `push`: every document change here is written to the legacy row; `both`: also edits
     * made through the legacy server come back here (found by an ETag snapshot diff).
     * @defaultValue `both`
     */
    direction: z.enum(['push', 'both']).default('both').describe('push: changes here reach the legacy rows; both: legacy edits come back too.'),
    /** Milliseconds between checks (changes here are pushed at once). @defaultValue `1000` */
    pollMs: z.number().int().min(100).default(1000).describe('Milliseconds between checks of the legacy table (changes here are pushed at once).'),
  })
  .strict();

export type LegacyConfig = z.output<typeof legacySchema>;

/**
 * sync_meta row: the feed position through which the legacy mirror has written the legacy
 * rows (the highest any running mirror reached). The change-feed hooks announce changes
 * only up to it, so a presence server reading its `xcap` table is refreshed after the row.
 */
export const LEGACY_CURSOR = 'legacy-cursor';
