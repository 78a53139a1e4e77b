/**
 * One sync run of one binding for one scope (one bound document): read both sides, plan
 * with reconcile(), guard, then write — remote items one by one, each conditional on the
 * version read, then the XCAP document once, conditional on the ETag read. A lost race
 * throws a retryable error; the retry re-reads everything. State rows are written for
 * what succeeded, so a retry after a partial run finds equal content and writes nothing.
 *
 * Runs are not locked here; the queue (queue.ts) guarantees one run per binding+scope.
 */
import type { Connector, ItemFields, RemoteItem } from '../../connectors/types.ts';
import { ConnectorError, NotFound as RemoteNotFound } from '../../connectors/errors.ts';
import type { AppUsage } from '../appusage/types.ts';
import { EtagMismatch, StoreUnavailable, type DocumentStore, type StoredDoc } from '../store/types.ts';
import { LocalRoots } from '../xcap/local-roots.ts';
import { collectionFor, docKeyFor, GLOBAL_SCOPE, type Binding, type Scope } from './binding.ts';
import { hashFields } from './hash.ts';
import { checkDeleteLimits, reconcile, type Decision, type ItemState, type Plan, type PlanCounts, type RemoteSnapshot, type XcapSnapshot } from './reconcile.ts';
import type { DocCache } from './doc-cache.ts';
import type { BoundList } from './mapping/element-list.ts';
import type { ItemUpsert, SyncState } from './state.ts';

/** A sync write has no request, so no root it could confirm as this server's. */
const NO_ROOTS = new LocalRoots([]);

export interface RunContext {
  readonly store: DocumentStore;
  readonly state: SyncState;
  readonly connector: Connector;
  /** Application usages, to validate what sync writes (auid → usage). */
  readonly usages?: { get(auid: string): AppUsage | undefined };
  readonly now?: () => number;
  /** Parsed documents kept between runs (the queue's workers keep one); without it each run parses. */
  readonly docs?: DocCache;
}

export interface RunOptions {
  /** Plan only; write nothing (not even state). */
  readonly dryRun?: boolean;
  /** Skip the mass-delete guard (operator override from `sync run --force`). */
  readonly force?: boolean;
  /**
   * Read both sides whole, as a first run does, instead of only what the change token
   * says changed (same plan; for an operator who suspects the state drifted).
   */
  readonly full?: boolean;
  /** Called after each remote write. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface RunReport {
  readonly binding: string;
  readonly scope: Scope;
  /** `unchanged`: neither side changed since the last run (one cheap request). */
  readonly outcome: 'applied' | 'planned' | 'unchanged' | 'refused';
  readonly refused?: string;
  readonly plan?: Plan;
  readonly xcap: PlanCounts;
  readonly remote: PlanCounts;
  readonly conflicts: number;
}

/** A run that failed in a way a retry can fix (lost race, remote or database down). */
export class RetryableSyncError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryableSyncError';
  }
}

