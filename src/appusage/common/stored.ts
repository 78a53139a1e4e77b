/**
 * Reading other stored documents from inside a usage (cross-document constraints, generated
 * unions). Stored documents passed validation when written, so a plain namespace-aware
 * parse is enough; anything unparsable is skipped rather than failing someone else's request.
 */
import { DOMParser } from '@xmldom/xmldom';
import type { Document } from '@xmldom/xmldom';

export function parseStored(body: string): Document | undefined {
  try {
    const doc = new DOMParser({ onError: () => {} }).parseFromString(body, 'text/xml');
    return doc.documentElement === null ? undefined : doc;
  } catch {
    return undefined;
  }
}
