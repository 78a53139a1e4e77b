/**
 * The lean document serializer (src/xcap/serializer.ts) against xmldom's XMLSerializer:
 * on the usage fixtures, on generated documents, and on generated documents after element
 * PUTs of generated fragments, `serialize` must give the same text as xmldom, and that text
 * must parse back to the same infoset. Documents that need xmldom's namespace repair must
 * still come out as xmldom writes them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import type { Document, Element, Node } from '@xmldom/xmldom';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getNode, putElement } from '../../src/xcap/node-ops.ts';
import { parseSelector } from '../../src/xcap/selector/parse.ts';
import { serializeDocument } from '../../src/xcap/serializer.ts';
import { parseDocument, serialize } from '../../src/xcap/xml.ts';
import { charData, documentText } from './generated-documents.ts';

const xmldom = new XMLSerializer();
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'appusage');

/** Expanded names, attributes (sorted), text, comments and PIs, as a string to compare. */
function infoset(node: Node): string {
  switch (node.nodeType) {
    case 9:
    case 1: {
      let head = '';
      if (node.nodeType === 1) {
        const el = node as Element;
        const attrs: string[] = [];
        for (let i = 0; i < el.attributes.length; i++) {
          const a = el.attributes.item(i)!;
          attrs.push(`{${a.namespaceURI ?? ''}}${a.localName}=${JSON.stringify(a.value)}`);
        }
        head = `<{${el.namespaceURI ?? ''}}${el.localName} ${attrs.sort().join(' ')}>`;
      }
      let body = '';
      for (let c = node.firstChild; c !== null; c = c.nextSibling) body += infoset(c);
      return `${head}${body}</>`;
    }
    case 3:
    case 4:
      return `T${JSON.stringify((node as Node & { data: string }).data)}`;
    case 7:
      return `P${node.nodeName} ${JSON.stringify(node.nodeValue)}`;
    case 8:
      return `C${JSON.stringify(node.nodeValue)}`;
    default:
      return `?${node.nodeType}`;
  }
}

function reparse(text: string): Document {
  return new DOMParser({ onError: () => undefined }).parseFromString(text, 'text/xml');
}

/** Same text as xmldom, taken by the lean path, and parsing back to the same infoset. */
function expectLeanEqual(doc: Document): void {
  const lean = serializeDocument(doc);
  expect(lean).not.toBeNull();
  expect(lean).toBe(xmldom.serializeToString(doc));
  expect(infoset(reparse(lean!))).toBe(infoset(doc));
}

describe('RFC 4825 §8.2 document serialization after a write: lean serializer vs xmldom', () => {
  it('writes every usage fixture exactly as xmldom does', () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.xml'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expectLeanEqual(parseDocument(readFileSync(join(FIXTURES, f), 'utf8')));
  });

  it('writes generated documents exactly as xmldom does, and they parse back to the same infoset', () => {
    fc.assert(
      fc.property(documentText, (text) => {
        expectLeanEqual(parseDocument(text));
      }),
      { numRuns: 400 },
    );
  });

  it('writes documents after element PUTs of fragments that rely on the parent\'s bindings', () => {
    const base =
      '<?xml version="1.0"?>\n<rl:resource-lists xmlns:rl="urn:a" xmlns="urn:b" xmlns:cp="urn:c">\n  <rl:list name="f">\n    <entry uri="x"/>\n  </rl:list>\n</rl:resource-lists>';
    const fragment = fc.record({
      uri: charData.map((s) => s.replace(/[\t\n]/g, ' ')),
      extraDecl: fc.constantFrom('', ' xmlns="urn:b"', ' xmlns:cp="urn:c"', ' xmlns:cp="urn:other"', ' xmlns:z="urn:z"'),
      child: fc.constantFrom('', '<display-name>D &amp; &lt;</display-name>', '<cp:prop/>', '<!-- c --><z:x xmlns:z="urn:z" z:y="1"/>'),
    });
    fc.assert(
      fc.property(fragment, fc.boolean(), ({ uri, extraDecl, child }, replace) => {
        const doc = { text: base, dom: parseDocument(base) };
        const value = uri.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
        const sel = parseSelector(replace ? 'rl:resource-lists/rl:list/entry[@uri="x"]' : 'rl:resource-lists/rl:list/entry[2]', { rl: 'urn:a' }, 'urn:b');
        const attr = replace ? 'x' : value;
        const body = `<entry${extraDecl} uri="${attr.replace(/&(?!amp;|lt;|quot;)/g, '&amp;')}">${child}</entry>`;
        // A fragment keeps its declarations, whether it rebinds cp or repeats the parent's:
        // the edited DOM must serialize as xmldom does, and be what the new text parses to.
        putElement(doc, sel, body, '/doc');
        expectLeanEqual(doc.dom);
        expect(serialize(parseDocument(doc.text))).toBe(serialize(doc.dom));
        expect(getNode(doc, sel).body).toBe(body);
      }),
      { numRuns: 200 },
    );
  });

  it('leaves documents that need namespace repair to xmldom, with the same result', () => {
    const doc = parseDocument('<a xmlns="urn:a"><b/></a>');
    const root = doc.documentElement!;
    root.appendChild(doc.createElementNS('urn:other', 'c'));
    (root.firstChild as Element).setAttributeNS('urn:p', 'p:att', 'v');
    expect(serializeDocument(doc)).toBeNull();
    expect(serialize(doc)).toBe(xmldom.serializeToString(doc));
    expect(serialize(doc)).toContain('xmlns="urn:other"');
    expect(serialize(doc)).toContain('xmlns:p="urn:p"');
  });
});
