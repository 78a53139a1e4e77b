import { describe, expect, it } from 'vitest';
import { checkDeleteLimits, mergeFields, reconcile, type ConflictPolicy, type Direction, type ItemState, type ReconcileOptions, type RemoteSnapshot, type XcapSnapshot } from '../../src/sync/reconcile.ts';
import { hashFields } from '../../src/sync/hash.ts';
import type { ItemFields } from '../../connectors/types.ts';

const X = (fields: ItemFields): XcapSnapshot => ({ key: fields.uri ?? '', fields, hash: hashFields(fields) });
const R = (id: string, version: string, fields: ItemFields, modified?: number): RemoteSnapshot => ({ id, version, fields, hash: hashFields(fields), ...(modified === undefined ? {} : { modified }) });
const S = (id: string, fields: ItemFields, remoteId: string, version: string, createdOn: ItemState['createdOn'] = null): ItemState => ({
  id, xcapKey: fields.uri ?? null, xcapHash: hashFields(fields), remoteId, remoteVersion: version, remoteHash: hashFields(fields), base: fields, createdOn,
});

function opts(direction: Direction = 'both', policy: ConflictPolicy = 'manual', extra: Partial<ReconcileOptions> = {}): ReconcileOptions {
  return { direction, policy, deletes: 'created', keyField: 'uri', xcapModified: 1000, hash: hashFields, ...extra };
}
function run(xcap: XcapSnapshot[], remote: RemoteSnapshot[], state: ItemState[], o: ReconcileOptions) {
  return reconcile({ xcap: new Map(xcap.map((x) => [x.key, x])), remote: new Map(remote.map((r) => [r.id, r])), state, options: o });
}

const bob = { uri: 'sip:bob@example.com', 'display-name': 'Bob' };
const bob2 = { uri: 'sip:bob@example.com', 'display-name': 'Bob Builder' };
const bob3 = { uri: 'sip:bob@example.com', 'display-name': 'Robert' };

