/**
 * RFC 4826 §3.4.5 from the text: a resource-lists document the schema's fast path does not
 * accept gets the §3.4.5 checks by one scan before libxml2 (listConstraintsOfText) instead
 * of a DOM walk after it. Over random documents with repeated keys, bad refs and anchors,
 * nested and foreign elements, and mutations of their text, the scan must give exactly the
 * failure of the DOM walk (condition, phrase, field and suggested values), or none where it
 * finds none, whenever it vouches for the text.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkListConstraints, listConstraintsOfText } from '../../src/appusage/resource-lists/index.ts';
import { XcapConflict } from '../../src/xcap/errors.ts';
import { parseDocument } from '../../src/xcap/xml.ts';

const RL = 'urn:ietf:params:xml:ns:resource-lists';
const key = fc.constantFrom('a', 'b', 'sip:u0@x', 'sip:u1@x', ' a', 'a&#10;', 'resource-lists/users/x/index/~~/resource-lists/list', '/abs', 'ftp://h/x', 'http://h/x', '');
const attr = (name: string) => fc.option(key.map((v) => ` ${name}="${v}"`), { nil: '' });
const leaf = fc.oneof(
  attr('uri').map((a) => `<entry${a}/>`),
  attr('ref').map((a) => `<entry-ref${a}/>`),
  attr('anchor').map((a) => `<external${a}/>`),
  attr('uri').map((a) => `<x:entry${a}/>`),
  fc.constantFrom('<display-name>D</display-name>', '<!-- c -->', '<x:ext><entry uri="a"/><entry uri="a"/></x:ext>', '<entry uri="a"><list name="a"/><list name="a"/></entry>'),
);
const list = (items: fc.Arbitrary<string>) => fc.record({ a: attr('name'), items: fc.array(items, { maxLength: 5 }) }).map((l) => `<list${l.a}>${l.items.join('')}</list>`);
const document = fc
  .array(fc.oneof(list(fc.oneof({ weight: 3, arbitrary: leaf }, { weight: 1, arbitrary: list(leaf) })), leaf), { maxLength: 4 })
  .map((items) => `<resource-lists xmlns="${RL}" xmlns:x="urn:x">${items.join('\n')}</resource-lists>`);
const mutation = fc.record({ at: fc.nat(), what: fc.constantFrom('', '\t', '\r\n', '&amp;', '<', '"', ' uri="a"', ' name="b"') });

/** A failure as a client sees it: condition, phrase and the error body's detail. */
function seen(err: Error | null): unknown {
  if (err === null) return null;
  return err instanceof XcapConflict ? { tag: err.tag, phrase: err.phrase, detail: err.detailXml() } : String(err);
}

function fromDom(text: string): unknown {
  try {
    checkListConstraints(parseDocument(text).documentElement!, 'resource-lists');
    return null;
  } catch (err) {
    return seen(err as Error);
  }
}

describe('RFC 4826 §3.4.5 constraints checked from the text', () => {
  it('give the DOM walk’s failure, or none, whenever the scan vouches for the text', () => {
    let failures = 0;
    fc.assert(
      fc.property(document, fc.array(mutation, { maxLength: 2 }), (base, ms) => {
        const text = ms.reduce((t, m) => t.slice(0, m.at % (t.length + 1)) + m.what + t.slice(m.at % (t.length + 1)), base);
        const fromText = listConstraintsOfText(text);
        if (fromText === undefined) return;
        if (fromText !== null) failures++;
        expect(seen(fromText), text).toEqual(fromDom(text));
      }),
      { numRuns: 3000 },
    );
    expect(failures).toBeGreaterThan(500);
  });
});
