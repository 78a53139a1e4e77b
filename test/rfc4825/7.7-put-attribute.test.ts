import { describe, expect, it } from 'vitest';
import { CannotInsert, MethodNotAllowed, NoParent, NotXmlAttValue } from '../../src/xcap/errors.ts';
import { getNode, putAttribute } from '../../src/xcap/node-ops.ts';
import { selectElement } from '../../src/xcap/selector/evaluate.ts';
import { parseDocument } from '../../src/xcap/xml.ts';
import { contacts, CP, DOC_URI, editable, expectConflict, RL, sel, text } from './helpers.ts';

const FRIENDS = 'resource-lists/list[@name="friends"]';

describe('RFC 4825 §7.7 create or replace an attribute', () => {
  it('creates an attribute (201) and reads it back', () => {
    const doc = contacts();
    const s = sel(`${FRIENDS}/entry[1]/@note`);
    expect(putAttribute(doc, s, 'hello', DOC_URI).created).toBe(true);
    expect(getNode(doc, s).body).toBe('hello');
    expect(text(doc)).toContain('<entry uri="sip:bob@example.com" note="hello">');
  });

  it('replaces an attribute (200), keeping its qualified name', () => {
    const doc = contacts();
    const s = sel(`${FRIENDS}/entry[3]/@z:id`, { z: CP });
    expect(putAttribute(doc, s, 'd2', DOC_URI).created).toBe(false);
    expect(getNode(doc, s).body).toBe('d2');
    expect(text(doc)).toContain('cp:id="d2"');
  });

  it('decodes references and normalizes literal whitespace, as an XML parser would, and stores the body as sent', () => {
    const doc = contacts();
    const s = sel('resource-lists/list[1]/@name');
    putAttribute(doc, s, 'a &amp; b&#10;c\td', DOC_URI);
    expect(selectElement(doc.dom, sel('resource-lists/list[@name="a &amp; b&#10;c d"]'))).not.toBeNull();
    expect(getNode(doc, sel('resource-lists/list[1]/@name')).body).toBe('a &amp; b&#10;c\td');
    expect(text(doc)).toContain('<list name="a &amp; b&#10;c\td">');
  });

  it('keeps the quote character unless the body holds it', () => {
    const doc = editable(`<resource-lists xmlns="${RL}"><list name='l' x='1'/></resource-lists>`);
    putAttribute(doc, sel('resource-lists/list/@name'), 'm', DOC_URI);
    putAttribute(doc, sel('resource-lists/list/@x'), 'say "hi"', DOC_URI);
    putAttribute(doc, sel('resource-lists/list/@y'), "it's", DOC_URI);
    expect(text(doc)).toBe(`<resource-lists xmlns="${RL}"><list name='m' x='say "hi"' y="it's"/></resource-lists>`);
    expect(getNode(doc, sel('resource-lists/list/@x')).body).toBe('say "hi"');
  });

  it('uses the document prefix for a namespace it already binds', () => {
    const doc = contacts();
    putAttribute(doc, sel(`${FRIENDS}/entry[1]/@q:id`, { q: CP }), 'b', DOC_URI);
    expect(text(doc)).toContain('<entry uri="sip:bob@example.com" cp:id="b">');
  });

  it('declares a namespace the document lacks, on a prefix that does not clash', () => {
    const doc = editable(`<resource-lists xmlns="${RL}" xmlns:p="urn:taken"><list name="l" /></resource-lists>`);
    putAttribute(doc, sel('resource-lists/list/@p:x', { p: 'urn:new' }), 'v', DOC_URI);
    const list = selectElement(doc.dom, sel('resource-lists/list'))!;
    expect(list.getAttributeNS('urn:new', 'x')).toBe('v');
    expect(list.getAttributeNS('urn:taken', 'x')).toBeNull();
    expect(text(doc)).toBe(`<resource-lists xmlns="${RL}" xmlns:p="urn:taken"><list name="l" xmlns:ns1="urn:new" ns1:x="v" /></resource-lists>`);
    // Re-parsing what is stored gives the same binding.
    const again = parseDocument(text(doc));
    expect(selectElement(again, sel('resource-lists/list'))!.getAttributeNS('urn:new', 'x')).toBe('v');
  });

  it('writes xml:lang with the always-bound xml prefix, declaring nothing', () => {
    const doc = contacts();
    putAttribute(doc, sel(`${FRIENDS}/@x:lang`, { x: 'http://www.w3.org/XML/1998/namespace' }), 'en', DOC_URI);
    expect(text(doc)).toContain('<list name="friends" xml:lang="en">');
  });

  it.each([
    ['resource-lists/list[1]/@xmlns', {}],
    ['resource-lists/list[1]/@n:cp', { n: 'http://www.w3.org/2000/xmlns/' }],
  ])('cannot-insert for %s: a namespace declaration is not an attribute', (s, ns) => {
    const doc = contacts();
    const before = text(doc);
    expectConflict(() => putAttribute(doc, sel(s, ns), 'urn:other', DOC_URI), CannotInsert);
    expect(text(doc)).toBe(before);
  });

  it('cannot-insert when the new value stops the element from being selected; unchanged after', () => {
    const doc = contacts();
    const before = text(doc);
    expectConflict(() => putAttribute(doc, sel(`${FRIENDS}/entry[@uri="sip:bob@example.com"]/@uri`), 'sip:x@x', DOC_URI), CannotInsert);
    expect(text(doc)).toBe(before);
  });

  it('allows a value that keeps the element selected', () => {
    const doc = contacts();
    const s = sel(`${FRIENDS}/entry[@uri="sip:bob@example.com"]/@uri`);
    expect(putAttribute(doc, s, 'sip:bob@example.com', DOC_URI).created).toBe(false);
    expect(text(doc)).toBe(contacts().text);
  });

  it('adds an attribute to an element without any, before `/>` or `>`', () => {
    const doc = editable(`<resource-lists xmlns="${RL}"><list/><list >x</list></resource-lists>`);
    putAttribute(doc, sel('resource-lists/list[1]/@name'), 'a', DOC_URI);
    putAttribute(doc, sel('resource-lists/list[2]/@name'), 'b', DOC_URI);
    expect(text(doc)).toBe(`<resource-lists xmlns="${RL}"><list name="a"/><list name="b" >x</list></resource-lists>`);
  });

  it('no-parent when the element does not exist', () => {
    const err = expectConflict(() => putAttribute(contacts(), sel(`${FRIENDS}/entry[@uri="nope"]/@x`), 'v', DOC_URI), NoParent);
    expect(err.ancestor).toBe(`${DOC_URI}/~~/resource-lists/list%5B@name=%22friends%22%5D`);
  });

  it.each([
    ['a<b', '<'],
    ['a & b', 'bare &'],
    ['&foo;', 'unknown entity'],
    ['&#0;', 'reference to a non-character'],
    ['"and\'', 'both quote characters raw'],
    ['a\u0001', 'control character'],
  ])('not-xml-att-value for %j (%s)', (value) => {
    expectConflict(() => putAttribute(contacts(), sel(`${FRIENDS}/@name`), value, DOC_URI), NotXmlAttValue);
  });

  it('405 for a namespace selector', () => {
    expect(() => putAttribute(contacts(), sel(`${FRIENDS}/namespace::*`), 'v', DOC_URI)).toThrow(MethodNotAllowed);
  });
});