/** True when a retry with backoff may succeed. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof RetryableSyncError || err instanceof EtagMismatch || err instanceof StoreUnavailable) return true;
  if (err instanceof ConnectorError) return err.retryable;
  return false;
}

const ZERO: PlanCounts = { create: 0, update: 0, delete: 0 };

export async function runSync(ctx: RunContext, binding: Binding, scope: Scope, opts: RunOptions = {}): Promise<RunReport> {
  const now = ctx.now ?? Date.now;
  const b = binding.config;
  const { mapping } = binding;
  const key = docKeyFor(b, scope);
  const collection = collectionFor(b, scope);
  const started = now();

  try {
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
    const since = ctx.connector.changes && !opts.full ? (scopeState?.remoteToken ?? undefined) : undefined;
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
      if (fresh === 'token-expired') throw new RetryableSyncError(`connector ${ctx.connector.kind} expired a token it just issued`);
      token = fresh.token;
      const upserted = fresh.upserted.map(snap);
      if (cs !== 'token-expired' && since !== undefined) {
        if (fresh.upserted.length === 0 && fresh.deleted.length === 0 && head?.etag === scopeState?.docEtag && resolutions.size === 0) {
          if (!opts.dryRun) await ctx.state.recordRun(b.name, scope, started, { ok: true, docEtag: head?.etag ?? null, remoteToken: token, summary: scopeState?.summary ?? null });
          return { binding: b.name, scope, outcome: 'unchanged', xcap: ZERO, remote: ZERO, conflicts: 0 };
        }
        stored ??= await ctx.store.get(key);
        const knownDoc = stored?.etag === scopeState?.docEtag && resolutions.size === 0 && !(await ctx.state.hasConflicts(b.name, scope));
        const keys = new Set(upserted.flatMap((it) => it.fields[mapping.keyField] ?? []));
        rows = knownDoc
          ? await ctx.state.loadItemsFor(b.name, scope, [...upserted.map((it) => it.id), ...fresh.deleted], [...keys])
          : await ctx.state.loadItems(b.name, scope);
        // Unchanged items as the state remembers them, then the changes on top.
        for (const s of rows) {
          if (s.remoteId !== null && s.remoteVersion !== null && s.remoteHash !== null) {
            remote.set(s.remoteId, { id: s.remoteId, version: s.remoteVersion, fields: s.base, hash: s.remoteHash });
          }
        }
        const remembered = remote.size;
        for (const id of fresh.deleted) remote.delete(id);
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
        if (s && s.remoteVersion === ref.version && s.remoteHash !== null) remote.set(ref.id, { id: ref.id, version: ref.version, fields: s.base, hash: s.remoteHash });
        else toRead.push(ref.id);
      }
      if (toRead.length) for await (const it of ctx.connector.read(collection, toRead)) remote.set(it.id, snap(it));
    }

    stored ??= await ctx.store.get(key);
    // XCAP side: the kept parse of this ETag when there is one (taken: it is edited in place).
    const cached = stored ? ctx.docs?.take(b.name, scope, stored.etag) : undefined;
    const list = cached?.list ?? (stored ? mapping.open(mapping.parse(stored.body)) : undefined);
    const keep = (etag: string, l: BoundList, chars: number, valid: boolean) => ctx.docs?.put(b.name, scope, { etag, list: l, chars, valid });
    const xcap = new Map<string, XcapSnapshot>();
    if (list) {
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

    const plan = reconcile({
      xcap,
      remote,
      state: rows ?? (await ctx.state.loadItems(b.name, scope)),
      options: {
        direction: b.direction,
        policy: b.policy,
        deletes: b.safety.deletes,
        keyField: mapping.keyField,
        xcapModified: stored?.modified ?? 0,
        resolutions,
        hash: hashFields,
      },
      ...(delta ? { sizes: { xcap: list?.items.size ?? 0, remote: delta.remoteSize } } : {}),
    });
    const counts = { xcap: plan.xcap, remote: plan.remote, conflicts: plan.conflicts };

    const refusal = opts.force ? null : checkDeleteLimits(plan, b.safety);
    if (stored && list && (refusal || opts.dryRun)) keep(stored.etag, list, stored.body.length, cached?.valid ?? false);
    if (refusal) {
      if (!opts.dryRun) await ctx.state.recordRun(b.name, scope, started, { ok: false, error: refusal, summary: counts });
      return { binding: b.name, scope, outcome: 'refused', refused: refusal, plan, ...counts };
    }
    if (opts.dryRun) return { binding: b.name, scope, outcome: 'planned', plan, ...counts };

    const upserts: ItemUpsert[] = [];
    const drops: string[] = [];
    const settle = (d: Decision, ref?: { id: string; version: string }) => {
      if (d.next === 'drop') {
        if (d.stateId !== null) drops.push(d.stateId);
        return;
      }
      upserts.push({ ...d.next, id: d.stateId, ...(ref ? { remoteId: ref.id, remoteVersion: ref.version } : {}) });
    };
    const persist = () => ctx.state.writeItems(b.name, scope, upserts, drops, now());

    // Remote writes, one by one. Decisions with an XCAP write too are settled after the document write.
    const xcapPending: { d: Decision; ref?: { id: string; version: string } }[] = [];
    const remoteTotal = plan.remote.create + plan.remote.update + plan.remote.delete;
    let done = 0;
    try {
      for (const d of plan.decisions) {
        let ref: { id: string; version: string } | undefined;
        const r = d.remote;
        if (r) {
          // The binding owns its mapping's fields: the remote item's other content is not its to change.
          if (r.op === 'create') ref = await ctx.connector.write(collection, { fields: r.fields, owned: mapping.fields }, 'absent');
          else if (r.op === 'update') ref = await ctx.connector.write(collection, { id: r.id, fields: r.fields, owned: mapping.fields }, { version: r.version });
          else await ctx.connector.remove(collection, r.id, { version: r.version });
          opts.onProgress?.(++done, remoteTotal);
        }
        if (d.xcap) xcapPending.push(ref ? { d, ref } : { d });
        else settle(d, ref);
      }
    } catch (err) {
      await persist();
      // The item moved under us (changed or deleted since read): re-read on retry.
      if (err instanceof RemoteNotFound) throw new RetryableSyncError(`remote item vanished during sync: ${err.message}`, { cause: err });
      throw err;
    }

    let etag = stored?.etag ?? null;
    if (xcapPending.length) {
      const target = list ?? mapping.open(mapping.parse(mapping.emptyDocument()));
      const { written, uniqueKeys } = target.apply(xcapPending.map((p) => p.d.xcap as NonNullable<Decision['xcap']>));
      const body = mapping.serialize(target.doc);
      const usage = ctx.usages?.get(b.auid);
      if (usage) {
        // A document sync validated before, edited item by item: its written items decide.
        const excerpt = cached?.valid && uniqueKeys && mapping.standAloneItems ? mapping.excerpt(written) : undefined;
        const checked = excerpt ?? target.doc;
        await usage.validate({ text: excerpt ? mapping.serialize(excerpt) : body, dom: () => checked }, { key, store: ctx.store, lenient: new Set(), rootUri: '', roots: NO_ROOTS });
      }
      try {
        etag = (await ctx.store.put(key, body, stored ? { etag: stored.etag } : 'absent', `sync:${b.name}`)).etag;
      } catch (err) {
        await persist();
        throw err;
      }
      keep(etag, target, body.length, usage !== undefined);
      for (const p of xcapPending) settle(p.d, p.ref);
    } else if (stored && list) {
      keep(stored.etag, list, stored.body.length, cached?.valid ?? false);
    }
    await persist();
    const conflicts = plan.decisions.flatMap((d) => (d.conflict ? [{ item: d.item, ...d.conflict }] : []));
    await ctx.state.replaceConflicts(b.name, scope, conflicts, started);
    // An open conflict leaves the remote change unabsorbed in state: keep the old token so the next run sees it again.
    const nextToken = conflicts.length ? (scopeState?.remoteToken ?? null) : token;
    await ctx.state.recordRun(b.name, scope, started, { ok: true, docEtag: etag, remoteToken: nextToken, summary: counts });
    return { binding: b.name, scope, outcome: 'applied', plan, ...counts };
  } catch (err) {
    if (!opts.dryRun) {
      await ctx.state.recordRun(b.name, scope, started, { ok: false, error: describe(err) }).catch(() => {});
    }
    throw err;
  }
}

/** Scopes of a binding: `global`, or every user with a document of the usage plus configured users. */
export async function scopesOf(store: DocumentStore, binding: Binding): Promise<Scope[]> {
  const b = binding.config;
  if (b.target.scope === 'global') return [GLOBAL_SCOPE];
  const out = new Set(b.target.users);
  for await (const d of store.list({ auid: b.auid })) if (d.key.xui !== null) out.add(d.key.xui);
  return [...out].sort();
}

function pick(fields: ItemFields, names: readonly string[]): ItemFields {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = fields[n];
    if (v !== undefined && v !== '') out[n] = v;
  }
  return out;
}

function describe(err: unknown): string {
  if (err instanceof ConnectorError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
