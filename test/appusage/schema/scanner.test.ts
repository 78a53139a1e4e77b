/**
 * The fast path's XML scanner: what it accepts is well-formed (XML 1.0 + Namespaces), what
 * it certainly refuses is 'reject', and what it leaves to libxml2 is 'unsure'.
 */
import { describe, expect, it } from 'vitest';
import { scan } from '../../../src/appusage/schema/scanner.ts';
import type { Attributes, XmlSink } from '../../../src/appusage/schema/scanner.ts';

/** Records events as strings: `<{ns}local a={ns}n=v>`, `text`, `</>`. */
function record(text: string): { verdict: string; events: string[] } {
  const events: string[] = [];
  const sink: XmlSink = {
    wantsText: true,
    startElement(ns: string, local: string, attrs: Attributes) {
      const as: string[] = [];
      for (let i = 0; i < attrs.count; i++) as.push(` {${attrs.ns[i]}}${attrs.local[i]}=${attrs.value[i]}`);
      events.push(`<{${ns}}${local}${as.join('')}>`);
      return undefined;
    },
    text(value: string | null) {
      events.push(JSON.stringify(value));
      return undefined;
    },
    comment() {
      events.push('comment');
      return undefined;
    },
    endElement() {
      events.push('</>');
      return undefined;
    },
  };
  return { verdict: scan(text, sink), events };
}

const verdict = (text: string): string => record(text).verdict;

describe('XML 1.0 well-formedness (fast scanner)', () => {
  it('resolves namespaces of elements and attributes, default namespace not applying to attributes', () => {
    const r = record('<?xml version="1.0" encoding="UTF-8"?>\n<a xmlns="urn:d" xmlns:p="urn:p" x="1" p:y="2"><p:b/></a>');
    expect(r.verdict).toBe('accept');
    expect(r.events).toEqual(['<{urn:d}a {}x=1 {urn:p}y=2>', '<{urn:p}b>', '</>', '</>']);
  });

  it('decodes the predefined entities and character references, normalizes attribute whitespace and line ends', () => {
    const r = record('<a v="x&#9;y\r\nz&amp;">1 &lt; 2 &#x1F600;\r\n</a>');
    expect(r.verdict).toBe('accept');
    expect(r.events).toEqual(['<{}a {}v=x\ty z&>', JSON.stringify('1 < 2 😀\n'), '</>']);
  });

  it('scopes namespace declarations to their element', () => {
    expect(verdict('<a><b xmlns:p="urn:p"/><p:c/></a>')).toBe('reject');
    expect(verdict('<a xmlns="urn:1"><b xmlns="urn:2"/><c/></a>')).toBe('accept');
  });

  it.each([
    ['unbalanced tags', '<a><b></a></b>'],
    ['unclosed root', '<a>'],
    ['two roots', '<a/><b/>'],
    ['text after the root', '<a/>x'],
    ['duplicate attribute', '<a x="1" x="2"/>'],
    ['duplicate expanded attribute name', '<a xmlns:p="urn:x" xmlns:q="urn:x" p:v="1" q:v="2"/>'],
    ['undeclared prefix', '<p:a/>'],
    ['undeclared attribute prefix', '<a p:x="1"/>'],
    ['undeclaring a prefix', '<a xmlns:p=""/>'],
    ['unknown entity', '<a>&nbsp;</a>'],
    ['reference to an illegal character', '<a>&#0;</a>'],
    ['reference to a surrogate', '<a v="&#xD800;"/>'],
    ['raw & in text', '<a>a & b</a>'],
    ['< in an attribute value', '<a v="<"/>'],
    [']]> in text', '<a>]]></a>'],
    ['-- in a comment', '<a><!-- a -- b --></a>'],
    ['control character', '<a>\u0001</a>'],
    ['U+FFFE', '<a>\uFFFE</a>'],
    ['lone surrogate', '<a>\uD800</a>'],
    ['name starting with a digit', '<1a/>'],
    ['two colons in a name', '<a:b:c xmlns:a="urn:a"/>'],
    ['attributes without whitespace between them', '<a x="1"y="2"/>'],
    ['unquoted attribute', '<a x=1/>'],
  ])('rejects %s', (_why, text) => {
    expect(verdict(text)).toBe('reject');
  });

  it.each([
    ['a DOCTYPE', '<!DOCTYPE a><a/>'],
    ['CDATA', '<a><![CDATA[x]]></a>'],
    ['a processing instruction', '<a><?pi x?></a>'],
    ['a non-UTF-8 encoding', '<?xml version="1.0" encoding="ISO-8859-1"?><a/>'],
    ['XML 1.1', '<?xml version="1.1"?><a/>'],
    ['a byte order mark', '\uFEFF<a/>'],
    ['a namespace name that is not a plain URI', '<a xmlns="urn:%zz"/>'],
    ['a reference in a namespace name', '<a xmlns="urn:&#120;"/>'],
    ['nesting deeper than libxml2 allows', `${'<a>'.repeat(300)}${'</a>'.repeat(300)}`],
  ])('leaves %s to libxml2', (_why, text) => {
    expect(verdict(text)).toBe('unsure');
  });

  it('accepts comments and whitespace around the root, and non-ASCII names (5th edition)', () => {
    expect(verdict('<!-- c -->\n<é·x>t</é·x>\n<!---->\n')).toBe('accept');
  });
});
