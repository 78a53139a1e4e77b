import { describe, expect, it } from 'vitest';
import { NotFound } from '../../src/xcap/errors.ts';
import { getNode } from '../../src/xcap/node-ops.ts';
import { selectElement } from '../../src/xcap/selector/evaluate.ts';
import { parseSelector } from '../../src/xcap/selector/parse.ts';
import { parseElementFragment } from '../../src/xcap/xml.ts';
import { contacts, CP, editable, RL, sel } from './helpers.ts';

const FRIENDS = 'resource-lists/list[@name="friends"]';

describe('RFC 4825 §7.6 fetch an element', () => {
  it('§8.3: returns the element as it is in the document, adding no declarations from its ancestors', () => {
    const doc = contacts();
    const r = getNode(doc, sel(`${FRIENDS}/entry[3]`));
    expect(r.contentType).toBe('application/xcap-el+xml');
    expect(r.body).toBe('<entry uri="sip:dave@example.com" cp:id="d"/>');
    // It parses in the namespaces in scope at its parent, as a PUT of it there would.
    const el = parseElementFragment(r.body, selectElement(doc.dom, sel(FRIENDS)));
    expect(el.namespaceURI).toBe(RL);
    expect(el.getAttributeNS(CP, 'id')).toBe('d');
  });

  it('returns the bytes as stored: quotes, spacing, references, CDATA, comments and line ends', () => {
    const el = `<entry  uri = 'sip:a@x' >\r\n\t<display-name>A &amp; &#66;<![CDATA[<c>]]><!-- n --></display-name></entry >`;
    const doc = editable(`<resource-lists xmlns="${RL}"><list name="f">${el}<entry uri="sip:b@x"/></list></resource-lists>`);
    expect(getNode(doc, sel('resource-lists/list/entry[1]')).body).toBe(el);
    expect(getNode(doc, sel('resource-lists/list/entry[2]')).body).toBe('<entry uri="sip:b@x"/>');
    expect(getNode(doc, sel('resource-lists')).body).toBe(doc.text);
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

  it('returns the value as written between its quotes, an AttValue a PUT restores', () => {
    const doc = editable(`<resource-lists xmlns="${RL}"><list name="a &amp; &lt;b&gt; &quot;c&quot;&#10;d" x='"q"'/></resource-lists>`);
    expect(getNode(doc, sel('resource-lists/list/@name')).body).toBe('a &amp; &lt;b&gt; &quot;c&quot;&#10;d');
    expect(getNode(doc, sel('resource-lists/list/@x')).body).toBe('"q"');
  });

  it('answers 404 for a missing attribute or element', () => {
    expect(() => getNode(contacts(), sel(`${FRIENDS}/@nope`))).toThrow(NotFound);
    expect(() => getNode(contacts(), sel('resource-lists/list[@name="x"]/@name'))).toThrow(NotFound);
    // An xmlns declaration is not an attribute in the node selector's data model.
    expect(() => getNode(contacts(), sel('resource-lists/@xmlns'))).toThrow(NotFound);
    expect(() => getNode(contacts(), sel('resource-lists/@n:cp', { n: 'http://www.w3.org/2000/xmlns/' }))).toThrow(NotFound);
  });
});

describe('RFC 4825 §7.10 fetch namespace bindings', () => {
  it('returns an empty element named like the selected one with every namespace in scope', () => {
    const doc = editable(
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
    const doc = editable(`<r xmlns="urn:a" xmlns:p="urn:p1"><s xmlns="" xmlns:p="urn:p2"/></r>`);
    const body = getNode(doc, parseSelector('r/*/namespace::*', {}, 'urn:a')).body;
    expect(body).toBe('<s xmlns:p="urn:p2"/>');
  });
});
