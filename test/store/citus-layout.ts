/**
 * How every table of the PostgreSQL store would be laid out on Citus (PostgreSQL sharded by
 * user): distributed by its owner column, colocated with the table that anchors its group,
 * or a reference table (a full copy on every node) for small or server-wide data. The
 * schema lint (citus-schema.postgres.test.ts) checks the live catalog against it, and
 * docs/scaling.md must list exactly the calls `citusCalls()` makes of it.
 */

export type TableLayout =
  | {
      readonly table: string;
      /** The owner (distribution) column. */
      readonly column: string;
      /** The distributed table this one is colocated with; absent for the first of a group. */
      readonly colocateWith?: string;
    }
  | { readonly table: string; readonly reference: true };

/** In the order the calls must run: reference tables first, then each group's anchor before its members. */
export const CITUS_LAYOUT: readonly TableLayout[] = [
  { table: 'xcap_unique_values', reference: true },
  { table: 'xcap_store_meta', reference: true },
  { table: 'xcap_changes_pruned', reference: true },
  { table: 'sync_meta', reference: true },
  { table: 'sync_activity', reference: true },
  { table: 'feed_hook_status', reference: true },
  { table: 'phonebook_tokens', reference: true },
  { table: 'xcap_documents', column: 'xui' },
  { table: 'xcap_changes', column: 'xui', colocateWith: 'xcap_documents' },
  { table: 'sync_items', column: 'scope' },
  { table: 'sync_scopes', column: 'scope', colocateWith: 'sync_items' },
  { table: 'sync_conflicts', column: 'scope', colocateWith: 'sync_items' },
  { table: 'xcap_users', column: 'xui', colocateWith: 'sync_items' },
];

/** The Citus calls that lay the tables out, one statement a line. */
export function citusCalls(): string[] {
  return CITUS_LAYOUT.map((t) =>
    'reference' in t
      ? `SELECT create_reference_table('${t.table}');`
      : `SELECT create_distributed_table('${t.table}', '${t.column}'${t.colocateWith ? `, colocate_with => '${t.colocateWith}'` : ''});`,
  );
}
