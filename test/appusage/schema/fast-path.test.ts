/**
 * The SchemaValidator contract with the fast path in front (RFC 4825 §5.3): valid documents
 * pass; invalid ones raise libxml2's error and phrase, except a repeated xs:unique value,
 * which the fast path words itself (libxml2 pays per repeat); schemas the fast path does
 * not support still validate (through libxml2 alone).
 */
import { describe, expect, it } from 'vitest';
import { schemaFile } from '../../../src/appusage/common/paths.ts';
import { compileValidators, loadSchema } from '../../../src/appusage/schema.ts';
import { NotWellFormed, SchemaValidationError } from '../../../src/xcap/errors.ts';
import { parseDocument, serialize } from '../../../src/xcap/xml.ts';

const RL = 'urn:ietf:params:xml:ns:resource-lists';
const opts = { imports: [schemaFile('common/xml.xsd')] };
const rlXsd = schemaFile('resource-lists/resource-lists.xsd');

function phraseOf(fn: () => void): { type: string; phrase: string | undefined } {
  try {
    fn();
  } catch (e) {
    return { type: (e as Error).constructor.name, phrase: (e as SchemaValidationError).phrase };
  }
  return { type: 'none', phrase: undefined };
}

describe('RFC 4826 §3.2 resource-lists through the fast path', () => {
  const { fast, libxml2 } = compileValidators(rlXsd, opts);
  const schema = loadSchema(rlXsd, opts);

  it('compiles the resource-lists schema to a fast path that accepts valid lists', () => {
    const text = `<resource-lists xmlns="${RL}"><list name="a"><entry uri="sip:a@example.com"><display-name xml:lang="en">A</display-name></entry><list name="b"/></list></resource-lists>`;
    expect(fast?.check(text)).toBe('accept');
    expect(() => schema.validate(text)).not.toThrow();
  });

  it('refuses a duplicate uri in one list (§3.4.5) with its own phrase; libxml2 refuses it too', () => {
    const text = `<resource-lists xmlns="${RL}"><list><entry uri="sip:a@x.com"/><entry uri="sip:a@x.com"/></list></resource-lists>`;
    expect(fast?.check(text)).toBe('reject');
    // The fourth element in document order: resource-lists, list, entry, entry.
    expect(fast?.duplicate).toEqual({ elementNs: RL, element: 'entry', attributeNs: '', attribute: 'uri', value: 'sip:a@x.com', ordinal: 4 });
    expect(phraseOf(() => schema.validate(text))).toEqual({ type: 'SchemaValidationError', phrase: 'the uri sip:a@x.com is repeated among <entry> siblings' });
    expect(phraseOf(() => libxml2.validate(text)).type).toBe('SchemaValidationError');
  });

  it('leaves a repeat that only whitespace collapsing makes to libxml2 (it may keep the values apart)', () => {
    const text = `<resource-lists xmlns="${RL}"><list name="a b"/><list name=" a  b "/></resource-lists>`;
    expect(fast?.check(text)).toBe('reject');
    expect(fast?.duplicate).toBeNull();
    expect(phraseOf(() => schema.validate(text))).toEqual(phraseOf(() => libxml2.validate(text)));
  });

  it.each([
    ['a missing required uri', `<list><entry/></list>`],
    ['display-name after the entries', `<list><entry uri="sip:a@x.com"/><display-name>x</display-name></list>`],
    ['an unknown element in the resource-lists namespace', `<list><contact/></list>`],
    ['an unqualified extension element', `<list><ext xmlns=""/></list>`],
    ['text in element-only content', `<list>hello</list>`],
    ['an unknown attribute in no namespace', `<list color="red"/>`],
  ])('refuses %s with libxml2\'s own phrase', (_why, body) => {
    const text = `<resource-lists xmlns="${RL}">${body}</resource-lists>`;
    expect(fast?.check(text)).toBe('reject');
    const viaFast = phraseOf(() => schema.validate(text));
    const viaLibxml2 = phraseOf(() => libxml2.validate(text));
    expect(viaFast.type).toBe('SchemaValidationError');
    expect(viaFast).toEqual(viaLibxml2);
  });

  it('reports a document that is not well-formed as NotWellFormed', () => {
    expect(() => schema.validate(`<resource-lists xmlns="${RL}"><list></resource-lists>`)).toThrow(NotWellFormed);
  });

  it('accepts foreign-namespace extensions (##other, lax) and validates them no further', () => {
    const text = `<resource-lists xmlns="${RL}"><list xmlns:v="urn:vendor" v:a="1"><entry uri="sip:a@x.com" v:b="2"><v:x><v:y/></v:x></entry><v:z/></list></resource-lists>`;
    expect(fast?.check(text)).toBe('accept');
    expect(() => schema.validate(text)).not.toThrow();
  });

  it('takes xsi:schemaLocation hints as libxml2 does (ignored), refuses xsi:nil on elements not nillable, leaves xsi:type to libxml2', () => {
    const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
    const doc = (root: string, list: string) =>
      `<resource-lists xmlns="${RL}" xmlns:xsi="${XSI}"${root}><list name="a"${list}><entry uri="sip:a@x"><display-name>A</display-name></entry></list></resource-lists>`;
    for (const [root, list, verdict] of [
      [` xsi:schemaLocation="${RL} resource-lists.xsd"`, '', 'accept'],
      [' xsi:schemaLocation="odd"', ' xsi:noNamespaceSchemaLocation="%%"', 'accept'],
      ['', ' xsi:nil="false"', 'reject'],
      ['', ' xsi:nil="maybe"', 'reject'],
      [' xsi:type="x"', '', 'unsure'],
    ] as const) {
      const text = doc(root, list);
      expect(fast?.check(text), text).toBe(verdict);
      if (verdict !== 'unsure') expect(phraseOf(() => libxml2.validate(text)).type, text).toBe(verdict === 'accept' ? 'none' : 'SchemaValidationError');
    }
  });

  it('leaves values it does not model (xml:lang with spaces, odd URIs) to libxml2', () => {
    expect(fast?.check(`<resource-lists xmlns="${RL}"><list><display-name xml:lang=" en">x</display-name></list></resource-lists>`)).toBe('unsure');
    expect(fast?.check(`<resource-lists xmlns="${RL}"><list><entry uri="sip:[::1]"/></list></resource-lists>`)).toBe('unsure');
  });
});

