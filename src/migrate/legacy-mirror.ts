/**
 * Side by side with a legacy XCAP server (docs/migration.md): while phones already talk
 * to xcap-bridge, the legacy presence server (Kamailio presence_xml with
 * integrated_xcap_server, OpenSIPS presence_xml) still reads pres-rules and lists straight
 * from its `xcap` table. The mirror keeps that table fed:
 *
 * - push (both directions): every document change in the store (the change feed, woken by
 *   the store's subscribe) is written to the legacy row at once: the document's bytes,
 *   source = port = 0 and the store's ETag, so a phone's ETag is the same on either
 *   server; a delete removes the row. Documents of usages the dialect does not store are
 *   left out.
 * - pull (direction `both`): every `pollMs` the table's ETags (no documents) are compared
 *   with the last snapshot; a row that changed is validated by its usage like a client
 *   PUT and stored under its legacy ETag, a row that vanished deletes the document it
 *   mirrored. A table that reads empty while the snapshot is not is never taken as
 *   "everything deleted".
 * - If both sides changed one document between two polls, the XCAP change wins: it is
 *   pushed over the legacy row.
 * - A failing database (network, restart) is retried with backoff doubling up to
 *   `maxBackoffMs`; the change-feed cursor only moves past a change once its row is
 *   written, so nothing is lost and each row is written whole in one statement.
 * - The cursor is also saved (sync_meta `legacy-cursor`, the highest any mirror reached):
 *   the change-feed hooks refresh presence servers only for changes up to it, so the
 *   presence server re-reads the row after it is written. A legacy edit brought over is a
 *   store change like any other and refreshes them too.
 *
 * The mirror starts from the state it finds: changes made while it was not running are
 * brought over by `import sql` (legacy → here) or `export sql` (here → legacy).
 */
import type { Logger } from 'pino';
import { bareEtag, fitEtag, legacyItemId, LegacyXcapConnector, parseLegacyItemId, type LegacyXcapTable } from '../../connectors/sql/xcap-table/index.ts';
import { ConnectorError } from '../../connectors/errors.ts';
import { EtagMismatch, type DocKey, type DocumentStore } from '../store/types.ts';
import type { DocumentWriter } from '../xcap/document-writer.ts';
import { HttpError } from '../xcap/errors.ts';
import { SyncState } from '../sync/state.ts';
import { LEGACY_CURSOR } from './config.ts';
import type { UsageLookup } from '../xcap/service.ts';

/** Origin of the documents the mirror writes into the store (skipped when pushing). */
export const MIRROR_ORIGIN = 'legacy:sql';

export interface MirrorOptions {
  readonly table: LegacyXcapTable;
  readonly writer: DocumentWriter;
  readonly usages: UsageLookup;
  /** `push`: XCAP → legacy table; `both`: also legacy edits → XCAP. */
  readonly direction: 'push' | 'both';
  /** Milliseconds between checks of the feed and (both) the legacy table. @defaultValue 1000 */
  readonly pollMs?: number;
  /** Longest wait between retries while the database fails. @defaultValue 30000 */
  readonly maxBackoffMs?: number;
  readonly log?: Logger;
}

export class LegacyMirror {
  readonly #o: MirrorOptions;
  readonly #store: DocumentStore;
  readonly #pollMs: number;
  /** The table as a connector: rows are items named by their document (id), versioned by ETag. */
  readonly #rows: LegacyXcapConnector;
  /** Legacy row (item id) → ETag as last written or seen. */
  #snapshot = new Map<string, string>();
  /** Legacy row → the document it mirrors, for deletes seen by the pull. */
  #docs = new Map<string, DocKey>();
  #cursor = 0;
  #meta: SyncState | undefined;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #failures = 0;
  #stopped = false;
  /** Rounds completed (pushes and pulls applied); for tests that wait for one. */
  rounds = 0;

  constructor(o: MirrorOptions) {
    this.#o = o;
    this.#store = o.writer.store;
    this.#pollMs = o.pollMs ?? 1000;
    this.#rows = new LegacyXcapConnector(o.table);
  }

  /** Takes the current feed position and table snapshot, then runs until `stop`. */
  async start(): Promise<void> {
    this.#cursor = await this.#store.lastSeq();
    this.#meta = await SyncState.open(this.#store.sql);
    // Changes before now are not this mirror's to write (import/export bring them over): nothing waits for them.
    await this.#saveCursor();
    await this.#snapshotTable();
    this.#unsubscribe = this.#store.subscribe(() => this.kick());
    this.#schedule(this.#pollMs);
  }

