/**
 * RFC 4825 §8.3 (GET handling) and §8.2.3 (creation) through HTTP, compared byte for byte:
 * an element or attribute GET returns the node as it is in the document, with no namespace
 * declarations added from its ancestors; an element PUT stores its body's element as sent,
 * so GET(PUT(x)) == x; an insertion adds no whitespace of its own; and every write leaves
 * the bytes it does not address alone (whitespace, CRLFs, quotes, references), so the
 * whole document after a PUT and a DELETE of the same element is the one before.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import type { XcapClient } from '../helpers/digest-client.ts';
import { ALICE_RL, ATT_TYPE, contacts, EL_TYPE, enc, expectConflict, fragment, RL_NS, RL_TYPE } from './helpers.ts';

const EXT_NS = 'urn:example:ext';
const FRIENDS = 'resource-lists/list[@name="friends"]';

/** A stored document written the way some clients write them: CRLFs, tabs, single quotes, a prefix on the root. */
const ODD = [
  `<?xml version='1.0' encoding='UTF-8'?>`,
  `<!-- written by hand -->`,
  `<resource-lists xmlns='${RL_NS}' xmlns:x="${EXT_NS}">`,
  `\t<list  name = 'friends' >`,
  `\t\t<entry uri='sip:bob@example.com' x:tag="b&amp;b" ><display-name>Bob &#38; co</display-name></entry>`,
  `\t\t<entry uri="sip:carol@example.com"/>`,
  `\t</list>`,
  `</resource-lists>`,
  ``,
].join('\r\n');

