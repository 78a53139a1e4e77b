/**
 * The resource-lists item codec: how one `<entry>` of a bound `<list>` (RFC 4826 §3) and a
 * sync item's fields correspond. `uri` ↔ the entry's `uri` attribute (the key),
 * `display-name` ↔ its `<display-name>`, each extra field (`mail`, `mobile`, ...) ↔ an
 * `<xbf:field name="...">` element of the project's field namespace (RFC 4826 lets
 * `##other` elements into an entry, so phones keep and ignore them).
 */
import { elementListMapping, type FieldPlace, type ItemMapping } from '../../sync/mapping/element-list.ts';
import { RESOURCE_LISTS_NS } from './index.ts';

/** Namespace of `<xbf:field name="...">` elements carrying extra fields. */
export const FIELDS_NS = 'urn:xcap-bridge:params:xml:ns:fields';

/** The entries of the top-level `<list name="{list}">`, with `extraFields` beyond uri and display-name. */
export function resourceListsMapping(list: string, extraFields: readonly string[] = []): ItemMapping {
  const fields: Record<string, FieldPlace> = { uri: { attr: 'uri' }, 'display-name': { child: 'display-name' } };
  for (const name of extraFields) fields[name] = { extension: { namespace: FIELDS_NS, prefix: 'xbf', element: 'field', name } };
  return elementListMapping({
    namespace: RESOURCE_LISTS_NS,
    root: 'resource-lists',
    container: { element: 'list', nameAttr: 'name', name: list },
    item: 'entry',
    fields,
    keyField: 'uri',
    // RFC 4826 §3.4.3: a list holds any number of entries; §3.4.5 uniqueness is the key's.
    standAloneItems: true,
  });
}