  /** Runs a round now (or right after the one in progress). */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#running = this.#round().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.kick();
      }
    });
  }

  /** Resolves once a whole round that started after this call is done. */
  async settled(): Promise<void> {
    const target = this.rounds + (this.#running === undefined ? 1 : 2);
    this.kick();
    while (this.rounds < target && !this.#stopped) await new Promise((r) => setTimeout(r, 10));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#unsubscribe?.();
    await this.#running;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.kick(), ms);
  }

  async #round(): Promise<void> {
    try {
      await this.#push();
      if (this.#o.direction === 'both') await this.#pull();
      if (this.#failures > 0) this.#o.log?.info({ table: this.#o.table.table }, 'legacy table reachable again');
      this.#failures = 0;
      this.rounds++;
      this.#schedule(this.#pollMs);
    } catch (err) {
      if (!(err instanceof ConnectorError) || !err.retryable) this.#o.log?.error({ err }, 'legacy mirror failed');
      else if (this.#failures === 0) this.#o.log?.warn({ err: err.message }, 'legacy table unreachable; retrying with backoff');
      this.#failures++;
      this.#schedule(Math.min(this.#o.maxBackoffMs ?? 30_000, this.#pollMs * 2 ** this.#failures));
    }
  }

  async #snapshotTable(): Promise<void> {
    const snapshot = new Map<string, string>();
    const docs = new Map<string, DocKey>();
    for await (const r of this.#rows.list(this.#o.table.table)) {
      snapshot.set(r.id, r.version);
      const key = this.#keyOf(r.id);
      if (key !== undefined) docs.set(r.id, key);
    }
    this.#snapshot = snapshot;
    this.#docs = docs;
  }

  /** The store document a legacy row mirrors; undefined for a usage this server does not serve. */
  #keyOf(id: string): DocKey | undefined {
    const k = parseLegacyItemId(id);
    const usage = k && this.#o.usages.get(k.auid);
    return k === undefined || usage === undefined ? undefined : { auid: k.auid, xui: k.xui, path: usage.canonicalPath?.(k.path) ?? k.path };
  }

  /** Store → legacy: every change after the cursor, in order; the cursor moves per written change. */
  async #push(): Promise<void> {
    const { table } = this.#o;
    for (;;) {
      const changes = await this.#store.changes(this.#cursor, 500);
      if (changes.length === 0) return;
      for (const c of changes) {
        if (c.origin !== MIRROR_ORIGIN && c.key.xui !== null && table.dialect.docTypes[c.key.auid] !== undefined) {
          const rowKey = table.dialect.rowKey({ auid: c.key.auid, xui: c.key.xui, path: c.key.path });
          const id = legacyItemId(table.dialect.keyOf(rowKey));
          const doc = await this.#store.get(c.key);
          if (doc === undefined) {
            if (this.#snapshot.has(id)) await table.remove(rowKey).catch((err: unknown) => ignoreNotFound(err));
            this.#snapshot.delete(id);
            this.#docs.delete(id);
          } else {
            await table.upsert({ ...rowKey, etag: doc.etag, doc: Buffer.from(doc.body, 'utf8') });
            this.#snapshot.set(id, fitEtag(doc.etag, table.dialect.etagMaxLength));
            this.#docs.set(id, c.key);
          }
        }
        this.#cursor = c.seq;
      }
      await this.#saveCursor();
    }
  }

  /** Raises the saved cursor to this mirror's (another mirror may be ahead: every mirror writes every change). */
  async #saveCursor(): Promise<void> {
    const meta = this.#meta as SyncState;
    if (Number((await meta.getMeta(LEGACY_CURSOR)) ?? -1) < this.#cursor) await meta.setMeta(LEGACY_CURSOR, String(this.#cursor));
  }

  /** Legacy → store: rows whose ETag moved since the snapshot, and rows that vanished. */
  async #pull(): Promise<void> {
    const { table } = this.#o;
    const seen = new Set<string>();
    const changed: string[] = [];
    for await (const r of this.#rows.list(table.table)) {
      seen.add(r.id);
      if (this.#snapshot.get(r.id) === r.version) continue;
      if (this.#keyOf(r.id) === undefined) this.#snapshot.set(r.id, r.version);
      else changed.push(r.id);
    }
    // Rows deleted meanwhile are not read: the next poll sees them gone.
    for await (const row of this.#rows.read(table.table, changed)) {
      const key = this.#keyOf(row.id) as DocKey;
      await this.#bringIn(key, row.fields.document, bareEtag(row.version), row.id);
      this.#snapshot.set(row.id, row.version);
      this.#docs.set(row.id, key);
    }
    const gone = [...this.#snapshot.keys()].filter((id) => !seen.has(id));
    // An emptied table looks like everything deleted; it is far likelier broken or being reloaded.
    if (seen.size === 0 && gone.length > 1) {
      this.#o.log?.warn({ table: table.table, rows: gone.length }, 'legacy table reads empty; not deleting the documents it mirrored');
      return;
    }
    for (const id of gone) {
      const key = this.#docs.get(id);
      const known = this.#snapshot.get(id);
      this.#snapshot.delete(id);
      this.#docs.delete(id);
      if (key === undefined || known === undefined) continue;
      const current = await this.#store.head(key);
      // Only the document as mirrored goes; one changed here since is kept (and pushed back on its next change).
      if (current !== undefined && current.etag === bareEtag(known)) await this.#o.writer.remove(key, { etag: current.etag }, MIRROR_ORIGIN).catch(() => {});
    }
  }

  /** `body` undefined: the row's doc is empty or not UTF-8. */
  async #bringIn(key: DocKey, body: string | undefined, etag: string, row: string): Promise<void> {
    const current = await this.#store.head(key);
    if (current?.etag === etag) return; // what we pushed, or already here
    if (body === undefined) {
      this.#o.log?.warn({ row }, 'legacy row is empty or not UTF-8; not brought over');
      return;
    }
    try {
      await this.#o.writer.write({ key, body, etag, expect: current === undefined ? 'absent' : { etag: current.etag }, origin: MIRROR_ORIGIN });
    } catch (err) {
      // A client wrote the document meanwhile: the XCAP change wins, and is pushed next round.
      if (err instanceof EtagMismatch) return;
      if (err instanceof HttpError && err.expose) {
        this.#o.log?.warn({ row, reason: err.message }, 'legacy row is not a valid document; not brought over');
        return;
      }
      throw err;
    }
  }
}

function ignoreNotFound(err: unknown): void {
  if (err instanceof ConnectorError && err.code === 'not-found') return;
  throw err;
}