describe('RFC 4825 §7.5 DELETE judged from the parent (RFC 3863 PIDF: a tuple needs its status)', () => {
  const { fast, libxml2 } = compileValidators(schemaFile('pidf-manipulation/pidf.xsd'), opts);
  const PIDF = 'urn:ietf:params:xml:ns:pidf';
  const text = `<presence xmlns="${PIDF}" entity="pres:a@example.com"><tuple id="t1"><status><basic>open</basic></status><contact>sip:a@example.com</contact></tuple></presence>`;

  it('refuses the DELETE of a required child and not that of an optional one, as libxml2 judges the result', () => {
    // Unless told it was a removal, 'unsure' rather than 'accept' for the optional child: the
    // tuple's id is an xs:ID, unique across the whole document, and its start tag may have changed.
    for (const [child, verdict, unflagged] of [
      ['status', 'reject', 'reject'],
      ['contact', 'accept', 'unsure'],
    ] as const) {
      const dom = parseDocument(text);
      const tuple = dom.getElementsByTagNameNS(PIDF, 'tuple').item(0)!;
      tuple.removeChild(dom.getElementsByTagNameNS(PIDF, child).item(0)!);
      const after = serialize(dom);
      expect(fast?.checkEdit(dom, tuple, after.length, true, true), child).toBe(verdict);
      expect(fast?.checkEdit(dom, tuple, after.length, true), child).toBe(unflagged);
      expect(phraseOf(() => libxml2.validate(after)).type, child).toBe(verdict === 'reject' ? 'SchemaValidationError' : 'none');
    }
  });
});

describe('RFC 4825 §11.2 xcap-error (substitution groups: no fast path)', () => {
  it('is validated by libxml2 alone', () => {
    const xsd = schemaFile('xcap-error/xcap-error.xsd');
    expect(compileValidators(xsd).fast).toBeNull();
    const schema = loadSchema(xsd);
    const ns = 'urn:ietf:params:xml:ns:xcap-error';
    expect(() => schema.validate(`<xcap-error xmlns="${ns}"><not-well-formed/></xcap-error>`)).not.toThrow();
    expect(() => schema.validate(`<xcap-error xmlns="${ns}"><nonsense/></xcap-error>`)).toThrow(SchemaValidationError);
  });
});
