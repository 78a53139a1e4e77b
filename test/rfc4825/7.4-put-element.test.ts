import { describe, expect, it } from 'vitest';
import { CannotInsert, MethodNotAllowed, NoParent, NotXmlFrag } from '../../src/xcap/errors.ts';
import { getNode, putElement } from '../../src/xcap/node-ops.ts';
import { selectElement } from '../../src/xcap/selector/evaluate.ts';
import { contacts, CP, DOC_URI, editable, expectConflict, RL, sel, text } from './helpers.ts';

const FRIENDS = 'resource-lists/list[@name="friends"]';
const uris = (doc: ReturnType<typeof contacts>, list = FRIENDS) =>
  [...selectElement(doc.dom, sel(list))!.getElementsByTagNameNS(RL, 'entry')].map((e) => e.getAttribute('uri'));

describe('RFC 4825 §7.4 create or replace an element', () => {
  it('inserts a new entry after the last sibling of the same name (201) and reads it back', () => {
    const doc = contacts();
    const s = sel(`${FRIENDS}/entry[@uri="sip:zoe@example.com"]`);
    const put = putElement(doc, s, '<entry uri="sip:zoe@example.com"><display-name>Zoe</display-name></entry>', DOC_URI);
    expect(put.created).toBe(true);
    // The element it returns is the one now in the document.
    expect(put.element.getAttribute('uri')).toBe('sip:zoe@example.com');
    expect(put.element.ownerDocument).toBe(doc.dom);
    expect(put.element.parentNode).not.toBeNull();
    expect(uris(doc)).toEqual(['sip:bob@example.com', 'sip:carol@example.com', 'sip:dave@example.com', 'sip:zoe@example.com']);
    expect(getNode(doc, s).body).toBe('<entry uri="sip:zoe@example.com"><display-name>Zoe</display-name></entry>');
  });

  it('puts an un-declared fragment in the namespaces in scope at the parent, byte for byte', () => {
    const doc = contacts();
    putElement(doc, sel(`${FRIENDS}/entry[@uri="sip:z@x"]`), '<entry uri="sip:z@x" cp:id="z"/>', DOC_URI);
    const el = selectElement(doc.dom, sel(`${FRIENDS}/entry[@uri="sip:z@x"]`))!;
    expect(el.namespaceURI).toBe(RL);
    expect(el.getAttributeNS(CP, 'id')).toBe('z');
    expect(text(doc)).toContain('<entry uri="sip:z@x" cp:id="z"/>');
  });

  it('accepts a body that declares its namespace itself, keeping the element as sent (declaration and comments around it go)', () => {
    const doc = contacts();
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<!-- from a client -->\n<entry xmlns="${RL}" uri="sip:y@x"/>\n<!-- end -->\n`;
    const s = sel(`${FRIENDS}/entry[@uri="sip:y@x"]`);
    putElement(doc, s, body, DOC_URI);
    expect(text(doc)).toContain(`<entry uri="sip:dave@example.com" cp:id="d"/><entry xmlns="${RL}" uri="sip:y@x"/>\n  </list>`);
    expect(getNode(doc, s).body).toBe(`<entry xmlns="${RL}" uri="sip:y@x"/>`);
  });

  it('§8.2.3: adds no whitespace of its own: the new element follows its sibling directly', () => {
    const doc = contacts();
    putElement(doc, sel('resource-lists/list[@name="work"]/entry[@uri="sip:f@x"]'), '<entry uri="sip:f@x"/>', DOC_URI);
    expect(text(doc)).toContain('<entry uri="sip:erin@example.com"/><entry uri="sip:f@x"/>\n  </list>');
  });

  it('replaces the selected element in place (200)', () => {
    const doc = contacts();
    const s = sel(`${FRIENDS}/entry[@uri="sip:carol@example.com"]`);
    const put = putElement(doc, s, '<entry uri="sip:carol@example.com"><display-name>Caro</display-name></entry>', DOC_URI);
    expect(put.created).toBe(false);
    expect(put.element.textContent).toBe('Caro');
    expect(uris(doc)).toEqual(['sip:bob@example.com', 'sip:carol@example.com', 'sip:dave@example.com']);
    expect(getNode(doc, s).body).toContain('<display-name>Caro</display-name>');
  });

  it('replaces by position', () => {
    const doc = contacts();
    expect(putElement(doc, sel(`${FRIENDS}/entry[1]`), '<entry uri="sip:b2@x"/>', DOC_URI).created).toBe(false);
    expect(uris(doc)[0]).toBe('sip:b2@x');
  });

  it('inserts by position: [n] makes it the n-th sibling passing the name test', () => {
    const doc = contacts();
    expect(putElement(doc, sel(`${FRIENDS}/entry[4]`), '<entry uri="sip:4@x"/>', DOC_URI).created).toBe(true);
    expect(uris(doc)).toEqual(['sip:bob@example.com', 'sip:carol@example.com', 'sip:dave@example.com', 'sip:4@x']);
    const d2 = editable(`<resource-lists xmlns="${RL}"><list name="l"><display-name>L</display-name></list></resource-lists>`);
    putElement(d2, sel('resource-lists/list/entry[1]'), '<entry uri="sip:1@x"/>', DOC_URI);
    putElement(d2, sel('resource-lists/list/entry[1][@uri="sip:0@x"]'), '<entry uri="sip:0@x"/>', DOC_URI);
    expect(text(d2)).toBe(
      `<resource-lists xmlns="${RL}"><list name="l"><display-name>L</display-name><entry uri="sip:0@x"/><entry uri="sip:1@x"/></list></resource-lists>`,
    );
  });

  it('inserts a first child into an empty parent, written with an empty-element tag or not', () => {
    const doc = editable(`<resource-lists xmlns="${RL}"><list name="l" /><list name="m">\n</list></resource-lists>`);
    putElement(doc, sel('resource-lists/list[@name="l"]/entry[@uri="a"]'), '<entry uri="a"/>', DOC_URI);
    putElement(doc, sel('resource-lists/list[@name="m"]/entry[@uri="b"]'), '<entry uri="b"></entry>', DOC_URI);
    expect(text(doc)).toBe(`<resource-lists xmlns="${RL}"><list name="l" ><entry uri="a"/></list><list name="m">\n<entry uri="b"></entry></list></resource-lists>`);
  });

  it('inserts before the first sibling for [1][@a="v"], and leaves every other byte of the document alone', () => {
    const original = `<?xml version='1.0'?>\r\n<resource-lists xmlns='${RL}'>\r\n\t<list name='l'>\r\n\t\t<entry uri='b' ></entry>\r\n\t</list>\r\n</resource-lists>\r\n`;
    const doc = editable(original);
    expect(putElement(doc, sel('resource-lists/list/entry[1][@uri="a"]'), "<entry uri='a'/>", DOC_URI).created).toBe(true);
    expect(text(doc)).toBe(original.replace("<entry uri='b' >", "<entry uri='a'/><entry uri='b' >"));
  });

  it('replaces the root element when the body is selected by the same selector', () => {
    const doc = contacts();
    const put = putElement(doc, sel('resource-lists'), `<resource-lists xmlns="${RL}"/>`, DOC_URI);
    expect(put.created).toBe(false);
    expect(put.element).toBe(doc.dom.documentElement);
    expect(text(doc)).toContain(`<resource-lists xmlns="${RL}"/>`);
  });

  describe('cannot-insert (§8.2.3): the URI would not select what was put; the document is unchanged', () => {
    it.each([
      [`${FRIENDS}/entry[@uri="sip:a@x"]`, '<entry uri="sip:b@x"/>', 'insert whose body changes the tested attribute'],
      [`${FRIENDS}/entry[@uri="sip:bob@example.com"]`, '<entry uri="sip:other@x"/>', 'replace whose body changes the tested attribute'],
      [`${FRIENDS}/entry[@uri="sip:a@x"]`, '<list name="x" uri="sip:a@x"/>', 'body name differs from the step'],
      [`${FRIENDS}/entry[@uri="sip:a@x"]`, `<entry xmlns="urn:other" uri="sip:a@x"/>`, 'body namespace differs from the step'],
      [`${FRIENDS}/entry[6]`, '<entry uri="sip:6@x"/>', 'position beyond the last sibling + 1'],
      [`${FRIENDS}/entry[0]`, '<entry uri="sip:0@x"/>', 'position 0 (valid syntax, selects nothing)'],
      [`${FRIENDS}/entry[99999999999999999999]`, '<entry uri="sip:0@x"/>', 'a position no number holds'],
      [`${FRIENDS}/entry[0][@uri="sip:0@x"]`, '<entry uri="sip:0@x"/>', 'position 0 with an attribute test'],
      [`${FRIENDS}/entry`, '<entry uri="sip:n@x"/>', 'selector matches several, so the new one is not the only match'],
      ['other-root', '<other-root/>', 'a second root element'],
      ['resource-lists', '<other/>', 'root replaced by a differently named element'],
    ])('%s with %s (%s)', (selector, body) => {
      const doc = contacts();
      const before = text(doc);
      expectConflict(() => putElement(doc, sel(selector), body, DOC_URI), CannotInsert);
      expect(text(doc)).toBe(before);
    });
  });

  describe('no-parent (§8.2.1, §11.2): ancestor is the closest existing ancestor', () => {
    it('names the deepest ancestor that exists, with the selector percent-encoded', () => {
      const doc = contacts();
      const err = expectConflict(
        () => putElement(doc, sel(`${FRIENDS}/entry[@uri="sip:zz@x"]/display-name/x`), '<x/>', DOC_URI),
        NoParent,
      );
      expect(err.ancestor).toBe(`${DOC_URI}/~~/resource-lists/list%5B@name=%22friends%22%5D`);
    });

    it('names the document when not even the root step matches', () => {
      const doc = contacts();
      const err = expectConflict(() => putElement(doc, sel('other/list/entry'), '<entry/>', DOC_URI), NoParent);
      expect(err.ancestor).toBe(DOC_URI);
    });

    it('keeps the xmlns() bindings the ancestor selector needs', () => {
      const doc = contacts();
      const err = expectConflict(() => putElement(doc, sel('r:resource-lists/r:list[@name="nope"]/r:entry', { r: RL }), '<entry/>', DOC_URI), NoParent);
      expect(err.ancestor).toBe(`${DOC_URI}/~~/r:resource-lists?xmlns(r=urn:ietf:params:xml:ns:resource-lists)`);
    });

    it('treats an ambiguous parent as missing', () => {
      const doc = contacts();
      const err = expectConflict(() => putElement(doc, sel('resource-lists/list/entry[@uri="n"]'), '<entry uri="n"/>', DOC_URI), NoParent);
      expect(err.ancestor).toBe(`${DOC_URI}/~~/resource-lists`);
    });
  });

  describe('§8.2.2 body checks', () => {
    it.each([
      ['<entry uri="a"/><entry uri="b"/>', 'two elements'],
      ['text<entry uri="a"/>', 'text before'],
      ['<entry uri="a"/>text', 'text after'],
      ['<entry uri="a">', 'unclosed'],
      ['', 'empty'],
      ['just text', 'no element'],
      ['<x:entry uri="a"/>', 'prefix bound nowhere'],
      ['<!DOCTYPE entry><entry uri="a"/>', 'DOCTYPE'],
      ['<entry uri=a/>', 'unquoted attribute (xmldom would only warn)'],
    ])('refuses %j (%s) with not-xml-frag', (body) => {
      const doc = contacts();
      expectConflict(() => putElement(doc, sel(`${FRIENDS}/entry[@uri="a"]`), body, DOC_URI), NotXmlFrag);
    });
  });

  it('§8.2.5: refuses a namespace selector with 405 Allow: GET', () => {
    const err = (() => {
      try {
        putElement(contacts(), sel(`${FRIENDS}/namespace::*`), '<entry/>', DOC_URI);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MethodNotAllowed);
    expect((err as MethodNotAllowed).headers).toEqual({ Allow: 'GET' });
  });
});
