/**
 * reconcile(): the three-way decision at the heart of the sync engine. Pure: no I/O, no
 * clock, no randomness; the same input always gives the same plan.
 *
 * The algorithm is the classic status-table sync (as in vdirsyncer, after Unison): each
 * item has a state row saying what both sides held after the last successful sync. An
 * item is "changed" on a side when its content hash differs from that row; comparing the
 * current content of both sides with the row tells who changed what. Equal content on
 * both sides is never a conflict, whatever happened in between.
 *
 * Direction decides which side is authoritative:
 * - `pull`: the remote is the source; the XCAP side is a projection of it. Local edits of
 *   bound items are re-projected (reverted) and the remote is never written.
 * - `push`: the mirror image; XCAP is the source and only the remote is written.
 * - `both`: changes flow either way; a change on both sides is a conflict, settled by the
 *   binding's policy.
 *
 * Deletes: by default a side only loses items the binding itself created there
 * (`createdOn`); `deletes: 'all'` lifts that. An item the binding may not delete is kept
 * and its row remembers that the other side no longer has it, so it is not re-created
 * on the next run (unless it is edited again).
 */
import type { ItemFields } from '../../connectors/types.ts';

export type Direction = 'pull' | 'push' | 'both';
export type ConflictPolicy = 'xcap-wins' | 'remote-wins' | 'newest-wins' | 'merge' | 'manual';
export type Side = 'xcap' | 'remote';

/** One item as read from the bound XCAP list. `key` is the mapping's key field (e.g. the entry's `uri`). */
export interface XcapSnapshot {
  readonly key: string;
  readonly fields: ItemFields;
  readonly hash: string;
}

/** One item as read from the remote collection. */
export interface RemoteSnapshot {
  readonly id: string;
  readonly version: string;
  readonly fields: ItemFields;
  readonly hash: string;
  /** Last change on the remote, ms since the epoch, when the connector knows it (newest-wins). */
  readonly modified?: number;
}

/** What both sides held after the last successful sync of one item. */
export interface ItemState extends NextState {
  /** Row id, assigned by the state store. */
  readonly id: string;
}

/**
 * The state row once the decision's writes succeeded. Remote id and version of a created
 * or updated remote item come from the write's result; `null` here means "take them from
 * the write" when `remote` has a create/update, else "absent".
 */
export interface NextState {
  /** Key on the XCAP side; `null` when the XCAP side no longer has the item and the binding kept it remotely. */
  readonly xcapKey: string | null;
  readonly xcapHash: string | null;
  /** Remote id; `null` when the remote no longer has the item and the binding kept it in XCAP. */
  readonly remoteId: string | null;
  readonly remoteVersion: string | null;
  readonly remoteHash: string | null;
  /** Content at the last sync (the merge base). */
  readonly base: ItemFields;
  /** The side on which the binding created the item (`null`: it existed on both before). */
  readonly createdOn: Side | null;
}

export interface ReconcileOptions {
  readonly direction: Direction;
  readonly policy: ConflictPolicy;
  /** `created`: only delete what the binding created on that side. */
  readonly deletes: 'created' | 'all';
  /** Field holding an item's XCAP key, to pair items that are new on both sides. */
  readonly keyField: string;
  /** Last modification of the XCAP document, ms since the epoch (newest-wins). */
  readonly xcapModified: number;
  /** Operator decisions for open conflicts, by decision `item` id (`sync resolve`). */
  readonly resolutions?: ReadonlyMap<string, Side>;
  /** Content hash, the same function that hashed the snapshots. */
  readonly hash: (fields: ItemFields) => string;
}

export interface ReconcileInput {
  /** The bound list's items, by key. */
  readonly xcap: ReadonlyMap<string, XcapSnapshot>;
  /** The remote collection's items, by id. */
  readonly remote: ReadonlyMap<string, RemoteSnapshot>;
  readonly state: readonly ItemState[];
  readonly options: ReconcileOptions;
  /**
   * Items on each side when the maps and state hold only the items that may need a
   * decision (a run that knows what changed); the mass-delete guard needs the whole.
   * Default: the maps' sizes.
   */
  readonly sizes?: { readonly xcap: number; readonly remote: number };
}

export type XcapOp =
  | { readonly op: 'create'; readonly fields: ItemFields }
  /** `key` is the current key; the new key is `fields[keyField]`. */
  | { readonly op: 'update'; readonly key: string; readonly fields: ItemFields }
  | { readonly op: 'delete'; readonly key: string };

