/**
 * The read step of a sync run: both sides of one binding + scope as snapshots for
 * reconcile(), read as cheaply as the change feed allows. An unchanged run (the remote's
 * change token moved nothing and the document's ETag is the one the last run left) is
 * decided on those two small reads; a run that knows which items changed reads only their
 * state rows and entries (`sizes` then carries the sides' totals for the delete guard).
 *
 * Nothing is written here. The parsed document is taken out of the DocCache (the apply
 * step edits it in place and puts it back under the ETag it wrote).
 */
import type { ItemFields, RemoteItem } from '../../../connectors/types.ts';
import type { StoredDoc } from '../../store/types.ts';
import { collectionFor, docKeyFor, type Binding, type Scope } from '../binding.ts';
import { hashFields } from '../hash.ts';
import type { BoundList } from '../mapping/element-list.ts';
import type { ItemState, RemoteSnapshot, Side, XcapSnapshot } from '../reconcile.ts';
import type { RunContext, RunOptions } from '../runner.ts';
import { RetryableSyncError } from './errors.ts';
import type { ScopeState } from '../state.ts';

/** Both sides of one scope, ready to plan. */
export interface Sides {
  /** The bound document as read; `undefined` when it does not exist yet. */
  readonly stored: StoredDoc | undefined;
  /** Its bound list (parsed, or the DocCache's parse of the same ETag); the apply step edits it. */
  readonly list: BoundList | undefined;
  /** `list` came from the cache as a body sync itself validated (see DocCache `valid`). */
  readonly listValid: boolean;
  readonly xcap: ReadonlyMap<string, XcapSnapshot>;
  readonly remote: ReadonlyMap<string, RemoteSnapshot>;
  readonly state: readonly ItemState[];
  /** Set when the maps hold only the items that may need a decision. */
  readonly sizes?: { readonly xcap: number; readonly remote: number };
  /**
   * The bound list (or the whole document) is gone while the state remembers items in it:
   * `xcap` then holds those items as the state remembers them (unchanged since the last
   * run), and the plan puts the list back (see run/plan.ts) instead of reading its absence
   * as every entry deleted.
   */
  readonly listMissing: boolean;
  /** Change token to store after a successful run (`null` without a change feed). */
  readonly token: string | null;
  /** The remote was read whole (first run, `full`, a changed configuration, an expired token), not by its changes. */
  readonly fullRead: boolean;
  readonly scopeState: ScopeState | undefined;
  readonly resolutions: ReadonlyMap<string, Side>;
}

/** Neither side changed since the last run. */
export interface Unchanged {
  readonly unchanged: true;
  readonly token: string;
  readonly docEtag: string | null;
  readonly summary: unknown;
}

