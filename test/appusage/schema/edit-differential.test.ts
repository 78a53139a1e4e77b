/**
 * Differential tests of element-PUT validation (RFC 4825 §7.4, RFC 4826 §3.4.5): when only
 * one element of a valid resource-lists document changed, the usage judges that element,
 * its siblings' keys and its ref/anchor rules instead of the whole document (for an
 * attribute write or removal, or a child's DELETE, only its start tag and children). Over
 * random valid documents and random element replacements and inserts, attribute writes,
 * removals and element DELETEs, the verdict and the error
 * (condition and phrase) must be exactly those of validating the whole document, and a fast
 * 'accept' of the edit must be a libxml2 accept of the stored text.
 */
import type { Document, Element } from '@xmldom/xmldom';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { childElements } from '../../../src/appusage/common/dom.ts';
import { schemaFile } from '../../../src/appusage/common/paths.ts';
import { resourceLists } from '../../../src/appusage/resource-lists/index.ts';
import { compileValidators } from '../../../src/appusage/schema.ts';
import type { CandidateDocument, UsageContext } from '../../../src/appusage/types.ts';
import type { DocumentStore } from '../../../src/store/types.ts';
import { parseDocument, serialize } from '../../../src/xcap/xml.ts';
import { ALICE, context, openStore, outcome } from '../context.ts';

const RL = 'urn:ietf:params:xml:ns:resource-lists';
const { fast, libxml2 } = compileValidators(schemaFile('resource-lists/resource-lists.xsd'), { imports: [schemaFile('common/xml.xsd')] });

const GOOD_REF = 'resource-lists/users/sip:b@example.com/index/~~/resource-lists/list%5b@name=%22x%22%5d';
// Few distinct keys, so repeats among siblings are common.
const uri = fc.constantFrom('sip:u0@x', 'sip:u1@x', 'sip:u2@x', 'tel:+1555');
const name = fc.constantFrom('a', 'b', 'c');
const leaf = fc.oneof(
  fc.record({ uri, dn: fc.option(fc.constantFrom('Ann', 'B &amp; C'), { nil: undefined }) }).map(({ uri, dn }) => (dn === undefined ? `<entry uri="${uri}"/>` : `<entry uri="${uri}"><display-name>${dn}</display-name></entry>`)),
  fc.constantFrom(`<entry-ref ref="${GOOD_REF}"/>`, '<external anchor="http://xcap.example.com/x"/>', '<!-- note -->'),
);
const list = (items: fc.Arbitrary<string>) =>
  fc.record({ name, dn: fc.boolean(), items: fc.array(items, { maxLength: 6 }) }).map(
    (l) => `<list name="${l.name}">${l.dn ? '<display-name>L</display-name>' : ''}${l.items.join('\n')}</list>`,
  );
const document = fc
  .array(list(fc.oneof({ weight: 4, arbitrary: leaf }, { weight: 1, arbitrary: list(leaf) })), { minLength: 1, maxLength: 3 })
  .map((lists) => `<?xml version="1.0" encoding="UTF-8"?>\n<resource-lists xmlns="${RL}" xmlns:x="urn:x">\n${lists.join('\n')}\n</resource-lists>\n`);

/** Element bodies as clients PUT them: valid, repeating a sibling's key, or breaking a rule. */
const FRAGMENTS = [
  '<entry uri="sip:u0@x"/>',
  '<entry uri="sip:u1@x"><display-name>One</display-name></entry>',
  '<entry uri="sip:new@x"><display-name>New</display-name></entry>',
  '<entry uri="sip:u9@x"><display-name>a</display-name><display-name>b</display-name></entry>',
  '<entry/>',
  '<entry uri="sip:u8@x" bogus="1"/>',
  '<entry uri="sip:u7@x" x:flag="1"/>',
  '<entry uri="sip:u6@x"><x:note>hi</x:note></entry>',
  '<list name="a"/>',
  '<list name="z"><entry uri="sip:u1@x"/><entry uri="sip:u1@x"/></list>',
  '<list name="y"><list name="q"/><list name="q"/></list>',
  '<list name="w"><entry uri="sip:u1@x"/><entry-ref ref="/abs"/></list>',
  `<entry-ref ref="${GOOD_REF}"/>`,
  '<entry-ref ref="/xcap-root/abs"/>',
  '<entry-ref ref="pres-rules/users/x/index/~~/a"/>',
  '<external anchor="http://xcap.example.com/y"/>',
  '<external anchor="ftp://h/x"/>',
  '<display-name>D</display-name>',
  '<foo/>',
  '<x:ext/>',
];

