/**
 * The item mapping of an `elements` binding: a list of elements in a custom usage (device
 * configuration). A `resource-lists` binding's codec lives with its usage
 * (src/appusage/resource-lists/items.ts).
 */
import { elementListMapping, type FieldPlace, type ItemMapping } from './element-list.ts';

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
