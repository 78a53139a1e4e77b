/**
 * Table mode: the rows of one contacts-style table are items (connectors/types.ts).
 *
 * - id = the key column, version = the `version` column the installed triggers stamp from
 *   one counter on every insert and update (triggers.ts), so any writer's change is seen.
 * - Only the mapped columns are read or written: an UPDATE sets the owned fields' columns
 *   and nothing else, so other columns keep their values (the contract's rule).
 * - Conditional writes are one statement, `UPDATE ... WHERE key = ? AND version = ?`
 *   (`DELETE` likewise). On MySQL/MariaDB mysql2 reports matched rows (CLIENT_FOUND_ROWS,
 *   its default), so an update that rewrites equal values still counts as done; the new
 *   version is read back in the same transaction, while the row is still locked.
 * - changes(): rows with `version` above the token's stamp, and tombstones likewise, minus
 *   what the token says was reported already (token.ts). Two small queries when nothing changed.
 * - With `updatedAt` (a timestamp the table's writers set) instead of a version column: a
 *   row's version is its time in microseconds plus a digest of the mapped columns, changes
 *   are the rows at or after the token's time less `lookbackMs` (ties in time are told
 *   apart by the versions the token remembers), and conditional writes compare the row
 *   whole under `SELECT ... FOR UPDATE` in the write's transaction.
 * - watch(): PostgreSQL wakes listeners by NOTIFY from the triggers, naming the collection;
 *   MySQL/MariaDB by polling the highest stamp every `pollMs`.
 */
import { sql, type RawBuilder } from 'kysely';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { NotFound, Rejected, VersionMismatch } from '../../errors.ts';
import type { ChangeSet, Connector, ConnectorCapabilities, ItemRef, ItemWrite, RemoteItem, WatchListener } from '../../types.ts';
import type { AnyDb, SqlDatabase } from '../database.ts';
import { openSqlDatabase } from '../database.ts';
import { translateSqlError } from '../errors.ts';
import { connectionUrl, sqlCapabilities, type SqlConnectorConfig } from '../config.ts';
import { counterName, NOTIFY_CHANNEL, tombstoneTable } from './names.ts';
import { decodeToken, encodeToken, type TableToken } from './token.ts';

type Row = Record<string, unknown>;

/** A version as the triggers stamp it. */
const STAMP = /^\d{1,18}$/;
/** A version in `updatedAt` mode: the time in microseconds, a dot, a digest of the mapped columns. */
const TIMED = /^-?\d{1,19}\.[0-9a-f]{16}$/;
/** Alias of a row's `updatedAt` time in microseconds since the epoch. */
const US = 'xb_us';

interface Scope {
  /** The owner value, when the table has an owner column. */
  readonly owner?: string;
}

export class SqlTableConnector implements Connector {
  readonly kind = 'sql';
  readonly capabilities: ConnectorCapabilities;
  readonly #o: SqlConnectorConfig;
  /** The `updatedAt` column, when changes are found by time instead of a stamped version. */
  readonly #timed: string | undefined;
  readonly #database: SqlDatabase;
  readonly #fields: [string, string][];
  #integerKey: Promise<boolean> | undefined;
  /** Stops of the running watches, so `close` ends them. */
  readonly #watches = new Set<() => void>();

  constructor(o: SqlConnectorConfig, database?: SqlDatabase) {
    this.#o = o;
    this.#database = database ?? openSqlDatabase(connectionUrl(o));
    this.#fields = Object.entries(o.columns);
    this.#timed = o.updatedAt;
    this.capabilities = sqlCapabilities(o);
    if (!this.capabilities.watch) this.watch = undefined;
  }

  /** `updatedAt` as microseconds since the epoch, computed by the database (drivers round times to milliseconds). */
  #usOf(): RawBuilder<string> {
    const col = sql.ref(this.#timed as string);
    return this.#database.engine === 'postgres' ? sql<string>`(extract(epoch from ${col}) * 1000000)::bigint` : sql<string>`CAST(ROUND(UNIX_TIMESTAMP(${col}) * 1000000) AS SIGNED)`;
  }

