/**
 * RFC 4825 §6.4 through HTTP: the prefixes of a node selector are bound by the URI's
 * xmlns() query parts. A prefix with no binding there is a malformed request: 400 for GET,
 * PUT and DELETE alike. Two prefixes are bound by definition (Namespaces in XML §3) and
 * need no query part, which cannot rebind them either (XPointer xmlns() scheme §3): `xml`
 * and `xmlns`. `@xmlns:p` therefore names the declaration of `p`, which is no attribute
 * in the node selector's data model, exactly as `@xmlns` and `@n:p` with `n` bound to the
 * xmlns namespace: GET and DELETE 404, PUT 409 cannot-insert, never 400.
 */
import { describe, expect, it } from 'vitest';
import { aliceWithContacts, ALICE_RL, ATT_TYPE, contacts, EL_TYPE, enc, expectConflict, RL_NS, RL_TYPE } from './helpers.ts';

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const at = (selector: string, query = ''): string => `${ALICE_RL}/~~/${enc(selector)}${query}`;
/** contacts() with a prefix declared on the friends list. */
const declaring = (): string => contacts().replace('<list name="friends">', '<list name="friends" xmlns:p="urn:example:p">');

describe('RFC 4825 §6.4 namespace bindings for the selector over HTTP', () => {
  const alice = aliceWithContacts();

  it('@xmlns:p without an xmlns() part names the declaration: GET and DELETE 404, PUT 409 cannot-insert, as its neighbours', async () => {
    expect((await alice.c.put(ALICE_RL, declaring(), RL_TYPE)).status).toBe(200);
    const list = 'resource-lists/list[@name="friends"]';
    for (const [selector, query] of [[`${list}/@xmlns:p`, ''], [`${list}/@xmlns`, ''], [`${list}/@n:p`, `?xmlns(n=${XMLNS_NS})`]] as const) {
      expect((await alice.c.get(at(selector, query))).status, selector).toBe(404);
      expect((await alice.c.delete(at(selector, query))).status, selector).toBe(404);
      expectConflict(await alice.c.put(at(selector, query), 'urn:example:moved', ATT_TYPE), 'cannot-insert');
    }
    expect((await alice.c.get(ALICE_RL)).body).toBe(declaring());
  });

  it('an xmlns() part cannot rebind xmlns or xml', async () => {
    expect((await alice.c.put(ALICE_RL, declaring(), RL_TYPE)).status).toBe(200);
    const list = 'resource-lists/list[@name="friends"]';
    expect((await alice.c.get(at(`${list}/@xmlns:p`, '?xmlns(xmlns=urn:example:p)'))).status).toBe(404);
    expect((await alice.c.put(at(`${list}/@xml:lang`, '?xmlns(xml=urn:example:other)'), 'en', ATT_TYPE)).status).toBe(201);
    expect((await alice.c.get(ALICE_RL)).body).toBe(declaring().replace('xmlns:p="urn:example:p">', 'xmlns:p="urn:example:p" xml:lang="en">'));
  });

  it('a prefix with no binding in the query: 400 for GET, PUT and DELETE, in an element step, an attribute test and an attribute', async () => {
    const unbound = [
      ['resource-lists/q:list', EL_TYPE, `<q:list xmlns:q="${RL_NS}" name="q"/>`],
      ['resource-lists/list[@q:name="friends"]', EL_TYPE, '<list name="friends"/>'],
      ['resource-lists/list[@name="friends"]/@q:x', ATT_TYPE, 'v'],
    ] as const;
    for (const [selector, type, body] of unbound) {
      const get = await alice.c.get(at(selector));
      expect(get.status, selector).toBe(400);
      expect(get.body).toContain('prefix q is not bound');
      expect((await alice.c.put(at(selector), body, type)).status, selector).toBe(400);
      expect((await alice.c.delete(at(selector))).status, selector).toBe(400);
    }
    // Bound, the same selectors are ordinary.
    expect((await alice.c.get(at('resource-lists/q:list[@name="friends"]/@name', `?xmlns(q=${RL_NS})`))).body).toBe('friends');
    await alice.unchanged();
  });
});