describe('reconcile: three-way decision table', () => {
  it('nothing changed: empty plan (a repeated run writes nothing)', () => {
    const p = run([X(bob)], [R('r1', 'v1', bob)], [S('s1', bob, 'r1', 'v1')], opts());
    expect(p.decisions).toEqual([]);
  });

  it('new remote item is created in XCAP and marked as created there', () => {
    const p = run([], [R('r1', 'v1', bob)], [], opts('pull'));
    expect(p.decisions).toHaveLength(1);
    expect(p.decisions[0]?.xcap).toEqual({ op: 'create', fields: bob });
    expect(p.decisions[0]?.next).toMatchObject({ remoteId: 'r1', createdOn: 'xcap' });
  });

  it('new XCAP item is created on the remote (push/both) but not under pull', () => {
    expect(run([X(bob)], [], [], opts('both')).decisions[0]?.remote).toEqual({ op: 'create', fields: bob });
    expect(run([X(bob)], [], [], opts('pull')).decisions).toEqual([]);
  });

  it('same key new on both sides with equal content is linked, not a conflict', () => {
    const p = run([X(bob)], [R('r1', 'v1', bob)], [], opts('both', 'manual'));
    expect(p.conflicts).toBe(0);
    expect(p.decisions[0]).toMatchObject({ reason: 'new-equal-linked' });
    expect(p.decisions[0]?.xcap).toBeUndefined();
    expect(p.decisions[0]?.remote).toBeUndefined();
  });

  it('change on one side flows to the other (conditional on the read version)', () => {
    const st = [S('s1', bob, 'r1', 'v1')];
    expect(run([X(bob2)], [R('r1', 'v1', bob)], st, opts()).decisions[0]?.remote).toEqual({ op: 'update', id: 'r1', version: 'v1', fields: bob2 });
    expect(run([X(bob)], [R('r1', 'v2', bob2)], st, opts()).decisions[0]?.xcap).toEqual({ op: 'update', key: bob.uri, fields: bob2 });
  });

  it('both changed to the same content is never a conflict', () => {
    const p = run([X(bob2)], [R('r1', 'v2', bob2)], [S('s1', bob, 'r1', 'v1')], opts('both', 'manual'));
    expect(p.conflicts).toBe(0);
    expect(p.decisions[0]?.reason).toBe('equal-content');
  });

  it('a new remote version with unchanged content only refreshes state', () => {
    const p = run([X(bob)], [R('r1', 'v9', bob)], [S('s1', bob, 'r1', 'v1')], opts());
    expect(p.decisions[0]).toMatchObject({ reason: 'remote-version-only', next: { remoteVersion: 'v9' } });
    expect(p.decisions[0]?.xcap ?? p.decisions[0]?.remote).toBeUndefined();
  });

  describe('conflict policies (both sides changed differently)', () => {
    const st = [S('s1', bob, 'r1', 'v1')];
    const both = (policy: ConflictPolicy, remoteModified?: number) => run([X(bob2)], [R('r1', 'v2', bob3, remoteModified)], st, opts('both', policy)).decisions[0];
    it('xcap-wins writes the XCAP content to the remote', () => expect(both('xcap-wins')?.remote).toMatchObject({ op: 'update', fields: bob2 }));
    it('remote-wins writes the remote content to XCAP', () => expect(both('remote-wins')?.xcap).toMatchObject({ op: 'update', fields: bob3 }));
    it('newest-wins compares the remote item time with the document time', () => {
      expect(both('newest-wins', 500)?.remote).toMatchObject({ fields: bob2 });
      expect(both('newest-wins', 5000)?.xcap).toMatchObject({ fields: bob3 });
    });
    it('manual records the conflict and writes nothing', () => {
      const d = both('manual');
      expect(d?.conflict).toEqual({ xcap: bob2, remote: bob3 });
      expect(d?.xcap ?? d?.remote).toBeUndefined();
    });
    it('an operator resolution overrides the policy', () => {
      const d = run([X(bob2)], [R('r1', 'v2', bob3)], st, opts('both', 'manual', { resolutions: new Map([['s1', 'remote']]) })).decisions[0];
      expect(d?.xcap).toMatchObject({ fields: bob3 });
    });
    it('merge combines different fields and falls back to recording a clash', () => {
      const a = { ...bob, mail: 'bob@example.com' };
      const b = { ...bob, 'display-name': 'Robert' };
      const d = run([X(a)], [R('r1', 'v2', b)], st, opts('both', 'merge')).decisions[0];
      const merged = { uri: bob.uri, 'display-name': 'Robert', mail: 'bob@example.com' };
      expect(d?.xcap).toMatchObject({ fields: merged });
      expect(d?.remote).toMatchObject({ fields: merged, version: 'v2' });
      expect(both('merge')?.conflict).toBeDefined();
      expect(mergeFields({ a: '1' }, { a: '2' }, { a: '3' })).toBeNull();
      expect(mergeFields({ a: '1', b: '1' }, {}, { a: '1', b: '1' })).toEqual({});
    });
  });

  describe('deletes', () => {
    it('remote delete removes the XCAP item only if the binding created it there', () => {
      expect(run([X(bob)], [], [S('s1', bob, 'r1', 'v1', 'xcap')], opts('pull')).decisions[0]?.xcap).toEqual({ op: 'delete', key: bob.uri });
      const kept = run([X(bob)], [], [S('s1', bob, 'r1', 'v1', null)], opts('pull')).decisions[0];
      expect(kept?.xcap).toBeUndefined();
      expect(kept?.next).toMatchObject({ remoteId: null });
      expect(run([X(bob)], [], [S('s1', bob, 'r1', 'v1', null)], opts('pull', 'manual', { deletes: 'all' })).decisions[0]?.xcap?.op).toBe('delete');
    });

    it('a kept item is not re-created on the next run, unless edited again', () => {
      const kept: ItemState = { ...S('s1', bob, 'r1', 'v1'), remoteId: null, remoteVersion: null, remoteHash: null };
      expect(run([X(bob)], [], [kept], opts()).decisions).toEqual([]);
      expect(run([X(bob2)], [], [kept], opts()).decisions[0]?.remote).toEqual({ op: 'create', fields: bob2 });
    });

    it('an edit beats a delete on the other side', () => {
      const d = run([], [R('r1', 'v2', bob2)], [S('s1', bob, 'r1', 'v1', 'remote')], opts('both')).decisions[0];
      expect(d?.xcap).toEqual({ op: 'create', fields: bob2 });
    });

    it('XCAP delete removes the remote item the binding created', () => {
      const d = run([], [R('r1', 'v1', bob)], [S('s1', bob, 'r1', 'v1', 'remote')], opts('both')).decisions[0];
      expect(d?.remote).toEqual({ op: 'delete', id: 'r1', version: 'v1' });
    });

    it('under pull a local delete of a projected item is re-projected', () => {
      expect(run([], [R('r1', 'v1', bob)], [S('s1', bob, 'r1', 'v1', 'xcap')], opts('pull')).decisions[0]?.xcap).toEqual({ op: 'create', fields: bob });
    });
  });

  describe('mass-delete guard', () => {
    const many = Array.from({ length: 10 }, (_, i) => ({ uri: `sip:u${i}@example.com`, 'display-name': `U${i}` }));
    const state = many.map((f, i) => S(`s${i}`, f, `r${i}`, 'v1', 'xcap'));
    const limits = { maxDeleteShare: 0.2, deleteAllowance: 1 };
    it('an emptied remote never wipes the XCAP list', () => {
      const p = run(many.map(X), [], state, opts('pull'));
      expect(p.xcap.delete).toBe(10);
      expect(checkDeleteLimits(p, limits)).toMatch(/empty/);
    });
    it('deleting more than the share is refused; within it, allowed', () => {
      const remote = many.map((f, i) => R(`r${i}`, 'v1', f));
      expect(checkDeleteLimits(run(many.map(X), remote.slice(3), state, opts('pull')), limits)).toMatch(/3 of 10/);
      expect(checkDeleteLimits(run(many.map(X), remote.slice(2), state, opts('pull')), limits)).toBeNull();
    });
  });

  it('a second remote item with a key already used is skipped, not duplicated', () => {
    const p = run([], [R('r1', 'v1', bob), R('r2', 'v1', bob2)], [], opts('pull'));
    expect(p.xcap.create).toBe(1);
    expect(p.skippedDuplicates).toBe(1);
  });
});