export type RemoteOp =
  | { readonly op: 'create'; readonly fields: ItemFields }
  | { readonly op: 'update'; readonly id: string; readonly version: string; readonly fields: ItemFields }
  | { readonly op: 'delete'; readonly id: string; readonly version: string };


export interface Decision {
  /** Stable id of the item for this scope: the state row id, or `new:<key>` for an unlinked pair. */
  readonly item: string;
  /** Existing state row, if any. */
  readonly stateId: string | null;
  /** Which branch of the table decided, for dry-run output and logs. */
  readonly reason: string;
  readonly xcap?: XcapOp;
  readonly remote?: RemoteOp;
  /** Row to store after the writes; `'drop'` deletes the row. */
  readonly next: NextState | 'drop';
  /** Set when the policy could not decide: nothing is written, the conflict is recorded. */
  readonly conflict?: { readonly xcap: ItemFields; readonly remote: ItemFields };
}

export interface PlanCounts {
  create: number;
  update: number;
  delete: number;
}

export interface Plan {
  /** Only items that need a write, a state change or a conflict record. */
  readonly decisions: readonly Decision[];
  readonly xcap: PlanCounts;
  readonly remote: PlanCounts;
  readonly conflicts: number;
  /** Items on each side before the plan, for the mass-delete guard. */
  readonly sizes: { readonly xcap: number; readonly remote: number };
  /** Remote items left out because another item already holds their key on the XCAP side. */
  readonly skippedDuplicates: number;
}

const NEW_PREFIX = 'new:';

export function reconcile(input: ReconcileInput): Plan {
  const { xcap, remote, state, options } = input;
  const decisions: Decision[] = [];
  const seenXcap = new Set<string>();
  const seenRemote = new Set<string>();
  // XCAP keys that will exist after the plan, so a remote item never lands on a taken key.
  const takenKeys = new Set<string>(xcap.keys());
  let skippedDuplicates = 0;

  for (const s of state) {
    const a = s.xcapKey === null ? undefined : xcap.get(s.xcapKey);
    const b = s.remoteId === null ? undefined : remote.get(s.remoteId);
    if (a) seenXcap.add(a.key);
    if (b) seenRemote.add(b.id);
    const d = decideLinked(s, a, b, options);
    if (d) decisions.push(d);
  }

  // Items no state row knows: new on their side (or first sync). Pair by key first.
  for (const b of remote.values()) {
    if (seenRemote.has(b.id)) continue;
    const key = b.fields[options.keyField];
    const a = key === undefined || seenXcap.has(key) ? undefined : xcap.get(key);
    if (a) {
      seenXcap.add(a.key);
      const d = decideNewPair(a, b, options);
      if (d) decisions.push(d);
      continue;
    }
    if (options.direction !== 'push' && (key === undefined || takenKeys.has(key))) {
      // A second remote item with the same key (or no key at all) cannot become an entry.
      skippedDuplicates++;
      continue;
    }
    const d = decideRemoteOnly(b, options);
    if (d) {
      if (key !== undefined && d.xcap) takenKeys.add(key);
      decisions.push(d);
    }
  }
  for (const a of xcap.values()) {
    if (seenXcap.has(a.key)) continue;
    const d = decideXcapOnly(a, options);
    if (d) decisions.push(d);
  }

  return summarize(decisions, input.sizes ?? { xcap: xcap.size, remote: remote.size }, skippedDuplicates);
}

