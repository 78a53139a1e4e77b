/**
 * Reading other stored documents from inside a usage (cross-document constraints, generated
 * unions). Anything that no longer parses is skipped rather than failing someone else's
 * request.
 */
import type { Document } from '@xmldom/xmldom';
import { parseDocument } from '../../xcap/xml.ts';

export function parseStored(body: string): Document | undefined {
  try {
    return parseDocument(body);
  } catch {
    return undefined;
  }
}
