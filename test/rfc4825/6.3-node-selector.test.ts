import { describe, expect, it } from 'vitest';
import { BadRequest } from '../../src/xcap/errors.ts';
import { parseSelector } from '../../src/xcap/selector/parse.ts';
import { selectElement } from '../../src/xcap/selector/evaluate.ts';
import { parseDocument } from '../../src/xcap/xml.ts';
import { contacts, CP, RL, sel } from './helpers.ts';

const WI = 'urn:ietf:params:xml:ns:watcherinfo';

/** A watcherinfo document in the style of the §6.3 examples. */
function watchers() {
  return parseDocument(`<?xml version="1.0"?>
<watcherinfo xmlns="${WI}" version="0" state="full">
  <watcher-list resource="sip:professor@example.net" package="presence">
    <watcher status="active" id="w1" event="approved">sip:userA@example.net</watcher>
    <watcher status="pending" id="w2" event="subscribe">sip:userB@example.org</watcher>
  </watcher-list>
</watcherinfo>`);
}
const wsel = (t: string, ns: Record<string, string> = {}) => parseSelector(t, ns, WI);

describe('RFC 4825 §6.3 node selector grammar', () => {
  it('parses by-name, by-pos, by-attr and by-pos-attr steps', () => {
    const s = sel('resource-lists/*/entry[2]/x[@a="v"]/y[3][@b=\'w\']');
    expect(s.terminal).toBeNull();
    expect(s.steps).toEqual([
      { kind: 'element', ns: RL, local: 'resource-lists', text: 'resource-lists' },
      { kind: 'element', ns: '*', local: '*', text: '*' },
      { kind: 'element', ns: RL, local: 'entry', position: 2, text: 'entry[2]' },
      { kind: 'element', ns: RL, local: 'x', attr: { ns: null, local: 'a', value: 'v' }, text: 'x[@a="v"]' },
      { kind: 'element', ns: RL, local: 'y', position: 3, attr: { ns: null, local: 'b', value: 'w' }, text: "y[3][@b='w']" },
    ]);
  });

  it('position = 1*DIGIT: [0], leading zeros and more digits than a number holds are valid', () => {
    expect(sel('a/b[0]').steps[1]).toMatchObject({ position: 0, text: 'b[0]' });
    expect(sel('a/b[007]').steps[1]).toMatchObject({ position: 7 });
    expect(sel('a/b[99999999999999999999][@c="d"]').steps[1]).toMatchObject({ position: 1e20, attr: { local: 'c', value: 'd' } });
    expect(sel(`a/b[${'9'.repeat(400)}]`).steps[1]!.position).toBe(Infinity);
  });

  it('parses the attribute and namespace terminals', () => {
    expect(sel('a/b/@cp:id', { cp: CP }).terminal).toEqual({ kind: 'attribute', ns: CP, local: 'id', prefix: 'cp' });
    expect(sel('a/@name').terminal).toEqual({ kind: 'attribute', ns: null, local: 'name', prefix: null });
    expect(sel('a/b/namespace::*').terminal).toEqual({ kind: 'namespace' });
  });

  it('§6.4: binds prefixes from xmlns(), unprefixed elements to the default namespace, unprefixed attributes to none', () => {
    const s = sel('p:a/b[@q:c="1"]', { p: 'urn:p', q: 'urn:q' });
    expect(s.steps[0]).toMatchObject({ ns: 'urn:p', local: 'a' });
    expect(s.steps[1]).toMatchObject({ ns: RL, local: 'b', attr: { ns: 'urn:q', local: 'c', value: '1' } });
    expect(parseSelector('a', {}, '').steps[0]).toMatchObject({ ns: null });
    expect(sel('a/@xml:lang').terminal).toMatchObject({ ns: 'http://www.w3.org/XML/1998/namespace', local: 'lang' });
  });

  it('decodes references in the attribute test value and keeps / inside it', () => {
    expect(sel('a/b[@u="x/&quot;y&amp;&#x41;&#66;"]').steps[1]!.attr!.value).toBe('x/"y&AB');
  });

  it.each([
    ['', 'empty'],
    ['a/', 'trailing slash'],
    ['/a', 'leading slash (the URI parser strips it)'],
    ['a//b', 'empty step'],
    ['@a', 'attribute without element step'],
    ['namespace::*', 'namespace without element step'],
    ['a/namespace::*/b', 'namespace not last'],
    ['a/@b/c', 'attribute not last'],
    ['a/@*', 'attribute wildcard'],
    ['a[1x]', 'bad position'],
    ['a[1', 'unterminated position'],
    ['a[@b="c"][1]', 'attribute test before position'],
    ['a[@b="c"][@d="e"]', 'two attribute tests'],
    ['a[@b=c]', 'unquoted value'],
    ['a[@b="c]', 'unterminated value'],
    ['a[@b="c"', 'unterminated predicate'],
    ['a[@b="<"]', '< in value'],
    ['a[@b="&foo;"]', 'unknown entity'],
    ['a[@b="&"]', 'bare &'],
    ['a[b="c"]', 'predicate without @'],
    ['p:a', 'unbound prefix'],
    ['p:*', 'prefixed wildcard'],
    ['1a', 'not an NCName'],
    ['a b', 'space'],
    ['a/b[@p:c="1"]', 'unbound attribute prefix'],
    ['a:b:c', 'two colons'],
  ])('refuses %j (%s) with 400', (t) => {
    expect(() => sel(t)).toThrow(BadRequest);
  });
});