/** Decision table for an item with a state row. */
function decideLinked(s: ItemState, a: XcapSnapshot | undefined, b: RemoteSnapshot | undefined, o: ReconcileOptions): Decision | null {
  const { direction } = o;
  const item = s.id;
  const base = { item, stateId: s.id };

  if (!a && !b) {
    // Gone on both sides (or on one and kept-absent on the other): forget the item.
    return { ...base, reason: 'gone-both', next: 'drop' };
  }

  if (a && b) {
    const aChanged = a.hash !== s.xcapHash;
    const bChanged = b.version !== s.remoteVersion && b.hash !== s.remoteHash;
    if (!aChanged && !bChanged) {
      // Unchanged content. A new remote version with the same content only refreshes the row.
      if (b.version === s.remoteVersion) return null;
      return { ...base, reason: 'remote-version-only', next: linked(a, b, s.createdOn) };
    }
    if (a.hash === b.hash) {
      // Both now hold the same content (changed identically, or a write whose result we never recorded).
      return { ...base, reason: 'equal-content', next: linked(a, b, s.createdOn) };
    }
    if (direction === 'pull') {
      // The remote is the source: re-project it over any local edit.
      return { ...base, reason: bChanged ? 'remote-changed' : 'xcap-edit-reverted', xcap: updX(a.key, b.fields), next: linked(withKey(b, o), b, s.createdOn) };
    }
    if (direction === 'push') {
      return { ...base, reason: aChanged ? 'xcap-changed' : 'remote-edit-reverted', remote: updR(b, a.fields), next: pendingRemote(a, b.id, s.createdOn) };
    }
    if (aChanged && !bChanged) {
      return { ...base, reason: 'xcap-changed', remote: updR(b, a.fields), next: pendingRemote(a, b.id, s.createdOn) };
    }
    if (bChanged && !aChanged) {
      return { ...base, reason: 'remote-changed', xcap: updX(a.key, b.fields), next: linked(withKey(b, o), b, s.createdOn) };
    }
    return conflict(item, s, a, b, s.base, o);
  }

  if (a) {
    // The remote does not have the item.
    const aChanged = a.hash !== s.xcapHash;
    if (s.remoteId === null) {
      // Already kept-absent on the remote. Only a new local edit brings it back there.
      if (!aChanged || direction === 'pull') return null;
      return { ...base, reason: 'xcap-edited-after-remote-delete', remote: { op: 'create', fields: a.fields }, next: pendingRemote(a, null, 'remote') };
    }
    if (direction === 'push' || (direction === 'both' && aChanged)) {
      // XCAP is the source, or an edit beats a delete: put the item back on the remote.
      return { ...base, reason: direction === 'push' ? 'remote-delete-reverted' : 'xcap-edit-beats-remote-delete', remote: { op: 'create', fields: a.fields }, next: pendingRemote(a, null, 'remote') };
    }
    if (o.deletes === 'all' || s.createdOn === 'xcap') {
      return { ...base, reason: 'remote-deleted', xcap: { op: 'delete', key: a.key }, next: 'drop' };
    }
    // Not ours to delete: keep it in XCAP and remember the remote dropped it.
    return { ...base, reason: 'remote-deleted-kept', next: { ...rowOf(s), remoteId: null, remoteVersion: null, remoteHash: null } };
  }

  // b only: the XCAP side does not have the item.
  const rb = b as RemoteSnapshot;
  const bChanged = rb.version !== s.remoteVersion && rb.hash !== s.remoteHash;
  if (s.xcapKey === null) {
    if (!bChanged || direction === 'push') return null;
    return createXcapFromRemote(item, s.id, rb, 'remote-edited-after-xcap-delete', o);
  }
  if (direction === 'pull' || (direction === 'both' && bChanged)) {
    return createXcapFromRemote(item, s.id, rb, direction === 'pull' ? 'xcap-delete-reverted' : 'remote-edit-beats-xcap-delete', o);
  }
  if (o.deletes === 'all' || s.createdOn === 'remote') {
    return { ...base, reason: 'xcap-deleted', remote: { op: 'delete', id: rb.id, version: rb.version }, next: 'drop' };
  }
  return { ...base, reason: 'xcap-deleted-kept', next: { ...rowOf(s), xcapKey: null, xcapHash: null } };
}

/** Two unlinked items with the same key (typically the first sync of two populated sides). */
function decideNewPair(a: XcapSnapshot, b: RemoteSnapshot, o: ReconcileOptions): Decision | null {
  const item = NEW_PREFIX + a.key;
  const base = { item, stateId: null };
  if (a.hash === b.hash) return { ...base, reason: 'new-equal-linked', next: linked(a, b, null) };
  if (o.direction === 'pull') return { ...base, reason: 'new-pair-remote-source', xcap: updX(a.key, b.fields), next: linked(withKey(b, o), b, null) };
  if (o.direction === 'push') return { ...base, reason: 'new-pair-xcap-source', remote: updR(b, a.fields), next: pendingRemote(a, b.id, null) };
  return conflict(item, null, a, b, null, o);
}

