/**
 * The plan step of a sync run: reconcile() over the sides read, then the mass-delete
 * guard. Pure, like reconcile itself: what the apply step will write is decided here.
 */
import type { Binding } from '../binding.ts';
import { hashFields } from '../hash.ts';
import { checkDeleteLimits, reconcile, type Plan, type PlanCounts } from '../reconcile.ts';
import type { RunOptions } from '../runner.ts';
import type { Sides } from './read.ts';

export interface PlannedRun {
  readonly plan: Plan;
  readonly counts: { readonly xcap: PlanCounts; readonly remote: PlanCounts; readonly conflicts: number };
  /** Why the guard refused the plan (nothing may be written), or `null`. */
  readonly refusal: string | null;
}

export function planSides(sides: Sides, binding: Binding, opts: Pick<RunOptions, 'force'>): PlannedRun {
  const b = binding.config;
  const plan = reconcile({
    xcap: sides.xcap,
    remote: sides.remote,
    state: sides.state,
    options: {
      direction: b.direction,
      policy: b.policy,
      deletes: b.safety.deletes,
      keyField: binding.mapping.keyField,
      xcapModified: sides.stored?.modified ?? 0,
      resolutions: sides.resolutions,
      hash: hashFields,
    },
    ...(sides.sizes ? { sizes: sides.sizes } : {}),
  });
  return {
    plan,
    counts: { xcap: plan.xcap, remote: plan.remote, conflicts: plan.conflicts },
    refusal: opts.force ? null : checkDeleteLimits(plan, b.safety),
  };
}
