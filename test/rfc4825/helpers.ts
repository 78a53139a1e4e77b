/** Shared fixtures for the RFC 4825 core tests: documents, selector shorthands, 409 checks. */
import { expect } from 'vitest';
import { validateXcapErrorBody } from '../../src/appusage/xcap-error/index.ts';
import type { XcapConflict } from '../../src/xcap/errors.ts';
import { XCAP_ERROR_NS } from '../../src/xcap/errors.ts';
import type { EditableDocument } from '../../src/xcap/node-ops.ts';
import { parseSelector } from '../../src/xcap/selector/parse.ts';
import type { NodeSelector } from '../../src/xcap/selector/parse.ts';
import { parseDocument, serialize } from '../../src/xcap/xml.ts';

export const RL = 'urn:ietf:params:xml:ns:resource-lists';
export const CP = 'urn:ietf:params:xml:ns:common-policy';
export const DOC_URI = '/xcap-root/resource-lists/users/sip:alice@example.com/index';

/** A document as the service holds one: its text and the DOM parsed from it. */
export function editable(text: string): EditableDocument {
  return { text, dom: parseDocument(text) };
}

/** A resource-lists document with two lists; `friends` holds three entries. */
export function contacts(): EditableDocument {
  return editable(`<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="${RL}" xmlns:cp="${CP}">
  <list name="friends">
    <entry uri="sip:bob@example.com"><display-name>Bob</display-name></entry>
    <entry uri="sip:carol@example.com"><display-name>Carol</display-name></entry>
    <entry uri="sip:dave@example.com" cp:id="d"/>
  </list>
  <list name="work">
    <entry uri="sip:erin@example.com"/>
  </list>
</resource-lists>`);
}

/** Parses a selector with resource-lists as the default namespace. */
export function sel(text: string, namespaces: Record<string, string> = {}): NodeSelector {
  return parseSelector(text, namespaces, RL);
}

/** Runs `fn`, expects a 409 of class `cls`, checks its body against the xcap-error schema, returns it. */
export function expectConflict<T extends XcapConflict>(fn: () => unknown, cls: abstract new (...args: never[]) => T): T {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(cls);
  const err = caught as T;
  expect(err.status).toBe(409);
  validateXcapErrorBody(`<?xml version="1.0" encoding="UTF-8"?><xcap-error xmlns="${XCAP_ERROR_NS}">${err.detailXml()}</xcap-error>`);
  return err;
}

/**
 * The document's text after the operations so far, checked to parse to the DOM the
 * operations left (the two must never disagree: the DOM is what the next request selects on).
 */
export function text(doc: EditableDocument): string {
  expect(serialize(parseDocument(doc.text))).toBe(serialize(doc.dom));
  return doc.text;
}
