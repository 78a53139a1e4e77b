/**
 * The plan step of a sync run: reconcile() over the sides read, then the mass-delete
 * guard. Pure, like reconcile itself: what the apply step will write is decided here.
 *
 * A bound list that is missing from its document (a whole-document PUT without it, the
 * document deleted, the list renamed or moved below another element) while the state
 * remembers items in it is not a delete of those items, in any direction: the read step
 * hands the XCAP side over as the state remembers it, and the plan writes every item that
 * stays on the XCAP side back into a re-created list, in the order of their keys (a list
 * put back twice reads the same, whatever order the state rows come in; the list's other
 * writes keep their place). Items leave a list only by being
 * removed from it (entries deleted, or a PUT of the list without them), under the
 * mass-delete guard.
 */
import type { Binding } from '../binding.ts';
import { hashFields } from '../hash.ts';
import { checkDeleteLimits, reconcile, recordRaces, type Decision, type ItemState, type Plan, type PlanCounts } from '../reconcile.ts';
import type { RunOptions } from '../runner.ts';
import type { Sides } from './read.ts';

export interface PlannedRun {
  readonly plan: Plan;
  readonly counts: { readonly xcap: PlanCounts; readonly remote: PlanCounts; readonly conflicts: number };
  /** Why the guard refused the plan (nothing may be written), or `null`. */
  readonly refusal: string | null;
}

/**
 * `lostRaces`: items whose remote writes lost their race too often in this run (see
 * runner.ts): they become recorded conflicts instead of writes.
 */
export function planSides(sides: Sides, binding: Binding, opts: Pick<RunOptions, 'force'>, lostRaces: ReadonlySet<string> = new Set()): PlannedRun {
  const b = binding.config;
  const reconciled = reconcile({
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
  const planned = sides.listMissing ? reproject(reconciled, sides.state, binding.mapping.keyField) : reconciled;
  const plan = recordRaces(planned, lostRaces, sides.remote, sides.state);
  return {
    plan,
    counts: { xcap: plan.xcap, remote: plan.remote, conflicts: plan.conflicts },
    refusal: opts.force ? null : checkDeleteLimits(plan, b.safety),
  };
}

const REPROJECTED = 'list-missing-reprojected';

/** `plan` with an XCAP create for every item that stays on the XCAP side but would not be written, creates in key order. */
function reproject(plan: Plan, state: readonly ItemState[], keyField: string): Plan {
  let added = 0;
  const decided = new Set<string>();
  const decisions: Decision[] = plan.decisions.map((d) => {
    if (d.stateId !== null) decided.add(d.stateId);
    if (d.next === 'drop' || d.next.xcapKey === null || (d.xcap && d.xcap.op !== 'delete')) return d;
    added++;
    return { ...d, reason: `${d.reason}, ${REPROJECTED}`, xcap: { op: 'create', fields: d.next.base } };
  });
  for (const s of state) {
    if (s.xcapKey === null || decided.has(s.id)) continue;
    added++;
    const { id, ...next } = s;
    decisions.push({ item: id, stateId: id, reason: REPROJECTED, xcap: { op: 'create', fields: s.base }, next });
  }
  // Creates are appended in decision order: put them in key order, after everything else.
  const keyOf = (d: Decision) => (d.xcap?.op === 'create' ? (d.xcap.fields[keyField] ?? '') : undefined);
  const creates = decisions.filter((d) => keyOf(d) !== undefined).sort((a, b) => compare(keyOf(a) as string, keyOf(b) as string));
  const ordered = [...decisions.filter((d) => keyOf(d) === undefined), ...creates];
  return { ...plan, decisions: ordered, xcap: { ...plan.xcap, create: plan.xcap.create + added } };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
