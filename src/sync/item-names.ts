/**
 * How operators see sync items: by their key (an entry's `uri`) and display name, never
 * by the state row ids decisions and conflicts carry inside (`sync run --dry-run`,
 * `sync conflicts`, `sync resolve`).
 */
import type { ItemFields } from '../../connectors/types.ts';
import type { Decision } from './reconcile.ts';
import type { ConflictRecord } from './state.ts';

/** `sip:bob@example.com "Bob"`, the key alone, or `undefined` when `fields` has no key. */
export function itemName(fields: ItemFields | undefined, keyField: string): string | undefined {
  const key = fields?.[keyField];
  if (key === undefined) return undefined;
  const display = fields?.['display-name'];
  return display === undefined || display === '' ? key : `${key} "${display}"`;
}

/** The name of the item a decision is about, from whatever side of it carries fields. */
export function decisionName(d: Decision, keyField: string): string {
  const withFields = [d.conflict?.xcap, d.conflict?.remote, d.xcap && 'fields' in d.xcap ? d.xcap.fields : undefined, d.remote && 'fields' in d.remote ? d.remote.fields : undefined, d.next === 'drop' ? undefined : d.next.base];
  for (const f of withFields) {
    const name = itemName(f, keyField);
    if (name !== undefined) return name;
  }
  if (d.xcap?.op === 'delete') return d.xcap.key;
  if (d.remote?.op === 'delete') return `remote item ${d.remote.id}`;
  return d.item;
}

/** The name of a conflict's item (the XCAP side's key, else the remote's). */
export function conflictName(c: ConflictRecord, keyField: string): string {
  return itemName(c.xcap, keyField) ?? itemName(c.remote, keyField) ?? c.item;
}

/**
 * The open conflicts `ref` designates: the one whose item id is `ref`, else those whose
 * key (on either side) is `ref`.
 */
export function findConflicts(conflicts: readonly ConflictRecord[], ref: string, keyField: string): ConflictRecord[] {
  const byId = conflicts.filter((c) => c.item === ref);
  return byId.length ? byId : conflicts.filter((c) => c.xcap[keyField] === ref || c.remote[keyField] === ref);
}