function decideRemoteOnly(b: RemoteSnapshot, o: ReconcileOptions): Decision | null {
  if (o.direction !== 'push') return createXcapFromRemote(NEW_PREFIX + b.id, null, b, 'remote-created', o);
  // Push: XCAP is the source; a remote-only item is removed only when the binding may delete anything.
  if (o.deletes !== 'all') return null;
  return { item: NEW_PREFIX + b.id, stateId: null, reason: 'remote-only-removed', remote: { op: 'delete', id: b.id, version: b.version }, next: 'drop' };
}

function decideXcapOnly(a: XcapSnapshot, o: ReconcileOptions): Decision | null {
  const item = NEW_PREFIX + a.key;
  if (o.direction !== 'pull') {
    return { item, stateId: null, reason: 'xcap-created', remote: { op: 'create', fields: a.fields }, next: pendingRemote(a, null, 'remote') };
  }
  if (o.deletes !== 'all') return null;
  return { item, stateId: null, reason: 'xcap-only-removed', xcap: { op: 'delete', key: a.key }, next: 'drop' };
}

/** Both sides changed the item differently; the policy (or an operator's resolution) decides. */
function conflict(item: string, s: ItemState | null, a: XcapSnapshot, b: RemoteSnapshot, baseFields: ItemFields | null, o: ReconcileOptions): Decision {
  const stateId = s?.id ?? null;
  const createdOn = s?.createdOn ?? null;
  const winner = o.resolutions?.get(item) ?? policyWinner(a, b, baseFields, o);
  if (winner === 'xcap') {
    return { item, stateId, reason: `conflict-${o.policy}-xcap`, remote: updR(b, a.fields), next: pendingRemote(a, b.id, createdOn) };
  }
  if (winner === 'remote') {
    return { item, stateId, reason: `conflict-${o.policy}-remote`, xcap: updX(a.key, b.fields), next: linked(withKey(b, o), b, createdOn) };
  }
  if (winner !== null) {
    // Field-level merge: write the merged content to each side that lacks it.
    const hash = o.hash(winner);
    const merged: XcapSnapshot = { key: winner[o.keyField] ?? a.key, fields: winner, hash };
    return {
      item,
      stateId,
      reason: 'conflict-merged',
      ...(hash === a.hash ? {} : { xcap: updX(a.key, winner) }),
      ...(hash === b.hash ? {} : { remote: updR(b, winner) }),
      next: hash === b.hash ? linked(merged, b, createdOn) : pendingRemote(merged, b.id, createdOn),
    };
  }
  // Manual (or an unmergeable clash): leave both as they are, keep the row, record the conflict.
  return { item, stateId, reason: `conflict-${o.policy}-recorded`, next: s ? rowOf(s) : 'drop', conflict: { xcap: a.fields, remote: b.fields } };
}

/** The policy's verdict: a side, merged fields, or `null` for "record it". */
function policyWinner(a: XcapSnapshot, b: RemoteSnapshot, baseFields: ItemFields | null, o: ReconcileOptions): Side | ItemFields | null {
  switch (o.policy) {
    case 'xcap-wins':
      return 'xcap';
    case 'remote-wins':
      return 'remote';
    case 'newest-wins':
      // Ties and unknown remote times go to the remote: the XCAP time is per document, not per item.
      return b.modified === undefined || b.modified >= o.xcapModified ? 'remote' : 'xcap';
    case 'merge':
      return baseFields ? mergeFields(baseFields, a.fields, b.fields) : null;
    case 'manual':
      return null;
  }
}

/**
 * Three-way field merge: a field changed on one side only takes that side's value; a field
 * changed on both sides to different values is a clash (`null`). Absent = unset.
 */
export function mergeFields(base: ItemFields, a: ItemFields, b: ItemFields): ItemFields | null {
  const out: Record<string, string> = {};
  const names = new Set([...Object.keys(base), ...Object.keys(a), ...Object.keys(b)]);
  for (const n of names) {
    const va = a[n];
    const vb = b[n];
    const v0 = base[n];
    let v: string | undefined;
    if (va === vb || vb === v0) v = va;
    else if (va === v0) v = vb;
    else return null;
    if (v !== undefined) out[n] = v;
  }
  return out;
}

function createXcapFromRemote(item: string, stateId: string | null, b: RemoteSnapshot, reason: string, o: ReconcileOptions): Decision {
  return { item, stateId, reason, xcap: { op: 'create', fields: b.fields }, next: linked(withKey(b, o), b, 'xcap') };
}

function updX(key: string, fields: ItemFields): XcapOp {
  return { op: 'update', key, fields };
}

