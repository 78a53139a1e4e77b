/**
 * Import of a legacy XCAP server's `xcap` table (Kamailio, OpenSIPS, OpenXCAP) into the
 * document store, and the export back for a roll-back.
 *
 * Import, per row: find its document (dialect.keyOf, the usage's canonical path), decode
 * the bytes as UTF-8, validate against the application usage exactly as a client's PUT
 * is validated, then store it in one write (all or nothing per document) under the
 * legacy ETag, so a phone's cached ETag still matches after the cut-over. A row already
 * stored under its legacy ETag is unchanged (re-running is idempotent); a document that
 * changed here since (another ETag) is kept unless `replace`.
 */
import type { LegacyDialect, LegacyXcapTable, PagedRow } from '../../connectors/sql/xcap-table/index.ts';
import { bareEtag, UnmappedRow } from '../../connectors/sql/xcap-table/index.ts';
import { EtagMismatch, type DocKey } from '../store/types.ts';
import type { DocumentWriter } from '../xcap/document-writer.ts';
import { HttpError } from '../xcap/errors.ts';
import { docCacheKey } from '../xcap/read-cache.ts';
import type { UsageLookup } from '../xcap/service.ts';

/** The origin of import writes in the change feed. */
export const IMPORT_ORIGIN = 'import:sql';

/** Leniency an import with `lenient` applies: what the server grants Snom/Bria-style clients. */
const LENIENT: ReadonlySet<string> = new Set(['entry-without-uri']);

export type RowOutcome = 'imported' | 'unchanged' | 'kept' | 'invalid';

export interface RowReport {
  readonly outcome: RowOutcome;
  /** The legacy row, named for people: `id 12 (resource-lists sip:alice@example.com/index)`. */
  readonly row: string;
  /** Why (invalid, kept). */
  readonly reason?: string;
}

export interface ImportSummary {
  readonly total: number;
  readonly imported: number;
  readonly unchanged: number;
  readonly kept: number;
  readonly invalid: number;
}

export interface ImportOptions {
  readonly table: LegacyXcapTable;
  readonly writer: DocumentWriter;
  readonly usages: UsageLookup;
  /** Validate and report only; write nothing. */
  readonly dryRun?: boolean;
  /** Validate with the leniency given to clients that send `<entry>` without `uri` (Snom, Bria). */
  readonly lenient?: boolean;
  /** Overwrite documents that changed here since an earlier import. */
  readonly replace?: boolean;
  /** Called for every row not simply imported or unchanged, and at the end of each row with the count done. */
  readonly onRow?: (report: RowReport, done: number) => void;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function rowName(row: PagedRow, key?: DocKey): string {
  return key === undefined ? `id ${row.id} (doc_type ${row.docType}, doc_uri ${JSON.stringify(row.docUri)})` : `id ${row.id} (${key.auid} ${key.xui}/${key.path})`;
}

export async function importLegacyTable(o: ImportOptions): Promise<ImportSummary> {
  const counts = { total: 0, imported: 0, unchanged: 0, kept: 0, invalid: 0 };
  const seen = new Map<string, string>();
  // The ETags already here, from one listing: a re-run over 100,000 documents then costs
  // no query per document (the write itself is conditional on what this read).
  const stored = new Map<string, string>();
  for await (const meta of o.writer.store.list()) if (meta.key.xui !== null) stored.set(docCacheKey(meta.key), meta.etag);
  for await (const row of o.table.rows()) {
    counts.total++;
    const report = await importRow(o, row, seen, stored);
    counts[report.outcome]++;
    o.onRow?.(report, counts.total);
  }
  return counts;
}

async function importRow(o: ImportOptions, row: PagedRow, seen: Map<string, string>, stored: ReadonlyMap<string, string>): Promise<RowReport> {
  const invalid = (reason: string, key?: DocKey): RowReport => ({ outcome: 'invalid', row: rowName(row, key), reason });
  let key: DocKey;
  try {
    const legacy = o.table.dialect.keyOf(row);
    const usage = o.usages.get(legacy.auid);
    if (usage === undefined) return invalid(`no application usage ${legacy.auid} on this server`);
    key = { auid: legacy.auid, xui: legacy.xui, path: usage.canonicalPath?.(legacy.path) ?? legacy.path };
  } catch (err) {
    if (err instanceof UnmappedRow) return invalid(err.message);
    throw err;
  }
  const name = docCacheKey(key);
  const first = seen.get(name);
  if (first !== undefined) return invalid(`the same document as row ${first}`, key);
  seen.set(name, row.id);
  let body: string;
  try {
    body = utf8.decode(row.doc);
  } catch {
    return invalid('doc is not UTF-8 text', key);
  }
  const etag = bareEtag(row.etag);
  if (etag === '') return invalid('etag is empty', key);
  const currentEtag = stored.get(name);
  const current = currentEtag === undefined ? undefined : { etag: currentEtag };
  if (current?.etag === etag) return { outcome: 'unchanged', row: rowName(row, key) };
  if (current !== undefined && o.replace !== true) {
    return { outcome: 'kept', row: rowName(row, key), reason: 'changed here since it was imported (--replace overwrites it)' };
  }
  const write = { key, body, lenient: o.lenient === true ? LENIENT : undefined, etag };
  try {
    if (o.dryRun === true) await o.writer.validate(write);
    else await o.writer.write({ ...write, expect: current === undefined ? 'absent' : { etag: current.etag }, origin: IMPORT_ORIGIN });
  } catch (err) {
    if (isUsageError(err)) return invalid((err as Error).message, key);
    if (err instanceof EtagMismatch) return { outcome: 'kept', row: rowName(row, key), reason: 'changed here while the import ran (run it again)' };
    throw err;
  }
  return { outcome: 'imported', row: rowName(row, key) };
}

/** Validation failures are the usage's HttpErrors (src/xcap/errors.ts); anything else is a real failure. */
function isUsageError(err: unknown): boolean {
  return err instanceof HttpError && err.expose;
}

export interface ExportSummary {
  readonly written: number;
  /** Documents the dialect has no doc_type for (the xcap-caps and directory ones are generated). */
  readonly skipped: number;
}

/**
 * Writes every user document of a usage the dialect stores back into the legacy table
 * (insert or update by its unique key), with this server's ETag fitted to the column.
 * Legacy rows without a document here are left alone: a roll-back never deletes.
 */
export async function exportToLegacyTable(o: {
  readonly table: LegacyXcapTable;
  readonly store: DocumentWriter['store'];
  readonly onDoc?: (done: number) => void;
}): Promise<ExportSummary> {
  const dialect: LegacyDialect = o.table.dialect;
  let written = 0;
  let skipped = 0;
  for await (const meta of o.store.list()) {
    if (meta.key.xui === null || dialect.docTypes[meta.key.auid] === undefined) {
      skipped++;
      continue;
    }
    const doc = await o.store.get(meta.key);
    if (doc === undefined) continue; // deleted meanwhile
    const rowKey = dialect.rowKey({ auid: doc.key.auid, xui: doc.key.xui as string, path: doc.key.path });
    await o.table.upsert({ ...rowKey, etag: doc.etag, doc: Buffer.from(doc.body, 'utf8') });
    written++;
    o.onDoc?.(written + skipped);
  }
  return { written, skipped };
}
