import { describe, expect, it } from 'vitest';
import { NotFound } from '../../src/xcap/errors.ts';
import { getNode } from '../../src/xcap/node-ops.ts';
import { parseSelector } from '../../src/xcap/selector/parse.ts';
import { parseDocument, parseElementFragment } from '../../src/xcap/xml.ts';
import { contacts, CP, RL, sel } from './helpers.ts';

const FRIENDS = 'resource-lists/list[@name="friends"]';

describe('RFC 4825 §7.6 fetch an element', () => {
  it('returns the element as application/xcap-el+xml, standing alone with its namespace declarations', () => {
    const r = getNode(contacts(), sel(`${FRIENDS}/entry[3]`));
    expect(r.contentType).toBe('application/xcap-el+xml');
    expect(r.body).toBe(`<entry uri="sip:dave@example.com" xmlns:cp="${CP}" cp:id="d" xmlns="${RL}"/>`);
    // It parses on its own, in the right namespaces.
    const el = parseElementFragment(r.body, null);
    expect(el.namespaceURI).toBe(RL);
    expect(el.getAttributeNS(CP, 'id')).toBe('d');
  });

  it('answers 404 when nothing, or more than one element, is selected', () => {
    expect(() => getNode(contacts(), sel(`${FRIENDS}/entry[9]`))).toThrow(NotFound);
    expect(() => getNode(contacts(), sel('resource-lists/list'))).toThrow(NotFound);
  });
});

describe('RFC 4825 §7.9 fetch an attribute', () => {
  it('returns the value as application/xcap-att+xml', () => {
    expect(getNode(contacts(), sel(`${FRIENDS}/@name`))).toEqual({ body: 'friends', contentType: 'application/xcap-att+xml' });
    expect(getNode(contacts(), sel(`${FRIENDS}/entry[3]/@c:id`, { c: CP })).body).toBe('d');
  });

  it('escapes what an AttValue cannot hold raw, so the body can be PUT back', () => {
    const doc = parseDocument(`<resource-lists xmlns="${RL}"><list name="a &amp; &lt;b&gt; &quot;c&quot;&#10;d"/></resource-lists>`);
    expect(getNode(doc, sel('resource-lists/list/@name')).body).toBe('a &amp; &lt;b> &quot;c&quot;&#10;d');
  });

  it('answers 404 for a missing attribute or element', () => {
    expect(() => getNode(contacts(), sel(`${FRIENDS}/@nope`))).toThrow(NotFound);
    expect(() => getNode(contacts(), sel('resource-lists/list[@name="x"]/@name'))).toThrow(NotFound);
    // An xmlns declaration is not an attribute in the node selector's data model.
    expect(() => getNode(contacts(), sel('resource-lists/@xmlns'))).toThrow(NotFound);
  });
});

describe('RFC 4825 §7.10 fetch namespace bindings', () => {
  it('returns an empty element named like the selected one with every namespace in scope', () => {
    const doc = parseDocument(
      `<resource-lists xmlns="${RL}" xmlns:cp="${CP}"><list name="a" xmlns:x="urn:x"><x:ext xmlns:y="urn:y"/></list></resource-lists>`,
    );
    const r = getNode(doc, sel('resource-lists/list/x:ext/namespace::*', { x: 'urn:x' }));
    expect(r.contentType).toBe('application/xcap-ns+xml');
    const el = parseElementFragment(r.body, null);
    expect(el.tagName).toBe('x:ext');
    expect(el.childNodes.length).toBe(0);
    const decls = Object.fromEntries([...el.attributes].map((a) => [a.name, a.value]));
    expect(decls).toEqual({ 'xmlns:y': 'urn:y', 'xmlns:x': 'urn:x', xmlns: RL, 'xmlns:cp': CP });
  });

  it('honours a nearer redeclaration and an undeclared default namespace', () => {
    const doc = parseDocument(`<r xmlns="urn:a" xmlns:p="urn:p1"><s xmlns="" xmlns:p="urn:p2"/></r>`);
    const body = getNode(doc, parseSelector('r/*/namespace::*', {}, 'urn:a')).body;
    expect(body).toBe('<s xmlns:p="urn:p2"/>');
  });
});
