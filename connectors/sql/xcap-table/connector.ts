/**
 * xcap-table mode as a Connector (connectors/types.ts): the rows of a legacy `xcap` table
 * (dialects.ts) as items, one whole document each. The legacy mirror
 * (src/migrate/legacy-mirror.ts) finds edits made through the legacy server with it.
 *
 * - COLLECTION: `<table>` (every row) or `<table>/<xui>` (the rows of that user's account,
 *   `username` and `domain` of the XUI).
 * - ITEM id: the document's place below the XCAP root, `<auid>/users/<xui>/<document>`; the
 *   dialect turns it into the row's unique key (OpenXCAP files every pres-rules document as
 *   `index.xml`, so its id says `index.xml`). Rows that map to no document (a doc_type the
 *   dialect does not define, a doc_uri outside the root) are not items.
 * - VERSION: the row's `etag` column (no timestamp exists), so a row rewritten through the
 *   legacy server shows up by its new ETag. The connector's own writes stamp a fresh ETag
 *   that fits the dialect's column.
 * - FIELDS: `document`, the row's `doc` bytes as UTF-8 text (absent when they are not UTF-8).
 *
 * Where the contract's item model does not fit a document: a document is one value, so a
 * write replaces it whole (`ItemWrite.owned` has nothing else to keep), and the connector
 * cannot choose an id for a new document (its place is its name): create with `expect:
 * 'absent'` needs `item.id`. No `changes()` (the table records no order of changes; the
 * caller diffs `list` against what it saw) and no `watch`.
 */
import { randomBytes } from 'node:crypto';
import { NotFound, Rejected, VersionMismatch } from '../../errors.ts';
import type { Connector, ConnectorCapabilities, ItemFields, ItemRef, ItemWrite, RemoteItem } from '../../types.ts';
import { splitXui, UnmappedRow, type LegacyKey, type LegacyRow } from './dialects.ts';
import type { LegacyXcapTable, RowHead } from './table.ts';

export const LEGACY_XCAP_CAPABILITIES: ConnectorCapabilities = { write: true, conditionalWrite: true, changeFeed: false, watch: false };

/** The item id of a document place. */
export function legacyItemId(key: LegacyKey): string {
  return `${key.auid}/users/${key.xui}/${key.path}`;
}

/** The place an item id names; undefined when it is not `<auid>/users/<xui>/<document>`. */
export function parseLegacyItemId(id: string): LegacyKey | undefined {
  const m = /^([^/]+)\/users\/([^/]+)\/(.+)$/.exec(id);
  return m === null ? undefined : { auid: m[1] as string, xui: m[2] as string, path: m[3] as string };
}

type Account = { readonly username: string; readonly domain: string };

export class LegacyXcapConnector implements Connector {
  readonly kind = 'sql';
  readonly capabilities = LEGACY_XCAP_CAPABILITIES;
  readonly #table: LegacyXcapTable;

  constructor(table: LegacyXcapTable) {
    this.#table = table;
  }

  /** The account a collection names (`undefined` for the whole table); another table is NotFound. */
  #account(collection: string): Account | undefined {
    const name = this.#table.table;
    if (collection === name) return undefined;
    if (!collection.startsWith(`${name}/`)) throw new NotFound(`collection ${collection}: this connector serves table ${name}`);
    try {
      return splitXui(collection.slice(name.length + 1));
    } catch (err) {
      if (err instanceof UnmappedRow) throw new NotFound(`collection ${collection}: ${err.message}`);
      throw err;
    }
  }

  /** The row's item id, or undefined when the row is no document of this collection. */
  #idOf(row: RowHead, account: Account | undefined): string | undefined {
    try {
      const key = this.#table.dialect.keyOf(row);
      if (account !== undefined && !sameAccount(key.xui, account)) return undefined;
      return legacyItemId(key);
    } catch (err) {
      if (err instanceof UnmappedRow) return undefined;
      throw err;
    }
  }

  /** The row key of an item id in `collection`; undefined when the id cannot be one there. */
  #rowKey(collection: string, id: string): Omit<LegacyRow, 'doc' | 'etag'> | undefined {
    const account = this.#account(collection);
    const key = parseLegacyItemId(id);
    if (key === undefined || (account !== undefined && !sameAccount(key.xui, account))) return undefined;
    try {
      return this.#table.dialect.rowKey(key);
    } catch (err) {
      if (err instanceof UnmappedRow) return undefined;
      throw err;
    }
  }

  async *list(collection: string): AsyncIterable<ItemRef> {
    const account = this.#account(collection);
    for await (const r of this.#table.rows({ withDoc: false, ...(account && { account }) })) {
      const id = this.#idOf(r, account);
      if (id !== undefined) yield { id, version: r.etag };
    }
  }

  async *read(collection: string, ids?: readonly string[]): AsyncIterable<RemoteItem> {
    const account = this.#account(collection);
    if (ids === undefined) {
      for await (const r of this.#table.rows({ ...(account && { account }) })) {
        const id = this.#idOf(r, account);
        if (id !== undefined) yield { id, version: r.etag, fields: fieldsOf(r.doc) };
      }
      return;
    }
    for (const wanted of ids) {
      const key = this.#rowKey(collection, wanted);
      const r = key && (await this.#table.get(key));
      const id = r && this.#idOf(r, account);
      if (r !== undefined && id !== undefined) yield { id, version: r.etag, fields: fieldsOf(r.doc) };
    }
  }

  async write(collection: string, item: ItemWrite, expect: 'absent' | { readonly version: string }): Promise<ItemRef> {
    if (item.id === undefined) throw new Rejected('a legacy xcap row is named by its document: a write needs the item id <auid>/users/<xui>/<document>');
    const key = this.#rowKey(collection, item.id);
    if (key === undefined) throw new Rejected(`item id ${item.id} is no document of collection ${collection} in the ${this.#table.dialect.name} table`);
    const doc = item.fields.document;
    if (doc === undefined) throw new Rejected('a legacy xcap row needs the field document');
    const etag = `xb-${randomBytes(12).toString('hex')}`;
    try {
      await this.#table.write({ ...key, etag, doc: Buffer.from(doc, 'utf8') }, expect === 'absent' ? 'absent' : { etag: expect.version });
    } catch (err) {
      if (err instanceof VersionMismatch && expect !== 'absent' && (await this.#table.get(key)) === undefined) throw new NotFound(`row of ${item.id} does not exist`, { cause: err });
      throw err;
    }
    return { id: legacyItemId(this.#table.dialect.keyOf(key)), version: etag };
  }

  async remove(collection: string, id: string, expect: { readonly version: string }): Promise<void> {
    const key = this.#rowKey(collection, id);
    if (key === undefined) throw new NotFound(`item id ${id} is no document of collection ${collection}`);
    await this.#table.remove(key, { etag: expect.version });
  }

  /** The database is the caller's (it opened the table). */
  async close(): Promise<void> {}
}

function sameAccount(xui: string, account: Account): boolean {
  try {
    const a = splitXui(xui);
    return a.username === account.username && a.domain === account.domain;
  } catch {
    return false;
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** `document` when the bytes are UTF-8 text; none for an empty doc or other bytes (no document can be made of them). */
function fieldsOf(doc: Uint8Array): ItemFields {
  try {
    const text = UTF8.decode(doc);
    return text === '' ? {} : { document: text };
  } catch {
    return {};
  }
}