describe.each(['sqlite', 'postgres'] as const)('%s: RFC 4825 §8.3 fragments as stored', (store) => {
  let gw: TestGateway;
  let c: XcapClient;
  beforeAll(async () => {
    gw = await startTestGateway({ store });
    c = gw.client();
  });
  afterAll(() => gw.stop());

  const at = (s: string, query = '') => `${ALICE_RL}/~~/${enc(s)}${query}`;
  const slice = (doc: string, from: string, to: string) => doc.slice(doc.indexOf(from), doc.indexOf(to, doc.indexOf(from)) + to.length);

  async function putDocument(body: string): Promise<void> {
    expect([200, 201]).toContain((await c.put(ALICE_RL, body, RL_TYPE)).status);
    expect((await c.get(ALICE_RL)).body).toBe(body);
  }

  describe('a tidy document', () => {
    beforeEach(() => putDocument(contacts()));

    it('GET of an element returns its bytes, without the xmlns its ancestors declare', async () => {
      const r = await c.get(at(FRIENDS));
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe(EL_TYPE);
      expect(r.body).toBe(slice(contacts(), '<list name="friends">', '</list>'));
      expect(r.body.startsWith('<list name="friends">\n')).toBe(true);
      // Read where it came from, it is the friends list in the resource-lists namespace.
      expect(fragment(r.body, { '': RL_NS }).namespaceURI).toBe(RL_NS);
    });

    it('GET(PUT(x)) == x for an inserted element that inherits the default namespace', async () => {
      const x = '<entry uri="sip:dave@example.com"><display-name>Dave</display-name></entry>';
      const s = at(`${FRIENDS}/entry[@uri="sip:dave@example.com"]`);
      expect((await c.put(s, x, EL_TYPE)).status).toBe(201);
      expect((await c.get(s)).body).toBe(x);
    });

    it('§8.2.3: an insertion adds no whitespace: the element follows its last same-named sibling directly', async () => {
      const x = '<entry uri="sip:dave@example.com"/>';
      expect((await c.put(at(`${FRIENDS}/entry[@uri="sip:dave@example.com"]`), x, EL_TYPE)).status).toBe(201);
      const carol = '<entry uri="sip:carol@example.com"><display-name>Carol</display-name></entry>';
      expect((await c.get(ALICE_RL)).body).toBe(contacts().replace(carol, carol + x));
    });

    it('§8.2.3: an insertion by position goes before the sibling it displaces, again without whitespace', async () => {
      const x = '<entry uri="sip:aaron@example.com"/>';
      expect((await c.put(at(`${FRIENDS}/entry[1][@uri="sip:aaron@example.com"]`), x, EL_TYPE)).status).toBe(201);
      expect((await c.get(ALICE_RL)).body).toBe(contacts().replace('<entry uri="sip:bob@example.com">', `${x}<entry uri="sip:bob@example.com">`));
      expect((await c.get(at(`${FRIENDS}/entry[1]`))).body).toBe(x);
    });

    it('a new list under the root, then an entry into it: each as sent, the document otherwise unchanged', async () => {
      const list = '<list name="family"/>';
      const entry = `<entry xmlns="${RL_NS}" uri="sip:mum@example.com"/>`;
      expect((await c.put(at('resource-lists/list[@name="family"]'), list, EL_TYPE)).status).toBe(201);
      expect((await c.put(at('resource-lists/list[@name="family"]/entry[1]'), entry, EL_TYPE)).status).toBe(201);
      expect((await c.get(at('resource-lists/list[@name="family"]/entry[1]'))).body).toBe(entry);
      const work = slice(contacts(), '<list name="work">', '</list>');
      expect((await c.get(ALICE_RL)).body).toBe(contacts().replace(work, `${work}<list name="family">${entry}</list>`));
    });

    it('a fragment with an XML declaration and comments around it: the element is stored, the rest is not', async () => {
      const x = '<entry uri="sip:erin2@example.com"/>';
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<!-- from the phone -->\n${x}\n<!-- end -->\n`;
      expect((await c.put(at('resource-lists/list[@name="work"]/entry[2]'), body, EL_TYPE)).status).toBe(201);
      expect((await c.get(at('resource-lists/list[@name="work"]/entry[2]'))).body).toBe(x);
      expect((await c.get(ALICE_RL)).body).toBe(contacts().replace('<entry uri="sip:erin@example.com"/>', `<entry uri="sip:erin@example.com"/>${x}`));
    });

    it('a fragment GET and PUT back unchanged leaves the document byte-identical', async () => {
      for (const s of [FRIENDS, `${FRIENDS}/entry[2]`, 'resource-lists/list[2]/entry[1]']) {
        const got = await c.get(at(s));
        expect((await c.put(at(s), got.body, EL_TYPE)).status, s).toBe(200);
        expect((await c.get(at(s))).body).toBe(got.body);
        expect((await c.get(ALICE_RL)).body).toBe(contacts());
      }
    });

    it('PUT then DELETE of the same element restores the document byte for byte', async () => {
      const s = at(`${FRIENDS}/entry[@uri="sip:zed@example.com"]`);
      expect((await c.put(s, '<entry uri="sip:zed@example.com"/>', EL_TYPE)).status).toBe(201);
      expect((await c.delete(s)).status).toBe(200);
      expect((await c.get(ALICE_RL)).body).toBe(contacts());
    });

    it('DELETE by position removes the element and the indentation before it, nothing else', async () => {
      expect((await c.delete(at(`${FRIENDS}/entry[2]`))).status).toBe(200);
      expect((await c.get(ALICE_RL)).body).toBe(contacts().replace('\n    <entry uri="sip:carol@example.com"><display-name>Carol</display-name></entry>', ''));
      expect((await c.get(at(`${FRIENDS}/entry[2]`))).status).toBe(404);
    });

    it('GET(PUT(v)) == v for attributes, quotes and references as sent; the quoting around it fits the value', async () => {
      const p = at(`${FRIENDS}/@x:note`, `?xmlns(x=${EXT_NS})`);
      for (const v of ['a &amp; b &lt;c&gt;', 'say "hi"', "it's", 'tab&#9;and&#10;newline', 'plain']) {
        expect([200, 201], v).toContain((await c.put(p, v, ATT_TYPE)).status);
        expect((await c.get(p)).body, v).toBe(v);
      }
      expect((await c.get(ALICE_RL)).body).toBe(contacts().replace('<list name="friends">', `<list name="friends" xmlns:x="${EXT_NS}" x:note="plain">`));
    });

    it('xmlns is not an attribute: PUT of it is 409 cannot-insert and GET 404; xml:lang needs no declaration', async () => {
      for (const [s, q] of [['resource-lists/list[1]/@xmlns', ''], ['resource-lists/list[1]/@n:x', '?xmlns(n=http://www.w3.org/2000/xmlns/)']]) {
        expectConflict(await c.put(at(s!, q), 'urn:example:other', ATT_TYPE), 'cannot-insert');
        expect((await c.get(at(s!, q))).status).toBe(404);
      }
      expect((await c.get(ALICE_RL)).body).toBe(contacts());
      expect((await c.put(at(`${FRIENDS}/@xml:lang`), 'en', ATT_TYPE)).status).toBe(201);
      expect((await c.get(ALICE_RL)).body).toBe(contacts().replace('<list name="friends">', '<list name="friends" xml:lang="en">'));
    });

    it('namespace::* still answers with every binding in scope (that is its purpose, §7.10)', async () => {
      const r = await c.get(at(`${FRIENDS}/namespace::*`));
      expect(r.status).toBe(200);
      expect(r.body).toBe(`<list xmlns="${RL_NS}"/>`);
    });
  });

  describe('a document with CRLFs, tabs, single quotes and a namespace prefix declared on the root', () => {
    beforeEach(() => putDocument(ODD));

    it('element and attribute GETs return the bytes as stored', async () => {
      const bob = `<entry uri='sip:bob@example.com' x:tag="b&amp;b" ><display-name>Bob &#38; co</display-name></entry>`;
      expect((await c.get(at(`${FRIENDS}/entry[1]`))).body).toBe(bob);
      expect((await c.get(at(FRIENDS))).body).toBe(slice(ODD, `<list  name = 'friends' >`, '</list>'));
      expect((await c.get(at(`${FRIENDS}/entry[1]/@x:tag`, `?xmlns(x=${EXT_NS})`))).body).toBe('b&amp;b');
      expect((await c.get(at(`${FRIENDS}/@name`))).body).toBe('friends');
    });

    it('an element using a prefix declared on an ancestor is stored as sent and reads back as sent', async () => {
      const x = `<entry  uri='sip:dave@example.com'\tx:tag='d' >\r\n\t\t\t<x:note>hi &amp; bye</x:note>\r\n\t\t</entry >`;
      const s = at(`${FRIENDS}/entry[@uri="sip:dave@example.com"]`);
      expect((await c.put(s, x, EL_TYPE)).status).toBe(201);
      expect((await c.get(s)).body).toBe(x);
      const carol = `<entry uri="sip:carol@example.com"/>`;
      expect((await c.get(ALICE_RL)).body).toBe(ODD.replace(carol, carol + x));
      // The prefix resolved against the root's binding: the attribute is in urn:example:ext.
      expect((await c.get(at(`${FRIENDS}/entry[@uri="sip:dave@example.com"]/@e:tag`, `?xmlns(e=${EXT_NS})`))).body).toBe('d');
    });

    it('replacing an element, an attribute and deleting another touches nothing else', async () => {
      const bob = `<entry uri="sip:bob@example.com"><display-name>Robert</display-name></entry>`;
      expect((await c.put(at(`${FRIENDS}/entry[1]`), bob, EL_TYPE)).status).toBe(200);
      expect((await c.put(at(`${FRIENDS}/@name`), 'friends', ATT_TYPE)).status).toBe(200);
      expect((await c.put(at(`${FRIENDS}/entry[2]/@uri`), 'sip:carol@example.com', ATT_TYPE)).status).toBe(200);
      expect((await c.delete(at(`${FRIENDS}/entry[2]`))).status).toBe(200);
      const expected = ODD.replace(`<entry uri='sip:bob@example.com' x:tag="b&amp;b" ><display-name>Bob &#38; co</display-name></entry>`, bob).replace(
        `\r\n\t\t<entry uri="sip:carol@example.com"/>`,
        '',
      );
      expect((await c.get(ALICE_RL)).body).toBe(expected);
    });

    it('a new attribute in a namespace the document binds uses its prefix; one it does not bind is declared', async () => {
      expect((await c.put(at(`${FRIENDS}/entry[2]/@e:tag`, `?xmlns(e=${EXT_NS})`), 'c', ATT_TYPE)).status).toBe(201);
      expect((await c.put(at(`${FRIENDS}/entry[2]/@n:k`, '?xmlns(n=urn:example:new)'), 'v', ATT_TYPE)).status).toBe(201);
      expect((await c.get(ALICE_RL)).body).toBe(
        ODD.replace(`<entry uri="sip:carol@example.com"/>`, `<entry uri="sip:carol@example.com" x:tag="c" xmlns:n="urn:example:new" n:k="v"/>`),
      );
    });

    it('a refused write leaves every byte in place', async () => {
      expectConflict(await c.put(at(`${FRIENDS}/entry[@uri="sip:a@x"]`), '<entry uri="sip:b@x"/>', EL_TYPE), 'cannot-insert');
      expectConflict(await c.put(at(`${FRIENDS}/entry[1]`), '<entry/>', EL_TYPE), 'schema-validation-error');
      expectConflict(await c.put(at(`${FRIENDS}/entry[1]`), '<entry uri="sip:x@x"><y:z/></entry>', EL_TYPE), 'not-xml-frag');
      // The root's xmlns:x is a declaration, not an attribute: 404 (deleting it would unbind x in use below).
      const decl = at('resource-lists/@n:x', '?xmlns(n=http://www.w3.org/2000/xmlns/)');
      expect((await c.get(decl)).status).toBe(404);
      expect((await c.delete(decl)).status).toBe(404);
      expectConflict(await c.put(decl, 'urn:example:moved', ATT_TYPE), 'cannot-insert');
      expect((await c.get(ALICE_RL)).body).toBe(ODD);
    });
  });
});
