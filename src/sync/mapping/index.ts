/**
 * The two mappings bindings can use: a `<list>` of `<entry>` elements in a resource-lists
 * document (RFC 4826 §3), and a list of elements in a custom usage (device configuration).
 */
import { elementListMapping, type FieldPlace, type ItemMapping } from './element-list.ts';

export const RESOURCE_LISTS_NAMESPACE = 'urn:ietf:params:xml:ns:resource-lists';

/**
 * Entries of the top-level `<list name="{list}">`: `uri` ↔ the entry's `uri` attribute (the
 * key), `display-name` ↔ its `<display-name>`, each extra field ↔ an `<xbf:field name>`
 * element (RFC 4826 lets `##other` elements into an entry).
 */
export function resourceListsMapping(list: string, extraFields: readonly string[] = []): ItemMapping {
  const fields: Record<string, FieldPlace> = { uri: { attr: 'uri' }, 'display-name': { child: 'display-name' } };
  for (const f of extraFields) fields[f] = { param: f };
  return elementListMapping({
    namespace: RESOURCE_LISTS_NAMESPACE,
    root: 'resource-lists',
    container: { element: 'list', nameAttr: 'name', name: list },
    item: 'entry',
    fields,
    keyField: 'uri',
    // RFC 4826 §3.4.3: a list holds any number of entries; §3.4.5 uniqueness is the key's.
    standAloneItems: true,
  });
}

/** A custom usage's item list; `fields` values are `@attribute` or a child element's local name. */
export function elementsMapping(spec: {
  namespace: string;
  root: string;
  container: { element: string; name?: string | undefined } | null;
  item: string;
  fields: Readonly<Record<string, string>>;
  key: string;
}): ItemMapping {
  const fields: Record<string, FieldPlace> = {};
  for (const [name, place] of Object.entries(spec.fields)) {
    fields[name] = place.startsWith('@') ? { attr: place.slice(1) } : { child: place };
  }
  const c = spec.container;
  return elementListMapping({
    namespace: spec.namespace,
    root: spec.root,
    container: c ? (c.name === undefined ? { element: c.element } : { element: c.element, nameAttr: 'name', name: c.name }) : null,
    item: spec.item,
    fields,
    keyField: spec.key,
  });
}