  /** The database's current time, as this connector's writes set `updatedAt`. */
  #now(): RawBuilder<unknown> {
    return this.#database.engine === 'postgres' ? sql`clock_timestamp()` : sql`NOW(6)`;
  }

  /** A row's version: the stamp, or in `updatedAt` mode the time plus a digest of the mapped columns (changes within one clock tick differ). */
  #versionOf(r: Row): string {
    if (this.#timed === undefined) return String(r[this.#o.version]);
    const h = createHash('sha256');
    for (const [, column] of this.#fields) {
      const v = r[column];
      h.update(v === null || v === undefined ? '\u0000n' : `\u0000v${Buffer.isBuffer(v) ? v.toString('utf8') : String(v)}`);
    }
    return `${String(r[US])}.${h.digest('hex').slice(0, 16)}`;
  }

  /** Where a row stands in change order: its stamp, or its time in microseconds. */
  #stampOf(r: Row): number {
    return Number(this.#timed === undefined ? r[this.#o.version] : r[US]);
  }

  /** What the change token remembers of a reported row: its stamp, or (ties in time) its whole version. */
  #seenAs(r: Row): number | string {
    return this.#timed === undefined ? Number(r[this.#o.version]) : this.#versionOf(r);
  }

  /** `contacts` or `contacts/<owner>`; another table is NotFound. */
  #scope(collection: string): Scope {
    const slash = collection.indexOf('/');
    const table = slash < 0 ? collection : collection.slice(0, slash);
    if (table !== this.#o.table) throw new NotFound(`collection ${collection}: this connector serves table ${this.#o.table}`);
    if (this.#o.owner === undefined) {
      if (slash >= 0) throw new NotFound(`collection ${collection}: table ${this.#o.table} has no owner column (use the collection ${this.#o.table})`);
      return {};
    }
    if (slash < 0 || slash === collection.length - 1) throw new NotFound(`collection ${collection}: table ${this.#o.table} is per owner (${this.#o.table}/<owner>)`);
    return { owner: collection.slice(slash + 1) };
  }

  async #run<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      throw translateSqlError(err, this.#database.target, `${what} table ${this.#o.table}`);
    }
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  #owned<Q extends { where: (...a: any[]) => Q }>(q: Q, scope: Scope): Q {
    return scope.owner === undefined ? q : q.where(this.#o.owner as string, '=', scope.owner);
  }

  #item(r: Row): RemoteItem {
    const fields: Record<string, string> = {};
    for (const [field, column] of this.#fields) {
      const v = r[column];
      if (v === null || v === undefined) continue;
      const s = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
      if (s !== '') fields[field] = s;
    }
    return { id: String(r[this.#o.key]), version: this.#versionOf(r), fields };
  }

  async *list(collection: string): AsyncIterable<ItemRef> {
    const scope = this.#scope(collection);
    const rows = await this.#run('listing', () => this.#owned(this.#heads(), scope).execute());
    for (const r of rows as Row[]) yield { id: String(r[this.#o.key]), version: this.#versionOf(r) };
  }

  /** Whole rows: key, version (or time) and the mapped columns. */
  #select() {
    return this.#selectIn(this.#database.db);
  }

  /** What a version needs: key and stamp; in `updatedAt` mode the whole row (the version digests the mapped columns). */
  #heads() {
    return this.#timed === undefined ? this.#database.db.selectFrom(this.#o.table).select([this.#o.key, this.#o.version]) : this.#select();
  }

  /**
   * The ids that can be values of the key column: an integer key cannot hold `abc`, and
   * PostgreSQL would refuse the whole query for it (MySQL would compare it as 0).
   */
  async #keyable(ids: readonly string[]): Promise<string[]> {
    this.#integerKey ??= this.#run('inspecting', async () => {
      const dot = this.#o.table.lastIndexOf('.');
      const r = await sql<{ t: string }>`SELECT data_type AS t FROM information_schema.columns WHERE table_name = ${this.#o.table.slice(dot + 1)} AND column_name = ${this.#o.key}`.execute(this.#database.db);
      return /int|serial|numeric|decimal/i.test(r.rows[0]?.t ?? '');
    });
    return (await this.#integerKey) ? ids.filter((id) => /^-?\d{1,18}$/.test(id)) : [...ids];
  }

  async *read(collection: string, ids?: readonly string[]): AsyncIterable<RemoteItem> {
    const scope = this.#scope(collection);
    const wanted = ids === undefined ? undefined : await this.#keyable(ids);
    if (wanted !== undefined && wanted.length === 0) return;
    const rows = await this.#run('reading', () => {
      let q = this.#owned(this.#select(), scope);
      if (wanted !== undefined) q = q.where(this.#o.key, 'in', wanted);
      return q.execute();
    });
    for (const r of rows as Row[]) yield this.#item(r);
  }

  async changes(collection: string, token?: string): Promise<ChangeSet | 'token-expired'> {
    const scope = this.#scope(collection);
    const prev = token === undefined ? undefined : decodeToken(token);
    if (token !== undefined && prev === undefined) return 'token-expired';
    const timed = this.#timed !== undefined;
    // Rows: stamps, or microseconds of time (at or after: rows of one clock tick tie).
    const window = timed ? this.#o.lookbackMs * 1000 : this.#o.lookback;
    const from = prev === undefined ? undefined : prev.v - window;
    // Tombstones are stamped by the counter in either mode; with updatedAt in a space of their own (`d`).
    const lookback = this.#o.lookback;
    const tomb = tombstoneTable(this.#o.table);
    const [heads, tombs] = await this.#run('reading changes of', async () => {
      // Ids and versions only: the window mostly holds rows reported already.
      let q = this.#owned(prev === undefined ? this.#select() : this.#heads(), scope);
      if (from !== undefined) q = timed ? q.where(this.#usOf(), '>=', String(from)) : q.where(this.#o.version, '>', from);
      let t = this.#database.db.selectFrom(tomb).select(['item_key', 'stamp']);
      if (scope.owner !== undefined) t = t.where('owner', '=', scope.owner);
      // Initial sync: only the tombstones inside the window, so the token knows them as reported.
      const tombFrom = (prev === undefined ? await this.#maxTombStamp(scope) : (timed ? (prev.d ?? 0) : prev.v)) - lookback;
      t = t.where('stamp', '>', tombFrom);
      return Promise.all([q.execute() as Promise<Row[]>, t.execute() as Promise<{ item_key: string; stamp: number | string }[]>]);
    });
    let v = prev?.v ?? 0;
    for (const r of heads) v = Math.max(v, this.#stampOf(r));
    let d = timed ? (prev?.d ?? 0) : v;
    for (const t of tombs) d = Math.max(d, Number(t.stamp));
    if (!timed) v = d; // one counter stamps rows and tombstones
    const up: Record<string, number | string> = {};
    const del: Record<string, number> = {};
    for (const r of heads) if (this.#stampOf(r) >= v - window) up[String(r[this.#o.key])] = this.#seenAs(r);
    for (const t of tombs) if (Number(t.stamp) > d - lookback) del[t.item_key] = Number(t.stamp);
    const next: TableToken = { v, up, del, ...(timed && { d }) };
    if (prev === undefined) return { token: encodeToken(next), upserted: heads.map((r) => this.#item(r)), deleted: [] };
    const present = new Set(heads.map((r) => String(r[this.#o.key])));
    const fresh = heads.filter((r) => prev.up[String(r[this.#o.key])] !== this.#seenAs(r));
    const upserted: RemoteItem[] = [];
    if (timed) for (const r of fresh) upserted.push(this.#item(r));
    else if (fresh.length > 0) for await (const item of this.read(collection, fresh.map((r) => String(r[this.#o.key])))) upserted.push(item);
    const deleted = tombs.filter((t) => prev.del[t.item_key] !== Number(t.stamp) && !present.has(t.item_key)).map((t) => t.item_key);
    // A tombstone of an id that still exists (deleted, then re-created) is not a delete.
    const stillThere = deleted.length === 0 ? new Set<string>() : await this.#existing(scope, deleted);
    return { token: encodeToken(next), upserted, deleted: [...new Set(deleted.filter((id) => !stillThere.has(id)))] };
  }

  /** The highest stamp a tombstone can have now: the rows' highest version, or with updatedAt the tombstones' own. */
  async #maxTombStamp(scope: Scope): Promise<number> {
    if (this.#timed === undefined) return this.#maxStamp(scope);
    let q = this.#database.db.selectFrom(tombstoneTable(this.#o.table)).select((eb) => eb.fn.max('stamp').as('m'));
    if (scope.owner !== undefined) q = q.where('owner', '=', scope.owner);
    const r = (await q.executeTakeFirst()) as { m: unknown } | undefined;
    return Number(r?.m ?? 0);
  }

  async #maxStamp(scope: Scope): Promise<number> {
    const r = (await this.#owned(this.#database.db.selectFrom(this.#o.table).select((eb) => eb.fn.max(this.#o.version).as('m')), scope).executeTakeFirst()) as { m: unknown } | undefined;
    return Number(r?.m ?? 0);
  }

  async #existing(scope: Scope, ids: readonly string[]): Promise<Set<string>> {
    const wanted = await this.#keyable(ids);
    if (wanted.length === 0) return new Set();
    const rows = (await this.#run('reading', () => this.#owned(this.#database.db.selectFrom(this.#o.table).select(this.#o.key), scope).where(this.#o.key, 'in', wanted).execute())) as Row[];
    return new Set(rows.map((r) => String(r[this.#o.key])));
  }

  /** Column values of the owned fields; an owned field missing from `fields` becomes NULL. */
  #values(item: ItemWrite): Record<string, string | null> {
    const owned = item.owned ?? Object.keys(item.fields);
    const out: Record<string, string | null> = {};
    for (const field of owned) {
      const column = this.#o.columns[field];
      if (column === undefined) continue; // not mapped: nothing of the row shows it
      out[column] = item.fields[field] ?? null;
    }
    return out;
  }

  async write(collection: string, item: ItemWrite, expect: 'absent' | { readonly version: string }): Promise<ItemRef> {
    const scope = this.#scope(collection);
    const values: Record<string, unknown> = this.#values(item);
    const { key, version } = this.#o;
    const db = this.#database.db;
    // With updatedAt this connector is one of the table's writers: it sets the time as they do.
    if (this.#timed !== undefined) values[this.#timed] = this.#now();
    if (expect === 'absent') {
      const row: Record<string, unknown> = { ...values };
      if (item.id !== undefined) row[key] = item.id;
      if (scope.owner !== undefined) row[this.#o.owner as string] = scope.owner;
      return this.#run('writing', () =>
        db.transaction().execute(async (tx) => {
          let id: string;
          if (this.#database.engine === 'postgres') {
            id = String(((await tx.insertInto(this.#o.table).values(row).returning(key).executeTakeFirstOrThrow()) as Row)[key]);
          } else {
            const res = await tx.insertInto(this.#o.table).values(row).executeTakeFirstOrThrow();
            id = item.id ?? String(res.insertId);
          }
          return { id, version: await this.#versionIn(tx, id) };
        }),
      );
    }
    if (item.id === undefined) throw new Rejected('write with an expected version needs the item id');
    const id = item.id;
    // Versions are the ones this connector hands out: anything else cannot match.
    if (!this.#validVersion(expect.version) || (await this.#keyable([id])).length === 0) throw await this.#missOrStale(scope, id);
    // Nothing owned is mapped: the write still makes a new version (the trigger stamps it; with updatedAt, the time).
    const set = Object.keys(values).length > 0 ? values : { [version]: expect.version };
    const done = await this.#run('writing', () =>
      db.transaction().execute(async (tx) => {
        if (this.#timed !== undefined) {
          // The version digests the columns, so the row is compared whole under its lock.
          const cur = (await this.#owned(this.#selectIn(tx), scope).where(key, '=', id).forUpdate().executeTakeFirst()) as Row | undefined;
          if (cur === undefined || this.#versionOf(cur) !== expect.version) return undefined;
          await this.#owned(tx.updateTable(this.#o.table).set(set), scope).where(key, '=', id).execute();
          return this.#versionIn(tx, id);
        }
        const q = this.#owned(tx.updateTable(this.#o.table).set(set), scope).where(key, '=', id).where(version, '=', expect.version);
        if (this.#database.engine === 'postgres') {
          const r = (await q.returning(version).executeTakeFirst()) as Row | undefined;
          return r === undefined ? undefined : String(r[version]);
        }
        const res = await q.executeTakeFirst();
        if (res.numUpdatedRows === 0n) return undefined;
        return this.#versionIn(tx, id);
      }),
    );
    if (done !== undefined) return { id, version: done };
    throw await this.#missOrStale(scope, id);
  }

  #validVersion(v: string): boolean {
    return (this.#timed === undefined ? STAMP : TIMED).test(v);
  }

  /** Whole rows (#select) through a transaction. */
  #selectIn(tx: AnyDb) {
    const columns = [...new Set(this.#fields.map(([, c]) => c))];
    const q = tx.selectFrom(this.#o.table);
    return this.#timed === undefined ? q.select([this.#o.key, this.#o.version, ...columns]) : q.select([this.#o.key, ...columns]).select(this.#usOf().as(US));
  }

  /** The version of row `id` as the transaction sees it (its write is not committed yet). */
  async #versionIn(tx: AnyDb, id: string): Promise<string> {
    return this.#versionOf((await this.#selectIn(tx).where(this.#o.key, '=', id).executeTakeFirstOrThrow()) as Row);
  }

  async remove(collection: string, id: string, expect: { readonly version: string }): Promise<void> {
    const scope = this.#scope(collection);
    if (!this.#validVersion(expect.version) || (await this.#keyable([id])).length === 0) throw await this.#missOrStale(scope, id);
    const removed = await this.#run('deleting from', () =>
      this.#database.db.transaction().execute(async (tx) => {
        if (this.#timed !== undefined) {
          const cur = (await this.#owned(this.#selectIn(tx), scope).where(this.#o.key, '=', id).forUpdate().executeTakeFirst()) as Row | undefined;
          if (cur === undefined || this.#versionOf(cur) !== expect.version) return false;
          await this.#owned(tx.deleteFrom(this.#o.table), scope).where(this.#o.key, '=', id).execute();
          return true;
        }
        const r = await this.#owned(tx.deleteFrom(this.#o.table), scope).where(this.#o.key, '=', id).where(this.#o.version, '=', expect.version).executeTakeFirst();
        return r.numDeletedRows > 0n;
      }),
    );
    if (removed) return;
    throw await this.#missOrStale(scope, id);
  }

  async #missOrStale(scope: Scope, id: string): Promise<Error> {
    return (await this.#existing(scope, [id])).size > 0
      ? new VersionMismatch(`row ${id} of ${this.#o.table} changed since it was read`)
      : new NotFound(`row ${id} of ${this.#o.table} does not exist`);
  }

  /**
   * connectors/types.ts `watch`. PostgreSQL: LISTEN on the triggers' NOTIFY, on a connection
   * of its own that reconnects after a second; the payload is the collection that changed
   * (`<table>/<owner>` per row with an owner column, else `<table>`). MySQL/MariaDB: every
   * `pollMs` the counter the triggers bump is read; when it moved, the owners of rows and
   * tombstones stamped since are the collections. A row whose early stamp commits after a
   * later one may go unreported there (its change is still found by the next run).
   */
  watch?: (listener: WatchListener) => () => void = (listener) => {
    const stop = this.#database.engine === 'postgres' ? this.#listen(listener) : this.#poll(listener);
    this.#watches.add(stop);
    return () => {
      this.#watches.delete(stop);
      stop();
    };
  };

  #listen(listener: WatchListener): () => void {
    let stopped = false;
    let client: pg.Client | undefined;
    let retry: NodeJS.Timeout | undefined;
    const table = this.#o.table;
    const connect = () => {
      if (stopped) return;
      const c = new pg.Client({ connectionString: connectionUrl(this.#o) });
      client = c;
      const again = () => {
        c.removeAllListeners();
        c.end().catch(() => {});
        if (!stopped) retry = setTimeout(connect, 1000);
      };
      c.on('error', again);
      c.on('notification', (n) => {
        const p = n.payload ?? '';
        // A bare table name (the statement-level trigger, or an owner too long for a payload): any collection.
        if (p === table) listener(this.#o.owner === undefined ? [table] : undefined);
        else if (p.startsWith(`${table}/`)) listener([p]);
      });
      c.connect().then(() => c.query(`LISTEN ${NOTIFY_CHANNEL}`)).then(
        () => listener(), // changes while we were away
        again,
      );
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(retry);
      client?.end().catch(() => {});
    };
  }

  #poll(listener: WatchListener): () => void {
    let last: number | undefined;
    let busy = false;
    const tick = async () => {
      if (busy) return;
      busy = true;
      try {
        const r = await sql<{ m: unknown }>`SELECT v AS m FROM ${sql.table(counterName(this.#o.table))} WHERE id = 1`.execute(this.#database.db);
        const now = Number(r.rows[0]?.m ?? 0);
        if (last === undefined) {
          last = now;
          listener(); // "look now": changes may have happened while not watching
        } else if (now !== last) {
          const changed = await this.#changedSince(last);
          last = now;
          listener(changed);
        }
      } catch {
        // The database is away: the next tick asks again.
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void tick(), this.#o.pollMs);
    void tick();
    return () => clearInterval(timer);
  }

  /** The collections with rows or tombstones stamped above `stamp`. */
  async #changedSince(stamp: number): Promise<readonly string[] | undefined> {
    const { table, owner, version } = this.#o;
    if (owner === undefined) return [table];
    const db = this.#database.db;
    const [rows, tombs] = await Promise.all([
      db.selectFrom(table).select(owner).distinct().where(version, '>', stamp).execute() as Promise<Row[]>,
      db.selectFrom(tombstoneTable(table)).select('owner').distinct().where('stamp', '>', stamp).execute() as Promise<Row[]>,
    ]);
    const owners = new Set([...rows.map((r) => r[owner]), ...tombs.map((r) => r.owner)]);
    // A row without an owner is in no collection; one changed row still wakes (any collection).
    if (owners.has(null) || owners.has(undefined)) return undefined;
    return [...owners].map((o) => `${table}/${String(o)}`);
  }

  close(): Promise<void> {
    for (const stop of this.#watches) stop();
    this.#watches.clear();
    return this.#database.close();
  }
}
