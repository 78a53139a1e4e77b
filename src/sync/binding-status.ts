/**
 * One binding as an operator watches it: health (health.ts), last and next run, lag,
 * the last error, open conflicts. Read from the sync state in the documents' database, so
 * /readyz, the admin API, the status page and the metrics say the same thing in every
 * process, with or without Redis.
 */
import { CronExpressionParser } from 'cron-parser';
import type { BindingConfig } from './binding.ts';
import { assessBindings } from './health.ts';
import type { SyncState } from './state.ts';

export interface BindingStatus {
  readonly binding: string;
  readonly direction: BindingConfig['direction'];
  /** `every N ms`, `cron P`, or `null`: runs on XCAP changes and by hand only. */
  readonly schedule: string | null;
  readonly stale: boolean;
  /** Why it is stale; `null` when it is not. */
  readonly reason: string | null;
  /** Documents (scopes) the state knows for it. */
  readonly documents: number;
  /** Latest run of any of its documents (ms since the epoch); `null` before the first. */
  readonly lastRunAt: number | null;
  /** Latest successful run of any of its documents. */
  readonly lastOkAt: number | null;
  /** When the next scheduled tick is due (ms); `null` without a schedule or before the first tick. */
  readonly nextRunAt: number | null;
  /** Seconds since its least recently synced document last synced; `null` before any success. */
  readonly lagSeconds: number | null;
  /** Documents whose last run failed or was refused. */
  readonly failing: number;
  /** The most recent of their errors, with the document it came from. */
  readonly lastError: { readonly scope: string; readonly message: string; readonly at: number | null } | null;
  readonly openConflicts: number;
}

/** Status of every configured binding at `now`. */
export async function readBindingStatus(state: SyncState, bindings: readonly BindingConfig[], now = Date.now()): Promise<BindingStatus[]> {
  const [scopes, ticks, conflicts] = await Promise.all([state.listScopes(), state.ticks(), state.listConflicts()]);
  const health = assessBindings(bindings, scopes, ticks, now);
  return bindings.map((b, i) => {
    const h = health[i] as (typeof health)[number];
    const mine = scopes.filter((s) => s.binding === b.name);
    const max = (xs: (number | null)[]) => xs.reduce<number | null>((m, x) => (x !== null && (m === null || x > m) ? x : m), null);
    const failing = mine.filter((s) => s.lastError !== null).sort((x, y) => (y.lastRunAt ?? 0) - (x.lastRunAt ?? 0));
    const synced = mine.map((s) => s.lastOkAt);
    const oldest = synced.includes(null) || synced.length === 0 ? null : Math.min(...(synced as number[]));
    const first = failing[0];
    return {
      binding: b.name,
      direction: b.direction,
      schedule: h.schedule,
      stale: h.stale,
      reason: h.reason,
      documents: mine.length,
      lastRunAt: max(mine.map((s) => s.lastRunAt)),
      lastOkAt: max(synced),
      nextRunAt: nextTick(b, h.lastTickAt),
      lagSeconds: oldest === null ? null : Math.max(0, (now - oldest) / 1000),
      failing: failing.length,
      lastError: first ? { scope: first.scope, message: first.lastError as string, at: first.lastRunAt } : null,
      openConflicts: conflicts.filter((c) => c.binding === b.name && c.resolution === null).length,
    };
  });
}

/** The tick after `last` (BullMQ reads cron patterns with the same parser). */
function nextTick(b: BindingConfig, last: number | null): number | null {
  if (!b.schedule || last === null) return null;
  if (b.schedule.everyMs !== undefined) return last + b.schedule.everyMs;
  return CronExpressionParser.parse(b.schedule.cron as string, { currentDate: new Date(last) }).next().getTime();
}
