/**
 * The memory connector: the reference implementation of the Connector contract
 * (connectors/types.ts), held in process memory. It backs the sync engine's own tests and
 * demos; everything here is what a real backend must also do.
 *
 * - Versions are `v<n>` from one counter per connector, so a version is never reused.
 * - Ids are `m<n>` unless the writer supplies one.
 * - The change feed keeps the last `changeLogLimit` changes per collection; older tokens
 *   resolve `'token-expired'`.
 *
 * Besides the contract it has an operator/test surface: `createCollection`, `seed`,
 * `snapshot`, `calls` (request counts), `failNext` (make the next calls fail the way a
 * real backend fails) and `hold` (pause a call until released, to stage races).
 */
import type { ChangeSet, Connector, ConnectorCapabilities, ItemFields, ItemRef, ItemWrite, RemoteItem, WatchListener } from '../types.ts';
import { NotFound, Rejected, VersionMismatch } from '../errors.ts';

export type MemoryOp = 'list' | 'read' | 'changes' | 'write' | 'remove';

export interface MemoryConnectorOptions {
  /**
   * Capability flags; a read-only or feed-less memory store stands in for such backends.
   * Defaults: all true but `watch` (off, so the engine's tests count runs without wake-ups).
   */
  readonly capabilities?: Partial<ConnectorCapabilities>;
  /**
   * Changes kept per collection for `changes()`.
   * @defaultValue 10000
   */
  readonly changeLogLimit?: number;
  /** Collections that exist from the start. */
  readonly collections?: readonly string[];
}

interface StoredItem {
  version: string;
  fields: ItemFields;
  modified: number;
}

interface Collection {
  items: Map<string, StoredItem>;
  /** Change log: seq → id. The newest change per id is what matters. */
  log: { seq: number; id: string }[];
  /** Lowest seq a token may name and still be served. */
  floor: number;
}

export class MemoryConnector implements Connector {
  readonly kind = 'memory';
  readonly capabilities: ConnectorCapabilities;
  /** Requests served, per operation (an operation that failed by `failNext` counts too). */
  readonly calls: Record<MemoryOp, number> = { list: 0, read: 0, changes: 0, write: 0, remove: 0 };

  readonly #collections = new Map<string, Collection>();
  readonly #logLimit: number;
  readonly #faults: { op: MemoryOp | 'any'; error: Error; left: number }[] = [];
  readonly #holds = new Map<MemoryOp, { reached: () => void; released: Promise<void> }>();
  readonly #watchers = new Set<WatchListener>();
  #counter = 0;
  #closed = false;

  constructor(options: MemoryConnectorOptions = {}) {
    const caps = options.capabilities ?? {};
    this.capabilities = { write: caps.write ?? true, conditionalWrite: caps.conditionalWrite ?? true, changeFeed: caps.changeFeed ?? true, watch: caps.watch ?? false };
    this.#logLimit = options.changeLogLimit ?? 10000;
    for (const c of options.collections ?? []) this.createCollection(c);
    if (!this.capabilities.changeFeed) this.changes = undefined;
    if (!this.capabilities.watch) this.watch = undefined;
  }

  // ---- Operator / test surface ----

