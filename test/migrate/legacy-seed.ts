/**
 * Seeds legacy `xcap` tables the way each legacy server writes them, with the column facts
 * spelled out here (not derived from the code under test): Kamailio doc_uri paths and
 * `sr-` ETags, OpenSIPS/OpenXCAP document names and doc_type codes.
 */
import type { SqlEngine } from '../../connectors/sql/database.ts';
import type { FreshDatabase } from '../services/sql-databases.ts';
import { BRIA_LIST, NOT_XML, OMA_PRES_RULES, PIDF, PRES_CONTENT, PRES_RULES, RLS_SERVICES, resourceLists } from '../fixtures/legacy-sql/documents.ts';

export interface SeedRow {
  readonly username: string;
  readonly domain: string;
  readonly docType: number;
  readonly docUri: string;
  readonly etag: string;
  readonly doc: Buffer;
}

export type Dialect = 'kamailio' | 'opensips' | 'openxcap';

/** What a seeded row should become: the store key and body, or the word the report gives. */
export interface Expectation {
  readonly row: SeedRow;
  readonly key?: { auid: string; xui: string; path: string };
  readonly body?: string;
  /** A substring of the reason an import gives for refusing it. */
  readonly invalid?: string;
  /** Valid only with --lenient. */
  readonly lenient?: boolean;
}

export async function insertRows(db: FreshDatabase, engine: SqlEngine, rows: readonly SeedRow[], table = 'xcap'): Promise<void> {
  const ph = (i: number) => (engine === 'postgres' ? `$${i}` : '?');
  for (const r of rows) {
    await db.query(
      `INSERT INTO ${table} (username, domain, doc, doc_type, etag, source, doc_uri, port) VALUES (${ph(1)}, ${ph(2)}, ${ph(3)}, ${ph(4)}, ${ph(5)}, 0, ${ph(6)}, 0)`,
      [r.username, r.domain, r.doc, r.docType, r.etag, r.docUri],
    );
  }
}

/** The rows a user `user@example.com` has on a legacy server of `dialect`, with what each should become. */
export function legacyRows(dialect: Dialect, user: string, n = 0): Expectation[] {
  const xui = `sip:${user}@example.com`;
  const etag = (i: number) => (dialect === 'kamailio' ? `sr-1700000000-${n}-${i}-${user.length}` : `${dialect.slice(0, 4)}${n}x${i}${user.length}`.padEnd(32, 'e'));
  const kam = dialect === 'kamailio';
  const row = (i: number, auid: string, docType: number, name: string, body: string): SeedRow => ({
    username: user,
    domain: 'example.com',
    docType,
    docUri: kam ? `/xcap-root/${auid}/users/${xui}/${name}` : name,
    etag: etag(i),
    doc: Buffer.from(body, 'utf8'),
  });
  const rl = resourceLists(user, ['sip:bob@example.com', 'sip:carol@example.com']);
  const out: Expectation[] = [
    { row: row(1, 'resource-lists', 4, 'index', rl), key: { auid: 'resource-lists', xui, path: 'index' }, body: rl },
    // OpenXCAP names every pres-rules document index.xml; the others keep the client's name.
    { row: row(2, 'pres-rules', 2, dialect === 'openxcap' ? 'index.xml' : 'index', PRES_RULES), key: { auid: 'pres-rules', xui, path: 'index' }, body: PRES_RULES },
    { row: row(3, 'rls-services', 8, 'index', RLS_SERVICES.replace('alice-buddies', `${user}-buddies`)), key: { auid: 'rls-services', xui, path: 'index' }, body: RLS_SERVICES.replace('alice-buddies', `${user}-buddies`) },
    { row: row(4, 'pidf-manipulation', 16, 'index', PIDF), key: { auid: 'pidf-manipulation', xui, path: 'index' }, body: PIDF },
    {
      row: row(5, 'org.openmobilealliance.pres-rules', kam ? 2 : 32, 'pres-rules', OMA_PRES_RULES),
      key: { auid: 'org.openmobilealliance.pres-rules', xui, path: 'pres-rules' },
      body: OMA_PRES_RULES,
    },
    {
      row: row(6, 'org.openmobilealliance.pres-content', kam ? 128 : 64, 'oma_status-icon/rcs_status_icon', PRES_CONTENT),
      key: { auid: 'org.openmobilealliance.pres-content', xui, path: 'oma_status-icon/rcs_status_icon' },
      body: PRES_CONTENT,
    },
    { row: row(7, 'resource-lists', 4, 'bria', BRIA_LIST), key: { auid: 'resource-lists', xui, path: 'bria' }, body: BRIA_LIST, invalid: 'uri', lenient: true },
    { row: row(8, 'resource-lists', 4, 'broken', NOT_XML), invalid: 'is not closed' },
  ];
  out.push(
    kam
      ? { row: { ...row(9, 'resource-lists', 4, 'x', rl), docUri: `/elsewhere/resource-lists/users/${xui}/x` }, invalid: 'XCAP root' }
      : { row: row(9, 'dialog-rules', 128, 'index', '<dialog-rules/>'), invalid: 'org.openxcap.dialog-rules' },
  );
  return out;
}