export async function readSides(ctx: RunContext, binding: Binding, scope: Scope, opts: RunOptions): Promise<Sides | Unchanged> {
  const b = binding.config;
  const { mapping } = binding;
  const key = docKeyFor(b, scope);
  const collection = collectionFor(b, scope);

  // Item state and the parsed document are read only once the remote says something
  // changed: an unchanged run over a big directory costs the change-token request alone.
  // Only the ETag at first: the body (14 MB for a 100,000-entry directory) is read once
  // the run knows it has work to do.
  const [scopeState, resolutions, head] = await Promise.all([
    ctx.state.getScope(b.name, scope),
    ctx.state.resolutions(b.name, scope),
    ctx.store.head(key),
  ]);

  // Remote side: incremental when the connector has a change feed and we have a token.
  const remote = new Map<string, RemoteSnapshot>();
  const snap = (it: RemoteItem): RemoteSnapshot => {
    const fields = pick(it.fields, mapping.fields);
    return { id: it.id, version: it.version, fields, hash: hashFields(fields), ...(it.modified === undefined ? {} : { modified: it.modified }) };
  };
  let token: string | null = null;
  let rows: readonly ItemState[] | undefined;
  // State remembered under another configuration describes what that one read: read anew.
  const full = opts.full === true || (scopeState !== undefined && scopeState.configHash !== binding.fingerprint);
  const since = ctx.connector.changes && !full ? (scopeState?.remoteToken ?? undefined) : undefined;
  let fullRead = since === undefined;
  // With a change token an unchanged run is decided on the ETag alone; otherwise the
  // document is needed anyway, and read before the remote so a concurrent XCAP write
  // loses nothing (the conditional put fails and the retry re-reads).
  let stored: StoredDoc | undefined = since === undefined ? await ctx.store.get(key) : undefined;
  /**
   * Set when the run knows which items changed: the XCAP document is the one the last
   * successful run left (so the state rows describe it) and the change token gives the
   * remote changes. Then only those items' rows and entries are read and reconciled;
   * every other item would get no decision (a repeat run writes nothing). Open conflicts
   * need the whole picture (their records are replaced by each run's), so they opt out.
   */
  let delta: { keys: Set<string>; remoteSize: number } | undefined;
  if (ctx.connector.changes) {
    const cs = await ctx.connector.changes(collection, since);
    const fresh = cs === 'token-expired' ? await ctx.connector.changes(collection) : cs;
    if (cs === 'token-expired') fullRead = true;
    if (fresh === 'token-expired') throw new RetryableSyncError(`connector ${ctx.connector.kind} expired a token it just issued`);
    token = fresh.token;
    const upserted = fresh.upserted.map(snap);
    if (cs !== 'token-expired' && since !== undefined) {
      const deleted = fresh.present ? await missingFrom(ctx, b.name, scope, fresh.present, fresh.upserted) : fresh.deleted;
      if (fresh.upserted.length === 0 && deleted.length === 0 && head?.etag === scopeState?.docEtag && resolutions.size === 0) {
        return { unchanged: true, token, docEtag: head?.etag ?? null, summary: scopeState?.summary ?? null };
      }
      stored ??= await ctx.store.get(key);
      const knownDoc = stored?.etag === scopeState?.docEtag && resolutions.size === 0 && !(await ctx.state.hasConflicts(b.name, scope));
      const keys = new Set(upserted.flatMap((it) => it.fields[mapping.keyField] ?? []));
      rows = knownDoc
        ? await ctx.state.loadItemsFor(b.name, scope, [...upserted.map((it) => it.id), ...deleted], [...keys])
        : await ctx.state.loadItems(b.name, scope);
      // Unchanged items as the state remembers them, then the changes on top.
      for (const s of rows) {
        if (s.remoteId !== null && s.remoteVersion !== null && s.remoteHash !== null) {
          remote.set(s.remoteId, { id: s.remoteId, version: s.remoteVersion, fields: s.base, hash: s.remoteHash });
        }
      }
      const remembered = remote.size;
      for (const id of deleted) remote.delete(id);
      for (const it of upserted) remote.set(it.id, it);
      if (knownDoc) {
        for (const s of rows) if (s.xcapKey !== null) keys.add(s.xcapKey);
        delta = { keys, remoteSize: (await ctx.state.countRemoteItems(b.name, scope)) - remembered + remote.size };
      }
    } else {
      for (const it of upserted) remote.set(it.id, it);
    }
  } else {
    // list + read of what is new or changed since the state's version.
    rows = await ctx.state.loadItems(b.name, scope);
    const known = new Map(rows.flatMap((s) => (s.remoteId !== null && s.remoteVersion !== null ? [[s.remoteId, s] as const] : [])));
    const toRead: string[] = [];
    for await (const ref of ctx.connector.list(collection)) {
      const s = known.get(ref.id);
      if (!full && s && s.remoteVersion === ref.version && s.remoteHash !== null) remote.set(ref.id, { id: ref.id, version: ref.version, fields: s.base, hash: s.remoteHash });
      else toRead.push(ref.id);
    }
    if (toRead.length) for await (const it of ctx.connector.read(collection, toRead)) remote.set(it.id, snap(it));
  }

  stored ??= await ctx.store.get(key);
  // XCAP side: the kept parse of this ETag when there is one (taken: it is edited in place).
  const cached = stored ? ctx.docs?.take(b.name, scope, stored.etag) : undefined;
  const list = cached?.list ?? (stored ? mapping.open(mapping.parse(stored.body)) : undefined);
  const state = rows ?? (await ctx.state.loadItems(b.name, scope));
  const xcap = new Map<string, XcapSnapshot>();
  // A delta run reads the document the last successful run left, which had the list.
  const listMissing = !delta && !list?.present && state.some((s) => s.xcapKey !== null);
  if (listMissing) {
    for (const s of state) if (s.xcapKey !== null) xcap.set(s.xcapKey, { key: s.xcapKey, fields: s.base, hash: s.xcapHash ?? hashFields(s.base) });
  } else if (list) {
    const add = (k: string, fields: ItemFields) => xcap.set(k, { key: k, fields, hash: hashFields(fields) });
    if (delta) {
      for (const k of delta.keys) {
        const fields = list.items.get(k);
        if (fields) add(k, fields);
      }
    } else {
      for (const [k, fields] of list.items) add(k, fields);
    }
  }

  return {
    stored,
    list,
    listValid: cached?.valid ?? false,
    xcap,
    remote,
    state: full ? forgetVersions(state) : state,
    ...(delta ? { sizes: { xcap: list?.items.size ?? 0, remote: delta.remoteSize } } : {}),
    listMissing,
    token,
    fullRead,
    scopeState,
    resolutions,
  };
}

/** The remote ids the state holds that a listing (`present`) and the upserts lack: deleted. */
async function missingFrom(ctx: RunContext, binding: string, scope: Scope, present: readonly string[], upserted: readonly RemoteItem[]): Promise<string[]> {
  const there = new Set(present);
  for (const it of upserted) there.add(it.id);
  return (await ctx.state.remoteIds(binding, scope)).filter((id) => !there.has(id));
}

/**
 * A full read compares content: reconcile() takes an unchanged remote version for
 * unchanged content, but a version read under another mapping says nothing about what this
 * one makes of the item. Without it, equal content only refreshes the row.
 */
function forgetVersions(rows: readonly ItemState[]): ItemState[] {
  return rows.map((s) => ({ ...s, remoteVersion: null }));
}

/** The fields the mapping carries, without empty values. */
function pick(fields: ItemFields, names: readonly string[]): ItemFields {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = fields[n];
    if (v !== undefined && v !== '') out[n] = v;
  }
  return out;
}