function updR(b: RemoteSnapshot, fields: ItemFields): RemoteOp {
  return { op: 'update', id: b.id, version: b.version, fields };
}

/** XCAP view of a remote item once written to XCAP. */
function withKey(b: RemoteSnapshot, o: ReconcileOptions): XcapSnapshot {
  return { key: b.fields[o.keyField] ?? '', fields: b.fields, hash: b.hash };
}

/** Row for two sides holding the same content. */
function linked(a: XcapSnapshot, b: RemoteSnapshot, createdOn: Side | null): NextState {
  return { xcapKey: a.key, xcapHash: a.hash, remoteId: b.id, remoteVersion: b.version, remoteHash: b.hash, base: a.fields, createdOn };
}

/** Row for content `a` about to be written to the remote (id and version come from the write). */
function pendingRemote(a: XcapSnapshot, remoteId: string | null, createdOn: Side | null): NextState {
  return { xcapKey: a.key, xcapHash: a.hash, remoteId, remoteVersion: null, remoteHash: a.hash, base: a.fields, createdOn };
}

function rowOf(s: ItemState): NextState {
  const { id: _id, ...rest } = s;
  return rest;
}

function summarize(decisions: Decision[], sizes: { xcap: number; remote: number }, skippedDuplicates: number): Plan {
  const xcap: PlanCounts = { create: 0, update: 0, delete: 0 };
  const remote: PlanCounts = { create: 0, update: 0, delete: 0 };
  let conflicts = 0;
  for (const d of decisions) {
    if (d.xcap) xcap[d.xcap.op]++;
    if (d.remote) remote[d.remote.op]++;
    if (d.conflict) conflicts++;
  }
  return { decisions, xcap, remote, conflicts, sizes, skippedDuplicates };
}

/**
 * `plan` with the writes of `items` replaced by recorded conflicts: their remote writes kept
 * losing to concurrent changes of the remote (412 on every re-read and re-plan), so the
 * run writes neither side of them and the operator sees both (`sync conflicts`). The
 * XCAP side is what the run meant to write (empty for a delete), the remote side the item
 * as last read (empty when it was not there to read). The state row stays as it was.
 */
export function recordRaces(plan: Plan, items: ReadonlySet<string>, remote: ReadonlyMap<string, RemoteSnapshot>, state: readonly ItemState[]): Plan {
  if (items.size === 0) return plan;
  const rows = new Map(state.map((s) => [s.id, s] as const));
  const decisions = plan.decisions.map((d): Decision => {
    if (!items.has(d.item) || !d.remote) return d;
    const r = d.remote;
    const row = d.stateId === null ? undefined : rows.get(d.stateId);
    return {
      item: d.item,
      stateId: d.stateId,
      reason: 'conflict-remote-race-recorded',
      next: row ? rowOf(row) : 'drop',
      conflict: { xcap: r.op === 'delete' ? {} : r.fields, remote: r.op === 'create' ? {} : (remote.get(r.id)?.fields ?? {}) },
    };
  });
  return summarize(decisions, plan.sizes, plan.skippedDuplicates);
}

export interface DeleteLimits {
  /** Largest share of a side's items one plan may delete (0..1). */
  readonly maxDeleteShare: number;
  /** Deletes per side that always pass the share check, so small lists can still shrink. */
  readonly deleteAllowance: number;
}

/**
 * The mass-delete guard. Returns why the plan is refused, or `null`. A plan that would
 * delete every item of a side because the other side is empty is always refused: an
 * empty or broken remote must never wipe the phones' lists.
 */
export function checkDeleteLimits(plan: Plan, limits: DeleteLimits): string | null {
  for (const side of ['xcap', 'remote'] as const) {
    const deletes = plan[side].delete;
    if (deletes === 0) continue;
    const size = plan.sizes[side];
    const other = plan.sizes[side === 'xcap' ? 'remote' : 'xcap'];
    if (other === 0 && deletes >= size) {
      return `refused: the ${side === 'xcap' ? 'remote' : 'XCAP'} side is empty and the plan would delete all ${size} items on the ${side} side`;
    }
    if (deletes > limits.deleteAllowance && deletes > limits.maxDeleteShare * size) {
      return `refused: the plan deletes ${deletes} of ${size} items on the ${side} side (limit ${Math.round(limits.maxDeleteShare * 100)}%)`;
    }
  }
  return null;
}