  /** Creates an empty collection (no-op if it exists). */
  createCollection(name: string): void {
    if (!this.#collections.has(name)) this.#collections.set(name, { items: new Map(), log: [], floor: 0 });
  }

  /** Adds or replaces items directly, as another client of the remote would. Returns their refs. */
  seed(collection: string, items: readonly { readonly id?: string; readonly fields: ItemFields }[]): ItemRef[] {
    this.createCollection(collection);
    const c = this.#collections.get(collection) as Collection;
    return items.map((it) => this.#store(c, it.id ?? this.#nextId(), it.fields));
  }

  /** Deletes an item directly, as another client would. */
  drop(collection: string, id: string): void {
    const c = this.#collections.get(collection);
    if (c?.items.delete(id)) this.#log(c, id);
  }

  /** Current content, for assertions: id → fields. */
  snapshot(collection: string): Map<string, ItemFields> {
    const c = this.#collections.get(collection);
    return new Map([...(c?.items ?? [])].map(([id, it]) => [id, it.fields]));
  }

  /** The next `times` calls of `op` (or of any operation) throw `error` instead of running. */
  failNext(op: MemoryOp | 'any', error: Error, times = 1): void {
    this.#faults.push({ op, error, left: times });
  }

  /**
   * Pauses the next call of `op` before it touches the data. `reached` resolves when a
   * call is waiting; `release()` lets it go on.
   */
  hold(op: MemoryOp): { reached: Promise<void>; release: () => void } {
    let release!: () => void;
    let reached!: () => void;
    const reachedP = new Promise<void>((r) => (reached = r));
    const released = new Promise<void>((r) => (release = r));
    this.#holds.set(op, { reached, released });
    return { reached: reachedP, release };
  }

  // ---- Connector ----

  async *list(collection: string): AsyncIterable<ItemRef> {
    const c = await this.#enter('list', collection);
    for (const [id, it] of [...c.items]) yield { id, version: it.version };
  }

  async *read(collection: string, ids?: readonly string[]): AsyncIterable<RemoteItem> {
    const c = await this.#enter('read', collection);
    const wanted = ids ?? [...c.items.keys()];
    for (const id of wanted) {
      const it = c.items.get(id);
      if (it) yield { id, version: it.version, fields: it.fields, modified: it.modified };
    }
  }

  changes?: (collection: string, token?: string) => Promise<ChangeSet | 'token-expired'> = async (collection, token) => {
    const c = await this.#enter('changes', collection);
    const head = String(this.#head(c));
    if (token === undefined) {
      return { token: head, upserted: [...c.items].map(([id, it]) => ({ id, version: it.version, fields: it.fields, modified: it.modified })), deleted: [] };
    }
    const after = Number(token);
    if (!/^\d+$/.test(token) || after < c.floor || after > this.#head(c)) return 'token-expired';
    const touched = new Set<string>();
    for (const e of c.log) if (e.seq > after) touched.add(e.id);
    const upserted: RemoteItem[] = [];
    const deleted: string[] = [];
    for (const id of touched) {
      const it = c.items.get(id);
      if (it) upserted.push({ id, version: it.version, fields: it.fields, modified: it.modified });
      else deleted.push(id);
    }
    return { token: head, upserted, deleted };
  };

  async write(collection: string, item: ItemWrite, expect: 'absent' | { readonly version: string }): Promise<ItemRef> {
    if (!this.capabilities.write) throw new Rejected('memory connector is read-only');
    const c = await this.#enter('write', collection);
    checkFields(item.fields);
    if (expect === 'absent') {
      const id = item.id ?? this.#nextId();
      if (c.items.has(id)) throw new VersionMismatch(`item ${id} already exists`);
      return this.#store(c, id, item.fields);
    }
    if (item.id === undefined) throw new Rejected('replacing an item needs its id');
    const cur = c.items.get(item.id);
    if (!cur) throw new NotFound(`item ${item.id} does not exist`);
    if (cur.version !== expect.version) throw new VersionMismatch(`item ${item.id} is at ${cur.version}, not ${expect.version}`);
    return this.#store(c, item.id, withOwned(cur.fields, item));
  }

  async remove(collection: string, id: string, expect: { readonly version: string }): Promise<void> {
    if (!this.capabilities.write) throw new Rejected('memory connector is read-only');
    const c = await this.#enter('remove', collection);
    const cur = c.items.get(id);
    if (!cur) throw new NotFound(`item ${id} does not exist`);
    if (cur.version !== expect.version) throw new VersionMismatch(`item ${id} is at ${cur.version}, not ${expect.version}`);
    c.items.delete(id);
    this.#log(c, id);
  }

  /** Every change, whoever made it, calls the listeners with its collection, after it is done. */
  watch?: (listener: WatchListener) => () => void = (listener) => {
    this.#watchers.add(listener);
    queueMicrotask(() => listener());
    return () => this.#watchers.delete(listener);
  };

  async close(): Promise<void> {
    this.#closed = true;
    this.#watchers.clear();
  }

  // ---- internals ----

  /** Counts the call, applies holds and injected faults, resolves the collection. */
  async #enter(op: MemoryOp, collection: string): Promise<Collection> {
    if (this.#closed) throw new Rejected('memory connector is closed');
    this.calls[op]++;
    const hold = this.#holds.get(op);
    if (hold) {
      this.#holds.delete(op);
      hold.reached();
      await hold.released;
    }
    const fault = this.#faults.find((f) => f.op === op || f.op === 'any');
    if (fault) {
      if (--fault.left <= 0) this.#faults.splice(this.#faults.indexOf(fault), 1);
      throw fault.error;
    }
    const c = this.#collections.get(collection);
    if (!c) throw new NotFound(`collection ${collection} does not exist`);
    return c;
  }

  #nextId(): string {
    return `m${++this.#counter}`;
  }

  #store(c: Collection, id: string, fields: ItemFields): ItemRef {
    const version = `v${++this.#counter}`;
    c.items.set(id, { version, fields: clean(fields), modified: Date.now() });
    this.#log(c, id);
    return { id, version };
  }

  #log(c: Collection, id: string): void {
    c.log.push({ seq: ++this.#counter, id });
    if (this.#watchers.size > 0) {
      const name = [...this.#collections].find(([, x]) => x === c)?.[0];
      // After the caller got its answer, as a backend's notification would arrive.
      if (name !== undefined) setImmediate(() => { for (const w of this.#watchers) w([name]); });
    }
    if (c.log.length > this.#logLimit) {
      const cut = c.log.length - this.#logLimit;
      c.floor = (c.log[cut - 1] as { seq: number }).seq;
      c.log.splice(0, cut);
    }
  }

  #head(c: Collection): number {
    return c.log.at(-1)?.seq ?? c.floor;
  }
}

function checkFields(fields: ItemFields): void {
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v !== 'string') throw new Rejected(`field ${k} is not a string`);
  }
}

/** `current` with the owned fields of `item` replaced (an owned field `item` lacks is cleared). */
function withOwned(current: ItemFields, item: ItemWrite): ItemFields {
  const out: Record<string, string> = { ...current };
  for (const name of item.owned ?? Object.keys(item.fields)) {
    const value = item.fields[name];
    if (value === undefined) delete out[name];
    else out[name] = value;
  }
  return out;
}

/** Frozen copy without empty fields: the contract says connectors never emit them. */
function clean(fields: ItemFields): ItemFields {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== '') out[k] = v;
  return Object.freeze(out);
}
