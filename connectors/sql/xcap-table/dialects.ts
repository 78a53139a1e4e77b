/**
 * The legacy `xcap` table as Kamailio, OpenSIPS and OpenXCAP lay it out: columns
 * (username, domain, doc, doc_type, etag, source, doc_uri, port), which unique key a row
 * is found by, what `doc_uri` holds, the `doc_type` code of each application usage and
 * how long an ETag may be.
 *
 * - Kamailio (xcap_server, table version 4): UNIQUE(doc_uri); doc_uri is the full decoded
 *   request path `/xcap-root/<auid>/users/<xui>/<doc>`, so the usage and XUI are read from
 *   it; etag VARCHAR(128), unquoted.
 * - OpenSIPS (presence_xml with its integrated XCAP server) and OpenXCAP: UNIQUE(username,
 *   domain, doc_type, doc_uri); doc_uri is the document name (OpenXCAP stores pres-rules as
 *   `index.xml`); etag VARCHAR(64).
 * - doc_type codes agree up to 16 and differ above.
 */

export const LEGACY_DIALECTS = ['kamailio', 'opensips', 'openxcap'] as const;
export type LegacyDialectName = (typeof LEGACY_DIALECTS)[number];

/** The columns of one legacy row, as read and written. */
export interface LegacyRow {
  readonly username: string;
  readonly domain: string;
  readonly docType: number;
  readonly docUri: string;
  readonly etag: string;
  readonly doc: Uint8Array;
}

/** Where a legacy row belongs in this server: a user document. */
export interface LegacyKey {
  readonly auid: string;
  readonly xui: string;
  /** Document path as the legacy server named it (before the usage's canonical path). */
  readonly path: string;
}

/** Why a row does not map to a document (reported by import, skipped by the mirror). */
export class UnmappedRow extends Error {}

const COMMON_CODES: Readonly<Record<string, number>> = {
  'pres-rules': 2,
  'resource-lists': 4,
  'rls-services': 8,
  'pidf-manipulation': 16,
};

export interface LegacyDialect {
  readonly name: LegacyDialectName;
  /** Longest ETag the column holds. */
  readonly etagMaxLength: number;
  /** Columns of the unique key a row is addressed by. */
  readonly uniqueKey: readonly ('doc_uri' | 'username' | 'domain' | 'doc_type')[];
  /** doc_type code per auid (the ones this dialect stores). */
  readonly docTypes: Readonly<Record<string, number>>;
  /** The row's place; throws UnmappedRow with the reason when it has none. */
  keyOf(row: Omit<LegacyRow, 'doc' | 'etag'>): LegacyKey;
  /** The key columns for a document this server stores under (auid, xui, path). */
  rowKey(key: LegacyKey): Omit<LegacyRow, 'doc' | 'etag'>;
}

/** `sip:alice@example.com` → alice, example.com (the subscriber-style account columns). */
export function splitXui(xui: string): { username: string; domain: string } {
  const bare = xui.replace(/^sips?:/, '');
  const at = bare.lastIndexOf('@');
  if (at <= 0 || at === bare.length - 1) throw new UnmappedRow(`XUI ${JSON.stringify(xui)} has no user@domain`);
  return { username: bare.slice(0, at), domain: bare.slice(at + 1) };
}

function codeFor(d: { docTypes: Readonly<Record<string, number>>; name: string }, auid: string): number {
  const code = d.docTypes[auid];
  if (code === undefined) throw new UnmappedRow(`${d.name} stores no ${auid} documents`);
  return code;
}

/** Kamailio: the path carries everything; `root` is xcap_server's `xcap_root` (default /xcap-root). */
export function kamailioDialect(root = '/xcap-root'): LegacyDialect {
  const prefix = root.replace(/\/+$/, '') + '/';
  const d: LegacyDialect = {
    name: 'kamailio',
    etagMaxLength: 128,
    uniqueKey: ['doc_uri'],
    docTypes: {
      ...COMMON_CODES,
      'org.openmobilealliance.pres-rules': 2,
      'xcap-caps': 32,
      'org.openmobilealliance.user-profile': 64,
      'org.openmobilealliance.pres-content': 128,
      'org.openmobilealliance.search': 256,
      'org.openmobilealliance.xcap-directory': 512,
    },
    keyOf(row) {
      if (!row.docUri.startsWith(prefix)) throw new UnmappedRow(`doc_uri ${JSON.stringify(row.docUri)} is not below the XCAP root ${root}`);
      const parts = row.docUri.slice(prefix.length).split('/');
      const [auid, tree, xui, ...rest] = parts;
      if (auid === undefined || auid === '' || tree !== 'users' || xui === undefined || xui === '' || rest.length === 0 || rest.join('/') === '') {
        throw new UnmappedRow(`doc_uri ${JSON.stringify(row.docUri)} is not <root>/<auid>/users/<xui>/<document>`);
      }
      return { auid, xui, path: rest.join('/') };
    },
    rowKey(key) {
      const { username, domain } = splitXui(key.xui);
      return { username, domain, docType: codeFor(d, key.auid), docUri: `${prefix}${key.auid}/users/${key.xui}/${key.path}` };
    },
  };
  return d;
}

function accountDialect(name: 'opensips' | 'openxcap'): LegacyDialect {
  const docTypes: Record<string, number> = {
    ...COMMON_CODES,
    'org.openmobilealliance.pres-rules': 32,
    'org.openmobilealliance.pres-content': 64,
    'org.openxcap.dialog-rules': 128,
  };
  const auidOf = new Map(Object.entries(docTypes).map(([auid, code]) => [code, auid]));
  const d: LegacyDialect = {
    name,
    etagMaxLength: 64,
    uniqueKey: ['username', 'domain', 'doc_type', 'doc_uri'],
    docTypes,
    keyOf(row) {
      const auid = auidOf.get(row.docType);
      if (auid === undefined) throw new UnmappedRow(`doc_type ${row.docType} is not one ${name} defines`);
      if (row.username === '' || row.domain === '') throw new UnmappedRow('username or domain is empty');
      if (row.docUri === '') throw new UnmappedRow('doc_uri is empty');
      return { auid, xui: `sip:${row.username}@${row.domain}`, path: row.docUri };
    },
    rowKey(key) {
      const { username, domain } = splitXui(key.xui);
      // OpenXCAP names every pres-rules document index.xml, whatever the client called it.
      const docUri = name === 'openxcap' && key.auid === 'pres-rules' ? 'index.xml' : key.path;
      return { username, domain, docType: codeFor(d, key.auid), docUri };
    },
  };
  return d;
}

export function legacyDialect(name: LegacyDialectName, opts: { xcapRoot?: string } = {}): LegacyDialect {
  return name === 'kamailio' ? kamailioDialect(opts.xcapRoot) : accountDialect(name);
}

/** A legacy ETag as this server stores it: no quotes (some setups stored the header form). */
export function bareEtag(etag: string): string {
  return etag.length >= 2 && etag.startsWith('"') && etag.endsWith('"') ? etag.slice(1, -1) : etag;
}
