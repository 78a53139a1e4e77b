import { describe, expect, it } from 'vitest';
import { NotUtf8, NotWellFormed, NotXmlFrag } from '../../src/xcap/errors.ts';
import { attValueToString, decodeUtf8, isValidAttValue, parseDocument, parseElementFragment, serialize } from '../../src/xcap/xml.ts';
import { RL } from './helpers.ts';

describe('RFC 4825 §8.2.2 request body: UTF-8', () => {
  it('decodes UTF-8 and drops a BOM', () => {
    expect(decodeUtf8(Buffer.from('\uFEFF<a>é</a>', 'utf8'))).toBe('<a>é</a>');
  });

  it.each([
    [Buffer.from([0x3c, 0x61, 0xff, 0x3e]), 'invalid byte'],
    [Buffer.from([0xc3]), 'truncated sequence'],
    [Buffer.from([0xed, 0xa0, 0x80]), 'encoded surrogate'],
    [Buffer.from('<a>é</a>', 'latin1'), 'Latin-1'],
  ])('not-utf-8 for %s (%s)', (buf) => {
    expect(() => decodeUtf8(buf)).toThrow(NotUtf8);
  });
});

describe('RFC 4825 §8.2.2 request body: whole documents', () => {
  it('parses a document with declaration, comments and processing instructions around the root', () => {
    const doc = parseDocument(`<?xml version="1.0" encoding="UTF-8"?>\n<!-- c --><?pi x?>\n<resource-lists xmlns="${RL}"/>\n<!-- end -->`);
    expect(doc.documentElement!.namespaceURI).toBe(RL);
    expect(serialize(doc)).toContain('<!-- end -->');
  });

  it.each([
    ['<a/><b/>', 'two roots'],
    ['<a/>text', 'text after the root'],
    ['text<a/>', 'text before the root'],
    ['', 'empty'],
    ['<a>', 'unclosed'],
    ['<a b=c/>', 'unquoted attribute'],
    ['<a b="1" b="2"/>', 'repeated attribute'],
    ['<a>&nbsp;</a>', 'undefined entity'],
    ['<p:a/>', 'unbound prefix'],
    ['<a>\u0001</a>', 'control character'],
    ['<!DOCTYPE a><a/>', 'DOCTYPE without subset'],
    ['<!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>', 'external DTD'],
    ['<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>', 'XXE'],
    ['<!DOCTYPE a [<!ENTITY x "y">]><a/>', 'internal entity declared but unused'],
  ])('not-well-formed for %j (%s)', (t) => {
    expect(() => parseDocument(t)).toThrow(NotWellFormed);
  });

  it('keeps U+FFFD, a legal character xmldom only warns about', () => {
    expect(parseDocument('<a>\uFFFD</a>').documentElement!.textContent).toBe('\uFFFD');
  });
});

describe('RFC 4825 §8.2.2 request body: element fragments', () => {
  it('resolves undeclared prefixes and the default namespace from the context element', () => {
    const ctx = parseDocument(`<r xmlns="${RL}" xmlns:x="urn:x"><list/></r>`).documentElement!.firstChild as never;
    const el = parseElementFragment('<entry x:a="1"><x:b/></entry>', ctx);
    expect(el.namespaceURI).toBe(RL);
    expect(el.getAttributeNS('urn:x', 'a')).toBe('1');
    expect((el.firstChild as unknown as { namespaceURI: string }).namespaceURI).toBe('urn:x');
  });

  it('lets the fragment declare its own bindings over the context', () => {
    const ctx = parseDocument(`<r xmlns="${RL}"/>`).documentElement!;
    expect(parseElementFragment('<entry xmlns="urn:other"/>', ctx).namespaceURI).toBe('urn:other');
  });

  it('has no namespaces without a context', () => {
    expect(parseElementFragment('<entry/>', null).namespaceURI).toBeNull();
    expect(() => parseElementFragment('<x:entry/>', null)).toThrow(NotXmlFrag);
  });

  it.each([['<a/><a/>'], ['<a/>x'], ['<!DOCTYPE a><a/>'], ['<!-- only a comment -->'], ['<a>']])('not-xml-frag for %j', (t) => {
    expect(() => parseElementFragment(t, null)).toThrow(NotXmlFrag);
  });
});

describe('RFC 4825 §8.2.2 / §11.2 not-xml-att-value', () => {
  it.each([
    ['plain', 'plain'],
    ['', ''],
    ['sip:a@b;x=1', 'sip:a@b;x=1'],
    ['a &amp; &lt;b&gt; &quot;c&apos;', 'a & <b> "c\''],
    ['&#65;&#x42;&#x1F600;', 'AB😀'],
    ['say "hi"', 'say "hi"'],
    ["it's", "it's"],
    ['a\r\nb\tc', 'a b c'],
  ])('accepts %j as %j', (body, value) => {
    expect(isValidAttValue(body)).toBe(true);
    expect(attValueToString(body)).toBe(value);
  });

  it.each([['<'], ['a & b'], ['&amp'], ['&unknown;'], ['&#xD800;'], ['&#1;'], ['&#;'], ['&#xZZ;'], ['"\''], ['\u0000'], ['\uFFFF']])(
    'refuses %j',
    (body) => {
      expect(isValidAttValue(body)).toBe(false);
      expect(attValueToString(body)).toBeNull();
    },
  );
});