const edit = fc.record({ replace: fc.boolean(), at: fc.nat(), pos: fc.nat(), fragment: fc.constantFrom(...FRAGMENTS) });
type Edit = typeof edit extends fc.Arbitrary<infer E> ? E : never;

/** Applies `e` as an element PUT would: the new element replaces one, or goes in among a list's children. Undefined when it cannot. */
function applyEdit(dom: Document, e: Edit): Element | undefined {
  const holder = parseDocument(`<w xmlns="${RL}" xmlns:x="urn:x">${e.fragment}</w>`);
  const el = dom.importNode(holder.documentElement!.firstChild as Element, true) as Element;
  const elements = Array.from(dom.getElementsByTagNameNS(RL, '*')).filter((x) => x !== dom.documentElement);
  if (e.replace) {
    const target = elements[e.at % elements.length];
    if (target === undefined) return undefined;
    target.parentNode!.replaceChild(el, target);
  } else {
    const parents = [dom.documentElement!, ...elements.filter((x) => x.localName === 'list')];
    const parent = parents[e.at % parents.length] as Element;
    parent.insertBefore(el, parent.childNodes.item(e.pos % (parent.childNodes.length + 1)));
  }
  return el;
}

/**
 * Edits that change one element's start tag or children only (CandidateDocument.shallow):
 * an attribute written or removed (RFC 4825 §7.7, §7.8) or a child deleted (§7.5). `key`
 * is the attribute the element's siblings must not repeat; `sibling` copies a same-named
 * sibling's value of the attribute, so repeats are common.
 */
const SIBLING = '(a sibling value)';
const shallowEdit = fc.record({
  kind: fc.constantFrom('set', 'set', 'remove', 'delete'),
  at: fc.nat(),
  attr: fc.constantFrom('key', 'key', 'key', 'key', 'uri', 'name', 'bogus', 'x:flag', 'xml:lang'),
  value: fc.constantFrom(SIBLING, SIBLING, SIBLING, SIBLING, 'sip:new@x', 'new', GOOD_REF, '/abs', 'ftp://h/x', 'http://xcap.example.com/x', 'en', 'not a language', ''),
});
type ShallowEdit = typeof shallowEdit extends fc.Arbitrary<infer E> ? E : never;

const KEY: Record<string, string> = { list: 'name', entry: 'uri', 'entry-ref': 'ref', external: 'anchor' };
const NS_OF: Record<string, string> = { x: 'urn:x', xml: 'http://www.w3.org/XML/1998/namespace' };

/** Applies `e` to the DOM; the element whose start tag or children changed, or undefined when it cannot. */
function applyShallowEdit(dom: Document, e: ShallowEdit): Element | undefined {
  const all = Array.from(dom.getElementsByTagNameNS('*', '*'));
  // A key is written on the elements that have one.
  const some = e.kind === 'set' && e.attr === 'key' ? all.filter((x) => x.namespaceURI === RL && KEY[x.localName ?? ''] !== undefined) : all;
  const el = some[e.at % some.length];
  if (el === undefined) return undefined;
  const attr = e.attr === 'key' ? (KEY[el.localName ?? ''] ?? 'name') : e.attr;
  const colon = attr.indexOf(':');
  const ns = colon < 0 ? null : (NS_OF[attr.slice(0, colon)] as string);
  const local = colon < 0 ? attr : attr.slice(colon + 1);
  if (e.kind === 'delete') {
    if (el === dom.documentElement) return undefined;
    const parent = el.parentNode as Element;
    parent.removeChild(el);
    return parent;
  }
  if (e.kind === 'remove') {
    if (!el.hasAttributeNS(ns, local)) return undefined;
    el.removeAttributeNS(ns, local);
    return el;
  }
  let value: string = e.value;
  if (value === SIBLING) {
    const siblings = childElements(el.parentNode as Element, el.namespaceURI ?? '', el.localName ?? '').filter((x) => x !== el && x.hasAttributeNS(ns, local));
    if (siblings.length === 0) return undefined;
    value = siblings[e.at % siblings.length]!.getAttributeNS(ns, local) as string;
  }
  el.setAttributeNS(ns, attr, value);
  return el;
}

