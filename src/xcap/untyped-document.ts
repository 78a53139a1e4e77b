/**
 * Client leniency `untyped-document` (src/http/client-profiles.ts): a whole-document PUT
 * whose Content-Type is missing or urllib's default `application/x-www-form-urlencoded`
 * is taken as the usage's MIME type when its root element is in the usage's default
 * namespace. Anything else keeps the strict RFC 4825 §8.2.1 answer, 415.
 */
import { parseDocument } from './xml.ts';
import { prescanDocument, type XmlLimits } from './xml-prescan.ts';

export const UNTYPED_DOCUMENT = 'untyped-document';

/** Media types a client sends when it sets none of its own (none, or urllib's default for a body). */
const UNTYPED = new Set(['', 'application/x-www-form-urlencoded']);

/**
 * Whether a whole-document body sent with `mediaType` (lower case, no parameters) is
 * accepted as a document of the usage whose default namespace is `namespace`.
 * A body that is not well-formed, or past the server's `limits` (checked before it is parsed),
 * is not accepted: the client then gets its 415.
 */
export function acceptsUntypedDocument(lenient: ReadonlySet<string>, mediaType: string, text: string, namespace: string, limits: XmlLimits): boolean {
  if (!lenient.has(UNTYPED_DOCUMENT) || !UNTYPED.has(mediaType)) return false;
  try {
    prescanDocument(text, limits);
    return parseDocument(text).documentElement?.namespaceURI === namespace;
  } catch {
    return false;
  }
}
