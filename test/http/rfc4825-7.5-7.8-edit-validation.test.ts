/**
 * RFC 4825 §7.5, §7.7, §7.8: DELETEs and attribute PUTs on a document the server has just
 * validated (its cached DOM) are judged from the element they change: its start tag, its
 * children's start tags and its siblings' keys (RFC 4826 §3.4.5), not the whole document.
 * A client must see what validating the whole document gives: the same 409 condition and
 * phrase as on the first edit after a whole-document PUT (which starts from the stored
 * text), and nothing stored.
 */
import { describe, expect, it } from 'vitest';
import { ALICE_RL, aliceWithContacts, ATT_TYPE, EL_TYPE, enc, expectConflict, RL_NS, RL_TYPE } from './helpers.ts';

const FRIENDS = 'resource-lists/list[@name="friends"]';
const REF = 'resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5b2%5d';
const DOC = `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="${RL_NS}">
  <list name="friends">
    <entry uri="sip:bob@example.com"><display-name>Bob</display-name></entry>
    <entry uri="sip:carol@example.com"/>
    <entry-ref ref="${REF}"/>
    <external anchor="http://xcap.example.com/x"/>
  </list>
  <list name="work"/>
</resource-lists>
`;

/** [what is wrong, method, selector, attribute value for a PUT, condition]. */
const REFUSED: ReadonlyArray<readonly [string, 'PUT' | 'DELETE', string, string, string]> = [
  ['a uri its sibling has', 'PUT', `${FRIENDS}/entry[2]/@uri`, 'sip:bob@example.com', 'uniqueness-failure'],
  ['a list name its sibling has', 'PUT', 'resource-lists/list[2]/@name', 'friends', 'uniqueness-failure'],
  ['an attribute the schema does not declare', 'PUT', `${FRIENDS}/entry[1]/@bogus`, 'x', 'schema-validation-error'],
  ['an absolute entry-ref', 'PUT', `${FRIENDS}/entry-ref/@ref`, '/xcap-root/x', 'constraint-failure'],
  ['an ftp anchor', 'PUT', `${FRIENDS}/external/@anchor`, 'ftp://x/y', 'constraint-failure'],
  ['an entry without its required uri', 'DELETE', `${FRIENDS}/entry[1]/@uri`, '', 'schema-validation-error'],
  // The §3.4.5 rule on ref words it (an empty ref is no path into a resource-lists document).
  ['an entry-ref without its required ref', 'DELETE', `${FRIENDS}/entry-ref/@ref`, '', 'constraint-failure'],
];

describe('RFC 4825 §7.5, §7.7, §7.8 DELETE and attribute PUT validated from the element they change', () => {
  const alice = aliceWithContacts({ once: true });
  const seed = async (): Promise<void> => {
    expect([200, 201]).toContain((await alice.c.put(ALICE_RL, DOC, RL_TYPE)).status);
  };
  const send = (method: 'PUT' | 'DELETE', selector: string, value: string) =>
    method === 'PUT' ? alice.c.put(`${ALICE_RL}/~~/${enc(selector)}`, value, ATT_TYPE) : alice.c.delete(`${ALICE_RL}/~~/${enc(selector)}`);

  for (const [what, method, selector, value, condition] of REFUSED) {
    it(`${method} giving ${what}: the same ${condition} before and after the server caches the document`, async () => {
      await seed();
      // First edit after the whole-document PUT: the server starts from the stored text.
      const cold = await send(method, selector, value);
      expectConflict(cold, condition);
      // A valid attribute PUT leaves the server holding the validated document it wrote.
      expect((await alice.c.put(`${ALICE_RL}/~~/${enc(`${FRIENDS}/entry[1]/@uri`)}`, 'sip:bob@example.com', ATT_TYPE)).status).toBe(200);
      const warm = await send(method, selector, value);
      expect({ status: warm.status, type: warm.headers.get('content-type'), body: warm.body }).toEqual({ status: 409, type: cold.headers.get('content-type'), body: cold.body });
      // Nothing was stored by the refused edits.
      expect((await alice.c.get(ALICE_RL)).body).toBe(DOC);
    });
  }

  it('a run of valid DELETEs and attribute PUTs on the cached document is stored as each one asked', async () => {
    await seed();
    const steps: Array<[method: 'PUT' | 'DELETE', selector: string, value: string, status: number]> = [
      ['PUT', `${FRIENDS}/entry[2]/@uri`, 'sip:dave@example.com', 200],
      ['PUT', 'resource-lists/list[2]/@name', 'colleagues', 200],
      ['DELETE', `${FRIENDS}/entry[@uri="sip:bob@example.com"]`, '', 200],
      ['PUT', `${FRIENDS}/entry/@uri`, 'sip:bob@example.com', 200],
      ['DELETE', `${FRIENDS}/external/@anchor`, '', 200],
      ['PUT', `${FRIENDS}/entry-ref/@ref`, `${REF}/entry`, 200],
      ['DELETE', 'resource-lists/list[2]', '', 200],
    ];
    for (const [method, selector, value, status] of steps) {
      const r = await send(method, selector, value);
      expect(r.status, `${method} ${selector}: ${r.body}`).toBe(status);
    }
    expect((await alice.c.get(ALICE_RL)).body).toBe(`<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="${RL_NS}">
  <list name="friends">
    <entry uri="sip:bob@example.com"/>
    <entry-ref ref="${REF}/entry"/>
    <external/>
  </list>
</resource-lists>
`);
    // The document is still one the whole-document check accepts.
    const whole = (await alice.c.get(ALICE_RL)).body;
    expect((await alice.c.put(ALICE_RL, whole, RL_TYPE)).status).toBe(200);
    expect((await alice.c.put(`${ALICE_RL}/~~/${enc(`${FRIENDS}/entry[@uri="sip:x@example.com"]`)}`, '<entry uri="sip:x@example.com"/>', EL_TYPE)).status).toBe(201);
  });
});
