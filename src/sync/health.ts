/**
 * Whether each scheduled binding keeps running: a binding is **stale** once two of its
 * scheduled ticks should have happened since it last ticked, or since one of its
 * documents last synced successfully. Read from the sync state in the documents'
 * database, so `sync status`, the admin API and a readiness check agree without Redis.
 *
 * Ticks are recorded by the worker that processes them (`SyncState.recordTick`); the
 * time a scheduler is first created counts as a tick, so a binding that never ticked
 * becomes stale two intervals after sync started, not at once.
 */
import { CronExpressionParser } from 'cron-parser';
import type { BindingConfig } from './binding.ts';
import type { ScopeState, SyncState } from './state.ts';

export interface ScopeHealth {
  readonly scope: string;
  readonly stale: boolean;
  /** Why it is stale; `null` when it is not. */
  readonly reason: string | null;
}

export interface BindingHealth {
  readonly binding: string;
  /** `every N ms`, `cron P`, or `null` for a binding without a schedule (never stale). */
  readonly schedule: string | null;
  /** Last tick (or first scheduling), milliseconds since the epoch; `null` if never scheduled. */
  readonly lastTickAt: number | null;
  readonly stale: boolean;
  /** Why it is stale (the binding's own reason, else the first stale document's); `null` when it is not. */
  readonly reason: string | null;
  /** Per document, for the scopes the state knows. */
  readonly scopes: readonly ScopeHealth[];
}

/** Health of every binding, from the recorded ticks and scope states, at `now`. */
export function assessBindings(bindings: readonly BindingConfig[], scopes: readonly ScopeState[], ticks: ReadonlyMap<string, number>, now: number): BindingHealth[] {
  return bindings.map((b) => {
    const schedule = b.schedule ? (b.schedule.cron ? `cron ${b.schedule.cron}` : `every ${b.schedule.everyMs} ms`) : null;
    const lastTickAt = ticks.get(b.name) ?? null;
    const mine = scopes.filter((s) => s.binding === b.name);
    if (!b.schedule) {
      return { binding: b.name, schedule, lastTickAt, stale: false, reason: null, scopes: mine.map((s) => ({ scope: s.scope, stale: false, reason: null })) };
    }
    const overdue = (since: number) => secondTickAfter(b.schedule as Schedule, since) <= now;
    const ago = (t: number) => `${Math.round((now - t) / 1000)} s ago`;
    const scopeHealth = mine.map((s): ScopeHealth => {
      const since = s.lastOkAt ?? s.lastRunAt;
      if (since === null || !overdue(since)) return { scope: s.scope, stale: false, reason: null };
      const last = s.lastOkAt === null ? 'never synced successfully' : `last successful sync ${ago(s.lastOkAt)}`;
      return { scope: s.scope, stale: true, reason: `${last} (schedule ${schedule})${s.lastError ? `; last error: ${s.lastError}` : ''}` };
    });
    let reason: string | null = null;
    if (lastTickAt === null) reason = 'never scheduled: no sync engine has reached Redis with this binding';
    else if (overdue(lastTickAt)) reason = `no scheduled tick for 2 intervals (last ${ago(lastTickAt)}, schedule ${schedule}): its job scheduler is missing or no worker runs`;
    else {
      const first = scopeHealth.find((s) => s.stale);
      if (first) reason = `${scopeHealth.filter((s) => s.stale).length} of ${scopeHealth.length} documents stale; ${first.scope}: ${first.reason}`;
    }
    return { binding: b.name, schedule, lastTickAt, stale: reason !== null, reason, scopes: scopeHealth };
  });
}

type Schedule = NonNullable<BindingConfig['schedule']>;

/** When the second tick after `since` is due (BullMQ reads cron patterns with the same parser). */
function secondTickAfter(s: Schedule, since: number): number {
  if (s.everyMs !== undefined) return since + 2 * s.everyMs;
  const it = CronExpressionParser.parse(s.cron as string, { currentDate: new Date(since) });
  it.next();
  return it.next().getTime();
}

/** Health of every binding as the sync state records it now. */
export async function readHealth(state: SyncState, bindings: readonly BindingConfig[], now = Date.now()): Promise<BindingHealth[]> {
  const [scopes, ticks] = await Promise.all([state.listScopes(), state.ticks()]);
  return assessBindings(bindings, scopes, ticks, now);
}
