/**
 * RFC 4825 §8.3 / §8.2: node operations read and write a document's bytes through the span
 * of each element in its text (src/xcap/text-spans.ts). For generated documents (every
 * markup kind, quotes and `>` in values, CRLFs) every element's span is exactly its bytes:
 * parsed where it stands it is the element the DOM holds, and its attribute spans are the
 * DOM's attributes with their values as written.
 */
import type { Element } from '@xmldom/xmldom';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { attributeSpans, elementSpan, fragmentSpan } from '../../src/xcap/text-spans.ts';
import { normalizeAttValue, parseDocument, parseElementFragment, serialize } from '../../src/xcap/xml.ts';
import { documentText } from './generated-documents.ts';

function elements(root: Element): Element[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    for (let c = out[i]!.firstChild; c !== null; c = c.nextSibling) if (c.nodeType === 1) out.push(c as Element);
  }
  return out;
}

function expectSpansMatch(text: string): void {
  const doc = parseDocument(text);
  for (const el of elements(doc.documentElement!)) {
    const span = elementSpan(text, el);
    const bytes = text.slice(span.start, span.end);
    const parent = el.parentNode!.nodeType === 1 ? (el.parentNode as Element) : null;
    expect(serialize(parseElementFragment(bytes, parent))).toBe(serialize(el));
    expect(span.empty).toBe(bytes.endsWith('/>') && span.tagEnd === span.end);
    const attrs = attributeSpans(text, span);
    expect(attrs.map((a) => a.name)).toEqual(Array.from(el.attributes).map((a) => a.name));
    for (const a of attrs) expect(normalizeAttValue(text.slice(a.valueStart, a.valueEnd))).toBe(el.getAttribute(a.name));
  }
}

describe('RFC 4825 §8.3 element and attribute spans in the stored text', () => {
  it('are each element\'s bytes, in generated documents', () => {
    fc.assert(fc.property(documentText, expectSpansMatch), { numRuns: 400 });
  });

  it('hold with CRLF line ends, single quotes, spaces around = and > inside values', () => {
    fc.assert(
      fc.property(documentText, (text) => expectSpansMatch(text.replace(/\n/g, '\r\n').replace(/ ([\w:.-]+)="([^"]*)"/g, (_m, n: string, v: string) => (v.includes("'") ? ` ${n} = "${v}"` : ` ${n}='${v}'`)))),
      { numRuns: 300 },
    );
    expectSpansMatch(`<a x='>' y=">'"><b z="a>b"/>t > u<c/></a>`);
  });

  it('find the one element of a PUT body past its declaration, comments and PIs', () => {
    const body = `<?xml version="1.0"?>\n<!-- c <x/> -->\n<?pi <y/>?>\n<entry a=">"><b/></entry>\n<!-- after -->\n`;
    const span = fragmentSpan(body);
    expect(body.slice(span.start, span.end)).toBe('<entry a=">"><b/></entry>');
  });
});
