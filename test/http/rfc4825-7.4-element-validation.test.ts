/**
 * RFC 4825 §7.4 element PUTs on a document the server has just validated (its cached DOM):
 * the server judges the new element, its siblings' keys and its §3.4.5 ref/anchor rules
 * instead of the whole document. A client must see exactly what validating the whole
 * document gives: the same 409 condition and phrase as the first edit after a
 * whole-document PUT (which starts from the stored text), and the same stored bytes.
 */
import { describe, expect, it } from 'vitest';
import { ALICE_RL, aliceWithContacts, contacts, EL_TYPE, enc, expectConflict } from './helpers.ts';

const FRIENDS = 'resource-lists/list[@name="friends"]';
/** [what is wrong, selector, body, condition]: each refused on any document state. */
const REFUSED: ReadonlyArray<readonly [string, string, string, string]> = [
  ['a repeated uri among siblings', `${FRIENDS}/entry[2]`, '<entry uri="sip:bob@example.com"/>', 'uniqueness-failure'],
  ['a list name its sibling has', 'resource-lists/list[2]', '<list name="friends"/>', 'uniqueness-failure'],
  ['an entry without uri', `${FRIENDS}/entry[3]`, '<entry/>', 'schema-validation-error'],
  ['two display names', `${FRIENDS}/entry[1]`, '<entry uri="sip:bob@example.com"><display-name>a</display-name><display-name>b</display-name></entry>', 'schema-validation-error'],
  ['a display name after the entries', `${FRIENDS}/display-name`, '<display-name>late</display-name>', 'schema-validation-error'],
  ['an absolute entry-ref', `${FRIENDS}/entry-ref[@ref="/xcap-root/x"]`, '<entry-ref ref="/xcap-root/x"/>', 'constraint-failure'],
  ['an ftp anchor', `${FRIENDS}/external[@anchor="ftp://x/y"]`, '<external anchor="ftp://x/y"/>', 'constraint-failure'],
  ['a nested list repeating a uri inside', `${FRIENDS}/list[@name="n"]`, '<list name="n"><entry uri="sip:a@x"/><entry uri="sip:a@x"/></list>', 'uniqueness-failure'],
];

describe('RFC 4825 §7.4 element PUT validated from the edited element: same answers as the whole document', () => {
  const alice = aliceWithContacts();

  for (const [what, selector, body, condition] of REFUSED) {
    it(`${what}: the same ${condition} before and after the server caches the document`, async () => {
      const url = `${ALICE_RL}/~~/${enc(selector)}`;
      // First edit after the whole-document PUT: the server starts from the stored text.
      const cold = await alice.c.put(url, body, EL_TYPE);
      expectConflict(cold, condition);
      // Two valid edits leave the server holding the validated document it wrote (it keeps
      // the parse of a document it has met more than once lately).
      for (let i = 0; i < 2; i++) {
        const ok = await alice.c.put(`${ALICE_RL}/~~/${enc(`${FRIENDS}/entry[@uri="sip:carol@example.com"]`)}`, '<entry uri="sip:carol@example.com"><display-name>Carol</display-name></entry>', EL_TYPE);
        expect(ok.status).toBe(200);
      }
      const warm = await alice.c.put(url, body, EL_TYPE);
      expect({ status: warm.status, type: warm.headers.get('content-type'), body: warm.body }).toEqual({ status: 409, type: cold.headers.get('content-type'), body: cold.body });
      // Nothing was stored by the refused edits.
      expect((await alice.c.get(ALICE_RL)).body).toBe(contacts());
    });
  }

  it('a run of valid edits on the cached document is stored byte for byte as each one sent', async () => {
    const edits: Array<[string, string]> = [
      [`${FRIENDS}/entry[@uri="sip:dave@example.com"]`, '<entry uri="sip:dave@example.com"><display-name>Dave</display-name></entry>'],
      [`${FRIENDS}/entry[@uri="sip:bob@example.com"]`, '<entry uri="sip:bob@example.com"><display-name>Robert</display-name></entry>'],
      [`${FRIENDS}/list[@name="inner"]`, '<list name="inner"><entry uri="sip:bob@example.com"/></list>'],
      [`${FRIENDS}/entry-ref[@ref="resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5b1%5d"]`, '<entry-ref ref="resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5b1%5d"/>'],
    ];
    let expected = contacts();
    for (const [selector, body] of edits) {
      const r = await alice.c.put(`${ALICE_RL}/~~/${enc(selector)}`, body, EL_TYPE);
      expect(r.status, r.body).toBe(selector.endsWith('entry[@uri="sip:bob@example.com"]') ? 200 : 201);
      const got = await alice.c.get(`${ALICE_RL}/~~/${enc(selector)}`);
      expect(got.body).toBe(body);
      expected = (await alice.c.get(ALICE_RL)).body;
    }
    expect(expected).toContain('<display-name>Robert</display-name>');
    expect(expected).toContain('<list name="inner"><entry uri="sip:bob@example.com"/></list>');
  });
});
