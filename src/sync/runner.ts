/**
 * One sync run of one binding for one scope (one bound document), in three steps:
 * read both sides (run/read.ts), plan with reconcile() and the mass-delete guard
 * (run/plan.ts), then apply: remote items one by one, each conditional on the version
 * read, then the XCAP document once through the DocumentWriter the XCAP service writes
 * with, conditional on the ETag read (run/apply.ts). A remote write that lost its race
 * (412) makes the run read and plan again, up to MAX_REPLANS times; any other lost race
 * throws a retryable error, and the retry re-reads everything.
 *
 * Runs are not locked here; the queue (queue.ts) guarantees one run per binding+scope.
 */
import type { Connector } from '../../connectors/types.ts';
import { ConnectorError } from '../../connectors/errors.ts';
import type { DocumentStore } from '../store/types.ts';
import type { DocumentWriter } from '../xcap/document-writer.ts';
import { GLOBAL_SCOPE, type Binding, type Scope } from './binding.ts';
import type { Plan, PlanCounts } from './reconcile.ts';
import type { DocCache } from './doc-cache.ts';
import type { SyncState } from './state.ts';
import { applyPlan } from './run/apply.ts';
import { planSides } from './run/plan.ts';
import { RemoteRaceLost } from './run/errors.ts';
import { readSides } from './run/read.ts';

export { isRetryable, RetryableSyncError } from './run/errors.ts';

export interface RunContext {
  readonly store: DocumentStore;
  readonly state: SyncState;
  readonly connector: Connector;
  /**
   * Writes the bound document: the same validation and conditional write as the XCAP
   * service's. Default: a writer on `store` without usages, which validates nothing.
   */
  readonly writer?: DocumentWriter;
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
   * says changed or the state remembers (same plan; for an operator who suspects the
   * state drifted). A run whose binding or connector configuration differs from the last
   * successful one's (Binding.fingerprint) does this by itself.
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
  /** The remote was read whole rather than by its changes (see RunOptions.full). */
  readonly fullRead: boolean;
  readonly refused?: string;
  readonly plan?: Plan;
  readonly xcap: PlanCounts;
  readonly remote: PlanCounts;
  readonly conflicts: number;
}

const ZERO: PlanCounts = { create: 0, update: 0, delete: 0 };

/**
 * How often one run re-reads and re-plans after a remote write lost its race (412: the
 * item changed on the remote since it was read). An item that lost this often is recorded
 * as a conflict instead, and the rest of the plan is written.
 */
export const MAX_REPLANS = 3;

export async function runSync(ctx: RunContext, binding: Binding, scope: Scope, opts: RunOptions = {}): Promise<RunReport> {
  const now = ctx.now ?? Date.now;
  const b = binding.config;
  const started = now();
  const losses = new Map<string, number>();
  try {
    for (let replans = 0; ; replans++) {
      const sides = await readSides(ctx, binding, scope, opts);
      if ('unchanged' in sides) {
        if (!opts.dryRun) await ctx.state.recordRun(b.name, scope, started, { ok: true, docEtag: sides.docEtag, remoteToken: sides.token, configHash: binding.fingerprint, summary: sides.summary });
        return { binding: b.name, scope, outcome: 'unchanged', fullRead: false, xcap: ZERO, remote: ZERO, conflicts: 0 };
      }
      const lost = new Set([...losses].filter(([, n]) => n >= MAX_REPLANS).map(([item]) => item));
      const { plan, counts, refusal } = planSides(sides, binding, opts, lost);
      const { stored, list } = sides;
      if (stored && list && (refusal || opts.dryRun)) ctx.docs?.put(b.name, scope, { etag: stored.etag, list, chars: stored.body.length, valid: sides.listValid });
      if (refusal) {
        if (!opts.dryRun) await ctx.state.recordRun(b.name, scope, started, { ok: false, error: refusal, summary: counts });
        return { binding: b.name, scope, outcome: 'refused', fullRead: sides.fullRead, refused: refusal, plan, ...counts };
      }
      if (opts.dryRun) return { binding: b.name, scope, outcome: 'planned', fullRead: sides.fullRead, plan, ...counts };
      try {
        await applyPlan(ctx, binding, scope, sides, plan, opts, started);
      } catch (err) {
        // What was written is in the state; the next read sees the remote's change.
        if (!(err instanceof RemoteRaceLost) || replans === MAX_REPLANS) throw err;
        losses.set(err.item, (losses.get(err.item) ?? 0) + 1);
        continue;
      }
      return { binding: b.name, scope, outcome: 'applied', fullRead: sides.fullRead, plan, ...counts };
    }
  } catch (err) {
    if (!opts.dryRun) {
      await ctx.state.recordRun(b.name, scope, started, { ok: false, error: describe(err) }).catch(() => {});
    }
    throw err;
  }
}

/** Users the server knows (the local user table), whether or not they have documents. */
export interface KnownUsers {
  list(): Promise<readonly { readonly xui: string }[]>;
}

/**
 * Scopes of a binding: `global`, or every user with a document of the usage, the
 * configured `target.users`, and for a `pull` binding every known user too: a directory
 * reaches a user whose phone has not written a document yet (the run creates it). Push and
 * both bindings take their items from the document, so a user without one has none.
 */
export async function scopesOf(store: DocumentStore, binding: Binding, users?: KnownUsers): Promise<Scope[]> {
  const b = binding.config;
  if (b.target.scope === 'global') return [GLOBAL_SCOPE];
  const out = new Set(b.target.users);
  for await (const d of store.list({ auid: b.auid })) if (d.key.xui !== null) out.add(d.key.xui);
  if (b.direction === 'pull' && users) for (const u of await users.list()) out.add(u.xui);
  return [...out].sort();
}

function describe(err: unknown): string {
  if (err instanceof ConnectorError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