describe('RFC 4825 §7.4 element PUT judged by the edited element: same verdict as the whole document', () => {
  let store: DocumentStore;
  let ctx: UsageContext;
  beforeAll(async () => {
    store = await openStore();
    ctx = context(store, { auid: 'resource-lists', xui: ALICE, path: 'index' });
  });

  it('every edit of a valid document gets the whole-document verdict and phrase; an accepted edit is valid for libxml2', async () => {
    let judgedAlone = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(document, fc.array(edit, { minLength: 1, maxLength: 3 }), async (base, edits) => {
        fc.pre((await outcome(() => resourceLists.validate({ text: base, dom: () => parseDocument(base) }, ctx))) === 'valid');
        // Edits in a row, each on the result of the one before when that was valid, as a
        // server's cached DOM goes from one element PUT to the next.
        let dom = parseDocument(base);
        for (const e of edits) {
          const edited = applyEdit(dom, e);
          if (edited === undefined) return;
          const text = serialize(dom);
          const whole = await outcome(() => resourceLists.validate({ text, dom: () => parseDocument(text) }, ctx));
          const candidate: CandidateDocument = { text, dom: () => dom, parsed: dom, edited };
          expect(await outcome(() => resourceLists.validate(candidate, ctx)), text).toBe(whole);
          if (fast?.checkEdit(dom, edited, text.length) === 'accept') {
            judgedAlone++;
            expect(() => libxml2.validate(text), text).not.toThrow();
          }
          if (whole !== 'valid') {
            refused++;
            return;
          }
          dom = parseDocument(text);
        }
      }),
      { numRuns: 1500 },
    );
    // Neither side of the property is vacuous.
    expect(judgedAlone).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });

  it('every attribute write or removal and every element DELETE gets the whole-document verdict and phrase', async () => {
    let judgedAlone = 0;
    let refused = 0;
    let repeats = 0;
    await fc.assert(
      fc.asyncProperty(document, fc.array(shallowEdit, { minLength: 1, maxLength: 4 }), async (base, edits) => {
        fc.pre((await outcome(() => resourceLists.validate({ text: base, dom: () => parseDocument(base) }, ctx))) === 'valid');
        let dom = parseDocument(base);
        for (const e of edits) {
          const edited = applyShallowEdit(dom, e);
          if (edited === undefined) return;
          const text = serialize(dom);
          const whole = await outcome(() => resourceLists.validate({ text, dom: () => parseDocument(text) }, ctx));
          const candidate: CandidateDocument = { text, dom: () => dom, parsed: dom, edited, shallow: true };
          expect(await outcome(() => resourceLists.validate(candidate, ctx)), text).toBe(whole);
          if (fast?.checkEdit(dom, edited, text.length, true) === 'accept') {
            judgedAlone++;
            expect(() => libxml2.validate(text), text).not.toThrow();
          }
          if (whole !== 'valid') {
            refused++;
            if (whole.startsWith('UniquenessFailure')) repeats++;
            return;
          }
          dom = parseDocument(text);
        }
      }),
      { numRuns: 1500 },
    );
    expect(judgedAlone).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
    // Repeats among siblings are what a shallow judgement can miss: they must be common.
    expect(repeats).toBeGreaterThan(15);
  });

  it('an entry replaced in a 1,000-entry list is judged alone, without the whole-document walk', () => {
    const entries = Array.from({ length: 1000 }, (_, i) => `<entry uri="sip:u${i}@x"><display-name>U${i}</display-name></entry>`);
    const dom = parseDocument(`<resource-lists xmlns="${RL}"><list name="a">${entries.join('')}</list></resource-lists>`);
    const fresh = parseDocument(`<entry xmlns="${RL}" uri="sip:u500@x"><display-name>Five hundred</display-name></entry>`);
    const el = dom.importNode(fresh.documentElement!, true) as Element;
    const old = dom.getElementsByTagNameNS(RL, 'entry').item(500)!;
    old.parentNode!.replaceChild(el, old);
    expect(fast?.checkEdit(dom, el, serialize(dom).length)).toBe('accept');
    // A repeat of a sibling's uri is refused by the siblings' keys alone.
    el.setAttribute('uri', 'sip:u999@x');
    expect(fast?.checkEdit(dom, el, serialize(dom).length)).toBe('reject');
  });
});
