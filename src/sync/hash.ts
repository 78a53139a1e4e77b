/** Content hash of an item's fields: order-independent, stable across processes and versions. */
import { createHash } from 'node:crypto';
import type { ItemFields } from '../../connectors/types.ts';

export function hashFields(fields: ItemFields): string {
  const h = createHash('sha1');
  for (const name of Object.keys(fields).sort()) {
    // NUL cannot occur in XML text or attribute values, so it separates unambiguously.
    h.update(name).update('\0').update(fields[name] ?? '').update('\0');
  }
  return h.digest('base64url');
}
