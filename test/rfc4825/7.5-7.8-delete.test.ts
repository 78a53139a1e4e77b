import { describe, expect, it } from 'vitest';
import { CannotDelete, MethodNotAllowed, NotFound } from '../../src/xcap/errors.ts';
import { deleteNode, getNode } from '../../src/xcap/node-ops.ts';
import { selectElement } from '../../src/xcap/selector/evaluate.ts';
import { contacts, CP, editable, expectConflict, RL, sel, text } from './helpers.ts';

const FRIENDS = 'resource-lists/list[@name="friends"]';

describe('RFC 4825 §7.5 delete an element', () => {
  it('removes the element and its indentation; the URI then selects nothing', () => {
    const doc = contacts();
    const s = sel(`${FRIENDS}/entry[@uri="sip:carol@example.com"]`);
    deleteNode(doc, s);
    expect(selectElement(doc.dom, s)).toBeNull();
    expect(text(doc)).toContain(
      '<entry uri="sip:bob@example.com"><display-name>Bob</display-name></entry>\n    <entry uri="sip:dave@example.com"',
    );
  });

  it('takes the whitespace before only when it is all the text there, CRLFs included; every other byte stays', () => {
    const doc = editable(`<resource-lists xmlns="${RL}">\r\n <list name="a"/>&#10; <list name="b"/>x <list name="c"/><list name="d"/>\r\n</resource-lists>`);
    deleteNode(doc, sel('resource-lists/list[@name="a"]'));
    deleteNode(doc, sel('resource-lists/list[@name="b"]'));
    deleteNode(doc, sel('resource-lists/list[@name="c"]'));
    expect(text(doc)).toBe(`<resource-lists xmlns="${RL}">&#10; x <list name="d"/>\r\n</resource-lists>`);
  });

  it('404 for [0] and positions past the end', () => {
    expect(() => deleteNode(contacts(), sel(`${FRIENDS}/entry[0]`))).toThrow(NotFound);
    expect(() => deleteNode(contacts(), sel(`${FRIENDS}/entry[99999999999999999999]`))).toThrow(NotFound);
  });

  it('deletes the last of a position-addressed set', () => {
    const doc = contacts();
    deleteNode(doc, sel(`${FRIENDS}/entry[3]`));
    expect(() => getNode(doc, sel(`${FRIENDS}/entry[3]`))).toThrow(NotFound);
  });

  it('cannot-delete when the URI would then select a sibling (entry[1] of several); unchanged after', () => {
    const doc = contacts();
    const before = text(doc);
    expectConflict(() => deleteNode(doc, sel(`${FRIENDS}/entry[1]`)), CannotDelete);
    expect(text(doc)).toBe(before);
  });

  it('cannot-delete for a wildcard step that would select the next element', () => {
    const doc = contacts();
    expectConflict(() => deleteNode(doc, sel('resource-lists/*[1]')), CannotDelete);
  });

  it('cannot-delete for the root element (the document must keep one)', () => {
    const doc = contacts();
    expectConflict(() => deleteNode(doc, sel('resource-lists')), CannotDelete);
  });

  it('404 when nothing, or several elements, are selected', () => {
    expect(() => deleteNode(contacts(), sel(`${FRIENDS}/entry[@uri="nope"]`))).toThrow(NotFound);
    expect(() => deleteNode(contacts(), sel(`${FRIENDS}/entry`))).toThrow(NotFound);
  });

  it('405 for a namespace selector', () => {
    expect(() => deleteNode(contacts(), sel(`${FRIENDS}/namespace::*`))).toThrow(MethodNotAllowed);
  });
});

describe('RFC 4825 §7.8 delete an attribute', () => {
  it('removes the attribute', () => {
    const doc = contacts();
    const s = sel(`${FRIENDS}/entry[3]/@c:id`, { c: CP });
    deleteNode(doc, s);
    expect(() => getNode(doc, s)).toThrow(NotFound);
    expect(text(doc)).toContain('<entry uri="sip:dave@example.com"/>');
  });

  it('removes the attribute with the whitespace before it, leaving the rest of the tag as written', () => {
    const doc = editable(`<resource-lists xmlns="${RL}"><list  a = 'x'\n  name="l" /></resource-lists>`);
    deleteNode(doc, sel('resource-lists/list/@a'));
    expect(text(doc)).toBe(`<resource-lists xmlns="${RL}"><list\n  name="l" /></resource-lists>`);
    deleteNode(doc, sel('resource-lists/list/@name'));
    expect(text(doc)).toBe(`<resource-lists xmlns="${RL}"><list /></resource-lists>`);
  });

  it('removes the attribute an element step tests', () => {
    const doc = contacts();
    deleteNode(doc, sel(`${FRIENDS}/entry[@uri="sip:bob@example.com"]/@uri`));
    expect(text(doc)).toContain('<entry><display-name>Bob</display-name></entry>');
  });

  it('404 for a missing attribute, and for a namespace declaration (not an attribute; removing it would unbind prefixes)', () => {
    expect(() => deleteNode(contacts(), sel(`${FRIENDS}/@nope`))).toThrow(NotFound);
    expect(() => deleteNode(contacts(), sel('resource-lists/@n:cp', { n: 'http://www.w3.org/2000/xmlns/' }))).toThrow(NotFound);
    expect(() => deleteNode(contacts(), sel('resource-lists/@xmlns'))).toThrow(NotFound);
  });
});