describe('RFC 4825 §6.3 node selector evaluation', () => {
  const doc = watchers();

  it('selects by attribute, by position, and with a wildcard', () => {
    expect(selectElement(doc, wsel('watcherinfo/watcher-list/watcher[@id="w1"]'))?.textContent).toBe('sip:userA@example.net');
    expect(selectElement(doc, wsel('watcherinfo/watcher-list/watcher[2]'))?.textContent).toBe('sip:userB@example.org');
    expect(selectElement(doc, wsel('watcherinfo/watcher-list/*[@id="w2"]'))?.getAttribute('status')).toBe('pending');
    expect(selectElement(doc, wsel('*/*'))?.localName).toBe('watcher-list');
  });

  it('§6.4: matches prefixed steps by namespace URI, not by the prefix the document uses', () => {
    const s = wsel('foo:watcherinfo/foo:watcher-list/foo:watcher[@id="w1"]', { foo: WI });
    expect(selectElement(doc, s)?.getAttribute('status')).toBe('active');
    expect(selectElement(doc, parseSelector('watcherinfo', {}, 'urn:other'))).toBeNull();
  });

  it('applies the position test among same-named siblings, then the attribute test', () => {
    const d = contacts().dom;
    // entry[2] is carol: with a matching uri it is selected ...
    expect(selectElement(d, sel('resource-lists/list[1]/entry[2][@uri="sip:carol@example.com"]'))).not.toBeNull();
    // ... and with dave's uri nothing is, although dave is the second entry whose uri passes "not bob".
    expect(selectElement(d, sel('resource-lists/list[1]/entry[2][@uri="sip:dave@example.com"]'))).toBeNull();
  });

  it('counts positions only among siblings passing the name test; * counts every element', () => {
    const d = parseDocument(`<r xmlns="${RL}"><a/><b id="1"/><a/><b id="2"/></r>`);
    expect(selectElement(d, sel('r/b[2]'))?.getAttribute('id')).toBe('2');
    expect(selectElement(d, sel('r/*[2]'))?.getAttribute('id')).toBe('1');
    expect(selectElement(d, sel('r/*[5]'))).toBeNull();
    expect(selectElement(d, sel('r/b[0]'))).toBeNull();
    expect(selectElement(d, sel('r[0]'))).toBeNull();
    expect(selectElement(d, sel('r/a[99999999999999999999]'))).toBeNull();
  });

  it('selects nothing when several elements match (RFC: treated as no match)', () => {
    const d = contacts().dom;
    expect(selectElement(d, sel('resource-lists/list/entry'))).toBeNull();
    expect(selectElement(d, sel('resource-lists/list'))).toBeNull();
  });

  it('follows every branch of an intermediate multi-match', () => {
    const d = contacts().dom;
    expect(selectElement(d, sel('resource-lists/list/entry[@uri="sip:erin@example.com"]'))?.parentNode).toBe(
      selectElement(d, sel('resource-lists/list[@name="work"]')),
    );
  });

  it('tests the root element with the first step, position and attribute included', () => {
    expect(selectElement(doc, wsel('watcherinfo[1][@state="full"]'))).toBe(doc.documentElement);
    expect(selectElement(doc, wsel('watcherinfo[2]'))).toBeNull();
    expect(selectElement(doc, wsel('watcherinfo[@state="partial"]'))).toBeNull();
    expect(selectElement(doc, wsel('watcher-list'))).toBeNull();
  });

  it('matches prefixed attributes by namespace and unprefixed ones in no namespace', () => {
    const d = contacts().dom;
    expect(selectElement(d, sel('resource-lists/list/entry[@x:id="d"]', { x: CP }))?.getAttribute('uri')).toBe('sip:dave@example.com');
    expect(selectElement(d, sel('resource-lists/list/entry[@id="d"]'))).toBeNull();
  });
});
