/**
 * The connector contract suite: every connector runs this one file through its own
 * harness (test/connectors/<kind>.test.ts calls `connectorContract`). What it checks is
 * what connectors/types.ts promises; capability flags turn groups on or off, so a
 * read-only or feed-less connector passes the part it claims.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectorKind } from '../../connectors/kind.ts';
import type { Connector, ConnectorCapabilities, ItemFields, ItemRef, RemoteItem } from '../../connectors/types.ts';
import { ConnectorError, NotFound, VersionMismatch } from '../../connectors/errors.ts';

export interface ConnectorHarness {
  readonly connector: Connector;
  /** An existing, empty collection private to this test. */
  readonly collection: string;
  /** A collection name that does not exist. */
  readonly missingCollection: string;
  /**
   * Content the backend stores and returns unchanged (its own mapping may normalize
   * others), with at least `uri`, `display-name`, `mail` and one more field; for whole
   * items (below), one whole value.
   */
  sample(i: number): ItemFields;

  /** Adds items behind the connector's back, as another client of the backend would. */
  seed(items: readonly ItemFields[]): Promise<ItemRef[]>;
  /** Changes or deletes an item behind the connector's back. */
  external: {
    update(id: string, fields: ItemFields): Promise<void>;
    remove(id: string): Promise<void>;
  };
  cleanup(): Promise<void>;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function rejectsWith(p: Promise<unknown>, cls: typeof VersionMismatch | typeof NotFound): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(cls);
  expect(err).toBeInstanceOf(ConnectorError);
}

/**
 * How the connector's items are shaped, when not contact-like records of flat fields.
 */
export interface ItemModel {
  /**
   * Set when an item is one indivisible value named by its place (xcap-table mode: a whole
   * document): a write replaces it whole, so the owned-field cases (`ItemWrite.owned`) do
   * not apply and are not registered, and creates carry an id the caller chooses
   * (`newId(i)`: a free one, distinct per `i`), since the connector cannot name a document.
   */
  readonly wholeItems?: { newId(i: number): string };
}

/**
 * Registers the contract tests for one connector. `capabilities` must equal what the
 * connector declares (checked); groups for capabilities it lacks are not registered, so
 * nothing is skipped at run time.
 */
