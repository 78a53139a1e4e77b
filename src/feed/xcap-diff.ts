/**
 * RFC 5874 xcap-diff documents with document-level entries only:
 *
 *   <xcap-diff xmlns="urn:ietf:params:xml:ns:xcap-diff" xcap-root="http://host/xcap-root/">
 *     <document sel="resource-lists/users/sip:alice@example.com/index" previous-etag="a" new-etag="b"/>
 *   </xcap-diff>
 *
 * A created document has no `previous-etag`, a deleted one no `new-etag` (§4). An empty
 * `<document>` says "this changed, fetch it": no patch operations are reported. Changes to
 * one document are folded by `foldChange` (first previous-etag, last new-etag).
 */
import { docKeyString, type DocChange, type DocKey } from '../store/types.ts';
import { escapeAttr } from '../xcap/errors.ts';
import { docSelector } from './filter.ts';

export const XCAP_DIFF_NS = 'urn:ietf:params:xml:ns:xcap-diff';
export const XCAP_DIFF_TYPE = 'application/xcap-diff+xml';

/** One `<document>` entry. */
export interface DiffEntry {
  readonly key: DocKey;
  /** `null`: the document was created. */
  readonly previousEtag: string | null;
  /** `null`: the document was deleted. */
  readonly newEtag: string | null;
}

/** Pending entries by document, in first-seen order. */
export type PendingDiff = Map<string, DiffEntry>;

/** Folds one change into `pending`: a document changed twice keeps its first previous-etag and takes the last new-etag. */
export function foldChange(pending: PendingDiff, c: DocChange): void {
  const id = docKeyString(c.key);
  const before = pending.get(id);
  pending.set(id, { key: c.key, previousEtag: before ? before.previousEtag : c.oldEtag, newEtag: c.newEtag });
}

/** The xcap-diff document for `entries` (a document created and deleted again in one fold is left out). */
export function xcapDiffBody(xcapRoot: string, entries: Iterable<DiffEntry>): string {
  const root = xcapRoot.endsWith('/') ? xcapRoot : `${xcapRoot}/`;
  let out = `<?xml version="1.0" encoding="UTF-8"?>\n<xcap-diff xmlns="${XCAP_DIFF_NS}" xcap-root="${escapeAttr(root)}">\n`;
  for (const e of entries) {
    if (e.previousEtag === null && e.newEtag === null) continue;
    out += `  <document sel="${escapeAttr(docSelector(e.key))}"`;
    if (e.previousEtag !== null) out += ` previous-etag="${escapeAttr(e.previousEtag)}"`;
    if (e.newEtag !== null) out += ` new-etag="${escapeAttr(e.newEtag)}"`;
    out += '/>\n';
  }
  return `${out}</xcap-diff>\n`;
}
