import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Unavailable, VersionMismatch } from '../../connectors/errors.ts';
import { bindingSchema, compileBinding } from '../../src/sync/binding.ts';
import { MAX_REPLANS, runSync, isRetryable, scopesOf } from '../../src/sync/runner.ts';
import { EtagMismatch } from '../../src/store/types.ts';
import { binding, BINDING_INPUT, GLOBAL_DOC, listsDoc, person, remoteContent, STORES, syncFixture, xcapEntries, type SyncFixture } from './helpers.ts';


// Every case on both stores: the sync state tables' SQL differs per dialect.
describe.each(STORES)('%s store', (kind) => {
  let f: SyncFixture;
  beforeEach(async () => {
    f = await syncFixture(kind);
  });
  afterEach(async () => {
    await f.store.close();
  });
  const ctx = () => ({ store: f.store, state: f.state, connector: f.remote });

  describe('sync run: pull (remote → XCAP)', () => {
    it('creates, updates and deletes entries of the bound list only, and a repeat writes nothing', async () => {
      await f.store.put(GLOBAL_DOC, listsDoc([], ['sip:mine@example.com']), 'absent');
      const [a, b] = f.remote.seed('people', [{ fields: person(1) }, { fields: { ...person(2), mail: 'p2@example.com' } }]);
      const bnd = binding();
      const r1 = await runSync(ctx(), bnd, 'global');
      expect(r1.xcap.create).toBe(2);
      expect([...(await xcapEntries(f.store)).values()]).toEqual([person(1), { ...person(2), mail: 'p2@example.com' }]);

      f.remote.seed('people', [{ id: a!.id, fields: person(1, 'Renamed') }]);
      f.remote.drop('people', b!.id);
      const r2 = await runSync(ctx(), bnd, 'global', { force: true });
      expect(r2).toMatchObject({ xcap: { create: 0, update: 1, delete: 1 } });
      expect([...(await xcapEntries(f.store)).values()]).toEqual([person(1, 'Renamed')]);
      const body = (await f.store.get(GLOBAL_DOC))!.body;
      expect(body).toContain('sip:mine@example.com');

      const etag = (await f.store.get(GLOBAL_DOC))!.etag;
      const writes = f.remote.calls.write;
      const r3 = await runSync(ctx(), bnd, 'global');
      expect(r3.outcome).toBe('unchanged');
      expect((await f.store.get(GLOBAL_DOC))!.etag).toBe(etag);
      expect(f.remote.calls.write).toBe(writes);
    });

    it('a local edit of a projected entry is re-projected; the remote is never written', async () => {
      f.remote.seed('people', [{ fields: person(1) }]);
      const bnd = binding();
      await runSync(ctx(), bnd, 'global');
      const cur = (await f.store.get(GLOBAL_DOC))!;
      await f.store.put(GLOBAL_DOC, listsDoc([person(1, 'Hacked')]), { etag: cur.etag }, 'xcap');
      await runSync(ctx(), bnd, 'global');
      expect((await xcapEntries(f.store)).get(person(1).uri!)).toEqual(person(1));
      expect(f.remote.calls.write).toBe(0);
    });
  });

  describe('a bound list missing from its document is put back, never read as its entries deleted (docs/sync.md, Safety limits)', () => {
    const withoutList = `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="friends"><entry uri="sip:mine@example.com"/></list></resource-lists>`;

    it.each(['push', 'both', 'pull'] as const)('direction %s: the list left out of a PUT, then the document deleted: each next run re-creates it, the remote is not written', async (direction) => {
      const bnd = binding({ direction, safety: { deletes: 'all' } });
      const people = [person(1), person(2), person(3)];
      const byUri = new Map(people.map((p) => [p.uri, p]));
      if (direction === 'pull') f.remote.seed('people', people.map((fields) => ({ fields })));
      else await f.store.put(GLOBAL_DOC, listsDoc(people), 'absent');
      await runSync(ctx(), bnd, 'global');
      const remoteBefore = remoteContent(f.remote);
      expect(remoteBefore).toEqual(people);
      const writes = f.remote.calls.write + f.remote.calls.remove;

      const cur = (await f.store.get(GLOBAL_DOC))!;
      await f.store.put(GLOBAL_DOC, withoutList, { etag: cur.etag }, 'xcap');
      const r = await runSync(ctx(), bnd, 'global');
      expect(r).toMatchObject({ outcome: 'applied', xcap: { create: 3, update: 0, delete: 0 }, remote: { create: 0, update: 0, delete: 0 } });
      expect(await xcapEntries(f.store)).toEqual(byUri);
      expect((await f.store.get(GLOBAL_DOC))!.body).toContain('sip:mine@example.com');

      await f.store.delete(GLOBAL_DOC, 'any', 'xcap');
      await runSync(ctx(), bnd, 'global');
      expect(await xcapEntries(f.store)).toEqual(byUri); // order: as the state lists them
      expect(remoteContent(f.remote)).toEqual(remoteBefore);
      expect(f.remote.calls.write + f.remote.calls.remove).toBe(writes);
      expect((await runSync(ctx(), bnd, 'global')).outcome).toBe('unchanged');
    });

    it('an empty list that is still there is a delete of its entries, under the mass-delete guard', async () => {
      const bnd = binding({ direction: 'push', safety: { deletes: 'all' } });
      await f.store.put(GLOBAL_DOC, listsDoc([person(1), person(2), person(3)]), 'absent');
      await runSync(ctx(), bnd, 'global');
      const cur = (await f.store.get(GLOBAL_DOC))!;
      await f.store.put(GLOBAL_DOC, listsDoc([]), { etag: cur.etag }, 'xcap');
      expect((await runSync(ctx(), bnd, 'global')).outcome).toBe('refused');
      expect(remoteContent(f.remote)).toHaveLength(3);
    });
  });

  describe('sync run: a changed configuration (Binding.fingerprint)', () => {
    it('re-reads everything on the next run: a field added to the mapping reaches every entry though nothing changed remotely', async () => {
      f.remote.seed('people', [{ fields: { ...person(1), mail: 'p1@example.com' } }, { fields: { ...person(2), mail: 'p2@example.com' } }]);
      await runSync(ctx(), binding({ mapping: { kind: 'resource-lists', list: 'directory', fields: [] } }), 'global');
      expect([...(await xcapEntries(f.store)).values()]).toEqual([person(1), person(2)]);
      const before = await runSync(ctx(), binding({ mapping: { kind: 'resource-lists', list: 'directory', fields: [] } }), 'global');
      expect(before).toMatchObject({ outcome: 'unchanged', fullRead: false });

      const withMail = binding();
      const changed = await runSync(ctx(), withMail, 'global');
      expect(changed).toMatchObject({ outcome: 'applied', fullRead: true, xcap: { create: 0, update: 2, delete: 0 } });
      expect([...(await xcapEntries(f.store)).values()]).toEqual([{ ...person(1), mail: 'p1@example.com' }, { ...person(2), mail: 'p2@example.com' }]);
      expect(await runSync(ctx(), withMail, 'global')).toMatchObject({ outcome: 'unchanged', fullRead: false });
    });

    it('a connector option counts; the schedule and the safety limits do not', async () => {
      const base = { mapping: { kind: 'resource-lists' as const, list: 'directory', fields: [] } };
      const fp = (o: object, connector: unknown = { kind: 'memory', collections: ['people'] }) => compileBinding(bindingSchema.parse({ ...BINDING_INPUT, ...base, ...o }), connector).fingerprint;
      expect(fp({})).toBe(fp({ schedule: { everyMs: 5000 }, safety: { maxDeleteShare: 0.5 }, onXcapChange: false }));
      expect(fp({})).not.toBe(fp({}, { kind: 'memory', collections: ['people', 'more'] }));
      expect(fp({})).not.toBe(fp({ collection: 'other' }));
    });

    it('`full` reads both sides whole where the change token says nothing changed', async () => {
      f.remote.seed('people', [{ fields: person(1) }]);
      await runSync(ctx(), binding(), 'global');
      expect(await runSync(ctx(), binding(), 'global', { full: true })).toMatchObject({ outcome: 'applied', fullRead: true, xcap: { create: 0, update: 0, delete: 0 } });
    });
  });

  describe('scopes of a users binding', () => {
    const users = { list: async () => [{ xui: 'sip:carol@example.com' }] };
    it('a pull binding runs for known users without a document too; push and both only for documents and target.users', async () => {
      await f.store.put({ auid: 'resource-lists', xui: 'sip:alice@example.com', path: 'index' }, listsDoc([]), 'absent');
      const target = { scope: 'users' as const, document: 'index', users: ['sip:bob@example.com'] };
      expect(await scopesOf(f.store, binding({ target, collection: 'c-{user}' }), users)).toEqual(['sip:alice@example.com', 'sip:bob@example.com', 'sip:carol@example.com']);
      expect(await scopesOf(f.store, binding({ target, collection: 'c-{user}', direction: 'both' }), users)).toEqual(['sip:alice@example.com', 'sip:bob@example.com']);
    });
  });

  describe('sync run: push and both', () => {
    it('push creates, updates and deletes remote items the binding created', async () => {
      const bnd = binding({ direction: 'push' });
      await f.store.put(GLOBAL_DOC, listsDoc([person(1), person(2), person(3), person(4), person(5)]), 'absent');
      await runSync(ctx(), bnd, 'global');
      expect(remoteContent(f.remote)).toHaveLength(5);
      const cur = (await f.store.get(GLOBAL_DOC))!;
      await f.store.put(GLOBAL_DOC, listsDoc([person(1, 'One'), person(2), person(3), person(4)]), { etag: cur.etag });
      const r = await runSync(ctx(), bnd, 'global');
      expect(r.remote).toEqual({ create: 0, update: 1, delete: 1 });
      expect(remoteContent(f.remote)).toEqual([person(1, 'One'), person(2), person(3), person(4)]);
    });

    it('a remote item the binding did not create survives an XCAP delete (kept, not re-created)', async () => {
      const bnd = binding({ direction: 'both' });
      f.remote.seed('people', [{ fields: person(1) }]);
      await f.store.put(GLOBAL_DOC, listsDoc([person(1)]), 'absent');
      await runSync(ctx(), bnd, 'global');
      const cur = (await f.store.get(GLOBAL_DOC))!;
      await f.store.put(GLOBAL_DOC, listsDoc([]), { etag: cur.etag });
      await runSync(ctx(), bnd, 'global', { force: true });
      expect(remoteContent(f.remote)).toEqual([person(1)]);
      expect((await xcapEntries(f.store)).size).toBe(0);
      const again = await runSync(ctx(), bnd, 'global');
      expect(again.xcap.create + again.remote.delete).toBe(0);
    });
  });

  describe('sync run: conflicts (both sides changed)', () => {
    async function conflicted(policy: 'xcap-wins' | 'remote-wins' | 'newest-wins' | 'merge' | 'manual') {
      const bnd = binding({ direction: 'both', policy });
      const [ref] = f.remote.seed('people', [{ fields: { ...person(1), mail: 'old@example.com' } }]);
      await runSync(ctx(), bnd, 'global');
      const cur = (await f.store.get(GLOBAL_DOC))!;
      // XCAP changes the name; then the remote changes the mail (later, so it is newest).
      await f.store.put(GLOBAL_DOC, cur.body.replace('Person 1', 'Local Name'), { etag: cur.etag }, 'xcap');
      await new Promise((r) => setTimeout(r, 5));
      f.remote.seed('people', [{ id: ref!.id, fields: { ...person(1, 'Remote Name'), mail: 'new@example.com' } }]);
      return bnd;
    }
    const local = { ...person(1, 'Local Name'), mail: 'old@example.com' };
    const remoteSide = { ...person(1, 'Remote Name'), mail: 'new@example.com' };

    it('xcap-wins', async () => {
      await runSync(ctx(), await conflicted('xcap-wins'), 'global');
      expect(remoteContent(f.remote)).toEqual([local]);
      expect((await xcapEntries(f.store)).get(person(1).uri!)).toEqual(local);
    });
    it('remote-wins', async () => {
      await runSync(ctx(), await conflicted('remote-wins'), 'global');
      expect((await xcapEntries(f.store)).get(person(1).uri!)).toEqual(remoteSide);
    });
    it('newest-wins (the remote changed last)', async () => {
      await runSync(ctx(), await conflicted('newest-wins'), 'global');
      expect((await xcapEntries(f.store)).get(person(1).uri!)).toEqual(remoteSide);
    });
    it('merge keeps both sides when they changed different fields', async () => {
      const bnd = binding({ direction: 'both', policy: 'merge' });
      const [ref] = f.remote.seed('people', [{ fields: { ...person(1), mail: 'old@example.com' } }]);
      await runSync(ctx(), bnd, 'global');
      const cur = (await f.store.get(GLOBAL_DOC))!;
      await f.store.put(GLOBAL_DOC, cur.body.replace('Person 1', 'Local Name'), { etag: cur.etag }, 'xcap');
      f.remote.seed('people', [{ id: ref!.id, fields: { ...person(1), mail: 'new@example.com' } }]);
      await runSync(ctx(), bnd, 'global');
      const merged = { ...person(1, 'Local Name'), mail: 'new@example.com' };
      expect((await xcapEntries(f.store)).get(person(1).uri!)).toEqual(merged);
      expect(remoteContent(f.remote)).toEqual([merged]);
    });
    it('manual records the conflict, changes nothing, and applies the operator resolution', async () => {
      const bnd = await conflicted('manual');
      const r = await runSync(ctx(), bnd, 'global');
      expect(r.conflicts).toBe(1);
      expect((await xcapEntries(f.store)).get(person(1).uri!)).toEqual(local);
      expect(remoteContent(f.remote)).toEqual([remoteSide]);
      const [c] = await f.state.listConflicts('dir');
      expect(c).toMatchObject({ scope: 'global', xcap: local, remote: remoteSide, resolution: null });
      expect(await f.state.resolveConflict('dir', 'global', c!.item, 'xcap')).toBe(true);
      await runSync(ctx(), bnd, 'global');
      expect(remoteContent(f.remote)).toEqual([local]);
      expect(await f.state.listConflicts('dir')).toEqual([]);
    });
  });

  describe('sync run: safety and races', () => {
    it('an emptied remote never wipes the XCAP list (refused, reported, nothing written)', async () => {
      const refs = f.remote.seed('people', Array.from({ length: 10 }, (_, i) => ({ fields: person(i) })));
      const bnd = binding();
      await runSync(ctx(), bnd, 'global');
      for (const r of refs) f.remote.drop('people', r.id);
      const etag = (await f.store.get(GLOBAL_DOC))!.etag;
      const r = await runSync(ctx(), bnd, 'global');
      expect(r.outcome).toBe('refused');
      expect((await f.store.get(GLOBAL_DOC))!.etag).toBe(etag);
      expect((await f.state.getScope('dir', 'global'))!.lastError).toMatch(/refused/);
    });

    it('dry run plans without writing anything', async () => {
      f.remote.seed('people', [{ fields: person(1) }]);
      const r = await runSync(ctx(), binding(), 'global', { dryRun: true });
      expect(r).toMatchObject({ outcome: 'planned', xcap: { create: 1 } });
      expect(await f.store.get(GLOBAL_DOC)).toBeUndefined();
      expect(await f.state.getScope('dir', 'global')).toBeUndefined();
    });

    it('an XCAP write during the run makes it fail retryably; the retry keeps both changes', async () => {
      await f.store.put(GLOBAL_DOC, listsDoc([], ['sip:mine@example.com']), 'absent');
      f.remote.seed('people', [{ fields: person(1) }]);
      const bnd = binding();
      const hold = f.remote.hold('changes');
      const run = runSync(ctx(), bnd, 'global').then(() => null, (e: unknown) => e);
      await hold.reached;
      const cur = (await f.store.get(GLOBAL_DOC))!;
      await f.store.put(GLOBAL_DOC, listsDoc([], ['sip:mine@example.com', 'sip:new@example.com']), { etag: cur.etag }, 'xcap');
      hold.release();
      const err = await run;
      expect(err).toBeInstanceOf(EtagMismatch);
      expect(isRetryable(err)).toBe(true);
      await runSync(ctx(), bnd, 'global');
      const body = (await f.store.get(GLOBAL_DOC))!.body;
      expect(body).toContain('sip:new@example.com');
      expect((await xcapEntries(f.store)).has(person(1).uri!)).toBe(true);
    });

    it('a remote that is down fails retryably, is shown in status, and the XCAP document is untouched', async () => {
      await f.store.put(GLOBAL_DOC, listsDoc([person(1)]), 'absent');
      f.remote.failNext('any', new Unavailable('connection refused'));
      const err = await runSync(ctx(), binding({ direction: 'push' }), 'global').then(() => null, (e: unknown) => e);
      expect(isRetryable(err)).toBe(true);
      expect((await f.state.getScope('dir', 'global'))!.lastError).toMatch(/unavailable/);
      expect((await xcapEntries(f.store)).size).toBe(1);
    });
  });

  describe('a remote write that loses its race (412) is read and planned again, then recorded as a conflict', () => {
    /** Both sides hold person 1 and person 2; XCAP then renames both. */
    async function renamedOnXcap(policy: 'xcap-wins' | 'remote-wins' = 'xcap-wins') {
      const bnd = binding({ direction: 'both', policy });
      await f.store.put(GLOBAL_DOC, listsDoc([person(1), person(2)]), 'absent');
      await runSync(ctx(), bnd, 'global');
      const cur = (await f.store.get(GLOBAL_DOC))!;
      await f.store.put(GLOBAL_DOC, listsDoc([person(1, 'XCAP One'), person(2, 'XCAP Two')]), { etag: cur.etag }, 'xcap');
      return bnd;
    }
    const remoteName = (uri: string) => remoteContent(f.remote).find((p) => p.uri === uri)?.['display-name'];

    it('the remote item edited while the run wrote it: the same run reads it again and the policy decides', async () => {
      const bnd = await renamedOnXcap('remote-wins');
      const [first] = [...f.remote.snapshot('people')].filter(([, p]) => p.uri === person(1).uri);
      const hold = f.remote.hold('write');
      const run = runSync(ctx(), bnd, 'global');
      await hold.reached;
      f.remote.seed('people', [{ id: first![0], fields: person(1, 'Remote One') }]);
      hold.release();
      const r = await run;
      expect(r).toMatchObject({ outcome: 'applied', conflicts: 0 });
      expect((await xcapEntries(f.store)).get(person(1).uri!)?.['display-name']).toBe('Remote One');
      expect(remoteName(person(1).uri!)).toBe('Remote One');
      expect(remoteName(person(2).uri!)).toBe('XCAP Two');
      expect(await f.state.listConflicts('dir')).toEqual([]);
    });

    it('lost twice, then written: no conflict, three write attempts for the item', async () => {
      const bnd = await renamedOnXcap();
      f.remote.failNext('write', new VersionMismatch('412 Precondition Failed'), 2);
      const before = f.remote.calls.write;
      const r = await runSync(ctx(), bnd, 'global');
      expect(r).toMatchObject({ outcome: 'applied', conflicts: 0 });
      expect(f.remote.calls.write - before).toBe(4);
      expect(remoteName(person(1).uri!)).toBe('XCAP One');
      expect(remoteName(person(2).uri!)).toBe('XCAP Two');
    });

    it(`lost ${MAX_REPLANS} times: a conflict with both sides, the rest written, neither side of it changed; a later run writes it`, async () => {
      const bnd = await renamedOnXcap();
      f.remote.failNext('write', new VersionMismatch('412 Precondition Failed'), MAX_REPLANS);
      const before = f.remote.calls.write;
      const r = await runSync(ctx(), bnd, 'global');
      expect(r).toMatchObject({ outcome: 'applied', conflicts: 1 });
      // The first item written lost MAX_REPLANS times (the order of the plan's decisions is the state's), the other once.
      expect(f.remote.calls.write - before).toBe(MAX_REPLANS + 1);
      const conflicts = await f.state.listConflicts('dir', 'global');
      expect(conflicts).toHaveLength(1);
      const [lost, won] = conflicts[0]!.remote.uri === person(1).uri ? [1, 2] : [2, 1];
      const xcapName: Record<number, string> = { 1: 'XCAP One', 2: 'XCAP Two' };
      expect(conflicts).toMatchObject([{ xcap: person(lost, xcapName[lost]), remote: person(lost) }]);
      expect(remoteName(person(lost).uri!)).toBe(person(lost)['display-name']);
      expect(remoteName(person(won).uri!)).toBe(xcapName[won]);
      expect((await xcapEntries(f.store)).get(person(lost).uri!)?.['display-name']).toBe(xcapName[lost]);
      const again = await runSync(ctx(), bnd, 'global');
      expect(again).toMatchObject({ outcome: 'applied', conflicts: 0 });
      expect(remoteName(person(lost).uri!)).toBe(xcapName[lost]);
      expect(await f.state.listConflicts('dir')).toEqual([]);
    });

    it('a run that keeps losing races on other items after its re-plans fails retryably, and says so', async () => {
      const bnd = await renamedOnXcap();
      f.remote.failNext('write', new VersionMismatch('412 Precondition Failed'), 99);
      const err = await runSync(ctx(), bnd, 'global').then(() => null, (e: unknown) => e);
      expect(isRetryable(err)).toBe(true);
      expect((await f.state.getScope('dir', 'global'))!.lastError).toMatch(/remote item changed during sync/);
    });
  });

  describe('sync run: device-config (custom usage, elements mapping)', () => {
    it('speed-dial keys sync to the remote and back', async () => {
      const bnd = binding({
        name: 'dials',
        auid: 'org.example.device-config',
        target: { scope: 'users', document: 'index' },
        collection: 'dials-{user}',
        direction: 'both',
        mapping: { kind: 'elements', namespace: 'urn:example:device-config', root: 'device-config', container: { element: 'speed-dials' }, item: 'key', fields: { index: '@index', uri: '@uri', label: 'label' }, key: 'index' },
      });
      f.remote.createCollection('dials-alice');
      const key = { auid: 'org.example.device-config', xui: 'sip:alice@example.com', path: 'index' };
      await f.store.put(key, '<device-config xmlns="urn:example:device-config"><speed-dials><key index="1" uri="sip:bob@example.com"><label>Bob</label></key></speed-dials></device-config>', 'absent');
      await runSync(ctx(), bnd, 'sip:alice@example.com');
      expect([...f.remote.snapshot('dials-alice').values()]).toEqual([{ index: '1', uri: 'sip:bob@example.com', label: 'Bob' }]);
      f.remote.seed('dials-alice', [{ fields: { index: '2', uri: 'sip:carol@example.com', label: 'Carol' } }]);
      await runSync(ctx(), bnd, 'sip:alice@example.com');
      expect((await f.store.get(key))!.body).toContain('<key index="2" uri="sip:carol@example.com"><label>Carol</label></key>');
    });
  });
});
