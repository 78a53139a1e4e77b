/**
 * RFC 4825 §11.1: the `phrase` of a 409 is for people. Each says what is wrong and where
 * (line and column when the parser knows them), never a parser's own wording (xmldom's
 * "Reporting fatalError ... caused ...", libxml2's function and option names). The
 * uniqueness-failure `field` is a URI reference, so it is percent-encoded, and it selects
 * the offending attribute when used as a node selector.
 */
import { describe, expect, it } from 'vitest';
import type { ClientResponse } from '../helpers/digest-client.ts';
import { aliceWithContacts, ALICE_RL, children, contacts, EL_TYPE, enc, expectConflict, RL_NS, RL_TYPE } from './helpers.ts';

/** What a parser's own words look like; none may reach a client. */
const INTERNALS = /Reporting|caused|fatalError|xmlParse|XML_PARSE|xmlSchema|ParseError|NotWellFormed|NotXmlFrag|instead!!|\{urn:/;

describe('RFC 4825 §11.1 error phrases over HTTP', () => {
  const alice = aliceWithContacts();

  /** The phrase of a 409 with `tag`, checked for parser internals. */
  function phraseOf(res: ClientResponse, tag: string): string {
    const phrase = expectConflict(res, tag).getAttribute('phrase') ?? '';
    expect(phrase).not.toMatch(INTERNALS);
    return phrase;
  }

  const entrySel = `${ALICE_RL}/~~/${enc('resource-lists/list[@name="friends"]/entry[@uri="sip:x@example.com"]')}`;
  const doc = (lines: string[]): string => lines.join('\n');

  it('a document whose tags do not match: which tags, and the line', async () => {
    const body = doc([`<resource-lists xmlns="${RL_NS}">`, '  <list name="friends">', '  </lst>', '</resource-lists>']);
    const phrase = phraseOf(await alice.c.put(ALICE_RL, body, RL_TYPE), 'not-well-formed');
    expect(phrase).toMatch(/<\/lst>.*<list>/);
    expect(phrase).toMatch(/line 3/);
    await alice.unchanged();
  });

  it('an element body whose tags do not match: not-xml-frag with the tags and the line', async () => {
    const phrase = phraseOf(await alice.c.put(entrySel, '<entry uri="sip:x@example.com">\n<display-name>X</name>\n</entry>', EL_TYPE), 'not-xml-frag');
    expect(phrase).toMatch(/<\/name>.*<display-name>/);
    expect(phrase).toMatch(/line 2/);
    await alice.unchanged();
  });

  it.each([
    ['an unclosed element', '<entry uri="sip:x@example.com">\n<display-name>X', /not closed/],
    ['an undefined entity', '<entry uri="sip:x@example.com">\n<display-name>&nbsp;</display-name></entry>', /&nbsp; is not defined/],
    ['an unquoted attribute value', '<entry uri=sip:x@example.com/>', /not quoted/],
    ['an attribute given twice', '<entry uri="sip:x@example.com" uri="sip:y@example.com"/>', /uri appears twice/],
    ['a "<" in an attribute value', '<entry uri="sip:<x@example.com"/>', /&lt;/],
    ['content after the element', '<entry uri="sip:x@example.com"/>\n<entry uri="sip:y@example.com"/>', /more than one root element/],
    ['text after the element', '<entry uri="sip:x@example.com"/>\ntext', /content after the root element/],
    ['a control character', '<entry uri="sip:x@example.com">\n<display-name>\u0001</display-name></entry>', /U\+0001 at line 2, column 15/],
  ])('an element body with %s: says what, with the line', async (_name, body, what) => {
    const phrase = phraseOf(await alice.c.put(entrySel, body, EL_TYPE), 'not-xml-frag');
    expect(phrase).toMatch(what);
    expect(phrase).toMatch(/line \d+/);
    await alice.unchanged();
  });

  it.each([
    ['a mismatched end tag', `<resource-lists xmlns="${RL_NS}">\n<list></lst></resource-lists>`, /<\/lst>/],
    ['an unclosed root', `<resource-lists xmlns="${RL_NS}">\n<list/>`, /not closed/],
    ['an undefined entity', `<resource-lists xmlns="${RL_NS}">\n<list name="&nbsp;"/></resource-lists>`, /&nbsp; is not defined/],
    ['an undeclared prefix', `<resource-lists xmlns="${RL_NS}">\n<x:list/></resource-lists>`, /prefix x/],
    ['an attribute without a value', `<resource-lists xmlns="${RL_NS}">\n<list name/></resource-lists>`, /name has no value/],
    ['a DOCTYPE', `<!DOCTYPE resource-lists>\n<resource-lists xmlns="${RL_NS}"/>`, /DOCTYPE is not accepted/],
  ])('a document with %s: says what, with the line', async (_name, body, what) => {
    const phrase = phraseOf(await alice.c.put(ALICE_RL, body, RL_TYPE), 'not-well-formed');
    expect(phrase).toMatch(what);
    expect(phrase).toMatch(/line \d+/);
    await alice.unchanged();
  });

  it('a schema violation names the element and attribute (no namespace URIs) and the line', async () => {
    const body = doc([`<resource-lists xmlns="${RL_NS}">`, '  <list name="a">', '    <entry href="sip:x@example.com"/>', '  </list>', '</resource-lists>']);
    const phrase = phraseOf(await alice.c.put(ALICE_RL, body, RL_TYPE), 'schema-validation-error');
    expect(phrase).toMatch(/entry.*href/);
    expect(phrase).toMatch(/line 3/);
    await alice.unchanged();
  });

  it('invalid UTF-8: not-utf-8 says at which byte', async () => {
    const head = Buffer.from(`<resource-lists xmlns="${RL_NS}"><list name="`);
    const body = Buffer.concat([head, Buffer.from([0xc3, 0x28]), Buffer.from('"/></resource-lists>')]);
    const phrase = phraseOf(await alice.c.put(ALICE_RL, body, RL_TYPE), 'not-utf-8');
    expect(phrase).toContain(`offset ${head.length}`);
    await alice.unchanged();
  });

  it('uniqueness-failure: the field is percent-encoded and, as a node selector, selects the duplicate', async () => {
    const body = contacts().replace('<entry uri="sip:carol@example.com">', '<entry uri="sip:bob@example.com">');
    const cond = expectConflict(await alice.c.put(ALICE_RL, body, RL_TYPE), 'uniqueness-failure');
    const field = children(cond, 'exists')[0]!.getAttribute('field') as string;
    expect(field).toBe('resource-lists/list%5B1%5D/entry%5B2%5D/@uri');
    // A URI reference as it stands: no character that would need encoding in a URI.
    expect(field).not.toMatch(/[[\]"<>\s]/);
    await alice.unchanged();
    // Put the duplicate in place by other means, and the field reads its value back.
    const edited = await alice.c.put(`${ALICE_RL}/~~/${field}`, 'sip:dave@example.com', 'application/xcap-att+xml');
    expect(edited.status).toBe(200);
    expect((await alice.c.get(`${ALICE_RL}/~~/${field}`)).body).toBe('sip:dave@example.com');
  });
});
