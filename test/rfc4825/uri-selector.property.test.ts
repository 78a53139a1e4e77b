/**
 * Properties of the URI and selector parsers over generated input (fast-check):
 * - they raise nothing but BadRequest / NotFound, whatever the string;
 * - a selector built from parts, written out and percent-encoded, parses back to the parts;
 * - the percent-encoded and the raw forms of a URI parse the same.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BadRequest, NotFound } from '../../src/xcap/errors.ts';
import { parseSelector } from '../../src/xcap/selector/parse.ts';
import { encodeSelector, formatXmlnsQuery, parseXcapUri } from '../../src/xcap/uri.ts';
import { stringToAttValue } from '../../src/xcap/xml.ts';

const DEFAULT_NS = 'urn:default';
const opts = { root: '/xcap-root', defaultDomain: 'example.com' };
const BASE = '/xcap-root/resource-lists/users/sip:alice@example.com/index';

const ncName = fc.stringMatching(/^[A-Za-z_][-.\w]{0,8}$/);
const nsUri = fc.constantFrom('urn:a', 'urn:b:c', 'http://example.com/ns?x=(1)', 'urn:with space^');
/** Attribute values: any text without non-XML characters (surrogate pairs included). */
const attValue = fc
  .string({ unit: 'binary', maxLength: 12 })
  .map((s) => [...s].filter((ch) => isXmlChar(ch.codePointAt(0)!) && !/[\t\n\r]/.test(ch)).join(''));

function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || cp >= 0x10000;
}

interface StepModel {
  prefix: string | null;
  local: string | '*';
  position?: number;
  attr?: { prefix: string | null; local: string; value: string; quote: '"' | "'" };
}
const prefixArb = fc.option(fc.constantFrom('p', 'q'), { nil: null });
const stepArb: fc.Arbitrary<StepModel> = fc.record(
  {
    prefix: prefixArb,
    local: fc.oneof(ncName, fc.constant('*' as const)),
    position: fc.integer({ min: 1, max: 99 }),
    attr: fc.record({ prefix: prefixArb, local: ncName, value: attValue, quote: fc.constantFrom('"' as const, "'" as const) }),
  },
  { requiredKeys: ['prefix', 'local'] },
);
const selectorArb = fc.record({
  steps: fc.array(stepArb, { minLength: 1, maxLength: 5 }),
  terminal: fc.option(fc.oneof(fc.record({ prefix: prefixArb, local: ncName }), fc.constant('ns' as const)), { nil: null }),
  bindings: fc.record({ p: nsUri, q: nsUri }),
});

function qname(prefix: string | null, local: string): string {
  return prefix === null || local === '*' ? local : `${prefix}:${local}`;
}
function quoted(value: string, quote: '"' | "'"): string {
  const escaped = stringToAttValue(value);
  return quote === '"' ? `"${escaped}"` : `'${escaped.replace(/&quot;/g, '"').replace(/'/g, '&apos;')}'`;
}
type SelectorModel = typeof selectorArb extends fc.Arbitrary<infer T> ? T : never;

function write(m: SelectorModel): string {
  const steps = m.steps.map((s) => {
    let t = qname(s.prefix, s.local);
    if (s.position !== undefined) t += `[${s.position}]`;
    if (s.attr) t += `[@${qname(s.attr.prefix, s.attr.local)}=${quoted(s.attr.value, s.attr.quote)}]`;
    return t;
  });
  if (m.terminal === 'ns') steps.push('namespace::*');
  else if (m.terminal) steps.push('@' + qname(m.terminal.prefix, m.terminal.local));
  return steps.join('/');
}

describe('RFC 4825 §6 URI and §6.3 selector parsers: properties', () => {
  it('raise only BadRequest or NotFound for arbitrary strings', () => {
    const tail = fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.stringMatching(/^[~/%5BbDdFf@="'[\]?:xmlns()a-z0-9]{0,60}$/));
    fc.assert(
      fc.property(fc.constantFrom('', '/xcap-root', '/xcap-root/', `${BASE}/~~/`, `${BASE}?`, '/xcap-root@'), tail, (head, t) => {
        for (const run of [() => parseXcapUri(head + t, opts), () => parseSelector(t, { p: 'urn:p' }, DEFAULT_NS)]) {
          try {
            run();
          } catch (e) {
            if (!(e instanceof BadRequest || e instanceof NotFound)) throw e;
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('parse(encode(selector)) gives back the selector', () => {
    fc.assert(
      fc.property(selectorArb, (m) => {
        const text = write(m);
        const uri = parseXcapUri(`${BASE}/~~/${encodeSelector(text)}${formatXmlnsQuery(m.bindings)}`, opts);
        expect(uri.selector).toBe(text);
        expect(uri.namespaces).toEqual(m.bindings);
        const sel = parseSelector(uri.selector!, uri.namespaces, DEFAULT_NS);
        const ns = (p: string | null) => (p === null ? DEFAULT_NS : m.bindings[p as 'p' | 'q']);
        expect(sel.steps).toHaveLength(m.steps.length);
        m.steps.forEach((s, i) => {
          const got = sel.steps[i]!;
          expect(got.local).toBe(s.local);
          expect(got.ns).toBe(s.local === '*' ? '*' : ns(s.prefix));
          expect(got.position).toBe(s.position);
          if (s.attr) expect(got.attr).toEqual({ ns: s.attr.prefix === null ? null : ns(s.attr.prefix), local: s.attr.local, value: s.attr.value });
          else expect(got.attr).toBeUndefined();
        });
        if (m.terminal === null) expect(sel.terminal).toBeNull();
        else if (m.terminal === 'ns') expect(sel.terminal).toEqual({ kind: 'namespace' });
        else expect(sel.terminal).toMatchObject({ kind: 'attribute', local: m.terminal.local, ns: m.terminal.prefix === null ? null : ns(m.terminal.prefix) });
      }),
      { numRuns: 1000 },
    );
  });

  it('the raw form, the encoded form and the fully encoded form with %3F parse the same', () => {
    fc.assert(
      fc.property(selectorArb, (m) => {
        const text = write(m);
        const query = formatXmlnsQuery(m.bindings);
        const encoded = parseXcapUri(`${BASE}/~~/${encodeSelector(text)}${query}`, opts);
        // Every byte percent-encoded, the ? of the query included (Doubango).
        const full = [...new TextEncoder().encode(text + decodeURIComponent(query))].map((b) => '%' + b.toString(16).padStart(2, '0')).join('');
        expect(parseXcapUri(`${BASE}/~~/${full}`, opts)).toEqual(encoded);
        // Raw, as python3-xcaplib sends it, when the text has nothing a request line cannot carry.
        if (!/[\s%#\u0080-\uFFFF]/.test(text + query)) expect(parseXcapUri(`${BASE}/~~/${text}${query}`, opts)).toEqual(encoded);
      }),
      { numRuns: 1000 },
    );
  });
});
