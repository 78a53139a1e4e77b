/**
 * The resource-lists lists that sync bindings own: every `pull` binding with a
 * `resource-lists` mapping makes its top-level `<list name="...">` read-only for clients
 * in the documents it targets (see src/xcap/managed.ts for the rules). `push` and `both`
 * bindings leave the list writable: there the XCAP side is a source.
 */
import type { BindingConfig } from '../../sync/binding.ts';
import { createManagedLists, type ManagedLists } from '../../xcap/managed.ts';
import { RESOURCE_LISTS_NS } from './index.ts';

/** The managed lists of `bindings`, or `undefined` when no binding manages one. */
export function managedResourceLists(bindings: readonly BindingConfig[]): ManagedLists | undefined {
  return createManagedLists(
    bindings.flatMap((b) =>
      b.direction === 'pull' && b.mapping.kind === 'resource-lists'
        ? [{
            target: { auid: b.auid, scope: b.target.scope, path: b.target.document },
            container: { namespace: RESOURCE_LISTS_NS, root: 'resource-lists', element: 'list', nameAttr: 'name', name: b.mapping.list, owner: b.name },
          }]
        : [],
    ),
  );
}
