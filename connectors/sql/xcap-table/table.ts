/**
 * Reads and writes the legacy `xcap` table of one dialect (dialects.ts). Every value is a
 * parameter; the table name is quoted by kysely. Rows are read in pages by `id` (every
 * dialect's primary key), so 100,000 documents never sit in memory at once.
 *
 * Writes fill source = 0 and port = 0, as the legacy servers do for documents they store
 * themselves, and an ETag that fits the dialect's column (`fitEtag`).
 */
import { createHash } from 'node:crypto';
import type { SqlDatabase } from '../database.ts';
import { translateSqlError } from '../errors.ts';
import { NotFound, VersionMismatch } from '../../errors.ts';
import type { LegacyDialect, LegacyRow } from './dialects.ts';

/** A row read with its primary key, for paging. */
export interface PagedRow extends LegacyRow {
  readonly id: string;
}

/** A row without its document, for ETag snapshots. */
export type RowHead = Omit<PagedRow, 'doc'>;

/** Rows per page. */
const PAGE = 500;

/**
 * The ETag written for `etag` into a column of `max` characters: itself when it fits,
 * else a digest of it cut to the column (deterministic, so a re-run writes the same).
 */
export function fitEtag(etag: string, max: number): string {
  return etag.length <= max ? etag : createHash('sha256').update(etag).digest('hex').slice(0, max);
}

interface DbRow {
  id: string | number | bigint;
  username: string;
  domain: string;
  doc_type: number | string;
  doc_uri: string;
  etag: string;
  doc?: Uint8Array;
}

function fromDb(r: DbRow): PagedRow {
  return {
    id: String(r.id),
    username: r.username,
    domain: r.domain,
    docType: Number(r.doc_type),
    docUri: r.doc_uri,
    etag: r.etag,
    doc: r.doc ?? new Uint8Array(),
  };
}

export class LegacyXcapTable {
  readonly database: SqlDatabase;
  readonly dialect: LegacyDialect;
  readonly table: string;

  constructor(database: SqlDatabase, dialect: LegacyDialect, table = 'xcap') {
    this.database = database;
    this.dialect = dialect;
    this.table = table;
  }

  async #run<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      throw translateSqlError(err, this.database.target, `${what} table ${this.table}`);
    }
  }

  /** Number of rows. */
  count(): Promise<number> {
    return this.#run('counting', async () => {
      const r = await this.database.db.selectFrom(this.table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      return Number(r.n);
    });
  }

  /**
   * Every row in `id` order, one page per query; without `doc` when `withDoc` is false;
   * only one account's rows when `account` is given.
   */
  async *rows(opts: { withDoc?: boolean; account?: { readonly username: string; readonly domain: string } } = {}): AsyncIterable<PagedRow> {
    const cols = ['id', 'username', 'domain', 'doc_type', 'doc_uri', 'etag', ...(opts.withDoc === false ? [] : ['doc'])];
    let after: string | undefined;
    for (;;) {
      const page = await this.#run('reading', () => {
        let q = this.database.db.selectFrom(this.table).select(cols).orderBy('id').limit(PAGE);
        if (after !== undefined) q = q.where('id', '>', after);
        if (opts.account !== undefined) q = q.where('username', '=', opts.account.username).where('domain', '=', opts.account.domain);
        return q.execute() as Promise<DbRow[]>;
      });
      for (const r of page) yield fromDb(r);
      if (page.length < PAGE) return;
      after = String((page[page.length - 1] as DbRow).id);
    }
  }

  /** The row at `key`, or undefined. */
  async get(key: Omit<LegacyRow, 'doc' | 'etag'>): Promise<PagedRow | undefined> {
    const r = await this.#run('reading', () =>
      this.#whereKey(this.database.db.selectFrom(this.table).select(['id', 'username', 'domain', 'doc_type', 'doc_uri', 'etag', 'doc']), key).executeTakeFirst() as Promise<DbRow | undefined>,
    );
    return r && fromDb(r);
  }

  /**
   * Writes a row whatever is there (export): insert, or update the row with the same
   * unique key, in one statement.
   */
  upsert(row: LegacyRow): Promise<void> {
    const values = this.#values(row);
    return this.#run('writing', async () => {
      const q = this.database.db.insertInto(this.table).values(values);
      const set = { doc: values.doc, etag: values.etag, doc_type: values.doc_type, username: values.username, domain: values.domain, source: 0, port: 0 };
      if (this.database.engine === 'postgres') {
        await q.onConflict((oc) => oc.columns([...this.dialect.uniqueKey]).doUpdateSet(set)).execute();
      } else {
        await q.onDuplicateKeyUpdate(set).execute();
      }
    });
  }

  /**
   * Writes a row only if the current one still has `expect` as ETag (`'absent'`: only if
   * there is none). VersionMismatch otherwise, nothing written. On MySQL the update's
   * count is of matched rows (mysql2's CLIENT_FOUND_ROWS), so rewriting equal content is
   * still a success.
   */
  async write(row: LegacyRow, expect: 'absent' | { readonly etag: string }): Promise<void> {
    const values = this.#values(row);
    if (expect === 'absent') {
      await this.#run('writing', () => this.database.db.insertInto(this.table).values(values).execute());
      return;
    }
    const r = await this.#run('writing', () =>
      this.#whereKey(this.database.db.updateTable(this.table).set({ doc: values.doc, etag: values.etag, source: 0, port: 0 }), row)
        .where('etag', '=', expect.etag)
        .executeTakeFirst(),
    );
    if (r.numUpdatedRows === 0n) throw new VersionMismatch(`${this.table} row ${row.docUri} changed since it was read`);
  }

  /** Deletes the row if its ETag is `expect.etag` (any ETag when omitted). NotFound / VersionMismatch otherwise. */
  async remove(key: Omit<LegacyRow, 'doc' | 'etag'>, expect?: { readonly etag: string }): Promise<void> {
    const r = await this.#run('deleting from', () => {
      let q = this.#whereKey(this.database.db.deleteFrom(this.table), key);
      if (expect !== undefined) q = q.where('etag', '=', expect.etag);
      return q.executeTakeFirst();
    });
    if (r.numDeletedRows > 0n) return;
    if ((await this.get(key)) === undefined) throw new NotFound(`${this.table} row ${key.docUri} does not exist`);
    throw new VersionMismatch(`${this.table} row ${key.docUri} changed since it was read`);
  }

  #values(row: LegacyRow) {
    return {
      username: row.username,
      domain: row.domain,
      doc: Buffer.from(row.doc.buffer, row.doc.byteOffset, row.doc.byteLength),
      doc_type: row.docType,
      etag: fitEtag(row.etag, this.dialect.etagMaxLength),
      source: 0,
      doc_uri: row.docUri,
      port: 0,
    };
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  #whereKey<Q extends { where: (...a: any[]) => Q }>(q: Q, key: Omit<LegacyRow, 'doc' | 'etag'>): Q {
    const cols: Record<string, string | number> = { doc_uri: key.docUri, username: key.username, domain: key.domain, doc_type: key.docType };
    let out = q;
    for (const c of this.dialect.uniqueKey) out = out.where(c, '=', cols[c]);
    return out;
  }
}
