/**
 * Edits judged from the part that changed (CandidateDocument.edited): what every usage asks
 * of the schema's fast path before its own rules, and where in the document the edit is.
 */
import type { Element } from '@xmldom/xmldom';
import type { SchemaValidator } from '../schema.ts';
import type { CandidateDocument } from '../types.ts';

/** An edit the schema accepts from its edited element: that element and whether only its start tag and own content changed. */
export interface AcceptedEdit {
  readonly edited: Element;
  readonly shallow: boolean;
}

/**
 * `doc`'s edit when it is one of a document known valid and `schema` certainly accepts the
 * result from the part that changed; undefined when the whole document is to be judged (no
 * edit, or the fast path is not sure, which it never is about a refusal's words).
 */
export function schemaAcceptedEdit(schema: SchemaValidator, doc: CandidateDocument): AcceptedEdit | undefined {
  const { edited, parsed } = doc;
  if (edited === undefined || parsed === undefined) return undefined;
  const shallow = doc.shallow === true;
  return schema.validateEdit?.(parsed, edited, doc.text.length, shallow, shallow && doc.removal === true) === true ? { edited, shallow } : undefined;
}

/** The child of the document element that is `el` or holds it; undefined for the document element itself. */
export function topLevelOf(el: Element): Element | undefined {
  let n: Element = el;
  for (;;) {
    const parent = n.parentNode;
    if (parent === null || parent.nodeType !== 1) return undefined;
    if (parent.parentNode?.nodeType !== 1) return n;
    n = parent as Element;
  }
}