export function connectorContract(name: string, capabilities: ConnectorCapabilities, factory: () => Promise<ConnectorHarness>, items: ItemModel = {}): void {
  const whole = items.wholeItems;
  describe(`${name}: connector contract (connectors/types.ts)`, () => {
    let h: ConnectorHarness;
    beforeEach(async () => {
      h = await factory();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('declares the capabilities the suite was registered with', () => {
      expect({ ...h.connector.capabilities }).toEqual(capabilities);
      expect(typeof h.connector.changes === 'function').toBe(capabilities.changeFeed);
      expect(typeof h.connector.watch === 'function').toBe(capabilities.watch);
    });

    describe('list / read', () => {
      it('an existing empty collection lists nothing', async () => {
        expect(await collect(h.connector.list(h.collection))).toEqual([]);
        expect(await collect(h.connector.read(h.collection))).toEqual([]);
      });

      it('a missing collection is NotFound, never empty', async () => {
        await rejectsWith(collect(h.connector.list(h.missingCollection)), NotFound);
      });

      it('list gives id and version of every item; read gives their fields', async () => {
        const refs = await h.seed([h.sample(1), h.sample(2), h.sample(3)]);
        const listed = await collect(h.connector.list(h.collection));
        expect(sortById(listed)).toEqual(sortById(refs));
        const read = await collect(h.connector.read(h.collection));
        expect(read.map((r) => [r.id, r.version])).toEqual(expect.arrayContaining(refs.map((r) => [r.id, r.version])));
        const byId = new Map(read.map((r) => [r.id, r.fields]));
        refs.forEach((r, i) => expect(byId.get(r.id)).toEqual(h.sample(i + 1)));
      });

      it('read of given ids skips ids that do not exist', async () => {
        const [a, b] = await h.seed([h.sample(1), h.sample(2)]);
        const read = await collect(h.connector.read(h.collection, [a!.id, 'no-such-id-42']));
        expect(read.map((r) => r.id)).toEqual([a!.id]);
        expect(read.some((r) => r.id === b!.id)).toBe(false);
      });

      it('an unchanged item keeps its version; a changed one gets a new version', async () => {
        const [a] = await h.seed([h.sample(1)]);
        const v1 = (await collect(h.connector.list(h.collection)))[0]?.version;
        const v2 = (await collect(h.connector.list(h.collection)))[0]?.version;
        expect(v1).toBe(a!.version);
        expect(v2).toBe(v1);
        await h.external.update(a!.id, h.sample(7));
        const v3 = (await collect(h.connector.list(h.collection)))[0]?.version;
        expect(v3).not.toBe(v1);
      });

      it('fields are flat non-empty strings', async () => {
        await h.seed([h.sample(1)]);
        const [item] = await collect(h.connector.read(h.collection));
        for (const v of Object.values((item as RemoteItem).fields)) {
          expect(typeof v).toBe('string');
          expect(v).not.toBe('');
        }
      });
    });

    if (capabilities.write) describe('write / remove (capabilities.write)', () => {
      /** A create as the connector accepts it: with a caller-chosen id for whole items. */
      const create = (i: number, fields = h.sample(i)) => h.connector.write(h.collection, { ...(whole && { id: whole.newId(i) }), fields }, 'absent');

      it('create with expect absent returns id and version and reads back; a second create of that id is a VersionMismatch', async () => {
        const ref = await create(1);
        const read = await collect(h.connector.read(h.collection, [ref.id]));
        expect(read).toHaveLength(1);
        expect(read[0]?.version).toBe(ref.version);
        expect(read[0]?.fields).toEqual(h.sample(1));
        if (whole) await rejectsWith(create(1, h.sample(2)), VersionMismatch);
      });

      it('replace succeeds only at the expected version (VersionMismatch otherwise, nothing written)', async () => {
        const ref = await create(1);
        const next = await h.connector.write(h.collection, { id: ref.id, fields: h.sample(2) }, { version: ref.version });
        expect(next.id).toBe(ref.id);
        expect(next.version).not.toBe(ref.version);
        await rejectsWith(h.connector.write(h.collection, { id: ref.id, fields: h.sample(3) }, { version: ref.version }), VersionMismatch);
        const [cur] = await collect(h.connector.read(h.collection, [ref.id]));
        expect(cur?.fields).toEqual(h.sample(2));
      });

      if (!whole) it('a replace with a subset of the fields leaves the other fields as they were', async () => {
        const [a] = await h.seed([h.sample(1)]);
        const renamed: Record<string, string> = { ...h.sample(1), 'display-name': 'Renamed Person' };
        await h.connector.write(h.collection, { id: a!.id, fields: { uri: renamed.uri!, 'display-name': 'Renamed Person' } }, { version: a!.version });
        const [cur] = await collect(h.connector.read(h.collection, [a!.id]));
        expect(cur?.fields).toEqual(renamed);
      });

      if (!whole) it('an owned field missing from the write is cleared; fields not owned are kept', async () => {
        const [a] = await h.seed([h.sample(1)]);
        const withoutMail: Record<string, string> = { ...h.sample(1) };
        delete withoutMail.mail;
        const owned = ['uri', 'display-name', 'mail'];
        await h.connector.write(h.collection, { id: a!.id, fields: { uri: withoutMail.uri!, 'display-name': withoutMail['display-name']! }, owned }, { version: a!.version });
        const [cur] = await collect(h.connector.read(h.collection, [a!.id]));
        expect(cur?.fields).toEqual(withoutMail);
      });

      it('replace of an item changed behind our back is a VersionMismatch', async () => {
        const [a] = await h.seed([h.sample(1)]);
        await h.external.update(a!.id, h.sample(5));
        await rejectsWith(h.connector.write(h.collection, { id: a!.id, fields: h.sample(6) }, { version: a!.version }), VersionMismatch);
      });

      it('replace of a deleted item is NotFound', async () => {
        const [a] = await h.seed([h.sample(1)]);
        await h.external.remove(a!.id);
        await rejectsWith(h.connector.write(h.collection, { id: a!.id, fields: h.sample(2) }, { version: a!.version }), NotFound);
      });

      it('remove honours the version; a second remove is NotFound', async () => {
        const [a] = await h.seed([h.sample(1)]);
        await rejectsWith(h.connector.remove(h.collection, a!.id, { version: 'stale-version' }), VersionMismatch);
        expect(await collect(h.connector.list(h.collection))).toHaveLength(1);
        await h.connector.remove(h.collection, a!.id, { version: a!.version });
        expect(await collect(h.connector.list(h.collection))).toEqual([]);
        await rejectsWith(h.connector.remove(h.collection, a!.id, { version: a!.version }), NotFound);
      });
    });

    if (capabilities.changeFeed) describe('changes (capabilities.changeFeed)', () => {
      it('no token: every item upserted, nothing deleted', async () => {
        if (!h.connector.changes) throw new Error('changeFeed declared but changes() missing');
        const refs = await h.seed([h.sample(1), h.sample(2)]);
        const cs = await h.connector.changes(h.collection);
        if (cs === 'token-expired') throw new Error('initial changes() must not expire');
        expect(sortById(cs.upserted.map(({ id, version }) => ({ id, version })))).toEqual(sortById(refs));
        expect(cs.deleted).toEqual([]);
      });

      it('an unchanged collection reports nothing; changes and deletes since the token are reported', async () => {
        if (!h.connector.changes) throw new Error('changeFeed declared but changes() missing');
        const [a, b] = await h.seed([h.sample(1), h.sample(2)]);
        const first = await h.connector.changes(h.collection);
        if (first === 'token-expired') throw new Error('initial changes() must not expire');
        const idle = await h.connector.changes(h.collection, first.token);
        if (idle === 'token-expired') throw new Error('a fresh token must not expire');
        expect(idle.upserted).toEqual([]);
        expect(idle.deleted).toEqual([]);
        await h.external.update(a!.id, h.sample(9));
        await h.external.remove(b!.id);
        const next = await h.connector.changes(h.collection, idle.token);
        if (next === 'token-expired') throw new Error('a fresh token must not expire');
        expect(next.upserted.map((u) => [u.id, u.fields])).toEqual([[a!.id, h.sample(9)]]);
        expect(next.deleted).toEqual([b!.id]);
      });

      it('a token used again reports the same changes again (the engine keeps a token while a conflict is open)', async () => {
        if (!h.connector.changes) throw new Error('changeFeed declared but changes() missing');
        const [a, b] = await h.seed([h.sample(1), h.sample(2)]);
        const first = await h.connector.changes(h.collection);
        if (first === 'token-expired') throw new Error('initial changes() must not expire');
        await h.external.update(a!.id, h.sample(9));
        await h.external.remove(b!.id);
        for (let i = 0; i < 2; i++) {
          const again = await h.connector.changes(h.collection, first.token);
          if (again === 'token-expired') throw new Error('a fresh token must not expire');
          expect(again.upserted.map((u) => [u.id, u.fields])).toEqual([[a!.id, h.sample(9)]]);
          expect(again.deleted).toEqual([b!.id]);
        }
      });

      it('an unknown token resolves token-expired', async () => {
        if (!h.connector.changes) throw new Error('changeFeed declared but changes() missing');
        expect(await h.connector.changes(h.collection, 'garbage-token-that-was-never-issued')).toBe('token-expired');
      });
    });

    if (capabilities.watch) describe('watch (capabilities.watch)', () => {
      it('calls once when established, then after a change by another client, naming its collection (or any); a stopped watch is not called', async () => {
        const watch = h.connector.watch;
        if (!watch) throw new Error('watch declared but watch() missing');
        const calls: (readonly string[] | undefined)[] = [];
        let woke: () => void = () => {};
        const next = () => new Promise<void>((r) => (woke = r));
        let established = next();
        const stop = watch.call(h.connector, (collections) => {
          calls.push(collections);
          woke();
        });
        try {
          await established;
          const before = calls.length;
          await h.seed([h.sample(1)]);
          // Calls are hints that may fold or repeat: wait until one names the collection or any.
          const names = (c: readonly string[] | undefined) => c === undefined || c.includes(h.collection);
          while (!calls.slice(before).some(names)) await next();
        } finally {
          stop();
        }
        const after = calls.length;
        const seen: (readonly string[] | undefined)[] = [];
        established = next();
        const again = watch.call(h.connector, (c) => {
          seen.push(c);
          woke();
        });
        try {
          await established;
          const before = seen.length;
          await h.seed([h.sample(2)]);
          while (!seen.slice(before).some((c) => c === undefined || c.includes(h.collection))) await next();
        } finally {
          again();
        }
        expect(calls.length).toBe(after);
      });
    });
  });
}

function sortById<T extends { id: string }>(xs: readonly T[]): T[] {
  return [...xs].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

/**
 * The registry side of the contract (connectors/kind.ts): for each options entry (a whole
 * `{ kind, ... }` as written in `connectors:`), the kind's schema accepts it, `capabilities`
 * answers from the options alone what the created connector then declares, and creating
 * the connector does not need the backend (config checking relies on both).
 */
export function connectorKindContract(kind: ConnectorKind, entries: readonly Readonly<Record<string, unknown>>[]): void {
  describe(`${kind.kind}: connector kind (connectors/kind.ts)`, () => {
    it.each(entries.map((e) => [JSON.stringify(e), e] as const))('options %s: declared capabilities are the created connector\'s', async (_label, entry) => {
      const options = kind.options.parse(entry);
      const declared = kind.capabilities(options);
      const connector = await kind.create(options, { name: 'contract' });
      try {
        expect({ ...connector.capabilities }).toEqual(declared);
        expect(connector.kind).toBe(kind.kind);
      } finally {
        await connector.close();
      }
    });
  });
}
